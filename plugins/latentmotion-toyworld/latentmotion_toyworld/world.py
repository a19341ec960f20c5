"""The toy video world: seeded short videos of one moving shape, with their ground-truth motion.

```python
from latentmotion_toyworld import WorldConfig, render_videos

videos, motion = render_videos(WorldConfig(variant="glow"), 8, seed=0)
videos.shape            # [8, 16, 3, 64, 64], in [-1, 1]
motion.positions.shape  # [8, 16, 2], object centre (x, y) in pixels
```
"""

from __future__ import annotations

import attrs
import torch

from latentmotion_toyworld.config import WorldConfig
from latentmotion_toyworld.render import render_scenes
from latentmotion_toyworld.scene import Motion, sample_scenes


def render_videos(config: WorldConfig, n: int, *, seed: int) -> tuple[torch.Tensor, Motion]:
    """Render `n` videos of the world and return them with their ground-truth motion.

    Args:
        config: The world.
        n: Number of videos.
        seed: Seed; the same seed gives the same videos, and the same motions in both variants.

    Returns:
        `[n, T, 3, H, W]` videos in `[-1, 1]`, and their [Motion][latentmotion_toyworld.scene.Motion].
    """
    scene = sample_scenes(config, n, seed=seed)
    return render_scenes(scene, config=config), scene.motion


def render_frames(config: WorldConfig, n: int, *, seed: int) -> torch.Tensor:
    """Render `n` independent frames of the world, the training images of an image GAN.

    Each frame is the first frame of a fresh video; since start positions and angles are uniform
    and the bouncing motion keeps them uniform, these frames follow the same distribution as
    every frame of the world's videos.

    Args:
        config: The world (`n_frames` is ignored).
        n: Number of frames.
        seed: Seed of the draw.

    Returns:
        `[n, 3, H, W]` images in `[-1, 1]`.
    """
    videos, _ = render_videos(attrs.evolve(config, n_frames=1), n, seed=seed)
    return videos[:, 0]
