"""Training modes: what in-domain and cross-domain training do differently, one class each.

A mode owns the image discriminator D_I (its network and its optimiser), the view of a clip
that the video discriminator D_V scores, and the image losses of both steps. The trainer
([Trainer][latentmotion.train.Trainer]) is the same for every mode: it renders the fakes, runs
D_V, the penalty and the motion generator's own losses, and asks the mode for the rest.

With `video_discriminator.view = "differences"` (not in the paper), D_V sees each frame minus
the one before in both modes, `[B, 3, T-1, d, d]`, instead of the mode's own view below.

In-domain (motion and content from the same videos):
    D_V sees the first frame stacked on each later frame, `[B, 6, T-1, d, d]`.
    D_I scores `(frame 0 || frame t)` pairs; both steps use relativistic-average LSGAN.
Cross-domain (motion from videos of another domain than the image generator's):
    D_V sees the raw clip, `[B, 3, T, d, d]`.
    D_I is contrastive: augmented generated first frames are its "real" images and augmented
    generated frames t its "fake" ones. D: hinge + w (InfoNCE_real + InfoNCE_fake), then the
    EMA update; G: hinge + w_match L_f, and the EMA projections fill the queues.

A new mode is a subclass of [TrainingMode][latentmotion.modes.TrainingMode] added to
[MODES][latentmotion.modes.MODES].
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar

import torch
from einops import rearrange, repeat
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from latentmotion import losses
from latentmotion.augment import warp
from latentmotion.discriminators import (
    ContrastiveImageDiscriminator,
    PairImageDiscriminator,
)

if TYPE_CHECKING:
    from latentmotion.config import TrainConfig


class TrainingMode(abc.ABC):
    """What a training mode decides: D_I, its optimiser, D_V's view, and the image losses.

    Args:
        config: The run's configuration.
        resolution: Side of the frames the discriminators see.
    """

    name: ClassVar[str]
    """The mode's name in a configuration (`mode = "..."`)."""
    clip_channels: ClassVar[int]
    """Channels of one clip in the mode's own view, `clip_view`."""

    def __init__(self, config: TrainConfig, *, resolution: int) -> None:
        self.config = config
        self.resolution = resolution

    def video_view(self, clips: torch.Tensor) -> torch.Tensor:
        """D_V's view of clips: the mode's own (`clip_view`), or their frame differences when
        `video_discriminator.view` is `"differences"` (see [frame_differences][latentmotion.modes.frame_differences]).

        Args:
            clips: `[B, T, 3, d, d]` clips in `[-1, 1]`.

        Returns:
            `[B, view_channels, T', d, d]`, D_V's layout.
        """
        if self.config.video_discriminator.view == "differences":
            return frame_differences(clips)
        return self.clip_view(clips)

    @property
    def view_channels(self) -> int:
        """Channels of one clip in D_V's view."""
        return 3 if self.config.video_discriminator.view == "differences" else self.clip_channels

    @abc.abstractmethod
    def clip_view(self, clips: torch.Tensor) -> torch.Tensor:
        """The mode's own view of clips for D_V.

        Args:
            clips: `[B, T, 3, d, d]` clips in `[-1, 1]`.

        Returns:
            `[B, clip_channels, T', d, d]`, D_V's layout.
        """

    @abc.abstractmethod
    def image_discriminator(self) -> nn.Module:
        """Build D_I at its initial weights.

        Returns:
            The network.
        """

    @abc.abstractmethod
    def image_optimizer(self, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
        """The optimiser of D_I.

        Args:
            parameters: D_I's trainable weights.

        Returns:
            The optimiser.
        """

    @abc.abstractmethod
    def generator_losses(
        self, image_d: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """The generator's image losses, each already weighted, keyed `g/...`.

        Args:
            image_d: D_I (frozen during the step; possibly wrapped for distributed training).
            real: `[B, T, 3, d, d]` real clips.
            fake: `[B, T, 3, d, d]` generated clips, attached to the motion generator's graph.
            generator: Random number generator of the step's draws.

        Returns:
            The losses; their sum is minimised.
        """

    @abc.abstractmethod
    def discriminator_losses(
        self, image_d: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """D_I's losses, each already weighted, keyed `d/...`.

        Args:
            image_d: D_I (possibly wrapped for distributed training).
            real: `[B, T, 3, d, d]` real clips.
            fake: `[B, T, 3, d, d]` generated clips, detached.
            generator: Random number generator of the step's draws.

        Returns:
            The losses; their sum is minimised (none: D_I is not updated).
        """

    def after_discriminator_step(self, image_d: nn.Module) -> None:
        """Work after an update of D_I (nothing by default).

        Args:
            image_d: D_I, unwrapped.
        """

    def _random_frame(self, generator: torch.Generator) -> int:
        """A later frame index `t` in `[1, T)`, the frame D_I compares with frame 0."""
        return int(torch.randint(1, self.config.data.n_frames, (), generator=generator))


class InDomain(TrainingMode):
    """Motion and content from the same videos: a PatchGAN D_I on `(frame 0 || frame t)` pairs."""

    name = "in-domain"
    clip_channels = 6

    def clip_view(self, clips: torch.Tensor) -> torch.Tensor:
        """The first frame stacked on each later frame (see the base class).

        Args:
            clips: `[B, T, 3, d, d]` clips in `[-1, 1]`.

        Returns:
            `[B, 6, T-1, d, d]`.
        """
        return stack_first_frame(clips)

    def image_discriminator(self) -> nn.Module:
        """A multi-scale 2D PatchGAN on 6-channel pairs.

        Returns:
            The network.
        """
        options = self.config.image_discriminator
        return PairImageDiscriminator(in_channels=6, channels=options.channels, layers=options.layers, scales=options.scales)

    def image_optimizer(self, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
        """Adam with the discriminators' rate and the run's betas.

        Args:
            parameters: D_I's trainable weights.

        Returns:
            The optimiser.
        """
        return torch.optim.Adam(parameters, lr=self.config.optim.d_lr, betas=self.config.optim.betas)

    def generator_losses(
        self, image_d: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """`g/image`: the relativistic LSGAN loss of the generator on pairs (see the base class).

        Args:
            image_d: D_I.
            real: `[B, T, 3, d, d]` real clips.
            fake: `[B, T, 3, d, d]` generated clips.
            generator: Random number generator of the step's draws.

        Returns:
            The losses.
        """
        if not self.config.image_discriminator.enabled:
            return {}
        real_scores, fake_scores = self._pair_scores(image_d, real, fake, self._random_frame(generator))
        return {"g/image": losses.ralsgan_generator_loss([scores.detach() for scores in real_scores], fake_scores)}

    def discriminator_losses(
        self, image_d: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """`d/image`: the relativistic LSGAN loss of the discriminator on pairs (see the base class).

        Args:
            image_d: D_I.
            real: `[B, T, 3, d, d]` real clips.
            fake: `[B, T, 3, d, d]` generated clips.
            generator: Random number generator of the step's draws.

        Returns:
            The losses.
        """
        if not self.config.image_discriminator.enabled:
            return {}
        real_scores, fake_scores = self._pair_scores(image_d, real, fake, self._random_frame(generator))
        return {"d/image": losses.ralsgan_discriminator_loss(real_scores, fake_scores)}

    @staticmethod
    def _pair_scores(image_d: nn.Module, real: torch.Tensor, fake: torch.Tensor, t: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """D_I's scores of real and fake `(frame 0 || frame t)` pairs, in one forward pass, per scale."""
        scores = image_d(torch.cat([_pair(real, t), _pair(fake, t)]))
        return [s[: len(real)] for s in scores], [s[len(real) :] for s in scores]


class CrossDomain(TrainingMode):
    """Motion from videos of another domain: a contrastive D_I on generated frames alone."""

    name = "cross-domain"
    clip_channels = 3

    def clip_view(self, clips: torch.Tensor) -> torch.Tensor:
        """The raw clip (see the base class).

        Args:
            clips: `[B, T, 3, d, d]` clips in `[-1, 1]`.

        Returns:
            `[B, 3, T, d, d]`.
        """
        return rearrange(clips, "b t c h w -> b c t h w")

    def image_discriminator(self) -> nn.Module:
        """An SN ResNet with a projection head, its EMA copy and two queues.

        Returns:
            The network.
        """
        options = self.config.contrastive
        return ContrastiveImageDiscriminator(
            resolution=self.resolution,
            channels=options.channels,
            proj_dim=options.proj_dim,
            queue_size=options.queue_size,
            momentum=options.ema_momentum,
        )

    def image_optimizer(self, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
        """Adam with the discriminators' rate and the contrastive D_I's betas and epsilon.

        Args:
            parameters: D_I's trainable weights (not its EMA copy).

        Returns:
            The optimiser.
        """
        options = self.config.contrastive
        return torch.optim.Adam(parameters, lr=self.config.optim.d_lr, betas=options.betas, eps=options.eps)

    def generator_losses(
        self, image_d: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """`g/image` (hinge on frames t) and `g/match` (w_match L_f); then the queues are filled.

        Args:
            image_d: D_I.
            real: `[B, T, 3, d, d]` real clips (unused: D_I never sees real videos).
            fake: `[B, T, 3, d, d]` generated clips.
            generator: Random number generator of the step's draws.

        Returns:
            The losses.
        """
        if not self.config.contrastive.enabled:
            return {}
        t = self._random_frame(generator)
        first, frame_t = warp(fake[:, 0], generator=generator), warp(fake[:, t], generator=generator)
        logits, projections = image_d(torch.cat([frame_t, first]))
        n = len(fake)
        network = _unwrap(image_d)
        network.enqueue(network.ema_projections(first), network.ema_projections(frame_t))
        return {
            "g/image": losses.hinge_generator_loss(logits[:n]),
            "g/match": self.config.contrastive.match_weight * losses.feature_matching_loss(projections[:n], projections[n:]),
        }

    def discriminator_losses(
        self, image_d: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """`d/image` (hinge: first frames real, frames t fake) and `d/contrastive` (w InfoNCE of each).

        Args:
            image_d: D_I.
            real: `[B, T, 3, d, d]` real clips (unused: D_I never sees real videos).
            fake: `[B, T, 3, d, d]` generated clips.
            generator: Random number generator of the step's draws.

        Returns:
            The losses.
        """
        if not self.config.contrastive.enabled:
            return {}
        t = self._random_frame(generator)
        views = torch.cat([warp(frames, generator=generator) for frames in (fake[:, 0], fake[:, 0], fake[:, t], fake[:, t])])
        logits, projections = image_d(views)
        first_1, _, later_1, _ = logits.chunk(4)
        first_a, first_b, later_a, later_b = projections.chunk(4)
        network, tau = _unwrap(image_d), self.config.contrastive.temperature
        contrastive = losses.info_nce_loss(first_a, first_b, network.queue_real, temperature=tau) + losses.info_nce_loss(
            later_a, later_b, network.queue_fake, temperature=tau
        )
        return {
            "d/image": losses.hinge_discriminator_loss(first_1, later_1),
            "d/contrastive": self.config.contrastive.weight * contrastive,
        }

    def after_discriminator_step(self, image_d: nn.Module) -> None:
        """Move the EMA copy towards the online network.

        Args:
            image_d: D_I, unwrapped.
        """
        image_d.update_ema()


MODES: dict[str, type[TrainingMode]] = {mode.name: mode for mode in (InDomain, CrossDomain)}
"""Every training mode by name."""


def stack_first_frame(clips: torch.Tensor) -> torch.Tensor:
    """The first frame stacked on the channels of each later frame, in D_V's layout.

    Args:
        clips: `[B, T, 3, d, d]` clips.

    Returns:
        `[B, 6, T-1, d, d]`.
    """
    first = repeat(clips[:, 0], "b c h w -> b t c h w", t=clips.shape[1] - 1)
    return rearrange(torch.cat([first, clips[:, 1:]], dim=2), "b t c h w -> b c t h w")


def frame_differences(clips: torch.Tensor) -> torch.Tensor:
    """Each frame minus the one before, in D_V's layout: what moved, without what stands still.

    A static background cancels, so a D_V on this view judges motion rather than appearance: for
    cross-domain training, whose real videos look unlike the image generator's frames (not in
    the paper; the authors' D_V sees the raw clip).

    Args:
        clips: `[B, T, 3, d, d]` clips.

    Returns:
        `[B, 3, T-1, d, d]`, `x_{t+1} - x_t`.
    """
    return rearrange(clips[:, 1:] - clips[:, :-1], "b t c h w -> b c t h w")


def _pair(clips: torch.Tensor, t: int) -> torch.Tensor:
    """The in-domain D_I input: frame 0 stacked on frame t, `[B, 6, d, d]`."""
    return torch.cat([clips[:, 0], clips[:, t]], dim=1)


def _unwrap(network: nn.Module) -> nn.Module:
    """The network inside `torch.compile`'s and DistributedDataParallel's wrappers (or the network itself)."""
    network = getattr(network, "_orig_mod", network)  # what torch.compile wrapped
    return network.module if isinstance(network, DistributedDataParallel) else network
