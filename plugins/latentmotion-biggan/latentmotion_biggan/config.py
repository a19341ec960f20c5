"""The architecture of a BigGAN-deep generator, as the `config.json` of the published weights spells it.

The published weights come as a folder (or Hub repo) holding `config.json` and
`pytorch_model.bin`. The config's `layers` lists every residual block as
`(upsample, in_multiplier, out_multiplier)`, channel counts being multiples of `channel_width`;
a self-attention layer sits before block `attention_layer_position`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from latentmotion.errors import ConfigError

STEM_SIDE = 4  # the linear stem renders a 4x4 feature map
STEM_MULTIPLIER = 16  # ... with 16 * channel_width channels

# Channel multipliers of each resolution stage of the published models; a stage is a block at
# constant size followed by an upsampling block.
STAGES = {
    128: ((16, 16), (16, 8), (8, 4), (4, 2), (2, 1)),
    256: ((16, 16), (16, 8), (8, 8), (8, 4), (4, 2), (2, 1)),
    512: ((16, 16), (16, 8), (8, 8), (8, 4), (4, 2), (2, 1), (1, 1)),
}


def _as_layers(value: Any) -> tuple[tuple[bool, int, int], ...]:
    try:
        return tuple((bool(upsample), int(in_mult), int(out_mult)) for upsample, in_mult, out_mult in value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"BigGAN config 'layers' must be a list of [upsample, in_multiplier, out_multiplier], got {value!r}") from error


@attrs.frozen
class BigGANConfig:
    """Architecture of a BigGAN-deep generator (the fields of the published `config.json`).

    Attributes:
        output_dim: Side of the rendered images in pixels.
        z_dim: Dimension of the prior `z`.
        class_embed_dim: Dimension of the class embedding.
        channel_width: Channel unit; block channels are multiples of it.
        num_classes: Number of classes (1000 for ImageNet).
        layers: One `(upsample, in_multiplier, out_multiplier)` per residual block; by default the
            published layout for `output_dim`.
        attention_layer_position: Index of the block that self-attention precedes.
        eps: Epsilon of the batch norms.
        n_stats: Rows of precomputed batch-norm statistics, for truncations evenly spaced in `[0, 1]`.
    """

    output_dim: int = 128
    z_dim: int = 128
    class_embed_dim: int = 128
    channel_width: int = 128
    num_classes: int = 1000
    layers: tuple[tuple[bool, int, int], ...] = attrs.field(
        default=attrs.Factory(lambda self: _layout(self.output_dim), takes_self=True), converter=_as_layers
    )
    attention_layer_position: int = 8
    eps: float = 1e-4
    n_stats: int = 51

    def __attrs_post_init__(self) -> None:
        problems = []
        for name in ("output_dim", "z_dim", "class_embed_dim", "channel_width", "num_classes"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)}")
        if self.n_stats < 2:
            problems.append(f"n_stats must be at least 2, got {self.n_stats}")
        if not self.eps > 0:
            problems.append(f"eps must be positive, got {self.eps}")
        if not self.layers:
            problems.append("layers is empty")
        else:
            problems += self._layer_problems()
        if problems:
            raise ConfigError("invalid BigGAN config: " + "; ".join(problems))

    def _layer_problems(self) -> list[str]:
        problems = []
        if self.layers[0][1] != STEM_MULTIPLIER:
            problems.append(f"the first layer must take {STEM_MULTIPLIER} x channel_width channels (the stem's), got {self.layers[0][1]}")
        if self.layers[-1][2] != 1:
            problems.append(f"the last layer must give 1 x channel_width channels, got {self.layers[-1][2]}")
        for index, (_, in_mult, out_mult) in enumerate(self.layers):
            if out_mult not in (in_mult, in_mult / 2):
                problems.append(f"layer {index} must keep or halve its channels, got {in_mult} -> {out_mult}")
            if index + 1 < len(self.layers) and self.layers[index + 1][1] != out_mult:
                problems.append(f"layer {index + 1} takes {self.layers[index + 1][1]} but layer {index} gives {out_mult}")
            if self.channel_width * in_mult % 4:
                problems.append(f"layer {index} has {self.channel_width * in_mult} channels, not a multiple of 4 (the bottleneck)")
        side = STEM_SIDE * 2 ** sum(upsample for upsample, _, _ in self.layers)
        if side != self.output_dim:
            problems.append(f"the layers upsample 4x4 to {side}x{side}, not output_dim {self.output_dim}")
        if not 0 <= self.attention_layer_position < len(self.layers):
            problems.append(f"attention_layer_position {self.attention_layer_position} is not a layer index (0-{len(self.layers) - 1})")
        elif self.channel_width * self.layers[self.attention_layer_position][1] % 8:
            problems.append("self-attention needs a channel count divisible by 8")
        return problems

    @property
    def condition_dim(self) -> int:
        """Length of the condition every layer sees: `z` and the class embedding, concatenated."""
        return self.z_dim + self.class_embed_dim

    @classmethod
    def for_resolution(cls, resolution: int, *, channel_width: int = 128, num_classes: int = 1000) -> BigGANConfig:
        """The published BigGAN-deep architecture at 128, 256 or 512 px, optionally narrowed.

        Args:
            resolution: 128, 256 or 512.
            channel_width: Channel unit (128 in the published models; small values give tiny test models).
            num_classes: Number of classes.

        Returns:
            The config.
        """
        if resolution not in STAGES:
            raise ConfigError(f"BigGAN-deep comes in 128, 256 and 512 px, got {resolution}")
        return cls(output_dim=resolution, channel_width=channel_width, num_classes=num_classes)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BigGANConfig:
        """Build a config from the fields of a `config.json`; missing fields take the defaults.

        Args:
            values: The fields.

        Returns:
            The config.
        """
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown BigGAN config fields {unknown}; known fields: {sorted(known)}")
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(f"invalid BigGAN config {values!r}: {error}") from error

    @classmethod
    def from_json_file(cls, path: str | Path) -> BigGANConfig:
        """Read a `config.json` in the format of the published weights.

        Args:
            path: The file.

        Returns:
            The config.
        """
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"cannot read BigGAN config {path}: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"BigGAN config {path} must hold a JSON object, got {type(values).__name__}")
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values, in the format of the published `config.json`.

        Returns:
            The fields.
        """
        values = attrs.asdict(self)
        values["layers"] = [list(layer) for layer in self.layers]
        return values


def _layout(resolution: int) -> tuple[tuple[bool, int, int], ...]:
    if resolution not in STAGES:
        raise ConfigError(f"no default BigGAN-deep layers for output_dim {resolution}; give 'layers' or use 128, 256 or 512")
    return tuple(layer for in_mult, out_mult in STAGES[resolution] for layer in ((False, in_mult, in_mult), (True, in_mult, out_mult)))
