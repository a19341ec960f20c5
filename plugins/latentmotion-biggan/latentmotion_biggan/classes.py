"""ImageNet class names, and turning class names or indices into class indices.

`imagenet_classes.txt` (shipped with the package) lists the 1000 ILSVRC-2012 classes in index
order, one short name per line (the first WordNet lemma of each synset, as in Keras'
`imagenet_class_index.json`). Names match case-insensitively, with `_` read as a space. Three
names are shared by two classes each (`crane`: 134 the bird, 517 the machine; `cardigan`: 264
the dog, 474 the sweater; `maillot`: 638 and 639); give those by index.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from importlib import resources

from latentmotion.errors import ConfigError

IMAGENET_CLASSES = 1000

ClassSpec = int | str


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names, in index order.

    Returns:
        The names.
    """
    text = resources.files("latentmotion_biggan").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@functools.cache
def _indices_by_name() -> dict[str, tuple[int, ...]]:
    found: dict[str, tuple[int, ...]] = {}
    for index, name in enumerate(imagenet_class_names()):
        key = _normalise(name)
        found[key] = (*found.get(key, ()), index)
    return found


def _normalise(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def resolve_class(spec: ClassSpec, *, num_classes: int = IMAGENET_CLASSES) -> int:
    """The class index of an index, a string of digits or an ImageNet class name.

    Args:
        spec: A class index, e.g. `207`, or an ImageNet class name, e.g. `"golden retriever"`.
        num_classes: Number of classes of the model; names need the 1000 ImageNet classes.

    Returns:
        The index, in `[0, num_classes)`.
    """
    if isinstance(spec, bool) or not isinstance(spec, (int, str)):
        raise ConfigError(f"a BigGAN class is an index or an ImageNet class name, got {spec!r} ({type(spec).__name__})")
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec)
    if isinstance(spec, int):
        if not 0 <= spec < num_classes:
            raise ConfigError(f"class index {spec} is out of range: this BigGAN has {num_classes} classes, indices 0 to {num_classes - 1}")
        return spec
    if num_classes != IMAGENET_CLASSES:
        raise ConfigError(f"class name {spec!r} needs the 1000 ImageNet classes, but this BigGAN has {num_classes} classes: give an index")
    indices = _indices_by_name().get(_normalise(spec))
    if indices is None:
        close = difflib.get_close_matches(_normalise(spec), _indices_by_name(), n=3, cutoff=0.6)
        suggestions = [f"{name!r} ({'/'.join(map(str, _indices_by_name()[name]))})" for name in close]
        hint = f"; did you mean {', '.join(suggestions)}?" if close else ""
        raise ConfigError(f"unknown ImageNet class name {spec!r}{hint} (see latentmotion_biggan.imagenet_class_names())")
    if len(indices) > 1:
        raise ConfigError(f"ImageNet class name {spec!r} names classes {', '.join(map(str, indices))}: give the index instead")
    return indices[0]


def resolve_classes(specs: ClassSpec | Sequence[ClassSpec], *, num_classes: int = IMAGENET_CLASSES) -> list[int]:
    """Class indices of one class or a list of classes (indices or names).

    Args:
        specs: A class, or a non-empty sequence of classes, each an index or an ImageNet class name.
        num_classes: Number of classes of the model.

    Returns:
        One index per class given.
    """
    if isinstance(specs, (int, str)):
        specs = [specs]
    specs = list(specs)
    if not specs:
        raise ConfigError("the list of BigGAN classes is empty; give at least one class index or name")
    return [resolve_class(spec, num_classes=num_classes) for spec in specs]
