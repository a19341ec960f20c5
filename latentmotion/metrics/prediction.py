"""Video from a single image, measured as video prediction: invert the first frame, animate it, compare.

For each real clip: its first frame is inverted into the backend's latent space
([invert][latentmotion.backend.ImageGeneratorBackend.invert]), a video of the clip's length is
generated from that content, rendered with the noise maps the inversion fitted (`projection.noise`;
the backend's constant noise when it fits none), and the two are compared frame by frame with
PSNR (dB, for images in `[-1, 1]`), SSIM and, given its weights, LPIPS (our VGG16 port,
[latentmotion.metrics.lpips][], at the frames' own size). The first frame measures the inversion
alone: its PSNR is reported on its own; the figures of the prediction average the frames after
it. Given an I3D detector, the FVD of the predicted clips against the real ones is reported too
(same clips, same count: only comparable at equal `n_videos`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs
import torch
import torch.nn.functional as F
from einops import rearrange

from latentmotion.errors import ShapeError

if TYPE_CHECKING:
    from latentmotion.metrics.lpips import VGGPerceptualLoss
    from latentmotion.pipeline import LatentMotionPipeline

SSIM_WINDOW = 11
"""Side of SSIM's Gaussian window (Wang et al. 2004), shrunk to the image for smaller images."""

SSIM_SIGMA = 1.5
"""Standard deviation of SSIM's Gaussian window, in pixels."""


def ssim(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image (Gaussian window 11, sigma 1.5, `K1 = 0.01`, `K2 = 0.03`).

    Images in `[-1, 1]` are mapped to `[0, 1]` (data range 1); the SSIM map is computed per
    channel where the window fits (no padding) and averaged.

    Args:
        images: `[N, C, H, W]` images in `[-1, 1]`.
        targets: `[N, C, H, W]` references in `[-1, 1]`.

    Returns:
        `[N]` SSIM, 1 for identical images.

    Raises:
        ShapeError: The two batches differ in shape.
    """
    if images.shape != targets.shape or images.ndim != 4:
        raise ShapeError(f"SSIM needs two batches [N, C, H, W] of one shape, got {list(images.shape)} and {list(targets.shape)}")
    x, y = (images.double() + 1) / 2, (targets.double() + 1) / 2
    size = min(SSIM_WINDOW, x.shape[-1], x.shape[-2])
    size -= 1 - size % 2  # odd
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    line = torch.exp(-offsets.square() / (2 * SSIM_SIGMA**2))
    line = line / line.sum()
    channels = x.shape[1]
    window = (line[:, None] * line[None, :]).expand(channels, 1, size, size)

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(z, window, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mean_x, mean_y = blur(x), blur(y)
    var_x = blur(x * x) - mean_x.square()
    var_y = blur(y * y) - mean_y.square()
    cov = blur(x * y) - mean_x * mean_y
    score = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x.square() + mean_y.square() + c1) * (var_x + var_y + c2))
    return score.flatten(1).mean(1)


def predict(
    pipeline: LatentMotionPipeline,
    first_frames: torch.Tensor,
    *,
    n_frames: int,  # length of the predicted videos
    steps: int = 300,  # optimisation steps of the inversion
    seed: int = 0,  # seed of the inversion's start and of the motion
) -> torch.Tensor:
    """Videos that start from given frames: invert them, then generate motion from that content.

    Args:
        pipeline: The generator.
        first_frames: `[B, 3, R, R]` frames in `[-1, 1]` at the backend's resolution.
        n_frames: Frames per predicted video.
        steps: Optimisation steps of the inversion.
        seed: Seed of the inversion's starting point and of the motion.

    Returns:
        `[B, n_frames, 3, R, R]` videos in `[-1, 1]`, on the CPU.
    """
    targets = first_frames.float().to(pipeline.device)
    projection = pipeline.backend.invert(targets, steps=steps, generator=torch.Generator().manual_seed(seed))
    noise = projection.noise  # the noise maps fitted with the codes (none: the constant noise)
    return pipeline.generate(content=projection.codes, n_frames=n_frames, seed=seed, noise=noise).float().cpu()


@attrs.frozen
class FrameMeans:
    """Mean figures of each frame position of predicted clips.

    Attributes:
        psnr: T PSNRs (dB).
        ssim: T SSIMs.
        lpips: T LPIPS distances; None when no LPIPS network was given.
    """

    psnr: list[float]
    ssim: list[float]
    lpips: list[float] | None


class PredictionTotals:
    """Running sums of per-frame PSNR, SSIM and LPIPS over predicted clips (memory independent of their number).

    Args:
        lpips: The LPIPS network, run on the device its weights are on; None = no LPIPS.
    """

    def __init__(self, *, lpips: VGGPerceptualLoss | None = None) -> None:
        self.count = 0
        self.network = lpips
        self.psnr: torch.Tensor | None = None  # [T] sums
        self.ssim: torch.Tensor | None = None  # [T] sums
        self.lpips: torch.Tensor | None = None  # [T] sums

    def update(self, predicted: torch.Tensor, real: torch.Tensor) -> None:
        """Add a batch of predicted clips and their real clips.

        Args:
            predicted: `[B, T, 3, H, W]` in `[-1, 1]`.
            real: `[B, T, 3, H, W]` in `[-1, 1]`.

        Raises:
            ShapeError: The two batches differ in shape.
        """
        from latentmotion.inversion import psnr

        if predicted.shape != real.shape:
            raise ShapeError(f"predicted clips {list(predicted.shape)} and real clips {list(real.shape)} differ in shape")
        frames = predicted.shape[1]
        flat_predicted = rearrange(predicted, "b t c h w -> (b t) c h w")
        flat_real = rearrange(real, "b t c h w -> (b t) c h w")
        psnrs = rearrange(psnr(flat_predicted, flat_real).double(), "(b t) -> b t", t=frames).sum(0)
        ssims = rearrange(ssim(flat_predicted, flat_real), "(b t) -> b t", t=frames).sum(0)
        self.psnr = psnrs if self.psnr is None else self.psnr + psnrs
        self.ssim = ssims if self.ssim is None else self.ssim + ssims
        if self.network is not None:
            device = self.network.shift.device
            with torch.no_grad():
                distances = torch.stack([self.network(clip.to(device), target.to(device)).double().cpu() for clip, target in zip(predicted, real)]).sum(0)
            self.lpips = distances if self.lpips is None else self.lpips + distances
        self.count += predicted.shape[0]

    def per_frame(self) -> FrameMeans:
        """Mean PSNR, SSIM and LPIPS of each frame position.

        Returns:
            The means, each a list of T floats (empty before any clip).
        """
        lpips = None if self.network is None else []
        if self.psnr is None or self.ssim is None or self.count == 0:
            return FrameMeans(psnr=[], ssim=[], lpips=lpips)
        if self.lpips is not None:
            lpips = [float(value) for value in self.lpips / self.count]
        return FrameMeans(
            psnr=[float(value) for value in self.psnr / self.count],
            ssim=[float(value) for value in self.ssim / self.count],
            lpips=lpips,
        )


def mean_after_first(values: list[float]) -> float:
    """The mean of a per-frame list without its first frame (NaN for one frame).

    Args:
        values: Per-frame values.

    Returns:
        The mean of `values[1:]`.
    """
    rest = values[1:]
    return sum(rest) / len(rest) if rest else math.nan


def as_float_clips(batches: Iterator[torch.Tensor]) -> Iterator[torch.Tensor]:
    """Clips as floats in `[-1, 1]` (uint8 pixels converted exactly).

    Args:
        batches: `[B, T, 3, H, W]` clips, uint8 or float.

    Yields:
        `[B, T, 3, H, W]` float32 clips in `[-1, 1]`.
    """
    for clips in batches:
        yield clips.float() / 127.5 - 1 if clips.dtype == torch.uint8 else clips.float()
