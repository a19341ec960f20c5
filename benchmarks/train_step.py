"""Seconds per generator step and per discriminator step, and peak memory, for a training config.

Prints JSON. The config is a TrainConfig JSON/TOML file and/or options; the real clips are random
tensors of the right shape, so no dataset is needed. Each variant (`run.precision`, `+compile` for
`run.compile`, `+checkpoint` for `run.gradient_checkpointing`, `+reuse` for `optim.reuse_fakes`) is
timed in the same process on the same batch, beside the fp32 eager steps, and reported with its speed-up over them (fp32 eager
seconds / its seconds: `> 1` is faster) and the peak memory of each step against theirs
(`memory_ratio`: on a GPU the allocator's peak, on Linux the process's peak resident set, reset
before each step; the fp32 variant runs without checkpointing unless the config turns it on), and
where a discriminator step's time goes (`d_step_parts`: rendering the fakes, then D_V's loss, its
gradient penalty and D_I's losses, each forward and backward, and their `share` of the step), and
how close the fp32 steps come to the device's measured float32 matrix-multiply throughput
(`roofline`: the floating-point operations of the generator step and of the discriminator step's
rendering, counted by `torch.utils.flop_counter`, the TFLOP/s each runs at, that share of the
measured peak, and `*_floor_s`, its time at the peak: no fp32 implementation of the same
arithmetic is faster on this device). Without
`--variants`, a GPU times every precision it runs, eager and compiled; a CPU times fp32 alone, to
stay quick: bf16 is emulated on CPUs without AVX512-BF16 or AMX (25 times slower than fp32 on an
AVX2 machine), fp16 is refused and compiling takes minutes; name them to time them.

    python benchmarks/train_step.py --backend tiny --backend-options '{"resolution": 128}' --batch-size 4 --frames 16
    python benchmarks/train_step.py --variants fp32,bf16,fp32+compile --repeats 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_backend_arguments, matmul_tflops, median_seconds, peak_memory_mib, peak_rss_mib, reset_peak_memory

from latentmotion.devices import resolve_device
from latentmotion.train import TrainConfig, Trainer


class RandomClips(torch.utils.data.Dataset):
    """Random clips; the benchmark feeds its own batch, so these are never read."""

    def __init__(self, n_frames: int, resolution: int) -> None:
        self.shape = (n_frames, 3, resolution, resolution)

    def __len__(self) -> int:
        return 64

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.rand(self.shape) * 2 - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_backend_arguments(parser, options='{"resolution": 128, "channels": 64, "dim": 512}')
    parser.add_argument("--config", help="TrainConfig .json or .toml file (options below override it)")
    parser.add_argument("--mode", default="in-domain", choices=["in-domain", "cross-domain"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--d-resolution", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", help="comma-separated PRECISION[+compile] (default: what the device runs, see above)")
    parser.add_argument("--device", default="auto", help="run.device")
    parser.add_argument("--json-out", type=Path, help="also write the JSON to this file (for benchmarks/data.py --train-step)")
    args = parser.parse_args()

    config = (TrainConfig.from_file(args.config) if args.config else TrainConfig()).with_changes(
        {
            "backend": args.backend,
            "backend_options": json.loads(args.backend_options),
            "mode": args.mode,
            "data.batch_size": args.batch_size,
            "data.n_frames": args.frames,
            "data.resolution": args.d_resolution,
            "motion.basis_samples": 2048,
            "run.preview_every": 0,
            "run.device": args.device,
        }
    )
    variants = args.variants.split(",") if args.variants else default_variants(resolve_device(config.run.device))
    if any(not set(variant.split("+")[1:]) <= {"compile", "checkpoint", "reuse"} for variant in variants):
        parser.error(f"--variants are PRECISION with +compile, +checkpoint and/or +reuse, got {args.variants}")
    if "fp32" not in variants:
        variants.insert(0, "fp32")  # the reference of every ratio
    timings, parts, trainer = {}, {}, None
    dataset = RandomClips(config.data.n_frames, config.data.resolution)
    with tempfile.TemporaryDirectory() as out_dir:
        for variant in variants:
            precision, *extras = variant.split("+")
            compiled = "compile" in extras
            checkpointing = "checkpoint" in extras or bool(config.run.gradient_checkpointing)  # not the default's "on from 128 px"
            changes = {"run.precision": precision, "run.compile": compiled, "run.gradient_checkpointing": checkpointing, "optim.reuse_fakes": "reuse" in extras}
            changed = config.with_changes(changes)
            shared = {"backend": trainer.backend, "basis": trainer.basis} if trainer else {}  # one backend and basis for every variant
            trainer = Trainer(changed, Path(out_dir) / variant, dataset=dataset, progress=False, **shared)
            real = random_real(trainer)
            timings[variant] = time_steps(trainer, real, repeats=args.repeats, warmup=3 if compiled else 1)
            parts[variant] = discriminator_parts(trainer, real, repeats=args.repeats)
            if variant == "fp32":
                roofline = step_roofline(trainer, real, timings[variant] | parts[variant])
    g_steps = config.optim.g_steps
    for timing in timings.values():
        timing["iteration_s"] = g_steps * timing["g_step_s"] + timing["d_step_s"]
    reference = timings["fp32"]
    report = {
        variant: {key: round(value, 4) for key, value in timing.items()}
        | {"speedup": {key.removesuffix("_s"): round(reference[key] / value, 3) for key, value in timing.items() if key.endswith("_s")}}
        | {"memory_ratio": {key.removesuffix("_peak_mib"): round(value / reference[key], 3) for key, value in timing.items() if key.endswith("_peak_mib")}}
        | {"d_step_parts": {key: round(value, 4) for key, value in parts[variant].items()} | {"share": d_step_shares(parts[variant], timing["d_step_s"])}}
        for variant, timing in timings.items()
    }
    text = json.dumps(
        {
            "benchmark": "train_step",
            "backend": args.backend,
            "backend_options": config.backend_options,
            "mode": config.mode,
            "batch_size": config.data.batch_size,
            "frames": config.data.n_frames,
            "render_resolution": trainer.backend.resolution,
            "d_resolution": trainer.d_resolution,
            "device": str(trainer.device),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "g_steps": g_steps,
            "variants": report,
            "roofline": roofline,
            "peak_rss_mib": round(peak_rss_mib(), 1),
        },
        indent=2,
    )
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")


def random_real(trainer: Trainer) -> torch.Tensor:
    """A batch of random "real" clips of the trainer's shape, the same for every variant."""
    torch.manual_seed(0)
    return torch.rand(trainer.batch, trainer.config.data.n_frames, 3, trainer.d_resolution, trainer.d_resolution, device=trainer.device) * 2 - 1


def time_steps(trainer: Trainer, real: torch.Tensor, *, repeats: int, warmup: int) -> dict[str, float]:
    """Median seconds of a generator step and of a discriminator step on one batch (compiling: warm up past the kernel builds), and each one's peak memory."""
    timings = {}
    for name, step in (("g_step", trainer.generator_step), ("d_step", trainer.discriminator_step)):
        reset_peak_memory(trainer.device)
        timings[f"{name}_s"] = median_seconds(lambda step=step: step(real), repeats=repeats, warmup=warmup)
        timings[f"{name}_peak_mib"] = peak_memory_mib(trainer.device)
    return timings


def step_roofline(trainer: Trainer, real: torch.Tensor, seconds: dict[str, float]) -> dict[str, float]:
    """TFLOP of the generator step and of a discriminator step's rendering (each run once more, counted), the TFLOP/s their timings give, that share of the measured matmul peak, and their time at the peak.

    The rest of the discriminator step is not counted: the counter's module hooks cannot follow the gradient penalty's `autograd.grad`.

    Args:
        trainer: The fp32 eager trainer that was timed.
        real: `[B, T, 3, H, W]` the batch it was timed on.
        seconds: Its timings: `g_step_s` and `render_fakes_s`.
    """
    peak = matmul_tflops(trainer.device)
    report = {"device_matmul_tflops": round(peak, 4)}
    for name, work in (("g_step", lambda: trainer.generator_step(real)), ("render_fakes", lambda: trainer.fake_clips(grad=False))):
        with FlopCounterMode(display=False) as counter:
            work()
        tflop = counter.get_total_flops() / 1e12
        achieved = tflop / seconds[f"{name}_s"]
        report |= {f"{name}_tflop": round(tflop, 4), f"{name}_tflops": round(achieved, 4), f"{name}_of_peak": round(achieved / peak, 3), f"{name}_floor_s": round(tflop / peak, 4)}
    return report


def discriminator_parts(trainer: Trainer, real: torch.Tensor, *, repeats: int) -> dict[str, float]:
    """Median seconds of each part of a discriminator step: rendering the fakes, then each loss's forward and backward pass (D_V's loss, its gradient penalty, D_I's losses); the optimiser steps are the rest."""
    fake, _ = trainer.fake_clips(grad=False)

    def backward(losses: dict[str, torch.Tensor]) -> None:
        if losses:  # D_I may be off
            sum(losses.values()).backward()

    parts = {
        "video_d": lambda: backward(trainer.video_discriminator_loss(real, fake)),
        "gradient_penalty": lambda: backward(trainer.gradient_penalty(real, fake)),
        "image_d": lambda: backward(trainer.image_discriminator_losses(real, fake)),
    }
    if not trainer.config.optim.reuse_fakes:  # with it the step renders nothing
        parts = {"render_fakes": lambda: trainer.fake_clips(grad=False)} | parts
    seconds = {f"{name}_s": median_seconds(part, repeats=repeats) for name, part in parts.items()}
    for network in (trainer.video_d, trainer.image_d):
        network.zero_grad(set_to_none=True)
    return seconds


def d_step_shares(parts: dict[str, float], d_step_s: float) -> dict[str, float]:
    """Each part's share of the discriminator step's time, and the rest (optimiser steps, what the parts do not time)."""
    shares = {key.removesuffix("_s"): round(value / d_step_s, 3) for key, value in parts.items()}
    return shares | {"rest": round(1 - sum(parts.values()) / d_step_s, 3)}


def default_variants(device: torch.device) -> list[str]:
    """The variants timed without `--variants`: on a GPU every precision it runs, eager and compiled; elsewhere fp32 alone."""
    if device.type != "cuda":
        return ["fp32"]
    precisions = ["fp32", "bf16", "fp16"] if torch.cuda.is_bf16_supported() else ["fp32", "fp16"]
    return precisions + [f"{precision}+compile" for precision in precisions]


if __name__ == "__main__":
    main()
