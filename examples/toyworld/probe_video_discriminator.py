"""Can a video discriminator see how steadily a pipeline moves its objects?

    python examples/toyworld/probe_video_discriminator.py                     # real clips from the world
    python examples/toyworld/probe_video_discriminator.py --real steadied     # appearance held equal

Renders the pipeline's videos and, for each, a *steadied* copy: the same content code moved by the
video's mean step at every frame (constant velocity, the same appearance and net motion). Trains a
fresh D_V of the trainer's architecture (the in-domain view, the trainer's loss and optimiser) to
tell "real" clips from the generated ones, then reports on held-out clips how often it scores a
real clip above a generated one, and a steadied clip above its original. A D_V that sees jitter
prefers the steadied copies; one that goes by appearance does not.

With `--real world` the real clips are world videos; with `--real steadied` they are steadied
copies of other generated videos, so that only the motion tells them from the generated ones.
`--differences` stacks each later frame's difference from the previous one on D_V's view as well
(not in the paper, nor in the trainer). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from einops import rearrange
from latentmotion_toyworld.config import VARIANTS, WorldConfig
from latentmotion_toyworld.world import render_videos

from latentmotion import LatentMotionPipeline, losses
from latentmotion.discriminators import VideoDiscriminator
from latentmotion.modes import stack_first_frame
from latentmotion.rendering import render
from latentmotion.streams import Stream, stream_generator
from latentmotion.train import resize_clips


def steadied(trajectory: torch.Tensor) -> torch.Tensor:
    """Each path moved by its mean step at every frame.

    Args:
        trajectory: `[B, T, D]` codes.

    Returns:
        `[B, T, D]` codes on the straight line from the first to the last code, evenly spaced.
    """
    fraction = torch.linspace(0, 1, trajectory.shape[1], dtype=trajectory.dtype)[None, :, None]  # [1, T, 1]
    return trajectory[:, :1] + fraction * (trajectory[:, -1:] - trajectory[:, :1])


def discriminator_input(clips: torch.Tensor, *, resolution: int, differences: bool) -> torch.Tensor:
    """The trainer's in-domain view of clips, optionally with frame differences stacked on.

    Args:
        clips: `[B, T, 3, R, R]` clips.
        resolution: Side of the frames D_V sees.
        differences: Stack each later frame's difference from the previous one on its channels.

    Returns:
        `[B, 6, T-1, d, d]`, or `[B, 9, T-1, d, d]` with `differences`.
    """
    clips = resize_clips(clips, resolution)
    view = stack_first_frame(clips)
    if not differences:
        return view
    return torch.cat([view, rearrange(clips[:, 1:] - clips[:, :-1], "b t c h w -> b c t h w")], dim=1)


@torch.no_grad()
def generated_clips(pipeline: LatentMotionPipeline, n_videos: int, n_frames: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Render generated videos and their steadied copies.

    Args:
        pipeline: The pipeline.
        n_videos: Videos B.
        n_frames: Frames T.
        seed: Seed of the content, motion and rendering noise.

    Returns:
        `[B, T, 3, R, R]` generated clips and their steadied copies, in `[-1, 1]`.
    """
    trajectory = pipeline.trajectories(n_videos, n_frames, seed=seed)
    noise = pipeline.backend.sample_noise(n_videos, generator=stream_generator(seed, Stream.RENDER_NOISE))
    return render(pipeline.backend, trajectory, noise, batch_size=256).cpu(), render(pipeline.backend, steadied(trajectory), noise, batch_size=256).cpu()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="toy", help="registered pipeline name (latentmotion pipelines), folder or Hub repo id")
    parser.add_argument("--variant", default="shapes", choices=VARIANTS, help="world variant of the real videos")
    parser.add_argument("--real", default="world", choices=("world", "steadied"), help="what the real clips are")
    parser.add_argument("--videos", type=int, default=768, help="clips of each kind; the last --held-out are for the report")
    parser.add_argument("--held-out", type=int, default=128)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=32, help="side of the frames D_V sees")
    parser.add_argument("--channels", type=int, default=16, help="D_V's base width")
    parser.add_argument("--steps", type=int, default=800, help="D_V updates")
    parser.add_argument("--batch", type=int, default=16, help="clips of each kind per update")
    parser.add_argument("--differences", action="store_true", help="also show D_V frame differences")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 0 < args.held_out < args.videos:
        parser.error(f"--held-out must be between 1 and --videos - 1, got {args.held_out}")

    started = time.perf_counter()
    pipeline = LatentMotionPipeline.from_pretrained(args.pipeline)
    generated, steady = generated_clips(pipeline, args.videos, args.frames, seed=args.seed)
    if args.real == "world":
        real, _ = render_videos(WorldConfig(variant=args.variant, n_frames=args.frames, resolution=pipeline.backend.resolution), args.videos, seed=args.seed + 1)
    else:
        real = generated_clips(pipeline, args.videos, args.frames, seed=args.seed + 1)[1]

    real, generated, steady = (discriminator_input(clips, resolution=args.resolution, differences=args.differences) for clips in (real, generated, steady))
    video_d = VideoDiscriminator(in_channels=real.shape[1], channels=args.channels)
    optimiser = torch.optim.Adam(video_d.parameters(), lr=1e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(args.seed)
    n_train = args.videos - args.held_out
    for _ in range(args.steps):
        logits = video_d(torch.cat([real[torch.randint(n_train, (args.batch,), generator=rng)], generated[torch.randint(n_train, (args.batch,), generator=rng)]]))
        loss = losses.ralsgan_discriminator_loss([scale[: args.batch] for scale in logits], [scale[args.batch :] for scale in logits])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    @torch.no_grad()
    def score(clips: torch.Tensor) -> torch.Tensor:  # [N] mean patch logit over scales
        return torch.stack([scale.flatten(1).mean(1) for scale in video_d(clips[n_train:])]).mean(0)

    real_score, generated_score, steady_score = score(real), score(generated), score(steady)
    report = {
        "pipeline": args.pipeline,
        "real": args.real,
        "resolution": args.resolution,
        "differences": args.differences,
        "steps": args.steps,
        "real_above_generated": float((real_score[:, None] > generated_score[None]).float().mean()),
        "steadied_above_original": float((steady_score > generated_score).float().mean()),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
