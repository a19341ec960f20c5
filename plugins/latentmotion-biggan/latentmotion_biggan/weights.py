"""Load the published BigGAN-deep weights (the `pytorch-pretrained-biggan` format) into [BigGANDeep][latentmotion_biggan.network.BigGANDeep].

A checkpoint is a folder or a Hugging Face Hub repo with `config.json` and `pytorch_model.bin`, a
plain state dict read with `torch.load(weights_only=True)`. Its layers were saved with
`torch.nn.utils.spectral_norm`, so each normalised weight is stored as `weight_orig` with the
power-iteration vectors `weight_u` and `weight_v`; in evaluation mode the effective weight is
`weight_orig / (u . (W v))`, `W` being `weight_orig` flattened to `[out, -1]`. We compute that
once here and keep plain weights.

Published names and ours differ in three places, all exact rewrites:

- `generator.layers` holds the self-attention layer at `attention_layer_position` among the
  blocks; we keep blocks and attention apart.
- `generator.gen_z` emits its 4x4 map in TensorFlow's `(h, w, c)` order; we permute its rows
  to `(c, h, w)` so no transpose is needed at run time.
- `generator.conv_to_rgb` has `channel_width` outputs of which only the first 3 are used; we
  keep those 3.
"""

from __future__ import annotations

from pathlib import Path

import torch
from einops import rearrange

from latentmotion.errors import CheckpointError
from latentmotion.hub import fetch
from latentmotion.safe_load import load_weights_only
from latentmotion_biggan.config import STEM_MULTIPLIER, STEM_SIDE, BigGANConfig
from latentmotion_biggan.network import BigGANDeep

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "pytorch_model.bin"
SPECTRAL = ("weight_orig", "weight_u", "weight_v")


def published_shapes(config: BigGANConfig) -> dict[str, tuple[int, ...]]:
    """Every key of a published state dict for `config`, with its shape.

    Args:
        config: The architecture.

    Returns:
        Key to shape, in the published model's order.
    """
    width, condition = config.channel_width, config.condition_dim
    shapes: dict[str, tuple[int, ...]] = {"embeddings.weight": (config.class_embed_dim, config.num_classes)}

    def spectral(prefix: str, weight: tuple[int, ...], bias: bool) -> None:
        flat_in = 1
        for size in weight[1:]:
            flat_in *= size
        shapes.update({f"{prefix}.weight_orig": weight, f"{prefix}.weight_u": (weight[0],), f"{prefix}.weight_v": (flat_in,)})
        if bias:
            shapes[f"{prefix}.bias"] = (weight[0],)

    def norm(prefix: str, channels: int) -> None:
        shapes[f"{prefix}.running_means"] = (config.n_stats, channels)
        shapes[f"{prefix}.running_vars"] = (config.n_stats, channels)
        spectral(f"{prefix}.scale", (channels, condition), bias=False)
        spectral(f"{prefix}.offset", (channels, condition), bias=False)

    spectral("generator.gen_z", (STEM_SIDE * STEM_SIDE * STEM_MULTIPLIER * width, condition), bias=True)
    for index, (_, in_mult, out_mult) in enumerate(config.layers):
        if index == config.attention_layer_position:
            prefix, channels = f"generator.layers.{index}", width * in_mult
            shapes[f"{prefix}.gamma"] = (1,)
            spectral(f"{prefix}.snconv1x1_theta", (channels // 8, channels, 1, 1), bias=False)
            spectral(f"{prefix}.snconv1x1_phi", (channels // 8, channels, 1, 1), bias=False)
            spectral(f"{prefix}.snconv1x1_g", (channels // 2, channels, 1, 1), bias=False)
            spectral(f"{prefix}.snconv1x1_o_conv", (channels, channels // 2, 1, 1), bias=False)
        prefix = f"generator.layers.{_published_block_index(config, index)}"
        in_ch, out_ch, middle = width * in_mult, width * out_mult, width * in_mult // 4
        for position, (channels, kernel, conv_in, conv_out) in enumerate(
            ((in_ch, 1, in_ch, middle), (middle, 3, middle, middle), (middle, 3, middle, middle), (middle, 1, middle, out_ch))
        ):
            norm(f"{prefix}.bn_{position}", channels)
            spectral(f"{prefix}.conv_{position}", (conv_out, conv_in, kernel, kernel), bias=True)
    shapes["generator.bn.weight"] = (width,)
    shapes["generator.bn.bias"] = (width,)
    shapes["generator.bn.running_means"] = (config.n_stats, width)
    shapes["generator.bn.running_vars"] = (config.n_stats, width)
    spectral("generator.conv_to_rgb", (width, width, 3, 3), bias=True)
    return shapes


def check_state_dict(state_dict: dict[str, torch.Tensor], config: BigGANConfig) -> None:
    """Raise a CheckpointError naming every missing, unexpected or misshapen key.

    Args:
        state_dict: A published state dict.
        config: The architecture it should match.
    """
    expected = published_shapes(config)
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    misshapen = [
        f"{key} {list(state_dict[key].shape)} (expected {list(shape)})"
        for key, shape in expected.items()
        if key in state_dict and tuple(state_dict[key].shape) != shape
    ]
    problems = [
        f"{label} ({len(keys)}): {', '.join(keys[:8])}{', ...' if len(keys) > 8 else ''}"
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", misshapen))
        if keys
    ]
    if problems:
        raise CheckpointError(
            "BigGAN weights do not match the config "
            f"({config.output_dim} px, channel_width {config.channel_width}, {len(config.layers)} layers): "
            + "; ".join(problems)
            + ". Use the config.json that was published with these weights."
        )


def fold_spectral_norm(state_dict: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    """The effective weight of a spectrally normalised layer, as torch's `spectral_norm` computes it in eval mode.

    Args:
        state_dict: A published state dict.
        prefix: The layer's key prefix, e.g. `"generator.gen_z"`.

    Returns:
        `weight_orig / (u . (W v))`, shaped like `weight_orig`.
    """
    weight, u, v = (state_dict[f"{prefix}.{name}"] for name in SPECTRAL)
    sigma = torch.dot(u, torch.mv(weight.reshape(weight.shape[0], -1), v))
    return weight / sigma


def convert_state_dict(state_dict: dict[str, torch.Tensor], config: BigGANConfig) -> dict[str, torch.Tensor]:
    """Turn a published state dict into one for [BigGANDeep][latentmotion_biggan.network.BigGANDeep].

    Args:
        state_dict: A published state dict (checked against `config` first).
        config: The architecture.

    Returns:
        The state dict of `BigGANDeep(config)`, spectral norm folded in.
    """
    check_state_dict(state_dict, config)
    converted = {"class_embeddings": state_dict["embeddings.weight"].t().contiguous()}

    stem = fold_spectral_norm(state_dict, "generator.gen_z")
    order = "(h w c) i -> (c h w) i"
    converted["stem.weight"] = rearrange(stem, order, h=STEM_SIDE, w=STEM_SIDE)
    converted["stem.bias"] = rearrange(state_dict["generator.gen_z.bias"][:, None], order, h=STEM_SIDE, w=STEM_SIDE)[:, 0]

    for index in range(len(config.layers)):
        source, target = f"generator.layers.{_published_block_index(config, index)}", f"blocks.{index}"
        for position in range(4):
            norm = f"{source}.bn_{position}"
            for name in ("running_means", "running_vars"):
                converted[f"{target}.norms.{position}.{name}"] = state_dict[f"{norm}.{name}"]
            for name in ("scale", "offset"):
                converted[f"{target}.norms.{position}.{name}.weight"] = fold_spectral_norm(state_dict, f"{norm}.{name}")
            converted[f"{target}.convs.{position}.weight"] = fold_spectral_norm(state_dict, f"{source}.conv_{position}")
            converted[f"{target}.convs.{position}.bias"] = state_dict[f"{source}.conv_{position}.bias"]

    attention = f"generator.layers.{config.attention_layer_position}"
    converted["attention.gamma"] = state_dict[f"{attention}.gamma"]
    for ours, theirs in (("theta", "theta"), ("phi", "phi"), ("g", "g"), ("out", "o_conv")):
        converted[f"attention.{ours}.weight"] = fold_spectral_norm(state_dict, f"{attention}.snconv1x1_{theirs}")

    for name in ("weight", "bias", "running_means", "running_vars"):
        converted[f"out_norm.{name}"] = state_dict[f"generator.bn.{name}"]
    converted["to_rgb.weight"] = fold_spectral_norm(state_dict, "generator.conv_to_rgb")[:3].contiguous()
    converted["to_rgb.bias"] = state_dict["generator.conv_to_rgb.bias"][:3].contiguous()
    return converted


def load_network(source: str | Path, *, revision: str | None = None) -> BigGANDeep:
    """Load published BigGAN-deep weights from a folder or a Hub repo.

    Args:
        source: A folder holding `config.json` and `pytorch_model.bin`, or a Hub repo id such as
            `"osanseviero/BigGAN-deep-128"`.
        revision: Hub branch, tag or commit (Hub repos only).

    Returns:
        The generator in eval mode, weights frozen, on CPU.
    """
    config_file, weights_file = fetch(source, filenames=(CONFIG_NAME, WEIGHTS_NAME), revision=revision, what="BigGAN")
    config = BigGANConfig.from_json_file(config_file)
    state_dict = load_weights_only(weights_file, what=f"BigGAN weights {weights_file}")
    if not isinstance(state_dict, dict) or not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        raise CheckpointError(f"{weights_file} is not a state dict of tensors")
    network = BigGANDeep(config)
    network.load_state_dict(convert_state_dict(state_dict, config))
    return network.eval().requires_grad_(False)


def _published_block_index(config: BigGANConfig, index: int) -> int:
    """Index in the published `generator.layers` of our block `index` (attention shifts later blocks by one)."""
    return index if index < config.attention_layer_position else index + 1
