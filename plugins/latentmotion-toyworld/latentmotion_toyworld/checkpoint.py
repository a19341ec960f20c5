"""The weight files of the toy image generator: safetensors weights beside a JSON description.

`toy-shapes.safetensors` holds the generator's tensors (float16 by default: the generator renders
the same images to within a fraction of an 8-bit step); `toy-shapes.json` beside it holds the
architecture ([ImageGANConfig][latentmotion_toyworld.image_gan.ImageGANConfig]) and how the
weights were made (world, training settings, cost). Both are written atomically; reading checks
every key and shape strictly and turns any problem into a
[CheckpointError][latentmotion.errors.CheckpointError] that names the file and the command that
rebuilds it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import safetensors
import torch
from safetensors.torch import load_file, save_file

from latentmotion.atomic import atomic_path
from latentmotion.errors import CheckpointError, ConfigError
from latentmotion_toyworld.config import VARIANTS
from latentmotion_toyworld.image_gan import ImageGANConfig, ImageGenerator

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Folder of the bundled weight files inside the package."""


def bundled_weights(variant: str) -> Path:
    """Path of the bundled generator weights of one world variant.

    Args:
        variant: World variant, e.g. `"shapes"` or `"glow"`.

    Returns:
        `latentmotion_toyworld/weights/toy-<variant>.safetensors`.
    """
    return WEIGHTS_DIR / f"toy-{variant}.safetensors"


def rebuild_command(variant: str | None, path: str | os.PathLike[str] | None = None) -> str:
    """The shell command that trains a toy generator and writes it to `path`.

    Args:
        variant: World variant, or None when unknown (the command then lists the choices).
        path: Weight file to write; None for the bundled location.

    Returns:
        A command line.
    """
    chosen = variant or "{" + ",".join(VARIANTS) + "}"
    command = f"python -m latentmotion_toyworld.train_image_gan --variant {chosen}"
    return command if path is None else f"{command} --out {path}"


def description_path(path: str | os.PathLike[str]) -> Path:
    """The JSON description beside a weight file.

    Args:
        path: A `.safetensors` weight file.

    Returns:
        The same path with suffix `.json`.
    """
    return Path(path).with_suffix(".json")


def save_generator(
    path: str | os.PathLike[str],
    generator: ImageGenerator,
    *,
    metadata: dict[str, Any],
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write a generator's weights and its JSON description.

    Args:
        path: Target `.safetensors` file; its folder is created if needed.
        generator: The generator to save.
        metadata: JSON-serialisable facts about how the weights were made (stored under `"training"`).
        dtype: Floating-point type of the stored weights.

    Returns:
        The weight file written.

    Raises:
        ConfigError: `path` does not end in `.safetensors`.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ConfigError(f"generator weights are written as .safetensors; got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().to("cpu", dtype).contiguous() for name, tensor in generator.state_dict().items()}
    description = {"architecture": attrs.asdict(generator.config), "dtype": str(dtype).removeprefix("torch."), "training": metadata}
    with atomic_path(path) as temp:
        save_file(tensors, str(temp))
    with atomic_path(description_path(path)) as temp:
        temp.write_text(json.dumps(description, indent=2))
    return path


def load_generator(path: str | os.PathLike[str], *, rebuild: str) -> tuple[ImageGenerator, dict[str, Any]]:
    """Read a generator written by [save_generator][latentmotion_toyworld.checkpoint.save_generator].

    Args:
        path: The `.safetensors` weight file (its `.json` description must lie beside it).
        rebuild: Command that rebuilds the file, quoted in error messages.

    Returns:
        The float32 generator in eval mode, and the JSON description.

    Raises:
        CheckpointError: A file is missing, unreadable, or does not match the architecture.
    """
    path = Path(path)
    described = description_path(path)
    for required in (path, described):
        if not required.is_file():
            raise CheckpointError(f"toy generator file {str(required)!r} is missing; rebuild it with: {rebuild}")
    try:
        description = json.loads(described.read_text())
        config = ImageGANConfig(**description["architecture"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"toy generator description {str(described)!r} is corrupt ({error}); rebuild it with: {rebuild}") from error
    try:
        tensors = load_file(str(path))
    except (safetensors.SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"toy generator weights {str(path)!r} are corrupt ({error}); rebuild them with: {rebuild}") from error
    generator = ImageGenerator(config)
    expected = generator.state_dict()
    wrong = sorted(set(expected) ^ set(tensors)) + sorted(
        name for name in set(expected) & set(tensors) if expected[name].shape != tensors[name].shape
    )
    if wrong:
        listed = ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
        raise CheckpointError(
            f"toy generator weights {str(path)!r} do not match the architecture in {described.name} "
            f"(missing, unexpected or misshapen: {listed}); rebuild them with: {rebuild}"
        )
    generator.load_state_dict({name: tensor.float() for name, tensor in tensors.items()}, strict=True)
    return generator.eval(), description
