"""The motion generator of MoCoGAN-HD (paper Eq. 1-2) and its noise-reconstruction head H.

An LSTM encoder reads the content code `w0` (zero initial state); an LSTM decoder is fed fresh
noise `eps_t ~ N(0, I)` at every step; each step moves the code along the stdev-scaled PCA basis:

    h_t, c_t = LSTM_dec(eps_t, (h_{t-1}, c_{t-1}))                (h_0, c_0) = LSTM_enc(w0)
    a_t      = tanh(h_t A + b)                                      (Eq. 1, K coefficients in [-1, 1])
    w_t      = w_{t-1} + lambda * a_t (V_K * sigma_K)               (Eq. 2, residual step)

The head `H([h_t, c_t]) -> eps_t` gives the mutual-information loss `L_m = -mean cos(H, eps_t)`
(see [mutual_information_loss][latentmotion.losses.mutual_information_loss]).
"""

from __future__ import annotations

from typing import NamedTuple

import attrs
import torch
from torch import nn

from latentmotion.errors import ConfigError, ShapeError


@attrs.frozen
class MotionConfig:
    """Sizes and step scale of a motion generator.

    Attributes:
        latent_dim: Width of a full content code (`LatentSpace.total_dim`).
        n_components: Number K of PCA directions the steps move along.
        hidden_dim: LSTM hidden size.
        noise_dim: Dimension of the per-step noise `eps_t` (the paper uses the latent width).
        step_scale: lambda, the residual step scale (paper: 0.2).
        init_std: Standard deviation of the initial weights A of Eq. 1 (the authors: 0.02).
            Larger values start training from varied motion; see the toy world's notes.
        forget_bias: Initial forget-gate bias of both LSTMs (the authors: 0). A positive value
            makes the cells keep their state, so each video starts with motion that persists.
        residual: Eq. 2 as in the paper, each step from the previous code; False steps from the
            content code, `w_t = w_0 + lambda a_t (V_K sigma_K)` (the paper's ablation).
    """

    latent_dim: int = attrs.field(validator=attrs.validators.gt(0))
    n_components: int = attrs.field(validator=attrs.validators.gt(0))
    hidden_dim: int = attrs.field(default=384, validator=attrs.validators.gt(0))
    noise_dim: int = attrs.field(default=attrs.Factory(lambda self: self.latent_dim, takes_self=True), validator=attrs.validators.gt(0))
    step_scale: float = 0.2
    init_std: float = attrs.field(default=0.02, validator=attrs.validators.ge(0))
    forget_bias: float = 0.0
    residual: bool = True


class MotionOutput(NamedTuple):
    """What the motion generator returns.

    Attributes:
        trajectory: `[B, T, D]` codes, `trajectory[:, 0]` is the content code `w0`.
        noise: `[B, T-1, N]` the noise `eps_t` fed to the decoder.
        noise_reconstruction: `[B, T-1, N]` the head's estimate `H([h_t, c_t])` of `eps_t`.
        pre_activations: `[B, T-1, K]` `u_t = h_t A + b`, the step coefficients of Eq. 1 before
            the tanh (`a_t = tanh(u_t)`).
    """

    trajectory: torch.Tensor
    noise: torch.Tensor
    noise_reconstruction: torch.Tensor
    pre_activations: torch.Tensor


class MotionGenerator(nn.Module):
    """LSTM motion generator stepping through latent space along a PCA basis.

    Args:
        config: Sizes and step scale.
        basis: `[K, D]` the PCA directions scaled by their standard deviations
            ([PCABasis.scaled][latentmotion.basis.PCABasis.scaled]); a non-persistent buffer, saved
            with the pipeline's basis file rather than with these weights.
    """

    def __init__(self, config: MotionConfig, *, basis: torch.Tensor) -> None:
        super().__init__()
        if tuple(basis.shape) != (config.n_components, config.latent_dim):
            raise ShapeError(
                f"motion generator expects a basis of shape [{config.n_components}, {config.latent_dim}] "
                f"(n_components, latent width), got {list(basis.shape)}"
            )
        self.config = config
        h = config.hidden_dim
        self.encoder = nn.LSTMCell(config.latent_dim, h)
        self.decoder = nn.LSTMCell(config.noise_dim, h)
        self.coefficients = nn.Linear(h, config.n_components)  # A, b of Eq. 1
        self.noise_head = nn.Sequential(nn.Linear(2 * h, config.noise_dim), nn.ReLU(), nn.Linear(config.noise_dim, config.noise_dim))  # H
        self.register_buffer("basis", basis.detach().float().clone(), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise as the authors do, with the configured scale of A and forget-gate bias.

        Orthogonal LSTM gate blocks and head weights, zero LSTM biases but for the forget gate's
        `forget_bias` (PyTorch orders the gates input, forget, cell, output), `N(0, init_std)`
        for A, zero b.
        """
        for cell in (self.encoder, self.decoder):
            for weight in (cell.weight_ih, cell.weight_hh):
                for gate in weight.data.chunk(4, dim=0):
                    nn.init.orthogonal_(gate)
            nn.init.zeros_(cell.bias_ih)
            nn.init.zeros_(cell.bias_hh)
            cell.bias_ih.data.chunk(4)[1].fill_(self.config.forget_bias)
        nn.init.normal_(self.coefficients.weight, std=self.config.init_std)
        nn.init.zeros_(self.coefficients.bias)
        for layer in (self.noise_head[0], self.noise_head[2]):
            nn.init.orthogonal_(layer.weight)

    def sample_noise(self, n_videos: int, n_frames: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw the decoder noise for `n_videos` videos of `n_frames` frames.

        Args:
            n_videos: Batch size B.
            n_frames: Frames T per video (T >= 1).
            generator: CPU random number generator.

        Returns:
            `[B, T-1, N]` standard normal noise on the module's device.
        """
        eps = torch.randn(n_videos, max(n_frames - 1, 0), self.config.noise_dim, generator=generator)
        return eps.to(self.basis.device)

    def forward(
        self,
        w0: torch.Tensor,
        n_frames: int,
        eps: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> MotionOutput:
        """Unroll a trajectory of `n_frames` codes from each content code.

        Args:
            w0: `[B, D]` content codes.
            n_frames: Number of frames T >= 1 (the LSTM unrolls as far as asked).
            eps: `[B, T-1, N]` decoder noise; pass the same noise with another `w0` to put the same
                motion on new content. Drawn from `generator` when None.
            generator: CPU random number generator for `eps`.

        Returns:
            The trajectory `[B, T, D]`, the noise, its reconstruction by the head H and the step
            coefficients before the tanh.
        """
        if n_frames < 1:
            raise ConfigError(f"n_frames must be at least 1, got {n_frames}")
        if w0.ndim != 2 or w0.shape[1] != self.config.latent_dim:
            raise ShapeError(f"content codes must be [B, {self.config.latent_dim}], got {list(w0.shape)}")
        batch = w0.shape[0]
        if eps is None:
            eps = self.sample_noise(batch, n_frames, generator=generator)
        expected = (batch, n_frames - 1, self.config.noise_dim)
        if tuple(eps.shape) != expected:
            raise ShapeError(f"motion noise must be [B, T-1, N] = {list(expected)}, got {list(eps.shape)}")

        h, c = self.encoder(w0)
        codes, reconstructions, pre_activations = [w0], [], []
        step = self.config.step_scale * self.basis  # [K, D]
        for t in range(n_frames - 1):
            h, c = self.decoder(eps[:, t], (h, c))
            u = self.coefficients(h)
            codes.append((codes[-1] if self.config.residual else w0) + torch.tanh(u) @ step)  # Eq. 1 and 2
            reconstructions.append(self.noise_head(torch.cat([h, c], dim=1)))
            pre_activations.append(u)
        trajectory = torch.stack(codes, dim=1)
        if reconstructions:
            return MotionOutput(trajectory, eps, torch.stack(reconstructions, dim=1), torch.stack(pre_activations, dim=1))
        return MotionOutput(trajectory, eps, eps.new_zeros(expected), eps.new_zeros(batch, 0, self.config.n_components))
