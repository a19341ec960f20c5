"""Animate ImageNet classes with BigGAN-deep: train a motion generator, make videos, animate a photo.

Needs the plugin (`pip install -e plugins/latentmotion-biggan`) and the published weights, a folder
or a Hub repo with `config.json` + `pytorch_model.bin` (e.g. `osanseviero/BigGAN-deep-128`).

    # 1. learn motion from a folder of real videos, content drawn from two classes
    python examples/biggan/animate.py train --source osanseviero/BigGAN-deep-128 \\
        --classes "golden retriever" tabby --data videos/ --out runs/biggan
    # 2. videos of one class, side by side in one mp4
    python examples/biggan/animate.py generate runs/biggan/pipeline --class "golden retriever" --out dogs.mp4
    # 3. a photo brought to life: invert it into BigGAN's space, then let the motion run
    python examples/biggan/animate.py photo runs/biggan/pipeline dog.jpg --class "golden retriever" --out dog.mp4

Training hyperparameters other than these flags come from `--config` (a TOML or JSON file of
`latentmotion.TrainConfig` options); the defaults are the authors' (10,000 iterations, batch 16).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from einops import rearrange
from latentmotion_biggan.backend import BigGANBackend
from latentmotion_biggan.truncation import truncated_normal

from latentmotion.config import TrainConfig
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.train import Trainer
from latentmotion.video import read_image, write_video


def train(
    *,
    source: str,
    data: Path,
    out: Path,
    classes: list[str] | None = None,
    truncation: float = 0.4,
    revision: str | None = None,
    config_file: Path | None = None,
) -> LatentMotionPipeline:
    """Fit the PCA basis of BigGAN's Z and train a motion generator on real videos.

    Args:
        source: Folder or Hub repo id of the published BigGAN-deep weights.
        data: Folder of real videos (files or folders of frames).
        out: Run folder (checkpoints, log, and the final pipeline in `out/pipeline`).
        classes: ImageNet classes (names or indices) the content codes are drawn from; None: all 1000.
        truncation: BigGAN truncation in `(0, 1]`.
        revision: Hub revision of the weights.
        config_file: TOML or JSON file with further `TrainConfig` options.

    Returns:
        The trained pipeline.
    """
    config = TrainConfig() if config_file is None else TrainConfig.from_file(config_file)
    options = {"source": source, "revision": revision, "truncation": truncation, "classes": classes}
    config = config.with_changes({"backend": "biggan", "backend_options": options, "data.path": str(data)})
    return Trainer(config, out).train()


def class_codes(backend: BigGANBackend, class_name: str, count: int, *, seed: int) -> torch.Tensor:
    """Content codes of one class: truncated-normal `z` from the backend's prior, that class's embedding.

    Args:
        backend: The BigGAN backend.
        class_name: ImageNet class name or index.
        count: Number of codes.
        seed: Seed of `z`.

    Returns:
        `[count, z_dim + class_embed_dim]` codes.
    """
    z = backend.truncation * truncated_normal((count, backend.latent_space.dim), generator=torch.Generator().manual_seed(seed))
    return backend.content_codes(z, class_name)


def generate(pipeline: LatentMotionPipeline, *, out: Path, class_name: str | None = None, videos: int = 4, frames: int = 16, seed: int = 0) -> Path:
    """Write `videos` videos side by side into one file.

    Args:
        pipeline: A trained BigGAN pipeline.
        out: `.mp4`, `.gif` or `.png` file.
        class_name: Class of every video; None: classes drawn from the backend's selection.
        videos: Number of videos.
        frames: Frames per video.
        seed: Seed of content and motion.

    Returns:
        The file written.
    """
    content = None if class_name is None else class_codes(pipeline.backend, class_name, videos, seed=seed)
    clips = pipeline.generate(videos, frames, seed=seed, content=content)  # [B, T, 3, H, W]
    return write_video(out, rearrange(clips, "b t c h w -> t c h (b w)"), fps=pipeline.fps)


def animate_photo(
    pipeline: LatentMotionPipeline,
    photo: Path,
    *,
    out: Path,
    class_name: str | None = None,
    frames: int = 16,
    steps: int = 300,
    restarts: int = 4,
    seed: int = 0,
) -> Path:
    """Invert a photo into `[z ; class embedding]` and write the video that starts there.

    Args:
        pipeline: A trained BigGAN pipeline.
        photo: Image file.
        out: `.mp4`, `.gif` or `.png` file.
        class_name: The photo's ImageNet class (a good start for the inversion); None: random starts.
        frames: Frames of the video.
        steps: Inversion steps.
        restarts: Inversion restarts.
        seed: Seed of the inversion starts and of the motion.

    Returns:
        The file written.
    """
    backend = pipeline.backend
    image = read_image(photo, backend.resolution).to(backend.device)
    projection = backend.invert(image, classes=class_name, steps=steps, restarts=restarts, generator=torch.Generator().manual_seed(seed))
    video = pipeline.generate(1, frames, seed=seed, content=projection.codes)[0]
    return write_video(out, video, fps=pipeline.fps)


def main() -> None:
    """Parse the command line and run one of the three steps."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    fit = commands.add_parser("train", help="train a motion generator over BigGAN-deep")
    fit.add_argument("--source", required=True, help="folder or Hub repo id of the BigGAN-deep weights")
    fit.add_argument("--revision", help="Hub revision of the weights")
    fit.add_argument("--classes", nargs="+", help="ImageNet class names or indices to draw content from (default: all)")
    fit.add_argument("--truncation", type=float, default=0.4, help="BigGAN truncation in (0, 1]")
    fit.add_argument("--data", type=Path, required=True, help="folder of real videos")
    fit.add_argument("--out", type=Path, required=True, help="run folder")
    fit.add_argument("--config", type=Path, help="TOML or JSON file of further TrainConfig options")

    make = commands.add_parser("generate", help="videos from a trained pipeline")
    make.add_argument("pipeline", help="pipeline folder or Hub repo id")
    make.add_argument("--class", dest="class_name", help="ImageNet class name or index of every video")
    make.add_argument("--videos", type=int, default=4, help="number of videos, side by side")
    make.add_argument("--frames", type=int, default=16, help="frames per video")
    make.add_argument("--seed", type=int, default=0, help="seed of content and motion")
    make.add_argument("--out", type=Path, required=True, help=".mp4, .gif or .png file")

    still = commands.add_parser("photo", help="animate a photo")
    still.add_argument("pipeline", help="pipeline folder or Hub repo id")
    still.add_argument("photo", type=Path, help="image file")
    still.add_argument("--class", dest="class_name", help="the photo's ImageNet class name or index")
    still.add_argument("--frames", type=int, default=16, help="frames of the video")
    still.add_argument("--steps", type=int, default=300, help="inversion steps")
    still.add_argument("--restarts", type=int, default=4, help="inversion restarts")
    still.add_argument("--seed", type=int, default=0, help="seed of the inversion and the motion")
    still.add_argument("--out", type=Path, required=True, help=".mp4, .gif or .png file")

    args = parser.parse_args()
    if args.command == "train":
        train(
            source=args.source,
            data=args.data,
            out=args.out,
            classes=args.classes,
            truncation=args.truncation,
            revision=args.revision,
            config_file=args.config,
        )
        print(f"trained pipeline in {args.out / 'pipeline'}")
    elif args.command == "generate":
        pipeline = LatentMotionPipeline.from_pretrained(args.pipeline)
        print(generate(pipeline, out=args.out, class_name=args.class_name, videos=args.videos, frames=args.frames, seed=args.seed))
    else:
        pipeline = LatentMotionPipeline.from_pretrained(args.pipeline)
        path = animate_photo(
            pipeline, args.photo, out=args.out, class_name=args.class_name, frames=args.frames, steps=args.steps, restarts=args.restarts, seed=args.seed
        )
        print(path)


if __name__ == "__main__":
    main()
