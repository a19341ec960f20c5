"""A trained video generator: backend + PCA basis + motion generator.

    pipeline = LatentMotionPipeline.from_pretrained("path/or/hub-repo")
    videos = pipeline.generate(4, 16, seed=0)            # [4, 16, 3, H, W] in [-1, 1]

A pipeline folder holds `config.json` (backend name and options, motion sizes, library
versions), `motion.safetensors`, `basis.safetensors`, a model card `README.md` (regenerated at
every save) and a sample video `sample.gif`.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
import numpy as np
import PIL.Image
import torch
from einops import rearrange
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from latentmotion import hub
from latentmotion.atomic import atomic_path
from latentmotion.backend import ImageGeneratorBackend
from latentmotion.basis import PCABasis
from latentmotion.devices import check_memory, resolve_device
from latentmotion.errors import (
    CheckpointError,
    ConfigError,
    ShapeError,
    UnknownPipelineError,
)
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.rendering import render
from latentmotion.streams import Stream, check_seed, stream_generator, stream_generators
from latentmotion.structure import describe, strict_converter
from latentmotion.video import to_uint8, write_video

CONFIG_NAME = "config.json"
MOTION_NAME = "motion.safetensors"
BASIS_NAME = "basis.safetensors"
MODEL_CARD_NAME = "README.md"
FORMAT_VERSION = 1
MOTION_STEP_OVERHEAD = 512
"""Bytes beyond its tensors' data that the motion generator keeps per step of a video (tensor headers)."""


def interpolate_trajectory(trajectory: torch.Tensor, factor: int) -> torch.Tensor:
    """Insert `factor` evenly spaced codes between consecutive codes of a trajectory.

    Args:
        trajectory: `[B, T, D]` codes.
        factor: Codes inserted between each pair (0 = unchanged).

    Returns:
        `[B, (T - 1) * (factor + 1) + 1, D]` codes.
    """
    if factor < 0:
        raise ConfigError(f"interpolation factor must be >= 0, got {factor}")
    if factor == 0 or trajectory.shape[1] < 2:
        return trajectory
    weights = torch.arange(factor + 1, dtype=trajectory.dtype, device=trajectory.device) / (factor + 1)  # [S]
    start, end = trajectory[:, :-1, None], trajectory[:, 1:, None]  # [B, T-1, 1, D]
    between = start + weights[:, None] * (end - start)  # [B, T-1, S, D]
    return torch.cat([rearrange(between, "b t s d -> b (t s) d"), trajectory[:, -1:]], dim=1)


def interpolated_codes(trajectory: torch.Tensor, factor: int, start: int, stop: int) -> torch.Tensor:
    """Codes `start` to `stop` of `interpolate_trajectory(trajectory, factor)`, without building the rest.

    Args:
        trajectory: `[B, T, D]` codes.
        factor: Codes inserted between each pair (0 = unchanged).
        start: First interpolated frame.
        stop: One past the last interpolated frame.

    Returns:
        `[B, stop - start, D]` codes, equal to the same slice of the whole interpolation.
    """
    if factor == 0 or trajectory.shape[1] < 2:
        return trajectory[:, start:stop]
    last = trajectory.shape[1] - 1
    index = torch.arange(start, stop, device=trajectory.device)
    segment = torch.div(index, factor + 1, rounding_mode="floor").clamp(max=last - 1)
    weights = (index - segment * (factor + 1)).to(trajectory.dtype) / (factor + 1)  # [S]
    begin, end = trajectory[:, segment], trajectory[:, segment + 1]  # [B, S, D]
    between = begin + weights[:, None] * (end - begin)
    return torch.where((index == last * (factor + 1))[:, None], trajectory[:, -1:], between)


def truncate_content(content: torch.Tensor, basis: PCABasis, psi: float) -> torch.Tensor:
    """Move content codes toward the mean of the latent space: `mean + psi * (w - mean)`.

    The truncation trick of StyleGAN, on the `latent_dim` columns the basis was fitted on, with
    the basis mean as the centre; a per-video condition (the last `condition_dim` columns) is kept.
    Smaller `psi` gives more typical, less varied content.

    Args:
        content: `[B, total_dim]` codes.
        basis: The basis whose `mean` is the centre.
        psi: Truncation in `[0, 1]`; 1 leaves the codes unchanged, 0 puts every code at the mean.

    Returns:
        `[B, total_dim]` codes.
    """
    if not 0 <= psi <= 1:
        raise ConfigError(f"truncation must be in [0, 1] (1 = none), got {psi}")
    if psi == 1:
        return content
    dim = basis.latent_dim
    mean = basis.mean[:dim].to(content)  # [dim]
    return torch.cat([mean + psi * (content[:, :dim] - mean), content[:, dim:]], dim=1)


def draw_motion_noise(seed: int, n_videos: int, n_frames: int, noise_dim: int) -> torch.Tensor:
    """The motion noise of generated videos: each video its own stream, drawn one step at a time.

    Drawn step by step, the noise of a longer video starts with that of a shorter one, so the
    same seed with more frames extends the same videos; drawn per video, the first videos are the
    same however many are drawn. (Training draws its noise in one call,
    [MotionGenerator.sample_noise][latentmotion.motion.MotionGenerator.sample_noise].)

    Args:
        seed: The motion seed, >= 0.
        n_videos: Videos B.
        n_frames: Frames T per video (T - 1 steps).
        noise_dim: Width N of a step's noise.

    Returns:
        `[B, T-1, N]` standard normal noise on the CPU.
    """
    steps = max(n_frames - 1, 0)
    videos = [
        torch.stack([torch.randn(noise_dim, generator=rng) for _ in range(steps)]) if steps else torch.zeros(0, noise_dim)
        for rng in stream_generators(seed, Stream.MOTION, n_videos)
    ]
    return torch.stack(videos) if videos else torch.zeros(0, steps, noise_dim)


OutputType = Literal["pt", "np", "pil"]
NoiseMode = Literal["video", "constant", "zero"]
NOISE_MODES = ("video", "constant", "zero")
"""How [generate][latentmotion.pipeline.LatentMotionPipeline.generate] feeds the generator's noise
inputs: `"video"` one random draw per video, shared by its frames (as in training; `True`);
`"constant"` the backend's deterministic noise, for StyleGAN2 the checkpoint's stored maps
(`False`); `"zero"` all-zero maps, i.e. no noise at all, as MoCoGAN-HD's `evaluate.py` renders
its videos without `_noise` in their names."""


def noise_mode(noise: NoiseMode | bool) -> NoiseMode:
    """Name a noise choice: True is `"video"`, False is `"constant"`.

    Args:
        noise: `"video"`, `"constant"`, `"zero"`, True or False.

    Returns:
        The mode's name.

    Raises:
        ConfigError: An unknown mode.
    """
    if isinstance(noise, bool):
        return "video" if noise else "constant"
    if noise not in NOISE_MODES:
        raise ConfigError(f"noise must be one of {', '.join(map(repr, NOISE_MODES))} (or True / False), got {noise!r}")
    return noise


Noise = NoiseMode | bool | Sequence[torch.Tensor]
"""What `generate` takes as `noise=`: a [NOISE_MODES][latentmotion.pipeline.NOISE_MODES] name
(or True / False), or per-video noise inputs such as a projection's fitted maps
([Projection.noise][latentmotion.inversion.Projection]; empty: the backend's deterministic
rendering)."""


def noise_maps(backend: ImageGeneratorBackend, n_videos: int, noise: Noise, *, seed: int) -> list[torch.Tensor]:
    """The per-video noise inputs a noise choice means (see [Noise][latentmotion.pipeline.Noise]).

    Args:
        backend: The generator.
        n_videos: Number of videos B.
        noise: `"video"` (or True), `"constant"` (or False), `"zero"`, or the noise inputs of
            each video, one tensor `[B, ...]` per input of `backend.sample_noise` (an empty
            list: the deterministic rendering, as a projection that fitted no noise gives).
        seed: Seed of the `"video"` draws (the render-noise stream of this seed).

    Returns:
        One tensor `[B, ...]` per noise input, shared by the frames of each video, on the
        backend's device; empty for the backend's deterministic rendering (`"constant"`, or a
        backend without noise inputs).

    Raises:
        ConfigError: An unknown mode.
        ShapeError: Given noise inputs that are not the backend's for `n_videos` videos.
    """
    if not isinstance(noise, str | bool):
        return given_noise(backend, n_videos, list(noise)) if len(noise) else []
    mode = noise_mode(noise)
    if mode == "constant":
        return []
    if mode == "zero":  # shapes only; a private generator leaves the global random state alone
        return [torch.zeros_like(tensor) for tensor in backend.sample_noise(n_videos, generator=torch.Generator().manual_seed(0))]
    return backend.sample_noise(n_videos, generator=stream_generator(seed, Stream.RENDER_NOISE))


def given_noise(backend: ImageGeneratorBackend, n_videos: int, noise: list[torch.Tensor]) -> list[torch.Tensor]:
    """Check noise inputs given for `n_videos` videos against the backend's, and move them to its device.

    Args:
        backend: The generator.
        n_videos: Number of videos B.
        noise: One tensor `[B, ...]` per noise input of `backend.sample_noise`.

    Returns:
        The tensors on the backend's device.

    Raises:
        ShapeError: Another number of inputs, or a tensor of another shape.
    """
    expected = [(n_videos, *tensor.shape[1:]) for tensor in backend.sample_noise(1, generator=torch.Generator().manual_seed(0))]
    shapes = [tuple(getattr(tensor, "shape", ())) for tensor in noise]
    if shapes != expected:
        raise ShapeError(
            f"noise for {n_videos} video(s) of backend {backend.label!r} must be {len(expected)} tensor(s) of shapes {expected}, "
            f"got {len(shapes)} of shapes {shapes}: pass the noise of a projection of the same videos' content (projection.noise)"
        )
    return [tensor.to(backend.device) for tensor in noise]


@attrs.frozen
class VideoPipelineOutput:
    """What calling a pipeline returns.

    Attributes:
        frames: `output_type="pt"`: a `[B, T, 3, H, W]` float tensor in `[0, 1]`; `"np"`: a
            `[B, T, H, W, 3]` float32 array in `[0, 1]`; `"pil"`: B lists of T RGB images.
    """

    frames: torch.Tensor | np.ndarray | list[list[PIL.Image.Image]]


class LatentMotionPipeline:
    """Generate videos as trajectories in the latent space of a frozen image generator.

    `pipeline(4, 16, seed=0).frames` returns videos as viewers take them (`[0, 1]`, or PIL
    images), like a diffusers pipeline; [generate][latentmotion.pipeline.LatentMotionPipeline.generate]
    returns the generator's own range, `[-1, 1]`.

    Args:
        backend: The frozen image generator.
        basis: The PCA basis of its latent space.
        motion: The trained motion generator (its basis buffer is `basis.scaled(K)`).
        n_frames: Default number of frames per video.
        fps: Default frame rate of written videos.
        card: What the model card states beyond the configuration (licence, datasets, metrics of
            the last evaluation, training configuration); kept as the attribute `card`, which
            may be replaced, e.g. `attrs.evolve(pipeline.card, metrics={...})`.
    """

    def __init__(
        self,
        *,
        backend: ImageGeneratorBackend,
        basis: PCABasis,
        motion: MotionGenerator,
        n_frames: int = 16,
        fps: int = 10,
        card: hub.CardInfo | None = None,
    ) -> None:
        basis.check_compatible(backend.latent_space)
        if motion.config.latent_dim != backend.latent_space.total_dim:
            raise ShapeError(
                f"motion generator works on {motion.config.latent_dim}-d codes but backend {backend.label!r} "
                f"takes {backend.latent_space.total_dim}-d codes"
            )
        self.backend = backend
        self.basis = basis
        self.motion = motion.to(backend.device).eval()
        self.n_frames = n_frames
        self.fps = fps
        self.dtype = torch.float32  # what frames are rendered in; see `to`
        self.card = card or hub.CardInfo()

    @property
    def device(self) -> torch.device:
        """The device the backend renders on."""
        return self.backend.device

    def to(self, device: str | torch.device | None = None, *, dtype: torch.dtype | None = None) -> LatentMotionPipeline:
        """Move the backend and the motion generator to `device`; render in `dtype`.

        Args:
            device: Target device (None: stay).
            dtype: Floating-point type the frames are rendered in, under autocast, e.g.
                `torch.bfloat16` (None: stay). Weights stay as stored, and the motion generator
                computes in float32: its steps are small differences.

        Returns:
            This pipeline.
        """
        if dtype is not None and not dtype.is_floating_point:
            raise ConfigError(f"dtype must be a floating-point type such as torch.bfloat16, got {dtype}")
        if device is not None:
            self.backend.to(device)
            self.motion.to(device)
        self.dtype = dtype or self.dtype
        return self

    def __call__(
        self,
        n_videos: int = 1,
        n_frames: int | None = None,
        *,
        output_type: OutputType = "pt",
        **options: Any,
    ) -> VideoPipelineOutput:
        """Generate videos, returned as `output_type`.

        Args:
            n_videos: Number of videos B.
            n_frames: Frames T per video (default: the pipeline's).
            output_type: `"pt"` (tensor), `"np"` (array) or `"pil"` (images); see
                [VideoPipelineOutput][latentmotion.pipeline.VideoPipelineOutput].
            **options: Any keyword argument of
                [generate][latentmotion.pipeline.LatentMotionPipeline.generate] (`seed`,
                `content`, `motion_seed`, `interpolation`, ...).

        Returns:
            The frames.
        """
        if output_type not in ("pt", "np", "pil"):
            raise ConfigError(f"output_type must be 'pt', 'np' or 'pil', got {output_type!r}")
        videos = self.generate(n_videos, n_frames, **options)
        if output_type == "pt":
            return VideoPipelineOutput(frames=(videos.float().clamp(-1, 1) + 1) / 2)
        pixels = rearrange(to_uint8(videos), "b t c h w -> b t h w c").numpy()
        if output_type == "np":
            return VideoPipelineOutput(frames=pixels.astype(np.float32) / 255)
        return VideoPipelineOutput(frames=[[PIL.Image.fromarray(frame) for frame in video] for video in pixels])

    @torch.no_grad()
    def trajectories(
        self,
        n_videos: int = 1,
        n_frames: int | None = None,
        *,
        seed: int = 0,
        content: torch.Tensor | None = None,
        motion_noise: torch.Tensor | None = None,
        content_seed: int | None = None,
        motion_seed: int | None = None,
        truncation: float = 1.0,
    ) -> torch.Tensor:
        """Latent trajectories without rendering.

        Args:
            n_videos: Number of videos B (ignored when `content` is given).
            n_frames: Frames T per video (default: the pipeline's).
            seed: Seed of both content and motion unless overridden below.
            content: `[B, D]` content codes (e.g. from `backend.invert`); drawn when None.
            motion_noise: `[B, T-1, N]` motion noise, moved to the pipeline's device; the same
                noise on other content gives the same motion. Drawn when None, step by step
                ([draw_motion_noise][latentmotion.pipeline.draw_motion_noise]): the same seed with
                more frames extends the same trajectories.
            content_seed: Seed of the content codes (default `seed`).
            motion_seed: Seed of the motion noise (default `seed`).
            truncation: psi in `[0, 1]`: drawn content codes move toward the basis mean,
                `mean + psi * (w - mean)` (see [truncate_content][latentmotion.pipeline.truncate_content]);
                1 = none. Not allowed with `content`, which is used as given.

        Returns:
            `[B, T, D]` codes.
        """
        n_frames = self.n_frames if n_frames is None else n_frames
        if n_frames < 1:
            raise ConfigError(f"n_frames must be at least 1, got {n_frames}")
        for name, value in (("seed", seed), ("content_seed", content_seed), ("motion_seed", motion_seed)):
            if value is not None:
                check_seed(value, name=name)
        content_rng = stream_generator(seed if content_seed is None else content_seed, Stream.CONTENT)
        if content is None:
            if n_videos < 1:
                raise ConfigError(f"n_videos must be at least 1, got {n_videos}")
            content = truncate_content(self.backend.sample_latents(n_videos, generator=content_rng), self.basis, truncation)
        elif truncation != 1:
            raise ConfigError("truncation applies to drawn content codes; codes passed as `content` are used as given")
        self.backend.check_latents(content)
        if motion_noise is None:
            motion_noise = draw_motion_noise(seed if motion_seed is None else motion_seed, len(content), n_frames, self.motion.config.noise_dim)
        return self.motion(content.to(self.device), n_frames, motion_noise.to(self.device, torch.float32)).trajectory

    @torch.no_grad()
    def generate(
        self,
        n_videos: int = 1,
        n_frames: int | None = None,
        *,
        seed: int = 0,
        content: torch.Tensor | None = None,
        motion_noise: torch.Tensor | None = None,
        content_seed: int | None = None,
        motion_seed: int | None = None,
        interpolation: int = 0,
        truncation: float = 1.0,
        noise: Noise = "video",
        batch_size: int = 64,
    ) -> torch.Tensor:
        """Generate videos.

        Args:
            n_videos: Number of videos B (ignored when `content` is given).
            n_frames: Frames T per video before interpolation (default: the pipeline's).
            seed: Seed of content, motion and generator noise unless overridden below.
            content: `[B, D]` content codes; drawn when None.
            motion_noise: `[B, T-1, N]` motion noise (on any device); drawn when None, so that
                more frames of the same seed extend the same videos.
            content_seed: Seed of the content codes and the per-video generator noise.
            motion_seed: Seed of the motion noise.
            interpolation: Codes inserted between consecutive frames (smoother, longer videos).
            truncation: psi in `[0, 1]` pulling drawn content codes toward the basis mean (1 = none).
            noise: The generator's noise inputs: `"video"` (or True) draws one sample per video,
                shared by its frames (as in training); `"constant"` (or False) renders with the
                backend's deterministic noise (StyleGAN2: the checkpoint's stored maps); `"zero"`
                renders without noise, as MoCoGAN-HD's `evaluate.py` writes its noise-free videos;
                or each video's own noise inputs, e.g. `projection.noise` to animate an inverted
                photo with the noise maps fitted with it.
            batch_size: Frames rendered per backend call.

        Returns:
            `[B, T', 3, H, W]` videos, `T' = (T - 1) * (interpolation + 1) + 1`, rendered in the
            pipeline's `dtype` and clamped to `[-1, 1]` (a backend may return values outside it).

        Raises:
            ConfigError: A bad seed, count or truncation, or videos that cannot fit in the memory
                the device has available (checked before anything is computed).
        """
        (videos,) = self._render_chunks(  # one chunk: every frame
            n_videos,
            n_frames,
            seed=seed,
            content=content,
            motion_noise=motion_noise,
            content_seed=content_seed,
            motion_seed=motion_seed,
            interpolation=interpolation,
            truncation=truncation,
            noise=noise,
            batch_size=batch_size,
            chunk_frames=None,
            host=False,
        )
        return videos

    @torch.no_grad()
    def generate_stream(
        self,
        n_videos: int = 1,
        n_frames: int | None = None,
        *,
        seed: int = 0,
        content: torch.Tensor | None = None,
        motion_noise: torch.Tensor | None = None,
        content_seed: int | None = None,
        motion_seed: int | None = None,
        interpolation: int = 0,
        truncation: float = 1.0,
        noise: Noise = "video",
        batch_size: int = 64,
        chunk_frames: int = 64,
    ) -> Iterator[torch.Tensor]:
        """Generate videos a few frames at a time, so that memory does not grow with their length.

        The trajectories (small: `[B, T, D]` codes) are computed first, then rendered
        `chunk_frames` frames per video at a time; the chunks, joined along time, are the videos
        [generate][latentmotion.pipeline.LatentMotionPipeline.generate] returns for the same
        arguments: bit for bit when a chunk holds a whole video (or, for one video, when
        `chunk_frames` equals `batch_size`), else up to floating-point rounding, as the backend
        renders the frames in other batches. Write them with a
        [VideoWriter][latentmotion.video.VideoWriter].

        Args:
            n_videos: Number of videos B (ignored when `content` is given).
            n_frames: Frames T per video before interpolation (default: the pipeline's).
            seed: Seed of content, motion and generator noise unless overridden below.
            content: `[B, D]` content codes; drawn when None.
            motion_noise: `[B, T-1, N]` motion noise; drawn when None.
            content_seed: Seed of the content codes and the per-video generator noise.
            motion_seed: Seed of the motion noise.
            interpolation: Codes inserted between consecutive frames (smoother, longer videos).
            truncation: psi in `[0, 1]` pulling drawn content codes toward the basis mean (1 = none).
            noise: The generator's noise inputs, as for
                [generate][latentmotion.pipeline.LatentMotionPipeline.generate]: `"video"` (or
                True), `"constant"` (or False), `"zero"`, or each video's own noise inputs.
            batch_size: Frames rendered per backend call.
            chunk_frames: Frames per video in each chunk.

        Yields:
            `[B, t, 3, H, W]` frames in `[-1, 1]` on the pipeline's device, `t <= chunk_frames`,
            in order.

        Raises:
            ConfigError: A bad seed, count or truncation, or codes and one chunk that cannot fit
                in the memory available (checked before anything is computed).
        """
        yield from self._render_chunks(
            n_videos,
            n_frames,
            seed=seed,
            content=content,
            motion_noise=motion_noise,
            content_seed=content_seed,
            motion_seed=motion_seed,
            interpolation=interpolation,
            truncation=truncation,
            noise=noise,
            batch_size=batch_size,
            chunk_frames=chunk_frames,
            host=True,
        )

    def _render_chunks(
        self,
        n_videos: int,
        n_frames: int | None,
        *,
        seed: int,
        content: torch.Tensor | None,
        motion_noise: torch.Tensor | None,
        content_seed: int | None,
        motion_seed: int | None,
        interpolation: int,
        truncation: float,
        noise: Noise,
        batch_size: int,
        chunk_frames: int | None,  # frames per video in each chunk; None: all in one
        host: bool,  # the chunks will be copied to the CPU: check its memory too
    ) -> Iterator[torch.Tensor]:
        """What generate and generate_stream share: check, draw the trajectories, render them a chunk at a time."""
        if chunk_frames is not None and chunk_frames < 1:
            raise ConfigError(f"chunk_frames must be at least 1, got {chunk_frames}")
        if interpolation < 0:
            raise ConfigError(f"interpolation factor must be >= 0, got {interpolation}")
        videos = len(content) if content is not None else n_videos
        self.check_memory(videos, n_frames, interpolation=interpolation, chunk_frames=chunk_frames, host=host)
        trajectory = self.trajectories(
            n_videos,
            n_frames,
            seed=seed,
            content=content,
            motion_noise=motion_noise,
            content_seed=content_seed,
            motion_seed=motion_seed,
            truncation=truncation,
        )
        per_video_noise = noise_maps(self.backend, len(trajectory), noise, seed=seed if content_seed is None else content_seed)
        length = (trajectory.shape[1] - 1) * (interpolation + 1) + 1
        for start in range(0, length, length if chunk_frames is None else chunk_frames):
            codes = interpolated_codes(trajectory, interpolation, start, min(start + (chunk_frames or length), length))
            with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
                frames = render(self.backend, codes, per_video_noise, batch_size=batch_size)
            yield frames.clamp(-1, 1)  # the promised range, whatever the backend returns; outside autocast

    def check_memory(
        self,
        n_videos: int,
        n_frames: int | None = None,
        *,
        interpolation: int = 0,
        chunk_frames: int | None = None,
        host: bool = False,
    ) -> None:
        """Refuse videos that cannot fit in the memory available, before anything is computed.

        [generate][latentmotion.pipeline.LatentMotionPipeline.generate] holds every frame and
        code; [generate_stream][latentmotion.pipeline.LatentMotionPipeline.generate_stream] holds
        the codes of the motion (a few hundred bytes a frame) and one chunk of frames.

        Args:
            n_videos: Number of videos B.
            n_frames: Frames T per video before interpolation (default: the pipeline's).
            interpolation: Codes inserted between consecutive frames.
            chunk_frames: Frames per video held at once (None: all of them).
            host: The frames held at once are also copied to the CPU's memory (to write them);
                checked there too when the pipeline computes on another device.

        Raises:
            ConfigError: The request needs more memory than the device (or the host) has
                available; the message names the options to lower.
        """
        n_frames = self.n_frames if n_frames is None else n_frames
        length = (n_frames - 1) * (interpolation + 1) + 1
        held = length if chunk_frames is None else min(chunk_frames, length)
        space = self.backend.latent_space.total_dim
        pixels = 3 * self.backend.resolution**2
        frame = pixels * torch.finfo(self.dtype).bits // 8 + space * 4
        config = self.motion.config
        step = 4 * (2 * space + 2 * config.noise_dim + config.n_components) + MOTION_STEP_OVERHEAD  # the motion generator's records of one step
        motion = 0 if chunk_frames is None else n_frames * step
        lower = "n_videos (-n), n_frames (-t) or interpolation (--interpolation)"
        what = f"generating {n_videos} video(s) of {length:,} frames"
        if chunk_frames is not None:
            what += f", {held:,} at a time,"
        check_memory(n_videos * (motion + held * frame), self.device, what=what, lower=lower)
        if host and self.device.type != "cpu":
            check_memory(n_videos * held * pixels, torch.device("cpu"), what=f"{what} copied to the host", lower=lower)

    def save_pretrained(
        self,
        directory: str | os.PathLike[str],
        *,
        repo_id: str | None = None,
        card_text: str | None = None,
        sample: bool = True,
    ) -> Path:
        """Write `config.json`, `motion.safetensors`, `basis.safetensors`, a model card and a sample video.

        Each file is written atomically; an existing folder is updated in place. The local files
        the backend's file options name are copied under `backend/` (see
        [bundle_backend_files][latentmotion.hub.bundle_backend_files]): a pipeline reads files
        from its own folder only.

        The model card `README.md` is generated afresh at every save (see
        [model_card][latentmotion.hub.model_card]), from the configuration and
        [card][latentmotion.hub.CardInfo], so a retrained pipeline never keeps the card of an
        earlier one; pass `card_text` to write your own instead. The sample `sample.gif` is one
        video of seed 0 (at most [SAMPLE_FRAMES][latentmotion.hub.SAMPLE_FRAMES] frames, at the
        pipeline's resolution).

        Args:
            directory: Target folder (created if missing).
            repo_id: The Hub repo id the card's usage loads (default: the folder's name).
            card_text: Your own model card, written as it is instead of the generated one.
            sample: Render the sample video; False for a slow backend (an older sample is removed).

        Returns:
            The folder.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = self.config()
        config["backend"]["options"] = hub.bundle_backend_files(config["backend"]["options"], directory, file_options=self.backend.file_options)
        self.basis.save(directory / BASIS_NAME)
        state = {name: tensor.detach().cpu().contiguous() for name, tensor in self.motion.state_dict().items()}
        with atomic_path(directory / MOTION_NAME) as temp:
            save_file(state, str(temp), metadata={"format": "pt"})
        with atomic_path(directory / CONFIG_NAME) as temp:
            temp.write_text(json.dumps(config, indent=2) + "\n")
        if sample:
            frames = self.generate(1, min(self.n_frames, hub.SAMPLE_FRAMES), seed=0)[0].cpu()
            write_video(directory / hub.SAMPLE_NAME, frames, fps=self.fps)
        else:
            (directory / hub.SAMPLE_NAME).unlink(missing_ok=True)
        if card_text is None:
            return self.write_card(directory, repo_id=repo_id)
        with atomic_path(directory / MODEL_CARD_NAME) as temp:
            temp.write_text(card_text)
        return directory

    def write_card(self, directory: str | os.PathLike[str], *, repo_id: str | None = None) -> Path:
        """Write the generated model card `README.md` of this pipeline into its saved folder.

        [save_pretrained][latentmotion.pipeline.LatentMotionPipeline.save_pretrained] calls it;
        call it alone after changing [card][latentmotion.hub.CardInfo] (e.g. the metrics of an
        evaluation, as `latentmotion evaluate --record` does). The card shows `sample.gif` when
        the folder has one.

        Args:
            directory: The pipeline's folder, as `save_pretrained` wrote it.
            repo_id: The Hub repo id the card's usage loads (default: the folder's name).

        Returns:
            The folder.
        """
        directory = Path(directory)
        config = json.loads((directory / CONFIG_NAME).read_text())
        card_text = hub.model_card(
            config,
            repo_id=repo_id or directory.resolve().name,
            info=self.card,
            file_options=self.backend.file_options,
            sample=hub.SAMPLE_NAME if (directory / hub.SAMPLE_NAME).is_file() else None,
        )
        with atomic_path(directory / MODEL_CARD_NAME) as temp:
            temp.write_text(card_text)
        return directory

    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool | None = None,
        token: str | None = None,
        commit_message: str | None = None,
        card_text: str | None = None,
        sample: bool = True,
    ) -> str:
        """Upload this pipeline to a Hub repo with a freshly generated model card (see [latentmotion.hub][]).

        Local files named by the backend's file options are uploaded with it, so that the repo id
        alone loads everything.

        Args:
            repo_id: Target repo id `"org/name"` (created if needed).
            private: Create the repo private (None: the Hub's default).
            token: Hub token (default: the saved login or `HF_TOKEN`).
            commit_message: Message of the upload commit.
            card_text: Your own model card, uploaded as it is instead of the generated one.
            sample: Render and upload the sample video (False for a slow backend).

        Returns:
            The URL of the commit.
        """
        return hub.push_to_hub(self, repo_id, private=private, token=token, commit_message=commit_message, card_text=card_text, sample=sample)

    def config(self) -> dict[str, Any]:
        """The JSON configuration saved as `config.json`.

        Returns:
            Backend name and options, motion sizes, defaults and library versions.
        """
        from latentmotion import __version__

        if not self.backend.name:
            raise ConfigError(
                f"the {self.backend.label} backend was built directly, not by latentmotion.get_backend, so nothing records "
                "how to rebuild it: build it with latentmotion.get_backend(name, **options)"
            )
        return {
            "format_version": FORMAT_VERSION,
            "backend": {"name": self.backend.name, "options": self.backend.options},
            "latent_space": {
                "name": self.backend.latent_space.name,
                "dim": self.backend.latent_space.dim,
                "condition_dim": self.backend.latent_space.condition_dim,
            },
            "resolution": self.backend.resolution,
            "motion": {
                "latent_dim": self.motion.config.latent_dim,
                "n_components": self.motion.config.n_components,
                "hidden_dim": self.motion.config.hidden_dim,
                "noise_dim": self.motion.config.noise_dim,
                "step_scale": self.motion.config.step_scale,
                "residual": self.motion.config.residual,
            },
            "n_frames": self.n_frames,
            "fps": self.fps,
            "versions": {"latentmotion": __version__, "torch": torch.__version__.split("+")[0]},
        }

    @classmethod
    def from_pretrained(
        cls,
        path_or_repo_id: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> LatentMotionPipeline:
        """Load a pipeline from a local folder or a Hugging Face Hub repository.

        The backend is rebuilt from the options in `config.json`: options naming another Hub repo
        are passed to the backend, which downloads its weights; options starting with `backend/`
        name weights bundled with the pipeline (see [latentmotion.hub][]).

        Args:
            path_or_repo_id: A folder written by `save_pretrained`, or a Hub repo id `"org/name"`.
            revision: Hub branch, tag or commit.
            cache_dir: Hub cache folder (default: the Hub's).
            local_files_only: Use only the Hub cache, never the network.
            device: Where to put the backend and motion generator, as
                [resolve_device][latentmotion.devices.resolve_device] takes it (`"auto"`, `"cuda:1"`, ...); default: CPU.
            dtype: Floating-point type the frames are rendered in, e.g. `torch.bfloat16`
                (default: float32); see [to][latentmotion.pipeline.LatentMotionPipeline.to].

        Returns:
            The pipeline, with strictly checked weights, and the [card][latentmotion.hub.CardInfo]
            read back from the model card's metadata.
        """
        from latentmotion.plugins import get_backend

        directory = resolve_pipeline_folder(path_or_repo_id, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only)
        config = read_config(directory)
        backend = get_backend(config.backend.name, **hub.resolve_backend_options(config.backend.options, directory))
        if device is not None:
            backend.to(resolve_device(device))
        basis = PCABasis.load(directory / BASIS_NAME)
        motion = MotionGenerator(config.motion, basis=basis.scaled(config.motion.n_components))
        load_motion_weights(motion, directory / MOTION_NAME)
        card = hub.read_card_info(directory / MODEL_CARD_NAME)
        pipeline = cls(backend=backend, basis=basis, motion=motion, n_frames=config.n_frames, fps=config.fps, card=card)
        return pipeline.to(dtype=dtype) if dtype is not None else pipeline

    @classmethod
    def from_mocogan_hd(
        cls,
        *,
        motion: str | os.PathLike[str],  # the authors' modelR_epoch_*.pth
        pca_comp: str | os.PathLike[str],  # pca_comp.npy, [>= K, D]
        pca_stdev: str | os.PathLike[str],  # pca_stdev.npy, [>= K]
        generator: str | os.PathLike[str],  # the rosinality StyleGAN2 .pt the motion was trained on
        pca_mean: str | os.PathLike[str] | None = None,  # style_mean.npy, [D]; None: estimated
        n_frames: int = 16,  # default frames per video (the authors' --n_frames_G)
        fps: int = 10,  # default frame rate (the authors' --fps)
        step_scale: float = 0.2,  # lambda, the authors' --w_residual
        device: str | torch.device | None = None,  # where to compute; None: CPU
    ) -> LatentMotionPipeline:
        """Import a model the MoCoGAN-HD authors released (snap-research/MoCoGAN-HD).

        The StyleGAN2 backend is built from the rosinality checkpoint (the `latentmotion-stylegan2`
        plugin must be installed), the basis from `pca_comp[:K] * pca_stdev[:K, None]`, and the
        motion generator's weights are mapped by name (see [latentmotion.mocogan_hd][]); its
        sizes are read from the checkpoint's shapes. Every file is read without running code.

        For the same content code `w0 = mapping(z)` and motion noise, `generate(content=w0,
        motion_noise=eps, noise="zero")` renders the frames the authors' `evaluate.py` writes
        without noise (`use_noise=False`); their `_noise` videos draw one noise map per video,
        as `noise="video"` does (from another random stream).

        Args:
            motion: The motion generator's state dict, `modelR_epoch_*.pth` (a `module.` prefix
                is stripped).
            pca_comp: The PCA components `pca_comp.npy` of the generator's W space.
            pca_stdev: Their standard deviations, `pca_stdev.npy`.
            generator: The rosinality StyleGAN2 `.pt` checkpoint (or any file the `stylegan2`
                backend reads).
            pca_mean: `style_mean.npy`, used only for truncation; None estimates the mean from
                10,000 codes drawn from the generator.
            n_frames: Default number of frames per video.
            fps: Default frame rate of written videos.
            step_scale: lambda of the residual steps (0.2 in every released script; the
                checkpoint does not store it).
            device: Where to put the pipeline, as [resolve_device][latentmotion.devices.resolve_device]
                takes it; default CPU.

        Returns:
            An ordinary pipeline: `save_pretrained` writes a folder `from_pretrained` loads.

        Raises:
            CheckpointError: A file is missing, corrupt, holds pickled objects, or is not in the
                authors' layout (missing or unknown keys, inconsistent shapes).
            ShapeError: The files disagree (latent width, hidden size, number of directions).
        """
        from latentmotion.mocogan_hd import import_mocogan_hd

        return import_mocogan_hd(
            motion=motion,
            pca_comp=pca_comp,
            pca_stdev=pca_stdev,
            generator=generator,
            pca_mean=pca_mean,
            n_frames=n_frames,
            fps=fps,
            step_scale=step_scale,
            device=device,
        )


def resolve_pipeline_folder(
    path_or_repo_id: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
) -> Path:
    """Find a pipeline's folder: a local path as is, a registered name through its plugin, or a Hub repo id through the Hub cache.

    Args:
        path_or_repo_id: Local folder, pipeline name registered by a plugin (see
            [register_pipelines][latentmotion.hookspecs.register_pipelines]; `latentmotion pipelines`
            lists them) or Hub repo id.
        revision: Hub branch, tag or commit.
        cache_dir: Hub cache folder.
        local_files_only: Never reach the network.

    Returns:
        A local folder holding the pipeline's files.

    Raises:
        UnknownPipelineError: `path_or_repo_id` is none of the three.
        CheckpointError: A registered pipeline's plugin gives no folder.
    """
    from latentmotion.plugins import pipelines

    path = Path(path_or_repo_id)
    if path.is_dir():
        return path
    name = str(path_or_repo_id)
    registered = pipelines()
    if name in registered:
        info = registered[name]
        folder = Path(info.locate())
        if not folder.is_dir():
            raise CheckpointError(
                f"plugin {info.plugin!r} ({info.distribution} {info.version}) locates pipeline {name!r} at {str(folder)!r}, "
                f"which is not a folder; reinstall {info.distribution}"
            )
        return folder
    if path.exists() or not hub.is_repo_id(name):
        close = difflib.get_close_matches(name, registered, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownPipelineError(
            f"{name!r} is neither a pipeline folder, a registered pipeline name ({', '.join(registered) or 'none registered'}) "
            f"nor a Hub repo id of the form 'org/name'.{hint} Plugins register pipeline names; `latentmotion pipelines` lists them."
        )
    return hub.download_pipeline(
        name,
        required=(CONFIG_NAME, MOTION_NAME, BASIS_NAME),
        optional=(MODEL_CARD_NAME,),
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
    )


def _positive(instance: Any, attribute: attrs.Attribute, value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


@attrs.frozen
class BackendEntry:
    """The `backend` section of `config.json`: what rebuilds the backend.

    Attributes:
        name: The registered backend name.
        options: Keyword arguments of its factory.
    """

    name: str = attrs.field(validator=attrs.validators.min_len(1))
    options: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class LatentSpaceEntry:
    """The `latent_space` section of `config.json`, for humans and the model card.

    Attributes:
        name: The latent space's name, e.g. `"w"`.
        dim: Its width.
        condition_dim: Width of the per-video condition appended to it.
    """

    name: str
    dim: int = attrs.field(validator=_positive)
    condition_dim: int = attrs.field(default=0, validator=attrs.validators.ge(0))


@attrs.frozen
class PipelineConfig:
    """A pipeline's `config.json`, strictly checked: no unknown keys, no `"128"` for a number.

    Attributes:
        backend: What rebuilds the backend.
        motion: The motion generator's sizes.
        format_version: Version of the file's layout.
        latent_space: The backend's latent space, as saved.
        resolution: Side of the rendered frames, as saved.
        n_frames: Default frames per video.
        fps: Default frame rate of written videos.
        versions: Library versions that wrote the pipeline.
    """

    backend: BackendEntry
    motion: MotionConfig
    format_version: int = attrs.field(default=FORMAT_VERSION, validator=_positive)
    latent_space: LatentSpaceEntry | None = None
    resolution: int | None = attrs.field(default=None, validator=_positive)
    n_frames: int = attrs.field(default=16, validator=_positive)
    fps: int = attrs.field(default=10, validator=_positive)
    versions: dict[str, str] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON values.

        Returns:
            The sections as nested dictionaries.
        """
        return _converter.unstructure(self)


_converter = strict_converter()


def read_config(directory: Path) -> PipelineConfig:
    """Read and strictly check a pipeline's `config.json`.

    Args:
        directory: The pipeline folder.

    Returns:
        The parsed configuration.

    Raises:
        CheckpointError: The file is missing, is not JSON, or is not a valid pipeline
            configuration (the message names every wrong key), or comes from a newer latentmotion.
    """
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a latentmotion pipeline: it has no {CONFIG_NAME}")
    try:
        values = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from error
    missing = [key for key in ("backend", "motion") if not isinstance(values, dict) or key not in values]
    if missing:
        raise CheckpointError(f"{path} is not a latentmotion pipeline config: missing {', '.join(missing)}")
    version = values.get("format_version", FORMAT_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {version}; upgrade latentmotion to read it")
    try:
        return _converter.structure(values, PipelineConfig)
    except cattrs.BaseValidationError as error:
        problems = cattrs.transform_error(error, path="", format_exception=describe)
        raise CheckpointError(f"{path} is not a valid pipeline config: {'; '.join(map(_locate, problems))}") from None


def _locate(message: str) -> str:
    """Put the key first: `"expected int, got str '128' @ .motion.n_components"` -> `"motion.n_components: expected int, ..."`."""
    text, _, where = message.rpartition(" @ ")
    where = where.lstrip(".").replace("['", ".").replace("']", "")
    return f"{where}: {text}" if where else text


def load_motion_weights(motion: MotionGenerator, path: Path) -> None:
    """Load a motion generator's weights from safetensors, strictly.

    Args:
        motion: The module to fill.
        path: The `motion.safetensors` file.
    """
    if not path.is_file():
        raise CheckpointError(f"motion weights {path} are missing")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"motion weights {path} are corrupt or truncated: {error}") from error
    broken = sorted(name for name, tensor in state.items() if tensor.is_floating_point() and not torch.isfinite(tensor).all())
    if broken:
        raise CheckpointError(f"motion weights {path} hold NaN or infinite values ({', '.join(broken)}); the training that wrote them diverged")
    try:
        motion.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"motion weights {path} do not fit the motion config in config.json: {error}") from error

