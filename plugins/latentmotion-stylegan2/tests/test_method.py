"""The full method on StyleGAN2: train a motion generator over a tiny random StyleGAN2, make videos."""

import pytest
import torch
from latentmotion_stylegan2.checkpoints import convert

import latentmotion
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_motion_trains_over_stylegan2_and_generates_videos(mode, registered, nvlabs, tiny_generator, tmp_path):
    weights = convert(nvlabs.write(tmp_path / "network-snapshot.pkl", tiny_generator), tmp_path / "tiny.safetensors")
    backend = latentmotion.get_backend("stylegan2", source=str(weights), truncation_psi=0.7)
    config = smoke_config({"backend": "stylegan2", "backend_options": backend.options, "mode": mode, "motion.basis_samples": 500, "motion.n_components": 8, "run.checkpoint_every": 2})
    trainer = Trainer(config, tmp_path / "run", backend=backend, dataset=MovingSquares(n_videos=4), progress=False)
    generator_weights = {key: value.clone() for key, value in backend.state_dict().items()}
    motion = {key: value.clone() for key, value in trainer.motion.state_dict().items()}
    pipeline = trainer.train()

    assert all(torch.equal(value, backend.state_dict()[key]) for key, value in generator_weights.items())
    assert any(not torch.equal(value, trainer.motion.state_dict()[key]) for key, value in motion.items())
    trajectory = pipeline.trajectories(2, 5, seed=0)
    assert trajectory.shape == (2, 5, 16)
    assert not torch.equal(trajectory[:, 1:], trajectory[:, :1].expand(-1, 4, -1))  # w moves
    videos = pipeline.generate(2, 5, seed=0)
    assert videos.shape == (2, 5, 3, 32, 32)
    assert torch.isfinite(videos).all()
    assert not torch.equal(videos[:, 0], videos[:, -1])
    loaded = LatentMotionPipeline.from_pretrained(tmp_path / "run" / "pipeline")
    bundled = (tmp_path / "run" / "pipeline" / "backend" / "source" / backend.options["source"].rsplit("/", 1)[-1]).resolve()
    assert loaded.backend.options == backend.options | {"source": str(bundled)}  # the weights travel with the pipeline
    assert torch.equal(loaded.generate(2, 5, seed=0), videos)
