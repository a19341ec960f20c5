"""Does the clip loader keep up with training? Clips per second from long 720p H.264 videos.

Prints JSON: clips per second of `VideoFolderDataset` (16-frame clips at time step 2, resized to
256 px) read through a `DataLoader` with each number of workers, the same with the seek turned
off (decoding every clip from frame 0, the loader before the seek) side by side in this process,
and the clips per second one training iteration consumes: `batch / step_seconds`.

Without `--folder`, it writes `--videos` H.264 videos of `--seconds` seconds at 1280x720 first
(a moving gradient, keyframes every 250 frames as libx264 places them). Pass `--step-seconds` the
time of one training iteration on your hardware, or `--train-step` the JSON that
`benchmarks/train_step.py --json-out` wrote there (its fastest variant's iteration, its batch and
discriminator resolution); without either, `loader_keeps_up` is left out.

    python benchmarks/data.py --workers 0 4 --clips 32
    python benchmarks/data.py --folder videos/ --step-seconds 0.9 --batch 16
    python benchmarks/data.py --workers 0 4 8 --train-step train_step.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from unittest import mock

import av
import numpy as np
import torch
from torch.utils.data import DataLoader

from latentmotion import video
from latentmotion.data import VideoFolderDataset


def write_long_videos(folder: Path, *, count: int, seconds: float, fps: int = 25, width: int = 1280, height: int = 720) -> Path:
    """H.264 videos of a gradient sliding right, one frame a step."""
    folder.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0, 255, width, dtype=np.float32)
    for number in range(count):
        with av.open(str(folder / f"long-{number}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for t in range(int(seconds * fps)):
                row = np.roll(ramp, 4 * t + 97 * number).astype(np.uint8)
                frame = np.broadcast_to(row[None, :, None], (height, width, 3)).copy()
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
    return folder


def clips_per_second(dataset: VideoFolderDataset, *, workers: int, clips: int) -> float:
    """Clips per second drawn through a DataLoader of `workers` processes (after one warm-up clip each)."""
    indices = [i % len(dataset) for i in range(clips + max(workers, 1))]
    loader = DataLoader(torch.utils.data.Subset(dataset, indices), batch_size=1, num_workers=workers, generator=torch.Generator().manual_seed(0))
    batches = iter(loader)
    for _ in range(max(workers, 1)):
        next(batches)
    started = time.perf_counter()
    for _ in range(clips):
        next(batches)
    return clips / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="folder of videos to read (default: write long 720p videos first)")
    parser.add_argument("--videos", type=int, default=2, help="videos to write without --folder")
    parser.add_argument("--seconds", type=float, default=65.0, help="length of each written video")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 4], help="DataLoader worker counts to measure")
    parser.add_argument("--clips", type=int, default=32, help="clips timed per measurement")
    parser.add_argument("--resolution", type=int, default=256, help="side of the training frames")
    parser.add_argument("--batch", type=int, default=16, help="clips one training iteration consumes")
    timing = parser.add_mutually_exclusive_group()
    timing.add_argument("--step-seconds", type=float, help="seconds of one training iteration on the target hardware")
    timing.add_argument("--train-step", type=Path, help="JSON of benchmarks/train_step.py --json-out: sets --step-seconds, --batch and --resolution")
    args = parser.parse_args()
    consumer = None
    if args.train_step:
        step = json.loads(args.train_step.read_text())
        consumer = min(step["variants"], key=lambda name: step["variants"][name]["iteration_s"])
        args.step_seconds, args.batch, args.resolution = step["variants"][consumer]["iteration_s"], step["batch_size"], step["d_resolution"]

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        folder = args.folder or write_long_videos(Path(scratch) / "videos", count=args.videos, seconds=args.seconds)
        written_seconds = time.perf_counter() - started
        dataset = VideoFolderDataset(folder, n_frames=16, time_step=2, resolution=args.resolution)
        seeking = {f"workers_{n}": clips_per_second(dataset, workers=n, clips=args.clips) for n in args.workers}
        with mock.patch.object(video, "_decode_after_seek", lambda *_: None):  # decode every clip from frame 0
            from_start = clips_per_second(dataset, workers=0, clips=max(args.clips // 4, 2))
        frames = [source.length for source in dataset.videos]
    result = {
        "videos": len(frames),
        "frames_per_video": frames,
        "written_seconds": None if args.folder else round(written_seconds, 1),
        "resolution": args.resolution,
        "clips_per_s": {name: round(value, 2) for name, value in seeking.items()},
        "clips_per_s_decoding_from_frame_0": round(from_start, 3),
        "seek_speedup_workers_0": round(seeking.get("workers_0", float("nan")) / from_start, 1) if "workers_0" in seeking else None,
        "torch_threads": torch.get_num_threads(),
    }
    if args.step_seconds:
        needed = args.batch / args.step_seconds
        result |= {"clips_per_s_consumed": round(needed, 2), "loader_keeps_up": {name: value >= needed for name, value in seeking.items()}}
        if consumer:
            result |= {"consumed_by": f"train_step {consumer} on {step['device']}: batch {args.batch}, {args.step_seconds:.3f} s an iteration"}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
