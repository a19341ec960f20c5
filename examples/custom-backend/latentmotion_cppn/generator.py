"""The CPPN generator and its backend.

A CPPN maps each pixel's coordinates `(x, y, r)` together with a latent `z` through a small MLP
with smooth activations to a colour. Weights are random but seeded: smooth, resolution-free
patterns that change continuously with `z`, which makes motion in latent space easy to see.
"""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from latentmotion import LatentSpace, ModuleBackend


class CPPN(nn.Module):
    """`z -> image`: an MLP evaluated at every pixel on `(x, y, r, z)`.

    Args:
        latent_dim: Dimension of `z`.
        resolution: Output side in pixels.
        width: Hidden units per layer.
        depth: Hidden layers.
        seed: Seed of the random weights.
    """

    def __init__(self, *, latent_dim: int = 8, resolution: int = 64, width: int = 32, depth: int = 4, seed: int = 0) -> None:
        super().__init__()
        axis = torch.linspace(-1, 1, resolution)
        y, x = torch.meshgrid(axis, axis, indexing="ij")
        self.register_buffer("coords", torch.stack([x, y, (x**2 + y**2).sqrt()], dim=-1))  # [R, R, 3]
        layers: list[nn.Module] = [nn.Linear(3 + latent_dim, width), nn.Tanh()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.Tanh()]
        layers += [nn.Linear(width, 3), nn.Tanh()]
        self.mlp = nn.Sequential(*layers)
        rng = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for layer in self.mlp:
                if isinstance(layer, nn.Linear):
                    layer.weight.copy_(torch.randn(layer.weight.shape, generator=rng) * 1.5 / layer.in_features**0.5)
                    layer.bias.zero_()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Render `[N, 3, R, R]` images in `[-1, 1]`.

        Args:
            z: `[N, latent_dim]` latents.

        Returns:
            The images.
        """
        size = self.coords.shape[0]
        coords = repeat(self.coords, "h w c -> n h w c", n=len(z))
        inputs = torch.cat([coords, repeat(z, "n d -> n h w d", h=size, w=size)], dim=-1)
        return rearrange(self.mlp(inputs), "n h w c -> n c h w")


def cppn_backend(*, latent_dim: int = 8, resolution: int = 64, width: int = 32, depth: int = 4, seed: int = 0) -> ModuleBackend:
    """The `cppn` backend: latent space Z with a standard normal prior.

    `get_backend` names it and records these arguments as its options; a pipeline saved with it
    rebuilds the identical network with `get_backend("cppn", **options)`.

    Args:
        latent_dim: Dimension of `z`.
        resolution: Output side in pixels.
        width: Hidden units per layer.
        depth: Hidden layers.
        seed: Seed of the random weights.

    Returns:
        The backend; `invert` is latentmotion's default projector.
    """
    return ModuleBackend(
        network=CPPN(latent_dim=latent_dim, resolution=resolution, width=width, depth=depth, seed=seed),
        latent_space=LatentSpace("z", latent_dim, description="z ~ N(0, I)"),
        resolution=resolution,
    )
