"""The truncation trick: the truncated prior and the published blend of batch-norm statistics."""

import math

import pytest
import torch
from latentmotion_biggan.truncation import (
    check_truncation,
    truncated_normal,
    truncation_statistics,
)

from latentmotion.errors import ConfigError


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.0001, 2.0, float("nan")])
def test_truncation_outside_the_unit_interval_is_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match=r"truncation must lie in \(0, 1\]"):
        check_truncation(bad)


def test_truncation_inside_the_unit_interval_is_accepted() -> None:
    assert check_truncation(1) == 1.0
    assert check_truncation(0.02) == 0.02


def test_truncated_normal_stays_in_its_box_with_the_truncated_moments() -> None:
    draw = truncated_normal((200_000,), generator=torch.Generator().manual_seed(0)).double()
    assert draw.min() >= -2.0 and draw.max() <= 2.0
    # Var of N(0, 1) truncated to [-2, 2] = 1 - 2 * 2 * phi(2) / (Phi(2) - Phi(-2)).
    phi = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert draw.var().item() == pytest.approx(1 - 4 * phi / mass, abs=0.005)
    assert draw.mean().item() == pytest.approx(0.0, abs=0.01)
    # Density is that of the normal rescaled by 1 / mass: P(|u| > 1.9) = (Phi(-1.9) - Phi(-2)) * 2 / mass = 0.0121.
    tail = (math.erfc(1.9 / math.sqrt(2)) - math.erfc(2 / math.sqrt(2))) / mass
    assert (draw.abs() > 1.9).double().mean().item() == pytest.approx(tail, abs=0.002)


def test_truncated_normal_is_reproducible_under_a_seed() -> None:
    first = truncated_normal((4, 8), generator=torch.Generator().manual_seed(3))
    again = truncated_normal((4, 8), generator=torch.Generator().manual_seed(3))
    other = truncated_normal((4, 8), generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def _rows(n_stats: int) -> tuple[torch.Tensor, torch.Tensor]:
    means = torch.arange(n_stats, dtype=torch.float32)[:, None] * 10  # row i holds 10 i
    return means, means + 1


def test_statistics_on_a_grid_point_take_that_row() -> None:
    means, variances = _rows(3)  # rows for truncations 0, 0.5, 1
    assert truncation_statistics(means, variances, 0.5)[0].item() == 10.0
    assert truncation_statistics(means, variances, 1.0)[0].item() == 20.0
    assert truncation_statistics(means, variances, 1.0)[1].item() == 21.0


def test_statistics_between_grid_points_use_the_published_reversed_weights() -> None:
    means, variances = _rows(3)
    # 0.3 / 0.5 = 0.6: a linear interpolation would give 0.4 * 0 + 0.6 * 10 = 6; published: 0.6 * 0 + 0.4 * 10 = 4.
    mean, var = truncation_statistics(means, variances, 0.3)
    assert mean.item() == pytest.approx(4.0)
    assert var.item() == pytest.approx(0.6 * 1 + 0.4 * 11)


@pytest.mark.parametrize(("truncation", "row"), [(0.14, 8), (0.58, 28), (0.4, 20), (0.5, 25)])
def test_rounding_near_grid_points_picks_the_published_row(truncation: float, row: int) -> None:
    means, variances = _rows(51)  # the published 51 rows, step 0.02
    # 0.14 / 0.02 == 7.000000000000001 (weight ~1 on row 8); 0.58 / 0.02 == 28.999999999999996 (~1 on row 28).
    assert truncation_statistics(means, variances, truncation)[0].item() == pytest.approx(10.0 * row, abs=1e-4)
