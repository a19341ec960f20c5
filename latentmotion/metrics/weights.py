"""The metrics' networks' weight files: read without running code, identified by their sha256.

I3D (FVD), Inception (FID) and VGG16 + LPIPS read their files with
[read_state_dict][latentmotion.metrics.weights.read_state_dict] and come back as a
[LoadedNetwork][latentmotion.metrics.weights.LoadedNetwork]: the network with the file it was
loaded from, which every figure's [protocol][latentmotion.metrics.protocol] records.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path
from typing import Generic, TypeVar

import attrs
import torch
from torch import nn

from latentmotion.errors import CheckpointError

NetworkT = TypeVar("NetworkT", bound=nn.Module)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, read in chunks.

    Args:
        path: The file.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@attrs.frozen
class LoadedNetwork(Generic[NetworkT]):
    """A network with the weights file it was loaded from.

    Attributes:
        network: The network, in eval mode.
        name: The weights file's name, the network's short name in reports.
        sha256: The sha256 of the weights file.
        path: The local weights file.
    """

    network: NetworkT
    name: str
    sha256: str
    path: Path

    @classmethod
    def from_file(cls, network: NetworkT, path: Path) -> LoadedNetwork[NetworkT]:
        """The network, named and hashed after the file its weights were read from.

        Args:
            network: The network holding the file's weights.
            path: The weights file.

        Returns:
            The loaded network.
        """
        return cls(network=network, name=path.name, sha256=sha256_file(path), path=path)


def read_state_dict(path: Path, *, what: str) -> dict[str, torch.Tensor]:
    """Read a safetensors file or a torch state dict (`weights_only=True`) into tensors.

    Args:
        path: The file.
        what: What the file holds, for messages (e.g. `"I3D weights 'i3d.pt'"`).

    Returns:
        The tensors by name.

    Raises:
        CheckpointError: The file is corrupt, truncated, refused (a TorchScript program, or pickled
            objects) or not a dict of tensors.
    """
    from latentmotion.safe_load import load_weights_only

    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{what} is corrupt or truncated ({type(error).__name__}: {error})") from None
    if _is_torchscript(path):
        raise CheckpointError(
            f"{what} is a TorchScript program, which evaluation never loads (loading it runs its code): "
            "pass the network's weights as safetensors or a torch state dict (StyleGAN-V's I3D: convert it once with `latentmotion convert i3d`)"
        )
    state = load_weights_only(path, what=what)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise CheckpointError(f"{what} is not a state dict (a dict of tensors by name)")
    return state


def _is_torchscript(path: Path) -> bool:
    """Whether a file is a TorchScript archive: a zip holding serialized code (`code/`) or `constants.pkl`."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name or name.endswith("/constants.pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
