"""Read and write videos: mp4 (H.264 through PyAV), animated GIF and PNG frame grids.

Videos in latentmotion are float tensors `[T, 3, H, W]` in `[-1, 1]`; a batch of videos is
`[B, T, 3, H, W]`. [to_uint8][latentmotion.video.to_uint8] is the one place where such a tensor
becomes 8-bit pixels. [read_video][latentmotion.video.read_video] goes the other way and returns
the raw `uint8` frames of any container PyAV decodes.

Every write is atomic: the file is written under a temporary name in the target folder and moved
into place with `os.replace`, so a failed write never leaves a half-written file behind and never
destroys the file that was there before.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import secrets
import types
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np
import torch
from einops import rearrange
from PIL import Image

from latentmotion.atomic import atomic_path
from latentmotion.errors import ConfigError, DatasetError, ShapeError

VIDEO_SUFFIXES = (".mp4", ".gif", ".png")
"""File suffixes [write_video][latentmotion.video.write_video] understands."""

MP4_CRF = 18
"""x264 constant rate factor of written mp4 files: 18 is visually lossless for most content."""


def to_uint8(video: torch.Tensor) -> torch.Tensor:
    """Convert images or videos in `[-1, 1]` to 8-bit pixels: `round((x + 1) * 127.5)`.

    Values outside `[-1, 1]` are clamped first. Halves round to even, as `torch.round` does.

    Args:
        video: Floating-point tensor of any shape, values in `[-1, 1]`.

    Returns:
        `uint8` tensor of the same shape on the CPU, values in `[0, 255]`.

    Raises:
        ShapeError: `video` is not a floating-point tensor.
    """
    if not video.is_floating_point():
        raise ShapeError(
            f"expected a floating-point tensor in [-1, 1], got dtype {video.dtype}; "
            "convert 8-bit pixels with `pixels.float() / 127.5 - 1`"
        )
    pixels = (video.detach().float().clamp(-1, 1) + 1) * 127.5
    return pixels.round().to(torch.uint8).cpu()


def write_video(path: str | os.PathLike[str], video: torch.Tensor, *, fps: float = 10) -> Path:
    """Write one video, in a format chosen by the file suffix.

    - `.mp4`: H.264 (libx264), pixel format yuv420p, constant rate factor
      [MP4_CRF][latentmotion.video.MP4_CRF]. yuv420p needs an even width and height: an odd
      side is padded by repeating its last row or column, so the file is one pixel larger there.
    - `.gif`: animated GIF that loops forever, each frame shown `1 / fps` seconds (GIF stores
      hundredths of a second). Colours are quantised to a 256-colour palette per frame, and every
      frame is written, so the file has exactly T frames.

    `.mp4` and `.gif` go through a [VideoWriter][latentmotion.video.VideoWriter], which writes
    a long video in pieces to the same file.
    - `.png`: a single row of frames, as [write_grid][latentmotion.video.write_grid] draws it.

    Args:
        path: Target file; its folder must exist. Replaced atomically if it exists.
        video: `[T, 3, H, W]` floating-point frames in `[-1, 1]` (clamped).
        fps: Frames per second of `.mp4` and `.gif` files; ignored for `.png`.

    Returns:
        The path written.

    Raises:
        ConfigError: Unsupported suffix, missing folder, or `fps <= 0`.
        ShapeError: `video` is not a `[T, 3, H, W]` floating-point tensor with `T >= 1`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ConfigError(
            f"cannot write a video to {str(path)!r}: unsupported suffix {path.suffix!r}; "
            f"use one of {', '.join(VIDEO_SUFFIXES)}"
        )
    if fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    _check_videos(video, batched=False)
    _check_folder(path)
    if suffix == ".png":
        return write_grid(path, video[None])
    with VideoWriter(path, fps=fps) as writer:
        writer.write(video)
    return path


class VideoWriter:
    """Write one `.mp4` or `.gif` video frame by frame, so that memory never grows with its length.

    The frames go to a temporary file beside `path` as they come; [close][latentmotion.video.VideoWriter.close]
    moves it into place, [discard][latentmotion.video.VideoWriter.discard] removes it. As a
    context manager, the writer closes when the block succeeds and discards when it raises.
    [write_video][latentmotion.video.write_video] writes through it, so a video written in
    pieces and one written whole decode to the same frames.

        with VideoWriter("long.mp4", fps=10) as writer:
            for frames in pipeline.generate_stream(1, 100_000):   # [1, t, 3, H, W] at a time
                writer.write(frames[0])

    The formats are those of [write_video][latentmotion.video.write_video]; a GIF frame is
    quantised to a 256-colour palette of its own, and every frame is written (none merged).

    Args:
        path: Target `.mp4` or `.gif` file; its folder must exist. Replaced atomically if it exists.
        fps: Frames per second, `> 0`.

    Raises:
        ConfigError: Another suffix, a missing folder, or `fps <= 0`.
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float = 10) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".mp4", ".gif"):
            raise ConfigError(f"cannot stream a video to {str(self.path)!r}: use .mp4 or .gif")
        if fps <= 0:
            raise ConfigError(f"fps must be positive, got {fps}")
        _check_folder(self.path)
        self.fps = fps
        self.n_frames = 0
        self._size: tuple[int, int] | None = None  # height, width of the first frame
        self._temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        self._file: Any = None  # the open GIF file, or PyAV's container
        self._stream: Any = None  # PyAV's H.264 stream

    def __enter__(self) -> VideoWriter:  # noqa: PYI034 (Python 3.10 has no typing.Self)
        """Start writing.

        Returns:
            This writer.
        """
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: types.TracebackType | None) -> None:
        """Close the writer, or discard the file when the block raised.

        Args:
            kind: The exception's type, or None.
            error: The exception, or None.
            traceback: Its traceback, or None.
        """
        if kind is None:
            self.close()
        else:
            self.discard()

    def write(self, frames: torch.Tensor) -> None:
        """Append frames.

        Args:
            frames: `[t, 3, H, W]` floating-point frames in `[-1, 1]` (clamped), the size of the
                first frames written.

        Raises:
            ShapeError: `frames` is not a non-empty `[t, 3, H, W]` float tensor of the video's size.
        """
        _check_videos(frames, batched=False)
        size = (frames.shape[2], frames.shape[3])
        if self._size is None:
            self._size = size
            self._open()
        elif size != self._size:
            raise ShapeError(f"frames of {size[0]} x {size[1]} pixels in a video of {self._size[0]} x {self._size[1]}")
        pixels = rearrange(to_uint8(frames), "t c h w -> t h w c").contiguous().numpy()  # [t, H, W, 3] uint8
        for frame in pixels:
            if self._stream is not None:
                # Converted to yuv420p here rather than left to the encoder: PyAV's conversion
                # inside `encode` made x264 write other bytes for the same frames now and then.
                yuv = av.VideoFrame.from_ndarray(_even(frame), format="rgb24").reformat(format="yuv420p")
                self._file.mux(self._stream.encode(yuv))
            else:
                self._file.write(_gif_frame(frame, fps=self.fps))
        self.n_frames += len(pixels)

    def close(self) -> Path:
        """Finish the file and move it into place.

        Returns:
            The path written.

        Raises:
            ShapeError: No frame was written.
        """
        if self._size is None:
            self.discard()
            raise ShapeError(f"no frames were written to {str(self.path)!r}")
        try:
            if self._stream is not None:
                self._file.mux(self._stream.encode())
                self._file.close()
            else:
                self._file.write(b";")  # GIF trailer
                self._file.close()
            self._file = None
            with atomic_path(self.path) as temp:
                os.replace(self._temp, temp)
        except BaseException:
            self.discard()
            raise
        return self.path

    def discard(self) -> None:
        """Stop writing and remove the temporary file; an existing file at `path` is left as it was."""
        if self._file is not None:
            with contextlib.suppress(Exception):
                self._file.close()
            self._file = None
        self._temp.unlink(missing_ok=True)

    def _open(self) -> None:
        """Open the temporary file for frames of `self._size` and write what precedes them."""
        height, width = self._size
        if self.path.suffix.lower() == ".mp4":
            self._file = av.open(str(self._temp), mode="w", format="mp4")
            self._stream = self._file.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
            # yuv420p stores colour at half resolution, so x264 needs even sides (see `_even`).
            self._stream.height, self._stream.width = height + height % 2, width + width % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(MP4_CRF)}
        else:
            self._file = open(self._temp, "wb")  # noqa: SIM115 (closed by close or discard)
            loop = b"!\xff\x0bNETSCAPE2.0\x03\x01" + (0).to_bytes(2, "little") + b"\x00"  # loop forever
            screen = width.to_bytes(2, "little") + height.to_bytes(2, "little") + b"\x00\x00\x00"  # no global palette
            self._file.write(b"GIF89a" + screen + loop)


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad an `[H, W, 3]` frame to even sides by repeating its last row and column (yuv420p needs them)."""
    if frame.shape[0] % 2:
        frame = np.concatenate([frame, frame[-1:]], axis=0)
    if frame.shape[1] % 2:
        frame = np.concatenate([frame, frame[:, -1:]], axis=1)
    return frame


def _gif_frame(frame: np.ndarray, *, fps: float) -> bytes:
    """One GIF frame: a graphic control extension (its duration), then the image with a palette of its own.

    Pillow quantises and encodes the frame as a one-frame GIF; its global palette becomes the
    frame's local palette.

    Args:
        frame: `[H, W, 3]` uint8 pixels.
        fps: Frames per second (GIF stores hundredths of a second).

    Returns:
        The frame's bytes, to follow the file's header or the previous frame.
    """
    buffer = io.BytesIO()
    Image.fromarray(frame).convert("P", palette=Image.Palette.ADAPTIVE).save(buffer, format="GIF")
    data = buffer.getvalue()
    flags = data[10]
    position = 13
    palette = b""
    if flags & 0x80:  # a global palette of 2 ** (size + 1) colours
        position += 3 * 2 ** ((flags & 0x07) + 1)
        palette = data[13:position]
    while data[position] == 0x21:  # extension blocks: label, then sub-blocks up to an empty one
        position += 2
        while data[position]:
            position += data[position] + 1
        position += 1
    descriptor = bytearray(data[position : position + 10])
    if palette:
        descriptor[9] = (descriptor[9] & 0x40) | 0x80 | (flags & 0x07)  # keep interlacing; the palette becomes local
    duration = int(round(1000 / fps) / 10).to_bytes(2, "little")  # as Pillow stores it
    control = b"!\xf9\x04\x00" + duration + b"\x00\x00"
    return control + bytes(descriptor) + palette + data[position + 10 : -1]  # without the trailer


def write_grid(path: str | os.PathLike[str], videos: torch.Tensor, *, padding: int = 2) -> Path:
    """Write a batch of videos as one PNG image: one row per video, one column per frame.

    Cells are separated by `padding` black pixels; there is no border around the grid, so the
    image is `B * H + (B - 1) * padding` pixels high and `T * W + (T - 1) * padding` wide.

    Args:
        path: Target `.png` file; its folder must exist. Replaced atomically if it exists.
        videos: `[B, T, 3, H, W]` floating-point frames in `[-1, 1]` (clamped).
        padding: Black pixels between neighbouring cells, `>= 0`.

    Returns:
        The path written.

    Raises:
        ConfigError: Suffix other than `.png`, missing folder, or negative `padding`.
        ShapeError: `videos` is not a `[B, T, 3, H, W]` floating-point tensor with `B, T >= 1`.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"a frame grid is written as PNG; give a path ending in .png, not {str(path)!r}")
    if padding < 0:
        raise ConfigError(f"padding must be >= 0, got {padding}")
    _check_videos(videos, batched=True)
    _check_folder(path)
    pixels = to_uint8(videos)  # [B, T, 3, H, W]
    batch, time, _, height, width = pixels.shape
    grid = torch.zeros(
        3, batch * height + (batch - 1) * padding, time * width + (time - 1) * padding, dtype=torch.uint8
    )
    for b in range(batch):
        for t in range(time):
            top, left = b * (height + padding), t * (width + padding)
            grid[:, top : top + height, left : left + width] = pixels[b, t]
    with atomic_path(path) as temp:
        Image.fromarray(rearrange(grid, "c h w -> h w c").numpy()).save(temp, format="PNG")
    return path


def read_video(path: str | os.PathLike[str], *, indices: Sequence[int] | None = None, file: BinaryIO | None = None) -> torch.Tensor:
    """Decode the frames of a video file (mp4, avi, webm, mov, mkv, gif, ...) as RGB pixels.

    Only the first video stream is read. With `indices`, decoding starts at the keyframe before
    the first frame asked for (a seek; frame numbers follow from the timestamps at the stream's
    average rate) and stops after the last, so a short clip anywhere in a long video is cheap.
    Where the stream gives no timestamps or rate, or the seek lands after the first frame asked
    for, it decodes from the start instead.

    Args:
        path: Video file in any container and codec PyAV decodes.
        indices: Frame numbers to return, counted from 0, in the order given (repeats allowed);
            `None` returns every frame.
        file: The video's bytes, already open and seekable (a member of a tar shard); `path`
            then only names it in errors.

    Returns:
        `[T, 3, H, W]` `uint8` RGB frames, `T = len(indices)` or the length of the video.

    Raises:
        DatasetError: The file is missing, unreadable, has no video frames, or ends before
            the largest of `indices`.
        ConfigError: `indices` is empty or has a negative index.
    """
    path = Path(path)
    if indices is not None and (len(indices) == 0 or min(indices) < 0):
        raise ConfigError(f"frame indices must be a non-empty list of numbers >= 0, got {list(indices)}")
    wanted = None if indices is None else set(indices)
    last = None if indices is None else max(indices)
    with _open_for_reading(path, file) as (container, stream):
        decoded = None
        if indices is not None and min(indices) > 0:
            decoded = _decode_after_seek(container, stream, wanted, last)
        frames, count = decoded or _decode(container.decode(stream), wanted, last, index_of=None)
    if count == 0:
        raise DatasetError(f"{str(path)!r} contains no decodable video frames")
    if last is not None and last not in frames:
        raise DatasetError(f"{str(path)!r} has only {count} frames; frame {last} was requested")
    order = sorted(frames) if indices is None else indices
    return rearrange(torch.stack([frames[index] for index in order]), "t h w c -> t c h w")


def _decode(
    decoded: Iterator[av.VideoFrame],
    wanted: set[int] | None,
    last: int | None,
    *,
    index_of: Callable[[av.VideoFrame], int] | None,
) -> tuple[dict[int, torch.Tensor], int]:
    """Keep the wanted frames of decoded frames, numbered by `index_of` (else counted from 0); also the frames seen (last number + 1)."""
    frames: dict[int, torch.Tensor] = {}
    index = -1
    for count, frame in enumerate(decoded):
        index = count if index_of is None else index_of(frame)
        if wanted is None or index in wanted:
            frames[index] = torch.from_numpy(frame.to_ndarray(format="rgb24"))
        if last is not None and index >= last:
            break
    return frames, index + 1


def _decode_after_seek(
    container: av.container.InputContainer, stream: av.VideoStream, wanted: set[int], last: int
) -> tuple[dict[int, torch.Tensor], int] | None:
    """The wanted frames, decoded from the keyframe before the first; None where seeking cannot be trusted."""
    rate, time_base = stream.average_rate, stream.time_base
    if not rate or not time_base:
        return None
    start = stream.start_time or 0
    first = min(wanted)

    def index_of(frame: av.VideoFrame) -> int:
        return round(float((frame.pts - start) * time_base * rate))

    container.seek(start + int(first / (rate * time_base)), stream=stream, backward=True, any_frame=False)
    decoded = container.decode(stream)
    head = next(decoded, None)
    if head is None or head.pts is None or index_of(head) > first:
        container.seek(start, stream=stream, backward=True, any_frame=False)
        return None
    return _decode(itertools.chain([head], decoded), wanted, last, index_of=index_of)


def count_frames(path: str | os.PathLike[str], *, file: BinaryIO | None = None) -> int:
    """Number of frames in the first video stream of a file.

    Uses the frame count the container declares (mp4, mov); where there is none (webm, gif,
    some avi files) the frames are counted by decoding the whole stream once.

    Args:
        path: Video file in any container and codec PyAV decodes.
        file: The video's bytes, already open and seekable; `path` then only names it in errors.

    Returns:
        The number of frames, `>= 0`.

    Raises:
        DatasetError: The file is missing, unreadable, or has no video stream.
    """
    path = Path(path)
    with _open_for_reading(path, file) as (container, stream):
        if stream.frames > 0:
            return stream.frames
        return sum(1 for _ in container.decode(stream))


def _check_folder(path: Path) -> None:
    """Raise a ConfigError unless the folder `path` is to be written in exists."""
    if not path.parent.is_dir():
        raise ConfigError(f"folder {str(path.parent)!r} does not exist; create it before writing {path.name!r}")


def _check_videos(videos: torch.Tensor, *, batched: bool) -> None:
    """Raise a ShapeError unless `videos` is `[T, 3, H, W]` (or `[B, T, 3, H, W]`), non-empty, float."""
    layout = "[B, T, 3, H, W]" if batched else "[T, 3, H, W]"
    ndim = 5 if batched else 4
    if (
        not isinstance(videos, torch.Tensor)
        or videos.ndim != ndim
        or videos.shape[-3] != 3
        or videos.numel() == 0
        or not videos.is_floating_point()
    ):
        described = (
            f"{type(videos).__name__} {tuple(videos.shape)} {videos.dtype}"
            if isinstance(videos, torch.Tensor)
            else type(videos).__name__
        )
        raise ShapeError(f"expected a non-empty float tensor {layout} in [-1, 1], got {described}")


@contextlib.contextmanager
def _open_for_reading(path: Path, file: BinaryIO | None) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open a file (or the open `file` that `path` names) with PyAV and yield it with its first video stream; errors become DatasetError."""
    try:
        with av.open(str(path) if file is None else file) as container:
            if not container.streams.video:
                raise DatasetError(f"{str(path)!r} has no video stream")
            yield container, container.streams.video[0]
    except (av.FFmpegError, OSError) as error:
        detail = getattr(error, "strerror", None) or error
        reason = "does not exist" if file is None and not path.exists() else f"cannot be read as a video: {detail}"
        raise DatasetError(f"{str(path)!r} {reason}") from error


def read_image(path: str | os.PathLike[str], resolution: int) -> torch.Tensor:
    """Read a photo as a generator input: RGB, centre-cropped to a square, resized (Lanczos).

    Args:
        path: Any image file Pillow reads.
        resolution: Side of the result in pixels.

    Returns:
        `[1, 3, resolution, resolution]` float image in `[-1, 1]`.
    """
    from PIL import UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"image {str(path)!r} does not exist")
    try:
        with Image.open(path) as opened:
            picture = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise ConfigError(f"{str(path)!r} is not an image Pillow can read: {error}") from error
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    picture = picture.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.Resampling.LANCZOS)
    pixels = torch.from_numpy(np.asarray(picture).copy())  # [R, R, 3] uint8
    return rearrange(pixels, "h w c -> 1 c h w").float() / 127.5 - 1
