"""The synthesis arithmetic against values worked out by hand on tiny tensors."""

import math

import torch
from latentmotion_stylegan2 import ops

# 1D FIR 2x up-sampling of [a, b] with taps [1, 3, 3, 1] / 8 and gain 2, zero padding:
# [0.75 a, 0.75 a + 0.25 b, 0.25 a + 0.75 b, 0.75 b]; in 2D the operator acts on rows and columns.
UP = torch.tensor([[0.75, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 0.75]])


def test_filter_is_the_normalised_binomial():
    expected = torch.tensor([1.0, 3.0, 3.0, 1.0])[:, None] * torch.tensor([1.0, 3.0, 3.0, 1.0])[None, :] / 64
    assert torch.equal(ops.setup_filter(), expected)


def test_fir_upsampling_of_a_known_signal():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = ops.upsample2d(x[None, None], ops.setup_filter())[0, 0]
    assert torch.allclose(out, UP @ x @ UP.T, atol=1e-6)
    constant = ops.upsample2d(torch.ones(1, 1, 4, 4), ops.setup_filter())[0, 0]
    assert torch.allclose(constant[2:-2, 2:-2], torch.ones(4, 4))  # unit DC gain away from the zero-padded border


def test_upsampling_convolution_aligns_like_fir_upsampling():
    # A kernel with a single centre tap makes the transposed convolution a pure zero insertion,
    # so the up-sampling layer must reduce to FIR up-sampling, pixel for pixel.
    x = torch.tensor([[1.0, -2.0], [0.5, 4.0]])[None, None]
    weight = torch.zeros(1, 1, 3, 3)
    weight[0, 0, 1, 1] = 1.0
    out = ops.modulated_conv2d(x, weight, torch.ones(1, 1), up=True, resample_filter=ops.setup_filter())
    assert torch.allclose(out[0, 0], UP @ x[0, 0] @ UP.T, atol=1e-6)


def test_modulated_convolution_by_hand():
    x = torch.stack([torch.ones(3, 3), torch.arange(9.0).reshape(3, 3)])[None]  # [1, 2, 3, 3]
    weight = torch.zeros(1, 2, 3, 3)
    weight[0, 0] = 1.0  # box filter on channel 0
    weight[0, 1, 1, 1] = 1.0  # identity on channel 1
    styles = torch.tensor([[2.0, 3.0]])
    out = ops.modulated_conv2d(x, weight, styles)[0, 0]
    # centre: 2 * (sum of nine ones) + 3 * x1[1, 1] = 18 + 12; corner: 2 * 4 ones in the window + 3 * 0
    assert out[1, 1].item() == 30.0
    assert out[0, 0].item() == 8.0
    assert out[2, 2].item() == 2 * 4 + 3 * 8
    # demodulation: 1 / sqrt(sum (W s)^2) = 1 / sqrt(9 * 2^2 + 1 * 3^2)
    dcoefs = ops.demodulation_coefficients(weight, styles)
    assert math.isclose(dcoefs.item(), 1 / math.sqrt(45), rel_tol=1e-6)


def test_batched_modulation_equals_per_sample_kernels():
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 4, 5, 5), torch.randn(6, 4, 3, 3), torch.randn(3, 4)
    out = ops.modulated_conv2d(x, weight, styles) * ops.demodulation_coefficients(weight, styles)[:, :, None, None]
    for n in range(3):
        kernel = weight * styles[n][None, :, None, None]
        kernel = kernel / kernel.square().sum(dim=(1, 2, 3), keepdim=True).sqrt()
        assert torch.allclose(out[n], torch.nn.functional.conv2d(x[n : n + 1], kernel, padding=1)[0], atol=1e-5)


def test_torgb_is_a_per_sample_1x1_convolution_in_either_memory_format():
    torch.manual_seed(0)
    x, weight, styles = torch.randn(2, 5, 4, 4), torch.randn(3, 5, 1, 1), torch.randn(2, 5)
    expected = torch.einsum("nihw,oi,ni->nohw", x, weight[:, :, 0, 0], styles)
    assert torch.allclose(ops.modulated_linear(x, weight, styles), expected, atol=1e-5)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert torch.allclose(ops.modulated_linear(channels_last, weight, styles), expected, atol=1e-5)


def test_bias_noise_activation_by_hand():
    x = torch.tensor([[[[1.0, -2.0]]]])  # [1, 1, 1, 2]
    out = ops.bias_noise_act(x.clone(), scale=torch.tensor([[2.0]]), bias=torch.tensor([0.5]), noise=torch.tensor([[[[0.25, 1.0]]]]), clamp=None)
    # (1 * 2 + 0.25 + 0.5) = 2.75 -> 2.75 sqrt 2;  (-2 * 2 + 1 + 0.5) = -2.5 -> -0.5 sqrt 2
    assert torch.allclose(out, torch.tensor([[[[2.75, -0.5]]]]) * math.sqrt(2))
    clamped = ops.bias_noise_act(x.clone(), scale=torch.tensor([[2.0]]), bias=torch.tensor([0.5]), noise=None, clamp=1.0)
    assert torch.allclose(clamped, torch.tensor([[[[1.0, -0.7 * math.sqrt(2)]]]]))


def test_bias_noise_activation_is_differentiable_with_a_clamp():
    x = torch.tensor([[[[0.1, 3.0]]]], requires_grad=True)
    out = ops.bias_noise_act(x, scale=torch.ones(1, 1), bias=torch.zeros(1), noise=None, clamp=1.0)
    out.sum().backward()
    assert torch.allclose(x.grad, torch.tensor([[[[math.sqrt(2), 0.0]]]]))  # the clamped value gets no gradient
