"""The plugin: entry point, lazy imports, the `toy` backend and the bundled pipelines through latentmotion's plugin manager."""

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch
from latentmotion_toyworld import bundled
from latentmotion_toyworld.bundled import BUNDLED_PIPELINES

import latentmotion
from latentmotion import LatentMotionPipeline, plugins
from latentmotion.errors import CheckpointError
from latentmotion.pipeline import resolve_pipeline_folder


def test_entry_point_names_the_plugin_module() -> None:
    (entry_point,) = metadata.distribution("latentmotion-toyworld").entry_points.select(group="latentmotion")
    assert (entry_point.name, entry_point.value) == ("toyworld", "latentmotion_toyworld.plugin")


def test_importing_the_plugin_and_listing_its_pipelines_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from latentmotion import plugins\n"
        "from latentmotion_toyworld import plugin\n"
        "plugins.pm.register(plugin, name='toyworld')\n"
        "print(sorted(plugins.pipelines()), 'torch' in sys.modules)\n"
    )
    only_this_plugin = {**os.environ, "LATENTMOTION_LOAD_PLUGINS": ""}  # other installed plugins may import torch
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=only_this_plugin)
    assert result.stdout.strip() == "['toy', 'toy-cross'] False"


def test_the_plugin_registers_the_toy_backend_and_the_bundled_pipelines(registered: None) -> None:
    assert plugins.backends()["toy"].plugin == "toyworld"
    registered_pipelines = plugins.pipelines()
    assert set(registered_pipelines) == set(BUNDLED_PIPELINES)
    for name, info in registered_pipelines.items():
        assert info.plugin == "toyworld" and "bundled" in info.description
        assert resolve_pipeline_folder(name) == bundled.PRETRAINED_DIR / name


def test_without_the_plugin_there_is_no_toy() -> None:
    assert "toy" not in plugins.backends() and "toy" not in plugins.pipelines()


@pytest.mark.parametrize("name", ["toy", "toy-cross"])
def test_bundled_pipelines_load_offline_and_generate(registered: None, name: str) -> None:
    pipeline = LatentMotionPipeline.from_pretrained(name)
    assert pipeline.backend.name == "toy"
    videos = pipeline.generate(2, seed=0)
    assert videos.shape == (2, pipeline.n_frames, 3, 64, 64)
    assert torch.equal(videos, pipeline.generate(2, seed=0))
    assert not torch.equal(videos[:, 0], videos[:, -1])


def test_a_missing_bundled_pipeline_names_the_rebuild_command(registered: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bundled, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(CheckpointError, match=r"lacks config.json, motion.safetensors, basis.safetensors .* python -m latentmotion_toyworld\.reproduce --name toy "):
        LatentMotionPipeline.from_pretrained("toy")


def test_get_backend_builds_each_bundled_variant(registered: None) -> None:
    for variant in ("shapes", "glow"):
        backend = latentmotion.get_backend("toy", variant=variant)
        assert backend.options == {"variant": variant} and backend.resolution == 64


def test_the_toy_backend_keeps_the_backend_contract(registered: None) -> None:
    from latentmotion.testing import check_backend

    assert check_backend("toy").name == "toy"
