"""The interface an image generator implements to become a latentmotion backend.

A backend is a frozen, differentiable image generator with a declared latent space. The motion
generator walks through that space; the backend renders every step. Plugins register backends
through the [register_backends][latentmotion.hookspecs.register_backends] hook.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import attrs
import torch
from torch import nn

from latentmotion.errors import ShapeError

if TYPE_CHECKING:
    from latentmotion.inversion import Projection


@attrs.frozen
class LatentSpace:
    """The latent space a backend renders from.

    A content code is a vector of `dim + condition_dim` numbers. The first `dim` are the space
    the motion moves in (StyleGAN2's W, BigGAN's Z); the last `condition_dim` are a condition that
    stays fixed within a video (BigGAN's class embedding). The PCA basis spans only the first part.

    Attributes:
        name: Short name of the space, e.g. `"w"` or `"z"`.
        dim: Dimension of the space the motion moves in.
        condition_dim: Dimension of the per-video condition appended to each code (0 = none).
        description: How content codes are drawn, for humans.
    """

    name: str
    dim: int = attrs.field(validator=attrs.validators.gt(0))
    condition_dim: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    description: str = ""

    @property
    def total_dim(self) -> int:
        """Length of a full content code: `dim + condition_dim`."""
        return self.dim + self.condition_dim


class ImageGeneratorBackend(nn.Module, abc.ABC):
    """A frozen, differentiable image generator with a declared latent space.

    Subclasses set `latent_space` and `resolution` in `__init__` and implement
    [sample_latents][latentmotion.backend.ImageGeneratorBackend.sample_latents] and
    [synthesize][latentmotion.backend.ImageGeneratorBackend.synthesize]. Generators with noise
    inputs also implement [sample_noise][latentmotion.backend.ImageGeneratorBackend.sample_noise],
    so that one noise draw can be shared by all frames of a video. A backend whose factory takes
    files (weights, a checkpoint) declares those options in `file_options`.

    A backend does not name itself: [get_backend][latentmotion.plugins.get_backend] stamps the
    registered `name` on it and records the factory's keyword arguments as its `options`, which
    is what a saved pipeline stores to rebuild it.

    Attributes:
        name: The registered backend name, e.g. `"stylegan2"`, set by `get_backend` (`""` for
            a backend built without the registry, which a pipeline cannot save).
        latent_space: The latent space of this generator.
        resolution: Side of the square images it renders, in pixels.
        options: The keyword arguments that rebuild this backend through
            `latentmotion.get_backend(name, **options)`, set by `get_backend`; saved with trained
            pipelines. File options naming local paths are recorded as absolute paths.
    """

    name: str
    latent_space: LatentSpace
    resolution: int
    options: dict[str, Any]
    file_options: tuple[str, ...] = ()
    """Names of the factory options whose values are files or folders: a local path, or a Hub
    repo id (e.g. `("source",)`). `get_backend` records local ones as absolute paths, and
    `push_to_hub` uploads them with a pipeline; no other option is ever uploaded."""

    def __init__(self) -> None:
        super().__init__()
        self.name = ""
        self.options = {}

    @abc.abstractmethod
    def sample_latents(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw content codes from the generator's prior; the PCA basis is fitted on these.

        Args:
            n: Number of codes.
            generator: Random number generator (on CPU) for reproducible draws.

        Returns:
            `[n, latent_space.total_dim]` codes on the backend's device.
        """

    @abc.abstractmethod
    def synthesize(self, latents: torch.Tensor, *, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Render images from content codes, differentiably with respect to `latents`.

        Args:
            latents: `[N, latent_space.total_dim]` codes.
            noise: Noise inputs from `sample_noise(N)` (each tensor `[N, ...]`), or None for the
                generator's deterministic rendering.

        Returns:
            `[N, 3, resolution, resolution]` images in `[-1, 1]`.
        """

    def sample_noise(self, n: int, *, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Draw the generator's noise inputs for `n` images (empty for noise-free generators).

        Args:
            n: Number of images.
            generator: Random number generator (on CPU) for reproducible draws.

        Returns:
            A list of tensors, each with leading dimension `n`.
        """
        return []

    def invert(self, images: torch.Tensor, *, steps: int = 300, generator: torch.Generator | None = None) -> Projection:
        """Find content codes (and noise inputs) whose renderings match `images` (optimisation-based projection).

        The default optimises the codes from the mean of the prior with a pixel and multi-scale
        loss (see [project][latentmotion.inversion.project]); backends override it with their own
        projector. A projector that also fits the generator's noise inputs returns them, so that
        `synthesize(projection.codes, noise=projection.noise)` renders the projection exactly and
        `generate(content=projection.codes, noise=projection.noise)` animates it.

        Args:
            images: `[N, 3, resolution, resolution]` targets in `[-1, 1]`.
            steps: Number of optimisation steps.
            generator: Random number generator for the starting point.

        Returns:
            The projection: `[N, latent_space.total_dim]` codes, the fitted noise inputs (each
            `[N, ...]`; empty when none were fitted) and `[N]` losses.
        """
        from latentmotion.inversion import project

        return project(self, images, steps=steps, generator=generator)

    def freeze(self) -> ImageGeneratorBackend:
        """Put the generator in eval mode with every weight frozen; gradients still reach the latents.

        Returns:
            This backend.
        """
        self.eval()
        self.requires_grad_(False)
        return self

    @property
    def label(self) -> str:
        """The backend's name for messages: the registered name, else its class name."""
        return self.name or type(self).__name__

    @property
    def device(self) -> torch.device:
        """The device of the generator's weights (CPU for a weightless generator)."""
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    def check_latents(self, latents: torch.Tensor) -> None:
        """Raise a [ShapeError][latentmotion.errors.ShapeError] unless `latents` is `[N, total_dim]`.

        Args:
            latents: Codes to check.
        """
        expected = self.latent_space.total_dim
        if latents.ndim != 2 or latents.shape[1] != expected:
            raise ShapeError(
                f"backend {self.label!r} expects latents of shape [N, {expected}] "
                f"(latent space {self.latent_space.name!r}), got {list(latents.shape)}"
            )

    def check_images(self, images: torch.Tensor) -> None:
        """Raise a [ShapeError][latentmotion.errors.ShapeError] unless `images` is `[N, 3, R, R]`.

        Args:
            images: Images to check.
        """
        r = self.resolution
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, r, r):
            raise ShapeError(
                f"backend {self.label!r} renders [N, 3, {r}, {r}] images; got {list(images.shape)}: "
                f"resize or crop the images to {r}x{r} first"
            )
