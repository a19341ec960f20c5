"""Fixtures of the toy world plugin tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from latentmotion_toyworld import plugin

from latentmotion import plugins


@pytest.fixture
def registered() -> Iterator[None]:
    """The plugin registered as its entry point would be (tests skip installed entry points)."""
    plugins.load_plugins()
    plugins.pm.register(plugin, name="toyworld")
    yield
    plugins.pm.unregister(name="toyworld")
