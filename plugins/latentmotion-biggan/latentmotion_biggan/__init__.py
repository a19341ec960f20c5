"""latentmotion-biggan: BigGAN-deep as a class-conditional latentmotion backend.

Public names are imported lazily, so that importing the plugin (and the `latentmotion` CLI) does
not load torch.
"""

from __future__ import annotations

from latentmotion.lazy import lazy_exports

__version__ = "0.3.0"

_EXPORTS = {
    "BigGANBackend": "latentmotion_biggan.backend",
    "load_backend": "latentmotion_biggan.backend",
    "BigGANConfig": "latentmotion_biggan.config",
    "BigGANDeep": "latentmotion_biggan.network",
    "load_network": "latentmotion_biggan.weights",
    "convert_state_dict": "latentmotion_biggan.weights",
    "imagenet_class_names": "latentmotion_biggan.classes",
    "resolve_classes": "latentmotion_biggan.classes",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__ = lazy_exports(__name__, _EXPORTS)
