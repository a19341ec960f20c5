"""StyleGAN2(-ADA) generators as a latentmotion backend, loaded safely from NVlabs and rosinality checkpoints.

Public names are imported lazily, so that importing the plugin (and the `latentmotion` CLI) does
not load torch.
"""

from __future__ import annotations

from latentmotion.lazy import lazy_exports

__version__ = "0.3.0"

_EXPORTS = {
    "StyleGAN2Backend": "latentmotion_stylegan2.backend",
    "load_stylegan2": "latentmotion_stylegan2.backend",
    "Generator": "latentmotion_stylegan2.networks",
    "GeneratorConfig": "latentmotion_stylegan2.networks",
    "load_generator": "latentmotion_stylegan2.checkpoints",
    "save_generator": "latentmotion_stylegan2.checkpoints",
    "convert": "latentmotion_stylegan2.checkpoints",
    "project": "latentmotion_stylegan2.projector",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__ = lazy_exports(__name__, _EXPORTS)
