"""The pipelines bundled with latentmotion, trained on the toy world: names, folders, rebuild commands."""

from __future__ import annotations

from pathlib import Path

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
"""Folder of the bundled pipelines inside the package."""

BUNDLED_PIPELINES = {"toy": ("shapes", "shapes"), "toy-cross": ("shapes", "glow")}
"""Bundled pipeline names and their (image variant, video variant)."""


def bundled_pipeline(name: str) -> Path:
    """Folder of a bundled pipeline.

    Args:
        name: A key of `BUNDLED_PIPELINES`.

    Returns:
        `latentmotion/toyworld/pretrained/<name>`.
    """
    return PRETRAINED_DIR / name


def reproduce_command(name: str) -> str:
    """The command that rebuilds a bundled pipeline.

    Args:
        name: A key of `BUNDLED_PIPELINES`.

    Returns:
        A command line.
    """
    image, video = BUNDLED_PIPELINES[name]
    return f"python -m latentmotion.toyworld.reproduce --name {name} --image-variant {image} --video-variant {video}"
