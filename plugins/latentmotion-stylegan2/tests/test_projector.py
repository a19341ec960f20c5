"""The W-space projector (schedule, noise regularisation, result, an LPIPS loss)."""

import math

import pytest
import torch
from latentmotion_stylegan2.projector import (
    LPIPS_RESOLUTION,
    learning_rate,
    noise_regularization,
    project,
)

from latentmotion.errors import ConfigError
from latentmotion.metrics.lpips import VGGPerceptualLoss


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0.0, 0.0), (0.025, 0.05), (0.05, 0.1), (0.5, 0.1), (0.875, 0.05), (0.99, 0.1 * (0.5 - 0.5 * math.cos(math.pi * 0.04)))],
)
def test_learning_rate_ramps_up_linearly_and_down_along_a_cosine(t, expected):
    assert math.isclose(learning_rate(t, initial=0.1, rampup=0.05, rampdown=0.25), expected, rel_tol=1e-9, abs_tol=1e-12)


def test_noise_regularization_by_hand():
    checkerboard = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 2.0 - 1  # +-1 alternating
    # level 16: every pixel times its shifted neighbour is -1 along x and y -> (-1)^2 + (-1)^2 = 2;
    # level 8: the 2x2 average of a checkerboard is 0 -> 0; the pyramid stops at 8.
    assert torch.allclose(noise_regularization([checkerboard[None, None]]), torch.tensor([2.0]))
    constant = torch.ones(2, 1, 4, 4)
    assert torch.allclose(noise_regularization([constant]), torch.tensor([2.0, 2.0]))  # 1^2 + 1^2 at the only level


def test_projection_recovers_a_rendered_image(tiny_generator):
    from latentmotion_stylegan2.backend import StyleGAN2Backend

    g = tiny_generator
    backend = StyleGAN2Backend(g)
    target_w = g.mapping(torch.randn(2, 16, generator=torch.Generator().manual_seed(9)))
    targets = g.synthesis(target_w[:, None].expand(-1, g.num_ws, -1))
    result = project(backend, targets, steps=40, w_avg_samples=1000, generator=torch.Generator().manual_seed(0))
    assert result.codes.shape == (2, 16)
    assert [tuple(n.shape) for n in result.noise] == [(2, 1, r, r) for r in g.synthesis.noise_resolutions]
    for noise in result.noise:  # renormalised after every step
        assert torch.allclose(noise.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-5)
        assert torch.allclose(noise.square().mean(dim=(1, 2, 3)), torch.ones(2), atol=1e-4)
    w_avg = g.mapping(torch.randn(1000, 16, generator=torch.Generator().manual_seed(0))).mean(0)
    assert ((result.codes - target_w).norm(dim=1) < (w_avg - target_w).norm(dim=1)).all()
    start = g.synthesis(w_avg.expand(2, g.num_ws, -1))
    rendered = g.synthesis(result.codes[:, None].expand(-1, g.num_ws, -1))  # with the targets' (stored) noise
    assert (rendered - targets).square().mean() < 0.5 * (start - targets).square().mean()
    again = project(backend, targets, steps=40, w_avg_samples=1000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.codes, result.codes)
    with pytest.raises(ConfigError, match="at least 1 step"):
        project(backend, targets, steps=0)


def test_invert_takes_a_perceptual_loss(registered, tiny_generator, tmp_path):
    from latentmotion_stylegan2.backend import StyleGAN2Backend

    backend = StyleGAN2Backend(tiny_generator)
    targets = backend.synthesize(backend.sample_latents(1, generator=torch.Generator().manual_seed(1)))
    torch.manual_seed(0)
    w = backend.invert(targets, steps=2, loss=VGGPerceptualLoss(max_resolution=LPIPS_RESOLUTION), generator=torch.Generator().manual_seed(0)).codes
    assert w.shape == (1, 16) and torch.isfinite(w).all()
