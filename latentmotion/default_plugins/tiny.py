"""Built-in plugin: the `tiny` random-weight backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentmotion.hookspecs import hookimpl


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    register("tiny", _load_tiny, description="tiny seeded random-weight generator (tests, smoke runs)")


def _load_tiny(**options: Any) -> Any:
    from latentmotion.tiny import tiny_backend

    return tiny_backend(**options)
