"""Executors: serial, local processes and Dask give the same results for the same tasks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from corredor.analysis.ensemble import build_variants, run_ensemble
from corredor.analysis.executors import (
    DaskExecutor,
    LocalProcessExecutor,
    SerialExecutor,
    make_executor,
)
from ensemble_toy import identity, toy_scenario, toy_simulate

TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture
def importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes import the toy model by name: put tests/ on their PYTHONPATH."""
    old = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", TESTS + (os.pathsep + old if old else ""))


def square_plus(shared: int, task: int) -> tuple[int, int]:
    return task, task * task + shared


def worker_pid(shared: object, task: int) -> int:
    return os.getpid()


def test_serial_and_process_executors_agree(importable_tests: None) -> None:
    tasks = list(range(23))
    with SerialExecutor() as ex:
        serial = sorted(ex.map_unordered(square_plus, 5, tasks))
    with LocalProcessExecutor(workers=2) as ex:
        pooled = sorted(ex.map_unordered(square_plus, 5, tasks))
        assert ex.workers == 2
    assert serial == pooled == [(t, t * t + 5) for t in tasks]


def test_process_executor_uses_other_processes(importable_tests: None) -> None:
    with LocalProcessExecutor(workers=2) as ex:
        pids = set(ex.map_unordered(worker_pid, None, list(range(8))))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_make_executor_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("threads")
    with pytest.raises(ValueError, match="at least 1"):
        make_executor("local", workers=0)
    assert isinstance(make_executor("local", workers=1), SerialExecutor)


def _ensemble(executor, seed: int = 11):
    variants = build_variants({}, [("move_rules.camp_weight", [1, 2])])
    return run_ensemble(toy_scenario(), 12, seed=seed, variants=variants, executor=executor,
                        simulate_fn=toy_simulate, compile_fn=identity)


def test_ensemble_bands_do_not_depend_on_the_executor(importable_tests: None) -> None:
    ref = _ensemble(SerialExecutor())
    with LocalProcessExecutor(workers=2) as ex:
        pooled = _ensemble(ex)
    for name in ("population", "travellers", "total_people"):
        np.testing.assert_array_equal(ref.bands[name].values, pooled.bands[name].values)
    assert ref.metrics == pooled.metrics


def test_dask_local_cluster_matches_serial() -> None:
    pytest.importorskip("distributed")
    ref = _ensemble(SerialExecutor())
    with make_executor("dask", workers=2, processes=False) as ex:
        assert ex.workers == 2
        got = _ensemble(ex)
        assert sorted(ex.map_unordered(square_plus, 1, [3, 1, 2])) == [(1, 2), (2, 5), (3, 10)]
    np.testing.assert_array_equal(ref.bands["population"].values, got.bands["population"].values)
    assert ref.metrics == got.metrics


def test_dask_unreachable_address_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler"):
        DaskExecutor(address="tcp://127.0.0.1:9", connect_timeout="1s")


# ---- SLURM (dask-jobqueue): the configuration docs/ensembles.md shows, without submitting ----

DOCS = Path(__file__).resolve().parent.parent / "docs" / "ensembles.md"


def documented_slurm_options() -> dict:
    """The keyword arguments of the `SLURMCluster(...)` call in docs/ensembles.md, as values."""
    import ast
    import re

    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    code = next(b for b in blocks if "SLURMCluster(" in b)
    calls = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "SLURMCluster"]
    assert len(calls) == 1 and not calls[0].args
    return {k.arg: ast.literal_eval(k.value) for k in calls[0].keywords}


def test_documented_slurm_cluster_writes_the_expected_job_script() -> None:
    jobqueue = pytest.importorskip("dask_jobqueue")
    opts = documented_slurm_options()
    assert opts["scheduler_options"] == {"port": 8786}
    opts["scheduler_options"] = {"port": 0}  # any free port here: the test machine may use 8786
    cluster = jobqueue.SLURMCluster(**opts)
    try:
        script = cluster.job_script()
        address = cluster.scheduler_address
    finally:
        cluster.close()
    lines = script.splitlines()
    sbatch = [ln for ln in lines if ln.startswith("#SBATCH")]
    for expected in ("#SBATCH -p standard", "#SBATCH -A my-project", "#SBATCH --cpus-per-task=32",
                     "#SBATCH --mem=60G", "#SBATCH -t 02:00:00", "#SBATCH --exclusive"):
        assert expected in sbatch, (expected, sbatch)
    worker = [ln for ln in lines if "distributed.cli.dask_worker" in ln]
    assert len(worker) == 1
    cmd = worker[0].split()
    assert cmd[:3] == ["python", "-m", "distributed.cli.dask_worker"]  # the activated venv's python
    assert cmd[3] == address and address.startswith("tcp://")
    assert cmd[cmd.index("--nthreads") + 1] == "1"  # one thread per worker: one replica per core
    assert cmd[cmd.index("--nworkers") + 1] == "32"
    # the prologue runs before the worker starts: the venv is active, numba uses one thread
    at = lines.index(worker[0])
    assert lines.index("source ~/corredor/.venv/bin/activate") < at
    assert lines.index("export NUMBA_NUM_THREADS=1") < at
    assert lines[0].startswith("#!") and max(lines.index(s) for s in sbatch) < at
