"""Progress bars appear on a terminal and nowhere else."""

from __future__ import annotations

import io

from rich.console import Console

from corredor.progress import progress_bar, shows_progress, track


def _console(tty: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=tty, width=100), buf


def test_bar_is_drawn_on_a_terminal():
    con, buf = _console(tty=True)
    assert shows_progress(console=con)
    assert list(track(range(5), "replicas", console=con)) == [0, 1, 2, 3, 4]
    out = buf.getvalue()
    assert "replicas" in out and "5/5" in out


def test_nothing_when_not_a_terminal_or_quiet():
    con, buf = _console(tty=False)
    assert list(track(range(3), "days", console=con)) == [0, 1, 2]
    assert buf.getvalue() == ""
    con, buf = _console(tty=True)
    with progress_bar("calibration", total=4, quiet=True, console=con) as advance:
        for _ in range(4):
            advance()
    assert buf.getvalue() == ""
    assert not shows_progress(quiet=True, console=con)


def test_unknown_total_counts_up():
    con, buf = _console(tty=True)
    with progress_bar("trials", console=con) as advance:
        advance(2)
        advance()
    assert "trials" in buf.getvalue() and "3" in buf.getvalue()
