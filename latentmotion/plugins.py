"""The plugin manager: built-in plugins plus the entry points of group `latentmotion`.

Set `LATENTMOTION_LOAD_PLUGINS` to a comma-separated list of distribution names to load only those
third-party plugins (an empty string loads none); built-ins always load.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
import types
import typing
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from latentmotion import hookspecs
from latentmotion.errors import (
    ConfigError,
    LatentMotionError,
    UnknownBackendError,
    one_line,
)

if TYPE_CHECKING:
    from latentmotion.backend import ImageGeneratorBackend

ENTRY_POINT_GROUP = "latentmotion"
LOAD_PLUGINS_ENV = "LATENTMOTION_LOAD_PLUGINS"
DEFAULT_PLUGINS = ("latentmotion.default_plugins.tiny",)

pm = pluggy.PluginManager("latentmotion")
pm.add_hookspecs(hookspecs)
_loaded = False
_distributions: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)


@attrs.frozen
class BackendInfo:
    """A registered backend and where it came from.

    Attributes:
        name: The name `get_backend` takes.
        factory: `factory(**options)` builds the backend.
        description: One line for humans.
        plugin: Name of the plugin that registered it.
        distribution: The installed distribution that ships the plugin.
        version: That distribution's version.
    """

    name: str
    factory: Callable[..., ImageGeneratorBackend] = attrs.field(repr=False)
    description: str
    plugin: str
    distribution: str
    version: str


@attrs.frozen
class PipelineInfo:
    """A registered pipeline name and where it came from.

    Attributes:
        name: The name `LatentMotionPipeline.from_pretrained` takes.
        locate: `locate()` returns the pipeline's local folder.
        description: One line for humans.
        plugin: Name of the plugin that registered it.
        distribution: The installed distribution that ships the plugin.
        version: That distribution's version.
    """

    name: str
    locate: Callable[[], Path] = attrs.field(repr=False)
    description: str
    plugin: str
    distribution: str
    version: str


def load_plugins() -> None:
    """Register the built-in plugins and the installed ones (once per process)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for plugin in DEFAULT_PLUGINS:
        if not pm.has_plugin(plugin):
            pm.register(importlib.import_module(plugin), plugin)
    allowed = os.environ.get(LOAD_PLUGINS_ENV)
    wanted = None if allowed is None else {_canonical(name) for name in allowed.split(",") if name.strip()}
    if wanted is not None or not hasattr(sys, "_called_from_test"):
        found = set()
        for dist in metadata.distributions():
            name = _canonical(dist.metadata["Name"] or "")
            if wanted is None or name in wanted:
                for entry_point in dist.entry_points.select(group=ENTRY_POINT_GROUP):
                    _register_entry_point(entry_point, dist)
                    found.add(name)
        for name in sorted((wanted or set()) - found):
            raise LatentMotionError(f"{LOAD_PLUGINS_ENV} names {name!r}, which is not an installed latentmotion plugin: pip install {name}")


def _register_entry_point(entry_point: metadata.EntryPoint, dist: metadata.Distribution) -> None:
    """Import one plugin and register it, remembering the distribution it came from.

    A plugin that fails to import is skipped with a warning, so that one broken install does not
    take the others (and the built-ins) down with it.
    """
    if pm.has_plugin(entry_point.name):
        return
    try:
        plugin = entry_point.load()
    except Exception as error:
        warnings.warn(
            f"skipping plugin {entry_point.name!r} of {dist.metadata['Name']} {dist.version}: it failed to import "
            f"({type(error).__name__}: {error}); reinstall or uninstall it, or set {LOAD_PLUGINS_ENV} to the plugins you want",
            stacklevel=2,
        )
        return
    pm.register(plugin, name=entry_point.name)
    _distributions[entry_point.name] = (dist.metadata["Name"], dist.version)


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def backends() -> dict[str, BackendInfo]:
    """Every registered backend, by name.

    Returns:
        A mapping from backend name to its [BackendInfo][latentmotion.plugins.BackendInfo].
    """
    found: dict[str, BackendInfo] = {}
    for impl, source in _hookimpls(pm.hook.register_backends):

        def register(name: str, factory: Callable[..., Any], *, description: str = "", _plugin: str = impl.plugin_name, _source=source) -> None:
            _add(found, BackendInfo(name, factory, description, _plugin, *_source), kind="backend")

        impl.function(register=register)
    return dict(sorted(found.items()))


def pipelines() -> dict[str, PipelineInfo]:
    """Every registered pipeline name, by name.

    Returns:
        A mapping from pipeline name to its [PipelineInfo][latentmotion.plugins.PipelineInfo].
    """
    found: dict[str, PipelineInfo] = {}
    for impl, source in _hookimpls(pm.hook.register_pipelines):

        def register(name: str, locate: Callable[[], Path], *, description: str = "", _plugin: str = impl.plugin_name, _source=source) -> None:
            _add(found, PipelineInfo(name, locate, description, _plugin, *_source), kind="pipeline")

        impl.function(register=register)
    return dict(sorted(found.items()))


def _hookimpls(hook: pluggy.HookCaller) -> list[tuple[pluggy.HookImpl, tuple[str, str]]]:
    """The implementations of a registration hook, each with the (distribution, version) of its plugin."""
    load_plugins()
    return [(impl, _distributions.get(impl.plugin_name, ("latentmotion", _core_version()))) for impl in hook.get_hookimpls()]


def _add(found: dict[str, Any], info: BackendInfo | PipelineInfo, *, kind: str) -> None:
    """Add one registration to `found`; a name registered twice is an error naming both plugins."""
    if info.name in found:
        raise LatentMotionError(
            f"{kind} {info.name!r} is registered twice: by {found[info.name].plugin!r} and by {info.plugin!r}; uninstall one of them"
        )
    found[info.name] = info


def get_backend(name: str, **options: Any) -> ImageGeneratorBackend:
    """Build a registered backend, frozen and ready to render, with its name and options stamped on it.

    Whatever the factory sets, the backend's `name` becomes `name` and its `options` the keyword
    arguments given here (see [stamp][latentmotion.plugins.stamp]): a saved pipeline records
    exactly what rebuilds it.

    Args:
        name: Backend name, e.g. `"tiny"` or `"stylegan2"`.
        **options: Keyword arguments of the backend's factory (checkpoint path, Hub repo, ...).

    Returns:
        The backend, in eval mode with frozen weights.
    """
    available = backends()
    if name not in available:
        close = difflib.get_close_matches(name, available, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownBackendError(
            f"unknown backend {name!r}; available: {', '.join(available) or 'none'}.{hint} "
            f"Install a plugin (e.g. pip install latentmotion-{name}) to add one."
        )
    return build_backend(name, available[name].factory, **options)


def build_backend(name: str, factory: Callable[..., ImageGeneratorBackend], /, **options: Any) -> ImageGeneratorBackend:
    """Call a backend factory, stamp `name` and `options` on the result, and freeze it.

    This is what [get_backend][latentmotion.plugins.get_backend] does with a registered factory;
    [check_backend][latentmotion.testing.check_backend] calls it on factories not yet registered.

    Args:
        name: The name to stamp.
        factory: `factory(**options)` returns an [ImageGeneratorBackend][latentmotion.backend.ImageGeneratorBackend].
        **options: Keyword arguments of the factory.

    Returns:
        The backend, in eval mode with frozen weights.

    Raises:
        ConfigError: An option the factory does not take, a value of the wrong type for the
            factory's annotation (`int`, `float`, `bool` or `str`, optionally `| None`), or one
            the factory refused with a `TypeError` or `ValueError`.
        LatentMotionError: The factory returned something else than a backend.
    """
    from latentmotion.backend import ImageGeneratorBackend

    check_options(name, factory, options)
    try:
        backend = factory(**options)
    except LatentMotionError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(f"backend {name!r} refused its options {options}: {one_line(error)}") from error
    if not isinstance(backend, ImageGeneratorBackend):
        raise LatentMotionError(f"the factory of backend {name!r} returned {type(backend).__name__}, not an ImageGeneratorBackend")
    return stamp(backend, name, options).freeze()


STRICT_TYPES = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}
"""The factory annotations whose options are checked, and the JSON values each accepts."""


def check_options(name: str, factory: Callable[..., Any], options: dict[str, Any]) -> None:
    """Check keyword arguments against a backend factory's signature, before calling it.

    Args:
        name: The backend's name, for messages.
        factory: The factory.
        options: The keyword arguments it is about to get.

    Raises:
        ConfigError: An option the factory does not take (the message lists those it takes), or a
            value whose type does not match a plain `int`, `float`, `bool` or `str` annotation
            (`"64"`, `64.0` or `true` for an `int`; `null` unless the annotation allows None).
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a built-in without a signature: nothing to check against
        return
    parameters = {key: parameter for key, parameter in signature.parameters.items() if parameter.kind is not parameter.VAR_KEYWORD}
    takes_any = len(parameters) < len(signature.parameters)
    accepted = [key for key, parameter in parameters.items() if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(key for key in options if key not in accepted)
    if unknown and not takes_any:
        raise ConfigError(
            f"backend {name!r} has no option {', '.join(map(repr, unknown))}; it takes {', '.join(accepted) or 'no options'}"
        )
    for key, value in options.items():
        annotation = _annotation(factory, parameters[key]) if key in parameters else None
        kinds = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else (annotation,)
        plain = [kind for kind in kinds if kind is not type(None)]
        if len(plain) != 1 or plain[0] not in STRICT_TYPES or (value is None and len(kinds) == 2):
            continue
        kind = plain[0]
        if not isinstance(value, STRICT_TYPES[kind]) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(f"backend {name!r} option {key!r} must be {kind.__name__}, got {type(value).__name__} {value!r}")


def _annotation(factory: Callable[..., Any], parameter: inspect.Parameter) -> Any:
    """A parameter's annotation, evaluated where the factory was defined; None when that fails."""
    annotation = parameter.annotation
    if isinstance(annotation, str):  # `from __future__ import annotations`
        try:
            return eval(annotation, getattr(factory, "__globals__", {}))  # what typing.get_type_hints does
        except Exception:
            return None
    return annotation


def stamp(backend: ImageGeneratorBackend, name: str, options: dict[str, Any]) -> ImageGeneratorBackend:
    """Set a backend's `name` and record the factory's keyword arguments as its `options`.

    A file option (one of the backend's `file_options`) naming an existing local path is recorded
    as that path made absolute, so that a saved pipeline finds it from any working folder and
    `push_to_hub` can upload it; Hub repo ids and every other option are recorded as given.

    Args:
        backend: A backend a factory just built.
        name: Its registered name.
        options: The keyword arguments the factory was called with.

    Returns:
        `backend`.
    """
    recorded = dict(options)
    for key in backend.file_options:
        value = recorded.get(key)
        if isinstance(value, (str, os.PathLike)) and Path(value).expanduser().exists():
            recorded[key] = str(Path(value).expanduser().resolve())
    backend.name = name
    backend.options = recorded
    return backend


def _core_version() -> str:
    from latentmotion import __version__

    return __version__
