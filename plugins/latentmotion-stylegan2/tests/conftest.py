"""Fixtures of the StyleGAN2 plugin tests: tiny random generators and checkpoints in the real formats.

NVlabs pickles are written without NVlabs' code: stand-in `torch_utils.persistence` and
`dnnlib.util` modules are put in `sys.modules` while pickling, and every module of the generator
becomes an object whose `__reduce__` is the call NVlabs' persistence decorator records
(`_reconstruct_persistent_obj(meta)`, with the module source, class name and `__dict__`).
"""

from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from latentmotion_stylegan2 import plugin
from latentmotion_stylegan2.networks import Generator, GeneratorConfig
from torch import nn

from latentmotion import plugins

# 32 px, channels 32/32/16/8, 2 mapping layers: renders in milliseconds.
TINY = GeneratorConfig(z_dim=16, w_dim=16, img_resolution=32, mapping_layers=2, channel_base=256, channel_max=32, conv_clamp=256)
MODULE_SOURCE = "raise RuntimeError('the module source of an NVlabs pickle must never run')\n"


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Start every test from the same global random state, whatever ran before it."""
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _tiny_networks_on_one_thread(one_thread: None) -> None:
    """Every test of this plugin runs its tiny networks on one thread (the root conftest's `one_thread`)."""


def random_generator(config: GeneratorConfig = TINY, *, seed: int = 0) -> Generator:
    """A generator with seeded random weights, noise strengths, biases and `w_avg` all non-zero.

    Args:
        config: The architecture.
        seed: Seed of the weights.

    Returns:
        The generator, frozen, in eval mode.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = Generator(config)
        with torch.no_grad():
            for name, parameter in generator.named_parameters():
                if name.endswith("noise_strength"):
                    parameter.fill_(0.2)
                elif name.endswith("bias"):
                    parameter.add_(0.1 * torch.randn(parameter.shape))
            generator.mapping.w_avg.copy_(torch.randn(config.w_dim))
    return generator.eval().requires_grad_(False)


@contextlib.contextmanager
def nvlabs_modules() -> Iterator[types.SimpleNamespace]:
    """Stand-ins for the NVlabs modules a network pickle names, present in `sys.modules` only inside the block.

    Yields:
        `reconstruct` (named `torch_utils.persistence._reconstruct_persistent_obj`) and
        `EasyDict` (named `dnnlib.util.EasyDict`).
    """

    def _reconstruct_persistent_obj(meta: dict) -> Any:
        raise AssertionError("only pickled here, never called")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    persistence = types.ModuleType("torch_utils.persistence")
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")
    util.EasyDict = EasyDict
    modules = {
        "torch_utils": types.ModuleType("torch_utils"),
        "torch_utils.persistence": persistence,
        "dnnlib": types.ModuleType("dnnlib"),
        "dnnlib.util": util,
    }
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield types.SimpleNamespace(reconstruct=_reconstruct_persistent_obj, EasyDict=EasyDict)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class Persistent:
    """What NVlabs' `@persistent_class` turns an object into when it is pickled."""

    def __init__(self, reconstruct: Callable, class_name: str, state: dict, module_src: str = MODULE_SOURCE) -> None:
        self.reconstruct = reconstruct
        self.meta = {"type": "class", "version": 6, "module_src": module_src, "class_name": class_name, "state": state}

    def __reduce__(self) -> tuple:
        return self.reconstruct, (self.meta,)


def as_persistent(
    module: nn.Module,
    fake: types.SimpleNamespace,
    *,
    init_kwargs: dict | None = None,
    class_name: str | None = None,
    module_src: str = MODULE_SOURCE,
) -> Persistent:
    """Turn a module tree into the persistent objects NVlabs' code pickles.

    Args:
        module: The module.
        fake: The stand-in NVlabs modules.
        init_kwargs: The recorded `_init_kwargs` of this module.
        class_name: Class name to record (default: the module's own).
        module_src: The module source recorded with every object.

    Returns:
        The persistent stand-in of `module`.
    """
    state: dict[str, Any] = {
        "training": False,
        "_parameters": OrderedDict(module._parameters),
        "_buffers": OrderedDict(module._buffers),
        "_non_persistent_buffers_set": set(),
        "_modules": OrderedDict((name, as_persistent(child, fake, module_src=module_src)) for name, child in module._modules.items()),
        "_init_args": (),
        "_init_kwargs": fake.EasyDict(init_kwargs or {}),
    }
    if hasattr(module, "weight_gain"):
        state["weight_gain"] = np.float64(module.weight_gain)  # NVlabs keeps these gains as numpy scalars
    return Persistent(fake.reconstruct, class_name or type(module).__name__, state, module_src)


def nvlabs_init_kwargs(config: GeneratorConfig, fake: types.SimpleNamespace) -> dict:
    """The `_init_kwargs` NVlabs' train.py records for a generator of this config.

    Args:
        config: The architecture.
        fake: The stand-in NVlabs modules.

    Returns:
        The init kwargs.
    """
    return {
        "z_dim": config.z_dim,
        "c_dim": config.c_dim,
        "w_dim": config.w_dim,
        "img_resolution": config.img_resolution,
        "img_channels": config.img_channels,
        "mapping_kwargs": fake.EasyDict(num_layers=config.mapping_layers),
        "synthesis_kwargs": fake.EasyDict(
            channel_base=config.channel_base,
            channel_max=config.channel_max,
            num_fp16_res=config.num_fp16_res,
            conv_clamp=config.conv_clamp,
            architecture="skip",
        ),
    }


def write_nvlabs_pickle(
    path: Path, generator: Generator, *, protocol: int = 4, snapshot: Callable[[types.SimpleNamespace, Persistent], Any] | None = None
) -> Path:
    """Write a network snapshot as NVlabs' training loop does, without NVlabs' code.

    Args:
        path: The `.pkl` to write.
        generator: The generator to pickle as `G` and `G_ema`.
        protocol: Pickle protocol.
        snapshot: `snapshot(fake, g)` builds the pickled object from the persistent generator `g`
            (default: NVlabs' dict with `G`, `D`, `G_ema`, `augment_pipe`, `training_set_kwargs`).

    Returns:
        `path`.
    """
    with nvlabs_modules() as fake:
        g = as_persistent(generator, fake, init_kwargs=nvlabs_init_kwargs(generator.config, fake))
        if snapshot is None:
            dataset = fake.EasyDict(path="frames.zip", resolution=generator.config.img_resolution)
            data = {"training_set_kwargs": dataset, "G": g, "D": None, "G_ema": g, "augment_pipe": None}
        else:
            data = snapshot(fake, g)
        path.write_bytes(pickle.dumps(data, protocol=protocol))
    return path


@pytest.fixture
def tiny_generator() -> Generator:
    """A random TINY generator."""
    return random_generator()


@pytest.fixture
def make_generator() -> Callable[..., Generator]:
    """`make_generator(config=TINY, seed=0)`: a generator with seeded random weights."""
    return random_generator


@pytest.fixture
def nvlabs() -> types.SimpleNamespace:
    """The tools that write NVlabs-format pickles: `write`, `modules`, `as_persistent`, `Persistent`, `init_kwargs`."""
    return types.SimpleNamespace(
        write=write_nvlabs_pickle, modules=nvlabs_modules, as_persistent=as_persistent, Persistent=Persistent, init_kwargs=nvlabs_init_kwargs
    )


@pytest.fixture
def registered() -> Iterator[None]:
    """The plugin registered as its entry point would be (tests skip installed entry points)."""
    plugins.load_plugins()
    plugins.pm.register(plugin, name="stylegan2")
    yield
    plugins.pm.unregister(name="stylegan2")
