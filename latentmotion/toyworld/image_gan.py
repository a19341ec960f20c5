"""A small StyleGAN-like image GAN for the toy world, cheap enough to train on a laptop CPU.

The generator has a mapping network `z -> w` (so that its latent space W, where latentmotion's
motion generator walks, is learned and non-isotropic, as in StyleGAN) and a convolutional
synthesis network `w -> image`: a linear stem to 4x4 features, then one block per doubling of
the resolution (bilinear upsampling, 3x3 convolutions, pixel normalisation, a per-channel scale
and bias computed from `w`, leaky ReLU) and skip connections through RGB at every resolution.
The discriminator is a plain stack of stride-2 convolutions with a minibatch standard-deviation
feature. Every layer uses the equalised learning rate of ProGAN/StyleGAN: weights are drawn from
N(0, 1) and scaled by `1 / sqrt(fan_in)` at run time.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import torch
from einops import rearrange, reduce, repeat
from torch import nn
from torch.nn import functional as F

from latentmotion.errors import ConfigError


def _power_of_two(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 8 or value & (value - 1):
        raise ConfigError(f"{type(instance).__name__}.{attribute.name} must be a power of two >= 8, got {value}")


def _positive(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{type(instance).__name__}.{attribute.name} must be at least 1, got {value}")


@attrs.frozen
class ImageGANConfig:
    """Architecture of the toy image GAN.

    The number of feature channels at resolution `r` is `min(max_channels, channel_base // r)`
    in both networks.

    Attributes:
        resolution: Side of the images in pixels, a power of two >= 8.
        z_dim: Dimension of the prior `z ~ N(0, I)`.
        w_dim: Dimension of the latent space W.
        mapping_layers: Fully connected layers of the mapping network.
        channel_base: Feature channels times resolution.
        max_channels: Upper bound on the feature channels.
    """

    resolution: int = attrs.field(default=64, validator=_power_of_two)
    z_dim: int = attrs.field(default=64, validator=_positive)
    w_dim: int = attrs.field(default=64, validator=_positive)
    mapping_layers: int = attrs.field(default=4, validator=_positive)
    channel_base: int = attrs.field(default=512, validator=_positive)
    max_channels: int = attrs.field(default=128, validator=_positive)

    def channels(self, resolution: int) -> int:
        """Feature channels at one resolution.

        Args:
            resolution: Side of the feature maps in pixels.

        Returns:
            `min(max_channels, channel_base // resolution)`, at least 1.
        """
        return max(1, min(self.max_channels, self.channel_base // resolution))

    @property
    def resolutions(self) -> list[int]:
        """The resolutions of the synthesis blocks: 8, 16, ..., `resolution`."""
        return [2**i for i in range(3, int(math.log2(self.resolution)) + 1)]


class EqualLinear(nn.Module):
    """A fully connected layer with equalised learning rate.

    Args:
        in_features: Input size.
        out_features: Output size.
        bias_init: Initial value of every bias.
        lr_multiplier: Scale of this layer's effective learning rate (StyleGAN uses 0.01 for
            the mapping network).
    """

    def __init__(self, in_features: int, out_features: int, *, bias_init: float = 0.0, lr_multiplier: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_multiplier))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: `[N, in_features]` inputs.

        Returns:
            `[N, out_features]` outputs.
        """
        return F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)


class EqualConv2d(nn.Module):
    """A 2D convolution with equalised learning rate and "same" padding (or a given stride).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Side of the square kernel.
        stride: Convolution stride.
        padding: Zero padding on each side.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.stride = stride
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the convolution.

        Args:
            x: `[N, in_channels, H, W]` features.

        Returns:
            `[N, out_channels, H', W']` features.
        """
        return F.conv2d(x, self.weight * self.weight_gain, self.bias, stride=self.stride, padding=self.padding)


def pixel_norm(x: torch.Tensor, *, dim: int = 1) -> torch.Tensor:
    """Scale every feature vector to unit root mean square (ProGAN's pixel normalisation).

    Args:
        x: Features, e.g. `[N, C, H, W]` or `[N, C]`.
        dim: The feature dimension.

    Returns:
        `x / sqrt(mean(x ** 2, dim) + 1e-8)`.
    """
    return x * torch.rsqrt(x.square().mean(dim=dim, keepdim=True) + 1e-8)


def with_coordinates(x: torch.Tensor) -> torch.Tensor:
    """Append two channels holding each pixel centre's `x` and `y` in `(-1, 1)` (CoordConv).

    They let convolutions place edges at any position directly, which the shapes of the toy
    world (half-planes and discs around a moving centre) need.

    Args:
        x: `[N, C, H, W]` features.

    Returns:
        `[N, C + 2, H, W]` features.
    """
    n, _, height, width = x.shape
    ys = (torch.arange(height, device=x.device, dtype=x.dtype) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, device=x.device, dtype=x.dtype) + 0.5) / width * 2 - 1
    grid = torch.stack([repeat(xs, "w -> h w", h=height), repeat(ys, "h -> h w", w=width)])
    return torch.cat([x, repeat(grid, "two h w -> n two h w", n=n)], dim=1)


class MappingNetwork(nn.Module):
    """`z -> w`: pixel normalisation of `z`, then fully connected layers with leaky ReLU.

    Args:
        config: The architecture.
    """

    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        sizes = [config.z_dim] + [config.w_dim] * config.mapping_layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_multiplier=0.01) for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map prior samples to the latent space W.

        Args:
            z: `[N, z_dim]` samples of `N(0, I)`.

        Returns:
            `[N, w_dim]` latents.
        """
        x = pixel_norm(z)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2) * math.sqrt(2)
        return x


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: upsample x2, 3x3 convolutions styled by `w`, RGB.

    Every convolution also sees the pixel coordinates ([with_coordinates][latentmotion.toyworld.image_gan.with_coordinates]).

    Args:
        in_channels: Channels of the incoming features.
        out_channels: Channels of this block.
        w_dim: Dimension of `w`.
        n_convs: Convolutions in the block.
    """

    def __init__(self, in_channels: int, out_channels: int, *, w_dim: int, n_convs: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(EqualConv2d(c + 2, out_channels, 3, padding=1) for c in [in_channels] + [out_channels] * (n_convs - 1))
        self.styles = nn.ModuleList(EqualLinear(w_dim, 2 * out_channels) for _ in range(n_convs))
        self.to_rgb = EqualConv2d(out_channels, 3, 1)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the block.

        Args:
            x: `[N, in_channels, R/2, R/2]` features.
            w: `[N, w_dim]` latents.

        Returns:
            `[N, out_channels, R, R]` features and this block's `[N, 3, R, R]` RGB contribution.
        """
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        for conv, style in zip(self.convs, self.styles, strict=True):
            scale, bias = rearrange(style(w), "n (two c) -> two n c 1 1", two=2)
            x = F.leaky_relu(pixel_norm(conv(with_coordinates(x))) * (1 + scale) + bias, 0.2) * math.sqrt(2)
        return x, self.to_rgb(x)


class SynthesisNetwork(nn.Module):
    """`w -> image`: a linear stem to 4x4 features, then one [SynthesisBlock][latentmotion.toyworld.image_gan.SynthesisBlock] per resolution.

    The blocks up to 16x16 have two convolutions, the larger ones one (they cost the most).

    Args:
        config: The architecture.
    """

    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        self.stem_channels = config.channels(4)
        self.stem = EqualLinear(config.w_dim, self.stem_channels * 16, bias_init=0.0)
        blocks = []
        for resolution in config.resolutions:
            n_convs = 2 if resolution <= 16 else 1
            blocks.append(SynthesisBlock(config.channels(resolution // 2), config.channels(resolution), w_dim=config.w_dim, n_convs=n_convs))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """Render images from latents.

        Args:
            w: `[N, w_dim]` latents.

        Returns:
            `[N, 3, R, R]` images, roughly in `[-1, 1]` (not clamped).
        """
        x = F.leaky_relu(rearrange(self.stem(w), "n (c h w) -> n c h w", h=4, w=4), 0.2) * math.sqrt(2)
        rgb = None
        for block in self.blocks:
            x, block_rgb = block(x, w)
            rgb = block_rgb if rgb is None else F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + block_rgb
        return rgb


class ImageGenerator(nn.Module):
    """The toy image generator: a [MappingNetwork][latentmotion.toyworld.image_gan.MappingNetwork] and a [SynthesisNetwork][latentmotion.toyworld.image_gan.SynthesisNetwork].

    Calling it renders from `w`, as a latentmotion backend needs; `mapping` draws the `w`.

    Args:
        config: The architecture.
    """

    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        self.config = config
        self.mapping = MappingNetwork(config)
        self.synthesis = SynthesisNetwork(config)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """Render images in `[-1, 1]` from latents.

        Args:
            w: `[N, w_dim]` latents.

        Returns:
            `[N, 3, R, R]` images, clamped to `[-1, 1]`.
        """
        return self.synthesis(w).clamp(-1, 1)


class ImageDiscriminator(nn.Module):
    """The toy image discriminator: stride-2 4x4 convolutions down to 4x4, a minibatch standard-deviation channel, then a linear score.

    Args:
        config: The architecture.
    """

    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        channels = [3] + [config.channels(resolution // 2) for resolution in reversed(config.resolutions)]
        self.convs = nn.ModuleList(EqualConv2d(a, b, 4, stride=2, padding=1) for a, b in zip(channels[:-1], channels[1:], strict=True))
        self.score = EqualLinear((channels[-1] + 1) * 16, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Score images: high for real, low for generated.

        Args:
            images: `[N, 3, R, R]` images in `[-1, 1]`.

        Returns:
            `[N]` logits.
        """
        x = images
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2) * math.sqrt(2)
        spread = reduce(torch.sqrt(x.var(dim=0, correction=0) + 1e-8), "c h w -> 1 1 h w", "mean")
        x = torch.cat([x, repeat(spread, "1 1 h w -> n 1 h w", n=len(x))], dim=1)
        return self.score(rearrange(x, "n c h w -> n (c h w)"))[:, 0]
