"""What a manifest says of the software that made it: corredor's and its dependencies' versions.

Why: the same scenario and seed give the same numbers only with the same numerics; a run folder,
ensemble or calibration that says which numpy, numba and xarray made it can be re-run (or its
difference explained) later. One function, so that every manifest says it the same way.
"""

from __future__ import annotations

import functools
import platform
from importlib import metadata
from typing import Any

#: the packages whose versions every manifest records, besides Python and corredor
DEPENDENCIES = ("numpy", "numba", "xarray", "pandas", "pyarrow")


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    from . import __version__

    out = [("corredor", str(__version__)), ("python", platform.python_version())]
    for name in DEPENDENCIES:
        try:  # (the installed distribution's version, read without importing the package)
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


def provenance() -> dict[str, str]:
    """The `provenance` block of a manifest: {"corredor": "0.1.0", "python": "3.12.3",
    "numpy": ..., "numba": ..., "xarray": ..., "pandas": ..., "pyarrow": ...} (a fresh dict)."""
    return dict(_versions())


def scenario_digest(scenario: Any) -> str | None:
    """The hash a run's manifest gives `scenario` (`scenario.sha256`): the crisis engine's
    `scenario_hash` for a border-crisis scenario, else the Flee plan's `scenario_sha256`; None
    for anything that is no Scenario (a test's stand-in)."""
    from .scenario.model import Scenario

    if not isinstance(scenario, Scenario):
        return None
    if scenario.crisis is not None:
        from .engine.crisis import scenario_hash

        return scenario_hash(scenario)
    from .plan import scenario_sha256

    return scenario_sha256(scenario)


def scenario_entry(scenario: Any, sha256: str | None = None) -> dict[str, Any]:
    """`scenario` as every manifest names it, a run's shape: {"name", "sha256", "source"}."""
    return {"name": str(getattr(scenario, "name", scenario)),
            "sha256": sha256 if sha256 is not None else scenario_digest(scenario),
            "source": str(getattr(scenario, "source", "") or "")}


def overrides_set(scenario: Any) -> dict[str, Any]:
    """The values `analysis.ensemble.apply_overrides` changed from the source's (a manifest's
    `set`; {} when none): `apply_overrides(load_scenario(source), set)` is `scenario` again."""
    meta = getattr(scenario, "metadata", None) or {}
    return dict(meta.get("overrides") or {})
