"""The protocol of a figure: everything that decides its value, recorded beside it.

FVD numbers from different codebases cannot be compared: detector weights, clip length and
sampling, number of videos and resolution all change them. Every figure latentmotion computes
comes as a [Figure][latentmotion.metrics.protocol.Figure] holding its
[Protocol][latentmotion.metrics.protocol.Protocol].
"""

from __future__ import annotations

from typing import Any

import attrs

from latentmotion.errors import ConfigError

STYLEGAN_V_VIDEOS = 2048
"""Real and generated videos of StyleGAN-V's FVD (one clip per video)."""

FVD_CLIPS = {"fvd16": (16, 1), "fvd128": (128, 1), "fvd128-subsample8": (16, 8)}
"""Each FVD of StyleGAN-V by our name: (frames per clip, stride between them). StyleGAN-V names
them `fvd2048_16f`, `fvd2048_128f` and `fvd2048_128f_subsample8f`."""


def _at_least_one(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{attribute.name} must be an integer >= 1, got {value!r}")


@attrs.frozen
class Protocol:
    """How a figure was computed.

    Attributes:
        metric: The figure's name (`fvd16`, `fvd128`, `acd-colour`, ...).
        detector: The network features come from: the weights file's name, or the feature's name
            (`mean-colour`) when there is no network.
        detector_sha256: The sha256 of the detector's weights file; None without one.
        n_videos: Videos of each set (one clip each).
        n_frames: Frames per clip.
        stride: Distance between clip frames in source frames (StyleGAN-V's subsample factor).
        resolution: Side of the frames compared, in pixels, before the detector resizes them.
        seed: Seed of the real clips' start frames and of the generated videos.
        detector_size: Side in pixels of the frames the detector sees (FVD: 224); None when
            frames are not resized.
    """

    metric: str
    detector: str
    detector_sha256: str | None
    n_videos: int = attrs.field(validator=_at_least_one)
    n_frames: int = attrs.field(validator=_at_least_one)
    stride: int = attrs.field(validator=_at_least_one)
    resolution: int = attrs.field(validator=_at_least_one)
    seed: int = 0
    detector_size: int | None = None

    @property
    def clip_span(self) -> int:
        """Source frames a clip covers: `n_frames * stride` (StyleGAN-V discards shorter videos)."""
        return self.n_frames * self.stride

    def to_dict(self) -> dict[str, Any]:
        """The protocol as JSON-ready fields.

        Returns:
            Every attribute by name.
        """
        return attrs.asdict(self)

    def real_data_fields(self) -> dict[str, Any]:
        """The fields that decide the real videos' features (the cache key): all but the metric's name.

        Returns:
            Every attribute but `metric`.
        """
        fields = self.to_dict()
        del fields["metric"]
        return fields


@attrs.frozen
class Figure:
    """One figure with its protocol.

    Attributes:
        value: The figure.
        protocol: How it was computed.
        extra: Other facts about the run (e.g. whether the real features came from the cache).
    """

    value: float
    protocol: Protocol
    extra: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The figure as JSON-ready fields.

        Returns:
            `value`, `protocol` and the extra facts.
        """
        return {"value": self.value, "protocol": self.protocol.to_dict(), **self.extra}
