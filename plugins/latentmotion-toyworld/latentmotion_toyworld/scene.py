"""Scenes of the toy world: what each video shows (content) and how its object moves (motion).

A scene is a record of tensors, one row per video, drawn from a seeded generator. The content
stays fixed within a video; the motion is the ground truth that evaluations compare against.
Every parameter is drawn whatever the variant, in a fixed order, so that the two variants of the
world share content and motion under the same seed and differ only in their pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import torch

from latentmotion_toyworld.config import MARGIN, SHAPE_KINDS, WorldConfig


def _map_tensors(record: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    return attrs.evolve(record, **{field.name: fn(getattr(record, field.name)) for field in attrs.fields(type(record))})


@attrs.frozen
class Content:
    """What the videos show; constant within a video.

    Attributes:
        kind: `[N]` index of the object's shape in `SHAPE_KINDS`.
        size: `[N]` circumradius of the object in pixels.
        colour: `[N, 3]` RGB colour of the object in `[-1, 1]`.
        background: `[N, 2, 3]` RGB background colours in `[-1, 1]`: the plain background of the
            `"shapes"` variant is the first; the gradient of `"glow"` runs from the first to the second.
        gradient_angle: `[N]` direction of the `"glow"` background gradient in radians.
    """

    kind: torch.Tensor
    size: torch.Tensor
    colour: torch.Tensor
    background: torch.Tensor
    gradient_angle: torch.Tensor


@attrs.frozen
class Motion:
    """How the objects move: the ground truth of each video.

    Coordinates are in pixels with the origin at the top-left corner of the image: `x` grows to
    the right, `y` downwards, and pixel `(i, j)` (row, column) covers `[j, j + 1] x [i, i + 1]`.

    Attributes:
        positions: `[N, T, 2]` centre `(x, y)` of the object in every frame.
        angles: `[N, T]` rotation of the object in radians, unwrapped (it grows steadily).
        velocity: `[N, 2]` initial velocity `(vx, vy)` in pixels per frame; its components change
            sign at each bounce, its norm does not.
        angular_velocity: `[N]` rotation speed in radians per frame (0 for circles).
    """

    positions: torch.Tensor
    angles: torch.Tensor
    velocity: torch.Tensor
    angular_velocity: torch.Tensor

    @property
    def displacements(self) -> torch.Tensor:
        """`[N, T - 1, 2]` movement of the object centre between consecutive frames, in pixels."""
        return self.positions[:, 1:] - self.positions[:, :-1]


@attrs.frozen
class Scene:
    """The content and the motion of `N` videos.

    Attributes:
        content: What each video shows.
        motion: How its object moves.
    """

    content: Content
    motion: Motion

    def __len__(self) -> int:
        return len(self.content.kind)

    def __getitem__(self, index: slice | torch.Tensor) -> Scene:
        """Select videos, e.g. `scene[10:20]`.

        Args:
            index: A slice or an index tensor over the videos.

        Returns:
            The selected scenes.
        """
        return Scene(_map_tensors(self.content, lambda t: t[index]), _map_tensors(self.motion, lambda t: t[index]))


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Convert colours from HSV to RGB.

    Args:
        hsv: `[..., 3]` hue, saturation and value, each in `[0, 1]`.

    Returns:
        `[..., 3]` RGB in `[0, 1]`.
    """
    h, s, v = hsv.unbind(-1)
    n = torch.tensor([5.0, 3.0, 1.0], dtype=hsv.dtype)
    k = (n + h[..., None] * 6) % 6
    ramp = torch.clamp(torch.minimum(k, 4 - k), 0, 1)
    return v[..., None] - v[..., None] * s[..., None] * ramp


def bounce(unfolded: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Fold free straight-line coordinates into `[low, high]` by mirror reflection at both ends.

    This is the exact position of a point that moves at constant speed and bounces elastically
    between two walls.

    Args:
        unfolded: `[...]` coordinates of the free motion.
        low: Lower wall, broadcastable to `unfolded`.
        high: Upper wall, broadcastable to `unfolded`, above `low`.

    Returns:
        `[...]` coordinates inside `[low, high]`.
    """
    span = high - low
    phase = torch.remainder(unfolded - low, 2 * span)
    return low + span - torch.abs(span - phase)


# Colours are drawn in HSV. An object's brightest channel (its value) is at least 0.85 and a
# background's at most 0.4, so object and background always differ by at least 0.9 in [-1, 1]
# units, whatever their hues: the tracker's foreground threshold relies on it.
OBJECT_SATURATION = (0.55, 1.0)
OBJECT_VALUE = (0.85, 1.0)
BACKGROUND_SATURATION = (0.2, 0.8)
BACKGROUND_VALUE = (0.1, 0.4)
GRADIENT_END_VALUE = (0.0, 0.3)
GRADIENT_HUE_SHIFT = 0.2  # the far end of a "glow" gradient has a hue within this of the near end


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def sample_scenes(config: WorldConfig, n: int, *, seed: int) -> Scene:
    """Draw the content and motion of `n` videos.

    Start positions are uniform over the places where the object fits, so every frame of a video
    (not only the first) shows the object at a uniformly random place: the bouncing motion keeps
    that distribution.

    Args:
        config: The world.
        n: Number of videos.
        seed: Seed of the draw; the same seed gives the same scenes in both variants. Each
            parameter is drawn for all `n` videos at once, so the first videos of a draw of
            `n` differ from those of a draw of another size: slice a scene instead.

    Returns:
        The scenes, float32 tensors on CPU.
    """
    g = torch.Generator().manual_seed(seed)
    res, frames = config.resolution, config.n_frames
    allowed = torch.tensor([SHAPE_KINDS.index(kind) for kind in config.shapes])
    kind = allowed[torch.randint(len(allowed), (n,), generator=g)]
    size = _uniform(n, *config.size_range, g) * res
    object_hsv = torch.stack([_uniform(n, 0, 1, g), _uniform(n, *OBJECT_SATURATION, g), _uniform(n, *OBJECT_VALUE, g)], -1)
    hue = _uniform(n, 0, 1, g)
    near = torch.stack([hue, _uniform(n, *BACKGROUND_SATURATION, g), _uniform(n, *BACKGROUND_VALUE, g)], -1)
    far_hue = (hue + _uniform(n, -GRADIENT_HUE_SHIFT, GRADIENT_HUE_SHIFT, g)) % 1
    far = torch.stack([far_hue, _uniform(n, *BACKGROUND_SATURATION, g), _uniform(n, *GRADIENT_END_VALUE, g)], -1)
    background_hsv = torch.stack([near, far], 1)
    gradient_angle = _uniform(n, 0, 2 * math.pi, g)

    low = size + MARGIN
    high = res - size - MARGIN
    start = low[:, None] + (high - low)[:, None] * torch.rand(n, 2, generator=g, dtype=torch.float64)
    heading = _uniform(n, 0, 2 * math.pi, g)
    if config.headings is not None:  # snap to the nearest of the allowed headings
        spacing = 2 * math.pi / config.headings
        heading = torch.round(heading / spacing) % config.headings * spacing
    speed = _uniform(n, *config.speed_range, g) * res
    velocity = speed[:, None] * torch.stack([torch.cos(heading), torch.sin(heading)], -1)
    spin = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
    angular_velocity = spin * _uniform(n, *config.angular_speed_range, g) * (kind != SHAPE_KINDS.index("circle"))
    start_angle = _uniform(n, 0, 2 * math.pi, g)

    t = torch.arange(frames, dtype=torch.float64)
    unfolded = start[:, None, :] + t[None, :, None] * velocity[:, None, :]
    positions = bounce(unfolded, low[:, None, None], high[:, None, None])
    angles = start_angle[:, None] + t[None, :] * angular_velocity[:, None]

    content = Content(
        kind=kind,
        size=size.float(),
        colour=hsv_to_rgb(object_hsv).float() * 2 - 1,
        background=hsv_to_rgb(background_hsv).float() * 2 - 1,
        gradient_angle=gradient_angle.float(),
    )
    motion = Motion(
        positions=positions.float(),
        angles=angles.float(),
        velocity=velocity.float(),
        angular_velocity=angular_velocity.float(),
    )
    return Scene(content, motion)
