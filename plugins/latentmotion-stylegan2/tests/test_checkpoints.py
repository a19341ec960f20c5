"""Conversion to safetensors (loads without any pickle), format recognition, Hub loading from the cache."""

import hashlib
import json
import os
import pickle

import pytest
import torch
from latentmotion_stylegan2.backend import load_stylegan2
from latentmotion_stylegan2.checkpoints import (
    SAFETENSORS_FORMAT,
    checkpoint_format,
    convert,
    load_generator,
)
from latentmotion_stylegan2.rosinality import nvlabs_to_rosinality
from safetensors import safe_open

import latentmotion
from latentmotion.errors import CheckpointError, ConfigError, HubError

SHA = "c" * 40


def render(generator):
    z = torch.randn(2, generator.config.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return generator(z, noise_mode="const")


def cache_file(cache, repo_id, filename, content, *, revision="main"):
    """Put one file in the Hub cache as huggingface_hub lays out a download: blob, snapshot symlink, ref."""
    storage = cache / f"models--{repo_id.replace('/', '--')}"
    blob = storage / "blobs" / hashlib.sha256(content).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(content)
    link = storage / "snapshots" / SHA / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / revision).write_text(SHA)


def boom(*args, **kwargs):
    raise AssertionError("a safetensors checkpoint must load without pickle or torch.load")


def test_converted_pickle_loads_without_any_pickle(nvlabs, tiny_generator, tmp_path, monkeypatch):
    source = nvlabs.write(tmp_path / "network-snapshot-000100.pkl", tiny_generator)
    destination = convert(source, tmp_path / "out" / "tiny.safetensors")
    with safe_open(str(destination), framework="pt") as file:
        metadata = file.metadata()
    assert metadata["format"] == SAFETENSORS_FORMAT
    assert json.loads(metadata["config"]) == tiny_generator.config.to_dict()
    assert metadata["source"] == "network-snapshot-000100.pkl"
    for module, name in [(pickle, "Unpickler"), (pickle, "load"), (pickle, "loads"), (torch, "load")]:
        monkeypatch.setattr(module, name, boom)
    assert checkpoint_format(destination) == "safetensors"
    assert torch.equal(render(load_generator(destination)), render(tiny_generator))


def test_converted_rosinality_checkpoint_keeps_its_latent_average(tiny_generator, tmp_path):
    source = tmp_path / "g.pt"
    torch.save({"g_ema": nvlabs_to_rosinality(tiny_generator.state_dict(), tiny_generator.config), "latent_avg": tiny_generator.mapping.w_avg}, source)
    loaded = load_generator(convert(source, tmp_path / "g.safetensors"))
    assert torch.equal(loaded.mapping.w_avg, tiny_generator.mapping.w_avg)
    assert torch.equal(render(loaded), render(tiny_generator))


def test_a_failed_write_keeps_the_previous_file(nvlabs, tiny_generator, tmp_path, monkeypatch):
    import safetensors.torch

    source = nvlabs.write(tmp_path / "g.pkl", tiny_generator)
    destination = tmp_path / "out.safetensors"
    destination.write_bytes(b"previous")

    def disk_full(tensors, filename, metadata=None):
        with open(filename, "wb") as file:
            file.write(b"partial")
        raise OSError("no space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with pytest.raises(OSError, match="no space"):
        convert(source, destination)
    assert destination.read_bytes() == b"previous"
    assert {path.name for path in tmp_path.iterdir()} == {"g.pkl", "out.safetensors"}


def test_other_safetensors_files_are_not_generators(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"weight": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="not a StyleGAN2 generator written by"):
        load_generator(path)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(path)


def test_load_from_a_hub_repo_in_the_cache(registered, tiny_generator, tmp_path, hub_cache):
    converted = convert_to_bytes(tiny_generator, tmp_path)
    cache_file(hub_cache, "acme/stylegan2-tiny", "weights/tiny.safetensors", converted, revision="v1")
    options = {"source": "acme/stylegan2-tiny", "filename": "weights/tiny.safetensors", "revision": "v1", "truncation_psi": 0.7}
    backend = latentmotion.get_backend("stylegan2", **options)
    assert backend.options == options  # the Hub reference is kept as a reference
    assert torch.equal(render(backend.network), render(tiny_generator))
    with pytest.raises(HubError, match="'weights/other.pkl' of Hub repo 'acme/stylegan2-tiny' \\(revision v1\\) is not in the local Hub cache"):
        load_stylegan2("acme/stylegan2-tiny", filename="weights/other.pkl", revision="v1")
    with pytest.raises(HubError, match="not in the local Hub cache"):
        load_stylegan2("acme/absent", filename="ffhq.pkl")


def convert_to_bytes(generator, tmp_path):
    from latentmotion_stylegan2.checkpoints import save_generator

    return save_generator(generator, tmp_path / "staging.safetensors").read_bytes()


def test_source_arguments_are_checked(tiny_generator, tmp_path):
    checkpoint = convert_to_bytes(tiny_generator, tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny.safetensors").write_bytes(checkpoint)
    in_folder = load_stylegan2(tmp_path / "models", filename="tiny.safetensors")
    assert torch.equal(render(in_folder.network), render(tiny_generator))
    with pytest.raises(ConfigError, match="needs source="):
        load_stylegan2()
    with pytest.raises(ConfigError, match="needs the file name inside the repo: give filename="):
        load_stylegan2("acme/b")
    with pytest.raises(ConfigError, match="revision='v1' applies to Hub repos"):
        load_stylegan2(tmp_path / "models" / "tiny.safetensors", revision="v1")
    with pytest.raises(CheckpointError, match="StyleGAN2 checkpoint source .*absent.pkl' is neither an existing file or folder nor a Hub repo id"):
        load_stylegan2(tmp_path / "absent.pkl")
