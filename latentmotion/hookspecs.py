"""The pluggy markers and hook specifications of latentmotion, nothing else.

A plugin is a module (or object) with functions decorated by `hookimpl`, exposed through an entry
point in group `latentmotion`. Built-in backends are registered exactly the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

hookspec = pluggy.HookspecMarker("latentmotion")
hookimpl = pluggy.HookimplMarker("latentmotion")


@hookspec
def register_backends(register: Callable[..., None]) -> None:
    """Register image generator backends.

    Call `register(name, factory, description=...)` once per backend. `factory(**options)` returns
    an [ImageGeneratorBackend][latentmotion.backend.ImageGeneratorBackend]; import heavy
    dependencies (torch, weights) inside it, not at module level, so that the CLI starts fast.

    Args:
        register: The registration callback.
    """


@hookspec
def register_pipelines(register: Callable[..., None]) -> None:
    """Register named pipelines, so that `LatentMotionPipeline.from_pretrained(name)` finds them.

    Call `register(name, locate, description=...)` once per pipeline. `locate()` returns the local
    folder of the pipeline (the files [save_pretrained][latentmotion.pipeline.LatentMotionPipeline.save_pretrained]
    writes), typically inside the plugin's package; it is called only when the pipeline is loaded,
    and raises a [CheckpointError][latentmotion.errors.CheckpointError] that says how to rebuild
    the folder when its files are missing. A local folder of the same name takes precedence over
    a registered name, which takes precedence over a Hub repo id.

    Args:
        register: The registration callback.
    """


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add sub-commands to the `latentmotion` CLI with `app.command()` or `app.add_typer()`.

    Args:
        app: The root typer application.
    """

