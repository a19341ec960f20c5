"""FVD as StyleGAN-V computes it: clips, their preprocessing, and streamed feature statistics.

- **Clips.** FVD16 compares clips of 16 consecutive frames, FVD128 of 128 (and
  `fvd128-subsample8` 16 frames 8 apart); see [FVD_CLIPS][latentmotion.metrics.protocol.FVD_CLIPS].
  The real videos are the first `n_videos` of the data folder, in natural order of their paths,
  among those at least `n_frames * stride` frames long (shorter ones are left out, as StyleGAN-V
  discards them); one clip is drawn from each at a random start, from the protocol's seed. A
  generated video renders `(n_frames - 1) * stride + 1` frames, of which every `stride`-th is kept.
- **Preprocessing.** Frames become 8-bit pixels as StyleGAN-V makes them (`x * 127.5 + 128`,
  clamped to `[0, 255]`, truncated), are resized to 224 x 224 (bilinear) and scaled to `[-1, 1]`,
  what the I3D detector of the FVD reference code expects.
- **Statistics.** Clips go through the detector a batch at a time (128 frames a batch, as
  StyleGAN-V at 256 pixels), and only running sums are kept (see
  [FeatureStatistics][latentmotion.metrics.frechet.FeatureStatistics]): memory does not grow
  with the number of videos.

Real frames must already have the protocol's resolution (the generator's), as StyleGAN-V's
datasets do; `resize_real=True` centre-crops and resizes them instead (antialiased bicubic, as
training reads them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from latentmotion.data import VideoSource, crop_and_resize, find_videos, read_frames
from latentmotion.errors import ConfigError, DatasetError, ShapeError
from latentmotion.metrics.frechet import FeatureStatistics
from latentmotion.metrics.protocol import Protocol

if TYPE_CHECKING:
    from latentmotion.pipeline import LatentMotionPipeline

DETECTOR_SIZE = 224
"""Side in pixels of the frames the I3D detector sees."""

FRAMES_PER_BATCH = 128
"""Frames through the detector at a time (StyleGAN-V's batch at 256 pixels): 8 clips of 16 frames."""

Advance = Callable[..., None]


def clips_per_batch(n_frames: int, *, frames_per_batch: int = FRAMES_PER_BATCH) -> int:
    """Clips per detector batch: `frames_per_batch // n_frames`, at least 1.

    Args:
        n_frames: Frames per clip.
        frames_per_batch: Frames the detector takes at a time.

    Returns:
        The number of clips.
    """
    return max(1, frames_per_batch // n_frames)


def preprocess(clips: torch.Tensor, *, size: int = DETECTOR_SIZE) -> torch.Tensor:
    """Turn clips into the detector's input, as StyleGAN-V does.

    Args:
        clips: `[B, T, 3, H, W]` uint8 pixels, or floats in `[-1, 1]` (made 8-bit first:
            `x * 127.5 + 128`, clamped and truncated, as StyleGAN-V stores generated frames).
        size: Side of the detector's frames.

    Returns:
        `[B, 3, T, size, size]` float32 in `[-1, 1]`.

    Raises:
        ShapeError: `clips` is not `[B, T, 3, H, W]`.
    """
    if clips.ndim != 5 or clips.shape[2] != 3:
        raise ShapeError(f"expected clips [B, T, 3, H, W], got {list(clips.shape)}")
    if clips.dtype == torch.uint8:
        pixels = clips.float()
    else:
        pixels = (clips.float() * 127.5 + 128).clamp(0, 255).floor()
    frames = rearrange(pixels, "b t c h w -> (b t) c h w")
    if frames.shape[-2:] != (size, size):
        frames = F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)
    return rearrange(frames * (2 / 255) - 1, "(b t) c h w -> b c t h w", b=clips.shape[0])


@torch.no_grad()
def accumulate(
    batches: Iterator[torch.Tensor],
    detector: nn.Module,
    *,
    size: int = DETECTOR_SIZE,  # side of the detector's frames
    device: torch.device | str = "cpu",  # where the detector runs
    advance: Advance | None = None,  # called with the clips of each batch done
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,  # clips to the detector's input; default `preprocess`
) -> FeatureStatistics:
    """Feature statistics of clips streamed through a detector.

    Args:
        batches: `[B, T, 3, H, W]` clips, a batch at a time (see [preprocess][latentmotion.metrics.fvd.preprocess]).
        detector: Maps `[B, 3, T, size, size]` in `[-1, 1]` to `[B, D]` features (or whatever
            `prepare` makes to `[N, D]`).
        size: Side of the detector's frames.
        device: Where the detector runs.
        advance: Progress callback, called with the number of clips after each batch.
        prepare: Turns a batch of clips into the detector's input (default: FVD's
            [preprocess][latentmotion.metrics.fvd.preprocess] at `size`).

    Returns:
        The running statistics of every clip's features.
    """
    statistics: FeatureStatistics | None = None
    for clips in batches:
        features = detector((prepare(clips) if prepare is not None else preprocess(clips, size=size)).to(device))
        if statistics is None:
            statistics = FeatureStatistics(features.shape[1])
        statistics.update(features)
        if advance is not None:
            advance(len(clips))
    if statistics is None:
        raise ShapeError("no clips reached the detector")
    return statistics


def select_real_videos(folder: str | os.PathLike[str], protocol: Protocol) -> list[VideoSource]:
    """The real videos of a protocol: the first `n_videos` long enough, in natural order.

    Args:
        folder: The data folder (video files or folders of frames, at any depth).
        protocol: Frames, stride and number of videos.

    Returns:
        `n_videos` videos.

    Raises:
        DatasetError: The folder is missing, or holds fewer than `n_videos` videos of at least
            `n_frames * stride` frames.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"data folder {str(root)!r} does not exist or is not a folder")
    found, unreadable = find_videos(root)
    usable = [source for source in found if source.length >= protocol.clip_span]
    if len(usable) < protocol.n_videos:
        short = len(found) - len(usable)
        raise DatasetError(
            f"{protocol.metric} needs {protocol.n_videos} videos of at least {protocol.clip_span} frames "
            f"({protocol.n_frames} frames, stride {protocol.stride}), but {str(root)!r} has {len(usable)}"
            f" ({short} shorter, {len(unreadable)} unreadable); add videos, or lower the number of videos (--n-videos)"
        )
    return usable[: protocol.n_videos]


def check_frame_sizes(videos: list[VideoSource], protocol: Protocol) -> None:
    """Refuse real videos whose frames are not `resolution` x `resolution` (read one frame of each).

    Args:
        videos: The real videos.
        protocol: The resolution.

    Raises:
        DatasetError: A video's first frame has another size, or cannot be read.
    """
    for source in videos:
        _check_size(source, read_frames(source, [0]), protocol)


def _check_size(source: VideoSource, pixels: torch.Tensor, protocol: Protocol) -> None:
    if pixels.shape[-2:] != (protocol.resolution, protocol.resolution):
        raise DatasetError(
            f"real video {str(source.name)!r} has {pixels.shape[-1]}x{pixels.shape[-2]} frames, but the generated ones are "
            f"{protocol.resolution}x{protocol.resolution}: resize the data to the generator's resolution, or pass --resize-real"
        )


def real_clips(
    videos: list[VideoSource],
    protocol: Protocol,
    *,
    batch_size: int,  # clips per batch
    resize: bool = False,  # centre-crop and resize frames of another size instead of refusing them
) -> Iterator[torch.Tensor]:
    """One random clip of each real video, a batch at a time.

    The start frames are drawn in video order from a generator seeded with the protocol's seed,
    uniformly among the starts that fit, so the same folder and protocol give the same clips.

    Args:
        videos: The videos (see [select_real_videos][latentmotion.metrics.fvd.select_real_videos]).
        protocol: Frames, stride, resolution and seed.
        batch_size: Clips per batch.
        resize: Resize frames that are not `resolution` x `resolution`; else they are refused.

    Yields:
        `[b, n_frames, 3, resolution, resolution]` clips: uint8, or float in `[-1, 1]` when resized.

    Raises:
        DatasetError: A frame cannot be read, or has another size than the protocol's and
            `resize` is False.
    """
    generator = torch.Generator().manual_seed(protocol.seed)
    starts = [int(torch.randint(source.length - protocol.clip_span + protocol.stride, (), generator=generator)) for source in videos]
    batch: list[torch.Tensor] = []
    for source, start in zip(videos, starts, strict=True):
        indices = list(range(start, start + protocol.clip_span, protocol.stride))
        pixels = read_frames(source, indices)  # [T, 3, H, W] uint8
        if pixels.shape[-2:] != (protocol.resolution, protocol.resolution):
            if not resize:
                _check_size(source, pixels, protocol)
            pixels = crop_and_resize(pixels, resolution=protocol.resolution)
        batch.append(pixels)
        if len(batch) == batch_size:
            yield torch.stack(batch)
            batch = []
    if batch:
        yield torch.stack(batch)


def generated_clips(pipeline: LatentMotionPipeline, protocol: Protocol, *, batch_size: int) -> Iterator[torch.Tensor]:
    """Clips of generated videos, a batch at a time.

    Batch `k` is `pipeline.generate(b, (n_frames - 1) * stride + 1, seed=protocol.seed + k)`, every
    `stride`-th frame kept.

    Args:
        pipeline: The generator.
        protocol: Number of videos, frames, stride, resolution and seed.
        batch_size: Videos per batch.

    Yields:
        `[b, n_frames, 3, R, R]` clips in `[-1, 1]`, on the CPU.

    Raises:
        ConfigError: The pipeline renders another resolution than the protocol's.
    """
    if pipeline.backend.resolution != protocol.resolution:
        raise ConfigError(f"the pipeline renders {pipeline.backend.resolution}x{pipeline.backend.resolution} frames, but the protocol's resolution is {protocol.resolution}")
    length = (protocol.n_frames - 1) * protocol.stride + 1
    for index, start in enumerate(range(0, protocol.n_videos, batch_size)):
        count = min(batch_size, protocol.n_videos - start)
        videos = pipeline.generate(count, length, seed=protocol.seed + index)
        yield videos[:, :: protocol.stride].float().cpu()
