"""Run-folder tables: a Parquet long table, CSVs with an HXL hashtag row, GeoJSON and network.json.

Every file is a view of `Results.dataset` (plus the needs it implies), written into the folder the
run writer hands over (a temporary folder renamed into place, so each run folder appears whole).
Files are read back with pyarrow / csv / json only; pandas is not needed. docs/outputs.md lists
every column.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xarray as xr

from ..analysis.compare import csv_number
from ..analysis.needs import (
    INDICATORS,
    SECTORS,
    compute_needs,
    crisis_sites,
    indicator_names,
    needs_standard,
    run_dates,
)
from ..results import in_people

if TYPE_CHECKING:
    from .plotworker import PlotWorker

LONG_TABLE = "results.parquet"
POPULATIONS_CSV = "populations.csv"
NEEDS_CSV = "needs.csv"
GEOJSON = "locations.geojson"
#: The roads as LineStrings, apart from the places' Points: GIS tools (GDAL, QGIS, Shapefile) read
#: one geometry type and one set of fields per layer
ROUTES_GEOJSON = "routes.geojson"
NETWORK_JSON = "network.json"
OBSERVATIONS_JSON = "observations.json"
#: Crisis runs: the people at each crisis site by group (who is stranded where).
GROUPS_CSV = "sites_by_group.csv"

#: Closure status codes used in network.json and the long table (`crossing_status`, `route_status`).
STATUS_CODES = {"open": 0, "documents": 1, "closed": 2}
#: Manifest keys that depend on how a run was executed, not on its result (kept out of Parquet):
#: its timing, threads and resume, the command line and folder it was run from (`invocation`),
#: and how the main job chose it among its seeds (`chosen_as`)
VOLATILE_MANIFEST_KEYS = ("timing", "threads", "checkpoint", "invocation", "chosen_as")
#: Keys of a manifest's `scenario` that say where its files were, not what they held (kept out of
#: Parquet: the same scenario reached by another path, or copied elsewhere, gives the same bytes)
SCENARIO_PLACE_KEYS = ("source", "variant_file", "files")


def stable_manifest(manifest: Mapping[str, Any], volatile: Iterable[str] = VOLATILE_MANIFEST_KEYS
                    ) -> dict[str, Any]:
    """The copy of a manifest a Parquet file embeds (`corredor.manifest`): less the `volatile`
    keys, and less the scenario's paths and file list (`SCENARIO_PLACE_KEYS`), which stay in
    manifest.json. Why: a re-run's results.parquet then has the checksum of the run it repeats,
    whatever the thread count, working directory or path spelling of either."""
    out = {k: v for k, v in manifest.items() if k not in set(volatile)}
    if isinstance(out.get("scenario"), Mapping):
        out["scenario"] = {k: v for k, v in out["scenario"].items() if k not in SCENARIO_PLACE_KEYS}
    return out
#: Prefix of needs variables in the long table.
NEEDS_PREFIX = "needs."

#: Dimensions that map onto the long table's own columns; any other dimension is folded into the
#: variable name as `variable[dim=value]`.
_ROW_DIMS = ("day", "location", "group", "route", "crossing")


class ResultsLike(Protocol):
    """What the writers need: `Results` or any object with `.dataset` and `.manifest`."""

    dataset: xr.Dataset
    manifest: Mapping[str, Any]


# ---- small helpers shared with plots and the report ---------------------------------------------


def collapse_extra_dims(ds: xr.Dataset) -> xr.Dataset:
    """Median over ensemble dimensions (`replica`, `sample`, ...) so per-run tables have one value.

    Quantile dimensions are reduced by picking the median (0.5) when present.
    """
    keep = {"day", "location", "group", "route", "crossing", "mode", "wait_bin"}
    out = ds
    for dim in list(ds.dims):
        if dim in keep:
            continue
        if dim == "quantile" and "quantile" in ds.coords:
            out = out.sel(quantile=0.5, method="nearest", drop=True)
        elif dim in ("replica", "sample", "member", "seed"):
            out = out.median(dim, keep_attrs=True)
    return out


def slug(text: str) -> str:
    """An ASCII code for a place name: lower case, accents dropped, non-alphanumerics to `_`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_") or "loc"


def location_table(ds: xr.Dataset) -> list[dict[str, Any]]:
    """One dict per location: name, code, label, country, adm1, kind, lat, lon, is_camp, is_site
    (from the coords; `label`, what a reader calls the place, is the name unless a `label` coord
    says; `adm1` the `region` coord, "" where unknown; `is_site`: needs are computed there,
    `needs.crisis_sites`, every place of a run without crisis sites, as `needs_for` computes them).
    A place at exactly 0,0 (Flee's reading of empty gps cells) has lat and lon None."""
    names = [str(n) for n in ds["location"].values]

    def coord(name: str, default: Any) -> list[Any]:
        if name in ds.coords and ds[name].dims == ("location",):
            return [v.item() if hasattr(v, "item") else v for v in ds[name].values]
        return [default] * len(names)

    code_coord = next((c for c in ("location_code", "code", "id") if c in ds.coords), None)
    codes = [str(c) for c in coord(code_coord, "")] if code_coord else [slug(n) for n in names]
    seen: dict[str, int] = {}
    for i, c in enumerate(codes):  # codes must be unique even when two names slug alike
        if c in seen:
            codes[i] = f"{c}_{i}"
        seen[codes[i]] = i
    labels = [str(v) if v else n for v, n in zip(coord("label", ""), names, strict=True)]
    countries = coord("country", "")
    kinds = coord("kind", "")
    lats, lons = coord("lat", float("nan")), coord("lon", float("nan"))
    camps = coord("is_camp", None)
    # (a run written before the region was kept has none; "unknown" is the loaders' word for none)
    regions = ["" if str(r).strip().casefold() in ("", "unknown") else str(r) for r in coord("region", "")]
    site = crisis_sites(ds)
    rows = []
    for i, n in enumerate(names):
        if lats[i] == 0 and lons[i] == 0:  # (empty gps cells, read as Flee reads them: no position
            lats[i] = lons[i] = float("nan")  # a map can use; drawn there, it stretched the map)
        is_camp = bool(camps[i]) if camps[i] is not None else str(kinds[i]) in ("camp", "idpcamp")
        rows.append(
            {
                "name": n,
                "code": codes[i],
                "label": labels[i],
                "country": str(countries[i]),
                "adm1": regions[i],
                "kind": str(kinds[i]),
                "lat": _num(lats[i]),
                "lon": _num(lons[i]),
                "is_camp": is_camp,
                "is_site": bool(site[i]) if site is not None else True,
            }
        )
    return rows


def _num(v: Any) -> float | None:
    """A JSON-safe float: None for NaN or missing."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(f) else f


def group_label(nationality: str, documents: bool | None, vulnerable: bool | None) -> str:
    """Who a crisis group is, in words, from groups.csv's columns: "HTI, no documents,
    vulnerable"; "" when nothing is known (a run written before the groups were described).

    >>> group_label("VEN", False, False)
    'VEN, no documents'
    """
    parts = [nationality] if nationality else []
    if documents is not None:
        parts.append("documents" if documents else "no documents")
    if vulnerable:
        parts.append("vulnerable")
    return ", ".join(parts)


def group_table(ds: xr.Dataset) -> list[dict[str, Any]]:
    """One dict per crisis group, in the scenario's order: name, nationality, documents,
    vulnerable, fallback (the place its people give up to; from the `group_*` coords the crisis
    engine writes; "" and None when a dataset lacks them) and label (`group_label`, else the
    name). [] for a run without groups."""
    if "group" not in ds.dims:
        return []
    names = [str(g) for g in ds["group"].values]

    def coord(key: str) -> list[Any]:
        if key in ds.coords and ds[key].dims == ("group",):
            return [v.item() if hasattr(v, "item") else v for v in ds[key].values]
        return [None] * len(names)

    rows = []
    for name, nat, docs, vuln, back in zip(names, coord("group_nationality"), coord("group_documents"),
                                           coord("group_vulnerable"), coord("group_fallback"), strict=True):
        nationality = str(nat) if nat is not None else ""
        documents = bool(docs) if docs is not None else None
        vulnerable = bool(vuln) if vuln is not None else None
        rows.append({"name": name, "nationality": nationality, "documents": documents, "vulnerable": vulnerable,
                     "fallback": str(back) if back is not None else "",
                     "label": group_label(nationality, documents, vulnerable) or name})
    return rows


def _iso_dates(ds: xr.Dataset) -> list[str | None]:
    dates = run_dates(ds)
    n = ds.sizes.get("day", 0)
    return [d.isoformat() for d in dates] if dates else [None] * n


def country_tag(countries: Iterable[str]) -> str:
    """`#country+code` when every value looks like an ISO 3166 code (CHL, PE, CHL/PER), else `+name`."""
    vals = [c for c in countries if c]
    if vals and all(re.fullmatch(r"[A-Z]{2,3}(/[A-Z]{2,3})*", c) for c in vals):
        return "#country+code"
    return "#country+name"


def status_code(value: Any) -> int:
    """Closure status as 0 open / 1 documents / 2 closed from a string, number or boolean."""
    if isinstance(value, (bool, np.bool_)):
        return 2 if value else 0
    if isinstance(value, (int, float, np.integer, np.floating)):
        return int(value) if np.isfinite(value) else 0
    return STATUS_CODES.get(str(value).strip().lower(), 0)


def _crossing_ends(ds: xr.Dataset) -> list[tuple[str, str]] | None:
    """Endpoints (from, to) of every crossing, from coords `crossing_from/_to` or `crossing_a/_b`."""
    if "crossing" not in ds.dims:
        return None
    for a, b in (("crossing_from", "crossing_to"), ("crossing_a", "crossing_b")):
        if a in ds.coords and b in ds.coords:
            return [(str(x), str(y)) for x, y in zip(ds[a].values, ds[b].values, strict=True)]
    return None


def road_list(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Undirected roads (one per pair of directed links) with their link indices and crossing."""
    if "route" not in ds.dims or "route_from" not in ds.coords:
        return []
    frm = [str(v) for v in ds["route_from"].values]
    to = [str(v) for v in ds["route_to"].values]
    km = ds["distance_km"].values if "distance_km" in ds.coords else [None] * len(frm)
    roads: dict[tuple[str, str], dict[str, Any]] = {}
    for i, (a, b) in enumerate(zip(frm, to, strict=True)):
        key = (a, b) if a <= b else (b, a)
        road = roads.setdefault(key, {"a": a, "b": b, "distance_km": _num(km[i]), "links": [], "crossing": None})
        road["links"].append(i)
    ends = _crossing_ends(ds) or []
    for name, (a, b) in zip([str(c) for c in ds["crossing"].values] if ends else [], ends, strict=False):
        key = (a, b) if a <= b else (b, a)
        if key in roads:
            roads[key]["crossing"] = name
    return list(roads.values())


def road_status(ds: xr.Dataset, roads: list[dict[str, Any]]) -> list[list[int]] | None:
    """Per day, per road: 0 open, 1 documents, 2 closed; None when the run records no status.

    Read from `route_status`/`route_closed` (day, route) or `crossing_status` (day, crossing).
    """
    n_days = ds.sizes.get("day", 0)
    status = np.zeros((n_days, len(roads)), dtype=np.int64)
    found = False
    for var in ("route_status", "route_closed"):
        if var in ds and set(ds[var].dims) == {"day", "route"}:
            arr = ds[var].transpose("day", "route").values
            codes = np.vectorize(status_code, otypes=[np.int64])(arr)
            for j, road in enumerate(roads):
                status[:, j] = np.max(codes[:, road["links"]], axis=1)
            found = True
            break
    if "crossing_status" in ds and set(ds["crossing_status"].dims) == {"day", "crossing"}:
        names = [str(c) for c in ds["crossing"].values]
        arr = ds["crossing_status"].transpose("day", "crossing").values
        codes = np.vectorize(status_code, otypes=[np.int64])(arr)
        for j, road in enumerate(roads):
            if road["crossing"] in names:
                status[:, j] = np.maximum(status[:, j], codes[:, names.index(road["crossing"])])
                found = True
    return status.tolist() if found else None


# ---- the long table --------------------------------------------------------------------------------


def long_table(ds: xr.Dataset, needs: xr.Dataset | None = None) -> pa.Table:
    """Every per-day variable as rows (day, date, location, group, variable, value, unit).

    `location` holds the location name, or `from -> to` for per-route variables, or the crossing
    name for per-crossing ones; other dimensions (mode, wait_bin, replica) go into the variable
    name as `crossings[mode=paid]`. Needs variables are prefixed `needs.`. Status strings are coded
    0 open / 1 documents / 2 closed. `unit` is the variable's `attrs["units"]` (one `value` column
    holds people, l/day, USD and codes: a reader of the file alone must be able to tell them
    apart), null where a dataset gives none.
    """
    dates = _iso_dates(ds)
    parts: list[dict[str, np.ndarray]] = []
    sources = [(name, ds[name]) for name in ds.data_vars]
    if needs is not None:
        sources += [(NEEDS_PREFIX + cast(str, name), needs[name])  # (needs' variables are named by str)
                    for name in needs.data_vars if name != "people_per_toilet"]
    route_labels = None
    if "route_from" in ds.coords:
        route_labels = np.array(
            [f"{a} -> {b}" for a, b in zip(ds["route_from"].values, ds["route_to"].values, strict=True)], dtype=object
        )
    for name, da in sources:
        if "day" not in da.dims:
            continue
        values = da.values
        unit = da.attrs.get("units")
        if values.dtype.kind in "OUS":
            values = np.vectorize(status_code, otypes=[np.float64])(values)
            unit = unit or "1"  # (status text, written as its code 0/1/2)
        if values.dtype.kind not in "biuf":
            continue
        values = values.astype(np.float64)
        extra = [d for d in da.dims if d not in _ROW_DIMS]
        grids = np.indices(values.shape).reshape(values.ndim, -1)
        flat = values.reshape(-1)
        day_ix = grids[da.dims.index("day")]
        cols: dict[str, np.ndarray] = {"day_ix": day_ix, "value": flat}
        n = flat.size
        loc = np.full(n, None, dtype=object)
        if "location" in da.dims:
            loc = np.asarray([str(v) for v in da["location"].values], dtype=object)[grids[da.dims.index("location")]]
        elif "route" in da.dims and route_labels is not None:
            loc = route_labels[grids[da.dims.index("route")]]
        elif "crossing" in da.dims:
            loc = np.asarray([str(v) for v in da["crossing"].values], dtype=object)[grids[da.dims.index("crossing")]]
        grp = np.full(n, None, dtype=object)
        if "group" in da.dims:
            grp = np.asarray([str(v) for v in da["group"].values], dtype=object)[grids[da.dims.index("group")]]
        var = np.full(n, name, dtype=object)
        if extra:
            labels = []
            for d in extra:
                coord_vals = da[d].values if d in da.coords else np.arange(da.sizes[d])
                labels.append(np.asarray([f"{d}={v}" for v in coord_vals], dtype=object)[grids[da.dims.index(d)]])
            suffix = labels[0]
            for lab in labels[1:]:
                suffix = suffix + "," + lab
            var = np.asarray([f"{name}[{s}]" for s in suffix], dtype=object)
        cols.update(location=loc, group=grp, variable=var,
                    unit=np.full(n, None if unit is None else str(unit), dtype=object))
        parts.append(cols)
    if not parts:
        return pa.table(
            {
                "day": pa.array([], pa.int32()),
                "date": pa.array([], pa.date32()),
                "location": pa.array([], pa.string()),
                "group": pa.array([], pa.string()),
                "variable": pa.array([], pa.string()),
                "value": pa.array([], pa.float64()),
                "unit": pa.array([], pa.string()),
            }
        )
    day_ix = np.concatenate([p["day_ix"] for p in parts])
    day_values = np.asarray(ds["day"].values if "day" in ds.coords else np.arange(ds.sizes["day"]))
    date_arr = pa.array([dates[i] for i in day_ix], pa.string()).cast(pa.date32()) if dates and dates[0] else (
        pa.nulls(len(day_ix), pa.date32())
    )
    return pa.table(
        {
            "day": pa.array(day_values[day_ix].astype(np.int32)),
            "date": date_arr,
            "location": pa.array(np.concatenate([p["location"] for p in parts]), pa.string()),
            "group": pa.array(np.concatenate([p["group"] for p in parts]), pa.string()),
            "variable": pa.array(np.concatenate([p["variable"] for p in parts]), pa.string()),
            # NaN (not known: no observation that day, nothing provided stated) is written as null,
            # so that sums in pyarrow, pandas, DuckDB or Excel skip it instead of turning to NaN
            "value": pa.array(np.concatenate([p["value"] for p in parts]), pa.float64(), from_pandas=True),
            # (last, so that a reader of the earlier columns by position reads on)
            "unit": pa.array(np.concatenate([p["unit"] for p in parts]), pa.string()),
        }
    )


# ---- writers ---------------------------------------------------------------------------------------


def scenario_folder(manifest: Mapping[str, Any]) -> Path | None:
    """The scenario folder a run came from (`manifest.scenario.source`), if it is still there."""
    scen = manifest.get("scenario")
    src = scen.get("source") if isinstance(scen, Mapping) else None
    if not src:
        return None
    path = Path(str(src))
    return path if path.is_dir() else None


def provided_for(results: ResultsLike) -> list[dict[str, Any]] | None:
    """What was provided: `manifest["provided"]`, the rows the scenario's loader read and checked
    (`[crisis] provided`, a Flee case's provided.csv); None when the run records none. Never read
    from the scenario folder after the run: only what the scenario loaded (and hashed) counts."""
    provided = (results.manifest or {}).get("provided")
    return list(provided) if provided else None


def needs_for(results: ResultsLike) -> xr.Dataset:
    """Needs implied by a run, with what was provided (see `provided_for`) and the chosen standard;
    for a crisis run only at its sites (`needs.crisis_sites`: staging places, camps, shelters and
    wherever people were stranded or held)."""
    manifest = results.manifest or {}
    std_path = manifest.get("needs_standard")
    standard = needs_standard(std_path) if isinstance(std_path, str) and std_path.endswith(".toml") else None
    ds = collapse_extra_dims(results.dataset)  # (compute_needs counts people: results.in_people)
    site = crisis_sites(ds)
    if site is not None:
        ds = ds.assign(population=ds["population"].where(xr.DataArray(site, dims="location"), 0))
    return compute_needs(ds, standard, provided=provided_for(results))


@dataclass
class _RunView:
    """Results with an augmented dataset (same manifest)."""

    dataset: xr.Dataset
    manifest: Mapping[str, Any]


def _scenario_of(manifest: Mapping[str, Any]) -> Any | None:
    """The run's scenario, loaded from `manifest.scenario.source` (None when gone or unreadable).

    A policy variant records its baseline folder as source; it is found among the folder's
    variant files by its name (`<baseline>+<variant>`). When the name matches nothing, None:
    better none than the baseline's observations. Loaded afresh at each call, not cached: a
    cache keyed on file times missed edits to files in subfolders, and a load is cheap (the
    Chile–Peru scenario in about 20 ms, all six of its variants in about 0.25 s; once per run
    folder written).
    """
    folder = scenario_folder(manifest)
    if folder is None or not ((folder / "scenario.toml").is_file() or (folder / "input_csv").is_dir()):
        return None
    scen_meta = manifest.get("scenario")
    want = str(scen_meta.get("name", "")) if isinstance(scen_meta, Mapping) else ""
    return _load_scenario(folder, want)


def _load_scenario(folder: Path, want: str) -> Any | None:
    """The scenario in `folder`, or its variant named `want` (None when none loads)."""
    from ..scenario import ScenarioError, load_scenario

    try:
        scen = load_scenario(folder)
    except (ScenarioError, OSError):
        return None
    if not want or scen.name == want:
        return scen
    from ..scenario.native_crisis import is_variant_file, load_variant

    for path in sorted(Path(folder).glob("variants/*.toml")) + sorted(Path(folder).glob("*.toml")):
        if not is_variant_file(path):
            continue
        try:
            variant = load_variant(path)
        except (ScenarioError, OSError):
            continue
        if variant.name == want:
            return variant
    return None




def observations_for(results: ResultsLike, scenario: Any = None) -> list[dict[str, Any]]:
    """Dated, possibly ranged observations of a crisis run (point, range, lower_bound, peak, ...);
    read from the scenario, each with its `role` to the fit (`analysis.observations.observation_role`).

    From `manifest["observations"]`, else from the scenario folder's crisis observations (read with
    the scenario loader). Flee runs carry theirs as the `observed` variable instead. `scenario`:
    the scenario the rows are of, where the caller has it (an ensemble's), for their roles.
    """
    manifest = results.manifest or {}
    rows = manifest.get("observations")
    if rows is None and "crossing" not in results.dataset.dims:
        rows = []  # a Flee run: its observations are the `observed` variable
    from ..analysis.observations import observation_role

    scen = scenario
    if rows is None:
        scen = _scenario_of(manifest)
        crisis = getattr(scen, "crisis", None)
        rows = list(crisis.observations) if crisis is not None else []
    dates = run_dates(results.dataset)
    out = []
    for r in rows:
        day = int(r["day"])
        # (what it is to the fit, as the main job prints it: fitted, held out, set by an event)
        role = {"role": observation_role(r, scen)} if scen is not None and scen.start_date is not None else {}
        out.append({**role,
            "day": day,
            "date": dates[day].isoformat() if dates and 0 <= day < len(dates) else None,
            "location": str(r.get("loc", r.get("location", ""))),
            "value": _num(r.get("value")), "low": _num(r.get("low")), "high": _num(r.get("high")),
            "kind": str(r.get("kind", "point")), "note": str(r.get("note", "")), "source": str(r.get("source", "")),
        })
    return out


def write_observations(rows: Sequence[Mapping[str, Any]], folder: Path) -> Path | None:
    """`observations.json` from rows as `observations_for` gives them (a run folder's; an
    ensemble folder's, whose lower bounds and peaks also hold each replica's figure); nothing
    when there are none."""
    if not rows:
        return None
    path = Path(folder) / OBSERVATIONS_JSON
    path.write_text(json.dumps(list(rows), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def exact_number(x: float) -> str:
    """A float with every digit of its shortest exact form and never an exponent (0.28433089008760,
    5.0 as 5, 1e-07 as 0.0000001), so that it reads back as the same float; empty for NaN and
    infinity. The number rule of files whose values are read back: trials.csv, before_after.csv,
    metrics.csv. (Figures a planner reads are rounded instead: `analysis.compare.csv_number`.)

    >>> [exact_number(v) for v in (5.0, 1e-07, 0.1 + 0.2, float("nan"))]
    ['5', '0.0000001', '0.30000000000000004', '']
    """
    return np.format_float_positional(x + 0.0, trim="-") if math.isfinite(x) else ""


#: How a CSV writes a float (`exact_number` or `analysis.compare.csv_number`); never an exponent.
NumberFormat = Callable[[float], str]


def csv_field(value: Any, number: NumberFormat = exact_number) -> str:
    """One cell of corredor's CSVs: a float by `number` (empty for NaN and infinity), empty for
    None, anything else (text, integers) as `str` (csv.writer quotes it where needed).

    >>> [csv_field(v) for v in (5.0, 1e-07, float("nan"), None, 3, "a,b")]
    ['5', '0.0000001', '', '', '3', 'a,b']
    """
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return number(float(value))
    return str(value)


def csv_line(fields: Iterable[Any], number: NumberFormat = exact_number) -> str:
    r"""`fields` (cells by `csv_field`) as one line of corredor's CSVs: csv.writer's quoting and
    its CRLF line end (RFC 4180).

    >>> csv_line(["Línea, camp", 2.5, None, 7])
    '"Línea, camp",2.5,,7\r\n'
    """
    buf = io.StringIO()
    csv.writer(buf).writerow([csv_field(v, number) for v in fields])
    return buf.getvalue()


def hxl_attribute(name: str) -> str:
    """A name (a metric, parameter, case or place code) as an HXL attribute: lower-case ASCII
    letters, digits and `_`, a letter first (`peak_stranded`, `loc_arica`, `m2023`)."""
    text = slug(name)  # (accents dropped: "Línea" is linea, not l_nea)
    return text if text[0].isalpha() else f"m{text}"


def hxl_csv_lines(header: Sequence[str], tags: Sequence[str], lines: Iterable[str],
                  name: str = "") -> Iterator[str]:
    """The one way corredor lays out a CSV: the header, the HXL hashtag row under it, then `lines`
    (rows already encoded by `csv_line`, each ending CRLF). Every user-facing CSV goes through
    here (`write_hxl_csv`, `hxl_csv_text`, `write_hxl_lines`); Flee's out.csv does not, it keeps
    Flee's own format (outputs/flee_out.py).

    Raises ValueError (naming the file `name`) when the tags do not match the columns one to one.
    """
    if len(tags) != len(header):
        raise ValueError(f"{name + ': ' if name else ''}{len(header)} columns but {len(tags)} HXL tags")
    return itertools.chain((csv_line(header), csv_line(tags)), lines)


def hxl_csv_text(header: Sequence[str], tags: Sequence[str], rows: Iterable[Sequence[Any]],
                 number: NumberFormat = exact_number) -> str:
    """A CSV as text (`hxl_csv_lines`), for files written with others at once (comparison.csv
    beside comparison.json, metrics.csv in an ensemble folder)."""
    return "".join(hxl_csv_lines(header, tags, (csv_line(r, number) for r in rows)))


def write_hxl_csv(path: Path, header: Sequence[str], tags: Sequence[str],
                  rows: Iterable[Sequence[Any]], number: NumberFormat = exact_number) -> Path:
    """Write a table as corredor writes its CSVs (`hxl_csv_lines`): UTF-8, the header, the HXL
    hashtag row under it, one CRLF line per row, floats by `number` (never an exponent).

    Used for population.csv and by `corredor calibrate` (trials.csv, before_after.csv). Read back
    with any CSV reader (skip row 2: pandas `skiprows=[1]`) or an HXL tool.
    """
    return write_hxl_lines(path, header, tags, (csv_line(r, number) for r in rows))


#: Lines `write_hxl_lines` joins into one write: big enough to keep writes few, small enough that a
#: table of millions of lines is never held as one string.
_LINES_PER_WRITE = 8192


def write_hxl_lines(path: Path, header: Sequence[str], tags: Sequence[str], lines: Iterable[str]) -> Path:
    """Like write_hxl_csv, for rows already encoded (each as `csv_line` would, ending CRLF).

    Why: csv.writer's row by row calls were most of the time of writing the long CSV tables
    (populations.csv, needs.csv); their text fields are encoded once and numbers never need quoting.
    """
    chunks = hxl_csv_lines(header, tags, lines, Path(path).name)
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        while block := "".join(itertools.islice(chunks, _LINES_PER_WRITE)):  # (not the whole file at once)
            fh.write(block)
    return Path(path)



def _csv_text(fields: Iterable[Any]) -> str:
    """`fields` as `csv_line` writes them, without the line end (the start of a pre-encoded line)."""
    return csv_line(fields)[:-2]


def _fmt(v: float) -> str:
    """Numbers as written in CSV: integers without `.0`, empty for NaN, every other digit kept
    in fixed point up to 6 decimals (1050003.5 m², never "1.05e+06")."""
    return "" if v is None else csv_number(v)


def _fmt_grid(a: np.ndarray) -> np.ndarray:
    """`_fmt` of every element (object array, same shape), each distinct value formatted once.

    Why: formatting number by number was most of the time of writing needs.csv. Values that
    compare equal format alike (0.0 and −0.0 are both "0"; every NaN is ""), so this is `_fmt`.
    """
    a = np.asarray(a)
    if a.size == 0:
        return np.empty(a.shape, dtype=object)
    uniq, inv = np.unique(a.ravel(), return_inverse=True)
    text = np.array([_fmt(v) for v in uniq.tolist()], dtype=object)
    return text[inv.reshape(-1)].reshape(a.shape)


def write_long_table(results: ResultsLike, folder: Path, needs: xr.Dataset | None = None) -> Path:
    """`results.parquet`: the long table of every per-day variable (and the needs)."""
    path = Path(folder) / LONG_TABLE
    table = long_table(in_people(results.dataset), needs)
    # timing, thread count, resume details, the command and the scenario's paths live in
    # manifest.json only, so that the same seed gives a byte-identical results.parquet however and
    # wherever it was run (docs/reliability.md)
    stable = stable_manifest(results.manifest or {})
    meta = {b"corredor.manifest": json.dumps(stable, default=str).encode()}
    if needs is not None:
        info = {k: needs.attrs.get(k) for k in ("standard", "toilet_switch", "tent_rule", "standard_sources")}
        meta[b"corredor.needs"] = json.dumps(info, default=str).encode()
    pq.write_table(table.replace_schema_metadata(meta), path, compression="zstd")
    return path


#: HXL tags of the first columns of populations.csv and needs.csv: date, day index (not a date,
#: so not `#date`: HXL tools would read small numbers as years), the scenario's identifier of the
#: place, what a reader calls it, its ASCII code
PLACE_TAGS = ("#date", "#meta+day", "#loc+id", "#loc+name", "#loc+code")
#: HXL tag of the `adm1` column, after `country`: the place's region as the input names it
#: (Flee's locations.csv `region`, the native `region` column, itself tagged so), empty where unknown
ADM1_TAG = "#adm1+name"


def write_populations_csv(results: ResultsLike, folder: Path) -> Path:
    """`populations.csv`: one row per day and location, HXL hashtag row under the header."""
    ds = collapse_extra_dims(in_people(results.dataset))
    locs = location_table(ds)
    dates = _iso_dates(ds)
    days = ds["day"].values if "day" in ds.coords else np.arange(ds.sizes["day"])
    columns = [("population", "#affected+displaced+ind")]
    if "observed" in ds:
        columns.append(("observed", "#affected+displaced+observed"))
    if "stranded" in ds:
        columns.append(("stranded", "#affected+stranded"))
    arrays = [ds[c].transpose("day", "location").values for c, _ in columns]
    header = ["date", "day", "location", "label", "location_code", "country", "adm1", "kind",
              *[c for c, _ in columns]]
    tags = [*PLACE_TAGS, country_tag(r["country"] for r in locs), ADM1_TAG, "#loc+type"]
    tags += [t for _, t in columns]

    texts = [_fmt_grid(a).tolist() for a in arrays]  # numbers: digits, '.', '-', 'e', '+' or ""
    heads = [_csv_text([loc["name"], loc["label"], loc["code"], loc["country"], loc["adm1"], loc["kind"]])
             for loc in locs]

    def lines() -> Iterable[str]:
        for t in range(len(days)):
            d = _csv_text([dates[t], int(days[t])])
            for j, head in enumerate(heads):
                yield ",".join([d, head, *[x[t][j] for x in texts]]) + "\r\n"

    path = Path(folder) / POPULATIONS_CSV
    write_hxl_lines(path, header, tags, lines())
    return path


def _yes_no(flag: bool | None) -> str:
    """groups.csv's way of writing a flag: yes, no, or empty when not known."""
    return "" if flag is None else ("yes" if flag else "no")


def write_groups_csv(results: ResultsLike, folder: Path) -> Path | None:
    """`sites_by_group.csv` (crisis runs): one row per day, crisis site (`needs.crisis_sites`:
    staging places, camps, shelters and wherever people were stranded or held) and group, with the people of that group there at the end of the
    day (`population_by_group`) and those of them stranded (`stranded_by_group`); HXL hashtag
    row under the header. Summed over the groups, a site's rows give its `population` and
    `stranded` in populations.csv. None, and no file, for a run without
    groups (a Flee case)."""
    ds = collapse_extra_dims(in_people(results.dataset))
    site = crisis_sites(ds)
    if "population_by_group" not in ds or "group" not in ds.dims or site is None:
        return None
    locs = location_table(ds)
    groups = group_table(ds)
    dates = _iso_dates(ds)
    days = ds["day"].values if "day" in ds.coords else np.arange(ds.sizes["day"])
    people = _fmt_grid(ds["population_by_group"].transpose("day", "location", "group").values).tolist()
    # (stranded by group: runs written before the engine recorded it have none, and no column)
    stranded = (_fmt_grid(ds["stranded_by_group"].transpose("day", "location", "group").values).tolist()
                if "stranded_by_group" in ds else None)
    header = ["date", "day", "location", "label", "location_code", "country", "adm1", "group", "nationality",
              "documents", "vulnerable", "population", *(["stranded"] if stranded is not None else [])]
    tags = [*PLACE_TAGS, country_tag(r["country"] for r in locs), ADM1_TAG, "#group+name",
            country_tag(g["nationality"] for g in groups).replace("#country", "#country+origin"),
            "#meta+documents", "#meta+vulnerable", "#affected+displaced+ind",
            *(["#affected+stranded"] if stranded is not None else [])]
    sites = [j for j in range(len(locs)) if site[j]]
    heads = {j: _csv_text([locs[j]["name"], locs[j]["label"], locs[j]["code"], locs[j]["country"], locs[j]["adm1"]])
             for j in sites}
    who = [_csv_text([g["name"], g["nationality"], _yes_no(g["documents"]), _yes_no(g["vulnerable"])])
           for g in groups]

    def lines() -> Iterable[str]:
        for t in range(len(days)):
            d = _csv_text([dates[t], int(days[t])])
            for j in sites:
                for k, w in enumerate(who):
                    tail = f",{stranded[t][j][k]}" if stranded is not None else ""
                    yield f"{d},{heads[j]},{w},{people[t][j][k]}{tail}\r\n"

    path = Path(folder) / GROUPS_CSV
    write_hxl_lines(path, header, tags, lines())
    return path


#: Days of needs.csv whose numbers are turned into text at once (`write_needs_csv`).
_NEEDS_DAYS_PER_BLOCK = 32


def write_needs_csv(results: ResultsLike, folder: Path, needs: xr.Dataset) -> Path:
    """`needs.csv`: one row per day, location and indicator where anyone is there or something was
    provided; HXL hashtag row under the header."""
    ds = collapse_extra_dims(in_people(results.dataset))
    locs = location_table(ds)
    dates = _iso_dates(ds)
    days = ds["day"].values if "day" in ds.coords else np.arange(ds.sizes["day"])
    in_need = needs["in_need"].transpose("day", "location").values
    header = ["date", "day", "location", "label", "location_code", "country", "adm1", "in_need", "sector",
              "indicator", "unit", "value", "provided", "gap"]
    tags = [*PLACE_TAGS, country_tag(r["country"] for r in locs), ADM1_TAG, "#inneed",
            "#sector", "#indicator+code", "#meta+unit", "#indicator+value", "#indicator+provided", "#indicator+gap"]
    indicators = indicator_names(needs)
    grids = {i: needs[i].transpose("day", "location").values for i in indicators}
    provided = {i: needs[f"{i}_provided"].transpose("day", "location").values for i in indicators
                if f"{i}_provided" in needs}
    gaps = {i: needs[f"{i}_gap"].transpose("day", "location").values for i in indicators if f"{i}_gap" in needs}

    units = {i: needs[i].attrs.get("units", INDICATORS.get(i, "")) for i in indicators}
    keep = in_need > 0
    for p in provided.values():
        keep |= np.isfinite(p)

    loc_text = [_csv_text([loc["name"], loc["label"], loc["code"], loc["country"], loc["adm1"]]) for loc in locs]
    day_text = [_csv_text([dates[t], int(days[t])]) for t in range(len(days))]
    # per indicator: (sector,name,unit as CSV, values, provided, gap, skip NaN)
    cols = [(_csv_text([SECTORS.get(ind, ""), ind, units[ind]]), grids[ind], provided.get(ind), gaps.get(ind),
             ind == "person_nights_unsheltered") for ind in indicators]

    def lines() -> Iterable[str]:
        # numbers as text a block of days at a time (`_NEEDS_DAYS_PER_BLOCK`): the whole table as
        # Python strings took several times the memory of the run for a large network
        for t0 in range(0, len(days), _NEEDS_DAYS_PER_BLOCK):
            block = slice(t0, t0 + _NEEDS_DAYS_PER_BLOCK)
            need_text = _fmt_grid(in_need[block]).tolist()  # numbers: digits, '.', '-', 'e', '+' or ""
            texts = [(ind_text, grid[block], _fmt_grid(grid[block]).tolist(),
                      _fmt_grid(prov[block]).tolist() if prov is not None else None,
                      _fmt_grid(gap[block]).tolist() if gap is not None else None, skip_nan)
                     for ind_text, grid, prov, gap, skip_nan in cols]
            for b, j in zip(*np.nonzero(keep[block]), strict=True):
                b, j = int(b), int(j)
                head = f"{day_text[t0 + b]},{loc_text[j]},{need_text[b][j]},"
                for ind_text, grid_b, text, prov_text, gap_text, skip_nan in texts:
                    if skip_nan and not math.isfinite(grid_b[b, j]):
                        continue
                    yield (f"{head}{ind_text},{text[b][j]},{prov_text[b][j] if prov_text is not None else ''},"
                           f"{gap_text[b][j] if gap_text is not None else ''}\r\n")

    path = Path(folder) / NEEDS_CSV
    write_hxl_lines(path, header, tags, lines())
    return path


def _whole(v: Any) -> int | float | None:
    """A JSON-safe number that is an integer when the value is whole (counts: `2360`, not `2360.0`)."""
    f = _num(v)
    return int(f) if f is not None and f.is_integer() else f


def _peak(arr: np.ndarray) -> tuple[int | float | None, int | None]:
    """The highest value and its day index; (None, None) when nothing is known."""
    if arr.size == 0 or not np.isfinite(arr).any():
        return None, None
    k = int(np.nanargmax(arr))
    return _whole(arr[k]), k


def _in_degrees(loc: dict[str, Any]) -> bool:
    """Whether a place has coordinates GeoJSON can hold: lat in −90…90, lon in −180…180 (RFC 7946
    §3.1.1). A Flee `gps_x` of 118 (which `validate` warns of) made a Point GIS tools refuse."""
    lat, lon = loc["lat"], loc["lon"]
    return lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180


def write_geojson(results: ResultsLike, folder: Path, needs: xr.Dataset | None = None) -> Path:
    """`locations.geojson`: the places as Points with summary properties; the roads are in
    `routes.geojson` (`write_routes_geojson`), so that each file is one layer of one geometry type.

    Coordinates are [lon, lat] (RFC 7946). Places without coordinates in degrees are left out.
    """
    ds = collapse_extra_dims(in_people(results.dataset))
    locs = location_table(ds)
    dates = _iso_dates(ds)
    features: list[dict[str, Any]] = []
    pop = ds["population"].transpose("day", "location").values if "population" in ds else None
    for j, loc in enumerate(locs):
        if not _in_degrees(loc):
            continue
        props: dict[str, Any] = {k: loc[k] for k in ("name", "code", "label", "country", "adm1", "kind",
                                                     "is_camp", "is_site")}
        if pop is not None:
            peak, k = _peak(pop[:, j])
            props.update(population_peak=peak,  # (no date for a place nobody was ever at)
                         population_peak_date=dates[k] if k is not None and peak else None,
                         population_final=_whole(pop[-1, j]) if len(pop) else None)
        for var in ("observed", "stranded"):
            if var in ds:
                props[f"{var}_peak"] = _peak(ds[var].transpose("day", "location").values[:, j])[0]
        if needs is not None:
            for ind in ("water_l", "toilets", "covered_space_m2", "tents", "toilets_gap"):
                if ind in needs:
                    props[f"{ind}_peak"] = _peak(needs[ind].transpose("day", "location").values[:, j])[0]
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [loc["lon"], loc["lat"]]},
                         "properties": props})
    return _write_features(Path(folder) / GEOJSON, features)


def write_routes_geojson(results: ResultsLike, folder: Path) -> Path:
    """`routes.geojson`: one LineString per road (both directed links merged) with its distance,
    crossing, peak travellers and closure days. Roads with an end without coordinates in degrees,
    or whose two ends share coordinates (not a line), are left out; network.json keeps them."""
    ds = collapse_extra_dims(in_people(results.dataset))
    locs = location_table(ds)
    dates = _iso_dates(ds)
    features: list[dict[str, Any]] = []
    by_name = {loc["name"]: loc for loc in locs}
    roads = road_list(ds)
    status = road_status(ds, roads)
    trav = ds["travellers"].transpose("day", "route").values if "travellers" in ds else None
    for j, road in enumerate(roads):
        a, b = by_name.get(road["a"]), by_name.get(road["b"])
        if not a or not b or not _in_degrees(a) or not _in_degrees(b):
            continue
        if (a["lon"], a["lat"]) == (b["lon"], b["lat"]):
            continue  # (both ends at one point: not a valid line for GIS tools; network.json keeps it)
        props = {"from": road["a"], "to": road["b"], "distance_km": road["distance_km"], "crossing": road["crossing"]}
        if trav is not None:
            props["travellers_peak"] = _peak(trav[:, road["links"]].sum(axis=1))[0]
        if status is not None:
            col = [row[j] for row in status]
            closed = [t for t, s in enumerate(col) if s == 2]
            props.update(days_closed=len(closed), days_documents_only=sum(1 for s in col if s == 1),
                         first_closed_date=dates[closed[0]] if closed else None)
        features.append({"type": "Feature",
                         "geometry": {"type": "LineString",
                                      "coordinates": [[a["lon"], a["lat"]], [b["lon"], b["lat"]]]},
                         "properties": props})
    return _write_features(Path(folder) / ROUTES_GEOJSON, features)


def _write_features(path: Path, features: list[dict[str, Any]]) -> Path:
    """A GeoJSON FeatureCollection of `features` at `path` (UTF-8, names as written)."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def write_network_json(results: ResultsLike, folder: Path) -> Path:
    """`network.json`: what the report draws the map from (places, roads, closure status by day)."""
    ds = collapse_extra_dims(in_people(results.dataset))
    roads = road_list(ds)
    doc = {
        "dates": _iso_dates(ds),
        "days": [int(d) for d in (ds["day"].values if "day" in ds.coords else np.arange(ds.sizes.get("day", 0)))],
        "locations": location_table(ds),
        "roads": [{k: r[k] for k in ("a", "b", "distance_km", "crossing")} for r in roads],
        "road_status": road_status(ds, roads),
        "status_codes": STATUS_CODES,
    }
    groups = group_table(ds)
    if groups:  # (crisis runs: who the groups of sites_by_group.csv and the report's table are)
        doc["groups"] = groups
    path = Path(folder) / NETWORK_JSON
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def write_standard_outputs(results: ResultsLike, folder: Path,
                           plot_worker: PlotWorker | None = None, csv: bool = True,
                           plots: bool = True) -> list[Path]:
    """Every table and plot of a run folder, needs computed once; registered in `EXTRA_WRITERS`.

    With `plot_worker`, a helper started by the caller (outputs/plotworker.py, `corredor run`) and
    passed on by `write_run_folder`, the figures are drawn there while the tables are written here;
    without one, if it refuses the job (it takes one) or if it fails, here. `csv=False` leaves out
    the per-day CSV tables, `plots=False` the figures (`corredor run --no-csv`, `--no-plots`).
    """
    folder = Path(folder)
    results = _RunView(in_people(results.dataset), results.manifest)
    needs = needs_for(results)
    observations = observations_for(results)
    helper = plot_worker if plots else None
    if helper is not None and not helper.submit(results.dataset, needs, observations, folder):
        helper = None  # refused (already busy, or the data cannot be sent): draw them here
    written = _write_tables(results, folder, needs, observations, csv=csv)
    if not plots:
        return written
    plotted = helper.result() if helper is not None else None
    if plotted is None:
        from .plots import write_plots

        plotted = write_plots(results, folder, needs, observations=observations)
    return written + plotted


def write_tables(results: ResultsLike, folder: Path) -> list[Path]:
    """Every table of a run folder, and observations.json, without the plots: what
    `write_standard_outputs` writes besides its plots, by the same writer (quicker where the
    figures are not wanted, as in the tests)."""
    folder = Path(folder)
    results = _RunView(in_people(results.dataset), results.manifest)
    return _write_tables(results, folder, needs_for(results), observations_for(results))


def _write_tables(results: _RunView, folder: Path, needs: xr.Dataset,
                  observations: Sequence[Mapping[str, Any]], csv: bool = True) -> list[Path]:
    """The tables of `write_standard_outputs` and `write_tables`, from the run in people with its
    scenario context, its needs and its observations; without the per-day CSVs if not `csv`."""
    written = [write_long_table(results, folder, needs)]
    if csv:
        written += [write_populations_csv(results, folder), write_needs_csv(results, folder, needs)]
    written += [
        write_geojson(results, folder, needs),
        write_routes_geojson(results, folder),
        write_network_json(results, folder),
    ]
    by_group = write_groups_csv(results, folder) if csv else None
    if by_group is not None:
        written.append(by_group)
    observed = write_observations(observations, folder)
    if observed is not None:
        written.append(observed)
    return written
