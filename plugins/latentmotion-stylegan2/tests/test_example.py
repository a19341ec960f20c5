"""examples/stylegan2/ffhq.py end to end on a tiny random StyleGAN2 pickle: basis, train, generate, animate a photo."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentmotion.basis import PCABasis
from latentmotion.testing import MovingSquares, smoke_config, write_frame_folders

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "stylegan2" / "ffhq.py"


@pytest.fixture(scope="module")
def ffhq():
    """The example script, imported as a module."""
    spec = importlib.util.spec_from_file_location("stylegan2_ffhq_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module



def test_train_generate_and_animate_a_photo(ffhq, registered, nvlabs, tiny_generator, tmp_path):
    pkl = nvlabs.write(tmp_path / "ffhq.pkl", tiny_generator)
    config = tmp_path / "small.json"
    settings = smoke_config({"motion.basis_samples": 300, "motion.n_components": 4, "motion.hidden_dim": 8, "optim.g_steps": 1, "run.steps": 1})
    config.write_text(json.dumps(settings.to_dict()))
    pipeline = ffhq.train(checkpoint={"source": str(pkl)}, data=write_frame_folders(tmp_path / "data", MovingSquares(n_videos=2, n_frames=8)), out=tmp_path / "run", truncation=0.7, config_file=config)
    assert (tmp_path / "run" / "pipeline" / "config.json").is_file()
    assert PCABasis.load(tmp_path / "run" / "basis.safetensors").total_dim == 16
    assert pipeline.backend.options["source"] == str(pkl.resolve())
    assert pipeline.backend.options["truncation_psi"] == 0.7

    grid = ffhq.generate(pipeline, out=tmp_path / "faces.png", videos=2, frames=3)
    with Image.open(grid) as image:
        assert image.height >= 32 and image.width >= 3 * 64  # 3 frames, each 2 videos wide

    photo = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 40, 3), dtype=np.uint8)).save(photo)
    video = ffhq.animate_photo(pipeline, photo, out=tmp_path / "face.gif", frames=3, steps=2)
    with Image.open(video) as image:
        assert image.size == (32, 32) and image.n_frames >= 1
