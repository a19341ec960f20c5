"""The Inception-v3 network of the FID standard, for FID on frames.

Our own implementation of the network the FID reference code (TensorFlow, 2017) runs, with the
layout and key names of the PyTorch port `pytorch-fid` distributes as
`pt_inception-2015-12-05-6726825d.pth`, so that its state dict loads as it is (`weights_only=True`)
or from safetensors. The FID variant differs from torchvision's Inception-v3 in its pooling: the
average pools of the `Mixed_5*`, `Mixed_6*` and `Mixed_7b` blocks leave padding out of the
average, and `Mixed_7c` pools with a max. Features are the 2,048 activations of the final average
pool (`pool3`), not the 1,008 class logits.

The input is `[N, 3, H, W]` in `[-1, 1]`; [preprocess][latentmotion.metrics.inception.preprocess]
resizes frames to 299 x 299 (bilinear, `align_corners=False`), as `pytorch-fid` does.
`InceptionConfig.width` scales every layer's channels, for fast tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import attrs
import torch
import torch.nn.functional as F
from torch import nn

from latentmotion.errors import CheckpointError, ConfigError
from latentmotion.metrics.weights import LoadedNetwork, read_state_dict

INCEPTION_SIZE = 299
"""Side in pixels of the frames the FID network sees."""

FID_CLASSES = 1008
"""Classes of the FID network's (unused) classifier."""


@attrs.frozen
class InceptionConfig:
    """The shape of an FID Inception network.

    Attributes:
        width: Factor on every layer's channels, a multiple of 1/32 (1 for the real network), so
            that it can be read back off the first convolution's 32 channels.
        num_classes: Classes of the classifier kept for the weights' sake (1,008).
    """

    width: float = 1.0
    num_classes: int = FID_CLASSES

    def __attrs_post_init__(self) -> None:
        if not self.width > 0 or (32 * self.width) % 1:
            raise ConfigError(f"width must be a positive multiple of 1/32, got {self.width}")

    def channels(self, count: int) -> int:
        """A layer's channels at this width.

        Args:
            count: The channels of the full-width network.

        Returns:
            `max(1, round(count * width))`.
        """
        return max(1, round(count * self.width))


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel: Kernel size (h, w).
        stride: Stride.
        padding: Zero padding (h, w).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel: tuple[int, int] = (1, 1),  # (h, w)
        stride: int = 1,
        padding: tuple[int, int] = (0, 0),  # (h, w)
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve, normalise, rectify.

        Args:
            x: `[N, C, H, W]` input.

        Returns:
            `[N, C', H', W']`.
        """
        return F.relu(self.bn(self.conv(x)))


def _average_pool(x: torch.Tensor) -> torch.Tensor:
    """3 x 3 average pool, stride 1, padding left out of the average (the FID network's)."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """Mixed_5b-d: 1x1; 1x1 then 5x5; 1x1 then two 3x3; average pool then 1x1.

    Args:
        in_channels: Input channels.
        pool_features: Channels of the pool branch (full width).
        c: The width's channel function.
    """

    def __init__(self, in_channels: int, pool_features: int, c: Callable[[int], int]) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, c(64))
        self.branch5x5_1 = BasicConv2d(in_channels, c(48))
        self.branch5x5_2 = BasicConv2d(c(48), c(64), kernel=(5, 5), padding=(2, 2))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, c(64))
        self.branch3x3dbl_2 = BasicConv2d(c(64), c(96), kernel=(3, 3), padding=(1, 1))
        self.branch3x3dbl_3 = BasicConv2d(c(96), c(96), kernel=(3, 3), padding=(1, 1))
        self.branch_pool = BasicConv2d(in_channels, c(pool_features))
        self.out_channels = c(64) + c(64) + c(96) + c(pool_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the branches and concatenate them.

        Args:
            x: `[N, C, H, W]`.

        Returns:
            `[N, out_channels, H, W]`.
        """
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_average_pool(x)),
            ],
            dim=1,
        )


class InceptionB(nn.Module):
    """Mixed_6a: strided 3x3; 1x1 then 3x3 then strided 3x3; strided max pool.

    Args:
        in_channels: Input channels.
        c: The width's channel function.
    """

    def __init__(self, in_channels: int, c: Callable[[int], int]) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, c(384), kernel=(3, 3), stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, c(64))
        self.branch3x3dbl_2 = BasicConv2d(c(64), c(96), kernel=(3, 3), padding=(1, 1))
        self.branch3x3dbl_3 = BasicConv2d(c(96), c(96), kernel=(3, 3), stride=2)
        self.out_channels = c(384) + c(96) + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the branches and concatenate them.

        Args:
            x: `[N, C, H, W]`.

        Returns:
            `[N, out_channels, (H - 3) // 2 + 1, (W - 3) // 2 + 1]`.
        """
        return torch.cat(
            [self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))), F.max_pool2d(x, kernel_size=3, stride=2)],
            dim=1,
        )


class InceptionC(nn.Module):
    """Mixed_6b-e: 1x1; factorised 7x7; doubly factorised 7x7; average pool then 1x1.

    Args:
        in_channels: Input channels.
        channels_7x7: Channels inside the 7x7 branches (full width).
        c: The width's channel function.
    """

    def __init__(self, in_channels: int, channels_7x7: int, c: Callable[[int], int]) -> None:
        super().__init__()
        c7 = c(channels_7x7)
        self.branch1x1 = BasicConv2d(in_channels, c(192))
        self.branch7x7_1 = BasicConv2d(in_channels, c7)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, c(192), kernel=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, c(192), kernel=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, c(192))
        self.out_channels = 4 * c(192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the branches and concatenate them.

        Args:
            x: `[N, C, H, W]`.

        Returns:
            `[N, out_channels, H, W]`.
        """
        seven = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), seven, double, self.branch_pool(_average_pool(x))], dim=1)


class InceptionD(nn.Module):
    """Mixed_7a: 1x1 then strided 3x3; 1x1, factorised 7x7, strided 3x3; strided max pool.

    Args:
        in_channels: Input channels.
        c: The width's channel function.
    """

    def __init__(self, in_channels: int, c: Callable[[int], int]) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, c(192))
        self.branch3x3_2 = BasicConv2d(c(192), c(320), kernel=(3, 3), stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, c(192))
        self.branch7x7x3_2 = BasicConv2d(c(192), c(192), kernel=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(c(192), c(192), kernel=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(c(192), c(192), kernel=(3, 3), stride=2)
        self.out_channels = c(320) + c(192) + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the branches and concatenate them.

        Args:
            x: `[N, C, H, W]`.

        Returns:
            `[N, out_channels, (H - 3) // 2 + 1, (W - 3) // 2 + 1]`.
        """
        three = self.branch3x3_2(self.branch3x3_1(x))
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([three, seven, F.max_pool2d(x, kernel_size=3, stride=2)], dim=1)


class InceptionE(nn.Module):
    """Mixed_7b-c: 1x1; 1x1 then split 1x3 / 3x1; 1x1, 3x3, split; pool then 1x1.

    Args:
        in_channels: Input channels.
        c: The width's channel function.
        max_pool: Pool the last branch with a max (Mixed_7c of the FID network) instead of an average.
    """

    def __init__(self, in_channels: int, c: Callable[[int], int], *, max_pool: bool = False) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(in_channels, c(320))
        self.branch3x3_1 = BasicConv2d(in_channels, c(384))
        self.branch3x3_2a = BasicConv2d(c(384), c(384), kernel=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(c(384), c(384), kernel=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, c(448))
        self.branch3x3dbl_2 = BasicConv2d(c(448), c(384), kernel=(3, 3), padding=(1, 1))
        self.branch3x3dbl_3a = BasicConv2d(c(384), c(384), kernel=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(c(384), c(384), kernel=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, c(192))
        self.out_channels = c(320) + 4 * c(384) + c(192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the branches and concatenate them.

        Args:
            x: `[N, C, H, W]`.

        Returns:
            `[N, out_channels, H, W]`.
        """
        three = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _average_pool(x)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(three),
                self.branch3x3_2b(three),
                self.branch3x3dbl_3a(double),
                self.branch3x3dbl_3b(double),
                self.branch_pool(pooled),
            ],
            dim=1,
        )


class FIDInception(nn.Module):
    """The FID Inception-v3; `forward` returns the 2,048 pool3 features.

    Args:
        config: Width and classes.
    """

    def __init__(self, config: InceptionConfig = InceptionConfig()) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.Conv2d_1a_3x3 = BasicConv2d(3, c(32), kernel=(3, 3), stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(c(32), c(32), kernel=(3, 3))
        self.Conv2d_2b_3x3 = BasicConv2d(c(32), c(64), kernel=(3, 3), padding=(1, 1))
        self.Conv2d_3b_1x1 = BasicConv2d(c(64), c(80))
        self.Conv2d_4a_3x3 = BasicConv2d(c(80), c(192), kernel=(3, 3))
        self.Mixed_5b = InceptionA(c(192), 32, c)
        self.Mixed_5c = InceptionA(self.Mixed_5b.out_channels, 64, c)
        self.Mixed_5d = InceptionA(self.Mixed_5c.out_channels, 64, c)
        self.Mixed_6a = InceptionB(self.Mixed_5d.out_channels, c)
        self.Mixed_6b = InceptionC(self.Mixed_6a.out_channels, 128, c)
        self.Mixed_6c = InceptionC(self.Mixed_6b.out_channels, 160, c)
        self.Mixed_6d = InceptionC(self.Mixed_6c.out_channels, 160, c)
        self.Mixed_6e = InceptionC(self.Mixed_6d.out_channels, 192, c)
        self.Mixed_7a = InceptionD(self.Mixed_6e.out_channels, c)
        self.Mixed_7b = InceptionE(self.Mixed_7a.out_channels, c)
        self.Mixed_7c = InceptionE(self.Mixed_7b.out_channels, c, max_pool=True)
        self.fc = nn.Linear(self.Mixed_7c.out_channels, config.num_classes)  # kept for the weights; features stop before it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The pool3 features of frames.

        Args:
            x: `[N, 3, H, W]` frames in `[-1, 1]`, at 299 x 299 for the real network (see
                [preprocess][latentmotion.metrics.inception.preprocess]).

        Returns:
            `[N, 2048 * width]` features.
        """
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean(dim=(2, 3))


def preprocess(frames: torch.Tensor, *, size: int = INCEPTION_SIZE) -> torch.Tensor:
    """Frames as the FID network takes them: 8-bit pixels, resized (bilinear), scaled to `[-1, 1]`.

    Args:
        frames: `[N, 3, H, W]` uint8 pixels, or floats in `[-1, 1]` (made 8-bit first as
            StyleGAN-V makes generated frames: `x * 127.5 + 128`, clamped, truncated).
        size: Side of the network's frames.

    Returns:
        `[N, 3, size, size]` float32 in `[-1, 1]`.
    """
    pixels = frames.float() if frames.dtype == torch.uint8 else (frames.float() * 127.5 + 128).clamp(0, 255).floor()
    if pixels.shape[-2:] != (size, size):
        pixels = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
    return pixels * (2 / 255) - 1


INCEPTION_WEIGHT_NAMES = ("inception.safetensors", "pt_inception-2015-12-05-6726825d.pth")
"""File names looked for in a folder or Hub repo given as the FID network, in this order."""


def load_inception(source: str | os.PathLike[str], *, filename: str | None = None, revision: str | None = None) -> LoadedNetwork[FIDInception]:
    """Load FID Inception weights (pytorch-fid's state dict, or safetensors) without running code.

    Args:
        source: A weights file, a folder holding one of `INCEPTION_WEIGHT_NAMES`, or a Hub repo id.
        filename: The file inside a folder or Hub repo.
        revision: Branch, tag or commit of a Hub repo.

    Returns:
        The network in eval mode, with the file's name and sha256.

    Raises:
        CheckpointError: The file is missing, truncated, corrupt, refused, or of another architecture.
    """
    from latentmotion.hub import fetch

    local = Path(source).expanduser()
    if filename is None and local.is_dir():
        filename = next((name for name in INCEPTION_WEIGHT_NAMES if (local / name).is_file()), INCEPTION_WEIGHT_NAMES[0])
    elif filename is None and not local.exists():
        filename = INCEPTION_WEIGHT_NAMES[0]
    path = fetch(source, filenames=[filename] if filename else [], revision=revision, what="FID Inception weights")[0]
    what = f"FID Inception weights {str(path)!r}"
    state = {key: value for key, value in read_state_dict(path, what=what).items() if not key.endswith("num_batches_tracked") and not key.startswith("AuxLogits.")}
    first, fc = state.get("Conv2d_1a_3x3.conv.weight"), state.get("fc.weight")
    if first is None or fc is None or first.ndim != 4 or fc.ndim != 2:
        raise CheckpointError(f"{what} are not FID Inception weights: they lack Conv2d_1a_3x3.conv.weight or fc.weight")
    try:
        network = FIDInception(InceptionConfig(width=first.shape[0] / 32, num_classes=fc.shape[0]))
    except ConfigError as error:
        raise CheckpointError(f"{what} are not FID Inception weights ({error})") from None
    expected = {key: value.shape for key, value in network.state_dict().items() if not key.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [key for key in expected if key in state and state[key].shape != expected[key]]
    if missing or unexpected or wrong:
        example = (missing or unexpected or wrong)[0]
        raise CheckpointError(
            f"{what} are not weights of the FID Inception architecture: {len(missing)} tensors missing, {len(unexpected)} unexpected, "
            f"{len(wrong)} of another shape (e.g. {example})"
        )
    network.load_state_dict({key: value.float() for key, value in state.items()}, strict=False)
    return LoadedNetwork.from_file(network.eval().requires_grad_(False), path)
