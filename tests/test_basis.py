"""The streaming PCA basis agrees with an exact PCA, fits through backends, and saves and loads safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from scipy.linalg import subspace_angles
from torch import nn

import latentmotion
from latentmotion.backend import LatentSpace
from latentmotion.basis import PCABasis
from latentmotion.errors import CheckpointError, ConfigError, ShapeError
from latentmotion.module_backend import ModuleBackend

DIM = 12
VARIANCES = np.geomspace(9.0, 0.05, DIM)  # distinct, well separated


def known_spectrum_data(n: int, *, offset: float = 0.0, seed: int = 0) -> np.ndarray:
    """`[n, DIM]` float64 samples with covariance `Q diag(VARIANCES) Q^T` for a random rotation Q, shifted by `offset`."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    noise = rng.standard_normal((n, DIM)) * np.sqrt(VARIANCES)
    return noise @ rotation.T + offset + rng.standard_normal(DIM)


def exact_pca(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Components `[D, D]` (rows, decreasing variance, largest-|.| entry positive) and stdevs of the full data, by eigh."""
    variances, vectors = np.linalg.eigh(np.cov(data, rowvar=False, ddof=1))
    order = np.argsort(variances)[::-1]
    components = vectors[:, order].T
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return components * signs[:, None], np.sqrt(variances[order])


def in_batches(data: np.ndarray, size: int) -> list[np.ndarray]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_agrees_with_exact_pca_on_known_spectrum() -> None:
    data = known_spectrum_data(20_000)
    basis = PCABasis.fit_batches(in_batches(data, 1000))
    components, stdev = exact_pca(data)

    assert basis.components.shape == (DIM, DIM) and basis.components.dtype == torch.float32
    np.testing.assert_allclose(basis.components.numpy(), components, atol=2e-6)
    np.testing.assert_allclose(basis.stdev.numpy(), stdev, rtol=1e-6)
    np.testing.assert_allclose(basis.mean.numpy(), data.mean(axis=0), rtol=1e-6)
    assert basis.n_samples == 20_000
    # the exact PCA of 20,000 samples sits near the true spectrum: a check on the data, not on the fit
    np.testing.assert_allclose(stdev**2, VARIANCES, rtol=0.05)
    for k in (1, 4, 9):
        assert subspace_angles(basis.components[:k].numpy().T.astype(np.float64), components[:k].T).max() < 1e-5


def test_basis_is_orthonormal_sorted_and_sign_fixed() -> None:
    basis = PCABasis.fit_batches(in_batches(known_spectrum_data(5000, seed=3), 512))
    gram = basis.components @ basis.components.T
    torch.testing.assert_close(gram, torch.eye(DIM), atol=1e-5, rtol=0)
    assert (basis.stdev[:-1] > basis.stdev[1:]).all()
    largest = basis.components.gather(1, basis.components.abs().argmax(dim=1, keepdim=True))
    assert (largest > 0).all()


def test_large_offset_does_not_lose_precision() -> None:
    # around 1e6 a naive sum of squares cancels to ~1e-4 absolute error; the shifted accumulation keeps it exact
    data = known_spectrum_data(4000, offset=1e6, seed=1)
    basis = PCABasis.fit_batches(in_batches(data, 500))
    components, stdev = exact_pca(data)
    np.testing.assert_allclose(basis.stdev.numpy(), stdev, rtol=1e-6)
    np.testing.assert_allclose(basis.components.numpy(), components, atol=2e-6)


def test_result_does_not_depend_on_batch_size() -> None:
    data = known_spectrum_data(3000, seed=2)
    fits = [PCABasis.fit_batches(in_batches(data, size)) for size in (3000, 256, 37)]
    for other in fits[1:]:
        torch.testing.assert_close(other.components, fits[0].components, atol=1e-6, rtol=0)
        torch.testing.assert_close(other.stdev, fits[0].stdev, atol=0, rtol=1e-6)
        torch.testing.assert_close(other.mean, fits[0].mean, atol=1e-6, rtol=0)


def test_scaled_and_truncate() -> None:
    basis = PCABasis.fit_batches([known_spectrum_data(2000, seed=4)], n_components=8)
    assert basis.n_components == 8 and basis.components.shape == (8, DIM)
    scaled = basis.scaled(5)
    assert scaled.shape == (5, DIM)
    torch.testing.assert_close(scaled.norm(dim=1), basis.stdev[:5])
    torch.testing.assert_close(basis.scaled(), basis.components * basis.stdev[:, None])
    small = basis.truncate(3)
    assert small.n_components == 3 and small.n_samples == 2000
    torch.testing.assert_close(small.components, basis.components[:3])
    with pytest.raises(ConfigError, match="between 1 and 8"):
        basis.scaled(9)
    with pytest.raises(ConfigError):
        basis.truncate(0)


def test_fit_through_tiny_backend_matches_exact_pca_of_its_samples() -> None:
    backend = latentmotion.get_backend("tiny")
    basis = PCABasis.fit(backend, n_samples=3000, batch_size=700, seed=5)
    generator = torch.Generator().manual_seed(5)
    sizes = [700, 700, 700, 700, 200]
    samples = torch.cat([backend.sample_latents(n, generator=generator) for n in sizes]).double().numpy()
    components, stdev = exact_pca(samples)

    assert basis.latent_dim == backend.latent_space.dim and basis.condition_dim == 0
    assert basis.n_samples == 3000
    np.testing.assert_allclose(basis.components.numpy(), components, atol=1e-5)
    np.testing.assert_allclose(basis.stdev.numpy(), stdev, rtol=1e-5)
    again = PCABasis.fit(backend, n_samples=3000, batch_size=700, seed=5)
    assert torch.equal(again.components, basis.components)
    basis.check_compatible(backend.latent_space)


class NeverRenders(nn.Module):
    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        raise AssertionError("fitting a basis must not render")


def conditional_backend() -> ModuleBackend:
    """A BigGAN-like backend: 6-dim z plus a 3-dim class embedding that varies between codes."""

    def sample(n: int, generator: torch.Generator | None) -> torch.Tensor:
        z = torch.randn(n, 6, generator=generator) * torch.arange(1, 7)
        classes = torch.randint(0, 3, (n,), generator=generator)
        return torch.cat([z, 5.0 * nn.functional.one_hot(classes, 3).float()], dim=1)

    return ModuleBackend(
        network=NeverRenders(),
        latent_space=LatentSpace("z", 6, condition_dim=3),
        resolution=8,
        sampler=sample,
    )


def test_condition_columns_are_left_out_of_the_pca() -> None:
    backend = conditional_backend()
    basis = PCABasis.fit(backend, n_samples=4000, batch_size=1000, seed=0)
    generator = torch.Generator().manual_seed(0)
    samples = torch.cat([backend.sample_latents(1000, generator=generator) for _ in range(4)]).double().numpy()
    components, stdev = exact_pca(samples[:, :6])

    assert basis.components.shape == (6, 9) and basis.mean.shape == (9,)
    assert (basis.latent_dim, basis.condition_dim) == (6, 3)
    assert torch.equal(basis.components[:, 6:], torch.zeros(6, 3))
    np.testing.assert_allclose(basis.components[:, :6].numpy(), components, atol=1e-5)
    np.testing.assert_allclose(basis.stdev.numpy(), stdev, rtol=1e-5)
    np.testing.assert_allclose(basis.mean.numpy(), samples.mean(axis=0), atol=1e-5)
    assert torch.equal(basis.scaled()[:, 6:], torch.zeros(6, 3))


def test_check_compatible_names_both_dims() -> None:
    basis = PCABasis.fit(latentmotion.get_backend("tiny"), n_samples=100, batch_size=50)
    with pytest.raises(ShapeError, match=r"16-dim.*'w' is 32-dim.*latentmotion fit-basis"):
        basis.check_compatible(LatentSpace("w", 32))
    with pytest.raises(ShapeError, match=r"16-dim \(\+ 4 condition\)"):
        basis.check_compatible(LatentSpace("z", 16, condition_dim=4))


def test_save_load_round_trip(tmp_path: Path) -> None:
    basis = PCABasis.fit(conditional_backend(), n_samples=500, batch_size=128, n_components=4)
    path = tmp_path / "basis.safetensors"
    basis.save(path)
    loaded = PCABasis.load(path)
    assert [p.name for p in tmp_path.iterdir()] == ["basis.safetensors"]  # no temp file left behind
    for name in ("components", "stdev", "mean"):
        assert torch.equal(getattr(loaded, name), getattr(basis, name))
    assert (loaded.latent_dim, loaded.condition_dim, loaded.n_samples, loaded.n_components) == (6, 3, 500, 4)


def test_load_rejects_missing_truncated_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        PCABasis.load(tmp_path / "absent.safetensors")

    path = tmp_path / "basis.safetensors"
    PCABasis.fit_batches([known_spectrum_data(100)]).save(path)
    raw = path.read_bytes()
    for name, data in {"truncated": raw[: len(raw) - 10], "text": b"not a safetensors file at all", "empty": b""}.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(data)
        with pytest.raises(CheckpointError, match="not a readable safetensors file"):
            PCABasis.load(bad)

    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a latentmotion PCA basis"):
        PCABasis.load(foreign)


def write_basis_file(path: Path, tensors: dict[str, torch.Tensor], latent_dim: int = 4) -> None:
    """Write `tensors` with the metadata of a valid basis file, as if `PCABasis.save` had written them."""
    metadata = {
        "format": "latentmotion.pca_basis",
        "format_version": "1",
        "latent_dim": str(latent_dim),
        "condition_dim": "0",
        "n_samples": "10",
    }
    save_file(tensors, str(path), metadata=metadata)


def test_load_rejects_missing_and_misshapen_tensors(tmp_path: Path) -> None:
    good = {"components": torch.eye(4), "stdev": torch.ones(4), "mean": torch.zeros(4)}
    path = tmp_path / "basis.safetensors"
    write_basis_file(path, good)
    assert PCABasis.load(path).n_components == 4

    write_basis_file(path, {"components": torch.eye(4), "stdev": torch.ones(4)})
    with pytest.raises(CheckpointError, match=r"lacks the tensors \['mean'\]"):
        PCABasis.load(path)
    write_basis_file(path, {**good, "stdev": torch.ones(3)})
    with pytest.raises(CheckpointError, match=r"stdev must be \[4\]"):
        PCABasis.load(path)
    write_basis_file(path, good, latent_dim=5)
    with pytest.raises(CheckpointError, match=r"components must be \[K, 5\]"):
        PCABasis.load(path)


def test_bad_fit_input_raises_typed_errors() -> None:
    backend = latentmotion.get_backend("tiny")
    with pytest.raises(ConfigError, match="n_samples >= 2"):
        PCABasis.fit(backend, n_samples=1)
    with pytest.raises(ConfigError, match="between 1 and 16"):
        PCABasis.fit(backend, n_samples=10, n_components=17)
    with pytest.raises(ConfigError, match="batch_size"):
        PCABasis.fit(backend, n_samples=10, batch_size=0)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        PCABasis.fit_batches([])
    with pytest.raises(ShapeError, match="width 12"):
        PCABasis.fit_batches([known_spectrum_data(10), np.zeros((5, 11))])
    with pytest.raises(ShapeError, match=r"\[n, D\] batches"):
        PCABasis.fit_batches([np.zeros(12)])
    nan_data = known_spectrum_data(10)
    nan_data[3, 2] = np.nan
    with pytest.raises(ConfigError, match="NaN or infinite"):
        PCABasis.fit_batches([nan_data])


def test_progress_bar_keeps_stdout_clean(capsys: pytest.CaptureFixture[str]) -> None:
    PCABasis.fit(latentmotion.get_backend("tiny"), n_samples=200, batch_size=50, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "fitting PCA basis" in captured.err
