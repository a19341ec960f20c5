"""Helpers for testing backends and plugins: procedural clips and a training configuration that runs in seconds.

    from latentmotion.testing import MovingSquares, smoke_config
    trainer = Trainer(smoke_config({"backend": "mine"}), tmp_path, backend=backend, dataset=MovingSquares())
    trainer.train()
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from latentmotion.config import TrainConfig


class MovingSquares(torch.utils.data.Dataset):
    """Procedural clips: a coloured square sliding right, starting at a random offset.

    Draws its start from torch's global RNG, as a real clip dataset does.

    Args:
        n_videos: Number of videos (the square's colour cycles through R, G, B by index).
        n_frames: Frames per clip.
        resolution: Side of the frames, at least 16.
    """

    def __init__(self, n_videos: int = 6, n_frames: int = 4, resolution: int = 32) -> None:
        self.n_videos, self.n_frames, self.resolution = n_videos, n_frames, resolution

    def __len__(self) -> int:
        return self.n_videos

    def __getitem__(self, index: int) -> torch.Tensor:
        """One `[T, 3, R, R]` clip in `[-1, 1]`.

        Args:
            index: Video index.

        Returns:
            The clip.
        """
        start = int(torch.randint(0, 8, ()))
        clip = -torch.ones(self.n_frames, 3, self.resolution, self.resolution)
        for t in range(self.n_frames):
            x = (start + 2 * t) % (self.resolution - 6)
            clip[t, index % 3, 8:14, x : x + 6] = 1.0
        return clip


def smoke_config(changes: Mapping[str, Any] | None = None) -> TrainConfig:
    """A training configuration with tiny networks: 2 iterations of 2 generator steps, 32 px, 4 frames.

    Args:
        changes: Options to change by dotted name, e.g. `{"mode": "cross-domain", "run.steps": 4}`.

    Returns:
        The configuration.
    """
    values = {
        "backend_options": {"resolution": 32, "dim": 8, "channels": 16},
        "motion": {"basis_samples": 1000, "n_components": 6, "hidden_dim": 16},
        "video_discriminator": {"channels": 8, "layers": 2},
        "image_discriminator": {"channels": 8, "layers": 2},
        "contrastive": {"channels": 4, "proj_dim": 8, "queue_size": 8},
        "optim": {"g_steps": 2},
        "data": {"n_frames": 4, "resolution": 32, "batch_size": 2},
        "run": {"steps": 2, "checkpoint_every": 1, "log_every": 1, "preview_every": 0},
    }
    return TrainConfig.from_dict(values).with_changes(changes or {})


def write_frame_folders(root: str | os.PathLike[str], clips: torch.utils.data.Dataset) -> Path:
    """Write every clip of a dataset as a folder of PNG frames, the layout `VideoFolderDataset` reads.

    Args:
        root: Folder to create the video folders in.
        clips: Dataset of `[T, 3, H, W]` clips in `[-1, 1]`, e.g. `MovingSquares`.

    Returns:
        `root`.
    """
    from PIL import Image

    from latentmotion.video import to_uint8

    root = Path(root)
    for index in range(len(clips)):
        folder = root / f"video{index}"
        folder.mkdir(parents=True)
        for t, frame in enumerate(to_uint8(clips[index])):
            Image.fromarray(frame.permute(1, 2, 0).numpy()).save(folder / f"frame{t:03d}.png")
    return root
