"""Results: an xarray.Dataset (day × location, day × route) plus a run manifest.

Why a thin class: every output (Parquet, CSV, plots, Flee's out.csv, the report) is a view of the
dataset, and the manifest says exactly what produced it (scenario hash, seed, engine, timing).
Schema: docs/architecture.md ("Results").

>>> res = simulate(load_scenario("../shared/data/flee/mali2012"), seed=1)  # doctest: +SKIP
>>> res.dataset["population"].sel(location="Mentao").values[-1]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import xarray as xr

#: units of a count in model units: agents, each standing for `people_per_agent` people (the hasten)
AGENTS = "agents"


def is_crisis(ds: xr.Dataset) -> bool:
    """Whether `ds` is a border-crisis run's (engine/crisis.py), not a Flee case's. Why this
    variable: `money_paid_usd`, what people paid to cross (bribes, smugglers), is recorded only
    by the crisis engine, which models crossings and their price; a Flee case has no money in its
    model, and the variables the two share (population, stranded, ...) cannot tell them apart."""
    return "money_paid_usd" in ds


def people_per_agent(ds: xr.Dataset) -> int:
    """How many people one simulated agent stands for (the run's hasten; 1 for crisis runs)."""
    return max(1, int(ds.attrs.get("people_per_agent", 1) or 1))


def in_people(ds: xr.Dataset) -> xr.Dataset:
    """The dataset with every count in agents (units "agents": a Flee case at hasten h > 1)
    multiplied by h and labelled "people". Planners read people, not agents (water for 9,257
    people, not for 926 agents); Flee's own out.csv stays in agents, as Flee writes it. Counts
    already in people are left as they are, so applying it twice changes nothing."""
    h = people_per_agent(ds)
    names = [n for n, da in ds.data_vars.items() if da.attrs.get("units") == AGENTS]
    if not names:
        return ds
    out = ds.copy()
    for n in names:
        out[n] = (ds[n] * h).assign_attrs({**ds[n].attrs, "units": "people"})
    return out


@dataclass
class Results:
    """One run: `dataset` (xarray.Dataset) and `manifest` (dict, JSON-serialisable)."""

    dataset: xr.Dataset
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def camps(self) -> list[str]:
        """Locations that Flee writes as output camps (camp at setup)."""
        ds = self.dataset
        if "is_camp" not in ds.coords:
            return []
        return [str(n) for n, c in zip(ds["location"].values, ds["is_camp"].values, strict=False) if bool(c)]

    def population(self, location: str) -> Any:
        """Daily population of one location as a numpy array; an unknown name is a KeyError that
        names it (xarray's said only "not all values found in index 'location'")."""
        names = [str(n) for n in self.dataset["location"].values]
        if location not in names:
            from .scenario.settings import suggest

            raise KeyError(f"no location {location!r} in these results{suggest(location, names)}")
        return self.dataset["population"].sel(location=location).values

    def __repr__(self) -> str:
        m = self.manifest
        return (f"Results({m.get('scenario', {}).get('name', '?')!r}, seed={m.get('seed')}, "
                f"engine={m.get('engine')!r}, days={self.dataset.sizes.get('day', 0)}, "
                f"locations={self.dataset.sizes.get('location', 0)})")
