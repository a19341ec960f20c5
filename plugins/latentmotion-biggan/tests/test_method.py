"""The full method on BigGAN: train a motion generator over a tiny random-weight BigGAN-deep, make videos."""

from pathlib import Path

import pytest
import torch

import latentmotion
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_motion_trains_over_biggan_and_generates_videos(mode: str, registered: None, tiny_checkpoint: Path, tmp_path: Path) -> None:
    backend = latentmotion.get_backend("biggan", source=str(tiny_checkpoint), truncation=0.5, classes=["lion", "tiger"])
    config = smoke_config({"backend": "biggan", "backend_options": backend.options, "mode": mode, "motion.basis_samples": 500, "motion.n_components": 8, "run.checkpoint_every": 2})
    trainer = Trainer(config, tmp_path / "run", backend=backend, dataset=MovingSquares(n_videos=4), progress=False)
    weights = {key: value.clone() for key, value in backend.state_dict().items()}
    motion = {key: value.clone() for key, value in trainer.motion.state_dict().items()}
    pipeline = trainer.train()

    assert all(torch.equal(value, backend.state_dict()[key]) for key, value in weights.items())
    assert any(not torch.equal(value, trainer.motion.state_dict()[key]) for key, value in motion.items())
    trajectory = pipeline.trajectories(2, 5, seed=0)
    assert trajectory.shape == (2, 5, 32)
    assert torch.equal(trajectory[:, 1:, 16:], trajectory[:, :1, 16:].expand(-1, 4, -1))  # the class stays fixed
    assert not torch.equal(trajectory[:, 1:, :16], trajectory[:, :1, :16].expand(-1, 4, -1))  # z moves
    videos = pipeline.generate(2, 5, seed=0)
    assert videos.shape == (2, 5, 3, 32, 32)
    assert videos.min() >= -1 and videos.max() <= 1
    assert not torch.equal(videos[:, 0], videos[:, -1])
    loaded = LatentMotionPipeline.from_pretrained(tmp_path / "run" / "pipeline")
    bundled = (tmp_path / "run" / "pipeline" / "backend" / "source" / backend.options["source"].rsplit("/", 1)[-1]).resolve()
    assert loaded.backend.options == backend.options | {"source": str(bundled)}  # the weights travel with the pipeline
    assert torch.equal(loaded.generate(2, 5, seed=0), videos)
