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
    command()


if __name__ == "__main__":
    main()
