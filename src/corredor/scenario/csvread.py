"""Reading CSV input files tolerantly and reporting their faults as problems with a line.

Why a module of its own: every input table (Flee's and the native format's) must accept a BOM,
CRLF line ends and spaces around cells, and must refuse the same faults (missing or empty file,
bytes that are not UTF-8, ';' or tab as the delimiter) with the same wording.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import functools
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .problems import Problems, shown


@dataclass(frozen=True)
class Row:
    """One CSV record: its 1-based line in the file and its cells, each stripped of spaces."""

    line: int
    cells: tuple[str, ...]

    def get(self, index: int) -> str:
        """Cell `index` (0-based), or '' when the row is shorter."""
        return self.cells[index] if index < len(self.cells) else ""

    @property
    def is_comment(self) -> bool:
        """Flee's rule: a row is skipped when it is empty or its first cell starts with '#'."""
        return not self.cells or self.cells[0].startswith("#")

    @property
    def is_blank(self) -> bool:
        return all(c == "" for c in self.cells)


@dataclass(frozen=True)
class Table:
    """The rows of one CSV file; `path` is where it was read from, `rel` how problems name it.

    `after_last`: the line after the last row that holds anything (1 when none does), where a
    problem about a row that is missing is reported: that is where the row would go."""

    path: Path
    rows: tuple[Row, ...]
    after_last: int = 1

    def data_rows(self) -> list[Row]:
        """Rows that are neither blank nor comments."""
        return [r for r in self.rows if not r.is_comment and not r.is_blank]


def _bad_utf8_position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of byte `offset`."""
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def is_absent(path: Path) -> bool:
    """True when nothing is at `path`, not even a broken link (an optional file left out).

    Something there that cannot be read (a link to nowhere or to itself, a folder that cannot
    be searched) is not absent: reading it reports why.
    """
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError, ValueError):  # (ValueError: a NUL in the name)
        return True
    except OSError:
        return False
    return False


def file_problem(path: Path, name: str | None = None) -> str | None:
    """Why `path` cannot be read as a file, or None for a regular file or a link to one.

    The reason names the file as `name` when given ('missing file x.csv', 'x.csv is a folder, not
    a file', 'cannot read x.csv (symlink loop)'), else not ('missing file', 'is a folder, not a
    file', 'cannot read the file (symlink loop)'), for a message at the file itself. Never raises.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError, ValueError):  # (ValueError: a NUL in the name)
        try:
            target = os.readlink(path) if not is_absent(path) else None
        except (OSError, ValueError):
            target = None
        if target is None:
            return f"missing file {name}" if name else "missing file"
        reason = f"a link to {target!r}, which does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            reason = "symlink loop"
        elif exc.errno == errno.EACCES:
            reason = "Permission denied: its folder cannot be searched"
        else:
            reason = exc.strerror or str(exc)
    else:
        if stat.S_ISREG(mode):
            return None
        kind = (
            "a folder" if stat.S_ISDIR(mode)
            else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "something other than a file"
        )
        return f"{name + ' ' if name else ''}is {kind}" + (", not a file" if "other" not in kind else "")
    return f"cannot read {name or 'the file'} ({reason})"


def decode_text(raw: bytes, path: Path, problems: Problems, what: str) -> str | None:
    """`raw` as UTF-8 text (BOM removed), or None after reporting the first bad byte's place."""
    if b"\x00" in raw:  # binary, or UTF-16: say so at the first NUL rather than later
        line, col = _bad_utf8_position(raw, raw.index(b"\x00"))
        problems.error(
            path,
            line,
            col,
            f"NUL byte (expected {what} as UTF-8 text; is this a binary or UTF-16 file?)",
        )
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _bad_utf8_position(raw, exc.start)
        bad = raw[exc.start : exc.start + 1].hex()
        problems.error(
            path,
            line,
            col,
            f"bytes that are not UTF-8 (expected UTF-8 text, found byte 0x{bad}); save the file as UTF-8",
        )
        return None


def read_text(path: Path, problems: Problems, what: str) -> str | None:
    """The file's text (BOM removed), or None after reporting why it cannot be read."""
    why = file_problem(path)
    if why is not None:
        problems.error(path, 0, 0, why if why.startswith("cannot") else f"{why} (expected {what})")
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.error(path, 0, 0, f"cannot read the file ({exc.strerror or exc})")
        return None
    text = decode_text(raw, path, problems, what)
    if text is None:
        return None
    if not text.strip():
        problems.error(path, 1, 1, f"empty file (expected {what})")
        return None
    return text


def read_table(path: Path, problems: Problems, what: str, min_cells: int = 2) -> Table | None:
    """Read a comma-separated file; None (with problems reported) when it cannot be used.

    `min_cells` is the fewest cells a real row has: a row with one cell that contains ';' or a tab
    is taken as a file written with the wrong delimiter.
    """
    text = read_text(path, problems, what)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    rows: list[Row] = []
    start = after_last = 1
    try:
        for cells in reader:
            rows.append(Row(start, tuple(c.strip() for c in cells)))
            start = reader.line_num + 1
            if not rows[-1].is_blank:
                after_last = start
    except csv.Error as exc:
        problems.error(path, reader.line_num, 1, f"unreadable CSV ({exc})")
        return None
    for r in rows:
        if r.is_blank or r.is_comment:
            continue
        if min_cells > 1 and len(r.cells) == 1:
            for delim, name in ((";", "';'"), ("\t", "tabs")):
                if delim in r.cells[0]:
                    problems.error(
                        path,
                        r.line,
                        1,
                        f"wrong delimiter (expected cells separated by ',', found {name})",
                    )
                    return None
        break
    if all(r.is_blank for r in rows):
        problems.error(path, 1, 1, f"empty file (expected {what})")
        return None
    return Table(path, tuple(rows), after_last)


def header_column(path: str | Path, name: str, default: int = 1) -> int:
    """1-based position of column `name` in the header (first non-blank row) of the CSV file at
    `path`, or `default` where the file cannot be read or has no such column. For a problem
    found after loading (the model keeps a row's line, not its cells' places). Never raises.
    The header is read once per file (and version of it), not once per problem: a scenario
    changed in code can have a problem on every one of thousands of rows."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return default
    cells = _header_cells(str(path), st.st_mtime_ns, st.st_size)
    return cells.index(name) + 1 if name in cells else default


@functools.lru_cache(maxsize=32)
def _header_cells(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """The header cells, lowercased, of the CSV file at `path` as it is at (`mtime_ns`, `size`)."""
    table = read_table(Path(path), Problems(), "a table", min_cells=1)
    header = next((r for r in table.rows if not r.is_blank), None) if table is not None else None
    return tuple(c.strip().lower() for c in header.cells) if header else ()


# ---- cells -> values, reporting what is wrong ----------------------------------------------------

#: Largest whole number a cell may hold (fits int64 and float64 exactly).
MAX_WHOLE = 10**15


def parse_int(
    problems: Problems, table: Table, row: Row, index: int, what: str, *, empty: int | None = None
) -> int | None:
    """Cell `index` as a whole number; `empty` is the value of an empty cell (None: required)."""
    text = row.get(index)
    if text == "":
        if empty is not None:
            return empty
        problems.error(table.path, row.line, index + 1, f"missing {what} (expected a whole number)")
        return None
    try:
        value = int(text)
    except ValueError:
        problems.error(
            table.path, row.line, index + 1, f"bad {what} (expected a whole number, found {shown(text)})"
        )
        return None
    if abs(value) > MAX_WHOLE:  # would overflow int64 arrays later; no real count is this large
        problems.error(
            table.path,
            row.line,
            index + 1,
            f"bad {what} (expected a whole number between -10^15 and 10^15, found {shown(text)})",
        )
        return None
    return value


def parse_float(
    problems: Problems, table: Table, row: Row, index: int, what: str, *, empty: float | None = None
) -> float | None:
    """Cell `index` as a number; `empty` is the value of an empty cell (None: required)."""
    text = row.get(index)
    if text == "":
        if empty is not None:
            return empty
        problems.error(table.path, row.line, index + 1, f"missing {what} (expected a number)")
        return None
    try:
        value = float(text)
    except ValueError:
        problems.error(
            table.path, row.line, index + 1, f"bad {what} (expected a number, found {shown(text)})"
        )
        return None
    if value != value or value in (float("inf"), float("-inf")):
        problems.error(
            table.path,
            row.line,
            index + 1,
            f"bad {what} (expected a finite number, found {shown(text)})",
        )
        return None
    return value


def parse_date_text(text: str) -> dt.date | None:
    """A YYYY-MM-DD date (month and day may have one digit, as Flee's strptime allows)."""
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None


#: The first and last start date a run may have: its days are dated as numpy datetime64[ns],
#: which ends in April 2262, and a run lasts at most 100 years.
START_DATES = (dt.date(1700, 1, 1), dt.date(2161, 12, 31))


def start_date_problem(date: dt.date) -> str | None:
    """Why `date` cannot start a run, or None."""
    lo, hi = START_DATES
    if lo <= date <= hi:
        return None
    return f"start date {date.isoformat()} is out of range (expected a date from {lo.isoformat()} to {hi.isoformat()})"


def parse_date(problems: Problems, table: Table, row: Row, index: int, what: str) -> dt.date | None:
    """Cell `index` as a YYYY-MM-DD date."""
    text = row.get(index)
    value = parse_date_text(text) if text else None
    if value is None:
        found = f"found {shown(text)}" if text else "found nothing"
        problems.error(
            table.path, row.line, index + 1, f"bad {what} (expected a date YYYY-MM-DD, {found})"
        )
    return value
