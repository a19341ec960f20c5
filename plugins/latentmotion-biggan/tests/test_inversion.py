"""Inversion: optimise z (and the class embedding) from several starts, keep the best."""

import pytest
import torch
from latentmotion_biggan.backend import BigGANBackend
from latentmotion_biggan.inversion import pick_best

from latentmotion.errors import ConfigError, ShapeError
from latentmotion.inversion import Projection, reconstruction_loss


@pytest.fixture
def target(tiny_backend: BigGANBackend) -> tuple[torch.Tensor, torch.Tensor]:
    """Two images the tiny generator renders, and the codes they come from (classes 291 and 7)."""
    z = tiny_backend.truncation * torch.rand(2, 16, generator=torch.Generator().manual_seed(0)).mul(2).sub(1)
    codes = tiny_backend.content_codes(z, [291, 7])
    return tiny_backend.synthesize(codes).detach(), codes


def test_pick_best_keeps_the_lowest_loss_restart_of_each_image() -> None:
    codes = torch.arange(6.0)[:, None]  # image 0: rows 0-2, image 1: rows 3-5
    losses = torch.tensor([3.0, 1.0, 2.0, 0.5, 0.7, 0.1])
    best = pick_best(Projection(codes=codes, noise=[], losses=losses), restarts=3)
    assert best.codes.flatten().tolist() == [1.0, 5.0] and best.losses.tolist() == pytest.approx([1.0, 0.1])


def test_inversion_reconstructs_a_rendered_image(tiny_backend: BigGANBackend, target: tuple[torch.Tensor, torch.Tensor]) -> None:
    images, _ = target
    guesses = tiny_backend.sample_latents(16, generator=torch.Generator().manual_seed(5))  # 8 prior draws per image
    typical = reconstruction_loss(tiny_backend.synthesize(guesses), images.repeat(8, 1, 1, 1)).reshape(8, 2).mean(0)
    projection = tiny_backend.invert(images, classes=["lion", 7], steps=40, restarts=3, generator=torch.Generator().manual_seed(1))
    codes = projection.codes
    after = reconstruction_loss(tiny_backend.synthesize(codes), images)
    assert codes.shape == (2, 32) and not codes.requires_grad and projection.noise == []
    assert torch.allclose(projection.losses, after, atol=1e-5)  # the loss of the restart kept
    assert (after < 0.1 * typical).all(), (typical, after)
    assert codes[:, :16].abs().max() <= 2 * tiny_backend.truncation + 1e-6  # z stays in the truncation box


def test_without_class_optimisation_the_embedding_stays_the_class_embedding(tiny_backend: BigGANBackend, target: tuple[torch.Tensor, torch.Tensor]) -> None:
    images, _ = target
    codes = tiny_backend.invert(images, classes="lion", steps=3, restarts=2, optimize_class=False).codes
    assert torch.equal(codes[:, 16:], tiny_backend.class_embedding("lion").expand(2, -1))
    moved = tiny_backend.invert(images, classes="lion", steps=3, restarts=2).codes
    assert not torch.equal(moved[:, 16:], codes[:, 16:])


def test_without_classes_the_starts_come_from_the_backend_selection(tiny_checkpoint, target: tuple[torch.Tensor, torch.Tensor]) -> None:
    from latentmotion_biggan.weights import load_network

    backend = BigGANBackend(load_network(tiny_checkpoint), truncation=0.5, classes=[42])
    codes = backend.invert(target[0], steps=1, restarts=2, optimize_class=False).codes
    assert torch.equal(codes[:, 16:], backend.class_embedding(42).expand(2, -1))


def test_a_perceptual_loss_is_added_to_the_objective(tiny_backend: BigGANBackend, target: tuple[torch.Tensor, torch.Tensor]) -> None:
    images, _ = target
    calls = []

    def brightness(renderings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        calls.append(renderings.shape)
        return 100 * renderings.mean(dim=(1, 2, 3))  # rewards dark renderings above all

    plain = tiny_backend.invert(images, classes=[291, 7], steps=10, restarts=2, generator=torch.Generator().manual_seed(0)).codes
    dark = tiny_backend.invert(images, classes=[291, 7], steps=10, restarts=2, perceptual=brightness, generator=torch.Generator().manual_seed(0)).codes
    assert calls[0] == (4, 3, 32, 32)  # 2 images x 2 restarts, rendered together
    assert tiny_backend.synthesize(dark).mean() < tiny_backend.synthesize(plain).mean()


def test_bad_inversion_requests_are_refused(tiny_backend: BigGANBackend, target: tuple[torch.Tensor, torch.Tensor]) -> None:
    images, _ = target
    with pytest.raises(ShapeError, match=r"renders \[N, 3, 32, 32\] images"):
        tiny_backend.invert(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ConfigError, match="at least 1 step"):
        tiny_backend.invert(images, steps=0)
    with pytest.raises(ConfigError, match="at least 1 restart"):
        tiny_backend.invert(images, restarts=0)
    with pytest.raises(ShapeError, match="one class for all 2 images or one per image, got 3"):
        tiny_backend.invert(images, classes=[1, 2, 3])
    with pytest.raises(ConfigError, match="unknown ImageNet class name"):
        tiny_backend.invert(images, classes="lino")
