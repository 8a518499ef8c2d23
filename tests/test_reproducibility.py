"""Reproducing a run from what its folder records: content-only scenario hashes, path-free data
files, per-file input hashes, `corredor rerun` (a reproducibility review's findings)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from typer.testing import CliRunner

from corredor.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"


def test_a_flee_case_copied_under_another_name_keeps_its_hash(flee_cases: Path, tmp_path: Path) -> None:
    """mali2012 copied as mali-copy got another `scenario.sha256` (the hash read the folder's
    name), so a reviewer given the case as `supplement/case1` could not show it was the same."""
    from corredor.plan import scenario_sha256
    from corredor.scenario import load_scenario

    a = tmp_path / "mali2012"
    b = tmp_path / "supplement" / "case1"
    shutil.copytree(flee_cases / "mali2012", a)
    shutil.copytree(flee_cases / "mali2012", b)
    sa, sb = load_scenario(a, hasten=10), load_scenario(b, hasten=10)
    assert sa.name != sb.name
    assert scenario_sha256(sa) == scenario_sha256(sb)


def test_a_crisis_scenarios_hash_leaves_out_its_name() -> None:
    """The crisis engine's `scenario_hash` began with the scenario's name, which changes no number."""
    from corredor.engine.crisis import scenario_hash
    from corredor.scenario import load_scenario

    s = load_scenario(CHILE_PERU)
    assert scenario_hash(dataclasses.replace(s, name="renamed")) == scenario_hash(s)
