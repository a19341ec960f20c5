"""Memory of rendering through a config-f StyleGAN2 (random weights), per frame, and what a generator step's rendering needs.

Prints JSON. For each resolution it renders 1 and then 2 frames, forward and backward to the codes
(as a generator step does: the generator frozen, the gradient flowing to the motion), and forward
without gradients (as a discriminator step does), and reports the peak memory of each: the
difference between the two is the memory one more frame takes, the rest is fixed (weights, buffers).
On a GPU the peak is the allocator's, on a CPU the process's resident set (reset before each
measurement), so CPU figures include the allocator's slack.

From these it estimates the peak of rendering `--batch-size` videos of `--frames` frames in a
generator step: without gradient checkpointing every frame's activations are alive at once; with
it (`run.gradient_checkpointing`) one call's are (`--checkpoint-frames`, `run.checkpoint_frames`:
by default one video's), beside the rendered frames of the whole batch and their gradient. The
discriminators' memory comes on top (they run at `data.resolution`, the same whatever the
generator's resolution: measure it with `benchmarks/train_step.py` at a small resolution).

    python benchmarks/render_memory.py --resolution 256 1024 --batch-size 16 --frames 16
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from latentmotion_stylegan2.backend import StyleGAN2Backend
from latentmotion_stylegan2.networks import Generator, GeneratorConfig

sys.path.insert(0, str(Path(__file__).parent))
from _common import peak_memory_mib, reset_peak_memory

from latentmotion.devices import resolve_device


def measure(backend: StyleGAN2Backend, n_frames: int, *, grad: bool) -> tuple[float, float]:
    """Peak memory (MiB) above what was in use before, and seconds, of rendering `n_frames` frames (and, with `grad`, the backward pass to the codes)."""
    device = backend.device
    codes = backend.sample_latents(n_frames, generator=torch.Generator().manual_seed(0)).to(device).requires_grad_(grad)
    reset_peak_memory(device)
    before = peak_memory_mib(device)
    started = time.perf_counter()
    with torch.set_grad_enabled(grad):
        frames = backend.synthesize(codes)
        if grad:
            frames.square().mean().backward()
    peak = peak_memory_mib(device) - before
    return peak, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, nargs="+", default=[256, 1024], help="generator resolutions (config-f widths)")
    parser.add_argument("--batch-size", type=int, default=16, help="videos per generator step of the estimate (the authors' global batch)")
    parser.add_argument("--frames", type=int, default=16, help="frames per video of the estimate")
    parser.add_argument("--checkpoint-frames", type=int, help="frames per recomputed call of the estimate (default: --frames)")
    parser.add_argument("--device", default="auto", help="where to render")
    args = parser.parse_args()

    device = resolve_device(args.device)
    chunk = args.checkpoint_frames or args.frames
    results = {}
    for resolution in args.resolution:
        torch.manual_seed(0)
        backend = StyleGAN2Backend(Generator(GeneratorConfig(img_resolution=resolution))).requires_grad_(False).to(device)
        figures = {}
        for grad in (True, False):
            measure(backend, 1, grad=grad)  # warm-up: first-call allocations and kernel choices
            (one, seconds), (two, _) = measure(backend, 1, grad=grad), measure(backend, 2, grad=grad)
            key = "with_grad" if grad else "no_grad"
            figures[key] = {"per_frame_mib": round(two - one, 1), "fixed_mib": round(2 * one - two, 1), "seconds_per_frame": round(seconds, 2)}
        per_frame, fixed = figures["with_grad"]["per_frame_mib"], figures["with_grad"]["fixed_mib"]
        frames = args.batch_size * args.frames
        frame_mib = 3 * resolution**2 * 4 / 2**20  # one rendered fp32 frame
        figures["generator_step_rendering_mib"] = {
            "without_checkpointing": round(fixed + frames * per_frame),
            "with_checkpointing": round(fixed + chunk * per_frame + 2 * frames * frame_mib),  # frames and their gradient
        }
        results[str(resolution)] = figures
        del backend
    print(
        json.dumps(
            {
                "benchmark": "render_memory",
                "generator": "StyleGAN2 config-f (channel_base 32768, channel_max 512, 512-d W, 8 mapping layers), random weights, fp32",
                "device": str(device),
                "torch": torch.__version__,
                "batch_size": args.batch_size,
                "frames": args.frames,
                "checkpoint_frames": chunk,
                "resolutions": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
