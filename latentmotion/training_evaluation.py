"""Evaluation during training: the figures of [latentmotion.metrics][] every N iterations, into the run's log.

The trainer ([Trainer][latentmotion.train.Trainer]) builds one
[TrainingEvaluation][latentmotion.training_evaluation.TrainingEvaluation] when
`evaluation.every` is set ([EvaluationOptions][latentmotion.config.EvaluationOptions]) and
calls it with its current pipeline. The networks are loaded once, at the start, so a missing
detector stops the run before it trains; the real features are computed once and read back from
the run folder's cache afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from latentmotion.config import EvaluationOptions
from latentmotion.errors import ConfigError
from latentmotion.metrics.cache import FeatureCache
from latentmotion.metrics.evaluate import evaluate
from latentmotion.metrics.i3d import load_i3d
from latentmotion.metrics.inception import load_inception
from latentmotion.metrics.lpips import load_lpips
from latentmotion.metrics.protocol import FVD_CLIPS

if TYPE_CHECKING:
    from latentmotion.pipeline import LatentMotionPipeline

CACHE_DIR = "metrics-cache"
"""Folder of the run that keeps the real videos' features between evaluations."""


class TrainingEvaluation:
    """The figures of `[evaluation]` for a trainer's current pipeline, as log entries.

    Args:
        options: The run's `[evaluation]` options.
        data: The run's `data.path`, the real videos when `options.data` is None.
        run_dir: The run folder; the real features are cached in its `metrics-cache/`.

    Raises:
        ConfigError: No folder of real videos, or a metric without the network it needs.
        CheckpointError: The detector's or the FID network's weights cannot be read.
    """

    def __init__(self, options: EvaluationOptions, *, data: str | None, run_dir: str | os.PathLike[str]) -> None:
        folder = options.data or data
        if folder is None or not Path(folder).is_dir():
            raise ConfigError(f"evaluation.every is set, but the real videos {folder!r} are not a folder: set evaluation.data (or data.path) to a folder of videos")
        fvd = [name for name in options.metrics if name in FVD_CLIPS]
        if fvd and options.detector is None:
            raise ConfigError(f"evaluation.metrics has {', '.join(fvd)}, which needs the I3D detector: set evaluation.detector to its weights (see latentmotion evaluate --detector)")
        if "fid" in options.metrics and options.inception is None:
            raise ConfigError("evaluation.metrics has fid, which needs the Inception network: set evaluation.inception to its weights (see latentmotion evaluate --inception)")
        if options.lpips is not None and "prediction" not in options.metrics:
            raise ConfigError("evaluation.lpips is set, but evaluation.metrics has no prediction, the metric LPIPS scores: add prediction or unset evaluation.lpips")
        self.options = options
        self.data = Path(folder)
        self.detector = load_i3d(options.detector) if options.detector is not None else None
        self.inception = load_inception(options.inception) if options.inception is not None else None
        self.lpips = load_lpips(options.lpips) if options.lpips is not None else None
        self.cache = FeatureCache(Path(run_dir) / CACHE_DIR)

    def __call__(self, pipeline: LatentMotionPipeline) -> dict[str, float]:
        """Measure the pipeline; training's random state is left as it was.

        Args:
            pipeline: The trainer's current pipeline.

        Returns:
            `{"eval/<metric>": value}` for every figure.
        """
        devices = [pipeline.device] if pipeline.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            figures = evaluate(
                pipeline,
                self.data,
                metrics=self.options.metrics,
                detector=self.detector,
                inception=self.inception,
                lpips=self.lpips,
                n_videos=self.options.n_videos,
                seed=self.options.seed,
                resize_real=True,
                cache=self.cache,
            )
        return {f"eval/{name}": figure.value for name, figure in figures.items()}
