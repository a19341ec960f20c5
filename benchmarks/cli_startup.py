"""Start-up time of the CLI: `latentmotion --help` and `latentmotion backends` against a bare `python -c pass`.

Each command runs the installed console script (or `python -m latentmotion.cli` without one) as a
fresh subprocess `--repeats` times (after one untimed warm-up run that
fills the OS file cache); the median wall time is reported, with `python -c pass` as the floor
that no Python program can beat. Also reports whether `import torch` happened: each command runs
once more with `-X importtime`, and the JSON says if torch appears among its imports. Target:
both commands under 1 s, and no torch.

    python benchmarks/cli_startup.py --repeats 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "latentmotion"  # the console script of `pip install`
ENTRY = [str(SCRIPT)] if SCRIPT.is_file() else ["-m", "latentmotion.cli"]
COMMANDS = {
    "baseline (python -c pass)": [sys.executable, "-c", "pass"],
    "latentmotion --help": [sys.executable, *ENTRY, "--help"],
    "latentmotion backends": [sys.executable, *ENTRY, "backends"],
}
TARGET_SECONDS = 1.0


def median_seconds(command: list[str], *, repeats: int) -> float:
    """Median wall time of running `command` as a subprocess, after one untimed run.

    Args:
        command: The argument vector.
        repeats: Timed runs.

    Returns:
        Seconds.
    """
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def imports_torch(command: list[str]) -> bool:
    """Whether `command` (a `python ...` vector) imports torch, from `-X importtime`'s report.

    Args:
        command: The argument vector, starting with the Python executable.

    Returns:
        True when the module `torch` was imported.
    """
    report = subprocess.run([command[0], "-X", "importtime", *command[1:]], check=True, capture_output=True, text=True).stderr
    return any(line.rsplit("|", 1)[-1].strip() == "torch" for line in report.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per command")
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent.parent)
    seconds = {name: median_seconds(command, repeats=args.repeats) for name, command in COMMANDS.items()}
    baseline = seconds["baseline (python -c pass)"]
    results = {
        name: {
            "median_s": round(value, 4),
            "over_baseline_s": round(value - baseline, 4),
            **({} if name.startswith("baseline") else {"imports_torch": imports_torch(COMMANDS[name]), "under_target": value < TARGET_SECONDS}),
        }
        for name, value in seconds.items()
    }
    print(json.dumps({"repeats": args.repeats, "target_s": TARGET_SECONDS, "python": sys.version.split()[0], "commands": results}, indent=2))


if __name__ == "__main__":
    main()
