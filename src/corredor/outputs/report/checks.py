"""Checks of a run folder before the report reads it: one located message, never a traceback.

Why: `corredor report` is pointed at folders by hand (an ensemble's, a calibration's, a run
folder with a file deleted or edited). Each file the report reads is checked for what the
report relies on (a JSON object where it indexes keys, lists of places with string names, whole
numbers for days, a Parquet table with the long table's columns), and any problem is a
`ReportError` whose text names the file, with the line and column of a JSON syntax error:
`runs/x/manifest.json: expected a JSON object (a run's manifest), found a list`. Nothing is
written before these checks pass.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: The files without which a folder is not a run folder (docs/outputs.md: written by every run).
REQUIRED = ("manifest.json", "results.parquet", "network.json")
#: The long table's columns and the kinds of values the report reads from them.
LONG_COLUMNS = {"day": "integer", "location": "string", "group": "string", "variable": "string",
                "value": "number"}
#: What other corredor commands write a manifest.json for (its "kind"), as the message says it.
OTHER_FOLDERS = {"ensemble": "an ensemble folder (`corredor ensemble`)",
                 "calibration": "a calibration folder (`corredor calibrate`)"}


class ReportError(ValueError):
    """A run folder the report cannot use; the text is `path[:line:col]: message`."""


class NotARunFolder(FileNotFoundError):
    """The folder lacks a file every run folder has (or is another command's output folder)."""


def kind_of(value: Any) -> str:
    """How a message names a JSON value's type: 'a list', 'a string', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def read_json(path: Path) -> Any:
    """The JSON value in `path`; ReportError naming the file (and line:col of a syntax error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ReportError(f"{path}: not valid JSON (nested too deeply)") from None


def check_folder(run_dir: Path, manifest: Any) -> dict[str, Any]:
    """The manifest, once it is known to be a run's; NotARunFolder for another command's folder
    or a missing file (named), ReportError for a manifest that is not a JSON object."""
    path = run_dir / "manifest.json"
    if not isinstance(manifest, dict):
        raise ReportError(f"{path}: expected a JSON object (a run's manifest), found {kind_of(manifest)}")
    kind = manifest.get("kind", "run")
    if kind != "run":
        if isinstance(kind, str) and kind in OTHER_FOLDERS:
            what = OTHER_FOLDERS[kind]
        else:
            what = f"not a run folder (its manifest.json says \"kind\": {json.dumps(kind)[:60]})"
        raise NotARunFolder(f"{run_dir} is {what}; report takes a run folder (written by `corredor run`)")
    for name in REQUIRED[1:]:
        if not (run_dir / name).is_file():
            raise NotARunFolder(f"{run_dir} is not a run folder: {name} is missing")
    _check_manifest(manifest, path)
    return manifest


def is_number(v: Any) -> bool:
    """A JSON number the report can compute with (a whole number beyond float's range is not)."""
    if isinstance(v, float):
        return True
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**1000


def _is_whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _fail(path: Path, where: str, expected: str, found: Any, bad: tuple[int, str] | None = None) -> ReportError:
    """`where` must be `expected`; `bad`: (index, what is wrong with it) of the item that makes a
    list `found` not what is expected, so that the message names it, not just "found a list"."""
    what = kind_of(found)
    if bad is not None:
        what += f" whose item [{bad[0]}] {bad[1]}"
    return ReportError(f"{path}: {where} must be {expected}, found {what}")


def _check_manifest(m: dict[str, Any], path: Path) -> None:
    """The keys the report reads, where present, are of the types it reads them as."""
    scen = m.get("scenario")
    if scen is not None and not isinstance(scen, (dict, str)):
        raise _fail(path, '"scenario"', "an object or a string", scen)
    if "sources" in m and not isinstance(m["sources"], (list, type(None))):
        raise _fail(path, '"sources"', "a list", m["sources"])
    for key in ("metrics", "timing"):
        if key in m and not isinstance(m[key], (dict, type(None))):
            raise _fail(path, f'"{key}"', "an object", m[key])
    timing = m.get("timing")
    if isinstance(timing, dict) and "wall_s" in timing and not is_number(timing["wall_s"]):
        raise _fail(path, '"timing.wall_s"', "a number", timing["wall_s"])
    if m.get("hasten") is not None and not _is_whole(m["hasten"]):
        raise _fail(path, '"hasten"', "a whole number", m["hasten"])


def _list(path: Path, doc: dict[str, Any], key: str, what: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, f'"{key}"', what, value)
    return value


def _fields(path: Path, where: str, item: Any, spec: dict[str, tuple[str, bool]]) -> None:
    """`item` is an object whose keys in `spec` hold ('string' | 'number' | 'whole' | 'bool',
    required) values; a missing optional key or null is fine."""
    if not isinstance(item, dict):
        raise _fail(path, where, "an object", item)
    ok = {"string": lambda v: isinstance(v, str), "number": is_number, "whole": _is_whole,
          "bool": lambda v: isinstance(v, bool)}
    names = {"string": "a string", "number": "a number", "whole": "a whole number", "bool": "true or false"}
    for key, (kind, required) in spec.items():
        v = item.get(key)
        if v is None and not required:
            continue
        if not ok[kind](v):
            raise _fail(path, f'{where} "{key}"', names[kind], v)


def check_network(net: Any, path: Path) -> dict[str, Any]:
    """network.json: days, dates, places, roads and closure status, as the map reads them."""
    if not isinstance(net, dict):
        raise ReportError(f"{path}: expected a JSON object (the run's network), found {kind_of(net)}")
    days = _list(path, net, "days", "a list of whole numbers")
    for t, d in enumerate(days):
        if not _is_whole(d):
            raise _fail(path, f"days[{t}]", "a whole number", d)
    dates = _list(path, net, "dates", "a list of dates")
    for t, d in enumerate(dates):
        if d is not None and not isinstance(d, str):
            raise _fail(path, f"dates[{t}]", "a date (a string) or null", d)
    if dates and len(dates) != len(days):
        raise ReportError(f"{path}: {len(dates)} dates for {len(days)} days")
    place = {"name": ("string", True), "label": ("string", False), "code": ("string", False),
             "country": ("string", False), "kind": ("string", False), "lat": ("number", False),
             "lon": ("number", False), "is_camp": ("bool", False)}
    for j, loc in enumerate(_list(path, net, "locations", "a list of places")):
        _fields(path, f"locations[{j}]", loc, place)
        for key in ("lat", "lon"):
            if loc.get(key) is not None and not math.isfinite(loc[key]):
                raise ReportError(f"{path}: locations[{j}] \"{key}\" must be a finite number")
    road = {"a": ("string", True), "b": ("string", True), "crossing": ("string", False),
            "distance_km": ("number", False)}
    roads = _list(path, net, "roads", "a list of roads")
    for k, r in enumerate(roads):
        _fields(path, f"roads[{k}]", r, road)
    status = net.get("road_status")
    if status is not None:
        if not isinstance(status, list) or len(status) != len(days):
            raise ReportError(f"{path}: \"road_status\" must be null or a list of one row per day "
                              f"({len(days)}), found {kind_of(status)}"
                              + (f" of {len(status)}" if isinstance(status, list) else ""))
        for t, row in enumerate(status):
            if not isinstance(row, list) or len(row) != len(roads):
                raise ReportError(f"{path}: road_status[{t}] must be a list of one code per road "
                                  f"({len(roads)}), found {kind_of(row)}"
                                  + (f" of {len(row)}" if isinstance(row, list) else ""))
            for k, s in enumerate(row):
                if not (_is_whole(s) and s in (0, 1, 2)):
                    shown = json.dumps(s)[:40] if isinstance(s, (int, float, str)) else kind_of(s)
                    raise _fail(path, f"road_status[{t}]", "a list of codes 0, 1 or 2", row,
                                (k, f"is {shown}, not 0, 1 or 2"))
    group = {"name": ("string", True), "label": ("string", False), "nationality": ("string", False),
             "documents": ("bool", False), "vulnerable": ("bool", False)}
    for g, item in enumerate(_list(path, net, "groups", "a list of groups")):  # (crisis runs)
        _fields(path, f"groups[{g}]", item, group)
    return net


def check_observations(obs: Any, path: Path) -> list[dict[str, Any]]:
    """observations.json: a list of dated observations with a place and a kind (in an ensemble
    folder, a lower bound's or peak's `replicas`: {variant: [a number per replica]})."""
    if not isinstance(obs, list):
        raise ReportError(f"{path}: expected a JSON list of observations, found {kind_of(obs)}")
    spec = {"day": ("whole", True), "location": ("string", True), "kind": ("string", True),
            "value": ("number", False), "low": ("number", False), "high": ("number", False),
            "date": ("string", False), "note": ("string", False), "source": ("string", False),
            "role": ("string", False)}
    for i, o in enumerate(obs):
        _fields(path, f"observation {i + 1}", o, spec)
        replicas = o.get("replicas")  # (an ensemble folder's: each variant's replicas' figures)
        if replicas is None:
            continue
        if not isinstance(replicas, dict):
            raise _fail(path, f'observation {i + 1} "replicas"', "an object of lists of numbers", replicas)
        for label, values in replicas.items():
            where = f'observation {i + 1} "replicas" "{label}"'
            if not isinstance(values, list):
                raise _fail(path, where, "a list of numbers", values)
            for k, v in enumerate(values):
                if not is_number(v):
                    raise _fail(path, f"{where}[{k}]", "a number", v)
    return obs


def check_long_table(table: Any, path: Path) -> None:
    """results.parquet has the long table's columns (docs/outputs.md), days and variables set."""
    import pyarrow as pa

    kinds = {"integer": pa.types.is_integer, "string": lambda t: pa.types.is_string(t)
             or pa.types.is_large_string(t) or pa.types.is_null(t),
             "number": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t)}
    names = table.schema.names
    for col, kind in LONG_COLUMNS.items():
        if col not in names:
            raise ReportError(f"{path}: not a run's long table (no column '{col}')")
        typ = table.schema.field(col).type
        if not kinds[kind](typ):
            raise ReportError(f"{path}: column '{col}' holds {typ}, expected {kind}s")
    for col in ("day", "variable"):
        if table[col].null_count:
            raise ReportError(f"{path}: column '{col}' has empty cells")


def check_needs_info(raw: bytes, path: Path) -> dict[str, Any]:
    """The `corredor.needs` metadata of results.parquet: a JSON object."""
    try:
        info = json.loads(raw)
    except (ValueError, RecursionError):
        raise ReportError(f"{path}: its 'corredor.needs' metadata is not valid JSON") from None
    if not isinstance(info, dict) or not isinstance(info.get("standard_sources") or {}, dict):
        raise ReportError(f"{path}: its 'corredor.needs' metadata is not a JSON object of the needs standard")
    return info


# ---- ensemble folders (`corredor ensemble`) ---------------------------------------------------

#: The columns every band table has besides its cells (analysis/ensemble.py, write_ensemble).
BAND_COLUMNS = ("variant", "day", "mean", "q05", "q25", "q50", "q75", "q95")
#: A summary's statistics per metric (analysis/ensemble.py, summarize_metrics).
SUMMARY_STATS = ("n", "mean", "sd", "q05", "q50", "q95")


def check_ensemble_manifest(m: Any, path: Path) -> dict[str, Any]:
    """An ensemble's manifest.json: a JSON object of kind "ensemble" whose keys the page shows
    are of the types it shows them as (replicas a whole number, variants a list of
    {label, overrides}, places a list of {name, label, kind, is_camp})."""
    if not isinstance(m, dict):
        raise ReportError(f"{path}: expected a JSON object (an ensemble's manifest), found {kind_of(m)}")
    if m.get("kind") != "ensemble":
        raise ReportError(f'{path}: "kind" must be "ensemble", found {json.dumps(m.get("kind"))[:60]}')
    if not _is_whole(m.get("replicas")) or m["replicas"] < 1:
        raise _fail(path, '"replicas"', "a whole number of at least 1", m.get("replicas"))
    for key in ("base_seed", "hasten", "days", "workers"):
        if m.get(key) is not None and not _is_whole(m[key]):
            raise _fail(path, f'"{key}"', "a whole number", m[key])
    if m.get("wall_s") is not None and not is_number(m["wall_s"]):
        raise _fail(path, '"wall_s"', "a number", m["wall_s"])
    # (`version` and `scenario` as {name, sha256, source}; 0.1's folders wrote `corredor_version`
    # and the scenario's name alone, and read the same)
    scen = m.get("scenario")
    if isinstance(scen, dict):
        _fields(path, "scenario", scen, {"name": ("string", True)})
    elif scen is not None and not isinstance(scen, str):
        raise _fail(path, '"scenario"', "an object or a string", scen)
    for key in ("start_date", "engine", "backend", "version", "corredor_version", "executor"):
        if m.get(key) is not None and not isinstance(m[key], str):
            raise _fail(path, f'"{key}"', "a string", m[key])
    for i, v in enumerate(_list(path, m, "variants", "a list of variants")):
        _fields(path, f"variants[{i}]", v, {"label": ("string", True)})
        if not isinstance(v.get("overrides") or {}, dict):
            raise _fail(path, f'variants[{i}] "overrides"', "an object", v["overrides"])
    place = {"name": ("string", True), "label": ("string", False), "kind": ("string", False),
             "is_camp": ("bool", False)}
    for j, p in enumerate(_list(path, m, "places", "a list of places")):
        _fields(path, f"places[{j}]", p, place)
    return m


def check_band_table(path: Path) -> Any:
    """bands/<variable>.parquet: readable Parquet with a variant, a day and the six statistics,
    each statistic a number; returns the table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise ReportError(f"{path}: missing (an ensemble folder has the bands of every variable it simulated)")
    try:
        table = pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ReportError(f"{path}: cannot be read as Parquet ({exc})") from None
    for col in BAND_COLUMNS:
        if col not in table.schema.names:
            raise ReportError(f"{path}: not an ensemble's band table (no column '{col}')")
    for col in BAND_COLUMNS[2:]:
        typ = table.schema.field(col).type
        if not (pa.types.is_floating(typ) or pa.types.is_integer(typ)):
            raise ReportError(f"{path}: column '{col}' holds {typ}, expected numbers")
    if not pa.types.is_integer(table.schema.field("day").type) or table["day"].null_count:
        raise ReportError(f"{path}: column 'day' must hold whole numbers in every row")
    return table


def check_summary(obj: Any, path: Path) -> dict[str, dict[str, dict[str, float]]]:
    """metrics_summary.json (or metrics_differences.json): {variant: {metric: {n, mean, sd, q05,
    ..., q95, ...}}}, each a number, or null (NaN in folders of earlier versions) where undefined:
    no replica had a value, the sd of one value. Read back with NaN for null (`n` is a number)."""
    if not isinstance(obj, dict):
        raise ReportError(f"{path}: expected a JSON object of variants, found {kind_of(obj)}")
    for variant, metrics in obj.items():
        if not isinstance(metrics, dict):
            raise _fail(path, f'"{variant}"', "an object of metrics", metrics)
        for metric, stats in metrics.items():
            where = f'"{variant}" "{metric}"'
            if not isinstance(stats, dict):
                raise _fail(path, where, "an object of statistics", stats)
            for s in SUMMARY_STATS:
                if not is_number(stats.get(s)) and (s == "n" or s not in stats or stats[s] is not None):
                    raise _fail(path, f'{where} "{s}"', "a number" if s == "n" else "a number or null",
                                stats.get(s))
            for s, v in stats.items():
                if v is None:
                    stats[s] = math.nan
    return obj
