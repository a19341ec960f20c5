"""The `biggan` backend: BigGAN-deep with latent space Z and the class embedding as a per-video condition.

A content code is `[z ; e]`: `z` (the space the motion moves in, `z_dim` = 128) followed by the
class embedding `e` (`class_embed_dim` = 128), which stays fixed within a video. The generator
renders `[z ; e]` directly, so a continuous `e` (a blend of classes, or one found by inversion)
works as well as a class's own embedding. Content codes are drawn as in the published model:
`z = truncation * truncnorm(-2, 2)`, and a class picked uniformly from the backend's selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from latentmotion.backend import ImageGeneratorBackend, LatentSpace
from latentmotion.errors import ConfigError, ShapeError
from latentmotion.inversion import Projection, ReconstructionLoss
from latentmotion_biggan.classes import ClassSpec, resolve_classes
from latentmotion_biggan.network import BigGANDeep
from latentmotion_biggan.truncation import check_truncation, truncated_normal

DEFAULT_TRUNCATION = 0.4  # the value of the published package's examples: sharp, fairly varied images

Classes = ClassSpec | Sequence[ClassSpec] | torch.Tensor


class BigGANBackend(ImageGeneratorBackend):
    """BigGAN-deep as a latentmotion backend.

    Args:
        network: The generator (see [load_network][latentmotion_biggan.weights.load_network]).
        truncation: Truncation in `(0, 1]`: scales the prior of `z` and selects the batch-norm
            statistics; 1 is no truncation.
        classes: The classes `sample_latents` draws from (indices or ImageNet names); None: all.

    Attributes:
        network: The generator.
        truncation: The truncation.
        classes: Class indices that `sample_latents` draws from.
    """

    file_options = ("source",)

    def __init__(
        self,
        network: BigGANDeep,
        *,
        truncation: float = DEFAULT_TRUNCATION,
        classes: ClassSpec | Sequence[ClassSpec] | None = None,
    ) -> None:
        super().__init__()
        config = network.config
        self.network = network
        self.truncation = check_truncation(truncation)
        self.classes = list(range(config.num_classes)) if classes is None else self.resolve_classes(classes)
        self.latent_space = LatentSpace(
            "z",
            config.z_dim,
            condition_dim=config.class_embed_dim,
            description=f"z = {self.truncation} * truncnorm(-2, 2), followed by the class embedding (fixed per video)",
        )
        self.resolution = config.output_dim
        self.freeze()

    def resolve_classes(self, classes: ClassSpec | Sequence[ClassSpec]) -> list[int]:
        """Class indices of classes given as indices or ImageNet names.

        Args:
            classes: One class or a sequence of classes.

        Returns:
            The indices.
        """
        return resolve_classes(classes, num_classes=self.network.config.num_classes)

    def class_embedding(self, classes: Classes) -> torch.Tensor:
        """Class embeddings (the condition part of a content code).

        Args:
            classes: One class or a sequence of classes (indices or ImageNet names), `[N]` integer
                indices, or `[N, num_classes]` one-hot or soft class vectors (blends of classes).

        Returns:
            `[N, class_embed_dim]` embeddings on the backend's device.
        """
        embeddings = self.network.class_embeddings
        if isinstance(classes, torch.Tensor) and classes.is_floating_point():
            num_classes = embeddings.shape[0]
            if classes.ndim != 2 or classes.shape[1] != num_classes:
                raise ShapeError(f"class vectors must be [N, {num_classes}], got {list(classes.shape)}")
            return self.network.embed(classes.to(embeddings))
        if isinstance(classes, torch.Tensor):
            indices = classes.reshape(-1).to(embeddings.device, torch.long)
            outside = indices[(indices < 0) | (indices >= embeddings.shape[0])]
            if len(outside):
                self.resolve_classes(outside[:1].tolist())  # raises the out-of-range error
            return embeddings[indices]
        return embeddings[torch.tensor(self.resolve_classes(classes), device=embeddings.device)]

    def content_codes(self, z: torch.Tensor, classes: Classes) -> torch.Tensor:
        """Join `z` and class embeddings into content codes.

        Args:
            z: `[N, z_dim]` latents.
            classes: One class for all codes or N classes, in any form
                [class_embedding][latentmotion_biggan.backend.BigGANBackend.class_embedding] takes.

        Returns:
            `[N, z_dim + class_embed_dim]` codes.
        """
        dim = self.latent_space.dim
        if z.ndim != 2 or z.shape[1] != dim:
            raise ShapeError(f"z must be [N, {dim}], got {list(z.shape)}")
        embedding = self.class_embedding(classes)
        if embedding.shape[0] == 1:
            embedding = embedding.expand(z.shape[0], -1)
        elif embedding.shape[0] != z.shape[0]:
            raise ShapeError(f"give one class for all {z.shape[0]} latents or one per latent, got {embedding.shape[0]}")
        return torch.cat([z.to(embedding), embedding], dim=1)

    def sample_latents(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw content codes: truncated-normal `z` and a class picked from the backend's selection.

        Args:
            n: Number of codes.
            generator: CPU random number generator for reproducible draws.

        Returns:
            `[n, z_dim + class_embed_dim]` codes on the backend's device.
        """
        z = self.truncation * truncated_normal((n, self.latent_space.dim), generator=generator)
        picks = torch.randint(len(self.classes), (n,), generator=generator)
        return self.content_codes(z, torch.tensor(self.classes)[picks])

    def synthesize(self, latents: torch.Tensor, *, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Render content codes, differentiably with respect to them.

        Args:
            latents: `[N, z_dim + class_embed_dim]` codes.
            noise: Must be None or empty: BigGAN has no noise inputs.

        Returns:
            `[N, 3, resolution, resolution]` images in `[-1, 1]`.
        """
        self.check_latents(latents)
        if noise:
            raise ShapeError("BigGAN has no noise inputs: pass noise=None (sample_noise returns an empty list)")
        return self.network(latents, truncation=self.truncation)

    def invert(
        self,
        images: torch.Tensor,
        *,
        steps: int = 300,
        generator: torch.Generator | None = None,
        classes: ClassSpec | Sequence[ClassSpec] | None = None,
        restarts: int = 4,
        optimize_class: bool = True,
        perceptual: ReconstructionLoss | None = None,
    ) -> Projection:
        """Find content codes whose renderings match `images` (see [invert][latentmotion_biggan.inversion.invert]).

        Args:
            images: `[N, 3, resolution, resolution]` targets in `[-1, 1]`.
            steps: Adam steps per restart.
            generator: CPU random number generator for the starts.
            classes: Class of every image (one for all, or N); None starts from random classes.
            restarts: Random starts per image; the best is kept.
            optimize_class: Whether the class embedding is optimised too.
            perceptual: Optional `perceptual(renderings, targets) -> [N]` added to the loss.

        Returns:
            The best restart of every image: `[N, z_dim + class_embed_dim]` codes and `[N]` losses.
        """
        from latentmotion_biggan.inversion import invert

        return invert(
            self,
            images,
            classes=classes,
            steps=steps,
            restarts=restarts,
            optimize_class=optimize_class,
            perceptual=perceptual,
            generator=generator,
        )


def load_backend(
    source: str | Path | None = None,
    *,
    revision: str | None = None,
    truncation: float = DEFAULT_TRUNCATION,
    classes: ClassSpec | Sequence[ClassSpec] | None = None,
) -> BigGANBackend:
    """Build the `biggan` backend from published weights (the factory behind `get_backend("biggan", ...)`).

    Args:
        source: A folder with `config.json` + `pytorch_model.bin`, or a Hub repo id such as
            `"osanseviero/BigGAN-deep-128"`.
        revision: Hub branch, tag or commit (Hub repos only).
        truncation: Truncation in `(0, 1]`.
        classes: Classes to draw content codes from (indices or ImageNet names); None: all.

    Returns:
        The backend.
    """
    from latentmotion_biggan.weights import load_network

    if source is None:
        raise ConfigError(
            "the biggan backend needs source=: a folder with config.json + pytorch_model.bin, "
            "or a Hub repo id such as 'osanseviero/BigGAN-deep-128'"
        )
    check_truncation(truncation)
    return BigGANBackend(load_network(source, revision=revision), truncation=truncation, classes=classes)
