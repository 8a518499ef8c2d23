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

A stop is never lost. Python drops an exception raised in a finalizer, a weakref callback or a
`__del__` ("Exception ignored in ..."), so a signal that arrives there has its KeyboardInterrupt
swallowed: `_unraisable` notices and sends the signal again, the next signal is not ignored, and
`check` (the engines' day loops, the executors' loops, each writer before it puts its output in
place) raises for a stop already seen. `cli.main` exits 128 + the signal whenever one was seen,
whatever the command returned.

Once the command's output is in place (`committed`, called by the writers for an outermost output:
not for the run folders the main job writes into its temporary), the output is complete: a stop
signal then no longer interrupts the command, which finishes (printing what it wrote) and exits
as it would have; `late` tells of such a signal.

All of this is one command's state: `install` starts it afresh and `uninstall` (`cli.main`, when
it installed the handler itself) clears it and puts the previous handlers back, so that a command
stopped in a process that goes on (a notebook, a script, the tests) does not stop the next
command, and `check` raises only while the handler that saw the stop is still installed: a
library `simulate()` outside a command is never stopped by an earlier command's signal.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing: the command imports this
if TYPE_CHECKING:      # module first, before it handles Ctrl-C, so it stays quick to import)
    from collections.abc import Callable, Iterator
    from typing import Any, NoReturn

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The stop signal that interrupted this process, once one has.
_stopped_by: list[int] = []
#: One entry per `held` section the main thread is in; a stop signal then only sets `_deferred`.
_holding: list[None] = []
_deferred: list[int] = []
#: The signal whose KeyboardInterrupt Python swallowed (raised in a finalizer), not yet raised again.
_swallowed: list[int] = []
#: The outputs this command put in place (`committed`); once there, a stop no longer interrupts.
_committed: list[str] = []
#: Stop signals that came once the output was in place (`late`).
_late: list[int] = []
#: One entry per writer filling a temporary (`filling`): what is committed inside it is not the
#: command's output yet.
_filling: list[None] = []
#: Whether `install` put the handler in place (and `uninstall` has not taken it away).
_installed: list[None] = []
#: The handlers `install` replaced, put back by `uninstall`.
_previous_handlers: dict[int, Any] = {}
#: What the stop's line adds (`add_detail`): how to go on from what the command kept.
_details: list[str] = []


def _stop(signum: int, frame: object) -> None:
    """Raise KeyboardInterrupt for the first stop signal; ignore the ones that follow while the
    cleanup runs (a cleanup interrupted is what leaves files half-written), unless the first one's
    KeyboardInterrupt was swallowed (`_unraisable`): then raise again. Once the output is in
    place (`committed`), only record the signal (`late`)."""
    if _committed:
        _late.append(signum)
        return
    if not _stopped_by:
        _stopped_by.append(signum)
    elif not _swallowed:
        return
    _swallowed.clear()
    if _holding:
        if not _deferred:
            _deferred.append(signum)  # (raised when the held section ends)
        return
    raise KeyboardInterrupt


def _unraisable(unraisable: object) -> None:
    """`sys.unraisablehook` while the handler is installed: a KeyboardInterrupt of ours that Python
    swallowed (raised inside a finalizer, a weakref callback, a `__del__`: "Exception ignored in
    ...", and the command went on) is sent again, from a short-lived thread, so that it is raised
    where it can end the command; anything else goes to the previous hook."""
    exc_type = getattr(unraisable, "exc_type", None)
    if (exc_type is not None and issubclass(exc_type, KeyboardInterrupt) and _stopped_by
            and not _committed):
        signum = _stopped_by[0]
        if not _swallowed:
            _swallowed.append(signum)
        try:  # (not threading.Thread: its start waits, and the signal came back inside this hook)
            _thread.start_new_thread(_send_again, (signum,))
        except RuntimeError:  # (no new threads at interpreter shutdown: `check` and the next signal)
            pass
        return
    _previous_hook[0](unraisable)


def _send_again(signum: int) -> None:
    """Send `signum` to this process once the hook that noticed it swallowed has returned."""
    time.sleep(0.05)
    os.kill(os.getpid(), signum)


_previous_hook: list[Callable[[Any], object]] = [sys.unraisablehook]


def install() -> None:
    """Handle SIGINT and SIGTERM with `_stop` (where they are not ignored, as under `nohup`), and
    notice a stop Python swallowed (`_unraisable`). It starts a command: what an earlier one in
    this process saw (a stop, its output, a late signal) is forgotten. Calling it again sets the
    same handler, and keeps the handlers to put back (`uninstall`) from before the first call."""
    _clear()
    for sig in _SIGNALS:
        current = signal.getsignal(sig)
        if current is not signal.SIG_IGN:
            if current is not _stop and current is not None:  # (None: set outside Python)
                _previous_handlers[sig] = current
            signal.signal(sig, _stop)
    if sys.unraisablehook is not _unraisable:
        _previous_hook[0] = sys.unraisablehook
        sys.unraisablehook = _unraisable
    if not _installed:
        _installed.append(None)


def installed() -> bool:
    """Whether the handler is installed (`install`, and no `uninstall` since)."""
    return bool(_installed)


def uninstall() -> None:
    """End the command's handling: put back the handlers `install` replaced (where ours is still
    set) and the previous `sys.unraisablehook`, and forget the command's stop and output, so that
    neither the next command nor the library in this process sees them."""
    for sig, handler in _previous_handlers.items():
        if signal.getsignal(sig) is _stop:
            signal.signal(sig, handler)
    _previous_handlers.clear()
    if sys.unraisablehook is _unraisable:
        sys.unraisablehook = _previous_hook[0]
    _installed.clear()
    _clear()


def _clear() -> None:
    """Forget one command's stop state (`_holding` and `_filling` are sections still open:
    their own `finally` empties them)."""
    for state in (_stopped_by, _deferred, _swallowed, _committed, _late, _details):
        state.clear()


def check() -> None:
    """Raise KeyboardInterrupt if a stop signal was seen and the work goes on all the same (its
    KeyboardInterrupt swallowed somewhere): called between days and runs and before a writer
    puts its output in place, so that a lost stop still ends the command before it commits."""
    if (_stopped_by and not _holding and not _committed and _installed
            and signal.getsignal(_stopped_by[0]) is _stop):  # (a handler put back: not ours)
        _swallowed.clear()  # (raised now: a signal sent again meanwhile waits for the cleanup)
        raise KeyboardInterrupt


def committed(path: str | os.PathLike[str]) -> None:
    """Record that an output is in place at `path` (the writers call it as they rename it in):
    the outermost one is the command's, complete; a stop then lets the command finish."""
    if not _filling:
        _committed.append(os.fspath(path))


@contextmanager
def filling() -> Iterator[None]:
    """While the body fills a writer's temporary, what is committed inside it is not yet the
    command's output (the main job's run folders, written into its temporary folder)."""
    _filling.append(None)
    try:
        yield
    finally:
        _filling.pop()


def output() -> str | None:
    """The command's output once it is in place (`committed`), else None."""
    return _committed[0] if _committed else None


def late() -> int | None:
    """A stop signal that came once the command's output was in place (it did not stop it)."""
    return _late[0] if _late else None


def stopped_by() -> int | None:
    """The signal that stopped this process, or None."""
    return _stopped_by[0] if _stopped_by else None


def exit_stopped(signum: int | None = None, details: list[str] | None = None) -> NoReturn:
    """End the command after a stop (`signum`, else the one seen): one line, and the shell's exit
    status for the signal (130 for SIGINT, 143 for SIGTERM). A KeyboardInterrupt that no signal
    of ours raised is Ctrl-C. `details` (else those given to `add_detail`) end the line."""
    signum = signum or stopped_by() or signal.SIGINT
    print(f"error: interrupted ({signal.Signals(signum).name}); no output was left half-written"
          + "".join(f"; {d}" for d in (_details if details is None else details)), file=sys.stderr)
    sys.exit(128 + signum)


def add_detail(text: str) -> None:
    """Add `text` to the line a stop ends the command with (`exit_stopped`): what the command
    kept and how to go on from it (an ensemble's finished replicas and `--resume`)."""
    _details.append(text)


def details() -> list[str]:
    """What `add_detail` gave for this command (a copy: `uninstall` forgets them)."""
    return list(_details)


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
            signum = _deferred.pop()
            if _committed:  # (the output landed in the section: it is complete, the stop late)
                _stopped_by.clear()
                _late.append(signum)
            else:
                # (also when the body failed: the stop is still due, the failure its context;
                # left pending, it was lost, and the next held section raised it for nothing)
                raise KeyboardInterrupt
