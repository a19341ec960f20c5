"""ImageNet class names and the resolution of class names and indices."""

import pytest
from latentmotion_biggan.classes import (
    imagenet_class_names,
    resolve_class,
    resolve_classes,
)

from latentmotion.errors import ConfigError


def test_the_1000_imagenet_names_are_shipped_in_index_order() -> None:
    names = imagenet_class_names()
    assert len(names) == 1000
    assert (names[0], names[207], names[291], names[983], names[999]) == ("tench", "golden retriever", "lion", "scuba diver", "toilet tissue")


@pytest.mark.parametrize(("spec", "index"), [(207, 207), ("207", 207), ("golden retriever", 207), ("Golden_Retriever", 207), ("  scuba  diver ", 983)])
def test_names_and_indices_resolve(spec: int | str, index: int) -> None:
    assert resolve_class(spec) == index


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(ConfigError, match=r"unknown ImageNet class name 'golden retreiver'; did you mean 'golden retriever' \(207\)"):
        resolve_class("golden retreiver")


def test_unknown_name_without_close_match_points_at_the_list() -> None:
    with pytest.raises(ConfigError, match=r"unknown ImageNet class name 'qwxz' \(see latentmotion_biggan.imagenet_class_names\(\)\)"):
        resolve_class("qwxz")


def test_a_name_shared_by_two_classes_asks_for_the_index() -> None:
    with pytest.raises(ConfigError, match="names classes 134, 517: give the index"):
        resolve_class("crane")


@pytest.mark.parametrize("bad", [1000, -1])
def test_index_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ConfigError, match=f"class index {bad} is out of range: this BigGAN has 1000 classes, indices 0 to 999"):
        resolve_class(bad)


def test_names_need_the_imagenet_classes() -> None:
    assert resolve_class(9, num_classes=10) == 9
    with pytest.raises(ConfigError, match="needs the 1000 ImageNet classes, but this BigGAN has 10 classes"):
        resolve_class("lion", num_classes=10)


def test_lists_resolve_element_by_element() -> None:
    assert resolve_classes(["lion", 3, "tiger"]) == [291, 3, 292]
    assert resolve_classes("lion") == [291]
    with pytest.raises(ConfigError, match="is empty"):
        resolve_classes([])
    with pytest.raises(ConfigError, match="an index or an ImageNet class name, got True"):
        resolve_classes([True])
