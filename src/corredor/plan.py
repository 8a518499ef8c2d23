"""Scenario -> Plan: the network and the day-by-day timeline as read-only numpy arrays.

Why: the engine's kernels only see arrays. Everything that does not depend on random draws is
computed here once, following Flee 3.1 (../shared/flee-model.md, "3.1" column of §7.2): hasten is
applied, location types become flags and move chances, routes become directed links in Flee's order
with a CSR adjacency, every loop-free path an agent may choose is enumerated, the daily spawn total
and debt come from refugees.csv differences, conflicts.csv becomes on/off events, closures.csv
becomes per-day link and camp events, and the observation series become daily integer values.

>>> plan = compile_plan(load_scenario("../shared/data/flee/mali2012"))  # doctest: +SKIP
>>> plan.spawn[:3], plan.location_names[:2]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dataclasses_replace
from pathlib import Path
from typing import Any

import numpy as np

from .scenario.csvread import header_column, read_table
from .scenario.model import (
    MAX_DAYS,
    Observations,
    Scenario,
    Series,
    location_climates,
    location_regions,
)
from .scenario.problems import Problem, Problems, ScenarioError

#: Conflict threshold of conflicts.csv (flee-model.md §2.4).
CONFLICT_EPS = 1e-6
#: Refuse awareness levels that enumerate more paths than this (memory and time guard).
MAX_PATHS = 2_000_000
#: A path may have at most this many hops (the agent's hop index is an int8).
MAX_PATH_NODES = 120
#: Most people a scenario may hold or create: more than live on Earth is a typo (e.g. 1e12).
MAX_PEOPLE = 10_000_000_000

# closure operations (Plan.closure_op)
OP_LINK_CLOSE = 1
OP_LINK_OPEN = 2
OP_CAMP_CLOSE = 3  # camp -> town (Location.close_camp)
OP_CAMP_OPEN = 4  # town -> camp (Location.open_camp); closure_arg = 1 for an IDP camp

#: Location kinds the Flee rules understand (crisis kinds belong to engine/crisis.py).
FLEE_KINDS = ("camp", "idpcamp", "conflict", "town", "forward", "marker", "flood_zone", "unknown")


@dataclass(frozen=True)
class Plan:
    """Read-only arrays of one compiled scenario; shared by replicas. Counts are agents (÷ hasten)."""

    name: str
    scenario_sha256: str
    start_date: dt.date
    n_days: int
    hasten: int
    # locations (scenario order)
    location_names: tuple[str, ...]
    countries: tuple[str, ...]
    kinds: tuple[str, ...]
    lat: np.ndarray  # float64, Flee's gps_x
    lon: np.ndarray  # float64, Flee's gps_y
    pop: np.ndarray  # int64, population // hasten (0 for camps)
    capacity: np.ndarray  # int64, camp capacity // hasten (−1 for non-camps)
    foreign: np.ndarray  # bool
    camp0: np.ndarray  # bool, camp at setup (Flee's output "camps", incl. auto-camps)
    idpcamp0: np.ndarray  # bool
    town0: np.ndarray  # bool
    marker: np.ndarray  # bool
    movechance0: np.ndarray  # float64, move chance at setup (type rule + auto-camp rule)
    conflict0: np.ndarray  # float64, initial conflict intensity (−1 = none)
    # directed links (Flee order: each route row -> A→B, B→A; forced_redirection 1 -> twice)
    link_from: np.ndarray  # int32
    link_to: np.ndarray  # int32
    link_km: np.ndarray  # float64
    link_speed: np.ndarray  # float64 km/day (per-link max_move_speed or the global one)
    link_walk_p: np.ndarray  # float64 walk_probability
    link_route: np.ndarray  # int32 index of the routes.csv row
    out_ptr: np.ndarray  # int32 CSR: out-links of location i are out_link[out_ptr[i]:out_ptr[i+1]]
    out_link: np.ndarray  # int32
    # paths an agent at location i may choose (loop-free, up to the awareness level)
    path_ptr: np.ndarray  # int32 (n_loc+1): paths of origin i are path_ptr[i]:path_ptr[i+1]
    path_dest: np.ndarray  # int32
    path_inv_dist: np.ndarray  # float64 1/(softening + km)^distance_power
    path_home: np.ndarray  # float64 stay_close_to_home factor (1.0 when off)
    path_node_ptr: np.ndarray  # int32 nodes of path p: path_nodes[path_node_ptr[p]:...[p+1]]
    path_nodes: np.ndarray  # int32, first node is the origin
    path_link_ptr: np.ndarray  # int32
    path_links: np.ndarray  # int32
    # timeline
    spawn: np.ndarray  # int64 (n_days) agents spawned on day t
    debt: np.ndarray  # int64 (n_days) Flee's refugee_debt after day t's spawn
    raw_total: np.ndarray  # int64 (n_days) Flee's "raw UNHCR refugee count" (Σ_{s≤t} Δ(s))
    insert0: np.ndarray  # int64 (n_loc) agents put in each camp before day 0
    conflict_ptr: np.ndarray  # int32 (n_days+1) events of day t: conflict_*[ptr[t]:ptr[t+1]]
    conflict_loc: np.ndarray  # int32
    conflict_on: np.ndarray  # bool (True = add_conflict_zone, False = remove_conflict_zone)
    conflict_value: np.ndarray  # float64 intensity for an onset
    refresh_today: np.ndarray  # bool (n_days): spawn weights refreshed at time t (else t−1)
    closure_ptr: np.ndarray  # int32 (n_days+1)
    closure_op: np.ndarray  # int8 OP_* constants
    closure_target: np.ndarray  # int32 link or location index
    closure_arg: np.ndarray  # int32
    observed: np.ndarray  # float64 (n_days, n_loc): Flee's `data` value, NaN where no series
    observed_total: np.ndarray  # int64 (n_days): int(Σ data over camp0) = "refugees in camps (UNHCR)"
    has_observations: bool
    # settings the kernels need, as plain floats/ints (see engine/agents.py)
    params: dict[str, Any] = field(default_factory=dict)
    decay: np.ndarray = field(default_factory=lambda: np.ones(1))  # conflict_spawn_decay list
    decay_interval: int = 30
    warnings: tuple[str, ...] = ()
    source: str = ""  # the scenario folder (recorded in the manifest)
    climates: tuple[str, ...] = ()  # locations.csv's `climate` per location; () when none is given
    regions: tuple[str, ...] = ()  # locations.csv's `region` per location ("" where unknown)
    #: the settings `apply_overrides` changed from the source's (dotted key -> value), which the
    #: manifest writes as `set`: the source folder alone would not say what ran
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: where the scenario's data come from (the loader's `metadata["sources"]`: a Flee case's
    #: observed series), which the manifest lists as `sources` for the run's page to credit
    sources: tuple[Mapping[str, str], ...] = ()
    #: what was provided (a Flee case's provided.csv, read by its loader: `metadata["provided"]`),
    #: which the manifest records as `provided` for the needs' gaps
    provided: tuple[Mapping[str, Any], ...] = ()

    @property
    def n_locations(self) -> int:
        return len(self.location_names)

    @property
    def n_links(self) -> int:
        return int(self.link_from.shape[0])

    @property
    def total_agents(self) -> int:
        """Agents ever created: day-0 insertion plus every day's spawn."""
        return int(self.insert0.sum() + self.spawn.sum())

    @property
    def camp_indices(self) -> np.ndarray:
        return np.flatnonzero(self.camp0)


def flee_spawns(total: np.ndarray, insert_day0: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flee 3.1's daily spawn count, debt and raw count from a daily source total.

    Δ(0) = total(0), Δ(t) = total(t) − total(t−1); new = Δ − debt, forced to 0 on day 0 with
    insert_day0; a negative new becomes the debt (and 0 spawns), otherwise the debt is cleared.
    """
    n = total.shape[0]
    spawn = np.zeros(n, dtype=np.int64)
    debt_out = np.zeros(n, dtype=np.int64)
    raw = np.zeros(n, dtype=np.int64)
    debt = 0
    acc = 0
    for t in range(n):
        delta = int(total[t] - total[t - 1]) if t > 0 else int(total[0])
        acc += delta
        new = delta - debt
        if insert_day0 and t == 0:
            new = 0
        if new < 0:
            debt = -new
            new = 0
        elif debt > 0:
            debt = 0
        spawn[t], debt_out[t], raw[t] = new, debt, acc
    return spawn, debt_out, raw


def haversine_flee(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Flee 3.1's Location.calculateDistance: radius 6373 km, axes as Flee reads them.

    Flee treats its y column (our `lon`) as latitude and x (our `lat`) as longitude; we keep that.
    """
    la1, lo1 = math.radians(lon_a), math.radians(lat_a)
    la2, lo2 = math.radians(lon_b), math.radians(lat_b)
    a = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    a = min(a, 1.0)  # (rounding takes it just above 1 for some antipodal pairs: sqrt(1 - a) would fail)
    return 6373.0 * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def scenario_sha256(scenario: Scenario) -> str:
    """A stable hash of everything in the scenario that can change a run: its content only, not
    its name (a Flee case's is its folder's name: a copy of the case under another name, or
    another folder, is the same scenario and gets the same hash)."""
    h = hashlib.sha256()

    def put(obj: Any) -> None:
        h.update(json.dumps(obj, sort_keys=True, default=str).encode())

    put([str(scenario.start_date), scenario.days])
    for loc in scenario.locations:
        put([loc.name, loc.country, loc.region, loc.lat, loc.lon, loc.kind, loc.type_raw,
             loc.conflict_date, loc.population, loc.capacity, dict(loc.attributes)])
    for r in scenario.routes:
        put([r.a, r.b, r.distance_km, r.forced_redirection, dict(r.attributes)])
    for c in scenario.closures:
        put([c.kind, c.name1, c.name2, c.start, c.end])
    if scenario.conflicts is not None:
        put(list(scenario.conflicts.names))
        h.update(np.ascontiguousarray(scenario.conflicts.intensity).tobytes())
    if scenario.observations is not None:
        obs = scenario.observations
        series = ([obs.total] if obs.total is not None else []) + list(obs.camps.values())
        for s in series:
            put([s.name, list(s.days), list(s.values)])
        for s in obs.extra.values():  # (spawn_rules.sum_from_camps sums them: they change a run)
            put(["extra", s.name, list(s.days), list(s.values)])
    put(scenario.settings.model_dump(mode="json"))
    if scenario.crisis is not None:
        put(repr(scenario.crisis))
    if scenario.metadata.get("provided"):  # (the needs' gaps read it; a Flee case's provided.csv)
        put([dict(p) for p in scenario.metadata["provided"]])
    return h.hexdigest()


#: Where a native scenario keeps what a Flee folder keeps in each file ([files] keys).
NATIVE_FILES = {
    "input_csv/locations.csv": "locations", "input_csv/routes.csv": "routes",
    "input_csv/closures.csv": "closures", "input_csv/conflicts.csv": "conflicts",
    "source_data/refugees.csv": "observations", "source_data/data_layout.csv": "observations",
}


#: Where a Flee file keeps a column that its header may not name as the native format does
#: (1-based; `#name1` for name1, `pop/cap` for population).
FLEE_COLUMNS = {
    "input_csv/locations.csv": {"kind": 6, "population": 8},
    "input_csv/routes.csv": {"name1": 1, "name2": 2, "distance_km": 3},
    "input_csv/closures.csv": {"name1": 2, "name2": 3},
    "source_data/refugees.csv": {"value": 2},
}


def _problem(scenario: Scenario, file: str, message: str, line: int = 0, cell: str = "",
             setting: str = "", columns_of: str = "") -> Problem:
    """A problem found while compiling, at `file` relative to the scenario folder, as the
    loader reports its own (docs/scenario-format.md, "Errors and warnings"): `path:line:col`,
    1-based, never a 0.

    `file` is named as in a Flee folder; a native scenario's problem names its own file instead
    (its [files] entry, or scenario.toml for the period and settings). With `line`, the column is
    that of the CSV column `cell` (native name) on it, else 1; with `setting` (e.g.
    "move_rules.fixed_routes", "days"), the problem is at the key that sets it; else at 1:1.
    `columns_of`: the Flee file whose columns `file` has, where the folder names it otherwise
    (data_layout.csv's total series)."""
    native = scenario.metadata.get("format") == "native"
    flee_file = file
    if native:
        files = scenario.metadata.get("files", {})
        key = NATIVE_FILES.get(file)
        file = files.get(key, f"{key}.csv") if key else "scenario.toml"
    real = Path(scenario.source) / file if scenario.source else Path(file)
    if setting:
        line, column = _setting_place(real, setting, native)
    elif line:
        default = 1 if native else FLEE_COLUMNS.get(columns_of or flee_file, {}).get(cell, 1)
        column = header_column(real, cell, default) if cell else 1
    else:
        line, column = 1, 1
    return Problem(file, line, column, message)


def _setting_place(path: Path, setting: str, native: bool) -> tuple[int, int]:
    """1-based (line, column) of the key that sets `setting` ("days", or "section.key" of the
    settings) in scenario.toml, simsetting.yml or sim_period.csv; 1:1 where it is not written."""
    from .scenario.flee import yaml_key_place
    from .scenario.native import toml_place

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError):
        return 1, 1
    if native:
        section, _, key = setting.rpartition(".")
        return toml_place(text, "scenario" if setting == "days" else f"settings.{section}", key)
    lines = text.splitlines()
    if setting == "days":  # sim_period.csv: the value of its Length row
        for number, raw in enumerate(lines, start=1):
            first, comma, _ = raw.partition(",")
            if first.strip().lower() == "length" and comma:
                return number, 2
        return 1, 1
    return yaml_key_place(text, setting)  # simsetting.yml


def _largest(scenario: Scenario, file: str, cell: str, real_name: str | None = None,
             series: frozenset[str] | None = None) -> tuple[float, int]:
    """(largest number, its line) in column `cell` of CSV `file` (named as in a Flee folder;
    `real_name`: the name this folder gives it, as data_layout.csv may): a total too large is
    shown where most of it comes from; (-inf, 1) when no row holds a number. `series`: in a
    native scenario's observations file, only the rows of these series count."""
    flee_file = file
    native = scenario.metadata.get("format") == "native"
    if native:
        files = scenario.metadata.get("files", {})
        file = files.get(NATIVE_FILES.get(file, ""), file)
    elif real_name:
        file = real_name
    real = Path(scenario.source) / file if scenario.source else Path(file)
    table = read_table(real, Problems(), "a table", min_cells=1)
    if table is None:
        return -math.inf, 1
    col = header_column(real, cell, FLEE_COLUMNS.get(flee_file, {}).get(cell, 1)) - 1
    name_col = header_column(real, "series", 1) - 1 if native and series is not None else -1
    best, line = -math.inf, 1
    for row in table.rows:
        if series is not None and name_col >= 0 and row.get(name_col) not in series:
            continue
        try:
            value = float(row.get(col))
        except ValueError:
            continue
        if value > best:
            best, line = value, row.line
    return best, line


def summed_series(obs: Observations) -> dict[str, Series]:
    """The series `spawn_rules.sum_from_camps` (Flee HEAD) adds up for the daily spawn total:
    every data_layout.csv row after the total's, the camps' and any other (`Observations.extra`:
    a town's, or a name that is no location), as flee-model.md §3 says HEAD does."""
    return {**obs.camps, **obs.extra}


def _largest_summed_row(scenario: Scenario) -> tuple[str, int]:
    """(file named as in a Flee folder, line) of the largest count in the series that
    `spawn_rules.sum_from_camps` adds up instead of the total series (`summed_series`): where a
    sum too large mostly comes from."""
    obs = scenario.observations
    summed = summed_series(obs) if obs is not None else {}
    if scenario.metadata.get("format") == "native":  # (every series is in one file)
        return "source_data/refugees.csv", _largest(scenario, "source_data/refugees.csv", "value",
                                                    series=frozenset(summed))[1]
    best, where = -math.inf, ("source_data/data_layout.csv", 1)
    for name in sorted(summed):
        for f in summed[name].files:
            value, line = _largest(scenario, "source_data/refugees.csv", "value", f"source_data/{f}")
            if value > best:
                best, where = value, (f"source_data/{f}", line)
    return where


def _location_flags(scenario: Scenario, problems: list[Problem]) -> dict[str, np.ndarray]:
    """Flee 3.1's Location typing (flee-model.md §2.1) with hasten applied."""
    mr = scenario.settings.move_rules
    h = scenario.hasten
    n = len(scenario.locations)
    home = scenario.home_country
    out = {
        "pop": np.zeros(n, np.int64), "capacity": np.full(n, -1, np.int64),
        "foreign": np.zeros(n, bool), "camp0": np.zeros(n, bool), "idpcamp0": np.zeros(n, bool),
        "town0": np.zeros(n, bool), "marker": np.zeros(n, bool), "movechance0": np.ones(n),
        "conflict0": np.full(n, -1.0), "lat": np.zeros(n), "lon": np.zeros(n),
    }
    for i, loc in enumerate(scenario.locations):
        out["lat"][i], out["lon"][i] = loc.lat, loc.lon
        out["foreign"][i] = loc.country != home
        kind = loc.kind
        if kind not in FLEE_KINDS:
            problems.append(_problem(scenario, "input_csv/locations.csv",
                                     f"location '{loc.name}' has kind '{kind}', which the Flee rules do not know "
                                     f"(expected one of {', '.join(sorted(FLEE_KINDS))})", loc.line, "kind"))
            continue
        if kind == "conflict" and loc.conflict_date is not None and loc.conflict_date > 0:
            kind = "town"  # Flee: a conflict with a future date is a town until conflicts.csv says otherwise
        if kind in ("camp", "idpcamp"):
            out["capacity"][i] = int(max(loc.capacity, 0)) // h if loc.capacity >= 0 else -1
            out["camp0"][i] = True
            out["movechance0"][i] = mr.camp_movechance
            if kind == "idpcamp":
                out["idpcamp0"][i] = True
                out["movechance0"][i] = mr.idpcamp_movechance
        else:
            out["pop"][i] = int(loc.population) // h
            if kind == "conflict":
                out["movechance0"][i] = mr.conflict_movechance
                out["conflict0"][i] = loc.conflict_intensity
            elif kind == "forward":
                out["movechance0"][i] = 1.0
            elif kind == "marker":
                out["movechance0"][i] = 1.0
                out["marker"][i] = True
            elif kind == "town":
                out["town0"][i] = True
                out["movechance0"][i] = mr.default_movechance
            # flood_zone / unknown: Flee 3.1 cannot parse the type: movechance 1.0, no flags
        if out["movechance0"][i] < 0.005 and not out["camp0"][i]:  # Flee's auto-camp rule
            out["camp0"][i] = True
            out["town0"][i] = False
    return out


def _links(scenario: Scenario, index: dict[str, int], problems: list[Problem]) -> dict[str, np.ndarray]:
    """Directed links in Flee 3.1's order (StoreInputGeographyInEcosystem / linkUp)."""
    speed = scenario.settings.move_rules.max_move_speed
    rows: list[tuple[int, int, float, float, float, int]] = []
    per_loc: list[list[int]] = [[] for _ in scenario.locations]
    for r_i, r in enumerate(scenario.routes):
        if r.a not in index or r.b not in index:
            missing = r.a if r.a not in index else r.b
            problems.append(_problem(scenario, "input_csv/routes.csv", f"unknown location '{missing}' (expected a "
                                     "name from the locations table)", r.line, "name1" if r.a not in index else "name2"))
            continue
        a, b = index[r.a], index[r.b]
        try:
            s = r.max_move_speed
            wp = r.walk_probability
        except ValueError:
            problems.append(_problem(scenario, "input_csv/routes.csv", "max_move_speed / walk_probability is not a number", r.line,
                                     "max_move_speed"))
            continue
        s = speed if s is None else s
        fr = int(r.forced_redirection or 0)
        pairs = [(b, a)] if fr == 2 else ([(a, b), (a, b)] if fr == 1 else [(a, b)])
        for x, y in pairs:  # linkUp(x, y): x→y appended to x, y→x appended to y
            rows.append((x, y, r.distance_km, s, wp, r_i))
            per_loc[x].append(len(rows) - 1)
            rows.append((y, x, r.distance_km, s, wp, r_i))
            per_loc[y].append(len(rows) - 1)
    n_loc = len(scenario.locations)
    out_ptr = np.zeros(n_loc + 1, np.int32)
    for i in range(n_loc):
        out_ptr[i + 1] = out_ptr[i] + len(per_loc[i])
    return {
        "link_from": np.array([r[0] for r in rows], np.int32),
        "link_to": np.array([r[1] for r in rows], np.int32),
        "link_km": np.array([r[2] for r in rows], np.float64),
        "link_speed": np.array([r[3] for r in rows], np.float64),
        "link_walk_p": np.array([r[4] for r in rows], np.float64),
        "link_route": np.array([r[5] for r in rows], np.int32),
        "out_ptr": out_ptr,
        "out_link": np.array([lk for lst in per_loc for lk in lst], np.int32),
    }


def _paths(scenario: Scenario, flags: dict[str, np.ndarray], links: dict[str, np.ndarray],
           problems: list[Problem]) -> dict[str, np.ndarray]:
    """Every path Flee 3.1's moving.calculateLinkWeight emits, per origin, in its order.

    A path is emitted at each non-marker endpoint; it is extended beyond its last node v iff
    awareness > (non-marker nodes so far); an extension never returns to a node before v.
    awareness 0 emits nothing (Flee 3.1 then never moves anyone, flee-model.md §7.1 item 8).
    """
    mr = scenario.settings.move_rules
    aw = int(mr.awareness_level)
    marker = flags["marker"]
    out_ptr, out_link = links["out_ptr"], links["out_link"]
    to, km = links["link_to"], links["link_km"]
    n_loc = len(scenario.locations)
    dest: list[int] = []
    dist: list[float] = []
    nodes: list[list[int]] = []
    plinks: list[list[int]] = []
    ptr = [0]

    def expand(origin_nodes: list[int], link_seq: list[int], prior: float, step: int) -> None:
        lk = link_seq[-1]
        v = int(to[lk])
        d = prior + float(km[lk])
        if not marker[v]:
            dest.append(v)
            dist.append(d)
            nodes.append(origin_nodes + [v])
            plinks.append(list(link_seq))
            if len(dest) > MAX_PATHS:
                raise OverflowError
        else:
            step -= 1
        if aw > step:
            for j in range(out_ptr[v], out_ptr[v + 1]):
                l2 = int(out_link[j])
                if int(to[l2]) in origin_nodes:
                    continue
                if len(origin_nodes) + 1 >= MAX_PATH_NODES:
                    raise OverflowError
                expand(origin_nodes + [v], link_seq + [l2], d, step + 1)

    try:
        for o in range(n_loc):
            if aw != 0:
                for j in range(out_ptr[o], out_ptr[o + 1]):
                    expand([o], [int(out_link[j])], 0.0, 1)
            ptr.append(len(dest))
    except (OverflowError, RecursionError):
        problems.append(_problem(scenario, "simsetting.yml",
                                 f"awareness_level {aw} gives more than {MAX_PATHS} routes (or routes longer than "
                                 f"{MAX_PATH_NODES} hops) on this network; lower it",
                                 setting="move_rules.awareness_level"))
        ptr = [0] * (n_loc + 1)
        dest, dist, nodes, plinks = [], [], [], []
    km_arr = np.array(dist, np.float64)
    with np.errstate(over="ignore", divide="ignore", under="ignore"):  # (out of range: refused below)
        inv = 1.0 / (mr.softening + km_arr) ** mr.distance_power if len(dist) else np.zeros(0)
    # (0 for a route whose km add up beyond range is the limit Flee computes too: not refused)
    bad = np.flatnonzero(~np.isfinite(inv) | ((inv == 0) & np.isfinite(mr.softening + km_arr)))
    if len(bad):
        problems.append(_weight_problem(scenario, links, nodes[bad[0]], plinks[bad[0]], dist[bad[0]]))
    home = np.ones(len(dest))
    if mr.stay_close_to_home:
        lat, lon = flags["lat"], flags["lon"]
        for p, nd in enumerate(nodes):
            o, v = nd[0], nd[-1]
            far = max(1.0, haversine_flee(lat[v], lon[v], lat[o], lon[o]))
            try:
                home[p] = 1.0 / far ** mr.home_distance_power
            except (OverflowError, ZeroDivisionError):
                home[p] = math.nan
            if not (math.isfinite(home[p]) and home[p] > 0):
                names = scenario.locations
                problems.append(_problem(
                    scenario, "simsetting.yml",
                    f"move_rules.home_distance_power {mr.home_distance_power:g} makes the weight "
                    f"1/km^home_distance_power of {names[v].name!r}, {far:,.0f} km from "
                    f"{names[o].name!r}, {'0' if mr.home_distance_power > 0 else '∞'} (beyond "
                    "floating-point range); expected a power nearer 0, such as Flee's 0.5",
                    setting="move_rules.home_distance_power"))
                home[:] = 1.0
                break
    node_ptr = np.zeros(len(nodes) + 1, np.int32)
    link_ptr = np.zeros(len(nodes) + 1, np.int32)
    for p in range(len(nodes)):
        node_ptr[p + 1] = node_ptr[p] + len(nodes[p])
        link_ptr[p + 1] = link_ptr[p] + len(plinks[p])
    return {
        "path_ptr": np.array(ptr, np.int32),
        "path_dest": np.array(dest, np.int32),
        "path_inv_dist": np.asarray(inv, np.float64),
        "path_home": home,
        "path_node_ptr": node_ptr,
        "path_nodes": np.array([x for nd in nodes for x in nd], np.int32),
        "path_link_ptr": link_ptr,
        "path_links": np.array([x for pl in plinks for x in pl], np.int32),
    }


def _weight_problem(scenario: Scenario, links: dict[str, np.ndarray], nodes: list[int],
                    link_seq: list[int], km: float) -> Problem:
    """Why the route along `nodes` has a distance weight 1/(softening + km)^distance_power of 0 or
    ∞ (beyond floating-point range, which no rule gives a meaning): at distance_power where the
    power takes it there, else at the shortest link's distance (a distance of 1e-320 km)."""
    mr = scenario.settings.move_rules
    names = " → ".join(repr(scenario.locations[i].name) for i in nodes)
    with np.errstate(over="ignore", divide="ignore"):
        base = 1.0 / (mr.softening + np.float64(km))
    if np.isfinite(base) and base > 0:
        return _problem(scenario, "simsetting.yml",
                        f"move_rules.distance_power {mr.distance_power:g} makes the weight "
                        f"1/(softening + km)^distance_power of the route {names} ({km:g} km) "
                        f"{'0' if km + mr.softening > 1 else '∞'} (beyond floating-point range); "
                        "expected a power nearer 1, Flee's default",
                        setting="move_rules.distance_power")
    link = min(link_seq, key=lambda lk: float(links["link_km"][lk]))
    route = scenario.routes[int(links["link_route"][link])]
    return _problem(scenario, "input_csv/routes.csv",
                    f"distance {route.distance_km:.3g} km is too short: 1/(softening + km) is ∞ with "
                    f"softening {mr.softening:g} (beyond floating-point range); expected a distance "
                    "in km, such as 1 or more", route.line, "distance_km")


def _run_bounds(scenario: Scenario, flags: dict[str, np.ndarray], conflicts: dict[str, np.ndarray],
                closures: dict[str, np.ndarray], spawned: int) -> dict[str, np.ndarray]:
    """What each place can be on some day of the run, from the plan's events (not a day loop),
    for the range checks below: ever a conflict zone (`cmax`, its largest intensity, 0 if never),
    ever a town or a camp, and its lowest population (populations only fall: take_from_population
    takes at most every agent spawned from a place that is ever a conflict zone; a closed camp is
    a town of population 0)."""
    pop0 = flags["pop"].astype(np.float64)
    cptr_loc, c_on, c_val = conflicts["conflict_loc"], conflicts["conflict_on"], conflicts["conflict_value"]
    cmax = np.where(flags["conflict0"] > 0, flags["conflict0"], 0.0)
    np.maximum.at(cmax, cptr_loc[c_on], c_val[c_on])
    ever_conflict = flags["conflict0"] > 0.0
    ever_conflict[cptr_loc[c_on]] = True
    ops, targets = closures["closure_op"], closures["closure_target"]
    ever_town = ~flags["camp0"]  # (a closed camp becomes a town with population 0)
    ever_town[targets[ops == OP_CAMP_CLOSE]] = True
    ever_camp = flags["camp0"].copy()
    ever_camp[targets[ops == OP_CAMP_OPEN]] = True
    pop_lo = pop0.copy()
    if scenario.settings.spawn_rules.take_from_population:
        pop_lo[ever_conflict] = np.maximum(0.0, pop0[ever_conflict] - float(spawned))
    pop_lo[targets[ops == OP_CAMP_CLOSE]] = 0.0
    return {"cmax": cmax, "ever_conflict": ever_conflict, "ever_town": ever_town,
            "ever_camp": ever_camp, "pop_lo": pop_lo}


def _factor_problems(scenario: Scenario, flags: dict[str, np.ndarray], paths: dict[str, np.ndarray],
                     conflicts: dict[str, np.ndarray], bounds: dict[str, np.ndarray],
                     decay: np.ndarray) -> list[Problem]:
    """Weight factors whose product goes beyond floating-point range on some day of the run,
    refused at the key of the largest: the engines would run on with a weight ∞ (every pick going
    to the first route or place at which the running total reaches ∞; 0 × ∞ = NaN, a uniform
    pick), where Flee stops (OverflowError, or random.choices and numpy's choice refusing a total
    of ∞). Bounds, not a day loop: every factor above 1 that may apply multiplies in (so every
    partial product the engines form is below it too), each at its largest over the run
    (conflict_weight^(decay × intensity) at the largest decay factor and intensity). Underflow to
    0 is not refused: Flee's floats give 0 too, the limit of a strong repulsion.

    - a route's weight (weight_softening + A·home)·Cap/(softening + km)^distance_power, with
      A = foreign_weight × camp_weight × conflict_weight^(decay × intensity), and under
      weight_power 1 the sum of the weights from a place (weight_power's own check sums the rest);
    - the spawn weights population × intensity × decay, summed over the conflict zones.
    """
    mr, sr = scenario.settings.move_rules, scenario.settings.spawn_rules
    names = [loc.name for loc in scenario.locations]
    log_huge = math.log(np.finfo(np.float64).max)
    edge = log_huge - 1e-9
    dmax = float(decay.max()) if sr.conflict_spawn_decay else 1.0
    cmax = bounds["cmax"]

    def up(x: float) -> float:
        """log of a factor's part above 1."""
        return max(0.0, math.log(x)) if x > 0 else 0.0

    out: list[Problem] = []
    dest = paths["path_dest"]
    if len(dest):
        with np.errstate(divide="ignore"):
            l_inv = np.log(paths["path_inv_dist"])
            l_home = np.maximum(0.0, np.log(paths["path_home"]))
        l_foreign = np.where(flags["foreign"], up(mr.foreign_weight), 0.0)[dest]
        l_camp = np.where(bounds["ever_camp"], up(mr.camp_weight), 0.0)[dest]
        l_conflict = (up(mr.conflict_weight) * cmax * dmax)[dest]
        ws = mr.weight_softening
        l_ws = math.log(ws) if ws > 0 else -math.inf
        l_sum = np.maximum(0.0, np.logaddexp(l_ws, l_foreign + l_camp + l_conflict + l_home))
        bound = np.where(np.isfinite(l_inv), l_sum + np.maximum(0.0, l_inv), 0.0)  # (∞: refused above)
        ptr = paths["path_ptr"]
        origin = np.repeat(np.arange(len(names)), np.diff(ptr))
        tot = np.full(len(names), -np.inf)
        np.logaddexp.at(tot, origin, bound)
        over = np.flatnonzero(bound >= edge)
        sums = np.flatnonzero(tot >= edge) if mr.weight_power == 1.0 else np.zeros(0, np.int64)
        if len(over) or len(sums):
            if len(over):
                p = int(over[0])
            else:
                o = int(sums[0])
                p = int(ptr[o] + np.argmax(bound[ptr[o]:ptr[o + 1]]))
            v = int(dest[p])
            decay_big = bool(sr.conflict_spawn_decay) and dmax > max(1.0, up(mr.conflict_weight) * cmax[v])
            terms = [  # (setting, log of its part above 1, how it reads)
                ("move_rules.foreign_weight", l_foreign[p], f"foreign_weight {mr.foreign_weight:g}"),
                ("move_rules.camp_weight", l_camp[p], f"camp_weight {mr.camp_weight:g}"),
                ("spawn_rules.conflict_spawn_decay" if decay_big else "move_rules.conflict_weight",
                 l_conflict[p], f"conflict_weight^(decay × intensity) {mr.conflict_weight:g}^({dmax:g} × "
                 f"{cmax[v]:g})"),
                ("move_rules.weight_softening", max(0.0, l_ws), f"weight_softening {ws:g}"),
                ("move_rules.home_distance_power", l_home[p],
                 f"1/km^home_distance_power {math.exp(l_home[p]):.3g}"),
                ("move_rules.distance_power" if mr.distance_power > 1 else "move_rules.softening",
                 max(0.0, float(l_inv[p])),
                 f"1/(softening + km)^distance_power {math.exp(min(l_inv[p], 709.0)):.3g}"),
            ]
            key = max(terms, key=lambda term: term[1])[0]
            shown_terms = ", ".join(text for _, lg, text in terms if lg > 0)
            value = (f"factor {dmax:g}" if key.startswith("spawn_rules") else
                     f"{float(getattr(mr, key.rpartition('.')[2])):g}")
            node_ptr, nodes = paths["path_node_ptr"], paths["path_nodes"]
            route = " → ".join(repr(names[int(x)]) for x in nodes[node_ptr[p]:node_ptr[p + 1]])
            whose = (f"the route {route}" if len(over) else
                     f"the routes from {names[int(origin[p])]!r} (added up; the largest to {names[v]!r})")
            out.append(_problem(
                scenario, "simsetting.yml",
                f"{key} {value} makes the weight (weight_softening + A)·Cap/(softening + km)^distance_power "
                f"of {whose} ∞ (beyond floating-point range), with {shown_terms} (A = foreign_weight × "
                "camp_weight × conflict_weight^(decay × intensity)); expected smaller factors, whose "
                "product stays below 1.8e308 (the largest float)",
                setting=key))

    # spawn weights population × intensity × decay, summed over the places that can send people
    sends = np.flatnonzero(bounds["ever_conflict"] & (flags["pop"] > 0))
    if len(sends) and dmax > 0:
        l_pc = np.log(flags["pop"][sends].astype(np.float64)) + np.maximum(0.0, np.log(cmax[sends]))
        if float(np.logaddexp.reduce(l_pc + up(dmax))) >= edge:
            j = int(sends[int(np.argmax(l_pc))])
            after = " (after hasten)" if scenario.hasten > 1 else ""
            if dmax > 1 and float(np.logaddexp.reduce(l_pc)) < edge:
                out.append(_problem(
                    scenario, "simsetting.yml",
                    f"spawn_rules.conflict_spawn_decay factor {dmax:g} makes the spawn weights "
                    "population × intensity × decay of the conflict zones add up to ∞ (beyond "
                    f"floating-point range; {names[j]!r}: {int(flags['pop'][j]):,}{after} × "
                    f"{cmax[j]:g} × {dmax:g}); expected smaller factors, such as Flee's 1, 0.5 and 0.1",
                    setting="spawn_rules.conflict_spawn_decay"))
            else:
                file, line, cell = _intensity_place(scenario, conflicts, j, float(cmax[j]))
                out.append(_problem(
                    scenario, file,
                    f"conflict intensity {cmax[j]:g} of {names[j]!r} makes the spawn weights population "
                    "× intensity × decay of the conflict zones add up to ∞ (beyond floating-point range; "
                    f"{names[j]!r}: {int(flags['pop'][j]):,}{after} × {cmax[j]:g} × {dmax:g}); expected an "
                    "intensity such as 1", line, cell))
    return out


def _intensity_place(scenario: Scenario, conflicts: dict[str, np.ndarray], j: int,
                     largest: float) -> tuple[str, int, str]:
    """(file named as in a Flee folder, line, column name) where place j's `largest` conflict
    intensity is written: the conflicts.csv row of an onset with it, else its locations.csv row."""
    loc = scenario.locations[j]
    values = conflicts["conflict_value"]
    on = np.flatnonzero((conflicts["conflict_loc"] == j) & conflicts["conflict_on"] & (values >= largest))
    ct = scenario.conflicts
    if len(on) and ct is not None and ct.lines:
        day = int(np.searchsorted(conflicts["conflict_ptr"], int(on[0]), side="right")) - 1
        return "input_csv/conflicts.csv", ct.lines[min(day, len(ct.lines) - 1)], loc.name.lower()
    return "input_csv/locations.csv", loc.line, "conflict_intensity"


def _may_be_empty_place(scenario: Scenario) -> str | None:
    """A place a route leads to that can be a non-camp with population below one agent on some
    day (population under the hasten, a conflict zone emptied by take_from_population, or a camp
    a camp closure makes a town of population 0): the only places where Flee 3.1's
    min(1, population)^pop_power_for_loc_weight is not 1. None when there is none (the check is
    generous: a place it names may still never be empty)."""
    h = max(int(scenario.hasten), 1)
    routed = {r.a for r in scenario.routes} | {r.b for r in scenario.routes}
    closed_camps = {c.name1 for c in scenario.closures if c.kind in ("camp", "idpcamp")}
    conflict = {loc.name for loc in scenario.locations if loc.kind == "conflict"}
    ct = scenario.conflicts
    if ct is not None:
        conflict |= {nm for j, nm in enumerate(ct.names) if np.any(np.asarray(ct.intensity)[:, j] > 0)}
    take = scenario.settings.spawn_rules.take_from_population
    for loc in scenario.locations:
        if loc.name not in routed:
            continue
        if loc.is_camp:
            if loc.name in closed_camps:
                return loc.name
        elif int(loc.population) // h < 1 or (take and loc.name in conflict):
            return loc.name
    return None


def pop_power_flat(scenario: Scenario) -> str:
    """Why no range of move_rules.pop_power_for_loc_weight values changes `scenario`'s runs
    under Flee 3.1's rule (flee-model.md §7.2): calibrate refuses the parameter with it."""
    mr = scenario.settings.move_rules
    if not mr.use_pop_for_loc_weight:
        return "move_rules.use_pop_for_loc_weight is false, so no rule reads the power"
    empty = _may_be_empty_place(scenario)
    if empty is None:
        return ("Flee 3.1 multiplies a place's weight by min(1, population)^pop_power_for_loc_weight, "
                "which is 1 at every place a route leads to here (population 1 or more) whatever the power")
    return (f"Flee 3.1's factor min(1, population)^pop_power_for_loc_weight is 0 or 1 (0 at a place "
            f"as empty as {empty!r}): every power above 0 gives the same run; compare 0 with 0.1 by "
            "`corredor compare --sweep move_rules.pop_power_for_loc_weight=0,0.1`")


def pop_weight_warnings(scenario: Scenario) -> list[Problem]:
    """Warnings at move_rules.use_pop_for_loc_weight and pop_power_for_loc_weight where, in
    this scenario, they change nothing under Flee 3.1's min(1, population)^p (flee-model.md
    §7.2: HEAD's max(1, population) weighs by population; corredor follows 3.1): `true` where
    no place can be empty or the power is 0, a power other than Flee's 0.1 where it gives the
    run 0.1 gives. (A negative power with an empty place is an error: `_power_problems`.)"""
    from .scenario.settings import MoveRules

    mr = scenario.settings.move_rules
    p, p_default = mr.pop_power_for_loc_weight, MoveRules.model_fields["pop_power_for_loc_weight"].default
    if scenario.crisis is not None or (not mr.use_pop_for_loc_weight and p == p_default):
        return []
    empty = _may_be_empty_place(scenario) if mr.use_pop_for_loc_weight else None
    out: list[Problem] = []

    def warn(key: str, message: str) -> None:
        out.append(dataclasses_replace(_problem(scenario, "simsetting.yml", message,
                                                setting=f"move_rules.{key}"), severity="warning"))

    if mr.use_pop_for_loc_weight and (p == 0 or empty is None):
        why = ("with pop_power_for_loc_weight 0, min(1, population)^0 is 1 at every place" if p == 0 else
               "Flee 3.1 multiplies a place's weight by min(1, population)^pop_power_for_loc_weight, "
               "which is 1 at every place a route leads to here (population 1 or more); Flee HEAD's "
               "max(1, population) would weigh places by population, but corredor follows 3.1")
        warn("use_pop_for_loc_weight", f"move_rules.use_pop_for_loc_weight: true changes nothing in "
             f"this scenario: {why}")
    elif p != p_default and not (empty is not None and p < 0):
        warn("pop_power_for_loc_weight", f"move_rules.pop_power_for_loc_weight: {p:g} changes nothing "
             f"in this scenario: {pop_power_flat(scenario)}")
    return out


def with_setting_warnings(scenario: Scenario) -> Scenario:
    """`scenario` with `pop_weight_warnings` added to its load warnings (the loaders' last step:
    they need the whole scenario, not the settings file alone)."""
    extra = pop_weight_warnings(scenario)
    if not extra:
        return scenario
    warnings = (*scenario.metadata.get("warnings", ()), *extra)
    return dataclasses_replace(scenario, metadata={**dict(scenario.metadata), "warnings": warnings})


def _power_problems(scenario: Scenario, flags: dict[str, np.ndarray], paths: dict[str, np.ndarray],
                    bounds: dict[str, np.ndarray], decay: np.ndarray) -> list[Problem]:
    """Settings whose power takes a location weight, a route weight or a move chance beyond
    floating-point range on some day of this run (∞, or a route weight 0 that Flee's rule makes
    positive), refused at their key: the engines would run on and pick routes uniformly or by
    the first route, or move everybody. Found from bounds, not a day loop:

    - populations only fall (take_from_population, at places that are ever a conflict zone, by
      at most every agent spawned), so a place's lies between max(0, pop0 − spawned) and pop0;
      a camp's is 0 and its capacity fixed;
    - Cap lies in {0} ∪ [1/(2·C·(1 − capacity_buffer)), 1] (above that, rounding alone: ≥ 2^-53);
    - a place's score multiplies foreign_weight, camp_weight (if it is ever a camp) and
      conflict_weight^(decay × intensity) over every decay factor and intensity it can have,
      each also 1 where it may not apply, so the bounds hold for every day.
    """
    mr, sr = scenario.settings.move_rules, scenario.settings.spawn_rules
    out: list[Problem] = []
    names = [loc.name for loc in scenario.locations]
    n = len(names)
    pop0 = flags["pop"].astype(np.float64)
    cap = flags["capacity"].astype(np.float64)
    ever_town, ever_camp, pop_lo = bounds["ever_town"], bounds["ever_camp"], bounds["pop_lo"]
    tiny, huge = np.finfo(np.float64).tiny, np.finfo(np.float64).max
    log_huge = math.log(huge)

    # move chance × (max(pop, capacity)/movechance_pop_base)^movechance_pop_scale_factor
    s = mr.movechance_pop_scale_factor
    if s != 0.0:
        x_lo, x_hi = np.maximum(pop_lo, cap), np.maximum(pop0, cap)
        with np.errstate(over="ignore", divide="ignore", under="ignore"):
            f_lo = (x_lo / mr.movechance_pop_base) ** s
            f_hi = (x_hi / mr.movechance_pop_base) ** s
        bad = np.flatnonzero(~np.isfinite(f_lo) | ~np.isfinite(f_hi))
        if len(bad):
            i = int(bad[0])
            x = x_lo[i] if not np.isfinite(f_lo[i]) else x_hi[i]
            what = "the camp's capacity" if flags["camp0"][i] else "its population"
            why = "0 to a negative power" if x == 0 else "beyond floating-point range"
            out.append(_problem(
                scenario, "simsetting.yml",
                f"move_rules.movechance_pop_scale_factor {s:g} makes the move-chance factor "
                f"(max(population, capacity)/movechance_pop_base)^movechance_pop_scale_factor of "
                f"{names[i]!r} ({what} {x:,.0f}{' after hasten' if scenario.hasten > 1 else ''}, "
                f"movechance_pop_base {mr.movechance_pop_base:g}) ∞ ({why}); expected "
                + ("a factor of 0 or more while a place can hold nobody (Flee's default is 0)" if x == 0
                   else "a factor nearer 0, Flee's default"),
                setting="move_rules.movechance_pop_scale_factor"))

    dest = paths["path_dest"]
    if not len(dest):
        return out
    is_dest = np.zeros(n, bool)
    is_dest[dest] = True
    # location weight × min(1, population)^pop_power_for_loc_weight (3.1's min: 0 or 1 here)
    pp = mr.pop_power_for_loc_weight
    if mr.use_pop_for_loc_weight and pp < 0:
        bad = np.flatnonzero(is_dest & ever_town & (pop_lo < 1.0))
        if len(bad):
            i = int(bad[0])
            out.append(_problem(
                scenario, "simsetting.yml",
                f"move_rules.pop_power_for_loc_weight {pp:g} makes the location weight "
                f"min(1, population)^pop_power_for_loc_weight of {names[i]!r} (population 0"
                f"{' after hasten' if scenario.hasten > 1 and pop0[i] >= 1 and pop_lo[i] == pop0[i] else ''}"
                f"{' once people leave it' if pop_lo[i] < pop0[i] and not flags['camp0'][i] else ''}) ∞ "
                "(0 to a negative power); expected a power of 0 or more, such as Flee's 0.1",
                setting="move_rules.pop_power_for_loc_weight"))
            return out

    # route weight [(weight_softening + A·home)·Cap/(softening + km)^distance_power]^weight_power
    wp = mr.weight_power
    if wp == 1.0:  # (the engines skip the power)
        return out

    def log_range(value: float, applies: np.ndarray, maybe_not: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """log bounds of a factor `value` where it applies (1 elsewhere) and whether it is positive."""
        lv = math.log(value) if value > 0 else 0.0
        lo = np.where(applies, lv, 0.0)
        hi = lo.copy()
        lo = np.where(applies & maybe_not, np.minimum(lo, 0.0), lo)
        hi = np.where(applies & maybe_not, np.maximum(hi, 0.0), hi)
        zero = applies & ~maybe_not & (value <= 0)
        return lo, hi, zero

    a_lo, a_hi, a_zero = log_range(mr.foreign_weight, flags["foreign"], np.zeros(n, bool))
    lo, hi, zero = log_range(mr.camp_weight, ever_camp, ever_town)
    a_lo, a_hi, a_zero = a_lo + lo, a_hi + hi, a_zero | zero
    if mr.conflict_weight > 0 and mr.conflict_weight != 1:
        e_max = bounds["cmax"] * float(decay.max() if sr.conflict_spawn_decay else 1.0)
        lc = math.log(mr.conflict_weight)
        a_lo, a_hi = a_lo + np.minimum(0.0, lc * e_max), a_hi + np.maximum(0.0, lc * e_max)
    a_ok = ~a_zero & np.isfinite(a_lo) & np.isfinite(a_hi)
    buf = mr.capacity_buffer
    t = np.where(cap >= 1, 1.0 / (np.maximum(cap, 1.0) * max(1.0 - buf, 1e-300)), 1.0)
    cap_min = np.where((cap < 1) | (buf >= 1), 1.0, np.where(t > 2.0 ** -40, 0.5 * t, 2.0 ** -53))
    with np.errstate(divide="ignore"):
        l_inv = np.log(paths["path_inv_dist"])
        l_home = np.log(paths["path_home"])
    ws = mr.weight_softening
    l_ws = math.log(ws) if ws > 0 else -np.inf
    la_hi = np.where(a_ok[dest], a_hi[dest] + l_home, -np.inf)
    la_lo = np.where(a_ok[dest], a_lo[dest] + l_home, -np.inf)
    b_hi = np.logaddexp(l_ws, la_hi) + l_inv
    b_lo = (l_ws if ws > 0 else la_lo) + l_inv + np.log(cap_min[dest])
    if not (np.all(b_hi < log_huge) and np.all(b_lo[np.isfinite(b_lo)] > math.log(tiny))):
        return out  # (the weight before the power is out of range already: not weight_power's doing)
    ptr = paths["path_ptr"]
    origin = np.repeat(np.arange(n), np.diff(ptr))
    w_hi = wp * b_hi
    tot = np.full(n, -np.inf)
    np.logaddexp.at(tot, origin, w_hi)
    over = np.flatnonzero(tot >= log_huge - 1e-9)
    under = np.flatnonzero(np.isfinite(b_lo) & (wp * b_lo <= math.log(tiny)))
    if len(over) or len(under):
        if len(over):
            o = int(over[0])
            p = int(ptr[o] + np.argmax(w_hi[ptr[o]:ptr[o + 1]]))
            b, result = b_hi[p], "∞"
        else:
            p = int(under[0])
            b, result = b_lo[p], "0"
        node_ptr, nodes = paths["path_node_ptr"], paths["path_nodes"]
        route = " → ".join(repr(names[int(v)]) for v in nodes[node_ptr[p]:node_ptr[p + 1]])
        alone = bool(len(over)) and w_hi[p] < log_huge - 1e-9  # (only their sum is ∞)
        out.append(_problem(
            scenario, "simsetting.yml",
            f"move_rules.weight_power {wp:g} makes the weight "
            "[(weight_softening + A)·Cap/(softening + km)^distance_power]^weight_power of the route "
            f"{route} ({'up to' if result == '∞' else 'down to'} {math.exp(b):.3g} before the power) "
            f"{result}{' (with the other routes from there)' if alone else ''} (beyond floating-point "
            "range); expected a power nearer 1, Flee's default",
            setting="move_rules.weight_power"))
    return out


def _conflict_events(scenario: Scenario, index: dict[str, int], n_days: int,
                     problems: list[Problem]) -> dict[str, np.ndarray]:
    """conflicts.csv -> per-day events under Flee 3.1's AddNewConflictZones.

    Onset when the value rises above 1e-6 from below 1e-6 (or is above it on day 0); removal when it
    falls below 1e-6 from exactly 1 (3.1 tests `previous == 1`). Changes between positive values are
    ignored. Each onset of a known location, and every removal, refreshes the spawn weights at time t.
    """
    ptr = [0]
    loc: list[int] = []
    on: list[bool] = []
    val: list[float] = []
    refresh = np.zeros(n_days, bool)
    ct = scenario.conflicts
    if ct is None:
        return {"conflict_ptr": np.zeros(n_days + 1, np.int32), "conflict_loc": np.zeros(0, np.int32),
                "conflict_on": np.zeros(0, bool), "conflict_value": np.zeros(0), "refresh_today": refresh}
    x = np.asarray(ct.intensity, np.float64)
    if x.shape[0] < n_days:
        problems.append(_problem(scenario, "input_csv/conflicts.csv",
                                 f"has {x.shape[0]} day rows but the run is {n_days} days long "
                                 f"(Flee reads row k as day k; expected a row for every day)",
                                 ct.lines[-1] + 1 if ct.lines else 1))  # (where the next row goes)
        x = np.vstack([x, np.repeat(x[-1:] if x.shape[0] else np.zeros((1, len(ct.names))),
                                    n_days - x.shape[0], axis=0)])
    for t in range(n_days):
        for j, name in enumerate(ct.names):
            cur = x[t, j]
            i = index.get(name)
            if cur > CONFLICT_EPS:
                if t == 0 or x[t - 1, j] < CONFLICT_EPS:
                    if i is not None:
                        loc.append(i)
                        on.append(True)
                        val.append(float(cur))
                        refresh[t] = True
            if cur < CONFLICT_EPS and t > 0 and x[t - 1, j] == 1:
                refresh[t] = True  # remove_conflict_zone refreshes even for unknown names
                if i is not None:
                    loc.append(i)
                    on.append(False)
                    val.append(-1.0)
        ptr.append(len(loc))
    return {"conflict_ptr": np.array(ptr, np.int32), "conflict_loc": np.array(loc, np.int32),
            "conflict_on": np.array(on, bool), "conflict_value": np.array(val, np.float64),
            "refresh_today": refresh}


def _closure_events(scenario: Scenario, index: dict[str, int], links: dict[str, np.ndarray],
                    n_days: int, problems: list[Problem], warnings: list[str]) -> dict[str, np.ndarray]:
    """closures.csv rows -> per-day operations, in file order; −1 never fires (flee-model.md §2.3)."""
    fix_links = scenario.settings.move_rules.fix_link_closures
    lf, lt = links["link_from"], links["link_to"]
    countries = [loc.country for loc in scenario.locations]
    day_ops: list[list[tuple[int, int, int]]] = [[] for _ in range(n_days)]

    def link_ops(pred, op: int) -> list[tuple[int, int, int]]:
        return [(op, int(k), 0) for k in range(lf.shape[0]) if pred(int(lf[k]), int(lt[k]))]

    for c in scenario.closures:
        for action_day, closing in ((c.start, True), (c.end, False)):
            if action_day < 0 or action_day >= n_days:
                continue
            ops: list[tuple[int, int, int]] = []
            if c.kind == "country":
                ca, cb = c.name1, c.name2
                ops = link_ops(lambda x, y, a=ca, b=cb: (countries[x] == a and countries[y] == b)
                               or (countries[x] == b and countries[y] == a),
                               OP_LINK_CLOSE if closing else OP_LINK_OPEN)
            elif c.kind == "location":
                i = index.get(c.name1)
                if i is None:
                    problems.append(_problem(scenario, "input_csv/closures.csv", f"unknown location '{c.name1}' "
                                             "(expected a name from the locations table)", c.line, "name1"))
                    continue
                ops = link_ops(lambda x, y, i=i: x == i or y == i, OP_LINK_CLOSE if closing else OP_LINK_OPEN)
            elif c.kind == "link":
                if not fix_links:
                    if closing:
                        warnings.append(f"closures.csv line {c.line}: link closures have no effect in Flee 3.1 "
                                        "(set move_rules.fix_link_closures: true to make them close the link)")
                    continue
                a, b = index.get(c.name1), index.get(c.name2)
                if a is None or b is None:
                    problems.append(_problem(scenario, "input_csv/closures.csv",
                                             f"unknown location '{c.name1 if a is None else c.name2}' (expected "
                                             "a name from the locations table)", c.line,
                                             "name1" if a is None else "name2"))
                    continue
                ops = link_ops(lambda x, y, a=a, b=b: (x == a and y == b) or (x == b and y == a),
                               OP_LINK_CLOSE if closing else OP_LINK_OPEN)
            elif c.kind in ("camp", "idpcamp"):
                i = index.get(c.name1)
                if i is None:
                    problems.append(_problem(scenario, "input_csv/closures.csv", f"unknown location '{c.name1}' "
                                             "(expected a name from the locations table)", c.line, "name1"))
                    continue
                ops = [(OP_CAMP_CLOSE if closing else OP_CAMP_OPEN, i, int(c.kind == "idpcamp"))]
            # remove_forced_redirection: toggles a flag nothing reads (no effect in Flee 3.1)
            day_ops[action_day].extend(ops)
    ptr = [0]
    flat: list[tuple[int, int, int]] = []
    for t in range(n_days):
        flat.extend(day_ops[t])
        ptr.append(len(flat))
    return {"closure_ptr": np.array(ptr, np.int32),
            "closure_op": np.array([f[0] for f in flat], np.int8),
            "closure_target": np.array([f[1] for f in flat], np.int32),
            "closure_arg": np.array([f[2] for f in flat], np.int32)}


def _refuse_unsupported(scenario: Scenario, problems: list[Problem]) -> None:
    """Settings corredor's Flee rules do not implement are refused, never run wrongly."""
    mr = scenario.settings.move_rules
    if mr.fixed_routes:
        problems.append(_problem(scenario, "simsetting.yml",
                                 "move_rules.fixed_routes is not implemented in corredor; switch it off",
                                 setting="move_rules.fixed_routes"))


def links_closed(plan: Plan) -> np.ndarray:
    """bool (n_days, n_links): the link is closed at the end of the day, as the engines see it
    (every link open on day 0 before the closures; each day's operations in file order)."""
    is_open = np.ones(plan.n_links, np.bool_)
    out = np.zeros((plan.n_days, plan.n_links), np.bool_)
    for t in range(plan.n_days):
        for e in range(plan.closure_ptr[t], plan.closure_ptr[t + 1]):
            if plan.closure_op[e] in (OP_LINK_CLOSE, OP_LINK_OPEN):
                is_open[plan.closure_target[e]] = plan.closure_op[e] == OP_LINK_OPEN
        out[t] = ~is_open
    return out


def _spawn_source_problems(scenario: Scenario, spawn: np.ndarray, flags: dict[str, np.ndarray],
                           conflicts: dict[str, np.ndarray], decay: np.ndarray) -> list[Problem]:
    """The first day on which people must appear but no place can send them, found here rather
    than by the engines' day loop (which stops the run there).

    A place sends people while it is a conflict zone (intensity > 0 after that day's conflicts.csv
    events) with population > 0 and a non-zero decay factor, as `rules.locations.spawn_weights`
    weighs it. Populations are taken as on day 0: with take_from_population they only fall, so a
    day found here fails in every run; running out of people is checked on the total spawned.
    """
    sr = scenario.settings.spawn_rules
    n_days = int(spawn.shape[0])
    conflict = flags["conflict0"].copy()
    toc = np.full(conflict.shape[0], -1, np.int64)
    pop = flags["pop"].astype(np.float64)
    interval = int(sr.conflict_spawn_decay_interval)
    use_decay = bool(sr.conflict_spawn_decay)
    cptr, cloc, con, cval = (conflicts[k] for k in ("conflict_ptr", "conflict_loc", "conflict_on",
                                                     "conflict_value"))
    ever = conflict > 0.0
    for t in range(n_days):
        for e in range(int(cptr[t]), int(cptr[t + 1])):
            j = int(cloc[e])
            conflict[j] = cval[e] if con[e] else -1.0
            if con[e]:
                toc[j] = t
                ever[j] = True
        if spawn[t] <= 0:
            continue
        tau = t if (conflicts["refresh_today"][t] or t == 0) else t - 1
        if use_decay:
            k = np.clip(((tau - toc) / interval).astype(np.int64), 0, decay.shape[0] - 1)
            factor = decay[k]
        else:
            factor = np.ones_like(pop)
        if not np.any((conflict > 0.0) & (pop > 0.0) & (factor > 0.0)):
            date = scenario.start_date + dt.timedelta(days=t) if scenario.start_date else None
            when = f"day {t}" + (f" ({date.isoformat()})" if date else "")
            ct = scenario.conflicts
            if ct is not None and ct.lines:
                file, line = "input_csv/conflicts.csv", ct.lines[min(t, len(ct.lines) - 1)]
            else:  # the first place typed conflict, else the header (no row is)
                lines = [loc.line for loc in scenario.locations if loc.kind == "conflict" and loc.line]
                file, line = "input_csv/locations.csv", lines[0] if lines else 1
            source = "the summed series of data_layout.csv (spawn_rules.sum_from_camps)" if sr.sum_from_camps else \
                "the observations' total"
            return [_problem(scenario, file, f"on {when} {int(spawn[t]):,} people must appear "
                             f"({source} rises) but no place is a conflict zone with "
                             "population > 0 that day to send them (expected a conflict zone on "
                             "every day the total rises)", line)]
    if sr.take_from_population:
        supply = int(pop[ever].sum())
        total = int(spawn.sum())
        if total > supply:
            return [_problem(scenario, "input_csv/locations.csv", f"take_from_population is on and the "
                             f"observations create {total:,} people, more than the {supply:,} living in "
                             "every place that is ever a conflict zone (expected larger populations, "
                             "or take_from_population off)")]
    return []


def _spawn_source(scenario: Scenario, flags: dict[str, np.ndarray], n_days: int, hasten: int,
                  daily_by_name: dict[str, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(spawn, debt, raw, insert0) of `flee_spawns` and the day-0 camps at `hasten`, from the
    observations (which must be there); `daily_by_name`: the camps' daily series at that hasten
    when already computed."""
    obs = scenario.observations
    assert obs is not None
    sr = scenario.settings.spawn_rules
    daily = daily_by_name if daily_by_name is not None else \
        {nm: s.daily(n_days, hasten) for nm, s in obs.camps.items()}
    if sr.sum_from_camps:  # Flee HEAD's source; 3.1's driver uses refugees.csv (the default)
        total = np.zeros(n_days, np.int64)
        for nm, ser in summed_series(obs).items():
            total += daily[nm] if nm in daily else ser.daily(n_days, hasten)
        if obs.total is not None:  # HEAD's day 0 sums every layout row, the total's too
            # (flee-model.md §3.3): a constant changes Δ(0) alone, so it matters without
            # insert_day0 (and to the raw count), not to a later day's spawns
            total += int(obs.total.daily(n_days, hasten)[0])
    elif obs.total is not None:
        total = obs.total.daily(n_days, hasten)
    else:
        total = np.zeros(n_days, np.int64)
    spawn, debt, raw = flee_spawns(total, sr.insert_day0)
    names = [loc.name for loc in scenario.locations]
    insert0 = np.zeros(len(names), np.int64)
    if sr.insert_day0:
        for k in np.flatnonzero(flags["camp0"]):
            if names[k] in daily:
                insert0[k] = int(daily[names[k]][0])
    return spawn, debt, raw, insert0


def compile_plan(scenario: Scenario) -> Plan:
    """Compile a Scenario into a Plan (arrays) under Flee 3.1's rules; raise ScenarioError on faults.

    >>> plan = compile_plan(scenario)  # doctest: +SKIP

    A border-crisis scenario (`scenario.crisis`) has no Flee plan: `simulate(scenario)` compiles it
    for the crisis engine. It is refused with that one problem (it was refused with one "kind
    the Flee rules do not know" per place).
    """
    if scenario.crisis is not None:
        raise ScenarioError([_problem(scenario, "scenario.toml",
                                      "a border-crisis scenario ([crisis]) is not compiled into a Flee "
                                      "plan: pass the Scenario itself to simulate(), which compiles it "
                                      "for the crisis engine (engine/rules/crisis_plan.compile_crisis)")])
    problems: list[Problem] = []
    warnings: list[str] = []
    settings = scenario.settings
    sr, mr = settings.spawn_rules, settings.move_rules
    h = int(scenario.hasten)
    n_days = int(scenario.days)
    if n_days < 1:
        problems.append(_problem(scenario, "input_csv/sim_period.csv", f"the run must last at least 1 day (found {n_days})",
                                 setting="days"))
        n_days = 1
    if n_days > MAX_DAYS:  # refuse before any days × places array is allocated
        raise ScenarioError([_problem(scenario, "input_csv/sim_period.csv", f"the run lasts {n_days:,} days, more than the "
                                      f"{MAX_DAYS:,} (100 years) corredor accepts", setting="days")])
    people = sum(max(int(loc.population), 0) for loc in scenario.locations)
    if people > MAX_PEOPLE:
        biggest = max(scenario.locations, key=lambda loc: loc.population)
        problems.append(_problem(scenario, "input_csv/locations.csv", f"the places hold {people:,} people in "
                                 f"all, more than the {MAX_PEOPLE:,} corredor accepts (more than live on Earth)",
                                 biggest.line, "population"))
    _refuse_unsupported(scenario, problems)
    names = tuple(loc.name for loc in scenario.locations)
    index = {nm: i for i, nm in enumerate(names)}
    flags = _location_flags(scenario, problems)
    links = _links(scenario, index, problems)
    paths = _paths(scenario, flags, links, problems)
    conflicts = _conflict_events(scenario, index, n_days, problems)
    closures = _closure_events(scenario, index, links, n_days, problems, warnings)

    # observations: daily values, spawn totals, day-0 insertion
    n_loc = len(names)
    observed = np.full((n_days, n_loc), np.nan)
    insert0 = np.zeros(n_loc, np.int64)
    obs = scenario.observations
    daily_by_name: dict[str, np.ndarray] = {}
    if obs is not None:
        for nm, s in obs.camps.items():
            daily_by_name[nm] = s.daily(n_days, h)
        for nm, i in index.items():
            if nm in daily_by_name:
                observed[:, i] = daily_by_name[nm]
        if obs.total is None and not sr.sum_from_camps:
            problems.append(_problem(scenario, "source_data/data_layout.csv", "no total series (first row, refugees.csv)"))
        spawn, debt, raw, insert0 = _spawn_source(scenario, flags, n_days, h, daily_by_name)
    else:
        spawn = np.zeros(n_days, np.int64)
        debt = np.zeros(n_days, np.int64)
        raw = np.zeros(n_days, np.int64)
    created = (int(spawn.sum()) + int(insert0.sum())) * h
    if sr.sum_from_camps and obs is not None:
        # each series is divided by the hasten before they are summed: what counts is the
        # largest one series reaches, not refugees.csv (read, but not used under this setting)
        peaks = {nm: int(s.daily(n_days, 1).max()) for nm, s in summed_series(obs).items()}
        peak = max(peaks, key=lambda nm: peaks[nm], default="")
        most = peaks.get(peak, 0)
        reaches = ("with spawn_rules.sum_from_camps each data_layout.csv series is divided by the hasten before "
                   f"they are summed, and the largest ({peak}) reaches {most:,} people at most")
        source_name = "the summed series of data_layout.csv (spawn_rules.sum_from_camps)"
    else:
        most = int(obs.total.daily(n_days, 1).max()) if obs is not None and obs.total is not None else 0
        reaches = f"the observations' total reaches {most:,} people at most"
        source_name = "the observations' total"
    if created == 0 and h > 1 and obs is not None:
        # the hasten is the cause only when a smaller one simulates somebody (a series that never
        # rises, with empty camps on day 0, spawns nobody at any hasten); rises each smaller than
        # one agent of h, from counts far above h, simulate nobody as surely as a peak below h
        def people_at(k: int) -> int:
            s, _, _, i0 = _spawn_source(scenario, flags, n_days, k)
            return int(s.sum()) + int(i0.sum())

        at_one = people_at(1)
        if at_one > 0:
            fits, above = 1, h  # a hasten with somebody, one with nobody: the boundary between
            while above - fits > 1:
                mid = (fits + above) // 2
                fits, above = (mid, above) if people_at(mid) > 0 else (fits, mid)
            why = (f"{reaches}, less than one agent of {h:,}" if 0 < most < h else
                   f"{source_name} never rises by one agent of {h:,} (at hasten 1 the observations "
                   f"create {at_one:,} people)")
            problems.append(_problem(scenario, "simsetting.yml",  # (a "perfect fit" of nobody)
                                     f"at hasten {h:,} nobody is simulated: {why} (expected a hasten of at "
                                     f"most {fits:,}: optimisations.hasten or --hasten)",
                                     setting="optimisations.hasten"))
    if created > MAX_PEOPLE:
        if sr.sum_from_camps:  # (shown at the summed series' largest count: refugees.csv is not read)
            total_file, line = _largest_summed_row(scenario)
            source = " (the data_layout.csv series summed, as spawn_rules.sum_from_camps asks)"
        else:  # (the total series' file: refugees.csv unless data_layout.csv names another)
            total_file = (f"source_data/{obs.total.files[0]}" if obs is not None and obs.total is not None
                          and obs.total.files and scenario.metadata.get("format") != "native"
                          else "source_data/refugees.csv")
            line = _largest(scenario, "source_data/refugees.csv", "value", total_file)[1]
            source = ""
        problems.append(_problem(scenario, total_file, f"the observations create {created:,} people{source}, "
                                 f"more than the {MAX_PEOPLE:,} corredor accepts (more than live on Earth)",
                                 line, "value", columns_of="source_data/refugees.csv"))
    camp_cols = np.flatnonzero(flags["camp0"])
    observed_total = np.zeros(n_days, np.int64)
    for k in camp_cols:
        if names[k] in daily_by_name:
            observed_total += daily_by_name[names[k]]

    decay = np.asarray(sr.conflict_spawn_decay if sr.conflict_spawn_decay else [1.0], np.float64)
    bounds = _run_bounds(scenario, flags, conflicts, closures, int(spawn.sum()))
    # (one cause at a time: a factor beyond range would take weight_power's bounds there too)
    problems += (_factor_problems(scenario, flags, paths, conflicts, bounds, decay)
                 or _power_problems(scenario, flags, paths, bounds, decay))
    if not problems:
        problems += _spawn_source_problems(scenario, spawn, flags, conflicts, decay)
    if problems:
        raise ScenarioError(problems)

    params = {
        "max_move_speed": float(mr.max_move_speed),
        "max_walk_speed": float(mr.max_walk_speed),
        "foreign_weight": float(mr.foreign_weight),
        "camp_weight": float(mr.camp_weight),
        "conflict_weight": float(mr.conflict_weight),
        "conflict_movechance": float(mr.conflict_movechance),
        "camp_movechance": float(mr.camp_movechance),
        "idpcamp_movechance": float(mr.idpcamp_movechance),
        "default_movechance": float(mr.default_movechance),
        "capacity_buffer": float(mr.capacity_buffer),
        "avoid_short_stints": bool(mr.avoid_short_stints),
        "start_on_foot": bool(mr.start_on_foot),
        "weight_softening": float(mr.weight_softening),
        "weight_power": float(mr.weight_power),
        "use_pop_for_loc_weight": bool(mr.use_pop_for_loc_weight),
        "pop_power_for_loc_weight": float(mr.pop_power_for_loc_weight),
        "movechance_pop_base": float(mr.movechance_pop_base),
        "movechance_pop_scale_factor": float(mr.movechance_pop_scale_factor),
        "take_from_population": bool(sr.take_from_population),
        "use_decay": bool(sr.conflict_spawn_decay),
        "awareness_level": int(mr.awareness_level),
        "fix_link_closures": bool(mr.fix_link_closures),
    }
    return Plan(
        name=scenario.name,
        source=str(scenario.source) if scenario.source else "",
        overrides=dict(scenario.metadata.get("overrides") or {}),
        sources=tuple(dict(x) for x in scenario.metadata.get("sources") or ()),
        provided=tuple(dict(x) for x in scenario.metadata.get("provided") or ()),
        scenario_sha256=scenario_sha256(scenario),
        start_date=scenario.start_date,
        n_days=n_days,
        hasten=h,
        location_names=names,
        countries=tuple(loc.country for loc in scenario.locations),
        kinds=tuple(loc.kind for loc in scenario.locations),
        climates=location_climates(scenario.locations),
        regions=location_regions(scenario.locations),
        lat=flags["lat"], lon=flags["lon"], pop=flags["pop"], capacity=flags["capacity"],
        foreign=flags["foreign"], camp0=flags["camp0"], idpcamp0=flags["idpcamp0"],
        town0=flags["town0"], marker=flags["marker"], movechance0=flags["movechance0"],
        conflict0=flags["conflict0"],
        **links, **paths, **conflicts, **closures,
        spawn=spawn, debt=debt, raw_total=raw, insert0=insert0,
        observed=observed, observed_total=observed_total,
        has_observations=obs is not None and bool(daily_by_name),
        params=params, decay=decay, decay_interval=int(sr.conflict_spawn_decay_interval),
        warnings=tuple(warnings),
    )
