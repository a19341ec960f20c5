"""The generic projector, its loss and PSNR."""

import math

import pytest
import torch

import latentmotion
from latentmotion.errors import ConfigError
from latentmotion.inversion import project, psnr, reconstruction_loss


def test_reconstruction_loss_by_hand():
    a = torch.zeros(1, 3, 8, 8)
    b = torch.zeros(1, 3, 8, 8)
    b[:, :, :4, :4] = 1.0  # a quarter of the pixels differ by 1
    # pixel MSE = 1/4; pooled 4x4: a quarter of cells = 1 -> L1 1/4; 2x2: one cell in four
    # holds the whole 4x4 block -> 1/4; 1x1 would be below 4 pixels, so stop at 4x4... levels:
    # 8 -> 4 (L1 = 0.25), 4 stops (side <= 4). Total = 0.25 + 0.25.
    assert torch.allclose(reconstruction_loss(a, b), torch.tensor([0.5]))


def test_psnr_by_hand():
    a = torch.zeros(2, 3, 4, 4)
    b = torch.full((2, 3, 4, 4), 0.2)  # mse 0.04 -> 10 log10(4 / 0.04) = 20 dB
    assert torch.allclose(psnr(a, b), torch.tensor([20.0, 20.0]))


def test_projection_recovers_a_rendered_image():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    target_codes = backend.sample_latents(2, generator=torch.Generator().manual_seed(5))
    targets = backend.synthesize(target_codes)
    start = backend.sample_latents(512, generator=torch.Generator().manual_seed(0)).mean(0, keepdim=True).expand(2, -1)
    before = psnr(backend.synthesize(start), targets)
    codes = project(backend, targets, steps=150, generator=torch.Generator().manual_seed(0))
    after = psnr(backend.synthesize(codes), targets)
    assert codes.shape == (2, 8)
    assert (after > before + 6).all(), (before, after)
    assert not codes.requires_grad


def test_backend_invert_uses_the_projector():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    targets = backend.synthesize(backend.sample_latents(1, generator=torch.Generator().manual_seed(2)))
    a = backend.invert(targets, steps=5, generator=torch.Generator().manual_seed(0))
    b = project(backend, targets, steps=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


def test_bad_steps():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    with pytest.raises(ConfigError, match="at least 1 step"):
        project(backend, torch.zeros(1, 3, 16, 16), steps=0)
    assert math.isfinite(float(reconstruction_loss(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2))))
