"""Test-wide settings for the core and every plugin: no installed plugin leaks in, no network."""

import sys

import pytest


def pytest_configure(config: pytest.Config) -> None:
    sys._called_from_test = True  # latentmotion.plugins skips installed entry points under tests


@pytest.fixture(autouse=True)
def _isolated_hub_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every Hugging Face cache at a fresh folder and forbid network access to the Hub."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
