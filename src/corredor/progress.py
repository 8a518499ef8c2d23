"""Progress of ensembles, comparisons and calibrations: a bar on a terminal, plain lines in logs.

A bar appears only when the console (stderr by default) is a terminal and `quiet` is false, so
logs, pipes, CI and `--quiet` get no control characters. Elsewhere (a batch job's log, a pipe)
a plain line such as `car: 5000 replicas: 400/5000 (8 %), elapsed 0:05:10, ETA 0:58:00` is
printed at most every `CORREDOR_PROGRESS_SECONDS` seconds (`PLAIN_EVERY_S` by default; 0: none),
the first once that much time has passed: a command shorter than that prints none. `quiet`
silences both. Library code takes a `quiet` flag (or a console) and calls
`progress_bar`/`track`; it never prints anything else.

>>> with progress_bar("replicas", total=3, quiet=True) as advance:
...     for _ in range(3):
...         advance()
>>> [x for x in track(range(3), "days", quiet=True)]
[0, 1, 2]
"""

from __future__ import annotations

import os
import time
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

#: Seconds between plain progress lines where stderr is not a terminal (a batch job's log).
PLAIN_EVERY_S = 30.0
#: The environment variable that sets them (0: no plain lines).
PLAIN_EVERY_ENV = "CORREDOR_PROGRESS_SECONDS"
#: The clock of the plain lines (a test replaces it).
_clock = time.monotonic


def plain_every_s(console: Console | None = None) -> float:
    """Seconds between plain progress lines: `CORREDOR_PROGRESS_SECONDS`, else `PLAIN_EVERY_S`.
    A value that is not a number ≥ 0 is said on `console` (one warning line) and the default used."""
    raw = os.environ.get(PLAIN_EVERY_ENV, "").strip()
    if not raw:
        return PLAIN_EVERY_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # (NaN too)
        (console or Console(stderr=True)).print(
            f"warning: {PLAIN_EVERY_ENV}={raw!r}: expected seconds between progress lines (a number "
            f"≥ 0, 0 for none); using {PLAIN_EVERY_S:g}", markup=False, highlight=False, soft_wrap=True)
        return PLAIN_EVERY_S
    return value


def _hms(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def progress_line(description: str, done: int, total: int | None, elapsed: float) -> str:
    """A plain progress line: `replicas: 400/5000 (8 %), elapsed 0:05:10, ETA 0:58:00`.

    >>> progress_line("replicas", 400, 5000, 310)
    'replicas: 400/5000 (8 %), elapsed 0:05:10, ETA 0:59:25'
    """
    if not total:
        return f"{description}: {done:,} done, elapsed {_hms(elapsed)}"
    eta = elapsed / done * (total - done) if done else None
    return (f"{description}: {done}/{total} ({100 * done // total} %), elapsed {_hms(elapsed)}"
            + (f", ETA {_hms(eta)}" if eta is not None else ""))


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
    """Yield `advance(n=1)`: a bar on a terminal, plain lines at most every `plain_every_s()`
    seconds elsewhere, nothing when `quiet`."""
    con = console or Console(stderr=True)
    if quiet:
        yield lambda n=1: None
        return
    if not shows_progress(quiet, con):
        every = plain_every_s(con)
        start = _clock()
        state = {"done": 0, "next": start + every}

        def plain(n: int = 1) -> None:
            state["done"] += n
            now = _clock()
            if every > 0 and now >= state["next"]:
                state["next"] = now + every
                con.print(progress_line(description, int(state["done"]), total, now - start),
                          markup=False, highlight=False, soft_wrap=True)

        yield plain
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
