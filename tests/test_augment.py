"""The contrastive views (cutout + flip | colour shift | affine) and the random time reversal."""

import pytest
import torch

from latentmotion.augment import cutout, reverse_time, warp
from latentmotion.errors import ConfigError, ShapeError

H = W = 32


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _hole_box(hole: torch.Tensor) -> tuple[int, int, int, int]:
    """Rows [r0, r1) and columns [c0, c1) of the bounding box of a `[H, W]` boolean mask."""
    rows = torch.nonzero(hole.any(dim=1)).squeeze(1)
    columns = torch.nonzero(hole.any(dim=0)).squeeze(1)
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


def _band(box: tuple[int, int, int, int]) -> str | None:
    """Which border band (a quarter of the side wide) holds the box, if any."""
    r0, r1, c0, c1 = box
    if r1 <= H // 4:
        return "top"
    if r0 >= 3 * H // 4:
        return "bottom"
    if c1 <= W // 4:
        return "left"
    if c0 >= 3 * W // 4:
        return "right"
    return None


def _assert_cutout_hole(hole: torch.Tensor) -> str:
    """Assert that `hole` is one full square of side in [H/8, H/4) inside a border band; return the band."""
    r0, r1, c0, c1 = _hole_box(hole)
    assert r1 - r0 == c1 - c0, "the hole is a square"
    assert H // 8 <= r1 - r0 < H // 4
    assert hole[r0:r1, c0:c1].all() and hole.sum() == (r1 - r0) ** 2, "the hole is filled and alone"
    band = _band((r0, r1, c0, c1))
    assert band is not None, f"hole {(r0, r1, c0, c1)} is not inside a border band"
    return band


def test_cutout_zeroes_a_square_inside_a_border_band() -> None:
    images = torch.rand(64, 3, H, W, generator=_seeded(10)) * 0.8 + 0.1  # no zero anywhere
    out = cutout(images, generator=_seeded(0))
    hole = out == 0
    assert torch.equal(hole[:, 0], hole[:, 1]) and torch.equal(hole[:, 0], hole[:, 2]), "same square in every channel"
    assert torch.equal(out[~hole], images[~hole]), "pixels outside the hole are unchanged"
    bands = {_assert_cutout_hole(hole[i, 0]) for i in range(len(images))}
    assert bands == {"top", "bottom", "left", "right"}


def _match_flip_or_colour(image: torch.Tensor, view: torch.Tensor) -> str | None:
    """Explain `view` as cutout + (identity | flip | colour shift) of `image`, or return None."""
    for name, base in (("identity", image), ("flip", image.flip(-1))):
        shift = (view - base).flatten(1).median(dim=1).values  # [3]; the hole covers < 5% of the pixels
        unshifted = view - shift[:, None, None]
        hole = ~torch.isclose(unshifted, base, atol=1e-6)
        if not torch.equal(hole[0], hole[1]) or not torch.equal(hole[0], hole[2]) or not hole.any():
            continue
        if not torch.allclose(unshifted[hole], torch.zeros(()), atol=1e-6):
            continue
        _assert_cutout_hole(hole[0])
        moved = shift.abs() > 1e-6
        if not moved.any():
            return name
        assert name == "identity", "a colour shift never comes with a flip"
        assert moved.all() and torch.allclose(shift, shift[0]) or moved.sum() == 1, "all channels or one"
        assert -0.5 <= float(shift[moved][0]) < 0.5
        return "colour"
    return None


def test_warp_applies_cutout_then_one_transform_per_image() -> None:
    images = torch.rand(60, 3, H, W, generator=_seeded(11)) * 0.8 + 0.1
    views = warp(images, generator=_seeded(1))
    assert views.shape == images.shape and views.dtype == images.dtype
    kinds = [_match_flip_or_colour(image, view) or "affine" for image, view in zip(images, views, strict=True)]
    for image, view, kind in zip(images, views, kinds, strict=True):
        if kind == "affine":  # bilinear resampling mixes pixels convexly: no value leaves the input's range
            assert view.min() >= 0.0 and view.max() <= image.max() + 1e-6
            # Reflection padding: the only dark pixels (input >= 0.1) are the hole's, at most 7 x 7 zoomed
            # by 1 / 0.95 plus a blended rim; zero padding would darken the rotated corners too.
            assert (view[0] < 0.05).sum() <= 100
    flips = kinds.count("identity") + kinds.count("flip")  # the flip branch flips half of the time
    # Each branch has probability 1/3 (20 of 60 expected); this seed's counts, with slack.
    assert 10 <= flips <= 30 and 10 <= kinds.count("colour") <= 30 and 10 <= kinds.count("affine") <= 30
    assert kinds.count("flip") > 0 and kinds.count("identity") > 0


def test_warp_is_deterministic_under_a_seed() -> None:
    images = torch.rand(8, 3, H, W, generator=_seeded(12))
    assert torch.equal(warp(images, generator=_seeded(3)), warp(images, generator=_seeded(3)))
    assert not torch.equal(warp(images, generator=_seeded(3)), warp(images, generator=_seeded(4)))
    assert not torch.equal(cutout(images, generator=_seeded(3)), cutout(images, generator=_seeded(4)))


def test_gradients_flow_through_warp() -> None:
    images = torch.rand(6, 3, 8, 8, dtype=torch.float64, generator=_seeded(13)).requires_grad_(True)
    # The same draws on every call, so the view is a fixed linear map of the pixels.
    assert torch.autograd.gradcheck(lambda x: warp(x, generator=_seeded(5)), (images,))
    warp(images, generator=_seeded(5)).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_warp_rejects_non_rgb_batches() -> None:
    with pytest.raises(ShapeError, match=r"\[B, 3, H, W\]"):
        warp(torch.rand(3, H, W))
    with pytest.raises(ShapeError):
        cutout(torch.rand(2, 4, H, W))


def test_reverse_time_reverses_the_whole_batch_or_nothing() -> None:
    video = torch.randn(3, 2, 5, 4, 4, generator=_seeded(14))  # [B, C, T, H, W]
    reversed_video = torch.stack([video[:, :, t] for t in reversed(range(5))], dim=2)
    assert torch.equal(reverse_time(video, p=1.0), reversed_video)
    assert torch.equal(reverse_time(video, p=0.0), video)
    generator = _seeded(0)
    outcomes = []
    for _ in range(20):
        out = reverse_time(video, generator=generator)
        assert torch.equal(out, video) or torch.equal(out, reversed_video)
        outcomes.append(torch.equal(out, reversed_video))
    assert any(outcomes) and not all(outcomes)
    generator = _seeded(0)
    assert [torch.equal(reverse_time(video, generator=generator), reversed_video) for _ in range(20)] == outcomes


def test_reverse_time_rejects_bad_input() -> None:
    with pytest.raises(ShapeError, match="B, C, T, H, W"):
        reverse_time(torch.randn(2, 3, 4, 4))
    with pytest.raises(ConfigError, match="probability"):
        reverse_time(torch.randn(1, 3, 2, 4, 4), p=1.5)
