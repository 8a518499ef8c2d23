"""Post-run invariants of a Results dataset: conservation, signs and flows, day by day.

Why a validator beside the engines' own daily checks: the engines check their internal state
(people columns against tallies, crossing and shelter capacities) while they run with
`check=True`; this module checks what a user gets — the labelled dataset — so that a fault in
the glue between engine and Results (a shifted day, a dropped route) is caught too. It runs at
the end of `simulate(..., check=True)` and in the tests.

>>> check_results(simulate(scenario, seed=1))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..results import is_crisis
from .crisis import InvariantError

#: Variables that count people: whole numbers, never negative.
COUNT_VARIABLES = (
    "population", "population_by_group", "arrivals", "departures", "travellers", "spawned",
    "total_people", "exited", "stranded", "stranded_by_group", "sheltered", "held", "crossings", "pushbacks",
    "give_ups", "days_waited", "cannot_pay_fare",
)


def results_problems(results: Any) -> list[str]:
    """Every broken invariant of `results` (a Results or anything with .dataset), as messages.

    Checked: count variables are finite, whole and ≥ 0; money paid (at crossings, `money_paid_usd`,
    and in fares, `fares_paid_usd`) is ≥ 0 (the engine's own check=True also checks that cash is
    conserved: what people were given is what they carry plus what they paid); people ever created
    never decrease; every day, people created = present + travelling + exited (`exited` is 0 for
    the Flee engine, which has no exits); for the Flee engine, people on links change by
    departures − arrivals and people at places by spawned + arrivals − departures; stranded and
    sheltered (and held) people are among those present.
    """
    ds = results.dataset
    out: list[str] = []
    for name in COUNT_VARIABLES:
        if name not in ds:
            continue
        a = np.asarray(ds[name].values, dtype=np.float64)
        if not np.isfinite(a).all():
            out.append(f"{name}: not finite")
            continue
        if (a < 0).any():
            day = int(np.argwhere(a < 0)[0][0])
            out.append(f"{name}: negative count on day {day}")
        if (a != np.round(a)).any():
            out.append(f"{name}: not whole numbers")
    for name in ("money_paid_usd", "fares_paid_usd"):
        if is_crisis(ds) and name in ds and (np.asarray(ds[name].values) < 0).any():
            out.append(f"{name}: negative")
    if "population" not in ds or "total_people" not in ds:
        return out + ["missing population or total_people"]
    total = np.asarray(ds["total_people"].values, dtype=np.int64)
    if (np.diff(total) < 0).any():
        out.append("total_people decreases")
    present = np.asarray(ds["population"].values, dtype=np.int64).sum(axis=1)
    travelling = (
        np.asarray(ds["travellers"].values, dtype=np.int64).sum(axis=1)
        if "travellers" in ds
        else np.zeros_like(present)
    )
    exited = (
        np.asarray(ds["exited"].values, dtype=np.int64) if "exited" in ds
        else np.zeros_like(present)
    )
    bad = np.flatnonzero(present + travelling + exited != total)
    if bad.size:
        t = int(bad[0])
        out.append(
            f"day {t}: created {total[t]} != present {present[t]} + travelling {travelling[t]}"
            f" + exited {exited[t]}"
        )
    if "spawned" in ds:
        spawned = np.asarray(ds["spawned"].values, dtype=np.int64)
        if (np.diff(total) != spawned[1:]).any():
            out.append("total_people is not the running sum of spawned")
    if "population_by_group" in ds:
        by_group = np.asarray(ds["population_by_group"].values, dtype=np.int64).sum(axis=2)
        if (by_group != np.asarray(ds["population"].values)).any():
            out.append("population != population_by_group summed over groups")
    if "stranded_by_group" in ds and "stranded" in ds:
        by_group = np.asarray(ds["stranded_by_group"].values, dtype=np.int64)
        if (by_group.sum(axis=2) != np.asarray(ds["stranded"].values)).any():
            out.append("stranded != stranded_by_group summed over groups")
        if "population_by_group" in ds and (by_group > np.asarray(ds["population_by_group"].values)).any():
            out.append("stranded_by_group: more of a group than are present")
    pop = np.asarray(ds["population"].values, dtype=np.int64)
    for name in ("stranded", "sheltered", "held"):
        if name in ds and (np.asarray(ds[name].values, dtype=np.int64) > pop).any():
            out.append(f"{name}: more than the people present")
    crisis = "exited" in ds
    if not crisis and {"arrivals", "departures", "travellers", "spawned"} <= set(ds.data_vars):
        arr = np.asarray(ds["arrivals"].values, dtype=np.int64).sum(axis=1)
        dep = np.asarray(ds["departures"].values, dtype=np.int64).sum(axis=1)
        spawned = np.asarray(ds["spawned"].values, dtype=np.int64)
        if (np.diff(travelling) != (dep - arr)[1:]).any():
            out.append("people on links do not change by departures − arrivals")
        if (np.diff(present) != (spawned + arr - dep)[1:]).any():
            out.append("people at places do not change by spawned + arrivals − departures")
    return out


def check_results(results: Any) -> None:
    """Raise InvariantError listing every broken invariant of `results` (see results_problems)."""
    problems = results_problems(results)
    if problems:
        raise InvariantError("invariants broken: " + "; ".join(problems))
