"""The latentmotion plugin: registers the `stylegan2` backend (torch is imported only when it is built)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentmotion.hookspecs import hookimpl


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    """Register the `stylegan2` backend.

    Args:
        register: latentmotion's registration callback.
    """
    register(
        "stylegan2",
        _load_stylegan2,
        description="StyleGAN2(-ADA) from an NVlabs .pkl, a rosinality .pt or a converted .safetensors (source= a file, or a Hub repo id with filename=)",
    )


def _load_stylegan2(**options: Any) -> Any:
    from latentmotion_stylegan2.backend import load_stylegan2

    return load_stylegan2(**options)
