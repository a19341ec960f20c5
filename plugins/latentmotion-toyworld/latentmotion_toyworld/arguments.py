"""The argument parser of the toy world's scripts: bad arguments end in one line and exit code 2."""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argument parser that reports bad arguments as one line, without the usage."""

    def error(self, message: str) -> NoReturn:
        """Print `error: message` on stderr and exit with code 2.

        Args:
            message: What was wrong.
        """
        self.exit(2, f"error: {message}\n")
