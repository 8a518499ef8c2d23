"""A barrier for numba's CUDA simulator that waits instead of polling, for the GPU tests' speed.

numba's simulator (numba.cuda.simulator.kernel, as in numba 0.68) runs a block's threads as Python
threads, and its BlockManager finds out that they have all reached `syncthreads()` by polling
every thread in a loop. That loop takes the GIL from the threads doing the kernel's work: in
tests/test_gpu.py most of the simulator's time went to it (65 M `Thread.is_alive` calls for one
10-day run of the mini case). `install()` swaps in a condition variable with the same rules: a
barrier opens when every thread of the block that is still running has reached it (a thread that
has returned no longer counts), and an exception in one thread aborts the others' barriers and
is raised by the launch. What the kernels compute is unchanged; only how the simulator waits.

If the simulator's classes are not the ones this was written against, nothing is swapped and the
simulator polls as before (slower, same results).
"""

from __future__ import annotations

import threading

import numpy as np

_NAMES = ("BlockThread", "BlockManager")


class _Barrier:
    """One block's barrier: `live` threads still running, `waiting` of them at the barrier."""

    def __init__(self, live: int) -> None:
        self.cv = threading.Condition()
        self.live = live
        self.waiting = 0
        self.generation = 0
        self.abort = False
        self.error: tuple | None = None

    def _open(self) -> None:
        self.waiting = 0
        self.generation += 1
        self.cv.notify_all()

    def arrive(self) -> None:
        """Wait until every running thread of the block has arrived (or the block aborts)."""
        with self.cv:
            if self.abort:
                raise RuntimeError("abort flag set on syncthreads call")
            generation = self.generation
            self.waiting += 1
            if self.waiting == self.live:
                self._open()
            else:
                while self.generation == generation and not self.abort:
                    self.cv.wait()
            if self.abort:
                raise RuntimeError("abort flag set on syncthreads clear")

    def leave(self, exception: tuple | None) -> None:
        """A thread has returned (or raised): it no longer holds the others at the barrier."""
        with self.cv:
            self.live -= 1
            if exception is not None and not self.abort:
                self.abort, self.error = True, exception
                self.cv.notify_all()
            elif self.live and self.waiting == self.live:
                self._open()
            elif not self.live:
                self.cv.notify_all()


def install() -> bool:
    """Swap the simulator's polling barrier for `_Barrier`; True if swapped (or already)."""
    from numba.cuda.simulator import kernel as sim

    thread_cls, manager_cls = (getattr(sim, n, None) for n in _NAMES)
    if thread_cls is None or manager_cls is None:
        return False
    if getattr(manager_cls, "_waits_on_condition", False):
        return True
    needed = ("_f", "_block_dim", "_debug", "block_state")
    probe = manager_cls.__init__.__code__.co_names + manager_cls.run.__code__.co_names
    if not all(n in probe for n in needed) or not hasattr(thread_cls, "syncthreads"):
        return False
    thread_run = thread_cls.run

    def run_thread(self) -> None:
        try:
            thread_run(self)  # records an exception in self.exception, as the simulator does
        finally:
            self._manager._barrier.leave(self.exception)

    def syncthreads(self) -> None:
        self._manager._barrier.arrive()

    def run_block(self, grid_point, *args) -> None:
        barrier = self._barrier = _Barrier(int(np.prod(self._block_dim)))

        def target():
            self._f(*args)

        threads = [thread_cls(target, self, grid_point, point, self._debug)
                   for point in np.ndindex(*self._block_dim)]
        for t in threads:
            t.start()
        with barrier.cv:
            while barrier.live and not barrier.abort:
                barrier.cv.wait()
        if barrier.error is not None:
            raise barrier.error[0].with_traceback(barrier.error[1])

    thread_cls.run = run_thread
    thread_cls.syncthreads = syncthreads
    manager_cls.run = run_block
    manager_cls._waits_on_condition = True
    return True
