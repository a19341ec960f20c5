"""The `latentmotion` command line: generate, fit-basis, train, presets, backends, pipelines, info, push, plot, animate, evaluate, convert.

Every command imports torch and the other heavy modules inside its body, so that
`latentmotion --help` and `latentmotion backends` start in a fraction of a second. Progress bars
go to stderr; results go to stdout, as JSON with `--json`. A mistake the user can fix (any
[LatentMotionError][latentmotion.errors.LatentMotionError], a missing file, an unwritable folder)
ends the command with one line on stderr, `error: ...`, and exit code 2, never a traceback.
Plugins add sub-commands through the [register_commands][latentmotion.hookspecs.register_commands]
hook.

The suffix of `--output` picks the format of `generate` and `animate`: `.mp4` (H.264), `.gif`,
or `.png` (a grid: one row per video, one column per frame). Several videos go to one `.png`
grid, or to one numbered `.mp4`/`.gif` file each: `--output clip.mp4 -n 3` writes `clip-0.mp4`,
`clip-1.mp4` and `clip-2.mp4`. `.mp4` and `.gif` files are written as the frames are rendered,
`STREAM_CHUNK_FRAMES` (64) per video at a time, so a video's
length alone never exhausts memory; a `.png` grid holds every frame at once.
"""

import enum
import glob
import json
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from latentmotion import __version__
from latentmotion.errors import (
    CheckpointError,
    ConfigError,
    LatentMotionError,
    UnknownPipelineError,
    one_line,
)
from latentmotion.progress import progress_bar

if TYPE_CHECKING:
    import torch

    from latentmotion.pipeline import LatentMotionPipeline


BASIS_SUFFIXES = (".safetensors",)
DEFAULT_PIPELINE = "toy"
"""The pipeline `generate` and `animate` load without `--pipeline`."""
DEFAULT_PIPELINE_DISTRIBUTION = "latentmotion-toyworld"
"""The plugin distribution that registers `DEFAULT_PIPELINE`."""
STREAM_CHUNK_FRAMES = 64
"""Frames per video that `generate` and `animate` render at a time into an `.mp4` or `.gif` file."""
MIN_FRAME_BYTES = 16
"""Fewest bytes a frame takes in an `.mp4` or `.gif` file (its index entry and headers); a request whose
files cannot fit on the disk at this size is refused before anything is rendered."""
ENCODER_BYTES_PER_PIXEL = 128
"""Host memory an open `.mp4` writer takes per pixel of a frame (x264 keeps about 75: its lookahead and reference frames)."""
PLOT_SIZE = (960, 540)  # width, height of `plot`'s PNG in pixels
PLOT_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]  # fmt: skip
"""Line colours of `plot`, in order: the ten colours of matplotlib's `tab10` cycle."""


USAGE_ERROR = typer.BadParameter.__base__
"""click's `UsageError`, of whichever click typer runs on (recent typers bundle their own)."""


class Device(str, enum.Enum):
    """Where a command computes: `auto` is CUDA when torch sees a GPU, else Apple's MPS when available, else the CPU."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Noise(str, enum.Enum):
    """The generator's noise inputs (see [NOISE_MODES][latentmotion.pipeline.NOISE_MODES]): one draw per video, the backend's constant maps, or none."""

    video = "video"
    constant = "constant"
    zero = "zero"


class UserErrorGroup(TyperGroup):
    """The root command group: a user error, or an option a sub-command refuses, becomes one line on stderr and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        """Run the sub-command, reporting user errors without a traceback.

        Args:
            ctx: The click context of the root command.

        Returns:
            What the sub-command returns.
        """
        try:
            return super().invoke(ctx)
        except USAGE_ERROR as error:  # a sub-command's option typer refused, e.g. `-n 0`
            command = (error.ctx or ctx).command_path
            typer.echo(f"error: {one_line(error.format_message())} (see `{command} --help`)", err=True)
            raise typer.Exit(2) from None
        except (LatentMotionError, OSError) as error:
            typer.echo(f"error: {one_line(error)}", err=True)
            raise typer.Exit(2) from None


# ----------------------------------------------------------------------------------------------
# Options shared by several commands.

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
PipelineOption = Annotated[
    str,
    typer.Option(
        "--pipeline",
        "-p",
        help=f"Pipeline folder, Hub repo id 'org/name', or a name `latentmotion pipelines` lists; the default is from the "
        f"{DEFAULT_PIPELINE_DISTRIBUTION} plugin.",
    ),
]
RevisionOption = Annotated[str | None, typer.Option(help="Hub branch, tag or commit of the pipeline.")]
DeviceOption = Annotated[Device, typer.Option(help="Where to compute.")]
BackendOptions = Annotated[
    list[str] | None,
    typer.Option("--backend-option", help="Backend factory option KEY=VALUE (repeatable); VALUE is read as JSON, else as text."),
]
FramesOption = Annotated[int | None, typer.Option("--frames", "-t", min=1, help="Frames per video before interpolation (default: the pipeline's).")]
InterpolationOption = Annotated[int, typer.Option(min=0, help="Codes inserted between consecutive frames (smoother, longer videos).")]
FpsOption = Annotated[int | None, typer.Option(min=1, help="Frame rate of mp4/gif files (default: the pipeline's).")]


def _version(value: bool) -> None:
    """Print the version and stop, when `--version` is given."""
    if value:
        typer.echo(__version__)
        raise typer.Exit()


def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Turn any pretrained image GAN into a video generator (MoCoGAN-HD: motion as a trajectory in latent space)."""


# ----------------------------------------------------------------------------------------------
# Commands.


def generate(
    pipeline: PipelineOption = DEFAULT_PIPELINE,
    output: Annotated[Path, typer.Option("--output", "-o", help="Target .mp4, .gif or .png (grid) file.")] = Path("video.mp4"),
    n_videos: Annotated[int, typer.Option("--n-videos", "-n", min=1, help="Number of videos.")] = 1,
    frames: FramesOption = None,
    seed: Annotated[int, typer.Option(help="Seed of content and motion.")] = 0,
    content_seed: Annotated[int | None, typer.Option(help="Seed of the content alone, the first frames (default: --seed).")] = None,
    motion_seed: Annotated[int | None, typer.Option(help="Seed of the motion alone (default: --seed).")] = None,
    interpolation: InterpolationOption = 0,
    truncation: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="psi: pull content codes toward the mean of the latent space (1 = none).")
    ] = 1.0,
    noise: Annotated[
        Noise,
        typer.Option(
            help="Generator noise: one draw per video shared by its frames (video), the backend's stored constant maps "
            "(constant), or none (zero, as MoCoGAN-HD's evaluate.py renders its videos without _noise)."
        ),
    ] = Noise.video,
    fps: FpsOption = None,
    revision: RevisionOption = None,
    device: DeviceOption = Device.auto,
    json_output: JsonOption = False,
) -> None:
    """Generate videos from a pipeline: a local folder, a Hub repo or a registered name.

    Keep --content-seed and change --motion-seed for the same first frames with new motion;
    keep --motion-seed and change --content-seed for the same motion on new content.
    """
    from latentmotion.streams import check_seed

    for name, value in (("--seed", seed), ("--content-seed", content_seed), ("--motion-seed", motion_seed)):
        if value is not None:
            check_seed(value, name=name)
    _check_video_output(output, n_videos)
    loaded = _load_pipeline(pipeline, revision=revision, device=device)
    fps = fps or loaded.fps
    options = {"seed": seed, "content_seed": content_seed, "motion_seed": motion_seed, "interpolation": interpolation, "truncation": truncation}
    files, length = _generate_videos(loaded, output, n_videos=n_videos, n_frames=frames, fps=fps, noise=noise.value, **options)
    result = {
        "files": [str(path) for path in files],
        "n_videos": n_videos,
        "n_frames": length,
        "resolution": loaded.backend.resolution,
        "fps": fps,
        "content_seed": seed if content_seed is None else content_seed,
        "motion_seed": seed if motion_seed is None else motion_seed,
    }
    _report(result, json_output, [f"wrote {path}" for path in files])


def fit_basis(
    backend: Annotated[str, typer.Argument(help="Registered backend name (see `latentmotion backends`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Target .safetensors file.")] = Path("basis.safetensors"),
    backend_option: BackendOptions = None,
    samples: Annotated[int, typer.Option(min=2, help="Codes drawn from the backend (MoCoGAN-HD: 1,000,000).")] = 1_000_000,
    batch_size: Annotated[int, typer.Option(min=1, help="Codes drawn at a time.")] = 4096,
    components: Annotated[int | None, typer.Option(min=1, help="Components kept (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the drawn codes.")] = 0,
    device: DeviceOption = Device.auto,
    json_output: JsonOption = False,
) -> None:
    """Fit and save the PCA basis of a backend's latent space (the directions motion steps along)."""
    from latentmotion.basis import PCABasis
    from latentmotion.plugins import get_backend
    from latentmotion.streams import check_seed

    check_seed(seed, name="--seed")
    _check_output(output, BASIS_SUFFIXES)
    with progress_bar(f"loading backend {backend}", transient=True):
        built = get_backend(backend, **_parse_options(backend_option)).to(_device(device))
    basis = PCABasis.fit(built, n_samples=samples, batch_size=batch_size, n_components=components, seed=seed, progress=True)
    basis.save(output)
    result = {
        "output": str(output),
        "backend": backend,
        "n_samples": basis.n_samples,
        "n_components": basis.n_components,
        "latent_dim": basis.latent_dim,
        "condition_dim": basis.condition_dim,
    }
    _report(result, json_output, [f"wrote {output}: {basis.n_components} components fitted on {basis.n_samples} codes"])


def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoint.pt, log.jsonl, previews/, pipeline/.")],
    config: Annotated[
        Path | None, typer.Argument(help="TOML or JSON file of training options (see TrainConfig); --set overrides it.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="Change one option, SECTION.KEY=VALUE (repeatable): data.path=videos/, run.steps=500, optim.lr=2e-4, "
            "mode=cross-domain, backend_options.source=ffhq.pkl. VALUE is read as JSON, else as text.",
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Start from one of the authors' training scripts instead of a CONFIG file (see `latentmotion presets`); --set overrides it."),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from its checkpoint.")] = False,
    num_workers: Annotated[
        int | None, typer.Option("--num-workers", min=0, help="Processes decoding clips, data.num_workers (0: in the training process).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Train a motion generator; writes checkpoints, a JSONL log, preview grids and the final pipeline.

    With --resume and neither CONFIG nor --preset, the run's own train_config.json is used.
    """
    from latentmotion.config import TrainConfig
    from latentmotion.run_folder import CHECKPOINT_NAME, LOG_NAME
    from latentmotion.train import PIPELINE_DIR, TRAIN_CONFIG_NAME, Trainer

    if preset is not None and config is not None:
        raise ConfigError(f"give a CONFIG file or --preset, not both ({config} and {preset!r}); change a preset's options with --set")
    if config is None and preset is None and resume and (out / TRAIN_CONFIG_NAME).is_file():
        config = out / TRAIN_CONFIG_NAME
    if preset is not None:
        settings = TrainConfig.from_preset(preset)
    else:
        settings = TrainConfig.from_file(config) if config is not None else TrainConfig()
    changes = dict(_parse_setting(item) for item in set_ or [])
    if num_workers is not None:
        if changes.get("data.num_workers", num_workers) != num_workers:
            raise ConfigError(f"--num-workers {num_workers} and --set data.num_workers={changes['data.num_workers']} disagree; give one")
        changes["data.num_workers"] = num_workers
    settings = settings.with_changes(changes)
    trainer = Trainer(settings, out, resume=resume, progress=True)
    trainer.train()
    log = out / LOG_NAME
    records = log.read_text().splitlines() if log.is_file() else []
    result = {
        "out": str(out),
        "steps": trainer.step,
        "pipeline": str(out / PIPELINE_DIR),
        "checkpoint": str(out / CHECKPOINT_NAME),
        "log": str(log),
        "last": json.loads(records[-1]) if records else None,
    }
    _report(result, json_output, [f"trained {trainer.step} steps; pipeline in {out / PIPELINE_DIR}"])


def list_presets(json_output: JsonOption = False) -> None:
    """List the authors' training recipes that `train --preset` takes: data, image generator, batch, epochs."""
    from latentmotion.presets import PRESETS

    if json_output:
        typer.echo(json.dumps([{**preset.to_dict(), "config": preset.config().to_dict()} for preset in PRESETS.values()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Presets: the authors' training scripts (latentmotion train --preset NAME)", title_justify="left")
    for column in ("name", "images / videos", "mode", "generator", "batch", "epochs", "w_match", "reported"):
        table.add_column(column, overflow="fold")
    for preset in PRESETS.values():
        reported = "; ".join(f"{result.metric} {result.value:g}{'' if result.verified else ' (?)'}" for result in preset.reported)
        table.add_row(
            preset.name,
            preset.title,
            preset.mode,
            f"{preset.resolution} px",
            str(preset.batch_size),
            str(preset.epochs),
            "1" if preset.match_weight is None else f"{preset.match_weight:g}",
            reported or "-",
        )
    Console(width=max(Console().width, 120)).print(table)


def list_backends(json_output: JsonOption = False) -> None:
    """List every registered backend with the plugin distribution and version that provides it."""
    from latentmotion.plugins import backends

    _list_registered(backends().values(), json_output)


def list_pipelines(json_output: JsonOption = False) -> None:
    """List every pipeline name that plugins register, with the plugin distribution and version that provides it."""
    from latentmotion.plugins import pipelines

    _list_registered(pipelines().values(), json_output)


def info(
    pipeline: Annotated[str, typer.Argument(help="Pipeline folder, registered pipeline name or Hub repo id 'org/name'.")],
    revision: RevisionOption = None,
    json_output: JsonOption = False,
) -> None:
    """Describe a pipeline folder or Hub repo: backend, resolution, frames, versions, files."""
    from latentmotion.pipeline import (
        BASIS_NAME,
        MOTION_NAME,
        read_config,
        resolve_pipeline_folder,
    )
    from latentmotion.plugins import backends, check_options

    folder = resolve_pipeline_folder(pipeline, revision=revision)
    parsed = read_config(folder)
    registered = backends().get(parsed.backend.name)
    if registered is not None:  # an uninstalled backend's pipeline is still described
        check_options(parsed.backend.name, registered.factory, parsed.backend.options)
    config = parsed.to_dict()
    missing = [name for name in (MOTION_NAME, BASIS_NAME) if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"pipeline {str(folder)!r} is incomplete: it has no {' or '.join(missing)}; copy or download it again")
    files = {path.relative_to(folder).as_posix(): path.stat().st_size for path in sorted(folder.rglob("*")) if path.is_file()}
    result = {
        "pipeline": pipeline,
        "folder": str(folder),
        "commit": folder.name if folder.parent.name == "snapshots" else None,
        "backend": config["backend"],
        "latent_space": config["latent_space"],
        "resolution": config["resolution"],
        "n_frames": config["n_frames"],
        "fps": config["fps"],
        "motion": config["motion"],
        "versions": config["versions"],
        "files": files,
    }
    space = config["latent_space"] or {}
    lines = [
        f"pipeline     {pipeline}" + (f" (commit {result['commit']})" if result["commit"] else ""),
        f"folder       {folder}",
        f"backend      {config['backend']['name']} {json.dumps(config['backend']['options'])}",
        f"latent space {space.get('name')} ({space.get('dim')}-d)",
        f"resolution   {result['resolution']}",
        f"frames       {result['n_frames']} at {result['fps']} fps",
        f"motion       {', '.join(f'{key} {value}' for key, value in config['motion'].items())}",
        f"versions     {', '.join(f'{key} {value}' for key, value in result['versions'].items())}",
        *(f"file         {name} ({size:,} bytes)" for name, size in files.items()),
    ]
    _report(result, json_output, lines)


def push(
    pipeline: Annotated[Path, typer.Argument(help="A pipeline folder, e.g. a training run's pipeline/.")],
    repo_id: Annotated[str, typer.Argument(help="Target Hub repo id 'org/name' (created if needed).")],
    private: Annotated[bool, typer.Option(help="Create the repo private.")] = False,
    token: Annotated[str | None, typer.Option(help="Hub token (default: `hf auth login`'s, or HF_TOKEN).")] = None,
    message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
    card: Annotated[Path | None, typer.Option(help="Your own model card (Markdown), uploaded as it is instead of the generated one.")] = None,
    sample: Annotated[bool, typer.Option(help="Render and upload a sample video, sample.gif (--no-sample for a slow backend).")] = True,
    json_output: JsonOption = False,
) -> None:
    """Upload a trained pipeline to the Hub with a freshly generated model card.

    The card holds the Hub's metadata (licence, base model, tags, datasets, the last evaluation's
    metrics, the training configuration) as the folder's README.md records them, a sample video and
    how to load the pipeline.
    """
    if not pipeline.is_dir():
        raise ConfigError(f"{str(pipeline)!r} is not a pipeline folder; push a folder written by training or save_pretrained")
    card_text = None
    if card is not None:
        if not card.is_file():
            raise ConfigError(f"model card {str(card)!r} is not a file")
        try:
            card_text = card.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"model card {str(card)!r} is not UTF-8 text: {error}") from None
    loaded = _load_pipeline(str(pipeline), revision=None, device=Device.cpu)
    with progress_bar(f"uploading to {repo_id}", transient=True):
        url = loaded.push_to_hub(repo_id, private=private or None, token=token, commit_message=message, card_text=card_text, sample=sample)
    _report({"repo_id": repo_id, "commit_url": url}, json_output, [f"pushed to {url}"])


def plot(
    run: Annotated[Path, typer.Argument(help="A training run folder, or its log.jsonl.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Target .png file.")] = Path("losses.png"),
    key: Annotated[list[str] | None, typer.Option("--key", "-k", help="Curve to draw, repeatable (default: every loss in the log).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Draw the loss curves of a training run as a PNG."""
    log = run / "log.jsonl" if run.is_dir() else run
    _check_output(output, (".png",))
    series = _read_log(log, key)
    _draw_curves(series, output, title=f"training losses: {log.resolve().parent.name}")
    result = {"output": str(output), "curves": {name: len(points) for name, points in series.items()}}
    _report(result, json_output, [f"wrote {output} ({', '.join(series)})"])


def animate(
    image: Annotated[Path, typer.Argument(help="Photo to animate; center-cropped and resized to the backend's resolution.")],
    pipeline: PipelineOption = DEFAULT_PIPELINE,
    output: Annotated[Path, typer.Option("--output", "-o", help="Target .mp4, .gif or .png (frame strip) file.")] = Path("animation.mp4"),
    frames: FramesOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the motion and of the inversion's start.")] = 0,
    interpolation: InterpolationOption = 0,
    steps: Annotated[int, typer.Option(min=1, help="Optimisation steps of the inversion.")] = 300,
    fps: FpsOption = None,
    revision: RevisionOption = None,
    device: DeviceOption = Device.auto,
    json_output: JsonOption = False,
) -> None:
    """Animate a photo: invert it into the backend's latent space, then generate motion from that content.

    The video renders with what the projector fitted: the content code and, for a backend whose
    projector fits noise inputs too (StyleGAN2), those noise maps. Reports the PSNR of the
    inversion (the first frame against the photo) with the fitted noise and with the backend's
    constant noise.
    """
    import torch

    from latentmotion.inversion import psnr
    from latentmotion.streams import check_seed
    from latentmotion.video import read_image

    check_seed(seed, name="--seed")
    _check_video_output(output, 1)
    loaded = _load_pipeline(pipeline, revision=revision, device=device)
    target = read_image(image, loaded.backend.resolution).to(loaded.device)  # [1, 3, R, R]
    with progress_bar(f"inverting {image.name} ({steps} steps)", transient=True):
        projection = loaded.backend.invert(target, steps=steps, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        fitted = psnr(loaded.backend.synthesize(projection.codes, noise=projection.noise or None), target).item()
        constant = psnr(loaded.backend.synthesize(projection.codes), target).item()
    fps = fps or loaded.fps
    files, length = _generate_videos(
        loaded, output, n_videos=1, n_frames=frames, fps=fps, content=projection.codes, seed=seed, interpolation=interpolation, noise=projection.noise
    )
    result = {"files": [str(path) for path in files], "psnr": fitted, "psnr_constant_noise": constant, "n_frames": length, "fps": fps}
    lines = [f"inversion PSNR {fitted:.2f} dB" + (f" with the fitted noise ({constant:.2f} dB with the constant noise)" if projection.noise else "")]
    _report(result, json_output, [*lines, *(f"wrote {path}" for path in files)])


def convert_mocogan_hd(
    motion: Annotated[Path, typer.Option(help="The authors' motion generator, modelR_epoch_*.pth (a state dict).")],
    pca_comp: Annotated[Path, typer.Option(help="The PCA components of the generator's W space, pca_comp.npy.")],
    pca_stdev: Annotated[Path, typer.Option(help="Their standard deviations, pca_stdev.npy.")],
    generator: Annotated[Path, typer.Option(help="The rosinality StyleGAN2 .pt the motion was trained on.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Pipeline folder to write (created, or updated in place).")],
    pca_mean: Annotated[Path | None, typer.Option(help="style_mean.npy, used only for --truncation (default: estimated from the generator).")] = None,
    n_frames: Annotated[int, typer.Option(min=1, help="Default frames per video (the authors' --n_frames_G).")] = 16,
    fps: Annotated[int, typer.Option(min=1, help="Default frame rate (the authors' --fps).")] = 10,
    step_scale: Annotated[float, typer.Option(help="lambda > 0, the residual step scale (the authors' --w_residual).")] = 0.2,
    json_output: JsonOption = False,
) -> None:
    """Convert a model the MoCoGAN-HD authors released into a pipeline folder.

    Every file is read without running code (torch weights_only, numpy without pickles). Render
    with `latentmotion generate --noise zero` for the authors' noise-free videos.
    """
    from latentmotion.pipeline import LatentMotionPipeline

    if output.exists() and not output.is_dir():
        raise ConfigError(f"{str(output)!r} is a file; --output must be a folder to write the pipeline into")
    with progress_bar("importing the MoCoGAN-HD model", transient=True):
        pipeline = LatentMotionPipeline.from_mocogan_hd(
            motion=motion,
            pca_comp=pca_comp,
            pca_stdev=pca_stdev,
            generator=generator,
            pca_mean=pca_mean,
            n_frames=n_frames,
            fps=fps,
            step_scale=step_scale,
        )
        pipeline.save_pretrained(output)
    config = pipeline.config()
    result = {"output": str(output), "backend": config["backend"]["name"], "resolution": config["resolution"], "motion": config["motion"]}
    motion_config = config["motion"]
    line = (
        f"wrote {output}: {config['resolution']} px StyleGAN2, hidden size {motion_config['hidden_dim']}, "
        f"{motion_config['n_components']} PCA directions, step scale {motion_config['step_scale']}"
    )
    _report(result, json_output, [line])


class AcdPairs(str, enum.Enum):
    """Which frame pairs the ACD averages over."""

    all = "all"
    consecutive = "consecutive"


def evaluate(
    pipeline: Annotated[str, typer.Argument(help="Pipeline folder, Hub repo id 'org/name', or a name `latentmotion pipelines` lists.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Folder of real videos (video files or folders of frames).")],
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric", "-m", help="fvd16, fvd128, fvd128-subsample8, fid, acd or prediction (video from each clip's first frame); repeatable (default: fvd16)."
        ),
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option(help="I3D weights for FVD: a .safetensors (see `convert i3d`) or piergiaj rgb_imagenet.pt file, a folder, or a Hub repo id."),
    ] = None,
    inception: Annotated[
        str | None,
        typer.Option(help="FID Inception weights: a .safetensors or pytorch-fid pt_inception-2015-12-05-6726825d.pth file, a folder, or a Hub repo id."),
    ] = None,
    lpips: Annotated[
        str | None,
        typer.Option(help="VGG16 + LPIPS weights for the prediction's LPIPS: a .safetensors file (see convert_vgg16_lpips), a folder, or a Hub repo id."),
    ] = None,
    n_videos: Annotated[int, typer.Option("--n-videos", "-n", min=2, help="Real and generated videos, one clip each (StyleGAN-V: 2048).")] = 2048,
    seed: Annotated[int, typer.Option(help="Seed of the real clips' starts and of the generated videos.")] = 0,
    resize_real: Annotated[bool, typer.Option(help="Centre-crop and resize real frames of another size than the pipeline's (else refused).")] = False,
    cache: Annotated[bool, typer.Option(help="Read and keep real-data features in the cache.")] = True,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache folder (default: $LATENTMOTION_CACHE/metrics or ~/.cache/latentmotion/metrics).")] = None,
    acd_pairs: Annotated[AcdPairs, typer.Option(help="Frame pairs of the ACD.")] = AcdPairs.all,
    inversion_steps: Annotated[int, typer.Option(min=1, help="Optimisation steps inverting each first frame (prediction).")] = 300,
    detector_size: Annotated[int, typer.Option(min=8, hidden=True, help="Side of the detector's frames (224; smaller for tests only).")] = 224,
    inception_size: Annotated[int, typer.Option(min=8, hidden=True, help="Side of the FID network's frames (299; smaller for tests only).")] = 299,
    record: Annotated[bool, typer.Option(help="Write the figures into the pipeline folder's model card (its metrics; replaces the last evaluation's).")] = False,
    revision: RevisionOption = None,
    device: DeviceOption = Device.auto,
    json_output: JsonOption = False,
) -> None:
    """Evaluate a pipeline against real videos: FVD as StyleGAN-V computes it, FID on frames, ACD and single-image prediction, each with its protocol.

    Weights are read as plain tensors, never as code; the protocol of every figure (detector or
    LPIPS weights file and sha256, videos, frames, stride, resolution, seed) is printed with it. With `--record`, the
    figures become the metrics of the pipeline folder's model card (`README.md`), which `push`
    uploads.
    """
    import attrs

    from latentmotion.metrics.cache import FeatureCache
    from latentmotion.metrics.evaluate import evaluate as run_evaluation
    from latentmotion.metrics.i3d import load_i3d
    from latentmotion.metrics.inception import load_inception
    from latentmotion.metrics.lpips import load_lpips
    from latentmotion.streams import check_seed

    check_seed(seed, name="--seed")
    metrics = metric or ["fvd16"]
    if not data.is_dir():
        raise ConfigError(f"data folder {str(data)!r} does not exist or is not a folder")
    if lpips is not None and "prediction" not in metrics:
        raise ConfigError("--lpips is used by the prediction metric only: add --metric prediction, or leave --lpips out")
    if record and not (Path(pipeline) / "config.json").is_file():
        raise ConfigError(
            f"--record writes the model card of a pipeline folder, and {pipeline!r} is not one (a Hub repo id or a registered name): "
            "save the pipeline to a folder first (save_pretrained) and evaluate that folder"
        )
    loaded_detector = None
    if detector is not None:
        with progress_bar(f"loading detector {detector}", transient=True):
            loaded_detector = load_i3d(detector)
    loaded_inception = None
    if inception is not None:
        with progress_bar(f"loading FID network {inception}", transient=True):
            loaded_inception = load_inception(inception)
    loaded_lpips = None
    if lpips is not None:
        with progress_bar(f"loading LPIPS network {lpips}", transient=True):
            loaded_lpips = load_lpips(lpips)
    loaded = _load_pipeline(pipeline, revision=revision, device=device)
    figures = run_evaluation(
        loaded,
        data,
        metrics=metrics,
        detector=loaded_detector,
        inception=loaded_inception,
        lpips=loaded_lpips,
        n_videos=n_videos,
        seed=seed,
        resize_real=resize_real,
        cache=FeatureCache(cache_dir) if cache else None,
        detector_size=detector_size,
        inception_size=inception_size,
        acd_pairs=acd_pairs.value,
        inversion_steps=inversion_steps,
        progress=True,
    )
    result = {"pipeline": pipeline, "data": str(data), "figures": {name: figure.to_dict() for name, figure in figures.items()}}
    if record:
        loaded.card = attrs.evolve(loaded.card, metrics={name: figure.value for name, figure in figures.items()}, evaluation=f"{data.resolve().name} ({n_videos} videos, seed {seed})")
        result["card"] = str(loaded.write_card(pipeline) / "README.md")
    lines = []
    for name, figure in figures.items():
        protocol = figure.protocol
        detector_text = protocol.detector + (f" sha256 {protocol.detector_sha256[:12]}" if protocol.detector_sha256 else "")
        lines.append(
            f"{name:<18} {figure.value:.4g}  ({detector_text}; {protocol.n_videos} videos, {protocol.n_frames} frames, "
            f"stride {protocol.stride}, {protocol.resolution} px, seed {protocol.seed})"
        )
    if record:
        lines.append(f"wrote the figures into {result['card']}")
    _report(result, json_output, lines)


def convert_i3d(
    source: Annotated[Path, typer.Argument(help="StyleGAN-V's TorchScript detector, i3d_torchscript.pt.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Target .safetensors file.")] = Path("i3d.safetensors"),
    json_output: JsonOption = False,
) -> None:
    """Convert a TorchScript I3D detector to safetensors, once; evaluation then reads only the safetensors.

    Loading a TorchScript file runs the code inside it: convert only a file from a source you trust.
    This is the only command that loads one. The weights are copied into latentmotion's own I3D,
    both networks are run on a check clip, and the file is written only when their features agree.
    """
    from latentmotion.metrics.i3d import convert_torchscript

    _check_output(output, (".safetensors",))
    with progress_bar(f"loading TorchScript {source} (this runs its code), copying its weights, checking", transient=True):
        done = convert_torchscript(source, output)
    result = {
        "source": str(done.source),
        "source_sha256": done.source_sha256,
        "output": str(done.target),
        "sha256": done.sha256,
        "matched_by": done.matched_by,
        "max_difference": done.max_difference,
        "is_stylegan_v_detector": done.is_stylegan_v_detector,
    }
    lines = [
        f"loaded the TorchScript program {done.source} (its code ran here, once) and copied its weights into latentmotion's I3D",
        f"wrote {done.target} (sha256 {done.sha256}); its features match the TorchScript's within {done.max_difference:.2g}",
        "the source is StyleGAN-V's detector (its sha256 is the known one)"
        if done.is_stylegan_v_detector
        else "the source's sha256 is not that of StyleGAN-V's i3d_torchscript.pt: its FVDs will not compare with StyleGAN-V's",
        f"evaluate with: latentmotion evaluate PIPELINE --data FOLDER --detector {done.target}",
    ]
    _report(result, json_output, lines)


# ----------------------------------------------------------------------------------------------
# The application.


def build_app() -> typer.Typer:
    """Build the `latentmotion` application: the core commands, then those of the plugins.

    Returns:
        The typer application.
    """
    app = typer.Typer(
        cls=UserErrorGroup,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(main)
    for command in (generate, fit_basis, train):
        app.command()(command)
    app.command("presets")(list_presets)
    app.command("backends")(list_backends)
    app.command("pipelines")(list_pipelines)
    for command in (info, push, plot, animate, evaluate):
        app.command()(command)
    converters = typer.Typer(help="Convert files of other implementations: released models into pipeline folders, a TorchScript detector into safetensors.")
    converters.command("mocogan-hd")(convert_mocogan_hd)
    converters.command("i3d")(convert_i3d)
    app.add_typer(converters, name="convert")
    _add_plugin_commands(app)
    return app


def _add_plugin_commands(app: typer.Typer) -> None:
    """Let every plugin add its sub-commands; a broken plugin is reported and skipped."""
    from latentmotion.plugins import load_plugins, pm

    try:
        load_plugins()
    except LatentMotionError as error:
        typer.echo(f"warning: plugin commands are unavailable: {one_line(error)}", err=True)
        return
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(app=app)
        except Exception as error:  # a plugin's bug must not take the core commands down
            typer.echo(f"warning: plugin {impl.plugin_name!r} failed to add its commands ({type(error).__name__}: {one_line(error)})", err=True)


# ----------------------------------------------------------------------------------------------
# Helpers.


def _list_registered(infos: Iterable[Any], as_json: bool) -> None:
    """Print registered backends or pipelines: name, plugin distribution and version, description."""
    rows = [
        {"name": info.name, "description": info.description, "plugin": info.plugin, "distribution": info.distribution, "version": info.version}
        for info in infos
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max((len(row["name"]) for row in rows), default=0)
    source = max((len(f"{row['distribution']} {row['version']}") for row in rows), default=0)
    for row in rows:
        typer.echo(f"{row['name']:<{width}}  {row['distribution'] + ' ' + row['version']:<{source}}  {row['description']}")


def _report(result: dict[str, Any], as_json: bool, lines: Iterable[str]) -> None:
    """Print a command's result on stdout: JSON, or lines for humans."""
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        for line in lines:
            typer.echo(line)


def _device(choice: Device) -> "torch.device":
    """The torch device a `--device` choice means here (see [resolve_device][latentmotion.devices.resolve_device])."""
    from latentmotion.devices import resolve_device

    return resolve_device(choice.value)


def _parse_setting(item: str, *, what: str = "option") -> tuple[str, Any]:
    """Split a `KEY=VALUE` string; VALUE is parsed as JSON when it is JSON, else kept as text."""
    name, equals, text = item.partition("=")
    if not equals or not name.strip():
        raise ConfigError(f"{what} {item!r} must look like KEY=VALUE, e.g. {'resolution=64' if what == 'backend option' else 'optim.lr=2e-4'}")
    try:
        return name.strip(), json.loads(text)
    except json.JSONDecodeError:
        return name.strip(), text


def _parse_options(items: list[str] | None) -> dict[str, Any]:
    """Turn `KEY=VALUE` strings into backend keyword arguments (see `_parse_setting`)."""
    return dict(_parse_setting(item, what="backend option") for item in items or [])


def _load_pipeline(name: str, *, revision: str | None, device: Device) -> "LatentMotionPipeline":
    """Load a pipeline by folder, Hub repo id or registered name, with a progress indicator.

    The default pipeline unregistered says which plugin to install.
    """
    from latentmotion.pipeline import LatentMotionPipeline

    try:
        with progress_bar(f"loading pipeline {name}", transient=True):
            return LatentMotionPipeline.from_pretrained(name, revision=revision, device=_device(device))
    except UnknownPipelineError as error:
        if name != DEFAULT_PIPELINE:
            raise
        raise UnknownPipelineError(
            f"the default pipeline {name!r} comes with the {DEFAULT_PIPELINE_DISTRIBUTION} plugin, which is not installed (or not loaded): "
            f"pip install {DEFAULT_PIPELINE_DISTRIBUTION}; or pass --pipeline a pipeline folder or a Hub repo id 'org/name'"
        ) from error


def _check_output(path: Path, suffixes: Sequence[str]) -> None:
    """Raise a ConfigError unless `path` can be written: a known suffix, in an existing writable folder."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise ConfigError(f"cannot write {str(path)!r}: unsupported format {path.suffix or '(no suffix)'!r}; use {' or '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"folder {str(folder)!r} does not exist; create it before writing {path.name!r}")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"folder {str(folder)!r} is not writable; choose another --output")
    if path.is_dir():
        raise ConfigError(f"{str(path)!r} is a folder; give a file name")


def _check_video_output(path: Path, n_videos: int) -> None:
    """Like `_check_output` for video suffixes and every file of `n_videos` videos, and check that this PyAV can encode mp4."""
    import av

    from latentmotion.video import VIDEO_SUFFIXES

    _check_output(path, VIDEO_SUFFIXES)
    if path.suffix.lower() == ".mp4" and "libx264" not in av.codecs_available:
        raise ConfigError(f"cannot write {str(path)!r}: this PyAV build has no H.264 encoder (libx264); write .gif or .png instead")
    targets = [path] if n_videos == 1 or path.suffix.lower() == ".png" else _numbered_folders(path, n_videos)
    for target in targets:
        if target.is_dir():
            raise ConfigError(f"cannot write {str(target)!r}: it is a folder; remove it or choose another --output")


def _numbered_folders(output: Path, n_videos: int) -> list[Path]:
    """The folders in the way of `_video_paths(output, n_videos)`, found without listing every name."""
    width = len(str(n_videos - 1))
    pattern = f"{glob.escape(output.stem)}-{'[0-9]' * width}{glob.escape(output.suffix)}"
    return [path for path in output.parent.glob(pattern) if int(path.name[len(output.stem) + 1 : len(output.stem) + 1 + width]) < n_videos]


def _video_paths(output: Path, n_videos: int) -> list[Path]:
    """One file per video (numbered when there are several), or the one grid of a `.png`."""
    if n_videos == 1 or output.suffix.lower() == ".png":
        return [output]
    width = len(str(n_videos - 1))
    return [output.with_name(f"{output.stem}-{index:0{width}d}{output.suffix}") for index in range(n_videos)]


def _generate_videos(loaded: "LatentMotionPipeline", output: Path, *, n_videos: int, n_frames: int | None, fps: int, **options: Any) -> tuple[list[Path], int]:
    """Generate videos into `output` (see the module docstring for the file names); return the files and the frames per video.

    `.mp4` and `.gif` files are written as the frames are rendered, a chunk at a time, so that
    memory does not grow with the videos' length; a `.png` grid is rendered whole. Either way
    the memory a request needs is checked first, on the device and, for the frames copied
    there to be written, on the host. A command writes all its files or none.
    """
    import torch

    from latentmotion.devices import check_memory, format_bytes
    from latentmotion.video import VideoWriter

    interpolation = options.get("interpolation", 0)
    length = ((loaded.n_frames if n_frames is None else n_frames) - 1) * (interpolation + 1) + 1
    if output.suffix.lower() == ".png":
        loaded.check_memory(n_videos, n_frames, interpolation=interpolation, host=True)
        with progress_bar(f"generating {n_videos} video(s)", transient=True):
            videos = loaded.generate(n_videos, n_frames, **options).cpu()
        return _write_videos(videos, output, fps=fps), videos.shape[1]
    loaded.check_memory(n_videos, n_frames, interpolation=interpolation, chunk_frames=STREAM_CHUNK_FRAMES, host=True)
    check_memory(  # every video's file is open at once, each with its encoder's buffers
        n_videos * ENCODER_BYTES_PER_PIXEL * loaded.backend.resolution**2,
        torch.device("cpu"),
        what=f"encoding {n_videos} video(s) at once",
        lower="n_videos (-n), or write a .png grid",
    )
    needed, free = n_videos * length * MIN_FRAME_BYTES, shutil.disk_usage(output.parent).free
    if needed > free:
        raise ConfigError(
            f"writing {n_videos} video(s) of {length:,} frames needs at least {format_bytes(needed)} on disk, but only "
            f"{format_bytes(free)} is free in {str(output.parent)!r}; lower n_videos (-n), n_frames (-t) or interpolation (--interpolation)"
        )
    writers = [VideoWriter(path, fps=fps) for path in _video_paths(output, n_videos)]
    written: list[Path] = []
    try:
        with progress_bar(f"generating {n_videos} video(s)", total=length, transient=True) as advance:
            for chunk in loaded.generate_stream(n_videos, n_frames, chunk_frames=STREAM_CHUNK_FRAMES, **options):  # [B, t, 3, H, W]
                for writer, video in zip(writers, chunk, strict=True):
                    writer.write(video)
                advance(chunk.shape[1])
        for writer in writers:
            written.append(writer.close())
    except BaseException:
        for writer in writers:
            writer.discard()
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written, writers[0].n_frames


def _write_videos(videos: "torch.Tensor", output: Path, *, fps: int) -> list[Path]:
    """Write `[B, T, 3, H, W]` videos to `output` (see the module docstring for the file names).

    If one file cannot be written, those written before it are removed: a command writes all its
    files or none.
    """
    from latentmotion.video import write_grid, write_video

    if output.suffix.lower() == ".png":
        return [write_grid(output, videos)]
    paths = _video_paths(output, len(videos))
    written: list[Path] = []
    try:
        with progress_bar("writing", total=len(paths), transient=True) as advance:
            for path, video in zip(paths, videos, strict=True):
                written.append(write_video(path, video, fps=fps))
                advance()
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def _read_log(path: Path, keys: list[str] | None) -> dict[str, list[tuple[float, float]]]:
    """The `(step, value)` points of each curve of a JSONL training log (every key but step and seconds)."""
    if not path.is_file():
        raise ConfigError(f"training log {str(path)!r} does not exist; give a run folder or its log.jsonl")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{str(path)!r} is not a text file ({error.reason} at byte {error.start}); give a training run's log.jsonl") from None
    series: dict[str, list[tuple[float, float]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigError(f"line {number} of {str(path)!r} is not JSON: {error}") from error
        step = record.get("step") if isinstance(record, dict) else None
        if not _is_number(step):
            raise ConfigError(f"line {number} of {str(path)!r} is not a training log record: it needs a JSON object with a finite number 'step'")
        for name, value in record.items():
            if name not in ("step", "seconds") and _is_number(value):
                series.setdefault(name, []).append((step, value))
    if keys:
        unknown = [name for name in keys if name not in series]
        if unknown:
            raise ConfigError(f"{str(path)!r} has no curve {', '.join(map(repr, unknown))}; it has {', '.join(series) or 'none'}")
        series = {name: series[name] for name in keys}
    if not series:
        raise ConfigError(f"{str(path)!r} holds no loss values to plot")
    for axis, numbers in (("steps", [step for points in series.values() for step, _ in points]), ("values", [value for points in series.values() for _, value in points])):
        if not math.isfinite(2 * (max(numbers) - min(numbers))):  # the axis range, with its margin
            raise ConfigError(f"the {axis} of {str(path)!r} span too wide a range to draw ({min(numbers):g} to {max(numbers):g}); choose curves with --key")
    return series


def _is_number(value: Any) -> bool:
    """Whether a JSON value is a finite number (not a boolean)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _draw_curves(series: dict[str, list[tuple[float, float]]], path: Path, *, title: str) -> None:
    """Draw line curves with axes, tick labels, grid and a legend into a PNG, with Pillow."""
    from PIL import Image, ImageDraw, ImageFont

    from latentmotion.atomic import atomic_path

    width, height = PLOT_SIZE
    left, right, top, bottom = 80, width - 190, 40, height - 50  # the plot area
    font = ImageFont.load_default(size=14)
    image = Image.new("RGB", PLOT_SIZE, "white")
    draw = ImageDraw.Draw(image)
    steps = [step for points in series.values() for step, _ in points]
    values = [value for points in series.values() for _, value in points]
    x_low, x_high = _padded_range(min(steps), max(steps), pad=0.0)
    y_low, y_high = _padded_range(min(values), max(values), pad=0.05)

    def to_pixel(step: float, value: float) -> tuple[float, float]:
        return (left + (step - x_low) / (x_high - x_low) * (right - left), bottom - (value - y_low) / (y_high - y_low) * (bottom - top))

    for step in _nice_ticks(x_low, x_high):  # grid lines and tick labels
        x, _ = to_pixel(step, y_low)
        draw.line([(x, top), (x, bottom)], fill=(230, 230, 230))
        draw.text((x, bottom + 6), f"{step:g}", fill="black", font=font, anchor="mt")
    for value in _nice_ticks(y_low, y_high):
        _, y = to_pixel(x_low, value)
        draw.line([(left, y), (right, y)], fill=(230, 230, 230))
        draw.text((left - 6, y), f"{value:g}", fill="black", font=font, anchor="rm")
    draw.rectangle([left, top, right, bottom], outline="black")
    draw.text(((left + right) / 2, height - 8), "step", fill="black", font=font, anchor="mb")
    draw.text(((left + right) / 2, top / 2), title, fill="black", font=font, anchor="mm")
    for index, (name, points) in enumerate(series.items()):
        colour = PLOT_COLOURS[index % len(PLOT_COLOURS)]
        pixels = [to_pixel(step, value) for step, value in points]
        if len(pixels) == 1:
            (x, y), radius = pixels[0], 3
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
        else:
            draw.line(pixels, fill=colour, width=2, joint="curve")
        legend_y = top + 10 + index * 22
        draw.line([(right + 15, legend_y), (right + 45, legend_y)], fill=colour, width=3)
        draw.text((right + 52, legend_y), name, fill="black", font=font, anchor="lm")
    with atomic_path(path) as temp:
        image.save(temp, format="PNG")


def _nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """About `count` round tick values (multiples of 1, 2, 2.5 or 5 times a power of ten) in `[low, high]`."""
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + index * step, 12) for index in range(int((high - first) / step + 1e-9) + 1)]


def _padded_range(low: float, high: float, *, pad: float) -> tuple[float, float]:
    """An axis range covering `[low, high]` with a margin of `pad` times its span; never empty."""
    if high == low:
        return low - 1, high + 1
    margin = (high - low) * pad
    return low - margin, high + margin


app = build_app()

if __name__ == "__main__":
    app()
