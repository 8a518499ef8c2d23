"""One parallel kernel at a time where numba's threading layer is not thread-safe.

The kernels release the GIL (`nogil=True`) so that other threads run while one does: a Dask
worker's event loop keeps sending heartbeats (a replica that held the GIL longer than the
scheduler's worker-ttl got its worker restarted), and a worker with several threads runs several
replicas at once. numba's `workqueue` threading layer (the one left where neither TBB nor OpenMP
can be loaded) aborts the whole process ("Concurrent access has been detected") when two threads
launch parallel regions at once, which the GIL used to rule out. Under it, a `parallel=True`
kernel's caller takes this lock (`parallel_section`); under `omp` and `tbb`, thread-safe, it
does not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numba as nb

_LOCK = threading.Lock()
#: numba's threading layers that may be entered by several threads at once
_SAFE_LAYERS = frozenset({"omp", "tbb"})


def layer() -> str | None:
    """The threading layer numba loaded, None before its first parallel region in this process."""
    try:
        return str(nb.threading_layer())
    except ValueError:  # ("Threading layer is not initialized.")
        return None


@contextmanager
def parallel_section() -> Iterator[None]:
    """Around the calls of `parallel=True` kernels: holds a process-wide lock unless the layer is
    known to be thread-safe (before the first parallel region it is not known: the first
    launches one at a time). Waiting for the lock releases the GIL."""
    if layer() in _SAFE_LAYERS:
        yield
        return
    with _LOCK:
        yield
