"""A training run's folder: who may use it, what a fresh run may find there, and its JSONL log.

    folder = RunFolder("runs/mine")
    folder.lock()                        # one run at a time; released when the process ends
    folder.check_start(resume=False)     # a fresh run needs an empty folder
    folder.remove_temporary_files()      # left by writes that a killed process never finished
    folder.append_log({"step": 1, "g/total": 0.5})
    folder.truncate_log(step=40)         # on resume: drop torn lines and steps past the checkpoint

The checkpoint, the configuration and the pipeline are written atomically (the previous file
survives a failed write); the log is appended line by line, and a line torn by a crash is dropped
when the run resumes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from latentmotion.atomic import atomic_path
from latentmotion.errors import CheckpointError, ConfigError

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.jsonl"
LOCK_NAME = ".lock"


class RunFolder:
    """The folder of one training run.

    Args:
        path: The folder (created by [lock][latentmotion.run_folder.RunFolder.lock] if missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock: IO[str] | None = None
        self._created = False

    def lock(self) -> None:
        """Take the folder for this process: a second run in it, here or elsewhere, is refused.

        The lock is an advisory `flock` on `.lock`, released by [unlock][latentmotion.run_folder.RunFolder.unlock]
        or when the process ends, however it ends.
        """
        import fcntl

        if self._lock is not None:
            return
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"run folder {str(self.path)!r} is a file; give a folder for the run")
        self._created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        handle = (self.path / LOCK_NAME).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise ConfigError(
                f"{str(self.path)!r} is in use by another training run ({owner}); wait for it to finish or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def abandon(self) -> None:
        """Release the folder after a run failed to start, removing it if the run created it and left it empty."""
        if self._lock is not None and self._created and [entry.name for entry in self.path.iterdir()] == [LOCK_NAME]:
            (self.path / LOCK_NAME).unlink()
            self.path.rmdir()
        self.unlock()

    def unlock(self) -> None:
        """Release the folder (nothing happens if this process does not hold it)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def check_start(self, *, resume: bool) -> None:
        """Refuse to start where a run cannot: a fresh run in a used folder, or a resume without a checkpoint.

        Args:
            resume: Whether the run continues from the folder's checkpoint.
        """
        if resume:
            if not (self.path / CHECKPOINT_NAME).is_file():
                raise CheckpointError(f"cannot resume: {self.path / CHECKPOINT_NAME} does not exist (start without --resume)")
            return
        if (self.path / CHECKPOINT_NAME).exists():
            raise ConfigError(f"{str(self.path)!r} already holds a training run; pass --resume to continue it, or choose another --out")
        leftovers = sorted(entry.name for entry in self.path.iterdir() if entry.name != LOCK_NAME and not _is_temporary(entry))
        if leftovers:
            raise ConfigError(
                f"{str(self.path)!r} is not empty ({', '.join(leftovers)}), but holds no checkpoint to resume from "
                "(a run that stopped before its first checkpoint?); empty it or choose another --out"
            )

    def remove_temporary_files(self) -> list[Path]:
        """Delete the temporary files of atomic writes that a killed process left behind.

        Returns:
            The files removed.
        """
        removed = [entry for entry in self.path.rglob(".*.tmp") if entry.is_file()]
        for entry in removed:
            entry.unlink()
        return removed

    def append_log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to `log.jsonl`.

        Args:
            record: The line's values; `step` first.
        """
        with (self.path / LOG_NAME).open("a") as log:
            log.write(json.dumps(record) + "\n")

    def truncate_log(self, *, step: int) -> None:
        """Keep the log lines of steps up to `step`; drop later ones and lines a crash tore.

        Args:
            step: The step of the checkpoint a run resumes from.
        """
        path = self.path / LOG_NAME
        if not path.is_file():
            return
        kept = [line for line in path.read_text(errors="replace").splitlines() if _step_of(line) is not None and _step_of(line) <= step]
        with atomic_path(path) as temp:
            temp.write_text("".join(line + "\n" for line in kept))


def _step_of(line: str) -> int | None:
    """The step of a log line, or None for a line that is not a complete record."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    step = record.get("step") if isinstance(record, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _is_temporary(entry: Path) -> bool:
    return entry.name.startswith(".") and entry.name.endswith(".tmp")
