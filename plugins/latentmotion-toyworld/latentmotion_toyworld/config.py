"""The configuration of the toy video world: what a video may contain and how it may move.

Sizes and speeds are fractions of the resolution, so that one configuration describes the same
world at 32x32 and at 128x128. Every value is checked when the configuration is built; an
impossible world raises a [ConfigError][latentmotion.errors.ConfigError] that says which value is
wrong and what would fix it.
"""

from __future__ import annotations

from typing import Any

import attrs

from latentmotion.errors import ConfigError

SHAPE_KINDS = ("circle", "triangle", "square", "pentagon", "star")
"""The shapes an object can take, by index in the ground truth (`Content.kind`)."""

VARIANTS = ("shapes", "glow")
"""The appearances of the world: flat shapes on plain backgrounds, or glowing shapes on gradients."""

MIN_RESOLUTION = 16
"""The smallest side in pixels at which the shapes stay recognisable."""

MARGIN = 1.5
"""Pixels kept free between an object's circumscribed circle and the image border."""


def _check_range(instance: Any, attribute: attrs.Attribute, value: tuple[float, float]) -> None:
    if len(value) != 2 or value[0] > value[1]:
        raise ConfigError(f"WorldConfig.{attribute.name} must be a (low, high) pair with low <= high, got {value}")
    if value[0] < 0:
        raise ConfigError(f"WorldConfig.{attribute.name} must not be negative, got {value}")


def _as_range(value: Any) -> tuple[float, float]:
    return tuple(float(v) for v in value)


@attrs.frozen
class WorldConfig:
    """What a video of the toy world may contain and how it may move.

    Every video holds one object on a background. Its shape, size and colours stay fixed for the
    whole video; it translates at a constant speed, bounces off the borders (the whole shape stays
    inside the frame), and rotates at a constant angular speed unless it is a circle.

    Attributes:
        resolution: Side of the square frames in pixels, at least 16.
        n_frames: Frames per video, at least 1.
        variant: Appearance, one of `VARIANTS`: `"shapes"` (flat shape, plain background) or
            `"glow"` (shaded glowing shape, gradient background). The variant changes only the
            pixels: under the same seed both variants draw the same shapes and motions.
        shapes: Shape kinds to draw from, a non-empty subset of `SHAPE_KINDS`.
        size_range: Circumradius of the object, as a fraction of the resolution.
        speed_range: Translation speed, as a fraction of the resolution per frame.
        angular_speed_range: Rotation speed in radians per frame (the direction is random).
        headings: Directions of travel the objects start with: `None` for any direction, or a number
            `n` of evenly spaced headings starting at `+x` (2: right or left; 4: along the axes).
    """

    resolution: int = 64
    n_frames: int = 16
    variant: str = "shapes"
    shapes: tuple[str, ...] = attrs.field(default=SHAPE_KINDS, converter=tuple)
    size_range: tuple[float, float] = attrs.field(default=(0.12, 0.22), converter=_as_range, validator=_check_range)
    speed_range: tuple[float, float] = attrs.field(default=(0.015, 0.05), converter=_as_range, validator=_check_range)
    angular_speed_range: tuple[float, float] = attrs.field(default=(0.05, 0.25), converter=_as_range, validator=_check_range)
    headings: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.resolution < MIN_RESOLUTION:
            raise ConfigError(f"WorldConfig.resolution must be at least {MIN_RESOLUTION} pixels, got {self.resolution}")
        if self.n_frames < 1:
            raise ConfigError(f"WorldConfig.n_frames must be at least 1, got {self.n_frames}")
        if self.variant not in VARIANTS:
            raise ConfigError(f"WorldConfig.variant must be one of {', '.join(VARIANTS)}; got {self.variant!r}")
        if self.headings is not None and (not isinstance(self.headings, int) or isinstance(self.headings, bool) or self.headings < 1):
            raise ConfigError(f"WorldConfig.headings must be a whole number of directions of at least 1, or None for any direction; got {self.headings!r}")
        if not self.shapes:
            raise ConfigError(f"WorldConfig.shapes is empty; choose at least one of {', '.join(SHAPE_KINDS)}")
        unknown = sorted(set(self.shapes) - set(SHAPE_KINDS))
        if unknown:
            raise ConfigError(f"WorldConfig.shapes has unknown kinds {unknown}; known kinds: {', '.join(SHAPE_KINDS)}")
        if self.size_range[0] * self.resolution < 1:
            raise ConfigError(
                f"WorldConfig.size_range {self.size_range} gives objects under 1 pixel at resolution "
                f"{self.resolution}; raise its low end to at least {1 / self.resolution:.3f}"
            )
        largest = self.size_range[1] * self.resolution + MARGIN
        if largest >= self.resolution / 2:
            raise ConfigError(
                f"WorldConfig.size_range {self.size_range} gives objects that do not fit in a "
                f"{self.resolution}x{self.resolution} frame; keep its high end below "
                f"{(self.resolution / 2 - MARGIN) / self.resolution:.3f}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-serialisable values.

        Returns:
            A dict that `WorldConfig(**d)` turns back into this configuration.
        """
        return {key: list(value) if isinstance(value, tuple) else value for key, value in attrs.asdict(self).items()}
