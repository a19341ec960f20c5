"""The example plugin: found through its entry point, listed by the CLI, and usable for video."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import latentmotion
from latentmotion import plugins
from latentmotion.basis import PCABasis
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.testing import check_backend


def installed():
    from importlib import metadata

    try:
        metadata.distribution("latentmotion-cppn")
    except metadata.PackageNotFoundError:
        return False
    return True


pytestmark = pytest.mark.skipif(not installed(), reason="pip install -e examples/custom-backend (make test does)")


def test_the_cli_lists_the_installed_plugin():
    env = {**os.environ, "LATENTMOTION_LOAD_PLUGINS": "latentmotion-cppn"}
    result = subprocess.run([str(Path(sys.executable).with_name("latentmotion")), "backends", "--json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["cppn"]["distribution"] == "latentmotion-cppn"
    assert rows["cppn"]["version"] == "0.1.0"
    assert "tiny" in rows


@pytest.fixture
def cppn_plugin(monkeypatch):
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setenv("LATENTMOTION_LOAD_PLUGINS", "latentmotion-cppn")
    yield
    if plugins.pm.has_plugin("cppn"):
        plugins.pm.unregister(name="cppn")


def test_the_backend_keeps_the_contract(cppn_plugin):
    backend = check_backend("cppn", resolution=32, seed=1)
    assert backend.options == {"resolution": 32, "seed": 1}


def test_a_pipeline_runs_on_the_plugin_backend(cppn_plugin, tmp_path):
    backend = latentmotion.get_backend("cppn", resolution=32)
    assert latentmotion.backends()["cppn"].distribution == "latentmotion-cppn"
    basis = PCABasis.fit(backend, n_samples=500)
    motion = MotionGenerator(MotionConfig(latent_dim=8, n_components=8, hidden_dim=16), basis=basis.scaled(8))
    pipeline = LatentMotionPipeline(backend=backend, basis=basis, motion=motion)
    videos = pipeline.generate(2, 6, seed=0)
    assert videos.shape == (2, 6, 3, 32, 32)
    assert videos.abs().max() <= 1
    pipeline.save_pretrained(tmp_path / "cppn-pipeline")
    assert torch.equal(LatentMotionPipeline.from_pretrained(tmp_path / "cppn-pipeline").generate(2, 6, seed=0), videos)
