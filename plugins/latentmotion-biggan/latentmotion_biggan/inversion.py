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

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from einops import rearrange, repeat

from latentmotion import inversion
from latentmotion.errors import ConfigError, ShapeError
from latentmotion.inversion import CodeGroup, Projection, ReconstructionLoss, reconstruction_loss
from latentmotion_biggan.classes import ClassSpec
from latentmotion_biggan.truncation import TRUNCATION_BOUND, truncated_normal

if TYPE_CHECKING:
    from latentmotion_biggan.backend import BigGANBackend

Z_LEARNING_RATE = 0.05  # pix2latent's rates, in latent units
CLASS_LEARNING_RATE = 0.01


def pick_best(restarted: Projection, *, restarts: int) -> Projection:
    """Keep, for every image, the restart with the lowest loss.

    Args:
        restarted: The projection of every restart: `[N * restarts, D]` codes and
            `[N * restarts]` losses, the restarts of image `i` at rows `i * restarts ...`.
        restarts: Restarts per image.

    Returns:
        The `[N, D]` codes and `[N]` losses of the best restarts (BigGAN fits no noise).
    """
    codes = rearrange(restarted.codes, "(n r) d -> n r d", r=restarts)
    losses = rearrange(restarted.losses, "(n r) -> n r", r=restarts)
    best = losses.argmin(dim=1)
    rows = torch.arange(codes.shape[0], device=codes.device)
    return Projection(codes=codes[rows, best], noise=[], losses=losses[rows, best])


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
) -> Projection:
    """Optimise content codes `[z ; class embedding]` so that their renderings match `images`.

    Every restart is one image of latentmotion's [project][latentmotion.inversion.project]:
    `z` and the embedding are two groups with pix2latent's learning rates, `z` is clamped to the
    truncation box after each step, and each restart keeps its best step.

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
        The best restart of every image: `[N, z_dim + class_embed_dim]` codes, detached, and
        `[N]` losses (no noise: BigGAN has none).
    """
    backend.check_images(images)
    if steps < 1:
        raise ConfigError(f"inversion needs at least 1 step, got {steps}")
    if restarts < 1:
        raise ConfigError(f"inversion needs at least 1 restart, got {restarts}")
    count = images.shape[0]
    if classes is None:
        picks = torch.randint(len(backend.classes), (count * restarts,), generator=generator)
        start_classes = [backend.classes[pick] for pick in picks.tolist()]
    else:
        indices = backend.resolve_classes(classes)
        if len(indices) not in (1, count):
            raise ShapeError(f"give one class for all {count} images or one per image, got {len(indices)}")
        start_classes = [index for index in indices * (count // len(indices)) for _ in range(restarts)]
    z = backend.truncation * truncated_normal((count * restarts, backend.latent_space.dim), generator=generator)
    bound = TRUNCATION_BOUND * backend.truncation

    def clamp_z(groups: list[torch.Tensor], noise: list[torch.Tensor]) -> None:
        groups[0].clamp_(-bound, bound)

    def loss(renderings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        distance = reconstruction_loss(renderings, targets)
        return distance if perceptual is None else distance + perceptual(renderings, targets)

    result = inversion.project(
        backend,
        repeat(images, "n c h w -> (n r) c h w", r=restarts),
        steps=steps,
        start=backend.content_codes(z, start_classes),
        groups=[
            CodeGroup(backend.latent_space.dim, Z_LEARNING_RATE),
            CodeGroup(backend.latent_space.condition_dim, CLASS_LEARNING_RATE if optimize_class else 0.0),
        ],
        loss=loss,
        constrain=clamp_z,
    )
    return pick_best(result, restarts=restarts)
