"""Build `report.html` for an ensemble folder (`corredor ensemble`): one self-contained page.

Why: bands.png is a picture; a planner also wants the numbers behind it and what the bands mean.
The page reads the folder alone (manifest.json, bands/population.parquet [and stranded],
observed.parquet, a crisis's observations.json, metrics_summary.json, bands.png), draws per variant the places bands.png draws
(`analysis.ensemble.band_panels`) as SVG charts made by the run report's `svg_chart.chart` (median
line, shaded 25–75 % and 5–95 % bands, and the observations as a run's page marks them: for a
crisis, observations.json's counts as dots, ranges as vertical bars, lower bounds as upward
triangles; for a Flee case, observed.parquet's values as dots, a dashed line where daily), and tables each metric's
distribution over replicas. For a crisis it opens each variant with the key observations a run's
page gives (`key_observations`: peak stranded, when, from and until when, who is left at the end)
with their bands, and checks each dated report (a range as a range) against the replicas that day (`observed_rows`).
Same look, head and Content-Security-Policy as the run report (shared through `macros.html`);
every file is checked first (checks.py), so a bad folder is one message naming the file and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xarray as xr
from markupsafe import Markup

from ...analysis.compare import NEEDS_METRICS, heading
from ...analysis.ensemble import (
    DAY_METRICS,
    DIFFERENCES_JSON,
    REPLICA_KINDS,
    band_panels,
    current_metric_keys,
    few_replicas_note,
    read_bands,
    summarize_metrics,
)
from ...analysis.observations import DRAWN_KINDS
from ...analysis.peak import PEAK_TOLERANCE, peak_verdict
from ...engine import manifest_seed
from ...targets import write_text_atomic
from ..formatting import (
    MINUS,
    count_text,
    day_date,
    fmt_exact,
    is_count_unit,
    signed,
    signed_percent,
)
from ..tables import OBSERVATIONS_JSON
from . import checks
from .builder import (
    DAILY_OBSERVATIONS,
    REPORT_HTML,
    _asset,
    counts_fact,
    environment,
    png_uri,
    range_verdict,
    reported_text,
    split_facts,
)
from .checks import NotARunFolder, ReportError
from .svg_chart import PALETTE, chart

#: The band variables the page charts: people at the busiest places and, for a crisis, stranded.
CHARTED = {"population": "people there", "stranded": "people stranded there"}
#: Read, not charted: where people were sheltered, or held at a stop place, marks a crisis site
#: for `band_panels` (`needs.crisis_sites`, as in memory) whatever the place's kind, and in a
#: folder whose manifest does not list the places' kinds.
SITE_EVIDENCE = ("sheltered", "held")
#: Shading of the 5–95 % and 25–75 % bands (as bands.png: the inner band drawn over the outer).
OUTER_OPACITY, INNER_OPACITY = 0.15, 0.3


@dataclass
class EnsembleData:
    """What the page needs from an ensemble folder."""

    folder: Path
    manifest: dict[str, Any]
    bands: xr.Dataset  # variant × stat × day × location, the CHARTED variables present
    observed: xr.DataArray | None  # day × location
    summary: dict[str, dict[str, dict[str, float]]]
    #: observations.json (a crisis ensemble's reports; lower bounds and peaks with each replica's
    #: figure), or None where the folder has none: written before ensembles kept it, or a Flee case
    observations: list[dict[str, Any]] | None = None
    #: metrics_differences.json (a sweep's: each variant after the first, its seed-by-seed
    #: difference from the first per metric), or None where the folder has none
    differences: dict[str, dict[str, dict[str, float]]] | None = None

    @property
    def variants(self) -> list[str]:
        """Variant labels in the manifest's (sweep) order; the bands' own order otherwise."""
        have = [str(v) for v in self.bands["variant"].values]
        listed = [str(v.get("label")) for v in self.manifest.get("variants") or []]
        return [v for v in listed if v in have] + [v for v in have if v not in listed]

    @property
    def dates(self) -> list[str | None]:
        """Each day's date (the manifest's start date + day), or None when it has none."""
        days = [int(d) for d in self.bands["day"].values]
        try:
            start = dt.date.fromisoformat(str(self.manifest.get("start_date")))
        except ValueError:
            return [None] * len(days)
        return [(start + dt.timedelta(days=d)).isoformat() for d in days]


def is_ensemble_folder(folder: Path) -> bool:
    """Whether `folder` is (or is meant to be) an ensemble's: its manifest says kind "ensemble",
    or it has no manifest but a bands/ folder. Any other folder goes to the run report, whose
    checks say what is wrong with it."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return (folder / "bands").is_dir()
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "ensemble"


def read_ensemble(folder: Path) -> EnsembleData:
    """Load and check what the page shows; ReportError (or NotARunFolder for a missing manifest)
    naming the file that is missing or cannot be read as `write_ensemble` writes it."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise NotARunFolder(f"{folder} is not an ensemble folder: manifest.json is missing")
    manifest = checks.check_ensemble_manifest(checks.read_json(manifest_path), manifest_path)
    summary_path = folder / "metrics_summary.json"
    if not summary_path.is_file():
        raise ReportError(f"{summary_path}: missing (every ensemble folder has it)")
    summary = checks.check_summary(checks.read_json(summary_path), summary_path)
    # (a folder of an earlier version: its `stranded_peak` is today's `peak_stranded`)
    summary = {variant: current_metric_keys(metrics) for variant, metrics in summary.items()}
    names = [v for v in (*CHARTED, *SITE_EVIDENCE)
             if v == "population" or (folder / "bands" / f"{v}.parquet").is_file()]
    for name in names:
        checks.check_band_table(folder / "bands" / f"{name}.parquet")
    try:
        bands = read_bands(folder, names)
    except (ValueError, KeyError) as exc:  # (e.g. a row twice: no longer one value per cell)
        raise ReportError(f"{folder / 'bands'}: cannot be read as bands ({exc})") from None
    if "location" not in bands["population"].dims:
        raise ReportError(f"{folder / 'bands' / 'population.parquet'}: has no 'location' column")
    observed = _read_observed(folder / "observed.parquet", bands)
    bands = _with_places(bands, manifest.get("places") or [], observed)
    obs_path = folder / OBSERVATIONS_JSON  # (a run folder's file, read by the run report's check)
    observations = (checks.check_observations(checks.read_json(obs_path), obs_path)
                    if obs_path.is_file() else None)
    diff_path = folder / DIFFERENCES_JSON  # (a sweep's; folders of earlier versions have none)
    differences = (checks.check_summary(checks.read_json(diff_path), diff_path)
                   if diff_path.is_file() else None)
    return EnsembleData(folder, manifest, bands, observed, summary, observations, differences)


def _read_observed(path: Path, bands: xr.Dataset) -> xr.DataArray | None:
    """observed.parquet's `observed` column as day × location on the bands' grid (None if absent)."""
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ReportError(f"{path}: cannot be read as Parquet ({exc})") from None
    if not {"day", "location", "observed"} <= set(table.schema.names):
        return None  # (observations on another grid: the charts show none)
    frame = table.select(["day", "location", "observed"]).to_pandas()
    try:
        frame["observed"] = frame["observed"].astype(float)
        grid = frame.groupby(["day", "location"])["observed"].max().to_xarray()
    except (TypeError, ValueError) as exc:
        raise ReportError(f"{path}: its 'observed' column is not numbers ({exc})") from None
    return grid.reindex(day=bands["day"].values, location=bands["location"].values)


def _with_places(bands: xr.Dataset, places: list[dict[str, Any]], observed: xr.DataArray | None) -> xr.Dataset:
    """The bands with the places' label, kind and is_camp as coordinates, as the ensemble had them
    in memory, so `band_panels` picks the places bands.png shows. Folders written before the
    manifest kept places: the observed places count as camps (a Flee case observes its camps)."""
    names = [str(n) for n in bands["location"].values]
    known = {p["name"]: p for p in places}
    coords: dict[str, Any] = {}
    for key in ("label", "kind", "is_camp"):
        if any(key in p for p in places):
            default: Any = False if key == "is_camp" else ""
            coords[key] = ("location", [known.get(n, {}).get(key, default) for n in names])
    if "is_camp" not in coords and observed is not None:
        coords["is_camp"] = ("location", np.isfinite(observed.values).any(axis=0).tolist())
    return bands.assign_coords(coords)


# ---- charts -----------------------------------------------------------------------------------


def _place_label(bands: xr.Dataset, name: str) -> str:
    if "label" in bands.coords:
        label = str(bands["label"].sel(location=name).item())
        return label or name
    return name


def reports_by_place(data: EnsembleData) -> dict[str, list[dict[str, Any]]]:
    """observations.json's reports of people there (points, ranges, lower bounds, peaks: the
    kinds a run's chart marks) per place, as `svg_chart.chart` takes them (`reported`): the day as
    its index on the bands' days, in black (each chart is one place). Empty without
    observations.json (a Flee case, an older folder): observed.parquet's values are drawn then."""
    index = {int(d): t for t, d in enumerate(data.bands["day"].values)}
    out: dict[str, list[dict[str, Any]]] = {}
    for o in data.observations or []:
        if o["kind"] in DRAWN_KINDS and o["day"] in index:
            out.setdefault(str(o["location"]), []).append({**o, "day": index[o["day"]], "color": "#000"})
    return out


def variant_charts(data: EnsembleData, variant: str, color: str) -> list[dict[str, Any]]:
    """One chart per place `band_panels` picks (per CHARTED variable): the median of the replicas
    as a line, the 25–75 % and 5–95 % bands shaded, and the reports of people there as a run's
    page marks them (`reports_by_place`: a count as a dot, a range as a vertical bar from its low
    to its high end, a lower bound as an upward triangle, a peak as a dashed segment up to its date); a place without such reports gets
    observed.parquet's values as dots, or a dashed line where they are daily (a Flee case)."""
    n = int(data.manifest["replicas"])
    reports = reports_by_place(data)
    charts = []
    for variable, what in CHARTED.items():
        if variable not in data.bands:
            continue
        _, stacked, order = band_panels(data.bands, variable)
        for k in order:
            cell = stacked.isel(cell=int(k))
            key = cell["cell"].values.item()
            name = str(key[0] if isinstance(key, tuple) else key)
            label = _place_label(data.bands, name)
            q = {s: cell.sel(variant=variant, stat=s).values for s in ("q05", "q25", "q50", "q75", "q95")}
            lines = [{"label": f"median of {n} replicas", "y": q["q50"], "color": color,
                      "title": f"{label}: median of {n} replicas"}]
            bands = [{"label": "5–95 % of replicas", "low": q["q05"], "high": q["q95"], "color": color,
                      "opacity": OUTER_OPACITY},
                     {"label": "25–75 % of replicas", "low": q["q25"], "high": q["q75"], "color": color,
                      "opacity": INNER_OPACITY}]
            dots = []
            # a place with reports is drawn from them alone, not also from observed.parquet (which
            # holds a range as one value), as a run's page does
            reported = reports.get(name, []) if variable == "population" else []
            if variable == "population" and data.observed is not None and not reported:
                obs = data.observed.sel(location=name).values
                if np.isfinite(obs).sum() > DAILY_OBSERVATIONS:  # a daily series: a dashed line, as in a run's report
                    lines.append({"label": "observed", "y": obs, "color": "#000", "dash": "5 3"})
                elif np.isfinite(obs).any():
                    dots.append({"label": "observed", "y": obs, "color": "#000"})
            c = chart(f"{label}: {what}", "people", data.dates, lines, dots, reported, bands=bands)
            if c:
                if reported:
                    c["reported_legend"] = "reported"
                c["place"] = name
                c["variable"] = variable
                charts.append(c)
    return charts


# ---- numbers -----------------------------------------------------------------------------------


def sig4(v: float) -> str:
    """An error metric to 4 significant digits, with thousands separators and never an exponent
    (0.5151, 12,350), as the run report's metrics (`.4g`) but readable at any size."""
    if not math.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    decimals = 3 - math.floor(math.log10(abs(v)))
    if decimals <= 0:
        return f"{round(v, decimals) + 0:,.0f}"
    return f"{v:,.{decimals}f}"


def is_count(stats: dict[str, float], name: str | None = None) -> bool:
    """A metric counts something when its unit does (`formatting.is_count_unit`, for a metric of
    `compare`'s, ALL_METRICS: the covered space of a replica can be 1,855.5 m²) or every
    replica's value is a whole number (its min and max are): people, person-days. Its figures
    are then written as whole numbers (`formatting.count_text`), as `corredor compare` and
    `corredor ensemble` print them."""
    from ...analysis.compare import ALL_METRICS

    if name in ALL_METRICS and is_count_unit(ALL_METRICS[name][1]):
        return True
    lo, hi = stats.get("min"), stats.get("max")
    return all(isinstance(v, (int, float)) and math.isfinite(v) and float(v).is_integer() for v in (lo, hi))


def metric_format(name: str, stats: dict[str, float], start: Any) -> Callable[[float], str]:
    """How the page and `corredor ensemble`'s table write a metric's median, band and mean: a
    day metric (DAY_METRICS) as dates from `start`, a count (`is_count`) as a whole number
    (`count_text`: 8,667.5 person-days is 8,668), any other to 4 significant digits."""
    if name in DAY_METRICS:
        return partial(day_date, start=start)
    return count_text if is_count(stats, name) else sig4


def metric_rows(metrics: dict[str, dict[str, float]], start: Any = None) -> list[dict[str, str]]:
    """The metrics table of one variant: metric (compare's heading, `compare.heading`, and its
    key, the column of metrics.csv), median, 5–95 %, mean, sd, replicas with a value; a day
    metric's median, band and mean as dates (days from `start`, the manifest's start date), its
    sd in days."""
    rows = []
    for name, s in metrics.items():
        fmt = metric_format(name, s, start)
        # (a spread, not a count: one decimal of a count's, 4 digits of any other's)
        sd = (sig4(s["sd"]) + " days" if name in DAY_METRICS and math.isfinite(s["sd"]) else
              fmt_exact(s["sd"]) if fmt is count_text else fmt(s["sd"]))
        rows.append({"metric": heading(name), "key": name, "median": fmt(s["q50"]), "q05": fmt(s["q05"]),
                     "q95": fmt(s["q95"]), "mean": fmt(s["mean"]), "sd": sd, "n": fmt_exact(s["n"])})
    return rows


def signed_sig4(v: float) -> str:
    """A difference to 4 significant digits with its sign (+0.009800, −0.01); "0" for 0, "–" for
    none."""
    text = sig4(v)
    if not math.isfinite(v) or text == "0":
        return text
    return ("+" + text) if v > 0 else MINUS + text.lstrip("-")


def difference_format(name: str, stats: dict[str, float]) -> Callable[[float], str]:
    """How a seed-by-seed difference of metric `name` is written: signed, whole for a count or a
    day metric (days; `stats`: the first variant's summary of the metric, for `is_count`), else
    to 4 significant digits."""
    if name in DAY_METRICS or is_count(stats, name):
        return partial(signed, whole=True)
    return signed_sig4


def difference_rows(diffs: dict[str, dict[str, float]], first: dict[str, dict[str, float]]) -> list[dict[str, str]]:
    """The differences table of one variant (metrics_differences.json's part for it): metric,
    median and 5–95 % of the seed-by-seed differences from the first variant, their mean ± its
    standard error, r (the correlation of the two variants' values over the seeds), pairs."""
    rows = []
    for name, s in diffs.items():
        fmt = difference_format(name, first.get(name) or {})
        se = s.get("se", math.nan)
        r = s.get("r", math.nan)
        mean = (f"{fmt(s['mean'])} ± {fmt(se).lstrip('+')}" if math.isfinite(se) else fmt(s["mean"]))
        if name in DAY_METRICS and s["n"]:
            mean += " days"
        rows.append({"metric": heading(name), "key": name,
                     "median": fmt(s["q50"]) if s["n"] else "–",
                     "band": f"{fmt(s['q05'])} – {fmt(s['q95'])}" if s["n"] else "in no pair",
                     "mean": mean if s["n"] else "–",
                     "r": f"{r:+.2f}".replace("-", MINUS) if math.isfinite(r) else "–",
                     "n": fmt_exact(s["n"])})
    return rows


# ---- key observations ----------------------------------------------------------------------------

#: The most stranded sites (busiest first) whose days the key observations give.
KEY_SITES = 3


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _last(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[-1]) if hits.size else None


def key_observations(data: EnsembleData, variant: str) -> list[dict[str, str]]:
    """What a crisis run's page says of its one run (how many were stranded at most, when, from
    and until when, how long the camp took to empty, who is still at a site when the run ends),
    as the replicas of `variant` spread it: rows {what, median, band (5–95 %), how}. Why: the
    page had only charts and a table of metric names; a planner reads these first.

    From the folder alone: the per-replica metrics (metrics_summary.json: exact quantiles of
    each replica's peak, person-days, days until empty) and the day-by-day bands (bands/:
    quantiles over replicas of each day's count, so a date is the day a quantile first or last
    passes 0, and the busiest day is the median line's). Empty for a Flee ensemble (no one is
    stranded there)."""
    if "stranded" not in data.bands:
        return []
    dates = data.dates
    days = [int(d) for d in data.bands["day"].values]

    def when(t: int | None) -> str:
        return "–" if t is None else dates[t] or f"day {days[t]}"

    metrics = data.summary.get(variant) or {}
    n = int(data.manifest["replicas"])
    rows: list[dict[str, str]] = []

    def metric(key: str, how: str, none: str = "not within the run") -> None:
        """A row of a per-replica metric, named as compare and the CLI name it (`compare.heading`);
        `none`: why a replica has no value of it."""
        s = metrics.get(key)
        if s is None:
            return
        what = heading(key)
        what = what[0].upper() + what[1:]
        fmt = metric_format(key, s, data.manifest.get("start_date"))
        if not s["n"] or not math.isfinite(s["q50"]):
            rows.append({"what": what, "median": none, "band": "–",
                         "how": f"{how}; in none of the {n} replicas within the run's {len(days)} days"})
            return
        some = f" (in {fmt_exact(s['n'])} of {n} replicas; {none} in the others)" if s["n"] < n else ""
        rows.append({"what": what, "median": fmt(s["q50"]), "band": f"{fmt(s['q05'])} – {fmt(s['q95'])}",
                     "how": how + some})

    metric("peak_stranded", "each replica's highest daily total, all places together")
    metric("stranded_peak_day", "each replica's own busiest day, all places together (the first, on "
           "a tie); a quantile between two days is rounded to the nearer", none="nobody stranded")
    stranded = data.bands["stranded"].sel(variant=variant)
    q = {stat: np.nan_to_num(stranded.sel(stat=stat).transpose("day", "location").values)
         for stat in ("q05", "q50", "q95")}
    names = [str(x) for x in stranded["location"].values]
    sites = [j for j in np.argsort(-q["q50"].max(axis=0), kind="stable") if q["q95"][:, j].max() > 0][:KEY_SITES]
    for j in sites:
        label = _place_label(data.bands, names[j])
        lo, mid, hi = q["q05"][:, j], q["q50"][:, j], q["q95"][:, j]
        t = int(np.argmax(mid)) if mid.max() > 0 else int(np.argmax(hi))
        rows.append({"what": f"{label}: people stranded on the busiest day", "median": f"{count_text(mid[t])} on {when(t)}",
                     "band": f"{count_text(lo[t])} – {count_text(hi[t])} that day",
                     "how": "the day the median is highest; each replica's own busiest day can differ"})
        rows.append({"what": f"{label}: first day with people stranded", "median": when(_first(mid > 0)),
                     "band": f"{when(_first(hi > 0))} – {when(_first(lo > 0))}",
                     "how": "the day the replicas' median first exceeds 0; the band: the days their 95 % and "
                            "5 % edges first do (– where an edge never does within the run)"})
        end = _last(mid > 0)
        rows.append({"what": f"{label}: last day with people stranded",
                     "median": when(end) + (" (the run's last day: still there)" if end == len(days) - 1 else ""),
                     "band": f"{when(_last(lo > 0))} – {when(_last(hi > 0))}",
                     "how": "the day the median last exceeds 0; the band: the days the 5 % and 95 % edges "
                            "last do"})
    metric("days_until_camp_empties",
           "each replica's days from its first stranded person to the first day after its peak with none")
    metric("stranded_person_days", "each replica's sum over days of the people stranded")
    # (the groups groups.csv marks vulnerable; an ensemble folder written before they were
    # recorded has no such metric, and no row)
    metric("peak_stranded_vulnerable", "each replica's highest daily total of stranded people in the groups "
           "marked vulnerable (groups.csv), all places together", none="not recorded by group")
    metric("vulnerable_stranded_person_days", "each replica's sum over days of the stranded people in the "
           "groups marked vulnerable", none="not recorded by group")
    for key in NEEDS_METRICS:  # (what the run's needs table gives place by place, for the sites together)
        by = "" if key in ("peak_at_sites", "people_at_sites_last_day") else ", by the Sphere standard"
        metric(key, f"at the crisis sites (staging places, camps, shelters and wherever people were stranded or held){by}; each replica's figure")
    pop = data.bands["population"].sel(variant=variant)
    _, stacked, order = band_panels(data.bands, "population")
    for k in order:
        key = stacked["cell"].values[int(k)]
        name = str(key[0] if isinstance(key, tuple) else key)
        last = {stat: float(np.nan_to_num(pop.sel(location=name, stat=stat).values[-1])) for stat in ("q05", "q50", "q95")}
        if last["q95"] > 0:
            rows.append({"what": f"{_place_label(data.bands, name)}: people there on the run's last day, {when(len(days) - 1)}",
                         "median": count_text(last["q50"]), "band": f"{count_text(last['q05'])} – {count_text(last['q95'])}",
                         "how": "their needs go on after the run ends"})
    return rows


#: Where the replicas' 5–95 % band lies against a reported range (`builder.range_verdict`), as
#: the verdicts of a dated count say it.
RANGE_VERDICTS = {"inside": "inside", "overlaps": "overlaps", "above": "replicas above it",
                  "below": "replicas below it"}


def value_verdict(value: float, lo: float, hi: float) -> str:
    """Where one reported count lies against the replicas' band `lo`..`hi` that day."""
    return "inside" if lo <= value <= hi else "replicas below it" if value > hi else "replicas above it"


def _reported_counts(data: EnsembleData) -> list[dict[str, Any]]:
    """The dated reported counts as observation rows {day, location, kind, value, low, high}:
    observations.json's points and ranges (a range with its ends), or, in a folder written before
    ensembles kept observations.json (or a Flee case's), observed.parquet's values as points.
    Places with more than DAILY_OBSERVATIONS of them are left out (a daily series is the charts'
    dashed line)."""
    days = [int(d) for d in data.bands["day"].values]
    names = {str(x) for x in data.bands["location"].values}
    rows: list[dict[str, Any]] = []
    if data.observations is not None:
        rows = [o for o in data.observations
                if o["kind"] in DRAWN_KINDS and o["kind"] not in REPLICA_KINDS and o["location"] in names
                and o["day"] in days and reported_text(o) is not None]
    elif data.observed is not None:
        for name in [str(x) for x in data.observed["location"].values]:
            obs = data.observed.sel(location=name).values
            rows += [{"day": days[t], "location": name, "kind": "point", "value": float(obs[t])}
                     for t in np.flatnonzero(np.isfinite(obs))]
    count: dict[str, int] = {}
    for o in rows:
        count[o["location"]] = count.get(o["location"], 0) + 1
    return [o for o in rows if count[o["location"]] <= DAILY_OBSERVATIONS]


def observed_rows(data: EnsembleData, variant: str) -> list[dict[str, str]]:
    """Each dated reported count (`_reported_counts`: observations.json's points and ranges, else
    observed.parquet's values) against the replicas that day: the median and 5–95 % of people
    there, and where the report falls: a count inside the band or the replicas below or above
    it; a range (as a run's page checks it, `builder.range_verdict`) with the band inside it,
    overlapping it, or the replicas above or below it. Why: a crisis run's page checks each
    report against its run; an ensemble's checks it against the spread of its runs."""
    pop = data.bands["population"].sel(variant=variant)
    dates = data.dates
    index = {int(d): t for t, d in enumerate(data.bands["day"].values)}
    rows: list[tuple[int, dict[str, str]]] = []
    for o in _reported_counts(data):
        t = index[o["day"]]
        q = {stat: float(pop.sel(location=o["location"], stat=stat).values[t]) for stat in ("q05", "q50", "q95")}
        lo, mid, hi = q["q05"], q["q50"], q["q95"]
        if not all(math.isfinite(v) for v in (lo, mid, hi)):
            continue
        low, high = o.get("low"), o.get("high")
        if o["kind"] == "range" and low is not None and high is not None:
            verdict = RANGE_VERDICTS[range_verdict(lo, hi, low, high)]
            edge = high if mid > high else low if mid < low else None
            difference = ("in the range" if edge is None else
                          f"{signed_percent((mid - edge) / edge)} of {fmt_exact(edge)}" if edge > 0 else "–")
        else:
            value = float(o["value"])
            verdict = value_verdict(value, lo, hi)
            difference = (signed_percent((mid - value) / value) if value > 0 else
                          ("0 as reported" if mid == 0 else "–"))
        rows.append((t, {"date": dates[t] or str(o["day"]), "location": _place_label(data.bands, o["location"]),
                         "reported": reported_text(o) or "–", "median": count_text(mid),
                         "band": f"{count_text(lo)} – {count_text(hi)}", "difference": difference,
                         "verdict": verdict, "role": str(o.get("role") or "")}))
    return [r for _, r in sorted(rows, key=lambda tr: (tr[0], tr[1]["location"]))]


def bound_rows(data: EnsembleData, variant: str) -> list[dict[str, str]]:
    """Each reported lower bound ("at least N") and peak of observations.json against the
    replicas of `variant`, from each replica's own figure (`analysis.ensemble.observation_replicas`):
    for a lower bound the people there that day, and in how many replicas they reach it; for a
    peak (reported by that day) each replica's most there up to that day, and in how many
    replicas it matches the report (within ±50 %, `analysis.peak`, as a run's page checks it). Why: a run's page checks these against its run; the bands
    (quantiles of each day's count) cannot say either."""
    n = int(data.manifest["replicas"])
    rows: list[tuple[int, dict[str, str]]] = []
    for o in data.observations or []:
        values = (o.get("replicas") or {}).get(variant)
        if o["kind"] not in REPLICA_KINDS or not values:
            continue
        s = summarize_metrics({"figure": v} for v in values)["figure"]
        lo, mid, hi = s["q05"], s["q50"], s["q95"]
        place = (_place_label(data.bands, o["location"]) if o["location"] in data.bands["location"].values
                 else o["location"])
        row = {"date": o.get("date") or f"day {o['day']}", "location": place, "median": count_text(mid),
               "band": f"{count_text(lo)} – {count_text(hi)}", "note": str(o.get("note") or ""),
               "role": str(o.get("role") or "")}
        if o["kind"] == "lower_bound":
            bound = o.get("low") if o.get("low") is not None else o.get("value")
            if bound is None:
                continue
            met = sum(v >= bound for v in values)
            row |= {"reported": f"at least {fmt_exact(bound)}", "figure": "people there that day",
                    "verdict": f"met in {met} of {len(values)} replicas"}
        else:
            value = o.get("value")
            if value is None:
                continue
            peaks = [peak_verdict(value, v) for v in values]  # (as a run's page checks its run)
            within = sum(c.ok for c in peaks)
            below = sum(c.verdict == "below" for c in peaks)
            rest = ", ".join(f"{k} in {m}" for k, m in (("below", below), ("above", len(values) - within - below))
                             if m)
            row |= {"reported": f"a peak of {fmt_exact(value)} by then",
                    "figure": "each replica's most there up to that day",
                    "verdict": f"within {count_text(peaks[0].low)}–{count_text(peaks[0].high)} in {within} of "
                               f"{len(values)} replicas" + (f" ({rest})" if rest else "")}
        if len(values) != n:  # (an edited file: say what the figures are over)
            row["verdict"] += f" ({len(values)} figures for {n} replicas)"
        rows.append((int(o["day"]), row))
    return [r for _, r in sorted(rows, key=lambda tr: (tr[0], tr[1]["location"]))]


# ---- page ------------------------------------------------------------------------------------


def _settings(overrides: Any) -> str:
    if not isinstance(overrides, dict) or not overrides:
        return "the scenario as written"
    return ", ".join(f"{k} = {json.dumps(v) if isinstance(v, (bool, list, dict)) or v is None else v}"
                     for k, v in overrides.items())


def scenario_name(m: dict[str, Any]) -> str:
    """The ensemble's scenario name: its manifest's `scenario.name` ({name, sha256, source}, as
    a run's), or the plain name a folder of 0.1 wrote; "" when neither is there."""
    scen = m.get("scenario")
    return str((scen.get("name") if isinstance(scen, dict) else scen) or "")


def ensemble_facts(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The header's facts: scenario, replicas, seeds, variants, engine, version, executor."""
    facts = [("scenario", scenario_name(m)), ("replicas per variant", f"{m['replicas']:,}")]
    if m.get("base_seed") is not None:
        facts.append(("base seed", str(manifest_seed(m, "base_seed"))))
    facts.append(("variants", str(len(m.get("variants") or []) or 1)))
    for key, label in (("start_date", "start date"), ("days", "days"), ("hasten", "hasten"),
                       ("engine", "engine"), ("backend", "backend"), ("version", "version"),
                       ("corredor_version", "version")):  # (0.1's folders: `corredor_version`)
        if m.get(key) is not None and (key != "corredor_version" or m.get("version") is None):
            facts.append((label, str(m[key])))
    facts += counts_fact(m.get("hasten"))
    if m.get("executor"):
        facts.append(("executor", f"{m['executor']} × {m.get('workers', 1)}"))
    # (not the wall time: the same command then writes the same page; manifest.json has it)
    return facts


def _figure(folder: Path) -> str | None:
    path = folder / "bands.png"
    return png_uri(path) if path.is_file() else None


def render_ensemble(data: EnsembleData) -> str:
    """The ensemble page's HTML text."""
    m = data.manifest
    settings = {str(v.get("label")): v.get("overrides") for v in m.get("variants") or []}
    variants = []
    first = data.variants[0] if data.variants else ""
    for i, label in enumerate(data.variants):
        diffs = (data.differences or {}).get(label) if i else None
        variants.append({"label": label, "anchor": f"variant-{i + 1}", "settings": _settings(settings.get(label)),
                         "key": key_observations(data, label), "observed": observed_rows(data, label),
                         "bounds": bound_rows(data, label),
                         "charts": variant_charts(data, label, PALETTE[i % len(PALETTE)]),
                         "metrics": metric_rows(data.summary.get(label) or {}, m.get("start_date")),
                         "differences": difference_rows(diffs, data.summary.get(first) or {}) if diffs else []})
    n = int(m["replicas"])
    choice = m.get("engine_choice")
    facts, technical = split_facts(ensemble_facts(m))
    each = " per variant" if len(variants) > 1 else ""
    return environment().get_template("ensemble.html").render(
        title=f"{scenario_name(m) or data.folder.name}: ensemble of {n:,} run{'s' if n != 1 else ''}{each}",
        peak_tolerance=f"{PEAK_TOLERANCE * 100:.0f} %",
        facts=facts,
        technical=technical,
        variants=variants,
        replicas=n,
        legend=f"median of {n} replicas; shaded: 25–75 % and 5–95 % of replicas",
        first=first,
        # (below FEW_REPLICAS the 5–95 % band is not 90 % of them: how many it holds, and why)
        few=few_replicas_note(n),
        # (the cohort engine on a case with camp capacities: approximate at a camp near it)
        engine_caveat=choice.get("caveat") if isinstance(choice, dict) and isinstance(choice.get("caveat"), str)
        else None,
        figure=_figure(data.folder),
        crisis="stranded" in data.bands,
        # (a crisis ensemble written before ensembles kept observations.json: its lower bounds and
        # peaks cannot be checked here)
        bounds_unknown="stranded" in data.bands and data.observations is None,
        observations_file=data.observations is not None,
        css=Markup(_asset("report.css") + _asset("ensemble.css")),
    )


def build_ensemble_report(folder: Path | str) -> Path:
    """Write `folder/report.html` (atomically) from an ensemble folder; returns its path.

    >>> build_ensemble_report("runs/mali-ens")  # doctest: +SKIP
    PosixPath('runs/mali-ens/report.html')
    """
    folder = Path(folder)
    html = render_ensemble(read_ensemble(folder))
    return write_text_atomic(folder / REPORT_HTML, html)
