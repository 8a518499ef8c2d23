"""Small stand-ins for `corredor.results.Results` that follow docs/architecture.md's schema.

The output tests must not wait for the engine, so they build Flee-like and crisis-like datasets
by hand here: a `.dataset` (xarray) and a `.manifest` (dict), nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

XSS_NAME = "<script>alert(1)</script>"


@dataclass
class FakeResults:
    dataset: xr.Dataset
    manifest: dict[str, Any] = field(default_factory=dict)


def _routes(pairs: list[tuple[str, str, float]]) -> tuple[list[str], list[str], list[float]]:
    """Both directions of every road, Flee-style (a->b then b->a)."""
    frm, to, km = [], [], []
    for a, b, d in pairs:
        frm += [a, b]
        to += [b, a]
        km += [d, d]
    return frm, to, km


def flee_like(n_days: int = 12) -> FakeResults:
    """Three places, one camp with observations: a Flee case's shape."""
    names = ["Town A", "Border", "Camp Z"]
    day = np.arange(n_days)
    dates = np.array([np.datetime64("2012-02-29") + int(d) for d in day])
    camp = np.minimum(day * 40.0, 300.0)
    town = np.maximum(500.0 - day * 45.0, 0.0)
    border = np.full(n_days, 20.0)
    pop = np.stack([town, border, camp], axis=1)
    obs = np.full((n_days, 3), np.nan)
    obs[:, 2] = np.minimum(day * 35.0, 280.0)
    frm, to, km = _routes([("Town A", "Border", 120.0), ("Border", "Camp Z", 30.0)])
    ds = xr.Dataset(
        {
            "population": (("day", "location"), pop, {"units": "people"}),
            "observed": (("day", "location"), obs, {"units": "people"}),
            "arrivals": (("day", "location"), np.zeros((n_days, 3)), {"units": "people"}),
            "travellers": (("day", "route"), np.ones((n_days, len(frm))), {"units": "people"}),
            "spawned": (("day",), np.full(n_days, 10.0), {"units": "people"}),
            "observed_total": (("day",), obs[:, 2], {"units": "people"}),
        },
        coords={
            "day": day,
            "date": ("day", dates),
            "location": names,
            "country": ("location", ["Mali", "Mali", "Burkina Faso"]),
            "kind": ("location", ["conflict", "town", "camp"]),
            "lat": ("location", [14.5, 14.0, 13.2]),
            "lon": ("location", [-4.2, -2.0, -1.5]),
            "is_camp": ("location", [False, False, True]),
            "route": np.arange(len(frm)),
            "route_from": ("route", frm),
            "route_to": ("route", to),
            "distance_km": ("route", km),
        },
    )
    manifest = {"scenario": {"name": "tiny-flee", "hash": "abc"}, "seed": 1, "engine": "agents"}
    return FakeResults(ds, manifest)


def crisis_like(
    n_days: int = 20,
    camp_name: str = "camp",
    start: str = "2023-04-13",
    crossings: tuple[str, ...] = ("concordia",),
    scenario_source: str | None = None,
) -> FakeResults:
    """A Chile–Peru-shaped crisis run: groups, stranded, crossings, closure status, a camp.

    With `scenario_source`, the run records neither crossing endpoints, status nor observations
    (which the crisis engine does record) and its manifest points at that scenario folder, with
    nothing provided.
    """
    names = ["santiago", "arica", "chacalluta", camp_name, "santa_rosa", "tacna"]
    lat = [-33.4569, -18.4755, -18.336, -18.333, -18.331, -18.0146]
    lon = [-70.6483, -70.3006, -70.322, -70.32, -70.318, -70.2536]
    kinds = ["city", "city", "border_post", "camp", "border_post", "city"]
    day = np.arange(n_days)
    dates = np.array([np.datetime64(start) + int(d) for d in day])
    groups = ["ven_undoc", "hti_undoc"]
    n_loc = len(names)
    by_group = np.zeros((n_days, n_loc, 2))
    rise = np.minimum(60.0 + day * 25.0, 480.0)
    rise[day >= n_days - 3] = 0.0  # cleared at the end
    by_group[:, 3, 0] = np.round(rise * 0.4)
    by_group[:, 3, 1] = rise - by_group[:, 3, 0]
    by_group[:, 0, 0] = 1000.0 - day * 10.0
    by_group[:, 1, 1] = day * 5.0
    by_group[:, 5, 0] = day * 3.0
    pop = by_group.sum(axis=2)
    stranded = np.zeros((n_days, n_loc))
    stranded[:, 3] = pop[:, 3]
    stranded_by_group = np.zeros_like(by_group)  # (everyone at the camp is stranded, group by group)
    stranded_by_group[:, 3, :] = by_group[:, 3, :]
    obs = np.full((n_days, n_loc), np.nan)
    obs[0, 3] = 60.0
    obs[min(6, n_days - 1), 3] = 175.0
    obs[min(15, n_days - 1), 3] = 450.0
    frm, to, km = _routes(
        [
            ("santiago", "arica", 2168.0),
            ("arica", "chacalluta", 20.0),
            ("chacalluta", camp_name, 0.25),
            (camp_name, "santa_rosa", 0.25),
            ("santa_rosa", "tacna", 41.3),
        ]
    )
    crossings = list(crossings)
    nc = len(crossings)
    modes = ["regular", "paid", "irregular", "flight", "transfer", "corridor"]
    cross = np.zeros((n_days, nc, len(modes)))
    cross[:, 0, 2] = 3.0
    cross[n_days // 2, 0, 3] = 115.0
    status = np.array([["open"] * nc] * 2 + [["closed"] * nc] * (n_days - 2), dtype=object)
    ds = xr.Dataset(
        {
            "population": (("day", "location"), pop, {"units": "people"}),
            "population_by_group": (("day", "location", "group"), by_group, {"units": "people"}),
            "stranded": (("day", "location"), stranded, {"units": "people"}),
            "stranded_by_group": (("day", "location", "group"), stranded_by_group, {"units": "people"}),
            "observed": (("day", "location"), obs, {"units": "people"}),
            "crossings": (("day", "crossing", "mode"), cross, {"units": "people"}),
            "pushbacks": (("day", "crossing"), np.ones((n_days, nc)), {"units": "people"}),
            "give_ups": (("day",), np.full(n_days, 2.0), {"units": "people"}),
            "money_paid_usd": (("day", "crossing"), np.full((n_days, nc), 100.0), {"units": "USD"}),
            "crossing_status": (("day", "crossing"), status.astype(str)),
        },
        coords={
            "day": day,
            "date": ("day", dates),
            "location": names,
            "country": ("location", ["CL", "CL", "CL", "CL/PE", "PE", "PE"]),
            "kind": ("location", kinds),
            "lat": ("location", lat),
            "lon": ("location", lon),
            "is_camp": ("location", [k == "camp" for k in kinds]),
            "route": np.arange(len(frm)),
            "route_from": ("route", frm),
            "route_to": ("route", to),
            "distance_km": ("route", km),
            "group": groups,
            "crossing": crossings,
            "crossing_from": ("crossing", [camp_name] * nc),
            "crossing_to": ("crossing", ["santa_rosa"] * nc),
            "mode": modes,
        },
    )
    manifest = {
        "scenario": {"name": "chile-peru-2023", "hash": "def"},
        "seed": 7,
        "engine": "agents",
        "start_date": str(dt.date(2023, 4, 13)),
        "provided": [{"location": camp_name, "indicator": "toilets", "amount": 6, "source": "rpp.pe 2023-05-15"},
                     {"location": camp_name, "indicator": "water_l", "amount": 5000, "source": "invented for tests"}],
        "sources": [{"what": "camp counts", "url": "https://aricahoy.cl/?p=37089"}],
    }
    if scenario_source is not None:
        ds = ds.drop_vars(["crossing_status", "crossing_from", "crossing_to", "observed"])
        manifest = {"scenario": {"name": "chile-peru-2023", "source": scenario_source}, "seed": 7}
    return FakeResults(ds, manifest)
