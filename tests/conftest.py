"""Shared test fixtures: where ../shared lives and the Flee cases in it."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FLEE_CASES = SHARED / "data" / "flee"
CHILE_PERU_DATA = SHARED / "data" / "chile-peru-2023"


def _numba_cache_dir() -> Path:
    """A numba cache of its own for each state of the engine's sources. numba invalidates a
    cached kernel when its own file changes, not when a rule it calls from another file
    (engine/rules/*.py) does: a test run after editing a rule would use the old machine code and
    could pass on code that no longer exists (a test review's mutations did)."""
    h = hashlib.sha256()
    for path in sorted((REPO / "src" / "corredor" / "engine").rglob("*.py")):
        h.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    root = REPO / ".pytest_cache" / "numba"
    here = root / h.hexdigest()[:16]
    if root.is_dir():  # the caches of earlier sources are of no more use
        for old in root.iterdir():
            if old.name != here.name:
                shutil.rmtree(old, ignore_errors=True)
    return here


os.environ.setdefault("NUMBA_CACHE_DIR", str(_numba_cache_dir()))  # (before anything imports numba)
# no plain progress lines in the suite (progress.py): on a loaded machine an ensemble or compare
# past 30 s would print one into stderr that tests expect empty or read exactly; test_progress.py
# sets the variable where it tests them
os.environ.setdefault("CORREDOR_PROGRESS_SECONDS", "0")

# CI draws the same property-test examples on every run (.ci/run sets HYPOTHESIS_PROFILE=ci), so
# its verdict is about the commit, not the luck of the draw; a local `make test` draws fresh
# examples each time and keeps finding new ones (a failure prints the blob that replays it).
# Drawn the same on every commit, most of a budget only re-checks a fixed corpus: CI runs a fifth
# of hypothesis's default 100 examples, and test_fuzz_loaders.py scales its budgets by the same
# share (`budget`).
settings.register_profile("ci", derandomize=True, max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def flee_cases(shared_dir: Path) -> Path:
    return FLEE_CASES
