"""How the `corredor` command stops on SIGINT and SIGTERM: whole outputs or none, one line.

`install` (called by the command's entry points, `__main__.main` before its slow imports and
`cli.main`, never by the library) makes both signals raise KeyboardInterrupt in the main thread,
so that every writer's cleanup runs: `targets.swap_in` removes its temporary folder and keeps
the old output, the checkpoint and report writers remove their temporary files, executors close
their workers. SIGTERM's default action would end the
process at once and leave those temporaries behind. `exit_stopped` then prints one line and
exits with the shell's status for the signal (130, 143).

Python runs a signal's handler only between bytecodes, so while a compiled kernel holds the main
thread (the agent engine's day loop: hours on a large run) it would wait for the kernel to end.
`at_once` restores the signals' default action around such a kernel: nothing is being written
then, so ending at once leaves nothing half-written. `held` does the opposite around a few renames
that must land together (comparison.csv and comparison.json, a folder and the one it replaces):
a stop signal waits until they are done.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing: the command imports this
if TYPE_CHECKING:      # module first, before it handles Ctrl-C, so it stays quick to import)
    from collections.abc import Iterator
    from typing import NoReturn

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The stop signal that interrupted this process, once one has.
_stopped_by: list[int] = []
#: One entry per `held` section the main thread is in; a stop signal then only sets `_deferred`.
_holding: list[None] = []
_deferred: list[int] = []


def _stop(signum: int, frame: object) -> None:
    """Raise KeyboardInterrupt for the first stop signal; ignore the ones that follow while the
    cleanup runs (a cleanup interrupted is what leaves files half-written)."""
    if not _stopped_by:
        _stopped_by.append(signum)
        if _holding:
            _deferred.append(signum)  # (raised when the held section ends)
            return
        raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT and SIGTERM with `_stop` (where they are not ignored, as under `nohup`).
    Calling it again is harmless: it sets the same handler, and keeps a stop already seen."""
    for sig in _SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _stop)


def stopped_by() -> int | None:
    """The signal that stopped this process, or None."""
    return _stopped_by[0] if _stopped_by else None


def exit_stopped() -> NoReturn:
    """End the command after a stop: one line, and the shell's exit status for the signal (130
    for SIGINT, 143 for SIGTERM). A KeyboardInterrupt that no signal of ours raised is Ctrl-C."""
    signum = stopped_by() or signal.SIGINT
    print(f"error: interrupted ({signal.Signals(signum).name}); no output was left half-written",
          file=sys.stderr)
    sys.exit(128 + signum)


@contextmanager
def at_once() -> Iterator[None]:
    """While the body runs, stop signals that `install` handles take their default action (the
    process ends at once). Elsewhere (the library, another thread) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ours = [sig for sig in _SIGNALS if signal.getsignal(sig) is _stop]
    for sig in ours:
        signal.signal(sig, signal.SIG_DFL)
    try:
        yield
    finally:
        for sig in ours:
            signal.signal(sig, _stop)


@contextmanager
def held() -> Iterator[None]:
    """While the body runs (a few renames), a stop signal that `install` handles waits: its
    KeyboardInterrupt is raised when the body is done, so the renames land together or not at
    all. Outside the main thread, or in the library (no handler installed), this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _holding.append(None)
    try:
        yield
    finally:
        _holding.pop()
        if not _holding and _deferred:
            _deferred.clear()
            # (also when the body failed: the stop is still due, the failure its context; left
            # pending, it was lost, and the next held section raised it for nothing)
            raise KeyboardInterrupt
