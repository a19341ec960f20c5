"""Test-wide settings for the core and every plugin: no installed plugin leaks in, no network."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow (minutes each on a CPU)")


def pytest_configure(config: pytest.Config) -> None:
    sys._called_from_test = True  # latentmotion.plugins skips installed entry points under tests
    config.addinivalue_line("markers", "slow: minutes on a CPU (e.g. torch.compile's C++ builds); skipped unless --run-slow")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU; skipped without one (benchmarks/gpu_check.sh runs them)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--run-slow"):
        skip = pytest.mark.skip(reason="slow: run with --run-slow")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def hub_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test its own empty, offline Hugging Face cache; return the hub cache folder.

    huggingface_hub reads HF_HUB_CACHE and HF_HUB_OFFLINE once, at import, so its copies of those
    settings are repointed too.
    """
    from huggingface_hub import constants

    home = tmp_path_factory.mktemp("hf_home")
    cache = home / "hub"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test on one thread: for tiny networks on a loaded machine, thread hand-offs cost more than they save."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

