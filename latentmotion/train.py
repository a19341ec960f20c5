"""Training: the MoCoGAN-HD objectives, 5 generator steps per discriminator step, checkpoints, resume.

Only the motion generator learns. The image generator (the backend) is frozen but
differentiable: gradients reach the motion generator through every rendered frame.

In-domain (motion and content from the same videos):
    G:   L_V^RaLS + L_I^RaLS + L_m
    D_V: L_V^RaLS + 10 GP          D_I: L_I^RaLS on (frame 0 || frame t) pairs
Cross-domain (motion from videos of another domain than the image generator's):
    G:   L_V^RaLS + L_I^hinge + w_match L_f + L_m
    D_V: L_V^RaLS + 10 GP on raw clips
    D_I: hinge + 2 (InfoNCE_real + InfoNCE_fake), contrasting augmented generated first frames
         ("real") with augmented generated frames t ("fake"), then the EMA update

Multi-process training runs under `torchrun`: DistributedDataParallel over the motion generator
and the discriminators (gloo on CPU, NCCL on GPU); a single process needs no process group.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import attrs
import torch
import torch.distributed as dist
from einops import rearrange, repeat
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from latentmotion import losses
from latentmotion.atomic import atomic_path
from latentmotion.augment import reverse_time, warp
from latentmotion.backend import ImageGeneratorBackend
from latentmotion.basis import PCABasis
from latentmotion.discriminators import (
    ContrastiveImageDiscriminator,
    PairImageDiscriminator,
    VideoDiscriminator,
)
from latentmotion.errors import CheckpointError, ConfigError
from latentmotion.motion import MotionConfig, MotionGenerator, MotionOutput
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.rendering import render
from latentmotion.streams import Stream, stream_generator

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.jsonl"
BASIS_FILE = "basis.safetensors"
TRAIN_CONFIG_NAME = "train_config.json"
PIPELINE_DIR = "pipeline"
PREVIEW_DIR = "previews"
# Keys that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = frozenset({"steps", "checkpoint_every", "log_every", "preview_every", "device", "num_workers"})


def _positive(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value <= 0:
        raise ConfigError(f"{attribute.name} must be positive, got {value}")


def _non_negative(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value < 0:
        raise ConfigError(f"{attribute.name} must be >= 0, got {value}")


@attrs.define(kw_only=True)
class TrainConfig:
    """Everything a training run needs; defaults follow the authors' released code.

    Attributes:
        backend: Registered backend name.
        backend_options: Keyword arguments of the backend's factory (checkpoint, Hub repo, ...).
        data: Folder of real videos (video files or sub-folders of frames).
        mode: `"in-domain"` or `"cross-domain"` (the videos come from another domain than the images).
        basis: A fitted basis file; None fits one on `basis_samples` codes at the start.
        basis_samples: Codes drawn to fit the basis when `basis` is None.
        n_components: PCA directions K the motion moves along (capped at the basis size).
        hidden_dim: LSTM hidden size.
        step_scale: lambda, the residual step scale.
        motion_init_std: Standard deviation of the motion generator's initial step weights A.
        forget_bias: Initial forget-gate bias of the motion generator's LSTMs.
        n_frames: Frames per training clip T.
        time_step: Stride between the real frames of a clip.
        d_resolution: Side of the frames the discriminators see (capped at the backend's).
        batch_size: Global batch of videos (split across processes).
        steps: Training iterations; each is `g_steps` generator steps and one discriminator step.
        g_steps: Generator steps per discriminator step.
        lr: Adam learning rate of the motion generator.
        d_lr: Adam learning rate of the discriminators (the authors: `lr`; a larger one is the
            two time-scale update rule of Heusel et al., 2017).
        betas: Adam betas of the motion generator, D_V and the in-domain D_I.
        contrastive_betas: Adam betas of the contrastive D_I.
        contrastive_eps: Adam epsilon of the contrastive D_I.
        d_channels: Base width of D_V and the in-domain D_I.
        d_layers: Strided layers per discriminator scale.
        d_scales: Scales of the multi-scale discriminators.
        video_pack: Clips D_V scores together (PacGAN; the authors: 1); divides the batch of
            every process.
        contrastive_channels: Base width of the contrastive D_I.
        proj_dim: Width of the contrastive projection.
        queue_size: Entries of each contrastive queue.
        ema_momentum: Momentum of the contrastive D_I's EMA copy.
        temperature: InfoNCE temperature tau.
        gp_weight: Weight of D_V's gradient penalty.
        contrastive_weight: Weight of the InfoNCE terms.
        match_weight: w_match, weight of the feature-matching loss L_f.
        mi_weight: Weight of the mutual-information loss L_m.
        smoothness_weight: Weight of the smoothness prior L_s on the steps (not in the paper, which
            has 0): for videos whose motion keeps its velocity.
        seed: Seed of every random draw.
        checkpoint_every: Iterations between checkpoints.
        log_every: Iterations between log lines.
        preview_every: Iterations between preview grids (0 = none).
        device: `"auto"`, `"cpu"` or `"cuda"`.
        num_workers: Data-loading worker processes.
    """

    backend: str = "tiny"
    backend_options: dict[str, Any] = attrs.field(factory=dict)
    data: str | None = None
    mode: Literal["in-domain", "cross-domain"] = attrs.field(default="in-domain", validator=attrs.validators.in_(("in-domain", "cross-domain")))
    basis: str | None = None
    basis_samples: int = attrs.field(default=1_000_000, validator=_positive)
    n_components: int = attrs.field(default=384, validator=_positive)
    hidden_dim: int = attrs.field(default=384, validator=_positive)
    step_scale: float = attrs.field(default=0.2, validator=_positive)
    motion_init_std: float = attrs.field(default=0.02, validator=_non_negative)
    forget_bias: float = 0.0
    n_frames: int = attrs.field(default=16, validator=_positive)
    time_step: int = attrs.field(default=2, validator=_positive)
    d_resolution: int = attrs.field(default=128, validator=_positive)
    batch_size: int = attrs.field(default=16, validator=_positive)
    steps: int = attrs.field(default=10_000, validator=_non_negative)
    g_steps: int = attrs.field(default=5, validator=_positive)
    lr: float = attrs.field(default=1e-4, validator=_positive)
    d_lr: float = attrs.field(default=1e-4, validator=_positive)
    betas: tuple[float, float] = attrs.field(default=(0.5, 0.999), converter=tuple)
    contrastive_betas: tuple[float, float] = attrs.field(default=(0.0, 0.999), converter=tuple)
    contrastive_eps: float = attrs.field(default=1e-6, validator=_positive)
    d_channels: int = attrs.field(default=64, validator=_positive)
    d_layers: int = attrs.field(default=3, validator=_positive)
    d_scales: int = attrs.field(default=2, validator=_positive)
    video_pack: int = attrs.field(default=1, validator=_positive)
    contrastive_channels: int = attrs.field(default=96, validator=_positive)
    proj_dim: int = attrs.field(default=256, validator=_positive)
    queue_size: int = attrs.field(default=4096, validator=_positive)
    ema_momentum: float = 0.999
    temperature: float = attrs.field(default=0.07, validator=_positive)
    gp_weight: float = attrs.field(default=10.0, validator=_non_negative)
    contrastive_weight: float = attrs.field(default=2.0, validator=_non_negative)
    match_weight: float = attrs.field(default=1.0, validator=_non_negative)
    mi_weight: float = attrs.field(default=1.0, validator=_non_negative)
    smoothness_weight: float = attrs.field(default=0.0, validator=_non_negative)
    seed: int = 0
    checkpoint_every: int = attrs.field(default=1000, validator=_positive)
    log_every: int = attrs.field(default=10, validator=_positive)
    preview_every: int = attrs.field(default=500, validator=_non_negative)
    device: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "cpu", "cuda")))
    num_workers: int = attrs.field(default=0, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.n_frames < 2:
            raise ConfigError(f"training needs clips of at least 2 frames, got n_frames={self.n_frames}")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-able values.

        Returns:
            A dict with one entry per field.
        """
        return {field.name: list(value) if isinstance(value, tuple) else value for field, value in zip(attrs.fields(TrainConfig), attrs.astuple(self, recurse=False))}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build a configuration from plain values, naming any unknown key or wrong type.

        Args:
            values: Field names to values (e.g. parsed from JSON or TOML).

        Returns:
            The configuration.
        """
        fields = {field.name: field for field in attrs.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(f"unknown training option(s) {', '.join(map(repr, unknown))}; known: {', '.join(fields)}")
        for name, value in values.items():
            default = fields[name].default
            _check_type(name, value, default.factory() if isinstance(default, attrs.Factory) else default)
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a configuration from a `.json` or `.toml` file.

        Args:
            path: The file.

        Returns:
            The configuration.
        """
        import tomllib

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            if path.suffix == ".toml":
                values = tomllib.loads(path.read_text())
            elif path.suffix == ".json":
                values = json.loads(path.read_text())
            else:
                raise ConfigError(f"config file {path} must end in .json or .toml")
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"config file {path} cannot be parsed: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path} must hold a table of options")
        return cls.from_dict(values)


def _check_type(name: str, value: Any, default: Any) -> None:
    """Raise a ConfigError when `value` cannot stand for a field whose default is `default`."""
    if default is None:
        expected: tuple[type, ...] = (str, type(None))
    elif isinstance(default, float):
        expected = (int, float)
    elif isinstance(default, tuple):
        expected = (list, tuple)
    else:
        expected = (type(default),)
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in expected)
        raise ConfigError(f"option {name!r} must be {names}, got {type(value).__name__} {value!r}")


def resize_clips(clips: torch.Tensor, size: int) -> torch.Tensor:
    """Average-pool frames to the discriminators' resolution.

    Args:
        clips: `[B, T, 3, R, R]` frames, `R >= size`.
        size: Side of the output frames.

    Returns:
        `[B, T, 3, size, size]` frames.
    """
    if clips.shape[-1] == size:
        return clips
    frames = rearrange(clips, "b t c h w -> (b t) c h w")
    if clips.shape[-1] % size == 0:
        frames = F.avg_pool2d(frames, clips.shape[-1] // size)
    else:
        frames = F.interpolate(frames, size=size, mode="area")
    return rearrange(frames, "(b t) c h w -> b t c h w", b=len(clips))


def video_discriminator_view(clips: torch.Tensor, *, cross_domain: bool) -> torch.Tensor:
    """D_V's view of clips: the first frame stacked on each later frame (in-domain), or the raw clip.

    Args:
        clips: `[B, T, 3, d, d]` clips.
        cross_domain: Whether the motion comes from videos of another domain than the images.

    Returns:
        `[B, 3, T, d, d]` (cross-domain) or `[B, 6, T-1, d, d]` (in-domain), D_V's layout.
    """
    if cross_domain:
        return rearrange(clips, "b t c h w -> b c t h w")
    first = repeat(clips[:, 0], "b c h w -> b t c h w", t=clips.shape[1] - 1)
    return rearrange(torch.cat([first, clips[:, 1:]], dim=2), "b t c h w -> b c t h w")


# ----------------------------------------------------------------------------------------------
# Data: an endless, resumable stream of clips.


class ClipStream(torch.utils.data.Sampler):
    """Endless `(video index, clip seed)` pairs: a fresh permutation per epoch, this process's share.

    The clip seed fixes where the clip starts, so a stream restarted at `offset` yields exactly
    what the uninterrupted stream would have, whatever the number of loader workers.

    Args:
        n_videos: Videos in the dataset.
        seed: Seed of the permutations and clip seeds.
        rank: This process's index.
        world_size: Number of processes.
        offset: Pairs of this process's stream already consumed.
    """

    def __init__(self, n_videos: int, *, seed: int, rank: int = 0, world_size: int = 1, offset: int = 0) -> None:
        self.n_videos = n_videos
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.offset = offset

    def __iter__(self) -> Iterator[tuple[int, int]]:
        position = self.offset
        while True:
            epoch, start = divmod(position, self.per_rank)
            rng = stream_generator(self.seed, Stream.CLIPS, index=epoch)
            order = torch.randperm(self.n_videos * self._repeats, generator=rng) % self.n_videos
            seeds = torch.randint(0, 2**62, (len(order),), generator=rng)
            for i in range(self.rank + start * self.world_size, self.per_rank * self.world_size, self.world_size):
                yield int(order[i]), int(seeds[i])
            position = (epoch + 1) * self.per_rank

    @property
    def _repeats(self) -> int:
        """How often each video appears per epoch so that every process gets at least one."""
        return -(-self.world_size // self.n_videos)

    @property
    def per_rank(self) -> int:
        """Pairs each process gets per epoch."""
        return self.n_videos * self._repeats // self.world_size


class SeededClips(torch.utils.data.Dataset):
    """Wraps a clip dataset so that `dataset[(index, seed)]` draws its random clip from `seed`.

    Args:
        dataset: Dataset whose `__getitem__` draws its clip position from torch's global RNG.
    """

    def __init__(self, dataset: torch.utils.data.Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.dataset[index]


# ----------------------------------------------------------------------------------------------
# The trainer.


@attrs.frozen
class _Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialised_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class Trainer:
    """Train a motion generator for a frozen backend; resumable and optionally distributed.

    Args:
        config: The run's configuration.
        out_dir: Folder for the checkpoint, the JSONL log, previews and the final pipeline.
        backend: A backend to use instead of building `config.backend`.
        basis: A fitted basis to use instead of `config.basis` / fitting one.
        dataset: A clip dataset to use instead of a folder dataset over `config.data`; items are
            `[T, 3, d, d]` clips in `[-1, 1]`.
        resume: Continue from `out_dir`'s checkpoint (an error if there is none).
        progress: Show a progress bar on stderr.
    """

    def __init__(
        self,
        config: TrainConfig,
        out_dir: str | os.PathLike[str],
        *,
        backend: ImageGeneratorBackend | None = None,
        basis: PCABasis | None = None,
        dataset: torch.utils.data.Dataset | None = None,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.config = config
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.dist = _setup_distributed(config.device)
        self.device = _device(config.device, self.dist.local_rank)
        if config.batch_size % self.dist.world_size:
            raise ConfigError(f"batch_size {config.batch_size} must be divisible by the number of processes {self.dist.world_size}")
        self.batch = config.batch_size // self.dist.world_size
        if self.batch % config.video_pack:
            raise ConfigError(f"video_pack {config.video_pack} must divide the batch of each process ({self.batch}); choose a batch_size that is a multiple of it")
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)

        from latentmotion.plugins import get_backend

        self.backend = (backend or get_backend(config.backend, **config.backend_options)).freeze().to(self.device)
        self.d_resolution = min(config.d_resolution, self.backend.resolution)
        self.basis = self._basis(basis, resume)
        with torch.random.fork_rng(devices=[]):  # initial weights depend on the seed only
            torch.manual_seed(config.seed)
            self._build_networks()
        self.motion_opt = torch.optim.Adam(self.motion.parameters(), lr=config.lr, betas=config.betas)
        self.video_opt = torch.optim.Adam(self.video_d.parameters(), lr=config.d_lr, betas=config.betas)
        if config.mode == "cross-domain":
            self.image_opt = torch.optim.Adam(self._trainable(self.image_d), lr=config.d_lr, betas=config.contrastive_betas, eps=config.contrastive_eps)
        else:
            self.image_opt = torch.optim.Adam(self._trainable(self.image_d), lr=config.d_lr, betas=config.betas)
        self._discriminator_weights = [*self.video_d.parameters(), *self._trainable(self.image_d)]
        self.rng = stream_generator(config.seed, Stream.TRAINING, index=self.dist.rank)
        self.step = 0
        self.clips_seen = 0
        dataset = dataset if dataset is not None else self._dataset()
        self._clip_dataset = SeededClips(dataset)
        if resume:
            self.load_checkpoint()
        self._wrap_distributed()

    # -- set-up ---------------------------------------------------------------------------------

    def _build_networks(self) -> None:
        """The motion generator, D_V and the D_I of the configured mode, at their initial weights."""
        config = self.config
        n_components = min(config.n_components, self.basis.n_components)
        motion_config = MotionConfig(
            latent_dim=self.backend.latent_space.total_dim,
            n_components=n_components,
            hidden_dim=config.hidden_dim,
            step_scale=config.step_scale,
            init_std=config.motion_init_std,
            forget_bias=config.forget_bias,
        )
        self.motion = MotionGenerator(motion_config, basis=self.basis.scaled(n_components)).to(self.device)
        cross = config.mode == "cross-domain"
        self.video_d = VideoDiscriminator(in_channels=3 if cross else 6, ndf=config.d_channels, n_layers=config.d_layers, num_scales=config.d_scales, pack=config.video_pack).to(self.device)
        if cross:
            self.image_d: nn.Module = ContrastiveImageDiscriminator(
                resolution=self.d_resolution,
                channels=config.contrastive_channels,
                proj_dim=config.proj_dim,
                queue_size=config.queue_size,
                momentum=config.ema_momentum,
            ).to(self.device)
        else:
            self.image_d = PairImageDiscriminator(in_channels=6, ndf=config.d_channels, n_layers=config.d_layers, num_scales=config.d_scales).to(self.device)

    def _basis(self, basis: PCABasis | None, resume: bool) -> PCABasis:
        """The given basis, the configured file, the run's own fitted file, or a fresh fit."""
        own = self.out_dir / BASIS_FILE
        if basis is None and self.config.basis is not None:
            basis = PCABasis.load(self.config.basis)
        elif basis is None and resume and own.is_file():
            basis = PCABasis.load(own)
        elif basis is None:
            basis = PCABasis.fit(self.backend, n_samples=self.config.basis_samples, seed=self.config.seed, progress=self.progress and self.dist.is_main)
            if self.dist.is_main:
                basis.save(own)
        basis.check_compatible(self.backend.latent_space)
        return basis

    @staticmethod
    def _trainable(module: nn.Module) -> list[nn.Parameter]:
        """The weights an optimiser updates (a contrastive D_I's EMA copy is not among them)."""
        return [p for p in module.parameters() if p.requires_grad]

    def _dataset(self) -> torch.utils.data.Dataset:
        from latentmotion.data import VideoFolderDataset

        if self.config.data is None:
            raise ConfigError("no training videos: set `data` to a folder of videos (or pass a dataset)")
        return VideoFolderDataset(self.config.data, n_frames=self.config.n_frames, time_step=self.config.time_step, resolution=self.d_resolution)

    def _wrap_distributed(self) -> None:
        """Wrap the trained networks in DDP when running in several processes."""
        self._motion, self._video_d, self._image_d = self.motion, self.video_d, self.image_d
        if self.dist.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._motion = DistributedDataParallel(self.motion, device_ids=ids, broadcast_buffers=False)
            self._video_d = DistributedDataParallel(self.video_d, device_ids=ids, broadcast_buffers=False)
            self._image_d = DistributedDataParallel(self.image_d, device_ids=ids, broadcast_buffers=False)

    def _clips(self) -> Iterator[torch.Tensor]:
        """Endless batches of real clips `[B, T, 3, d, d]`, resumable at `clips_seen`."""
        stream = ClipStream(len(self._clip_dataset), seed=self.config.seed, rank=self.dist.rank, world_size=self.dist.world_size, offset=self.clips_seen)
        loader = torch.utils.data.DataLoader(
            self._clip_dataset, batch_size=self.batch, sampler=stream, num_workers=self.config.num_workers, pin_memory=self.device.type == "cuda"
        )
        for clips in loader:
            if tuple(clips.shape[1:]) != (self.config.n_frames, 3, self.d_resolution, self.d_resolution):
                raise ConfigError(
                    f"real clips are {list(clips.shape[1:])}, the trainer needs [{self.config.n_frames}, 3, {self.d_resolution}, {self.d_resolution}]"
                )
            self.clips_seen += len(clips)
            yield clips.to(self.device, non_blocking=True)

    # -- one iteration ------------------------------------------------------------------------

    def fake_clips(self, *, grad: bool) -> tuple[torch.Tensor, MotionOutput]:
        """Generate a batch of clips at the discriminator resolution.

        Args:
            grad: Keep the graph to the motion generator (generator steps).

        Returns:
            `[B, T, 3, d, d]` clips in `[-1, 1]` and the motion that made them.
        """
        with torch.set_grad_enabled(grad):
            content = self.backend.sample_latents(self.batch, generator=self.rng)
            noise = self.backend.sample_noise(self.batch, generator=self.rng)
            eps = self.motion.sample_noise(self.batch, self.config.n_frames, generator=self.rng)
            out = self._motion(content, self.config.n_frames, eps)
            frames = render(self.backend, out.trajectory, noise)  # all B*T frames in one batch
        return resize_clips(frames, self.d_resolution), out

    def _video_input(self, clips: torch.Tensor) -> torch.Tensor:
        return video_discriminator_view(clips, cross_domain=self.config.mode == "cross-domain")

    def _video_logits(self, real: torch.Tensor, fake: torch.Tensor, *, video_d: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """D_V on randomly time-reversed real and fake inputs, in one forward pass (packs never mix the two)."""
        real = reverse_time(self._video_input(real), generator=self.rng)
        fake = reverse_time(self._video_input(fake), generator=self.rng)
        logits = video_d(torch.cat([real, fake]))
        n_real = len(real) // self.config.video_pack
        return [scale[:n_real] for scale in logits], [scale[n_real:] for scale in logits]

    def _random_frame(self) -> int:
        return int(torch.randint(1, self.config.n_frames, (), generator=self.rng))

    def generator_step(self, real: torch.Tensor) -> dict[str, float]:
        """One update of the motion generator.

        Args:
            real: `[B, T, 3, d, d]` real clips.

        Returns:
            The step's losses.
        """
        fake, motion = self.fake_clips(grad=True)
        self._requires_grad(False)
        real_v, fake_v = self._video_logits(real, fake, video_d=self.video_d)
        record = {"g/video": losses.ralsgan_generator_loss([r.detach() for r in real_v], fake_v)}
        t = self._random_frame()
        if self.config.mode == "in-domain":
            pairs = self.image_d(torch.cat([_pair(real, t), _pair(fake, t)]))
            record["g/image"] = losses.ralsgan_generator_loss([p[: len(real)].detach() for p in pairs], [p[len(real) :] for p in pairs])
        else:
            first, frame_t = warp(fake[:, 0], generator=self.rng), warp(fake[:, t], generator=self.rng)
            logits, projections = self.image_d(torch.cat([frame_t, first]))
            record["g/image"] = losses.hinge_generator_loss(logits[: len(fake)])
            record["g/match"] = self.config.match_weight * losses.feature_matching_loss(projections[: len(fake)], projections[len(fake) :])
            self.image_d.enqueue(self.image_d.ema_projections(first), self.image_d.ema_projections(frame_t))
        record["g/mi"] = self.config.mi_weight * losses.mutual_information_loss(motion.noise_reconstruction, motion.noise)
        record["g/smooth"] = self.config.smoothness_weight * losses.smoothness_loss(motion.pre_activations)
        total = sum(record.values())
        self.motion_opt.zero_grad(set_to_none=True)
        total.backward()
        self.motion_opt.step()
        self._requires_grad(True)
        return {"g/total": total.item(), **{k: v.item() for k, v in record.items()}}

    def discriminator_step(self, real: torch.Tensor) -> dict[str, float]:
        """One update of D_V and D_I on a fresh fake batch.

        Args:
            real: `[B, T, 3, d, d]` real clips.

        Returns:
            The step's losses.
        """
        fake, _ = self.fake_clips(grad=False)
        real_v, fake_v = self._video_logits(real, fake, video_d=self._video_d)
        video_loss = losses.ralsgan_discriminator_loss(real_v, fake_v)
        penalty = losses.gradient_penalty(self._video_d, self._video_input(real), self._video_input(fake), weight=self.config.gp_weight, generator=self.rng)
        self.video_opt.zero_grad(set_to_none=True)
        (video_loss + penalty).backward()
        self.video_opt.step()
        record = {"d/video": video_loss.item(), "d/gp": penalty.item()}

        t = self._random_frame()
        if self.config.mode == "in-domain":
            pairs = self._image_d(torch.cat([_pair(real, t), _pair(fake, t)]))
            image_loss = losses.ralsgan_discriminator_loss([p[: len(real)] for p in pairs], [p[len(real) :] for p in pairs])
            record["d/image"] = image_loss.item()
        else:
            views = torch.cat([warp(frames, generator=self.rng) for frames in (fake[:, 0], fake[:, 0], fake[:, t], fake[:, t])])
            logits, projections = self._image_d(views)
            real1, real2, fake1, fake2 = projections.chunk(4)
            hinge = losses.hinge_discriminator_loss(logits.chunk(4)[0], logits.chunk(4)[2])
            contrastive = losses.info_nce_loss(real1, real2, self.image_d.queue_real, temperature=self.config.temperature) + losses.info_nce_loss(
                fake1, fake2, self.image_d.queue_fake, temperature=self.config.temperature
            )
            image_loss = hinge + self.config.contrastive_weight * contrastive
            record.update({"d/image": hinge.item(), "d/contrastive": contrastive.item()})
        self.image_opt.zero_grad(set_to_none=True)
        image_loss.backward()
        self.image_opt.step()
        if self.config.mode == "cross-domain":
            self.image_d.update_ema()
        return record

    def _requires_grad(self, flag: bool) -> None:
        """Freeze or unfreeze the discriminators' trainable weights (frozen during generator steps)."""
        for parameter in self._discriminator_weights:
            parameter.requires_grad_(flag)

    # -- the loop -----------------------------------------------------------------------------

    def train(self) -> LatentMotionPipeline:
        """Run until `config.steps` iterations, checkpointing and logging on the way.

        Returns:
            The trained pipeline (also saved to `out_dir/pipeline` by the main process).
        """
        clips = self._clips()
        with _ProgressBar(self.progress and self.dist.is_main, total=self.config.steps, done=self.step) as advance:
            while self.step < self.config.steps:
                started = time.perf_counter()
                real = next(clips)
                g_records = [self.generator_step(real) for _ in range(self.config.g_steps)]
                record = {key: sum(r[key] for r in g_records) / len(g_records) for key in g_records[0]}
                record.update(self.discriminator_step(real))
                self.step += 1
                if self.dist.is_main and (self.step % self.config.log_every == 0 or self.step == self.config.steps):
                    self._log({"step": self.step, **record, "seconds": time.perf_counter() - started})
                if self.config.preview_every and self.step % self.config.preview_every == 0 and self.dist.is_main:
                    self.write_preview()
                if self.step % self.config.checkpoint_every == 0 or self.step == self.config.steps:
                    self.save_checkpoint()
                advance(record)
        pipeline = self.pipeline()
        if self.dist.is_main:
            pipeline.save_pretrained(self.out_dir / PIPELINE_DIR)
        return pipeline

    def pipeline(self) -> LatentMotionPipeline:
        """The current motion generator as a pipeline (sharing this trainer's modules).

        Returns:
            The pipeline.
        """
        return LatentMotionPipeline(backend=self.backend, basis=self.basis, motion=self.motion, n_frames=self.config.n_frames)

    def write_preview(self) -> Path:
        """Write a grid of videos from fixed seeds to `out_dir/previews/step-N.png`.

        Returns:
            The file written.
        """
        from latentmotion.video import write_grid

        videos = self.pipeline().generate(4, self.config.n_frames, seed=self.config.seed)
        self.motion.train()
        path = self.out_dir / PREVIEW_DIR / f"step-{self.step:07d}.png"
        path.parent.mkdir(exist_ok=True)
        return write_grid(path, videos.cpu())

    def _log(self, record: dict[str, float]) -> None:
        with (self.out_dir / LOG_NAME).open("a") as log:
            log.write(json.dumps(record) + "\n")

    # -- checkpoints --------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where training stands.

        Returns:
            Networks, optimisers, counters, random states and the configuration.
        """
        return {
            "config": self.config.to_dict(),
            "step": self.step,
            "clips_seen": self.clips_seen,
            "rng": self.rng.get_state(),
            "motion": self.motion.state_dict(),
            "video_d": self.video_d.state_dict(),
            "image_d": self.image_d.state_dict(),
            "motion_opt": self.motion_opt.state_dict(),
            "video_opt": self.video_opt.state_dict(),
            "image_opt": self.image_opt.state_dict(),
        }

    def save_checkpoint(self) -> Path | None:
        """Write `out_dir/checkpoint.pt` atomically from the main process (the old one survives a failed write).

        Returns:
            The checkpoint path on the main process, None on the others.
        """
        path = self.out_dir / CHECKPOINT_NAME
        if self.dist.is_main:
            with atomic_path(path) as temp:
                torch.save(self.state_dict(), temp)
            with atomic_path(self.out_dir / TRAIN_CONFIG_NAME) as temp:
                temp.write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        if self.dist.world_size > 1:
            dist.barrier()
        return path if self.dist.is_main else None

    def load_checkpoint(self) -> None:
        """Restore the state written by `save_checkpoint`, checking it comes from the same configuration."""
        path = self.out_dir / CHECKPOINT_NAME
        if not path.is_file():
            raise CheckpointError(f"cannot resume: {path} does not exist (start without --resume)")
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as error:  # torch raises many types on corrupt files
            raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({type(error).__name__}: {error}); delete it to start over") from error
        saved = {**TrainConfig().to_dict(), **state.get("config", {})}  # options added since the checkpoint keep their defaults
        current = self.config.to_dict()
        changed = sorted(k for k in set(saved) | set(current) if k not in RESUMABLE_CHANGES and saved.get(k) != current.get(k))
        if changed:
            raise CheckpointError(
                f"checkpoint {path} comes from another configuration: {', '.join(f'{k} ({saved.get(k)!r} -> {current.get(k)!r})' for k in changed)}"
            )
        try:
            self.motion.load_state_dict(state["motion"])
            self.video_d.load_state_dict(state["video_d"])
            self.image_d.load_state_dict(state["image_d"])
            self.motion_opt.load_state_dict(state["motion_opt"])
            self.video_opt.load_state_dict(state["video_opt"])
            self.image_opt.load_state_dict(state["image_opt"])
        except (KeyError, RuntimeError, ValueError) as error:
            raise CheckpointError(f"checkpoint {path} does not fit this run's networks: {error}") from error
        self.rng.set_state(state["rng"])
        self.step = state["step"]
        self.clips_seen = state["clips_seen"]
        if self.dist.is_main:
            _truncate_log(self.out_dir / LOG_NAME, self.step)


def _pair(clips: torch.Tensor, t: int) -> torch.Tensor:
    """The in-domain D_I input: frame 0 stacked on frame t, `[B, 6, d, d]`."""
    return torch.cat([clips[:, 0], clips[:, t]], dim=1)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint a run resumes from."""
    if not path.is_file():
        return
    lines = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    with atomic_path(path) as temp:
        temp.write_text("".join(line + "\n" for line in lines))


def _setup_distributed(device: str) -> _Distributed:
    """Join the process group that `torchrun` describes in the environment (none for one process)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return _Distributed()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    initialised_here = not dist.is_initialized()
    if initialised_here:
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return _Distributed(rank, world_size, local_rank, initialised_here)


def _device(name: str, local_rank: int) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was asked for but torch sees no CUDA device")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


class _ProgressBar:
    """A rich progress bar on stderr showing the latest losses (a no-op when disabled)."""

    def __init__(self, enabled: bool, *, total: int, done: int) -> None:
        self.enabled, self.total, self.done = enabled, total, done

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda record: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), TextColumn("{task.fields[losses]}"), console=Console(file=sys.stderr)
        )
        self.bar.__enter__()
        task = self.bar.add_task("train", total=self.total, completed=self.done, losses="")
        return lambda record: self.bar.update(task, advance=1, losses=f"G {record['g/total']:.3f} D_V {record['d/video']:.3f}")

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)
