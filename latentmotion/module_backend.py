"""Turn any `nn.Module` image generator into a backend: the custom-GAN path.

Wrap a network that maps `[N, D]` codes to `[N, 3, H, W]` images in `[-1, 1]` with
[ModuleBackend][latentmotion.module_backend.ModuleBackend], declare its latent space and how to
sample it, and register a factory for it through the `register_backends` hook.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from latentmotion.backend import ImageGeneratorBackend, LatentSpace

Sampler = Callable[[int, "torch.Generator | None"], torch.Tensor]


class ModuleBackend(ImageGeneratorBackend):
    """A backend around a plain `nn.Module` network.

    Args:
        network: Module called as `network(latents)` (or `network(latents, noise=noise)` when
            `noise_shapes` is given), returning `[N, 3, resolution, resolution]` in `[-1, 1]`.
        latent_space: The space `network` takes codes from.
        resolution: Side of the rendered images, in pixels.
        sampler: `sampler(n, generator)` draws `[n, total_dim]` content codes on CPU with the
            random number generator `generator`; default standard normal codes.
        noise_shapes: Per-image shapes of the network's noise inputs (empty: none).
        file_options: The factory options that name files (see
            [file_options][latentmotion.backend.ImageGeneratorBackend.file_options]).
    """

    def __init__(
        self,
        *,
        network: nn.Module,
        latent_space: LatentSpace,
        resolution: int,
        sampler: Sampler | None = None,
        noise_shapes: list[tuple[int, ...]] | None = None,
        file_options: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.network = network
        self.latent_space = latent_space
        self.resolution = resolution
        self.sampler = sampler
        self.noise_shapes = [tuple(shape) for shape in noise_shapes or []]
        self.file_options = tuple(file_options)

    def sample_latents(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw `[n, total_dim]` content codes (see the base class).

        Args:
            n: Number of codes.
            generator: CPU random number generator.

        Returns:
            Codes on the backend's device.
        """
        if self.sampler is None:
            codes = torch.randn(n, self.latent_space.total_dim, generator=generator)
        else:
            codes = self.sampler(n, generator)
        return codes.to(self.device)

    def sample_noise(self, n: int, *, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Draw the network's noise inputs for `n` images.

        Args:
            n: Number of images.
            generator: CPU random number generator.

        Returns:
            One `[n, *shape]` tensor per entry of `noise_shapes`.
        """
        return [torch.randn(n, *shape, generator=generator).to(self.device) for shape in self.noise_shapes]

    def synthesize(self, latents: torch.Tensor, *, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Render `[N, 3, R, R]` images in `[-1, 1]` (see the base class).

        Args:
            latents: `[N, total_dim]` codes.
            noise: Noise inputs from `sample_noise(N)`, or None for deterministic rendering.

        Returns:
            The images.
        """
        self.check_latents(latents)
        if self.noise_shapes:
            return self.network(latents, noise=noise)
        return self.network(latents)
