"""Named random streams: one seed, several independent, reproducible streams of random numbers.

    rng = stream_generator(seed, Stream.CONTENT)           # content codes of `generate`
    rng = stream_generator(seed, Stream.CLIPS, index=epoch) # one stream per epoch of the sampler
    rngs = stream_generators(seed, Stream.MOTION, n_videos)  # one stream per generated video

Each stream is a CPU `torch.Generator` seeded from `numpy.random.SeedSequence([seed, stream + index])`,
so different streams of one seed are uncorrelated and a stream never depends on how many numbers
another one drew.
"""

from __future__ import annotations

import enum

import numpy as np
import torch

from latentmotion.errors import ConfigError


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

    Raises:
        ConfigError: `seed` is not an integer >= 0.
    """
    check_seed(seed)
    state = np.random.SeedSequence([seed, int(stream) + index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)


def stream_generators(seed: int, stream: Stream, count: int) -> list[torch.Generator]:
    """One CPU generator per member of a stream (one per video), each independent of `count`.

    Generator `i` is seeded from the `i`-th child of `numpy.random.SeedSequence([seed, stream])`,
    so the first videos draw the same numbers however many videos are drawn.

    Args:
        seed: The user's seed, >= 0.
        stream: What the streams draw.
        count: How many generators.

    Returns:
        `count` seeded `torch.Generator`s.

    Raises:
        ConfigError: `seed` is not an integer >= 0.
    """
    check_seed(seed)
    children = np.random.SeedSequence([seed, int(stream)]).spawn(count)
    return [torch.Generator().manual_seed(int(child.generate_state(1, dtype=np.uint64)[0]) & 0x7FFF_FFFF_FFFF_FFFF) for child in children]


def check_seed(seed: int, *, name: str = "seed") -> None:
    """Refuse a seed that is not an integer >= 0 (numpy's seed sequences take no negative entropy).

    Args:
        seed: The seed.
        name: What the seed is called where the user gave it, for the message.

    Raises:
        ConfigError: `seed` is negative, or not an integer.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"{name} must be an integer >= 0, got {seed!r}")
