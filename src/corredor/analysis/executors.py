"""Where replica tasks run: in this process, in local worker processes, or on a Dask cluster.

Every executor runs `fn(shared, task)` for each task and yields the results as they complete.
`shared` (a compiled plan, base scenarios, ...) is sent to each worker once — through a process
pool's initializer or a Dask scatter with broadcast — never once per task, so replicas of a large
scenario do not re-send the read-only arrays. `fn`, `shared` and each task must be picklable
(module-level functions, plain data) for the process and Dask executors.

>>> with make_executor("serial") as ex:
...     sorted(ex.map_unordered(_add_shared, 10, [1, 2, 3]))
[11, 12, 13]
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol, Self

from .. import stopping

#: Names accepted by `make_executor` and the CLI's `--executor`.
EXECUTOR_KINDS = ("local", "dask", "serial")


class Executor(Protocol):
    """Runs `fn(shared, task)` for every task; yields results in completion order."""

    workers: int

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, tasks: Sequence[Any]
    ) -> Iterator[Any]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


class WorkerLost(RuntimeError):
    """A worker process ended in the middle of a task (killed, or out of memory)."""


class SchedulerUnreachable(RuntimeError):
    """The Dask scheduler given by address did not answer (not up yet, or the network)."""


class VersionMismatch(RuntimeError):
    """A Dask worker runs other corredor code than the command (a stale install on one node)."""


def _add_shared(shared: int, task: int) -> int:  # used by the module doctest
    return shared + task


class _Base:
    workers: int = 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release workers; safe to call twice."""


class SerialExecutor(_Base):
    """Runs tasks one after another in this process (tests, one worker, debugging)."""

    def __init__(self) -> None:
        self.workers = 1

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, tasks: Sequence[Any]
    ) -> Iterator[Any]:
        for task in tasks:
            stopping.check()  # (a stop a finalizer swallowed: no further run starts)
            yield fn(shared, task)


# ---- local processes -------------------------------------------------------------------------

_WORKER_SHARED: Any = None


def worker_refusal(executor: Any, **functions: Any) -> str | None:
    """Why a function argument cannot reach `executor`'s worker processes (None when it can), named
    as the caller's argument: the local executor pickles functions by name, so a lambda, a function
    defined inside another, or one from a notebook or `python -c` (a __main__ without a file) is
    refused here, before anything runs, rather than as pickle's "Can't pickle local object" at
    the first batch. The serial executor runs anything; Dask sends functions with cloudpickle."""
    if not isinstance(executor, LocalProcessExecutor):
        return None
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    for name, fn in functions.items():
        if fn is None or not callable(fn):
            continue
        why = ""
        try:  # (pickle.dumps, as map_unordered sends it)
            pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError):
            why = "the local executor pickles it by name, and a lambda or a nested function has none"
        if not why and getattr(fn, "__module__", None) == "__main__" and main_file is None:
            why = "it is defined in __main__ without a file (a notebook or python -c), which workers cannot import"
        if why:
            label = getattr(fn, "__name__", None) or repr(fn)
            return (f"{name}={label} must be a module-level function to run in worker processes "
                    f"({why}); define it with def in an importable module, or use the serial executor")
    return None


def _init_worker(blob: bytes, env: dict[str, str]) -> None:
    """Process-pool initializer: unpickle the shared object once per worker."""
    global _WORKER_SHARED
    # Ctrl-C reaches the whole foreground group: a worker waiting for its next task printed a
    # KeyboardInterrupt traceback beside the command's one line. The command decides (it ends
    # its workers on a stop: `close(at_once=True)`), so a worker ignores SIGINT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(env)
    # a worker starts no process; with its default "fork", the lock numba makes for its threads
    # is not named in the resource tracker, so a worker ended in a task (`close(at_once=True)`)
    # leaves no "leaked semaphore objects" warning after the command's last line
    mp.set_start_method("fork", force=True)
    _WORKER_SHARED = pickle.loads(blob)


def _run_batch(fn: Callable[[Any, Any], Any], tasks: list[Any]) -> list[Any]:
    return [fn(_WORKER_SHARED, t) for t in tasks]


class LocalProcessExecutor(_Base):
    """A pool of `workers` local processes (default start method: forkserver).

    Why forkserver: numba's thread pools are not safe to fork from a parent that has used them;
    a fork server is started clean. Tasks are sent in small batches (at least `batches_per_worker`
    per worker, at most `max_batch` tasks each): a worker takes the next batch when it is done, so
    small batches keep both workers busy to the end (1,000 replicas of car in 16 batches of 63 left
    one worker idle for up to 63 replicas' time), and a replica (≥ 0.04 s) dwarfs a round-trip.
    Each worker should run its replica on one thread (the CLI does), so W workers use W cores.
    """

    def __init__(
        self,
        workers: int | None = None,
        start_method: str = "forkserver",
        batches_per_worker: int = 8,
        max_batch: int = 4,
    ) -> None:
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self.start_method = start_method
        self.batches_per_worker = max(1, int(batches_per_worker))
        self.max_batch = max(1, int(max_batch))
        self._pool: ProcessPoolExecutor | None = None
        self._blob = b""

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, tasks: Sequence[Any]
    ) -> Iterator[Any]:
        tasks = list(tasks)
        if not tasks:
            return
        blob = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
        if self._pool is None or blob != self._blob:  # new shared object: fresh workers
            self.close()
            # worker threads: one per process unless the caller set it explicitly
            env = {"NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1")}
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=mp.get_context(self.start_method),
                initializer=_init_worker,
                initargs=(blob, env),
            )
            self._blob = blob
        size = max(1, min(self.max_batch,
                          math.ceil(len(tasks) / (self.workers * self.batches_per_worker))))
        pending: set[Future] = set()
        try:
            # submitting starts the workers: a stop signal waits until each has its pickle (one
            # cut short by a stop made the fork server's child print a traceback, EOFError or
            # "pickle data was truncated", after the command's last line)
            with stopping.held():
                pending = {self._pool.submit(_run_batch, fn, tasks[i : i + size])
                           for i in range(0, len(tasks), size)}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                stopping.check()  # (a stop a finalizer swallowed ends the workers, as a stop does)
                for fut in done:
                    yield from fut.result()
        except BrokenProcessPool:
            self.close(at_once=True)
            raise WorkerLost("a worker process ended in the middle of a run (killed, or out of "
                             "memory?); nothing was written") from None
        except BaseException:
            self.close(at_once=True)
            raise

    def __exit__(self, *exc: object) -> None:
        self.close(at_once=exc[0] is not None)

    def close(self, at_once: bool = False) -> None:
        """Release workers; safe to call twice. `at_once` (an error, a stop signal: the results
        are not wanted) ends the workers still in a task instead of waiting for them: a stop of
        `compare` waited 13 s for two workers compiling numba, and would wait for whole runs."""
        if self._pool is not None:
            if at_once:  # (`_processes`: the pool's own; it has no public terminate before 3.14)
                for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
                    proc.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._blob = b""


# ---- Dask ------------------------------------------------------------------------------------


def code_version() -> tuple[str, str | None]:
    """The corredor code this process runs: (digest of its source files, git commit or None)."""
    from ..provenance import source_commit, source_digest

    return source_digest(), source_commit()


def _version_text(version: tuple[str, str | None]) -> str:
    source, commit = version
    return f"source {source}" + (f", commit {commit[:12]}" if commit else "")


@dataclass(frozen=True)
class _Stamped:
    """A Dask task's result with the corredor code of the worker that computed it."""

    version: tuple[str, str | None]
    worker: str
    value: Any


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # (not in a worker: a test's direct call)
        return "?"


def _dask_call(fn: Callable[[Any, Any], Any], task: Any, shared: Any) -> _Stamped:
    # (runs on the worker: `code_version` is the worker's own corredor, which the parent checks)
    return _Stamped(code_version(), _worker_address(), fn(shared, task))


def unstamp(result: Any, mine: tuple[str, str | None]) -> Any:
    """A Dask task's value, once its worker is known to run the parent's corredor code (`mine`,
    from `code_version`); VersionMismatch naming both otherwise. Why: docs/ensembles.md asks for
    the same corredor on every worker, and a stale install on one node mixed its replicas into the
    bands without a word. Only the source digest is compared (the code that ran); a commit that
    differs with the same sources (a docs-only commit, a wheel) gives the same numbers."""
    if not isinstance(result, _Stamped):  # (a worker whose _dask_call stamps nothing: older)
        theirs = "an older corredor that does not say its version"
        where = "a Dask worker"
    elif result.version[0] == mine[0]:
        return result.value
    else:
        theirs = f"corredor {_version_text(result.version)}"
        where = f"the Dask worker {result.worker}" if result.worker != "?" else "a Dask worker"
    raise VersionMismatch(
        f"{where} runs {theirs}, this command corredor {_version_text(mine)}: install the same "
        "corredor on every worker (and restart them) so that no result mixes code versions; "
        "nothing was written")


class DaskExecutor(_Base):
    """Tasks on a Dask cluster: an existing scheduler (`address`) or a new LocalCluster.

    The shared object is scattered once with `broadcast=True`; each task is one Dask task.
    `processes=False` keeps a LocalCluster in this process (threads), which is light for tests.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        processes: bool = True,
        threads_per_worker: int = 1,
        connect_timeout: str = "10s",
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # optional extra
            raise RuntimeError(
                "the Dask executor needs dask[distributed]: pip install 'corredor[dask]'"
            ) from exc
        self._cluster = None
        self._client: Client | None  # None once closed
        if address:
            try:
                self._client = Client(address, timeout=connect_timeout)
            except OSError as exc:
                raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        else:
            n = max(1, int(workers or os.cpu_count() or 1))
            self._cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=threads_per_worker,
                processes=processes,
                dashboard_address=None,
                silence_logs=40,
            )
            self._client = Client(self._cluster)
        info = self._client.scheduler_info()
        self.workers = max(1, len(info.get("workers", {})))

    @property
    def client(self) -> Any:
        return self._client

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, tasks: Sequence[Any]
    ) -> Iterator[Any]:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker, as_completed

        tasks = list(tasks)
        if not tasks:
            return
        client = self._client
        if client is None:
            raise RuntimeError("this Dask executor is closed")
        mine = code_version()
        shared_future = client.scatter(shared, broadcast=True)
        futures = client.map(
            _dask_call, [fn] * len(tasks), tasks, shared=shared_future, pure=False
        )
        try:
            for fut in as_completed(futures):
                stopping.check()  # (a stop a finalizer swallowed: as a stop)
                yield unstamp(fut.result(), mine)
        except (KilledWorker, CancelledError) as exc:  # (a worker died: its tasks, or the
            # shared data it held, are lost; this was a traceback from distributed). A worker
            # that misses heartbeats for the scheduler's worker-ttl is restarted the same way
            raise WorkerLost("a Dask worker ended in the middle of a run (killed, out of memory, "
                             "or restarted by the scheduler after missed heartbeats: see "
                             "distributed.scheduler.worker-ttl in docs/ensembles.md; "
                             f"{type(exc).__name__}); nothing was written") from None
        finally:
            for fut in futures:
                fut.release()

    def close(self) -> None:
        client = getattr(self, "_client", None)  # (absent when the connection failed)
        if client is not None:
            client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(
    kind: str = "local",
    workers: int | None = None,
    address: str | None = None,
    processes: bool = True,
) -> Executor:
    """An executor by name: 'local' (processes; serial when workers == 1), 'dask', 'serial'."""
    if kind not in EXECUTOR_KINDS:
        raise ValueError(f"unknown executor '{kind}'; choose one of {', '.join(EXECUTOR_KINDS)}")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be at least 1, found {workers}")
    if kind == "serial" or (kind == "local" and workers == 1):
        return SerialExecutor()
    if kind == "local":
        return LocalProcessExecutor(workers)
    return DaskExecutor(address=address, workers=workers, processes=processes)
