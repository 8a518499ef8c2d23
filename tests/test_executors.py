"""Executors: serial, local processes and Dask give the same results for the same tasks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


_LOCKS: list[object] = []


def lock_then_sleep(shared: object, seconds: float) -> float:
    """A task that makes a multiprocessing lock as numba does for its threads (the worker's
    default context), then sleeps."""
    import multiprocessing
    import time

    if "fork" in multiprocessing.get_start_method():
        _LOCKS.append(multiprocessing.get_context().RLock())
    time.sleep(seconds)
    return seconds


def kill_self(shared: object, task: object) -> None:
    """A task whose worker is killed (as by the OOM killer)."""
    os.kill(os.getpid(), signal.SIGKILL)


STOPPED = """
import time
from corredor.analysis.executors import LocalProcessExecutor
from test_executors import lock_then_sleep
t0 = time.monotonic()
try:
    with LocalProcessExecutor(workers=2, max_batch=1) as ex:
        for _ in ex.map_unordered(lock_then_sleep, None, [0.5, 60.0, 60.0, 60.0]):
            raise KeyboardInterrupt  # (what SIGINT and SIGTERM raise in the `corredor` command)
except KeyboardInterrupt:
    print(f"stopped after {time.monotonic() - t0:.1f} s")
"""


def test_a_stop_ends_the_workers_in_a_task_at_once(importable_tests: None) -> None:
    """A stop (or an error) while workers are in a task ends them instead of waiting for their
    tasks: SIGTERM to `corredor compare` waited 13 s for two workers compiling numba (whole
    runs, on a large scenario). Ended so, they leave no "leaked semaphore objects" warning
    (numba's lock, named in the resource tracker under forkserver) after the command's line."""
    r = subprocess.run([sys.executable, "-c", STOPPED], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    seconds = float(r.stdout.split()[2])
    assert seconds < 30, r.stdout  # (not the 60 s a task sleeps)
    assert "leaked" not in r.stderr and "Traceback" not in r.stderr, r.stderr


STOPPED_WHILE_STARTING = """
import signal
import multiprocessing.forkserver as forkserver
from corredor import stopping
from corredor.analysis.executors import LocalProcessExecutor
from test_executors import square_plus
real = forkserver.connect_to_new_process
def connect_then_stop(fds):
    connected = real(fds)
    if not stopped:
        stopped.append(True)
        signal.raise_signal(signal.SIGINT)  # (before the worker is sent its pickle)
    return connected
stopped = []
forkserver.connect_to_new_process = connect_then_stop
stopping.install()  # (as `corredor` does)
try:
    with LocalProcessExecutor(workers=2) as ex:
        list(ex.map_unordered(square_plus, 1, [1, 2, 3]))
except KeyboardInterrupt:
    print("stopped")
"""


def test_a_stop_while_workers_start_leaves_no_traceback(importable_tests: None) -> None:
    """Found by review: SIGINT to `corredor compare` while its pool started a worker cut the
    worker's pickle short, and the fork server's child printed a traceback (EOFError, or
    "pickle data was truncated") after the command's one line. The stop now waits until every
    worker submitted has been sent its pickle."""
    r = subprocess.run([sys.executable, "-c", STOPPED_WHILE_STARTING], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split() == ["stopped"], r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def sigint_ignored(shared: object, task: int) -> bool:
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_workers_leave_ctrl_c_to_the_command(importable_tests: None) -> None:
    """Found by review: Ctrl-C on `corredor main-job` while it wrote its reports (its workers
    waiting for tasks) printed a KeyboardInterrupt traceback from each worker (`Process
    ForkServerProcess-1:` ... `call_queue.get`) beside the command's one line: a terminal sends
    SIGINT to the whole process group. (Whether a waiting worker saw it depended on which of its
    threads the signal reached, so the traceback came now and then.) Workers now ignore SIGINT;
    the command ends them on a stop (`close(at_once=True)`)."""
    with LocalProcessExecutor(workers=2, max_batch=1) as ex:
        assert all(ex.map_unordered(sigint_ignored, None, [0, 1, 2, 3]))


def test_a_worker_killed_in_a_task_is_one_clear_error(importable_tests: None) -> None:
    from corredor.analysis.executors import WorkerLost

    with pytest.raises(WorkerLost, match="a worker process ended in the middle of a run"):
        with LocalProcessExecutor(workers=2) as ex:
            list(ex.map_unordered(kill_self, None, [1, 2, 3]))



def test_a_dask_worker_killed_in_a_task_is_one_clear_error(importable_tests: None) -> None:
    """Found by review: a Dask worker killed mid-run (its scattered shared data lost with it)
    reached the user as distributed's FutureCancelledError or KilledWorker traceback."""
    pytest.importorskip("distributed")
    from corredor.analysis.executors import WorkerLost

    with pytest.raises(WorkerLost, match="a Dask worker ended in the middle of a run"):
        with make_executor("dask", workers=1) as ex:
            list(ex.map_unordered(kill_self, None, [1]))

KILLED = """
import sys
import corredor.analysis.executors as executors
from test_executors import kill_self
real = executors.LocalProcessExecutor.map_unordered
executors.LocalProcessExecutor.map_unordered = lambda self, fn, shared, tasks: real(self, kill_self, shared, tasks)
from corredor.cli import main
sys.argv[0] = "corredor"
main()
"""


def test_cli_says_one_line_when_a_worker_is_killed(importable_tests: None, tmp_path: Path) -> None:
    """A worker killed mid-run (the OOM killer) was a BrokenProcessPool traceback from
    `corredor compare`; now one line, exit 4 (the environment's: a retry may succeed), and
    nothing written."""
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "chile-peru-2023"
    r = subprocess.run([sys.executable, "-c", KILLED, "compare", str(scenario), "--seeds", "2",
                        "--workers", "2", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 4, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: a worker process ended in the middle of a run (killed, or out of memory?); "
        "nothing was written"]
    assert not (tmp_path / "out").exists()


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


def test_every_kernel_releases_the_gil() -> None:
    """Found by a review at scale: no kernel was compiled with nogil=True, so a replica held the
    GIL for its whole day loop; its Dask worker could not heartbeat, and one whose replica ran past
    the scheduler's worker-ttl was restarted (every replica lost, "killed, or out of memory?").
    Every numba kernel of the engine package now releases it."""
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import corredor.engine as engine

    nogil: dict[str, object] = {}
    for info in pkgutil.walk_packages(engine.__path__, "corredor.engine."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                nogil[f"{module.__name__}.{name}"] = obj.targetoptions.get("nogil")
    for kernel in ("agents._run", "cohorts._day", "rules.crisis_travel.travel",
                   "rules.crisis_depart.depart", "rules.crisis_record.record"):
        assert f"corredor.engine.{kernel}" in nogil, kernel
    assert [k for k, v in nogil.items() if v is not True] == []


CONCURRENT = """
import sys
import threading
from corredor.scenario import load_scenario
from corredor.simulate import simulate
cases = [(load_scenario(sys.argv[1], days=40), "auto", 1),
         (load_scenario(sys.argv[2], hasten=20, days=60), "agents", 2)]
for sc, engine, threads in cases:
    ref = simulate(sc, seed=4, engine=engine, threads=threads).dataset
    got = {}
    def run(i):
        got[i] = simulate(sc, seed=4, engine=engine, threads=threads).dataset
    workers = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(got) == 3 and all(ds.equals(ref) for ds in got.values()), engine
print("same")
"""


def test_parallel_kernels_in_threads_under_the_workqueue_layer(flee_cases: Path) -> None:
    """The kernels release the GIL, so a Dask worker with several threads runs replicas at once.
    numba's workqueue threading layer (where neither TBB nor OpenMP loads) aborts the process
    when two threads launch parallel regions at once ("Concurrent access has been detected"),
    which the GIL used to rule out: under it the crisis and agent runs take turns
    (engine.parallel_lock), and each thread's result is the one-thread run's."""
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "chile-peru-2023"
    r = subprocess.run([sys.executable, "-c", CONCURRENT, str(scenario), str(flee_cases / "mali2012")],
                       capture_output=True, text=True, timeout=600,
                       env={**os.environ, "NUMBA_THREADING_LAYER": "workqueue"})
    assert r.returncode == 0 and r.stdout.strip() == "same", r.stderr[-2000:]


def stale_dask_call(fn, task, shared):
    """`executors._dask_call` as a worker with other corredor sources runs it."""
    from corredor.analysis import executors

    return executors._Stamped(("0123456789abcdef", "feedc0de" * 5), "tcp://10.0.0.9:4001",
                              fn(shared, task))


def unstamped_dask_call(fn, task, shared):
    """`executors._dask_call` as a worker with an older corredor runs it: the bare result."""
    return fn(shared, task)


def test_a_dask_worker_with_other_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a review at scale: a Dask worker running an edited copy of corredor (people_final
    doubled) was mixed into the ensemble, exit 0, and its manifest carried only the parent's
    provenance. Each result now carries its worker's source digest; the parent refuses another."""
    pytest.importorskip("distributed")
    from corredor.analysis import executors
    from corredor.provenance import source_digest

    monkeypatch.setattr(executors, "_dask_call", stale_dask_call)
    with make_executor("dask", workers=1, processes=False) as ex:
        with pytest.raises(executors.VersionMismatch) as info:
            _ensemble(ex)
        msg = str(info.value)
        assert "the Dask worker tcp://10.0.0.9:4001 runs corredor source 0123456789abcdef" in msg
        assert "commit feedc0defeed" in msg and f"this command corredor source {source_digest()}" in msg
        assert msg.endswith("nothing was written")
        monkeypatch.setattr(executors, "_dask_call", unstamped_dask_call)
        with pytest.raises(executors.VersionMismatch, match="an older corredor that does not say"):
            list(ex.map_unordered(square_plus, 1, [3]))
        monkeypatch.undo()  # the worker's own stamp: the same sources, accepted
        # (another shared value: one scattered again under the key being released is cancelled)
        assert sorted(ex.map_unordered(square_plus, 2, [3, 1])) == [(1, 3), (3, 11)]


STALE_WORKER = """
import sys
import corredor.analysis.executors as executors
from test_executors import stale_dask_call
executors._dask_call = stale_dask_call
real = executors.make_executor
executors.make_executor = lambda kind, workers=None, address=None: real(kind, workers, address, processes=False)
from corredor.cli import main
sys.argv[0] = "corredor"
main()
"""


def test_cli_refuses_a_dask_worker_with_other_code(importable_tests: None, tmp_path: Path) -> None:
    """`corredor ensemble --executor dask` with a worker of other sources: one line naming both
    versions, exit 4 (the environment: the cluster's install), nothing written."""
    pytest.importorskip("distributed")
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "chile-peru-2023"
    r = subprocess.run([sys.executable, "-c", STALE_WORKER, "ensemble", str(scenario), "-n", "2",
                        "--days", "20", "--executor", "dask", "--workers", "1", "-q",
                        "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 4, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith("warning: ")]  # (few replicas)
    assert len(lines) == 1 and lines[0].startswith(
        "error: the Dask worker tcp://10.0.0.9:4001 runs corredor source 0123456789abcdef"), r.stderr
    assert not (tmp_path / "out").exists()


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
