"""The `stylegan2` backend: registration, latent sampling, per-video noise, inversion, bad input."""

import subprocess
import sys

import pytest
import torch
from latentmotion_stylegan2.backend import StyleGAN2Backend
from latentmotion_stylegan2.checkpoints import save_generator
from latentmotion_stylegan2.networks import GeneratorConfig

import latentmotion
from latentmotion.errors import ConfigError, ShapeError
from latentmotion.testing import BackendContractError, check_backend


@pytest.fixture
def checkpoint(tiny_generator, tmp_path):
    return save_generator(tiny_generator, tmp_path / "tiny.safetensors")


@pytest.fixture
def backend(registered, checkpoint):
    return latentmotion.get_backend("stylegan2", source=str(checkpoint))


def rng(seed=0):
    return torch.Generator().manual_seed(seed)


def test_registered_backend_loads_a_checkpoint_frozen(backend, checkpoint, tiny_generator):
    assert isinstance(backend, StyleGAN2Backend)
    assert backend.name == "stylegan2"
    assert backend.latent_space.name == "w" and backend.latent_space.total_dim == 16
    assert backend.resolution == 32
    assert backend.options == {"source": str(checkpoint.resolve())}
    assert not any(p.requires_grad for p in backend.parameters()) and not backend.training
    assert "stylegan2" in latentmotion.backends()


def test_sample_latents_are_mapped_and_truncated(backend, checkpoint):
    g = backend.network
    z = torch.randn(4, 16, generator=rng(1))
    w = backend.sample_latents(4, generator=rng(1))
    assert torch.allclose(w, g.mapping(z), atol=1e-6)
    truncated = latentmotion.get_backend("stylegan2", source=str(checkpoint), truncation_psi=0.5)
    assert torch.allclose(truncated.sample_latents(4, generator=rng(1)), g.mapping.w_avg + 0.5 * (w - g.mapping.w_avg), atol=1e-6)
    assert "psi=0.5" in truncated.latent_space.description


def test_synthesize_broadcasts_w_and_is_differentiable_in_w(backend):
    w = backend.sample_latents(2, generator=rng()).requires_grad_(True)
    images = backend.synthesize(w)
    assert images.shape == (2, 3, 32, 32)
    ws = w.detach()[:, None].expand(-1, backend.network.num_ws, -1)
    assert torch.equal(images.detach(), backend.network.synthesis(ws, noise_mode="const"))  # noise=None: stored constant noise
    images.square().sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def test_per_video_noise_is_shared_by_frames(backend):
    noise = backend.sample_noise(2, generator=rng(3))
    assert [tuple(n.shape) for n in noise] == [(2, 1, r, r) for r in [4, 8, 8, 16, 16, 32, 32]]
    assert all(torch.equal(a, b) for a, b in zip(noise, backend.sample_noise(2, generator=rng(3))))
    w = backend.sample_latents(1, generator=rng()).expand(2, -1)
    videos = backend.synthesize(w, noise=noise)
    assert not torch.allclose(videos[0], videos[1])  # other noise, other image
    frames = [n[:1].expand(3, -1, -1, -1) for n in noise]  # video 0's noise, shared by 3 frames
    rendered = backend.synthesize(backend.sample_latents(3, generator=rng(4)), noise=frames)
    assert rendered.shape == (3, 3, 32, 32)
    assert torch.allclose(backend.synthesize(w[:1], noise=[n[:1] for n in noise]), videos[:1], atol=1e-5)


def test_invert_projects_back_to_the_rendered_latent(backend):
    target_w = backend.sample_latents(1, generator=rng(7))
    target = backend.synthesize(target_w)
    start = backend.synthesize(backend.network.mapping.w_avg[None])
    projection = backend.invert(target, steps=40, generator=rng())
    w = projection.codes
    assert w.shape == (1, 16)
    assert [tuple(n.shape) for n in projection.noise] == [tuple(n.shape) for n in backend.sample_noise(1)]  # the fitted maps
    error_before = (start - target).square().mean()
    error_after = (backend.synthesize(w, noise=projection.noise) - target).square().mean()
    assert error_after < 0.5 * error_before


def test_bad_latents_and_images_are_clear_errors(backend):
    with pytest.raises(ShapeError, match=r"\[N, 16\]"):
        backend.synthesize(torch.zeros(2, 512))
    with pytest.raises(ShapeError, match="32x32"):
        backend.invert(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ShapeError, match="7 noise tensors"):
        backend.synthesize(torch.zeros(2, 16), noise=backend.sample_noise(2)[:3])


def test_bad_options_are_clear_errors(registered, checkpoint, make_generator, tmp_path):
    with pytest.raises(ConfigError, match="needs source="):
        latentmotion.get_backend("stylegan2")
    for psi in (7, "high"):
        with pytest.raises(ConfigError, match="truncation_psi"):
            latentmotion.get_backend("stylegan2", source=str(checkpoint), truncation_psi=psi)
    with pytest.raises(ConfigError, match="0 = unconditional"):
        latentmotion.get_backend("stylegan2", source=str(checkpoint), class_index=2)
    with pytest.raises(ConfigError, match="'psi'"):  # an unknown option is a user error, not a TypeError
        latentmotion.get_backend("stylegan2", source=str(checkpoint), psi=0.5)


def test_class_conditional_generators_sample_their_class(registered, make_generator, tmp_path):
    config = GeneratorConfig(z_dim=16, c_dim=10, w_dim=16, img_resolution=8, mapping_layers=2, channel_base=64, channel_max=8)
    g = make_generator(config)
    path = save_generator(g, tmp_path / "cifar.safetensors")
    backend = latentmotion.get_backend("stylegan2", source=str(path), class_index=3)
    z = torch.randn(2, 16, generator=rng())
    labels = torch.nn.functional.one_hot(torch.tensor([3, 3]), 10).float()
    assert torch.allclose(backend.sample_latents(2, generator=rng()), g.mapping(z, labels), atol=1e-6)
    with pytest.raises(ConfigError, match="10 classes"):
        latentmotion.get_backend("stylegan2", source=str(path), class_index=10)


def test_importing_the_plugin_does_not_import_torch():
    code = "import sys, latentmotion_stylegan2.plugin, latentmotion_stylegan2; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_backend_keeps_the_contract(registered, checkpoint):
    # StyleGAN2 renders about [-1, 1] without clamping (a random tiny network far beyond): the range rule is off.
    backend = check_backend("stylegan2", clamped=False, source=str(checkpoint), truncation_psi=0.7)
    assert backend.options == {"source": str(checkpoint.resolve()), "truncation_psi": 0.7}
    with pytest.raises(BackendContractError, match="rule 'synthesize-range'"):
        check_backend("stylegan2", source=str(checkpoint))
