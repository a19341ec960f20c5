"""The training configuration: attrs sections, structured and validated by cattrs.

A configuration file holds the top-level keys `backend`, `backend_options` and `mode`, and one
table per section; every key has the authors' default but the run's length (`run.steps`,
10,000 iterations; the authors train for `run.epochs`, which depends on the dataset: see
[latentmotion.presets][]):

    mode = "cross-domain"
    backend = "stylegan2"
    backend_options = { source = "ffhq.pkl" }

    [data]
    path = "videos/"
    n_frames = 16

    [optim]
    lr = 1e-4

Any key can be changed by its dotted name ([TrainConfig.with_changes][latentmotion.config.TrainConfig.with_changes],
`latentmotion train --set optim.lr=2e-4`). The flat files of latentmotion 0.1 are read too
([upgrade_flat_config][latentmotion.config.upgrade_flat_config]).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs

from latentmotion.errors import ConfigError
from latentmotion.structure import describe, strict_converter


def _positive(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{attribute.name} must be a finite number > 0, got {value}")


def _non_negative(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{attribute.name} must be a finite number >= 0, got {value}")


def _finite(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"{attribute.name} must be finite, got {value}")


def _unit_interval(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{attribute.name} must lie in [0, 1], got {value}")


def _decay(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and not 0.0 <= value < 1.0:
        raise ConfigError(f"{attribute.name} must lie in [0, 1), or be unset for no average, got {value}")


def _device_name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    kind, _, index = value.partition(":")
    if value != "auto" and (kind not in ("cpu", "cuda", "mps") or (index and not index.isdigit())):
        raise ConfigError(f"{attribute.name} must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {value!r}")


def _one_of(*choices: str) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: str) -> None:
        if value not in choices:
            raise ConfigError(f"{attribute.name} must be one of {', '.join(map(repr, choices))}, got {value!r}")

    return check


CHECKPOINTING_RESOLUTION = 128
"""Backend resolution from which `run.gradient_checkpointing` is on by default.

Rendering a frame through a config-f StyleGAN2 with gradients keeps 127 MiB of activations at
64 px, 216 MiB at 128 px, 499 MiB at 256 px and 2.05 GiB at 1024 px (fp32, measured on a CPU
with `benchmarks/render_memory.py`). At 128 px a batch of 4 x 16 frames keeps 13.5 GiB, more
than most GPUs have left beside the discriminators, and the authors' 16 x 16 keeps 54 GiB; at
64 px 4 x 16 frames keep 8 GiB, which fits, and recomputing would only cost time."""

PRECISIONS = ("fp32", "bf16", "fp16")
"""The values of `run.precision`."""


def _betas(instance: Any, attribute: attrs.Attribute, value: tuple[float, float]) -> None:
    if not all(0.0 <= beta < 1.0 for beta in value):
        raise ConfigError(f"{attribute.name} must be two numbers in [0, 1), got {list(value)}")


@attrs.frozen(kw_only=True)
class MotionOptions:
    """`[motion]`: the motion generator, its PCA basis and its own losses.

    Attributes:
        basis: A fitted basis file; None fits one on `basis_samples` codes at the start.
        basis_samples: Codes drawn to fit the basis when `basis` is None.
        n_components: PCA directions K the motion moves along (capped at the basis size).
        hidden_dim: LSTM hidden size.
        noise_dim: Width of the per-step noise `eps_t` the decoder LSTM reads; None: the latent
            width, as the paper (a narrower noise moves the steps less from frame to frame).
        step_scale: lambda, the residual step scale.
        init_std: Standard deviation of the initial step weights A.
        forget_bias: Initial forget-gate bias of the LSTMs.
        mi_weight: Weight of the mutual-information loss L_m.
        smoothness_weight: Weight of the smoothness prior on the steps (not in the paper, which
            has 0): for videos whose motion keeps its velocity.
        residual: Eq. 2's residual steps (False, the paper's ablation: every step from the
            content code).
    """

    basis: str | None = None
    basis_samples: int = attrs.field(default=1_000_000, validator=_positive)
    n_components: int = attrs.field(default=384, validator=_positive)
    hidden_dim: int = attrs.field(default=384, validator=_positive)
    noise_dim: int | None = attrs.field(default=None, validator=attrs.validators.optional(_positive))
    step_scale: float = attrs.field(default=0.2, validator=_positive)
    init_std: float = attrs.field(default=0.02, validator=_non_negative)
    forget_bias: float = attrs.field(default=0.0, validator=_finite)
    mi_weight: float = attrs.field(default=1.0, validator=_non_negative)
    smoothness_weight: float = attrs.field(default=0.0, validator=_non_negative)
    residual: bool = True


@attrs.frozen(kw_only=True)
class VideoDiscriminatorOptions:
    """`[video_discriminator]`: D_V, the multi-scale 3D PatchGAN, and its gradient penalty.

    Attributes:
        channels: Width of the first convolution.
        layers: Strided layers per scale.
        scales: Scales.
        pack: Clips scored together (PacGAN; the authors: 1); divides every process's batch.
        gp_weight: Weight of the gradient penalty.
        view: What D_V sees of a clip: `"mode"`, the training mode's view (the authors'); or
            `"differences"`, each frame minus the one before (not in the paper), so that D_V
            judges motion rather than appearance, for cross-domain videos that look unlike the
            generator's frames (see [frame_differences][latentmotion.modes.frame_differences]).
        enabled: False trains without D_V (the paper's ablation): no L_V, D_V is not updated.
    """

    channels: int = attrs.field(default=64, validator=_positive)
    layers: int = attrs.field(default=3, validator=_positive)
    scales: int = attrs.field(default=2, validator=_positive)
    pack: int = attrs.field(default=1, validator=_positive)
    gp_weight: float = attrs.field(default=10.0, validator=_non_negative)
    view: str = attrs.field(default="mode", validator=_one_of("mode", "differences"))
    enabled: bool = True


@attrs.frozen(kw_only=True)
class ImageDiscriminatorOptions:
    """`[image_discriminator]`: the in-domain D_I, a multi-scale 2D PatchGAN on frame pairs.

    Attributes:
        channels: Width of the first convolution.
        layers: Strided layers per scale.
        scales: Scales.
        enabled: False trains in-domain without D_I (the paper's ablation): no image losses.
    """

    channels: int = attrs.field(default=64, validator=_positive)
    layers: int = attrs.field(default=3, validator=_positive)
    scales: int = attrs.field(default=2, validator=_positive)
    enabled: bool = True


@attrs.frozen(kw_only=True)
class ContrastiveOptions:
    """`[contrastive]`: the cross-domain D_I, its losses and its optimiser settings.

    Attributes:
        channels: Base width of the SN ResNet.
        proj_dim: Width of the projection.
        queue_size: Entries of each queue.
        ema_momentum: Momentum of the EMA copy.
        temperature: InfoNCE temperature tau.
        weight: Weight of the InfoNCE terms.
        match_weight: w_match, weight of the generator's feature-matching loss L_f.
        betas: Adam betas of this D_I.
        eps: Adam epsilon of this D_I.
        enabled: False trains cross-domain without D_I (the paper's ablation): no hinge, L_f or
            InfoNCE.
    """

    channels: int = attrs.field(default=96, validator=_positive)
    proj_dim: int = attrs.field(default=256, validator=_positive)
    queue_size: int = attrs.field(default=4096, validator=_positive)
    ema_momentum: float = attrs.field(default=0.999, validator=_unit_interval)
    temperature: float = attrs.field(default=0.07, validator=_positive)
    weight: float = attrs.field(default=2.0, validator=_non_negative)
    match_weight: float = attrs.field(default=1.0, validator=_non_negative)
    betas: tuple[float, float] = attrs.field(default=(0.0, 0.999), validator=_betas)
    eps: float = attrs.field(default=1e-6, validator=_positive)
    enabled: bool = True


@attrs.frozen(kw_only=True)
class OptimOptions:
    """`[optim]`: the schedule and the Adam settings of the motion generator and D_V.

    Attributes:
        lr: Learning rate of the motion generator.
        d_lr: Learning rate of the discriminators (the authors: `lr`; a larger one is the two
            time-scale update rule of Heusel et al., 2017).
        betas: Adam betas of the motion generator, D_V and the in-domain D_I.
        g_steps: Generator steps per discriminator step.
        reuse_fakes: The discriminator step trains on the clips of the iteration's last generator
            step (detached) instead of rendering new ones, as many GAN trainers do. Rendering is
            most of a discriminator step's time (77% for a config-f StyleGAN2 at 64 px,
            `benchmarks/train_step.py`). The paper renders new ones (the default).
        ema_decay: Keep an exponential moving average of the motion generator's weights,
            `ema = decay * ema + (1 - decay) * weights` after every generator step, and export,
            preview and evaluate it instead of the last weights, as StyleGAN and BigGAN do with
            their generators. 0.999 averages over about the last 1,000 steps (half-life 693).
            The paper keeps no average (None, the default).
    """

    lr: float = attrs.field(default=1e-4, validator=_positive)
    d_lr: float = attrs.field(default=1e-4, validator=_positive)
    betas: tuple[float, float] = attrs.field(default=(0.5, 0.999), validator=_betas)
    g_steps: int = attrs.field(default=5, validator=_positive)
    reuse_fakes: bool = False
    ema_decay: float | None = attrs.field(default=None, validator=_decay)


@attrs.frozen(kw_only=True)
class DataOptions:
    """`[data]`: the real videos and the clips drawn from them.

    Attributes:
        path: Folder of real videos (video files or sub-folders of frames).
        n_frames: Frames per training clip T, at least 2.
        time_step: Stride between the real frames of a clip.
        resolution: Side of the frames the discriminators see (capped at the backend's).
        batch_size: Global batch of videos (split across processes).
        num_workers: Data-loading worker processes.
    """

    path: str | None = None
    n_frames: int = attrs.field(default=16, validator=_positive)
    time_step: int = attrs.field(default=2, validator=_positive)
    resolution: int = attrs.field(default=128, validator=_positive)
    batch_size: int = attrs.field(default=16, validator=_positive)
    num_workers: int = attrs.field(default=0, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.n_frames < 2:
            raise ConfigError(f"training needs clips of at least 2 frames, got n_frames={self.n_frames}")


DEFAULT_STEPS = 10_000
"""Training iterations of a run that sets neither `run.steps` nor `run.epochs` (ours, not the authors')."""


def _optional_at_least(minimum: int) -> Any:
    def validate(instance: Any, attribute: attrs.Attribute, value: int | None) -> None:
        if value is not None and value < minimum:
            raise ConfigError(f"{attribute.name} must be an integer >= {minimum} (or unset), got {value}")

    return validate


@attrs.frozen(kw_only=True)
class RunOptions:
    """`[run]`: length, seed, logging, where to run and how to compute.

    The length is `steps` or `epochs`, never both; neither trains for
    [DEFAULT_STEPS][latentmotion.config.DEFAULT_STEPS] iterations (see
    [iterations][latentmotion.config.RunOptions.iterations]).

    Attributes:
        steps: Training iterations; each is `optim.g_steps` generator steps and one
            discriminator step. None: `epochs`, else `DEFAULT_STEPS`.
        epochs: Passes over the video list, as the authors' scripts count training: an epoch is
            `ceil(n_videos / data.batch_size)` iterations. None: `steps`.
        seed: Seed of every random draw, >= 0.
        checkpoint_every: Iterations between checkpoints.
        log_every: Iterations between log lines.
        preview_every: Iterations between preview grids (0 = none).
        tensorboard: Also write the log's records and the previews as TensorBoard events in
            `RUN/tensorboard/` (needs the `tensorboard` package: `latentmotion[tensorboard]`).
        device: `"auto"`, `"cpu"`, `"cuda"` (each process its own GPU under `torchrun`),
            `"cuda:1"` or `"mps"`; see [resolve_device][latentmotion.devices.resolve_device].
        precision: `"fp32"`, `"bf16"` or `"fp16"`: the dtype the backend's rendering, the
            discriminators and their losses compute in, under `torch.autocast`. The motion
            generator (its LSTMs, the codes it accumulates and its own losses), D_V's gradient
            penalty, every weight and every optimiser state stay fp32; fp16 scales each
            network's loss with its own gradient scaler, which skips the steps whose gradients
            overflow. bf16 runs on CPUs and on GPUs with bfloat16 support, fp16 on GPUs only.
            It changes the numerics, so a run resumes in the precision it started in.
        compile: `torch.compile` the backend's rendering and the discriminators' forward passes
            (D_V's gradient penalty stays eager: a compiled graph has no double backward). Needs
            a C++ compiler on the CPU and Triton on CUDA; the first iterations are slow while it
            compiles. May change when a run resumes.
        gradient_checkpointing: Render the generator steps' frames one video at a time and
            recompute each video's activations in the backward pass instead of keeping every
            frame's (`torch.utils.checkpoint`): the frozen generator's activation memory of one
            video instead of the batch's, for one more forward pass. None (the default) turns it
            on when the backend renders at least
            [CHECKPOINTING_RESOLUTION][latentmotion.config.CHECKPOINTING_RESOLUTION] pixels.
            The frames are the same either way, so it may change when a run resumes.
        checkpoint_frames: Frames per rendering call with gradient checkpointing; None (the
            default) for one video's (`data.n_frames`). Fewer keep less alive at once: a config-f
            StyleGAN2 frame at 1024 px holds about 2 GiB of activations in fp32, so 16 frames
            alone fill 33 GiB (docs/tutorials/train.md, Memory). The frames are the same, so it
            may change when a run resumes.
    """

    steps: int | None = attrs.field(default=None, validator=_optional_at_least(0))
    epochs: int | None = attrs.field(default=None, validator=_optional_at_least(1))
    seed: int = attrs.field(default=0, validator=_non_negative)
    checkpoint_every: int = attrs.field(default=1000, validator=_positive)
    log_every: int = attrs.field(default=10, validator=_positive)
    preview_every: int = attrs.field(default=500, validator=_non_negative)
    tensorboard: bool = False
    device: str = attrs.field(default="auto", validator=_device_name)
    precision: str = attrs.field(default="fp32", validator=_one_of(*PRECISIONS))
    compile: bool = False
    gradient_checkpointing: bool | None = None
    checkpoint_frames: int | None = attrs.field(default=None, validator=_optional_at_least(1))

    def __attrs_post_init__(self) -> None:
        if self.steps is not None and self.epochs is not None:
            raise ConfigError(
                f"steps ({self.steps}) and run.epochs ({self.epochs}) are both set; a run's length is one of them: "
                "leave the other out (or unset it: --set run.epochs=null, --set run.steps=null)"
            )

    def iterations(self, n_videos: int, batch_size: int) -> int:
        """The run's length in iterations, for a dataset of `n_videos` videos.

        Args:
            n_videos: Videos in the dataset (the video list an epoch passes over).
            batch_size: The global batch, `data.batch_size`.

        Returns:
            `steps`; or `epochs * ceil(n_videos / batch_size)`; or `DEFAULT_STEPS`.
        """
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            return self.epochs * -(-n_videos // batch_size)
        return DEFAULT_STEPS


def _metric_names(instance: Any, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
    from latentmotion.metrics.evaluate import METRICS

    unknown = [name for name in value if name not in METRICS]
    if unknown or not value:
        raise ConfigError(f"{attribute.name} must name at least one of {', '.join(METRICS)}; got {list(value)}")


@attrs.frozen(kw_only=True)
class EvaluationOptions:
    """`[evaluation]`: figures of [latentmotion.metrics][] measured during training, into the run's log.

    With `every` set, the trainer evaluates its current pipeline before the first iteration (the
    untrained generator), every `every` iterations and at the end, and writes one log line
    `{"step": s, "eval/<metric>": value, ...}` each time; `latentmotion plot` draws them beside
    the losses. Every evaluation uses the same real clips and seeds, so the curve compares like
    with like; the real features are computed once (kept in the run folder's `metrics-cache/`).

    Attributes:
        every: Iterations between evaluations; 0 = none.
        metrics: Figures to measure, names of `latentmotion evaluate --metric` (`fvd16`, `fid`,
            `acd`, ...).
        data: Folder of real videos (default: `data.path`); real frames are resized to the
            backend's resolution.
        detector: I3D weights for FVD: a file, folder or Hub repo id (see `latentmotion evaluate`).
        inception: FID Inception weights: a file, folder or Hub repo id.
        lpips: VGG16 + LPIPS weights for the `prediction` metric's `prediction-lpips`: a file,
            folder or Hub repo id (see `latentmotion evaluate --lpips`).
        n_videos: Real and generated videos of each evaluation (the StyleGAN-V protocol's 2,048 is
            hours on a CPU; the number is recorded with every figure's protocol).
        seed: Seed of the real clips and of the generated videos.
    """

    every: int = attrs.field(default=0, validator=_non_negative)
    metrics: tuple[str, ...] = attrs.field(default=("fvd16",), converter=tuple, validator=_metric_names)
    data: str | None = None
    detector: str | None = None
    inception: str | None = None
    lpips: str | None = None
    n_videos: int = attrs.field(default=256, validator=attrs.validators.ge(2))
    seed: int = attrs.field(default=0, validator=_non_negative)


def _mode_name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    from latentmotion.modes import MODES

    if value not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(map(repr, MODES))}, got {value!r}")


@attrs.frozen(kw_only=True)
class TrainConfig:
    """Everything a training run needs; defaults follow the authors' released code, but for the run's length.

    Attributes:
        backend: Registered backend name.
        backend_options: Keyword arguments of the backend's factory (checkpoint, Hub repo, ...).
        mode: `"in-domain"` or `"cross-domain"` (the videos come from another domain than the
            images); see [latentmotion.modes][].
        motion: `[motion]`, the motion generator.
        video_discriminator: `[video_discriminator]`, D_V.
        image_discriminator: `[image_discriminator]`, the in-domain D_I.
        contrastive: `[contrastive]`, the cross-domain D_I.
        optim: `[optim]`, the optimisers and the schedule.
        data: `[data]`, the videos and clips.
        run: `[run]`, length, seed, logging, device.
        evaluation: `[evaluation]`, figures measured during training.
    """

    backend: str = "tiny"
    backend_options: dict[str, Any] = attrs.field(factory=dict)
    mode: str = attrs.field(default="in-domain", validator=_mode_name)
    motion: MotionOptions = attrs.field(factory=MotionOptions)
    video_discriminator: VideoDiscriminatorOptions = attrs.field(factory=VideoDiscriminatorOptions)
    image_discriminator: ImageDiscriminatorOptions = attrs.field(factory=ImageDiscriminatorOptions)
    contrastive: ContrastiveOptions = attrs.field(factory=ContrastiveOptions)
    optim: OptimOptions = attrs.field(factory=OptimOptions)
    data: DataOptions = attrs.field(factory=DataOptions)
    run: RunOptions = attrs.field(factory=RunOptions)
    evaluation: EvaluationOptions = attrs.field(factory=EvaluationOptions)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-able values, one table per section.

        Returns:
            The nested dict.
        """
        return json.loads(json.dumps(_converter.unstructure(self)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build a configuration from plain values (nested, or the flat form of 0.1), naming any unknown key or wrong value.

        Args:
            values: Top-level keys and one mapping per section, e.g. parsed from TOML.

        Returns:
            The configuration.
        """
        if not isinstance(values, Mapping):
            raise ConfigError(f"a training configuration must be a table of options, got {type(values).__name__}")
        if is_flat_config(values):
            values = upgrade_flat_config(values)
        try:
            return _converter.structure(dict(values), cls)
        except cattrs.BaseValidationError as error:
            raise ConfigError("; ".join(map(_locate, cattrs.transform_error(error, path="", format_exception=describe)))) from None

    @classmethod
    def from_preset(cls, name: str) -> TrainConfig:
        """The configuration of one of the authors' training scripts (see [latentmotion.presets][]).

        Args:
            name: The preset's name, e.g. `"ucf101"`; `latentmotion presets` lists them.

        Returns:
            The preset's configuration; set `data.path` and `backend_options.source` with
            [with_changes][latentmotion.config.TrainConfig.with_changes].

        Raises:
            ConfigError: No preset has that name.
        """
        from latentmotion.presets import get_preset

        return get_preset(name).config()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a configuration from a `.toml` or `.json` file.

        Args:
            path: The file.

        Returns:
            The configuration.
        """
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        if path.suffix not in (".toml", ".json"):
            raise ConfigError(f"config file {path} must end in .json or .toml")
        try:
            values = tomllib.loads(path.read_text()) if path.suffix == ".toml" else json.loads(path.read_text())
        except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"config file {path} cannot be parsed: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path} must hold a table of options")
        try:
            return cls.from_dict(values)
        except ConfigError as error:
            raise ConfigError(f"config file {path}: {error}") from None

    def with_changes(self, changes: Mapping[str, Any]) -> TrainConfig:
        """A copy with options changed by dotted name, validated like a file.

        Setting `run.steps` unsets `run.epochs` and the other way round, unless both are changed
        (a preset that trains for epochs, `--set run.steps=10`, trains for 10 iterations).

        Args:
            changes: Dotted names to values, e.g. `{"optim.lr": 2e-4, "mode": "cross-domain",
                "backend_options.variant": "glow"}`.

        Returns:
            The new configuration.
        """
        values = self.to_dict()
        for name, value in changes.items():
            *tables, key = name.split(".")
            table = values
            for part in tables:
                if not isinstance(table.get(part), dict):
                    raise ConfigError(f"unknown training option {name!r}: {part!r} is not a section; sections: {', '.join(_sections())}")
                table = table[part]
            table[key] = value
        for given, other in (("run.steps", "run.epochs"), ("run.epochs", "run.steps")):
            if changes.get(given) is not None and other not in changes:  # a new length replaces the old one
                values["run"][other.split(".")[1]] = None
        return TrainConfig.from_dict(values)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted names to values of a nested configuration dict (`{"optim": {"lr": 1}}` -> `{"optim.lr": 1}`).

    Args:
        values: A nested dict, e.g. from [TrainConfig.to_dict][latentmotion.config.TrainConfig.to_dict].
        prefix: Prepended to every name.

    Returns:
        The flat dict.
    """
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and key != "backend_options":
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# The flat options of latentmotion 0.1 and where each lives now.
_FLAT_NAMES: dict[str, tuple[str, ...]] = {
    "data": ("data.path",),
    "basis": ("motion.basis",),
    "basis_samples": ("motion.basis_samples",),
    "n_components": ("motion.n_components",),
    "hidden_dim": ("motion.hidden_dim",),
    "step_scale": ("motion.step_scale",),
    "motion_init_std": ("motion.init_std",),
    "forget_bias": ("motion.forget_bias",),
    "mi_weight": ("motion.mi_weight",),
    "smoothness_weight": ("motion.smoothness_weight",),
    "d_channels": ("video_discriminator.channels", "image_discriminator.channels"),
    "d_layers": ("video_discriminator.layers", "image_discriminator.layers"),
    "d_scales": ("video_discriminator.scales", "image_discriminator.scales"),
    "video_pack": ("video_discriminator.pack",),
    "gp_weight": ("video_discriminator.gp_weight",),
    "contrastive_channels": ("contrastive.channels",),
    "proj_dim": ("contrastive.proj_dim",),
    "queue_size": ("contrastive.queue_size",),
    "ema_momentum": ("contrastive.ema_momentum",),
    "temperature": ("contrastive.temperature",),
    "contrastive_weight": ("contrastive.weight",),
    "match_weight": ("contrastive.match_weight",),
    "contrastive_betas": ("contrastive.betas",),
    "contrastive_eps": ("contrastive.eps",),
    "lr": ("optim.lr",),
    "d_lr": ("optim.d_lr",),
    "betas": ("optim.betas",),
    "g_steps": ("optim.g_steps",),
    "n_frames": ("data.n_frames",),
    "time_step": ("data.time_step",),
    "d_resolution": ("data.resolution",),
    "batch_size": ("data.batch_size",),
    "num_workers": ("data.num_workers",),
    "steps": ("run.steps",),
    "seed": ("run.seed",),
    "checkpoint_every": ("run.checkpoint_every",),
    "log_every": ("run.log_every",),
    "preview_every": ("run.preview_every",),
    "device": ("run.device",),
}


def is_flat_config(values: Mapping[str, Any]) -> bool:
    """Whether `values` is a flat configuration of latentmotion 0.1 (no sections).

    Args:
        values: Parsed configuration values.

    Returns:
        True for the flat form.
    """
    return any(key in _FLAT_NAMES and not (key == "data" and isinstance(value, Mapping)) for key, value in values.items())


def upgrade_flat_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a flat configuration of latentmotion 0.1 (`lr`, `d_channels`, ...) to sections.

    Args:
        values: The flat options; `backend`, `backend_options` and `mode` are kept as they are.

    Returns:
        The nested values, for [TrainConfig.from_dict][latentmotion.config.TrainConfig.from_dict].
    """
    nested: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("backend", "backend_options", "mode"):
            nested[key] = value
            continue
        if key not in _FLAT_NAMES:
            raise ConfigError(f"unknown training option {key!r} in a flat (0.1) configuration; known: {', '.join(_FLAT_NAMES)}")
        for name in _FLAT_NAMES[key]:
            section, field = name.split(".")
            nested.setdefault(section, {})[field] = value
    return nested


def _sections() -> list[str]:
    """The names of the configuration's sections."""
    return [field.name for field in attrs.fields(TrainConfig) if isinstance(field.default, attrs.Factory) and attrs.has(field.default.factory)]


def _locate(message: str) -> str:
    """Put the dotted name of the option first: `"lr must be > 0 @ .optim"` -> `"optim.lr must be > 0"`."""
    text, _, path = message.rpartition(" @ ")
    path = path.lstrip(".")
    if not path:
        return text
    first = text.split(" ", 1)[0]
    return f"{path}.{text}" if first.isidentifier() and first in _section_options(path) else f"{path}: {text}"


def _section_options(section: str) -> set[str]:
    """The option names of a section (empty for anything else)."""
    for field in attrs.fields(TrainConfig):
        if field.name == section and isinstance(field.default, attrs.Factory) and attrs.has(field.default.factory):
            return {option.name for option in attrs.fields(field.default.factory)}
    return set()


def _pair_of_numbers(value: Any, _: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise TypeError(f"expected two numbers, got {value!r}")
    return float(value[0]), float(value[1])


_converter = strict_converter()
_converter.register_structure_hook_func(lambda type_: type_ == tuple[float, float], _pair_of_numbers)
