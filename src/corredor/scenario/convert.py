"""Write a Scenario as a native folder (scenario.toml + CSVs): what `corredor convert` does.

Written so that `load_native(dest)` gives back the same Scenario (all but `source`, `metadata`
and the line numbers). The folder is written under a temporary name beside `dest` and renamed
into place, so a failed write never leaves half a scenario.

>>> write_native(load_scenario("../shared/data/flee/car"), "car-native")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..targets import check_replaceable, swap_in
from .model import Scenario, Series
from .native import CLOSURE_COLUMNS, LOCATION_COLUMNS, ROUTE_COLUMNS, TOML_NAME
from .problems import Problem, ScenarioError

#: HXL hashtags written under the header of locations.csv (https://hxlstandard.org).
LOCATION_HXL = {
    "name": "#loc+name",
    "country": "#country+name",
    "region": "#adm1+name",
    "lat": "#geo+lat",
    "lon": "#geo+lon",
    "kind": "#loc+type",
    "flee_type": "#loc+type+flee",
    "conflict_date": "#date+conflict",
    "population": "#population",
    "capacity": "#capacity",
}


class DestinationExists(Exception):
    """The destination folder exists and `force` was not given."""


def _number(x: float) -> str:
    """A float as text that reads back to the same float; whole numbers without '.0'."""
    if math.isfinite(x) and x == int(x) and abs(x) < 2**53:
        return str(int(x))
    return repr(float(x))


def _csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]], hxl: Iterable[str] = ()) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    hxl = list(hxl)
    if hxl:
        w.writerow(hxl)
    for row in rows:
        w.writerow(row)
    return buf.getvalue()


# ---- TOML -------------------------------------------------------------------------------------


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


#: First line of a scenario.toml that `corredor convert` wrote (targets.py: `--force` may replace
#: such a folder, never a hand-written scenario, and only while it holds just what convert wrote,
#: unedited: `conversion_changes`)
CONVERTED_HEADER = "# written by corredor convert"

#: The rest of that line: the digest of every file convert wrote (`conversion_digest`). On the
#: same line, so that the lines of scenario.toml are numbered as before.
_DIGEST_NOTE = ("; sha256 {digest} of what it wrote (once this folder is edited or added to, "
                "--force no longer replaces it)")
_DIGEST = re.compile(re.escape(CONVERTED_HEADER) + r"; sha256 ([0-9a-f]{64}) ")


def conversion_digest(files: Mapping[str, bytes]) -> str:
    """The sha256 (hex) of a converted folder's files, `{name: bytes}`, in name order; its
    scenario.toml is taken without its first line (the header, which holds this digest)."""
    h = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def is_conversion(folder: Path) -> bool:
    """Whether `folder`'s scenario.toml starts with `corredor convert`'s header (edited or not)."""
    try:
        with (folder / TOML_NAME).open(encoding="utf-8") as fh:
            first = fh.readline().rstrip("\r\n")
    except (OSError, ValueError):
        return False
    return first == CONVERTED_HEADER or first.startswith(CONVERTED_HEADER + ";")


def conversion_changes(folder: Path, ignore: Callable[[str], bool] = lambda name: False) -> str | None:
    """None when `folder` holds just what `corredor convert` wrote there, unedited (its files and
    their digest in scenario.toml's first line); else what differs, for a refusal: a converted
    scenario is where a researcher starts editing, and once edited or added to it is theirs.
    Entries for which `ignore(name)` holds (a killed writer's leftovers) do not count."""
    try:
        toml = (folder / TOML_NAME).read_bytes()
        lines = toml.splitlines(keepends=True)
        recorded = _DIGEST.match(lines[0].decode("utf-8")) if lines else None
        if recorded is None:
            return ("its scenario.toml records no digest of what convert wrote (an earlier "
                    "corredor's conversion, or its first line was edited), so edits cannot be told")
        listed = tomllib.loads(toml.decode("utf-8")).get("files", {})
        if not isinstance(listed, dict):
            return "its files were changed since convert wrote them"
        names = {TOML_NAME, *(v for v in listed.values() if isinstance(v, str))}
        present = {e.name for e in os.scandir(folder) if not ignore(e.name)}
        extra = sorted(present - names)
        if extra:
            shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
            return f"it holds {shown}, which convert did not write"
        files = {name: (folder / name).read_bytes() for name in names}
        files[TOML_NAME] = b"".join(lines[1:])
    except (OSError, ValueError, IndexError):  # (ValueError: bad UTF-8 or TOML)
        return "its files were changed since convert wrote them"
    if conversion_digest(files) != recorded[1]:
        return "its files were changed since convert wrote them"
    return None


def toml_text(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """A TOML document of `{table name: {key: value}}` (values: scalars, dates, lists, mappings)."""
    out: list[str] = []
    for name, table in tables.items():
        out.append(f"[{name}]")
        for key, value in table.items():
            if value is None:
                continue
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
        out.append("")
    return "\n".join(out)


# ---- the tables -----------------------------------------------------------------------------------


def _locations_csv(scenario: Scenario) -> str:
    attrs: list[str] = []
    for loc in scenario.locations:
        for key in loc.attributes:
            if key not in attrs and key not in LOCATION_COLUMNS:
                attrs.append(key)
    header = [*LOCATION_COLUMNS, *attrs]
    rows = []
    for loc in scenario.locations:
        rows.append(
            [
                loc.name,
                loc.country,
                loc.region,
                _number(loc.lat),
                _number(loc.lon),
                loc.kind,
                loc.type_raw,
                "" if loc.conflict_date is None else loc.conflict_date,
                loc.population,
                loc.capacity,
                *(loc.attributes.get(a, "") for a in attrs),
            ]
        )
    hxl = [LOCATION_HXL[c] for c in LOCATION_COLUMNS] + [
        "#meta+" + re.sub(r"[^a-z0-9]", "", a.lower()) for a in attrs
    ]
    return _csv_text(header, rows, hxl)


def _routes_csv(scenario: Scenario) -> str:
    attrs: list[str] = []
    for r in scenario.routes:
        for key in r.attributes:
            if key not in attrs and key not in ROUTE_COLUMNS:
                attrs.append(key)
    rows = [
        [
            r.a,
            r.b,
            _number(r.distance_km),
            r.forced_redirection,
            *(r.attributes.get(a, "") for a in attrs),
        ]
        for r in scenario.routes
    ]
    return _csv_text([*ROUTE_COLUMNS, *attrs], rows)


def _closures_csv(scenario: Scenario) -> str:
    rows = [[c.kind, c.name1, c.name2, c.start, c.end] for c in scenario.closures]
    return _csv_text(CLOSURE_COLUMNS, rows)


def _conflicts_csv(scenario: Scenario) -> str:
    assert scenario.conflicts is not None
    tl = scenario.conflicts
    rows = [
        [k, *(_number(float(v)) for v in tl.intensity[k])] for k in range(tl.intensity.shape[0])
    ]
    return _csv_text(["day", *tl.names], rows)


def _series_rows(series: Series, start: dt.date) -> list[list[Any]]:
    rows: list[list[Any]] = []
    parts = series.parts or ((series.days, tuple(int(v) for v in series.values)),)
    files = (
        series.files
        if len(series.files) == len(parts)
        else tuple(f"part{i}" for i in range(len(parts)))
    )
    seen: dict[str, int] = {}
    for file, (days, counts) in zip(files, parts, strict=True):
        n = seen[file] = seen.get(file, 0) + 1
        if n > 1:  # the same file listed twice is two parts in Flee (summed): keep them apart
            file = f"{file}#{n}"
        for day, count in zip(days, counts, strict=True):
            rows.append(
                [series.name, (start + dt.timedelta(days=int(day))).isoformat(), int(count), file]
            )
    return rows


def _observations(scenario: Scenario) -> tuple[str, str | None]:
    obs = scenario.observations
    assert obs is not None
    rows: list[list[Any]] = []
    corrections: list[list[Any]] = []
    all_series = (
        [s for s in (obs.total,) if s is not None]
        + list(obs.camps.values())
        + list(obs.extra.values())
    )
    for s in all_series:
        rows += _series_rows(s, scenario.start_date)
        for day in s.corrections:
            corrections.append(
                [s.name, (scenario.start_date + dt.timedelta(days=int(day))).isoformat()]
            )
    corr = _csv_text(["series", "date"], corrections) if corrections else None
    return _csv_text(["series", "date", "value", "file"], rows), corr


def _settings_tables(scenario: Scenario) -> dict[str, dict[str, Any]]:
    data = scenario.settings.model_dump()
    tables: dict[str, dict[str, Any]] = {}
    for section in ("spawn_rules", "move_rules", "optimisations", "log_levels"):
        values = {k: v for k, v in (data.get(section) or {}).items() if v is not None}
        if values or section != "log_levels":
            tables[f"settings.{section}"] = values
    return tables


def native_files(scenario: Scenario, description: str = "") -> dict[str, str]:
    """File name -> text of the native folder for `scenario` (crisis parts are not written)."""
    files: dict[str, str] = {
        "locations.csv": _locations_csv(scenario),
        "routes.csv": _routes_csv(scenario),
    }
    file_keys: dict[str, str] = {"locations": "locations.csv", "routes": "routes.csv"}
    if scenario.closures:
        files["closures.csv"] = _closures_csv(scenario)
        file_keys["closures"] = "closures.csv"
    if scenario.conflicts is not None:
        files["conflicts.csv"] = _conflicts_csv(scenario)
        file_keys["conflicts"] = "conflicts.csv"
    if scenario.observations is not None:
        files["observations.csv"], corr = _observations(scenario)
        file_keys["observations"] = "observations.csv"
        if corr is not None:
            files["registration_corrections.csv"] = corr
            file_keys["corrections"] = "registration_corrections.csv"
    tables: dict[str, dict[str, Any]] = {
        "scenario": {
            "name": scenario.name,
            "start_date": scenario.start_date,
            "days": scenario.days,
            "description": description,
        },
        "files": file_keys,
        **_settings_tables(scenario),
    }
    files[TOML_NAME] = toml_text(tables)
    digest = conversion_digest({name: text.encode("utf-8") for name, text in files.items()})
    files[TOML_NAME] = CONVERTED_HEADER + _DIGEST_NOTE.format(digest=digest) + "\n" + files[TOML_NAME]
    return files


def write_native(
    scenario: Scenario, dest: str | Path, *, force: bool = False, description: str = ""
) -> Path:
    """Write `scenario` as a native folder at `dest`, atomically; refuse an existing `dest` unless
    `force`, and a `dest` that is the scenario's own folder or inside it (`check_replaceable`)."""
    given = dest
    dest = Path(os.path.abspath(dest))  # (`.` has no name to build a sibling from)
    check_replaceable(given, [scenario.source], replace=force)
    if dest.exists() and not force:
        raise DestinationExists(f"{given} exists (use --force to replace it)")
    bad = [loc for loc in scenario.locations if not (-90 <= loc.lat <= 90 and -180 <= loc.lon <= 180)]
    if bad:  # the native format is read in degrees: refuse rather than write a folder it refuses
        where = Path(scenario.source or ".") / "input_csv" / "locations.csv"
        raise ScenarioError([Problem(where.as_posix(), loc.line, 4, f"{loc.name}: coordinates "
                                     f"{loc.lat:g}, {loc.lon:g} are not degrees (the native format "
                                     "needs latitude −90…90, longitude −180…180)") for loc in bad])
    if scenario.crisis is not None:
        raise ValueError("writing crisis sections is not supported; copy the native folder instead")

    def write(tmp: Path) -> None:
        for name, text in native_files(scenario, description).items():
            (tmp / name).write_bytes(text.encode("utf-8"))  # (as digested: no newline translation)

    return swap_in(dest, write, replace=force)
