"""Tests of latentmotion.data.VideoFolderDataset on folders built procedurally in tmp_path."""

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from latentmotion.data import VideoFolderDataset, crop_and_resize, natural_sort_key
from latentmotion.errors import ConfigError, DatasetError
from latentmotion.video import write_video


def grey_video(levels: list[int], *, height: int = 8, width: int = 8) -> torch.Tensor:
    """A video whose frame t is uniformly grey with 8-bit level `levels[t]`, `[T, 3, H, W]` in [-1, 1]."""
    values = torch.tensor(levels, dtype=torch.float32) / 127.5 - 1
    return values[:, None, None, None].expand(len(levels), 3, height, width).clone()


def save_grey_frames(folder: Path, names: list[str], levels: list[int], *, size: int = 8) -> Path:
    """Write one uniformly grey RGB image per name, with the 8-bit level given for it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, level in zip(names, levels, strict=True):
        Image.new("RGB", (size, size), (level, level, level)).save(folder / name)
    return folder


def levels_of(clip: torch.Tensor) -> list[float]:
    """The 8-bit grey level of each frame of a `[T, 3, H, W]` clip in [-1, 1]."""
    return ((clip.mean(dim=(1, 2, 3)) + 1) * 127.5).tolist()


def test_items_are_float_clips_of_the_requested_size(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", torch.rand(20, 3, 24, 32) * 2 - 1)
    write_video(tmp_path / "anim.gif", grey_video(list(range(0, 200, 10)), height=24, width=32))
    save_grey_frames(tmp_path / "frames", [f"img_{i:04d}.png" for i in range(20)], list(range(20)), size=20)

    dataset = VideoFolderDataset(tmp_path, n_frames=4, time_step=2, resolution=16)

    assert len(dataset) == 3
    assert {source.path.name for source in dataset.videos} == {"clip.mp4", "anim.gif", "frames"}
    assert {source.length for source in dataset.videos} == {20}
    assert dataset.skipped == []
    for index in range(len(dataset)):
        clip = dataset[index]
        assert clip.shape == (4, 3, 16, 16)
        assert clip.dtype == torch.float32
        assert clip.min() >= -1 and clip.max() <= 1


def test_frames_follow_natural_order_of_any_names(tmp_path: Path) -> None:
    names = [f"frame{i}.png" for i in range(12)]  # frame10 sorts before frame2 as plain text
    save_grey_frames(tmp_path / "clip", names[::-1], [20 * i for i in range(12)][::-1])

    dataset = VideoFolderDataset(tmp_path, n_frames=12, time_step=1, resolution=8)

    assert dataset.videos[0].frame_names == tuple(names)
    assert levels_of(dataset[0]) == pytest.approx([20 * i for i in range(12)], abs=1e-3)


def test_natural_sort_key_orders_numbers_by_value() -> None:
    names = ["b1.png", "a10.png", "a2.png", "A3.png", "a2b.png", "10.png", "9.png"]
    assert sorted(names, key=natural_sort_key) == ["9.png", "10.png", "a2.png", "a2b.png", "A3.png", "a10.png", "b1.png"]


def test_clip_frames_are_time_step_apart_in_a_frame_folder(tmp_path: Path) -> None:
    save_grey_frames(tmp_path / "clip", [f"{i:03d}.png" for i in range(30)], [8 * i for i in range(30)])
    dataset = VideoFolderDataset(tmp_path, n_frames=4, time_step=3, resolution=8)
    assert dataset.clip_span == 10

    torch.manual_seed(0)
    starts = set()
    for _ in range(20):
        frame_indices = [round(level / 8) for level in levels_of(dataset[0])]
        start = frame_indices[0]
        assert frame_indices == [start, start + 3, start + 6, start + 9]
        assert 0 <= start <= 30 - 10
        starts.add(start)
    assert len(starts) > 1


def test_clip_frames_are_time_step_apart_in_a_video_file(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", grey_video([6 * i for i in range(40)]))
    dataset = VideoFolderDataset(tmp_path, n_frames=5, time_step=2, resolution=8)

    torch.manual_seed(1)
    for _ in range(5):
        frame_indices = [round(level / 6) for level in levels_of(dataset[0])]
        start = frame_indices[0]
        assert frame_indices == [start, start + 2, start + 4, start + 6, start + 8]
        assert 0 <= start <= 40 - 9


def three_bands(height: int, width: int) -> Image.Image:
    """An RGB image split in three along its long side: red, green (the centre square), blue."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    side = min(height, width)
    if width >= height:
        left = (width - side) // 2
        pixels[:, :left, 0], pixels[:, left : left + side, 1], pixels[:, left + side :, 2] = 255, 255, 255
    else:
        top = (height - side) // 2
        pixels[:top, :, 0], pixels[top : top + side, :, 1], pixels[top + side :, :, 2] = 255, 255, 255
    return Image.fromarray(pixels)


@pytest.mark.parametrize(("height", "width"), [(12, 24), (24, 12)])
@pytest.mark.parametrize("resolution", [12, 6, 18])
def test_frames_are_centre_cropped_to_a_square(tmp_path: Path, height: int, width: int, resolution: int) -> None:
    (tmp_path / "clip").mkdir()
    for i in range(2):
        three_bands(height, width).save(tmp_path / "clip" / f"{i}.png")
    dataset = VideoFolderDataset(tmp_path, n_frames=2, time_step=1, resolution=resolution)

    green = torch.tensor([-1.0, 1.0, -1.0])[None, :, None, None].expand(2, 3, resolution, resolution)
    torch.testing.assert_close(dataset[0], green, atol=1e-5, rtol=0)


def test_resizing_is_antialiased_bicubic_rounded_to_8_bits() -> None:
    pixels = torch.randint(0, 256, (2, 3, 90, 120), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    resized = crop_and_resize(pixels, resolution=32)
    square = pixels[:, :, :, 15:105].double()  # the centre 90 x 90
    exact = torch.nn.functional.interpolate(square, size=(32, 32), mode="bicubic", antialias=True, align_corners=False).clamp(0, 255)
    levels = (resized.double() + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)  # whole 8-bit levels
    assert (levels - exact).abs().max() <= 1.0  # the exact filter, rounded


def test_grayscale_rgba_and_palette_frames_become_rgb(tmp_path: Path) -> None:
    folder = tmp_path / "clip"
    folder.mkdir()
    Image.new("L", (8, 8), 100).save(folder / "0.png")
    Image.new("RGBA", (8, 8), (10, 200, 30, 0)).save(folder / "1.png")
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 250, 40, 70] + [0] * 762)
    palette.save(folder / "2.png")
    Image.new("RGB", (8, 8), (5, 6, 7)).save(folder / "3.jpg", quality=100)

    clip = VideoFolderDataset(tmp_path, n_frames=4, time_step=1, resolution=8)[0]

    colours = ((clip.mean(dim=(2, 3)) + 1) * 127.5).round().tolist()
    assert colours[:3] == [[100, 100, 100], [10, 200, 30], [250, 40, 70]]
    assert colours[3] == pytest.approx([5, 6, 7], abs=2)  # JPEG


def test_bad_videos_are_skipped_with_a_warning(tmp_path: Path) -> None:
    write_video(tmp_path / "good.mp4", grey_video(list(range(10))))
    write_video(tmp_path / "short.mp4", grey_video([0, 50, 100]))
    (tmp_path / "corrupt.mp4").write_bytes(b"this is not a video" * 100)

    with pytest.warns(UserWarning, match="2 of 3 videos") as record:
        dataset = VideoFolderDataset(tmp_path, n_frames=4, time_step=2)

    message = str(record[0].message)
    assert "short.mp4" in message and "corrupt.mp4" in message
    assert [source.path.name for source in dataset.videos] == ["good.mp4"]
    reasons = {path.name: reason for path, reason in dataset.skipped}
    assert set(reasons) == {"short.mp4", "corrupt.mp4"}
    assert reasons["short.mp4"].startswith("3 frames, fewer than the 7 of a clip")
    assert "cannot be read" in reasons["corrupt.mp4"]


def test_bad_videos_raise_when_asked(tmp_path: Path) -> None:
    write_video(tmp_path / "good.mp4", grey_video(list(range(10))))
    write_video(tmp_path / "short.mp4", grey_video([0, 50, 100]))
    (tmp_path / "corrupt.mp4").write_bytes(b"this is not a video" * 100)

    with pytest.raises(DatasetError, match="2 of 3 videos") as error:
        VideoFolderDataset(tmp_path, n_frames=4, time_step=2, on_bad_video="raise")
    assert "short.mp4" in str(error.value) and "corrupt.mp4" in str(error.value)


def test_long_lists_of_bad_videos_are_summarised(tmp_path: Path) -> None:
    for i in range(8):
        save_grey_frames(tmp_path / f"short{i}", ["0.png"], [0])
    save_grey_frames(tmp_path / "long", ["0.png", "1.png"], [0, 1])

    with pytest.raises(DatasetError, match="8 of 9 videos.*short4.*; and 3 more") as error:
        VideoFolderDataset(tmp_path, n_frames=2, time_step=1, on_bad_video="raise")
    assert "short5" not in str(error.value)


def test_only_bad_videos_is_an_error_even_when_skipping(tmp_path: Path) -> None:
    write_video(tmp_path / "short.mp4", grey_video([0, 50, 100]))
    with pytest.raises(DatasetError, match="no usable video"):
        VideoFolderDataset(tmp_path, n_frames=16)


def test_empty_or_missing_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no videos here")
    with pytest.raises(DatasetError, match=rf"{tmp_path.name}.*\.mp4.*\.png"):
        VideoFolderDataset(tmp_path)
    with pytest.raises(DatasetError, match="missing.*does not exist"):
        VideoFolderDataset(tmp_path / "missing")


@pytest.mark.parametrize(
    "options",
    [{"n_frames": 0}, {"time_step": 0}, {"resolution": 0}, {"on_bad_video": "ignore"}],
)
def test_bad_options_are_config_errors(tmp_path: Path, options: dict) -> None:
    save_grey_frames(tmp_path / "clip", ["0.png", "1.png"], [0, 1])
    with pytest.raises(ConfigError, match=next(iter(options))):
        VideoFolderDataset(tmp_path, **options)


def test_videos_are_found_at_any_depth_and_hidden_ones_ignored(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    write_video(tmp_path / "a" / "b" / "deep.mp4", grey_video(list(range(4))))
    save_grey_frames(tmp_path / "x" / "frames", ["1.png", "2.png", "3.png", "4.png"], [0, 1, 2, 3])
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "junk.mp4").write_bytes(b"junk")
    (tmp_path / "a" / "._deep.mp4").write_bytes(b"junk")

    dataset = VideoFolderDataset(tmp_path, n_frames=2, time_step=3)

    assert sorted(str(source.path.relative_to(tmp_path)) for source in dataset.videos) == ["a/b/deep.mp4", "x/frames"]
    assert dataset.skipped == []


def test_unreadable_or_mismatched_frames_are_named_when_drawn(tmp_path: Path) -> None:
    save_grey_frames(tmp_path / "broken", ["0.png", "1.png"], [0, 1])
    (tmp_path / "broken" / "1.png").write_bytes(b"not a png")
    save_grey_frames(tmp_path / "sizes", ["0.png"], [0], size=8)
    save_grey_frames(tmp_path / "sizes", ["1.png"], [0], size=10)
    dataset = VideoFolderDataset(tmp_path, n_frames=2, time_step=1)

    with pytest.raises(DatasetError, match=r"broken/1\.png"):
        dataset[0]
    with pytest.raises(DatasetError, match=r"sizes/1\.png.*10x10.*8x8"):
        dataset[1]


def test_clips_are_reproducible_under_a_seed(tmp_path: Path) -> None:
    save_grey_frames(tmp_path / "clip", [f"{i}.png" for i in range(40)], [5 * i for i in range(40)])
    dataset = VideoFolderDataset(tmp_path, n_frames=3, time_step=2, resolution=8)

    torch.manual_seed(7)
    first = [dataset[0] for _ in range(6)]
    torch.manual_seed(7)
    second = [dataset[0] for _ in range(6)]

    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert len({levels_of(clip)[0] for clip in first}) > 1


def test_dataset_batches_in_a_dataloader(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        save_grey_frames(tmp_path / name, [f"{i}.png" for i in range(6)], [40 * i for i in range(6)], size=10)
    dataset = VideoFolderDataset(tmp_path, n_frames=3, time_step=2, resolution=8)

    loader = DataLoader(dataset, batch_size=2, shuffle=True, generator=torch.Generator().manual_seed(0))
    batches = list(loader)

    assert [tuple(batch.shape) for batch in batches] == [(2, 3, 3, 8, 8), (1, 3, 3, 8, 8)]
    assert all(batch.dtype == torch.float32 for batch in batches)
    for batch in batches:  # each video has 6 frames and a clip spans 5: starts 0 or 1
        for clip in batch:
            assert [round(level / 40) for level in levels_of(clip)] in ([0, 2, 4], [1, 3, 5])


def write_shard(shard: Path, files: list[Path]) -> Path:
    """An uncompressed tar of `files` under their names, with a label beside each (as webdataset groups a sample's files)."""
    with tarfile.open(shard, "w") as tar:
        for file in files:
            tar.add(file, arcname=file.name)
            label = tarfile.TarInfo(f"{file.stem}.cls")
            label.size = 1
            tar.addfile(label, io.BytesIO(b"0"))
    return shard


def test_videos_inside_tar_shards_are_read_from_their_offset_like_the_files(tmp_path: Path) -> None:
    loose, shards = tmp_path / "loose", tmp_path / "shards"
    loose.mkdir(), shards.mkdir()
    files = [write_video(loose / f"clip{i}.mp4", grey_video([6 * t + i for t in range(40)])) for i in range(3)]
    write_shard(shards / "part-0.tar", files[:2])
    write_shard(shards / "part-1.tar", files[2:])

    from_files = VideoFolderDataset(loose, n_frames=5, time_step=2, resolution=8)
    from_shards = VideoFolderDataset(shards, n_frames=5, time_step=2, resolution=8)

    assert [str(source.name.relative_to(shards)) for source in from_shards.videos] == ["part-0.tar/clip0.mp4", "part-0.tar/clip1.mp4", "part-1.tar/clip2.mp4"]
    assert [source.length for source in from_shards.videos] == [source.length for source in from_files.videos] == [40, 40, 40]
    for index in range(3):  # the same bytes, so the same clip under the same seed
        torch.manual_seed(index)
        expected = from_files[index]
        torch.manual_seed(index)
        assert torch.equal(from_shards[index], expected)
    loader = DataLoader(from_shards, batch_size=3, num_workers=1)  # the dataset goes to a worker process
    assert tuple(next(iter(loader)).shape) == (3, 5, 3, 8, 8)


def test_bad_members_and_bad_shards_are_named_and_skipped(tmp_path: Path) -> None:
    good = write_video(tmp_path / "good.mp4", grey_video(list(range(10))))
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"this is not a video" * 100)
    shards = tmp_path / "shards"
    shards.mkdir()
    write_shard(shards / "part-0.tar", [good, corrupt])
    (shards / "part-1.tar").write_bytes(b"not a tar" * 100)
    with gzip.open(shards / "part-2.tar", "wb") as file:  # compressed: cannot be read from an offset
        file.write((shards / "part-0.tar").read_bytes())

    with pytest.warns(UserWarning, match="3 of 4 videos"):
        dataset = VideoFolderDataset(shards, n_frames=4, time_step=2)

    assert [str(source.name.relative_to(shards)) for source in dataset.videos] == ["part-0.tar/good.mp4"]
    reasons = {str(path.relative_to(shards)): reason for path, reason in dataset.skipped}
    assert set(reasons) == {"part-0.tar/corrupt.mp4", "part-1.tar", "part-2.tar"}
    assert "cannot be read as a video" in reasons["part-0.tar/corrupt.mp4"]
    assert reasons["part-1.tar"].startswith("cannot be read as an uncompressed tar shard")
    assert reasons["part-2.tar"].startswith("cannot be read as an uncompressed tar shard")
