"""Training: the MoCoGAN-HD objectives, 5 generator steps per discriminator step, checkpoints, resume.

Only the motion generator learns. The image generator (the backend) is frozen but
differentiable: gradients reach the motion generator through every rendered frame.

    G:   L_V^RaLS + (the mode's image losses) + L_m
    D_V: L_V^RaLS + 10 GP
    D_I: the mode's image losses

D_V sees the view of a clip that the training mode chooses; D_I and the image losses are the
mode's too ([latentmotion.modes][]: in-domain and cross-domain). The configuration is
[TrainConfig][latentmotion.config.TrainConfig].

`run.precision` runs the rendering, the discriminators and their losses under `torch.autocast`
in bf16 or fp16 (fp16 with one gradient scaler per network); `run.compile` compiles the rendering
and the discriminators' forward passes with `torch.compile`.

Multi-process training runs under `torchrun`: DistributedDataParallel over the motion generator
and the discriminators (gloo on CPU, NCCL on GPU); a single process needs no process group.
"""

from __future__ import annotations

import errno
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import torch
import torch.distributed as dist
from einops import rearrange
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from latentmotion import losses
from latentmotion.atomic import atomic_path
from latentmotion.augment import reverse_time
from latentmotion.backend import ImageGeneratorBackend
from latentmotion.basis import PCABasis
from latentmotion.config import CHECKPOINTING_RESOLUTION, TrainConfig, flatten
from latentmotion.devices import check_compile, check_memory, precision_dtype, resolve_device
from latentmotion.discriminators import VideoDiscriminator
from latentmotion.errors import CheckpointError, ConfigError, DatasetError, TrainingError, one_line
from latentmotion.hub import CardInfo
from latentmotion.modes import MODES
from latentmotion.motion import MotionConfig, MotionGenerator, MotionOutput
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.progress import progress_bar
from latentmotion.rendering import render
from latentmotion.run_folder import CHECKPOINT_NAME, RunFolder
from latentmotion.safe_load import load_weights_only
from latentmotion.streams import Stream, stream_generator

BASIS_FILE = "basis.safetensors"
TRAIN_CONFIG_NAME = "train_config.json"
PIPELINE_DIR = "pipeline"
PREVIEW_DIR = "previews"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINT_FORMAT = 2
# Options that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = frozenset(
    {
        "run.steps",
        "run.epochs",
        "run.checkpoint_every",
        "run.log_every",
        "run.preview_every",
        "run.tensorboard",
        "run.device",
        "run.compile",
        "run.gradient_checkpointing",
        "run.checkpoint_frames",
        "data.num_workers",
    }
)
RESUMABLE_SECTIONS = ("evaluation.",)  # what is measured during a run does not change the run


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

    A clip that cannot be read (a corrupt frame, a frame of another size: a `DatasetError`) is
    skipped with a warning naming it, and the next video's clip is drawn from the same seed; after
    `max_skips` unreadable videos in a row the dataset counts as broken and a `DatasetError` says so.

    Args:
        dataset: Dataset whose `__getitem__` draws its clip position from torch's global RNG.
        max_skips: Unreadable videos in a row before giving up.
    """

    def __init__(self, dataset: torch.utils.data.Dataset, *, max_skips: int = 8) -> None:
        self.dataset = dataset
        self.max_skips = max_skips
        self._warned: set[int] = set()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        index, seed = key
        failures = []
        for attempt in range(min(self.max_skips + 1, len(self.dataset))):
            video = (index + attempt) % len(self.dataset)
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    return self.dataset[video]
            except DatasetError as error:
                failures.append(one_line(error))
                if video not in self._warned:
                    self._warned.add(video)
                    warnings.warn(f"skipping an unreadable clip: {one_line(error)}", stacklevel=2)
        raise DatasetError(
            f"{len(failures)} videos in a row could not be read, the last: {failures[-1]}; "
            "the dataset looks damaged: fix or remove the videos named in the warnings, then --resume"
        )


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

    The trainer keeps its networks and their optimisers by name (`motion`, `video_d`, `image_d`)
    and loops over them to checkpoint, resume, wrap for distributed training and freeze; what
    depends on the training mode (D_I, its optimiser, D_V's view, the image losses) is asked of
    the mode ([latentmotion.modes][]).

    Args:
        config: The run's configuration.
        out_dir: Folder for the checkpoint, the JSONL log, previews and the final pipeline.
        backend: A backend to use instead of building `config.backend`.
        basis: A fitted basis to use instead of `config.motion.basis` / fitting one.
        dataset: A clip dataset to use instead of a folder dataset over `config.data.path`;
            items are `[T, 3, d, d]` clips in `[-1, 1]`.
        resume: Continue from `out_dir`'s checkpoint (an error if there is none).
        progress: Show a progress bar on stderr.

    Attributes:
        total_steps: The run's length in iterations: `run.steps`, or `run.epochs` passes over the
            dataset's videos ([RunOptions.iterations][latentmotion.config.RunOptions.iterations]).
        checkpointing: Whether the generator steps render with gradient checkpointing
            (`run.gradient_checkpointing`, or by default from the backend's resolution).
        last_fakes: With `optim.reuse_fakes`, the last generator step's `[B, T, 3, d, d]` clips,
            detached, which the discriminator step trains on; None before the first step.
        motion_ema: With `optim.ema_decay`, the moving average of the motion generator's weights
            (updated after every generator step), which the pipeline, previews and evaluations
            use; None without.
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
        device = resolve_device(config.run.device)
        self.dist = _setup_distributed(device)
        self.device = torch.device("cuda", self.dist.local_rank) if device.type == "cuda" and device.index is None else device
        self.dtype = precision_dtype(config.run.precision, self.device)
        if config.run.compile:
            check_compile(self.device)
        data = config.data
        if data.batch_size % self.dist.world_size:
            raise ConfigError(f"data.batch_size {data.batch_size} must be divisible by the number of processes {self.dist.world_size}")
        self.batch = data.batch_size // self.dist.world_size
        pack = config.video_discriminator.pack
        if self.batch % pack:
            raise ConfigError(
                f"video_discriminator.pack {pack} must divide the batch of each process ({self.batch}); choose a data.batch_size that is a multiple of it"
            )
        self.folder = RunFolder(self.out_dir)
        if self.dist.is_main:
            self.folder.lock()
        try:
            if self.dist.is_main:  # cheap checks first: nothing is fitted or written for a run that cannot start
                self.folder.check_start(resume=resume)
                self.folder.remove_temporary_files()
            self._set_up(backend, basis, dataset, resume)
        except BaseException:
            self.folder.abandon()
            raise

    def _set_up(self, backend: ImageGeneratorBackend | None, basis: PCABasis | None, dataset: torch.utils.data.Dataset | None, resume: bool) -> None:
        """Build the backend, the data, the basis, the networks and their optimisers; resume."""
        from latentmotion.plugins import get_backend

        config = self.config
        self.backend = (backend or get_backend(config.backend, **config.backend_options)).freeze().to(self.device)
        checkpointing = config.run.gradient_checkpointing
        self.checkpointing = self.backend.resolution >= CHECKPOINTING_RESOLUTION if checkpointing is None else checkpointing
        self.last_fakes: torch.Tensor | None = None
        self.d_resolution = min(config.data.resolution, self.backend.resolution)
        frames = config.data.n_frames
        check_memory(  # real clips and generated videos, before any activation
            self.batch * frames * 3 * (self.backend.resolution**2 + self.d_resolution**2) * 4,
            self.device,
            what=f"training on batches of {self.batch} clips of {frames} frames at {self.backend.resolution} pixels",
            lower="data.batch_size, data.n_frames or the backend's resolution",
        )
        self._clip_dataset = SeededClips(dataset if dataset is not None else self._dataset())
        self.total_steps = config.run.iterations(len(self._clip_dataset), config.data.batch_size)
        self.mode = MODES[config.mode](config, resolution=self.d_resolution)
        self.basis = self._basis(basis, resume)
        with torch.random.fork_rng(devices=[]):  # initial weights depend on the seed only
            torch.manual_seed(config.run.seed)
            self.networks = self._build_networks()
        decay = config.optim.ema_decay
        self.motion_ema = None if decay is None else AveragedModel(self.motion, multi_avg_fn=get_ema_multi_avg_fn(decay)).requires_grad_(False)
        self.optimizers = {
            "motion": torch.optim.Adam(self.motion.parameters(), lr=config.optim.lr, betas=config.optim.betas),
            "video_d": torch.optim.Adam(self.video_d.parameters(), lr=config.optim.d_lr, betas=config.optim.betas),
            "image_d": self.mode.image_optimizer(_trainable(self.image_d)),
        }
        # One scaler per optimiser: each network's gradients have their own range, and an overflow
        # in one network's backward skips that update and lowers that scale only.
        self.scalers = {name: torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16) for name in self.optimizers}
        self.skipped_steps = dict.fromkeys(self.optimizers, 0)  # fp16 steps skipped for overflow since the last log record
        self.rng = stream_generator(config.run.seed, Stream.TRAINING, index=self.dist.rank)
        self.evaluation = None
        if config.evaluation.every and self.dist.is_main:
            from latentmotion.training_evaluation import TrainingEvaluation

            self.evaluation = TrainingEvaluation(config.evaluation, data=config.data.path, run_dir=self.out_dir)
        self.step = 0
        self.clips_seen = 0
        if resume:
            self.load_checkpoint()
        self.board = None
        if config.run.tensorboard and self.dist.is_main:
            from latentmotion.tensorboard_log import TensorBoardLog

            self.board = TensorBoardLog(self.out_dir / TENSORBOARD_DIR, resume_step=self.step if resume else None)
        self._wrapped = self._wrap_distributed()
        self._render, self._scorers = self._compile()

    @property
    def motion(self) -> MotionGenerator:
        """The motion generator, the only network that is kept."""
        return self.networks["motion"]

    @property
    def video_d(self) -> VideoDiscriminator:
        """The video discriminator D_V."""
        return self.networks["video_d"]

    @property
    def image_d(self) -> nn.Module:
        """The image discriminator D_I of the training mode."""
        return self.networks["image_d"]

    # -- set-up ---------------------------------------------------------------------------------

    def _build_networks(self) -> dict[str, nn.Module]:
        """The motion generator, D_V and the mode's D_I, at their initial weights."""
        options = self.config.motion
        n_components = min(options.n_components, self.basis.n_components)
        motion_config = MotionConfig(
            latent_dim=self.backend.latent_space.total_dim,
            n_components=n_components,
            hidden_dim=options.hidden_dim,
            noise_dim=options.noise_dim or self.backend.latent_space.total_dim,
            step_scale=options.step_scale,
            init_std=options.init_std,
            forget_bias=options.forget_bias,
            residual=options.residual,
        )
        video = self.config.video_discriminator
        networks = {
            "motion": MotionGenerator(motion_config, basis=self.basis.scaled(n_components)),
            "video_d": VideoDiscriminator(
                in_channels=self.mode.view_channels,
                channels=video.channels,
                layers=video.layers,
                scales=video.scales,
                pack=video.pack,
                n_frames=self.config.data.n_frames,
            ),
            "image_d": self.mode.image_discriminator(),
        }
        return {name: network.to(self.device) for name, network in networks.items()}

    def _basis(self, basis: PCABasis | None, resume: bool) -> PCABasis:
        """The given basis, the configured file, the run's own file, or a fresh fit; a given or fitted one is kept in the run folder for resuming."""
        own, options = self.out_dir / BASIS_FILE, self.config.motion
        if basis is None and options.basis is not None:
            basis = PCABasis.load(options.basis)
        elif basis is None and resume and own.is_file():
            basis = PCABasis.load(own)
        else:
            if basis is None:
                basis = PCABasis.fit(self.backend, n_samples=options.basis_samples, seed=self.config.run.seed, progress=self.progress and self.dist.is_main)
            if self.dist.is_main and not own.is_file():
                basis.save(own)
        basis.check_compatible(self.backend.latent_space)
        return basis

    def _dataset(self) -> torch.utils.data.Dataset:
        from latentmotion.data import VideoFolderDataset

        data = self.config.data
        if data.path is None:
            raise ConfigError("no training videos: set data.path to a folder of videos (or pass a dataset)")
        return VideoFolderDataset(data.path, n_frames=data.n_frames, time_step=data.time_step, resolution=self.d_resolution)

    def _wrap_distributed(self) -> dict[str, nn.Module]:
        """The networks as the steps call them: wrapped in DDP when running in several processes."""
        if self.dist.world_size == 1:
            return dict(self.networks)
        ids = [self.device.index] if self.device.type == "cuda" else None
        return {name: DistributedDataParallel(network, device_ids=ids, broadcast_buffers=False) for name, network in self.networks.items()}

    def _compile(self) -> tuple[Callable[..., torch.Tensor], dict[str, dict[str, nn.Module]]]:
        """The rendering function and the discriminators the loss passes call, compiled with `run.compile`.

        Returns:
            `render` and, for the generator steps (`"generator"`: the networks themselves, frozen)
            and the discriminator steps (`"discriminator"`: as wrapped for distributed training),
            D_V and D_I by name. The gradient penalty calls the eager `_wrapped["video_d"]`.
        """
        compile_ = torch.compile if self.config.run.compile else _eager
        generator = {name: compile_(self.networks[name]) for name in ("video_d", "image_d")}
        discriminator = generator if self.dist.world_size == 1 else {name: compile_(self._wrapped[name]) for name in generator}
        return compile_(render), {"generator": generator, "discriminator": discriminator}

    def _autocast(self) -> torch.autocast:
        """The autocast context of `run.precision` (disabled for fp32)."""
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32)

    def _clips(self) -> Iterator[torch.Tensor]:
        """Endless batches of real clips `[B, T, 3, d, d]`, resumable at `clips_seen`."""
        data = self.config.data
        stream = ClipStream(len(self._clip_dataset), seed=self.config.run.seed, rank=self.dist.rank, world_size=self.dist.world_size, offset=self.clips_seen)
        loader = torch.utils.data.DataLoader(
            self._clip_dataset, batch_size=self.batch, sampler=stream, num_workers=data.num_workers, pin_memory=self.device.type == "cuda"
        )
        for clips in loader:
            if tuple(clips.shape[1:]) != (data.n_frames, 3, self.d_resolution, self.d_resolution):
                raise ConfigError(
                    f"real clips are {list(clips.shape[1:])}, the trainer needs [{data.n_frames}, 3, {self.d_resolution}, {self.d_resolution}]"
                )
            self.clips_seen += len(clips)
            yield clips.to(self.device, non_blocking=True)

    # -- one iteration ------------------------------------------------------------------------

    def fake_clips(self, *, grad: bool) -> tuple[torch.Tensor, MotionOutput]:
        """Generate a batch of clips at the discriminator resolution.

        Args:
            grad: Keep the graph to the motion generator (generator steps).

        Returns:
            `[B, T, 3, d, d]` fp32 clips in `[-1, 1]` and the motion that made them.
        """
        n_frames = self.config.data.n_frames
        with torch.set_grad_enabled(grad):
            content = self.backend.sample_latents(self.batch, generator=self.rng)
            noise = self.backend.sample_noise(self.batch, generator=self.rng)
            eps = self.motion.sample_noise(self.batch, n_frames, generator=self.rng)
            out = self._wrapped["motion"](content, n_frames, eps)  # fp32, outside autocast: the LSTMs and the codes they accumulate
            chunk = (self.config.run.checkpoint_frames or n_frames) if self.checkpointing else None
            with self._autocast():  # all B*T frames in one call; checkpointing: `chunk` frames a call, recomputed in the backward pass
                frames = self._render(self.backend, out.trajectory, noise, batch_size=chunk, checkpoint=self.checkpointing)
            clips = resize_clips(frames.float(), self.d_resolution)
        return clips, out

    def _video_logits(self, real: torch.Tensor, fake: torch.Tensor, *, video_d: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """D_V on randomly time-reversed real and fake views, in one forward pass (packs never mix the two)."""
        real = reverse_time(self.mode.video_view(real), generator=self.rng)
        fake = reverse_time(self.mode.video_view(fake), generator=self.rng)
        logits = video_d(torch.cat([real, fake]))
        n_real = len(real) // self.config.video_discriminator.pack
        return [scale[:n_real] for scale in logits], [scale[n_real:] for scale in logits]

    def generator_step(self, real: torch.Tensor) -> dict[str, float]:
        """One update of the motion generator: `L_V + image losses of the mode + L_m (+ L_s)`.

        Args:
            real: `[B, T, 3, d, d]` real clips.

        Returns:
            The step's losses.
        """
        fake, motion = self.fake_clips(grad=True)
        if self.config.optim.reuse_fakes:
            self.last_fakes = fake.detach()
        self._freeze_discriminators(True)
        scorers = self._scorers["generator"]
        record = {}
        with self._autocast():
            if self.config.video_discriminator.enabled:
                real_v, fake_v = self._video_logits(real, fake, video_d=scorers["video_d"])
                record["g/video"] = losses.ralsgan_generator_loss([r.detach() for r in real_v], fake_v)
            record.update(self.mode.generator_losses(scorers["image_d"], real, fake, generator=self.rng))
        options = self.config.motion
        record["g/mi"] = options.mi_weight * losses.mutual_information_loss(motion.noise_reconstruction, motion.noise)
        record["g/smooth"] = options.smoothness_weight * losses.smoothness_loss(motion.pre_activations)
        total = _total(record)
        self._check_finite("generator", record)
        self._update("motion", total)
        if self.motion_ema is not None:
            self.motion_ema.update_parameters(self.motion)
        self._freeze_discriminators(False)
        return {"g/total": total.item(), **{k: v.item() for k, v in record.items()}}

    def discriminator_step(self, real: torch.Tensor) -> dict[str, float]:
        """One update of D_V (`L_V + GP`) and of the mode's D_I on a fresh fake batch (`optim.reuse_fakes`: the last generator step's).

        Args:
            real: `[B, T, 3, d, d]` real clips.

        Returns:
            The step's losses.
        """
        fake = self.fake_clips(grad=False)[0] if self.last_fakes is None else self.last_fakes  # kept by generator steps with optim.reuse_fakes only
        video_losses = self.video_discriminator_loss(real, fake) | self.gradient_penalty(real, fake) if self.config.video_discriminator.enabled else {}
        self._check_finite("video discriminator", video_losses)
        if video_losses:
            self._update("video_d", _total(video_losses))
        image_losses = self.image_discriminator_losses(real, fake)
        self._check_finite("image discriminator", image_losses)
        if image_losses:
            self._update("image_d", _total(image_losses))
            self.mode.after_discriminator_step(self.image_d)
        return {k: v.item() for k, v in (video_losses | image_losses).items()}

    def video_discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """D_V's relativistic loss, under autocast, keyed `d/video` (a part of the discriminator step).

        Args:
            real: `[B, T, 3, d, d]` real clips.
            fake: `[B, T, 3, d, d]` generated clips.

        Returns:
            The loss, a scalar.
        """
        with self._autocast():
            real_v, fake_v = self._video_logits(real, fake, video_d=self._scorers["discriminator"]["video_d"])
            return {"d/video": losses.ralsgan_discriminator_loss(real_v, fake_v)}

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """D_V's gradient penalty, eager and in fp32, keyed `d/gp` (a part of the discriminator step).

        The penalty is `(||grad D|| - 1)^2`, a second-order term on an input gradient: in fp16 that
        gradient can underflow and in bf16 its norm keeps 8 bits, so it is computed in fp32
        whatever `run.precision`, by the eager D_V (a compiled graph has no double backward).

        Args:
            real: `[B, T, 3, d, d]` real clips.
            fake: `[B, T, 3, d, d]` generated clips.

        Returns:
            The penalty, a scalar.
        """
        views = self.mode.video_view(real), self.mode.video_view(fake)
        return {"d/gp": losses.gradient_penalty(self._wrapped["video_d"], *views, weight=self.config.video_discriminator.gp_weight, generator=self.rng)}

    def image_discriminator_losses(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """The mode's image discriminator losses, under autocast (a part of the discriminator step; none when D_I is off).

        Args:
            real: `[B, T, 3, d, d]` real clips.
            fake: `[B, T, 3, d, d]` generated clips.

        Returns:
            The losses by log key.
        """
        with self._autocast():
            return self.mode.discriminator_losses(self._scorers["discriminator"]["image_d"], real, fake, generator=self.rng)

    def _check_finite(self, network: str, record: dict[str, torch.Tensor]) -> None:
        """Stop before a non-finite loss reaches the weights; the last checkpoint stays the last good state."""
        bad = {name: value.item() for name, value in record.items() if not torch.isfinite(value)}
        if bad:
            raise TrainingError(
                f"the {network} loss became non-finite at iteration {self.step + 1} "
                f"({', '.join(f'{name}={value}' for name, value in bad.items())}); {self._kept()}. "
                "Lower optim.lr or optim.d_lr, or check the data and the backend's outputs"
            )

    def _kept(self) -> str:
        """What a failed iteration leaves behind: the last checkpoint, untouched, or none yet."""
        checkpoint = self.out_dir / CHECKPOINT_NAME
        return f"the checkpoint {checkpoint} is intact" if checkpoint.is_file() else "no checkpoint was written yet"

    def _update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of network `name` on `loss`, through its gradient scaler (a no-op but in fp16).

        In fp16 the scaler multiplies the loss before the backward pass, unscales the gradients
        before the step, skips the step when a gradient is inf or NaN (counted for the log), and
        adapts its scale.
        """
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        if scaler.is_enabled():
            scale = scaler.get_scale()
            scaler.update()
            self.skipped_steps[name] += scaler.get_scale() < scale  # the scale falls exactly when the step was skipped

    def _scaler_record(self) -> dict[str, float]:
        """In fp16, each network's loss scale and its steps skipped since the last record (`fp16/scale_<network>`, `fp16/skipped_<network>`); then counts again from 0."""
        record = {}
        for name, scaler in self.scalers.items():
            if scaler.is_enabled():
                record |= {f"fp16/scale_{name}": scaler.get_scale(), f"fp16/skipped_{name}": self.skipped_steps[name]}
            self.skipped_steps[name] = 0
        return record

    def _freeze_discriminators(self, frozen: bool) -> None:
        """Freeze (during generator steps) or unfreeze the trained weights of every network but the motion generator."""
        for name, optimizer in self.optimizers.items():
            if name != "motion":
                for group in optimizer.param_groups:
                    for parameter in group["params"]:
                        parameter.requires_grad_(not frozen)

    # -- the loop -----------------------------------------------------------------------------

    def train(self) -> LatentMotionPipeline:
        """Run until `total_steps` iterations (`run.steps`, or `run.epochs` passes over the videos), checkpointing and logging on the way.

        Returns:
            The trained pipeline (also saved to `out_dir/pipeline` by the main process).
        """
        try:
            return self._train()
        finally:
            if self.board is not None:
                self.board.close()
            self.folder.unlock()

    def _train(self) -> LatentMotionPipeline:
        run = self.config.run
        clips = self._clips()
        if self.step == 0:
            self.evaluate()  # the untrained generator: where the curve starts
        with progress_bar("training", total=self.total_steps, done=self.step, enabled=self.progress and self.dist.is_main) as advance:
            while self.step < self.total_steps:
                started = time.perf_counter()
                try:
                    real = next(clips)
                except DatasetError:
                    self.save_checkpoint()  # the steps done so far are kept; --resume after fixing the data
                    raise
                try:
                    g_records = [self.generator_step(real) for _ in range(self.config.optim.g_steps)]
                    record = {key: sum(r[key] for r in g_records) / len(g_records) for key in g_records[0]}
                    record.update(self.discriminator_step(real))
                except torch.OutOfMemoryError as error:
                    raise TrainingError(
                        f"training ran out of memory on {self.device} at iteration {self.step + 1} ({one_line(error)}); {self._kept()}. "
                        "Render fewer frames at once (run.gradient_checkpointing = true, then a smaller run.checkpoint_frames), "
                        "lower data.batch_size, or use run.precision = 'bf16' on a GPU that has it"
                    ) from None
                self.step += 1
                if self.dist.is_main and (self.step % run.log_every == 0 or self.step == self.total_steps):
                    self.log({"step": self.step, **record, **self._scaler_record(), "seconds": time.perf_counter() - started})
                if run.preview_every and self.step % run.preview_every == 0 and self.dist.is_main:
                    self.write_preview()
                if self.evaluation is not None and (self.step % self.config.evaluation.every == 0 or self.step == self.total_steps):
                    self.evaluate()
                if self.step % run.checkpoint_every == 0 or self.step == self.total_steps:
                    self.save_checkpoint()
                advance(note=" ".join(f"{key} {value:.3f}" for key, value in record.items() if key in ("g/total", "d/video")))
        pipeline = self.pipeline()
        if self.dist.is_main:
            pipeline.save_pretrained(self.out_dir / PIPELINE_DIR)
        return pipeline

    def pipeline(self) -> LatentMotionPipeline:
        """The current motion generator (with `optim.ema_decay`: its moving average) as a pipeline, sharing this trainer's modules.

        Its [card][latentmotion.hub.CardInfo] holds this run's training configuration and
        nothing else: no metrics until an evaluation adds them.

        Returns:
            The pipeline.
        """
        card = CardInfo(training=self.config.to_dict())
        motion = self.motion if self.motion_ema is None else self.motion_ema.module
        return LatentMotionPipeline(backend=self.backend, basis=self.basis, motion=motion, n_frames=self.config.data.n_frames, card=card)

    def evaluate(self) -> dict[str, float]:
        """Measure the current pipeline with `[evaluation]`'s figures and log them (main process; nothing without `evaluation.every`).

        Returns:
            The log entries `{"eval/<metric>": value}` (empty when nothing was measured).
        """
        if self.evaluation is None:
            return {}
        figures = self.evaluation(self.pipeline())
        self.motion.train()
        self.log({"step": self.step, **figures})
        return figures

    def log(self, record: dict[str, Any]) -> None:
        """Append a record to `log.jsonl`, and to TensorBoard with `run.tensorboard` (main process).

        Args:
            record: `step`, then names and values.
        """
        self.folder.append_log(record)
        if self.board is not None:
            self.board.scalars(record)

    def write_preview(self) -> Path:
        """Write a grid of videos from fixed seeds to `out_dir/previews/step-N.png`.

        Returns:
            The file written.
        """
        from latentmotion.video import write_grid

        pipeline = self.pipeline()
        videos = pipeline.generate(4, self.config.data.n_frames, seed=self.config.run.seed)
        self.motion.train()
        if self.board is not None:
            self.board.video("preview", videos, step=self.step, fps=pipeline.fps)
        path = self.out_dir / PREVIEW_DIR / f"step-{self.step:07d}.png"
        path.parent.mkdir(exist_ok=True)
        return write_grid(path, videos.cpu())

    # -- checkpoints --------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where training stands.

        Returns:
            The configuration, counters, random state, every network, optimiser and gradient
            scaler by name (a scaler's state is empty but in fp16), and with `optim.ema_decay`
            the motion generator's moving average.
        """
        state = {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.to_dict(),
            "step": self.step,
            "clips_seen": self.clips_seen,
            "rng": self.rng.get_state(),
            "networks": {name: network.state_dict() for name, network in self.networks.items()},
            "optimizers": {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()},
            "scalers": {name: scaler.state_dict() for name, scaler in self.scalers.items()},
        }
        if self.motion_ema is not None:
            state["motion_ema"] = self.motion_ema.state_dict()
        return state

    def save_checkpoint(self) -> Path | None:
        """Write `out_dir/checkpoint.pt` atomically from the main process (the old one survives a failed write).

        Returns:
            The checkpoint path on the main process, None on the others.

        Raises:
            TrainingError: The disk is full; the previous checkpoint is intact.
        """
        path = self.out_dir / CHECKPOINT_NAME
        if self.dist.is_main:
            try:
                with atomic_path(path) as temp:
                    torch.save(self.state_dict(), temp)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                raise TrainingError(
                    f"no space left on device while writing {path} at iteration {self.step}; the previous checkpoint is intact: "
                    "free some space, then continue with --resume"
                ) from None
            with atomic_path(self.out_dir / TRAIN_CONFIG_NAME) as temp:
                temp.write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        if self.dist.world_size > 1:
            dist.barrier()
        return path if self.dist.is_main else None

    def load_checkpoint(self) -> None:
        """Restore the state written by `save_checkpoint` (or by latentmotion 0.1), checking it comes from the same configuration."""
        path = self.out_dir / CHECKPOINT_NAME
        if not path.is_file():
            raise CheckpointError(f"cannot resume: {path} does not exist (start without --resume)")
        state = load_weights_only(path, what=f"checkpoint {path}", map_location=self.device)
        state = _upgrade_checkpoint(state, path)
        try:
            saved = flatten(TrainConfig.from_dict(state["config"]).to_dict())  # options added since keep their defaults
        except ConfigError as error:
            raise CheckpointError(f"checkpoint {path} holds a configuration this version cannot read: {error}") from None
        current = flatten(self.config.to_dict())
        changed = sorted(
            k for k in saved.keys() | current.keys() if k not in RESUMABLE_CHANGES and not k.startswith(RESUMABLE_SECTIONS) and saved.get(k) != current.get(k)
        )
        if changed:
            raise CheckpointError(
                f"checkpoint {path} comes from another configuration: {', '.join(f'{k} ({saved.get(k)!r} -> {current.get(k)!r})' for k in changed)}"
            )
        try:
            for name, network in self.networks.items():
                network.load_state_dict(state["networks"][name])
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
            if self.motion_ema is not None:
                self.motion_ema.load_state_dict(state["motion_ema"])
            for name, scaler in self.scalers.items():  # checkpoints written before scalers existed are fp32 runs: no scale to restore
                scaler.load_state_dict(state.get("scalers", {}).get(name, {}))
            self.rng.set_state(state["rng"])
            self.step, self.clips_seen = int(state["step"]), int(state["clips_seen"])
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise CheckpointError(f"checkpoint {path} does not fit this run's networks: {type(error).__name__}: {error}") from error
        if self.step > self.total_steps:
            run = self.config.run
            length = f"run.epochs={run.epochs} ({self.total_steps} iterations)" if run.epochs is not None else f"run.steps={self.total_steps}"
            raise ConfigError(
                f"the run in {str(self.out_dir)!r} is already at iteration {self.step}, past {length}; set a larger run.steps or run.epochs to train further"
            )
        if self.dist.is_main:
            self.folder.truncate_log(step=self.step)


def _total(record: dict[str, torch.Tensor]) -> torch.Tensor:
    """The sum of a step's losses in fp32 (under bf16 or fp16, the losses computed under autocast come in that dtype)."""
    return sum(value.float() for value in record.values())


def _eager(function: Any) -> Any:
    """`function` itself: what `torch.compile` is replaced by without `run.compile`."""
    return function


def _trainable(module: nn.Module) -> list[nn.Parameter]:
    """The weights an optimiser updates (a contrastive D_I's EMA copy is not among them)."""
    return [p for p in module.parameters() if p.requires_grad]


def _upgrade_checkpoint(state: Any, path: Path) -> dict[str, Any]:
    """A checkpoint in the current layout: those of latentmotion 0.1 kept networks and optimisers at the top level."""
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} is not a training checkpoint (it holds a {type(state).__name__})")
    if "format" in state:
        return state
    names = {"motion": "motion_opt", "video_d": "video_opt", "image_d": "image_opt"}
    return {
        **{key: state[key] for key in ("config", "step", "clips_seen", "rng") if key in state},
        "networks": {name: state.get(name) for name in names},
        "optimizers": {name: state.get(key) for name, key in names.items()},
    }


def _setup_distributed(device: torch.device) -> _Distributed:
    """Join the process group that `torchrun` describes in the environment (none for one process)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return _Distributed()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    initialised_here = not dist.is_initialized()
    if initialised_here:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return _Distributed(rank, world_size, local_rank, initialised_here)
