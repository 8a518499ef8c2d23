"""Progress bars for long runs, ensembles and calibrations: shown on a terminal, silent otherwise.

A bar appears only when the console (stderr by default) is a terminal and `quiet` is false, so
logs, pipes, CI and `--quiet` get no control characters. Library code takes a `quiet` flag (or a
console) and calls `progress_bar`/`track`; it never prints anything else.

>>> with progress_bar("replicas", total=3, quiet=True) as advance:
...     for _ in range(3):
...         advance()
>>> [x for x in track(range(3), "days", quiet=True)]
[0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

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

T = TypeVar("T")


def shows_progress(quiet: bool = False, console: Console | None = None) -> bool:
    """True when a bar would be drawn: not quiet and the console is a terminal."""
    if quiet:
        return False
    return (console or Console(stderr=True)).is_terminal


def _progress(console: Console, total: int | None) -> Progress:
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    else:
        columns += [MofNCompleteColumn(), TimeElapsedColumn()]
    return Progress(*columns, console=console, transient=False)


@contextmanager
def progress_bar(
    description: str, total: int | None = None, *, quiet: bool = False, console: Console | None = None
) -> Iterator[Callable[..., None]]:
    """Yield `advance(n=1)`; draws a bar only on a terminal when not quiet (else a no-op)."""
    con = console or Console(stderr=True)
    if not shows_progress(quiet, con):
        yield lambda n=1: None
        return
    with _progress(con, total) as prog:
        task = prog.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            prog.update(task, advance=n)

        yield advance


def track(
    items: Iterable[T],
    description: str,
    total: int | None = None,
    *,
    quiet: bool = False,
    console: Console | None = None,
) -> Iterator[T]:
    """Iterate `items`, advancing a bar per item (silent when quiet or not a terminal)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress_bar(description, total, quiet=quiet, console=console) as advance:
        for item in items:
            yield item
            advance()
