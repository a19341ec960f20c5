"""Rasterise scenes of the toy world into videos, vectorised over every frame at once.

Each shape is a signed distance field (negative inside, in pixels), evaluated at the pixel
centres in the object's rotating frame. Coverage `clamp(0.5 - d, 0, 1)` gives edges antialiased
over one pixel. Polygons and stars share one formula: folded into one wedge of angle `pi / n`,
the outline is the segment from a vertex `(R, 0)` to an inner point at angle `pi / n`, whose
radius is `R cos(pi / n)` for a regular polygon and smaller for a star.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange, repeat

from latentmotion_toyworld.config import SHAPE_KINDS, WorldConfig
from latentmotion_toyworld.scene import Scene

_SHAPE_POINTS = {"circle": 0, "triangle": 3, "square": 4, "pentagon": 5, "star": 5}
_SHAPE_INNER = {"circle": 1.0, "triangle": math.cos(math.pi / 3), "square": math.cos(math.pi / 4), "pentagon": math.cos(math.pi / 5), "star": 0.45}

GLOW_HIGHLIGHT = 0.5
"""How far the centre of a `"glow"` object is lightened towards white."""

GLOW_HALO = 0.6
"""Opacity of the `"glow"` halo at the object's edge."""

GLOW_HALO_WIDTH = 0.12
"""Decay length of the `"glow"` halo, as a fraction of the object's circumradius."""


def signed_distance(local: torch.Tensor, *, kind: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """Signed distance in pixels from points to the outline of shapes centred at the origin.

    Exact for circles and outside polygons; inside, the distance to the outline of the nearest
    wedge (exact for polygons, a slight overestimate near the inner corners of stars).

    Args:
        local: `[F, H, W, 2]` points `(x, y)` in each shape's own (unrotated) frame, in pixels.
        kind: `[F]` index of each shape in `SHAPE_KINDS`.
        size: `[F]` circumradius of each shape in pixels.

    Returns:
        `[F, H, W]` distances, negative inside.
    """
    points = torch.tensor([_SHAPE_POINTS[name] for name in SHAPE_KINDS], dtype=local.dtype)[kind]
    inner = torch.tensor([_SHAPE_INNER[name] for name in SHAPE_KINDS], dtype=local.dtype)[kind]
    radius = torch.linalg.vector_norm(local, dim=-1)
    circle = radius - size[:, None, None]

    wedge = 2 * math.pi / points.clamp(min=3)
    angle = torch.remainder(torch.atan2(local[..., 1], local[..., 0]), wedge[:, None, None])
    angle = torch.minimum(angle, wedge[:, None, None] - angle)
    edge_x = (inner * torch.cos(wedge / 2) - 1) * size
    edge_y = inner * torch.sin(wedge / 2) * size
    edge_x, edge_y = edge_x[:, None, None], edge_y[:, None, None]
    from_vertex_x = radius * torch.cos(angle) - size[:, None, None]
    from_vertex_y = radius * torch.sin(angle)
    along = torch.clamp((from_vertex_x * edge_x + from_vertex_y * edge_y) / (edge_x**2 + edge_y**2), 0, 1)
    to_edge = torch.hypot(from_vertex_x - along * edge_x, from_vertex_y - along * edge_y)
    outside = from_vertex_x * edge_y - from_vertex_y * edge_x > 0
    polygon = torch.where(outside, to_edge, -to_edge)
    return torch.where((points == 0)[:, None, None], circle, polygon)


FRAMES_PER_CHUNK = 64
"""Frames rasterised together: small enough for the temporaries to stay in the CPU cache."""


def render_scenes(scene: Scene, *, config: WorldConfig) -> torch.Tensor:
    """Render the videos of `scene` in the appearance of `config.variant`.

    Args:
        scene: Content and motion of `N` videos with `T` frames each.
        config: The world; its resolution and variant are used.

    Returns:
        `[N, T, 3, H, W]` videos in `[-1, 1]`, with `H = W = config.resolution`.
    """
    content, motion = scene.content, scene.motion
    n, frames = motion.angles.shape

    def per_frame(tensor: torch.Tensor) -> torch.Tensor:
        return repeat(tensor, "n ... -> (n t) ...", t=frames)

    frame_parameters = (
        per_frame(content.kind),
        per_frame(content.size),
        per_frame(content.colour),
        per_frame(content.background),
        per_frame(content.gradient_angle),
        rearrange(motion.positions, "n t xy -> (n t) xy"),
        rearrange(motion.angles, "n t -> (n t)"),
    )
    chunks = [
        render_frames(*(tensor[start : start + FRAMES_PER_CHUNK] for tensor in frame_parameters), config=config)
        for start in range(0, n * frames, FRAMES_PER_CHUNK)
    ]
    return rearrange(torch.cat(chunks), "(n t) c h w -> n t c h w", n=n)


def render_frames(
    kind: torch.Tensor,
    size: torch.Tensor,
    colour: torch.Tensor,
    background: torch.Tensor,
    gradient_angle: torch.Tensor,
    centre: torch.Tensor,
    angle: torch.Tensor,
    *,
    config: WorldConfig,
) -> torch.Tensor:
    """Rasterise single frames from their content and pose (see [Content][latentmotion_toyworld.scene.Content]).

    Args:
        kind: `[F]` shape index in `SHAPE_KINDS`.
        size: `[F]` circumradius in pixels.
        colour: `[F, 3]` object colour in `[-1, 1]`.
        background: `[F, 2, 3]` background colours in `[-1, 1]`.
        gradient_angle: `[F]` direction of the `"glow"` background gradient in radians.
        centre: `[F, 2]` object centre `(x, y)` in pixels.
        angle: `[F]` object rotation in radians.
        config: The world; its resolution and variant are used.

    Returns:
        `[F, 3, H, W]` frames in `[-1, 1]`.
    """
    res = config.resolution
    coords = torch.arange(res, dtype=torch.float32) + 0.5
    grid_y, grid_x = torch.meshgrid(coords, coords, indexing="ij")
    dx = grid_x[None] - centre[:, 0, None, None]
    dy = grid_y[None] - centre[:, 1, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    local = torch.stack([cos * dx + sin * dy, cos * dy - sin * dx], -1)
    distance = signed_distance(local, kind=kind, size=size)
    coverage = torch.clamp(0.5 - distance, 0, 1)[:, None]

    colour = colour[:, :, None, None]
    first, second = background[:, 0, :, None, None], background[:, 1, :, None, None]
    if config.variant == "shapes":
        return torch.lerp(first, colour, coverage)
    along = (grid_x[None] - res / 2) * torch.cos(gradient_angle)[:, None, None] + (grid_y[None] - res / 2) * torch.sin(gradient_angle)[:, None, None]
    mix = (0.5 + along / (res * math.sqrt(2)))[:, None]
    halo = (GLOW_HALO * torch.exp(-torch.relu(distance) / (GLOW_HALO_WIDTH * size[:, None, None])))[:, None]
    lit = torch.clamp(-2 * distance / size[:, None, None], 0, 1)[:, None]
    fill = torch.lerp(colour, torch.ones_like(colour), GLOW_HIGHLIGHT * lit)
    glowing = torch.lerp(torch.lerp(first, second, mix), colour, halo)
    return torch.lerp(glowing, fill, coverage)
