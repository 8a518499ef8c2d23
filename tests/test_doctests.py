"""The worked examples in the modules' docstrings hold (`>>>` lines): they are documentation, and
numbers in documentation rot silently unless run. engine/gpu.py is left out: it needs CUDA."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import corredor

#: modules whose examples need what a CPU-only machine lacks
NEEDS_A_GPU = {"corredor.engine.gpu"}


def _modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(corredor.__path__, "corredor.")]
    return sorted(n for n in names if n not in NEEDS_A_GPU)


def test_modules_are_found():
    names = _modules()
    assert {"corredor.analysis.metrics", "corredor.analysis.needs", "corredor.outputs.tables",
            "corredor.engine.rules.crisis_plan"} <= set(names)


@pytest.mark.parametrize("name", _modules())
def test_the_examples_in_its_docstrings_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
