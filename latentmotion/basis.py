"""The PCA basis of a latent space: the directions the motion generator steps along.

MoCoGAN-HD moves a content code `w0` by residual steps in the span of the top principal
directions of the generator's latent space, each scaled by its standard deviation. The authors fit
that basis with sklearn's `IncrementalPCA` on 1,000,000 samples; here it is fitted in one
streaming pass instead: the sum and the sum of outer products of the samples are accumulated in
float64 (after subtracting a fixed shift, the first batch's mean, so that no precision is lost to
cancellation), and the covariance they give is diagonalised with `torch.linalg.eigh`. Memory is
`O(D^2)` whatever the number of samples, and the result is the exact PCA of those samples.

A backend whose codes carry a per-video condition (`LatentSpace.condition_dim > 0`) gets a basis
fitted on the first `dim` columns only; its components are zero on the condition columns, so a
motion step never changes the condition.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from latentmotion.atomic import atomic_path
from latentmotion.backend import LatentSpace
from latentmotion.devices import check_memory
from latentmotion.errors import CheckpointError, ConfigError, ShapeError
from latentmotion.progress import progress_bar

if TYPE_CHECKING:
    from latentmotion.backend import ImageGeneratorBackend

FORMAT_NAME = "latentmotion.pca_basis"
FORMAT_VERSION = 1
REFIT_HINT = "refit the basis with `latentmotion fit-basis`"


class PCABasis:
    """Principal directions of a latent space, sorted by decreasing variance.

    Args:
        components: `[K, latent_dim + condition_dim]` orthonormal rows, zero on the condition
            columns, sorted by decreasing variance; the largest-magnitude entry of each row is positive.
        stdev: `[K]` standard deviation of the samples along each component (unbiased, `n - 1`),
            non-increasing; sklearn's `sqrt(explained_variance_)`.
        mean: `[latent_dim + condition_dim]` mean of the samples.
        latent_dim: Dimension of the space the motion moves in (`LatentSpace.dim`).
        condition_dim: Dimension of the per-video condition appended to each code (0 = none).
        n_samples: Number of samples the basis was fitted on.

    Attributes:
        components: `[K, total_dim]` float32 principal directions.
        stdev: `[K]` float32 standard deviations.
        mean: `[total_dim]` float32 sample mean (MoCoGAN-HD does not use it).
        latent_dim: Dimension of the space the motion moves in.
        condition_dim: Dimension of the per-video condition.
        n_samples: Number of samples the basis was fitted on.

    Example:
        ```python
        backend = latentmotion.get_backend("tiny")
        basis = PCABasis.fit(backend, n_samples=100_000, progress=True)
        basis.save("basis.safetensors")
        steps = PCABasis.load("basis.safetensors").scaled(8)  # [8, total_dim]
        ```
    """

    def __init__(
        self,
        *,
        components: torch.Tensor,  # [K, latent_dim + condition_dim], rows orthonormal
        stdev: torch.Tensor,  # [K], >= 0, non-increasing
        mean: torch.Tensor,  # [latent_dim + condition_dim]
        latent_dim: int,  # >= 1
        condition_dim: int = 0,  # >= 0
        n_samples: int,  # >= 2
    ) -> None:
        if latent_dim < 1 or condition_dim < 0:
            raise ConfigError(f"a PCA basis needs latent_dim >= 1 and condition_dim >= 0, got {latent_dim} and {condition_dim}")
        if n_samples < 2:
            raise ConfigError(f"a PCA basis needs at least 2 samples, got n_samples={n_samples}")
        total_dim = latent_dim + condition_dim
        k = components.shape[0] if components.ndim == 2 else -1
        if components.ndim != 2 or not 1 <= k <= latent_dim or components.shape[1] != total_dim:
            raise ShapeError(
                f"PCA components must be [K, {total_dim}] with 1 <= K <= {latent_dim}, got {list(components.shape)}"
            )
        if tuple(stdev.shape) != (k,):
            raise ShapeError(f"PCA stdev must be [{k}] (one per component), got {list(stdev.shape)}")
        if tuple(mean.shape) != (total_dim,):
            raise ShapeError(f"PCA mean must be [{total_dim}], got {list(mean.shape)}")
        self.components = components.detach().to("cpu", torch.float32)
        self.stdev = stdev.detach().to("cpu", torch.float32)
        self.mean = mean.detach().to("cpu", torch.float32)
        self.latent_dim = int(latent_dim)
        self.condition_dim = int(condition_dim)
        self.n_samples = int(n_samples)

    def __repr__(self) -> str:
        return (
            f"PCABasis(n_components={self.n_components}, latent_dim={self.latent_dim}, "
            f"condition_dim={self.condition_dim}, n_samples={self.n_samples})"
        )

    @property
    def n_components(self) -> int:
        """Number of principal directions `K` kept."""
        return self.components.shape[0]

    @property
    def total_dim(self) -> int:
        """Length of a full content code: `latent_dim + condition_dim`."""
        return self.latent_dim + self.condition_dim

    @classmethod
    def fit(
        cls,
        backend: ImageGeneratorBackend,
        *,
        n_samples: int = 1_000_000,  # codes drawn from the backend, >= 2
        batch_size: int = 4096,  # codes drawn per call of sample_latents, >= 1
        n_components: int | None = None,  # components kept, 1..latent_space.dim; None = all
        seed: int = 0,  # seed of the CPU generator the codes are drawn with
        progress: bool = False,  # show a progress bar on stderr
    ) -> PCABasis:
        """Fit the basis on content codes drawn from a backend's prior.

        Args:
            backend: The generator whose latent space is analysed; codes come from
                `backend.sample_latents(n, generator=...)`.
            n_samples: Number of codes to draw; MoCoGAN-HD uses 1,000,000.
            batch_size: Number of codes drawn at a time; memory does not depend on `n_samples`.
            n_components: Number of components to keep; None keeps all `latent_space.dim`.
            seed: Seed of the `torch.Generator` that draws the codes; the fit is deterministic
                under a seed.
            progress: Show a rich progress bar on stderr.

        Returns:
            The fitted basis.

        Raises:
            ConfigError: If `n_samples < 2`, `batch_size < 1`, `n_components` is out of range,
                or a batch of codes cannot fit in the memory available.
            ShapeError: If the backend returns codes of the wrong width.
        """
        if n_samples < 2:
            raise ConfigError(f"fitting a PCA basis needs n_samples >= 2, got {n_samples}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        space = backend.latent_space
        _check_n_components(n_components, space.dim)
        drawn = min(batch_size, n_samples)
        check_memory(  # the codes of one batch, and their float64 copy
            drawn * space.total_dim * 12, backend.device, what=f"drawing {drawn:,} codes at a time", lower="batch_size (--batch-size)"
        )
        generator = torch.Generator().manual_seed(seed)

        def batches() -> Iterable[torch.Tensor]:
            for start in range(0, n_samples, batch_size):
                codes = backend.sample_latents(min(batch_size, n_samples - start), generator=generator)
                if codes.ndim != 2 or codes.shape[1] != space.total_dim:
                    raise ShapeError(
                        f"backend {backend.label!r} sample_latents returned {list(codes.shape)}, "
                        f"expected [N, {space.total_dim}] for its latent space {space.name!r}"
                    )
                yield codes

        return cls.fit_batches(
            batches(),
            condition_dim=space.condition_dim,
            n_components=n_components,
            progress=progress,
            total=n_samples,
        )

    @classmethod
    def fit_batches(
        cls,
        batches: Iterable[torch.Tensor | np.ndarray],
        *,
        condition_dim: int = 0,  # trailing condition columns of each code, excluded from the PCA
        n_components: int | None = None,  # components kept, 1..latent_dim; None = all
        progress: bool = False,  # show a progress bar on stderr
        total: int | None = None,  # expected number of samples, for the progress bar only
    ) -> PCABasis:
        """Fit the basis in one streaming pass over batches of samples.

        The first batch's mean is the shift `c`; the pass accumulates `n`, `s = sum(x - c)` and
        `G = sum((x - c)(x - c)^T)` in float64, on the batches' device. The covariance is then
        `(G - s s^T / n) / (n - 1)` and its eigenvectors are the components.

        Args:
            batches: Any iterable of `[n_i, latent_dim + condition_dim]` torch tensors or numpy
                arrays (all of the same width, on one device).
            condition_dim: Number of trailing condition columns of each sample; they are left out
                of the PCA and the components are zero there.
            n_components: Number of components to keep; None keeps all `latent_dim`.
            progress: Show a rich progress bar on stderr.
            total: Expected number of samples, used only to size the progress bar.

        Returns:
            The fitted basis.

        Raises:
            ConfigError: If there are fewer than 2 samples, a sample is not finite, or
                `n_components` is out of range.
            ShapeError: If a batch is not 2-D, the widths differ, or a batch has no column
                outside the condition.
        """
        count = 0
        shift = total_sum = gram = None
        with progress_bar("fitting PCA basis", enabled=progress, total=total) as advance, torch.no_grad():
            for batch in batches:
                x = torch.as_tensor(batch)
                if x.ndim != 2:
                    raise ShapeError(f"PCA samples must come in [n, D] batches, got a batch of shape {list(x.shape)}")
                if shift is None:
                    latent_dim = x.shape[1] - condition_dim
                    if latent_dim < 1:
                        raise ShapeError(
                            f"samples of width {x.shape[1]} leave no latent column beside condition_dim={condition_dim}"
                        )
                    _check_n_components(n_components, latent_dim)
                    shift = x.to(torch.float64).mean(dim=0)
                    total_sum = torch.zeros_like(shift)
                    gram = torch.zeros(latent_dim, latent_dim, dtype=torch.float64, device=x.device)
                if x.shape[1] != shift.shape[0]:
                    raise ShapeError(f"PCA batches must all have width {shift.shape[0]}, got a batch of shape {list(x.shape)}")
                centred = x.to(torch.float64, copy=True).sub_(shift)  # [n, total_dim]; copy: never touch the caller's batch
                total_sum += centred.sum(dim=0)
                latent = centred[:, :latent_dim]
                gram.addmm_(latent.T, latent)
                count += x.shape[0]
                advance(x.shape[0])
        if count < 2:
            raise ConfigError(f"fitting a PCA basis needs at least 2 samples, got {count}")
        if not (torch.isfinite(gram).all() and torch.isfinite(total_sum).all()):
            raise ConfigError("the PCA samples contain NaN or infinite values; check the backend's sample_latents")

        latent_sum = total_sum[:latent_dim]
        covariance = (gram - torch.outer(latent_sum, latent_sum) / count) / (count - 1)
        variances, vectors = torch.linalg.eigh(covariance)  # ascending; columns are eigenvectors
        k = latent_dim if n_components is None else n_components
        variances = variances.flip(0)[:k]
        vectors = vectors.flip(1)[:, :k].T  # [k, latent_dim]
        largest = vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True))
        vectors = vectors * torch.sign(largest)
        components = torch.zeros(k, latent_dim + condition_dim, dtype=torch.float64, device=vectors.device)
        components[:, :latent_dim] = vectors
        return cls(
            components=components,
            stdev=variances.clamp(min=0).sqrt(),
            mean=shift + total_sum / count,
            latent_dim=latent_dim,
            condition_dim=condition_dim,
            n_samples=count,
        )

    def scaled(self, k: int | None = None) -> torch.Tensor:
        """The stdev-scaled basis `V_k * sigma_k` that the motion generator steps along.

        Args:
            k: Number of leading components, 1..n_components; None uses all.

        Returns:
            `[k, total_dim]` rows `components[i] * stdev[i]`.

        Raises:
            ConfigError: If `k` is out of range.
        """
        k = self.n_components if k is None else k
        _check_n_components(k, self.n_components)
        return self.components[:k] * self.stdev[:k, None]

    def truncate(self, k: int) -> PCABasis:
        """A basis with only the `k` leading components.

        Args:
            k: Number of components to keep, 1..n_components.

        Returns:
            A new basis sharing dims, mean and sample count with this one.

        Raises:
            ConfigError: If `k` is out of range.
        """
        _check_n_components(k, self.n_components)
        return PCABasis(
            components=self.components[:k].clone(),
            stdev=self.stdev[:k].clone(),
            mean=self.mean.clone(),
            latent_dim=self.latent_dim,
            condition_dim=self.condition_dim,
            n_samples=self.n_samples,
        )

    def check_compatible(self, latent_space: LatentSpace) -> None:
        """Raise unless this basis was fitted on a space of the same dimensions as `latent_space`.

        Args:
            latent_space: The latent space of the backend the basis is to be used with.

        Raises:
            ShapeError: If `dim` or `condition_dim` differ.
        """
        if (latent_space.dim, latent_space.condition_dim) != (self.latent_dim, self.condition_dim):
            raise ShapeError(
                f"the PCA basis was fitted on a {_describe(self.latent_dim, self.condition_dim)} latent space, "
                f"but the backend's latent space {latent_space.name!r} is "
                f"{_describe(latent_space.dim, latent_space.condition_dim)}; {REFIT_HINT}"
            )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the basis to a safetensors file, atomically (temp file, then rename).

        Args:
            path: Destination file, conventionally `basis.safetensors`; its folder must exist.
        """
        from safetensors.torch import save

        data = save(
            {"components": self.components.contiguous(), "stdev": self.stdev.contiguous(), "mean": self.mean.contiguous()},
            metadata={
                "format": FORMAT_NAME,
                "format_version": str(FORMAT_VERSION),
                "latent_dim": str(self.latent_dim),
                "condition_dim": str(self.condition_dim),
                "n_samples": str(self.n_samples),
            },
        )
        with atomic_path(path) as temp:
            temp.write_bytes(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PCABasis:
        """Read a basis written by [save][latentmotion.basis.PCABasis.save].

        Args:
            path: The safetensors file.

        Returns:
            The basis, on CPU.

        Raises:
            CheckpointError: If the file is missing, is not a complete safetensors file, is not a
                latentmotion PCA basis, or holds missing or misshapen tensors.
        """
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"PCA basis file {str(path)!r} does not exist; fit one with `latentmotion fit-basis`")
        try:
            with safe_open(path, framework="pt") as file:
                metadata = file.metadata() or {}
                tensors = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118 (safe_open is no dict)
        except (SafetensorError, OSError) as error:
            raise CheckpointError(
                f"{str(path)!r} is not a readable safetensors file (truncated or corrupt?): {error}; {REFIT_HINT}"
            ) from error
        if metadata.get("format") != FORMAT_NAME:
            raise CheckpointError(f"{str(path)!r} is not a latentmotion PCA basis (no format={FORMAT_NAME!r} in its metadata)")
        if metadata.get("format_version") != str(FORMAT_VERSION):
            raise CheckpointError(
                f"{str(path)!r} has PCA basis format version {metadata.get('format_version')!r}; "
                f"this latentmotion reads version {FORMAT_VERSION}"
            )
        missing = sorted({"components", "stdev", "mean"} - tensors.keys())
        if missing:
            raise CheckpointError(f"PCA basis file {str(path)!r} lacks the tensors {missing}; {REFIT_HINT}")
        try:
            dims = {key: int(metadata[key]) for key in ("latent_dim", "condition_dim", "n_samples")}
            return cls(components=tensors["components"], stdev=tensors["stdev"], mean=tensors["mean"], **dims)
        except (KeyError, ValueError) as error:
            raise CheckpointError(f"PCA basis file {str(path)!r} is inconsistent: {error}; {REFIT_HINT}") from error


def _check_n_components(n_components: int | None, limit: int) -> None:
    """Raise a ConfigError unless `n_components` is None or in `1..limit`.

    Args:
        n_components: Requested number of components.
        limit: Largest allowed value.
    """
    if n_components is not None and not 1 <= n_components <= limit:
        raise ConfigError(f"n_components must be between 1 and {limit}, got {n_components}")


def _describe(dim: int, condition_dim: int) -> str:
    """Name the dimensions of a latent space for error messages.

    Args:
        dim: Dimension of the space.
        condition_dim: Dimension of its condition.

    Returns:
        E.g. `"512-dim"` or `"128-dim (+ 128 condition)"`.
    """
    return f"{dim}-dim" if condition_dim == 0 else f"{dim}-dim (+ {condition_dim} condition)"
