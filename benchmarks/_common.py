"""Shared helpers of the benchmark scripts: backend from the command line, timing, peak memory."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any


def add_backend_arguments(parser: argparse.ArgumentParser, *, backend: str = "tiny", options: str = '{"resolution": 128, "channels": 128, "dim": 512}') -> None:
    """Add --backend and --backend-options (JSON) to a parser."""
    parser.add_argument("--backend", default=backend, help="registered backend name")
    parser.add_argument("--backend-options", default=options, help="JSON keyword arguments of the backend factory")


def load_backend(args: argparse.Namespace) -> Any:
    """Build the backend the command line names."""
    import latentmotion

    return latentmotion.get_backend(args.backend, **json.loads(args.backend_options))


def median_seconds(function: Callable[[], Any], *, repeats: int, warmup: int = 1) -> float:
    """Median wall time of `function()` over `repeats` runs, after `warmup` untimed runs."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
