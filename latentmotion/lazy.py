"""Lazily exported names: a package lists its public names and the modules that define them, and
each is imported on first use, so that importing the package (and starting the CLI) loads no torch.

    _EXPORTS = {"LatentMotionPipeline": "latentmotion.pipeline"}
    __getattr__ = lazy_exports(__name__, _EXPORTS)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) that imports each exported name from its module when first asked for.

    Args:
        package: The name of the package that exports, for error messages.
        exports: Each public name and the module that defines it.

    Returns:
        The function to assign to the package's `__getattr__`.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
