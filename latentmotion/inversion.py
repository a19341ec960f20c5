"""Inversion: find the content code whose rendering matches a real image.

Animating a photo (video prediction from a first frame) starts by projecting it into the
backend's latent space. This module holds the generic projector that every backend gets by
default, its reconstruction loss, and the PSNR used to report how well an image was inverted.
Backends with a better projector (StyleGAN2's, with noise optimisation) override
[ImageGeneratorBackend.invert][latentmotion.backend.ImageGeneratorBackend.invert].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

if TYPE_CHECKING:
    from latentmotion.backend import ImageGeneratorBackend

ReconstructionLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def reconstruction_loss(images: torch.Tensor, targets: torch.Tensor, *, levels: int = 4) -> torch.Tensor:
    """Pixel MSE plus an L1 over an average-pooled pyramid, per image.

    The pyramid terms weigh coarse structure (colour, layout) that a plain pixel loss gives little
    gradient for when the start is far away.

    Args:
        images: `[N, 3, H, W]` renderings in `[-1, 1]`.
        targets: `[N, 3, H, W]` targets in `[-1, 1]`.
        levels: Pyramid levels, each half the size of the previous (stops at 4 pixels).

    Returns:
        `[N]` losses.
    """
    loss = (images - targets).square().flatten(1).mean(1)
    for _ in range(levels):
        if images.shape[-1] <= 4:
            break
        images, targets = F.avg_pool2d(images, 2), F.avg_pool2d(targets, 2)
        loss = loss + (images - targets).abs().flatten(1).mean(1)
    return loss


def project(
    backend: ImageGeneratorBackend,
    images: torch.Tensor,
    *,
    steps: int = 300,
    learning_rate: float = 0.05,
    n_prior_samples: int = 512,
    loss: ReconstructionLoss | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Optimise content codes with Adam so that their renderings match `images`.

    Starts every image at the mean of `n_prior_samples` codes drawn from the prior (StyleGAN's
    `w_avg` start), with a cosine learning-rate ramp-down, and returns the codes of the best step.

    Args:
        backend: The generator to invert.
        images: `[N, 3, R, R]` targets in `[-1, 1]` at the backend's resolution.
        steps: Optimisation steps (>= 1).
        learning_rate: Peak Adam learning rate, in latent units.
        n_prior_samples: Prior draws whose mean is the starting point.
        loss: `loss(renderings, targets) -> [N]`; default [reconstruction_loss][latentmotion.inversion.reconstruction_loss].
        generator: CPU random number generator for the prior draws.

    Returns:
        `[N, total_dim]` codes, detached.
    """
    from latentmotion.errors import ConfigError

    backend.check_images(images)
    if steps < 1:
        raise ConfigError(f"inversion needs at least 1 step, got {steps}")
    loss = loss or reconstruction_loss
    targets = images.to(backend.device, torch.float32)
    with torch.no_grad():
        start = backend.sample_latents(n_prior_samples, generator=generator).mean(0)
    codes = start.expand(len(targets), -1).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([codes], lr=learning_rate)
    best_loss = torch.full((len(targets),), math.inf, device=targets.device)
    best = codes.detach().clone()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate * 0.5 * (1 + math.cos(math.pi * step / steps))
        per_image = loss(backend.synthesize(codes), targets)
        improved = per_image.detach() < best_loss
        best_loss = torch.where(improved, per_image.detach(), best_loss)
        best[improved] = codes.detach()[improved]
        optimizer.zero_grad(set_to_none=True)
        per_image.sum().backward()
        optimizer.step()
    return best


def psnr(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, for images in `[-1, 1]` (peak-to-peak 2).

    Args:
        images: `[N, 3, H, W]` images.
        targets: `[N, 3, H, W]` references.

    Returns:
        `[N]` PSNR in dB.
    """
    mse = (images.float() - targets.float()).square().flatten(1).mean(1)
    return 10 * torch.log10(4.0 / mse.clamp_min(1e-12))
