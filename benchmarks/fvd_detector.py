"""Throughput of the FVD detector (our I3D, full width, random weights): clips per second and FLOPs per clip.

Prints JSON. `achieved_gflops` against the machine's peak shows how much of it the detector uses;
FVD on 2,048 clips costs `2048 / clips_per_s` seconds of detector time per set, plus decoding.

    python benchmarks/fvd_detector.py --frames 16 --batch 8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_seconds, peak_rss_mib

from latentmotion.metrics.fvd import DETECTOR_SIZE, preprocess
from latentmotion.metrics.i3d import I3DConfig, InceptionI3d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=16, help="frames per clip (FVD16: 16, FVD128: 128)")
    parser.add_argument("--batch", type=int, default=8, help="clips per detector call (StyleGAN-V: 128 // frames)")
    parser.add_argument("--resolution", type=int, default=256, help="side of the frames before the detector's resize")
    parser.add_argument("--width", type=float, default=1.0, help="channel factor of the network (1: the real detector)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    device = torch.device(args.device)
    network = InceptionI3d(I3DConfig(width=args.width)).eval().to(device)
    clips = torch.rand(args.batch, args.frames, 3, args.resolution, args.resolution) * 2 - 1  # [B, T, 3, R, R]

    def run() -> None:
        with torch.no_grad():
            network(preprocess(clips, size=DETECTOR_SIZE).to(device))
        if device.type == "cuda":
            torch.cuda.synchronize()

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        network(preprocess(clips[:1], size=DETECTOR_SIZE).to(device))
    flops_per_clip = counter.get_total_flops()
    seconds = median_seconds(run, repeats=args.repeats)
    clips_per_s = args.batch / seconds
    print(
        json.dumps(
            {
                "benchmark": "fvd_detector",
                "device": str(device),
                "torch_threads": torch.get_num_threads(),
                "frames": args.frames,
                "batch": args.batch,
                "resolution": args.resolution,
                "detector_size": DETECTOR_SIZE,
                "width": args.width,
                "batch_s": round(seconds, 4),
                "clips_per_s": round(clips_per_s, 3),
                "flops_per_clip": flops_per_clip,
                "achieved_gflops": round(flops_per_clip * clips_per_s / 1e9, 2),
                "seconds_per_2048_clips": round(2048 / clips_per_s, 1),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
