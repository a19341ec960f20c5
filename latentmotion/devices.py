"""Where latentmotion computes: one resolver for every device a user names.

The CLI's `--device`, `LatentMotionPipeline.from_pretrained(device=...)` and training all turn
the user's choice into a `torch.device` through [resolve_device][latentmotion.devices.resolve_device],
so `"auto"` means the same everywhere and an unavailable device fails the same way. Training also
checks here that the device runs its precision ([precision_dtype][latentmotion.devices.precision_dtype])
and can compile ([check_compile][latentmotion.devices.check_compile]).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import torch

from latentmotion.errors import ConfigError

DEVICE_KINDS = ("cpu", "cuda", "mps")
"""The kinds of device latentmotion runs on."""


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The torch device a user's choice means, checked to be available.

    Args:
        name: `"auto"` (CUDA when torch sees a GPU, else Apple's MPS when available, else the
            CPU), a kind (`"cpu"`, `"cuda"`, `"mps"`), a kind with an index (`"cuda:1"`), or a
            `torch.device`.

    Returns:
        The device.

    Raises:
        ConfigError: An unknown name, or a device torch cannot use here.
    """
    if isinstance(name, str) and name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise ConfigError(f"device {name!r} is not one of auto, {', '.join(DEVICE_KINDS)} (optionally with an index, e.g. cuda:1)") from error
    if device.type not in DEVICE_KINDS:
        raise ConfigError(f"device {name!r} is not one of auto, {', '.join(DEVICE_KINDS)} (optionally with an index, e.g. cuda:1)")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} was asked for but torch sees no CUDA device; use cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} was asked for but torch sees {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name!r} was asked for but Apple's MPS is not available here; use cpu")
    return device


def available_memory(device: torch.device) -> int | None:
    """Bytes a new allocation can take on `device` now, or None where that cannot be known (MPS).

    Args:
        device: A CPU or CUDA device.

    Returns:
        CUDA: the free memory of the GPU; CPU: `MemAvailable` of `/proc/meminfo`, else the free
        physical pages `os.sysconf` reports; None when neither is readable.
    """
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return None


def check_memory(needed: int, device: torch.device, *, what: str, lower: str) -> None:
    """Refuse a request whose tensors cannot fit in the memory `device` has available, before allocating them.

    Args:
        needed: Bytes the request allocates at least.
        device: Where it allocates them.
        what: The request, for the message (e.g. `"generating 3 videos of 100000 frames"`).
        lower: The options to lower, for the message (e.g. `"n_frames (--frames)"`).

    Raises:
        ConfigError: `needed` exceeds the available memory.
    """
    available = available_memory(device)
    if available is not None and needed > available:
        raise ConfigError(f"{what} needs at least {format_bytes(needed)} of memory on {device}, but only {format_bytes(available)} is available; lower {lower}")


def format_bytes(count: int) -> str:
    """A number of bytes as people read it: in GiB from 1 GiB on, else in MiB.

    Args:
        count: Bytes.

    Returns:
        E.g. `"12.5 GiB"` or `"3.1 MiB"`.
    """
    return f"{count / 2**30:,.1f} GiB" if count >= 2**30 else f"{count / 2**20:,.1f} MiB"


PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
"""The precisions of `run.precision` and the dtype autocast computes in for each."""


def precision_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype a training precision computes in, checked to run well on `device`.

    Args:
        precision: `"fp32"`, `"bf16"` or `"fp16"` (`run.precision`).
        device: Where training runs.

    Returns:
        `torch.float32`, `torch.bfloat16` or `torch.float16`.

    Raises:
        ConfigError: fp16 on a CPU (CPU autocast computes well in bf16 only), or bf16 on a CUDA
            GPU without bfloat16 support.
    """
    if precision == "fp16" and device.type == "cpu":
        raise ConfigError("run.precision 'fp16' needs a GPU: on the CPU autocast computes well in bf16 only; use run.precision=bf16 or fp32")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"run.precision 'bf16' needs a GPU with bfloat16 support, and {torch.cuda.get_device_name(device)} has none; use run.precision=fp16 or fp32")
    return PRECISION_DTYPES[precision]


def check_compile(device: torch.device) -> None:
    """Refuse `run.compile` where `torch.compile` cannot build kernels, before any work.

    Checks what inductor needs without compiling anything (a trial compilation costs seconds to
    minutes): TorchDynamo's support for this Python and platform, a C++ compiler for the CPU
    (`$CXX`, else `clang++` on macOS and `g++` elsewhere, the compiler inductor looks for) and
    Triton for CUDA.

    Args:
        device: Where training runs.

    Raises:
        ConfigError: `torch.compile` cannot run on `device` here.
    """
    import torch._dynamo  # imported here: a second or two that only compiling runs pay

    if not torch._dynamo.is_dynamo_supported():
        raise ConfigError(
            f"run.compile: torch {torch.__version__} cannot compile on Python {sys.version_info.major}.{sys.version_info.minor} on {sys.platform}; set run.compile=false"
        )
    if device.type == "cpu":
        compiler = os.environ.get("CXX") or ("clang++" if sys.platform == "darwin" else "g++")
        if shutil.which(compiler) is None:
            raise ConfigError(f"run.compile on the CPU needs a C++ compiler and {compiler!r} was not found; install one (or name it in $CXX), or set run.compile=false")
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        raise ConfigError("run.compile on a GPU needs Triton, which is not installed (pip install triton); or set run.compile=false")
