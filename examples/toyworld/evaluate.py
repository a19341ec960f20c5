"""Did the bundled pipeline learn motion? Print JSON comparing it with real videos, untrained motion generators and two baselines.

    python examples/toyworld/evaluate.py                                   # the bundled `toy` pipeline
    python examples/toyworld/evaluate.py --pipeline toy-cross --variant glow

See latentmotion_toyworld.evaluate for the figures: motion distance (sliced Wasserstein-1 between
tracked per-frame displacements, pixels per frame), trajectory distance (the same between whole
videos' displacement sequences), direction distance (total variation between the shares of
videos moving into each of 8 sectors of directions), speed spread, persistence and colour ACD,
for the model, the same pipeline with freshly initialised motion weights (the recipe's
initialisation, one per init seed), static videos and a random walk in the PCA basis with the
model's step length. The headline of each figure is the model's excess over the real-vs-real
floor as a fraction of the best untrained seed's excess (0: at the floor; 1: no better than
untrained).

Bad input (a pipeline that does not exist or is not on the toy backend, an unknown variant, fewer
videos than the floor needs) prints one line `error: ...` on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import json

from latentmotion_toyworld.arguments import OneLineParser
from latentmotion_toyworld.bundled import MOTION_LAW
from latentmotion_toyworld.config import VARIANTS, WorldConfig
from latentmotion_toyworld.evaluate import MIN_VIDEOS, evaluate, targets

from latentmotion import LatentMotionPipeline
from latentmotion.errors import LatentMotionError, one_line


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="toy", help="registered pipeline name (latentmotion pipelines), folder or Hub repo id")
    parser.add_argument("--variant", default="shapes", choices=VARIANTS, help="world variant of the real videos (the motion's domain)")
    parser.add_argument("--videos", type=int, default=1024, help=f"videos in each set, at least {MIN_VIDEOS}; with fewer than 1,024, the real floor nears the random walk")
    parser.add_argument("--frames", type=int, help="frames per video (default: the pipeline's)")
    parser.add_argument("--untrained-seeds", type=int, default=5, help="untrained motion generators (init seeds 0, 1, ...)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    try:
        pipeline = LatentMotionPipeline.from_pretrained(args.pipeline)
        world = WorldConfig(resolution=pipeline.backend.resolution, n_frames=args.frames or pipeline.n_frames, variant=args.variant, **MOTION_LAW)
        report = evaluate(pipeline, world, n_videos=args.videos, seed=args.seed, untrained_seeds=args.untrained_seeds)
    except LatentMotionError as error:
        parser.exit(2, f"error: {one_line(error)}\n")
    report["pipeline"] = args.pipeline
    report["targets"] = targets(report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
