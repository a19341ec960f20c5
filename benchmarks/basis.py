"""Benchmark: streaming PCA basis fit against sklearn's IncrementalPCA, as the official MoCoGAN-HD code fits it.

Both fits see the same samples: `--n-samples` codes of dimension 512 drawn in chunks as a fixed
random linear map of Gaussian noise (plus a fixed offset), generated with numpy in float32 once
per fit. Each fit runs in its own process, so that its peak memory (the largest resident-set
increase over the fit, sampled every 5 ms with psutil) is its own. Data generation and imports
are not timed.

Prints one JSON object: the time and peak memory of each fit, the speed ratio, the largest
principal angle between the two top-384 subspaces and the largest relative difference of their
standard deviations. Targets: speedup >= 10, angle < 1e-3 rad.

Run with `python benchmarks/basis.py [--n-samples N]` (needs the `bench` extra: scikit-learn, psutil).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import psutil
from scipy.linalg import subspace_angles

DIM = 512
TOP = 384  # components the motion generator uses
OURS_BATCH = 4096  # PCABasis.fit's default batch size
SKLEARN_BATCH = 1024  # max(100, 2 * 512), as in the official get_stats_pca.py
SEED = 0


def make_samples(n_samples: int) -> np.ndarray:
    """Draw the benchmark's samples: `x = noise @ mixing + offset`, generated in chunks from a fixed seed.

    Args:
        n_samples: Number of samples.

    Returns:
        `[n_samples, DIM]` float32 array, identical on every call.
    """
    rng = np.random.default_rng(SEED)
    mixing = rng.standard_normal((DIM, DIM), dtype=np.float32) / DIM**0.5
    offset = rng.standard_normal(DIM, dtype=np.float32)
    samples = np.empty((n_samples, DIM), dtype=np.float32)
    for start in range(0, n_samples, 65536):
        stop = min(start + 65536, n_samples)
        np.matmul(rng.standard_normal((stop - start, DIM), dtype=np.float32), mixing, out=samples[start:stop])
        samples[start:stop] += offset
    return samples


Fit = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def streaming() -> Fit:
    """Import latentmotion (and torch) and return its streaming fit.

    Returns:
        A function from `[n, DIM]` float32 samples to components `[DIM, DIM]` and stdevs `[DIM]`.
    """
    import torch

    from latentmotion.basis import PCABasis

    def fit(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batches = (torch.from_numpy(samples[i : i + OURS_BATCH]) for i in range(0, len(samples), OURS_BATCH))
        basis = PCABasis.fit_batches(batches)
        return basis.components.double().numpy(), basis.stdev.double().numpy()

    return fit


def sklearn_incremental_pca() -> Fit:
    """Import sklearn and return an IncrementalPCA fit, batch by batch exactly as its `fit` splits the data.

    `IncrementalPCA.fit` would first copy all the samples; feeding `partial_fit` the same batches
    does the same arithmetic without that copy. torch is not imported in this process, so that its
    thread pool does not compete with sklearn's BLAS.

    Returns:
        A function from `[n, DIM]` float32 samples to components `[DIM, DIM]` and stdevs `[DIM]`.
    """
    from sklearn.decomposition import IncrementalPCA
    from sklearn.utils import gen_batches

    def fit(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pca = IncrementalPCA(n_components=DIM, batch_size=SKLEARN_BATCH)
        for batch in gen_batches(len(samples), SKLEARN_BATCH, min_batch_size=DIM):
            pca.partial_fit(samples[batch])
        return pca.components_.astype(np.float64), np.sqrt(pca.explained_variance_).astype(np.float64)

    return fit


FITS: dict[str, Callable[[], Fit]] = {"streaming": streaming, "sklearn_incremental_pca": sklearn_incremental_pca}


def measure(name: str, n_samples: int) -> dict[str, Any]:
    """Generate the samples and import the fit's library, then time the fit and sample its peak resident memory.

    Args:
        name: Key of FITS.
        n_samples: Number of samples.

    Returns:
        `seconds`, `peak_memory_mb` (resident-set increase over the fit), `components`, `stdev`.
    """
    samples = make_samples(n_samples)
    fit = FITS[name]()
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, process.memory_info().rss)

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.perf_counter()
    components, stdev = fit(samples)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    peak = max(peak, process.memory_info().rss)
    return {"seconds": seconds, "peak_memory_mb": (peak - baseline) / 2**20, "components": components, "stdev": stdev}


def main() -> None:
    """Run both fits, each in a fresh process, and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000, help="number of samples (>= 1024; default 1,000,000)")
    args = parser.parse_args()
    if args.n_samples < 2 * DIM:
        parser.error(f"--n-samples must be >= {2 * DIM} (IncrementalPCA needs batches of at least {DIM})")

    context = multiprocessing.get_context("spawn")
    results = {}
    for name in FITS:
        print(f"fitting {name} on {args.n_samples} samples ...", file=sys.stderr, flush=True)
        with context.Pool(1) as pool:
            results[name] = pool.apply(measure, (name, args.n_samples))
    ours, theirs = results["streaming"], results["sklearn_incremental_pca"]
    angle = subspace_angles(ours["components"][:TOP].T, theirs["components"][:TOP].T).max()
    stdev_diff = np.abs(ours["stdev"] - theirs["stdev"]) / theirs["stdev"]
    report = {
        "n_samples": args.n_samples,
        "dim": DIM,
        **{f"{name}_{key}": round(results[name][key], 3) for name in FITS for key in ("seconds", "peak_memory_mb")},
        "speedup": round(theirs["seconds"] / ours["seconds"], 2),
        f"max_principal_angle_top{TOP}_rad": float(angle),
        f"max_stdev_rel_diff_top{TOP}": float(stdev_diff[:TOP].max()),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
