"""Reading and checking inputs: Flee folders and corredor's native format -> Scenario."""

from __future__ import annotations

import os
from pathlib import Path

from .model import (
    Closure,
    ConflictTimeline,
    Crisis,
    Crossing,
    Event,
    Group,
    Location,
    Observations,
    PolicyPeriod,
    Route,
    Scenario,
    Series,
)
from .problems import Problem, Problems, ScenarioError
from .settings import Settings


def load_scenario(path: str | Path, *, hasten: int | None = None, days: int | None = None) -> Scenario:
    """Load a Flee case folder, a native corredor folder or a crisis variant file (`[variant]`
    TOML, see scenario/native_crisis.py); raise ScenarioError listing all problems.

    >>> s = load_scenario("../shared/data/flee/mali2012")  # doctest: +SKIP
    """
    p = Path(path)
    if (p / "scenario.toml").is_file() or p.name == "scenario.toml":
        from .native import load_native

        scen = load_native(p if p.is_dir() else p.parent)
    elif (p / "input_csv").is_dir():
        from .flee import load_flee

        scen = load_flee(p)
    elif p.suffix == ".toml" and p.is_file():  # a policy variant of a crisis baseline
        from .native_crisis import load_variant

        scen = load_variant(p)
    else:
        raise ScenarioError(
            [
                Problem(
                    p.as_posix(),
                    0,
                    0,
                    ("no such file or folder" if not os.path.lexists(p) else
                     "not a scenario folder (expected scenario.toml, or a Flee case with input_csv/)"),
                )
            ]
        )
    if hasten is not None:
        scen = scen.with_hasten(hasten)
    if days is not None:
        scen = scen.with_days(days)
    return scen


__all__ = [
    "Closure",
    "ConflictTimeline",
    "Crisis",
    "Crossing",
    "Event",
    "Group",
    "Location",
    "Observations",
    "PolicyPeriod",
    "Problem",
    "Problems",
    "Route",
    "Scenario",
    "ScenarioError",
    "Series",
    "Settings",
    "load_scenario",
]
