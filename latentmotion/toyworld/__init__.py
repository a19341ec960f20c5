"""A procedural video world and small models trained on it: latentmotion's offline default.

Videos show one shape (circle, triangle, square, pentagon or star) that translates, bounces off
the borders and rotates; content stays fixed within a video, only the motion changes. Every
video comes with its ground-truth motion, and a pixel tracker measures the motion of generated
videos the same way.
"""

from latentmotion.toyworld.config import SHAPE_KINDS, VARIANTS, WorldConfig
from latentmotion.toyworld.render import render_scenes
from latentmotion.toyworld.scene import Content, Motion, Scene, sample_scenes
from latentmotion.toyworld.tracking import (
    displacements,
    estimate_background,
    foreground_masks,
    object_colours,
    track_centroids,
)
from latentmotion.toyworld.world import render_frames, render_videos

__all__ = [
    "SHAPE_KINDS",
    "VARIANTS",
    "Content",
    "Motion",
    "Scene",
    "WorldConfig",
    "displacements",
    "estimate_background",
    "foreground_masks",
    "object_colours",
    "render_frames",
    "render_scenes",
    "render_videos",
    "sample_scenes",
    "track_centroids",
]
