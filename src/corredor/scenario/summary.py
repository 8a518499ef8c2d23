"""`corredor info`: what a scenario holds, as rich tables (counts, period, data totals by day)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from .model import MAX_DAYS, Scenario


def summary_counts(scenario: Scenario) -> dict[str, Any]:
    """Plain numbers behind the summary (also handy in tests and notebooks)."""
    kinds = Counter(loc.kind for loc in scenario.locations)
    camps = [loc for loc in scenario.locations if loc.is_camp]
    return {
        "locations": len(scenario.locations),
        "kinds": dict(kinds),
        "routes": len(scenario.routes),
        "closures": dict(Counter(c.kind for c in scenario.closures)),
        "camps": len(camps),
        "camp_capacity": sum(loc.capacity for loc in camps if loc.capacity > 0),
        "unlimited_camps": sum(1 for loc in camps if loc.capacity < 1),
        "population": sum(loc.population for loc in scenario.locations if not loc.is_camp),
        "conflict_at_start": sum(1 for loc in scenario.locations if loc.conflict_at_start),
        "home_country": scenario.home_country,
    }


def crisis_counts(scenario: Scenario) -> dict[str, Any]:
    """Plain numbers of a border-crisis scenario: who departs, where they may be stopped, what
    was observed. `departing` sums the departures rows over the run's days (before each day's
    rounding down, whose fractions carry to the next day)."""
    cr = scenario.crisis
    assert cr is not None
    departing = sum((d1 - d0 + 1) * rate for _, d0, d1, rate in cr.departure_rates(scenario.days))
    obs_days = sorted({int(o["day"]) for o in cr.observations})
    moved = date_parameter_rows(scenario)  # (a date parameter no row is written against moves nothing)
    return {
        "groups": [(g.name, g.share) for g in cr.groups],
        "crossings": [(c.name, c.a, c.b) for c in cr.crossings],
        "policies": len(cr.policies),
        # (at most MAX_DAYS of them: a run longer than that is refused when it compiles)
        "events": dict(Counter(e.kind for e in cr.schedule(min(scenario.days, MAX_DAYS)))),
        "departing": int(departing),
        "observations": len(cr.observations),
        "observation_days": (obs_days[0], obs_days[-1]) if obs_days else None,
        "provided": len(cr.provided),
        "parameters": len(cr.parameters),
        # (those the tables use: a variant that replaced the policies inherits the baseline's)
        "date_parameters": {k: v for k, v in cr.parameter_dates(scenario.start_date).items() if k in moved},
        # (which rows a sweep of each moves: the rest, e.g. a flight on a fixed date, stay put)
        "date_parameter_rows": moved,
    }


def date_parameter_rows(scenario: Scenario) -> dict[str, dict[str, list[int]]]:
    """For each date parameter the tables use, the rows written against it: {name: {file name:
    [line, ...]}}, so a planner sees what a `--sweep` of it moves and what keeps its fixed date."""
    cr = scenario.crisis
    assert cr is not None
    out: dict[str, dict[str, list[int]]] = {}
    rows = [(p.parameters, p.path, p.line) for p in cr.policies]
    rows += [(e.parameters, e.path, e.line) for e in cr.events]
    rows += [(r.get("refs") or {}, str(r.get("file", "")), int(r.get("line", 0)))
             for r in cr.departures.get("rows", ())]
    for refs, path, line in rows:
        for col in ("start", "end"):
            name = refs.get(col)
            if name in cr.date_parameters:
                lines = out.setdefault(name, {}).setdefault(Path(path).name or "?", [])
                if line not in lines:
                    lines.append(line)
    return {name: {f: sorted(lines) for f, lines in files.items()} for name, files in out.items()}


def line_spans(lines: list[int]) -> str:
    """[4, 5, 6, 9] -> "lines 4–6, 9"; [7] -> "line 7"."""
    spans: list[list[int]] = []
    for n in sorted(lines):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(f"{a}–{b}" if b > a else str(a) for a, b in spans)
    return f"line{'s' if len(lines) > 1 else ''} {text}"


def data_totals(
    scenario: Scenario, every: int = 0
) -> list[tuple[int, dt.date, int | None, int, int]]:
    """Rows (day, date, total series, sum of camp series, camps with data > 0), in people.

    Days 0, `every`, 2·`every`, … and the last day; `every` 0 picks about 12 rows.
    """
    obs = scenario.observations
    n = scenario.days
    step = every or max(1, -(-n // 12))
    days = sorted({*range(0, n, step), n - 1})
    total = obs.total.daily(n) if obs is not None and obs.total is not None else None
    camps = (
        np.array([s.daily(n) for s in obs.camps.values()])
        if obs is not None and obs.camps
        else np.zeros((0, n), dtype=np.int64)
    )
    rows = []
    for d in days:
        col = camps[:, d] if camps.size else np.zeros(0, dtype=np.int64)
        rows.append(
            (
                d,
                scenario.start_date + dt.timedelta(days=d),
                None if total is None else int(total[d]),
                int(col.sum()),
                int((col > 0).sum()),
            )
        )
    return rows


def print_crisis_summary(scenario: Scenario, console: Console) -> None:
    """The summary of a border-crisis scenario: its places and the crisis tables (Flee's
    camps, populations and conflict zones mean nothing to its rules)."""
    c, k = summary_counts(scenario), crisis_counts(scenario)
    end = scenario.start_date + dt.timedelta(days=scenario.days - 1)

    def date(day: int) -> str:
        return (scenario.start_date + dt.timedelta(days=day)).isoformat()

    head = Table(title=f"scenario {scenario.name} (border crisis)", show_header=False)
    head.add_column("what")
    head.add_column("value")
    head.add_row("format", str(scenario.metadata.get("format", "?")))
    head.add_row("period", f"{scenario.start_date} to {end} ({scenario.days} days)")
    head.add_row("places", f"{c['locations']} (" + ", ".join(f"{n} {v}" for n, v in sorted(c["kinds"].items())) + ")")
    head.add_row("routes", str(c["routes"]))
    head.add_row("people departing", f"about {k['departing']:,} over the run (departures rows)")
    head.add_row("groups", ", ".join(f"{n} {s:.0%}" if s >= 0.01 else f"{n} {s:.1%}" for n, s in k["groups"]))
    head.add_row("crossings", ", ".join(f"{n} ({a} → {b})" for n, a, b in k["crossings"]) or "none")
    head.add_row("policy periods", str(k["policies"]))
    head.add_row("events", ", ".join(f"{n} {v}" for n, v in sorted(k["events"].items())) or "none")
    span = k["observation_days"]
    head.add_row("observations", f"{k['observations']} report{'s' if k['observations'] != 1 else ''}, {date(span[0])} to {date(span[1])}"
                 if span else "none")
    head.add_row("provided (needs met)", f"{k['provided']} rows" if k["provided"] else "none stated")
    head.add_row("behaviour parameters", str(k["parameters"]))
    if k["date_parameters"]:  # (what `--sweep crisis.NAME=DATE,...` can move, row by row)
        moved = k["date_parameter_rows"]
        head.add_row("date parameters", "; ".join(
            f"{n} = {d} ({', '.join(f'{f} {line_spans(lines)}' for f, lines in moved.get(n, {}).items())})"
            for n, d in k["date_parameters"].items())
            + ". Only those rows move with --sweep crisis.NAME=YYYY-MM-DD,...; other dates stay fixed")
    console.print(head)


def print_summary(scenario: Scenario, console: Console, every: int = 0) -> None:
    """Print the summary tables of `scenario`."""
    if scenario.crisis is not None:
        print_crisis_summary(scenario, console)
        return
    c = summary_counts(scenario)
    end = scenario.start_date + dt.timedelta(days=scenario.days - 1)
    head = Table(title=f"scenario {scenario.name}", show_header=False)
    head.add_column("what")
    head.add_column("value")
    head.add_row("format", str(scenario.metadata.get("format", "?")))
    head.add_row("period", f"{scenario.start_date} to {end} ({scenario.days} days)")
    head.add_row("hasten", str(scenario.hasten))
    head.add_row("home country", c["home_country"])
    head.add_row(
        "locations",
        f"{c['locations']} (" + ", ".join(f"{k} {v}" for k, v in sorted(c["kinds"].items())) + ")",
    )
    head.add_row("routes", str(c["routes"]))
    head.add_row(
        "camps",
        f"{c['camps']} (capacity {c['camp_capacity']:,}"
        + (f"; {c['unlimited_camps']} unlimited" if c["unlimited_camps"] else "")
        + ")"
        if c["camps"]
        else "none",
    )
    head.add_row("population (non-camps)", f"{c['population']:,}")
    head.add_row("conflict zones on day 0", str(c["conflict_at_start"]))
    if scenario.conflicts is not None:
        rows, cols = scenario.conflicts.intensity.shape
        head.add_row("conflicts timeline", f"{cols} places × {rows} days")
    head.add_row(
        "closures",
        ", ".join(f"{k} {v}" for k, v in sorted(c["closures"].items())) or "none",
    )
    console.print(head)
    if scenario.observations is None:
        console.print("no observed data", markup=False)
        return
    data = Table(title="observed data by day (people, before hasten)")
    for name in ("day", "date", "total", "camps sum", "camps > 0"):
        data.add_column(name, justify="right")
    for d, date, total, camps, positive in data_totals(scenario, every):
        data.add_row(
            str(d),
            date.isoformat(),
            "-" if total is None else f"{total:,}",
            f"{camps:,}",
            str(positive),
        )
    console.print(data)
