"""Reproduce the ablation table of docs/toyworld.md: the method with one part removed, several seeds each.

    python examples/toyworld/ablations.py --out ablations                  # everything: about 13 CPU hours
    python examples/toyworld/ablations.py --out ablations --only no-residual --seeds 1

For every ablation (latentmotion_toyworld.ablations.ABLATIONS) and seed it trains the bundled
recipe with the ablation's changes, evaluates the pipeline against real videos and untrained
motion generators (latentmotion_toyworld.evaluate), and appends the figures to OUT/results.jsonl.
A run already in that file is not run again, so an interrupted table resumes where it stopped.
At the end it prints the summary as JSON and the Markdown table.

Bad input (an unknown ablation, too few videos) prints one line `error: ...` and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from latentmotion_toyworld.ablations import markdown, select, summarise
from latentmotion_toyworld.arguments import OneLineParser
from latentmotion_toyworld.bundled import MOTION_LAW
from latentmotion_toyworld.config import WorldConfig
from latentmotion_toyworld.evaluate import MIN_VIDEOS, evaluate
from latentmotion_toyworld.reproduce import STEPS, train_pipeline

from latentmotion.errors import LatentMotionError, one_line


def read_results(path: Path) -> list[dict]:
    """The runs recorded so far (none when the file does not exist); a line torn by a crash is left out, so its run runs again."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder of the results (results.jsonl), runs and pipelines")
    parser.add_argument("--only", nargs="*", default=[], help="ablations to run (each with its full method); default all")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds 0, 1, ... per ablation")
    parser.add_argument("--steps", type=int, default=STEPS, help="training iterations per run (the bundled recipe's)")
    parser.add_argument("--train-videos", type=int, default=512, help="training videos rendered per run")
    parser.add_argument("--videos", type=int, default=1024, help=f"videos per evaluated set, at least {MIN_VIDEOS}")
    parser.add_argument("--untrained-seeds", type=int, default=5, help="untrained motion generators per evaluation")
    args = parser.parse_args()

    out = Path(args.out)
    results_file = out / "results.jsonl"
    try:
        ablations = select(args.only)
        if args.videos < MIN_VIDEOS:
            parser.error(f"--videos must be at least {MIN_VIDEOS}, got {args.videos}")
        out.mkdir(parents=True, exist_ok=True)
        done = {(record["ablation"], record["seed"]) for record in read_results(results_file)}
        for ablation in ablations:
            video_variant = "glow" if ablation.cross_domain else "shapes"
            for seed in range(args.seeds):
                if (ablation.name, seed) in done:
                    continue
                name = f"{ablation.name}-seed{seed}"
                started = time.process_time()
                pipeline, _ = train_pipeline(
                    image_variant="shapes",
                    video_variant=video_variant,
                    videos=args.train_videos,
                    steps=args.steps,
                    seed=seed,
                    run_dir=out / "runs" / name,
                    changes=ablation.changes,
                )
                pipeline.save_pretrained(out / "pipelines" / name)
                training_minutes = (time.process_time() - started) / 60
                world = WorldConfig(resolution=pipeline.backend.resolution, n_frames=pipeline.n_frames, variant=video_variant, **MOTION_LAW)
                report = evaluate(pipeline, world, n_videos=args.videos, seed=0, untrained_seeds=args.untrained_seeds)
                record = {"ablation": ablation.name, "seed": seed, "cpu_minutes": round((time.process_time() - started) / 60, 2)}
                record |= {"training_cpu_minutes": round(training_minutes, 2), "model": report["model"], "headline": report["headline"]}
                with results_file.open("a") as file:
                    file.write(json.dumps(record) + "\n")
    except LatentMotionError as error:
        parser.exit(2, f"error: {one_line(error)}\n")
    table = summarise(read_results(results_file))
    print(json.dumps(table, indent=2))
    print(markdown(table))


if __name__ == "__main__":
    main()
