"""Evaluate a pipeline against a folder of real videos: FVD16, FVD128, FID, ACD, single-image prediction, each with its protocol.

    from latentmotion.metrics import evaluate
    figures = evaluate(pipeline, "data/", metrics=["fvd16", "acd"], detector="i3d.safetensors")
    figures["fvd16"].value, figures["fvd16"].protocol

The CLI's `latentmotion evaluate` calls [evaluate][latentmotion.metrics.evaluate.evaluate].
Every input is checked before any feature is computed: the metric names, the networks' weights,
the number and length of the real videos, and the size of their frames.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import torch
from einops import rearrange

from latentmotion.data import VideoSource
from latentmotion.errors import ConfigError
from latentmotion.metrics.acd import Embedding, Pairs, acd
from latentmotion.metrics.cache import FeatureCache
from latentmotion.metrics.frechet import FeatureStatistics, statistics_distance
from latentmotion.metrics.fvd import (
    DETECTOR_SIZE,
    accumulate,
    check_frame_sizes,
    clips_per_batch,
    generated_clips,
    preprocess,
    real_clips,
    select_real_videos,
)
from latentmotion.metrics.i3d import InceptionI3d, load_i3d
from latentmotion.metrics.inception import INCEPTION_SIZE, FIDInception, load_inception
from latentmotion.metrics.inception import preprocess as inception_preprocess
from latentmotion.metrics.lpips import VGGPerceptualLoss, load_lpips
from latentmotion.metrics.prediction import PredictionTotals, as_float_clips, mean_after_first, predict
from latentmotion.metrics.protocol import FVD_CLIPS, STYLEGAN_V_VIDEOS, Figure, Protocol
from latentmotion.metrics.weights import LoadedNetwork, NetworkT
from latentmotion.progress import progress_bar

if TYPE_CHECKING:
    from latentmotion.pipeline import LatentMotionPipeline

METRICS = (*FVD_CLIPS, "fid", "acd", "prediction")
"""Metric names [evaluate][latentmotion.metrics.evaluate.evaluate] knows."""

FID_FRAMES = 16
"""Frames per video of the FID: every frame of one 16-frame clip of each video."""

FID_CLIPS_PER_BATCH = 4
"""Clips whose frames go through the FID network at a time (64 frames)."""

PREDICTION_FRAMES = 16
"""Frames of the clips the single-image prediction is compared with."""

PREDICTION_CLIPS_PER_BATCH = 8
"""Clips inverted and animated at a time."""

ACD_FRAMES = 16
"""Frames per clip of the ACD (MoCoGAN-HD's videos)."""


def evaluate(
    pipeline: LatentMotionPipeline,
    data: str | os.PathLike[str],
    *,
    metrics: Sequence[str] = ("fvd16",),  # names from METRICS
    detector: str | os.PathLike[str] | LoadedNetwork[InceptionI3d] | None = None,  # I3D weights: file, folder, Hub repo or loaded
    inception: str | os.PathLike[str] | LoadedNetwork[FIDInception] | None = None,  # FID Inception weights: file, folder, Hub repo or loaded
    lpips: str | os.PathLike[str] | LoadedNetwork[VGGPerceptualLoss] | None = None,  # VGG16 + LPIPS weights (prediction): file, folder, Hub repo or loaded
    n_videos: int = STYLEGAN_V_VIDEOS,  # real and generated videos, one clip each
    seed: int = 0,  # real clip starts and generated videos
    resize_real: bool = False,  # resize real frames of another size instead of refusing them
    cache: FeatureCache | None = None,  # real-feature cache; None: no cache
    device: torch.device | str | None = None,  # where the detector runs (default: the pipeline's device)
    detector_size: int = DETECTOR_SIZE,  # side of the detector's frames
    inception_size: int = INCEPTION_SIZE,  # side of the FID network's frames
    acd_pairs: Pairs = "all",  # frame pairs of the ACD
    acd_embedding: Embedding | None = None,  # image-embedding network of the ACD; None: mean colour
    inversion_steps: int = 300,  # optimisation steps of the prediction's inversion
    progress: bool = False,  # progress bars on stderr
) -> dict[str, Figure]:
    """Compute figures of a pipeline's videos against real ones, each with its protocol.

    Args:
        pipeline: The generator evaluated.
        data: Folder of real videos (video files or folders of frames).
        metrics: Figures to compute: `fvd16`, `fvd128`, `fvd128-subsample8`, `fid`, `acd`, and
            `prediction` (video from the first frame of each real clip, see
            [latentmotion.metrics.prediction][]: figures `prediction-psnr`, `prediction-ssim`,
            `first-frame-psnr`, `prediction-lpips` given LPIPS weights, and `prediction-fvd16`
            given a detector).
        detector: The I3D weights (FVD only): a safetensors or piergiaj state-dict file, a folder
            or Hub repo holding one, or an already loaded detector.
        inception: The FID Inception weights (FID only): a safetensors or pytorch-fid state-dict
            file (`pt_inception-2015-12-05-6726825d.pth`), a folder or Hub repo holding one, or an
            already loaded network.
        lpips: The VGG16 + LPIPS weights (prediction only): a safetensors file (see
            [convert_vgg16_lpips][latentmotion.metrics.lpips.convert_vgg16_lpips]), a folder or
            Hub repo holding `vgg16-lpips.safetensors`, or an already loaded network.
        n_videos: Videos of each set (StyleGAN-V: 2,048).
        seed: Seed of the real clips' starts and of the generated videos.
        resize_real: Centre-crop and resize real frames whose size differs from the pipeline's
            resolution (else they are refused).
        cache: Where real-data features are kept between evaluations; None computes them afresh.
        device: Where the detector runs.
        detector_size: Side of the frames the detector sees (224 for the real protocol; smaller
            only for tests).
        inception_size: Side of the frames the FID network sees (299; smaller only for tests).
        acd_pairs: `"all"` or `"consecutive"` frames for the ACD.
        acd_embedding: An image-embedding network for the ACD (default: mean colour).
        inversion_steps: Optimisation steps inverting each first frame (`prediction`).
        progress: Show progress bars on stderr.

    Returns:
        Each metric's [Figure][latentmotion.metrics.protocol.Figure], by name.

    Raises:
        ConfigError: An unknown metric, no detector for FVD or network for FID, LPIPS weights
            without the prediction metric, or a pipeline of another resolution than the protocol's.
        CheckpointError: The detector's, FID network's or LPIPS network's weights are missing,
            corrupt or of another architecture.
        DatasetError: Too few real videos long enough, unreadable frames, or real frames of
            another size.
    """
    metrics = list(dict.fromkeys(metrics))
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric {', '.join(map(repr, unknown))}; choose from {', '.join(METRICS)}")
    if not metrics:
        raise ConfigError(f"no metric asked for; choose from {', '.join(METRICS)}")
    if n_videos < 2:
        raise ConfigError(f"n_videos must be at least 2 (a covariance needs two), got {n_videos}")
    fvds = [name for name in metrics if name in FVD_CLIPS]
    loaded: LoadedNetwork[InceptionI3d] | None = None
    if fvds:
        if detector is None:
            raise ConfigError("FVD needs the I3D detector's weights: pass detector= (the CLI's --detector); see docs/evaluation.md")
        loaded = _loaded(detector, InceptionI3d, load_i3d, what="detector")
    elif "prediction" in metrics and detector is not None:  # the prediction's FVD16
        loaded = _loaded(detector, InceptionI3d, load_i3d, what="detector")
    fid_network: LoadedNetwork[FIDInception] | None = None
    if "fid" in metrics:
        if inception is None:
            raise ConfigError("FID needs the Inception network's weights: pass inception= (the CLI's --inception); see docs/evaluation.md")
        fid_network = _loaded(inception, FIDInception, load_inception, what="inception")
    lpips_network: LoadedNetwork[VGGPerceptualLoss] | None = None
    if lpips is not None:
        if "prediction" not in metrics:
            raise ConfigError("LPIPS weights are used by the prediction metric only: add it to metrics (the CLI's --metric prediction) or leave lpips out")
        lpips_network = _loaded(lpips, VGGPerceptualLoss, load_lpips, what="lpips")
    device = torch.device(device) if device is not None else pipeline.device
    resolution = pipeline.backend.resolution
    protocols = {
        name: Protocol(
            metric=name,
            detector=loaded.name,
            detector_sha256=loaded.sha256,
            n_videos=n_videos,
            n_frames=FVD_CLIPS[name][0],
            stride=FVD_CLIPS[name][1],
            resolution=resolution,
            seed=seed,
            detector_size=detector_size,
        )
        for name in fvds
        if loaded is not None
    }
    if fid_network is not None:
        protocols["fid"] = Protocol(
            metric="fid",
            detector=fid_network.name,
            detector_sha256=fid_network.sha256,
            n_videos=n_videos,
            n_frames=FID_FRAMES,
            stride=1,
            resolution=resolution,
            seed=seed,
            detector_size=inception_size,
        )
    if "prediction" in metrics:
        protocols["prediction"] = Protocol(
            metric="prediction",
            detector=f"inversion, {inversion_steps} steps",
            detector_sha256=None,
            n_videos=n_videos,
            n_frames=PREDICTION_FRAMES,
            stride=1,
            resolution=resolution,
            seed=seed,
        )
    if "acd" in metrics:
        protocols["acd"] = Protocol(
            metric="acd",
            detector="mean-colour" if acd_embedding is None else getattr(acd_embedding, "name", type(acd_embedding).__name__),
            detector_sha256=None,
            n_videos=n_videos,
            n_frames=ACD_FRAMES,
            stride=1,
            resolution=resolution,
            seed=seed,
        )
    real_videos = {name: select_real_videos(data, protocol) for name, protocol in protocols.items()}  # every check before any work
    if not resize_real:
        checked = set()
        for name, videos in real_videos.items():
            check_frame_sizes([source for source in videos if source not in checked], protocols[name])
            checked |= set(videos)

    figures: dict[str, Figure] = {}
    for name in metrics:
        protocol = protocols[name]
        if name == "acd":
            figures[name] = _acd_figure(pipeline, real_videos[name], protocol, embed=acd_embedding, pairs=acd_pairs, resize_real=resize_real, progress=progress)
            continue
        if name == "prediction":
            figures.update(
                _prediction_figures(
                    pipeline, real_videos[name], protocol, steps=inversion_steps, detector=loaded, detector_size=detector_size,
                    lpips=lpips_network, device=device, resize_real=resize_real, progress=progress,
                )
            )  # fmt: skip
            continue
        if name == "fid":
            assert fid_network is not None
            network = fid_network.network.to(device)
            batch = FID_CLIPS_PER_BATCH
            prepare = partial(_frames_for_inception, size=inception_size)
        else:
            assert loaded is not None
            network = loaded.network.to(device)
            batch = clips_per_batch(protocol.n_frames)
            prepare = partial(preprocess, size=detector_size)
        real = cache.load(data, protocol) if cache is not None else None
        cached = real is not None
        if real is None:
            with progress_bar(f"{name}: real clips", total=protocol.n_videos, enabled=progress, transient=True) as advance:
                clips = real_clips(real_videos[name], protocol, batch_size=batch, resize=resize_real)
                real = accumulate(clips, network, device=device, advance=advance, prepare=prepare)
            if cache is not None:
                cache.save(data, protocol, real)
        with progress_bar(f"{name}: generated clips", total=protocol.n_videos, enabled=progress, transient=True) as advance:
            fake = accumulate(generated_clips(pipeline, protocol, batch_size=batch), network, device=device, advance=advance, prepare=prepare)
        figures[name] = Figure(value=statistics_distance(fake, real), protocol=protocol, extra={"real_features_cached": cached, "data": str(Path(data))})
    return figures


def _frames_for_inception(clips: torch.Tensor, *, size: int) -> torch.Tensor:
    """Every frame of a batch of clips, as the FID network takes them."""
    return inception_preprocess(rearrange(clips, "b t c h w -> (b t) c h w"), size=size)


def _loaded(source: Any, kind: type[NetworkT], load: Callable[[Any], LoadedNetwork[NetworkT]], *, what: str) -> LoadedNetwork[NetworkT]:
    """A network given loaded, checked to be of `kind`, or loaded from a file, folder or Hub repo.

    Args:
        source: A [LoadedNetwork][latentmotion.metrics.weights.LoadedNetwork] or what `load` reads.
        kind: The network class the figure needs.
        load: The loader of that network's weights.
        what: The argument's name, for the message.

    Returns:
        The loaded network.

    Raises:
        ConfigError: A loaded network of another kind.
    """
    if not isinstance(source, LoadedNetwork):
        return load(source)
    if not isinstance(source.network, kind):
        raise ConfigError(f"{what}= needs {kind.__name__} weights, got a loaded {type(source.network).__name__} ({source.name})")
    return source


def _prediction_figures(
    pipeline: LatentMotionPipeline,
    videos: list[VideoSource],
    protocol: Protocol,
    *,
    steps: int,
    detector: LoadedNetwork[InceptionI3d] | None,
    detector_size: int,
    lpips: LoadedNetwork[VGGPerceptualLoss] | None,
    device: torch.device,
    resize_real: bool,
    progress: bool,
) -> dict[str, Figure]:
    """PSNR, SSIM and LPIPS per frame of videos predicted from each real clip's first frame; the first frame's PSNR; their FVD16."""
    totals = PredictionTotals(lpips=None if lpips is None else lpips.network.to(device))
    real_statistics: FeatureStatistics | None = None
    predicted_statistics: FeatureStatistics | None = None
    batches = as_float_clips(real_clips(videos, protocol, batch_size=PREDICTION_CLIPS_PER_BATCH, resize=resize_real))
    with progress_bar("prediction: inverting and animating", total=protocol.n_videos, enabled=progress, transient=True) as advance:
        for index, clips in enumerate(batches):
            predicted = predict(pipeline, clips[:, 0], n_frames=protocol.n_frames, steps=steps, seed=protocol.seed + index)
            totals.update(predicted, clips)
            if detector is not None:
                network = detector.network.to(device)
                with torch.no_grad():
                    real_features = network(preprocess(clips, size=detector_size).to(device))
                    predicted_features = network(preprocess(predicted, size=detector_size).to(device))
                real_statistics = real_statistics or FeatureStatistics(real_features.shape[1])
                predicted_statistics = predicted_statistics or FeatureStatistics(predicted_features.shape[1])
                real_statistics.update(real_features)
                predicted_statistics.update(predicted_features)
            advance(len(clips))
    means = totals.per_frame()
    figures = {
        "prediction-psnr": Figure(value=mean_after_first(means.psnr), protocol=protocol, extra={"per_frame": means.psnr, "unit": "dB"}),
        "prediction-ssim": Figure(value=mean_after_first(means.ssim), protocol=protocol, extra={"per_frame": means.ssim}),
        "first-frame-psnr": Figure(value=means.psnr[0], protocol=protocol, extra={"unit": "dB"}),
    }
    if lpips is not None and means.lpips is not None:
        limit = lpips.network.max_resolution
        lpips_protocol = attrs.evolve(
            protocol, metric="prediction-lpips", detector=lpips.name, detector_sha256=lpips.sha256,
            detector_size=limit if limit is not None and protocol.resolution > limit else None,
        )  # fmt: skip
        figures["prediction-lpips"] = Figure(value=mean_after_first(means.lpips), protocol=lpips_protocol, extra={"per_frame": means.lpips, "inversion_steps": steps})
    if detector is not None and real_statistics is not None and predicted_statistics is not None:
        fvd_protocol = attrs.evolve(protocol, metric="prediction-fvd16", detector=detector.name, detector_sha256=detector.sha256, detector_size=detector_size)
        figures["prediction-fvd16"] = Figure(value=statistics_distance(predicted_statistics, real_statistics), protocol=fvd_protocol, extra={"inversion_steps": steps})
    return figures


def _acd_figure(
    pipeline: LatentMotionPipeline,
    videos: list[VideoSource],
    protocol: Protocol,
    *,
    embed: Embedding | None,
    pairs: Pairs,
    resize_real: bool,
    progress: bool,
) -> Figure:
    """The ACD of generated videos, with the real videos' ACD under the same protocol beside it."""
    batch = 16
    generated: list[torch.Tensor] = []
    real: list[torch.Tensor] = []
    with progress_bar("acd", total=2 * protocol.n_videos, enabled=progress, transient=True) as advance:
        for clips in generated_clips(pipeline, protocol, batch_size=batch):
            generated.append(acd(clips, embed=embed, pairs=pairs))
            advance(len(clips))
        for clips in real_clips(videos, protocol, batch_size=batch, resize=resize_real):
            floats = clips.float() / 127.5 - 1 if clips.dtype == torch.uint8 else clips
            real.append(acd(floats, embed=embed, pairs=pairs))
            advance(len(clips))
    return Figure(value=float(torch.cat(generated).mean()), protocol=protocol, extra={"pairs": pairs, "real_value": float(torch.cat(real).mean())})
