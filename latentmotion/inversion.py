"""Inversion: find the content code whose rendering matches a real image.

Animating a photo (video prediction from a first frame) starts by projecting it into the
backend's latent space. This module holds the projector, its reconstruction loss, and the PSNR
used to report how well an image was inverted. [project][latentmotion.inversion.project] is the
one optimisation loop of every backend: with its defaults it is the projector every backend gets
([ImageGeneratorBackend.invert][latentmotion.backend.ImageGeneratorBackend.invert]); its
parameters (start point, groups of columns with their own learning rates, noise inputs, a
constraint after each step, a penalty, a perturbation, the schedule) are what a backend's own
projector sets (StyleGAN2's W projector with noise optimisation, BigGAN's restarts in a
truncation box).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs
import torch
from torch.nn import functional as F

if TYPE_CHECKING:
    from latentmotion.backend import ImageGeneratorBackend

ReconstructionLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""`loss(renderings, targets) -> [N]`: the distance of each rendering to its target."""
Penalty = Callable[[torch.Tensor, list[torch.Tensor]], torch.Tensor]
"""`penalty(codes, noise) -> [N]`: a cost of the variables themselves, added to the loss."""
Perturbation = Callable[[torch.Tensor, float], torch.Tensor]
"""`perturb(codes, t) -> codes`: the codes to render at progress `t` in `[0, 1]`."""
Constraint = Callable[[list[torch.Tensor], list[torch.Tensor]], None]
"""`constrain(groups, noise)`: changes the code groups and noise inputs in place after a step."""
Schedule = Callable[[float], float]
"""`schedule(t)`: the learning-rate multiplier at progress `t` in `[0, 1)`."""


def reconstruction_loss(images: torch.Tensor, targets: torch.Tensor, *, levels: int = 4) -> torch.Tensor:
    """Pixel MSE plus an L1 over an average-pooled pyramid, per image.

    The pyramid terms weigh coarse structure (colour, layout) that a plain pixel loss gives little
    gradient for when the start is far away.

    Args:
        images: `[N, 3, H, W]` renderings in `[-1, 1]`.
        targets: `[N, 3, H, W]` targets in `[-1, 1]`.
        levels: Pyramid levels, each half the size of the previous (stops at 4 pixels).

    Returns:
        `[N]` losses.
    """
    loss = (images - targets).square().flatten(1).mean(1)
    for _ in range(levels):
        if images.shape[-1] <= 4:
            break
        images, targets = F.avg_pool2d(images, 2), F.avg_pool2d(targets, 2)
        loss = loss + (images - targets).abs().flatten(1).mean(1)
    return loss


@attrs.frozen
class CodeGroup:
    """Consecutive columns of the content codes, optimised at their own peak learning rate.

    The groups of a projection split the codes from left to right (e.g. BigGAN's `z`, then its
    class embedding) and together cover all of them.

    Attributes:
        width: Number of columns.
        learning_rate: Peak Adam learning rate, in latent units; 0 keeps the columns at their start.
    """

    width: int = attrs.field(validator=attrs.validators.gt(0))
    learning_rate: float = attrs.field(validator=attrs.validators.ge(0))


@attrs.frozen
class Projection:
    """The result of [project][latentmotion.inversion.project].

    Attributes:
        codes: `[N, total_dim]` content codes, detached.
        noise: The optimised noise inputs, each `[N, ...]` (empty when none were optimised); pass
            them as `noise=` to render the projection exactly.
        losses: `[N]` loss of each returned code (reconstruction plus penalty).
    """

    codes: torch.Tensor
    noise: list[torch.Tensor]
    losses: torch.Tensor


def cosine_schedule(t: float) -> float:
    """Learning-rate multiplier that falls from 1 to 0 along a half cosine.

    Args:
        t: Fraction of the steps done, in `[0, 1)`.

    Returns:
        `(1 + cos(pi * t)) / 2`.
    """
    return 0.5 * (1 + math.cos(math.pi * t))


def project(
    backend: ImageGeneratorBackend,
    images: torch.Tensor,
    *,
    steps: int = 300,
    learning_rate: float = 0.05,
    start: torch.Tensor | None = None,
    n_prior_samples: int = 512,
    groups: Sequence[CodeGroup] | None = None,
    noise: Sequence[torch.Tensor] | None = None,
    loss: ReconstructionLoss | None = None,
    penalty: Penalty | None = None,
    perturb: Perturbation | None = None,
    constrain: Constraint | None = None,
    schedule: Schedule = cosine_schedule,
    keep_best: bool = True,
    generator: torch.Generator | None = None,
) -> Projection:
    """Optimise content codes (and noise inputs) with Adam so that their renderings match `images`.

    Each of the `steps` steps renders the codes, adds the loss of every image, and takes one Adam
    step whose learning rate is each group's peak times `schedule(step / steps)`; `constrain` then
    puts the variables back where they belong. The variables after the last step are evaluated
    too. With the defaults, every image starts at the mean of `n_prior_samples` codes drawn from
    the prior (StyleGAN's `w_avg` start), all columns at `learning_rate` along a cosine ramp-down,
    and the codes of each image's best step are returned.

    Args:
        backend: The generator to invert.
        images: `[N, 3, R, R]` targets in `[-1, 1]` at the backend's resolution.
        steps: Optimisation steps (>= 1).
        learning_rate: Peak Adam learning rate of the codes (when `groups` is None) and of `noise`.
        start: `[N, total_dim]` starting codes; None: the mean of `n_prior_samples` prior draws
            for every image.
        n_prior_samples: Prior draws whose mean is the default start.
        groups: How the columns split into groups with their own learning rates; None: one
            group of all columns at `learning_rate`.
        noise: Starting noise inputs (each `[N, ...]`, as `backend.sample_noise(N)` returns),
            optimised with the codes; None renders with the backend's deterministic noise.
        loss: `loss(renderings, targets) -> [N]`; default [reconstruction_loss][latentmotion.inversion.reconstruction_loss].
        penalty: `penalty(codes, noise) -> [N]` added to the loss (e.g. a noise regulariser).
        perturb: `perturb(codes, t) -> codes` rendered instead of the codes at progress `t`
            in `[0, 1]` (e.g. StyleGAN2's decaying latent noise); the variables stay unperturbed.
        constrain: `constrain(groups, noise)`, called without gradients after each step with the
            tensors of the code groups (`[N, width]` each) and the noise inputs, changes them in
            place (e.g. a clamp to a box, a renormalisation).
        schedule: Learning-rate multiplier at progress `t = step / steps` in `[0, 1)`.
        keep_best: Return each image's variables of its lowest-loss step; False: those after
            the last step.
        generator: CPU random number generator for the prior draws of the default start.

    Returns:
        The codes, the optimised noise inputs and their losses.
    """
    from latentmotion.errors import ConfigError, ShapeError

    backend.check_images(images)
    if steps < 1:
        raise ConfigError(f"inversion needs at least 1 step, got {steps}")
    loss = loss or reconstruction_loss
    targets = images.to(backend.device, torch.float32)
    count, dim = len(targets), backend.latent_space.total_dim
    if start is None:
        with torch.no_grad():
            start = backend.sample_latents(n_prior_samples, generator=generator).mean(0).expand(count, -1)
    backend.check_latents(start)
    if len(start) != count:
        raise ShapeError(f"give one start code per image: {count} images, {len(start)} start codes")
    groups = [CodeGroup(dim, learning_rate)] if groups is None else list(groups)
    if sum(group.width for group in groups) != dim:
        raise ShapeError(f"the code groups cover {sum(group.width for group in groups)} columns; the codes have {dim}")
    parts = [part.detach().clone().requires_grad_(group.learning_rate > 0) for part, group in zip(start.split([group.width for group in groups], dim=1), groups)]
    maps = [part.detach().clone().requires_grad_(True) for part in noise or []]
    optimized = [{"params": [part], "peak_lr": group.learning_rate} for part, group in zip(parts, groups) if group.learning_rate > 0]
    if maps:
        optimized.append({"params": maps, "peak_lr": learning_rate})
    if not optimized:
        raise ConfigError("nothing to optimise: every code group has learning rate 0 and no noise inputs are given")
    optimizer = torch.optim.Adam([{**group, "lr": group["peak_lr"]} for group in optimized])
    best_loss = torch.full((count,), math.inf, device=targets.device)
    best_codes = torch.cat(parts, dim=1).detach().clone()
    best_noise = [part.detach().clone() for part in maps]
    with torch.enable_grad():
        for step in range(steps + 1):
            t = step / steps
            codes = torch.cat(parts, dim=1)
            rendered = codes if perturb is None else perturb(codes, t)
            losses = loss(backend.synthesize(rendered, noise=maps if noise is not None else None), targets)
            if penalty is not None:
                losses = losses + penalty(codes, maps)
            improved = losses.detach() < best_loss if keep_best else torch.ones(count, dtype=torch.bool, device=targets.device)
            best_loss = torch.where(improved, losses.detach(), best_loss)
            best_codes[improved] = codes.detach()[improved]
            for kept, part in zip(best_noise, maps):
                kept[improved] = part.detach()[improved]
            if step == steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = group["peak_lr"] * schedule(t)
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            if constrain is not None:
                with torch.no_grad():
                    constrain(parts, maps)
    return Projection(codes=best_codes, noise=best_noise, losses=best_loss)


def psnr(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, for images in `[-1, 1]` (peak-to-peak 2).

    Args:
        images: `[N, 3, H, W]` images.
        targets: `[N, 3, H, W]` references.

    Returns:
        `[N]` PSNR in dB.
    """
    mse = (images.float() - targets.float()).square().flatten(1).mean(1)
    return 10 * torch.log10(4.0 / mse.clamp_min(1e-12))
