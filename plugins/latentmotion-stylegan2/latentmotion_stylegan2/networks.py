"""A StyleGAN2(-ADA) generator written from the papers, whose weights load from NVlabs checkpoints by name.

The module tree and the names of every parameter and buffer follow the state dict of NVlabs'
`stylegan2-ada-pytorch` generator (`mapping.fc0.weight`, `synthesis.b64.conv0.affine.weight`, ...),
and weights are stored unscaled as there: the equalised-learning-rate gains are applied when the
layer runs. Only the `skip` architecture of the released models is built. Everything runs in
float32 unless asked otherwise: the synthesis network's `fp16=True` runs the blocks that NVlabs
runs in float16 (the `num_fp16_res` highest resolutions of the released models) in float16 on a
CUDA device, with NVlabs' mixed layout (see
[SynthesisNetwork.forward][latentmotion_stylegan2.networks.SynthesisNetwork.forward]).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import torch
from einops import repeat
from torch import nn
from torch.nn import functional as F

from latentmotion.errors import ConfigError, ShapeError
from latentmotion_stylegan2 import ops

NOISE_MODES = ("const", "random", "none")


def _power_of_two(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    """attrs validator: `value` is a power of two from 4 to 1024."""
    if value < 4 or value > 1024 or value & (value - 1):
        raise ConfigError(f"{attribute.name} must be a power of two from 4 to 1024, got {value}")


def _non_negative_int(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    """attrs validator: `value` is an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def _autocast_enabled(device_type: str) -> bool:
    """Whether a `torch.autocast` region is active for `device_type`."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no device and has a separate test for the CPU
        return torch.is_autocast_cpu_enabled() if device_type == "cpu" else torch.is_autocast_enabled()


@attrs.frozen
class GeneratorConfig:
    """The hyperparameters that fix a StyleGAN2 generator's architecture (NVlabs' init kwargs).

    Attributes:
        z_dim: Dimension of the prior `z`.
        c_dim: Dimension of the class label (0 = unconditional).
        w_dim: Dimension of the intermediate latent space W.
        img_resolution: Side of the output images, a power of two from 4 to 1024.
        img_channels: Colour channels of the output images.
        mapping_layers: Fully connected layers of the mapping network.
        mapping_lr_multiplier: Learning-rate multiplier of the mapping layers (scales their weights at run time).
        mapping_layer_features: Width of the hidden mapping layers; None = `w_dim`.
        embed_features: Width of the label embedding; None = `w_dim`.
        channel_base: Channels at resolution `r` are `min(channel_base // r, channel_max)`.
        channel_max: Upper bound on the channels of any layer.
        conv_clamp: Clamp every synthesis layer's output to `[-conv_clamp, conv_clamp]`; None = no clamp.
        num_fp16_res: Number of highest resolutions whose synthesis blocks NVlabs runs in float16
            (4 in the released models, never below 8x8; 0 = none). They still run in float32
            unless the synthesis network is called with `fp16=True`.
    """

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = attrs.field(default=256, validator=_power_of_two)
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    mapping_layer_features: int | None = None
    embed_features: int | None = None
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = None
    num_fp16_res: int = attrs.field(default=0, validator=_non_negative_int)

    @property
    def block_resolutions(self) -> list[int]:
        """Resolutions of the synthesis blocks, `4, 8, ..., img_resolution`."""
        return [2**i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    @property
    def fp16_resolutions(self) -> list[int]:
        """Resolutions of the float16 blocks: the `num_fp16_res` highest, 8x8 and up (NVlabs' rule)."""
        lowest = max(2 ** (int(math.log2(self.img_resolution)) + 1 - self.num_fp16_res), 8)
        return [resolution for resolution in self.block_resolutions if resolution >= lowest]

    def channels(self, resolution: int) -> int:
        """Feature channels of the synthesis block at `resolution`.

        Args:
            resolution: A block resolution.

        Returns:
            `min(channel_base // resolution, channel_max)`.
        """
        return min(self.channel_base // resolution, self.channel_max)

    @property
    def num_ws(self) -> int:
        """Number of w vectors the synthesis network consumes: two per block, one for `b4`, plus the last ToRGB."""
        return 2 * len(self.block_resolutions)

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-serialisable dict.

        Returns:
            Field name to value.
        """
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GeneratorConfig:
        """Rebuild a config from [to_dict][latentmotion_stylegan2.networks.GeneratorConfig.to_dict]'s output.

        Args:
            values: Field name to value.

        Returns:
            The config.
        """
        unknown = sorted(set(values) - {field.name for field in attrs.fields(cls)})
        if unknown:
            raise ConfigError(f"unknown StyleGAN2 generator config keys {unknown}")
        return cls(**values)


class FullyConnectedLayer(nn.Module):
    """A linear layer with equalised learning rate: `y = act(x (W g)^T + b m)`, `g = m / sqrt(in)`.

    Args:
        in_features: Input width.
        out_features: Output width.
        activation: `"linear"` or `"lrelu"` (leaky ReLU, slope 0.2, gain sqrt(2)).
        lr_multiplier: Learning-rate multiplier `m`; the stored weight is `randn / m`.
        bias_init: Initial value of the bias.
    """

    def __init__(self, in_features: int, out_features: int, *, activation: str = "linear", lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: `[N, in_features]` inputs.

        Returns:
            `[N, out_features]` outputs.
        """
        x = torch.addmm(self.bias * self.bias_gain, x, self.weight.t(), alpha=self.weight_gain)  # gains scale the small output, not the weight
        if self.activation == "lrelu":
            x = F.leaky_relu(x, ops.LRELU_SLOPE) * ops.LRELU_GAIN
        return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square (pixel norm).

    Args:
        x: `[N, D]` inputs.
        eps: Added to the mean square.

    Returns:
        `[N, D]` normalised rows.
    """
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """`z (+ label) -> w`: pixel norm, then `num_layers` leaky-ReLU FC layers with learning-rate multiplier.

    Args:
        z_dim: Dimension of `z`.
        c_dim: Dimension of the label (0 = none).
        w_dim: Dimension of `w`.
        num_layers: Number of FC layers.
        layer_features: Width of the hidden layers; None = `w_dim`.
        embed_features: Width of the label embedding; None = `w_dim`.
        lr_multiplier: Learning-rate multiplier of the FC layers.
    """

    def __init__(
        self,
        *,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_layers: int,
        layer_features: int | None,
        embed_features: int | None,
        lr_multiplier: float,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_layers = z_dim, c_dim, w_dim, num_layers
        embed_features = 0 if c_dim == 0 else (embed_features or w_dim)
        layer_features = layer_features or w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for index in range(num_layers):
            layer = FullyConnectedLayer(features[index], features[index + 1], activation="lrelu", lr_multiplier=lr_multiplier)
            setattr(self, f"fc{index}", layer)
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Map prior samples (and labels) to W.

        Args:
            z: `[N, z_dim]` prior samples.
            c: `[N, c_dim]` labels (one-hot for class-conditional models), required when `c_dim > 0`.

        Returns:
            `[N, w_dim]` latents.
        """
        x = normalize_2nd_moment(z.float())
        if self.c_dim > 0:
            if c is None or c.shape[-1] != self.c_dim:
                raise ShapeError(f"this class-conditional generator needs labels c of shape [N, {self.c_dim}]")
            x = torch.cat([x, normalize_2nd_moment(self.embed(c.float()))], dim=1)
        for index in range(self.num_layers):
            x = getattr(self, f"fc{index}")(x)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (optionally up-sampling by 2), noise, bias, leaky ReLU, clamp.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        w_dim: Dimension of `w`.
        resolution: Output side in pixels.
        up: Up-sample the input by 2 first.
        conv_clamp: Output clamp, or None.
    """

    def __init__(self, in_channels: int, out_channels: int, *, w_dim: int, resolution: int, up: bool, conv_clamp: float | None) -> None:
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.register_buffer("resample_filter", ops.setup_filter())
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: `[N, in_channels, R / up, R / up]` activations, float32 or float16 (then the weight
                and styles are pre-normalised as NVlabs does, and the layer computes in float16).
            w: `[N, w_dim]` latent of this layer.
            noise: Unit noise broadcastable to `[N, 1, R, R]`, or None for no noise.

        Returns:
            `[N, out_channels, R, R]` activations in the dtype of `x`.
        """
        styles = self.affine(w)  # [N, I]
        weight = self.weight
        if x.dtype == torch.float16:
            weight, styles = ops.prenormalize_for_fp16(weight, styles)
        y = ops.modulated_conv2d(x, weight, styles, up=self.up, resample_filter=self.resample_filter)
        dcoefs = ops.demodulation_coefficients(weight, styles)  # [N, O]
        scaled_noise = None if noise is None else noise * self.noise_strength
        return ops.bias_noise_act(y, scale=dcoefs, bias=self.bias, noise=scaled_noise, clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution to RGB without demodulation, plus bias and clamp.

    Args:
        in_channels: Input channels.
        img_channels: Output colour channels.
        w_dim: Dimension of `w`.
        conv_clamp: Output clamp, or None.
    """

    def __init__(self, in_channels: int, img_channels: int, *, w_dim: int, conv_clamp: float | None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(img_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros([img_channels]))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: `[N, in_channels, R, R]` activations.
            w: `[N, w_dim]` latent of this layer.

        Returns:
            `[N, img_channels, R, R]` contiguous float32 image contribution (with float16 `x`, the
            product runs in float16, the float32 bias is added to its result).
        """
        styles = self.affine(w) * self.weight_gain
        y = ops.modulated_linear(x, self.weight, styles).contiguous()
        y = y + self.bias[None, :, None, None]
        if self.conv_clamp is not None:
            y = y.clamp(-self.conv_clamp, self.conv_clamp)
        return y


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: (`const` | `conv0` up) -> `conv1` -> `torgb` added to the up-sampled image.

    Args:
        in_channels: Channels of the previous block, 0 for the first (4x4) block.
        out_channels: Channels of this block.
        w_dim: Dimension of `w`.
        resolution: Side of this block's output.
        img_channels: Colour channels.
        conv_clamp: Output clamp of every layer, or None.
        use_fp16: Whether this is one of the blocks NVlabs runs in float16 (it does only when
            the synthesis network is asked to).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        w_dim: int,
        resolution: int,
        img_channels: int,
        conv_clamp: float | None,
        use_fp16: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels, self.resolution, self.use_fp16 = in_channels, resolution, use_fp16
        self.register_buffer("resample_filter", ops.setup_filter())
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim=w_dim, resolution=resolution, up=True, conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim=w_dim, resolution=resolution, up=False, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)

    @property
    def layers(self) -> list[SynthesisLayer]:
        """The block's noise-taking convolution layers, in order."""
        return [self.conv1] if self.in_channels == 0 else [self.conv0, self.conv1]

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        noises: list[torch.Tensor | None],
        memory_format: torch.memory_format,
        dtype: torch.dtype | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the block.

        Args:
            x: `[N, in_channels, R/2, R/2]` features of the previous block, None for the first.
            img: `[N, C, R/2, R/2]` float32 image so far, None for the first block.
            ws: `[N, len(layers) + 1, w_dim]` latents of this block's layers and its ToRGB.
            noises: One unit-noise tensor (or None) per layer of `layers`.
            memory_format: Memory format of the feature maps.
            dtype: Dtype the block computes in, its input features cast to it; None keeps theirs
                (float32, or what autocast made of them).

        Returns:
            `[N, out_channels, R, R]` features and the `[N, C, R, R]` float32 image.
        """
        if self.in_channels == 0:
            x = repeat(self.const, "c h w -> n c h w", n=ws.shape[0])
        x = x.to(dtype=x.dtype if dtype is None else dtype, memory_format=memory_format)
        for index, (layer, noise) in enumerate(zip(self.layers, noises)):
            x = layer(x, ws[:, index], noise)
        y = self.torgb(x, ws[:, -1])
        img = y if img is None else ops.upsample2d(img, self.resample_filter) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """`ws -> image`: synthesis blocks `b4 ... b{img_resolution}` with skip ToRGB outputs.

    Args:
        config: The generator's architecture (its `fp16_resolutions` flag the float16 blocks).
        channels_last: Keep feature maps in channels-last memory format (faster convolutions on
            CPU); float16 blocks always use it.
    """

    def __init__(self, config: GeneratorConfig, *, channels_last: bool = True) -> None:
        super().__init__()
        self.w_dim, self.img_resolution = config.w_dim, config.img_resolution
        self.block_resolutions = config.block_resolutions
        self.num_ws = config.num_ws
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        fp16_resolutions = config.fp16_resolutions
        for resolution in self.block_resolutions:
            in_channels = config.channels(resolution // 2) if resolution > 4 else 0
            block = SynthesisBlock(
                in_channels,
                config.channels(resolution),
                w_dim=config.w_dim,
                resolution=resolution,
                img_channels=config.img_channels,
                conv_clamp=config.conv_clamp,
                use_fp16=resolution in fp16_resolutions,
            )
            setattr(self, f"b{resolution}", block)

    @property
    def blocks(self) -> list[SynthesisBlock]:
        """The synthesis blocks from 4x4 up."""
        return [getattr(self, f"b{resolution}") for resolution in self.block_resolutions]

    @property
    def noise_resolutions(self) -> list[int]:
        """Side of each noise input, in layer order (`b4.conv1, b8.conv0, b8.conv1, ...`)."""
        return [layer.resolution for block in self.blocks for layer in block.layers]

    def forward(
        self,
        ws: torch.Tensor,
        *,
        noise_mode: str = "const",
        noise: list[torch.Tensor] | None = None,
        fp16: bool = False,
        fp16_any_device: bool = False,
    ) -> torch.Tensor:
        """Render images from per-layer latents.

        With `fp16`, the blocks flagged `use_fp16` (the config's `num_fp16_res` highest
        resolutions) run as NVlabs runs them: each casts its input features to float16 and keeps
        them channels-last, its demodulated layers pre-normalise weight and styles against
        overflow, every layer's output is clamped to `conv_clamp` (256 in the released models),
        and each ToRGB output comes back to float32 (its bias is added in float32) before it is
        added to the image, which stays float32 throughout. The other blocks, the mapping network and every affine (style) layer
        stay float32. This happens only on a CUDA device: elsewhere the network stays float32, as
        NVlabs' StyleGAN3 code forces float32 off CUDA (float16 convolutions are slow on a CPU).
        Inside a `torch.autocast` region (latentmotion's `run.precision`) `fp16` has no effect:
        autocast already runs every block's convolutions in its own dtype, and it decides alone.

        Args:
            ws: `[N, num_ws, w_dim]` latents; block `b{r}` reads its layers' entries and the first of
                the next block (NVlabs' layout: each ToRGB shares the next block's first w).
            noise_mode: `"const"` (the stored `noise_const` maps), `"random"` (fresh noise) or
                `"none"`; ignored when `noise` is given.
            noise: One unit-noise tensor per noise input, each `[N, 1, r, r]` (or `[1, 1, r, r]`,
                shared), in the order of `noise_resolutions`.
            fp16: Run the float16 blocks in float16 on CUDA, outside autocast (default: everything
                in float32).
            fp16_any_device: With `fp16`, run them in float16 on any device, a CPU included
                (slow; checks the float16 numerics without a GPU).

        Returns:
            `[N, img_channels, R, R]` float32 images, about `[-1, 1]`.
        """
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ShapeError(f"synthesis expects ws of shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ConfigError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        noises = iter(self._noise_inputs(ws.shape[0], ws.device, noise_mode, noise))
        ws = ws.float()
        half = fp16 and (fp16_any_device or ws.device.type == "cuda") and not _autocast_enabled(ws.device.type)
        x = img = None
        w_index = 0
        for block in self.blocks:
            count = len(block.layers)
            block_noise = [next(noises) for _ in range(count)]
            block_ws = ws[:, w_index : w_index + count + 1]
            if half and block.use_fp16:
                x, img = block(x, img, block_ws, block_noise, torch.channels_last, torch.float16)
            else:
                x, img = block(x, img, block_ws, block_noise, self.memory_format)
            w_index += count
        return img

    def _noise_inputs(self, n: int, device: torch.device, noise_mode: str, noise: list[torch.Tensor] | None) -> list[torch.Tensor | None]:
        layers = [layer for block in self.blocks for layer in block.layers]
        if noise is not None:
            if len(noise) != len(layers):
                raise ShapeError(f"expected {len(layers)} noise tensors (one per synthesis layer), got {len(noise)}")
            for tensor, layer in zip(noise, layers):
                r = layer.resolution
                if tensor.ndim != 4 or tensor.shape[1:] != (1, r, r) or tensor.shape[0] not in (1, n):
                    raise ShapeError(f"noise for the {r}x{r} layer must be [{n}, 1, {r}, {r}], got {list(tensor.shape)}")
            return list(noise)
        if noise_mode == "const":
            return [layer.noise_const[None, None] for layer in layers]
        if noise_mode == "random":
            return [torch.randn(n, 1, layer.resolution, layer.resolution, device=device) for layer in layers]
        return [None] * len(layers)


class Generator(nn.Module):
    """A StyleGAN2(-ADA) generator: mapping network `z -> w` and synthesis network `ws -> image`.

    Args:
        config: The architecture.
        channels_last: Keep feature maps in channels-last memory format (faster on CPU).
    """

    def __init__(self, config: GeneratorConfig, *, channels_last: bool = True) -> None:
        super().__init__()
        self.config = config
        self.synthesis = SynthesisNetwork(config, channels_last=channels_last)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim=config.z_dim,
            c_dim=config.c_dim,
            w_dim=config.w_dim,
            num_layers=config.mapping_layers,
            layer_features=config.mapping_layer_features,
            embed_features=config.embed_features,
            lr_multiplier=config.mapping_lr_multiplier,
        )

    def truncate(self, w: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        """Pull latents towards `w_avg`: `w_avg + psi (w - w_avg)`.

        Args:
            w: `[N, w_dim]` latents, or `[N, num_ws, w_dim]` per-layer latents.
            psi: Truncation strength; 1 = none, 0 = the average.
            cutoff: With per-layer latents, truncate only the first `cutoff` layers; None = all.

        Returns:
            Latents of the same shape.
        """
        if psi == 1:
            return w
        w_avg = self.mapping.w_avg
        if cutoff is None or w.ndim == 2:
            return w_avg.lerp(w, psi)
        return torch.cat([w_avg.lerp(w[:, :cutoff], psi), w[:, cutoff:]], dim=1)

    def map(self, z: torch.Tensor, c: torch.Tensor | None = None, *, truncation_psi: float = 1.0, truncation_cutoff: int | None = None) -> torch.Tensor:
        """Map prior samples to per-layer latents, with truncation.

        Args:
            z: `[N, z_dim]` prior samples.
            c: `[N, c_dim]` labels for class-conditional models.
            truncation_psi: Truncation strength (1 = none).
            truncation_cutoff: Truncate only the first this many layers; None = all.

        Returns:
            `[N, num_ws, w_dim]` latents.
        """
        ws = repeat(self.mapping(z, c), "n d -> n l d", l=self.num_ws)
        return self.truncate(ws, truncation_psi, truncation_cutoff)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        *,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
    ) -> torch.Tensor:
        """Render images from prior samples.

        Args:
            z: `[N, z_dim]` prior samples.
            c: `[N, c_dim]` labels for class-conditional models.
            truncation_psi: Truncation strength (1 = none).
            truncation_cutoff: Truncate only the first this many layers; None = all.
            noise_mode: `"const"`, `"random"` or `"none"`.

        Returns:
            `[N, img_channels, R, R]` images.
        """
        ws = self.map(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)
