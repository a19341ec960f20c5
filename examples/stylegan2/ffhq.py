"""Animate faces with StyleGAN2-ADA FFHQ: fit the W basis, train a motion generator, make videos, animate a photo.

Needs the plugin (`pip install -e plugins/latentmotion-stylegan2`) and a StyleGAN2 checkpoint: an
NVlabs `.pkl` (e.g. `ffhq.pkl` of stylegan2-ada-pytorch), a rosinality `.pt`, or a `.safetensors`
converted with `latentmotion_stylegan2.convert`; a local file or a file of a Hub repo. The pickle is
read with an allowlist unpickler: the code inside it never runs.

    # 1. PCA basis of W, then motion learned from a folder of face videos (in-domain, as MoCoGAN-HD on FaceForensics)
    python examples/stylegan2/ffhq.py train --source ffhq.pkl --data face-videos/ --out runs/ffhq
    python examples/stylegan2/ffhq.py train --source org/stylegan2 --filename ffhq.pkl --data face-videos/ --out runs/ffhq
    # 2. videos side by side in one mp4
    python examples/stylegan2/ffhq.py generate runs/ffhq/pipeline --out faces.mp4
    # 3. a photo brought to life: project it into W (StyleGAN2-ADA's projector), then let the motion run
    python examples/stylegan2/ffhq.py photo runs/ffhq/pipeline face.jpg --lpips vgg16-lpips.safetensors --out face.mp4

Training hyperparameters other than these flags come from `--config` (a TOML or JSON file of
`latentmotion.TrainConfig` options); the defaults are the authors' (10,000 iterations, batch 16,
a basis of 1,000,000 codes). At 1024 px, train on a GPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from einops import rearrange
from latentmotion_stylegan2.projector import LPIPS_RESOLUTION

import latentmotion
from latentmotion.basis import PCABasis
from latentmotion.config import TrainConfig
from latentmotion.metrics.lpips import VGGPerceptualLoss
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.train import Trainer
from latentmotion.video import read_image, write_video


def train(
    *,
    checkpoint: dict[str, Any],
    data: Path,
    out: Path,
    truncation: float = 1.0,
    config_file: Path | None = None,
) -> LatentMotionPipeline:
    """Fit the PCA basis of StyleGAN2's W and train a motion generator on real videos.

    Args:
        checkpoint: Where the generator comes from: the backend's `{"source", "filename", "revision"}`
            options (a local file, or a file of a Hub repo).
        data: Folder of real videos (files or folders of frames).
        out: Run folder (basis, checkpoints, log, and the final pipeline in `out/pipeline`).
        truncation: Truncation of the content codes toward `w_avg` (1 = none, as the authors train).
        config_file: TOML or JSON file with further `TrainConfig` options.

    Returns:
        The trained pipeline.
    """
    backend = latentmotion.get_backend("stylegan2", **checkpoint, truncation_psi=truncation)
    config = TrainConfig() if config_file is None else TrainConfig.from_file(config_file)
    config = config.with_changes({"backend": "stylegan2", "backend_options": backend.options, "data.path": str(data)})
    basis = PCABasis.fit(backend, n_samples=config.motion.basis_samples, progress=True)  # W = mapping(z), 512-d
    return Trainer(config, out, backend=backend, basis=basis).train()


def generate(pipeline: LatentMotionPipeline, *, out: Path, videos: int = 4, frames: int = 16, seed: int = 0) -> Path:
    """Write `videos` videos side by side into one file.

    Args:
        pipeline: A trained StyleGAN2 pipeline.
        out: `.mp4`, `.gif` or `.png` file.
        videos: Number of videos.
        frames: Frames per video.
        seed: Seed of content, motion and the per-video generator noise.

    Returns:
        The file written.
    """
    clips = pipeline.generate(videos, frames, seed=seed)  # [B, T, 3, H, W]
    return write_video(out, rearrange(clips, "b t c h w -> t c h (b w)"), fps=pipeline.fps)


def animate_photo(
    pipeline: LatentMotionPipeline,
    photo: Path,
    *,
    out: Path,
    lpips: Path | None = None,
    frames: int = 16,
    steps: int = 1000,
    seed: int = 0,
) -> Path:
    """Project a photo into W and write the video that starts there.

    Args:
        pipeline: A trained StyleGAN2 pipeline.
        photo: Image file.
        out: `.mp4`, `.gif` or `.png` file.
        lpips: VGG16 + LPIPS weights (`latentmotion.metrics.lpips.convert_vgg16_lpips`) for the
            projector's perceptual loss, on images area-downsampled to 256 pixels as the original
            projector does; None: the offline pixel + multi-scale loss.
        frames: Frames of the video.
        steps: Projection steps (StyleGAN2-ADA uses 1000).
        seed: Seed of the projection and of the motion.

    Returns:
        The file written.
    """
    backend = pipeline.backend
    image = read_image(photo, backend.resolution).to(backend.device)
    loss = None if lpips is None else VGGPerceptualLoss.from_file(lpips, max_resolution=LPIPS_RESOLUTION).to(backend.device)
    projection = backend.invert(image, steps=steps, loss=loss, generator=torch.Generator().manual_seed(seed))
    video = pipeline.generate(1, frames, seed=seed, content=projection.codes, noise=projection.noise)[0]  # with the noise maps fitted with w
    return write_video(out, video, fps=pipeline.fps)


def main() -> None:
    """Parse the command line and run one of the three steps."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    fit = commands.add_parser("train", help="fit the W basis and train a motion generator over StyleGAN2")
    fit.add_argument("--source", required=True, help="NVlabs .pkl, rosinality .pt or converted .safetensors file, or a Hub repo id")
    fit.add_argument("--filename", help="checkpoint file in the Hub repo (with a repo id as --source)")
    fit.add_argument("--revision", help="Hub revision (with a repo id as --source)")
    fit.add_argument("--truncation", type=float, default=1.0, help="truncation of the content codes, 1 = none")
    fit.add_argument("--data", type=Path, required=True, help="folder of real videos")
    fit.add_argument("--out", type=Path, required=True, help="run folder")
    fit.add_argument("--config", type=Path, help="TOML or JSON file of further TrainConfig options")

    make = commands.add_parser("generate", help="videos from a trained pipeline")
    make.add_argument("pipeline", help="pipeline folder or Hub repo id")
    make.add_argument("--videos", type=int, default=4, help="number of videos, side by side")
    make.add_argument("--frames", type=int, default=16, help="frames per video")
    make.add_argument("--seed", type=int, default=0, help="seed of content, motion and noise")
    make.add_argument("--out", type=Path, required=True, help=".mp4, .gif or .png file")

    still = commands.add_parser("photo", help="animate a photo")
    still.add_argument("pipeline", help="pipeline folder or Hub repo id")
    still.add_argument("photo", type=Path, help="image file")
    still.add_argument("--lpips", type=Path, help="VGG16 + LPIPS weights (.safetensors) for the perceptual loss")
    still.add_argument("--frames", type=int, default=16, help="frames of the video")
    still.add_argument("--steps", type=int, default=1000, help="projection steps")
    still.add_argument("--seed", type=int, default=0, help="seed of the projection and the motion")
    still.add_argument("--out", type=Path, required=True, help=".mp4, .gif or .png file")

    args = parser.parse_args()
    if args.command == "train":
        checkpoint = {"source": args.source, "filename": args.filename, "revision": args.revision}
        train(checkpoint=checkpoint, data=args.data, out=args.out, truncation=args.truncation, config_file=args.config)
        print(f"trained pipeline in {args.out / 'pipeline'}")
    elif args.command == "generate":
        pipeline = LatentMotionPipeline.from_pretrained(args.pipeline)
        print(generate(pipeline, out=args.out, videos=args.videos, frames=args.frames, seed=args.seed))
    else:
        pipeline = LatentMotionPipeline.from_pretrained(args.pipeline)
        print(animate_photo(pipeline, args.photo, out=args.out, lpips=args.lpips, frames=args.frames, steps=args.steps, seed=args.seed))


if __name__ == "__main__":
    main()
