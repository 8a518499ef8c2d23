"""Shared test fixtures: where ../shared lives and the Flee cases in it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FLEE_CASES = SHARED / "data" / "flee"
CHILE_PERU_DATA = SHARED / "data" / "chile-peru-2023"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def flee_cases(shared_dir: Path) -> Path:
    return FLEE_CASES
