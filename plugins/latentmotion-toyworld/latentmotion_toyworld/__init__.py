"""A procedural video world and small models trained on it: the `toy` backend and latentmotion's offline default pipelines.

Videos show one shape (circle, triangle, square, pentagon or star) that translates, bounces off
the borders and rotates; content stays fixed within a video, only the motion changes. Every
video comes with its ground-truth motion, and a pixel tracker measures the motion of generated
videos the same way.

Public names are imported lazily, so that importing the plugin (and the `latentmotion` CLI) does
not load torch.
"""

from __future__ import annotations

from latentmotion.lazy import lazy_exports

__version__ = "0.3.0"

_EXPORTS = {
    "SHAPE_KINDS": "latentmotion_toyworld.config",
    "VARIANTS": "latentmotion_toyworld.config",
    "WorldConfig": "latentmotion_toyworld.config",
    "Content": "latentmotion_toyworld.scene",
    "Motion": "latentmotion_toyworld.scene",
    "Scene": "latentmotion_toyworld.scene",
    "sample_scenes": "latentmotion_toyworld.scene",
    "render_scenes": "latentmotion_toyworld.render",
    "render_frames": "latentmotion_toyworld.world",
    "render_videos": "latentmotion_toyworld.world",
    "displacements": "latentmotion_toyworld.tracking",
    "estimate_background": "latentmotion_toyworld.tracking",
    "foreground_masks": "latentmotion_toyworld.tracking",
    "object_colours": "latentmotion_toyworld.tracking",
    "track_centroids": "latentmotion_toyworld.tracking",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__ = lazy_exports(__name__, _EXPORTS)
