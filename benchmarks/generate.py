"""Time of generating B videos of T frames against the backend alone rendering the same B*T codes.

Prints JSON. The ratio `generate / render_only - 1` is what the motion generator adds.

    python benchmarks/generate.py --videos 4 --frames 16
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_backend_arguments, load_backend, median_seconds

from latentmotion.basis import PCABasis
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_backend_arguments(parser)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    backend = load_backend(args)
    dim = backend.latent_space.total_dim
    basis = PCABasis.fit(backend, n_samples=4 * dim + 100, batch_size=1024)
    k = min(384, basis.n_components)
    motion = MotionGenerator(MotionConfig(latent_dim=dim, n_components=k, hidden_dim=384), basis=basis.scaled(k))
    pipeline = LatentMotionPipeline(backend=backend, basis=basis, motion=motion)
    codes = backend.sample_latents(args.videos * args.frames, generator=torch.Generator().manual_seed(0))
    noise = backend.sample_noise(args.videos * args.frames, generator=torch.Generator().manual_seed(1))

    with torch.no_grad():
        render_only = median_seconds(lambda: backend.synthesize(codes, noise=noise or None), repeats=args.repeats)
        generate = median_seconds(lambda: pipeline.generate(args.videos, args.frames, seed=0), repeats=args.repeats)
        motion_only = median_seconds(lambda: pipeline.trajectories(args.videos, args.frames, seed=0), repeats=args.repeats)
    print(
        json.dumps(
            {
                "benchmark": "generate",
                "backend": args.backend,
                "backend_options": json.loads(args.backend_options),
                "videos": args.videos,
                "frames": args.frames,
                "torch_threads": torch.get_num_threads(),
                "render_only_s": round(render_only, 5),
                "generate_s": round(generate, 5),
                "motion_only_s": round(motion_only, 5),
                "generate_over_render": round(generate / render_only, 4),
                "motion_overhead_fraction": round(generate / render_only - 1, 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
