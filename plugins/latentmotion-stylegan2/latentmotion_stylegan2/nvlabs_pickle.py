"""Read NVlabs StyleGAN2-ADA network pickles without running the code inside them.

NVlabs' training code pickles each network as a call to `torch_utils.persistence._reconstruct_persistent_obj`
with the full source of its defining module; a plain `pickle.load` `exec`s that source. Here an
allowlist unpickler resolves only the globals such files legitimately name. The persistence hook
becomes a [PersistentObject][latentmotion_stylegan2.nvlabs_pickle.PersistentObject] that keeps the
object's class name and attributes as data (the module source is never executed); each tensor
storage, a nested `torch.save` blob, is read with `torch.load(weights_only=True)`. Any other
global (`os.system`, `builtins.eval`, `subprocess.Popen`, ...) stops the load before anything runs.
"""

from __future__ import annotations

import collections
import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentmotion.errors import CheckpointError
from latentmotion.safe_load import load_weights_only
from latentmotion_stylegan2.networks import GeneratorConfig

try:  # numpy >= 2 names its core `numpy._core`; pickles written under numpy 1.x say `numpy.core`
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray


class PersistentObject:
    """A network object of an NVlabs pickle, as data: its class name and its attributes.

    Attributes:
        class_name: Name of the class in NVlabs' code, e.g. `"Generator"`.
        state: The object's `__dict__` (for a module: `_parameters`, `_buffers`, `_modules`,
            `_init_args`, `_init_kwargs`, ...).
    """

    __slots__ = ("class_name", "state")

    def __init__(self, meta: dict[str, Any]) -> None:
        if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
            raise pickle.UnpicklingError("malformed persistent object record")
        self.class_name = str(meta.get("class_name"))
        self.state = meta["state"]

    def child(self, name: str) -> PersistentObject | None:
        """A sub-module by attribute name.

        Args:
            name: Attribute name, e.g. `"synthesis"`.

        Returns:
            The child, or None if there is none.
        """
        child = self.state.get("_modules", {}).get(name)
        return child if isinstance(child, PersistentObject) else None

    def state_dict(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """The tensors of this module and its children, named as `nn.Module.state_dict` names them.

        Args:
            prefix: Prefix of every name (the path of this module).

        Returns:
            Name to tensor.
        """
        tensors: dict[str, torch.Tensor] = {}
        non_persistent = self.state.get("_non_persistent_buffers_set") or set()
        for group in ("_parameters", "_buffers"):
            for name, tensor in (self.state.get(group) or {}).items():
                if tensor is None or (group == "_buffers" and name in non_persistent):
                    continue
                if not isinstance(tensor, torch.Tensor):
                    raise CheckpointError(f"{prefix}{name} in the pickle is a {type(tensor).__name__}, not a tensor")
                tensors[prefix + name] = tensor.detach()
        for name, child in (self.state.get("_modules") or {}).items():
            if isinstance(child, PersistentObject):
                tensors.update(child.state_dict(f"{prefix}{name}."))
            elif child is not None:
                raise CheckpointError(f"module {prefix}{name} in the pickle is a {type(child).__name__}, not a network object")
        return tensors


def _load_storage(data: bytes) -> Any:
    """Read one pickled tensor storage (a nested `torch.save` blob) with the weights-only loader."""
    return load_weights_only(io.BytesIO(data), what="a tensor storage of the pickle")


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """Protocol-2 pickles' spelling of a bytes literal, `_codecs.encode(text, "latin1")`; no other codec is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only latin1-encoded byte strings are allowed")
    return text.encode("latin1")


ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,  # protocol-2 pickles use Python 2's module names ...
    ("_codecs", "encode"): _latin1_bytes,  # ... and write bytes as encode(text, "latin1")
    ("dnnlib.util", "EasyDict"): dict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): PersistentObject,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    **{(f"{core}.multiarray", "scalar"): _multiarray.scalar for core in ("numpy.core", "numpy._core")},
    **{(f"{core}.multiarray", "_reconstruct"): _multiarray._reconstruct for core in ("numpy.core", "numpy._core")},
}
"""The only globals an NVlabs network pickle may name (module, name) -> what they resolve to."""


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only [ALLOWED_GLOBALS][latentmotion_stylegan2.nvlabs_pickle.ALLOWED_GLOBALS]."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global named in the pickle, or refuse it.

        Args:
            module: Module of the global.
            name: Name of the global.

        Returns:
            The allowlisted object.
        """
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _BlockedGlobal(module, name) from None


class _BlockedGlobal(pickle.UnpicklingError):
    """A global outside the allowlist; carries its module and name for the error message."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


def read_network_pickle(path: str | Path) -> Any:
    """Unpickle an NVlabs network pickle safely.

    Args:
        path: The `.pkl` file.

    Returns:
        The unpickled object, usually a dict with `G`, `D`, `G_ema`, ... as
        [PersistentObject][latentmotion_stylegan2.nvlabs_pickle.PersistentObject]s.
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            return SafeUnpickler(file).load()
    except _BlockedGlobal as error:
        if error.module.startswith("dnnlib.tflib"):
            raise CheckpointError(
                f"{path} is a TensorFlow-era StyleGAN2 pickle; convert it with NVlabs' stylegan2-ada-pytorch "
                "legacy.py (or use the PyTorch re-release of the model)"
            ) from None
        raise CheckpointError(
            f"{path} references {error.module}.{error.name}, which no StyleGAN2-ADA network pickle contains; "
            "refusing to load it (nothing in it was run). Use a pickle written by NVlabs' training code."
        ) from None
    except CheckpointError:
        raise
    except Exception as error:  # truncated, corrupt or not a pickle at all
        raise CheckpointError(f"{path} is not a readable StyleGAN2-ADA pickle (truncated or corrupt?): {type(error).__name__}: {error}") from None


GENERATOR_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs")
# init kwargs that only matter for training or for speed (float16 blocks are channels-last anyway)
RUNTIME_ONLY_KWARGS = {"w_avg_beta", "fp16_channels_last", "fused_modconv_default"}
REQUIRED_VALUES = {"activation": "lrelu", "architecture": "skip", "resample_filter": [1, 3, 3, 1], "use_noise": True, "kernel_size": 3}


def generator_config(network: PersistentObject, *, source: str = "the pickle") -> GeneratorConfig:
    """Build the architecture of a pickled NVlabs generator from its recorded init arguments.

    Args:
        network: The pickled `Generator`.
        source: Where it came from, for error messages.

    Returns:
        The generator's config.
    """
    args = network.state.get("_init_args") or ()
    kwargs = dict(network.state.get("_init_kwargs") or {})
    kwargs.update(zip(GENERATOR_ARGS, args))
    unknown = sorted(set(kwargs) - set(GENERATOR_ARGS))
    if unknown:
        raise CheckpointError(f"the generator in {source} has init arguments {unknown} that StyleGAN2-ADA's generator does not take")
    mapping = dict(kwargs.get("mapping_kwargs") or {})
    synthesis = dict(kwargs.get("synthesis_kwargs") or {})
    for group_name, group in (("mapping_kwargs", mapping), ("synthesis_kwargs", synthesis)):
        for key, required in REQUIRED_VALUES.items():
            if key in group and _plain(group.pop(key)) != required:
                raise CheckpointError(
                    f"the generator in {source} uses {group_name}[{key!r}] != {required!r}; only the released StyleGAN2 architecture is supported"
                )
        for key in RUNTIME_ONLY_KWARGS:
            group.pop(key, None)
    mapping_keys = {
        "num_layers": "mapping_layers",
        "lr_multiplier": "mapping_lr_multiplier",
        "layer_features": "mapping_layer_features",
        "embed_features": "embed_features",
    }
    synthesis_keys = {"channel_base": "channel_base", "channel_max": "channel_max", "conv_clamp": "conv_clamp", "num_fp16_res": "num_fp16_res"}
    unknown = sorted(
        {f"mapping_kwargs.{k}" for k in set(mapping) - set(mapping_keys)} | {f"synthesis_kwargs.{k}" for k in set(synthesis) - set(synthesis_keys)}
    )
    if unknown:
        raise CheckpointError(f"the generator in {source} has settings {unknown} that this StyleGAN2 implementation does not know")
    values = {key: _plain(kwargs[key]) for key in GENERATOR_ARGS[:5] if key in kwargs}
    values.update({mapping_keys[k]: _plain(v) for k, v in mapping.items()})
    values.update({synthesis_keys[k]: _plain(v) for k, v in synthesis.items()})
    try:
        return GeneratorConfig(**values)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"the generator in {source} has an unsupported configuration {values}: {error}") from None


def load_nvlabs_pickle(path: str | Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """Read the generator (`G_ema`, else `G`) of an NVlabs StyleGAN2-ADA pickle.

    Args:
        path: The `.pkl` file.

    Returns:
        The generator's config and its state dict (NVlabs names).
    """
    data = read_network_pickle(path)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds a {type(data).__name__}, not an NVlabs network snapshot (a dict with 'G_ema')")
    key = "G_ema" if "G_ema" in data else "G"
    network = data.get(key)
    if not isinstance(network, PersistentObject):
        raise CheckpointError(f"{path} has no StyleGAN2-ADA generator (no 'G_ema' or 'G' network; keys: {sorted(map(str, data))})")
    synthesis = network.child("synthesis")
    if synthesis is not None and synthesis.child("input") is not None:
        raise CheckpointError(f"{path} holds a StyleGAN3 generator, which is not supported; use a StyleGAN2(-ADA) model")
    if network.class_name != "Generator" or synthesis is None or synthesis.class_name != "SynthesisNetwork":
        raise CheckpointError(f"{path}: {key} is a {network.class_name!r}, not a StyleGAN2-ADA Generator")
    return generator_config(network, source=str(path)), network.state_dict()


def _plain(value: Any) -> Any:
    """Turn numpy scalars and tuples from a pickle into plain JSON-able Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
