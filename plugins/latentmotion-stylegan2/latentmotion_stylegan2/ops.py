"""The arithmetic of StyleGAN2's synthesis layers, in plain PyTorch.

Three operations carry the network: a convolution whose input channels are scaled per sample by a
style vector (modulation) and whose output channels are rescaled to unit norm (demodulation); FIR
up-sampling with the binomial filter `[1, 3, 3, 1]`; and the bias + leaky ReLU + clamp epilogue.
They are written so that the whole batch shares one ordinary convolution: the style multiplies the
activations before the convolution and the demodulation coefficients multiply its output after,
which is the same arithmetic as convolving each sample with its own modulated weights, and much
faster on a CPU than a grouped convolution.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch.nn import functional as F

_is_compiling = getattr(torch.compiler, "is_compiling", lambda: False)  # torch < 2.3 has no such test

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # keeps the activations' second moment through a leaky ReLU
DEMODULATION_EPS = 1e-8


def setup_filter(taps: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0)) -> torch.Tensor:
    """The separable 2D low-pass filter of the resampling layers, normalised to unit DC gain.

    Args:
        taps: The 1D filter taps; StyleGAN2 uses the binomial `[1, 3, 3, 1]`.

    Returns:
        `[K, K]` filter, the outer product of the taps divided by its sum.
    """
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def fir_filter(x: torch.Tensor, f: torch.Tensor, *, padding: int, gain: float = 1.0) -> torch.Tensor:
    """Convolve every channel of `x` with the 2D FIR filter `f` (a true convolution, zero padding).

    Args:
        x: `[N, C, H, W]` activations.
        f: `[K, K]` filter.
        padding: Zeros added on every side before filtering.
        gain: Factor applied to the filter (4 after a 2x up-sampling keeps the DC level).

    Returns:
        `[N, C, H + 2 * padding - K + 1, W + 2 * padding - K + 1]` filtered activations.
    """
    channels = x.shape[1]
    kernel = (f.flip([0, 1]) * gain).to(x.dtype)
    kernel = kernel[None, None].expand(channels, 1, *f.shape)
    return F.conv2d(x, kernel, padding=padding, groups=channels)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Up-sample by 2: insert zeros between the pixels, then low-pass with `f` (gain 4).

    Written as one depthwise transposed convolution with stride 2, whose kernel is the filter;
    this is how the skip connection carries the RGB image from one resolution to the next.

    Args:
        x: `[N, C, H, W]` activations.
        f: `[4, 4]` filter from [setup_filter][latentmotion_stylegan2.ops.setup_filter].

    Returns:
        `[N, C, 2H, 2W]` activations.
    """
    channels = x.shape[1]
    kernel = (f * 4).to(x.dtype)[None, None].expand(channels, 1, *f.shape)
    return F.conv_transpose2d(x, kernel, stride=2, padding=(f.shape[0] - 2) // 2, groups=channels)


def demodulation_coefficients(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """One over the norm of each sample's modulated kernels, `rsqrt(sum_{i,k} (W_oik s_ni)^2 + eps)`.

    The sum over kernel taps is taken once for the shared weight, so the per-sample part is a
    matrix product instead of a `[N, O, I, k, k]` tensor.

    Args:
        weight: `[O, I, k, k]` convolution weight.
        styles: `[N, I]` per-sample scales of the input channels.

    Returns:
        `[N, O]` demodulation coefficients.
    """
    taps = weight.flatten(2)
    energy = torch.einsum("oik,oik->oi", taps, taps)  # [O, I]
    return (styles.square() @ energy.t() + DEMODULATION_EPS).rsqrt()


def prenormalize_for_fp16(weight: torch.Tensor, styles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rescale a demodulated layer's weight and styles so that its float16 activations cannot overflow.

    Each output channel's kernels are divided by their largest magnitude times `sqrt(I k k)`, and
    each sample's styles by their largest magnitude, as NVlabs does before a float16 modulated
    convolution. Demodulation divides by the norm of the modulated kernels, so the layer's output
    is unchanged in exact arithmetic; only the intermediate `x * styles` and the convolution's
    output shrink into float16's range. Not for ToRGB, which does not demodulate.

    Args:
        weight: `[O, I, k, k]` convolution weight (float32).
        styles: `[N, I]` per-sample scales of the input channels (float32).

    Returns:
        The rescaled weight and styles, same shapes and dtype.
    """
    fan_in = weight[0].numel()
    weight = weight / (weight.abs().amax(dim=(1, 2, 3), keepdim=True) * math.sqrt(fan_in))
    styles = styles / styles.abs().amax(dim=1, keepdim=True)
    return weight, styles


def modulated_conv2d(
    x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, up: bool = False, resample_filter: torch.Tensor | None = None
) -> torch.Tensor:
    """Convolve each sample with `weight` whose input channels are scaled by that sample's styles.

    Demodulation is left to the caller (multiply the output by
    [demodulation_coefficients][latentmotion_stylegan2.ops.demodulation_coefficients]), so that it
    can be fused with the bias and activation that follow.

    With `up`, the layer up-samples by 2 as StyleGAN2 does: a transposed convolution with stride 2,
    then the FIR low-pass filter with gain 4 and one pixel of padding, which crops the
    `2H + 1` output of the transposed convolution to `2H`.

    Args:
        x: `[N, I, H, W]` activations.
        weight: `[O, I, k, k]` shared convolution weight (odd `k`).
        styles: `[N, I]` per-sample scales of the input channels.
        up: Up-sample by 2.
        resample_filter: `[4, 4]` low-pass filter, required with `up`.

    Returns:
        `[N, O, H, W]`, or `[N, O, 2H, 2W]` with `up`.
    """
    x = x * rearrange(styles, "n i -> n i 1 1").to(x.dtype)
    weight = weight.to(x.dtype)
    if not up:
        return F.conv2d(x, weight, padding=weight.shape[-1] // 2)
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
    return fir_filter(x, resample_filter, padding=1, gain=4.0)


def modulated_linear(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """A 1x1 modulated convolution without demodulation (the ToRGB layer), as one batched matmul.

    Args:
        x: `[N, I, H, W]` activations (either memory format, float32 or float16).
        weight: `[O, I, 1, 1]` shared weight.
        styles: `[N, I]` per-sample scales of the input channels.

    Returns:
        `[N, O, H, W]` outputs in the dtype of `x` (the per-sample weight is cast to it).
    """
    n, _, h, w = x.shape
    per_sample = (weight[None, :, :, 0, 0] * styles[:, None, :]).to(x.dtype)  # [N, O, I]
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        pixels = rearrange(x, "n i h w -> n (h w) i")  # a view for channels-last activations
        return rearrange(pixels @ per_sample.transpose(1, 2), "n (h w) o -> n o h w", h=h, w=w)
    return (per_sample @ x.reshape(n, x.shape[1], h * w)).reshape(n, -1, h, w)


def bias_noise_act(
    x: torch.Tensor,
    *,
    scale: torch.Tensor,
    bias: torch.Tensor,
    noise: torch.Tensor | None,
    clamp: float | None,
) -> torch.Tensor:
    """`clamp(lrelu(x * scale + noise + bias) * sqrt(2))`, the epilogue of every synthesis layer.

    The gain is folded into the affine part (leaky ReLU is positively homogeneous), so the
    epilogue is one fused multiply-add followed by in-place passes. `x` must be a fresh
    convolution output that nothing else reads: outside autograd (and outside torch.compile)
    it is overwritten.

    Args:
        x: `[N, C, H, W]` convolution output.
        scale: `[N, C]` per-sample channel scales (the demodulation coefficients).
        bias: `[C]` bias.
        noise: Noise already multiplied by its strength, broadcastable to `[N, 1, H, W]`, or None.
        clamp: Clamp the output to `[-clamp, clamp]`; None = no clamp.

    Returns:
        `[N, C, H, W]` activations.
    """
    scale = rearrange(scale * LRELU_GAIN, "n c -> n c 1 1").to(x.dtype)
    bias = rearrange(bias * LRELU_GAIN, "c -> 1 c 1 1").to(x.dtype)
    # Overwrite x only where it is safe and pays: autograd needs x for the gradient of the scale,
    # and torch.compile fuses the whole epilogue into one pass anyway (and cannot trace `out=`).
    overwrite = not x.requires_grad and not _is_compiling()
    y = torch.addcmul(bias, x, scale, out=x) if overwrite else torch.addcmul(bias, x, scale)
    if noise is not None:
        y = y.add_((noise * LRELU_GAIN).to(x.dtype))
    y = F.leaky_relu(y, LRELU_SLOPE, inplace=True)
    if clamp is not None:
        y = y.clamp(-clamp, clamp) if y.requires_grad else y.clamp_(-clamp, clamp)  # clamp's backward needs its input
    return y
