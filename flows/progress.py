"""Progress of long work: a bar with counts and ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_reporter(total: int, label: str) -> Iterator[Callable[[int, int], None]]:
    """Yield ``report(done, stored)``; renders a rich progress bar on a TTY (stderr),
    else prints one plain line per call to stderr."""
    if total <= 0:
        yield lambda done, stored: None
        return
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("stored {task.fields[stored]}"), TimeRemainingColumn()) as bar:
            task = bar.add_task(label, total=total, stored=0)
            yield lambda done, stored: bar.update(task, completed=done, stored=stored)
    else:
        def report(done: int, stored: int) -> None:
            # sys.stderr directly: Prefect's log_prints would turn print() into a log record.
            sys.stderr.write(f"{label}: {done}/{total} entries processed, {stored} articles stored\n")
            sys.stderr.flush()

        yield report
