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


def test_plain_lines_in_a_log_at_most_every_n_seconds(monkeypatch):
    """Not a terminal (a batch job's log): a plain line with done/total, elapsed and ETA at most
    every CORREDOR_PROGRESS_SECONDS; none before that much time has passed; none when quiet."""
    from corredor import progress

    now = [100.0]
    monkeypatch.setattr(progress, "_clock", lambda: now[0])
    monkeypatch.setenv("CORREDOR_PROGRESS_SECONDS", "30")
    con, buf = _console(tty=False)
    with progress_bar("car: 10 replicas", total=10, console=con) as advance:
        for t in (5, 20, 31, 40, 62, 70, 93, 95, 96, 97):  # seconds since the start, one replica each
            now[0] = 100.0 + t
            advance()
    assert buf.getvalue().splitlines() == [
        "car: 10 replicas: 3/10 (30 %), elapsed 0:00:31, ETA 0:01:12",
        "car: 10 replicas: 5/10 (50 %), elapsed 0:01:02, ETA 0:01:02",
        "car: 10 replicas: 7/10 (70 %), elapsed 0:01:33, ETA 0:00:40",
    ]
    for env, quiet in (("0", False), ("30", True)):
        monkeypatch.setenv("CORREDOR_PROGRESS_SECONDS", env)
        con, buf = _console(tty=False)
        with progress_bar("x", total=2, quiet=quiet, console=con) as advance:
            now[0] += 1000
            advance()
        assert buf.getvalue() == ""
    monkeypatch.setenv("CORREDOR_PROGRESS_SECONDS", "soon")
    con, buf = _console(tty=False)
    with progress_bar("x", console=con) as advance:
        now[0] += 1000
        advance()
    assert buf.getvalue().splitlines() == [
        "warning: CORREDOR_PROGRESS_SECONDS='soon': expected seconds between progress lines (a number "
        "≥ 0, 0 for none); using 30", "x: 1 done, elapsed 0:16:40"]


def test_the_day_counter_says_the_day_an_engine_reached_in_a_log_and_nothing_when_quiet(monkeypatch):
    """Finding (scale review): `corredor run` printed nothing until its end (34 s of silence, 4
    minutes on a first run), on a terminal or in a batch job's log. The day counter reads the
    days the engine stores (engine/daycount.py): plain lines in a log, nothing with -q."""
    import re
    import time

    from corredor.engine import daycount
    from corredor.progress import day_counter

    def engine(days: int) -> None:  # (what an engine's day loop does to the counter)
        time.sleep(0.15)  # (loading, compiling)
        daycount.begin(0, days)
        for t in range(days):
            daycount.DAYS[0] = t + 1
            time.sleep(0.03)

    monkeypatch.setenv("CORREDOR_PROGRESS_SECONDS", "0.05")
    con, buf = _console(tty=False)
    with day_counter("car", console=con):
        engine(20)
    lines = buf.getvalue().splitlines()
    pattern = re.compile(r"car: (elapsed 0:00:00, no day run yet \(loading; a first run on a machine "
                         r"also compiles the engine\)|day \d+/20 \(\d+ %\), elapsed 0:00:0\d(, ETA 0:00:0\d)?)")
    assert lines and all(pattern.fullmatch(line) for line in lines), lines
    assert "no day run yet" in lines[0] and any("ETA" in line for line in lines)
    days = [int(m[1]) for line in lines if (m := re.search(r"day (\d+)/", line))]
    assert days == sorted(days) and days[-1] > 10
    con, buf = _console(tty=False)
    with day_counter("car", quiet=True, console=con):
        engine(5)
    assert buf.getvalue() == ""
    con, buf = _console(tty=True)  # a terminal: one updating line
    with day_counter("car", console=con):
        engine(20)
    assert "car: day" in buf.getvalue() and "/20" in buf.getvalue()


def test_every_engine_stores_the_days_it_has_done(tmp_path):
    """What the day counter reads: after a run, days done = days in the run, from day 0 (the
    agent engine's compiled loop stores them itself)."""
    import corredor
    from conftest import REPO
    from corredor.engine import daycount
    from corredor.simulate import simulate
    from scenario_cases import write_mini_flee

    case = corredor.load_scenario(write_mini_flee(tmp_path / "case"))
    crisis = corredor.load_scenario(REPO / "scenarios" / "chile-peru-2023").with_days(5)
    for scenario, engine in ((case, "agents"), (case, "cohorts"), (crisis, "auto")):
        daycount.reset()
        simulate(scenario, seed=1, engine=engine)
        assert daycount.DAYS.tolist() == [scenario.days, scenario.days, 0], engine
