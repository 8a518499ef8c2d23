"""Same seed, same bytes: `corredor run --threads 1` and `--threads 2` write identical run folders.

Every file of the run folder (CSV, Parquet, GeoJSON, JSON, PNG) must be byte-identical; only
manifest.json may differ, and only in the keys that describe how the run was executed (wall-clock
timing, thread count, resume details). The runs are separate processes with
NUMBA_NUM_THREADS=2 so that two threads really run even where the machine reports one core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corredor.scenario import load_scenario
from corredor.simulate import simulate

REPO = Path(__file__).resolve().parents[1]
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"
ENTRY = "from corredor.cli import main; main()"
#: Manifest keys about the execution, not the result (also kept out of results.parquet).
VOLATILE = ("timing", "threads", "checkpoint", "invocation")  # (invocation: the command line and folders)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-c", ENTRY, "run", *args, "-q"], capture_output=True,
                          text=True, timeout=600, env=env)


def differing_files(a: Path, b: Path) -> list[str]:
    """Names of files that differ (manifest.json compared without its volatile keys)."""
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    out = []
    for name in names:
        pa, pb = a / name, b / name
        if not (pa.is_file() and pb.is_file()):
            out.append(name)
        elif name == "manifest.json":
            ma, mb = json.loads(pa.read_text()), json.loads(pb.read_text())
            for m in (ma, mb):
                for k in VOLATILE:
                    m.pop(k, None)
            if ma != mb:
                out.append(name)
        elif pa.read_bytes() != pb.read_bytes():
            out.append(name)
    return out


def one_and_two_threads(case: Path, tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}"
        r = run_cli(str(case), "--seed", "17", "--threads", threads, "--out", str(out), *extra)
        assert r.returncode == 0, r.stderr
        used = json.loads((out / "manifest.json").read_text())["threads"]
        assert used == int(threads) or used == 1  # the cohort engine is serial by design
        outs.append(out)
    return outs[0], outs[1]


@pytest.mark.parametrize("engine", ["agents", "auto"])
def test_flee_case_identical_on_1_and_2_threads(flee_cases: Path, tmp_path: Path, engine: str) -> None:
    a, b = one_and_two_threads(flee_cases / "mali2012", tmp_path, "--engine", engine,
                               "--days", "120", "--flee-out")
    if engine == "agents":  # the parallel engine really ran on two threads
        assert json.loads((b / "manifest.json").read_text())["threads"] == 2
    files = {p.name for p in a.iterdir()}
    assert {"results.parquet", "population.csv", "populations.csv", "out.csv"} <= files
    assert differing_files(a, b) == []


def test_crisis_scenario_identical_on_1_and_2_threads(tmp_path: Path) -> None:
    a, b = one_and_two_threads(CHILE_PERU, tmp_path)
    assert "results.parquet" in {p.name for p in a.iterdir()}
    assert differing_files(a, b) == []


def test_the_comparison_can_fail(flee_cases: Path, tmp_path: Path) -> None:
    """differing_files notices a one-byte change, and another seed changes the results."""
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "population.csv").write_text("day,x\n0,1\n")
        (d / "manifest.json").write_text(json.dumps({"seed": 1, "timing": {"wall_s": 1.0}}))
    (b / "manifest.json").write_text(json.dumps({"seed": 1, "timing": {"wall_s": 2.0}}))
    assert differing_files(a, b) == []
    (b / "population.csv").write_text("day,x\n0,2\n")
    assert differing_files(a, b) == ["population.csv"]
    scenario = load_scenario(flee_cases / "mali2012", hasten=20, days=60)
    one = simulate(scenario, seed=1, engine="cohorts").dataset["population"].values
    two = simulate(scenario, seed=2, engine="cohorts").dataset["population"].values
    assert not np.array_equal(one, two)
