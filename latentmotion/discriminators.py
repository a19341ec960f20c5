"""The discriminators that train the motion generator.

- [VideoDiscriminator][latentmotion.discriminators.VideoDiscriminator] (D_V): a multi-scale 3D
  PatchGAN on clips `[B, C, T, H, W]`; it judges motion.
- [PairImageDiscriminator][latentmotion.discriminators.PairImageDiscriminator] (in-domain D_I):
  the same PatchGAN in 2D on `(frame 0 || frame t)` pairs; it judges content consistency.
- [ContrastiveImageDiscriminator][latentmotion.discriminators.ContrastiveImageDiscriminator]
  (cross-domain D_I): a spectrally normalised ResNet (BigGAN-style) with a projection head, an
  EMA copy and two queues of projections for the contrastive loss.

The two PatchGANs come from one builder parametrised by the number of spatial dimensions, so the
2D and the 3D stacks cannot drift apart.
"""

from __future__ import annotations

import copy

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from latentmotion.errors import ConfigError, ShapeError

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_NORM = {2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}


def _patch_discriminator(*, dims: int, in_channels: int, channels: int, layers: int) -> nn.Sequential:
    """Build one PatchGAN scale: kernel 4, padding 2, LeakyReLU 0.2, instance norm after the first conv.

    The stack is `conv(s2)`, then `layers` times `conv + norm` (stride 2 except the last,
    stride 1), then `conv(-> 1, s1)`; channels start at `channels` and double at every conv but the last.
    The norm has no affine parameters and no running statistics: it always normalises with the
    statistics of the instance at hand, as the authors' discriminator does in train mode, which
    it never leaves.

    Args:
        dims: Number of spatial dimensions: 2 for images, 3 for videos.
        in_channels: Channels of the input.
        channels: Channels of the first convolution.
        layers: Number of normalised convolutions.

    Returns:
        The scale, mapping `[B, C, *S]` to a map of patch scores `[B, 1, *S']`.
    """
    conv, norm = _CONV[dims], _NORM[dims]
    stack: list[nn.Module] = [conv(in_channels, channels, 4, stride=2, padding=2), nn.LeakyReLU(0.2)]
    width = channels
    for index in range(1, layers + 1):
        stride = 2 if index < layers else 1
        stack += [
            conv(width, 2 * width, 4, stride=stride, padding=2),
            norm(2 * width, affine=False, track_running_stats=False),
            nn.LeakyReLU(0.2),
        ]
        width *= 2
    stack.append(conv(width, 1, 4, stride=1, padding=2))
    for layer in stack:
        if isinstance(layer, conv):
            nn.init.normal_(layer.weight, 0.0, 0.02)
    return nn.Sequential(*stack)


class _MultiscalePatchDiscriminator(nn.Module):
    """`scales` PatchGANs of the same shape; scale `s` sees the input average-pooled `s` times.

    Args:
        dims: Number of spatial dimensions: 2 for images, 3 for videos.
        in_channels: Channels of the input.
        channels: Channels of the first convolution of every scale.
        layers: Normalised convolutions per scale.
        scales: Number of scales.
        downsample: The pooling applied between two scales.
    """

    def __init__(
        self,
        *,
        dims: int,              # 2 (images) or 3 (videos)
        in_channels: int,       # channels C of the input
        channels: int,               # channels of the first conv, >= 1
        layers: int,          # normalised convs per scale, >= 1
        scales: int,        # number of scales, >= 1
        downsample: nn.Module,  # pooling between two scales
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("channels", channels), ("layers", layers), ("scales", scales)):
            if value < 1:
                raise ConfigError(f"{type(self).__name__}: {name} must be >= 1, got {value}")
        self.dims = dims
        self.in_channels = in_channels
        self.scales = nn.ModuleList(
            _patch_discriminator(dims=dims, in_channels=in_channels, channels=channels, layers=layers) for _ in range(scales)
        )
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Score every patch of `x` at every scale.

        Args:
            x: `[B, C, *S]` input with `len(S) == dims`.

        Returns:
            One map of patch scores `[B, 1, *S_s]` per scale, finest scale first.
        """
        if x.ndim != self.dims + 2 or x.shape[1] != self.in_channels:
            layout = "[B, C, T, H, W]" if self.dims == 3 else "[B, C, H, W]"
            raise ShapeError(
                f"{type(self).__name__} expects {layout} input with C={self.in_channels}, got shape {tuple(x.shape)}"
            )
        outputs = []
        for index, scale in enumerate(self.scales):
            if index > 0:
                x = self.downsample(x)
            outputs.append(scale(x))
        return outputs


class VideoDiscriminator(_MultiscalePatchDiscriminator):
    """Multi-scale 3D PatchGAN on clips (D_V), pix2pixHD's discriminator ported to 3D.

    Per scale: `Conv3d(k4, s2) + LReLU`, then `Conv3d + InstanceNorm3d + LReLU` with strides
    2, 2, 1 (for `layers=3`), then `Conv3d(-> 1, s1)`; all padding 2, weights `N(0, 0.02)`.
    Between scales `AvgPool3d(3, stride=(1, 2, 2), padding=1)` halves the frame size and keeps
    the frame count; for clips longer than 16 frames it halves the frame count too (stride 2 in
    time), as the authors' D_V does. Instance norm always uses the statistics of the clip at hand
    (no running statistics), in train and eval mode alike.

    Inputs: in-domain, `6 x (T-1)` clips of `(frame 0 || frame t)`; cross-domain, raw `3 x T` clips.

    With `pack > 1` (PacGAN, Lin et al., 2018; the authors use 1) D_V scores groups of `pack`
    consecutive clips of the batch, stacked on channels, with one map per group: it can then see
    that generated clips move alike where real ones do not, which a score of one clip at a time
    cannot (a mode collapse of the motion).

    Args:
        in_channels: Channels of a clip: 6 in-domain, 3 cross-domain.
        channels: Channels of the first convolution of every scale.
        layers: Normalised convolutions per scale.
        scales: Number of scales.
        pack: Clips scored together.
        n_frames: Frames of the clips it will score; above 16, scales pool in time too.
    """

    def __init__(
        self,
        *,
        in_channels: int,    # 6 in-domain (frame 0 || frame t), 3 cross-domain
        channels: int = 64,  # channels of the first conv; doubled at every normalised conv
        layers: int = 3,     # normalised convs per scale
        scales: int = 2,     # scales; each further one sees frames at half the size
        pack: int = 1,       # clips scored together, >= 1
        n_frames: int = 16,  # frames T of a clip; above 16, each further scale sees T / 2 frames
    ) -> None:
        if pack < 1:
            raise ConfigError(f"VideoDiscriminator: pack must be >= 1, got {pack}")
        super().__init__(
            dims=3,
            in_channels=in_channels * pack,
            channels=channels,
            layers=layers,
            scales=scales,
            downsample=nn.AvgPool3d(3, stride=(2 if n_frames > 16 else 1, 2, 2), padding=1, count_include_pad=False),
        )
        self.clip_channels = in_channels
        self.pack = pack

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Score every patch of every group of `pack` clips at every scale.

        Args:
            x: `[B, C, T, H, W]` clips, `B` a multiple of `pack`.

        Returns:
            One map of patch scores `[B / pack, 1, T_s, H_s, W_s]` per scale, finest scale first.
        """
        if x.ndim != 5 or x.shape[1] != self.clip_channels or len(x) % self.pack:
            raise ShapeError(
                f"VideoDiscriminator expects [B, C, T, H, W] clips with C={self.clip_channels} and B a multiple of "
                f"pack={self.pack}, got shape {tuple(x.shape)}"
            )
        return super().forward(rearrange(x, "(b m) c t h w -> b (m c) t h w", m=self.pack))


class PairImageDiscriminator(_MultiscalePatchDiscriminator):
    """Multi-scale 2D PatchGAN on `(frame 0 || frame t)` pairs (in-domain D_I).

    The same stack as [VideoDiscriminator][latentmotion.discriminators.VideoDiscriminator] in
    2D: `InstanceNorm2d`, and `AvgPool2d(3, stride=2, padding=1)` between scales.

    Args:
        in_channels: Channels of a pair: 6 for two RGB frames.
        channels: Channels of the first convolution of every scale.
        layers: Normalised convolutions per scale.
        scales: Number of scales.
    """

    def __init__(
        self,
        *,
        in_channels: int = 6,  # two RGB frames stacked on channels
        channels: int = 64,         # channels of the first conv; doubled at every normalised conv
        layers: int = 3,     # normalised convs per scale
        scales: int = 2,   # scales; each further one sees the pair at half the size
    ) -> None:
        super().__init__(
            dims=2,
            in_channels=in_channels,
            channels=channels,
            layers=layers,
            scales=scales,
            downsample=nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        )


# Channel multipliers (of `channels`) of the block outputs, and which blocks halve the image.
# The BigGAN discriminator plans: the last block never downsamples.
_RESNET_PLANS: dict[int, tuple[tuple[int, ...], tuple[bool, ...]]] = {
    32: ((4, 4, 4, 4), (True, True, False, False)),
    64: ((1, 2, 4, 8, 16), (True, True, True, True, False)),
    128: ((1, 2, 4, 8, 16, 16), (True, True, True, True, True, False)),
    256: ((1, 2, 4, 8, 8, 16, 16), (True, True, True, True, True, True, False)),
}


def _sn(layer: nn.Conv2d | nn.Linear) -> nn.Module:
    """Initialise `layer`'s weight orthogonally, then put it under spectral normalisation.

    Args:
        layer: A convolution or linear layer.

    Returns:
        The layer with its weight parametrised as `W / sigma(W)`.
    """
    nn.init.orthogonal_(layer.weight)
    return spectral_norm(layer)


class _DBlock(nn.Module):
    """A BigGAN discriminator block: `[ReLU] -> conv3 -> ReLU -> conv3 -> [avgpool 2]`, plus a shortcut.

    The shortcut is `[avgpool 2] -> conv1x1` when the block changes the channels or the size,
    the identity otherwise (pooling and a 1x1 convolution commute, so the order is free).

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output and of the hidden layer.
        preactivation: Apply ReLU to the input first (every block but the first).
        downsample: Halve the image with a 2x2 average pool.
    """

    def __init__(self, *, in_channels: int, out_channels: int, preactivation: bool, downsample: bool) -> None:
        super().__init__()
        self.preactivation = preactivation
        self.downsample = downsample
        self.conv1 = _sn(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = _sn(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        learnable_shortcut = in_channels != out_channels or downsample
        self.shortcut = _sn(nn.Conv2d(in_channels, out_channels, 1)) if learnable_shortcut else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Args:
            x: `[B, C_in, H, W]` features.

        Returns:
            `[B, C_out, H', W']` features, `H' = H / 2` when downsampling.
        """
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
            x = F.avg_pool2d(x, 2)
        return h + self.shortcut(x)


class _ContrastiveNetwork(nn.Module):
    """The SN ResNet with its two heads: a real/fake logit and a projection for the contrastive loss.

    `h = ReLU(proj0(sum_HW ReLU(features)))`, `logit = linear(h)`, `projection = proj2(ReLU(proj1(h)))`.

    Args:
        resolution: Side of the input images: 32, 64, 128 or 256.
        channels: Base channel count; block widths are multiples of it.
        proj_dim: Width of `h` and of the projection.
    """

    def __init__(self, *, resolution: int, channels: int, proj_dim: int) -> None:
        super().__init__()
        multipliers, downsample = _RESNET_PLANS[resolution]
        widths = [3, *(m * channels for m in multipliers)]
        self.blocks = nn.Sequential(
            *(
                _DBlock(in_channels=widths[i], out_channels=widths[i + 1], preactivation=i > 0, downsample=downsample[i])
                for i in range(len(multipliers))
            )
        )
        self.proj0 = _sn(nn.Linear(widths[-1], proj_dim))
        self.linear = _sn(nn.Linear(proj_dim, 1))
        self.proj1 = _sn(nn.Linear(proj_dim, proj_dim))
        self.proj2 = _sn(nn.Linear(proj_dim, proj_dim))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Score and project images.

        Args:
            images: `[B, 3, R, R]` images in `[-1, 1]`.

        Returns:
            Logits `[B]` and projections `[B, proj_dim]`.
        """
        features = F.relu(self.blocks(images)).sum(dim=(2, 3))  # [B, C]
        h = F.relu(self.proj0(features))  # [B, proj_dim]
        logits = self.linear(h).squeeze(1)
        projections = self.proj2(F.relu(self.proj1(h)))
        return logits, projections


class ContrastiveImageDiscriminator(nn.Module):
    """Cross-domain image discriminator: SN ResNet + projection head, EMA copy, and queues of projections.

    The network is BigGAN's discriminator (spectral norm on every conv and linear layer,
    orthogonal init, ResNet blocks with learnable 1x1 shortcuts, average-pool downsampling;
    at 128 px the widths are `ch, 2ch, 4ch, 8ch, 16ch, 16ch`) with a shared projection
    `h = ReLU(proj0(sum_HW ReLU(features)))` feeding both the real/fake logit `linear(h)` and the
    projection head `F = proj2(ReLU(proj1(h)))`.

    An EMA copy of the network (`p_ema = m * p_ema + (1 - m) * p` over parameters, after every
    discriminator step) fills two queues with projections of augmented first frames
    (`queue_real`) and augmented later frames (`queue_fake`); they are the negatives of the
    InfoNCE loss [info_nce_loss][latentmotion.losses.info_nce_loss].

    The EMA copy and the queues are part of the state dict. Train the online network only:
    `torch.optim.Adam(d.online.parameters(), ...)` (the EMA copy's parameters have
    `requires_grad=False` and never receive gradients).

    Attributes:
        online: The trained network.
        ema: Its exponential moving average, used only to fill the queues.
        queue_real: `[queue_size, proj_dim]` buffer, projections of augmented first frames.
        queue_fake: `[queue_size, proj_dim]` buffer, projections of augmented later frames.
        queue_pointer: Scalar long buffer, the next queue row to write.

    Args:
        resolution: Side of the input images: 32, 64, 128 or 256.
        channels: Base channel count of the ResNet (BigGAN's `D_ch`).
        proj_dim: Width of the shared projection and of the projection head.
        queue_size: Number of projections each queue holds.
        momentum: EMA momentum `m`.
    """

    def __init__(
        self,
        *,
        resolution: int = 128,    # side of the input images: 32, 64, 128 or 256
        channels: int = 96,       # base width; blocks are 1x..16x wide
        proj_dim: int = 256,      # width of h and of the projections
        queue_size: int = 4096,   # projections per queue, >= 1
        momentum: float = 0.999,  # EMA momentum m in [0, 1]
    ) -> None:
        super().__init__()
        if resolution not in _RESNET_PLANS:
            raise ConfigError(
                f"ContrastiveImageDiscriminator supports resolutions {sorted(_RESNET_PLANS)}, got {resolution}; "
                "average-pool the frames to one of them"
            )
        if channels < 1 or proj_dim < 1 or queue_size < 1:
            raise ConfigError(
                f"ContrastiveImageDiscriminator needs channels, proj_dim and queue_size >= 1, "
                f"got {channels}, {proj_dim}, {queue_size}"
            )
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"EMA momentum must lie in [0, 1], got {momentum}")
        self.resolution = resolution
        self.momentum = momentum
        self.online = _ContrastiveNetwork(resolution=resolution, channels=channels, proj_dim=proj_dim)
        self.ema = copy.deepcopy(self.online).requires_grad_(False)
        # Random initial negatives; as in the authors' code each feature column has unit norm.
        # Only directions matter to the cosine similarity of the loss.
        self.register_buffer("queue_real", F.normalize(torch.randn(queue_size, proj_dim), dim=0))
        self.register_buffer("queue_fake", F.normalize(torch.randn(queue_size, proj_dim), dim=0))
        self.register_buffer("queue_pointer", torch.zeros((), dtype=torch.long))

    def _check(self, images: torch.Tensor) -> None:
        """Raise ShapeError unless `images` is `[B, 3, R, R]` at this discriminator's resolution.

        Args:
            images: The input to check.
        """
        r = self.resolution
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, r, r):
            raise ShapeError(
                f"ContrastiveImageDiscriminator expects [B, 3, {r}, {r}] images, got shape {tuple(images.shape)}; "
                "average-pool the frames to the discriminator resolution"
            )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Score and project images with the online network.

        Args:
            images: `[B, 3, R, R]` images in `[-1, 1]`, `R = resolution`.

        Returns:
            Real/fake logits `[B]` and projections `[B, proj_dim]`.
        """
        self._check(images)
        return self.online(images)

    @torch.no_grad()
    def ema_projections(self, images: torch.Tensor) -> torch.Tensor:
        """Project images with the EMA network, without gradients: the entries of the queues.

        Args:
            images: `[B, 3, R, R]` images in `[-1, 1]`, `R = resolution`.

        Returns:
            `[B, proj_dim]` projections.
        """
        self._check(images)
        return self.ema(images)[1]

    @torch.no_grad()
    def update_ema(self) -> None:
        """Move the EMA parameters towards the online ones: `p_ema = m * p_ema + (1 - m) * p`."""
        for p_ema, p in zip(self.ema.parameters(), self.online.parameters(), strict=True):
            p_ema.lerp_(p, 1.0 - self.momentum)

    @torch.no_grad()
    def enqueue(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        """Write projections into the queues, oldest entries first, wrapping around at the end.

        Under `torch.distributed` the projections of every process are gathered first, so that
        all processes hold the same queues; a single process needs no process group. Unlike the
        authors' code, which wraps at the largest multiple of the batch and leaves the last rows
        at their initial noise, every row of the queues is written in turn.

        Args:
            real: `[B, proj_dim]` EMA projections of augmented first frames.
            fake: `[B, proj_dim]` EMA projections of augmented later frames.
        """
        if real.shape != fake.shape or real.ndim != 2 or real.shape[1] != self.queue_real.shape[1]:
            raise ShapeError(
                f"enqueue expects real and fake projections of shape [B, {self.queue_real.shape[1]}], "
                f"got {tuple(real.shape)} and {tuple(fake.shape)}"
            )
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            real, fake = _all_gather(real), _all_gather(fake)
        queue_size = self.queue_real.shape[0]
        if real.shape[0] > queue_size:
            raise ShapeError(
                f"cannot enqueue {real.shape[0]} projections into queues of {queue_size}; "
                "use a queue at least as long as the (gathered) batch"
            )
        rows = (self.queue_pointer + torch.arange(real.shape[0], device=self.queue_pointer.device)) % queue_size
        self.queue_real[rows] = real.to(self.queue_real)
        self.queue_fake[rows] = fake.to(self.queue_fake)
        self.queue_pointer.copy_((self.queue_pointer + real.shape[0]) % queue_size)


def _all_gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate `tensor` from every process of the default process group, in rank order.

    Args:
        tensor: `[B, ...]` tensor, the same shape on every process.

    Returns:
        `[world_size * B, ...]` tensor.
    """
    parts = [torch.empty_like(tensor) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)
