"""Refuse to build distributions whose version does not say what they hold (`make dist` runs this first).

A version number names one set of contents: once `CHANGELOG.md` lists a version with a date, that
version is published, and a wheel built later under the same number with other contents would be
a second, different `X.Y.Z`. So a release build needs:

1. every package's `__version__` (the core and each plugin) to have a dated entry
   `## [X.Y.Z] - YYYY-MM-DD` in `CHANGELOG.md`; and
2. nothing under `## [Unreleased]`: changes listed there are not in any released version, so the
   build would carry them under an old number. Bump the versions and move the entries under a new
   heading first.

Prints one line per problem and exits 1, or exits 0 when the release is clean.

    python scripts/check_release.py            # the repository's own CHANGELOG.md and packages
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "latentmotion": ROOT / "latentmotion" / "__init__.py",
    "latentmotion-toyworld": ROOT / "plugins" / "latentmotion-toyworld" / "latentmotion_toyworld" / "__init__.py",
    "latentmotion-stylegan2": ROOT / "plugins" / "latentmotion-stylegan2" / "latentmotion_stylegan2" / "__init__.py",
    "latentmotion-biggan": ROOT / "plugins" / "latentmotion-biggan" / "latentmotion_biggan" / "__init__.py",
}
"""Each distribution and the file holding its `__version__` (its one source of the version)."""

HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")
VERSION = re.compile(r"^__version__ = [\"'](?P<version>[^\"']+)[\"']", re.MULTILINE)


def read_version(path: Path) -> str:
    """The `__version__` a package's `__init__.py` assigns, read without importing it.

    Args:
        path: The package's `__init__.py`.

    Returns:
        The version string.

    Raises:
        ValueError: The file assigns no `__version__`.
    """
    found = VERSION.search(path.read_text())
    if found is None:
        raise ValueError(f"{path} assigns no __version__")
    return found["version"]


def changelog_sections(text: str) -> dict[str, tuple[str | None, list[str]]]:
    """The sections of a Keep a Changelog file: version (or `Unreleased`) to its date and its entries.

    Args:
        text: The changelog.

    Returns:
        For each `## [...]` heading: the date (None when there is none) and the entry lines (`- ...`).
    """
    sections: dict[str, tuple[str | None, list[str]]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        heading = HEADING.match(line)
        if heading:
            current = []
            sections[heading["version"]] = (heading["date"], current)
        elif line.startswith("## "):
            current = None
        elif current is not None and line.lstrip().startswith("- "):
            current.append(line.strip())
    return sections


def release_problems(versions: Mapping[str, str], changelog: str) -> list[str]:
    """What stops a release build, one sentence each (empty when the release is clean).

    Args:
        versions: Each distribution's name and version.
        changelog: The text of `CHANGELOG.md`.

    Returns:
        The problems.
    """
    sections = changelog_sections(changelog)
    problems = []
    unreleased = sections.get("Unreleased", (None, []))[1]
    for name, version in versions.items():
        if version not in sections:
            problems.append(f"{name} {version} has no entry in CHANGELOG.md: add '## [{version}] - YYYY-MM-DD' with its changes")
        elif sections[version][0] is None:
            problems.append(f"{name} {version}: its CHANGELOG.md entry '## [{version}]' has no release date; write '## [{version}] - YYYY-MM-DD'")
        elif unreleased:
            problems.append(
                f"{name} {version} is a dirty version: CHANGELOG.md lists {len(unreleased)} unreleased change(s) under '## [Unreleased]', "
                f"but {version} was released on {sections[version][0]} without them; bump the version and move the entries under its heading"
            )
    return problems


def main() -> int:
    """Check the repository's packages against its changelog.

    Returns:
        The exit status: 0 when clean, 1 otherwise.
    """
    versions = {name: read_version(path) for name, path in PACKAGES.items()}
    problems = release_problems(versions, (ROOT / "CHANGELOG.md").read_text())
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
