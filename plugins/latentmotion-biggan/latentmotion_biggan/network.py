"""The BigGAN-deep generator (Brock et al., ICLR 2019), in plain PyTorch, for inference.

The condition `[z ; class embedding]` drives everything: a linear stem turns it into a 4x4 map,
residual bottleneck blocks upsample it to the output size with class-conditional batch norms,
a self-attention layer runs at 64x64, and a final batch norm, ReLU and 3x3 convolution give RGB.

Weights are plain tensors: spectral normalisation of the published weights is folded in at load
(see [latentmotion_biggan.weights][]). Batch norms never use batch statistics; they normalise with
statistics precomputed per truncation (see [latentmotion_biggan.truncation][]). Feature maps are
kept channels-last, the layout fast convolution kernels prefer.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from latentmotion_biggan.config import STEM_MULTIPLIER, STEM_SIDE, BigGANConfig
from latentmotion_biggan.truncation import truncation_statistics


class ClassConditionalNorm(nn.Module):
    """Batch norm with per-truncation statistics and a gain and bias predicted from the condition.

    `y = (x - mean) / sqrt(var + eps) * (1 + scale(cond)) + offset(cond)`.

    Args:
        channels: Feature channels `C`.
        condition_dim: Length of the condition vector.
        n_stats: Rows of precomputed statistics.
        eps: Added to the variance.
    """

    def __init__(self, channels: int, *, condition_dim: int, n_stats: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("running_means", torch.zeros(n_stats, channels))
        self.register_buffer("running_vars", torch.ones(n_stats, channels))
        self.scale = nn.Linear(condition_dim, channels, bias=False)
        self.offset = nn.Linear(condition_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, *, condition: torch.Tensor, truncation: float) -> torch.Tensor:
        """Normalise `x` and apply the conditional gain and bias.

        Args:
            x: `[N, C, H, W]` features.
            condition: `[N, condition_dim]` condition vectors.
            truncation: Truncation in `(0, 1]`, selecting the statistics.

        Returns:
            `[N, C, H, W]` features.
        """
        mean, var = truncation_statistics(self.running_means, self.running_vars, truncation)
        gain = (1 + self.scale(condition)) * torch.rsqrt(var + self.eps)  # [N, C]
        bias = self.offset(condition) - mean * gain  # [N, C]
        return torch.addcmul(bias[:, :, None, None], x, gain[:, :, None, None])


class TruncationNorm(nn.Module):
    """Batch norm with per-truncation statistics and a learned, unconditional gain and bias.

    Args:
        channels: Feature channels `C`.
        n_stats: Rows of precomputed statistics.
        eps: Added to the variance.
    """

    def __init__(self, channels: int, *, n_stats: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("running_means", torch.zeros(n_stats, channels))
        self.register_buffer("running_vars", torch.ones(n_stats, channels))
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, *, truncation: float) -> torch.Tensor:
        """Normalise `x`.

        Args:
            x: `[N, C, H, W]` features.
            truncation: Truncation in `(0, 1]`, selecting the statistics.

        Returns:
            `[N, C, H, W]` features.
        """
        mean, var = truncation_statistics(self.running_means, self.running_vars, truncation)
        gain = self.weight * torch.rsqrt(var + self.eps)  # [C]
        bias = self.bias - mean * gain  # [C]
        return torch.addcmul(bias[:, None, None], x, gain[:, None, None])


class BottleneckBlock(nn.Module):
    """Residual block of BigGAN-deep: norm-ReLU-conv four times (1x1, 3x3, 3x3, 1x1), optional 2x upsampling.

    The shortcut keeps the first `out_channels` channels of the input (the block keeps or halves
    the channel count) and is upsampled alongside.

    Args:
        in_channels: Input channels.
        out_channels: Output channels, `in_channels` or half of it.
        upsample: Whether the block doubles the spatial size (nearest neighbour, before the first 3x3).
        condition_dim: Length of the condition vector.
        n_stats: Rows of precomputed batch-norm statistics.
        eps: Batch-norm epsilon.
    """

    def __init__(self, in_channels: int, out_channels: int, *, upsample: bool, condition_dim: int, n_stats: int, eps: float) -> None:
        super().__init__()
        middle = in_channels // 4
        self.upsample = upsample
        self.out_channels = out_channels
        widths = [in_channels, middle, middle, middle]
        self.norms = nn.ModuleList(ClassConditionalNorm(width, condition_dim=condition_dim, n_stats=n_stats, eps=eps) for width in widths)
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(in_channels, middle, 1),
                nn.Conv2d(middle, middle, 3, padding=1),
                nn.Conv2d(middle, middle, 3, padding=1),
                nn.Conv2d(middle, out_channels, 1),
            ]
        )

    def forward(self, x: torch.Tensor, *, condition: torch.Tensor, truncation: float) -> torch.Tensor:
        """Apply the block.

        Args:
            x: `[N, in_channels, H, W]` features.
            condition: `[N, condition_dim]` condition vectors.
            truncation: Truncation in `(0, 1]`.

        Returns:
            `[N, out_channels, H', W']` features, `H' = 2H` when upsampling.
        """
        h = x
        for index, (norm, conv) in enumerate(zip(self.norms, self.convs, strict=True)):
            h = F.relu(norm(h, condition=condition, truncation=truncation), inplace=True)
            if index == 1 and self.upsample:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = conv(h)
        shortcut = x[:, : self.out_channels]
        if self.upsample:
            shortcut = F.interpolate(shortcut, scale_factor=2, mode="nearest")
        return h + shortcut


class SelfAttention(nn.Module):
    """Self-attention over positions (SAGAN), keys and values max-pooled 2x2.

    `y = x + gamma * out(softmax(theta(x)^T phi(x)) g(x))` with unscaled dot products.

    Args:
        channels: Feature channels `C`, divisible by 8.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.theta = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.phi = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.g = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.out = nn.Conv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: `[N, C, H, W]` features, `H` and `W` even.

        Returns:
            `[N, C, H, W]` features.
        """
        height = x.shape[2]
        query = rearrange(self.theta(x), "n c h w -> n (h w) c")
        key = rearrange(F.max_pool2d(self.phi(x), 2), "n c h w -> n (h w) c")
        value = rearrange(F.max_pool2d(self.g(x), 2), "n c h w -> n (h w) c")
        weights = torch.softmax(torch.bmm(query, key.transpose(1, 2)), dim=-1)  # [N, H*W, H*W/4]
        attended = rearrange(torch.bmm(weights, value), "n (h w) c -> n c h w", h=height)  # [N, C/2, H, W]
        return x + self.gamma * self.out(attended)


class BigGANDeep(nn.Module):
    """The BigGAN-deep generator: condition `[z ; class embedding]` to an image in `[-1, 1]`.

    Args:
        config: The architecture.
    """

    def __init__(self, config: BigGANConfig) -> None:
        super().__init__()
        self.config = config
        width = config.channel_width
        condition_dim = config.condition_dim
        self.class_embeddings = nn.Parameter(torch.zeros(config.num_classes, config.class_embed_dim))  # row c: class c
        self.stem = nn.Linear(condition_dim, STEM_MULTIPLIER * width * STEM_SIDE * STEM_SIDE)
        self.blocks = nn.ModuleList(
            BottleneckBlock(
                width * in_mult,
                width * out_mult,
                upsample=upsample,
                condition_dim=condition_dim,
                n_stats=config.n_stats,
                eps=config.eps,
            )
            for upsample, in_mult, out_mult in config.layers
        )
        self.attention = SelfAttention(width * config.layers[config.attention_layer_position][1])
        self.out_norm = TruncationNorm(width, n_stats=config.n_stats, eps=config.eps)
        self.to_rgb = nn.Conv2d(width, 3, 3, padding=1)
        self.to(memory_format=torch.channels_last)  # faster convolutions on CPU (oneDNN) and GPU

    def embed(self, class_vectors: torch.Tensor) -> torch.Tensor:
        """Class embeddings of one-hot or soft class vectors.

        Args:
            class_vectors: `[N, num_classes]` class weights.

        Returns:
            `[N, class_embed_dim]` embeddings.
        """
        return class_vectors @ self.class_embeddings

    def forward(self, condition: torch.Tensor, *, truncation: float) -> torch.Tensor:
        """Render images.

        Args:
            condition: `[N, z_dim + class_embed_dim]` concatenated `z` and class embeddings.
            truncation: Truncation in `(0, 1]` the batch-norm statistics are taken at; use the
                truncation `z` was drawn with.

        Returns:
            `[N, 3, output_dim, output_dim]` images in `[-1, 1]`.
        """
        x = rearrange(self.stem(condition), "n (c h w) -> n c h w", h=STEM_SIDE, w=STEM_SIDE)
        x = x.contiguous(memory_format=torch.channels_last)
        for index, block in enumerate(self.blocks):
            if index == self.config.attention_layer_position:
                x = self.attention(x)
            x = block(x, condition=condition, truncation=truncation)
        x = F.relu(self.out_norm(x, truncation=truncation), inplace=True)
        return torch.tanh(self.to_rgb(x)).contiguous()
