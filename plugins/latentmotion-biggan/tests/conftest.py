"""Fixtures of the BigGAN plugin tests: tiny random checkpoints in the published format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from latentmotion_biggan import plugin
from latentmotion_biggan.backend import BigGANBackend
from latentmotion_biggan.config import BigGANConfig
from latentmotion_biggan.weights import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_network,
    published_shapes,
)
from torch.nn import functional as F

from latentmotion import plugins

# 32 px, 4 blocks, attention before block 2: renders in milliseconds.
TINY = BigGANConfig(
    output_dim=32,
    z_dim=16,
    class_embed_dim=16,
    channel_width=4,
    num_classes=1000,
    layers=((False, 16, 8), (True, 8, 4), (True, 4, 2), (True, 2, 1)),
    attention_layer_position=2,
    n_stats=11,
)


@pytest.fixture(autouse=True)
def _tiny_networks_on_one_thread(one_thread: None) -> None:
    """Every test of this plugin runs its tiny networks on one thread (the root conftest's `one_thread`)."""


def random_published_state_dict(config: BigGANConfig, *, seed: int) -> dict[str, torch.Tensor]:
    """A random state dict in the published format, spectral-norm vectors converged as after training.

    Args:
        config: The architecture.
        seed: Seed of the draw.

    Returns:
        Key to tensor, with the keys and shapes of a published checkpoint.
    """
    rng = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in published_shapes(config).items():
        if key.endswith("weight_orig"):
            value = torch.randn(shape, generator=rng) / shape[1] ** 0.5
        elif key.endswith(("running_means", "bias")):
            value = 0.1 * torch.randn(shape, generator=rng)
        elif key.endswith("running_vars"):
            value = 0.5 + torch.rand(shape, generator=rng)
        elif key.endswith("gamma"):
            value = torch.full(shape, 0.5)
        elif key == "generator.bn.weight":
            value = 1 + 0.1 * torch.randn(shape, generator=rng)
        else:  # embeddings, weight_u, weight_v (the vectors are replaced below)
            value = torch.randn(shape, generator=rng)
        state[key] = value
    for key in [key for key in state if key.endswith("weight_orig")]:
        prefix = key.removesuffix("_orig")
        matrix = state[key].reshape(state[key].shape[0], -1)
        v = F.normalize(state[f"{prefix}_v"], dim=0)
        for _ in range(5):
            u = F.normalize(matrix @ v, dim=0)
            v = F.normalize(matrix.t() @ u, dim=0)
        state[f"{prefix}_u"], state[f"{prefix}_v"] = u, v
    return state


def write_checkpoint(folder: Path, config: BigGANConfig, state_dict: dict[str, torch.Tensor]) -> Path:
    """Write `config.json` + `pytorch_model.bin` as the published weights are laid out.

    Args:
        folder: Destination folder (created).
        config: The architecture.
        state_dict: The weights.

    Returns:
        The folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_NAME).write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
    torch.save(state_dict, folder / WEIGHTS_NAME)
    return folder


@pytest.fixture
def make_checkpoint(tmp_path: Path) -> Callable[..., Path]:
    """Write a random published-format checkpoint; `make_checkpoint(config=TINY, seed=0)` gives its folder."""

    def make(*, config: BigGANConfig = TINY, seed: int = 0, name: str = "biggan") -> Path:
        return write_checkpoint(tmp_path / name, config, random_published_state_dict(config, seed=seed))

    return make


@pytest.fixture
def registered() -> Iterator[None]:
    """The plugin registered as its entry point would be (tests skip installed entry points)."""
    plugins.load_plugins()
    plugins.pm.register(plugin, name="biggan")
    yield
    plugins.pm.unregister(name="biggan")


@pytest.fixture
def tiny_config() -> BigGANConfig:
    """The TINY architecture: 32 px, z and embedding of 16, 1000 classes."""
    return TINY


@pytest.fixture
def tiny_checkpoint(make_checkpoint: Callable[..., Path]) -> Path:
    """Folder of a random TINY checkpoint."""
    return make_checkpoint()


@pytest.fixture
def tiny_backend(tiny_checkpoint: Path) -> BigGANBackend:
    """A BigGAN backend on the TINY checkpoint, truncation 0.5."""
    return BigGANBackend(load_network(tiny_checkpoint), truncation=0.5)
