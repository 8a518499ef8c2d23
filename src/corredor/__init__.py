"""corredor: people moving along migration corridors while borders close.

Data flows one way: `load_scenario` -> `compile_plan` -> `simulate` -> `Results`.
"""

from __future__ import annotations

from .scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"


def __getattr__(name: str):  # lazy: importing corredor must not compile numba kernels
    if name == "simulate":
        from .simulate import simulate

        globals()["simulate"] = simulate  # the submodule of the same name must not shadow it
        return simulate
    if name == "compile_plan":
        from .plan import compile_plan

        return compile_plan
    if name == "Results":
        from .results import Results

        return Results
    raise AttributeError(name)


__all__ = ["Scenario", "ScenarioError", "load_scenario", "simulate", "compile_plan", "Results", "__version__"]
