"""Built-in plugin: the `toy` backend, the small image GAN trained on the toy video world."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentmotion.hookspecs import hookimpl


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    register("toy", _load_toy, description="small image GAN trained on the toy video world (bundled, offline, 64x64)")


def _load_toy(**options: Any) -> Any:
    from latentmotion.toyworld.backend import toy_backend

    return toy_backend(**options)
