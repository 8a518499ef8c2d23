"""corredor: people moving along migration corridors while borders close.

Data flows one way: `load_scenario` -> `compile_plan` -> `simulate` -> `Results`.
Importing corredor compiles nothing: the engines (numba) are imported when a run asks for them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .plan import compile_plan  # noqa: E402
from .results import Results  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

# Imported eagerly and bound last: `import corredor.simulate` (the submodule) would otherwise
# replace the package attribute `simulate` with the module, and `corredor.simulate(...)` would fail.
from .simulate import simulate  # noqa: E402

__all__ = ["Scenario", "ScenarioError", "load_scenario", "simulate", "compile_plan", "Results", "__version__"]
