"""Named random streams: one seed, several independent, reproducible streams of random numbers.

    rng = stream_generator(seed, Stream.CONTENT)           # content codes of `generate`
    rng = stream_generator(seed, Stream.CLIPS, index=epoch) # one stream per epoch of the sampler

Each stream is a CPU `torch.Generator` seeded from `numpy.random.SeedSequence([seed, stream + index])`,
so different streams of one seed are uncorrelated and a stream never depends on how many numbers
another one drew.
"""

from __future__ import annotations

import enum

import numpy as np
import torch


class Stream(enum.IntEnum):
    """What a stream draws; the values are part of every seed's meaning, so they never change."""

    CONTENT = 0  # content codes of generated videos
    MOTION = 1  # motion noise of generated videos
    RENDER_NOISE = 2  # per-video generator noise of generated videos
    RANDOM_WALK = 7  # steps of the random-walk baseline of an evaluation
    TRAINING = 100  # a trainer's draws; index = the process's rank
    CLIPS = 1000  # the clip sampler's permutation and clip seeds; index = the epoch


def stream_generator(seed: int, stream: Stream, *, index: int = 0) -> torch.Generator:
    """A CPU generator for one independent random stream of a seed.

    Args:
        seed: The user's seed, >= 0.
        stream: What the stream draws.
        index: Which of the stream's members (a process's rank, an epoch), >= 0.

    Returns:
        A seeded `torch.Generator`.
    """
    state = np.random.SeedSequence([seed, int(stream) + index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)
