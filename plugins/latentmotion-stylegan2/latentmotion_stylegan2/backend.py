"""The `stylegan2` backend: a frozen StyleGAN2 generator seen through its W space.

Content codes are single `w` vectors (`w = mapping(z)`, `z ~ N(0, I)`, optionally truncated
towards `w_avg`); `synthesize` broadcasts each `w` to every layer. The generator's noise inputs
are exposed through `sample_noise`, so a video can share one noise draw across its frames;
`noise=None` renders with the checkpoint's stored constant noise maps (`noise_mode="const"`),
which is deterministic, as StyleGAN's own video and projection scripts render. `fp16=True` renders
the checkpoint's float16 blocks in float16 on a GPU, as NVlabs does.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.nn import functional as F

from latentmotion.backend import ImageGeneratorBackend, LatentSpace
from latentmotion.errors import CheckpointError, ConfigError
from latentmotion.hub import fetch
from latentmotion.inversion import Projection, ReconstructionLoss
from latentmotion_stylegan2.checkpoints import load_generator
from latentmotion_stylegan2.networks import Generator
from latentmotion_stylegan2.projector import project


class StyleGAN2Backend(ImageGeneratorBackend):
    """A StyleGAN2(-ADA) generator as a latentmotion backend, latent space W.

    Args:
        network: The generator network (frozen by `get_backend`).
        truncation_psi: Truncation of sampled content codes towards `w_avg` (1 = none).
        class_index: Class of class-conditional generators (None: a random class per sample).
        fp16: Render the blocks the checkpoint runs in float16 (NVlabs' `num_fp16_res` highest
            resolutions; none in rosinality files) in float16, on CUDA only; see
            [SynthesisNetwork.forward][latentmotion_stylegan2.networks.SynthesisNetwork.forward].
    """

    file_options = ("source",)

    def __init__(self, network: Generator, *, truncation_psi: float = 1.0, class_index: int | None = None, fp16: bool = False) -> None:
        super().__init__()
        config = network.config
        if config.img_channels != 3:
            raise CheckpointError(f"this StyleGAN2 generator renders {config.img_channels}-channel images; latentmotion needs RGB")
        if isinstance(truncation_psi, bool) or not isinstance(truncation_psi, (int, float)) or not 0 <= truncation_psi <= 1:
            raise ConfigError(f"truncation_psi must be a number in [0, 1], got {truncation_psi!r}")
        if class_index is not None and (not isinstance(class_index, int) or not 0 <= class_index < config.c_dim):
            raise ConfigError(f"class_index {class_index} is out of range: this generator has {config.c_dim} classes (0 = unconditional)")
        if not isinstance(fp16, bool):
            raise ConfigError(f"fp16 must be true or false, got {fp16!r}")
        self.network = network
        self.fp16 = fp16
        self.truncation_psi = truncation_psi
        self.class_index = class_index
        self.resolution = config.img_resolution
        truncation = f", truncated with psi={truncation_psi}" if truncation_psi != 1 else ""
        self.latent_space = LatentSpace("w", config.w_dim, description=f"w = mapping(z), z ~ N(0, I){truncation}")

    def sample_latents(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw `[n, w_dim]` content codes `w = mapping(z)` (truncated by `truncation_psi`).

        Args:
            n: Number of codes.
            generator: CPU random number generator.

        Returns:
            Codes on the backend's device.
        """
        config = self.network.config
        z = torch.randn(n, config.z_dim, generator=generator).to(self.device)
        labels = None
        if config.c_dim:
            classes = torch.full((n,), self.class_index) if self.class_index is not None else torch.randint(config.c_dim, (n,), generator=generator)
            labels = F.one_hot(classes, config.c_dim).float().to(self.device)
        with torch.no_grad():
            return self.network.truncate(self.network.mapping(z, labels), self.truncation_psi)

    def sample_noise(self, n: int, *, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Draw the generator's noise inputs for `n` images.

        Args:
            n: Number of images.
            generator: CPU random number generator.

        Returns:
            One `[n, 1, r, r]` tensor per synthesis layer (`r` = 4, 8, 8, 16, 16, ...).
        """
        return [torch.randn(n, 1, r, r, generator=generator).to(self.device) for r in self.network.synthesis.noise_resolutions]

    def synthesize(self, latents: torch.Tensor, *, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Render `[N, 3, R, R]` images in `[-1, 1]` from `[N, w_dim]` codes, each broadcast to all layers.

        Args:
            latents: `[N, w_dim]` codes.
            noise: Noise inputs from `sample_noise(N)`; None renders with the stored constant noise.

        Returns:
            The images (differentiable with respect to `latents`).
        """
        self.check_latents(latents)
        ws = latents[:, None, :].expand(-1, self.network.num_ws, -1)
        return self.network.synthesis(ws, noise_mode="const", noise=noise, fp16=self.fp16)

    def invert(
        self,
        images: torch.Tensor,
        *,
        steps: int = 300,
        generator: torch.Generator | None = None,
        loss: ReconstructionLoss | None = None,
    ) -> Projection:
        """Project images into W with StyleGAN2-ADA's projector (see [project][latentmotion_stylegan2.projector.project]).

        Args:
            images: `[N, 3, R, R]` targets in `[-1, 1]`.
            steps: Optimisation steps.
            generator: CPU random number generator (prior samples, noise maps).
            loss: `loss(renderings, targets) -> [N]`, e.g. a
                [VGGPerceptualLoss][latentmotion.metrics.lpips.VGGPerceptualLoss] built with
                `max_resolution=256` (the original projector's LPIPS); default the offline pixel +
                multi-scale loss.

        Returns:
            The projection: `[N, w_dim]` codes and the noise maps fitted with them (pass both to
            `synthesize` or `generate` to render the projection exactly).
        """
        return project(self, images, steps=steps, loss=loss, generator=generator)


def load_stylegan2(
    source: str | Path | None = None,
    *,
    filename: str | None = None,
    revision: str | None = None,
    truncation_psi: float = 1.0,
    class_index: int | None = None,
    fp16: bool = False,
) -> StyleGAN2Backend:
    """Build the `stylegan2` backend from a checkpoint file, or a file of a Hub repo.

    Args:
        source: A local NVlabs `.pkl`, rosinality `.pt` or converted `.safetensors` file, a
            folder holding one, or a Hub repo id `"org/name"`.
        filename: The checkpoint's file name inside the folder or Hub repo (e.g. `"ffhq.pkl"`).
        revision: Branch, tag or commit of the Hub repo (default: `main`).
        truncation_psi: Truncation of sampled content codes (1 = none).
        class_index: Class of class-conditional generators (None: random classes).
        fp16: Render the checkpoint's float16 blocks in float16 on a GPU, as NVlabs does (float32
            on a CPU; default: float32 everywhere).

    Returns:
        The backend (`get_backend` freezes it).
    """
    if source is None:
        raise ConfigError("the stylegan2 backend needs source=: a checkpoint file, or a Hub repo id with filename= (e.g. 'ffhq.pkl')")
    (checkpoint,) = fetch(source, filenames=() if filename is None else (filename,), revision=revision, what="StyleGAN2 checkpoint")
    return StyleGAN2Backend(load_generator(checkpoint), truncation_psi=truncation_psi, class_index=class_index, fp16=fp16)
