"""The generic projector, its loss and PSNR."""

import math

import pytest
import torch

import latentmotion
from latentmotion.errors import ConfigError, ShapeError
from latentmotion.inversion import CodeGroup, project, psnr, reconstruction_loss


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
    result = project(backend, targets, steps=150, generator=torch.Generator().manual_seed(0))
    codes = result.codes
    after = psnr(backend.synthesize(codes), targets)
    assert codes.shape == (2, 8) and result.noise == []
    assert (after > before + 6).all(), (before, after)
    assert not codes.requires_grad
    assert torch.allclose(result.losses, reconstruction_loss(backend.synthesize(codes), targets))


def test_backend_invert_uses_the_projector():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    targets = backend.synthesize(backend.sample_latents(1, generator=torch.Generator().manual_seed(2)))
    a = backend.invert(targets, steps=5, generator=torch.Generator().manual_seed(0))
    b = project(backend, targets, steps=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a.codes, b.codes) and torch.equal(a.losses, b.losses) and a.noise == []


def test_bad_steps():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    with pytest.raises(ConfigError, match="at least 1 step"):
        project(backend, torch.zeros(1, 3, 16, 16), steps=0)
    assert math.isfinite(float(reconstruction_loss(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2))))


def test_groups_learn_at_their_own_rates_and_a_zero_rate_keeps_the_start():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    targets = backend.synthesize(backend.sample_latents(2, generator=torch.Generator().manual_seed(3)))
    start = backend.sample_latents(2, generator=torch.Generator().manual_seed(4))
    result = project(backend, targets, steps=10, start=start, groups=[CodeGroup(5, 0.05), CodeGroup(3, 0.0)])
    assert torch.equal(result.codes[:, 5:], start[:, 5:])
    assert not torch.equal(result.codes[:, :5], start[:, :5])
    with pytest.raises(ShapeError, match="cover 7 columns; the codes have 8"):
        project(backend, targets, steps=1, groups=[CodeGroup(7, 0.05)])
    with pytest.raises(ConfigError, match="nothing to optimise"):
        project(backend, targets, steps=1, groups=[CodeGroup(8, 0.0)])
    with pytest.raises(ShapeError, match="one start code per image: 2 images, 3 start codes"):
        project(backend, targets, steps=1, start=torch.zeros(3, 8))


def test_the_constraint_penalty_perturbation_and_schedule_are_applied():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    targets = backend.synthesize(backend.sample_latents(2, generator=torch.Generator().manual_seed(3)))
    progress, rates = [], []

    def clamp(groups, noise):
        groups[0].clamp_(-0.1, 0.1)

    def perturb(codes, t):
        progress.append(t)
        return codes

    def schedule(t):
        rates.append(t)
        return 1.0

    boxed = project(backend, targets, steps=4, constrain=clamp, perturb=perturb, schedule=schedule, keep_best=False)
    assert boxed.codes.abs().max() <= 0.1
    assert progress == [0.0, 0.25, 0.5, 0.75, 1.0] and rates == [0.0, 0.25, 0.5, 0.75]  # the last codes are evaluated, not stepped
    pulled = project(backend, targets, steps=20, penalty=lambda codes, noise: 100 * codes.square().sum(1))
    free = project(backend, targets, steps=20)
    assert (pulled.codes.norm(dim=1) < free.codes.norm(dim=1)).all()


def test_noise_inputs_are_optimised_with_the_codes():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    targets = backend.synthesize(backend.sample_latents(2, generator=torch.Generator().manual_seed(3)), noise=backend.sample_noise(2, generator=torch.Generator().manual_seed(1)))
    start_noise = backend.sample_noise(2, generator=torch.Generator().manual_seed(2))
    result = project(backend, targets, steps=30, noise=start_noise)
    assert [n.shape for n in result.noise] == [n.shape for n in start_noise]
    assert not torch.equal(result.noise[0], start_noise[0])
    assert torch.allclose(result.losses, reconstruction_loss(backend.synthesize(result.codes, noise=result.noise), targets))


def test_keep_best_returns_the_lowest_loss_step():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    targets = backend.synthesize(backend.sample_latents(1, generator=torch.Generator().manual_seed(3)))
    start = backend.sample_latents(512, generator=torch.Generator().manual_seed(0)).mean(0, keepdim=True)
    start_loss = reconstruction_loss(backend.synthesize(start), targets)
    wild = project(backend, targets, steps=5, learning_rate=50.0, keep_best=False, generator=torch.Generator().manual_seed(0))
    best = project(backend, targets, steps=5, learning_rate=50.0, generator=torch.Generator().manual_seed(0))
    assert (wild.losses > start_loss).all()  # steps far too large: the last codes are worse than the start
    assert torch.allclose(best.losses, start_loss) and torch.allclose(best.codes, start)  # the start was the best step
