"""Progress of runs, ensembles, comparisons and calibrations: a bar on a terminal, plain lines in logs.

A bar appears only when the console (stderr by default) is a terminal and `quiet` is false, so
logs, pipes, CI and `--quiet` get no control characters. Elsewhere (a batch job's log, a pipe)
a plain line such as `car: 5000 replicas: 400/5000 (8 %), elapsed 0:05:10, ETA 0:58:00` is
printed at most every `CORREDOR_PROGRESS_SECONDS` seconds (`PLAIN_EVERY_S` by default; 0: none),
the first once that much time has passed: a command shorter than that prints none. `quiet`
silences both. Library code takes a `quiet` flag (or a console) and calls
`progress_bar`/`track`; it never prints anything else. `corredor run` shows the day its engine
has reached the same way (`day_counter`: `car: day 400/3650 (10 %), elapsed …, ETA …`).

>>> with progress_bar("replicas", total=3, quiet=True) as advance:
...     for _ in range(3):
...         advance()
>>> [x for x in track(range(3), "days", quiet=True)]
[0, 1, 2]
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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


#: Seconds between updates of the day counter's line on a terminal.
DAY_TICK_S = 0.25


def day_line(description: str, days: tuple[int, int], elapsed: float, eta: float | None = None) -> str:
    """A plain line of the day counter, `days` being (days done, days in the run); before the
    engine's first day (total 0), only the time so far.

    >>> day_line("car", (400, 3650), 310, 2519)
    'car: day 400/3650 (10 %), elapsed 0:05:10, ETA 0:41:59'
    >>> day_line("car", (0, 0), 30)
    'car: elapsed 0:00:30, no day run yet (loading; a first run on a machine also compiles the engine)'
    """
    done, total = days
    if total <= 0:
        return (f"{description}: elapsed {_hms(elapsed)}, no day run yet (loading; a first run on a "
                "machine also compiles the engine)")
    return (f"{description}: day {done}/{total} ({100 * done // total} %), elapsed {_hms(elapsed)}"
            + (f", ETA {_hms(eta)}" if eta is not None else ""))


@contextmanager
def day_counter(description: str, *, quiet: bool = False, console: Console | None = None) -> Iterator[None]:
    """While the body runs one simulation, show the day its engine has reached: an updating line
    on a terminal (removed at the end), a plain `day_line` every `plain_every_s()` seconds
    elsewhere (a batch job's log), nothing when `quiet`. The ETA counts from the first day seen
    done, so neither compiling the engine nor a resumed run's earlier days skew it.

    Why a thread: the agent engine's day loop is one compiled call; it stores the days done into
    `engine.daycount.DAYS`, which a thread of this process reads (the kernels release the GIL),
    so the engine itself does nothing more than that store per day."""
    con = console or Console(stderr=True)
    if quiet:
        yield
        return
    from .engine import daycount

    terminal = shows_progress(quiet, con)
    every = DAY_TICK_S if terminal else plain_every_s(con)
    if every <= 0:
        yield
        return
    daycount.reset()
    stop = threading.Event()
    start = _clock()

    def days() -> tuple[int, int, int]:
        done, total, first = (int(x) for x in daycount.DAYS)
        return min(done, total), total, first

    def plain() -> None:
        tick = min(every, DAY_TICK_S * 4)  # (looks more often than it prints: when days start)
        moving: tuple[float, int] | None = None  # (when a day was first seen done, and which)
        next_line = start + every
        while not stop.wait(tick):
            done, total, first = days()
            now = _clock()
            if moving is None and total > 0 and done > first:
                moving = (now, done)
            if now >= next_line:
                next_line = now + every
                eta = None
                if moving is not None and done > moving[1]:
                    eta = (now - moving[0]) / (done - moving[1]) * (total - done)
                con.print(day_line(description, (done, total), now - start, eta), markup=False,
                          highlight=False, soft_wrap=True)

    def bar(prog: Progress) -> None:
        task = None
        while not stop.wait(every):
            done, total, first = days()
            if total > 0 and task is None:  # (from the first day of this process: a resumed run's)
                task = prog.add_task(f"{description}: day", total=total, completed=first)
            if task is not None:
                prog.update(task, completed=done)
            prog.refresh()

    if terminal:
        prog = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                        console=con, transient=True, auto_refresh=False)
        with prog:
            yield from _in_thread(bar, (prog,), stop)
        return
    yield from _in_thread(plain, (), stop)


def _in_thread(target: Callable[..., None], args: tuple[Any, ...], stop: threading.Event) -> Iterator[None]:
    """Run `target(*args)` in a daemon thread while the caller's block runs; then set `stop` and
    wait for it (the day counter's two displays, terminal and plain)."""
    thread = threading.Thread(target=target, args=args, name="corredor-day-counter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


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
