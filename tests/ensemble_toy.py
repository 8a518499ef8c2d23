"""A small stochastic stand-in for corredor.simulate, used by the ensemble and calibration tests.

It returns Results-like objects with the same shape as the engine's (population and observed per
day and location, travellers per day and route, a `day`-only total, manifest metrics), so the
ensemble machinery is tested independently of the engine. Module-level so worker processes can
import it by name (tests put this folder on PYTHONPATH).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import xarray as xr

from corredor.scenario.model import Location, Route, Scenario

N_DAYS = 30
NAMES = ("A", "B", "C", "camp1", "camp2")


def toy_scenario(days: int = N_DAYS) -> Scenario:
    """Five places on a line; two are camps."""
    locs = tuple(
        Location(name=n, kind="camp" if n.startswith("camp") else "town", capacity=-1)
        for n in NAMES
    )
    routes = tuple(Route(a, b, 10.0) for a, b in zip(NAMES[:-1], NAMES[1:], strict=True))
    return Scenario(name="toy", start_date=dt.date(2020, 1, 1), days=days, locations=locs, routes=routes)


def identity(scenario: Scenario) -> Scenario:
    """compile_fn stand-in: the toy 'plan' is the scenario itself."""
    return scenario


def true_observed(days: int) -> np.ndarray:
    """What the toy 'observes': the expected population with camp_weight = 2.5."""
    return expected_population(days, 2.5)


def expected_population(days: int, camp_weight: float) -> np.ndarray:
    t = np.arange(1, days + 1, dtype=np.float64)[:, None]
    rate = np.array([5.0, 4.0, 3.0, 2.0 * camp_weight, 1.0 * camp_weight])[None, :]
    return rate * t


def toy_simulate(plan: Scenario, seed: int = 0, engine: str = "auto", threads: int | None = None):
    """Population = cumulative Poisson arrivals with camp rates × camp_weight; ARD vs observed."""
    rng = np.random.default_rng(int(seed))
    days = plan.days
    cw = plan.settings.move_rules.camp_weight
    rate = np.array([5.0, 4.0, 3.0, 2.0 * cw, 1.0 * cw])
    pop = np.cumsum(rng.poisson(rate, size=(days, len(NAMES))), axis=0).astype(np.int64)
    travellers = rng.poisson(3.0, size=(days, len(plan.routes))).astype(np.int64)
    observed = true_observed(days)
    camps = [3, 4]
    sim_c, obs_c = pop[:, camps].astype(float), observed[:, camps]
    ard = np.abs(sim_c - obs_c).sum(axis=1) / np.maximum(obs_c.sum(axis=1), 1)
    ds = xr.Dataset(
        {
            "population": (("day", "location"), pop, {"units": "people"}),
            "observed": (("day", "location"), observed, {"units": "people"}),
            "travellers": (("day", "route"), travellers, {"units": "people"}),
            "total_people": (("day",), pop.sum(axis=1), {"units": "people"}),
            "label": (("location",), np.array(NAMES)),  # not banded: no day dim, not numeric
        },
        coords={
            "day": np.arange(days),
            "location": list(NAMES),
            "is_camp": ("location", [n.startswith("camp") for n in NAMES]),
            "route": np.arange(len(plan.routes)),
        },
    )
    manifest = {"seed": int(seed), "engine": "toy", "metrics": {"ard_mean": float(ard.mean()),
                                                                 "ard_final": float(ard[-1])}}
    return SimpleNamespace(dataset=ds, manifest=manifest)
