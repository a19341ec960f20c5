"""examples/biggan/animate.py end to end on a tiny random-weight BigGAN: train, generate, animate a photo."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentmotion.testing import MovingSquares, smoke_config, write_frame_folders

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "biggan" / "animate.py"


@pytest.fixture(scope="module")
def animate():
    """The example script, imported as a module."""
    spec = importlib.util.spec_from_file_location("biggan_animate_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module



def test_train_generate_and_animate_a_photo(animate, registered: None, tiny_checkpoint: Path, tmp_path: Path) -> None:
    config = tmp_path / "small.json"
    settings = smoke_config({"motion.basis_samples": 300, "motion.n_components": 4, "motion.hidden_dim": 8, "optim.g_steps": 1, "run.steps": 1})
    config.write_text(json.dumps(settings.to_dict()))
    pipeline = animate.train(
        source=str(tiny_checkpoint), data=write_frame_folders(tmp_path / "data", MovingSquares(n_videos=2, n_frames=8)), out=tmp_path / "run", classes=["lion"], truncation=0.5, config_file=config
    )
    assert (tmp_path / "run" / "pipeline" / "config.json").is_file()
    assert pipeline.backend.options["classes"] == ["lion"]

    grid = animate.generate(pipeline, out=tmp_path / "lions.png", class_name="lion", videos=2, frames=3)
    with Image.open(grid) as image:
        assert image.height >= 32 and image.width >= 3 * 64  # 3 frames, each 2 videos wide

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 40, 3), dtype=np.uint8)).save(photo)
    video = animate.animate_photo(pipeline, photo, out=tmp_path / "photo.gif", class_name="lion", frames=3, steps=2, restarts=1)
    with Image.open(video) as image:
        assert image.size == (32, 32) and image.n_frames >= 1
