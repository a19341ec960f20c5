"""Typed errors for mistakes a user can fix.

Every error raised because of bad input derives from [LatentMotionError][latentmotion.errors.LatentMotionError];
its message says what was wrong and how to fix it. The CLI prints such an error as one line on
stderr and exits with code 2.
"""


class LatentMotionError(ValueError):
    """Base class of every user-facing latentmotion error."""


class UnknownBackendError(LatentMotionError):
    """A backend name that no loaded plugin registered."""


class ConfigError(LatentMotionError):
    """A configuration value, file or key that is invalid."""


class ShapeError(LatentMotionError):
    """A tensor whose shape does not match what the callee expects."""


class CheckpointError(LatentMotionError):
    """A checkpoint, basis or pipeline file that is missing, corrupt or from another configuration."""


class TrainingError(LatentMotionError):
    """Training that cannot go on, e.g. a loss that became NaN or infinite."""


class UnknownPipelineError(CheckpointError):
    """A pipeline that is neither a local folder, a registered pipeline name nor a Hub repo id."""


class DatasetError(LatentMotionError):
    """A dataset folder without usable videos, or with unreadable or too-short videos."""


class HubError(CheckpointError):
    """A Hub repo, revision or file that cannot be fetched: missing, private, gated, or not in the cache while offline."""


def one_line(error: BaseException) -> str:
    """An error's message with its line breaks folded, for one-line reports.

    Args:
        error: Any exception.

    Returns:
        The message on one line.
    """
    return " ".join(str(error).split())
