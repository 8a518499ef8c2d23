"""Input problems collected while loading, reported together as `path:line:col: message`.

Loading never stops at the first problem: every reader appends to a `Problems` collector and the
loader raises one `ScenarioError` at the end, so a user fixes all mistakes in one pass.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path


def one_line(text: str) -> str:
    """`text` with line breaks and other control characters shown escaped (a place name holding
    a newline must not break the one-problem-per-line output)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


#: The most characters a message shows of one value found in an input (a longer one is cut).
SHOWN_CHARS = 60


def shown(value: object, table: str = "table") -> str:
    """A value found in an input, as a problem message names it on its one line: a short scalar as
    written (strings quoted, dates in ISO form), a long string cut with its length, a table by its
    keys and a long list by its length — never a whole table's repr. `table`: the input's word for
    a mapping ("mapping" in YAML).

    >>> shown({"a": 1, "b": [1, 2]}), shown(list(range(40))), shown(3), shown("x" * 100)[-22:]
    ('a table with keys a, b', 'a list of 40 items', '3', "xxx…' (100 characters)")
    """
    if isinstance(value, dict):
        if not value:
            return f"an empty {table}"
        # (a plain key as written; one that is empty, spaced, holds ", " or is no text quoted, so
        # that "keys a, b" is never the one key "a, b")
        names = [k if isinstance(k, str) and k and k.strip() == k and ", " not in k and k.isprintable()
                 else shown(k) for k in value]
        listed: list[str] = []
        size = 0
        for name in names:
            if listed and size + len(name) > SHOWN_CHARS:
                break
            listed.append(name if len(name) <= SHOWN_CHARS else name[:SHOWN_CHARS] + "…")
            size += len(name) + 2
        rest = len(names) - len(listed)
        keys = ", ".join(listed) + (f" and {rest} more" if rest else "")
        return f"a {table} with key{'s' if len(names) > 1 else ''} {keys}"
    if isinstance(value, list | tuple):
        # (a short list as written, with nulls, dates and short lists inside: "[1, None]", "[[1, 2]]")
        if len(value) <= SHOWN_CHARS // 3 and not any(isinstance(v, dict) for v in value):
            text = "[" + ", ".join(shown(v) for v in value) + "]"
            if len(text) <= SHOWN_CHARS and "a list of" not in text:
                return text
        return f"a list of {len(value):,} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** SHOWN_CHARS:
        # (cut, its digits would read as a smaller number)
        try:
            return f"a whole number of {len(str(abs(value))):,} digits"
        except ValueError:  # (more than 4300 digits: Python will not write it)
            return "a whole number of more than 4,300 digits"
    if isinstance(value, str):
        if len(value) <= SHOWN_CHARS:
            return repr(value)
        cut = repr(value[:SHOWN_CHARS])
        return f"{cut[:-1]}…{cut[-1]} ({len(value):,} characters)"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    try:
        text = repr(value)
    except ValueError:  # (an int of more than 4300 digits)
        return "a value too long to show"
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


@dataclass(frozen=True)
class Problem:
    """One problem in one input file; line and column are 1-based, 0 means 'whole file/line'."""

    path: str
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
            else:
                where += ":"
        tag = "" if self.severity == "error" else "warning: "
        sep = " " if where.endswith(":") else ": "
        return one_line(f"{where}{sep}{tag}{self.message}")


@dataclass
class Problems:
    """Collector of problems; `root` makes reported paths relative to the scenario folder.
    `outside`: a file outside `root` is named relative to it too (../x.csv), not as given (a
    variant's problems are named from the current folder, where its own path may start with ..)."""

    root: Path | None = None
    items: list[Problem] = field(default_factory=list)
    outside: bool = False

    def _rel(self, path: str | Path) -> str:
        p = Path(path)
        if self.root is not None:
            try:
                return _resolve(p).relative_to(_resolve(self.root)).as_posix()
            except ValueError:
                if self.outside:
                    return Path(os.path.relpath(_resolve(p), _resolve(self.root))).as_posix()
        return p.as_posix()

    def problem(self, path: str | Path, line: int, column: int, message: str,
                severity: str = "error") -> Problem:
        """A problem named as this collector names them, not collected (for a caller that
        gathers its own list)."""
        return Problem(self._rel(path), line, column, message, severity)

    def error(self, path: str | Path, line: int, column: int, message: str) -> None:
        self.items.append(self.problem(path, line, column, message))

    def warn(self, path: str | Path, line: int, column: int, message: str) -> None:
        self.items.append(self.problem(path, line, column, message, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ScenarioError(self.errors, self.warnings)


def _resolve(path: Path) -> Path:
    """`path` made absolute with the links of its folders followed, but not a link at its end: a
    problem is reported at the name the scenario uses (a link to nowhere, or to itself, is named
    as it is, not as its target). Never raises."""
    try:
        if path.name in ("", ".", ".."):
            return path.resolve()
        return path.parent.resolve() / path.name
    except (OSError, RuntimeError, ValueError):  # (Python < 3.13: RuntimeError on a loop of links)
        return Path(os.path.abspath(path))


class ScenarioError(Exception):
    """Raised once per load with every error found; the CLI prints them and exits 2.

    `folder` is the scenario folder the problems' relative paths are in (set by `load_scenario`;
    "" when not known): str(e) then begins with a line naming it, so that a loop over cases says
    which one failed; each problem's line stays `path:line:col: message`, as the CLI prints it.
    """

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None, folder: str = ""):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        self.folder = folder
        super().__init__(self._text())

    def _text(self) -> str:
        lines = "\n".join(str(p) for p in self.problems)
        if not self.folder:
            return lines
        n = len(self.problems)
        return f"{self.folder}: {n} problem{'s' if n != 1 else ''}:\n{lines}"

    def in_folder(self, folder: str) -> ScenarioError:
        """This error, said to be about the scenario in `folder` (see the class)."""
        self.folder = folder
        self.args = (self._text(),)
        return self
