"""Where latentmotion computes: one resolver for every device a user names.

The CLI's `--device`, `LatentMotionPipeline.from_pretrained(device=...)` and training all turn
the user's choice into a `torch.device` through [resolve_device][latentmotion.devices.resolve_device],
so `"auto"` means the same everywhere and an unavailable device fails the same way.
"""

from __future__ import annotations

import os

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
