"""Humanitarian needs per location per day, from daily populations, by a configurable standard.

Planners act on litres, rations, square metres, tents, toilets and health workers, not on head
counts, so this turns `population` (day × location, any extra dimension such as `replica` passes
through) into those quantities. The standard is a TOML file; the default (`sphere.toml` beside this module)
holds Sphere's minimum standards as summarised in the Chile–Peru fact sheet. Where a scenario says
what was provided (the Concordia camp had 6 chemical toilets) the gap is reported, and where
shelter capacity is known the people left without shelter are counted as person-nights.

>>> import numpy as np, xarray as xr
>>> ds = xr.Dataset({"population": (("day", "location"), np.array([[480.0]]))},
...                 coords={"location": ["camp"]})
>>> float(compute_needs(ds)["water_l"][0, 0])
7200.0
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..results import in_people
from ..scenario.csvread import decode_text
from ..scenario.problems import Problem, Problems, ScenarioError, shown
from ..scenario.tomlread import loads_toml, toml_error


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WaterStandard(_Section):
    litres_per_person_day: float = Field(15.0, ge=0)
    source: str = ""


class FoodStandard(_Section):
    kcal_per_person_day: float = Field(2100.0, ge=0)
    kcal_per_ration: float = Field(2100.0, gt=0)
    source: str = ""


class ShelterStandard(_Section):
    covered_m2_per_person: float = Field(3.5, ge=0)
    covered_m2_per_person_cold: float = Field(4.5, ge=0)
    #: one tent's covered floor (m²): tents = ⌈covered space / this⌉ per place and day. Optional,
    #: as every key is: a standard file without it plans by the UNHCR family tent's 16 m²
    tent_covered_m2: float = Field(16.0, gt=0)
    source: str = ""
    tent_source: str = ""


class SanitationStandard(_Section):
    people_per_toilet_initial: float = Field(50, gt=0)
    people_per_toilet_later: float = Field(20, gt=0)
    switch_after_days: int = Field(30, ge=0)
    switch_counted_from: Literal["first_occupied", "run_start"] = "first_occupied"
    #: kinds of place where people wait or pass through (reception/transit sites, such as the line
    #: at a closed border): they keep `people_per_toilet_transit` for as long as they are open, with
    #: no switch, since nobody is meant to stay there for the medium term
    transit_kinds: tuple[str, ...] = ("staging",)
    people_per_toilet_transit: float = Field(50, gt=0)
    source: str = ""
    transit_source: str = ""

    @field_validator("transit_kinds", mode="before")
    @classmethod
    def _known_kinds(cls, value: Any) -> Any:
        """A misspelt kind ("stagin") would silently switch the line to 1:20: refused."""
        from ..scenario.model import LOCATION_KINDS

        if isinstance(value, list | tuple):
            for kind in value:
                if isinstance(kind, str) and kind not in LOCATION_KINDS:
                    raise ValueError(f"unknown place kind {kind!r} (expected kinds of locations.csv: "
                                     f"{', '.join(k for k in LOCATION_KINDS if k != 'unknown')})")
        return value


class HealthStandard(_Section):
    staff_per_10000: float = Field(22.0, ge=0)
    source: str = ""


class Standard(_Section):
    """A needs standard: per-person quantities and ratios. Unknown keys are refused."""

    name: str = "custom"
    water: WaterStandard = WaterStandard()
    food: FoodStandard = FoodStandard()
    shelter: ShelterStandard = ShelterStandard()
    sanitation: SanitationStandard = SanitationStandard()
    health: HealthStandard = HealthStandard()

    def sources(self) -> dict[str, str]:
        """Sector → where its figure comes from (for reports); `tents` for the tent size's."""
        out = {}
        for sector in ("water", "food", "shelter", "sanitation", "health"):
            src = getattr(self, sector).source
            if src:
                out[sector] = src
        if self.shelter.tent_source:
            out["tents"] = self.shelter.tent_source
        if self.sanitation.transit_source:
            out["toilets at transit sites"] = self.sanitation.transit_source
        return out


def needs_standard(path: str | Path | None = None) -> Standard:
    """Read a standard from TOML; None gives the shipped Sphere default.

    Raises ScenarioError (path:line:col: message) for unknown keys or bad values, like any input.
    """
    if path is None:
        text = resources.files(__package__).joinpath("sphere.toml").read_text(encoding="utf-8")
        where = "corredor/analysis/sphere.toml"
    else:
        where = Path(path).as_posix()
        problems = Problems()
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ScenarioError([Problem(where, 0, 0, "cannot read the needs standard: "
                                         f"{exc.strerror or exc}")]) from None
        decoded = decode_text(raw, Path(path), problems, "a needs standard (TOML)")
        problems.raise_if_errors()
        text = decoded or ""
    try:
        data = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:  # (the place is in the text on Python 3.11)
        line, col, message = toml_error(exc)
        raise ScenarioError([Problem(where, line, col, f"not valid TOML: {message}")]) from None
    try:
        return Standard(**data)
    except ValidationError as exc:
        raise ScenarioError([_standard_problem(where, text, err) for err in exc.errors()]) from None


def _standard_problem(where: str, text: str, err: Any) -> Problem:
    """A validation error of the needs standard at its key (`path:line:col`, 1-based): the key's
    own line and column, else its table's header, else the line after the last one."""
    from ..scenario.native import toml_key_position, toml_place

    loc = [str(p) for p in err["loc"]]
    table, key = ".".join(loc[:-1]), (loc[-1] if loc else None)
    line, col = toml_key_position(text, ".".join(loc))  # a table of its own: `[water.x]`
    if (line, col) == (0, 0):
        line, col = toml_place(text, table, key)
    dotted = ".".join(loc)
    if err["type"] == "value_error":  # (a validator's own message: what was found, what is expected)
        return Problem(where, line, col, f"{dotted}: {err['msg'].removeprefix('Value error, ')}")
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        expected = f"one of {', '.join(known)}" if known else "a known key"
        return Problem(where, line, col, f"{dotted}: unknown key (expected {expected})")
    return Problem(where, line, col, f"{dotted}: {err['msg']} (found {shown(err.get('input'))})")


def _known_keys(tables: list[str]) -> list[str]:
    """The keys a table of the standard (`tables` from the top) accepts."""
    model: Any = Standard
    for name in tables:
        field = model.model_fields.get(name) if hasattr(model, "model_fields") else None
        model = getattr(field, "annotation", None)
    return sorted(getattr(model, "model_fields", {}))


#: Indicators a `provided` row may name, with their units.
INDICATORS: dict[str, str] = {
    "water_l": "l/day",
    "food_kcal": "kcal/day",
    "food_rations": "rations/day",
    "covered_space_m2": "m2",
    "tents": "tents",
    "toilets": "toilets",
    "health_staff": "health workers",
}

#: What `health_staff` counts, as people read it: Sphere's health-system workforce density
#: (qualified health workers per 10,000 people) applied to the people there. A population-level
#: figure, not how many to post at a site (that is a basic health unit within reach, referral, and
#: community health workers at about 1 per 500–1,000 people)
HEALTH_LABEL = "health workers, population-level density equivalent"

#: A `provided` row with this indicator states shelter capacity (people) instead of a need met.
SHELTER_CAPACITY = "shelter_capacity_people"

#: Sector of each indicator (HXL #sector in needs.csv).
SECTORS: dict[str, str] = {
    "water_l": "wash",
    "food_kcal": "food",
    "food_rations": "food",
    "covered_space_m2": "shelter",
    "tents": "shelter",
    "toilets": "wash",
    "health_staff": "health",
    "person_nights_unsheltered": "shelter",
}


@dataclass(frozen=True)
class Provision:
    """What was provided at a location: `amount` of `indicator` from day `start` to `end` (inclusive).

    `start`/`end` are day indices or ISO dates; None means open-ended.
    """

    location: str
    indicator: str
    amount: float
    start: int | str | None = None
    end: int | str | None = None
    source: str = ""


def provisions_from(rows: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, float]] | None) -> list[Provision]:
    """Accept `[{location, indicator, amount, start?, end?}]` or `{location: {indicator: amount}}`."""
    if not rows:
        return []
    out: list[Provision] = []
    if isinstance(rows, Mapping):
        for loc, items in rows.items():
            for ind, amount in items.items():
                out.append(Provision(str(loc), str(ind), float(amount)))
        return out
    for row in rows:
        if isinstance(row, Provision):
            out.append(row)
            continue
        amount = row.get("amount", row.get("value"))
        out.append(
            Provision(
                location=str(row["location"]),
                indicator=str(row["indicator"]),
                amount=float(amount),
                start=row.get("start"),
                end=row.get("end"),
                source=str(row.get("source", "")),
            )
        )
    return out


def _day_index(value: int | str | dt.date | None, dates: list[dt.date] | None, default: int) -> int:
    """A provision bound as a day index; dates (ISO text, date, datetime, Timestamp) are looked
    up against the run's dates."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, dt.date | np.datetime64):  # (a datetime, a pandas Timestamp too)
        d = as_date(value)
    else:
        text = str(value)
        if text.lstrip("-").isdigit():
            return int(text)
        d = dt.date.fromisoformat(text)
    if not dates:
        raise ValueError(f"provision bound {value!r} is a date but the results have no dates")
    return (d - dates[0]).days


def as_date(value: Any) -> dt.date:
    """A date from whatever a `date` coordinate holds (datetime64, date, ISO string)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return dt.date.fromisoformat(np.datetime_as_string(value, unit="D"))
    return dt.date.fromisoformat(str(value)[:10])


def run_dates(ds: xr.Dataset) -> list[dt.date] | None:
    """The run's dates (one per day), or None when the results carry no `date` coordinate."""
    if "date" not in ds.coords:
        return None
    return [as_date(v) for v in np.asarray(ds["date"].values)]


def _location_flag(ds: xr.Dataset, given: Mapping[str, Any] | Iterable[str] | None, coord: str) -> xr.DataArray:
    """A per-location boolean: from `given` (mapping or set of names), else a coord, else False."""
    names = [str(n) for n in ds["location"].values]
    vals: np.ndarray | list[bool]
    if given is None:
        if coord in ds.coords:
            vals = ds[coord].values
            return xr.DataArray(np.asarray(vals, dtype=bool), dims="location")
        if "climate" in ds.coords and coord == "cold":
            vals = [str(v).lower() == "cold" for v in ds["climate"].values]
            return xr.DataArray(np.asarray(vals, dtype=bool), dims="location")
        return xr.DataArray(np.zeros(len(names), dtype=bool), dims="location")
    if isinstance(given, str):  # one name, not its letters
        given = [given]
    _refuse_unknown(coord, given, names)
    if isinstance(given, Mapping):
        vals = [bool(given.get(n, False)) for n in names]
    else:
        chosen = {str(g) for g in given}
        vals = [n in chosen for n in names]
    return xr.DataArray(np.asarray(vals, dtype=bool), dims="location")


def _refuse_unknown(what: str, given: Iterable[Any], names: list[str]) -> None:
    """ValueError naming a location of `given` (names, or a mapping's keys) that the run does
    not have: a misspelt cold place or shelter was silently planned as temperate, or unsheltered."""
    known = set(names)
    unknown = [str(g) for g in given if str(g) not in known]
    if unknown:
        from ..scenario.settings import suggest

        raise ValueError(f"{what}: unknown location {unknown[0]!r}{suggest(unknown[0], known)}")


def _shelter_capacity(ds: xr.Dataset, given: Mapping[str, float] | None) -> xr.DataArray:
    """Shelter capacity per location (people); NaN where unknown (absent or negative)."""
    names = [str(n) for n in ds["location"].values]
    if given is not None:
        _refuse_unknown("shelter_capacity", given, names)
        vals = np.array([float(given.get(n, np.nan)) for n in names])
    else:
        coord = next((c for c in ("shelter_capacity_people", "shelter_capacity") if c in ds.coords), None)
        vals = np.asarray(ds[coord].values, dtype=float) if coord else np.full(len(names), np.nan)
    vals = np.where(vals < 0, np.nan, vals)
    return xr.DataArray(vals, dims="location")


def _ceil_count(x: xr.DataArray) -> xr.DataArray:
    """Whole items (toilets, staff, tents): round up, but keep 0 where nobody is there."""
    return cast(xr.DataArray, np.ceil(x - 1e-9)).clip(min=0)  # (a ufunc keeps the DataArray)


#: kinds of place where a border crisis strands or shelters people (the native format's kinds)
SITE_KINDS = ("staging", "shelter", "camp")


def crisis_sites(ds: xr.Dataset) -> np.ndarray | None:
    """bool per location: where a crisis run's needs are a planner's concern — places of kind
    staging, shelter or camp, and any place where someone was ever stranded, sheltered or held (a
    stop place, locations.csv `stop`). Not the
    cities people pass through or the homes they return to (Santiago would otherwise top the
    list with everyone who gave up). None for other runs (a Flee case: every place)."""
    if "stranded" not in ds or "location" not in ds.dims:
        return None
    kinds = np.asarray(ds["kind"].values, dtype=str) if "kind" in ds.coords else np.array([""] * ds.sizes["location"])
    ever = []
    for var in ("stranded", "sheltered", "held"):
        if var in ds:
            other = [d for d in ds[var].dims if d != "location"]
            ever.append(np.asarray((ds[var] > 0).any(other).values, dtype=bool))
    return site_mask(kinds, *ever)


def site_mask(kinds: Iterable[str], *ever: np.ndarray) -> np.ndarray:
    """bool per location: its kind is one of SITE_KINDS, or it is set in any of `ever` (bool per
    location: someone was stranded, or sheltered, there on some day). `crisis_sites`' rule, for
    callers that hold plain arrays (the report reads the run folder, not a Dataset)."""
    site = np.isin(np.asarray(list(kinds), dtype=str), SITE_KINDS)
    for flag in ever:
        site |= np.asarray(flag, dtype=bool)
    return site


def compute_needs(
    dataset: xr.Dataset,
    standard: Standard | None = None,
    *,
    provided: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, float]] | None = None,
    cold: Mapping[str, Any] | Iterable[str] | None = None,
    shelter_capacity: Mapping[str, float] | None = None,
    population_var: str = "population",
) -> xr.Dataset:
    """Needs per location per day implied by `dataset[population_var]` under `standard`, in
    people (counts in agents are multiplied by the dataset's `people_per_agent`: results.in_people).

    Returns a Dataset on the population's dimensions with `in_need` (people), `water_l`,
    `food_kcal`, `food_rations`, `covered_space_m2` (for everyone there: in a shelter, a check on
    its floor area), `tents` (for the people without shelter only, whole tents at each place:
    ⌈their covered space / the standard's `tent_covered_m2`⌉; without shelter = the
    `person_nights_unsheltered` of that day, or everyone where the capacity is unknown),
    `toilets`, `health_staff` (Sphere's health-workforce density applied to the people there:
    `HEALTH_LABEL`, not a site's staffing),
    `person_nights_unsheltered` (NaN where shelter capacity is unknown; capacity comes from
    `shelter_capacity`, a `shelter_capacity_people` coord, or `provided` rows with indicator
    `shelter_capacity_people`, which may be 0 where people slept in the open) and, for every indicator
    that some location was provided with, `<indicator>_provided` and `<indicator>_gap`
    (need − provided, never below 0; NaN where nothing was stated). Toilets use the transit ratio
    for as long as people are there at places whose `kind` is one of the standard's
    `transit_kinds` (the line at a closed border, kind staging); elsewhere the initial ratio until
    `switch_after_days` have passed, counted per location from the first day it held anyone (or
    from day 0), then the later one; `people_per_toilet` records the ratio used.
    Cold locations (`cold` names, or a boolean `cold` coord, or `climate == "cold"`) use the cold
    covered-space figure. A name in `cold` or `shelter_capacity` that the run lacks is refused
    (ValueError), as an unknown place of `provided` is.
    """
    std = standard or needs_standard()
    dataset = in_people(dataset)  # needs are for people: a Flee case at hasten h counts agents
    pop = dataset[population_var].astype(float)
    if "day" not in pop.dims or "location" not in pop.dims:
        raise ValueError(f"{population_var} must have dims day and location, has {pop.dims}")
    n_days = pop.sizes["day"]
    day_idx = xr.DataArray(np.arange(n_days), dims="day")

    cold_flag = _location_flag(dataset, cold, "cold")
    space_per_person = xr.where(cold_flag, std.shelter.covered_m2_per_person_cold, std.shelter.covered_m2_per_person)

    san = std.sanitation
    if san.switch_counted_from == "run_start":
        age = day_idx
    else:
        occupied = pop > 0
        first = xr.where(occupied.any("day"), occupied.argmax("day"), n_days)
        age = day_idx - first
    later = age >= san.switch_after_days
    ratio = xr.where(later, float(san.people_per_toilet_later), float(san.people_per_toilet_initial))
    transit = _transit_sites(dataset, san.transit_kinds)
    ratio = xr.where(transit, float(san.people_per_toilet_transit), ratio)

    grids = _provision_grids(dataset, n_days, provisions_from(provided))
    if "person_nights_unsheltered" in dataset:
        unsheltered = dataset["person_nights_unsheltered"].astype(float)
    else:
        cap = _shelter_capacity(dataset, shelter_capacity).broadcast_like(pop.isel(day=0, drop=True))
        if SHELTER_CAPACITY in grids:  # a stated capacity (e.g. 0: people slept in the open) wins
            stated = xr.DataArray(grids[SHELTER_CAPACITY], dims=("day", "location"))
            cap = xr.where(np.isfinite(stated), stated, cap)
        unsheltered = (pop - cap).clip(min=0)  # one night per person per day-end stock; NaN if unknown
    # tents are for the people without shelter: those beyond a place's capacity, and everyone at a
    # place whose capacity is unknown (nobody there is known to have a bed); not the people
    # sleeping in a shelter's beds, whose covered space is the shelter's own floor
    without_shelter = xr.where(np.isfinite(unsheltered), unsheltered, pop)

    # (the variables made first and the Dataset once: each `out[name] = ...` aligned it anew;
    # the needs of one Chile–Peru run took 43 ms so and take 35 ms now)
    space = pop * space_per_person
    made: dict[str, xr.DataArray] = {
        "in_need": pop.assign_attrs(units="people", long_name="people in need"),
        "water_l": (pop * std.water.litres_per_person_day).assign_attrs(units="l/day"),
        "food_kcal": (pop * std.food.kcal_per_person_day).assign_attrs(units="kcal/day"),
        "food_rations": (pop * std.food.kcal_per_person_day / std.food.kcal_per_ration).assign_attrs(
            units="rations/day"),
        "covered_space_m2": space.assign_attrs(units="m2"),
        # whole tents per place: a total over places is a sum of these, not of the space
        "tents": _ceil_count(without_shelter * space_per_person / std.shelter.tent_covered_m2).assign_attrs(
            units="tents", long_name="tents for people without shelter"),
        "toilets": _ceil_count(pop / ratio).assign_attrs(units="toilets"),
        # (the key kept, files name it; a population-level workforce density, not a site's staff)
        "health_staff": _ceil_count(pop * std.health.staff_per_10000 / 10_000.0).assign_attrs(
            units=INDICATORS["health_staff"], long_name=HEALTH_LABEL),
        "people_per_toilet": ratio.broadcast_like(pop).assign_attrs(units="people/toilet"),
        "person_nights_unsheltered": unsheltered.assign_attrs(units="person-nights"),
    }

    for ind, grid in grids.items():
        if ind == SHELTER_CAPACITY:
            continue
        prov = xr.DataArray(grid, dims=("day", "location"), coords={"day": pop["day"], "location": pop["location"]})
        made[f"{ind}_provided"] = prov.assign_attrs(units=INDICATORS[ind])
        made[f"{ind}_gap"] = (made[ind] - prov).clip(min=0).assign_attrs(units=INDICATORS[ind])
    out = xr.Dataset(made, coords={k: v for k, v in pop.coords.items()})
    out = out.assign_coords(cold=("location", cold_flag.values))
    out.attrs["standard"] = std.name
    out.attrs["standard_sources"] = std.sources()
    out.attrs["toilet_switch"] = toilet_rule(std)
    out.attrs["tent_rule"] = (f"for the people without shelter (beyond a place's shelter capacity, or everyone "
                              f"where it has none known): one per {std.shelter.tent_covered_m2:g} m² of their "
                              "covered space, rounded up to whole tents at each place")
    return out


def toilet_rule(std: Standard) -> str:
    """The toilet ratios `compute_needs` applies, in words (the page's and needs.csv's note)."""
    san = std.sanitation
    switch = (f"1 per {san.people_per_toilet_initial:g} until day {san.switch_after_days} "
              f"(counted from {san.switch_counted_from.replace('_', ' ')}), then 1 per {san.people_per_toilet_later:g}")
    if not san.transit_kinds:
        return switch
    kinds = ", ".join(san.transit_kinds)
    return (f"1 per {san.people_per_toilet_transit:g} for as long as people are there at transit sites "
            f"(places of kind {kinds}); elsewhere {switch}")


def _transit_sites(ds: xr.Dataset, kinds: Iterable[str]) -> xr.DataArray:
    """bool per location: its `kind` coordinate is one of `kinds` (all False without the coord)."""
    n = ds.sizes["location"]
    if "kind" not in ds.coords or not kinds:
        return xr.DataArray(np.zeros(n, dtype=bool), dims="location")
    return xr.DataArray(np.isin(np.asarray(ds["kind"].values, dtype=str), list(kinds)), dims="location")


def _provision_grids(dataset: xr.Dataset, n_days: int, provisions: list[Provision]) -> dict[str, np.ndarray]:
    """Per indicator, the amount provided per (day, location); NaN where nothing was stated."""
    names = [str(n) for n in dataset["location"].values]
    index = {n: i for i, n in enumerate(names)}
    dates = run_dates(dataset)
    grids: dict[str, np.ndarray] = {}
    for p in provisions:
        if p.indicator not in INDICATORS and p.indicator != SHELTER_CAPACITY:
            known = ", ".join([*INDICATORS, SHELTER_CAPACITY])
            raise ValueError(f"provided: unknown indicator {p.indicator!r}; known: {known}")
        if p.location not in index:
            raise ValueError(f"provided: unknown location {p.location!r}")
        grid = grids.setdefault(p.indicator, np.full((n_days, len(names)), np.nan))
        lo = max(_day_index(p.start, dates, 0), 0)
        hi = min(_day_index(p.end, dates, n_days - 1), n_days - 1)
        if hi < lo:
            continue
        col = grid[lo : hi + 1, index[p.location]]
        grid[lo : hi + 1, index[p.location]] = np.where(np.isnan(col), p.amount, col + p.amount)
    return grids


def indicator_names(needs: xr.Dataset) -> list[str]:
    """The need indicators present in a needs Dataset, in a stable order."""
    base = [*INDICATORS, "person_nights_unsheltered"]
    return [v for v in base if v in needs]
