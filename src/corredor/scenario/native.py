"""corredor's own scenario folder: `scenario.toml` plus CSV tables with named columns -> Scenario.

The format holds everything a Flee folder holds, with names instead of positions and explicit
kinds instead of substring typing; docs/scenario-format.md describes it. `write_native` writes a
Scenario in this format (what `corredor convert` uses), and reading it back gives the same
Scenario.

>>> scenario = load_native("scenarios/chile-peru-2023")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .csvread import (
    Row,
    Table,
    file_problem,
    parse_date,
    parse_float,
    parse_int,
    read_table,
    read_text,
    start_date_problem,
)
from .model import (
    CRISIS_HASTEN,
    CRISIS_UNREAD_FILES,
    CRISIS_UNREAD_SECTIONS,
    LOCATION_KINDS,
    Location,
    Observations,
    Scenario,
    Series,
    crisis_unread,
    crisis_unread_file,
)
from .parts import (
    ClosureColumns,
    Correction,
    RouteColumns,
    apply_corrections,
    parse_closures,
    parse_conflicts,
    parse_corrections,
    parse_routes,
)
from .problems import Problems, shown
from .settings import Settings, settings_from_mapping, suggest
from .tomlread import loads_toml, toml_error

TOML_NAME = "scenario.toml"

SECTIONS: dict[str, set[str]] = {
    "scenario": {"name", "start_date", "days", "description"},
    "files": {"locations", "routes", "closures", "conflicts", "observations", "corrections"},
    "settings": {"spawn_rules", "move_rules", "optimisations", "log_levels"},
    "crisis": set(),  # read by native_crisis
}

#: Values of locations.csv's optional `climate` column; `cold` places get Sphere's cold-climate
#: covered space per person in the needs (analysis/needs.py), the others its usual figure.
CLIMATES = ("cold", "temperate", "hot")

LOCATION_COLUMNS = (
    "name",
    "country",
    "region",
    "lat",
    "lon",
    "kind",
    "flee_type",
    "conflict_date",
    "population",
    "capacity",
)
ROUTE_COLUMNS = ("name1", "name2", "distance_km", "forced_redirection")
CLOSURE_COLUMNS = ("kind", "name1", "name2", "start", "end")
CORRECTION_COLUMNS = ("series", "date")

_ABSENT = 10**9  # a column position no row reaches: reads as an empty cell


# ---- scenario.toml -------------------------------------------------------------------------------


def toml_key_position(text: str, table: str, key: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of `key` inside `[table]` (or of the table header); (0, 0) if absent."""
    current = ""
    header_pos = (0, 0)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        m = re.match(r"^\[\s*([^\[\]]+?)\s*\]", line)
        if m:
            current = re.sub(r"\s*\.\s*", ".", m.group(1)).replace('"', "")
            if current == table:
                header_pos = (number, raw.index("[") + 1)
            continue
        if key is not None and current == table:
            km = re.match(r"^\s*\"?([A-Za-z0-9_\-]+)\"?\s*=", raw)
            if km and km.group(1) == key:
                return number, km.start(1) + 1
        if key is not None and current == "" and table and "." not in table:
            # inline or dotted form at top level: `table.key = ...`
            km = re.match(r"^\s*([A-Za-z0-9_\-.]+)\s*=", raw)
            if km and km.group(1) == f"{table}.{key}":
                return number, km.start(1) + 1
    return header_pos


def toml_place(text: str, table: str, key: str | None = None) -> tuple[int, int]:
    """1-based (line, column) where a problem with `key` of `[table]` (or with the table) is
    reported: the key, else the table's header or its own `table = …` key, else that of the
    table around it, else the line after the last one (where a missing table would go); never
    (0, 0), so every problem in scenario.toml has a place."""
    while True:
        found = toml_key_position(text, table, key)
        if found != (0, 0):
            return found
        if not table:
            return line_after_last(text), 1
        table, _, key = table.rpartition(".")


def line_after_last(text: str) -> int:
    """The line after the last one of `text` that holds anything (1 for a blank text)."""
    lines = text.splitlines()
    return 1 + next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 0)


def read_toml(path: Path, problems: Problems) -> tuple[dict[str, Any] | None, str]:
    """Parsed scenario.toml and its text; None after reporting a syntax error."""
    text = read_text(path, problems, "a [scenario] table and a [files] table")
    if text is None:
        return None, ""
    try:
        data = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, reason = toml_error(exc, text)
        problems.error(path, line, col, f"bad TOML ({reason})")
        return None, text
    return data, text


def _check_keys(path: Path, text: str, data: Mapping[str, Any], problems: Problems) -> None:
    """Unknown tables and keys are errors, with a suggestion."""
    for table, value in data.items():
        if table not in SECTIONS and not isinstance(value, dict):
            problems.error(path, *toml_place(text, "", table), _top_level_key(table))
            continue
        if table not in SECTIONS:
            line, col = toml_place(text, table)
            problems.error(
                path,
                line,
                col,
                f"unknown table [{table}] (expected one of {', '.join(SECTIONS)})"
                f"{suggest(table, set(SECTIONS))}",
            )
            continue
        if table in ("settings", "crisis"):
            continue
        if not isinstance(value, dict):
            problems.error(path, *toml_place(text, "", table), f"[{table}] must be a table")
            continue
        for key in value:
            if key not in SECTIONS[table]:
                line, col = toml_place(text, table, key)
                problems.error(
                    path,
                    line,
                    col,
                    f"unknown key '{key}' in [{table}] (expected one of {', '.join(sorted(SECTIONS[table]))})"
                    f"{suggest(key, SECTIONS[table])}",
                )


def _top_level_key(key: str) -> str:
    """The message for `key = …` above the first table: most often a forgotten table header."""
    owner = next((t for t, keys in SECTIONS.items() if key in keys), None)
    hint = (f"; put it under [{owner}] (is the [{owner}] line missing?)" if owner else
            suggest(key, set().union(*SECTIONS.values())))
    return (f"key '{key}' outside any table (expected it inside one of "
            f"{', '.join(f'[{t}]' for t in SECTIONS)}){hint}")


def _read_header(
    problems: Problems, path: Path, what: str
) -> tuple[Table | None, dict[str, int], list[Row]]:
    """A named-column CSV: (table, column name -> position, data rows after an optional HXL row)."""
    table = read_table(path, problems, what)
    if table is None:
        return None, {}, []
    rows = [r for r in table.rows if not r.is_blank]
    header = rows[0]
    columns: dict[str, int] = {}
    for pos, name in enumerate(header.cells):
        if not name:
            continue
        if name in columns:
            problems.error(path, header.line, pos + 1, f"duplicate column {name!r}")
            continue
        columns[name] = pos
    data = rows[1:]
    if data and all(c == "" or c.startswith("#") for c in data[0].cells) and any(data[0].cells):
        data = data[1:]  # HXL hashtag row
    return table, columns, data


def _require(
    problems: Problems, table: Table, columns: dict[str, int], names: tuple[str, ...]
) -> bool:
    ok = True
    header_line = next(r.line for r in table.rows if not r.is_blank)
    for name in names:
        if name not in columns:
            problems.error(
                table.path,
                header_line,
                1,
                f"missing column {name!r} (expected columns {', '.join(names)}; found "
                f"{', '.join(columns) or 'none'}){suggest(name, set(columns))}",
            )
            ok = False
    return ok


# ---- tables ------------------------------------------------------------------------------------


def read_native_locations(path: Path, problems: Problems) -> tuple[list[Location], set[str]]:
    """locations.csv with named columns; columns not in LOCATION_COLUMNS become attributes.

    Returns the locations and every name seen (also on rows with errors).
    """
    table, cols, rows = _read_header(
        problems, path, "a header row name,kind,... and a row per place"
    )
    if table is None or not _require(problems, table, cols, ("name", "kind")):
        return [], set()
    attr_cols = {pos: name for name, pos in cols.items() if name not in LOCATION_COLUMNS}
    out: list[Location] = []
    first_line: dict[str, int] = {}
    folded: dict[str, str] = {}  # case-folded name -> the first name spelt so
    for row in rows:
        name = row.get(cols["name"])
        if not name:
            problems.error(table.path, row.line, cols["name"] + 1, "missing location name")
            continue
        if name in first_line:
            problems.error(
                table.path,
                row.line,
                cols["name"] + 1,
                f"duplicate location name {name!r} (first on line {first_line[name]})",
            )
            continue
        alike = folded.setdefault(name.casefold(), name)
        if alike != name:  # (two places, as the files say; most likely one, mistyped)
            problems.warn(table.path, row.line, cols["name"] + 1,
                          f"location name {name!r} differs from {alike!r} (line "
                          f"{first_line[alike]}) only in upper/lower case; they are two places")
        first_line[name] = row.line
        kind = row.get(cols["kind"])
        ok = True
        if kind not in LOCATION_KINDS:
            problems.error(
                table.path,
                row.line,
                cols["kind"] + 1,
                f"unknown kind {kind!r} (expected one of {', '.join(LOCATION_KINDS)})"
                f"{suggest(kind, set(LOCATION_KINDS))}",
            )
            ok = False
        elif kind == "unknown":
            problems.warn(
                table.path,
                row.line,
                cols["kind"] + 1,
                "kind 'unknown': Flee gives it move chance 1 and no flags",
            )

        def cell(col: str) -> int:
            return cols.get(col, _ABSENT)

        lat = parse_float(problems, table, row, cell("lat"), "lat", empty=0.0)
        lon = parse_float(problems, table, row, cell("lon"), "lon", empty=0.0)
        for value, col, limit in ((lat, "lat", 90.0), (lon, "lon", 180.0)):
            if value is not None and not -limit <= value <= limit:  # (the map and distances use degrees)
                problems.error(table.path, row.line, cell(col) + 1,
                               f"bad {col} (expected degrees between {-limit:g} and {limit:g}, found {value:g})")
                ok = False
        if lat == 0 and lon == 0:
            problems.warn(table.path, row.line, cell("lat") + 1 if "lat" in cols else 1,
                          "no coordinates (lat and lon empty or 0): maps and locations.geojson leave "
                          "the place out (expected its latitude and longitude in degrees)")
        conflict_date: int | None = None
        if row.get(cell("conflict_date")) != "":
            conflict_date = parse_int(problems, table, row, cell("conflict_date"), "conflict_date")
            ok = ok and conflict_date is not None
        population = parse_int(problems, table, row, cell("population"), "population", empty=0)
        capacity = parse_int(problems, table, row, cell("capacity"), "capacity", empty=-1)
        for value, col, what in (
            (population, "population", "population"),
            (capacity, "capacity", "capacity"),
        ):
            if value is not None and value < (0 if what == "population" else -1):
                problems.error(
                    table.path,
                    row.line,
                    cell(col) + 1,
                    f"negative {what} (expected ≥ 0{'' if what == 'population' else ', or −1 or empty for no limit'}"
                    f", found {value})",
                )
                ok = False
        if not ok or lat is None or lon is None or population is None or capacity is None:
            continue
        attrs = {
            a: row.cells[p]
            for p, a in attr_cols.items()
            if p < len(row.cells) and row.cells[p] != ""
        }
        if "climate" in attrs:
            climate = attrs["climate"].strip().lower()
            if climate not in CLIMATES:
                problems.error(table.path, row.line, cols["climate"] + 1,
                               f"bad climate {attrs['climate']!r} (expected one of {', '.join(CLIMATES)}, "
                               "or empty; 'cold' gives the needs the cold-climate covered space)")
                continue
            attrs["climate"] = climate
        if "stop" in attrs:  # (border-crisis rules: travellers are held there, Location.stops)
            stop = attrs["stop"].strip().lower()
            if stop not in ("yes", "no"):
                problems.error(table.path, row.line, cols["stop"] + 1,
                               f"bad stop {attrs['stop']!r} (expected yes, no or empty; yes: travellers "
                               "end their move there and wait to be taken on by a transfer, flight or corridor)")
                continue
            attrs["stop"] = stop
        if "conflict_intensity" in attrs and (
            parse_float(problems, table, row, cols["conflict_intensity"], "conflict_intensity")
            is None
        ):
            continue
        out.append(
            Location(
                name=name,
                country=row.get(cell("country")) or "unknown",
                region=row.get(cell("region")) or "unknown",
                lat=float(lat),
                lon=float(lon),
                kind=kind,
                type_raw=row.get(cell("flee_type")) or kind,
                conflict_date=conflict_date,
                population=int(population),
                capacity=int(capacity),
                attributes=attrs,
                line=row.line,
            )
        )
    if not out and not problems.errors:
        problems.error(
            table.path, table.after_last, 1, "no locations (expected at least one data row)"
        )
    return out, set(first_line)


def read_native_observations(
    obs_path: Path,
    corr_path: Path | None,
    problems: Problems,
    locations: list[Location],
    start_date: dt.date,
    locations_file: str,
    seen: set[str] | None = None,
) -> Observations | None:
    """observations.csv (long: series,date,value[,file]) and registration corrections. `seen`:
    every name of locations.csv, rows with errors too (a series of one is not "not a location")."""
    table, cols, rows = _read_header(problems, obs_path, "a header series,date,value and rows")
    if table is None or not _require(problems, table, cols, ("series", "date", "value")):
        return None
    by_name = {loc.name: loc for loc in locations}
    parts: dict[str, dict[str, tuple[list[int], list[int]]]] = {}
    first_line: dict[str, int] = {}
    ok = True
    for row in rows:
        name = row.get(cols["series"])
        if not name:
            problems.error(table.path, row.line, cols["series"] + 1, "missing series name")
            ok = False
            continue
        if row.get(cols["value"]) == "":
            continue
        date = parse_date(problems, table, row, cols["date"], "date")
        value = parse_int(problems, table, row, cols["value"], "value")
        if value is not None and value < 0:  # (observed people, as in Flee's series files)
            problems.error(table.path, row.line, cols["value"] + 1, f"negative value (expected ≥ 0, found {value})")
            value = None
        if date is None or value is None:
            ok = False
            continue
        file = row.get(cols.get("file", _ABSENT)) or table.path.name
        first_line.setdefault(name, row.line)
        days, counts = parts.setdefault(name, {}).setdefault(file, ([], []))
        days.append((date - start_date).days)
        counts.append(value)
    if "total" not in parts and ok:
        problems.error(
            table.path,
            table.after_last,
            1,
            "missing the 'total' series (expected rows total,date,value)",
        )
    for name, line in first_line.items():
        if name != "total" and name not in by_name and name not in (seen or ()):
            problems.warn(
                table.path,
                line,
                cols["series"] + 1,
                f"series {name!r} is not a location of {locations_file}; it is read but never used",
            )
    unobserved = [loc for loc in locations if loc.is_camp and loc.name not in parts]
    if unobserved:  # (Flee needs them only to validate; the run has no ARD there: `ard_summary`)
        named = ", ".join(repr(loc.name) for loc in unobserved[:3])
        more = f" and {len(unobserved) - 3} more" if len(unobserved) > 3 else ""
        which = (f"camp {named} has" if len(unobserved) == 1
                 else f"{len(unobserved)} camps ({named}{more}) have")
        problems.warn(
            problems.root / locations_file if problems.root else locations_file,
            unobserved[0].line,
            1,
            f"{which} no data series (rows 'NAME,date,value' in {table.path.name}): the run "
            "has no observed figures there and its ARD leaves them out (none at all without "
            "any camp's series)",
        )
    corrections: list[Correction] = []
    if corr_path is not None:
        ctable, ccols, crows = _read_header(problems, corr_path, "a header series,date and rows")
        if ctable is not None and _require(problems, ctable, ccols, CORRECTION_COLUMNS):
            if (ccols["series"], ccols["date"]) == (0, 1):
                corrections = parse_corrections(
                    Table(ctable.path, tuple(crows), ctable.after_last),
                    problems,
                    set(parts),
                    table.path.name,
                )
            else:
                header_line = next(r.line for r in ctable.rows if not r.is_blank)
                problems.error(
                    ctable.path,
                    header_line,
                    1,
                    f"columns must be series,date in this order (found {', '.join(ccols)})",
                )
    if not ok:
        return None
    series: dict[str, Series] = {}
    for name, files in parts.items():
        series[name] = apply_corrections(
            name,
            tuple(files),
            tuple((tuple(d), tuple(c)) for d, c in files.values()),
            [c for c in corrections if c.series == name],
            start_date,
            problems,
            corr_path or table.path,
        )
    total = series.pop("total", None)
    camps = {k: v for k, v in series.items() if k in by_name and by_name[k].is_camp}
    extra = {k: v for k, v in series.items() if k not in camps}
    return Observations(total, camps, extra)


# ---- the folder ----------------------------------------------------------------------------------


def _scenario_table(
    path: Path, text: str, data: Mapping[str, Any], problems: Problems
) -> tuple[str, dt.date | None, int | None, str]:
    sc = data.get("scenario")
    if not isinstance(sc, dict):
        problems.error(path, *toml_place(text, "scenario"),
                       "missing [scenario] table (expected name, start_date, days)")
        return "", None, None, ""
    name = sc.get("name")
    if not isinstance(name, str) or not name:
        problems.error(
            path, *toml_place(text, "scenario", "name"), "missing or empty scenario name"
        )
        name = ""
    start = sc.get("start_date")
    if isinstance(start, str):
        from .csvread import parse_date_text

        start = parse_date_text(start) or start
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        problems.error(
            path,
            *toml_place(text, "scenario", "start_date"),
            f"bad start_date (expected a date YYYY-MM-DD, found {_shown(start)})",
        )
        start = None
    elif why := start_date_problem(start):
        problems.error(path, *toml_place(text, "scenario", "start_date"), why)
        start = None
    days = sc.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        problems.error(
            path,
            *toml_place(text, "scenario", "days"),
            f"bad days (expected a whole number of days ≥ 1, found {_shown(days)})",
        )
        days = None
    description = sc.get("description", "")
    return name, start, days, str(description)


def _shown(value: object) -> str:
    """A TOML value as it was written: `nothing` for a missing key, dates and times in ISO form
    (not Python's datetime.datetime(…)), strings quoted; see `shown`."""
    if value is None:
        return "nothing (the key is missing)"
    return shown(value)


def _file(
    folder: Path, text: str, files: Mapping[str, Any], key: str, problems: Problems, required: bool
) -> Path | None:
    value = files.get(key)
    toml_path = folder / TOML_NAME
    if value is None:
        if required:
            problems.error(
                toml_path,
                *toml_place(text, "files"),
                f"missing key files.{key} (expected a CSV file name)",
            )
        return None
    if not isinstance(value, str) or not value:
        problems.error(
            toml_path,
            *toml_place(text, "files", key),
            f"bad files.{key} (expected a CSV file name, found {shown(value)})",
        )
        return None
    path = folder / value
    why = file_problem(path, value)
    if why is not None:
        problems.error(toml_path, *toml_place(text, "files", key), f"files.{key}: {why}")
        return None
    return path


def _settings(path: Path, text: str, data: Mapping[str, Any], problems: Problems,
              crisis: bool = False) -> Settings:
    """[settings] as Settings, each problem at its key. In a border-crisis scenario (`crisis`) the
    settings its rules do not read are said at their place, not taken and silently ignored (a
    planner who wrote `camp_weight = 2` believed it did something): a key of CRISIS_UNREAD_SECTIONS
    or a hasten other than 1 is an error (as `--set` and `--hasten` refuse them), log levels a
    warning (they change no number of a run)."""
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        problems.error(path, *toml_place(text, "settings"), "[settings] must be a table")
        return Settings()
    raw = dict(raw)
    # (an unread section's keys are said once, below, not also as "unknown setting" or a bad value)
    unread = {section: raw.pop(section) for section in CRISIS_UNREAD_SECTIONS
              if crisis and isinstance(raw.get(section), dict)}
    settings, found = settings_from_mapping(raw)
    for severity, key, message in found:
        section, _, leaf = key.partition(".")
        line, col = toml_place(text, f"settings.{section}", leaf or None)
        (problems.error if severity == "error" else problems.warn)(
            path, line, col, f"settings.{key}: {message}"
        )
    for section, table in unread.items():
        for key in table:
            problems.error(path, *toml_place(text, f"settings.{section}", key),
                           f"settings.{section}.{key}: {crisis_unread(section)} "
                           f"(expected no settings.{section})")
    settings = settings or Settings()  # (errors above: never used to run)
    if crisis and settings.optimisations.hasten != 1:
        problems.error(path, *toml_place(text, "settings.optimisations", "hasten"),
                       f"settings.optimisations.hasten: {CRISIS_HASTEN} (expected no hasten)")
    if crisis and "log_levels" in raw:
        problems.warn(path, *toml_place(text, "settings.log_levels"),
                      "settings.log_levels: no effect: a border-crisis run records every output "
                      "whatever the log levels")
    return settings


def read_native(folder: Path, problems: Problems) -> Scenario | None:
    """Read a native folder, adding every problem to `problems`; None if it cannot be built."""
    toml_path = folder / TOML_NAME
    data, text = read_toml(toml_path, problems)
    if data is None:
        return None
    _check_keys(toml_path, text, data, problems)
    name, start, days, description = _scenario_table(toml_path, text, data, problems)
    settings = _settings(toml_path, text, data, problems, crisis="crisis" in data)
    files = data.get("files")
    if not isinstance(files, dict):
        problems.error(toml_path, *toml_place(text, "files"),
                       "missing [files] table (expected locations and routes)")
        files = {}
    if "crisis" in data:  # (loaded and checked below as in any scenario; no crisis rule reads them)
        for key in CRISIS_UNREAD_FILES:
            if key in files:
                problems.warn(toml_path, *toml_place(text, "files", key), crisis_unread_file(key))
    loc_path = _file(folder, text, files, "locations", problems, True)
    locations, seen = read_native_locations(loc_path, problems) if loc_path else ([], set())
    if not seen:
        return None  # without locations every name elsewhere would be 'unknown'
    names = {loc.name: i for i, loc in enumerate(locations)}
    names.update({name: -1 for name in seen if name not in names})
    countries = {loc.country for loc in locations}
    loc_file = files.get("locations", "locations.csv")
    routes = []
    route_path = _file(folder, text, files, "routes", problems, True)
    errors_before = len(problems.errors)
    if route_path is not None:
        table, cols, rows = _read_header(problems, route_path, "a header name1,name2,distance_km")
        if table is not None and _require(problems, table, cols, ROUTE_COLUMNS[:3]):
            rc = RouteColumns(
                cols["name1"],
                cols["name2"],
                cols["distance_km"],
                cols.get("forced_redirection", _ABSENT),
            )
            attrs = {p: n for n, p in cols.items() if n not in ROUTE_COLUMNS}
            routes = parse_routes(
                table, rows, problems, names, loc_file, attrs, rc, width=max(cols.values()) + 1
            )
            if "crisis" in data:
                _warn_crisis_unread_route_columns(table, cols, problems)
    # (the routes' place pairs, to warn of link closures between places no route joins)
    joined = ({frozenset((r.a, r.b)) for r in routes}
              if route_path is not None and len(problems.errors) == errors_before else None)
    n_days = days or 0
    closures = []
    closure_path = _file(folder, text, files, "closures", problems, False)
    if closure_path is not None:
        table, cols, rows = _read_header(
            problems, closure_path, "a header kind,name1,name2,start,end"
        )
        if table is not None and _require(problems, table, cols, CLOSURE_COLUMNS):
            cc = ClosureColumns(*(cols[c] for c in CLOSURE_COLUMNS))
            closures = parse_closures(
                table,
                rows,
                problems,
                names,
                countries,
                loc_file,
                days,
                settings.move_rules.fix_link_closures,
                cc,
                routes=joined,
                places={loc.name: loc for loc in locations},
                move_rules=settings.move_rules,
            )
    conflicts = None
    conflict_path = _file(folder, text, files, "conflicts", problems, False)
    if conflict_path is not None:
        table = read_table(conflict_path, problems, "a header day,<location>... and a row per day")
        if table is not None:
            conflicts = parse_conflicts(table, problems, names, loc_file, n_days)
    observations = None
    obs_path = _file(folder, text, files, "observations", problems, False)
    corr_path = _file(folder, text, files, "corrections", problems, False)
    if obs_path is not None and start is not None and locations:
        observations = read_native_observations(
            obs_path, corr_path, problems, locations, start, loc_file, seen
        )
    elif (any(loc.is_camp for loc in locations) and obs_path is None and "observations" not in files
          and "crisis" not in data):  # (the crisis rules need no camp series: Flee's spawning does)
        for loc in locations:
            if loc.is_camp:
                problems.error(
                    folder / loc_file,
                    loc.line,
                    1,
                    f"camp {loc.name!r} has no data series (expected files.observations with its rows)",
                )
                break
    crisis = None
    if "crisis" in data:
        crisis = _read_crisis(folder, data["crisis"], problems, set(names), start, toml_path, text,
                              {frozenset((r.a, r.b)) for r in routes} or None, days,
                              {loc.name for loc in locations if loc.kind == "shelter"})
    if crisis is not None and not problems.errors:  # (places people cannot reach; not on top of errors)
        from .crisis_network import report_network

        report_network(crisis, locations, routes, problems, folder, data["crisis"], loc_path or loc_file)
    _warn_undeclared_provided(folder, data.get("crisis"), problems)
    if problems.errors or start is None or days is None:
        return None
    return Scenario(
        name=name,
        start_date=start,
        days=days,
        locations=tuple(locations),
        routes=tuple(routes),
        closures=tuple(closures),
        conflicts=conflicts,
        observations=observations,
        settings=settings,
        crisis=crisis,
        source=str(folder),
        metadata={
            "format": "native",
            "description": description,
            "warnings": tuple(problems.warnings),
            "files": {k: v for k, v in files.items() if isinstance(v, str)},
        },
    )


#: Flee's route columns that the border-crisis rules do not read, and why.
CRISIS_UNREAD_ROUTE_COLUMNS = {
    "max_move_speed": "give a route its own speed in a speed_km_per_day column (km/day; empty = "
                      "crisis.speed_km_per_day)",
    "walk_probability": "people travel at a route's speed_km_per_day, or else the scenario's",
}


def _warn_crisis_unread_route_columns(table: Table, columns: dict[str, int], problems: Problems) -> None:
    """A warning at the header cell of each Flee route column a border-crisis run ignores: the
    same key under settings.move_rules is refused, so the column must not pass in silence."""
    header_line = next(r.line for r in table.rows if not r.is_blank)
    for name, why in CRISIS_UNREAD_ROUTE_COLUMNS.items():
        if name in columns:
            problems.warn(table.path, header_line, columns[name] + 1,
                          f"{name}: no effect: a border-crisis scenario's rules do not read this "
                          f"routes column; {why}")


def _warn_undeclared_provided(folder: Path, crisis: Any, problems: Problems) -> None:
    """Warn of a provided.csv in the folder that scenario.toml does not name: the needs outputs use
    only what the scenario loaded (`[crisis] provided`, recorded in a run's manifest), so it would
    be silently left out (they used to read it from the folder after the run)."""
    path = folder / "provided.csv"
    if not path.is_file():
        return
    spec = crisis.get("provided") if isinstance(crisis, dict) else None
    named = [f for f in (spec if isinstance(spec, list) else [spec]) if isinstance(f, str) and f]
    here = os.path.normpath(os.path.abspath(path))
    if any(os.path.normpath(os.path.abspath(folder / f)) == here for f in named):
        return
    why = (f"{TOML_NAME}'s [crisis] does not name it (add provided = \"provided.csv\" to [crisis] "
           "for the needs outputs to use it)" if isinstance(crisis, dict)
           else "only a border-crisis scenario's [crisis] provided names what was provided")
    problems.warn(path, 1, 1, f"provided.csv is not read: {why}")


def _read_crisis(
    folder: Path,
    table: Any,
    problems: Problems,
    names: set[str],
    start: dt.date | None,
    toml_path: Path,
    text: str,
    routes: set[frozenset[str]] | None = None,
    days: int | None = None,
    shelters: set[str] | None = None,
) -> Any:
    """Delegate the [crisis] table to native_crisis (written for the border-crisis rules)."""
    try:
        from .native_crisis import read_crisis
    except ImportError:
        problems.error(
            toml_path,
            *toml_place(text, "crisis"),
            "crisis sections need corredor.scenario.native_crisis",
        )
        return None
    if not isinstance(table, dict):
        problems.error(toml_path, *toml_place(text, "crisis"), "[crisis] must be a table")
        return None
    return read_crisis(folder, table, problems, names, start_date=start, toml_path=toml_path,
                       routes=routes, days=days, shelters=shelters)


def load_native(path: str | Path) -> Scenario:
    """Load a native folder (or its scenario.toml); raise ScenarioError listing every problem."""
    folder = Path(path)
    if folder.name == TOML_NAME and folder.is_file():
        folder = folder.parent
    problems = Problems(root=folder)
    scenario = read_native(folder, problems)
    problems.raise_if_errors()
    assert scenario is not None
    from ..plan import with_setting_warnings  # (needs the whole scenario: places, routes, closures)

    return with_setting_warnings(scenario)
