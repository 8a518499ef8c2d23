"""`corredor validate`: load a scenario folder and return its warnings, or raise with its errors.

>>> warnings = validate_path("../shared/data/flee/car")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from . import load_scenario
from .problems import Problem, ScenarioError


def validate_path(path: str | Path) -> list[Problem]:
    """Every warning of a loadable scenario; ScenarioError (errors and warnings) otherwise."""
    p = Path(path)
    if not p.exists():
        raise ScenarioError([Problem(p.as_posix(), 0, 0, "no such file or folder")])
    scenario = load_scenario(p)
    return list(scenario.metadata.get("warnings", ()))
