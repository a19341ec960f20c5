"""Seconds per generator step and per discriminator step, and peak memory, for a training config.

Prints JSON. The config is a TrainConfig JSON/TOML file and/or options; the real clips are random
tensors of the right shape, so no dataset is needed.

    python benchmarks/train_step.py --backend tiny --backend-options '{"resolution": 128}' --batch-size 4 --frames 16
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_backend_arguments, median_seconds, peak_rss_mib

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
    args = parser.parse_args()

    values = TrainConfig.from_file(args.config).to_dict() if args.config else {}
    values.update(
        backend=args.backend,
        backend_options=json.loads(args.backend_options),
        mode=args.mode,
        batch_size=args.batch_size,
        n_frames=args.frames,
        d_resolution=args.d_resolution,
        basis_samples=2048,
        preview_every=0,
    )
    config = TrainConfig.from_dict(values)
    with tempfile.TemporaryDirectory() as out_dir:
        trainer = Trainer(config, out_dir, dataset=RandomClips(config.n_frames, config.d_resolution), progress=False)
        real = torch.rand(trainer.batch, config.n_frames, 3, trainer.d_resolution, trainer.d_resolution, device=trainer.device) * 2 - 1
        g_step = median_seconds(lambda: trainer.generator_step(real), repeats=args.repeats)
        d_step = median_seconds(lambda: trainer.discriminator_step(real), repeats=args.repeats)
    print(
        json.dumps(
            {
                "benchmark": "train_step",
                "backend": args.backend,
                "backend_options": config.backend_options,
                "mode": config.mode,
                "batch_size": config.batch_size,
                "frames": config.n_frames,
                "render_resolution": trainer.backend.resolution,
                "d_resolution": trainer.d_resolution,
                "device": str(trainer.device),
                "torch_threads": torch.get_num_threads(),
                "g_step_s": round(g_step, 4),
                "d_step_s": round(d_step, 4),
                "iteration_s": round(config.g_steps * g_step + d_step, 4),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
