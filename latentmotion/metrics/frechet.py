"""The Fréchet distance between two Gaussians, and the running feature statistics it is computed from.

FVD and FID are both the Fréchet distance between Gaussians fitted to two sets of features:

$$d^2 = \\lVert \\mu_1 - \\mu_2 \\rVert^2 + \\operatorname{tr}\\bigl(\\Sigma_1 + \\Sigma_2 - 2 (\\Sigma_1 \\Sigma_2)^{1/2}\\bigr).$$

The covariance is normalised as StyleGAN-V normalises it: the second moment divided by the number
of features `N`, less the outer product of the mean (the maximum-likelihood estimate, not the
`N - 1` of `numpy.cov`). [FeatureStatistics][latentmotion.metrics.frechet.FeatureStatistics]
keeps running sums in float64, so features stream through in batches and memory does not grow
with their number.

The trace of the matrix square root is computed from eigenvalues (torch, float64), not with
`scipy.linalg.sqrtm`: `tr (Σ1 Σ2)^{1/2} = Σ_i sqrt(λ_i)`, where `λ_i` are the eigenvalues of
the symmetric `Σ1^{1/2} Σ2 Σ1^{1/2}`, which has the same spectrum as `Σ1 Σ2`.
"""

from __future__ import annotations

import torch

from latentmotion.errors import ShapeError


class FeatureStatistics:
    """Running count, sum and second moment of feature vectors, in float64.

    Args:
        dim: Length D of each feature vector.
    """

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ShapeError(f"feature dimension must be >= 1, got {dim}")
        self.dim = dim
        self.count = 0
        self.total = torch.zeros(dim, dtype=torch.float64)  # sum of features, [D]
        self.second = torch.zeros(dim, dim, dtype=torch.float64)  # sum of outer products, [D, D]

    def update(self, features: torch.Tensor) -> None:
        """Add a batch of feature vectors.

        Args:
            features: `[B, D]` features.

        Raises:
            ShapeError: `features` is not `[B, D]`, or holds NaN or infinite values.
        """
        if features.ndim != 2 or features.shape[1] != self.dim:
            raise ShapeError(f"expected features of shape [B, {self.dim}], got {list(features.shape)}")
        batch = features.detach().to("cpu", torch.float64)
        if not torch.isfinite(batch).all():
            raise ShapeError("features hold NaN or infinite values; the detector's input or weights are broken")
        self.count += batch.shape[0]
        self.total += batch.sum(dim=0)
        self.second += batch.T @ batch

    @property
    def mean(self) -> torch.Tensor:
        """`[D]` mean of the features seen so far."""
        self._check_count(1)
        return self.total / self.count

    @property
    def covariance(self) -> torch.Tensor:
        """`[D, D]` covariance, normalised by N as StyleGAN-V does: `second / N - mean mean^T`."""
        self._check_count(1)
        mean = self.mean
        return self.second / self.count - torch.outer(mean, mean)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        """The statistics as named tensors (for a safetensors file).

        Returns:
            `count` (int64 scalar as `[1]`), `total` `[D]` and `second` `[D, D]`, float64.
        """
        return {"count": torch.tensor([self.count], dtype=torch.int64), "total": self.total.clone(), "second": self.second.clone()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> FeatureStatistics:
        """Rebuild statistics saved by [to_tensors][latentmotion.metrics.frechet.FeatureStatistics.to_tensors].

        Args:
            tensors: `count`, `total` and `second`.

        Returns:
            The statistics.

        Raises:
            ShapeError: A tensor is missing or has the wrong shape.
        """
        try:
            count, total, second = tensors["count"], tensors["total"], tensors["second"]
        except KeyError as error:
            raise ShapeError(f"feature statistics lack {error.args[0]!r}") from None
        if total.ndim != 1 or second.shape != (total.shape[0], total.shape[0]) or count.numel() != 1:
            raise ShapeError(f"feature statistics of inconsistent shapes: total {list(total.shape)}, second {list(second.shape)}")
        statistics = cls(total.shape[0])
        statistics.count = int(count.item())
        statistics.total = total.to(torch.float64)
        statistics.second = second.to(torch.float64)
        return statistics

    def _check_count(self, minimum: int) -> None:
        if self.count < minimum:
            raise ShapeError(f"feature statistics need at least {minimum} feature vector(s), have {self.count}")


def frechet_distance(
    mean_a: torch.Tensor,  # [D]
    covariance_a: torch.Tensor,  # [D, D]
    mean_b: torch.Tensor,  # [D]
    covariance_b: torch.Tensor,  # [D, D]
) -> float:
    """Fréchet distance between `N(mean_a, covariance_a)` and `N(mean_b, covariance_b)`.

    Args:
        mean_a: `[D]` mean of the first set.
        covariance_a: `[D, D]` covariance of the first set (symmetric positive semi-definite).
        mean_b: `[D]` mean of the second set.
        covariance_b: `[D, D]` covariance of the second set.

    Returns:
        The squared Fréchet distance `d^2` (what FVD and FID report), `>= 0` up to rounding.

    Raises:
        ShapeError: Means and covariances of mismatched shapes.
    """
    dim = mean_a.shape[-1]
    if mean_a.shape != (dim,) or mean_b.shape != (dim,) or covariance_a.shape != (dim, dim) or covariance_b.shape != (dim, dim):
        raise ShapeError(
            f"means must be [D] and covariances [D, D] with one D; got {list(mean_a.shape)}, {list(covariance_a.shape)}, "
            f"{list(mean_b.shape)}, {list(covariance_b.shape)}"
        )
    mean_a, mean_b = mean_a.to(torch.float64), mean_b.to(torch.float64)
    covariance_a, covariance_b = _symmetric(covariance_a), _symmetric(covariance_b)
    root_a = _psd_sqrt(covariance_a)
    middle = _symmetric(root_a @ covariance_b @ root_a)
    trace_root = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()
    squared = (mean_a - mean_b).square().sum() + torch.trace(covariance_a) + torch.trace(covariance_b) - 2 * trace_root
    return float(squared)


def statistics_distance(a: FeatureStatistics, b: FeatureStatistics) -> float:
    """Fréchet distance between the Gaussians of two sets of running statistics.

    Args:
        a: Statistics of the first set (e.g. generated videos).
        b: Statistics of the second set (e.g. real videos).

    Returns:
        The squared Fréchet distance.
    """
    return frechet_distance(a.mean, a.covariance, b.mean, b.covariance)


def _symmetric(matrix: torch.Tensor) -> torch.Tensor:
    """A matrix in float64, made exactly symmetric (rounding leaves covariances slightly not)."""
    matrix = matrix.to(torch.float64)
    return (matrix + matrix.T) / 2


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative rounding clamped to 0)."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T
