"""The latentmotion plugin: registers the `toy` backend and the bundled `toy` and `toy-cross` pipelines.

torch is imported only when the backend is built or a pipeline is loaded, so that the CLI starts fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentmotion.hookspecs import hookimpl

PIPELINE_DESCRIPTIONS = {  # the names of latentmotion_toyworld.bundled.BUNDLED_PIPELINES, which imports torch
    "toy": "toy image GAN + motion learned in-domain from shapes videos (bundled, offline, 64x64)",
    "toy-cross": "toy image GAN + motion learned cross-domain from glow videos, another look (bundled, offline, 64x64)",
}


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    """Register the `toy` backend.

    Args:
        register: latentmotion's registration callback.
    """
    register("toy", _load_toy, description="small image GAN trained on the toy video world (bundled, offline, 64x64)")


@hookimpl
def register_pipelines(register: Callable[..., None]) -> None:
    """Register the bundled pipelines `toy` and `toy-cross`.

    Args:
        register: latentmotion's registration callback.
    """
    for name, description in PIPELINE_DESCRIPTIONS.items():
        register(name, functools.partial(_locate, name), description=description)


def _load_toy(**options: Any) -> Any:
    from latentmotion_toyworld.backend import toy_backend

    return toy_backend(**options)


def _locate(name: str) -> Path:
    from latentmotion_toyworld.bundled import locate_bundled_pipeline

    return locate_bundled_pipeline(name)
