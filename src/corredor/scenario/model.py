"""Scenario: everything a run needs, read and checked, as frozen typed objects.

Values are stored as written in the input (people, not agents): `hasten` is applied when the
scenario is compiled into a Plan, so the same Scenario can be run at any hasten.
Every object keeps the `line` it came from so later checks can point at the input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .settings import MAX_HASTEN, Settings

#: Longest run accepted (100 years): longer is a typo, and would allocate days × places arrays.
#: (Also how far a date parameter may lie from the start date.)
MAX_DAYS = 36_525

#: Why a border-crisis scenario has no hasten: the loader (a hasten in scenario.toml), the crisis
#: compiler (`load_scenario(..., hasten=)`, `with_hasten`) and `run --hasten` refuse one, where it
#: was ignored: the run simulated every person and its manifest said hasten 1
CRISIS_HASTEN = ("a border-crisis scenario simulates every person (one agent each: its rules follow "
                 "each person's cash and days waited), so it runs at hasten 1 only")

#: Settings sections whose every key the border-crisis rules leave unread (Flee's movement and
#: spawning; a crisis run's behaviour is its [crisis.parameters]). A key of one in a crisis
#: scenario.toml is refused at its place (native.py), as `--set` refuses one (ensemble.py).
CRISIS_UNREAD_SECTIONS = ("spawn_rules", "move_rules")


def whole_number_refusal(name: str, value: object, low: int, high: int | None = None) -> str | None:
    """Why `value` cannot be the argument `name` (None when it can): a whole number from `low` to
    `high` (no upper limit when None), as the command line's options check theirs.

    Why: int() made 2.9 days 2, "7" days 7 and hasten 2.5 hasten 2; 0 and negative days ran
    empty or failed in numpy, and hasten 0 was pydantic's own error. bool is refused (True is 1).
    """
    limit = f"from {low:,} to {high:,}" if high is not None else f"≥ {low:,}"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return f"{name} must be a whole number {limit}, found {value!r} ({type(value).__name__})"
    if int(value) < low or (high is not None and int(value) > high):
        return f"{name} must be a whole number {limit}, found {int(value):,}"
    return None


def crisis_unread(section: str) -> str:
    """Why settings `section` means nothing in a border-crisis scenario: one wording for the
    scenario.toml problem and the `--set` refusal, so that file and command line say the same."""
    return (f"a border-crisis scenario's rules do not read settings.{section}; its behaviour "
            "parameters are crisis.<name> (e.g. crisis.give_up_base)")


#: Flee tables under [files] that the border-crisis rules never read, and what a crisis scenario
#: uses instead: one is loaded (and checked) but warned of at its key in scenario.toml (native.py).
CRISIS_UNREAD_FILES = {
    "closures": "its border closures are crisis.policies rows",
    "conflicts": "it has no conflict timeline",
    "observations": "its reports of people at a place are crisis.observations",
    "corrections": "its reports of people at a place are crisis.observations",
}


def crisis_unread_file(key: str) -> str:
    """Why files.`key` (a key of CRISIS_UNREAD_FILES) changes nothing in a border-crisis scenario."""
    return (f"files.{key}: no effect: a border-crisis scenario's rules do not read Flee's {key} "
            f"table ({CRISIS_UNREAD_FILES[key]})")


def crisis_unread_keys(settings: Settings) -> list[tuple[str, str]]:
    """(section, key) of each key of CRISIS_UNREAD_SECTIONS that `settings` sets to other than its
    default: what a crisis run would ignore (`Scenario.with_settings(move_rules=...)`)."""
    default = Settings()
    return [(section, key) for section in CRISIS_UNREAD_SECTIONS
            for key, value in getattr(settings, section).model_dump().items()
            if value != getattr(getattr(default, section), key)]


#: Location kinds after Flee's substring typing (flee-model.md §2.1), plus corredor's own kinds.
LOCATION_KINDS = (
    "camp",
    "idpcamp",
    "conflict",
    "town",
    "forward",
    "marker",
    "flood_zone",
    "unknown",  # Flee prints an error, keeps movechance 1.0 and no flags
    # corredor border-crisis kinds (native format only)
    "city",
    "border_post",
    "staging",
    "shelter",
    "destination",
)

CLOSURE_KINDS = ("country", "location", "link", "camp", "idpcamp", "remove_forced_redirection")


@dataclass(frozen=True)
class Location:
    """A place. `population` for non-camps, `capacity` for camps (−1 = none), as in the input."""

    name: str
    country: str = "unknown"
    region: str = "unknown"
    lat: float = 0.0  # Flee's gps_x column (latitude in practice)
    lon: float = 0.0  # Flee's gps_y column
    kind: str = "town"
    type_raw: str = "town"
    conflict_date: int | None = None
    population: int = 0
    capacity: int = -1
    attributes: Mapping[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def climate(self) -> str:
        """locations.csv's `climate` ("cold", "temperate", "hot"), "" where not given."""
        return str(self.attributes.get("climate", "")).lower()

    @property
    def stops(self) -> bool:
        """locations.csv's `stop` is `yes`: border-crisis travellers end their move here and are
        held until a transfer, flight or corridor takes them on (engine/rules/crisis_travel.py)."""
        return str(self.attributes.get("stop", "")).strip().lower() == "yes"

    @property
    def is_camp(self) -> bool:
        return self.kind in ("camp", "idpcamp")

    @property
    def conflict_at_start(self) -> bool:
        """Conflict-typed with conflict_date ≤ 0: a conflict zone from day 0 (§2.1)."""
        return self.kind == "conflict" and (self.conflict_date is None or self.conflict_date <= 0)

    @property
    def conflict_intensity(self) -> float:
        try:
            return float(self.attributes.get("conflict_intensity", 1.0))
        except (TypeError, ValueError):
            return 1.0


@dataclass(frozen=True)
class Route:
    """An undirected road between two places; Flee makes two directed links of it."""

    a: str
    b: str
    distance_km: float
    forced_redirection: int = 0
    attributes: Mapping[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def max_move_speed(self) -> float | None:
        v = self.attributes.get("max_move_speed")
        return float(v) if v not in (None, "") else None

    @property
    def walk_probability(self) -> float:
        v = self.attributes.get("walk_probability")
        return float(v) if v not in (None, "") else 0.0


@dataclass(frozen=True)
class Closure:
    """A closures.csv row: at day `start` close, at day `end` reopen; −1 never fires (§2.3)."""

    kind: str
    name1: str
    name2: str
    start: int
    end: int
    line: int = 0


@dataclass(frozen=True)
class ConflictTimeline:
    """conflicts.csv: `intensity[k, j]` is row k (= day k) for location `names[j]`."""

    names: tuple[str, ...]
    intensity: np.ndarray  # float64, shape (rows, len(names)); read-only
    lines: tuple[int, ...] = ()  # source line of each row

    def __post_init__(self) -> None:
        self.intensity.setflags(write=False)


def merge_stepwise(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Add two (days, values) series the way Flee 3.1 adds extra files of a data_layout row.

    No interpolation: walking through `second`, each earlier point of `first` is added to the
    last value seen in `second`; a point of `second` is added to the current point of `first`
    (the same day or the next later one). Points of `first` after the end of `second` are
    dropped, and points of `second` after the end of `first` repeat the last point of `first`
    (flee-model.md §2.6). Kept exactly so that data columns equal Flee's.
    """
    d1, v1 = first
    d2, v2 = second
    out_d: list[float] = []
    out_v: list[float] = []
    k = 0
    last_second = 0.0
    n1 = len(d1)
    for day, value in zip(d2, v2, strict=True):
        while day > d1[k]:
            out_d.append(d1[k])
            out_v.append(last_second + v1[k])
            if k < n1 - 1:
                k += 1
            else:
                break
        if day == d1[k]:
            out_d.append(day)
            out_v.append(value + v1[k])
            if k < n1 - 1:
                k += 1
            last_second = value
        elif day < d1[k]:
            out_d.append(day)
            out_v.append(value + v1[k])
            last_second = value
    return np.asarray(out_d, dtype=np.float64), np.asarray(out_v, dtype=np.float64)


def series_table(
    parts: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...],
    corrections: tuple[int, ...] = (),
    hasten: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(days, values) of a series from its files' raw points, at a given hasten.

    Order of operations as in Flee 3.1, so that truncated daily values match it bit for bit:
    each file's counts are divided by hasten, the files are merged step-wise, then each
    registration correction (a day offset) multiplies every point before the matching point i
    by v[i] / v[i-1].
    """
    tables = [
        (np.asarray(days, dtype=np.float64), np.asarray(counts, dtype=np.float64) / float(hasten))
        for days, counts in parts
    ]
    if not tables:
        return np.zeros(0), np.zeros(0)
    days_arr, values = tables[0]
    for extra in tables[1:]:
        days_arr, values = merge_stepwise((days_arr, values), extra)
    values = values.copy()
    for day in corrections:
        for i in range(len(days_arr)):
            if int(days_arr[i]) == int(day) and i > 0:
                factor = values[i] / values[i - 1]
                values[0:i] *= factor
    return days_arr, values


def interpolate_daily(days: np.ndarray, values: np.ndarray, n_days: int) -> np.ndarray:
    """Flee's daily value of a series for days 0..n_days-1 (flee-model.md §2.6).

    Days at or before the first point take the first value; days between two points are
    interpolated linearly; days after the last point take the last value; each result is
    truncated toward zero to an int. The arithmetic is Flee's, step for step.
    """
    out = np.zeros(n_days, dtype=np.int64)
    if len(days) == 0:
        return out
    first_day = days[0]
    for t in range(n_days):
        if t <= first_day:
            out[t] = int(values[0])
            continue
        for i in range(1, len(days)):
            if t < days[i]:
                d0, v0 = days[i - 1], values[i - 1]
                fraction = float(t - d0) / float(days[i] - d0)
                out[t] = -1 if fraction > 1.0 else int(v0 + fraction * float(values[i] - v0))
                break
        else:
            out[t] = int(values[-1])
    return out


@dataclass(frozen=True)
class Series:
    """One observation series: points (day offset from StartDate, value in people).

    `days`/`values` are after merging files and registration corrections, before hasten.
    `parts` keeps each file's raw (days, counts) and `corrections` the day offsets of its
    registration corrections, so that `daily` can redo Flee's arithmetic at any hasten.
    Rows with missing counts are skipped when reading.
    """

    name: str
    files: tuple[str, ...]
    days: tuple[int, ...]
    values: tuple[float, ...]
    parts: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()
    corrections: tuple[int, ...] = ()

    def table(self, hasten: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(days, values) at `hasten` (values divided by it, in Flee's order of operations)."""
        if self.parts:
            return series_table(self.parts, self.corrections, hasten)
        d = np.asarray(self.days, dtype=np.float64)
        return d, np.asarray(self.values, dtype=np.float64) / float(hasten)

    def daily(self, n_days: int, hasten: int = 1) -> np.ndarray:
        """Flee's daily value: clamp outside, linear in between, int-truncated (§2.6).

        >>> Series("c", ("c.csv",), (0, 10), (0.0, 100.0)).daily(4, hasten=10).tolist()
        [0, 1, 2, 3]
        """
        days, values = self.table(hasten)
        return interpolate_daily(days, values, n_days)


@dataclass(frozen=True)
class Observations:
    """source_data: the total series (refugees.csv) and one series per camp (data_layout order).

    `extra` holds data_layout rows that are not camps (a town, or a name that is no location):
    Flee 3.1 reads them and never uses them; Flee HEAD's `sum_from_camps` adds them in.
    """

    total: Series | None
    camps: Mapping[str, Series]
    extra: Mapping[str, Series] = field(default_factory=dict)


# ---- border-crisis parts (native format; see docs/scenario-format.md) -------------------------


@dataclass(frozen=True)
class Group:
    """A kind of person: nationality × documents × vulnerability, with where they go and cash."""

    name: str
    share: float
    nationality: str = ""
    documents: bool = False
    vulnerable: bool = False
    destinations: Mapping[str, float] = field(default_factory=dict)  # place -> probability
    fallback: str = ""  # where people who give up go
    cash_usd_mean: float = 0.0
    cash_usd_sd: float = 0.0
    source: str = ""
    line: int = 0
    #: file the group was read from, for later problems (not part of the content: neither compared
    #: nor in repr, which scenario_hash reads, so a copied scenario keeps its hash)
    path: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Crossing:
    """A border crossing on a route (from `a` to `b`) whose policy changes day by day."""

    name: str
    a: str
    b: str
    staging: str  # where people wait when they cannot pass
    line: int = 0
    irregular_to: str = ""  # place reached by the marked irregular path ("" = none: nobody tries)
    pushback_to: str = ""  # where a pushed-back person is left ("" = `staging`)
    source: str = ""
    #: file the crossing was read from, for later problems (neither compared nor in repr)
    path: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class PolicyPeriod:
    """Policy of a crossing between two days (inclusive), optionally for some groups only."""

    crossing: str
    start: int
    end: int
    status: str = "open"  # open | documents | closed
    capacity_per_day: int = -1  # −1 = unlimited
    militarisation: float = 0.0  # 0..1
    price_usd: float = 0.0  # informal price; 0 = none demanded
    bribe_success: float = 0.0
    groups: tuple[str, ...] = ()  # empty = everyone
    source: str = ""
    line: int = 0
    #: fields whose value is a behaviour parameter, e.g. {"militarisation": "mil_emergency"}; for
    #: "start"/"end" a date parameter, and `start`/`end` then hold the days added to it
    #: ("$peru_block-1": {"end": "peru_block"}, end=-1); for "capacity_per_day" a whole-number
    #: parameter (`capacity_per_day` then holds its value when read: `capacity` has it in force)
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: file the row was read from, for problems found later (neither compared nor in repr)
    path: str = field(default="", compare=False, repr=False)

    def days(self, parameters: Mapping[str, Any]) -> tuple[int, int]:
        """First and last day (inclusive), date parameters taken from `parameters` (days since
        the start date, as `Crisis.parameters` holds them)."""
        return resolved_days(self.start, self.end, self.parameters, parameters)

    def capacity(self, parameters: Mapping[str, Any]) -> int:
        """`capacity_per_day` (−1 = unlimited), a `$name` one taken from `parameters`."""
        ref = self.parameters.get("capacity_per_day")
        return int(parameters[ref]) if ref is not None else self.capacity_per_day


def resolved_days(start: int, end: int, refs: Mapping[str, str], parameters: Mapping[str, Any]) -> tuple[int, int]:
    """(start, end) of a row whose "start"/"end" may follow a date parameter (`refs`): then they
    hold the days added to the parameter's value in `parameters`."""
    return (start + int(parameters[refs["start"]]) if "start" in refs else start,
            end + int(parameters[refs["end"]]) if "end" in refs else end)


@dataclass(frozen=True)
class Event:
    """A scheduled move: transfer, flight, admission, corridor."""

    kind: str  # transfer | flight | admission | corridor
    start: int
    end: int
    origin: str = ""
    destination: str = ""
    people: int = 0  # transfer size or flight seats; for a corridor the daily capacity
    groups: tuple[str, ...] = ()
    source: str = ""
    line: int = 0
    crossing: str = ""  # admission: the crossing whose policy it overrides
    #: file the event was read from, for problems found later (neither compared nor in repr)
    path: str = field(default="", compare=False, repr=False)
    #: transfer, flight: once every this many days from start to end (0 or 1: every day)
    every_days: int = 0
    #: "start"/"end" that follow a date parameter (as in `PolicyPeriod.parameters`); "people"
    #: a whole-number parameter (`people` then holds its value when read; `schedule` resolves it);
    #: "fare_usd" a number parameter (likewise)
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: transfer, flight, corridor: the fare each person moved pays from their cash, USD (0: free);
    #: someone who carries less is not taken (`engine/rules/crisis_events.py`)
    fare_usd: float = 0.0

    def days(self, parameters: Mapping[str, Any]) -> tuple[int, int]:
        """First and last day (inclusive), date parameters taken from `parameters`."""
        return resolved_days(self.start, self.end, self.parameters, parameters)


@dataclass(frozen=True)
class Crisis:
    """Border-crisis extension of a scenario (None for Flee cases)."""

    groups: tuple[Group, ...] = ()
    crossings: tuple[Crossing, ...] = ()
    policies: tuple[PolicyPeriod, ...] = ()
    events: tuple[Event, ...] = ()
    departures: Mapping[str, Any] = field(default_factory=dict)  # daily departures by origin
    parameters: Mapping[str, Any] = field(default_factory=dict)  # behaviour parameters
    #: parameters that hold a date (`$name` in start/end cells), stored in `parameters`
    #: as days since the start date and given as YYYY-MM-DD in files and on the command line
    #: (sorted: a tuple, as the scenario's hash is its repr)
    date_parameters: tuple[str, ...] = ()
    observations: tuple[Mapping[str, Any], ...] = ()  # dated ranged observations
    #: what was provided where (location, indicator, amount, start, end as ISO dates, source):
    #: `[crisis] provided`, so a variant can state its own; a run's manifest records it for the needs
    provided: tuple[Mapping[str, Any], ...] = ()
    #: `[crisis.capacities]`: a shelter's capacity in place of locations.csv's, a whole number or
    #: the name of a parameter holding it (so a variant, `--set` or `--sweep` changes it)
    capacities: Mapping[str, int | str] = field(default_factory=dict)

    def shelter_capacity(self, loc: Location) -> int:
        """The capacity of place `loc` in force: `capacities`' (a parameter's value), else its own."""
        value = self.capacities.get(loc.name)
        if value is None:
            return loc.capacity
        return int(self.parameters[value]) if isinstance(value, str) else int(value)

    def schedule(self, days: int) -> tuple[Event, ...]:
        """The events of a run of `days` days, date parameters and `$name` sizes resolved: a transfer or flight once
        for each day it happens (start = end = that day, from its start every `every_days` days,
        within the run), an admission or corridor once with its first and last day. Events
        wholly outside the run, or emptied by a date parameter, are left out."""
        out: list[Event] = []
        for ev in self.events:
            start, end = ev.days(self.parameters)
            if end < start or end < 0 or start >= days:
                continue
            if "people" in ev.parameters:  # (a `$name` size: its value now)
                ev = replace(ev, people=int(self.parameters[ev.parameters["people"]]))
            if "fare_usd" in ev.parameters:  # (a `$name` fare: its value now)
                ev = replace(ev, fare_usd=float(self.parameters[ev.parameters["fare_usd"]]))
            if ev.kind in ("transfer", "flight"):
                step = max(1, ev.every_days)
                first = start if start >= 0 else start + -(start // step) * step
                out.extend(replace(ev, start=d, end=d, every_days=0, parameters={})
                           for d in range(first, min(end, days - 1) + 1, step))
            else:
                out.append(replace(ev, start=start, end=end, every_days=0, parameters={}))
        return tuple(out)

    def referenced_parameters(self) -> frozenset[str]:
        """The parameters the tables are written against: `$name` cells of policies and events,
        date references and `scale` of departures, `$name` values of `capacities`. A variant that replaced a table keeps its
        baseline's parameters, used or not (no_peru_closure keeps `peru_block`)."""
        rows = self.departures.get("rows", ())
        return frozenset({ref for pol in self.policies for ref in pol.parameters.values()}
                         | {ref for ev in self.events for ref in ev.parameters.values()}
                         | {ref for row in rows for ref in (row.get("refs") or {}).values()}
                         | {row["scale"] for row in rows if row.get("scale")}
                         | {v for v in self.capacities.values() if isinstance(v, str)})

    def parameter_dates(self, start_date: dt.date) -> dict[str, Any]:
        """`parameters` as a person reads them: date parameters as YYYY-MM-DD, others as numbers."""
        return {k: (start_date + dt.timedelta(days=int(v))).isoformat() if k in self.date_parameters
                else float(v) for k, v in self.parameters.items()}

    def departure_days(self, row: Mapping[str, Any]) -> tuple[int, int]:
        """First and last day of a departures row, date parameters (its "refs") resolved."""
        return resolved_days(int(row["start"]), int(row["end"]), row.get("refs") or {}, self.parameters)

    def departure_rates(self, days: int) -> list[tuple[str, int, int, float]]:
        """Each departures row as (origin, first day, last day, people a day): its days within
        the run's `days`, its rate times its `scale` parameter. Rows wholly outside are left out."""
        out = []
        for row in self.departures.get("rows", ()):
            scale = float(self.parameters.get(row["scale"], 1.0)) if row.get("scale") else 1.0
            d0, d1 = self.departure_days(row)
            d0, d1 = max(d0, 0), min(d1, days - 1)
            if d1 >= d0:
                out.append((str(row["origin"]), d0, d1, float(row["people_per_day"]) * scale))
        return out


@dataclass(frozen=True)
class Scenario:
    """A complete, checked scenario. Build with `corredor.load_scenario(path)`."""

    name: str
    start_date: dt.date
    days: int
    locations: tuple[Location, ...]
    routes: tuple[Route, ...]
    closures: tuple[Closure, ...] = ()
    conflicts: ConflictTimeline | None = None
    observations: Observations | None = None
    settings: Settings = field(default_factory=Settings)
    crisis: Crisis | None = None
    source: str = ""  # folder it was read from
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line (a notebook cell showed the dataclass's 20–48 KB of every row). Nothing hashes
        it: scenario hashes read the fields (plan.scenario_sha256, crisis.scenario_hash)."""
        kind = "border crisis" if self.crisis is not None else "Flee"
        hasten = f", hasten={self.hasten}" if self.hasten != 1 else ""
        return (f"Scenario(name={self.name!r}, source={self.source!r}, {kind}, "
                f"start_date={self.start_date.isoformat()}, days={self.days}{hasten}, "
                f"places={len(self.locations)}, routes={len(self.routes)})")

    @property
    def hasten(self) -> int:
        return self.settings.optimisations.hasten

    @property
    def home_country(self) -> str:
        """Flee: the country of the first location row (§2.1)."""
        return self.locations[0].country if self.locations else "unknown"

    def location_index(self) -> dict[str, int]:
        return {loc.name: i for i, loc in enumerate(self.locations)}

    def with_settings(self, **sections: Any) -> Scenario:
        """A copy with some settings replaced, e.g. `with_settings(optimisations={'hasten': 10})`."""
        data = self.settings.model_dump()
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return replace(self, settings=Settings(**data))

    def with_hasten(self, hasten: int) -> Scenario:
        """A copy run at `hasten` (a whole number from 1 to 1,000,000,000; else a ValueError)."""
        if (why := whole_number_refusal("hasten", hasten, 1, MAX_HASTEN)) is not None:
            raise ValueError(why)
        return self.with_settings(optimisations={"hasten": int(hasten)})

    def with_days(self, days: int) -> Scenario:
        """A copy that runs `days` days (a whole number from 1 to 36,525; else a ValueError)."""
        if (why := whole_number_refusal("days", days, 1, MAX_DAYS)) is not None:
            raise ValueError(why)
        return replace(self, days=int(days))


def location_climates(locations: Sequence[Location]) -> tuple[str, ...]:
    """Each location's climate, in order; () when no location gives one (the dataset then has no
    `climate` coordinate, as before the column existed)."""
    climates = tuple(loc.climate for loc in locations)
    return climates if any(climates) else ()


def location_regions(locations: Sequence[Location]) -> tuple[str, ...]:
    """Each location's region (Flee's locations.csv `region`, the native `region` column, tagged
    `#adm1+name`), in order; "" where the input gives none (the loaders' "unknown").

    Why: the run folder's tables carry it as `adm1`, so that a place can be joined to an admin-1
    boundary; an empty cell says "not known" where the word "unknown" would read as a region name.
    """
    return tuple("" if loc.region.strip().casefold() in ("", "unknown") else loc.region.strip()
                 for loc in locations)
