"""A small StyleGAN-like image GAN for the toy world, cheap enough to train on a laptop CPU.

The generator has a mapping network `z -> w` (so that its latent space W, where latentmotion's
motion generator walks, is learned and non-isotropic, as in StyleGAN, with the pose drawn apart
from the content as W's leading principal directions) and an implicit, layered
synthesis network `w -> image` that computes each pixel from its coordinates alone, in the
manner of CIPS (Anokhin et al., 2021): an object, drawn in a frame that three pose coordinates
of `w` place and turn, composited over a background gradient. Sharp polygons and discs are what
such a network draws most easily, and an object's position is a few coordinates of W, so the
world's motion is a path there that leaves the object's shape and colours unchanged.

The discriminator is a plain stack of stride-2 convolutions with a minibatch standard-deviation
feature. Every layer uses the equalised learning rate of ProGAN/StyleGAN: weights are drawn from
N(0, 1) and scaled by `1 / sqrt(fan_in)` at run time.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import attrs
import torch
from einops import rearrange, reduce, repeat
from torch import nn
from torch.nn import functional as F

from latentmotion.errors import ConfigError

POSE_DIM = 3
"""The first coordinates of `w`, which only place the object: its centre `(x, y)` and rotation angle."""

POSE_STD = 8.0
"""Standard deviation of the pose coordinates of `w`, which makes them W's leading principal directions.

MoCoGAN-HD's motion generator moves along the PCA directions of W scaled by their standard
deviations, at most `lambda * sigma_k` along direction `k` per frame, so a motion must lie along
high-variance directions. In a StyleGAN trained on faces the leading directions are pose; here
the pose is drawn apart from the content (independent of it) with a spread well above the
content's, so that the three leading directions are exactly the pose."""

POSE_SPREAD = (0.35, 0.35, 1.0)
"""Standard deviation over the prior of the object's centre `(x, y)`, in half-widths of the
image (the world's centres spread 0.36), and of its rotation angle, in radians."""

POSE_GAIN = tuple(spread / POSE_STD for spread in POSE_SPREAD)
"""What one unit of each pose coordinate of `w` moves: the centre by 0.35 / 8 of the image's
half-width (1.4 pixels at 64 px), the angle by 1/8 radian."""

OBJECT_RADIUS = 0.55
"""The object is opaque only this close to its pose centre, in half-widths of the image (the
default world's largest object has circumradius 0.44, and the `glow` halo adds a little)."""

OBJECT_EDGE = 0.02
"""Width of the soft edge of that disc, in half-widths of the image."""


def _power_of_two(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 8 or value & (value - 1):
        raise ConfigError(f"{type(instance).__name__}.{attribute.name} must be a power of two >= 8, got {value}")


def _positive(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{type(instance).__name__}.{attribute.name} must be at least 1, got {value}")


def _wider_than_pose(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value <= POSE_DIM:
        raise ConfigError(f"{type(instance).__name__}.{attribute.name} must exceed the {POSE_DIM} pose coordinates, got {value}")


@attrs.frozen
class ImageGANConfig:
    """Architecture of the toy image GAN.

    The discriminator has `min(max_channels, channel_base // r)` feature channels at resolution `r`.

    Attributes:
        resolution: Side of the images in pixels, a power of two >= 8.
        z_dim: Dimension of the prior `z ~ N(0, I)`.
        w_dim: Dimension of the latent space W (pose and content), more than `POSE_DIM`.
        mapping_layers: Fully connected layers of the mapping network.
        hidden: Features per pixel in the synthesis network (also its number of half-planes).
        layers: Modulated per-pixel layers of the synthesis network.
        channel_base: Discriminator feature channels times resolution.
        max_channels: Upper bound on the discriminator's feature channels.
    """

    resolution: int = attrs.field(default=64, validator=_power_of_two)
    z_dim: int = attrs.field(default=64, validator=_wider_than_pose)
    w_dim: int = attrs.field(default=64, validator=_wider_than_pose)
    mapping_layers: int = attrs.field(default=4, validator=_positive)
    hidden: int = attrs.field(default=32, validator=_positive)
    layers: int = attrs.field(default=3, validator=_positive)
    channel_base: int = attrs.field(default=512, validator=_positive)
    max_channels: int = attrs.field(default=128, validator=_positive)

    def channels(self, resolution: int) -> int:
        """Discriminator feature channels at one resolution.

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


class MappingNetwork(nn.Module):
    """`z -> w`: the pose is drawn apart from the content, which is learned.

    The first [POSE_DIM][latentmotion_toyworld.image_gan.POSE_DIM] coordinates of `z`, times
    [POSE_STD][latentmotion_toyworld.image_gan.POSE_STD], are the pose coordinates of `w`; the
    rest of `z` goes through pixel normalisation and fully connected layers with leaky ReLU to
    the content coordinates. Pose and content are thus independent in W.

    Args:
        config: The architecture.
    """

    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        sizes = [config.z_dim - POSE_DIM] + [config.w_dim - POSE_DIM] * config.mapping_layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_multiplier=0.01) for a, b in pairwise(sizes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map prior samples to the latent space W.

        Args:
            z: `[N, z_dim]` samples of `N(0, I)`.

        Returns:
            `[N, w_dim]` latents, pose first.
        """
        content = pixel_norm(z[:, POSE_DIM:])
        for layer in self.layers:
            content = F.leaky_relu(layer(content), 0.2) * math.sqrt(2)
        return torch.cat([z[:, :POSE_DIM] * POSE_STD, content], dim=1)


class ModulatedLinear(nn.Module):
    """A per-pixel fully connected layer whose weights are modulated by `w` (StyleGAN2's modulation).

    Each input feature is scaled by a style computed from `w`; with `demodulate`, every output
    feature is then rescaled to unit expected variance.

    Args:
        in_features: Input features per pixel.
        out_features: Output features per pixel.
        w_dim: Dimension of `w`.
        demodulate: Whether to normalise the modulated weights.
    """

    def __init__(self, in_features: int, out_features: int, *, w_dim: int, demodulate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.style = EqualLinear(w_dim, in_features, bias_init=1.0)
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: `[N, P, in_features]` features of P pixels.
            w: `[N, w_dim]` latents.

        Returns:
            `[N, P, out_features]` features.
        """
        weight = self.weight[None] * rearrange(self.style(w), "n i -> n 1 i")  # [N, out, in]
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.square().sum(dim=2, keepdim=True) + 1e-8)
        else:
            weight = weight / math.sqrt(weight.shape[2])
        return torch.einsum("npi,noi->npo", x, weight) + self.bias


class SynthesisNetwork(nn.Module):
    """`w -> image`: an implicit, layered renderer that computes every pixel from its coordinates alone.

    The image is an object composited over a background, as the toy world draws it:
    `image = background + alpha * (colour - background)`.

    - The first [POSE_DIM][latentmotion_toyworld.image_gan.POSE_DIM] coordinates of `w` are the
      object's pose, scaled by the fixed [POSE_GAIN][latentmotion_toyworld.image_gan.POSE_GAIN]:
      its centre and rotation angle. They define a frame attached to the object,
      `(x', y') = R(-angle) ((x, y) - centre)`, for each pixel centre `(x, y)` in `(-1, 1)`.
    - The object (`colour`, `alpha`) sees only `(x', y')`: the rest of `w` (the content) gives
      `hidden` half-planes in the object's frame, and per-pixel layers with modulated weights
      compose them into a disc or polygon with its colours and opacity. The opacity is cut to a
      disc of radius [OBJECT_RADIUS][latentmotion_toyworld.image_gan.OBJECT_RADIUS] about the
      centre, so that only the pose can place the object in the image.
    - The background sees only `(x, y)`: a linear colour gradient set by the content.

    Moving or rotating an object is then a change of the pose coordinates alone, which keeps its
    shape and colours: the content-preserving path in W that MoCoGAN-HD's motion generator has
    to find (it is not told which coordinates these are; they are W's leading principal
    directions).

    Args:
        config: The architecture.
    """

    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        content_dim = config.w_dim - POSE_DIM
        self.resolution = config.resolution
        self.half_planes = EqualLinear(content_dim, 3 * config.hidden)
        self.layers = nn.ModuleList(ModulatedLinear(config.hidden, config.hidden, w_dim=content_dim) for _ in range(config.layers))
        self.to_rgba = ModulatedLinear(config.hidden, 4, w_dim=content_dim, demodulate=False)
        self.background = EqualLinear(content_dim, 3 * 3)
        self.register_buffer("pose_gain", torch.tensor(POSE_GAIN), persistent=False)
        centres = (torch.arange(config.resolution, dtype=torch.float32) + 0.5) / config.resolution * 2 - 1
        ys, xs = torch.meshgrid(centres, centres, indexing="ij")
        self.register_buffer("pixels", torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(-1, 3), persistent=False)  # [P, 3] pixel centres (x, y, 1)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """Render images from latents.

        Args:
            w: `[N, w_dim]` latents.

        Returns:
            `[N, 3, R, R]` images, roughly in `[-1, 1]` (not clamped).
        """
        pose, content = w[:, :POSE_DIM] * self.pose_gain, w[:, POSE_DIM:]
        centre_x, centre_y, angle = rearrange(pose, "n k -> k n 1")
        dx, dy = self.pixels[:, 0] - centre_x, self.pixels[:, 1] - centre_y  # [N, P]
        cos, sin = angle.cos(), angle.sin()
        local = torch.stack([cos * dx + sin * dy, cos * dy - sin * dx, torch.ones_like(dx)], -1)  # [N, P, 3] (x', y', 1)
        planes = rearrange(self.half_planes(content), "n (h k) -> n h k", k=3)
        x = F.leaky_relu(torch.einsum("npk,nhk->nph", local, planes), 0.2) * math.sqrt(2)
        for layer in self.layers:
            x = F.leaky_relu(layer(x, content), 0.2) * math.sqrt(2)
        colour, opacity = self.to_rgba(x, content).split([3, 1], dim=-1)  # [N, P, 3], [N, P, 1]
        gradient = rearrange(self.background(content), "n (c k) -> n c k", k=3)
        background = torch.einsum("pk,nck->npc", self.pixels, gradient)  # [N, P, 3]
        window = torch.sigmoid((OBJECT_RADIUS - local[..., :2].norm(dim=-1, keepdim=True)) / OBJECT_EDGE)  # [N, P, 1]
        image = torch.lerp(background, colour, torch.sigmoid(opacity) * window)
        return rearrange(image, "n (h w) c -> n c h w", h=self.resolution)


class ImageGenerator(nn.Module):
    """The toy image generator: a [MappingNetwork][latentmotion_toyworld.image_gan.MappingNetwork] and a [SynthesisNetwork][latentmotion_toyworld.image_gan.SynthesisNetwork].

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
        self.convs = nn.ModuleList(EqualConv2d(a, b, 4, stride=2, padding=1) for a, b in pairwise(channels))
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
