"""Strict structuring of JSON and TOML values into attrs classes: no `"128"` for an int, no `true`
for a number, no unknown key, and errors that name the key. Shared by the training configuration
and a pipeline's `config.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from cattrs.errors import ForbiddenExtraKeysError


def strict_converter() -> cattrs.Converter:
    """A cattrs converter that takes JSON types only as they are and refuses unknown keys.

    Returns:
        The converter; add hooks for further types to it.
    """
    converter = cattrs.Converter(forbid_extra_keys=True)
    for kind, accepted in ((int, (int,)), (float, (int, float)), (str, (str,)), (bool, (bool,))):
        converter.register_structure_hook(kind, _scalar(kind, accepted))
    converter.register_structure_hook_func(lambda type_: getattr(type_, "__origin__", None) is dict, _mapping(converter))
    converter.register_structure_hook_factory(attrs.has, _table(converter))
    return converter


def describe(error: BaseException, type_: Any) -> str:
    """One readable phrase for an error cattrs met (a `format_exception` of `cattrs.transform_error`).

    Args:
        error: The error.
        type_: The type being structured.

    Returns:
        The phrase.
    """
    if isinstance(error, ForbiddenExtraKeysError):
        known = ", ".join(field.name for field in attrs.fields(error.cl))
        return f"unknown key(s) {', '.join(map(repr, sorted(error.extra_fields)))} (known: {known})"
    if isinstance(error, KeyError):
        return f"missing key {error}"
    return str(error)


def _scalar(kind: type, accepted: tuple[type, ...]) -> Any:
    """A structure hook that takes `accepted` types only."""

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, accepted) or (isinstance(value, bool) and kind is not bool):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return kind(value)

    return structure


def _mapping(converter: cattrs.Converter) -> Any:
    """A structure hook for `dict[str, T]` that refuses anything but a table."""

    def structure(value: Any, type_: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a table, got {type(value).__name__} {value!r}")
        value_type = type_.__args__[1]
        return {key: item if value_type is Any else converter.structure(item, value_type) for key, item in value.items()}

    return structure


def _table(converter: cattrs.Converter) -> Any:
    """A hook factory for attrs classes that first checks the value is a table."""

    def factory(cls: type) -> Any:
        structure = cattrs.gen.make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, Mapping):
                raise TypeError(f"expected a table, got {type(value).__name__} {value!r}")
            return structure(dict(value), cls)

        return hook

    return factory
