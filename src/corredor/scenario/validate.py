"""`corredor validate`: load a scenario folder and return its warnings, or raise with its errors.

>>> warnings = validate_path("../shared/data/flee/car")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from . import load_scenario
from .csvread import is_absent
from .model import Scenario
from .problems import Problem, ScenarioError


def validate_path(path: str | Path) -> list[Problem]:
    """Every warning of a loadable scenario; ScenarioError (errors and warnings) otherwise.

    The scenario is also compiled as a run would compile it (`plan.compile_plan`, or the crisis
    rules' `compile_crisis`), so that limits found only there (a run over 100 years, more people
    than live on Earth, a hasten that leaves nobody) are reported here too, not first by `run`.
    """
    p = Path(path)
    if is_absent(p):
        raise ScenarioError([Problem(p.as_posix(), 0, 0, "no such file or folder")])
    scenario = load_scenario(p)
    warnings = list(scenario.metadata.get("warnings", ()))
    try:
        compile_scenario(scenario)
    except ScenarioError as exc:
        raise ScenarioError(exc.problems, warnings + exc.warnings) from None
    return warnings


def compile_scenario(scenario: Scenario) -> None:
    """Compile as a run would (`plan.compile_plan`, or the crisis rules' `compile_crisis`):
    ScenarioError with what only compiling finds."""
    if scenario.crisis is not None:
        from ..engine.rules.crisis_plan import compile_crisis

        compile_crisis(scenario)
    else:
        from ..plan import compile_plan

        compile_plan(scenario)
