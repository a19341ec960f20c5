"""Track the object of toy-world videos from their pixels, for evaluating generated motion.

The background of a video is estimated from the one-pixel border ring of its frames: the median
of each border pixel over time (the object passes over a border pixel only briefly, if ever),
then a least-squares plane `colour = a + b x + c y` through those medians, which is exact for the
plain backgrounds of `"shapes"` and the linear gradients of `"glow"`. Foreground pixels are those
farther than `threshold` (L2 over RGB in `[-1, 1]` units) from that plane; the object's position
in a frame is the centroid of its foreground pixels, and its colour their mean colour.
"""

from __future__ import annotations

import torch
from einops import rearrange

from latentmotion.errors import ShapeError

DEFAULT_THRESHOLD = 0.45
"""Colour distance above which a pixel counts as foreground; the world keeps objects and
backgrounds at least 0.9 apart in their brightest channel."""


def _check_videos(videos: torch.Tensor) -> None:
    if videos.ndim != 5 or videos.shape[2] != 3:
        raise ShapeError(f"expected videos of shape [B, T, 3, H, W], got {list(videos.shape)}")


def estimate_background(videos: torch.Tensor) -> torch.Tensor:
    """Estimate the static background of each video as a colour plane fitted to its border.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.

    Returns:
        `[B, 3, H, W]` background images.
    """
    _check_videos(videos)
    height, width = videos.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    ring = torch.zeros(height, width, dtype=torch.bool)
    ring[[0, -1], :] = True
    ring[:, [0, -1]] = True
    design = torch.stack([torch.ones_like(xs), xs / width, ys / height], -1)
    border = videos.float()[..., ring].median(dim=1).values
    coefficients = torch.linalg.pinv(design[ring]) @ rearrange(border, "b c p -> b p c")
    return rearrange(design @ coefficients[:, None], "b h w c -> b c h w")


def foreground_masks(videos: torch.Tensor, *, threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """Which pixels of every frame belong to the object.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.
        threshold: Colour distance to the background above which a pixel is foreground.

    Returns:
        `[B, T, H, W]` boolean masks.
    """
    background = estimate_background(videos)
    return torch.linalg.vector_norm(videos.float() - background[:, None], dim=2) > threshold


def track_centroids(videos: torch.Tensor, *, threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """Centroid of the foreground pixels of every frame.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.
        threshold: Colour distance to the background above which a pixel is foreground.

    Returns:
        `[B, T, 2]` centroids `(x, y)` in pixels, in the coordinates of
        [Motion][latentmotion_toyworld.scene.Motion] (pixel `(i, j)` has its centre at
        `(j + 0.5, i + 0.5)`); NaN for frames without any foreground pixel.
    """
    mask = foreground_masks(videos, threshold=threshold).float()
    height, width = videos.shape[-2:]
    ys = torch.arange(height, dtype=torch.float32) + 0.5
    xs = torch.arange(width, dtype=torch.float32) + 0.5
    area = mask.sum(dim=(-2, -1))
    x = (mask * xs).sum(dim=(-2, -1)) / area
    y = (mask * ys[:, None]).sum(dim=(-2, -1)) / area
    return torch.stack([x, y], -1)


def object_colours(videos: torch.Tensor, *, threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """Mean colour of the foreground pixels of every frame: the object's colour.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.
        threshold: Colour distance to the background above which a pixel is foreground.

    Returns:
        `[B, T, 3]` colours in `[-1, 1]`; NaN for frames without any foreground pixel.
    """
    mask = rearrange(foreground_masks(videos, threshold=threshold), "b t h w -> b t 1 h w").double()
    return ((videos.double() * mask).sum(dim=(-2, -1)) / mask.sum(dim=(-2, -1))).float()


def displacements(videos: torch.Tensor, *, threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """Movement of the tracked object between consecutive frames.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`, `T >= 2`.
        threshold: Colour distance to the background above which a pixel is foreground.

    Returns:
        `[B, T - 1, 2]` centroid displacements `(dx, dy)` in pixels; NaN where a frame has no
        foreground pixel.
    """
    centroids = track_centroids(videos, threshold=threshold)
    return centroids[:, 1:] - centroids[:, :-1]
