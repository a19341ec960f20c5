"""W-space projection of images, as StyleGAN2-ADA's projector does it.

One `w` per image starts at the average of mapped prior samples and is broadcast to every layer
(W, not W+). Adam optimises it jointly with per-image noise maps: the learning rate ramps up
over the first 5 % of the steps and down along a cosine over the last 25 %, `w` is perturbed by
Gaussian noise whose scale decays quadratically to zero at 75 %, and the noise maps are kept
free of spatial structure by penalising their autocorrelation at every scale of a pyramid and
renormalised after each step. The image distance is pluggable: LPIPS on VGG16
([VGGPerceptualLoss][latentmotion.metrics.lpips.VGGPerceptualLoss] with
`max_resolution=LPIPS_RESOLUTION`, images larger than 256 pixels area-downsampled first) as in the
original, or, offline by default, latentmotion's pixel + multi-scale loss.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from latentmotion import inversion
from latentmotion.inversion import Projection, ReconstructionLoss

if TYPE_CHECKING:
    from latentmotion_stylegan2.backend import StyleGAN2Backend

LPIPS_RESOLUTION = 256
"""Side StyleGAN2-ADA's projector area-downsamples larger images to before its VGG16 distance:
`VGGPerceptualLoss.from_file(path, max_resolution=LPIPS_RESOLUTION)` reproduces it."""


def learning_rate(t: float, *, initial: float, rampup: float, rampdown: float) -> float:
    """The projector's learning-rate schedule at progress `t` in `[0, 1)`.

    Args:
        t: Fraction of the steps done.
        initial: Peak learning rate.
        rampup: Fraction of the steps over which it rises linearly from 0.
        rampdown: Fraction of the steps over which it falls to 0 along a half cosine.

    Returns:
        `initial * min(1, t / rampup) * (1 - cos(pi * min(1, (1 - t) / rampdown))) / 2`.
    """
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return initial * ramp * min(1.0, t / rampup)


def noise_regularization(noise: list[torch.Tensor]) -> torch.Tensor:
    """Penalty on spatial autocorrelation of noise maps, over a pyramid down to 8x8.

    At each level, per image, `mean(n * roll(n, 1, x))^2 + mean(n * roll(n, 1, y))^2`; each level
    halves the map with a 2x2 average.

    Args:
        noise: `[N, 1, r, r]` noise maps.

    Returns:
        `[N]` penalties.
    """
    total = 0
    for n in noise:
        while True:
            total = total + (n * n.roll(1, dims=3)).mean(dim=(1, 2, 3)).square() + (n * n.roll(1, dims=2)).mean(dim=(1, 2, 3)).square()
            if n.shape[2] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total


def normalize_noise(groups: list[torch.Tensor], noise: list[torch.Tensor]) -> None:
    """Give every noise map zero mean and unit variance per image, in place (the projector's constraint).

    Args:
        groups: The code groups (left as they are).
        noise: `[N, 1, r, r]` noise maps.
    """
    for buffer in noise:
        buffer -= buffer.mean(dim=(1, 2, 3), keepdim=True)
        buffer *= buffer.square().mean(dim=(1, 2, 3), keepdim=True).rsqrt()


def project(
    backend: StyleGAN2Backend,
    targets: torch.Tensor,
    *,
    steps: int = 1000,
    loss: ReconstructionLoss | None = None,
    w_avg_samples: int = 10_000,
    initial_learning_rate: float = 0.1,
    initial_noise_factor: float = 0.05,
    lr_rampdown_length: float = 0.25,
    lr_rampup_length: float = 0.05,
    noise_ramp_length: float = 0.75,
    regularize_noise_weight: float = 1e5,
    generator: torch.Generator | None = None,
) -> Projection:
    """Project images into W (StyleGAN2-ADA's projector, batched: each image is optimised independently).

    This sets latentmotion's [project][latentmotion.inversion.project] up as StyleGAN2-ADA does:
    the start, the noise maps optimised with `w`, their regulariser and renormalisation, the
    latent noise, the schedule, and the variables of the last step as the result.

    Args:
        backend: The StyleGAN2 backend.
        targets: `[N, 3, R, R]` images in `[-1, 1]` at the generator's resolution.
        steps: Optimisation steps (>= 1).
        loss: `loss(renderings, targets) -> [N]`; default latentmotion's pixel + multi-scale
            [reconstruction_loss][latentmotion.inversion.reconstruction_loss].
        w_avg_samples: Prior samples whose mapped mean is the start and whose spread scales the latent noise.
        initial_learning_rate: Peak Adam learning rate.
        initial_noise_factor: Latent noise at the start, as a fraction of the samples' W standard deviation.
        lr_rampdown_length: Fraction of the steps of the cosine ramp-down.
        lr_rampup_length: Fraction of the steps of the linear ramp-up.
        noise_ramp_length: Fraction of the steps after which the latent noise is zero.
        regularize_noise_weight: Weight of [noise_regularization][latentmotion_stylegan2.projector.noise_regularization].
        generator: CPU random number generator for the prior samples, the initial noise maps and the latent noise.

    Returns:
        The projected latents `codes` (`[N, w_dim]`) and the optimised noise maps (one
        `[N, 1, r, r]` tensor per synthesis layer; pass them as `noise=` to render the projection exactly).
    """
    backend.check_images(targets)
    network, device, n = backend.network, backend.device, targets.shape[0]
    config = network.config
    with torch.no_grad():
        z = torch.randn(w_avg_samples, config.z_dim, generator=generator).to(device)
        labels = None
        if config.c_dim:
            classes = torch.randint(config.c_dim, (w_avg_samples,), generator=generator)
            labels = F.one_hot(classes, config.c_dim).float().to(device)
        w_samples = network.mapping(z, labels)
        w_avg = w_samples.mean(0)
        w_std = ((w_samples - w_avg).square().sum() / w_avg_samples).sqrt().item()
    noise = backend.sample_noise(n, generator=generator)

    def latent_noise(w: torch.Tensor, t: float) -> torch.Tensor:
        scale = w_std * initial_noise_factor * max(0.0, 1.0 - t / noise_ramp_length) ** 2
        return w + torch.randn(w.shape, generator=generator).to(device) * scale

    return inversion.project(
        backend,
        targets,
        steps=steps,
        learning_rate=initial_learning_rate,
        start=w_avg.expand(n, -1),
        noise=noise,
        loss=loss,
        penalty=lambda codes, maps: regularize_noise_weight * noise_regularization(maps),
        perturb=latent_noise,
        constrain=normalize_noise,
        schedule=functools.partial(learning_rate, initial=1.0, rampup=lr_rampup_length, rampdown=lr_rampdown_length),
        keep_best=False,
    )
