"""A tiny, seeded, random-weight generator: the backend of the core tests and a stand-in model.

It has the shape of a real one (a mapping network `z -> w`, a convolutional synthesis network
with a noise input) so that every code path runs, but renders in milliseconds on a CPU.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from latentmotion.backend import LatentSpace
from latentmotion.errors import ConfigError
from latentmotion.module_backend import ModuleBackend


class TinyGenerator(nn.Module):
    """A mapping network `z -> w` and a synthesis `w -> image`: a linear stem at 4x4, then (upsample, 3x3 conv, leaky ReLU) blocks, then RGB.

    Args:
        z_dim: Dimension of the prior `z`.
        w_dim: Dimension of the latent space `w` the generator renders from.
        resolution: Output side in pixels, a power of two >= 8.
        channels: Feature channels of every block.
        seed: Seed of the random weights.
    """

    def __init__(self, *, z_dim: int = 16, w_dim: int = 16, resolution: int = 32, channels: int = 32, seed: int = 0) -> None:
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ConfigError(f"tiny generator resolution must be a power of two >= 8, got {resolution}")
        self.channels = channels
        self.mapping = nn.Sequential(nn.Linear(z_dim, w_dim), nn.LeakyReLU(0.2), nn.Linear(w_dim, w_dim))
        self.stem = nn.Linear(w_dim, channels * 16)
        self.noise_strength = nn.Parameter(torch.tensor(0.3))
        self.blocks = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(int(math.log2(resolution)) - 2))
        self.to_rgb = nn.Conv2d(channels, 3, 1)
        rng = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in self.parameters():
                if parameter.ndim > 1:
                    fan_in = parameter[0].numel()
                    parameter.copy_(torch.randn(parameter.shape, generator=rng) * (2.0 / fan_in) ** 0.5)
                elif parameter.ndim == 1:
                    parameter.copy_(torch.randn(parameter.shape, generator=rng) * 0.1)

    def forward(self, w: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Render `[N, 3, R, R]` images in `[-1, 1]` from `w` (the mapping is applied by the sampler).

        Args:
            w: `[N, w_dim]` latents.
            noise: One `[N, 1, 4, 4]` noise map, or None for no noise.

        Returns:
            The images.
        """
        x = rearrange(self.stem(w), "n (c h w) -> n c h w", h=4, w=4)
        if noise:
            x = x + self.noise_strength * noise[0]
        x = F.leaky_relu(x, 0.2)
        for conv in self.blocks:
            x = F.leaky_relu(conv(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        return torch.tanh(self.to_rgb(x))


def tiny_backend(*, resolution: int = 32, dim: int = 16, channels: int = 32, seed: int = 0) -> ModuleBackend:
    """Build the `tiny` backend: latent space W of a seeded random [TinyGenerator][latentmotion.tiny.TinyGenerator].

    Args:
        resolution: Output side in pixels, a power of two >= 8.
        dim: Dimension of `z` and of `w`.
        channels: Feature channels.
        seed: Seed of the random weights.

    Returns:
        The backend.

    Raises:
        ConfigError: `dim` or `channels` below 1, or a `resolution` that is not a power of two >= 8.
    """
    for option, value in (("dim", dim), ("channels", channels)):
        if value < 1:
            raise ConfigError(f"tiny backend option {option!r} must be >= 1, got {value}")
    net = TinyGenerator(z_dim=dim, w_dim=dim, resolution=resolution, channels=channels, seed=seed)

    def sample_w(n: int, generator: torch.Generator | None) -> torch.Tensor:
        z = torch.randn(n, dim, generator=generator)
        with torch.no_grad():
            return net.mapping(z.to(net.stem.weight.device))

    return ModuleBackend(
        network=net,
        latent_space=LatentSpace("w", dim, description="w = mapping(z), z ~ N(0, I)"),
        resolution=resolution,
        sampler=sample_w,
        noise_shapes=[(1, 4, 4)],
    )

