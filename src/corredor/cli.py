"""Command line: thin wrappers that parse arguments, call the API and print with rich.

Every command exits 2 with `path:line:col: message` lines (no traceback) on bad input.
Each command's body lives in a small function here; heavy work happens in the library.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .scenario import ScenarioError

app = typer.Typer(
    help="corredor: simulate people moving along migration corridors while borders close.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def fail_with_problems(exc: ScenarioError) -> None:
    """Print every problem of a ScenarioError as `path:line:col: message` and exit 2."""
    for w in exc.warnings:
        err_console.print(str(w), markup=False, highlight=False)
    for p in exc.problems:
        err_console.print(str(p), markup=False, highlight=False)
    n = len(exc.problems)
    err_console.print(f"{n} problem{'s' if n != 1 else ''} found; nothing was run or written.", markup=False)
    raise typer.Exit(2)


def usage_error(message: str) -> None:
    """A wrong command-line value: print it and exit 2."""
    err_console.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(2)


@app.command()
def validate(path: Path = typer.Argument(..., help="Flee case folder or native scenario folder")) -> None:
    """Check a scenario: print every problem and warning; exit 2 if any problem is an error."""
    from .scenario.validate import validate_path

    try:
        warnings = validate_path(path)
    except ScenarioError as exc:
        fail_with_problems(exc)
        return
    for w in warnings:
        console.print(str(w), markup=False, highlight=False)
    console.print(f"{path}: ok ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})", markup=False)


def main() -> None:
    """Entry point of the `corredor` command."""
    try:
        app()
    except ScenarioError as exc:  # last line of defence: never a traceback for bad input
        for p in exc.problems:
            print(str(p), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
