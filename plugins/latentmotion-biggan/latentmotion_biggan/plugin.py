"""The latentmotion plugin: registers the `biggan` backend (entry point group `latentmotion`).

Nothing heavy is imported here; torch and the weights load when the backend is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentmotion.hookspecs import hookimpl


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    """Register the `biggan` backend.

    Args:
        register: The registration callback of latentmotion.
    """
    register(
        "biggan",
        _load_biggan,
        description="BigGAN-deep 128/256/512 px (published weights), class-conditional; latent space Z + class embedding",
    )


def _load_biggan(**options: Any) -> Any:
    from latentmotion_biggan.backend import load_backend

    return load_backend(**options)
