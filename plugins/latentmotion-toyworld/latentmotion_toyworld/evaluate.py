"""Did the motion generator learn motion? Figures that compare generated and real toy-world videos.

- Motion distance: the sliced Wasserstein-1 distance between the distributions of per-frame
  object displacements `(dx, dy)` (pixels per frame, tracked from pixels) of two sets of videos.
- Trajectory distance: the same distance between the distributions of whole videos' sequences of
  displacements `(dx_1, dy_1, ..., dx_{T-1}, dy_{T-1})`. Single steps say nothing of persistence:
  a random walk whose steps have the world's length matches the motion distance, but not this
  one, since the world's objects keep their velocity from frame to frame (but at a bounce).
- Speed spread: how much an object's speed varies within a video (the standard deviation of its
  tracked speed; small for the world, whose objects keep their speed).
- Persistence and direction share: how straight each video's path is (net displacement over path
  length, 1 for the world's objects but at a bounce) and whether a set prefers a direction (the
  largest share of videos whose net displacement falls in one of 8 sectors of 45 degrees; about
  1/8 for the world, 1 when a model moves every object the same way).
- Colour ACD (average content distance, as MoCoGAN defines it for its shapes dataset): within each
  video, the mean pairwise L2 distance between the per-frame mean colours of the object (its
  tracked foreground pixels, in `[0, 255]` units), averaged over videos; low means the content
  stays constant.

The same figures are computed for two baselines that know nothing of motion: static videos (the
first frame repeated) and a random walk in the PCA basis with the trained model's step length.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import torch
from einops import rearrange, repeat

from latentmotion.errors import ConfigError
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.rendering import render
from latentmotion.streams import Stream, stream_generator
from latentmotion_toyworld.config import WorldConfig
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


def direction_share(steps: torch.Tensor, *, n_sectors: int = 8) -> float:
    """The largest share of videos whose net displacement points into one sector of directions.

    Args:
        steps: `[B, T - 1, 2]` tracked displacements, from `tracking.displacements`.
        n_sectors: Sectors of `360 / n_sectors` degrees each, the first starting at `+x`.

    Returns:
        The share in `[1 / n_sectors, 1]` over videos that moved and have an object in every frame; NaN if none.
    """
    net = complete_videos(steps).sum(dim=1)  # [N, 2]
    net = net[net.norm(dim=-1) > 0]
    if len(net) == 0:
        return math.nan
    angle = torch.atan2(net[:, 1], net[:, 0]) % (2 * math.pi)
    sector = (angle / (2 * math.pi / n_sectors)).long().clamp(max=n_sectors - 1)
    return float(torch.bincount(sector, minlength=n_sectors).max() / len(net))


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
    return MotionFigures(motion_distance, trajectory_distance, colour_acd(videos), speed, velocity, speed_spread(steps), persistence(steps), direction_share(steps))


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


@torch.no_grad()
def evaluate(pipeline: LatentMotionPipeline, world: WorldConfig, *, n_videos: int = 256, seed: int = 0, batch_size: int = 256) -> dict[str, Any]:
    """Compare the pipeline's videos, two baselines and real videos of `world`.

    Args:
        pipeline: The trained pipeline.
        world: The world its motion was trained on (its resolution and frame count are used).
        n_videos: Videos in each set.
        seed: Seed of the generated, baseline and real videos.
        batch_size: Frames rendered per backend call.

    Returns:
        JSON-able figures for `real` (a second set of real videos: the floor of the motion
        distance), `model`, `static` and `random_walk`, with `n_videos` and `n_frames`.
    """
    if n_videos < 2 or world.n_frames < 2:
        raise ConfigError(f"evaluation needs at least 2 videos of at least 2 frames, got {n_videos} of {world.n_frames}")
    if world.resolution != pipeline.backend.resolution:
        raise ConfigError(f"the world renders {world.resolution}px frames but the pipeline {pipeline.backend.resolution}px; set the world's resolution")
    frames = world.n_frames
    reference, _ = render_videos(world, n_videos, seed=seed + 1)
    real_steps = displacements(reference)
    real, _ = render_videos(world, n_videos, seed=seed + 2)  # a second real set: the noise floor

    trajectory = pipeline.trajectories(n_videos, frames, seed=seed)
    noise = pipeline.backend.sample_noise(n_videos, generator=stream_generator(seed, Stream.RENDER_NOISE))
    generated = render(pipeline.backend, trajectory, noise, batch_size=batch_size).cpu()
    static = repeat(generated[:, 0], "b c h w -> b t c h w", t=frames)
    step_norm = float((trajectory[:, 1:] - trajectory[:, :-1]).norm(dim=-1).mean())
    walk = random_walk(pipeline, trajectory[:, 0], frames, step_norm=step_norm, seed=seed)
    walked = render(pipeline.backend, walk, noise, batch_size=batch_size).cpu()

    results = {name: attrs.asdict(figures(videos, real_steps)) for name, videos in (("real", real), ("model", generated), ("static", static), ("random_walk", walked))}
    return {"n_videos": n_videos, "n_frames": frames, "latent_step_norm": step_norm, **results}
