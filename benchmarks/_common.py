"""Shared helpers of the benchmark scripts: backend from the command line, timing, peak memory."""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
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


def matmul_tflops(device: Any, *, size: int = 2048, repeats: int = 10) -> float:
    """This device's float32 matrix-multiply throughput (TFLOP/s), the fastest of `repeats` products: the ceiling of a step made of convolutions."""
    import torch

    a, b = (torch.randn(size, size, device=device) for _ in range(2))

    def multiply() -> float:
        started = time.perf_counter()
        a @ b
        if getattr(device, "type", device) == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    multiply()  # warm-up
    return 2 * size**3 / min(multiply() for _ in range(repeats)) / 1e12


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_memory(device: Any) -> None:
    """Start measuring a new peak: the CUDA allocator's on a GPU, else the process's resident set (Linux resets VmHWM)."""
    import torch

    if getattr(device, "type", device) == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        return
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc: hand freed memory back, so the new peak starts from what is in use
        except (OSError, AttributeError):
            pass  # another C library: the peak starts from the resident set, freed memory included
        clear_refs.write_text("5")  # resets the peak resident set size to the current one


def peak_memory_mib(device: Any) -> float:
    """Peak memory since `reset_peak_memory`: allocated tensors on a GPU, else the resident set (MiB)."""
    import torch

    if getattr(device, "type", device) == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(device) / 2**20
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mib()
