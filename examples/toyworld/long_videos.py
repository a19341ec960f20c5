"""Long videos and interpolation: how the motion statistics of a toy pipeline drift with length. Prints JSON.

    python examples/toyworld/long_videos.py                       # the bundled `toy`, 128 videos of 128 frames
    python examples/toyworld/long_videos.py --pipeline toy-cross --variant glow

A pipeline trained on short clips generates as many frames as asked: its LSTM unrolls further.
This generates `--videos` videos of `--frames` frames, cuts them (and as many real world videos
of the same length) into windows of `--window` frames, and measures each window with the toy
world's figures (latentmotion_toyworld.evaluate): the motion distance to the real videos' window
(sliced Wasserstein-1 between tracked per-frame displacements, pixels per frame), the mean speed,
the speed spread within a video, the persistence (net displacement over path length), the largest
share of videos moving into one of 8 direction sectors, and the colour ACD. Two drifts of the
content are measured at the start of each window: how far the object's colour is from frame 0's,
and how far the latent code is from the content code (in units of the mean step of the first
window).

Then interpolation: the first `--window` frames with `--interpolation` codes inserted between
consecutive frames, whose every `interpolation + 1`-th frame is the plain video's frame and whose
objects move `interpolation + 1` times slower.

Bad input (a pipeline that does not exist or is not on the toy backend, an unknown variant, too
few frames or videos) prints one line `error: ...` on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import attrs
import torch
from latentmotion_toyworld.arguments import OneLineParser
from latentmotion_toyworld.config import VARIANTS, WorldConfig
from latentmotion_toyworld.evaluate import figures
from latentmotion_toyworld.tracking import displacements, object_colours
from latentmotion_toyworld.world import render_videos

from latentmotion import LatentMotionPipeline
from latentmotion.errors import ConfigError, LatentMotionError, one_line

FIGURES = ("motion_distance", "mean_speed", "speed_spread", "persistence", "direction_share", "colour_acd")


def colour_drift(videos: torch.Tensor, starts: list[int]) -> list[float]:
    """How far the object's mean colour at each window start is from frame 0's, in `[0, 255]` units, averaged over videos.

    Args:
        videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.
        starts: Frame indices.

    Returns:
        One distance per start; NaN where no video has an object in both frames.
    """
    colours = (object_colours(videos[:, [0, *starts]]).double() + 1) * 127.5  # [B, 1 + S, 3]
    distances = (colours[:, 1:] - colours[:, :1]).norm(dim=-1)  # [B, S]
    return [float(column[~column.isnan()].mean()) if (~column.isnan()).any() else math.nan for column in distances.T]


def window_figures(generated: torch.Tensor, real: torch.Tensor, window: int) -> list[dict[str, Any]]:
    """The figures of every window of `window` frames, generated against the real videos' same window.

    Args:
        generated: `[B, T, 3, H, W]` generated videos.
        real: `[B', T, 3, H, W]` real videos.
        window: Frames per window.

    Returns:
        One record per window: its frames and the generated and real figures.
    """
    rows = []
    for start in range(0, generated.shape[1] - window + 1, window):
        frames = slice(start, start + window)
        real_steps = displacements(real[:, frames])
        model = attrs.asdict(figures(generated[:, frames], real_steps))
        reference = attrs.asdict(figures(real[:, frames], real_steps))
        rows.append(
            {
                "frames": [start, start + window - 1],
                "model": {name: model[name] for name in FIGURES},
                "real": {name: reference[name] for name in FIGURES if name != "motion_distance"},
            }
        )
    return rows


@torch.no_grad()
def long_video_report(
    pipeline: LatentMotionPipeline,
    world: WorldConfig,
    *,
    n_videos: int,
    window: int,
    interpolation: int,
    seed: int,
) -> dict[str, Any]:
    """Measure how the pipeline's motion drifts over `world.n_frames` frames, and what interpolation does.

    Args:
        pipeline: A pipeline on the `toy` backend.
        world: The world of the real videos (its `n_frames` is the length generated).
        n_videos: Videos generated and real videos rendered.
        window: Frames per window.
        interpolation: Codes inserted between consecutive frames of the interpolated video.
        seed: Seed of the generated videos; the real ones use `seed + 1`.

    Returns:
        JSON-able windows, drifts and the interpolation check.
    """
    frames = world.n_frames
    if pipeline.backend.name != "toy":
        raise ConfigError(f"the toy-world figures need a pipeline on the toy backend; this one renders with {pipeline.backend.label!r}")
    if window < 3 or frames < 2 * window or n_videos < 8:
        raise ConfigError(
            f"need windows of at least 3 frames, at least two of them and 8 videos; got --window {window}, --frames {frames}, --videos {n_videos}"
        )
    started = time.perf_counter()
    trajectory = pipeline.trajectories(n_videos, frames, seed=seed)
    generated = pipeline.generate(n_videos, frames, seed=seed).cpu()
    real, _ = render_videos(world, n_videos, seed=seed + 1)
    starts = list(range(0, frames - window + 1, window))
    first_steps = (trajectory[:, 1:window] - trajectory[:, : window - 1]).norm(dim=-1).mean()
    latent = (trajectory[:, starts] - trajectory[:, :1]).norm(dim=-1).mean(dim=0) / first_steps  # [S]
    short = pipeline.generate(n_videos, window, seed=seed).cpu()
    smooth = pipeline.generate(n_videos, window, seed=seed, interpolation=interpolation).cpu()
    plain_steps, smooth_steps = displacements(short), displacements(smooth)
    speed = {name: float(steps.norm(dim=-1).nanmean()) for name, steps in (("plain", plain_steps), ("interpolated", smooth_steps))}
    return {
        "pipeline_frames": pipeline.n_frames,
        "n_frames": frames,
        "n_videos": n_videos,
        "window": window,
        "extends_the_short_video": bool(torch.allclose(generated[:, :window], short, atol=1e-5)),
        "windows": window_figures(generated, real, window),
        "drift": {
            "window_starts": starts,
            "colour_from_frame_0": {"model": colour_drift(generated, starts), "real": colour_drift(real, starts)},
            "latent_from_content_in_first_steps": [float(value) for value in latent],
        },
        "interpolation": {
            "factor": interpolation,
            "frames": smooth.shape[1],
            "keyframes_are_the_plain_frames": bool(torch.allclose(smooth[:, :: interpolation + 1], short, atol=1e-5)),
            "mean_speed": speed,
            "speed_ratio": speed["plain"] / speed["interpolated"],
            "persistence": {
                "plain": attrs.asdict(figures(short, plain_steps))["persistence"],
                "interpolated": attrs.asdict(figures(smooth, smooth_steps))["persistence"],
            },
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="toy", help="registered pipeline name (latentmotion pipelines), folder or Hub repo id")
    parser.add_argument("--variant", default="shapes", choices=VARIANTS, help="world variant of the real videos (the motion's domain)")
    parser.add_argument("--videos", type=int, default=128, help="videos generated, and real videos rendered")
    parser.add_argument("--frames", type=int, default=128, help="frames per long video")
    parser.add_argument("--window", type=int, default=16, help="frames per window measured (and of the interpolated video)")
    parser.add_argument("--interpolation", type=int, default=7, help="codes inserted between consecutive frames of the interpolated video")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(min(torch.get_num_threads(), 4))
    try:
        pipeline = LatentMotionPipeline.from_pretrained(args.pipeline)
        world = WorldConfig(resolution=pipeline.backend.resolution, n_frames=args.frames, variant=args.variant)
        report = long_video_report(pipeline, world, n_videos=args.videos, window=args.window, interpolation=args.interpolation, seed=args.seed)
    except LatentMotionError as error:
        parser.exit(2, f"error: {one_line(error)}\n")
    print(json.dumps({"pipeline": args.pipeline, "variant": args.variant, **report}, indent=2))


if __name__ == "__main__":
    main()
