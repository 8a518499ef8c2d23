"""A Flee/FabFlee case folder (input_csv/, source_data/, simsetting.yml) -> Scenario.

Follows Flee 3.1's reading rules (flee-model.md §2) so that a case means in corredor what it
means in Flee, but reports every fault as `path:line:col: message` instead of crashing, and warns
where Flee silently does something surprising (§7.1).

>>> scenario = load_flee("../shared/data/flee/car")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .csvread import (
    Row,
    Table,
    file_problem,
    is_absent,
    parse_date,
    parse_date_text,
    parse_float,
    parse_int,
    read_table,
    read_text,
    start_date_problem,
)
from .model import ConflictTimeline, Location, Observations, Scenario, Series
from .parts import (
    Correction,
    apply_corrections,
    parse_closures,
    parse_conflicts,
    parse_corrections,
    parse_routes,
    read_series_file,
    unknown_location,
)
from .problems import SHOWN_CHARS, Problems, shown
from .settings import Settings, settings_from_mapping

LOCATION_COLUMNS = (
    "name",
    "region",
    "country",
    "gps_x",
    "gps_y",
    "location_type",
    "conflict_date",
    "population/capacity",
)

#: Spellings users see in messages for the Flee location types.
FLEE_TYPES = "camp, idpcamp, conflict_zone, town, default, forwarding_hub, marker, flood_zone"


def kind_from_type(type_text: str) -> str:
    """Flee's substring typing, first match wins (§2.1); 'unknown' when nothing matches."""
    t = type_text.lower()
    if "camp" in t:
        return "idpcamp" if "idp" in t else "camp"
    for needle, kind in (
        ("conflict", "conflict"),
        ("forward", "forward"),
        ("marker", "marker"),
        ("flood_zone", "flood_zone"),
        ("default", "town"),
        ("town", "town"),
    ):
        if needle in t:
            return kind
    return "unknown"


# ---- period and settings ---------------------------------------------------------------------


def read_period(folder: Path, problems: Problems) -> tuple[dt.date | None, int | None]:
    """StartDate and Length from input_csv/sim_period.csv (or Flee 3.1's conflict_period.csv)."""
    # (not only files: a folder or a link to nowhere named sim_period.csv is reported as such)
    found = {p.name.lower(): p for p in (folder / "input_csv").glob("*")}
    sim, conflict = found.get("sim_period.csv"), found.get("conflict_period.csv")
    path = sim or conflict or folder / "input_csv" / "sim_period.csv"
    table = read_table(path, problems, "rows StartDate,YYYY-MM-DD and Length,N")
    if table is None:
        return None, None
    start: dt.date | None = None
    length: int | None = None
    seen: set[str] = set()
    first: dict[str, int] = {}
    for row in table.data_rows():
        key = row.cells[0].strip().strip("'\"").lower()
        if key in first:  # (the later row is the one used)
            problems.warn(table.path, row.line, 1, f"{row.cells[0].strip()} is given again (first on "
                          f"line {first[key]}); this row is used")
        elif key in ("startdate", "length"):
            first[key] = row.line
        else:
            problems.warn(table.path, row.line, 1, f"unknown row {row.cells[0].strip()!r} is ignored "
                          "(expected StartDate or Length)")
        if key == "startdate":
            seen.add(key)
            start = parse_date(problems, table, row, 1, "StartDate")
            if start is not None and (why := start_date_problem(start)):
                problems.error(table.path, row.line, 2, why)
                start = None
        elif key == "length":
            seen.add(key)
            length = parse_int(problems, table, row, 1, "Length")
            if length is not None and length < 1:
                problems.error(
                    table.path,
                    row.line,
                    2,
                    f"bad Length (expected a number of days ≥ 1, found {length})",
                )
                length = None
    for key, label in (("startdate", "StartDate,YYYY-MM-DD"), ("length", "Length,N")):
        if key not in seen:
            problems.error(table.path, table.after_last, 1, f"missing row (expected {label})")
    if sim and conflict and start and length:
        other = read_table(conflict, Problems(problems.root), "period")
        if other is not None:
            vals = {r.cells[0].lower(): r.get(1) for r in other.data_rows()}
            at = {r.cells[0].lower(): r.line for r in other.data_rows()}
            other_start = parse_date_text(vals.get("startdate", ""))
            if other_start != start or vals.get("length") != str(length):
                key = "startdate" if other_start != start else "length"
                problems.warn(
                    conflict,
                    at.get(key, other.after_last),
                    2 if key in at else 1,
                    "differs from sim_period.csv, which corredor uses (Flee 3.1 reads this file)",
                )
    return start, length


#: Limits on simsetting.yml's shape. Flee's settings nest three levels deep and the longest holds
#: a list of decay factors; YAML allows far more: lists nested beyond what Python's stack can
#: build, and aliases that repeat a list a billion times from a few lines (a "YAML bomb").
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 100_000


class YAMLRefused(yaml.MarkedYAMLError):
    """A YAML document refused before it is built; `problem` says why, at `problem_mark`."""


class _SettingsLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses an alias inside its own anchor (a structure that
    contains itself) and remembers where each alias is used, to name it if it expands too much."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.open_anchors: list[str] = []
        self.alias_marks: dict[tuple[int, object], Any] = {}  # (parent node id, index) -> mark

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open_anchors:
                raise YAMLRefused(
                    None, None,
                    f"an alias refers to itself (*{event.anchor} is inside the &{event.anchor} "
                    "it names, which would make a value that contains itself)",
                    event.start_mark,
                )
            node = super().compose_node(parent, index)
            if parent is not None:
                self.alias_marks[(id(parent), _edge(index))] = event.start_mark
            return node
        anchor = getattr(event, "anchor", None)
        if anchor is None or not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self.open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self.open_anchors.pop()


def _edge(index: Any) -> object:
    """How a child hangs from its parent: a list position, or the id of its mapping key node."""
    return index if isinstance(index, int) or index is None else id(index)


def _check_shape(root: Any, alias_marks: dict[tuple[int, object], Any]) -> None:
    """Refuse (YAMLRefused) a tree nested deeper than MAX_YAML_DEPTH, or one whose aliases would
    expand to more than MAX_YAML_NODES values, before anything is built from it."""
    stack: list[tuple[Any, int, Any]] = [(root, 1, None)]  # node, depth, first alias on the way
    visits = 0
    while stack:
        node, depth, via = stack.pop()
        visits += 1
        if depth > MAX_YAML_DEPTH:
            raise YAMLRefused(
                None, None,
                f"nested too deeply (more than {MAX_YAML_DEPTH} levels of lists or mappings)",
                node.start_mark,
            )
        if visits > MAX_YAML_NODES:
            raise YAMLRefused(
                None, None,
                f"too many aliases expanded (a YAML bomb?): the settings would hold more than "
                f"{MAX_YAML_NODES:,} values",
                via or node.start_mark,
            )
        children: list[tuple[object, Any]] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                children += [(None, key_node), (id(key_node), value_node)]
        for edge, child in reversed(children):  # (reversed: visited in the file's order)
            stack.append((child, depth + 1, via or alias_marks.get((id(node), edge))))


def _deep_nesting_mark(text: str) -> tuple[int, int]:
    """1-based (line, column) where lists or mappings first nest deeper than MAX_YAML_DEPTH,
    found with PyYAML's scanner (which, unlike its composer, does not recurse); (1, 1) if none."""
    depth = 0
    opening = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
               yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)
    closing = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, opening):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return (token.start_mark.line + 1, token.start_mark.column + 1)
            elif isinstance(token, closing):
                depth -= 1
    except yaml.YAMLError:
        pass
    return (1, 1)


def _bad_scalar_mark(root: Any) -> tuple[int, int]:
    """1-based (line, column) of the first scalar that YAML parses but cannot build (1, 1 if
    none)."""
    stack = [root]
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(node, deep=True)
            except Exception:  # the constructor's own error: this is the culprit
                return (node.start_mark.line + 1, node.start_mark.column + 1)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return (1, 1)


def _yaml_key_marks(node: yaml.Node | None, prefix: str = "") -> dict[str, tuple[int, int]]:
    """Dotted key -> (1-based line, column) of each mapping key in a composed YAML tree."""
    marks: dict[str, tuple[int, int]] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            marks[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            marks.update(_yaml_key_marks(value_node, key + "."))
    return marks


def yaml_key_place(text: str, key: str) -> tuple[int, int]:
    """1-based (line, column) of dotted `key` (e.g. "move_rules.fixed_routes") in simsetting.yml's
    `text`; 1:1 where it is not written or the text does not compose (for a problem found after
    loading, at the key that sets it)."""
    try:
        node = _SettingsLoader(text).get_single_node()
    except Exception:  # noqa: BLE001 - the reader has reported it already; here, no place
        return 1, 1
    return _yaml_key_marks(node).get(key, (1, 1))


def _repeated_yaml_keys(node: yaml.Node | None, prefix: str = "") -> list[tuple[str, int, int, int]]:
    """(dotted key, line, column, line of its first occurrence) of every mapping key given again
    in the same mapping (YAML loaders keep the last silently: a second `move_rules:` section
    replaces the whole first one)."""
    found: list[tuple[str, int, int, int]] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            line = key_node.start_mark.line + 1
            if key in first:
                found.append((key, line, key_node.start_mark.column + 1, first[key]))
            else:
                first[key] = line
            found += _repeated_yaml_keys(value_node, key + ".")
    return found


def read_settings_yaml(path: Path, problems: Problems) -> Settings:
    """simsetting.yml through `settings_from_mapping`; problems point at the key's line."""
    if is_absent(path):
        problems.warn(path, 0, 0, "missing file; using Flee 3.1's default settings")
        return Settings()
    text = read_text(path, problems, "Flee settings in YAML")
    if text is None:
        return Settings()
    try:
        loader = _SettingsLoader(text)  # (its reader refuses control characters at once)
        node = loader.get_single_node()
        _check_shape(node, loader.alias_marks)
    except YAMLRefused as exc:
        mark = exc.problem_mark
        problems.error(path, mark.line + 1, mark.column + 1, str(exc.problem))
        return Settings()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.error(path, line, col, f"bad YAML ({exc.problem or exc.context})")
        return Settings()
    except yaml.YAMLError as exc:
        problems.error(path, 1, 1, f"bad YAML ({exc})")
        return Settings()
    except RecursionError:  # the composer recurses once per level: beyond Python's stack
        problems.error(
            path,
            *_deep_nesting_mark(text),
            f"nested too deeply (more than {MAX_YAML_DEPTH} levels of lists or mappings)",
        )
        return Settings()
    marks = _yaml_key_marks(node)  # (before building: merge keys `<<` rewrite the tree)
    for key, line, col, before in _repeated_yaml_keys(node):
        problems.warn(path, line, col, f"{key} is given again (first on line {before}); the "
                      "later one is used and the first is ignored")
    try:
        data: Any = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.error(path, line, col, f"bad YAML ({exc.problem or exc.context})")
        return Settings()
    except (ValueError, TypeError, OverflowError) as exc:
        # safe_load's constructors raise these for values such as the date 2020-02-30
        line, col = _bad_scalar_mark(node)
        problems.error(path, line, col, f"bad YAML value ({exc})")
        return Settings()
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.error(
            path, 1, 1, f"expected a mapping of settings sections, found {type(data).__name__}"
        )
        return Settings()
    data = _string_keys(data, marks, path, problems)
    settings, found = settings_from_mapping(data)
    for severity, key, message in found:
        line, col = _closest_mark(marks, key)
        (problems.error if severity == "error" else problems.warn)(
            path, line, col, f"{key}: {message}"
        )
    return settings or Settings()


def _string_keys(
    data: dict[Any, Any], marks: dict[str, tuple[int, int]], path: Path, problems: Problems
) -> dict[str, Any]:
    """The mapping with keys that are not names (numbers, lists…) reported and dropped.

    Looks two levels deep: sections and the settings in them.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            problems.error(
                path, *_closest_mark(marks, str(key)), f"expected a section name, found {shown(key, 'mapping')}"
            )
            continue
        if isinstance(value, dict):
            clean = {}
            for sub, v in value.items():
                if isinstance(sub, str):
                    clean[sub] = v
                else:
                    problems.error(
                        path,
                        *_closest_mark(marks, f"{key}.{sub}"),
                        f"{key}: expected a setting name, found {shown(sub, 'mapping')}",
                    )
            value = clean
        out[key] = value
    return out


def _closest_mark(marks: dict[str, tuple[int, int]], key: str) -> tuple[int, int]:
    """Mark of `key`, or of its nearest enclosing key (1, 1 when none is written: the file's
    start, so that every problem has a place)."""
    parts = key.split(".")
    while parts:
        dotted = ".".join(parts)
        if dotted in marks:
            return marks[dotted]
        parts.pop()
    return (1, 1)


# ---- locations ---------------------------------------------------------------------------------


def unmarked_header(table: Table, problems: Problems, first_cells: tuple[str, ...]) -> list[Row]:
    """Data rows, less a header row written without Flee's leading '#' (reported as an error).

    Flee would read such a row as data and crash on it; saying what it is helps more than the
    'bad number' it would otherwise cause.
    """
    rows = table.data_rows()
    if rows and rows[0].cells[0].strip("'\"").lower() in first_cells:
        problems.error(
            table.path,
            rows[0].line,
            1,
            f"header row without '#' (expected '#{rows[0].cells[0]},...'; Flee reads "
            "rows not starting with '#' as data)",
        )
        return rows[1:]
    return rows


def read_locations(table: Table, problems: Problems) -> tuple[list[Location], set[str]]:
    """locations.csv: 8 positional columns, then attributes named by a '#' header of > 8 cells.

    Returns the locations and every name seen (also on rows with errors, so that other files
    are not blamed for naming them).
    """
    attr_names: list[str] = []
    for row in table.rows:
        if row.is_comment and len(row.cells) > 8:
            attr_names = list(row.cells[8:])
            break
    allowed = 8 + len(attr_names)
    out: list[Location] = []
    first_line: dict[str, int] = {}
    folded: dict[str, str] = {}  # case-folded name -> the first name spelt so
    for row in unmarked_header(table, problems, ("name", "location", "location_name")):
        if len(row.cells) < 8:
            problems.error(
                table.path,
                row.line,
                len(row.cells) + 1,
                f"missing columns (expected 8: {', '.join(LOCATION_COLUMNS)}; found {len(row.cells)})",
            )
            continue
        if len(row.cells) > allowed and any(row.cells[allowed:]):
            problems.error(
                table.path,
                row.line,
                allowed + 1,
                f"unnamed extra cells (expected at most {allowed} cells, found {len(row.cells)});"
                " name attribute columns in a '#' header row",
            )
            continue
        name = row.cells[0]
        if not name:
            problems.error(table.path, row.line, 1, "missing location name")
            continue
        if name in first_line:
            problems.error(
                table.path,
                row.line,
                1,
                f"duplicate location name {name!r} (first on line {first_line[name]})",
            )
            continue
        alike = folded.setdefault(name.casefold(), name)
        if alike != name:  # (two places, as the files say; most likely one, mistyped)
            problems.warn(table.path, row.line, 1,
                          f"location name {name!r} differs from {alike!r} (line "
                          f"{first_line[alike]}) only in upper/lower case; they are two places")
        first_line[name] = row.line
        ok = True
        lat = parse_float(problems, table, row, 3, "gps_x (latitude)", empty=0.0)
        lon = parse_float(problems, table, row, 4, "gps_y (longitude)", empty=0.0)
        for value, col, what, limit in ((lat, 4, "gps_x (latitude)", 90.0), (lon, 5, "gps_y (longitude)", 180.0)):
            if value is not None and not -limit <= value <= limit:  # Flee runs it (it reads km from
                problems.warn(table.path, row.line, col,  # routes.csv); maps and GeoJSON cannot
                              f"{what} {value:g} is not in degrees (expected {-limit:g} to {limit:g}); "
                              "maps will misplace it and `corredor convert` refuses it")
        if lat == 0 and lon == 0:
            problems.warn(table.path, row.line, 4, "no coordinates (gps_x and gps_y empty or 0): the "
                          "run reads distances from routes.csv, but maps and locations.geojson leave "
                          "the place out (expected its latitude and longitude in degrees)")
        type_raw = row.cells[5]
        effective = type_raw
        conflict_date: int | None = None
        if "conflict" in type_raw.lower():
            conflict_date = parse_int(problems, table, row, 6, "conflict_date")
            if conflict_date is None:
                ok = False
            elif conflict_date > 0:
                effective = "town"
        kind = kind_from_type(effective)
        if kind == "unknown":
            problems.warn(
                table.path,
                row.line,
                6,
                f"unknown location type {type_raw!r} (expected one of {FLEE_TYPES}); "
                "Flee gives it move chance 1 and no flags",
            )
        size = parse_int(problems, table, row, 7, "population/capacity", empty=0)
        if size is not None and size < 0:
            problems.error(
                table.path,
                row.line,
                8,
                f"negative population/capacity (expected ≥ 0, found {size})",
            )
            size = None
        # empty attribute cells are left out (as in the native format)
        attrs = {attr_names[i - 8]: row.cells[i] for i in range(8, len(row.cells)) if row.cells[i]}
        if "conflict_intensity" in attrs:
            col = 8 + attr_names.index("conflict_intensity")
            if parse_float(problems, table, row, col, "conflict_intensity") is None:
                ok = False
        if not ok or lat is None or lon is None or size is None:
            continue
        camp = kind in ("camp", "idpcamp")
        out.append(
            Location(
                name=name,
                country=row.cells[2] or "unknown",
                region=row.cells[1] or "unknown",
                lat=lat,
                lon=lon,
                kind=kind,
                type_raw=type_raw,
                conflict_date=conflict_date,
                population=0 if camp else size,
                capacity=size if camp else -1,
                attributes=attrs,
                line=row.line,
            )
        )
    if not out and not problems.errors:
        problems.error(
            table.path, table.after_last, 1, "no locations (expected at least one data row)"
        )
    return out, set(first_line)


def _attribute_header(table: Table, fixed: int) -> dict[int, str]:
    """Attribute columns named by the first '#' row with more than `fixed` cells."""
    for row in table.rows:
        if row.is_comment and len(row.cells) > fixed:
            return {i: row.cells[i] for i in range(fixed, len(row.cells)) if row.cells[i]}
    return {}


# ---- source data --------------------------------------------------------------------------------


def read_observations(
    folder: Path,
    problems: Problems,
    locations: list[Location],
    start_date: dt.date,
    days: int | None = None,
) -> Observations | None:
    """source_data/data_layout.csv, its series files and input_csv/registration_corrections.csv.

    With `days` (the period), a day on which the total is 0 while the camps' series are not is
    warned of at the total file's row: Flee's out.csv writes its totals as 0 on such a day."""
    src = folder / "source_data"
    layout = read_table(
        src / "data_layout.csv", problems, "rows name,file.csv (first row: total,refugees.csv)"
    )
    if layout is None:
        return None
    names = {loc.name: i for loc, i in zip(locations, range(len(locations)), strict=True)}
    by_name = {loc.name: loc for loc in locations}
    rows = [r for r in layout.data_rows() if len(r.cells) > 1]
    entries: list[tuple[str, tuple[str, ...], Row]] = []
    first_line: dict[str, int] = {}
    for k, row in enumerate(rows):
        key = row.cells[0]
        files = tuple(f for f in row.cells[1:] if f)
        if k == 0 and key != "total":
            problems.error(
                layout.path,
                row.line,
                1,
                f"first row must be the total series (expected 'total', found {shown(key)})",
            )
            first_line[key] = row.line  # (the row is there, misplaced: one problem, one message)
            continue
        if k > 0 and key == "total":
            problems.error(layout.path, row.line, 1, "'total' must be the first row only")
            continue
        if key in first_line:
            problems.error(
                layout.path,
                row.line,
                1,
                f"duplicate series {key!r} (first on line {first_line[key]})",
            )
            continue
        first_line[key] = row.line
        if k > 0 and key not in names:
            problems.warn(
                layout.path,
                row.line,
                1,
                unknown_location(key, names, "input_csv/locations.csv")
                + "; Flee 3.1 reads this series but never uses it (spawn_rules.sum_from_camps adds "
                "it to the spawn total)",
            )
        elif k > 0 and not by_name[key].is_camp:
            problems.warn(
                layout.path,
                row.line,
                1,
                f"{key!r} is not a camp; Flee 3.1 reads its series but never uses it "
                "(spawn_rules.sum_from_camps adds it to the spawn total)",
            )
        if not files:
            problems.error(layout.path, row.line, 2, "missing file name (expected name,file.csv)")
            continue
        entries.append((key, files, row))
    if not rows:
        problems.error(
            layout.path,
            layout.after_last,
            1,
            "no rows (expected total,refugees.csv and one row per camp)",
        )
    for loc in locations:
        if loc.is_camp and loc.name not in first_line:
            problems.error(
                folder / "input_csv" / "locations.csv",
                loc.line,
                1,
                f"camp {loc.name!r} has no data series (expected a row '{loc.name},<file>.csv' in "
                "source_data/data_layout.csv)",
            )
    parts_by_name: dict[str, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]] = {}
    total_lines: list[int] = []  # (the lines of the total's first file, one per point)
    for key, files, row in entries:
        parts = []
        for offset, file in enumerate(files):
            path = src / file
            named = file if os.path.isabs(file) else f"source_data/{file}"
            why = file_problem(path, named if named.isprintable() and len(named) <= SHOWN_CHARS
                               else shown(named))
            if why is not None and _name_is_the_problem(path, file):  # (else the reader says why)
                if "\n" in file or "\r" in file:
                    why += " (a line break in the name: is a quote left open?)"
                problems.error(layout.path, row.line, offset + 2, why)
                continue
            lines_out = total_lines if key == "total" and offset == 0 else None
            part = read_series_file(path, problems, start_date, lines_out=lines_out)
            if part is not None:
                parts.append(part)
        if len(parts) == len(files):
            parts_by_name[key] = tuple(parts)
    corrections: list[Correction] = []
    corr_path = folder / "input_csv" / "registration_corrections.csv"
    if not is_absent(corr_path):
        table = read_table(corr_path, problems, "rows name,YYYY-MM-DD")
        if table is not None:
            corrections = parse_corrections(
                table, problems, {k for k, _, _ in entries}, "source_data/data_layout.csv"
            )
    series: dict[str, Series] = {}
    for key, files, _ in entries:
        if key not in parts_by_name:
            continue
        series[key] = apply_corrections(
            key,
            files,
            parts_by_name[key],
            [c for c in corrections if c.series == key],
            start_date,
            problems,
            corr_path,
        )
    total = series.pop("total", None)
    camps = {k: v for k, v in series.items() if k in by_name and by_name[k].is_camp}
    extra = {k: v for k, v in series.items() if k not in camps}
    if total is not None and days is not None and not problems.errors:
        first = src / next(files for key, files, _ in entries if key == "total")[0]
        _warn_zero_total(first, total, camps, total_lines, start_date, days, problems)
    return Observations(total, camps, extra)


def _warn_zero_total(path: Path, total: Series, camps: dict[str, Series], lines: list[int],
                     start_date: dt.date, days: int, problems: Problems) -> None:
    """Warn, at the total file's row that gives the day, of days on which the total is 0 while the
    camps hold people. Flee 3.1 writes out.csv's six totals columns as 0 on such a day (raw count
    0), so Flee's scripts score the day against a camp total of 0, unlike corredor's ARD, which
    reads the camps' own data (docs/validation.md)."""
    if not camps or len(lines) != len(total.parts[0][0]):
        return
    # (every series is constant after its last point: the days to the last point of any, and one
    # more, say all; a later bad day repeats that one, to the end of a period of any length)
    last = max((int(d) for s in (total, *camps.values()) for d in s.days), default=0)
    n = max(0, min(days, last + 2))
    in_camps = np.sum([c.daily(n) for c in camps.values()], axis=0)
    bad = np.flatnonzero((total.daily(n) == 0) & (in_camps > 0)).tolist()
    tail = days - n if bad and bad[-1] == n - 1 else 0  # (the days after the window, all alike)
    file_days = total.parts[0][0]
    by_row: dict[int, list[int]] = {}
    for t in bad:  # the latest row dated at or before day t (the first row if none is)
        at = max((i for i, d in enumerate(file_days) if d <= t), default=0,
                 key=lambda i: file_days[i])
        by_row.setdefault(lines[at], []).append(t)
    for line, ts in by_row.items():
        t = ts[0]
        extra = tail if ts[-1] == n - 1 else 0
        end = ts[-1] + extra
        count = len(ts) - 1 + extra
        more = f" (and on {count} more days, to day {end})" if count else ""
        problems.warn(path, line, 2,
                      f"total 0 on day {t} ({start_date + dt.timedelta(days=t)}) while the camp "
                      f"series hold {int(in_camps[t])} people{more}: Flee's out.csv writes its six "
                      "totals columns as 0 on such a day, so Flee's scripts score it against a camp "
                      "total of 0, and corredor's ARD (from the camps' data) differs from theirs "
                      "(docs/validation.md)")


def _name_is_the_problem(path: Path, name: str) -> bool:
    """True when the file a data_layout row names, which cannot be read, is missing or has a name
    that cannot be a file's (a line break from a quote left open, too long for the system, one
    that names a folder: '.', '..', '/', 'x/'): the row is where to say so; a file there that
    cannot be read is named itself."""
    if is_absent(path) or not name.isprintable():
        return True
    if name.endswith("/") or name.rsplit("/", 1)[-1] in (".", ".."):
        return True  # (the folder itself was named as the file: "source_data: is a folder")
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ENAMETOOLONG
    return False


# ---- the folder ---------------------------------------------------------------------------------


def read_flee(folder: Path, problems: Problems) -> Scenario | None:
    """Read a Flee case folder, adding every problem to `problems`; None if it cannot be built."""
    inp = folder / "input_csv"
    start, days = read_period(folder, problems)
    settings = read_settings_yaml(folder / "simsetting.yml", problems)
    loc_table = read_table(inp / "locations.csv", problems, "Flee locations (8 columns per row)")
    locations, seen = read_locations(loc_table, problems) if loc_table else ([], set())
    if loc_table is None:
        # without locations every name elsewhere would be 'unknown': report the file only
        return None
    names = {loc.name: i for i, loc in enumerate(locations)}
    names.update({name: -1 for name in seen if name not in names})
    countries = {loc.country for loc in locations}
    where = "input_csv/locations.csv"
    routes = []
    route_table = read_table(
        inp / "routes.csv", problems, "rows name1,name2,distance[,forced_redirection]"
    )
    errors_before = len(problems.errors)
    if route_table is not None:
        routes = parse_routes(
            route_table,
            unmarked_header(route_table, problems, ("name1", "from", "source")),
            problems,
            names,
            where,
            _attribute_header(route_table, 4),
        )
        if not route_table.data_rows():
            problems.error(route_table.path, route_table.after_last, 1,
                           "no routes (expected rows name1,name2,distance)")
    # (the routes' place pairs, to warn of link closures between places no route joins)
    joined = ({frozenset((r.a, r.b)) for r in routes}
              if route_table is not None and len(problems.errors) == errors_before else None)
    closures = []
    n_days = days or 0
    if not is_absent(inp / "closures.csv"):
        table = read_table(inp / "closures.csv", problems, "rows type,name1,name2,start,end")
        if table is not None:
            closures = parse_closures(
                table,
                unmarked_header(table, problems, ("closure_type", "type")),
                problems,
                names,
                countries,
                where,
                days,
                settings.move_rules.fix_link_closures,
                routes=joined,
                places={loc.name: loc for loc in locations},
                move_rules=settings.move_rules,
            )
    conflicts = None
    conflicts_absent = is_absent(inp / "conflicts.csv")
    if not conflicts_absent:
        table = read_table(
            inp / "conflicts.csv", problems, "a header of location names and a row per day"
        )
        if table is not None:
            conflicts = parse_conflicts(table, problems, names, where, n_days)
    if conflicts is not None or conflicts_absent:
        _warn_unused_conflict_dates(loc_table, locations, conflicts, problems)
    observations = None
    if start is not None and locations:
        observations = read_observations(folder, problems, locations, start, days)
    provided: tuple[dict[str, Any], ...] = ()
    if not is_absent(folder / "provided.csv") and locations:  # (docs/outputs.md, "Provided")
        from .native_crisis import read_provided

        provided = read_provided(folder / "provided.csv", problems, {loc.name for loc in locations}, start, days)
    if problems.errors or start is None or days is None:
        return None
    return Scenario(
        name=folder.resolve().name,
        start_date=start,
        days=days,
        locations=tuple(locations),
        routes=tuple(routes),
        closures=tuple(closures),
        conflicts=conflicts,
        observations=observations,
        settings=settings,
        source=str(folder),
        metadata={"format": "flee", "warnings": tuple(problems.warnings),
                  **({"sources": observed_sources(folder, observations)} if observations is not None else {}),
                  # (what was provided: the run's manifest records it for the needs' gaps)
                  **({"provided": provided} if provided else {})},
    )


#: Whose figures a Flee case's observed series are (the FabFlee cases collect UNHCR's registration
#: data per camp: data/flee/README.md).
OBSERVED_BY = "UNHCR refugee registration figures, as the Flee (FabFlee) case collects them"


def observed_sources(folder: Path, observations: Observations) -> tuple[dict[str, str], ...]:
    """Where a case's observed series come from, as a run's manifest lists its `sources` (so that
    its page credits them from the run folder alone): UNHCR, the case's source_data/data_layout.csv
    and the series files it names, and a text file of source_data/ whose name names the source
    (mali2012's source-data-unhcr-pdf-reports.txt), by its name."""
    series = ([observations.total] if observations.total is not None else []) + list(observations.camps.values())
    files = sorted({f for s in series for f in s.files})
    named = sorted(p.name for p in (folder / "source_data").glob("*.txt") if "source" in p.name.lower())
    where = (f"{OBSERVED_BY}: source_data/data_layout.csv and its {len(files)} series file"
             f"{'s' if len(files) != 1 else ''} ({', '.join(files)})"
             + (f"; the case names its source in {', '.join(named)}" if named else ""))
    return ({"what": "observed refugee counts in the camps (the observations on this page)", "source": where},)


def _warn_unused_conflict_dates(table: Table, locations: list[Location],
                                conflicts: ConflictTimeline | None, problems: Problems) -> None:
    """Warn of a conflict-typed place with conflict_date > 0 that conflicts.csv never names: Flee
    3.1 makes it a town and reads its onset only from conflicts.csv, so it is a town for the
    whole run, whatever the column's name suggests (`conflicts` None: there is no conflicts.csv)."""
    named = set(conflicts.names) if conflicts is not None else set()
    for loc in locations:
        if loc.conflict_date is None or loc.conflict_date <= 0 or loc.name in named:
            continue
        where = (f"which has no {loc.name!r} column" if conflicts is not None
                 else "and there is no conflicts.csv")
        problems.warn(table.path, loc.line, 7,
                      f"conflict_date {loc.conflict_date} > 0: Flee makes {loc.name!r} a town; it "
                      f"becomes a conflict zone only through conflicts.csv, {where} (so it never "
                      "sends anyone)")


def load_flee(path: str | Path) -> Scenario:
    """Load a Flee case folder; raise ScenarioError listing every problem (warnings attached).

    Warnings of a successful load are in `scenario.metadata["warnings"]`.
    """
    folder = Path(path)
    problems = Problems(root=folder)
    scenario = read_flee(folder, problems)
    problems.raise_if_errors()
    assert scenario is not None
    from ..plan import with_setting_warnings  # (needs the whole scenario: places, routes, closures)

    return with_setting_warnings(scenario)
