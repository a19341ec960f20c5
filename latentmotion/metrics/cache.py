"""A cache of real-data feature statistics, keyed by dataset folder and protocol.

The features of the real videos depend on the data and on the protocol (detector weights, number
of videos, frames, stride, resolution, seed), not on the model evaluated, so a second evaluation
against the same data reads them back. A key is the sha256 of: the dataset folder's resolved
path; a fingerprint of its files (relative name, size and modification time of every file not
hidden); and every protocol field but the metric's name. A change to any of them misses.

Entries are safetensors files (the running sums of
[FeatureStatistics][latentmotion.metrics.frechet.FeatureStatistics], the protocol and dataset in
the metadata as JSON), written atomically; no pickle. The default folder is
`$LATENTMOTION_CACHE/metrics`, or `~/.cache/latentmotion/metrics`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from latentmotion.metrics.frechet import FeatureStatistics
from latentmotion.metrics.protocol import Protocol

CACHE_ENV = "LATENTMOTION_CACHE"
"""Environment variable naming latentmotion's cache folder."""


def default_cache_folder() -> Path:
    """The metrics cache folder: `$LATENTMOTION_CACHE/metrics`, or `~/.cache/latentmotion/metrics`.

    Returns:
        The folder (not created).
    """
    root = os.environ.get(CACHE_ENV)
    return (Path(root) if root else Path.home() / ".cache" / "latentmotion") / "metrics"


def dataset_fingerprint(folder: str | os.PathLike[str]) -> str:
    """A hash of a dataset folder's files: relative names, sizes and modification times.

    Args:
        folder: The dataset folder.

    Returns:
        A sha256 hex digest; it changes when a file is added, removed, renamed or rewritten.
    """
    root = Path(folder)
    digest = hashlib.sha256()
    for directory, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(name for name in files if not name.startswith(".")):
            path = Path(directory) / name
            stat = path.stat()
            digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class FeatureCache:
    """Real-data feature statistics on disk.

    Args:
        folder: Where entries live (created on the first write); default
            [default_cache_folder][latentmotion.metrics.cache.default_cache_folder].
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_folder()

    def key(self, dataset: str | os.PathLike[str], protocol: Protocol) -> str:
        """The entry name of a dataset's features under a protocol.

        Args:
            dataset: The dataset folder.
            protocol: The protocol.

        Returns:
            A hex digest.
        """
        fields = {"dataset": str(Path(dataset).resolve()), "files": dataset_fingerprint(dataset), "protocol": protocol.real_data_fields()}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]

    def path(self, dataset: str | os.PathLike[str], protocol: Protocol) -> Path:
        """The file of an entry.

        Args:
            dataset: The dataset folder.
            protocol: The protocol.

        Returns:
            `folder/real-<key>.safetensors`.
        """
        return self.folder / f"real-{self.key(dataset, protocol)}.safetensors"

    def load(self, dataset: str | os.PathLike[str], protocol: Protocol) -> FeatureStatistics | None:
        """The cached statistics, if any.

        Args:
            dataset: The dataset folder.
            protocol: The protocol.

        Returns:
            The statistics, or None when there is no entry (or an unreadable one, which is ignored).
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.path(dataset, protocol)
        if not path.is_file():
            return None
        try:
            return FeatureStatistics.from_tensors(load_file(str(path)))
        except (SafetensorError, OSError, ValueError):
            return None

    def save(self, dataset: str | os.PathLike[str], protocol: Protocol, statistics: FeatureStatistics) -> Path:
        """Store statistics, atomically.

        Args:
            dataset: The dataset folder.
            protocol: The protocol.
            statistics: The real videos' feature statistics.

        Returns:
            The file written.
        """
        from safetensors.torch import save_file

        from latentmotion.atomic import atomic_path

        path = self.path(dataset, protocol)
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {"dataset": str(Path(dataset).resolve()), "protocol": json.dumps(protocol.real_data_fields(), sort_keys=True)}
        with atomic_path(path) as temp:
            save_file(statistics.to_tensors(), str(temp), metadata=metadata)
        return path
