"""The truncation trick of BigGAN, in its two parts.

1. The prior: `z = truncation * u` with `u` a standard normal truncated to `[-2, 2]`.
2. The batch-norm statistics: every batch norm of the published generator stores `n_stats` rows of
   precomputed means and variances, for truncations `0, 1/(n_stats-1), ..., 1`, and blends two
   neighbouring rows for the truncation in use.

The blend of part 2 follows the published model exactly, quirk included. With
`coef, start = modf(truncation * (n_stats - 1))` computed as `truncation / (1 / (n_stats - 1))`,
the published model takes `row[start] * coef + row[start + 1] * (1 - coef)`: the weights are the
reverse of a linear interpolation, so a truncation just above a grid point uses (almost) the
*next* row, and one just below a grid point the previous one. With the published 51 rows,
`0.14 / 0.02` is `7.000000000000001` in floating point, so truncation 0.14 uses row 8, not
row 7; `0.58 / 0.02` is `28.999999999999996`, so 0.58 uses row 28, not row 29. We reproduce
this, since the published images depend on it.
"""

from __future__ import annotations

import math

import torch

from latentmotion.errors import ConfigError

TRUNCATION_BOUND = 2.0  # the truncated normal of the prior lives in [-2, 2]


def check_truncation(truncation: float) -> float:
    """Return `truncation` as a float, or raise a ConfigError unless it lies in `(0, 1]`.

    Args:
        truncation: The truncation of BigGAN's prior and batch-norm statistics.

    Returns:
        The truncation.
    """
    value = float(truncation)
    if not 0.0 < value <= 1.0:  # also rejects NaN
        raise ConfigError(f"BigGAN truncation must lie in (0, 1], got {truncation!r}; 0.4 is a common choice, 1.0 is no truncation")
    return value


def truncated_normal(shape: tuple[int, ...], *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw a standard normal truncated to `[-2, 2]` by inverting its distribution function.

    Args:
        shape: Shape of the draw.
        generator: CPU random number generator for reproducible draws.

    Returns:
        A float32 tensor on CPU with values in `[-2, 2]`.
    """
    uniform = torch.rand(shape, generator=generator, dtype=torch.float64)
    low = 0.5 * math.erfc(TRUNCATION_BOUND / math.sqrt(2.0))  # Phi(-2)
    high = 1.0 - low  # Phi(2)
    probability = low + (high - low) * uniform
    values = math.sqrt(2.0) * torch.special.erfinv(2.0 * probability - 1.0)
    return values.clamp(-TRUNCATION_BOUND, TRUNCATION_BOUND).float()


def truncation_statistics(means: torch.Tensor, variances: torch.Tensor, truncation: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend the precomputed batch-norm statistics for `truncation`, as the published model does.

    Args:
        means: `[n_stats, C]` means, row `i` for truncation `i / (n_stats - 1)`.
        variances: `[n_stats, C]` variances, same rows.
        truncation: Truncation in `(0, 1]`.

    Returns:
        The `[C]` mean and `[C]` variance to normalise with.
    """
    step = 1.0 / (means.shape[0] - 1)
    coef, start = math.modf(check_truncation(truncation) / step)
    start = int(start)
    if coef == 0.0 or start == means.shape[0] - 1:
        return means[start], variances[start]
    mean = means[start] * coef + means[start + 1] * (1 - coef)
    variance = variances[start] * coef + variances[start + 1] * (1 - coef)
    return mean, variance
