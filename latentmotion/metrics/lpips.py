"""LPIPS with the VGG16 network (Zhang et al., 2018): our torchvision-free port, weights from a safetensors file or the Hub.

The distance is that of the `lpips` package's `'vgg'` net: images in `[-1, 1]` are shifted and
scaled per channel, passed through VGG16's convolutional layers, and at the five taps
`relu1_2 ... relu5_3` the features are normalised to unit length over channels; the squared
differences are weighted per channel (LPIPS' learned linear heads, or 1 without them), averaged
over space and summed over taps. The single-image prediction reports it per frame
([latentmotion.metrics.prediction][]); StyleGAN2-ADA's projector uses it as its image distance,
with images larger than 256 pixels area-downsampled first (`max_resolution=256`).

The weights file holds torchvision's VGG16 names (`features.{i}.weight`, `features.{i}.bias`) and
optionally the LPIPS heads (`lin{k}`, `k = 0..4`). Build one from torchvision's
`vgg16-397923af.pth` and the `lpips` package's `weights/v0.1/vgg.pth` with
[convert_vgg16_lpips][latentmotion.metrics.lpips.convert_vgg16_lpips]; it is then read as
safetensors only.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from latentmotion.atomic import atomic_path
from latentmotion.errors import CheckpointError, ConfigError
from latentmotion.metrics.weights import LoadedNetwork
from latentmotion.safe_load import load_weights_only

VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
TAPS = (3, 8, 15, 22, 29)  # indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in torchvision's `features`
TAP_CHANNELS = (64, 128, 256, 512, 512)
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
MIN_SIZE = 16
"""Smallest image side the network takes: four max-pools leave `relu5_3` one pixel."""

LPIPS_WEIGHT_NAMES = ("vgg16-lpips.safetensors",)
"""File names looked for in a folder or Hub repo given as the LPIPS weights."""


def lpips_distance(features_a: list[torch.Tensor], features_b: list[torch.Tensor], weights: list[torch.Tensor] | None = None) -> torch.Tensor:
    """LPIPS' distance between two lists of feature maps.

    Args:
        features_a: Per tap, `[N, C_k, H_k, W_k]` features.
        features_b: Same shapes as `features_a`.
        weights: Per tap, `[C_k]` non-negative channel weights; None = all ones.

    Returns:
        `[N]` distances: sum over taps of the spatial mean of the weighted squared differences of
        the channel-normalised features.
    """
    total = 0
    for k, (a, b) in enumerate(zip(features_a, features_b)):
        a = a / (a.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)
        b = b / (b.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)
        diff = (a - b).square()
        if weights is not None:
            diff = diff * weights[k].reshape(1, -1, 1, 1)
        total = total + diff.sum(dim=1).mean(dim=(1, 2))
    return total


class VGGPerceptualLoss(nn.Module):
    """LPIPS on VGG16 features: `loss(images, targets) -> [N]`.

    Build it with random weights (for tests) or load real ones with
    [from_file][latentmotion.metrics.lpips.VGGPerceptualLoss.from_file] /
    [from_hub][latentmotion.metrics.lpips.VGGPerceptualLoss.from_hub].

    Args:
        max_resolution: Square images wider than this (at least 16) are area-downsampled to it
            before VGG16, as StyleGAN2-ADA's projector does with 256; None compares them at their
            own size, as LPIPS does.

    Raises:
        ConfigError: `max_resolution` is below 16.
    """

    def __init__(self, *, max_resolution: int | None = None) -> None:
        super().__init__()
        if max_resolution is not None and (isinstance(max_resolution, bool) or not isinstance(max_resolution, int) or max_resolution < MIN_SIZE):
            raise ConfigError(f"max_resolution must be an integer >= {MIN_SIZE} (VGG16 pools four times) or None for no resize, got {max_resolution!r}")
        self.max_resolution = max_resolution
        layers: list[nn.Module] = []
        channels = 3
        for item in VGG16_CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=True)]
                channels = item
        self.features = nn.Sequential(*layers)
        for k, width in enumerate(TAP_CHANNELS):
            self.register_buffer(f"lin{k}", torch.ones(width))
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).reshape(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).reshape(1, 3, 1, 1))
        self.requires_grad_(False).eval()

    def taps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """VGG16 features at the five LPIPS taps.

        Args:
            images: `[N, 3, H, W]` in `[-1, 1]` (H, W >= 16).

        Returns:
            Five `[N, C_k, H_k, W_k]` feature maps.
        """
        if self.max_resolution is not None and images.shape[-1] > self.max_resolution:
            images = F.interpolate(images, size=(self.max_resolution, self.max_resolution), mode="area")
        x = (images - self.shift) / self.scale
        out = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in TAPS:
                out.append(x)  # every tap is followed by a max-pool, so no in-place ReLU alters it
        return out

    def forward(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Perceptual distance per image.

        Args:
            images: `[N, 3, H, W]` in `[-1, 1]` (differentiable).
            targets: `[N, 3, H, W]` in `[-1, 1]`.

        Returns:
            `[N]` distances.
        """
        with torch.no_grad():
            target_taps = self.taps(targets)
        weights = [getattr(self, f"lin{k}") for k in range(len(TAPS))]
        return lpips_distance(self.taps(images), target_taps, weights)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, max_resolution: int | None = None) -> VGGPerceptualLoss:
        """Load the weights from a safetensors file (torchvision VGG16 names, optional `lin{k}` heads).

        Args:
            path: The `.safetensors` file.
            max_resolution: Side larger images are area-downsampled to first; None = no resize.

        Returns:
            The loss, frozen, on CPU.

        Raises:
            CheckpointError: The file is not safetensors, is truncated, or holds other tensors
                than VGG16's (and the heads).
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        what = f"VGG16 + LPIPS weights {str(path)!r}"
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{what} are not a readable safetensors file ({type(error).__name__}: {error}); build one with convert_vgg16_lpips") from None
        loss = cls(max_resolution=max_resolution)
        expected = {key for key in loss.state_dict() if key.startswith("features.")}
        missing = sorted(expected - set(state))
        unexpected = sorted(set(state) - expected - {f"lin{k}" for k in range(len(TAPS))})
        if missing or unexpected:
            raise CheckpointError(
                f"{what} are not VGG16 weights: missing keys {missing[:3]}{' ...' if len(missing) > 3 else ''} ({len(missing)}), "
                f"unexpected keys {unexpected[:3]}{' ...' if len(unexpected) > 3 else ''} ({len(unexpected)}); build the file with convert_vgg16_lpips"
            )
        state = {key: value.float().reshape(-1) if key.startswith("lin") else value.float() for key, value in state.items()}
        try:
            loss.load_state_dict(state, strict=False)
        except RuntimeError as error:
            first = str(error).strip().splitlines()[-1].strip()
            raise CheckpointError(f"{what} hold tensors of the wrong shape for VGG16: {first}") from None
        return loss

    @classmethod
    def from_hub(cls, repo_id: str, filename: str, *, revision: str | None = None, max_resolution: int | None = None) -> VGGPerceptualLoss:
        """Download the weights file from a Hub repo (through the Hub cache) and load it.

        Args:
            repo_id: Hub repo id `"org/name"`.
            filename: The safetensors file in the repo.
            revision: Branch, tag or commit (default: `main`).
            max_resolution: Side larger images are area-downsampled to first; None = no resize.

        Returns:
            The loss, frozen, on CPU.
        """
        from latentmotion.hub import fetch

        (weights,) = fetch(repo_id, filenames=(filename,), revision=revision, what="VGG16 + LPIPS weights")
        return cls.from_file(weights, max_resolution=max_resolution)


def load_lpips(source: str | os.PathLike[str], *, filename: str | None = None, revision: str | None = None) -> LoadedNetwork[VGGPerceptualLoss]:
    """Load VGG16 + LPIPS weights (safetensors only) from a local file or folder, or a Hub repo.

    The network compares images at their own size (`max_resolution=None`), as LPIPS does.

    Args:
        source: A weights file, a folder holding one of `LPIPS_WEIGHT_NAMES`, or a Hub repo id `"org/name"`.
        filename: The file inside a folder or Hub repo (default: `vgg16-lpips.safetensors`).
        revision: Branch, tag or commit of a Hub repo.

    Returns:
        The network with the file's name and sha256.

    Raises:
        CheckpointError: The file is missing, not safetensors, truncated, or of another architecture.
        HubError: A Hub repo or file cannot be fetched.
    """
    from latentmotion.hub import fetch

    local = Path(source).expanduser()
    if filename is None and (local.is_dir() or not local.exists()):
        filename = LPIPS_WEIGHT_NAMES[0]
    path = fetch(source, filenames=[filename] if filename else [], revision=revision, what="VGG16 + LPIPS weights")[0]
    return LoadedNetwork.from_file(VGGPerceptualLoss.from_file(path), path)


def convert_vgg16_lpips(vgg16_path: str | os.PathLike[str], destination: str | os.PathLike[str], *, lpips_path: str | os.PathLike[str] | None = None) -> Path:
    """Write the LPIPS weights file from torchvision's and LPIPS' released weights.

    Both inputs are read with `torch.load(weights_only=True)`.

    Args:
        vgg16_path: torchvision's VGG16 state dict (`vgg16-397923af.pth`).
        destination: The `.safetensors` file to write (atomically).
        lpips_path: The `lpips` package's `weights/v0.1/vgg.pth` (linear heads); None = unit weights.

    Returns:
        The written path.

    Raises:
        CheckpointError: An input is unreadable or refused, or lacks VGG16's or the heads' tensors.
    """
    from safetensors.torch import save_file

    vgg = load_weights_only(vgg16_path, what=f"VGG16 weights {vgg16_path}")
    tensors = {key: value.contiguous() for key, value in vgg.items() if key.startswith("features.")}
    if lpips_path is not None:
        heads = load_weights_only(lpips_path, what=f"LPIPS weights {lpips_path}")
        names = [f"lin{k}.model.1.weight" for k in range(len(TAPS))]
        absent = [name for name in names if name not in heads]
        if absent:
            raise CheckpointError(f"LPIPS weights {str(lpips_path)!r} lack {', '.join(absent)}: pass the lpips package's weights/v0.1/vgg.pth")
        for k, name in enumerate(names):
            tensors[f"lin{k}"] = heads[name].reshape(-1).contiguous()
    destination = Path(destination)
    with atomic_path(destination) as temp:
        save_file(tensors, str(temp))
    VGGPerceptualLoss.from_file(destination)  # fails loudly on a wrong input file
    return destination
