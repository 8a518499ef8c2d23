"""Scenario: everything a run needs, read and checked, as frozen typed objects.

Values are stored as written in the input (people, not agents): `hasten` is applied when the
scenario is compiled into a Plan, so the same Scenario can be run at any hasten.
Every object keeps the `line` it came from so later checks can point at the input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .settings import Settings

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


def _frozen_map(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(d or {}))


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


@dataclass(frozen=True)
class Series:
    """One observation series: points (day offset from StartDate, value in people).

    `points` are after registration corrections, before hasten. Missing counts are skipped.
    """

    name: str
    files: tuple[str, ...]
    days: tuple[int, ...]
    values: tuple[float, ...]

    def daily(self, n_days: int, hasten: int = 1) -> np.ndarray:
        """Flee's daily value: clamp outside, linear in between, int-truncated (§2.6)."""
        out = np.zeros(n_days, dtype=np.int64)
        if not self.days:
            return out
        d = np.asarray(self.days, dtype=np.float64)
        v = np.asarray(self.values, dtype=np.float64) / hasten
        for t in range(n_days):
            if t <= d[0]:
                out[t] = int(v[0])
            elif t >= d[-1]:
                out[t] = int(v[-1])
            else:
                k = int(np.searchsorted(d, t, side="right"))  # d[k-1] <= t < d[k]
                d0, d1, v0, v1 = d[k - 1], d[k], v[k - 1], v[k]
                out[t] = int(v0 + (v1 - v0) * (t - d0) / (d1 - d0))
        return out


@dataclass(frozen=True)
class Observations:
    """source_data: the total series (refugees.csv) and one series per camp (data_layout order)."""

    total: Series | None
    camps: Mapping[str, Series]


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


@dataclass(frozen=True)
class Crossing:
    """A border crossing on a route (from `a` to `b`) whose policy changes day by day."""

    name: str
    a: str
    b: str
    staging: str  # where people wait when they cannot pass
    line: int = 0
    irregular_to: str = ""  # place reached by the marked irregular path ("" = `b`)
    pushback_to: str = ""  # where a pushed-back person is left ("" = `staging`)
    source: str = ""


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
    path: str = ""  # file the event was read from (for problems found later)


@dataclass(frozen=True)
class Crisis:
    """Border-crisis extension of a scenario (None for Flee cases)."""

    groups: tuple[Group, ...] = ()
    crossings: tuple[Crossing, ...] = ()
    policies: tuple[PolicyPeriod, ...] = ()
    events: tuple[Event, ...] = ()
    departures: Mapping[str, Any] = field(default_factory=dict)  # daily departures by origin
    parameters: Mapping[str, Any] = field(default_factory=dict)  # behaviour parameters
    observations: tuple[Mapping[str, Any], ...] = ()  # dated ranged observations


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

    @property
    def hasten(self) -> int:
        return self.settings.optimisations.hasten

    @property
    def home_country(self) -> str:
        """Flee: the country of the first location row (§2.1)."""
        return self.locations[0].country if self.locations else "unknown"

    def location_index(self) -> dict[str, int]:
        return {loc.name: i for i, loc in enumerate(self.locations)}

    def with_settings(self, **sections: Any) -> "Scenario":
        """A copy with some settings replaced, e.g. `with_settings(optimisations={'hasten': 10})`."""
        data = self.settings.model_dump()
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return replace(self, settings=Settings(**data))

    def with_hasten(self, hasten: int) -> "Scenario":
        return self.with_settings(optimisations={"hasten": int(hasten)})

    def with_days(self, days: int) -> "Scenario":
        return replace(self, days=int(days))
