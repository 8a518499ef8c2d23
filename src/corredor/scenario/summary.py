"""`corredor info`: what a scenario holds, as rich tables (counts, period, data totals by day)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from .model import Scenario


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


def print_summary(scenario: Scenario, console: Console, every: int = 0) -> None:
    """Print the summary tables of `scenario`."""
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
    if scenario.crisis is not None:
        cr = scenario.crisis
        head.add_row(
            "crisis",
            f"{len(cr.groups)} groups, {len(cr.crossings)} crossings, "
            f"{len(cr.policies)} policy periods, {len(cr.events)} events",
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
