"""The `corredor` command: its console script's entry point, and `python -m corredor …` for an
environment whose scripts folder is not on PATH (the guard keeps worker processes, which
re-import this module, from running it again).

Why here and not in cli.py: importing cli (typer, rich, numpy, the scenario readers) takes most of
a second, and Ctrl-C during it printed a KeyboardInterrupt traceback. This module and `corredor`
itself import nothing heavy, so the stop signals are handled from the command's first moment.
"""

from __future__ import annotations


def main() -> None:
    """Handle SIGINT and SIGTERM (`stopping.install`), then import the command line and run it; a
    stop signal during those imports ends the command with one line and the shell's status (130
    for Ctrl-C), as one during the command does. Nothing is written before the command runs."""
    from . import stopping

    stopping.install()
    try:
        from .cli import main as command
    except KeyboardInterrupt:
        stopping.exit_stopped()
    if stopping.stopped_by() is not None:  # (a stop an import swallowed: end before any work)
        stopping.exit_stopped()
    try:
        command()
    finally:
        _ignore_stops_while_exiting()


def _ignore_stops_while_exiting() -> None:
    """The command is done (its output and its lines written, its status decided): ignore SIGINT
    and SIGTERM while the interpreter tears down. Python puts their default action back for that
    (half a second: atexit handlers, modules freed), and a SIGTERM then ended a finished command
    with 143 and nothing on stderr, its output complete."""
    import signal
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # (closed, full: the command has reported)
            pass
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


if __name__ == "__main__":
    main()
