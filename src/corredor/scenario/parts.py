"""Readers for the tables that Flee folders and native folders share: routes, closures,
conflicts and observation series.

Both formats feed the same readers (with their own column positions), so the same input gives
the same Scenario objects and the same problem messages whichever format it came in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .csvread import Row, Table, parse_date, parse_float, parse_int, read_table
from .model import (
    CLOSURE_KINDS,
    Closure,
    ConflictTimeline,
    Location,
    Route,
    Series,
    series_table,
)
from .problems import SHOWN_CHARS, Problems, shown
from .settings import MoveRules, suggest


def _number(text: str) -> str:
    """A number's cell as written (unquoted, as it was read), a long one cut by `shown`."""
    return text if len(text) <= SHOWN_CHARS else shown(text)


#: A conflict intensity at or below this counts as "no conflict" (Flee's threshold).
CONFLICT_EPS = 1e-6

#: Link attributes Flee reads as numbers; once the column exists every row needs a value.
NUMERIC_LINK_ATTRIBUTES = ("max_move_speed", "walk_probability")
#: Border-crisis route columns: empty means 0, anything else must be a number ≥ 0 (route costs are
#: least-cost paths, which a negative cost would send round a loop for ever).
OPTIONAL_NUMERIC_LINK_ATTRIBUTES = ("price_usd", "risk", "irregular", "corridor_only")
#: Border-crisis route columns whose empty cell means "the scenario's value" and any other a
#: number above 0 (a speed of 0 would leave people on the link for ever).
POSITIVE_LINK_ATTRIBUTES = ("speed_km_per_day",)


def unknown_location(name: str, names: Mapping[str, int] | set[str], where: str) -> str:
    """Message for a name that is not a location."""
    return f"unknown location {name!r} (expected a name from {where}){suggest(name, set(names))}"


@dataclass(frozen=True)
class RouteColumns:
    """0-based positions of the route fields in a routes table."""

    a: int = 0
    b: int = 1
    distance: int = 2
    forced_redirection: int = 3


def parse_routes(
    table: Table,
    rows: Sequence[Row],
    problems: Problems,
    names: Mapping[str, int],
    locations_file: str,
    attributes: Mapping[int, str],
    cols: RouteColumns = RouteColumns(),
    width: int | None = None,
) -> list[Route]:
    """Routes from data rows; `attributes` maps extra column positions to attribute names.

    `width` is the most cells a row may have (default: the fixed columns and the attributes).
    """
    routes: list[Route] = []
    seen: dict[frozenset[str], int] = {}
    required = max(cols.a, cols.b, cols.distance) + 1
    allowed = width if width is not None else max([3, *attributes]) + 1
    for row in rows:
        if len(row.cells) < required:
            problems.error(
                table.path,
                row.line,
                len(row.cells) + 1,
                f"missing columns (expected name1, name2, distance; found {len(row.cells)} cell(s))",
            )
            continue
        if len(row.cells) > allowed and any(row.cells[allowed:]):
            problems.error(
                table.path,
                row.line,
                allowed + 1,
                f"unnamed extra cells (expected at most {allowed} cells, found {len(row.cells)}); "
                "name attribute columns in the header row",
            )
            continue
        ok = True
        ends: list[str] = []
        for col in (cols.a, cols.b):
            name = row.get(col)
            if not name:
                problems.error(table.path, row.line, col + 1, "missing location name")
                ok = False
            elif name not in names:
                problems.error(
                    table.path, row.line, col + 1, unknown_location(name, names, locations_file)
                )
                ok = False
            ends.append(name)
        a, b = ends
        if ok and a == b:
            problems.error(
                table.path,
                row.line,
                cols.b + 1,
                f"route from {a!r} to itself (expected two different places)",
            )
            ok = False
        distance = parse_float(problems, table, row, cols.distance, "distance")
        if distance is not None and distance <= 0:
            problems.error(
                table.path,
                row.line,
                cols.distance + 1,
                f"non-positive distance (expected km > 0, found {_number(row.get(cols.distance))})",
            )
            distance = None
        forced = parse_int(
            problems, table, row, cols.forced_redirection, "forced_redirection", empty=0
        )
        if forced is not None and forced not in (0, 1, 2):
            problems.error(
                table.path,
                row.line,
                cols.forced_redirection + 1,
                f"bad forced_redirection (expected empty, 0, 1 or 2, found {forced})",
            )
            forced = None
        attrs: dict[str, str] = {}
        for col, attr in attributes.items():
            if col >= len(row.cells):
                continue
            value = row.cells[col]
            if value == "":
                if attr in NUMERIC_LINK_ATTRIBUTES:
                    problems.error(
                        table.path,
                        row.line,
                        col + 1,
                        f"missing {attr} (expected a number on every row once the column exists)",
                    )
                    ok = False
                continue
            attrs[attr] = value
            if attr in POSITIVE_LINK_ATTRIBUTES:
                number = parse_float(problems, table, row, col, attr)
                if number is None:
                    ok = False
                elif number <= 0:
                    problems.error(
                        table.path,
                        row.line,
                        col + 1,
                        f"bad {attr} (expected a number above 0, or empty for the scenario's "
                        f"value, found {_number(value)})",
                    )
                    ok = False
            elif attr in NUMERIC_LINK_ATTRIBUTES or attr in OPTIONAL_NUMERIC_LINK_ATTRIBUTES:
                number = parse_float(problems, table, row, col, attr)
                if number is None:
                    ok = False
                elif number < 0 or (attr == "walk_probability" and number > 1):
                    problems.error(
                        table.path,
                        row.line,
                        col + 1,
                        f"bad {attr} (expected {'0..1' if attr == 'walk_probability' else 'a number ≥ 0'}, found {_number(value)})",
                    )
                    ok = False
        if not ok or distance is None or forced is None:
            continue
        if forced == 1:
            problems.warn(
                table.path,
                row.line,
                cols.forced_redirection + 1,
                "forced_redirection 1: Flee creates this route twice, so parallel links double its weight",
            )
        key = frozenset((a, b))
        if key in seen:
            problems.warn(
                table.path,
                row.line,
                1,
                f"second route between {a!r} and {b!r} (first on line {seen[key]}); "
                "Flee keeps both as parallel links",
            )
        else:
            seen[key] = row.line
        routes.append(Route(a, b, float(distance), int(forced), attrs, row.line))
    return routes


@dataclass(frozen=True)
class ClosureColumns:
    """0-based positions of the closure fields in a closures table."""

    kind: int = 0
    name1: int = 1
    name2: int = 2
    start: int = 3
    end: int = 4


def parse_closures(
    table: Table,
    rows: Sequence[Row],
    problems: Problems,
    names: Mapping[str, int],
    countries: set[str],
    locations_file: str,
    days: int | None,
    fix_link_closures: bool,
    cols: ClosureColumns = ClosureColumns(),
    routes: set[frozenset[str]] | None = None,
    places: Mapping[str, Location] | None = None,
    move_rules: MoveRules | None = None,
) -> list[Closure]:
    """Closures from data rows, with warnings where Flee would silently do nothing.

    `routes` (the place pairs of the routes, when they were read without errors) lets a link
    closure between places that no route joins be warned of. `days` is None when the period is
    unknown (its problem is reported already): days are then not checked against it. `places`
    (name -> Location) and `move_rules` let a camp closure of a place that is not a camp, and
    rows that reopen each other's links, be warned of.
    """
    out: list[Closure] = []
    required = max(cols.kind, cols.name1, cols.name2, cols.start, cols.end) + 1
    for row in rows:
        if len(row.cells) < required:
            problems.error(
                table.path,
                row.line,
                len(row.cells) + 1,
                "missing columns (expected closure_type, name1, name2, closure_start, closure_end;"
                f" found {len(row.cells)} cell(s))",
            )
            continue
        kind = row.get(cols.kind)
        ok = True
        if kind not in CLOSURE_KINDS:
            problems.error(
                table.path,
                row.line,
                cols.kind + 1,
                f"unknown closure type {kind!r} (expected one of {', '.join(CLOSURE_KINDS)})"
                f"{suggest(kind, set(CLOSURE_KINDS))}",
            )
            ok = False
        name1, name2 = row.get(cols.name1), row.get(cols.name2)
        if kind == "country":
            for col, name in ((cols.name1, name1), (cols.name2, name2)):
                if name not in countries:
                    problems.error(
                        table.path,
                        row.line,
                        col + 1,
                        f"unknown country {name!r} (expected a country of {locations_file})"
                        f"{suggest(name, countries)}",
                    )
                    ok = False
        elif kind in CLOSURE_KINDS:
            check = [(cols.name1, name1)]
            if kind in ("link", "remove_forced_redirection"):
                check.append((cols.name2, name2))
            for col, name in check:
                if name not in names:
                    problems.error(
                        table.path, row.line, col + 1, unknown_location(name, names, locations_file)
                    )
                    ok = False
        start = parse_int(problems, table, row, cols.start, "closure_start")
        end = parse_int(problems, table, row, cols.end, "closure_end")
        if not ok or start is None or end is None:
            continue
        if kind == "link" and routes is not None and frozenset((name1, name2)) not in routes:
            problems.warn(
                table.path,
                row.line,
                cols.name1 + 1,
                f"no route {name1} – {name2}: this closure closes nothing",
            )
        elif kind == "link" and not fix_link_closures:
            problems.warn(
                table.path,
                row.line,
                cols.kind + 1,
                "link closure never fires: Flee's link closures are silent no-ops "
                "(set move_rules.fix_link_closures to make them close the link)",
            )
        if kind == "remove_forced_redirection":
            problems.warn(
                table.path,
                row.line,
                cols.kind + 1,
                "remove_forced_redirection has no effect on movement in Flee",
            )
        for col, value, what in ((cols.start, start, "start"), (cols.end, end, "end")):
            if value < 0:
                effect = (
                    "this closure never starts"
                    if what == "start"
                    else "this row never reopens what it closes (another row's end day can "
                    "still reopen links they share)"
                )
                problems.warn(
                    table.path,
                    row.line,
                    col + 1,
                    f"closure {what} {value}: Flee never fires it, so {effect}",
                )
            elif days is not None and value >= days:
                problems.warn(
                    table.path,
                    row.line,
                    col + 1,
                    f"closure {what} day {value} is after the last day ({days - 1}); it never fires",
                )
        if (0 <= end <= start and (days is None or start < days)
                and kind != "remove_forced_redirection"):
            effect = (
                "closes and reopens on the same day, so it has no effect"
                if end == start
                else f"reopens (day {end}) before it closes (day {start}): this row never "
                "reopens what it closes (its reopen comes first, and can only reopen what other "
                "rows closed)"
            )
            problems.warn(table.path, row.line, cols.end + 1, f"closure {effect}")
        out.append(Closure(kind, name1, name2, start, end, row.line))
    if places is not None and move_rules is not None:
        for c in out:
            if c.kind in ("camp", "idpcamp") and c.name1 in places:
                _camp_closure_kind(table.path, c, places[c.name1], days, move_rules, problems,
                                   cols.name1 + 1)
    if places is not None and routes is not None and days is not None:
        _shared_link_reopens(table.path, out, places, routes, days, fix_link_closures, problems,
                             cols.end + 1)
    return out


#: How a message names a place of each kind.
_KIND_WORDS = {
    "camp": "a camp", "idpcamp": "an IDP camp", "town": "a town", "conflict": "a conflict zone",
    "forward": "a forwarding hub", "marker": "a marker", "flood_zone": "a flood zone",
    "unknown": "of unknown type",
}


def _camp_closure_kind(path: Path, c: Closure, place: Location, days: int | None,
                       move_rules: MoveRules, problems: Problems, col: int) -> None:
    """Warn of a `camp`/`idpcamp` closure of a place that is not of that kind: Flee 3.1 makes any
    place a town at the start (`Location.close_camp`, its conflict ended) and a camp of the row's
    kind at the end (`Location.open_camp`), which a typo for `location` turns into a trap."""
    if place.kind == c.kind:
        return

    def fires(day: int) -> bool:
        return day >= 0 and (days is None or day < days)

    steps: list[tuple[int, int, str]] = []
    if fires(c.start):
        ended = ", its conflict ended" if place.kind == "conflict" else ""
        steps.append((c.start, 0, f"a town (move chance {move_rules.default_movechance:g}{ended}) "
                                  f"on day {c.start}"))
    if fires(c.end):
        chance = move_rules.idpcamp_movechance if c.kind == "idpcamp" else move_rules.camp_movechance
        steps.append((c.end, 1, f"{_KIND_WORDS[c.kind]} (move chance {chance:g}) on day {c.end}, "
                                "when the closure ends"))
    if not steps:
        return  # (it never fires: warned of above)
    steps.sort()
    last = steps[-1][2].split(" (", 1)[0]
    output = ("" if place.is_camp else "; it is not an output camp, so out.csv does not count "
              "the people there")
    meant = ("`camp`" if c.kind == "idpcamp" and place.kind == "camp"
             else "`idpcamp`" if c.kind == "camp" and place.kind == "idpcamp" else "`location`")
    problems.warn(path, c.line, col,
                  f"{c.kind} closure of {c.name1!r}, which is {_KIND_WORDS[place.kind]}: Flee makes "
                  f"it {' and '.join(s[2] for s in steps)}, and it stays {last} to the end of the "
                  f"run{output}; a {meant} closure is probably meant")


def _closure_pairs(c: Closure, pairs: Sequence[frozenset[str]], places: Mapping[str, Location],
                   fix_link_closures: bool) -> set[int]:
    """Indices of the route pairs whose links closure `c` closes and reopens (none for a link
    closure under Flee 3.1's no-op, nor for camp and redirection rows)."""
    def country(name: str) -> str:
        return places[name].country if name in places else ""

    out: set[int] = set()
    for k, pair in enumerate(pairs):
        a, b = sorted(pair)
        if c.kind == "country":
            hit = {country(a), country(b)} == {c.name1, c.name2}
        elif c.kind == "location":
            hit = c.name1 in pair
        elif c.kind == "link":
            hit = fix_link_closures and pair == frozenset((c.name1, c.name2))
        else:
            hit = False
        if hit:
            out.add(k)
    return out


def _shared_link_reopens(path: Path, closures: Sequence[Closure], places: Mapping[str, Location],
                         routes: set[frozenset[str]], days: int, fix_link_closures: bool,
                         problems: Problems, col: int) -> None:
    """Warn where a row's links are reopened by another row while this row says they are closed.

    Flee 3.1 keeps one open/closed state per link (a link is in `links` or in `closed_links`): on
    each day the rows act in file order, each closing at its start and then reopening at its end,
    so whichever row acts last on a link sets it; once closed, the first reopen by any row opens it.
    """
    pairs = sorted(routes, key=sorted)
    hits = [_closure_pairs(c, pairs, places, fix_link_closures) for c in closures]
    events: list[tuple[int, int, int]] = []  # (day, row, 0 close / 1 reopen), in Flee's order
    for i, c in enumerate(closures):
        if hits[i]:
            events += [(d, i, op) for d, op in ((c.start, 0), (c.end, 1)) if 0 <= d < days]
    events.sort()
    covering: dict[int, list[int]] = {}  # pair -> the rows that close it
    for i, ks in enumerate(hits):
        for k in ks:
            covering.setdefault(k, []).append(i)
    is_open = [True] * len(pairs)
    opener = [-1] * len(pairs)
    today: set[int] = set()  # pairs reopened today
    warned: set[tuple[int, int]] = set()
    for n, (day, i, op) in enumerate(events):
        for k in hits[i]:
            if op == 0:
                is_open[k] = False
            elif not is_open[k]:
                is_open[k], opener[k] = True, i
                today.add(k)
        if n + 1 < len(events) and events[n + 1][0] == day:
            continue  # (the state at the end of the day's closures is what the day runs with)
        undone: dict[tuple[int, int], list[int]] = {}  # (row, reopening row) -> pairs
        for k in sorted(today):
            for r in covering[k] if is_open[k] else ():
                if _says_closed(closures[r], day, days) and (r, opener[k]) not in warned:
                    undone.setdefault((r, opener[k]), []).append(k)
        today.clear()
        for (r, q), reopened in sorted(undone.items()):
            warned.add((r, q))
            c = closures[r]
            opened = [pairs[k] for k in reopened]
            until = f"until day {c.end}" if c.start < c.end < days else "to the end"
            problems.warn(path, c.line, col,
                          f"{_links_words(c, opened)} on day {day} by line {closures[q].line} "
                          f"({_row_words(closures[q])}), while this row closes "
                          f"{'it' if len(opened) == 1 else 'them'} {until} (a link is open or "
                          "closed, whichever row set it last: the first reopen after a close "
                          "opens it)")


def _says_closed(c: Closure, day: int, days: int) -> bool:
    """Whether row `c` reads as keeping its links closed on `day`: from its start until its end,
    or to the end of the run when its end never fires after its start."""
    stop = c.end if c.start < c.end < days else days
    return 0 <= c.start <= day < stop and c.start != c.end


def _links_words(c: Closure, opened: Sequence[frozenset[str]]) -> str:
    """'Mentao's links to Douentza, Mopti reopen' / 'the link A – B reopens'."""
    verb = "reopens" if len(opened) == 1 else "reopen"
    if c.kind == "location":
        ends = sorted(next(iter(p - {c.name1})) for p in opened)
        return f"{c.name1}'s link{'s' if len(ends) > 1 else ''} to {_few(ends)} {verb}"
    pairs = sorted(" – ".join(sorted(p)) for p in opened)
    return f"the link{'s' if len(pairs) > 1 else ''} {_few(pairs)} {verb}"


def _few(items: Sequence[str], limit: int = 4) -> str:
    """The first `limit` items, comma-separated, and how many more."""
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _row_words(c: Closure) -> str:
    """A closures.csv row as written, without its days: 'country,Mali,Burkina_Faso'."""
    return ",".join([c.kind, c.name1] + ([c.name2] if c.kind in ("country", "link") else []))


def parse_conflicts(
    table: Table,
    problems: Problems,
    names: Mapping[str, int],
    locations_file: str,
    days: int,
) -> ConflictTimeline | None:
    """conflicts.csv: first row names the locations (cell 0 ignored); row k after it is day k."""
    rows = [r for r in table.rows if r.cells and not r.is_blank]
    if not rows:
        return None
    header, data = rows[0], rows[1:]
    columns: list[tuple[int, str]] = []  # (cell position, name) of the columns kept
    named: dict[str, int] = {}
    ok = True
    for pos, name in enumerate(header.cells[1:], start=1):
        if not name:
            continue
        if name in named:
            problems.error(
                table.path,
                header.line,
                pos + 1,
                f"duplicate column {name!r} (first in column {named[name] + 1})",
            )
            ok = False
            continue
        named[name] = pos
        if name not in names:
            problems.warn(
                table.path,
                header.line,
                pos + 1,
                unknown_location(name, names, locations_file) + "; Flee ignores this column",
            )
            continue
        columns.append((pos, name))
    width = len(header.cells)
    if width > 1:
        data = _skip_one_cell_comments(table, data, problems)
    values = np.zeros((len(data), len(columns)), dtype=np.float64)
    for k, row in enumerate(data):
        if row.is_comment and not _comment_row_is_a_day(table, row, k, width,
                                                         list(named.values()), problems):
            ok = False
            continue
        if len(row.cells) > width and any(row.cells[width:]):
            problems.error(
                table.path,
                row.line,
                width + 1,
                f"more cells than the header names (expected {width}, found {len(row.cells)})",
            )
            ok = False
            continue
        if len(row.cells) < width and any(
            named_pos >= len(row.cells) for named_pos in named.values()
        ):
            problems.error(
                table.path,
                row.line,
                len(row.cells) + 1,
                f"missing values (expected {width} cells, found {len(row.cells)})",
            )
            ok = False
            continue
        for j, (pos, _) in enumerate(columns):
            v = parse_float(problems, table, row, pos, "conflict intensity")
            if v is None:
                ok = False
            else:
                values[k, j] = v
    if len(data) < days:
        problems.error(
            table.path,
            table.after_last,
            1,
            f"conflicts.csv is shorter than the period (expected a row for each of the {days} days,"
            f" found {len(data)})",
        )
        ok = False
    if not ok:
        return None
    lines = tuple(r.line for r in data)
    for j, (pos, name) in enumerate(columns):
        col = values[:, j]
        for k in range(1, min(len(col), days)):
            prev, cur = col[k - 1], col[k]
            if prev > CONFLICT_EPS and cur > CONFLICT_EPS and cur != prev:
                problems.warn(
                    table.path,
                    lines[k],
                    pos + 1,
                    f"{name}: intensity changes from {prev:g} to {cur:g} on day {k}; Flee ignores "
                    "changes between positive values (the onset value stays)",
                )
                break
        for k in range(1, min(len(col), days)):
            prev, cur = col[k - 1], col[k]
            if prev > CONFLICT_EPS and cur < CONFLICT_EPS and prev != 1.0:
                problems.warn(
                    table.path,
                    lines[k],
                    pos + 1,
                    f"{name}: intensity drops from {prev:g} to 0 on day {k}; Flee 3.1 ends a conflict "
                    "only when the previous value is exactly 1, so the conflict goes on",
                )
                break
    return ConflictTimeline(tuple(n for _, n in columns), values, lines)


def _skip_one_cell_comments(table: Table, data: Sequence[Row], problems: Problems) -> list[Row]:
    """conflicts.csv's data rows without `#` rows of one cell, each warned of: Flee's
    ReadConflictInputCSV has no comment rows, but it reads a row's values from its second cell
    on, so a row of one cell adds no value to any column and is no day."""
    kept: list[Row] = []
    for row in data:
        if row.is_comment and len(row.cells) == 1:
            problems.warn(table.path, row.line, 1,
                          "conflicts.csv has no comment rows, but Flee reads no value from a row "
                          "of one cell: this row is skipped and the next row is the next day")
        else:
            kept.append(row)
    return kept


def _comment_row_is_a_day(table: Table, row: Row, k: int, width: int, positions: Sequence[int],
                          problems: Problems) -> bool:
    """A `#` row of conflicts.csv that Flee reads as day `k`: a warning when it reads as one
    (the run is Flee's), an error naming the comment rule when it does not (Flee would crash, or
    give the columns different numbers of days)."""
    def number(text: str) -> bool:
        try:
            return np.isfinite(float(text))
        except ValueError:
            return False

    extra = len(row.cells) > width and any(row.cells[width:])
    short = any(pos >= len(row.cells) for pos in positions)
    if extra or short or not all(number(row.get(pos)) for pos in positions):
        problems.error(table.path, row.line, 1,
                       f"conflicts.csv has no comment rows: Flee reads this row as day {k} "
                       f"(expected {width} cells with an intensity under each location, found "
                       f"{len(row.cells)} cell(s){'' if extra or short else ' that are not all numbers'}); "
                       "remove the row, or write it as that day's values")
        return False
    problems.warn(table.path, row.line, 1,
                  f"conflicts.csv has no comment rows: this row is day {k} (Flee ignores the "
                  "first cell and reads the values)")
    return True


# ---- observation series --------------------------------------------------------------------


def read_series_file(
    path: Path, problems: Problems, start_date: dt.date, *, lines_out: list[int] | None = None
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """A Flee series file `YYYY-MM-DD,count` -> (day offsets, counts); None when unusable.

    The first row is a header (skipped) when it starts with '#', its first cell is empty, or it
    is 'Date'/'DateTime'; later rows that start with '#' or have an empty count are skipped.
    `lines_out`, when given, receives the line of each point (to point a problem at its row).
    """
    table = read_table(path, problems, "rows YYYY-MM-DD,count")
    if table is None:
        return None
    days: list[int] = []
    counts: list[int] = []
    lines: list[int] = []
    ok = True
    first = True
    for row in table.rows:
        is_first, first = first, False
        if len(row.cells) < 2:
            continue
        if is_first and (not row.cells[0] or row.cells[0].lower() in ("date", "datetime")):
            continue
        if row.cells[0].startswith("#") or row.cells[1] == "":
            continue
        date = parse_date(problems, table, row, 0, "date")
        count = parse_int(problems, table, row, 1, "count")
        if count is not None and count < 0:  # (observed people; a negative one is a typo)
            problems.error(path, row.line, 2, f"negative count (expected ≥ 0, found {count})")
            count = None
        if date is None or count is None:
            ok = False
            continue
        days.append((date - start_date).days)
        counts.append(count)
        lines.append(row.line)
    if not ok:
        return None
    if not days:
        problems.error(path, table.after_last, 1, "no data rows (expected rows YYYY-MM-DD,count)")
        return None
    back = next((k for k in range(1, len(days)) if days[k] < days[k - 1]), None)
    if back is not None:
        problems.warn(
            path, lines[back], 1, f"date before the previous row's (line {lines[back - 1]}): dates "
            "are not in increasing order; Flee's interpolation assumes they are"
        )
    if lines_out is not None:
        lines_out.extend(lines)
    return tuple(days), tuple(counts)


@dataclass(frozen=True)
class Correction:
    """A registration_corrections row: rescale `series` before `date` (§2.7)."""

    series: str
    date: dt.date
    line: int
    column: int = 2


def apply_corrections(
    name: str,
    files: tuple[str, ...],
    parts: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...],
    corrections: Sequence[Correction],
    start_date: dt.date,
    problems: Problems,
    corrections_path: Path,
) -> Series:
    """Build a Series, checking each registration correction against its points in turn."""
    accepted: list[int] = []
    for corr in corrections:
        if corr.date < start_date:
            problems.warn(
                corrections_path,
                corr.line,
                corr.column,
                f"correction date {corr.date} is before the start date {start_date}; ignored",
            )
            continue
        day = (corr.date - start_date).days
        days_arr, values = series_table(parts, tuple(accepted))
        matches = [i for i in range(len(days_arr)) if int(days_arr[i]) == day]
        where = ", ".join(f"source_data/{f}" for f in files)
        if not matches:
            problems.error(
                corrections_path,
                corr.line,
                corr.column,
                f"date {corr.date} is not in the series of {name!r} (expected a date listed in {where})",
            )
            continue
        if all(i == 0 for i in matches):
            problems.error(
                corrections_path,
                corr.line,
                corr.column,
                f"date {corr.date} is the first point of {name!r} (expected a later date: "
                "there is nothing earlier to rescale)",
            )
            continue
        if any(i > 0 and values[i - 1] == 0 for i in matches):
            problems.error(
                corrections_path,
                corr.line,
                corr.column,
                f"cannot rescale {name!r} at {corr.date}: the point before it is 0 (expected a positive count)",
            )
            continue
        accepted.append(day)
    days_arr, values = series_table(parts, tuple(accepted))
    return Series(
        name,
        files,
        tuple(int(d) for d in days_arr),
        tuple(float(v) for v in values),
        parts,
        tuple(accepted),
    )


def parse_corrections(
    table: Table, problems: Problems, series_names: set[str], layout_file: str
) -> list[Correction]:
    """registration_corrections.csv rows `name,YYYY-MM-DD[,anything]`."""
    out: list[Correction] = []
    for row in table.data_rows():
        if len(row.cells) < 2:
            problems.error(table.path, row.line, 2, "missing date (expected name,YYYY-MM-DD)")
            continue
        name = row.cells[0]
        date = parse_date(problems, table, row, 1, "correction date")
        if name not in series_names:
            problems.error(
                table.path,
                row.line,
                1,
                f"unknown series {name!r} (expected a name from {layout_file}){suggest(name, series_names)}",
            )
            continue
        if date is not None:
            out.append(Correction(name, date, row.line))
    return out
