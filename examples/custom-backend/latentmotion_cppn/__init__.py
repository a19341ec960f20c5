"""latentmotion-cppn: a compositional pattern-producing network (CPPN) as a latentmotion backend.

This module is the plugin: it only registers the backend. The generator itself lives in
`latentmotion_cppn.generator` and is imported inside the factory, so that importing the plugin
(which `latentmotion --help` does) never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentmotion import hookimpl


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    """Register the `cppn` backend.

    Args:
        register: latentmotion's registration callback.
    """
    register("cppn", load_cppn, description="CPPN: smooth seeded patterns from an 8-d latent (example plugin)")


def load_cppn(**options: Any) -> Any:
    """Build the backend; `options` are those of `latentmotion_cppn.generator.cppn_backend`.

    Args:
        **options: Keyword arguments of the backend.

    Returns:
        The backend.
    """
    from latentmotion_cppn.generator import cppn_backend

    return cppn_backend(**options)
