"""Training data: the real clips the video discriminator learns motion from.

[VideoFolderDataset][latentmotion.data.VideoFolderDataset] finds every video under a folder, in
any of three forms, which may be mixed:

- a video file (`.mp4`, `.avi`, `.webm`, `.mov`, `.mkv`, `.gif`) anywhere below the root;
- a folder of frame images (`.png`, `.jpg`, `.jpeg`, `.bmp`, `.webp`): every folder that
  directly holds images is one video, its frames in natural order of their file names
  (`frame2.png` before `frame10.png`), whatever the names are;
- an uncompressed tar shard (`.tar`, as webdataset writes them): every video file inside it is
  one video (other members, such as labels, are ignored). For corpora of many thousands of
  videos: a few large files instead of many small ones. A clip is read straight from the
  member's offset in the shard, without unpacking it.

Each item is one clip, as MoCoGAN-HD samples it: `n_frames` frames, `time_step` frames apart,
from a random start; centre-cropped to a square and resized to `resolution`.
"""

from __future__ import annotations

import contextlib
import os
import re
import tarfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import attrs
import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from PIL import Image
from torch.utils.data import Dataset

from latentmotion.errors import ConfigError, DatasetError
from latentmotion.video import count_frames, read_video

VIDEO_FILE_SUFFIXES = (".mp4", ".avi", ".webm", ".mov", ".mkv", ".gif")
"""Suffixes of the video files a dataset reads (case-insensitive)."""

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
"""Suffixes of the frame images a dataset reads (case-insensitive)."""

SHARD_SUFFIXES = (".tar",)
"""Suffixes of the tar shards a dataset reads (case-insensitive); compressed archives cannot be read from an offset."""

_SUPPORTED = (  # the end of every 'no videos' error
    f"expected video files ({', '.join(VIDEO_FILE_SUFFIXES)}), folders of frame images "
    f"({', '.join(FRAME_SUFFIXES)}) or uncompressed tar shards of video files ({', '.join(SHARD_SUFFIXES)})"
)

_LISTED = 5  # how many bad videos an error or warning names before summarising the rest


@attrs.frozen
class ShardMember:
    """Where a video file lies inside a tar shard.

    Attributes:
        name: The member's name in the archive.
        offset: Byte offset of its data in the archive.
        size: Its size in bytes.
    """

    name: str
    offset: int
    size: int


@attrs.frozen
class VideoSource:
    """One video of a dataset: a video file, a folder of frame images, or a video file inside a tar shard.

    Attributes:
        path: The video file, the folder holding the frames, or the shard.
        length: Number of frames.
        frame_names: File names of the frames inside `path`, in play order; empty otherwise.
        member: Where the video lies in the shard `path`; None otherwise.
    """

    path: Path
    length: int
    frame_names: tuple[str, ...] = ()
    member: ShardMember | None = None

    @property
    def name(self) -> Path:
        """What messages call the video: its path, or the shard's path joined with the member's name."""
        return self.path if self.member is None else self.path / self.member.name


class VideoFolderDataset(Dataset):
    """Random fixed-length clips from every video under a folder.

    The clip start is drawn with the global torch random generator (`torch.randint`), so
    `torch.manual_seed` and the DataLoader's per-worker seeding make the clips reproducible.
    Only the frames of the clip are read: a frame folder opens just those images, a video file
    is decoded from the keyframe before the clip's first frame to its last (see
    [read_video][latentmotion.video.read_video]).

    Videos that cannot be read, or that are shorter than one clip (`clip_span` frames), are
    found when the dataset is built; `on_bad_video` decides whether they are skipped with a
    warning or stop construction. Hidden files and folders (names starting with `.`) are
    ignored, and symbolic links to folders are not followed.

    Attributes:
        root: The folder the videos were found in.
        n_frames: Frames per clip.
        time_step: Distance in frames between consecutive clip frames.
        resolution: Side of the square output frames, in pixels.
        videos: The videos clips are drawn from, one per dataset item.
        skipped: `(path, reason)` of every video left out.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        n_frames: int = 16,  # frames per clip, >= 1
        time_step: int = 2,  # distance between clip frames in source frames, >= 1
        resolution: int = 128,  # side of the square output frames, >= 1
        on_bad_video: Literal["skip", "raise"] = "skip",  # unreadable or too short videos
    ) -> None:
        """Find the videos under `root` and check that each is readable and long enough.

        Args:
            root: Folder holding video files and/or folders of frame images, at any depth.
            n_frames: Frames per clip, `>= 1`; MoCoGAN-HD uses 16.
            time_step: Distance in source frames between consecutive clip frames, `>= 1`;
                MoCoGAN-HD uses 2.
            resolution: Side of the square output frames in pixels, `>= 1`.
            on_bad_video: `"skip"` leaves out unreadable or too short videos with a warning;
                `"raise"` raises a DatasetError listing them.

        Raises:
            ConfigError: A size below 1, or an unknown `on_bad_video`.
            DatasetError: `root` is missing or holds no videos; every video is bad; or a video
                is bad and `on_bad_video="raise"`.
        """
        for name, value in (("n_frames", n_frames), ("time_step", time_step), ("resolution", resolution)):
            if value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")
        if on_bad_video not in ("skip", "raise"):
            raise ConfigError(f"on_bad_video must be 'skip' or 'raise', got {on_bad_video!r}")
        self.root = Path(root)
        self.n_frames = n_frames
        self.time_step = time_step
        self.resolution = resolution
        if not self.root.is_dir():
            raise DatasetError(f"dataset folder {str(self.root)!r} does not exist or is not a folder; {_SUPPORTED}")

        found, self.skipped = _find_videos(self.root)
        if not found and not self.skipped:
            raise DatasetError(f"no videos found under {str(self.root)!r}; {_SUPPORTED}")
        self.videos = [source for source in found if source.length >= self.clip_span]
        too_short = f"frames, fewer than the {self.clip_span} of a clip (n_frames={n_frames}, time_step={time_step})"
        self.skipped += [
            (source.name, f"{source.length} {too_short}") for source in found if source.length < self.clip_span
        ]
        if not self.skipped:
            return
        total = len(self.videos) + len(self.skipped)
        summary = f"{len(self.skipped)} of {total} videos under {str(self.root)!r} are unusable: {_list(self.skipped)}"
        if on_bad_video == "raise":
            raise DatasetError(f"{summary}; remove them, or pass on_bad_video='skip' to leave them out")
        if not self.videos:
            raise DatasetError(f"{summary}; no usable video is left")
        warnings.warn(f"skipping {summary}", stacklevel=2)

    @property
    def clip_span(self) -> int:
        """Source frames one clip covers, first to last: `(n_frames - 1) * time_step + 1`."""
        return (self.n_frames - 1) * self.time_step + 1

    def __len__(self) -> int:
        """Number of videos; one epoch draws one clip from each."""
        return len(self.videos)

    def __getitem__(self, index: int) -> torch.Tensor:
        """Draw a random clip from one video.

        Args:
            index: Position of the video in `videos`.

        Returns:
            `[n_frames, 3, resolution, resolution]` float32 clip in `[-1, 1]`.

        Raises:
            DatasetError: A frame of the clip cannot be read.
        """
        source = self.videos[index]
        start = int(torch.randint(source.length - self.clip_span + 1, ()).item())
        indices = list(range(start, start + self.clip_span, self.time_step))
        return crop_and_resize(read_frames(source, indices), resolution=self.resolution)


def find_videos(root: str | os.PathLike[str]) -> tuple[list[VideoSource], list[tuple[Path, str]]]:
    """Every video under a folder, as a dataset finds them (hidden names ignored, natural order).

    Args:
        root: The folder.

    Returns:
        The readable videos in natural order of their paths, and `(path, reason)` of the
        unreadable ones.
    """
    return _find_videos(Path(root))


def read_frames(source: VideoSource, indices: list[int]) -> torch.Tensor:
    """Read some frames of one video as they are stored.

    Args:
        source: The video.
        indices: Frame numbers, increasing.

    Returns:
        `[len(indices), 3, H, W]` uint8 frames.

    Raises:
        DatasetError: A frame cannot be read.
    """
    if source.frame_names:
        return _read_frame_images([source.path / source.frame_names[i] for i in indices])
    if source.member is None:
        return read_video(source.path, indices=indices)
    with _open_member(source.path, source.member) as file:
        return read_video(source.name, indices=indices, file=file)


def natural_sort_key(name: str) -> tuple[list[str | int], str]:
    """Sort key that orders the numbers inside names by value: `frame2` before `frame10`.

    Args:
        name: A file name.

    Returns:
        A key for `sorted`: digit runs compare as numbers, the rest case-insensitively.
    """
    parts = re.split(r"(\d+)", name)  # text, number, text, number, ..., text
    return [int(part) if i % 2 else part.lower() for i, part in enumerate(parts)], name


def _find_videos(root: Path) -> tuple[list[VideoSource], list[tuple[Path, str]]]:
    """Walk `root` for video files and frame folders; return the readable ones and the unreadable ones."""
    found: list[VideoSource] = []
    unreadable: list[tuple[Path, str]] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted((name for name in subfolders if not name.startswith(".")), key=natural_sort_key)
        files = sorted((name for name in files if not name.startswith(".")), key=natural_sort_key)
        frame_names = tuple(name for name in files if name.lower().endswith(FRAME_SUFFIXES))
        if frame_names:
            found.append(VideoSource(Path(folder), len(frame_names), frame_names))
        for name in files:
            path = Path(folder) / name
            if name.lower().endswith(VIDEO_FILE_SUFFIXES):
                try:
                    found.append(VideoSource(path, count_frames(path)))
                except DatasetError as error:
                    unreadable.append((path, _reason(error, path)))
            elif name.lower().endswith(SHARD_SUFFIXES):
                in_shard, unreadable_in_shard = _find_in_shard(path)
                found += in_shard
                unreadable += unreadable_in_shard
    return found, unreadable


def _find_in_shard(shard: Path) -> tuple[list[VideoSource], list[tuple[Path, str]]]:
    """The video files inside an uncompressed tar shard, in natural order of their names; and the unreadable ones (or the shard)."""
    found: list[VideoSource] = []
    unreadable: list[tuple[Path, str]] = []
    try:
        with tarfile.open(shard, "r:") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith(VIDEO_FILE_SUFFIXES) and not Path(m.name).name.startswith(".")]
            for info in sorted(members, key=lambda info: natural_sort_key(info.name)):
                name = shard / info.name
                try:
                    length = count_frames(name, file=tar.extractfile(info))
                except DatasetError as error:
                    unreadable.append((name, _reason(error, name)))
                    continue
                found.append(VideoSource(shard, length, member=ShardMember(info.name, info.offset_data, info.size)))
    except (tarfile.TarError, OSError) as error:
        unreadable.append((shard, f"cannot be read as an uncompressed tar shard ({error})"))
    return found, unreadable


@contextlib.contextmanager
def _open_member(shard: Path, member: ShardMember) -> Iterator[BinaryIO]:
    """The bytes of one video inside a shard, read from its offset (the archive is not scanned again)."""
    info = tarfile.TarInfo(member.name)
    info.offset_data, info.size = member.offset, member.size
    try:
        with tarfile.open(shard, "r:") as tar, tar.extractfile(info) as file:
            yield file
    except (tarfile.TarError, OSError) as error:
        raise DatasetError(f"{str(shard / member.name)!r} cannot be read from its shard ({error})") from error


def _reason(error: DatasetError, path: Path) -> str:
    """Why a video is unreadable: the error's message without the path it starts with."""
    return str(error).removeprefix(f"{str(path)!r} ")


def _list(bad: list[tuple[Path, str]]) -> str:
    """Name the first few bad videos with their reasons, and count the rest."""
    listed = "; ".join(f"{str(path)!r} ({reason})" for path, reason in bad[:_LISTED])
    return listed if len(bad) <= _LISTED else f"{listed}; and {len(bad) - _LISTED} more"


def _read_frame_images(files: list[Path]) -> torch.Tensor:
    """Read frame images of one size as RGB (grayscale, RGBA and palette images are converted).

    Args:
        files: The images, in clip order.

    Returns:
        `[T, 3, H, W]` uint8 frames.

    Raises:
        DatasetError: An image cannot be read, or its size differs from the first frame's.
    """
    frames = []
    for file in files:
        try:
            with Image.open(file) as image:
                frames.append(torch.from_numpy(np.array(image.convert("RGB"))))
        except OSError as error:  # includes UnidentifiedImageError
            raise DatasetError(f"frame {str(file)!r} cannot be read as an image ({error})") from error
        if frames[-1].shape != frames[0].shape:
            raise DatasetError(
                f"frame {str(file)!r} is {frames[-1].shape[1]}x{frames[-1].shape[0]} pixels but "
                f"{str(files[0])!r} is {frames[0].shape[1]}x{frames[0].shape[0]}; all frames of a video need one size"
            )
    return rearrange(torch.stack(frames), "t h w c -> t c h w")


def crop_and_resize(pixels: torch.Tensor, *, resolution: int) -> torch.Tensor:
    """Centre-crop frames to a square and resize them (antialiased bicubic, in 8 bits) to `resolution`.

    Args:
        pixels: `[T, 3, H, W]` uint8 frames.
        resolution: Side of the output frames.

    Returns:
        `[T, 3, resolution, resolution]` float32 frames in `[-1, 1]`.
    """
    height, width = pixels.shape[-2:]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = pixels[:, :, top : top + side, left : left + side]
    if side != resolution:  # in uint8, channels last: ten times faster than in floats, rounded as 8-bit pixels are
        square = F.interpolate(square.contiguous(memory_format=torch.channels_last), size=(resolution, resolution), mode="bicubic", antialias=True, align_corners=False)
    return square.float() / 127.5 - 1
