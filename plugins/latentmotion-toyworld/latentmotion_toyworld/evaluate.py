"""Did the motion generator learn motion? Figures that compare generated and real toy-world videos.

- Motion distance: the sliced Wasserstein-1 distance between the distributions of per-frame
  object displacements `(dx, dy)` (pixels per frame, tracked from pixels) of two sets of videos.
- Trajectory distance: the same distance between the distributions of whole videos' sequences of
  displacements `(dx_1, dy_1, ..., dx_{T-1}, dy_{T-1})`. Single steps say nothing of persistence:
  a random walk whose steps have the world's length matches the motion distance, but not this
  one, since the world's objects keep their velocity from frame to frame (but at a bounce).
- Speed spread: how much an object's speed varies within a video (the standard deviation of its
  tracked speed; small for the world, whose objects keep their speed).
- Direction distance: whether a set moves its objects the world's ways: the total variation
  distance between the shares of its videos whose net displacement points into each of 8 sectors
  of 45 degrees and the reference's shares (0 for the same shares; 1 when no video moves into a
  sector the reference's do).
- Persistence and direction share: how straight each video's path is (net displacement over path
  length, 1 for the world's objects but at a bounce) and whether a set prefers a direction (the
  largest share of videos in one of the 8 sectors; about 1/8 for the default world, 1 when a
  model moves every object the same way). The direction share describes a set but is no headline
  figure: a set that moves a world's share of its objects into one sector, the wrong one, would
  count as close to real.
- Colour ACD (average content distance, as MoCoGAN defines it for its shapes dataset): within each
  video, the mean pairwise L2 distance between the per-frame mean colours of the object (its
  tracked foreground pixels, in `[0, 255]` units), averaged over videos; low means the content
  stays constant.

The same figures are computed for two baselines that know nothing of motion: static videos (the
first frame repeated) and a random walk in the PCA basis with the trained model's step length;
and for untrained motion generators: the pipeline with its motion generator's weights freshly
initialised as the training recipe does (a [MotionInit][latentmotion_toyworld.evaluate.MotionInit],
drawn under `torch.manual_seed(s)` for each init seed `s` in `0, ..., untrained_seeds - 1`, as
[Trainer][latentmotion.train.Trainer] builds its networks under the run's seed). Every generated
set shares the model's content codes, motion noise and rendering noise.

Two independently seeded sets of real videos are drawn: the reference, which every distance is
measured against, and a second set ("real"), whose figures are the real-vs-real floor. The
headline of a figure `f` is the model's excess over the floor as a fraction of the untrained
generators' excess:

- for the distances (motion, trajectory and direction distance), the gap of a set is its value,
  `gap(x) = f(x)`, and the floor is the second real set's `f(real)`;
- for the figures of a set alone (colour ACD, mean speed, speed spread, persistence), closer to
  real means closer to the reference's value: `gap(x) = |f(x) - f(reference)|`,
  and the floor is `|f(real) - f(reference)|`;
- `excess(x) = gap(x) - floor`, and `excess_ratio = excess(model) / excess(best untrained)`,
  where the best untrained seed is the one with the smallest gap: the hardest of them to beat.

An `excess_ratio` of 0 is a model at the floor (below 0: within the floor's noise), 1 a model no
closer to real than the best untrained generator, above 1 one farther from real. It is NaN when the best untrained seed's
excess is not positive (already at the floor: the figure cannot show what training added) or a
gap is NaN (e.g. no video moved).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import torch
from einops import rearrange, repeat

from latentmotion.config import TrainConfig
from latentmotion.errors import ConfigError
from latentmotion.motion import MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.rendering import render
from latentmotion.streams import Stream, stream_generator
from latentmotion_toyworld.config import WorldConfig
from latentmotion_toyworld.reproduce import train_config
from latentmotion_toyworld.tracking import displacements, object_colours
from latentmotion_toyworld.world import render_videos


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, *, n_projections: int = 128, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two point clouds of the same dimension.

    The mean over random unit directions of the 1-D Wasserstein-1 distance between the projected
    samples, each computed from the two quantile functions on a common grid.

    Args:
        a: `[N, D]` samples.
        b: `[M, D]` samples.
        n_projections: Random directions.
        seed: Seed of the directions.

    Returns:
        The distance, in the units of the samples.
    """
    if len(a) == 0 or len(b) == 0:
        return math.nan
    directions = torch.randn(n_projections, a.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    directions = directions / directions.norm(dim=1, keepdim=True)
    grid = (torch.arange(max(len(a), len(b)), dtype=torch.float64) + 0.5) / max(len(a), len(b))
    qa = torch.quantile(a.double() @ directions.T, grid, dim=0)
    qb = torch.quantile(b.double() @ directions.T, grid, dim=0)
    return float((qa - qb).abs().mean())


def motion_samples(steps: torch.Tensor) -> torch.Tensor:
    """The per-frame displacements of a set of videos, frames without an object dropped.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`.

    Returns:
        `[N, 2]` displacements `(dx, dy)` in pixels per frame.
    """
    steps = rearrange(steps, "b t c -> (b t) c")
    return steps[~steps.isnan().any(dim=1)]


def complete_videos(steps: torch.Tensor) -> torch.Tensor:
    """The displacements of the videos whose object was found in every frame.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`.

    Returns:
        `[N, T - 1, 2]` displacements, `N <= B`.
    """
    return steps[~steps.isnan().any(dim=(1, 2))]


def trajectory_samples(steps: torch.Tensor) -> torch.Tensor:
    """The displacement sequences of a set of videos, videos with a frame without an object dropped.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`.

    Returns:
        `[N, 2 (T - 1)]` sequences `(dx_1, dy_1, ..., dx_{T-1}, dy_{T-1})` in pixels per frame.
    """
    return rearrange(complete_videos(steps), "b t c -> b (t c)")


def speed_spread(steps: torch.Tensor) -> float:
    """How much the speed varies within a video: the standard deviation of its tracked speed, averaged over videos.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`, `T >= 3`.

    Returns:
        The mean standard deviation in pixels per frame over videos with an object in every frame; NaN if none.
    """
    speeds = complete_videos(steps).norm(dim=-1)  # [N, T-1]
    if len(speeds) == 0 or speeds.shape[1] < 2:
        return math.nan
    return float(speeds.std(dim=1).mean())


def persistence(steps: torch.Tensor) -> float:
    """How straight the videos' paths are: net displacement over path length, averaged over videos.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`.

    Returns:
        The mean ratio in `[0, 1]` over videos that moved and have an object in every frame; NaN if none.
    """
    sequences = complete_videos(steps)  # [N, T-1, 2]
    path = sequences.norm(dim=-1).sum(dim=1)  # [N]
    moved = path > 0
    if not moved.any():
        return math.nan
    return float((sequences.sum(dim=1).norm(dim=-1)[moved] / path[moved]).mean())


def direction_shares(steps: torch.Tensor, *, n_sectors: int = 8) -> torch.Tensor:
    """The shares of videos whose net displacement points into each sector of directions.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`.
        n_sectors: Sectors of `360 / n_sectors` degrees each, counterclockwise from the first,
            which is centred on `+x`, so that motion along an axis falls in one sector, not on
            the border of two.

    Returns:
        `[n_sectors]` shares over the videos that moved and have an object in every frame,
        summing to 1; NaN if none.
    """
    net = complete_videos(steps).sum(dim=1)  # [N, 2]
    net = net[net.norm(dim=-1) > 0]
    if len(net) == 0:
        return torch.full((n_sectors,), math.nan, dtype=torch.float64)
    angle = torch.atan2(net[:, 1], net[:, 0]) % (2 * math.pi)
    sector = torch.round(angle / (2 * math.pi / n_sectors)).long() % n_sectors
    return torch.bincount(sector, minlength=n_sectors).double() / len(net)


def direction_share(steps: torch.Tensor, *, n_sectors: int = 8) -> float:
    """The largest share of videos whose net displacement points into one sector of directions.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`.
        n_sectors: Sectors, as in [direction_shares][latentmotion_toyworld.evaluate.direction_shares].

    Returns:
        The share in `[1 / n_sectors, 1]`; NaN if no video counts.
    """
    return float(direction_shares(steps, n_sectors=n_sectors).max())


def direction_distance(steps: torch.Tensor, real_steps: torch.Tensor, *, n_sectors: int = 8) -> float:
    """Total variation distance between two sets' shares of videos per sector of directions.

    Half the sum over sectors of the difference between the shares: the share of videos that
    would have to change sector for one set to move the other's ways.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements of a set of videos.
        real_steps: `[B', T - 1, 2]` tracked displacements of the real videos.
        n_sectors: Sectors, as in [direction_shares][latentmotion_toyworld.evaluate.direction_shares].

    Returns:
        The distance in `[0, 1]`; NaN if no video of a set counts.
    """
    return float((direction_shares(steps, n_sectors=n_sectors) - direction_shares(real_steps, n_sectors=n_sectors)).abs().sum() / 2)


def colour_acd(videos: torch.Tensor) -> float:
    """Colour average content distance: mean pairwise L2 distance of the object's per-frame colours.

    Frames where the tracker finds no object are left out; videos with fewer than two such
    frames do not count.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`, `T >= 2`.

    Returns:
        The distance in `[0, 255]` colour units, averaged over videos; NaN if no video counts.
    """
    colours = (object_colours(videos).double() + 1) * 127.5  # [B, T, 3]
    found = ~colours.isnan().any(dim=-1)  # [B, T]
    pairs = found[:, :, None] & found[:, None, :] & ~torch.eye(videos.shape[1], dtype=torch.bool)  # [B, T, T]
    distances = torch.cdist(colours.nan_to_num(), colours.nan_to_num()) * pairs
    counted = pairs.sum(dim=(1, 2)) > 0
    if not counted.any():
        return math.nan
    return float((distances.sum(dim=(1, 2))[counted] / pairs.sum(dim=(1, 2))[counted]).mean())


@attrs.frozen
class MotionFigures:
    """The figures of one set of videos against the real ones.

    Attributes:
        motion_distance: Sliced W1 between its displacements and the real videos' (pixels/frame).
        trajectory_distance: Sliced W1 between its displacement sequences and the real videos'.
        direction_distance: Total variation distance between its shares of videos per sector of
            directions and the real videos', in `[0, 1]`.
        colour_acd: Its colour ACD (`[0, 255]` units).
        mean_speed: Mean tracked speed, pixels per frame.
        mean_velocity: Mean tracked displacement `(dx, dy)`, pixels per frame; about `(0, 0)` for
            the world, whose objects move in every direction alike, and far from it when a model
            moves every object the same way.
        speed_spread: Mean standard deviation of the speed within a video, pixels per frame.
        persistence: Mean net displacement over path length of a video, in `[0, 1]`.
        direction_share: Largest share of videos moving into one of 8 sectors of directions.
    """

    motion_distance: float
    trajectory_distance: float
    direction_distance: float
    colour_acd: float
    mean_speed: float
    mean_velocity: tuple[float, float]
    speed_spread: float
    persistence: float
    direction_share: float


def figures(videos: torch.Tensor, real_steps: torch.Tensor) -> MotionFigures:
    """Compute the figures of `videos` against real videos.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.
        real_steps: `[B', T - 1, 2]` tracked displacements of real videos.

    Returns:
        The figures.
    """
    steps = displacements(videos)
    motion = motion_samples(steps)
    speed = float(motion.norm(dim=1).mean()) if len(motion) else math.nan
    velocity = tuple(motion.mean(dim=0).tolist()) if len(motion) else (math.nan, math.nan)
    motion_distance = sliced_wasserstein(motion, motion_samples(real_steps))
    trajectory_distance = sliced_wasserstein(trajectory_samples(steps), trajectory_samples(real_steps))
    return MotionFigures(
        motion_distance=motion_distance,
        trajectory_distance=trajectory_distance,
        direction_distance=direction_distance(steps, real_steps),
        colour_acd=colour_acd(videos),
        mean_speed=speed,
        mean_velocity=velocity,
        speed_spread=speed_spread(steps),
        persistence=persistence(steps),
        direction_share=direction_share(steps),
    )


@torch.no_grad()
def random_walk(pipeline: LatentMotionPipeline, content: torch.Tensor, n_frames: int, *, step_norm: float, seed: int) -> torch.Tensor:
    """Trajectories that step in random directions of the PCA basis, each step of length `step_norm`.

    Args:
        pipeline: Supplies the basis (directions scaled by their standard deviations).
        content: `[B, D]` starting codes.
        n_frames: Frames T.
        step_norm: Length of every step, in latent units.
        seed: Seed of the directions.

    Returns:
        `[B, T, D]` codes.
    """
    basis = pipeline.motion.basis  # [K, D]
    coefficients = torch.randn(len(content), n_frames - 1, basis.shape[0], generator=stream_generator(seed, Stream.RANDOM_WALK)).to(basis)
    steps = coefficients @ basis
    steps = steps * (step_norm / steps.norm(dim=-1, keepdim=True))
    return torch.cat([content[:, None], content[:, None] + steps.cumsum(dim=1)], dim=1)


MIN_VIDEOS = 64
"""The fewest videos per set an evaluation accepts.

Below it the real-vs-real floor is no floor. Between two sets of 32 `shapes` videos of 8 frames
the motion distance was 0.28 and 0.45 (seeds 0 and 1), as large as the bundled `toy` model's
(0.31) and its random walk's (0.38) at 256 videos, and the largest direction share 19-22% by
chance alone (the world's: 1/8); between two sets of 64, 0.22 and 0.23, below both.
"""

DISTANCES = ("motion_distance", "trajectory_distance", "direction_distance")
"""The headline figures that are already distances to the reference videos."""

VALUES = ("colour_acd", "mean_speed", "speed_spread", "persistence")
"""The headline figures of a set alone, compared through their difference to the reference's."""


@attrs.frozen
class MotionInit:
    """How a training recipe initialises a motion generator: the weights of the untrained baseline.

    Attributes:
        std: Standard deviation of the step weights A of Eq. 1 (`MotionConfig.init_std`).
        forget_bias: Initial forget-gate bias of both LSTMs (`MotionConfig.forget_bias`).
    """

    std: float = attrs.field(validator=attrs.validators.ge(0))
    forget_bias: float

    @classmethod
    def of(cls, config: TrainConfig) -> MotionInit:
        """The initialisation a training configuration asks for.

        Args:
            config: A training configuration.

        Returns:
            Its `motion.init_std` and `motion.forget_bias`.
        """
        return cls(std=config.motion.init_std, forget_bias=config.motion.forget_bias)


RECIPE_INIT = MotionInit.of(train_config(image_variant="shapes", video_variant="shapes", data="videos", steps=1, seed=0))
"""The initialisation of the bundled pipelines' recipe ([train_config][latentmotion_toyworld.reproduce.train_config]).

It is the same in- and cross-domain, for any data, length and seed of the run.
"""


def untrained_motion(pipeline: LatentMotionPipeline, init: MotionInit, *, seed: int) -> MotionGenerator:
    """The pipeline's motion generator as training starts it: the same sizes, freshly initialised weights.

    The weights are drawn under `torch.manual_seed(seed)`, as the trainer draws them under its
    run's seed, without disturbing the global random state.

    Args:
        pipeline: Supplies the motion generator's configuration and basis.
        init: The initialisation of the recipe.
        seed: The init seed.

    Returns:
        The generator, in eval mode on the pipeline's device.
    """
    config = attrs.evolve(pipeline.motion.config, init_std=init.std, forget_bias=init.forget_bias)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        motion = MotionGenerator(config, basis=pipeline.motion.basis.cpu())
    return motion.to(pipeline.device).eval()


def _gaps(figures: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """How far a set's headline figures are from real: its distances, and its other figures' differences to the reference's."""
    return {name: figures[name] for name in DISTANCES} | {name: abs(figures[name] - reference[name]) for name in VALUES}


def _numbers(values: Sequence[float]) -> list[float]:
    """The values that are not NaN."""
    return [value for value in values if not math.isnan(value)]


def _summary(per_seed: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The mean, minimum and maximum over seeds of each scalar figure, over the seeds where it is a number (NaN if none)."""
    summary: dict[str, dict[str, float]] = {"mean": {}, "min": {}, "max": {}}
    for name in DISTANCES + VALUES:
        values = _numbers([figures[name] for figures in per_seed])
        summary["mean"][name] = sum(values) / len(values) if values else math.nan
        summary["min"][name] = min(values, default=math.nan)
        summary["max"][name] = max(values, default=math.nan)
    return summary


def headline(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The model's excess over the real-vs-real floor as a fraction of the best untrained seed's, per figure.

    See the module's description for the definitions.

    Args:
        report: An [evaluate][latentmotion_toyworld.evaluate.evaluate] report's `reference`,
            `real`, `model` and `untrained` figures.

    Returns:
        For each figure of `DISTANCES` and `VALUES`: `floor`, `model_excess`, the best and the mean
        untrained seed's excess (`untrained_excess`, `untrained_excess_mean`; seeds whose gap is
        NaN left out) and `excess_ratio`.
    """
    reference = report["reference"]
    floor = _gaps(report["real"], reference)
    model = _gaps(report["model"], reference)
    untrained = [_gaps(figures, reference) for figures in report["untrained"]["per_seed"]]
    result = {}
    for name in DISTANCES + VALUES:
        excesses = _numbers([gaps[name] - floor[name] for gaps in untrained])
        best = min(excesses, default=math.nan)
        result[name] = {
            "floor": floor[name],
            "model_excess": model[name] - floor[name],
            "untrained_excess": best,
            "untrained_excess_mean": sum(excesses) / len(excesses) if excesses else math.nan,
            "excess_ratio": (model[name] - floor[name]) / best if best > 0 else math.nan,
        }
    return result


LEARNED_FIGURES = ("trajectory_distance", "mean_speed", "speed_spread", "persistence", "direction_distance")
"""The figures on which a trained model must beat every untrained seed by a wide margin."""

MAX_EXCESS_RATIO = 0.5
"""The largest excess ratio on each of `LEARNED_FIGURES` that counts as learned."""

MAX_COLOUR_ACD_RATIO = 1.5
"""The largest colour ACD, as a multiple of the second real set's, that counts as constant content."""


def targets(report: dict[str, Any]) -> dict[str, bool]:
    """Whether a model learned motion: beats the best untrained seed widely and keeps its content.

    Args:
        report: An [evaluate][latentmotion_toyworld.evaluate.evaluate] report.

    Returns:
        `<figure>_excess_ratio` for each of `LEARNED_FIGURES`: its excess ratio is at most
        `MAX_EXCESS_RATIO` (False when NaN); `colour_acd_ratio`: the model's colour ACD is at
        most `MAX_COLOUR_ACD_RATIO` times the second real set's.
    """
    met = {f"{name}_excess_ratio": report["headline"][name]["excess_ratio"] <= MAX_EXCESS_RATIO for name in LEARNED_FIGURES}
    met["colour_acd_ratio"] = report["model"]["colour_acd"] <= MAX_COLOUR_ACD_RATIO * report["real"]["colour_acd"]
    return met


def _generate(pipeline: LatentMotionPipeline, n_videos: int, n_frames: int, noise: torch.Tensor, *, seed: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The pipeline's trajectories `[B, T, D]` for `seed` and their videos `[B, T, 3, H, W]` on the CPU."""
    trajectory = pipeline.trajectories(n_videos, n_frames, seed=seed)
    return trajectory, render(pipeline.backend, trajectory, noise, batch_size=batch_size).cpu()


@torch.no_grad()
def evaluate(
    pipeline: LatentMotionPipeline,
    world: WorldConfig,
    *,
    n_videos: int = 256,
    seed: int = 0,
    untrained_seeds: int = 5,
    init: MotionInit = RECIPE_INIT,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Compare the pipeline's videos, untrained motion generators, two baselines and real videos of `world`.

    Args:
        pipeline: The trained pipeline, on the `toy` backend.
        world: The world its motion was trained on (its resolution and frame count are used).
        n_videos: Videos in each set, at least [MIN_VIDEOS][latentmotion_toyworld.evaluate.MIN_VIDEOS].
        seed: Seed of the content codes, motion noise and rendering noise of every generated set
            (shared by all of them), the random walk and the real videos.
        untrained_seeds: Untrained motion generators, with init seeds `0, ..., untrained_seeds - 1`.
        init: Their initialisation: the recipe's the pipeline was trained with.
        batch_size: Frames rendered per backend call.

    Returns:
        JSON-able figures for `reference` (the real videos every distance is measured against),
        `real` (a second set of real videos: the real-vs-real floor), `model`, `static` and
        `random_walk`; `untrained` with its `init`, `seeds`, `per_seed` figures and their `mean`,
        `min` and `max`; the `headline` (see [headline][latentmotion_toyworld.evaluate.headline]);
        `n_videos`, `n_frames` and the model's `latent_step_norm`.

    Raises:
        ConfigError: A pipeline on another backend than `toy`, a world of another resolution,
            fewer than `MIN_VIDEOS` videos, fewer than 2 frames or no untrained seed.
    """
    if pipeline.backend.name != "toy":
        raise ConfigError(f"the toy-world evaluation needs a pipeline on the toy backend; this one renders with {pipeline.backend.label!r}")
    if n_videos < MIN_VIDEOS or world.n_frames < 2:
        raise ConfigError(f"evaluation needs at least {MIN_VIDEOS} videos of at least 2 frames for a real-vs-real floor, got {n_videos} of {world.n_frames}")
    if untrained_seeds < 1:
        raise ConfigError(f"evaluation needs at least 1 untrained seed, got {untrained_seeds}")
    if world.resolution != pipeline.backend.resolution:
        raise ConfigError(f"the world renders {world.resolution}px frames but the pipeline {pipeline.backend.resolution}px; set the world's resolution")
    frames = world.n_frames
    reference, _ = render_videos(world, n_videos, seed=seed + 1)
    real_steps = displacements(reference)
    real, _ = render_videos(world, n_videos, seed=seed + 2)  # a second real set: the noise floor

    noise = pipeline.backend.sample_noise(n_videos, generator=stream_generator(seed, Stream.RENDER_NOISE))
    trajectory, generated = _generate(pipeline, n_videos, frames, noise, seed=seed, batch_size=batch_size)
    static = repeat(generated[:, 0], "b c h w -> b t c h w", t=frames)
    step_norm = float((trajectory[:, 1:] - trajectory[:, :-1]).norm(dim=-1).mean())
    walk = random_walk(pipeline, trajectory[:, 0], frames, step_norm=step_norm, seed=seed)
    walked = render(pipeline.backend, walk, noise, batch_size=batch_size).cpu()
    sets = (("reference", reference), ("real", real), ("model", generated), ("static", static), ("random_walk", walked))
    report = {name: attrs.asdict(figures(videos, real_steps)) for name, videos in sets}

    per_seed = []
    for init_seed in range(untrained_seeds):
        motion = untrained_motion(pipeline, init, seed=init_seed)
        untrained = LatentMotionPipeline(backend=pipeline.backend, basis=pipeline.basis, motion=motion, n_frames=pipeline.n_frames, fps=pipeline.fps)
        _, videos = _generate(untrained, n_videos, frames, noise, seed=seed, batch_size=batch_size)
        per_seed.append(attrs.asdict(figures(videos, real_steps)))
    report["untrained"] = {"init": attrs.asdict(init), "seeds": list(range(untrained_seeds)), "per_seed": per_seed, **_summary(per_seed)}
    report["headline"] = headline(report)
    return {"n_videos": n_videos, "n_frames": frames, "latent_step_norm": step_norm, **report}
