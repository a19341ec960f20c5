"""Write a dataset of toy-world videos (mp4 + ground-truth JSON) and a PNG grid of a few of them.

    python examples/toyworld/make_dataset.py data/toy-shapes --videos 1000
    python examples/toyworld/make_dataset.py data/toy-glow --variant glow --frames 32

The folder can be given to `latentmotion.data.VideoFolderDataset` (or to training) as is;
`latentmotion_toyworld.dataset.read_ground_truth` loads the motion of every video back.
"""

import argparse
from pathlib import Path

from latentmotion_toyworld import VARIANTS, WorldConfig, render_scenes, sample_scenes
from latentmotion_toyworld.dataset import write_dataset

from latentmotion.video import write_grid


def main() -> None:
    """Parse the command line, write the dataset and its preview grid."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="new dataset folder")
    parser.add_argument("--variant", choices=VARIANTS, default="shapes", help="appearance of the world")
    parser.add_argument("--videos", type=int, default=1000, help="number of videos")
    parser.add_argument("--frames", type=int, default=32, help="frames per video")
    parser.add_argument("--resolution", type=int, default=64, help="side of the frames in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the scenes")
    args = parser.parse_args()
    config = WorldConfig(resolution=args.resolution, n_frames=args.frames, variant=args.variant)
    write_dataset(args.root, config, args.videos, seed=args.seed)
    videos = render_scenes(sample_scenes(config, args.videos, seed=args.seed)[:8], config=config)
    preview = args.root.with_name(f"{args.root.name}-preview.png")
    write_grid(preview, videos[:, ::2])
    print(f"wrote {args.videos} videos to {args.root} and a preview to {preview}")


if __name__ == "__main__":
    main()
