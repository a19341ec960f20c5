"""Tests of latentmotion.video: mp4/gif/png writing, decoding, atomic writes, errors."""

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from einops import rearrange
from PIL import Image

from latentmotion import video as video_io
from latentmotion.errors import ConfigError, DatasetError, ShapeError
from latentmotion.video import (
    count_frames,
    read_video,
    to_uint8,
    write_grid,
    write_video,
)


def moving_square(frames: int = 8, height: int = 32, width: int = 48) -> torch.Tensor:
    """A smooth test video: a diagonal gradient with a soft bright square moving right, `[T, 3, H, W]`."""
    ys = torch.linspace(0, 1, height)[:, None]
    xs = torch.linspace(0, 1, width)[None, :]
    clips = []
    for t in range(frames):
        background = 0.6 * (xs + ys) - 0.6  # in [-0.6, 0.6]
        centre_x, centre_y = (8 + 3 * t) / width, 0.5
        distance = torch.maximum((xs - centre_x).abs() * width, (ys - centre_y).abs() * height)
        square = torch.sigmoid(8 - distance)  # soft square of side ~16 pixels
        frame = background + 0.5 * square
        clips.append(torch.stack([frame, 0.8 * frame + 0.1, 0.6 * frame - 0.2]))
    return torch.stack(clips).clamp(-1, 1)


def test_to_uint8_maps_range_with_rounding_and_clamping() -> None:
    values = torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0, -0.996])
    # (x + 1) * 127.5 = clamp -> 0, 0, 127.5 -> 128 (half to even), 191.25 -> 191, 255, 255, 0.51 -> 1
    assert to_uint8(values).tolist() == [0, 0, 128, 191, 255, 255, 1]
    assert to_uint8(values).dtype == torch.uint8


def test_to_uint8_rejects_integer_pixels() -> None:
    with pytest.raises(ShapeError, match="floating-point"):
        to_uint8(torch.zeros(2, 3, dtype=torch.uint8))


def test_mp4_round_trip_is_h264_yuv420p_and_close(tmp_path: Path) -> None:
    clip = moving_square()
    written = write_video(tmp_path / "clip.mp4", clip, fps=12)
    assert written == tmp_path / "clip.mp4"

    with av.open(str(written)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == 12

    decoded = read_video(written)
    assert decoded.dtype == torch.uint8
    assert decoded.shape == (8, 3, 32, 48)
    expected = to_uint8(clip).float()
    error = (decoded.float() - expected).abs()
    assert error.mean() < 2.5
    assert error.max() < 32
    distances = torch.cdist(decoded.flatten(1).float(), expected.flatten(1))  # [T, T]
    assert torch.equal(distances.argmin(dim=1), torch.arange(8))  # every frame closest to its own
    assert count_frames(written) == 8


def test_mp4_pads_odd_sides_by_repeating_the_edge(tmp_path: Path) -> None:
    clip = moving_square(frames=3, height=21, width=33)
    decoded = read_video(write_video(tmp_path / "odd.mp4", clip))
    assert decoded.shape == (3, 3, 22, 34)
    expected = to_uint8(clip).float()
    assert (decoded[:, :, :21, :33].float() - expected).abs().mean() < 2.5
    assert (decoded[:, :, 21].float() - decoded[:, :, 20].float()).abs().mean() < 2.0
    assert (decoded[:, :, :, 33].float() - decoded[:, :, :, 32].float()).abs().mean() < 2.0


def test_read_video_with_indices_decodes_only_those_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", moving_square())
    everything = read_video(path)
    assert torch.equal(read_video(path, indices=[5, 1, 1]), everything[[5, 1, 1]])
    with pytest.raises(DatasetError, match="only 8 frames"):
        read_video(path, indices=[0, 8])
    for bad in ([-1], []):
        with pytest.raises(ConfigError, match=">= 0"):
            read_video(path, indices=bad)


def write_h264(path: Path, *, frames: int, gop: int, rate: int = 25) -> Path:
    """An H.264 mp4 whose frame t is a uniform grey of level 2t (keyframes every `gop` frames)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        stream.options = {"bf": "2"}  # B-frames: decoding order differs from display order
        for t in range(frames):
            pixels = np.full((32, 32, 3), 2 * t, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize(("suffix", "rate"), [(".mp4", 25), (".mkv", 30)])
def test_a_clip_late_in_a_video_is_read_after_a_seek(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, rate: int) -> None:
    path = write_h264(tmp_path / f"long{suffix}", frames=120, gop=10, rate=rate)
    everything = read_video(path)
    assert everything.shape[0] == 120
    counted = []
    original = video_io._decode

    def counting(decoded, *args, **kwargs):
        def frames():
            for frame in decoded:
                counted.append(frame)
                yield frame

        return original(frames(), *args, **kwargs)

    monkeypatch.setattr(video_io, "_decode", counting)
    indices = [101, 97, 103, 101]
    assert torch.equal(read_video(path, indices=indices), everything[indices])
    assert len(counted) <= 103 - 90 + 1  # from the keyframe at 90 (or later) to frame 103, not from frame 0
    with pytest.raises(DatasetError, match="only 120 frames; frame 125 was requested"):
        read_video(path, indices=[110, 125])


def test_gif_round_trip_loops_with_frame_duration(tmp_path: Path) -> None:
    clip = moving_square(frames=5)
    path = write_video(tmp_path / "clip.gif", clip, fps=5)

    with Image.open(path) as image:
        assert image.n_frames == 5
        assert image.info["loop"] == 0
        assert image.info["duration"] == 200

    decoded = read_video(path)
    assert decoded.shape == (5, 3, 32, 48)
    assert (decoded.float() - to_uint8(clip).float()).abs().mean() < 1.0
    assert count_frames(path) == 5


def test_write_grid_places_every_frame_in_its_cell(tmp_path: Path) -> None:
    videos = torch.rand(2, 3, 3, 5, 7) * 2 - 1
    path = write_grid(tmp_path / "grid.png", videos, padding=2)

    with Image.open(path) as image:
        assert image.mode == "RGB"
        grid = rearrange(torch.from_numpy(np.array(image)), "h w c -> c h w")
    assert grid.shape == (3, 2 * 5 + 2, 3 * 7 + 2 * 2)
    pixels = to_uint8(videos)
    for b in range(2):
        for t in range(3):
            top, left = b * 7, t * 9
            assert torch.equal(grid[:, top : top + 5, left : left + 7], pixels[b, t])
    assert grid[:, 5:7].eq(0).all()  # padding row between the two videos
    assert grid[:, :, 7:9].eq(0).all()  # padding column between frames 0 and 1


def test_png_video_is_a_one_row_grid(tmp_path: Path) -> None:
    clip = torch.rand(4, 3, 6, 5) * 2 - 1
    write_video(tmp_path / "clip.png", clip)
    write_grid(tmp_path / "grid.png", clip[None])
    assert (tmp_path / "clip.png").read_bytes() == (tmp_path / "grid.png").read_bytes()
    with Image.open(tmp_path / "clip.png") as image:
        assert image.size == (4 * 5 + 3 * 2, 6)


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    clip = moving_square(frames=2)
    for name in ("a.mp4", "a.gif", "a.png"):
        write_video(tmp_path / name, clip)
    write_grid(tmp_path / "grid.png", clip[None])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.gif", "a.mp4", "a.png", "grid.png"]


def test_failed_write_keeps_the_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"previous video")
    seen = []

    def failing_replace(source: Path, destination: Path) -> None:
        seen.append(Path(source).stat().st_size)  # the complete temporary file exists beside the target
        raise OSError("disk full")

    monkeypatch.setattr(video_io.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_video(target, moving_square(frames=2))
    assert seen and seen[0] > 0
    assert target.read_bytes() == b"previous video"
    assert list(tmp_path.iterdir()) == [target]


def test_unsupported_suffix_lists_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.avi.*\.mp4, \.gif, \.png"):
        write_video(tmp_path / "clip.avi", moving_square(frames=2))
    with pytest.raises(ConfigError, match=r"\.png"):
        write_grid(tmp_path / "grid.jpg", moving_square(frames=2)[None])


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere"):
        write_video(tmp_path / "nowhere" / "clip.mp4", moving_square(frames=2))
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "bad",
    [torch.zeros(3, 8, 8), torch.zeros(2, 4, 8, 8), torch.zeros(0, 3, 8, 8), torch.zeros(2, 3, 8, 8, dtype=torch.uint8)],
)
def test_write_video_rejects_bad_tensors(tmp_path: Path, bad: torch.Tensor) -> None:
    with pytest.raises(ShapeError, match=r"\[T, 3, H, W\]"):
        write_video(tmp_path / "clip.mp4", bad)


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fps"):
        write_video(tmp_path / "clip.mp4", moving_square(frames=2), fps=0)
    with pytest.raises(ConfigError, match="padding"):
        write_grid(tmp_path / "grid.png", moving_square(frames=2)[None], padding=-1)
    with pytest.raises(ShapeError, match=r"\[B, T, 3, H, W\]"):
        write_grid(tmp_path / "grid.png", moving_square(frames=2))


def test_reading_a_corrupt_or_missing_file_names_it(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0)).byte().numpy().tobytes())
    with pytest.raises(DatasetError, match="corrupt.mp4"):
        read_video(corrupt)
    with pytest.raises(DatasetError, match="corrupt.mp4"):
        count_frames(corrupt)
    with pytest.raises(DatasetError, match="missing.mp4.*does not exist"):
        read_video(tmp_path / "missing.mp4")


def test_read_image_crops_resizes_and_scales_to_the_unit_range(tmp_path):
    path = tmp_path / "photo.png"
    pixels = np.zeros((40, 60, 3), dtype=np.uint8)
    pixels[:, 10:50] = (255, 0, 255)  # the centre square is magenta, the side bands black
    Image.fromarray(pixels).save(path)
    image = video_io.read_image(path, 32)
    assert image.shape == (1, 3, 32, 32)
    assert torch.allclose(image[0, :, 16, 16], torch.tensor([1.0, -1.0, 1.0]))
    assert torch.allclose(image[0, :, 0, 0], torch.tensor([1.0, -1.0, 1.0]))  # the black bands are cropped away
    with pytest.raises(ConfigError, match="does not exist"):
        video_io.read_image(tmp_path / "nope.png", 32)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ConfigError, match="not an image"):
        video_io.read_image(tmp_path / "bad.png", 32)
