"""corredor: people moving along migration corridors while borders close.

Data flows one way: `load_scenario` -> `compile_plan` -> `simulate` -> `Results`.
Importing corredor imports nothing heavy and compiles nothing: each public name is imported from
its submodule on first use. Why: the `corredor` command (`__main__.main`) imports this package
before it can handle Ctrl-C, and numpy, xarray and the scenario readers take most of a second.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing: a fifth of this import)
if TYPE_CHECKING:
    from typing import Any

    from .plan import compile_plan
    from .results import Results
    from .scenario import Scenario, ScenarioError, load_scenario
    from .simulate import simulate

#: each public name, and the submodule that defines it
_PUBLIC = {"compile_plan": "plan", "Results": "results", "Scenario": "scenario",
           "ScenarioError": "scenario", "load_scenario": "scenario", "simulate": "simulate"}

__all__ = ["Scenario", "ScenarioError", "load_scenario", "simulate", "compile_plan", "Results", "__version__"]


if not TYPE_CHECKING:  # (hidden from type checkers, which would take any name as one of these)
    def __getattr__(name: str) -> Any:
        """A public name, imported from its submodule on first use (PEP 562) and kept."""
        where = _PUBLIC.get(name)
        if where is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{where}", __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The module's names and the public ones not imported yet (PEP 562): `dir(corredor)` and a
    notebook's `corredor.<TAB>` showed none of `simulate`, `load_scenario`, ... until first used."""
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package, whose attribute `simulate` stays the function.

    Why: importing the submodule `corredor.simulate` (as the commands and engines do) sets the
    package's attribute of that name to the module, after the module ran; `corredor.simulate(...)`
    then failed with "'module' object is not callable". Here that assignment binds the function.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "simulate" and isinstance(value, types.ModuleType):
            value = value.simulate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
