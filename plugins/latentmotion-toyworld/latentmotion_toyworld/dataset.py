"""Write the toy world to disk as a video dataset, with the ground truth of every video.

The folder holds one mp4 file per video (`000000.mp4`, `000001.mp4`, ...), which
[VideoFolderDataset][latentmotion.data.VideoFolderDataset] reads like any other video dataset,
and `ground_truth.json`: the world configuration, the seed, and the content and motion of
every video, which [read_ground_truth][latentmotion_toyworld.dataset.read_ground_truth] loads back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import torch

from latentmotion.atomic import atomic_path
from latentmotion.errors import ConfigError, DatasetError
from latentmotion_toyworld.config import SHAPE_KINDS, WorldConfig
from latentmotion_toyworld.render import render_scenes
from latentmotion_toyworld.scene import Content, Motion, Scene, sample_scenes

GROUND_TRUTH_FILE = "ground_truth.json"
"""Name of the ground-truth file inside a dataset folder."""

VIDEOS_PER_CHUNK = 64
"""Videos rendered at once while writing, which bounds the memory used."""


def write_dataset(root: str | os.PathLike[str], config: WorldConfig, n_videos: int, *, seed: int, fps: float = 10) -> Path:
    """Render `n_videos` videos of the world into a new dataset folder.

    Args:
        root: Folder to create; it must not exist yet or be empty.
        config: The world.
        n_videos: Number of videos, at least 1.
        seed: Seed of the scenes (see [sample_scenes][latentmotion_toyworld.scene.sample_scenes]).
        fps: Frame rate stored in the mp4 files.

    Returns:
        The dataset folder.

    Raises:
        ConfigError: `n_videos < 1`, or `root` is a file or a non-empty folder.
    """
    from latentmotion.video import write_video

    root = Path(root)
    if n_videos < 1:
        raise ConfigError(f"n_videos must be at least 1, got {n_videos}")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"{str(root)!r} already exists and is not an empty folder; choose a new dataset folder")
    root.mkdir(parents=True, exist_ok=True)
    scene = sample_scenes(config, n_videos, seed=seed)
    names = [f"{index:06d}.mp4" for index in range(n_videos)]
    for start in range(0, n_videos, VIDEOS_PER_CHUNK):
        videos = render_scenes(scene[start : start + VIDEOS_PER_CHUNK], config=config)
        for name, video in zip(names[start : start + VIDEOS_PER_CHUNK], videos, strict=True):
            write_video(root / name, video, fps=fps)
    record = {
        "config": config.to_dict(),
        "seed": seed,
        "fps": fps,
        "shape_kinds": list(SHAPE_KINDS),
        "videos": [{"file": name, **_video_record(scene, index)} for index, name in enumerate(names)],
    }
    with atomic_path(root / GROUND_TRUTH_FILE) as temp:
        temp.write_text(json.dumps(record, indent=1))
    return root


def read_ground_truth(root: str | os.PathLike[str]) -> tuple[WorldConfig, list[Path], Scene]:
    """Load the configuration, the video files and the ground truth of a dataset folder.

    Args:
        root: A folder written by [write_dataset][latentmotion_toyworld.dataset.write_dataset].

    Returns:
        The world configuration, the paths of the videos in order, and their
        [Scene][latentmotion_toyworld.scene.Scene] (row `i` describes the video at path `i`).

    Raises:
        DatasetError: The ground-truth file is missing or unreadable.
    """
    path = Path(root) / GROUND_TRUTH_FILE
    try:
        record = json.loads(path.read_text())
        config = WorldConfig(**record["config"])
        videos = record["videos"]
        kinds = [SHAPE_KINDS.index(video["kind"]) for video in videos]
        scene = Scene(
            Content(
                kind=torch.tensor(kinds),
                **{field: _stack(videos, field) for field in ("size", "colour", "background", "gradient_angle")},
            ),
            Motion(**{field.name: _stack(videos, field.name) for field in attrs.fields(Motion)}),
        )
    except FileNotFoundError as error:
        raise DatasetError(f"{str(path)!r} does not exist; is {str(root)!r} a folder written by write_dataset?") from error
    except (ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{str(path)!r} is not a valid ground-truth file ({error}); write the dataset again") from error
    return config, [Path(root) / video["file"] for video in videos], scene


def _video_record(scene: Scene, index: int) -> dict[str, Any]:
    """The content and motion of one video as JSON values, floats rounded to 1e-4."""
    content, motion = scene.content, scene.motion
    record: dict[str, Any] = {"kind": SHAPE_KINDS[int(content.kind[index])]}
    for name in ("size", "colour", "background", "gradient_angle"):
        record[name] = _rounded(getattr(content, name)[index])
    for field in attrs.fields(Motion):
        record[field.name] = _rounded(getattr(motion, field.name)[index])
    return record


def _rounded(tensor: torch.Tensor) -> Any:
    return torch.round(tensor.double(), decimals=4).tolist()


def _stack(videos: list[dict[str, Any]], field: str) -> torch.Tensor:
    return torch.tensor([video[field] for video in videos], dtype=torch.float32)
