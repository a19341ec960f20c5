"""Built-in plugin: the `tiny` random-weight backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentmotion.hookspecs import hookimpl


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    register("tiny", _load_tiny, description="tiny seeded random-weight generator (tests, smoke runs)")


def _load_tiny(*, resolution: int = 32, dim: int = 16, channels: int = 32, seed: int = 0) -> Any:
    """[tiny_backend][latentmotion.tiny.tiny_backend], imported when first built; the same options, so that they are checked."""
    from latentmotion.tiny import tiny_backend

    return tiny_backend(resolution=resolution, dim=dim, channels=channels, seed=seed)
