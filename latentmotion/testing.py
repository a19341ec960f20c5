"""Helpers for testing backends and plugins: the backend contract, procedural clips and a training configuration that runs in seconds.

    from latentmotion.testing import MovingSquares, check_backend, smoke_config
    check_backend("mine", resolution=64)         # every rule of the backend contract
    trainer = Trainer(smoke_config({"backend": "mine"}), tmp_path, backend=backend, dataset=MovingSquares())
    trainer.train()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from latentmotion.config import TrainConfig

if TYPE_CHECKING:
    from latentmotion.backend import ImageGeneratorBackend


class MovingSquares(torch.utils.data.Dataset):
    """Procedural clips: a coloured square sliding right, starting at a random offset.

    Draws its start from torch's global RNG, as a real clip dataset does.

    Args:
        n_videos: Number of videos (the square's colour cycles through R, G, B by index).
        n_frames: Frames per clip.
        resolution: Side of the frames, at least 16.
    """

    def __init__(self, n_videos: int = 6, n_frames: int = 4, resolution: int = 32) -> None:
        self.n_videos, self.n_frames, self.resolution = n_videos, n_frames, resolution

    def __len__(self) -> int:
        return self.n_videos

    def __getitem__(self, index: int) -> torch.Tensor:
        """One `[T, 3, R, R]` clip in `[-1, 1]`.

        Args:
            index: Video index.

        Returns:
            The clip.
        """
        start = int(torch.randint(0, 8, ()))
        clip = -torch.ones(self.n_frames, 3, self.resolution, self.resolution)
        for t in range(self.n_frames):
            x = (start + 2 * t) % (self.resolution - 6)
            clip[t, index % 3, 8:14, x : x + 6] = 1.0
        return clip


def smoke_config(changes: Mapping[str, Any] | None = None) -> TrainConfig:
    """A training configuration with tiny networks: 2 iterations of 2 generator steps, 32 px, 4 frames.

    Args:
        changes: Options to change by dotted name, e.g. `{"mode": "cross-domain", "run.steps": 4}`.

    Returns:
        The configuration.
    """
    values = {
        "backend_options": {"resolution": 32, "dim": 8, "channels": 16},
        "motion": {"basis_samples": 1000, "n_components": 6, "hidden_dim": 16},
        "video_discriminator": {"channels": 8, "layers": 2},
        "image_discriminator": {"channels": 8, "layers": 2},
        "contrastive": {"channels": 4, "proj_dim": 8, "queue_size": 8},
        "optim": {"g_steps": 2},
        "data": {"n_frames": 4, "resolution": 32, "batch_size": 2},
        "run": {"steps": 2, "checkpoint_every": 1, "log_every": 1, "preview_every": 0},
    }
    return TrainConfig.from_dict(values).with_changes(changes or {})


def write_frame_folders(root: str | os.PathLike[str], clips: torch.utils.data.Dataset) -> Path:
    """Write every clip of a dataset as a folder of PNG frames, the layout `VideoFolderDataset` reads.

    Args:
        root: Folder to create the video folders in.
        clips: Dataset of `[T, 3, H, W]` clips in `[-1, 1]`, e.g. `MovingSquares`.

    Returns:
        `root`.
    """
    from PIL import Image

    from latentmotion.video import to_uint8

    root = Path(root)
    for index in range(len(clips)):
        folder = root / f"video{index}"
        folder.mkdir(parents=True)
        for t, frame in enumerate(to_uint8(clips[index])):
            Image.fromarray(frame.permute(1, 2, 0).numpy()).save(folder / f"frame{t:03d}.png")
    return root


# ----------------------------------------------------------------------------------------------
# The backend contract: one suite that every backend plugin runs in its tests.


class BackendContractError(AssertionError):
    """A backend that breaks a rule of the backend contract.

    Args:
        rule: The name of the broken rule (see [check_backend][latentmotion.testing.check_backend]).
        message: What was found, and what the rule wants.

    Attributes:
        rule: The name of the broken rule.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"rule {rule!r}: {message}")
        self.rule = rule


def check_backend(
    factory: str | Callable[..., ImageGeneratorBackend],
    /,
    *,
    invert_steps: int = 2,
    clamped: bool = True,
    **options: Any,
) -> ImageGeneratorBackend:
    """Check that a backend keeps the contract latentmotion relies on, as scikit-learn's `check_estimator` does for estimators.

    The backend is built as [get_backend][latentmotion.plugins.get_backend] builds it, then
    checked rule by rule; the first broken rule raises a
    [BackendContractError][latentmotion.testing.BackendContractError] (an `AssertionError`,
    so pytest reports it as a failed test) that names it:

    | Rule | What it wants |
    |---|---|
    | `factory` | the factory returns an [ImageGeneratorBackend][latentmotion.backend.ImageGeneratorBackend] |
    | `name` | the backend carries the registered name |
    | `options` | the backend's options are the factory's keyword arguments, JSON-serialisable |
    | `file-options` | `file_options` is a tuple of names; each given file option names an existing file or folder, or a Hub repo id; no other option names a local file or folder (it would not travel with a pushed pipeline) |
    | `options-rebuild` | the recorded options rebuild a backend that renders the same images |
    | `frozen` | eval mode, no weight requires a gradient |
    | `latent-space` | `latent_space` is a [LatentSpace][latentmotion.backend.LatentSpace] and `resolution` a positive integer |
    | `sample-latents` | `sample_latents(n)` gives `[n, total_dim]` finite codes on the backend's device |
    | `sample-latents-seeded` | the same `torch.Generator` seed gives the same codes, another seed others |
    | `check-latents` | codes of the wrong width raise a `ShapeError` |
    | `synthesize-shape` | `synthesize` gives `[N, 3, R, R]` finite images |
    | `synthesize-range` | the images lie in `[-1, 1]` (skipped when `clamped=False`) |
    | `synthesize-deterministic` | `noise=None` renders the same images twice |
    | `synthesize-batch` | an image does not depend on the others of its batch |
    | `differentiable` | gradients reach the codes, and no weight gets one |
    | `noise` | `sample_noise(n)` gives tensors of leading dimension `n`, the same under the same seed; when there are any, other noise gives other images and the same noise the same images |
    | `invert` | `invert(images, steps=invert_steps)` gives a `Projection`: `[N, total_dim]` finite, detached codes, and noise empty or shaped as `sample_noise`'s |

    Args:
        factory: A registered backend name, or a factory `factory(**options)` (then checked
            under its function name).
        invert_steps: Optimisation steps given to `invert` (small: the rule checks shapes, not quality).
        clamped: Whether the images must lie in `[-1, 1]`; False for generators that, like
            StyleGAN2, render about `[-1, 1]` without clamping (video writers clamp).
        **options: Keyword arguments of the factory.

    Returns:
        The backend, built from `options`.

    Raises:
        BackendContractError: A rule is broken; its message names the rule.
    """
    import json

    from latentmotion.backend import LatentSpace
    from latentmotion.errors import LatentMotionError, ShapeError, UnknownBackendError
    from latentmotion.hub import is_repo_id
    from latentmotion.inversion import Projection
    from latentmotion.plugins import backends, build_backend

    def require(condition: Any, rule: str, message: str) -> None:
        if not condition:
            raise BackendContractError(rule, message)

    if isinstance(factory, str):
        available = backends()
        if factory not in available:
            raise UnknownBackendError(f"unknown backend {factory!r}; available: {', '.join(available)}")
        name, build = factory, available[factory].factory
    else:
        name, build = getattr(factory, "__name__", "backend"), factory
    try:
        backend = build_backend(name, build, **options)
    except LatentMotionError as error:
        require("not an ImageGeneratorBackend" not in str(error), "factory", str(error))
        raise

    require(backend.name == name, "name", f"the backend is named {backend.name!r}, not the registered {name!r}")
    require(set(backend.options) == set(options), "options", f"options {backend.options} are not the factory's keyword arguments {sorted(options)}")
    try:
        json.dumps(backend.options)
    except (TypeError, ValueError) as error:
        require(False, "options", f"options {backend.options} are not JSON-serialisable ({error}): a saved pipeline could not record them")
    file_options = backend.file_options
    require(
        isinstance(file_options, tuple) and all(isinstance(key, str) for key in file_options),
        "file-options",
        f"file_options must be a tuple of option names, got {file_options!r}",
    )
    for key, value in backend.options.items():
        local = isinstance(value, str) and Path(value).expanduser().exists()
        if key in file_options:
            require(local or (isinstance(value, str) and is_repo_id(value)), "file-options", f"file option {key}={value!r} names neither an existing file or folder nor a Hub repo id")
        else:
            require(not local, "file-options", f"option {key}={value!r} names a local file or folder but is not in file_options: a pushed pipeline would not carry it")

    require(not backend.training and not any(p.requires_grad for p in backend.parameters()), "frozen", "the backend must be in eval mode with every weight frozen")
    space = backend.latent_space
    require(isinstance(space, LatentSpace), "latent-space", f"latent_space must be a LatentSpace, got {space!r}")
    resolution = backend.resolution
    require(isinstance(resolution, int) and resolution > 0, "latent-space", f"resolution must be a positive integer, got {resolution!r}")

    def seeded(seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    n, dim = 2, space.total_dim
    codes = backend.sample_latents(n, generator=seeded(0))
    require(
        isinstance(codes, torch.Tensor) and tuple(codes.shape) == (n, dim) and codes.is_floating_point() and bool(torch.isfinite(codes).all()),
        "sample-latents",
        f"sample_latents({n}) must give [{n}, {dim}] finite codes, got {getattr(codes, 'shape', codes)}",
    )
    require(codes.device == backend.device, "sample-latents", f"codes are on {codes.device}, the backend on {backend.device}")
    require(torch.equal(codes, backend.sample_latents(n, generator=seeded(0))), "sample-latents-seeded", "the same seed gave other codes")
    require(not torch.equal(codes, backend.sample_latents(n, generator=seeded(1))), "sample-latents-seeded", "another seed gave the same codes")

    try:
        backend.synthesize(torch.zeros(n, dim + 1, device=backend.device))
    except ShapeError:
        pass
    except Exception as error:
        require(False, "check-latents", f"codes of width {dim + 1} raised {type(error).__name__}, not a ShapeError; call check_latents(latents) in synthesize")
    else:
        require(False, "check-latents", f"codes of width {dim + 1} were rendered; call check_latents(latents) in synthesize")

    images = backend.synthesize(codes)
    expected = (n, 3, resolution, resolution)
    require(isinstance(images, torch.Tensor) and tuple(images.shape) == expected, "synthesize-shape", f"synthesize must give {list(expected)} images, got {getattr(images, 'shape', images)}")
    require(bool(torch.isfinite(images).all()), "synthesize-shape", "synthesize gave non-finite values")
    if clamped:
        low, high = images.min().item(), images.max().item()
        require(low >= -1 and high <= 1, "synthesize-range", f"images must lie in [-1, 1], found [{low:.3g}, {high:.3g}]")
    require(torch.equal(images, backend.synthesize(codes)), "synthesize-deterministic", "noise=None rendered other images the second time")
    require(torch.allclose(backend.synthesize(codes[:1]), images[:1], atol=1e-4), "synthesize-batch", "an image changed with the other codes of its batch")

    variable = codes.clone().requires_grad_(True)
    rendered = backend.synthesize(variable)
    require(rendered.requires_grad, "differentiable", "the images do not depend differentiably on the codes (detached?)")
    rendered.square().sum().backward()
    require(
        variable.grad is not None and bool(torch.isfinite(variable.grad).all()) and variable.grad.abs().sum() > 0,
        "differentiable",
        "no gradient reached the codes: synthesize must be differentiable with respect to them",
    )
    require(all(p.grad is None for p in backend.parameters()), "differentiable", "a weight received a gradient: weights must stay frozen")

    noise = backend.sample_noise(n, generator=seeded(2))
    require(
        isinstance(noise, list) and all(isinstance(t, torch.Tensor) and t.shape[0] == n for t in noise),
        "noise",
        f"sample_noise({n}) must give a list of tensors of leading dimension {n}",
    )
    again = backend.sample_noise(n, generator=seeded(2))
    require(all(torch.equal(a, b) for a, b in zip(noise, again)), "noise", "the same seed gave other noise")
    if noise:
        noisy = backend.synthesize(codes, noise=noise)
        require(torch.equal(noisy, backend.synthesize(codes, noise=again)), "noise", "the same noise rendered other images")
        other = backend.synthesize(codes, noise=backend.sample_noise(n, generator=seeded(3)))
        require(not torch.allclose(noisy, other), "noise", "other noise rendered the same images: synthesize ignores its noise")

    projection = backend.invert(images.detach(), steps=invert_steps, generator=seeded(4))
    require(isinstance(projection, Projection), "invert", f"invert must return a latentmotion.inversion.Projection, got {type(projection).__name__}")
    inverted = projection.codes
    require(
        isinstance(inverted, torch.Tensor) and tuple(inverted.shape) == (n, dim) and not inverted.requires_grad and bool(torch.isfinite(inverted).all()),
        "invert",
        f"invert must give [{n}, {dim}] finite, detached codes, got {getattr(inverted, 'shape', inverted)}",
    )
    fitted = [tuple(getattr(tensor, "shape", ())) for tensor in projection.noise]
    require(
        not projection.noise or fitted == [tuple(tensor.shape) for tensor in noise],
        "invert",
        f"the projection's noise must be empty or shaped as sample_noise({n})'s, {[tuple(t.shape) for t in noise]}; got {fitted}",
    )

    rebuilt = build_backend(name, build, **backend.options)
    require(torch.equal(rebuilt.synthesize(codes), images), "options-rebuild", "the recorded options rebuilt a backend that renders other images")
    return backend
