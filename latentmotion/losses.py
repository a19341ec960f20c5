"""Every loss of MoCoGAN-HD, one function each, with the constants of the authors' code.

- Video and in-domain image adversarial losses: relativistic-average LSGAN
  ([ralsgan_discriminator_loss][latentmotion.losses.ralsgan_discriminator_loss],
  [ralsgan_generator_loss][latentmotion.losses.ralsgan_generator_loss]), plus a per-voxel
  [gradient_penalty][latentmotion.losses.gradient_penalty] on the video discriminator.
- Cross-domain image losses: hinge ([hinge_discriminator_loss][latentmotion.losses.hinge_discriminator_loss],
  [hinge_generator_loss][latentmotion.losses.hinge_generator_loss]), the discriminator's
  contrastive [info_nce_loss][latentmotion.losses.info_nce_loss], and the generator's
  [feature_matching_loss][latentmotion.losses.feature_matching_loss].
- The motion generator's [mutual_information_loss][latentmotion.losses.mutual_information_loss],
  and an optional [smoothness_loss][latentmotion.losses.smoothness_loss] (ours, not the paper's).

Multi-scale discriminators give one score map per scale; the adversarial losses take the list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.nn import functional as F

from latentmotion.errors import ShapeError


def _check_scales(real: Sequence[torch.Tensor], fake: Sequence[torch.Tensor]) -> None:
    """Raise ShapeError unless `real` and `fake` hold the same, non-zero number of scales.

    Args:
        real: Score maps of real inputs, one per scale.
        fake: Score maps of generated inputs, one per scale.
    """
    if len(real) != len(fake) or not real:
        raise ShapeError(
            f"relativistic losses need the same number of scales for real and fake scores, got {len(real)} and {len(fake)}"
        )


def ralsgan_discriminator_loss(real: Sequence[torch.Tensor], fake: Sequence[torch.Tensor]) -> torch.Tensor:
    """Relativistic-average LSGAN loss of the discriminator, summed over scales.

    `L_D = 1/2 * sum_s [ mean((D_s(x) - mean D_s(G) - 1)^2) + mean((D_s(G) - mean D_s(x))^2) ]`,
    where `mean D_s(.)` averages a whole score map (batch and patches) of scale `s`.

    Args:
        real: Score maps `D_s(x)` of real inputs, one per scale.
        fake: Score maps `D_s(G)` of generated inputs, one per scale.

    Returns:
        The scalar loss.
    """
    _check_scales(real, fake)
    total = sum(
        ((r - f.mean() - 1.0) ** 2).mean() + ((f - r.mean()) ** 2).mean() for r, f in zip(real, fake, strict=True)
    )
    return 0.5 * total


def ralsgan_generator_loss(real: Sequence[torch.Tensor], fake: Sequence[torch.Tensor]) -> torch.Tensor:
    """Relativistic-average LSGAN loss of the generator, summed over scales: the targets swapped.

    `L_G = 1/2 * sum_s [ mean((D_s(G) - mean D_s(x) - 1)^2) + mean((D_s(x) - mean D_s(G))^2) ]`.

    Args:
        real: Score maps `D_s(x)` of real inputs, one per scale.
        fake: Score maps `D_s(G)` of generated inputs, one per scale.

    Returns:
        The scalar loss.
    """
    _check_scales(real, fake)
    total = sum(
        ((f - r.mean() - 1.0) ** 2).mean() + ((r - f.mean()) ** 2).mean() for r, f in zip(real, fake, strict=True)
    )
    return 0.5 * total


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the discriminator.

    `L_D = mean(ReLU(1 - D(x))) + mean(ReLU(1 + D(G)))`.

    Args:
        real_logits: `[B]` logits of the inputs taken as real.
        fake_logits: `[B']` logits of the inputs taken as fake.

    Returns:
        The scalar loss.
    """
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the generator.

    `L_G = -mean(D(G))`.

    Args:
        fake_logits: `[B]` logits of generated inputs.

    Returns:
        The scalar loss.
    """
    return -fake_logits.mean()


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], Sequence[torch.Tensor]],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    weight: float = 10.0,                      # lambda_GP
    generator: torch.Generator | None = None,  # draws alpha; on CPU unless it is a device generator
) -> torch.Tensor:
    """The authors' per-voxel gradient penalty on a multi-scale discriminator.

    With `x_hat = alpha * x + (1 - alpha) * G`, one `alpha ~ U[0, 1)` per sample:
    `GP = weight / S * sum_s mean_voxels((||grad_{x_hat} sum D_s(x_hat)||_channels - 1)^2)`.
    Unlike WGAN-GP, the norm is taken over the channels of each voxel (pixel for images), not
    over a whole sample. The graph is kept (`create_graph=True`), so the penalty trains the
    discriminator. The inputs are detached: no gradient reaches whatever produced them.

    Args:
        discriminator: Maps `[B, C, ...]` inputs to one score map per scale.
        real: `[B, C, ...]` real inputs.
        fake: `[B, C, ...]` generated inputs, the shape of `real`.
        weight: Factor of the penalty.
        generator: Random number generator for `alpha`.

    Returns:
        The scalar penalty, already multiplied by `weight`.
    """
    if real.shape != fake.shape:
        raise ShapeError(
            f"gradient_penalty needs real and fake of the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    device = generator.device if generator is not None else torch.device("cpu")
    alpha = torch.rand(real.shape[0], generator=generator, device=device).to(real)
    alpha = alpha.view(-1, *([1] * (real.ndim - 1)))  # [B, 1, ...], broadcast over the sample
    interpolates = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    outputs = list(discriminator(interpolates))
    penalty = interpolates.new_zeros(())
    for scores in outputs:
        (grad,) = torch.autograd.grad(
            outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores), create_graph=True
        )
        penalty = penalty + ((grad.norm(2, dim=1) - 1.0) ** 2).mean()
    return weight * penalty / len(outputs)


def info_nce_loss(
    view1: torch.Tensor,
    view2: torch.Tensor,
    queue: torch.Tensor,
    *,
    temperature: float = 0.07,  # tau
) -> torch.Tensor:
    """InfoNCE between two augmented views of a batch, with a queue of negatives, as the authors compute it.

    Rows are `q = [v1; v2]` (`2B` projections), columns `k = [v1; v2; queue]` (`2B + Q`).
    `s_ij = cos(q_i, k_j) / tau`, then `s_ii = 0`: a projection's similarity with itself is set
    to 0 (it stays in the softmax; it is not masked out). Each row's positive is the other view
    of the same image, column `i + B` for `i < B` and `i - B` otherwise:
    `L = mean_i [ -s_{i,pos(i)} + log sum_j exp(s_ij) ]` over the `2B` rows.

    Args:
        view1: `[B, D]` projections of the first views.
        view2: `[B, D]` projections of the second views.
        queue: `[Q, D]` negatives (no gradient flows into them).
        temperature: The temperature `tau`.

    Returns:
        The scalar loss.
    """
    if view1.ndim != 2 or view1.shape != view2.shape or queue.ndim != 2 or queue.shape[1] != view1.shape[1]:
        raise ShapeError(
            f"info_nce_loss needs views [B, D], [B, D] and a queue [Q, D], "
            f"got {tuple(view1.shape)}, {tuple(view2.shape)} and {tuple(queue.shape)}"
        )
    batch = view1.shape[0]
    rows = F.normalize(torch.cat([view1, view2]), dim=1, eps=1e-8)  # [2B, D]
    columns = torch.cat([rows, F.normalize(queue.detach(), dim=1, eps=1e-8)])  # [2B + Q, D]
    logits = rows @ columns.T / temperature  # [2B, 2B + Q]
    self_similarity = torch.eye(2 * batch, columns.shape[0], dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(self_similarity, 0.0)
    positives = torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)]).to(logits.device)
    return F.cross_entropy(logits, positives)


def feature_matching_loss(features_t: torch.Tensor, features_0: torch.Tensor) -> torch.Tensor:
    """Content-matching loss of the generator: frame `t` should project like frame 0.

    `L_f = -mean_b cos(F(x_t)_b, F(x_0)_b)`, with `F` the contrastive discriminator's projection
    head (online weights) on augmented frames.

    Args:
        features_t: `[B, D]` projections of augmented frames `t`.
        features_0: `[B, D]` projections of augmented first frames.

    Returns:
        The scalar loss, in `[-1, 1]`.
    """
    if features_t.shape != features_0.shape:
        raise ShapeError(
            "feature_matching_loss needs features of the same shape, "
            f"got {tuple(features_t.shape)} and {tuple(features_0.shape)}"
        )
    return -F.cosine_similarity(features_t, features_0, dim=-1).mean()


def mutual_information_loss(eps_reconstructed: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Mutual-information loss of the motion generator: the noise must be recoverable from the LSTM state.

    `L_m = -mean_t cos(H([h_t, c_t]), eps_t)`; `eps` is a target only (detached).

    Args:
        eps_reconstructed: `[..., D]` outputs of the head `H`.
        eps: `[..., D]` noise fed to the decoder LSTM, the shape of `eps_reconstructed`.

    Returns:
        The scalar loss, in `[-1, 1]`.
    """
    if eps_reconstructed.shape != eps.shape:
        raise ShapeError(
            "mutual_information_loss needs tensors of the same shape, "
            f"got {tuple(eps_reconstructed.shape)} and {tuple(eps.shape)}"
        )
    return -F.cosine_similarity(eps_reconstructed, eps.detach(), dim=-1).mean()


def smoothness_loss(pre_activations: torch.Tensor) -> torch.Tensor:
    """Smoothness prior on the motion (not in the paper): steps should change little from frame to frame.

    `L_s = mean_{b,t} ||u_{t+1} - u_t||^2`, over the step coefficients of Eq. 1 before the tanh,
    `u_t = h_t A + b`. It is zero for motion at constant velocity along the PCA basis, whatever
    its speed and direction. Taken before the tanh, it gives no reward for saturating it.

    Args:
        pre_activations: `[B, T-1, K]` the coefficients `u_t`, from
            [MotionOutput][latentmotion.motion.MotionOutput].

    Returns:
        The scalar loss; zero for fewer than two steps.
    """
    if pre_activations.ndim != 3:
        raise ShapeError(f"smoothness_loss needs step pre-activations of shape [B, T-1, K], got {tuple(pre_activations.shape)}")
    if pre_activations.shape[1] < 2:
        return pre_activations.new_zeros(())
    return (pre_activations[:, 1:] - pre_activations[:, :-1]).pow(2).sum(dim=-1).mean()
