"""rosinality/stylegan2-pytorch checkpoints (what MoCoGAN-HD's image generators are), mapped onto NVlabs names.

rosinality's generator computes the same function as NVlabs' with other names and shapes: the
mapping layers are `style.1 ... style.8`, the 4x4 block is `input`/`conv1`/`to_rgb1`, then
`convs.{2k}` (up-sampling), `convs.{2k+1}` and `to_rgbs.{k}` per resolution; conv weights carry a
leading batch axis (`[1, O, I, k, k]`), noise strengths are `[1]`, ToRGB biases `[1, 3, 1, 1]`,
and the blur kernels are stored pre-multiplied by the up-sampling gain 4. Both store weights
unscaled, with the same run-time gains, so the conversion only renames and reshapes.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
from pathlib import Path

import torch

from latentmotion.errors import CheckpointError
from latentmotion.safe_load import load_weights_only
from latentmotion_stylegan2 import ops
from latentmotion_stylegan2.networks import Generator, GeneratorConfig

UP_GAIN = 4.0  # rosinality stores the resampling kernels multiplied by factor ** 2


def _layer_pairs(config: GeneratorConfig) -> list[tuple[str, str]]:
    """(NVlabs prefix, rosinality prefix) of every modulated layer, in order."""
    pairs = [("synthesis.b4.conv1", "conv1"), ("synthesis.b4.torgb", "to_rgb1")]
    for k, resolution in enumerate(config.block_resolutions[1:]):
        block = f"synthesis.b{resolution}"
        pairs += [(f"{block}.conv0", f"convs.{2 * k}"), (f"{block}.conv1", f"convs.{2 * k + 1}"), (f"{block}.torgb", f"to_rgbs.{k}")]
    return pairs


def nvlabs_to_rosinality(state: dict[str, torch.Tensor], config: GeneratorConfig) -> dict[str, torch.Tensor]:
    """Rename and reshape an NVlabs-named generator state dict into rosinality's `g_ema` layout.

    Args:
        state: State dict of a [Generator][latentmotion_stylegan2.networks.Generator] (NVlabs names).
        config: Its architecture (unconditional, `z_dim == w_dim`, as rosinality's generator is).

    Returns:
        rosinality's state dict, including the `noises.noise_{i}` and blur-kernel buffers.
    """
    if config.c_dim or config.z_dim != config.w_dim:
        raise CheckpointError("rosinality's generator is unconditional with z_dim == w_dim; this generator is not")
    out: dict[str, torch.Tensor] = {}
    for i in range(config.mapping_layers):
        out[f"style.{i + 1}.weight"] = state[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = state[f"mapping.fc{i}.bias"]
    out["input.input"] = state["synthesis.b4.const"][None]
    noise_index = 0
    for nv, ro in _layer_pairs(config):
        out[f"{ro}.conv.weight"] = state[f"{nv}.weight"][None]
        out[f"{ro}.conv.modulation.weight"] = state[f"{nv}.affine.weight"]
        out[f"{ro}.conv.modulation.bias"] = state[f"{nv}.affine.bias"]
        if nv.endswith("torgb"):
            out[f"{ro}.bias"] = state[f"{nv}.bias"].reshape(1, -1, 1, 1)
            if ro != "to_rgb1":
                block = nv.rsplit(".", 1)[0]
                out[f"{ro}.upsample.kernel"] = state[f"{block}.resample_filter"] * UP_GAIN
            continue
        out[f"{ro}.noise.weight"] = state[f"{nv}.noise_strength"].reshape(1)
        out[f"{ro}.activate.bias"] = state[f"{nv}.bias"]
        out[f"noises.noise_{noise_index}"] = state[f"{nv}.noise_const"][None, None]
        noise_index += 1
        if nv.endswith("conv0"):
            out[f"{ro}.conv.blur.kernel"] = state[f"{nv}.resample_filter"] * UP_GAIN
    return out


def rosinality_config(state: dict[str, torch.Tensor]) -> GeneratorConfig:
    """Infer the architecture of a rosinality generator from its tensor shapes.

    Args:
        state: rosinality's `g_ema` state dict.

    Returns:
        The equivalent NVlabs-style config (channel widths `min(channel_base // r, channel_max)`).
    """
    if "style.1.weight" not in state or "input.input" not in state:
        raise CheckpointError("this is not a rosinality StyleGAN2 generator state dict: it has no 'style.1.weight' / 'input.input'")
    mapping_layers = sum(1 for key in state if re.fullmatch(r"style\.\d+\.weight", key))
    num_blocks = 1 + sum(1 for key in state if re.fullmatch(r"to_rgbs\.\d+\.conv\.weight", key))
    resolution = 2 ** (num_blocks + 1)
    w_dim = state["style.1.weight"].shape[0]
    channels = {4: state["input.input"].shape[1]}
    for k in range(num_blocks - 1):
        key = f"convs.{2 * k}.conv.weight"
        if key not in state:
            raise CheckpointError(f"rosinality checkpoint is missing {key!r}")
        channels[2 ** (k + 3)] = state[key].shape[1]
    channel_max = max(channels.values())
    below_max = [r for r, c in channels.items() if c < channel_max]
    channel_base = channels[min(below_max)] * min(below_max) if below_max else channel_max * resolution
    config = GeneratorConfig(
        z_dim=w_dim,
        w_dim=w_dim,
        img_resolution=resolution,
        mapping_layers=mapping_layers,
        channel_base=channel_base,
        channel_max=channel_max,
    )
    if any(config.channels(r) != c for r, c in channels.items()):
        raise CheckpointError(f"rosinality generator with channel widths {channels} does not follow min(base // r, max); not supported")
    return config


def rosinality_to_nvlabs(state: dict[str, torch.Tensor]) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """Map a rosinality `g_ema` state dict onto NVlabs names, strictly.

    Every expected key must be present and no other key may be: a mismatch raises a
    [CheckpointError][latentmotion.errors.CheckpointError] naming the missing and unexpected keys.
    `mapping.w_avg` is not part of rosinality's generator and is left out.

    Args:
        state: rosinality's `g_ema` state dict.

    Returns:
        The config and the NVlabs-named state dict (without `mapping.w_avg`).
    """
    config = rosinality_config(state)
    template = _template(config)
    expected = nvlabs_to_rosinality(template, config)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"rosinality checkpoint does not match a {config.img_resolution}px StyleGAN2 generator: missing keys {missing}, unexpected keys {unexpected}"
        )
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise CheckpointError(f"rosinality checkpoint: {key} has shape {list(state[key].shape)}, expected {list(tensor.shape)}")
    out: dict[str, torch.Tensor] = {}
    for i in range(config.mapping_layers):
        out[f"mapping.fc{i}.weight"] = state[f"style.{i + 1}.weight"]
        out[f"mapping.fc{i}.bias"] = state[f"style.{i + 1}.bias"]
    out["synthesis.b4.const"] = state["input.input"][0]
    noise_index = 0
    for nv, ro in _layer_pairs(config):
        out[f"{nv}.weight"] = state[f"{ro}.conv.weight"][0]
        out[f"{nv}.affine.weight"] = state[f"{ro}.conv.modulation.weight"]
        out[f"{nv}.affine.bias"] = state[f"{ro}.conv.modulation.bias"]
        if nv.endswith("torgb"):
            out[f"{nv}.bias"] = state[f"{ro}.bias"].reshape(-1)
            if ro != "to_rgb1":
                out[f"{nv.rsplit('.', 1)[0]}.resample_filter"] = state[f"{ro}.upsample.kernel"] / UP_GAIN
            continue
        out[f"{nv}.noise_strength"] = state[f"{ro}.noise.weight"].reshape(())
        out[f"{nv}.bias"] = state[f"{ro}.activate.bias"]
        out[f"{nv}.noise_const"] = state[f"noises.noise_{noise_index}"][0, 0]
        noise_index += 1
        if nv.endswith("conv0"):
            out[f"{nv}.resample_filter"] = state[f"{ro}.conv.blur.kernel"] / UP_GAIN
    for key, tensor in template.items():  # filters of layers that never resample, identical in both
        out.setdefault(key, tensor)
    out.pop("mapping.w_avg")
    return config, out


def load_rosinality(path: str | Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor], torch.Tensor | None]:
    """Read the `g_ema` generator of a rosinality checkpoint with `torch.load(weights_only=True)`.

    Args:
        path: The `.pt` file (a dict with `g_ema`, as rosinality's `train.py` and `convert_weight.py` write).

    Returns:
        The config, the NVlabs-named state dict (without `mapping.w_avg`) and the checkpoint's
        `latent_avg` (the average w, written by `convert_weight.py`), or None if absent.
    """
    path = Path(path)
    with _allow_argparse_namespace():  # train.py saves its argparse arguments
        checkpoint = load_weights_only(path, what=f"StyleGAN2 checkpoint {path}")
    if not isinstance(checkpoint, dict) or "g_ema" not in checkpoint:
        keys = sorted(map(str, checkpoint)) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise CheckpointError(f"{path} is not a rosinality StyleGAN2 checkpoint: no 'g_ema' entry (found {keys})")
    config, state = rosinality_to_nvlabs(checkpoint["g_ema"])
    latent_avg = checkpoint.get("latent_avg")
    if latent_avg is not None:
        latent_avg = torch.as_tensor(latent_avg).reshape(-1)
        if latent_avg.numel() != config.w_dim or not math.isfinite(float(latent_avg.abs().sum())):
            raise CheckpointError(f"{path}: latent_avg has {latent_avg.numel()} values, expected {config.w_dim}")
    return config, state, latent_avg


def _allow_argparse_namespace() -> contextlib.AbstractContextManager:
    """Let the weights-only unpickler build `argparse.Namespace` (a plain attribute bag); torch < 2.5 cannot."""
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    return contextlib.nullcontext() if safe_globals is None else safe_globals([argparse.Namespace])


def _template(config: GeneratorConfig) -> dict[str, torch.Tensor]:
    """The names and shapes of `config`'s generator (built on the meta device), with the real resampling filters."""
    with torch.device("meta"):
        template = Generator(config).state_dict()
    filter_ = ops.setup_filter()
    return {key: (filter_ if key.endswith("resample_filter") else tensor) for key, tensor in template.items()}
