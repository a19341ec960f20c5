"""Augmentations: the two views of the contrastive loss, and random time reversal of clips.

[warp][latentmotion.augment.warp] makes one random view of each image, as the authors do for the
cross-domain image discriminator: a [cutout][latentmotion.augment.cutout] near the border, then
one of a horizontal flip, a colour shift or a random affine warp. Two independent calls on the
same images give the two views. [reverse_time][latentmotion.augment.reverse_time] plays a batch
of clips backwards half of the time, before the video discriminator sees them.

Every draw comes from an optional `torch.Generator`, for every sample at once, so results are
reproducible under a seed and nothing loops over the batch in Python.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from latentmotion.errors import ConfigError, ShapeError

# Which channels a colour shift moves: all of them, or only R, G or B (drawn uniformly).
_SHIFT_CHANNELS = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _device(generator: torch.Generator | None) -> torch.device:
    """The device random draws are made on: the generator's, or the CPU.

    Args:
        generator: Random number generator, or None for the global one.

    Returns:
        The device.
    """
    return generator.device if generator is not None else torch.device("cpu")


def _check_images(images: torch.Tensor) -> None:
    """Raise ShapeError unless `images` is a batch of RGB images `[B, 3, H, W]`.

    Args:
        images: The tensor to check.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ShapeError(f"expected RGB images [B, 3, H, W], got shape {tuple(images.shape)}")


def cutout(images: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one square per image, inside one of its four border bands.

    Per image: a side ratio `r ~ U[0.125, 0.25)`, a square of `floor(r H) x floor(r W)` pixels,
    and a band drawn uniformly among top (rows `[0, H/4)`), bottom (rows `[3H/4, H)`), left and
    right (the same in columns). Across the band the square lies anywhere inside it; along the
    band it starts in the first three quarters of the side.

    Args:
        images: `[B, 3, H, W]` images.
        generator: Random number generator for the draws.

    Returns:
        `[B, 3, H, W]` images with the squares set to 0.
    """
    _check_images(images)
    b, _, h, w = images.shape
    device = _device(generator)
    ratio = 0.125 + 0.125 * torch.rand(b, generator=generator, device=device, dtype=torch.float64)
    band = torch.randint(0, 4, (b,), generator=generator, device=device)  # 0 top, 1 bottom, 2 left, 3 right
    across, along = torch.rand(2, b, generator=generator, device=device, dtype=torch.float64)
    # Start of the square as a fraction of the side: [0, 1/4 - r) in the top/left bands,
    # [3/4, 1 - r) in the bottom/right ones, and [0, 3/4) along the band.
    across_start = across * (0.25 - ratio) + 0.75 * (band % 2)
    along_start = along * 0.75
    horizontal_band = band < 2
    top = torch.floor(torch.where(horizontal_band, across_start, along_start) * h).long()
    left = torch.floor(torch.where(horizontal_band, along_start, across_start) * w).long()
    height, width = torch.floor(ratio * h).long(), torch.floor(ratio * w).long()
    rows = torch.arange(h, device=device)
    columns = torch.arange(w, device=device)
    in_rows = (rows >= top[:, None]) & (rows < (top + height)[:, None])  # [B, H]
    in_columns = (columns >= left[:, None]) & (columns < (left + width)[:, None])  # [B, W]
    hole = (in_rows[:, :, None] & in_columns[:, None, :]).to(images.device)  # [B, H, W]
    return images.masked_fill(hole[:, None], 0.0)


def warp(images: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """One random view of each image: cutout, then one transform chosen uniformly per image.

    After the [cutout][latentmotion.augment.cutout], each image gets one of, with probability
    1/3 each:

    - a horizontal flip with probability 1/2;
    - a colour shift: `c ~ U[-0.5, 0.5)` added to all channels, or to one of R, G, B;
    - an affine warp (rotation `U[-180, 180]` degrees, translation `U[-0.1, 0.1]` in normalised
      coordinates per axis, isotropic scale `U[0.95, 1.05]`), bilinear with reflection padding.

    Differentiable with respect to `images`.

    Args:
        images: `[B, 3, H, W]` images in `[-1, 1]`.
        generator: Random number generator for the draws.

    Returns:
        `[B, 3, H, W]` augmented images.
    """
    out = cutout(images, generator=generator)
    b, _, h, w = images.shape
    device = _device(generator)
    choice = torch.randint(0, 3, (b,), generator=generator, device=device)  # 0 flip, 1 colour, 2 affine
    coin = torch.rand(b, generator=generator, device=device) < 0.5
    shift = torch.rand(b, generator=generator, device=device) - 0.5
    shifted = torch.randint(0, 4, (b,), generator=generator, device=device)
    angle, tx, ty, scale = torch.rand(4, b, generator=generator, device=device)
    angle = math.pi * (2.0 * angle - 1.0)
    tx, ty = 0.2 * tx - 0.1, 0.2 * ty - 0.1
    scale = 0.95 + 0.1 * scale

    flip = ((choice == 0) & coin).to(images.device)
    out = torch.where(flip[:, None, None, None], out.flip(-1), out)

    offset = (shift * (choice == 1))[:, None] * _SHIFT_CHANNELS.to(device)[shifted]  # [B, 3]
    out = out + offset.to(out)[:, :, None, None]

    cos, sin = scale * torch.cos(angle), scale * torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # [B, 2, 3]
    warped = torch.nonzero(choice == 2).squeeze(1).to(images.device)
    if len(warped) == 0:
        return out
    grid = F.affine_grid(theta.to(out)[warped], [len(warped), 3, h, w], align_corners=False)
    resampled = F.grid_sample(out[warped], grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return out.index_put((warped,), resampled)


def reverse_time(video: torch.Tensor, *, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Play a batch of clips backwards with probability `p`: one draw for the whole batch.

    Args:
        video: `[B, C, T, H, W]` clips, the discriminator layout.
        p: Probability of reversing, in `[0, 1]`.
        generator: Random number generator for the draw.

    Returns:
        `[B, C, T, H, W]` clips, all reversed in time or all unchanged.
    """
    if video.ndim != 5:
        raise ShapeError(f"reverse_time expects clips [B, C, T, H, W], got shape {tuple(video.shape)}")
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"reverse_time: p is a probability in [0, 1], got {p}")
    if torch.rand((), generator=generator, device=_device(generator)).item() < p:
        return video.flip(2)
    return video
