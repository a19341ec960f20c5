"""The plugin: entry point, lazy imports, registration through latentmotion's plugin manager."""

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch
from latentmotion_biggan.backend import BigGANBackend

import latentmotion
from latentmotion import plugins
from latentmotion.errors import ConfigError


def test_entry_point_names_the_plugin_module() -> None:
    (entry_point,) = metadata.distribution("latentmotion-biggan").entry_points.select(group="latentmotion")
    assert (entry_point.name, entry_point.value) == ("biggan", "latentmotion_biggan.plugin")


def test_importing_the_plugin_does_not_import_torch() -> None:
    code = "import sys, latentmotion_biggan.plugin; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_biggan_is_listed_and_built_by_get_backend(registered: None, tiny_checkpoint: Path) -> None:
    info = plugins.backends()["biggan"]
    assert "BigGAN-deep" in info.description
    backend = latentmotion.get_backend("biggan", source=str(tiny_checkpoint), truncation=0.5, classes=["lion"])
    assert isinstance(backend, BigGANBackend) and not backend.training
    rebuilt = latentmotion.get_backend("biggan", **backend.options)
    codes = backend.sample_latents(2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(rebuilt.synthesize(codes), backend.synthesize(codes))


def test_get_backend_without_source_explains_what_to_pass(registered: None) -> None:
    with pytest.raises(ConfigError, match="needs source="):
        latentmotion.get_backend("biggan")
