"""Reproduce the ablation table of docs/toyworld.md: the method with one part removed, several seeds each.

    python examples/toyworld/ablations.py --out ablations                  # everything: about 20 CPU hours
    python examples/toyworld/ablations.py --out ablations --only no-residual --seeds 1
    python examples/toyworld/ablations.py --out ablations --figure docs/assets/ablations.png  # the docs' figure (matplotlib)

For every ablation (latentmotion_toyworld.ablations.ABLATIONS) and seed it trains the bundled
recipe with the ablation's changes, evaluates the pipeline against real videos and untrained
motion generators (latentmotion_toyworld.evaluate), and appends the figures to OUT/results.jsonl.
A run already in that file is not run again, so an interrupted table resumes where it stopped.
At the end it prints the summary as JSON and the Markdown table, and with `--figure` draws each
run's excess ratios on the figures the paper's claims are about (needs matplotlib).

Bad input (an unknown ablation, too few videos) prints one line `error: ...` and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from latentmotion_toyworld.ablations import ABLATIONS, markdown, select, summarise
from latentmotion_toyworld.arguments import OneLineParser
from latentmotion_toyworld.bundled import MOTION_LAW
from latentmotion_toyworld.config import WorldConfig
from latentmotion_toyworld.evaluate import MAX_EXCESS_RATIO, MIN_VIDEOS, evaluate
from latentmotion_toyworld.reproduce import train_pipeline

from latentmotion.atomic import atomic_path
from latentmotion.errors import LatentMotionError, one_line

PANELS = {"trajectory_distance": "trajectory distance", "colour_acd": "colour ACD"}
"""The figures drawn, with their titles: those the paper's claims show on (motion, and content)."""


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


def append_record(path: Path, record: dict) -> None:
    """Append one run's line to the results, on a line of its own even after a line torn by a crash."""
    with path.open("a+b") as file:
        torn = file.tell() > 0 and file.seek(-1, os.SEEK_END) >= 0 and file.read(1) != b"\n"  # only the last byte is read
        file.write((("\n" if torn else "") + json.dumps(record) + "\n").encode())


def draw(records: list[dict], path: Path) -> None:
    """Draw each ablation's excess ratios on `PANELS` into a PNG: a dot per seed, a bar at their mean.

    An excess ratio is 0 at the real-vs-real floor and 1 at the best untrained motion generator of
    the run's own setting, so in- and cross-domain runs share one axis.

    Args:
        records: The runs of `results.jsonl`.
        path: The PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    names = [name for name in ABLATIONS if any(record["ablation"] == name for record in records)]
    figure, axes = plt.subplots(1, len(PANELS), figsize=(10, 1.5 + 0.45 * len(names)), sharey=True, layout="constrained")
    for axis, (panel, title) in zip(axes, PANELS.items()):
        for row, name in enumerate(names):
            ratios = [record["headline"][panel]["excess_ratio"] for record in records if record["ablation"] == name]
            colour = "tab:orange" if ABLATIONS[name].cross_domain else "tab:blue"
            axis.barh(row, statistics.fmean(ratios), color=colour, alpha=0.35)
            axis.plot(ratios, [row] * len(ratios), "o", color=colour, markersize=4)
        axis.axvline(0, color="black", linewidth=1, label="real vs real")
        axis.axvline(1, color="tab:red", linewidth=1, label="best untrained")
        axis.axvline(MAX_EXCESS_RATIO, color="grey", linestyle="--", linewidth=1, label="target")
        axis.set_title(title)
        axis.set_xlabel("excess over real vs real / the untrained's")
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize="small")
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=120)
    plt.close(figure)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder of the results (results.jsonl), runs and pipelines")
    parser.add_argument("--only", nargs="*", default=[], help="ablations to run (each with its full method); default all")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds 0, 1, ... per ablation")
    parser.add_argument("--steps", type=int, help="training iterations per run (default the bundled recipe's, 6,000)")
    parser.add_argument("--train-videos", type=int, default=512, help="training videos rendered per run")
    parser.add_argument("--videos", type=int, default=1024, help=f"videos per evaluated set, at least {MIN_VIDEOS}")
    parser.add_argument("--untrained-seeds", type=int, default=5, help="untrained motion generators per evaluation")
    parser.add_argument("--figure", type=Path, help="also draw the runs' excess ratios into this .png (needs matplotlib)")
    args = parser.parse_args()

    out = Path(args.out)
    results_file = out / "results.jsonl"
    try:
        ablations = select(args.only)
        if args.videos < MIN_VIDEOS:
            parser.error(f"--videos must be at least {MIN_VIDEOS}, got {args.videos}")
        if args.figure is not None and args.figure.suffix != ".png":
            parser.error(f"--figure must name a .png file, got {args.figure}")
        out.mkdir(parents=True, exist_ok=True)
        done = {(record["ablation"], record["seed"]) for record in read_results(results_file)}
        for ablation in ablations:
            video_variant = "glow" if ablation.cross_domain else "shapes"
            for seed in range(args.seeds):
                if (ablation.name, seed) in done:
                    continue
                name = f"{ablation.name}-seed{seed}"
                started = time.process_time()
                pipeline, config = train_pipeline(
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
                record |= {"training_config": config.to_dict()}  # which recipe: the bundled one changes between releases
                append_record(results_file, record)
        records = read_results(results_file)
        table = summarise(records)
        print(json.dumps(table, indent=2))
        print(markdown(table))
        if args.figure is not None:
            draw(records, args.figure)
    except (LatentMotionError, OSError) as error:
        parser.exit(2, f"error: {one_line(error)}\n")


if __name__ == "__main__":
    main()
