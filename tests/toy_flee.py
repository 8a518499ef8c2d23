"""Small Flee-rule scenarios built by hand, for the engine and plan tests.

`toy(...)` builds a Scenario from a few keyword lists so each test states only what it needs:
places (name, kind, population or capacity[, country]), roads (a, b, km), a refugees.csv total by
day, camp series, conflicts (intensity rows per day) and closures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from corredor.scenario.model import (
    Closure,
    ConflictTimeline,
    Location,
    Observations,
    Route,
    Scenario,
    Series,
)
from corredor.scenario.settings import Settings


def toy(places: list[tuple], roads: list[tuple], days: int = 10, total: list[tuple[int, float]] | None = None,
        camps_data: dict[str, list[tuple[int, float]]] | None = None,
        conflicts: dict[str, list[float]] | None = None, closures: list[tuple] = (),
        settings: dict[str, Any] | None = None, name: str = "toy") -> Scenario:
    """A Scenario: `places` rows are (name, kind, pop_or_cap[, country]); roads (a, b, km[, fr])."""
    locs = []
    for k, row in enumerate(places):
        nm, kind, n = row[0], row[1], row[2]
        country = row[3] if len(row) > 3 else "Home"
        camp = kind in ("camp", "idpcamp")
        locs.append(Location(name=nm, country=country, kind=kind, type_raw=kind,
                             conflict_date=0 if kind == "conflict" else None,
                             population=0 if camp else int(n), capacity=int(n) if camp else -1,
                             line=k + 2))
    routes = [Route(a=r[0], b=r[1], distance_km=float(r[2]),
                    forced_redirection=int(r[3]) if len(r) > 3 else 0, line=k + 2)
              for k, r in enumerate(roads)]
    obs = None
    if total is not None:
        def series(nm: str, pts: list[tuple[int, float]]) -> Series:
            return Series(name=nm, files=(f"{nm}.csv",), days=tuple(d for d, _ in pts),
                          values=tuple(float(v) for _, v in pts))

        camps = {nm: series(nm, pts) for nm, pts in (camps_data or {}).items()}
        for loc in locs:  # Flee needs a series for every camp; default: empty camp
            if loc.is_camp and loc.name not in camps:
                camps[loc.name] = series(loc.name, [(0, 0.0)])
        obs = Observations(total=series("total", total), camps=camps)
    ct = None
    if conflicts is not None:
        names = tuple(conflicts)
        ct = ConflictTimeline(names=names, intensity=np.array([conflicts[n] for n in names], float).T.copy())
    cl = tuple(Closure(kind=c[0], name1=c[1], name2=c[2], start=c[3], end=c[4], line=k + 2)
               for k, c in enumerate(closures))
    return Scenario(name=name, start_date=dt.date(2020, 1, 1), days=days, locations=tuple(locs),
                    routes=tuple(routes), closures=cl, conflicts=ct, observations=obs,
                    settings=Settings(**(settings or {})))


def line_case(days: int = 30, spawn_per_day: int = 200, camp_cap: int = 0, km: float = 150.0,
              settings: dict[str, Any] | None = None) -> Scenario:
    """Conflict zone A —km— town B —km— camp C, spawning `spawn_per_day` at A from day 1."""
    total = [(0, 0.0), (days, float(spawn_per_day * days))]
    return toy([("A", "conflict", 10000), ("B", "town", 5000), ("C", "camp", camp_cap, "Other")],
               [("A", "B", km), ("B", "C", km)], days=days, total=total,
               conflicts={"A": [1.0] * days}, settings=settings)
