"""The `biggan` backend: latent space, content codes, sampling, rendering, bad input."""

from pathlib import Path

import pytest
import torch
from latentmotion_biggan.backend import BigGANBackend, load_backend
from latentmotion_biggan.weights import load_network

from latentmotion.backend import ImageGeneratorBackend
from latentmotion.errors import ConfigError, ShapeError
from latentmotion.testing import check_backend


def test_latent_space_is_z_with_the_class_embedding_as_condition(tiny_backend: BigGANBackend) -> None:
    space = tiny_backend.latent_space
    assert isinstance(tiny_backend, ImageGeneratorBackend)
    assert (space.name, space.dim, space.condition_dim, space.total_dim) == ("z", 16, 16, 32)
    assert tiny_backend.resolution == 32
    assert tiny_backend.sample_noise(3) == []


def test_published_sizes_have_128_d_z_and_embedding() -> None:
    from latentmotion_biggan.config import BigGANConfig
    from latentmotion_biggan.network import BigGANDeep

    backend = BigGANBackend(BigGANDeep(BigGANConfig.for_resolution(128, channel_width=4)))
    assert (backend.latent_space.dim, backend.latent_space.condition_dim, backend.resolution) == (128, 128, 128)


def test_sampled_codes_are_truncated_z_and_an_embedding_of_a_selected_class(tiny_checkpoint: Path) -> None:
    backend = BigGANBackend(load_network(tiny_checkpoint), truncation=0.25, classes=["lion", 7])
    codes = backend.sample_latents(400, generator=torch.Generator().manual_seed(0))
    z, embedding = codes[:, :16], codes[:, 16:]
    assert z.abs().max() <= 2 * 0.25
    assert z.std().item() == pytest.approx(0.25 * 0.8796, rel=0.05)  # sd of truncnorm(-2, 2) is 0.8796
    table = backend.network.class_embeddings
    matches = (embedding[:, None, :] == table[None, [291, 7], :]).all(dim=2)  # [400, 2]
    assert matches.any(dim=1).all()
    assert 100 < matches[:, 0].sum() < 300  # both classes are drawn


def test_class_embedding_accepts_indices_names_and_soft_vectors(tiny_backend: BigGANBackend) -> None:
    table = tiny_backend.network.class_embeddings
    assert torch.equal(tiny_backend.class_embedding("lion"), table[[291]])
    assert torch.equal(tiny_backend.class_embedding([3, "tiger"]), table[[3, 292]])
    assert torch.equal(tiny_backend.class_embedding(torch.tensor([3, 4])), table[[3, 4]])
    blend = torch.zeros(1, 1000)
    blend[0, 3], blend[0, 4] = 0.5, 0.5
    assert torch.allclose(tiny_backend.class_embedding(blend), (table[3] + table[4])[None] / 2)
    with pytest.raises(ConfigError, match="class index 1000 is out of range"):
        tiny_backend.class_embedding(torch.tensor([3, 1000]))
    with pytest.raises(ShapeError, match=r"class vectors must be \[N, 1000\]"):
        tiny_backend.class_embedding(torch.zeros(2, 10))


def test_content_codes_broadcast_one_class(tiny_backend: BigGANBackend) -> None:
    z = torch.randn(3, 16)
    codes = tiny_backend.content_codes(z, "lion")
    assert torch.equal(codes[:, :16], z)
    assert torch.equal(codes[:, 16:], tiny_backend.network.class_embeddings[[291] * 3])
    with pytest.raises(ShapeError, match="one class for all 3 latents or one per latent, got 2"):
        tiny_backend.content_codes(z, [1, 2])
    with pytest.raises(ShapeError, match=r"z must be \[N, 16\]"):
        tiny_backend.content_codes(torch.randn(3, 128), 1)


def test_synthesize_renders_images_differentiably_with_frozen_weights(tiny_backend: BigGANBackend) -> None:
    codes = tiny_backend.sample_latents(2, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    images = tiny_backend.synthesize(codes)
    assert images.shape == (2, 3, 32, 32)
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0.01
    images.square().mean().backward()
    assert codes.grad is not None and codes.grad[:, :16].abs().sum() > 0 and codes.grad[:, 16:].abs().sum() > 0
    assert not any(parameter.requires_grad for parameter in tiny_backend.parameters())


def test_truncation_selects_the_batch_norm_statistics(tiny_checkpoint: Path) -> None:
    network = load_network(tiny_checkpoint)
    codes = torch.randn(1, 32)
    low = BigGANBackend(network, truncation=0.2).synthesize(codes)
    high = BigGANBackend(network, truncation=0.9).synthesize(codes)
    assert not torch.allclose(low, high, atol=1e-3)


def test_a_latent_of_the_wrong_size_is_refused(tiny_backend: BigGANBackend) -> None:
    with pytest.raises(ShapeError, match=r"expects latents of shape \[N, 32\] \(latent space 'z'\), got \[2, 16\]"):
        tiny_backend.synthesize(torch.zeros(2, 16))


def test_noise_is_refused_since_biggan_has_none(tiny_backend: BigGANBackend) -> None:
    with pytest.raises(ShapeError, match="no noise inputs"):
        tiny_backend.synthesize(torch.zeros(1, 32), noise=[torch.zeros(1, 1, 4, 4)])


@pytest.mark.parametrize("truncation", [0.0, 1.5, -1.0])
def test_truncation_outside_the_unit_interval_is_refused(tiny_checkpoint: Path, truncation: float) -> None:
    with pytest.raises(ConfigError, match="truncation must lie in"):
        load_backend(tiny_checkpoint, truncation=truncation)


def test_bad_class_selection_is_refused(tiny_checkpoint: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'golden retriever'"):
        load_backend(tiny_checkpoint, classes=["golden retreiver"])
    with pytest.raises(ConfigError, match="class index 1000 is out of range"):
        load_backend(tiny_checkpoint, classes=[1000])


def test_load_backend_needs_a_source() -> None:
    with pytest.raises(ConfigError, match="needs source="):
        load_backend()


def test_the_backend_keeps_the_contract(registered: None, tiny_checkpoint: Path) -> None:
    backend = check_backend("biggan", source=tiny_checkpoint, truncation=0.5, classes=["lion", 7])  # a Path is recorded as a string
    assert backend.options == {"source": str(tiny_checkpoint.resolve()), "truncation": 0.5, "classes": ["lion", 7]}
