"""Import the models the MoCoGAN-HD authors released (snap-research/MoCoGAN-HD) as an ordinary pipeline.

A released model is four files: the rosinality StyleGAN2 image generator (`*.pt`), the motion
generator's state dict (`modelR_epoch_*.pth`) and the PCA statistics of the generator's W space
(`pca_comp.npy`, `pca_stdev.npy`; the `modelR` file does not hold them). Their motion generator
is ours with other names:

| authors' key | shape | ours |
|---|---|---|
| `enc_cell.{weight_ih, weight_hh, bias_ih, bias_hh}` | `[4h, D]`, `[4h, h]`, `[4h]`, `[4h]` | `encoder.*` |
| `cell.{weight_ih, weight_hh, bias_ih, bias_hh}` | `[4h, N]`, `[4h, h]`, `[4h]`, `[4h]` | `decoder.*` |
| `w` | `[h, K]`, used as `h_t @ w` | `coefficients.weight`, `[K, h]`: transposed |
| `b` | `[K]` | `coefficients.bias` |
| `fc1.weight`, `fc1.bias` | `[N, 2h]`, `[N]` | `noise_head.0.*` |
| `fc2.weight`, `fc2.bias` | `[N, N]`, `[N]` | `noise_head.2.*` |

`D` is the latent width (512), `h` the hidden size (`--h_dim`, 384), `K` the number of PCA
directions (`--n_pca`, 384) and `N` the noise width (the authors draw `eps_t` of the latent
width). Every size is read from the tensor shapes. The basis is `pca_comp[:K] * pca_stdev[:K, None]`,
as the authors build it ([PCABasis.scaled][latentmotion.basis.PCABasis.scaled] computes exactly
that), and a step is `w_t = w_{t-1} + lambda tanh(h_t w + b) (V_K sigma_K)` with
`lambda = --w_residual` (0.2 in every released script; it is not stored in the checkpoint).

Every file is read without running code: the checkpoint with `torch.load(weights_only=True)`,
the `.npy` files with `allow_pickle=False`. Anything else is refused with a one-line
[CheckpointError][latentmotion.errors.CheckpointError] or [ShapeError][latentmotion.errors.ShapeError]
that names the file.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from latentmotion.basis import PCABasis
from latentmotion.errors import CheckpointError, ConfigError, ShapeError, UnknownBackendError, one_line
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.safe_load import load_weights_only

if TYPE_CHECKING:
    from latentmotion.backend import ImageGeneratorBackend
    from latentmotion.pipeline import LatentMotionPipeline

STEP_SCALE = 0.2
"""lambda: `--w_residual` of the authors' options, which every released script leaves at 0.2."""
MEAN_SAMPLES = 10_000
"""Codes drawn from the generator to estimate the basis mean when no `style_mean.npy` is given."""
PCA_SAMPLES = 1_000_000
"""Samples the authors fit their PCA on (`--batchSize 4000` x `--pca_iterations 250`), recorded in the basis."""
DDP_PREFIX = "module."

KEY_MAP = {
    **{f"enc_cell.{name}": f"encoder.{name}" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
    **{f"cell.{name}": f"decoder.{name}" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
    "w": "coefficients.weight",
    "b": "coefficients.bias",
    "fc1.weight": "noise_head.0.weight",
    "fc1.bias": "noise_head.0.bias",
    "fc2.weight": "noise_head.2.weight",
    "fc2.bias": "noise_head.2.bias",
}
"""The authors' `RNNModule` parameter names and ours (`w` is transposed on the way)."""
TRANSPOSED = frozenset({"w"})


def read_motion_checkpoint(path: str | os.PathLike[str]) -> tuple[MotionConfig, dict[str, torch.Tensor]]:
    """Read the authors' motion generator (`modelR_epoch_*.pth`) and map it onto ours.

    A `module.` prefix on every key (a state dict saved from `DistributedDataParallel`) is
    stripped. The step scale is not stored in the file; the config gets the authors' 0.2.

    Args:
        path: The `torch.save`d state dict of the authors' `RNNModule`.

    Returns:
        The sizes read from the shapes (as a [MotionConfig][latentmotion.motion.MotionConfig]
        with `residual=True`, `step_scale=0.2`) and the state dict under our names.

    Raises:
        CheckpointError: The file is missing, corrupt, holds pickled objects besides tensors, is
            not a plain state dict, lacks keys or has unknown ones, holds tensors whose shapes
            disagree with one another, or NaN or infinite values.
    """
    path = Path(path)
    what = f"MoCoGAN-HD motion checkpoint {path}"
    if not path.is_file():
        raise CheckpointError(f"{what} does not exist; pass the authors' modelR_epoch_*.pth file")
    state = load_weights_only(path, what=what)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{what} is not a plain state dict: it holds a {type(state).__name__}, not a dict of tensors")
    not_tensors = sorted(str(key) for key, value in state.items() if not isinstance(key, str) or not isinstance(value, torch.Tensor))
    if not_tensors:
        raise CheckpointError(f"{what} is not a plain state dict: the entries {not_tensors} are not tensors")
    if state and all(key.startswith(DDP_PREFIX) for key in state):
        state = {key[len(DDP_PREFIX) :]: value for key, value in state.items()}
    missing = sorted(set(KEY_MAP) - set(state))
    unknown = sorted(set(state) - set(KEY_MAP))
    if missing or unknown:
        raise CheckpointError(
            f"{what} is not a MoCoGAN-HD RNNModule state dict: missing keys {missing}, unknown keys {unknown} (expected enc_cell.*, cell.*, w, b, fc1.*, fc2.*)"
        )
    config = _sizes(state, what)
    broken = sorted(key for key, tensor in state.items() if not tensor.is_floating_point() or not torch.isfinite(tensor).all())
    if broken:
        raise CheckpointError(f"{what} holds non-float, NaN or infinite values in {broken}")
    ours = {KEY_MAP[key]: (tensor.T if key in TRANSPOSED else tensor).detach().to(torch.float32).contiguous() for key, tensor in state.items()}
    return config, ours


def _sizes(state: Mapping[str, torch.Tensor], what: str) -> MotionConfig:
    """Read D, h, K and N from the shapes and check every tensor against them (one line naming each mismatch)."""
    for key in ("enc_cell.weight_ih", "enc_cell.weight_hh", "cell.weight_ih", "w"):
        if state[key].ndim != 2:
            raise CheckpointError(f"{what}: {key} must be a matrix, got shape {list(state[key].shape)}")
    if state["b"].ndim != 1:
        raise CheckpointError(f"{what}: b must be a vector, got shape {list(state['b'].shape)}")
    hidden = state["enc_cell.weight_hh"].shape[1]
    latent = state["enc_cell.weight_ih"].shape[1]
    noise = state["cell.weight_ih"].shape[1]
    components = state["b"].shape[0]
    expected = {
        "enc_cell.weight_ih": (4 * hidden, latent),
        "enc_cell.weight_hh": (4 * hidden, hidden),
        "enc_cell.bias_ih": (4 * hidden,),
        "enc_cell.bias_hh": (4 * hidden,),
        "cell.weight_ih": (4 * hidden, noise),
        "cell.weight_hh": (4 * hidden, hidden),
        "cell.bias_ih": (4 * hidden,),
        "cell.bias_hh": (4 * hidden,),
        "w": (hidden, components),
        "b": (components,),
        "fc1.weight": (noise, 2 * hidden),
        "fc1.bias": (noise,),
        "fc2.weight": (noise, noise),
        "fc2.bias": (noise,),
    }
    wrong = [f"{key} is {list(state[key].shape)}, expected {list(shape)}" for key, shape in expected.items() if tuple(state[key].shape) != shape]
    if wrong:
        raise CheckpointError(
            f"{what} has inconsistent shapes for hidden size {hidden} (enc_cell.weight_hh), latent width {latent}, "
            f"{components} PCA directions (b) and noise width {noise}: {'; '.join(wrong)}"
        )
    return MotionConfig(latent_dim=latent, n_components=components, hidden_dim=hidden, noise_dim=noise, step_scale=STEP_SCALE, residual=True)


def read_npy(path: str | os.PathLike[str], *, what: str) -> np.ndarray:
    """Read a numeric `.npy` array without unpickling anything.

    Args:
        path: The file.
        what: What it is, for messages (e.g. `"PCA components"`).

    Returns:
        The array, as float64.

    Raises:
        CheckpointError: The file is missing, is not a `.npy` array (an `.npz` archive, a
            pickle), holds Python objects, or non-numeric, NaN or infinite values.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} file {path} does not exist")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        reason = "it holds pickled Python objects, which are never loaded" if "allow_pickle" in str(error) else one_line(error)
        raise CheckpointError(f"{what} file {path} is refused: {reason}; give a plain numeric .npy array") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{what} file {path} is not a readable .npy array ({type(error).__name__}: {one_line(error)})") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise CheckpointError(f"{what} file {path} is an .npz archive; give the single .npy array")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise CheckpointError(f"{what} file {path} holds {array.dtype} values; expected numbers")
    array = np.ascontiguousarray(array, dtype=np.float64)  # C order, whatever order the file has: the basis rows then lie as our own do
    if not np.isfinite(array).all():
        raise CheckpointError(f"{what} file {path} holds NaN or infinite values")
    return array


def read_basis(
    *,
    pca_comp: str | os.PathLike[str],  # the authors' pca_comp.npy, [>= K, D]: sklearn components_
    pca_stdev: str | os.PathLike[str],  # the authors' pca_stdev.npy, [>= K]: sqrt(explained_variance_)
    n_components: int,  # K, the motion generator's number of directions
    latent_dim: int,  # D, the generator's latent width
    mean: torch.Tensor,  # [D] the centre of the latent space, for truncation only
) -> PCABasis:
    """The basis of the authors' PCA statistics, cut to the `K` directions the motion generator uses.

    Args:
        pca_comp: `pca_comp.npy`: one principal direction a row, sorted by decreasing variance.
        pca_stdev: `pca_stdev.npy`: the standard deviation along each direction.
        n_components: Number K of directions kept (the `n_pca` the motion generator was trained with).
        latent_dim: Width D of the generator's latent space.
        mean: `[D]` mean of the latent space (MoCoGAN-HD never uses it; truncation does).

    Returns:
        The basis; its [scaled][latentmotion.basis.PCABasis.scaled] rows are `comp[:K] * stdev[:K, None]`.

    Raises:
        CheckpointError: A file cannot be read (see [read_npy][latentmotion.mocogan_hd.read_npy]),
            or a standard deviation is negative.
        ShapeError: The components are not `[>= K, D]`, or the standard deviations not `[>= K]`.
    """
    components = read_npy(pca_comp, what="PCA components")
    stdev = read_npy(pca_stdev, what="PCA standard deviations")
    if components.ndim != 2 or components.shape[1] != latent_dim or components.shape[0] < n_components:
        raise ShapeError(
            f"PCA components file {pca_comp} has shape {list(components.shape)}; the generator's latent space is {latent_dim}-d and "
            f"the motion generator steps along {n_components} directions, so it must be [>= {n_components}, {latent_dim}]"
        )
    if stdev.ndim != 1 or stdev.shape[0] < n_components:
        raise ShapeError(
            f"PCA standard deviations file {pca_stdev} has shape {list(stdev.shape)}; the motion generator steps along "
            f"{n_components} directions, so it must be [>= {n_components}]"
        )
    if (stdev[:n_components] < 0).any():
        raise CheckpointError(f"PCA standard deviations file {pca_stdev} holds negative values; it must hold sqrt(explained_variance_)")
    return PCABasis(
        components=torch.from_numpy(components[:n_components]).float(),
        stdev=torch.from_numpy(stdev[:n_components]).float(),
        mean=mean.detach().to("cpu", torch.float32),
        latent_dim=latent_dim,
        n_samples=PCA_SAMPLES,
    )


def build_generator(generator: str | os.PathLike[str]) -> ImageGeneratorBackend:
    """The `stylegan2` backend of the authors' image generator.

    Args:
        generator: A rosinality StyleGAN2 `.pt` checkpoint (what the authors release), or any
            file the `stylegan2` backend reads.

    Returns:
        The backend, frozen.

    Raises:
        CheckpointError: The file is missing or is not a StyleGAN2 checkpoint.
        UnknownBackendError: The `latentmotion-stylegan2` plugin is not installed.
    """
    from latentmotion.plugins import get_backend

    path = Path(generator)
    if not path.is_file():
        raise CheckpointError(f"StyleGAN2 generator file {path} does not exist; pass the authors' rosinality .pt file")
    try:
        return get_backend("stylegan2", source=str(path))
    except UnknownBackendError as error:
        raise UnknownBackendError(f"importing MoCoGAN-HD needs the stylegan2 backend: pip install latentmotion-stylegan2 ({one_line(error)})") from None


def import_mocogan_hd(
    *,
    motion: str | os.PathLike[str],  # modelR_epoch_*.pth
    pca_comp: str | os.PathLike[str],  # pca_comp.npy, [>= K, D]
    pca_stdev: str | os.PathLike[str],  # pca_stdev.npy, [>= K]
    generator: str | os.PathLike[str],  # rosinality StyleGAN2 .pt
    pca_mean: str | os.PathLike[str] | None = None,  # style_mean.npy, [D]; None: estimated from the generator
    n_frames: int = 16,  # default frames per video (--n_frames_G)
    fps: int = 10,  # default frame rate (--fps)
    step_scale: float = STEP_SCALE,  # lambda (--w_residual)
    device: str | torch.device | None = None,  # where the pipeline computes; None: CPU
) -> LatentMotionPipeline:
    """Build a pipeline from the authors' released files; see [from_mocogan_hd][latentmotion.pipeline.LatentMotionPipeline.from_mocogan_hd].

    Args:
        motion: The motion generator's state dict, `modelR_epoch_*.pth`.
        pca_comp: The PCA components, `pca_comp.npy`.
        pca_stdev: The PCA standard deviations, `pca_stdev.npy`.
        generator: The rosinality StyleGAN2 checkpoint the motion was trained on.
        pca_mean: `style_mean.npy`, the mean of the latent space; used only for truncation. None
            estimates it as the mean of 10,000 codes drawn from the generator (seed 0).
        n_frames: Default number of frames per video.
        fps: Default frame rate of written videos.
        step_scale: lambda, the scale of each residual step (`--w_residual`; 0.2 in every
            released script).
        device: Where to put the pipeline, as [resolve_device][latentmotion.devices.resolve_device]
            takes it; default CPU.

    Returns:
        An ordinary pipeline; `save_pretrained` writes it as a pipeline folder.

    Raises:
        CheckpointError: A file is missing, corrupt, unsafe or not in the authors' layout.
        ShapeError: The files disagree: the motion generator's latent width, the PCA files'
            shapes and the generator's latent width must match.
        ConfigError: A bad `n_frames`, `fps` or `step_scale`.
    """
    from latentmotion.devices import resolve_device
    from latentmotion.pipeline import LatentMotionPipeline

    if isinstance(step_scale, bool) or not isinstance(step_scale, (int, float)) or not 0 < step_scale < float("inf"):
        raise ConfigError(f"step_scale (lambda, --w_residual) must be a positive number, got {step_scale!r}")
    for name, value in (("n_frames", n_frames), ("fps", fps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    config, state = read_motion_checkpoint(motion)
    backend = build_generator(generator)
    space = backend.latent_space
    if space.condition_dim or config.latent_dim != space.dim:
        raise ShapeError(
            f"MoCoGAN-HD motion checkpoint {motion} moves {config.latent_dim}-d codes (enc_cell.weight_ih), but the generator "
            f"{generator} renders from a {space.total_dim}-d latent space: they were not trained together"
        )
    if pca_mean is None:
        with torch.no_grad():
            mean = backend.sample_latents(MEAN_SAMPLES, generator=torch.Generator().manual_seed(0)).float().mean(0)
    else:
        mean = torch.from_numpy(read_npy(pca_mean, what="PCA mean"))
        if tuple(mean.shape) != (space.dim,):
            raise ShapeError(f"PCA mean file {pca_mean} has shape {list(mean.shape)}; the generator's latent space is {space.dim}-d")
    basis = read_basis(pca_comp=pca_comp, pca_stdev=pca_stdev, n_components=config.n_components, latent_dim=space.dim, mean=mean)
    config = MotionConfig(
        latent_dim=config.latent_dim,
        n_components=config.n_components,
        hidden_dim=config.hidden_dim,
        noise_dim=config.noise_dim,
        step_scale=float(step_scale),
        residual=True,
    )
    network = MotionGenerator(config, basis=basis.scaled(config.n_components))
    network.load_state_dict(state, strict=True)
    pipeline = LatentMotionPipeline(backend=backend, basis=basis, motion=network, n_frames=n_frames, fps=fps)
    return pipeline.to(resolve_device(device)) if device is not None else pipeline
