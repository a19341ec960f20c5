"""TensorBoard beside the JSONL log: a run's losses, figures and preview videos (optional: `pip install tensorboard`).

With `run.tensorboard` set, the trainer writes every record of `log.jsonl` as scalars and every
preview as an animated image into `RUN/tensorboard/`; `tensorboard --logdir RUN/tensorboard` shows
them. The JSONL log stays the record `latentmotion plot` and resuming read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from einops import rearrange

from latentmotion.errors import ConfigError
from latentmotion.video import write_video

INSTALL_HINT = "pip install 'latentmotion[tensorboard]' (or pip install tensorboard)"
"""How to install what `run.tensorboard` needs."""


class TensorBoardLog:
    """Write a run's log records and previews as TensorBoard events.

    Args:
        folder: The events folder, `RUN/tensorboard`.
        resume_step: The iteration a resumed run continues from: events written after it (by
            the run that stopped) are purged, as `log.jsonl` drops its lines; None for a new run.

    Raises:
        ConfigError: The `tensorboard` package is not installed.
    """

    def __init__(self, folder: str | os.PathLike[str], *, resume_step: int | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(f"run.tensorboard needs the tensorboard package, which is not installed: {INSTALL_HINT}") from None
        self.writer = SummaryWriter(str(folder), purge_step=None if resume_step is None else resume_step + 1)

    def scalars(self, record: dict[str, Any]) -> None:
        """Write the numbers of one log record at its step.

        Args:
            record: A `log.jsonl` record: `step`, then names and values (`g/total`, `eval/fvd16`, ...).
        """
        step = record["step"]
        for name, value in record.items():
            if name != "step" and isinstance(value, int | float):
                self.writer.add_scalar(name, value, step)
        self.writer.flush()

    def video(self, tag: str, videos: torch.Tensor, *, step: int, fps: float) -> None:
        """Write videos side by side as one animated GIF image.

        Args:
            tag: The image's name, e.g. `"preview"`.
            videos: `[B, T, 3, H, W]` videos in `[-1, 1]`.
            step: The iteration.
            fps: Frames per second.
        """
        from tensorboard.compat.proto.summary_pb2 import Summary

        row = rearrange(videos.float().cpu(), "b t c h w -> t c h (b w)")  # [T, 3, H, B W]
        with tempfile.TemporaryDirectory() as scratch:
            gif = write_video(Path(scratch) / "preview.gif", row, fps=fps).read_bytes()
        height, width = row.shape[-2:]
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=gif)
        # SummaryWriter.add_video makes this same GIF summary, but through moviepy
        self.writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the events file."""
        self.writer.close()
