"""Rendering trajectories: every code of a batch of videos through a backend, noise shared per video."""

from __future__ import annotations

import torch
import torch.utils.checkpoint
from einops import rearrange, repeat

from latentmotion.backend import ImageGeneratorBackend


def render(
    backend: ImageGeneratorBackend,
    trajectory: torch.Tensor,
    noise: list[torch.Tensor],
    *,
    batch_size: int | None = None,
    checkpoint: bool = False,
) -> torch.Tensor:
    """Render every code of a batch of trajectories through the backend.

    Args:
        backend: The generator.
        trajectory: `[B, T, D]` codes.
        noise: Per-video generator noise (each tensor `[B, ...]`), shared by the frames of a video;
            empty for the backend's deterministic rendering.
        batch_size: Frames per backend call (default: all `B * T` at once).
        checkpoint: Keep no activations of the backend calls: the backward pass recomputes each
            call's (gradient checkpointing), so memory holds one call's activations at a time.

    Returns:
        `[B, T, 3, H, W]` frames in `[-1, 1]`; differentiable with respect to `trajectory`.
    """
    videos, frames = trajectory.shape[:2]
    codes = rearrange(trajectory, "b t d -> (b t) d")
    frame_noise = [repeat(tensor, "b ... -> (b t) ...", t=frames) for tensor in noise]
    step = batch_size or len(codes)

    def synthesize(codes: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        return backend.synthesize(codes, noise=list(noise) or None)

    recompute = checkpoint and torch.is_grad_enabled()  # without a backward pass there is nothing to save
    chunks = []
    for i in range(0, len(codes), step):
        inputs = (codes[i : i + step], *(tensor[i : i + step] for tensor in frame_noise))
        chunks.append(torch.utils.checkpoint.checkpoint(synthesize, *inputs, use_reentrant=False) if recompute else synthesize(*inputs))
    return rearrange(torch.cat(chunks), "(b t) c h w -> b t c h w", b=videos)
