"""Time of reproducing the bundled `toy` motion generator, projected from two short runs.

A full reproduction (`python -m latentmotion_toyworld.reproduce`, 6,000 iterations) takes about
60 CPU minutes. This script runs the same command twice with fewer iterations,
each as a fresh process writing to a temporary folder (the bundled files are left alone), and
splits the time into a fixed part (rendering the dataset, fitting the basis, start-up) and a part
per iteration, from which it projects the full run.

    python benchmarks/toy_reproduce.py --short 20 --long 80
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from latentmotion_toyworld.reproduce import STEPS


def reproduce_minutes(steps: int, *, out: Path) -> dict[str, float]:
    """Run the reproduction for `steps` iterations in a fresh process and return its wall and CPU minutes."""
    command = [sys.executable, "-m", "latentmotion_toyworld.reproduce", "--steps", str(steps), "--out", str(out)]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {"wall_minutes": report["wall_minutes"], "cpu_minutes": report["cpu_minutes"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=int, default=20, help="iterations of the shorter run")
    parser.add_argument("--long", type=int, default=80, help="iterations of the longer run")
    parser.add_argument("--full", type=int, default=STEPS["in-domain"], help="iterations of the full reproduction to project")
    args = parser.parse_args()
    if not 0 < args.short < args.long:
        parser.error(f"need 0 < --short < --long, got {args.short} and {args.long}")
    with tempfile.TemporaryDirectory() as out:
        short = reproduce_minutes(args.short, out=Path(out) / "short")
        long = reproduce_minutes(args.long, out=Path(out) / "long")
    report = {"short": {"steps": args.short, **short}, "long": {"steps": args.long, **long}}
    for clock in ("wall_minutes", "cpu_minutes"):
        per_step = (long[clock] - short[clock]) / (args.long - args.short)
        fixed = short[clock] - per_step * args.short
        report[clock] = {"fixed": round(fixed, 3), "per_step_seconds": round(per_step * 60, 3), f"projected_{args.full}_steps": round(fixed + per_step * args.full, 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
