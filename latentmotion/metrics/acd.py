"""ACD, the average content distance: how much a video's content changes from frame to frame.

MoCoGAN defines it as the average L2 distance between per-frame vectors of one video, averaged
over videos; lower means content kept better. Two kinds of vector:

- **colour** (MoCoGAN's shapes data, and any data without a better network): the mean colour of
  each frame, in `[0, 255]` units;
- **embedding**: any image-embedding network the caller passes, e.g. a face-identity network
  for faces (MoCoGAN used OpenFace; MoCoGAN-HD's authors a FaceNet trained on VGGFace2).

Which pairs of frames count is a parameter, since papers read "pairwise" both ways: `"all"`
(every pair of distinct frames) or `"consecutive"` (frame t and t + 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from einops import rearrange, reduce

from latentmotion.errors import ConfigError, ShapeError

Pairs = Literal["all", "consecutive"]
Embedding = Callable[[torch.Tensor], torch.Tensor]
"""An image-embedding network: `[N, 3, H, W]` frames in `[-1, 1]` to `[N, D]` vectors."""


def colour_vectors(videos: torch.Tensor) -> torch.Tensor:
    """The mean colour of every frame.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.

    Returns:
        `[B, T, 3]` float64 mean colours in `[0, 255]` units.
    """
    return reduce((videos.double().clamp(-1, 1) + 1) * 127.5, "b t c h w -> b t c", "mean")


def embedding_vectors(videos: torch.Tensor, embed: Embedding) -> torch.Tensor:
    """Every frame's embedding.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.
        embed: The embedding network.

    Returns:
        `[B, T, D]` float64 embeddings.

    Raises:
        ShapeError: The network does not return one vector per frame.
    """
    frames = rearrange(videos, "b t c h w -> (b t) c h w")
    with torch.no_grad():
        vectors = embed(frames)
    if vectors.ndim != 2 or vectors.shape[0] != frames.shape[0]:
        raise ShapeError(f"the embedding network must return [N, D] for N frames; got {list(vectors.shape)} for {frames.shape[0]}")
    return rearrange(vectors.double().cpu(), "(b t) d -> b t d", b=videos.shape[0])


def content_distances(vectors: torch.Tensor, *, pairs: Pairs = "all") -> torch.Tensor:
    """Each video's average distance between the vectors of its frames.

    Args:
        vectors: `[B, T, D]` per-frame vectors, `T >= 2`.
        pairs: `"all"` pairs of distinct frames, or `"consecutive"` frames.

    Returns:
        `[B]` average L2 distances.

    Raises:
        ConfigError: An unknown `pairs`.
        ShapeError: Fewer than two frames.
    """
    if vectors.ndim != 3 or vectors.shape[1] < 2:
        raise ShapeError(f"ACD needs [B, T, D] vectors of T >= 2 frames, got {list(vectors.shape)}")
    if pairs == "consecutive":
        return (vectors[:, 1:] - vectors[:, :-1]).norm(dim=-1).mean(dim=1)
    if pairs == "all":
        frames = vectors.shape[1]
        distances = torch.cdist(vectors, vectors)  # [B, T, T]
        return distances.sum(dim=(1, 2)) / (frames * (frames - 1))
    raise ConfigError(f"pairs must be 'all' or 'consecutive', got {pairs!r}")


def acd(videos: torch.Tensor, *, embed: Embedding | None = None, pairs: Pairs = "all") -> torch.Tensor:
    """Each video's ACD.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`, `T >= 2`.
        embed: An image-embedding network; None for the colour ACD.
        pairs: `"all"` or `"consecutive"`.

    Returns:
        `[B]` per-video distances (average them for the figure).
    """
    if videos.ndim != 5 or videos.shape[2] != 3:
        raise ShapeError(f"expected videos [B, T, 3, H, W], got {list(videos.shape)}")
    vectors = colour_vectors(videos) if embed is None else embedding_vectors(videos, embed)
    return content_distances(vectors, pairs=pairs)
