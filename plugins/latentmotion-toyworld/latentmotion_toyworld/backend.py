"""The `toy` backend: the toy image GAN, wrapped by the generic custom-GAN path.

The generator trained by [train_image_gan][latentmotion_toyworld.train_image_gan] becomes a
backend through [ModuleBackend][latentmotion.module_backend.ModuleBackend], exactly as a
third-party `nn.Module` generator would: latent space W declared, content codes drawn as
`w = mapping(z)` with `z ~ N(0, I)`, rendering by the synthesis network, inversion by the base
class's optimisation-based projection.
"""

from __future__ import annotations

import os

import torch

from latentmotion.backend import LatentSpace
from latentmotion.errors import ConfigError
from latentmotion.module_backend import ModuleBackend
from latentmotion_toyworld.checkpoint import (
    bundled_weights,
    load_generator,
    rebuild_command,
)
from latentmotion_toyworld.config import VARIANTS


def toy_backend(*, variant: str = "shapes", path: str | os.PathLike[str] | None = None) -> ModuleBackend:
    """Build the `toy` backend from bundled or given generator weights.

    Args:
        variant: World variant whose bundled generator to load (`"shapes"` or `"glow"`);
            ignored when `path` is given.
        path: A `.safetensors` file written by the training script, with its `.json` beside it.

    Returns:
        The backend, rendering `[N, 3, 64, 64]` images from `[N, w_dim]` latents in W.

    Raises:
        ConfigError: Unknown `variant`.
        CheckpointError: The weight file or its description is missing or corrupt; the message
            names the command that rebuilds it.
    """
    if path is None:
        if variant not in VARIANTS:
            raise ConfigError(f"toy backend variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
        network, _ = load_generator(bundled_weights(variant), rebuild=rebuild_command(variant))
    else:
        network, _ = load_generator(path, rebuild=rebuild_command(None, path))

    def sample_w(n: int, rng: torch.Generator | None) -> torch.Tensor:
        z = torch.randn(n, network.config.z_dim, generator=rng)
        with torch.no_grad():
            return network.mapping(z.to(network.mapping.layers[0].weight.device))

    return ModuleBackend(
        network=network,
        latent_space=LatentSpace("w", network.config.w_dim, description="w = mapping(z), z ~ N(0, I)"),
        resolution=network.config.resolution,
        sampler=sample_w,
        file_options=("path",),
    )
