"""Every loss against values worked out by hand on tiny tensors."""

import math

import pytest
import torch
from torch import nn

from latentmotion.errors import ShapeError
from latentmotion.losses import (
    feature_matching_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    info_nce_loss,
    mutual_information_loss,
    ralsgan_discriminator_loss,
    ralsgan_generator_loss,
    smoothness_loss,
)

# Two scales of patch scores. Scale 0: real [1, 2] (mean 1.5), fake [0, 1] (mean 0.5).
# Scale 1: real [3] (mean 3), fake [1, -1] (mean 0): the maps of a scale need not match in size.
REAL = [torch.tensor([1.0, 2.0]).view(2, 1, 1, 1), torch.tensor([3.0]).view(1, 1, 1, 1)]
FAKE = [torch.tensor([0.0, 1.0]).view(2, 1, 1, 1), torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)]


def test_ralsgan_discriminator_loss_by_hand() -> None:
    # scale 0: real - 0.5 - 1 = [-0.5, 0.5] -> mean sq 0.25; fake - 1.5 = [-1.5, -0.5] -> (2.25 + 0.25) / 2 = 1.25
    # scale 1: real - 0 - 1 = [2] -> 4; fake - 3 = [-2, -4] -> (4 + 16) / 2 = 10
    expected = 0.5 * ((0.25 + 1.25) + (4.0 + 10.0))  # 7.75
    assert ralsgan_discriminator_loss(REAL, FAKE).item() == pytest.approx(expected)


def test_ralsgan_generator_loss_by_hand() -> None:
    # scale 0: fake - 1.5 - 1 = [-2.5, -1.5] -> (6.25 + 2.25) / 2 = 4.25; real - 0.5 = [0.5, 1.5] -> (0.25 + 2.25) / 2 = 1.25
    # scale 1: fake - 3 - 1 = [-3, -5] -> (9 + 25) / 2 = 17; real - 0 = [3] -> 9
    expected = 0.5 * ((4.25 + 1.25) + (17.0 + 9.0))  # 15.75
    assert ralsgan_generator_loss(REAL, FAKE).item() == pytest.approx(expected)


def test_ralsgan_rejects_mismatched_scales() -> None:
    with pytest.raises(ShapeError, match="scales"):
        ralsgan_discriminator_loss(REAL, FAKE[:1])
    with pytest.raises(ShapeError, match="scales"):
        ralsgan_generator_loss([], [])


def test_hinge_losses_by_hand() -> None:
    real = torch.tensor([0.5, 2.0, -1.0])  # relu(1 - real) = [0.5, 0, 2] -> mean 2.5 / 3
    fake = torch.tensor([-2.0, 0.0, 0.5])  # relu(1 + fake) = [0, 1, 1.5] -> mean 2.5 / 3
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 2.5 / 3)
    assert hinge_generator_loss(fake).item() == pytest.approx(-(-2.0 + 0.0 + 0.5) / 3)  # 0.5


class _LinearVoxelDiscriminator(nn.Module):
    """Two 'scales' with known input gradients: per voxel, (3, 4) for scale 0 and (2, 0) for scale 1."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([3.0, 4.0]))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        scale0 = self.w[0] * x[:, :1] + self.w[1] * x[:, 1:]  # [B, 1, T, H, W]
        scale1 = 2.0 * x[:, :1]
        return [scale0, scale1]


def test_gradient_penalty_on_a_linear_discriminator() -> None:
    discriminator = _LinearVoxelDiscriminator()
    real, fake = torch.randn(2, 2, 2, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    penalty = gradient_penalty(discriminator, real, fake, generator=torch.Generator().manual_seed(0))
    # Every voxel: ||(3, 4)|| = 5 -> (5 - 1)^2 = 16 at scale 0; ||(2, 0)|| = 2 -> (2 - 1)^2 = 1 at scale 1.
    # A per-sample norm (WGAN-GP) would instead give ||w|| * sqrt(3 * 4 * 4) at scale 0.
    assert penalty.item() == pytest.approx(10.0 * (16.0 + 1.0) / 2)  # 85
    penalty.backward()
    # d/dw [10 / 2 * (||w|| - 1)^2] = 5 * 2 * (||w|| - 1) * w / ||w|| = 5 * 2 * 4 * (0.6, 0.8) = (24, 32)
    torch.testing.assert_close(discriminator.w.grad, torch.tensor([24.0, 32.0]))


def test_gradient_penalty_norms_each_voxel_over_channels_only() -> None:
    def quadratic(x: torch.Tensor) -> list[torch.Tensor]:
        return [0.5 * (x**2).sum(dim=1, keepdim=True)]  # input gradient = x itself

    # real == fake, so the interpolate is this clip whatever alpha is: one sample, 2 channels, 4 voxels.
    clip = torch.tensor([[3.0, 0.0, 0.0, 1.0], [4.0, 1.0, 0.0, 0.0]]).view(1, 2, 1, 2, 2)
    # voxel norms 5, 1, 0, 1 -> (4^2 + 0 + 1 + 0) / 4 = 17 / 4, times weight 2
    penalty = gradient_penalty(quadratic, clip, clip.clone(), weight=2.0)
    assert penalty.item() == pytest.approx(2.0 * 17.0 / 4.0)


def test_gradient_penalty_is_seeded_and_rejects_mismatched_inputs() -> None:
    def quadratic(x: torch.Tensor) -> list[torch.Tensor]:
        return [0.5 * (x**2).sum(dim=1, keepdim=True)]

    real, fake = torch.randn(2, 4, 3, 2, 4, 4, generator=torch.Generator().manual_seed(2))

    def run(seed: int) -> torch.Tensor:
        return gradient_penalty(quadratic, real, fake, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))
    with pytest.raises(ShapeError, match="same shape"):
        gradient_penalty(quadratic, real, fake[:2])


def test_info_nce_loss_by_hand() -> None:
    view1, view2 = torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 2.0]])
    queue = torch.tensor([[0.0, 3.0]])
    # cos(v1, v2) = 1/sqrt2, cos(v1, q) = 0, cos(v2, q) = 1/sqrt2; / tau = 0.5 -> sqrt2 for the 1/sqrt2 pairs.
    r = math.sqrt(2.0)
    # row v1: logits [0 (self), r, 0], positive column 1; row v2: logits [r, 0 (self), r], positive column 0.
    row_1 = -r + math.log(math.exp(0.0) + math.exp(r) + math.exp(0.0))
    row_2 = -r + math.log(math.exp(r) + math.exp(0.0) + math.exp(r))
    loss = info_nce_loss(view1, view2, queue, temperature=0.5)
    assert loss.item() == pytest.approx((row_1 + row_2) / 2)


def test_info_nce_loss_keeps_self_similarity_at_zero_and_pairs_views_across_halves() -> None:
    a, b = [1.0, 0.0], [0.0, 1.0]
    views = torch.tensor([a, b])
    # Rows [a, b, a, b] against columns [a, b, a, b]: row 0 sees [0 (self, was 1/tau), 0, 1/tau (positive), 0];
    # every row alike. Masking the self column out would give log(2 + e^(1/tau)) - 1/tau instead.
    tau = 0.5
    expected = math.log(3.0 + math.exp(1.0 / tau)) - 1.0 / tau
    loss = info_nce_loss(views, views.clone(), torch.zeros(0, 2), temperature=tau)
    assert loss.item() == pytest.approx(expected)


def test_info_nce_loss_sends_no_gradient_into_the_queue() -> None:
    seeded = torch.Generator().manual_seed(3)
    view1 = torch.randn(3, 4, generator=seeded).requires_grad_(True)
    view2 = torch.randn(3, 4, generator=seeded).requires_grad_(True)
    queue = torch.randn(5, 4, generator=seeded).requires_grad_(True)
    info_nce_loss(view1, view2, queue).backward()
    assert queue.grad is None
    assert view1.grad is not None and view1.grad.abs().sum() > 0
    with pytest.raises(ShapeError, match="queue"):
        info_nce_loss(view1, view2, torch.randn(5, 3))


def test_feature_matching_loss_by_hand() -> None:
    features_t = torch.tensor([[1.0, 0.0], [1.0, 1.0], [3.0, 4.0]])
    features_0 = torch.tensor([[0.0, 1.0], [2.0, 2.0], [4.0, 3.0]])
    # cosines: 0, 1, (12 + 12) / 25 = 0.96
    assert feature_matching_loss(features_t, features_0).item() == pytest.approx(-(0.0 + 1.0 + 0.96) / 3)
    with pytest.raises(ShapeError):
        feature_matching_loss(features_t, features_0[:2])


def test_mutual_information_loss_by_hand_and_detaches_the_noise() -> None:
    eps_reconstructed = torch.tensor([[1.0, 2.0, 2.0], [1.0, 1.0, 0.0]], requires_grad=True)
    eps = torch.tensor([[2.0, 1.0, -2.0], [1.0, 0.0, 0.0]], requires_grad=True)
    # cosines: (2 + 2 - 4) / 9 = 0 and 1 / sqrt2
    loss = mutual_information_loss(eps_reconstructed, eps)
    assert loss.item() == pytest.approx(-(0.0 + 1.0 / math.sqrt(2.0)) / 2)
    loss.backward()
    assert eps.grad is None
    assert eps_reconstructed.grad is not None
    with pytest.raises(ShapeError):
        mutual_information_loss(eps_reconstructed, eps[:1])


def test_smoothness_loss_by_hand():
    # video 0: u = [2, 0], [0, 0], [0, 1] -> changes [-2, 0], [0, 1] -> squared norms 4, 1
    # video 1: u = [0.5, 3] three times (constant velocity) -> 0, 0
    pre_activations = torch.tensor([[[2.0, 0.0], [0.0, 0.0], [0.0, 1.0]], [[0.5, 3.0]] * 3])
    assert smoothness_loss(pre_activations).item() == pytest.approx((4 + 1 + 0 + 0) / 4)
    assert smoothness_loss(pre_activations[:, :1]).item() == 0.0
    with pytest.raises(ShapeError):
        smoothness_loss(pre_activations[0])
