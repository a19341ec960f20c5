"""Inversion of BigGAN: find `z` and a class embedding whose rendering matches an image.

BigGAN's image manifold is hard to reach from a single start, so (as pix2latent does) we
optimise from several random starts at once and keep the best: `z` starts from the truncated
prior and stays clamped to its box `[-2 truncation, 2 truncation]` after every step; the class
embedding starts at the given class (or a random one of the backend's classes) and is optimised
too unless told otherwise. The loss is the core's pixel and multi-scale
[reconstruction_loss][latentmotion.inversion.reconstruction_loss], plus an optional perceptual
distance (pix2latent uses `10 * LPIPS`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from einops import rearrange, repeat

from latentmotion.errors import ConfigError, ShapeError
from latentmotion.inversion import ReconstructionLoss, reconstruction_loss
from latentmotion_biggan.classes import ClassSpec
from latentmotion_biggan.truncation import TRUNCATION_BOUND, truncated_normal

if TYPE_CHECKING:
    from latentmotion_biggan.backend import BigGANBackend

Z_LEARNING_RATE = 0.05  # pix2latent's rates, in latent units
CLASS_LEARNING_RATE = 0.01


def pick_best(codes: torch.Tensor, losses: torch.Tensor, *, restarts: int) -> torch.Tensor:
    """Keep, for every image, the code of its restart with the lowest loss.

    Args:
        codes: `[N * restarts, D]` codes, the restarts of image `i` at rows `i * restarts ...`.
        losses: `[N * restarts]` losses.
        restarts: Restarts per image.

    Returns:
        `[N, D]` codes.
    """
    codes = rearrange(codes, "(n r) d -> n r d", r=restarts)
    best = rearrange(losses, "(n r) -> n r", r=restarts).argmin(dim=1)
    return codes[torch.arange(codes.shape[0], device=codes.device), best]


def invert(
    backend: BigGANBackend,
    images: torch.Tensor,
    *,
    classes: ClassSpec | Sequence[ClassSpec] | None = None,
    steps: int = 300,
    restarts: int = 4,
    optimize_class: bool = True,
    perceptual: ReconstructionLoss | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Optimise content codes `[z ; class embedding]` so that their renderings match `images`.

    Args:
        backend: The BigGAN backend.
        images: `[N, 3, R, R]` targets in `[-1, 1]` at the backend's resolution.
        classes: The class of every image (one for all, or N), as indices or ImageNet names; None
            starts every restart from a random class of the backend's selection.
        steps: Adam steps (>= 1), with a cosine learning-rate ramp-down.
        restarts: Random starts per image (>= 1); the best one is kept.
        optimize_class: Whether the class embedding is optimised too (else it stays the class's).
        perceptual: Optional `perceptual(renderings, targets) -> [N]` distance added to the loss,
            e.g. a weighted LPIPS.
        generator: CPU random number generator for the starts.

    Returns:
        `[N, z_dim + class_embed_dim]` codes, detached.
    """
    backend.check_images(images)
    if steps < 1:
        raise ConfigError(f"inversion needs at least 1 step, got {steps}")
    if restarts < 1:
        raise ConfigError(f"inversion needs at least 1 restart, got {restarts}")
    device = backend.device
    count = images.shape[0]
    targets = repeat(images.to(device, torch.float32), "n c h w -> (n r) c h w", r=restarts)

    if classes is None:
        picks = torch.randint(len(backend.classes), (count * restarts,), generator=generator)
        start_classes = [backend.classes[pick] for pick in picks.tolist()]
    else:
        indices = backend.resolve_classes(classes)
        if len(indices) not in (1, count):
            raise ShapeError(f"give one class for all {count} images or one per image, got {len(indices)}")
        start_classes = [index for index in indices * (count // len(indices)) for _ in range(restarts)]
    z = backend.truncation * truncated_normal((count * restarts, backend.latent_space.dim), generator=generator)
    z = z.to(device).requires_grad_(True)
    embedding = backend.class_embedding(start_classes).detach().clone().requires_grad_(optimize_class)
    groups = [{"params": [z], "lr": Z_LEARNING_RATE, "peak_lr": Z_LEARNING_RATE}]
    if optimize_class:
        groups.append({"params": [embedding], "lr": CLASS_LEARNING_RATE, "peak_lr": CLASS_LEARNING_RATE})
    optimizer = torch.optim.Adam(groups)
    bound = TRUNCATION_BOUND * backend.truncation

    def objective(codes: torch.Tensor) -> torch.Tensor:
        renderings = backend.synthesize(codes)
        loss = reconstruction_loss(renderings, targets)
        return loss if perceptual is None else loss + perceptual(renderings, targets)

    best_loss = torch.full((count * restarts,), math.inf, device=device)
    best = torch.cat([z, embedding], dim=1).detach().clone()
    with torch.enable_grad():
        for step in range(steps + 1):
            codes = torch.cat([z, embedding], dim=1)
            losses = objective(codes)
            improved = losses.detach() < best_loss
            best_loss = torch.where(improved, losses.detach(), best_loss)
            best[improved] = codes.detach()[improved]
            if step == steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = group["peak_lr"] * 0.5 * (1 + math.cos(math.pi * step / steps))
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            with torch.no_grad():
                z.clamp_(-bound, bound)
    return pick_best(best, best_loss, restarts=restarts)
