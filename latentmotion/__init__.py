"""latentmotion: turn any pretrained image GAN into a video generator.

Public names are imported lazily, so that `import latentmotion` (and the CLI) start without
loading torch.
"""

from __future__ import annotations

from latentmotion.lazy import lazy_exports

__version__ = "0.3.0"

_EXPORTS = {
    "ImageGeneratorBackend": "latentmotion.backend",
    "LatentSpace": "latentmotion.backend",
    "ModuleBackend": "latentmotion.module_backend",
    "hookimpl": "latentmotion.hookspecs",
    "get_backend": "latentmotion.plugins",
    "backends": "latentmotion.plugins",
    "pipelines": "latentmotion.plugins",
    "PCABasis": "latentmotion.basis",
    "MotionGenerator": "latentmotion.motion",
    "LatentMotionPipeline": "latentmotion.pipeline",
    "TrainConfig": "latentmotion.config",
    "Trainer": "latentmotion.train",
    "LatentMotionError": "latentmotion.errors",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__ = lazy_exports(__name__, _EXPORTS)
