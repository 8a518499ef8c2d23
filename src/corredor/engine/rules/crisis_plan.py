"""Crisis scenario -> CrisisPlan: the arrays the border-crisis kernels read, built once per run.

Why a plan: the kernels are numba functions over plain arrays, so every name, date and policy row
is turned here into indices and day-by-day tables (policy per day × crossing × group, spawn counts
per day × origin, route costs-to-go per policy epoch), and all later stages only index them.
"""

from __future__ import annotations

import functools
import heapq
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...plan import MAX_DAYS, MAX_PEOPLE
from ...scenario.crisis_network import is_ordinary, network_findings
from ...scenario.csvread import header_column
from ...scenario.model import CRISIS_HASTEN, Scenario, crisis_unread, crisis_unread_keys
from ...scenario.problems import Problem, Problems, ScenarioError

#: Memory of one person's columns (crisis_state.People) plus their origin in the plan.
PERSON_BYTES = 64

# policy status codes
OPEN, DOCUMENTS, CLOSED = 0, 1, 2
STATUS_CODES = {"open": OPEN, "documents": DOCUMENTS, "closed": CLOSED}

# event kind codes
TRANSFER, FLIGHT, ADMISSION, CORRIDOR = 0, 1, 2, 3
EVENT_CODES = {"transfer": TRANSFER, "flight": FLIGHT, "admission": ADMISSION, "corridor": CORRIDOR}

#: Crossing modes, in the order of the `mode` coordinate of `crossings`.
MODES = ("regular", "paid", "irregular", "admission", "flight", "transfer", "corridor")
M_REGULAR, M_PAID, M_IRREGULAR, M_ADMISSION, M_FLIGHT, M_TRANSFER, M_CORRIDOR = range(7)

#: Bins of days waited so far, today included (lower edges, inclusive); the last is open-ended.
#: Someone stranded today has waited 1 day (a "0" bin was always empty).
WAIT_BIN_EDGES = np.array([1, 3, 7, 14, 28], dtype=np.int64)
WAIT_BIN_LABELS = ("1-2", "3-6", "7-13", "14-27", "28+")

#: Name of the extra crossing entry that collects event moves not tied to a declared crossing.
ELSEWHERE = "elsewhere"


@dataclass
class CrisisPlan:
    """Read-only arrays of one crisis scenario (see module docstring)."""

    n_days: int
    names: tuple[str, ...]
    # network: directed links, CSR adjacency by origin
    link_from: np.ndarray
    link_to: np.ndarray
    link_km: np.ndarray  # the route's distance (outputs, route costs)
    # km of a day's `speed_km_per_day` budget a link takes: its distance, or distance × scenario
    # speed / the route's own `speed_km_per_day` (so the travel kernels need no per-link speed)
    link_travel_km: np.ndarray
    link_normal: np.ndarray  # 1 = usable in ordinary route choice (not irregular / corridor-only)
    link_crossing: np.ndarray  # crossing index of a link, −1 = none
    out_start: np.ndarray
    out_links: np.ndarray
    route_index: np.ndarray  # directed link -> index in the `route` dimension (= link index)
    # groups
    group_names: tuple[str, ...]
    group_cdf: np.ndarray  # cumulative shares
    group_docs: np.ndarray
    group_fallback: np.ndarray  # destination slot of each group's fallback
    group_cash_mean: np.ndarray
    group_cash_sd: np.ndarray
    dest_cdf: np.ndarray  # (G, D) cumulative destination probabilities over destination slots
    dest_nodes: np.ndarray  # destination slot -> node
    dest_is_fallback: np.ndarray  # (G, D) 1 where slot is the group's fallback
    # crossings and policies
    crossing_names: tuple[str, ...]  # declared crossings, then ELSEWHERE
    cross_link: np.ndarray
    cross_staging: np.ndarray
    cross_irr_link: np.ndarray
    cross_pushback: np.ndarray
    status: np.ndarray  # (T, C, G) int8
    militarisation: np.ndarray  # (T, C, G)
    price: np.ndarray  # (T, C, G) USD, 0 = none
    bribe: np.ndarray  # (T, C, G) success probability
    # Daily capacities are pools: each policy row's `capacity_per_day` is shared by the groups it
    # names, on its days (a later row overrides a group's earlier one, as for the status); a
    # row for some groups leaves the others' pools alone. Admissions likewise, per event row.
    capacity_pool: np.ndarray  # (T, C, G) int32: the governing row's pool, −1 = unlimited
    pool_cap: np.ndarray  # (R,) int64: people per day of each pool
    admission: np.ndarray  # (T, C, G) int8
    admission_pool: np.ndarray  # (T, C, G) int32: the admission row's pool, −1 = unlimited
    admission_pool_cap: np.ndarray  # (A,) int64
    # routing: cost-to-go per epoch
    epoch_of_day: np.ndarray  # (T,)
    link_cost: np.ndarray  # (E, G, K)
    togo: np.ndarray  # (E, G, D, N)
    # spawning
    spawn_offset: np.ndarray  # (T+1,) person index range per day
    person_origin: np.ndarray  # node of each person (capacity P)
    spawn_counts: np.ndarray  # (T, N)
    # events (one row per occurrence; admission rows are folded into the policy arrays)
    ev_kind: np.ndarray
    ev_start: np.ndarray
    ev_end: np.ndarray
    ev_origin: np.ndarray
    ev_dest: np.ndarray
    ev_people: np.ndarray
    ev_groups: np.ndarray  # (V, G) int8
    ev_link: np.ndarray
    ev_cross: np.ndarray  # crossing slot the move is recorded under
    ev_fare: np.ndarray  # USD each person moved pays from their cash (0 = free)
    # places
    shelter_cap: np.ndarray  # (N,) −1 = not a shelter
    stop: np.ndarray  # (N,) int8: 1 = a stop place (locations.csv `stop = yes`), travellers held there
    # parameters
    params: dict[str, float] = field(default_factory=dict)

    @property
    def capacity_people(self) -> int:
        return int(self.spawn_offset[-1])

    @functools.cached_property
    def capacity(self) -> np.ndarray:
        """(T, C): the most people who may pass a crossing regularly in a day (−1 = unlimited)."""
        return _pool_totals(self.capacity_pool, self.pool_cap)

    @functools.cached_property
    def admission_cap(self) -> np.ndarray:
        """(T, C): the most people a crossing's admissions may take in a day (−1 = unlimited)."""
        return _pool_totals(self.admission_pool, self.admission_pool_cap)


def _pool_totals(pools: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """(T, C): the sum of the distinct pools the groups draw from, −1 where a group has none."""
    T, C, _ = pools.shape
    out = np.zeros((T, C), dtype=np.int64)
    for t in range(T):
        for c in range(C):
            used = set(pools[t, c].tolist())
            out[t, c] = -1 if -1 in used else sum(int(caps[r]) for r in used)
    return out


def _fail(problems: list[Problem]) -> None:
    if problems:
        raise ScenarioError(problems)


class _Where:
    """Places in a scenario's files for the problems found here (the readers catch most of them
    first; these checks guard a Scenario built or changed in code): `at` names a cell of a CSV
    row as the readers do, its file relative to the scenario folder (`path:line:col`, 1-based)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.folder = Path(scenario.source) if scenario.source else None
        self.named = Problems(root=self.folder)

    def _problem(self, path: str | Path, line: int, column: int, message: str) -> Problem:
        return self.named.problem(path, line, column, message)

    def file(self, key: str) -> Path:
        """The file of `[files] key` (e.g. routes.csv), where a part kept no path of its own."""
        name = str(self.scenario.metadata.get("files", {}).get(key, f"{key}.csv"))
        return self.folder / name if self.folder is not None else Path(name)

    def at(self, path: str | Path, line: int, column: str, message: str, default: int = 1) -> Problem:
        """A problem at the cell of `column` on `line` of CSV file `path`."""
        return self._problem(path, line, header_column(path, column, default) if line else 0, message)

    def days(self, message: str) -> Problem:
        """A problem with the run's length: at `days` in scenario.toml (1:1 when not written)."""
        from ...scenario.native import toml_place

        toml = (self.folder or Path(".")) / "scenario.toml"
        try:
            line, col = toml_place(toml.read_text(encoding="utf-8"), "scenario", "days")
        except (OSError, UnicodeDecodeError):
            line, col = 1, 1
        return self._problem(toml, line, col, message)

    def departures(self, rows: list[tuple[dict[str, Any], float]], message: str) -> Problem:
        """A problem with the people the departures create: at the `people_per_day` cell of the
        row that creates the most (`rows`: each row with the people it creates)."""
        row, _ = max(rows, key=lambda r: r[1]) if rows else ({}, 0.0)
        if row.get("line") and row.get("file"):  # (rows keep their file, from the folder)
            path = self.folder / row["file"] if self.folder is not None else Path(row["file"])
            return self.at(path, int(row["line"]), "people_per_day", message)
        return self._problem(self.file("departures"), 1, 1, message)


def _departure_people(crisis: Any, days: int) -> list[tuple[dict[str, Any], float]]:
    """Each departures row with the people it creates within the run's `days`."""
    out = []
    for row in crisis.departures.get("rows", ()):
        scale = float(crisis.parameters.get(row["scale"], 1.0)) if row.get("scale") else 1.0
        d0, d1 = crisis.departure_days(row)
        d0, d1 = max(d0, 0), min(d1, days - 1)
        out.append((dict(row), max(d1 - d0 + 1, 0) * float(row["people_per_day"]) * scale))
    return out


def _float_attr(attrs: Any, key: str, default: float = 0.0) -> float:
    v = attrs.get(key) if attrs else None
    if v in (None, ""):
        return default
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def compile_crisis(scenario: Scenario) -> CrisisPlan:
    """Build the arrays of a crisis scenario; raise ScenarioError for inconsistencies, and
    ValueError for a scenario without [crisis], with a hasten other than 1 (`CRISIS_HASTEN`) or
    with a Flee setting its rules do not read (`crisis_unread_keys`, e.g. from `with_settings`).

    >>> plan = compile_crisis(load_scenario("scenarios/chile-peru-2023"))  # doctest: +SKIP
    """
    crisis = scenario.crisis
    if crisis is None:
        raise ValueError("scenario has no [crisis] part")
    if scenario.hasten != 1:  # (load_scenario(..., hasten=H), with_hasten: ignored, it ran at 1)
        raise ValueError(f"hasten {scenario.hasten:,}: {CRISIS_HASTEN}; load it without hasten")
    unread = crisis_unread_keys(scenario.settings)  # (with_settings: ignored, it ran without them)
    if unread:
        raise ValueError("; ".join(f"settings.{section}.{key}: {crisis_unread(section)}"
                                   for section, key in unread) + "; leave Flee's settings out")
    where = _Where(scenario)
    probs: list[Problem] = []
    T = int(scenario.days)
    if T > MAX_DAYS:  # refuse before any days × places array is allocated
        _fail([where.days(f"the run lasts {T:,} days, more than the {MAX_DAYS:,} (100 years) "
                          "corredor accepts (expected a shorter [scenario] days)")])
    names = tuple(loc.name for loc in scenario.locations)
    idx = {n: i for i, n in enumerate(names)}
    N = len(names)
    p = {k: float(v) for k, v in crisis.parameters.items()}

    # ---- links -----------------------------------------------------------------------------
    lf, lt, lk, lt_km, normal, fare, risk = [], [], [], [], [], [], []
    for r in scenario.routes:
        if r.a not in idx or r.b not in idx:
            first = r.a not in idx
            unknown, col = (r.a, "name1") if first else (r.b, "name2")
            probs.append(where.at(where.file("routes"), r.line, col,
                                  f"route {r.a}–{r.b} names an unknown place {unknown!r} "
                                  "(expected a name from the locations table)", default=1 if first else 2))
            continue
        ordinary = is_ordinary(r)  # (neither irregular nor corridor_only: route choice uses it)
        km = max(float(r.distance_km), 1e-6)
        travel_km = km  # (no speed of its own: the scenario's; the same float, bit for bit)
        own = _float_attr(r.attributes, "speed_km_per_day", math.nan)
        if (r.attributes or {}).get("speed_km_per_day", "") != "":
            if not (math.isfinite(own) and own > 0):  # (the reader refuses it; a Route built in code)
                probs.append(where.at(where.file("routes"), r.line, "speed_km_per_day",
                                      f"route {r.a}–{r.b}: bad speed_km_per_day "
                                      f"{r.attributes['speed_km_per_day']!r} (expected a number above 0)"))
                continue
            travel_km = max(km * p["speed_km_per_day"] / own, 1e-6)
        for x, y in ((r.a, r.b), (r.b, r.a)):
            lf.append(idx[x])
            lt.append(idx[y])
            lk.append(km)
            lt_km.append(travel_km)
            normal.append(1 if ordinary else 0)
            fare.append(_float_attr(r.attributes, "price_usd"))
            risk.append(_float_attr(r.attributes, "risk"))
    link_from = np.asarray(lf, dtype=np.int32)
    link_to = np.asarray(lt, dtype=np.int32)
    link_km = np.asarray(lk, dtype=np.float64)
    link_travel_km = np.asarray(lt_km, dtype=np.float64)
    link_normal = np.asarray(normal, dtype=np.int8)
    K = len(link_from)
    order = np.argsort(link_from, kind="stable")
    out_links = order.astype(np.int32)
    out_start = np.zeros(N + 1, dtype=np.int32)
    np.add.at(out_start, link_from + 1, 1)
    out_start = np.cumsum(out_start).astype(np.int32)
    link_of = {(int(link_from[k]), int(link_to[k])): k for k in range(K)}

    # ---- groups and destinations -----------------------------------------------------------
    groups = crisis.groups
    G = len(groups)
    gnames = tuple(g.name for g in groups)
    gidx = {n: i for i, n in enumerate(gnames)}
    dest_list: list[int] = []

    def slot(place: str) -> int:
        node = idx[place]
        if node not in dest_list:
            dest_list.append(node)
        return dest_list.index(node)

    for g in groups:
        for place, col in [(d, "destinations") for d in g.destinations] + [(g.fallback, "fallback")]:
            if place and place not in idx:
                probs.append(where.at(g.path or where.file("groups"), g.line, col,
                                      f"group {g.name}: unknown place {place!r} in {col} "
                                      "(expected a name from the locations table)"))
    _fail(probs)
    # a group whose people never move from an origin (the readers report it first, with warnings)
    for f in network_findings(crisis, scenario.locations, scenario.routes,
                              str(where.file("groups")), str(where.file("events"))):
        if f.error:
            probs.append(where.at(f.path, f.line, f.column, f.message))
    _fail(probs)
    for g in groups:
        for place in g.destinations:
            slot(place)
        if g.fallback:
            slot(g.fallback)
    D = max(len(dest_list), 1)
    dest_cdf = np.zeros((G, D), dtype=np.float64)
    dest_is_fallback = np.zeros((G, D), dtype=np.int8)
    group_fallback = np.full(G, -1, dtype=np.int32)
    for gi, g in enumerate(groups):
        probs_g = np.zeros(D)
        for place, pr in g.destinations.items():
            probs_g[slot(place)] += pr
        dest_cdf[gi] = np.cumsum(probs_g) / max(probs_g.sum(), 1e-12)
        if g.fallback:
            group_fallback[gi] = slot(g.fallback)
            dest_is_fallback[gi, group_fallback[gi]] = 1
    shares = np.array([g.share for g in groups], dtype=np.float64)
    group_cdf = np.cumsum(shares) / max(shares.sum(), 1e-12)
    dest_nodes = np.asarray(dest_list, dtype=np.int32)

    # ---- crossings and policies ------------------------------------------------------------
    crossings = crisis.crossings
    C = len(crossings)
    cnames = tuple(c.name for c in crossings) + (ELSEWHERE,)
    cidx = {c.name: i for i, c in enumerate(crossings)}
    cross_link = np.full(C + 1, -1, dtype=np.int32)
    cross_staging = np.full(C + 1, -1, dtype=np.int32)
    cross_irr = np.full(C + 1, -1, dtype=np.int32)
    cross_push = np.full(C + 1, -1, dtype=np.int32)
    link_crossing = np.full(K, -1, dtype=np.int32)
    for ci, c in enumerate(crossings):
        a, b = idx.get(c.a), idx.get(c.b)
        if a is None or b is None or (k := link_of.get((a, b))) is None:
            col = "from" if a is None else "to"
            probs.append(where.at(c.path or where.file("crossings"), c.line, col,
                                  f"crossing {c.name}: no route from {c.a} to {c.b} (expected a route "
                                  "between them in the routes table, and both in the locations table)"))
            continue
        cross_link[ci] = k
        link_crossing[k] = ci
        cross_staging[ci] = idx.get(c.staging or c.a, a)
        cross_push[ci] = idx.get(c.pushback_to or c.staging or c.a, a)
        if c.irregular_to:
            ki = link_of.get((a, idx.get(c.irregular_to, -2)))
            if ki is None:
                probs.append(where.at(c.path or where.file("crossings"), c.line, "irregular_to",
                                      f"crossing {c.name}: no route from {c.a} to irregular_to {c.irregular_to} "
                                      "(expected a route between them in the routes table)"))
                continue
            cross_irr[ci] = ki
        # else no marked path: nobody tries an irregular crossing there (cross_irr stays −1)
    _fail(probs)

    status = np.zeros((T, C + 1, G), dtype=np.int8)
    mil = np.zeros((T, C + 1, G), dtype=np.float64)
    price = np.zeros((T, C + 1, G), dtype=np.float64)
    bribe = np.zeros((T, C + 1, G), dtype=np.float64)
    capacity_pool = np.full((T, C + 1, max(G, 1)), -1, dtype=np.int32)
    pool_cap = np.zeros(len(crisis.policies), dtype=np.int64)
    for pool, pol in enumerate(crisis.policies):
        ci = cidx[pol.crossing]
        d0, d1 = pol.days(p)  # (date parameters resolved)
        d0, d1 = max(d0, 0), min(d1, T - 1)
        if d1 < d0:
            continue
        gsel = [gidx[g] for g in pol.groups] if pol.groups else list(range(G))
        refs = dict(pol.parameters)
        pr = p[refs.get("price_usd", "bribe_price_usd")] if math.isnan(pol.price_usd) else pol.price_usd
        br = p[refs.get("bribe_success", "bribe_success")] if math.isnan(pol.bribe_success) else pol.bribe_success
        m = p[refs["militarisation"]] if "militarisation" in refs else pol.militarisation
        cap = pol.capacity(p)  # (a `$name` capacity: its value now)
        for gi in gsel:
            status[d0 : d1 + 1, ci, gi] = STATUS_CODES[pol.status]
            mil[d0 : d1 + 1, ci, gi] = min(max(m, 0.0), 1.0)
            price[d0 : d1 + 1, ci, gi] = pr
            bribe[d0 : d1 + 1, ci, gi] = br
            capacity_pool[d0 : d1 + 1, ci, gi] = pool if cap >= 0 else -1
        pool_cap[pool] = max(cap, 0)

    admission = np.zeros((T, C + 1, G), dtype=np.int8)
    admission_pool = np.full((T, C + 1, max(G, 1)), -1, dtype=np.int32)
    admission_caps: list[int] = []
    ev_rows = []
    for ev in crisis.schedule(T):  # (each day a transfer or flight happens; date parameters resolved)
        if ev.kind == "admission":
            ci = cidx[ev.crossing]
            d0, d1 = max(ev.start, 0), min(ev.end, T - 1)
            if d1 < d0:
                continue
            a = len(admission_caps)
            admission_caps.append(max(ev.people, 0))
            gsel = [gidx[g] for g in ev.groups] if ev.groups else list(range(G))
            for gi in gsel:
                admission[d0 : d1 + 1, ci, gi] = 1
                admission_pool[d0 : d1 + 1, ci, gi] = a if ev.people > 0 else -1
            continue
        ev_rows.append(ev)

    # ---- events ----------------------------------------------------------------------------
    V = len(ev_rows)
    ev_kind = np.zeros(V, dtype=np.int8)
    ev_start = np.zeros(V, dtype=np.int32)
    ev_end = np.zeros(V, dtype=np.int32)
    ev_origin = np.zeros(V, dtype=np.int32)
    ev_dest = np.zeros(V, dtype=np.int32)
    ev_people = np.zeros(V, dtype=np.int64)
    ev_groups = np.zeros((V, max(G, 1)), dtype=np.int8)
    ev_link = np.full(V, -1, dtype=np.int32)
    ev_cross = np.full(V, C, dtype=np.int32)
    ev_fare = np.zeros(V, dtype=np.float64)
    staging_of = {int(cross_staging[ci]): ci for ci in range(C)}
    for v, ev in enumerate(ev_rows):
        ev_file = ev.path or where.file("events")
        if ev.origin not in idx or ev.destination not in idx:
            col, unknown = ("origin", ev.origin) if ev.origin not in idx else ("destination", ev.destination)
            probs.append(where.at(ev_file, ev.line, col, f"{ev.kind}: unknown place {unknown!r} in {col} "
                                                        "(expected a name from the locations table)"))
            continue
        ev_kind[v] = EVENT_CODES[ev.kind]
        ev_start[v], ev_end[v] = ev.start, ev.end
        ev_origin[v], ev_dest[v] = idx[ev.origin], idx[ev.destination]
        ev_people[v] = ev.people
        if not (math.isfinite(ev.fare_usd) and ev.fare_usd >= 0):  # (a Scenario built in code)
            probs.append(where.at(ev_file, ev.line, "fare_usd", f"{ev.kind}: bad fare_usd (expected a "
                                                                f"number of USD ≥ 0, found {ev.fare_usd!r})"))
        ev_fare[v] = ev.fare_usd
        for gi in ([gidx[g] for g in ev.groups] if ev.groups else range(G)):
            ev_groups[v, gi] = 1
        if ev.kind == "corridor":
            k = link_of.get((idx[ev.origin], idx[ev.destination]))
            if k is None:
                probs.append(where.at(ev_file, ev.line, "destination",
                                      f"corridor: no route from {ev.origin} to {ev.destination} to open "
                                      "(expected a route between them in the routes table)"))
                continue
            ev_link[v] = k
            ev_cross[v] = link_crossing[k] if link_crossing[k] >= 0 else C
        else:
            ev_cross[v] = staging_of.get(idx[ev.origin], C)
        if ev.kind == "flight" and ev.people <= 0:
            probs.append(where.at(ev_file, ev.line, "people",
                                  f"flight: bad people (expected seats, at least 1, found {ev.people})"))
    _fail(probs)

    # ---- shelters --------------------------------------------------------------------------
    shelter_cap = np.full(N, -1, dtype=np.int64)
    for i, loc in enumerate(scenario.locations):
        if loc.kind == "shelter":
            beds = crisis.shelter_capacity(loc)  # ([crisis.capacities] first)
            shelter_cap[i] = beds if beds >= 0 else 10**12
    stop = np.array([1 if loc.stops else 0 for loc in scenario.locations], dtype=np.int8)

    # ---- spawning --------------------------------------------------------------------------
    spawn = np.zeros((T, N), dtype=np.float64)
    for origin, d0, d1, rate in crisis.departure_rates(T):
        oi = idx.get(origin)
        if oi is not None:
            spawn[d0 : d1 + 1, oi] += rate
    total = float(spawn.sum())
    if not total <= MAX_PEOPLE:  # refuse before int64 overflow and the people columns
        _fail([where.departures(_departure_people(crisis, T),
                                f"the departures create {total:,.0f} people, more than the {MAX_PEOPLE:,} "
                                "corredor accepts (more than live on Earth; expected a smaller people_per_day)")])
    # whole people per day: carry the fractional part forward (deterministic, no randomness)
    counts = np.zeros((T, N), dtype=np.int64)
    carry = np.zeros(N)
    for t in range(T):
        acc = carry + spawn[t]
        counts[t] = np.floor(acc + 1e-9).astype(np.int64)
        carry = acc - counts[t]
    per_day = counts.sum(axis=1)
    spawn_offset = np.zeros(T + 1, dtype=np.int64)
    spawn_offset[1:] = np.cumsum(per_day)
    n_people = int(spawn_offset[-1])
    ram: float  # bytes, or inf where the OS does not say
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        ram = float("inf")
    if n_people * PERSON_BYTES > ram:
        _fail([where.departures(_departure_people(crisis, T),
                                f"the departures create {n_people:,} people, whose columns "
                                f"({n_people * PERSON_BYTES / 2**30:,.1f} GiB) exceed this machine's "
                                f"memory ({ram / 2**30:,.1f} GiB; expected fewer people_per_day)")])
    person_origin = np.zeros(int(spawn_offset[-1]), dtype=np.int32)
    for t in range(T):
        pos = spawn_offset[t]
        for o in np.nonzero(counts[t])[0]:
            person_origin[pos : pos + counts[t, o]] = o
            pos += counts[t, o]

    # ---- routing epochs --------------------------------------------------------------------
    base_cost = link_km + p["route_usd_km"] * np.asarray(fare) + p["route_risk_km"] * np.asarray(risk)
    base_cost = np.where(link_normal == 1, base_cost, np.inf) if K else base_cost
    docs = np.array([1 if g.documents else 0 for g in groups], dtype=np.int8)
    blocked = np.zeros((T, G, K), dtype=np.int8)
    for ci in range(C):
        k = cross_link[ci]
        for gi in range(G):
            st = status[:, ci, gi]
            can = (st == OPEN) | ((st == DOCUMENTS) & (docs[gi] == 1)) | (admission[:, ci, gi] == 1)
            blocked[:, gi, k] = (~can).astype(np.int8)
    # a new epoch (a new set of route tables) whenever the blocked links of any group change
    epoch_of_day = np.zeros(T, dtype=np.int32)
    epochs: list[np.ndarray] = []
    for t in range(T):
        found = next((e for e, b in enumerate(epochs) if np.array_equal(b, blocked[t])), -1)
        if found < 0:
            epochs.append(blocked[t].copy())
            found = len(epochs) - 1
        epoch_of_day[t] = found
    if not epochs:
        epochs.append(np.zeros((G, K), dtype=np.int8))
    E = len(epochs)
    link_cost = np.zeros((E, G, K), dtype=np.float64)
    togo = np.full((E, G, D, N), np.inf, dtype=np.float64)
    for e, eb in enumerate(epochs):
        for gi in range(G):
            cost = base_cost + p["route_blocked_km"] * eb[gi]
            link_cost[e, gi] = cost
            for d in range(len(dest_list)):
                togo[e, gi, d] = _dijkstra_to(int(dest_nodes[d]), N, link_from, link_to, cost)

    return CrisisPlan(
        n_days=T, names=names,
        link_from=link_from, link_to=link_to, link_km=link_km, link_travel_km=link_travel_km,
        link_normal=link_normal,
        link_crossing=link_crossing, out_start=out_start, out_links=out_links,
        route_index=np.arange(K, dtype=np.int32),
        group_names=gnames, group_cdf=group_cdf, group_docs=docs, group_fallback=group_fallback,
        group_cash_mean=np.array([g.cash_usd_mean for g in groups], dtype=np.float64),
        group_cash_sd=np.array([g.cash_usd_sd for g in groups], dtype=np.float64),
        dest_cdf=dest_cdf, dest_nodes=dest_nodes, dest_is_fallback=dest_is_fallback,
        crossing_names=cnames, cross_link=cross_link, cross_staging=cross_staging,
        cross_irr_link=cross_irr, cross_pushback=cross_push,
        status=status, militarisation=mil, price=price, bribe=bribe, capacity_pool=capacity_pool, pool_cap=pool_cap,
        admission=admission, admission_pool=admission_pool,
        admission_pool_cap=np.asarray(admission_caps, dtype=np.int64).reshape(-1),
        epoch_of_day=epoch_of_day, link_cost=link_cost, togo=togo,
        spawn_offset=spawn_offset, person_origin=person_origin, spawn_counts=counts,
        ev_kind=ev_kind, ev_start=ev_start, ev_end=ev_end, ev_origin=ev_origin, ev_dest=ev_dest,
        ev_people=ev_people, ev_groups=ev_groups, ev_link=ev_link, ev_cross=ev_cross, ev_fare=ev_fare,
        shelter_cap=shelter_cap, stop=stop, params=p,
    )


def _dijkstra_to(target: int, n: int, link_from: np.ndarray, link_to: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Least cost from every node to `target` over directed links (inf where unreachable)."""
    incoming: list[list[int]] = [[] for _ in range(n)]
    for k in range(len(link_from)):
        if math.isfinite(cost[k]):
            incoming[int(link_to[k])].append(k)
    dist = np.full(n, np.inf)
    dist[target] = 0.0
    heap = [(0.0, target)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > dist[v]:
            continue
        for k in incoming[v]:
            u = int(link_from[k])
            nd = d + float(cost[k])
            if nd < dist[u]:
                dist[u] = nd
                heapq.heappush(heap, (nd, u))
    return dist
