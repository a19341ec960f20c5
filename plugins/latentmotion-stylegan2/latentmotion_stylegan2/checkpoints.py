"""Read and convert StyleGAN2 checkpoints: NVlabs `.pkl`, rosinality `.pt`, and our safetensors.

The format is recognised from the file's first bytes, not its name. Every reader is safe: NVlabs
pickles go through an allowlist unpickler, torch files through `torch.load(weights_only=True)`,
and [convert][latentmotion_stylegan2.checkpoints.convert] writes a safetensors file (weights with
NVlabs names, architecture as JSON in its metadata) that loads without any pickle at all.
"""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import torch

from latentmotion.atomic import atomic_path
from latentmotion.errors import CheckpointError
from latentmotion_stylegan2.networks import Generator, GeneratorConfig
from latentmotion_stylegan2.nvlabs_pickle import load_nvlabs_pickle
from latentmotion_stylegan2.rosinality import load_rosinality

SAFETENSORS_FORMAT = "latentmotion-stylegan2"
W_AVG_SAMPLES = 10_000
_LEGACY_TORCH_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)  # first record of pre-1.6 torch.save files


def checkpoint_format(path: str | Path) -> str:
    """Recognise a checkpoint file from its first bytes.

    Args:
        path: The file.

    Returns:
        `"safetensors"`, `"torch"` (a `torch.save` file: rosinality) or `"pickle"` (NVlabs).
    """
    with Path(path).open("rb") as file:
        head = file.read(16)
    if len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] > 0:
        return "safetensors"
    if head.startswith((b"PK\x03\x04", _LEGACY_TORCH_MAGIC)):
        return "torch"
    if head.startswith(b"\x80"):
        return "pickle"
    raise CheckpointError(f"{path} is not a StyleGAN2 checkpoint: neither an NVlabs .pkl, a torch .pt nor a safetensors file")


def load_generator(path: str | Path) -> Generator:
    """Build a [Generator][latentmotion_stylegan2.networks.Generator] from any supported checkpoint file, safely.

    A rosinality checkpoint without `latent_avg` gets `w_avg` estimated as the mean of
    10,000 mapped samples (seed 0), as rosinality's own scripts do before truncating.

    Args:
        path: An NVlabs `.pkl`, a rosinality `.pt` or a safetensors file written by
            [convert][latentmotion_stylegan2.checkpoints.convert].

    Returns:
        The generator in eval mode, weights frozen.
    """
    path = Path(path)
    kind = checkpoint_format(path)
    w_avg = None
    if kind == "safetensors":
        config, state = _read_safetensors(path)
    elif kind == "torch":
        config, state, w_avg = load_rosinality(path)
    else:
        config, state = load_nvlabs_pickle(path)
    network = Generator(config)
    try:
        missing, unexpected = network.load_state_dict(state, strict=False)
    except RuntimeError as error:  # a tensor of the wrong shape
        raise CheckpointError(f"{path} does not match the StyleGAN2 architecture it declares: {' '.join(str(error).split())}") from None
    if kind == "torch":
        missing = [key for key in missing if key != "mapping.w_avg"]
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match the StyleGAN2 architecture it declares: missing keys {sorted(missing)}, unexpected keys {sorted(unexpected)}"
        )
    network.eval().requires_grad_(False)
    if kind == "torch":
        network.mapping.w_avg.copy_(w_avg if w_avg is not None else estimate_w_avg(network))
    return network


def estimate_w_avg(network: Generator, *, samples: int = W_AVG_SAMPLES, seed: int = 0) -> torch.Tensor:
    """The mean of `mapping(z)` over seeded prior samples (unconditional generators).

    Args:
        network: The generator.
        samples: Number of prior samples.
        seed: Seed of the samples.

    Returns:
        `[w_dim]` average latent.
    """
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, network.config.z_dim, generator=rng).to(network.mapping.w_avg.device)
    with torch.no_grad():
        return network.mapping(z).mean(0)


def save_generator(network: Generator, destination: str | Path, *, source: str | None = None) -> Path:
    """Write a generator as a safetensors file: NVlabs-named weights, architecture JSON in the metadata.

    The write is atomic (temporary file, then rename).

    Args:
        network: The generator.
        destination: The `.safetensors` file to write.
        source: Where the weights came from, recorded in the metadata.

    Returns:
        The written path.
    """
    from safetensors.torch import save_file

    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tensors = {key: tensor.detach().cpu().contiguous() for key, tensor in network.state_dict().items()}
    metadata = {"format": SAFETENSORS_FORMAT, "config": json.dumps(network.config.to_dict(), sort_keys=True)}
    if source is not None:
        metadata["source"] = source
    with atomic_path(destination) as temp:
        save_file(tensors, str(temp), metadata=metadata)
    return destination


def convert(source: str | Path, destination: str | Path) -> Path:
    """Convert an NVlabs `.pkl` or rosinality `.pt` checkpoint into a pickle-free safetensors file.

    Args:
        source: The checkpoint to convert (read safely).
        destination: The `.safetensors` file to write (atomically).

    Returns:
        The written path; `get_backend("stylegan2", source=...)` loads it.
    """
    source = Path(source)
    return save_generator(load_generator(source), destination, source=source.name)


def _read_safetensors(path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """Read a file written by `save_generator`: the config from the metadata, the tensors by name."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
        state = load_file(str(path))
    except Exception as error:
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or corrupt?): {error}") from None
    if metadata.get("format") != SAFETENSORS_FORMAT or "config" not in metadata:
        raise CheckpointError(f"{path} is a safetensors file but not a StyleGAN2 generator written by latentmotion_stylegan2.convert")
    try:
        config = GeneratorConfig.from_dict(json.loads(metadata["config"]))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path} has an invalid generator config in its metadata: {error}") from None
    return config, state
