"""The pipelines bundled with the toy world plugin: names, folders, rebuild commands."""

from __future__ import annotations

from pathlib import Path

from latentmotion.errors import CheckpointError

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
"""Folder of the bundled pipelines inside the package."""

BUNDLED_PIPELINES = {"toy": ("shapes", "shapes"), "toy-cross": ("shapes", "glow")}
"""Bundled pipeline names and their (image variant, video variant)."""

MOTION_LAW: dict = {"headings": 2, "speed_range": (0.01, 0.02)}
"""How the objects of the bundled pipelines' training videos move: options of
[WorldConfig][latentmotion_toyworld.config.WorldConfig] over its defaults. Slowly (1-2% of the
frame's side per frame, 0.6-1.3 pixels at 64 px) and only right or left: a motion an untrained
motion generator does not mimic (see "A world where learning shows" in docs/toyworld.md). The
recipe's training videos, its evaluation and the ablation script all read it, so a new world
for the bundled pipelines is set here.
"""

PIPELINE_FILES = ("config.json", "motion.safetensors", "basis.safetensors")
"""The files a pipeline folder cannot load without."""


def bundled_pipeline(name: str) -> Path:
    """Folder of a bundled pipeline.

    Args:
        name: A key of `BUNDLED_PIPELINES`.

    Returns:
        `latentmotion_toyworld/pretrained/<name>`.
    """
    return PRETRAINED_DIR / name


def locate_bundled_pipeline(name: str) -> Path:
    """Folder of a bundled pipeline, checked to hold its files.

    Args:
        name: A key of `BUNDLED_PIPELINES`.

    Returns:
        `latentmotion_toyworld/pretrained/<name>`.

    Raises:
        CheckpointError: A file of the pipeline is missing; the message names the command that rebuilds it.
    """
    folder = bundled_pipeline(name)
    missing = [file for file in PIPELINE_FILES if not (folder / file).is_file()]
    if missing:
        raise CheckpointError(f"the bundled pipeline {name!r} lacks {', '.join(missing)} in {folder}; rebuild it with: {reproduce_command(name)}")
    return folder


def reproduce_command(name: str) -> str:
    """The command that rebuilds a bundled pipeline.

    Args:
        name: A key of `BUNDLED_PIPELINES`.

    Returns:
        A command line.
    """
    image, video = BUNDLED_PIPELINES[name]
    return f"python -m latentmotion_toyworld.reproduce --name {name} --image-variant {image} --video-variant {video}"
