"""Reading and checking inputs: Flee folders and corredor's native format -> Scenario."""

from __future__ import annotations

import os
from pathlib import Path

from .csvread import is_absent
from .model import (
    MAX_DAYS,
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
    whole_number_refusal,
)
from .problems import Problem, Problems, ScenarioError
from .settings import MAX_HASTEN, Settings


def load_scenario(path: str | Path, *, hasten: int | None = None, days: int | None = None) -> Scenario:
    """Load a Flee case folder, a native corredor folder or a crisis variant file (`[variant]`
    TOML, see scenario/native_crisis.py); raise ScenarioError listing all problems (with the
    folder as its `folder`, and first in its text).

    `hasten` (1 to 1,000,000,000) and `days` (1 to 36,525) are whole numbers, checked before
    anything is read as `run --hasten` and `--days` check theirs: anything else is a ValueError
    naming the argument.

    >>> s = load_scenario("../shared/data/flee/mali2012")  # doctest: +SKIP
    """
    for name, value, high in (("hasten", hasten, MAX_HASTEN), ("days", days, MAX_DAYS)):
        if value is not None and (why := whole_number_refusal(name, value, 1, high)) is not None:
            raise ValueError(why)
    p = Path(path)
    is_dir = False
    try:  # (a folder that cannot be listed or searched: say so here, not at each file in it)
        is_dir = p.is_dir()
        if is_dir:
            os.listdir(p)
            os.stat(os.path.join(p, "."))
        elif os.path.lexists(p):
            os.stat(p)  # (a link in a loop or to nowhere: say so, not "scenario.toml: missing")
        # (a scenario.toml that is there but cannot be read is reported by the native reader)
        native = (is_dir and not is_absent(p / "scenario.toml")) or p.name == "scenario.toml"
        flee = (p / "input_csv").is_dir()
        variant = p.suffix == ".toml" and p.is_file()
    except OSError as exc:
        what = "the folder" if is_dir else "it"
        raise ScenarioError([Problem(p.as_posix(), 0, 0, f"cannot read {what} ({exc.strerror or exc})")]) from None
    if native or flee:  # (the problems' paths are relative to the folder: say which one)
        folder = p if is_dir else p.parent
        try:
            if native:
                from .native import load_native

                scen = load_native(folder)
            else:
                from .flee import load_flee

                scen = load_flee(p)
        except ScenarioError as exc:
            raise exc.in_folder(folder.as_posix()) from None
    elif variant:  # a policy variant of a crisis baseline
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
