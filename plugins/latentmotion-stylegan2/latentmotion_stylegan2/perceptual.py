"""An LPIPS-style perceptual distance on VGG16 features, with weights from a safetensors file or the Hub.

The distance follows LPIPS (Zhang et al., 2018): images in `[-1, 1]` are shifted and scaled per
channel, passed through VGG16's convolutional layers, and at the five taps `relu1_2 ... relu5_3`
the features are normalised to unit length over channels; the squared differences are weighted
per channel (LPIPS' learned linear heads, or 1 without them), averaged over space and summed
over taps. StyleGAN2-ADA's projector uses this distance (through NVIDIA's TorchScript VGG16).

The weights file holds torchvision's VGG16 names (`features.{i}.weight`, `features.{i}.bias`) and
optionally the LPIPS heads (`lin{k}.weight`, `k = 0..4`). Build one from torchvision's
`vgg16-397923af.pth` and the `lpips` package's `weights/v0.1/vgg.pth` with
[convert_vgg16_lpips][latentmotion_stylegan2.perceptual.convert_vgg16_lpips].
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from latentmotion.atomic import atomic_path
from latentmotion.errors import CheckpointError
from latentmotion.safe_load import load_weights_only

VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
TAPS = (3, 8, 15, 22, 29)  # indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in torchvision's `features`
TAP_CHANNELS = (64, 128, 256, 512, 512)
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
MAX_RESOLUTION = 256  # larger images are area-downsampled first, as StyleGAN2-ADA's projector does


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
    """LPIPS-style perceptual loss on VGG16 features: `loss(images, targets) -> [N]`.

    Build it with random weights (for tests) or load real ones with
    [from_file][latentmotion_stylegan2.perceptual.VGGPerceptualLoss.from_file] /
    [from_hub][latentmotion_stylegan2.perceptual.VGGPerceptualLoss.from_hub].
    """

    def __init__(self) -> None:
        super().__init__()
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
        if images.shape[-1] > MAX_RESOLUTION:
            images = F.interpolate(images, size=(MAX_RESOLUTION, MAX_RESOLUTION), mode="area")
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
    def from_file(cls, path: str | Path) -> VGGPerceptualLoss:
        """Load the weights from a safetensors file (torchvision VGG16 names, optional `lin{k}` heads).

        Args:
            path: The `.safetensors` file.

        Returns:
            The loss, frozen, on CPU.
        """
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as error:
            raise CheckpointError(f"{path} is not a readable safetensors file of VGG16 weights: {error}") from None
        loss = cls()
        expected = {key for key in loss.state_dict() if key.startswith("features.")}
        missing = sorted(expected - set(state))
        unexpected = sorted(set(state) - expected - {f"lin{k}" for k in range(len(TAPS))})
        if missing or unexpected:
            raise CheckpointError(f"{path} does not hold VGG16 features: missing keys {missing}, unexpected keys {unexpected}")
        state = {key: value.reshape(-1) if key.startswith("lin") else value for key, value in state.items()}
        try:
            loss.load_state_dict(state, strict=False)
        except RuntimeError as error:
            raise CheckpointError(f"{path}: VGG16 weights of the wrong shape: {error}") from None
        return loss

    @classmethod
    def from_hub(cls, repo_id: str, filename: str, *, revision: str | None = None) -> VGGPerceptualLoss:
        """Download the weights file from a Hub repo (through the Hub cache) and load it.

        Args:
            repo_id: Hub repo id `"org/name"`.
            filename: The safetensors file in the repo.
            revision: Branch, tag or commit (default: `main`).

        Returns:
            The loss, frozen, on CPU.
        """
        from latentmotion.hub import fetch

        (weights,) = fetch(repo_id, filenames=(filename,), revision=revision, what="VGG16 + LPIPS weights")
        return cls.from_file(weights)


def convert_vgg16_lpips(vgg16_path: str | Path, destination: str | Path, *, lpips_path: str | Path | None = None) -> Path:
    """Write the perceptual loss's weights file from torchvision's and LPIPS' released weights.

    Both inputs are read with `torch.load(weights_only=True)`.

    Args:
        vgg16_path: torchvision's VGG16 state dict (`vgg16-397923af.pth`).
        destination: The `.safetensors` file to write (atomically).
        lpips_path: The `lpips` package's `weights/v0.1/vgg.pth` (linear heads); None = unit weights.

    Returns:
        The written path.
    """
    from safetensors.torch import save_file

    vgg = load_weights_only(vgg16_path, what=f"VGG16 weights {vgg16_path}")
    tensors = {key: value.contiguous() for key, value in vgg.items() if key.startswith("features.")}
    if lpips_path is not None:
        heads = load_weights_only(lpips_path, what=f"LPIPS weights {lpips_path}")
        for k in range(len(TAPS)):
            tensors[f"lin{k}"] = heads[f"lin{k}.model.1.weight"].reshape(-1).contiguous()
    destination = Path(destination)
    with atomic_path(destination) as temp:
        save_file(tensors, str(temp))
    VGGPerceptualLoss.from_file(destination)  # fails loudly on a wrong input file
    return destination
