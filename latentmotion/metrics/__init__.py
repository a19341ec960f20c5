"""Video metrics with their protocols: FVD (StyleGAN-V's), FID on frames, ACD, LPIPS, single-image prediction.

One concept per module: [frechet][latentmotion.metrics.frechet] (the distance and running
statistics), [i3d][latentmotion.metrics.i3d] (the detector network and its weight files),
[inception][latentmotion.metrics.inception] (the FID network and its weight files),
[weights][latentmotion.metrics.weights] (reading those files safely, and their sha256),
[fvd][latentmotion.metrics.fvd] (clips and their preprocessing), [acd][latentmotion.metrics.acd],
[lpips][latentmotion.metrics.lpips] (LPIPS on our VGG16 port and its weight files),
[prediction][latentmotion.metrics.prediction] (video from a single image, scored as prediction),
[protocol][latentmotion.metrics.protocol] (what every figure records),
[cache][latentmotion.metrics.cache] (real-data features on disk) and
[evaluate][latentmotion.metrics.evaluate] (a pipeline against a data folder). Names are imported
lazily, so that importing the package loads no torch.
"""

from __future__ import annotations

from latentmotion.lazy import lazy_exports

_EXPORTS = {
    "evaluate": "latentmotion.metrics.evaluate",
    "METRICS": "latentmotion.metrics.evaluate",
    "Figure": "latentmotion.metrics.protocol",
    "Protocol": "latentmotion.metrics.protocol",
    "FeatureCache": "latentmotion.metrics.cache",
    "FeatureStatistics": "latentmotion.metrics.frechet",
    "frechet_distance": "latentmotion.metrics.frechet",
    "InceptionI3d": "latentmotion.metrics.i3d",
    "I3DConfig": "latentmotion.metrics.i3d",
    "load_i3d": "latentmotion.metrics.i3d",
    "convert_torchscript": "latentmotion.metrics.i3d",
    "FIDInception": "latentmotion.metrics.inception",
    "load_inception": "latentmotion.metrics.inception",
    "acd": "latentmotion.metrics.acd",
    "VGGPerceptualLoss": "latentmotion.metrics.lpips",
    "load_lpips": "latentmotion.metrics.lpips",
    "convert_vgg16_lpips": "latentmotion.metrics.lpips",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
