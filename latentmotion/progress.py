"""Progress bars on stderr, one helper for every long step (stdout stays clean for `--json`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(
    description: str,
    *,
    total: int | None = None,  # steps expected; None shows a spinner without a count
    done: int = 0,             # steps already done (a resumed run)
    enabled: bool = True,      # False yields a no-op
    transient: bool = False,   # remove the bar when finished
) -> Iterator[Callable[..., None]]:
    """Show a rich progress bar on stderr while the block runs.

    Args:
        description: What is being done, shown left of the bar.
        total: Steps expected; None for work of unknown length.
        done: Steps already done.
        enabled: Whether to show anything.
        transient: Remove the bar when the block ends.

    Yields:
        `advance(steps=1, note="")`: moves the bar by `steps` and shows `note` (e.g. the latest losses).
    """
    if not enabled:
        yield lambda steps=1, note="": None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if total is None:
        columns = (SpinnerColumn(), TextColumn(description), BarColumn(), TimeElapsedColumn(), TextColumn("{task.fields[note]}"))
    else:
        columns = (TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=Console(stderr=True), transient=transient) as bar:
        task = bar.add_task(description, total=total, completed=done, note="")
        yield lambda steps=1, note="": bar.update(task, advance=steps, note=note)
