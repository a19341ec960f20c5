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
def register_commands(app: typer.Typer) -> None:
    """Add sub-commands to the `latentmotion` CLI with `app.command()` or `app.add_typer()`.

    Args:
        app: The root typer application.
    """

