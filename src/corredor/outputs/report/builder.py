"""Build `report.html` from a run folder alone: one self-contained page that makes no request.

Reads manifest.json, network.json and results.parquet (written by the run writer and
`outputs.tables`), and the PNGs of `outputs.plots` when present. The map and the time-series
charts are inline SVG drawn from those numbers; a day slider (a few lines of inline JavaScript)
resizes the places and recolours closed crossings. Every name goes through Jinja's autoescape;
the data the script reads is embedded with `tojson`, which escapes `<`, `>`, `&` and quotes.
A Content-Security-Policy forbids any fetch, font or external image, so the page stays offline
even if a future edit forgets.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from jinja2 import Environment, FunctionLoader, select_autoescape
from markupsafe import Markup, escape

from ... import targets
from ...analysis.observations import DRAWN_KINDS, reported_figure, tolerance, within
from ...analysis.peak import PEAK_TOLERANCE, PeakCheck, check_peak
from ...engine import manifest_seed
from .. import tables
from ..formatting import band_cell, count_text, fmt_exact, is_count_unit, signed, signed_percent
from . import checks
from .checks import NotARunFolder, ReportError

REPORT_HTML = "report.html"
COMPARISON_JSON = "comparison.json"
#: Series colours: tab10's, the light ones (orange, pink, cyan; 2.3–2.7:1) darkened so that every
#: line has at least 3:1 contrast against the white page (WCAG 1.4.11).
PALETTE = ["#1f77b4", "#d62728", "#2a8a2a", "#c15a00", "#9467bd", "#8c564b", "#b8438f", "#0f7c88"]
#: Dash patterns (SVG stroke-dasharray) that tell lines apart without colour (a red–green
#: colour-blind reader, a greyscale printout): solid first, then six patterns. 7 against the 8
#: colours: the k-th line's pair (PALETTE[k % 8], LINE_DASHES[k % 7]) repeats only after 56 lines.
LINE_DASHES = ["", "7 3", "2 2", "10 3 2 3", "4 4", "12 3 2 3 2 3", "1 3"]
MAP_W, MAP_H, MAP_PAD = 760, 560, 40
CHART_W, CHART_H = 680, 230
CHART_L, CHART_R, CHART_T, CHART_B = 60, 36, 14, 34


# ---- reading the run folder --------------------------------------------------------------------


@dataclass
class RunData:
    """What the report needs from a run folder, as arrays indexed (day, location)."""

    manifest: dict[str, Any]
    dates: list[str | None]
    days: list[int]
    locations: list[dict[str, Any]]
    roads: list[dict[str, Any]]
    road_status: list[list[int]] | None
    grids: dict[str, np.ndarray] = field(default_factory=dict)  # variable -> (day, location)
    series: dict[str, np.ndarray] = field(default_factory=dict)  # variable -> (day,)
    needs_info: dict[str, Any] = field(default_factory=dict)
    observations: list[dict[str, Any]] = field(default_factory=list)  # observations.json (crisis runs)
    by_group: dict[str, np.ndarray] = field(default_factory=dict)  # group -> (day, location) people
    stranded_by_group: dict[str, np.ndarray] = field(default_factory=dict)  # group -> (day, location) stranded
    groups: list[dict[str, Any]] = field(default_factory=list)  # network.json's `groups` (crisis runs)

    @property
    def names(self) -> list[str]:
        """The places' names: how the run's tables refer to them."""
        return [loc["name"] for loc in self.locations]

    @property
    def labels(self) -> list[str]:
        """What the page calls each place: its label (locations.csv's `label`), else its name."""
        return [str(loc.get("label") or loc["name"]) for loc in self.locations]


def read_run(run_dir: Path) -> RunData:
    """Load manifest, network and the long table of a run folder, each checked first (checks.py):
    NotARunFolder when a file every run folder has is missing or the folder is another command's,
    ReportError (naming the file) when one cannot be read as the report reads it."""
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        # (a `compare --out` folder holds a comparison and no run: say what makes its page)
        hint = (f"; it is a comparison folder, whose page comparison.html `corredor report {run_dir}` "
                f"writes (outputs.report.comparison.build_comparison_report); its comparison.json also goes "
                f"into a run's report: corredor report RUN_DIR --comparison {run_dir / 'comparison.json'}"
                ) if (run_dir / "comparison.json").is_file() else ""
        raise NotARunFolder(f"{run_dir}: not a run folder (no manifest.json){hint}")
    manifest = checks.check_folder(run_dir, checks.read_json(manifest_path))
    net_path = run_dir / tables.NETWORK_JSON
    net = checks.check_network(checks.read_json(net_path), net_path)
    pq_path = run_dir / tables.LONG_TABLE
    needs_info: dict[str, Any] = {}
    try:
        table = pq.read_table(pq_path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ReportError(f"{pq_path}: cannot be read as Parquet ({exc})") from None
    checks.check_long_table(table, pq_path)
    meta = table.schema.metadata or {}
    if b"corredor.needs" in meta:
        needs_info = checks.check_needs_info(meta[b"corredor.needs"], pq_path)
    days = [int(d) for d in net.get("days") or []]
    if not days:
        days = sorted({int(d) for d in table["day"].to_pylist()})
    dates = net.get("dates") or [None] * len(days)
    locations = net.get("locations") or []
    if not locations:
        names = sorted({n for n in pc.unique(table["location"]).to_pylist() if n})
        locations = [{"name": n, "code": tables.slug(n), "country": "", "kind": "", "lat": None, "lon": None,
                      "is_camp": False} for n in names]
    run = RunData(manifest, dates, days, locations, net.get("roads") or [], net.get("road_status"),
                  needs_info=needs_info)
    obs_path = run_dir / tables.OBSERVATIONS_JSON
    if obs_path.is_file():
        run.observations = checks.check_observations(checks.read_json(obs_path), obs_path)
    _fill_arrays(run, table)
    run.groups = list(net.get("groups") or [])
    _fill_groups(run, table)
    return run


def _fill_arrays(run: RunData, table: Any) -> None:
    """Per-location grids and per-day totals of the variables the report shows."""
    day_ix = {d: i for i, d in enumerate(run.days)}
    loc_ix = {n: j for j, n in enumerate(run.names)}
    n_days, n_loc = len(run.days), len(run.names)
    no_group = table.filter(pc.is_null(table["group"]))
    for var in pc.unique(no_group["variable"]).to_pylist():
        sub = no_group.filter(pc.equal(no_group["variable"], var))
        d = np.array([day_ix.get(int(x), -1) for x in sub["day"].to_numpy()], dtype=np.int64)
        v = sub["value"].to_numpy(zero_copy_only=False).astype(float)
        locs = sub["location"].to_pylist()
        if all(loc is None for loc in locs):
            arr = np.full(n_days, np.nan)
            ok = d >= 0
            arr[d[ok]] = v[ok]
            run.series[var] = arr
            continue
        j = np.array([loc_ix.get(loc, -1) for loc in locs], dtype=np.int64)
        ok = (d >= 0) & (j >= 0)
        if ok.any():
            grid = np.full((n_days, n_loc), np.nan)
            grid[d[ok], j[ok]] = v[ok]
            run.grids[var] = grid
        elif var.startswith("crossings[") or var in ("pushbacks", "money_paid_usd"):
            # per-crossing variables: total over crossings per day
            arr = np.zeros(n_days)
            okd = d >= 0
            np.add.at(arr, d[okd], np.nan_to_num(v[okd]))
            run.series[var] = arr


def _fill_groups(run: RunData, table: Any) -> None:
    """`population_by_group` and `stranded_by_group` (a crisis run's) as one (day, location) grid
    of people per group each (`run.by_group`, `run.stranded_by_group`), in the order of
    network.json's `groups`, else as the long table lists them (the scenario's)."""
    run.by_group = _group_grids(run, table, "population_by_group")
    run.stranded_by_group = _group_grids(run, table, "stranded_by_group")


def _group_grids(run: RunData, table: Any, variable: str) -> dict[str, np.ndarray]:
    """One long-table variable with a group column as group -> (day, location) grid; {} where the
    table has none (a Flee run; a crisis run written before `stranded_by_group` was recorded)."""
    rows = table.filter(pc.and_(pc.equal(table["variable"], variable),
                                pc.invert(pc.is_null(table["group"]))))
    if rows.num_rows == 0:
        return {}
    day_ix = {d: i for i, d in enumerate(run.days)}
    loc_ix = {n: j for j, n in enumerate(run.names)}
    groups = [str(g) for g in pc.unique(rows["group"]).to_pylist()]
    known = [str(g.get("name")) for g in run.groups]
    groups = [g for g in known if g in groups] + [g for g in groups if g not in known]
    d = np.array([day_ix.get(int(x), -1) for x in rows["day"].to_numpy()], dtype=np.int64)
    j = np.array([loc_ix.get(loc, -1) for loc in rows["location"].to_pylist()], dtype=np.int64)
    k = np.array([groups.index(g) for g in rows["group"].to_pylist()], dtype=np.int64)
    v = np.nan_to_num(rows["value"].to_numpy(zero_copy_only=False).astype(float))
    ok = (d >= 0) & (j >= 0)
    grid = np.zeros((len(groups), len(run.days), len(run.names)))
    grid[k[ok], d[ok], j[ok]] = v[ok]
    return {g: grid[i] for i, g in enumerate(groups)}


# ---- geometry and charts ---------------------------------------------------------------------


def project(locations: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    """Equirectangular projection scaled by cos(mean latitude), fitted into the map box."""
    pts = {i: (loc["lon"], loc["lat"]) for i, loc in enumerate(locations)
           if loc.get("lat") is not None and loc.get("lon") is not None}
    if not pts:
        return {}
    lons = np.array([p[0] for p in pts.values()])
    lats = np.array([p[1] for p in pts.values()])
    k = math.cos(math.radians(float(np.mean(lats))))
    xs, ys = lons * k, lats
    span_x = max(float(xs.max() - xs.min()), 1e-6)
    span_y = max(float(ys.max() - ys.min()), 1e-6)
    scale = min((MAP_W - 2 * MAP_PAD) / span_x, (MAP_H - 2 * MAP_PAD) / span_y)
    return {
        i: (round(MAP_PAD + (lon * k - xs.min()) * scale, 1), round(MAP_PAD + (ys.max() - lat) * scale, 1))
        for i, (lon, lat) in pts.items()
    }


def map_size(xy: dict[int, tuple[float, float]]) -> tuple[int, int]:
    """The map box around projected points: at most MAP_W × MAP_H, at least 320 × 240."""
    if not xy:
        return MAP_W, MAP_H
    w = max(p[0] for p in xy.values()) + MAP_PAD + 110  # room for labels on the right
    h = max(p[1] for p in xy.values()) + MAP_PAD
    return int(min(max(w, 320), MAP_W + 110)), int(min(max(h, 240), MAP_H))


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not np.isfinite(hi) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    return [start + i * step for i in range(int(math.ceil((hi - start) / step)) + 1)]


def _fmt_num(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f} M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f} k"
    return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.1f}"


def axis_labels(ticks: list[float]) -> list[str]:
    """An axis's tick labels in one form: all in k (or M) once the top tick reaches 10,000 (or a
    million), with the decimals the step needs ("0, 2.5 k, 5 k, 7.5 k, 10 k"), not `_fmt_num`'s
    per-number choice, which labelled one axis "15 k, 10 k, 5,000, 0"."""
    top = max((abs(t) for t in ticks), default=0.0)
    if top < 1e4:
        return [_fmt_num(t) for t in ticks]
    div, unit = (1e6, " M") if top >= 1e6 else (1e3, " k")
    scaled = [t / div for t in ticks]
    decimals = next((d for d in range(4) if all(abs(x - round(x, d)) < 1e-9 * max(1.0, abs(x)) for x in scaled)), 3)
    return ["0" if abs(x) < 1e-12 else f"{x:,.{decimals}f}{unit}" for x in scaled]


def chart(title: str, y_label: str, dates: list[str | None], lines: list[dict[str, Any]],
          dots: list[dict[str, Any]] | None = None,
          reported: list[dict[str, Any]] | None = None,
          bands: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """A line chart as SVG-ready numbers: polylines, dots, ticks. Labels are escaped by the template.

    `reported` are dated observations ({day, kind, value, low, high, note, color}) drawn as a dot
    (point), a bar (range), a triangle (lower bound) or a diamond labelled "peak by then" at the
    report's date (peak: the most there on some day up to then, its day unknown, `analysis.peak`).
    `bands` are shaded areas between
    two series ({label, low, high, color, opacity}; an ensemble's quantiles), drawn under the
    lines as one polygon per run of days where both edges are known. A line may carry a `title`
    (its tooltip), a `dash` (stroke-dasharray, shown in its legend swatch too), a `width`, and
    `on_top` (drawn after the others, as a reference line must be to stay visible under identical
    ones; the legend keeps the given order). `y_min`/`y_max` of the result are the values at the
    plot's bottom and top; `summary` says each line's highest value and its date (the chart's
    text alternative).
    """
    n = len(dates)
    reported = [r for r in reported or [] if 0 <= r["day"] < n]
    values = [np.asarray(line["y"], dtype=float) for line in lines]
    values += [np.asarray(b[edge], dtype=float) for b in bands or [] for edge in ("low", "high")]
    values += [np.asarray(d["y"], dtype=float) for d in (dots or [])]
    values += [np.asarray([v for v in (r.get("value"), r.get("low"), r.get("high")) if v is not None], dtype=float)
               for r in reported]
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if n == 0 or not finite:
        return None
    y_max = max(float(v.max()) for v in finite)
    y_min = min(0.0, min(float(v.min()) for v in finite))
    ticks = _nice_ticks(y_min, y_max)
    y_top = ticks[-1]
    pw, ph = CHART_W - CHART_L - CHART_R, CHART_H - CHART_T - CHART_B

    def px(t: int) -> float:
        return round(CHART_L + (t / max(n - 1, 1)) * pw, 1)

    def py(v: float) -> float:
        return round(CHART_T + ph - (v - y_min) / max(y_top - y_min, 1e-9) * ph, 1)

    out_lines = []
    for k, line in enumerate(lines):
        y = np.asarray(line["y"], dtype=float)
        segs, cur = [], []
        for t, v in enumerate(y):
            if np.isfinite(v):
                cur.append(f"{px(t)},{py(v)}")
            elif cur:
                segs.append(" ".join(cur))
                cur = []
        if cur:
            segs.append(" ".join(cur))
        color, dash = line.get("color", PALETTE[k % len(PALETTE)]), line.get("dash", "")
        out_lines.append({"label": line["label"], "color": color, "dash": dash, "segments": segs,
                          "title": line.get("title", ""), "width": line.get("width"),
                          "on_top": bool(line.get("on_top")), "key_style": swatch_style(color, dash, line.get("width")),
                          "peak": _line_peak(y, dates)})
    out_bands = [{"label": b["label"], "color": b.get("color", PALETTE[0]), "opacity": b.get("opacity", 0.2),
                  "polygons": _band_polygons(b["low"], b["high"], px, py)} for b in bands or []]
    out_dots = []
    for d in dots or []:
        y = np.asarray(d["y"], dtype=float)
        out_dots.append({"label": d["label"], "color": d.get("color", "#000"),
                         "points": [(px(t), py(v), _fmt_num(v), dates[t] or t) for t, v in enumerate(y)
                                    if np.isfinite(v)]})
    marks = []
    for r in reported:
        x, kind = px(r["day"]), r["kind"]
        when = dates[r["day"]] or r["day"]
        if kind == "range" and r.get("low") is not None and r.get("high") is not None:
            text = f"{_fmt_num(r['low'])}–{_fmt_num(r['high'])}"
            marks.append({"shape": "range", "x": x, "y1": py(r["low"]), "y2": py(r["high"]), "color": r["color"],
                          "title": f"{when}: reported {text} ({r.get('note', '')})"})
        elif kind == "lower_bound" and r.get("low") is not None:
            yl = py(r["low"])
            marks.append({"shape": "tri", "points": f"{x},{yl - 5} {x - 4.5},{yl + 3} {x + 4.5},{yl + 3}",
                          "color": r["color"], "title": f"{when}: reported more than {_fmt_num(r['low'])} ({r.get('note', '')})"})
        elif kind == "peak" and r.get("value") is not None:
            # the most there on some day up to the report (analysis.peak), its own day unknown: one
            # diamond at the report's date, labelled "peak by then"; not a line from the first day,
            # which read as that many people there all along
            yp = py(r["value"])
            marks.append({"shape": "peak", "x": x, "y": yp, "color": r["color"],
                          "points": f"{x},{yp - 5.5:.1f} {x + 5.5:.1f},{yp} {x},{yp + 5.5:.1f} {x - 5.5:.1f},{yp}",
                          "label": f"peak ~{_fmt_num(r['value'])} by then", "label_x": x - 8 if x > CHART_W / 2 else x + 8,
                          "anchor": "end" if x > CHART_W / 2 else "start",
                          "title": f"{when}: reported a peak of ~{_fmt_num(r['value'])} on some day up to then, "
                                   f"its date unknown ({r.get('note', '')})"})
        elif r.get("value") is not None:
            marks.append({"shape": "dot", "x": x, "y": py(r["value"]), "color": r["color"],
                          "title": f"{when}: reported {_fmt_num(r['value'])} ({r.get('note', '')})"})
    x_ticks = [(px(t), label) for t, label in date_ticks(dates)]
    return {
        "title": title, "y_label": y_label, "w": CHART_W, "h": CHART_H, "left": CHART_L, "top": CHART_T,
        "right": CHART_W - CHART_R, "bottom": CHART_H - CHART_B, "n_days": n,
        "lines": out_lines, "drawn": sorted(out_lines, key=lambda line: line["on_top"]),
        "summary": chart_summary(out_lines), "dots": out_dots, "marks": marks, "x_ticks": x_ticks,
        "y_ticks": list(zip([py(v) for v in ticks], axis_labels(ticks), strict=True)), "bands": out_bands, "y_min": y_min, "y_max": y_top,
    }


#: A run longer than this many days has its time axis ticked on month starts (`date_ticks`).
MONTH_TICKS_AFTER = 62
#: The most ticks a time axis gets (its labels would touch on a phone beyond).
MAX_TICKS = 7


def date_ticks(dates: list[str | None]) -> list[tuple[int, str]]:
    """A time axis's ticks, (day index, label): on the first of each month ("Mar 2023"), every
    second, third, sixth or twelfth month where there are more than MAX_TICKS, when the run spans
    more than MONTH_TICKS_AFTER days and has dates; else about every sixth of the run, labelled
    with its date (or day number). Why: ticks every 24th day fell on 2023-02-25, 03-21, ….
    """
    n = len(dates)
    parsed: list[dt.date] = []
    try:
        parsed = [dt.date.fromisoformat(str(d)) for d in dates] if all(dates) else []
    except ValueError:
        parsed = []
    if parsed and n > MONTH_TICKS_AFTER:
        firsts = [t for t, d in enumerate(parsed) if d.day == 1]
        every = next((k for k in (1, 2, 3, 6, 12) if len(firsts) <= MAX_TICKS * k), 12)
        firsts = [t for t in firsts if (parsed[t].month - 1) % every == 0]
        if len(firsts) >= 2:
            return [(t, parsed[t].strftime("%b %Y")) for t in firsts]
    step = max(1, (n - 1) // 6)
    return [(t, dates[t] or str(t)) for t in range(0, n, step)]


def swatch_style(color: str, dash: str, width: float | None = None) -> str:
    """A legend swatch's inline style: a bar in the line's colour, broken as its stroke-dasharray
    breaks the line (a repeating gradient; px as the chart's user units at full size), so that the
    key shows the pattern a reader must match, not only the colour."""
    height = f"height: {max(3.0, float(width)):g}px; " if width else ""
    parts = [float(v) for v in dash.replace(",", " ").split()]
    if not parts:
        return f"{height}background: {color}"
    if len(parts) % 2:
        parts *= 2
    stops, at = [], 0.0
    for k, length in enumerate(parts):
        stops.append(f"{color if k % 2 == 0 else 'transparent'} {at:g}px {at + length:g}px")
        at += length
    return f"{height}background: repeating-linear-gradient(to right, {', '.join(stops)})"


def _line_peak(y: np.ndarray, dates: list[str | None]) -> tuple[str, str] | None:
    """A line's highest value and its (first) date, as text; None for a line with no value."""
    if not np.isfinite(y).any():
        return None
    t = int(np.nanargmax(y))
    return _fmt_num(float(y[t])), dates[t] or f"day {t}"


def chart_summary(lines: list[dict[str, Any]], most: int = 4) -> str:
    """What a chart shows, for its text alternative (aria-label): each line's highest value and
    its date, the first `most` lines, so a screen reader hears the message, not only the title."""
    said = [f"{line['label']}: highest {peak[0]} on {peak[1]}" for line in lines[:most] if (peak := line["peak"])]
    more = len(lines) - most
    return "; ".join(said) + (f"; and {more} more line{'s' if more > 1 else ''}" if more > 0 else "")


def _band_polygons(low: Any, high: Any, px: Callable[[int], float], py: Callable[[float], float]) -> list[str]:
    """SVG polygon points of the area between `low` and `high`: the upper edge left to right, then
    the lower edge back, one polygon per run of days where both are finite (a gap is not shaded)."""
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    polygons, start = [], None
    for t in range(len(ok) + 1):
        if t < len(ok) and ok[t]:
            start = t if start is None else start
            continue
        if start is not None:
            days = range(start, t)
            top = [f"{px(d)},{py(hi[d])}" for d in days]
            bottom = [f"{px(d)},{py(lo[d])}" for d in reversed(days)]
            polygons.append(" ".join(top + bottom))
            start = None
    return polygons


# ---- sections -------------------------------------------------------------------------------


def _peak_day(run: RunData) -> int:
    """Start the slider where something happens: the day most people are stranded or in camps."""
    if "stranded" in run.grids:
        focus = np.nansum(run.grids["stranded"], axis=1)
    elif "population" in run.grids:
        camps = [j for j, loc in enumerate(run.locations) if loc.get("is_camp")]
        focus = np.nansum(run.grids["population"][:, camps], axis=1) if camps else np.zeros(len(run.days))
    else:
        return 0
    return int(np.argmax(focus)) if focus.size and np.nanmax(focus) > 0 else 0




def camp_like(run: RunData, limit: int = 6) -> list[int]:
    """Indices of places worth a camp line: camps that held anyone, places observed or with people
    stranded; largest peak first."""
    pop = run.grids.get("population")
    if pop is None:
        return []
    n = len(run.names)
    obs = run.grids.get("observed")
    has_obs = np.isfinite(obs).any(axis=0) if obs is not None else np.zeros(n, bool)
    st = run.grids.get("stranded")
    stranded = np.nan_to_num(st).max(axis=0) > 0 if st is not None else np.zeros(n, bool)
    reported = {o["location"] for o in run.observations if o["kind"] in DRAWN_KINDS}
    peak = np.nan_to_num(pop).max(axis=0)
    chosen = [j for j, loc in enumerate(run.locations)
              if (loc.get("is_camp") and peak[j] > 0) or has_obs[j] or stranded[j] or loc["name"] in reported]
    return sorted(chosen, key=lambda j: -peak[j])[:limit]


Box = tuple[float, float, float, float]

#: Places whose centres are closer than this (px) are named together, in one callout: at the
#: map's scale their circles overlap (a border's two posts, the camp between them, the town
#: beside them), and a label beside one of them could be read as any of them.
CLUSTER_PX = 7.0
#: The most names one callout lists; the others are named under the map.
CALLOUT_LINES = 8
#: A map label's text size and a callout's line height (px; report.css sets the same size).
LABEL_PX, LINE_PX = 10.0, 13.0


def text_width(text: str, size_px: float = LABEL_PX) -> float:
    """Width (px) of `text` at `size_px`, estimated from DejaVu Sans's advances (the widest of the
    fonts a browser picks for system-ui), so that a label's box is never narrower than its text:
    5.6 px a character was too little ("Bukinanyana" is 65 px) and let labels overlap."""
    em = 0.0
    for ch in text:
        if ch in "ijlI.,:;'|":
            em += 0.34
        elif ch in "ftr()[]-/ !":
            em += 0.42
        elif ch in "mwMW":
            em += 0.99
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            em += 1.0
        elif ch.isupper():
            em += 0.79
        else:
            em += 0.64
    return em * size_px


def _overlaps(box: Box, boxes: list[Box], margin: float = 0.0) -> bool:
    return any(box[0] < b[2] + margin and b[0] < box[2] + margin and box[1] < b[3] + margin
               and b[1] < box[3] + margin for b in boxes)


def _label_spot(x: float, y: float, width: float, taken: list[Box],
                size: tuple[int, int]) -> tuple[float, float, str, Box] | None:
    """Where a place's label goes: above right of its circle, else above left, below right or
    below left, the first that stays inside the map (`size`, width × height) and overlaps no
    box already taken (labels, callouts, other places' dots); None when none does."""
    for dx, dy, anchor in ((5, -5, "start"), (-5, -5, "end"), (5, 13, "start"), (-5, 13, "end")):
        lx, ly = x + dx, y + dy
        left = lx if anchor == "start" else lx - width
        box = (left, ly - 10, left + width, ly + 2)
        if box[0] < 0 or box[1] < 0 or box[2] > size[0] or box[3] > size[1]:
            continue
        if not _overlaps(box, taken, -1.0):  # (touching by a pixel is not overlapping: halo)
            return lx, ly, anchor, box
    return None


def leader_end(x: float, y: float, box: Box) -> tuple[float, float]:
    """Where a callout's leader line from (x, y) meets its box: the middle of the side facing
    the point, moved level with the point where the box is beside it."""
    return (box[0] if box[0] > x else box[2]), min(max(y, box[1] + 6), box[3] - 6)


def _segment_clear(a: tuple[float, float], b: tuple[float, float], circles: list[tuple[float, float, float]],
                   boxes: list[Box]) -> bool:
    """Whether the segment a–b passes outside every circle (x, y, r) and through none of `boxes`
    (one that holds `a` aside: a crossing's badge beside the places the line starts from)."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy or 1e-9
    for cx, cy, r in circles:
        t = min(max(((cx - ax) * dx + (cy - ay) * dy) / length2, 0.0), 1.0)
        if math.hypot(ax + t * dx - cx, ay + t * dy - cy) < r:
            return False
    steps = max(2, int(math.sqrt(length2) / 2))  # (a point every 2 px: labels are 12 px tall)
    points = [(ax + dx * k / steps, ay + dy * k / steps) for k in range(1, steps)]
    return not any(b[0] < px < b[2] and b[1] < py < b[3] for b in boxes
                   if not (b[0] <= ax <= b[2] and b[1] <= ay <= b[3]) for px, py in points)


#: How far (px) a callout may be from its places: its leader line's reach, and a shorter one
#: where the line has to cross labels (a crowded map), so that no such line runs across the map.
CALLOUT_REACH, CROWDED_REACH = 220.0, 70.0


def _callout_spot(x: float, y: float, w: float, h: float, taken: list[Box], size: tuple[float, float],
                  circles: list[tuple[float, float, float]], reach: float = CALLOUT_REACH) -> Box | None:
    """A free box w × h near (x, y) for a callout (joined to the point by a leader line): the
    nearest of a ring of spots right and left of the point, within `reach`, inside the map and
    clear (by 2 px) of every box taken, whose leader line crosses no label nor any of `circles`
    (other places, as drawn: a line across one reads as naming it); where the map is too crowded
    for that, one whose line crosses no label and misses the circles' centres, else any free box
    within CROWDED_REACH; None when none is."""
    spots = []
    for dx in (16, 28, 44, 64, 90, 120, 160, 210):
        for dy in (0, -16, 16, -32, 32, -52, 52, -78, 78, -110, 110, -150, 150):
            for side, left in ((0, x + dx), (1, x - dx - w)):
                spots.append((math.hypot(dx, dy), side, (left, y - h / 2 + dy, left + w, y + h / 2 + dy)))
    free = [(d, box) for d, _, box in sorted(spots, key=lambda s: (s[0], s[1]))
            if box[0] >= 0 and box[1] >= 0 and box[2] <= size[0] and box[3] <= size[1] and not _overlaps(box, taken, 2.0)]
    dots = [(cx, cy, min(r, 3.5)) for cx, cy, r in circles]
    for avoid_circles, avoid_boxes, far in ((circles, taken, reach), (dots, taken, reach),
                                            ([], [], min(reach, CROWDED_REACH))):
        for d, box in free:
            if d <= far and _segment_clear((x, y), leader_end(x, y, box), avoid_circles, avoid_boxes):
                return box
    return None


def _clusters(xy: dict[int, tuple[float, float]]) -> list[list[int]]:
    """Places whose dots are within CLUSTER_PX of one another, chained (one linkage): groups of
    indices, each a list; a place alone is a group of one."""
    keys = list(xy)
    parent = {k: k for k in keys}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    pts = np.array([xy[k] for k in keys], dtype=float).reshape(-1, 2)
    close = np.argwhere(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)) < CLUSTER_PX)
    for a, b in close:
        if a < b:
            parent[root(keys[a])] = root(keys[b])
    groups: dict[int, list[int]] = {}
    for k in keys:
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


def _along(members: list[int], locations: list[dict[str, Any]]) -> list[int]:
    """A cluster's places in the order they lie: north to south where it is taller than wide,
    else west to east (a border's town, post, camp, post, town read as on the ground)."""
    lat = {j: float(locations[j]["lat"]) for j in members}
    lon = {j: float(locations[j]["lon"]) for j in members}
    k = math.cos(math.radians(sum(lat.values()) / len(lat)))
    tall = max(lat.values()) - min(lat.values()) >= (max(lon.values()) - min(lon.values())) * k
    return sorted(members, key=(lambda j: (-lat[j], lon[j])) if tall else (lambda j: (lon[j], -lat[j])))


def place_labels(run: RunData, places: list[dict[str, Any]], peak: np.ndarray, size: tuple[int, int],
                 badges: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str], int]:
    """Name every place on the map, in three rounds, each most important first (camps and places
    people waited at, then those that held anyone, biggest first, then those people only passed
    through):

    1. a place alone gets a label beside its dot (`_label_spot`), clear of other labels and dots;
    2. places whose dots overlap (CLUSTER_PX) get one callout, a box listing them in the order
       they lie, each with a dot in its colour and, where they are in different countries, its
       country on the right, joined to them by a leader line, placed where round 1 left room (a
       callout can go further off; a label read beside the wrong dot cannot);
    3. a place alone that found no room gets a label over a neighbour's dot, else, if people
       stayed there, a callout of its own; what still finds no room is named under the map.

    Sets each place's `label` (and `lx`, `ly`, `anchor`); returns the callouts, the names left
    for the list under the map, and the map's width (wider where a callout needed room)."""
    by_i = {p["i"]: p for p in places}
    xy = {p["i"]: (p["x"], p["y"]) for p in places}

    def rank(j: int) -> tuple[bool, bool, float]:
        return (not by_i[j]["is_camp"], peak[j] <= 0, -float(peak[j]))

    groups = sorted(_clusters(xy), key=lambda g: min(rank(j) for j in g))
    dot = {j: (x - 2.5, y - 2.5, x + 2.5, y + 2.5) for j, (x, y) in xy.items()}
    taken: list[Box] = [(b["x"] - 6, b["y"] - 6, b["x"] + 6, b["y"] + 6) for b in badges]
    wide = (float(MAP_W + 110), float(size[1]))
    callouts: list[dict[str, Any]] = []
    unnamed: list[str] = []

    def label(p: dict[str, Any], avoid: list[Box]) -> bool:
        spot = _label_spot(p["x"], p["y"], text_width(p["name"]), taken + avoid, size)
        if spot is not None:
            p["lx"], p["ly"], p["anchor"], box = spot
            taken.append(box)
        p["label"] = spot is not None
        return p["label"]

    def callout(members: list[int]) -> None:
        shown = sorted(members, key=rank)[:CALLOUT_LINES - 1] if len(members) > CALLOUT_LINES else members
        shown = [j for j in members if j in shown]
        country = {j: str(run.locations[j].get("country") or "") for j in members}
        if len(set(country.values()) - {""}) < 2:
            country = dict.fromkeys(members, "")  # (one country: it goes without saying)
        more = len(members) - len(shown)
        lines = [by_i[j]["name"] for j in shown] + ([f"and {more} more, named under the map"] if more else [])
        cx = sum(xy[j][0] for j in members) / len(members)
        cy = sum(xy[j][1] for j in members) / len(members)
        codes = max((text_width(country[j]) + 8 for j in shown if country[j]), default=0.0)
        w, h = max(text_width(t) for t in lines) + 22 + codes, LINE_PX * len(lines) + 6
        others = [j for j in xy if j not in members]
        box = _callout_spot(cx, cy, w, h, taken + [dot[j] for j in others], wide,
                            [(xy[j][0], xy[j][1], by_i[j]["r"] + 2) for j in others],
                            CALLOUT_REACH if len(members) > 1 else CROWDED_REACH)
        if box is None:
            unnamed.extend(by_i[j]["name"] for j in members)
            return
        taken.append(box)
        unnamed.extend(by_i[j]["name"] for j in members if j not in shown)
        entries = []
        for n, j in enumerate(shown):
            ty = box[1] + LINE_PX * (n + 1)
            entries.append({"i": j, "name": by_i[j]["name"], "country": country[j], "camp": by_i[j]["is_camp"],
                            "people": by_i[j]["people"], "mx": round(box[0] + 8, 1), "my": round(ty - 3.5, 1),
                            "tx": round(box[0] + 15, 1), "ty": round(ty, 1), "cx": round(box[2] - 6, 1)})
        end = leader_end(cx, cy, box)
        callouts.append({"x": round(box[0], 1), "y": round(box[1], 1), "w": round(w, 1), "h": round(h, 1),
                         "x1": round(cx, 1), "y1": round(cy, 1), "x2": round(end[0], 1), "y2": round(end[1], 1),
                         "entries": entries,
                         "more": (lines[-1], round(box[0] + 15, 1), round(box[1] + LINE_PX * len(lines), 1))
                         if more else None})

    for p in places:
        p["label"] = False
    alone = [by_i[g[0]] for g in groups if len(g) == 1]
    for p in alone:
        label(p, [d for j, d in dot.items() if j != p["i"]])
    for group in groups:
        if len(group) > 1:
            callout(_along(group, run.locations))
    for p in alone:
        if p["label"] or label(p, []):
            continue
        if peak[p["i"]] > 0 or p["is_camp"]:
            callout([p["i"]])
        else:
            unnamed.append(p["name"])
    width = max([float(size[0])] + [c["x"] + c["w"] + 4 for c in callouts])
    return callouts, unnamed, int(math.ceil(width))


def map_view(run: RunData) -> dict[str, Any] | None:
    """Places (circles sized by population), roads (lines, closed ones marked), names (labels and
    callouts, `place_labels`) and slider data."""
    xy = project(run.locations)
    if not xy:
        return None
    pop = run.grids.get("population")
    n_days = len(run.days)
    pop = np.nan_to_num(pop) if pop is not None else np.zeros((n_days, len(run.locations)))
    peak = pop.max(axis=0) if n_days else np.zeros(len(run.locations))
    top = float(peak.max()) if peak.size else 0.0
    r_min, r_max = 2.5, 26.0
    r_scale = (r_max - r_min) / math.sqrt(top) if top > 0 else 0.0
    day0 = _peak_day(run)
    st = run.grids.get("stranded")
    waited = np.nan_to_num(st).max(axis=0) > 0 if st is not None else np.zeros(len(run.locations), bool)
    places = []
    for j in sorted(xy, key=lambda j: -peak[j]):  # big circles first, small ones stay clickable on top
        loc = run.locations[j]
        places.append({"i": j, "x": xy[j][0], "y": xy[j][1], "name": run.labels[j], "kind": loc.get("kind", ""),
                       "country": loc.get("country", ""), "is_camp": bool(loc.get("is_camp")) or bool(waited[j]),
                       "r": round(r_min + r_scale * math.sqrt(max(pop[day0, j], 0.0)), 2) if n_days else r_min,
                       "people": _fmt_num(pop[day0, j]) if n_days else "–", "label": True,
                       "stranded": _fmt_num(float(np.nan_to_num(st)[day0, j])) if st is not None and n_days else "–"})
        # a camp is a square of the circle's area (its shape, not only its colour, says camp)
        places[-1]["side"] = round(places[-1]["r"] * math.sqrt(math.pi), 2)
    index = {loc["name"]: j for j, loc in enumerate(run.locations)}
    roads: list[dict[str, Any]] = []
    for k, road in enumerate(run.roads):
        a, b = index.get(road["a"]), index.get(road["b"])
        if a not in xy or b not in xy:
            continue
        status = run.road_status[day0][k] if run.road_status and n_days else 0
        roads.append({"k": k, "x1": xy[a][0], "y1": xy[a][1], "x2": xy[b][0], "y2": xy[b][1],
                      "crossing": road.get("crossing"), "status": status,
                      "label": f"{run.labels[a]} – {run.labels[b]}" + (f" ({road['crossing']})" if road.get("crossing") else "")})
    # crossings get a fixed-size badge at their midpoint: a crossing road is often shorter than a
    # pixel at national scale; badges that would overlap are nudged apart
    badges: list[dict[str, Any]] = []
    for r in roads:
        if not r["crossing"]:
            continue
        x, y = (r["x1"] + r["x2"]) / 2, (r["y1"] + r["y2"]) / 2
        while any(abs(x - b["x"]) < 11 and abs(y - b["y"]) < 11 for b in badges):
            x += 12
        badges.append({"k": r["k"], "x": round(x, 1), "y": round(y, 1), "name": r["crossing"], "status": r["status"]})
    size = map_size(xy)
    callouts, unnamed, w = place_labels(run, places, peak, size, badges)
    data: dict[str, Any] = {
        "dates": [d or str(run.days[t]) for t, d in enumerate(run.dates)],
        "pop": [[int(round(v)) for v in row] for row in pop],
        "rMin": r_min, "rScale": r_scale,
        "roadStatus": run.road_status,
        "stranded": ([[int(round(v)) for v in row] for row in np.nan_to_num(run.grids["stranded"])]
                     if "stranded" in run.grids else None),
    }
    keys = _status_keys(run.road_status, bool(badges))
    data["closedNoun"] = keys["closed_noun"]  # (the day summary counts what the legend names)
    return {"w": w, "h": size[1], "places": places, "roads": roads, "badges": badges, "callouts": callouts,
            "unnamed": unnamed, "day0": day0, "n_days": n_days,
            "date0": data["dates"][day0] if n_days else "", "data": data, **keys}


def _status_keys(road_status: list[list[int]] | None, crossings: bool) -> dict[str, Any]:
    """What the map's legend names: "crossing" where the run has border crossings, else "road"
    (a Flee case closes links); a key for each status that occurs on some day (1 documents
    required, 2 closed)."""
    seen = {int(v) for row in road_status or () for v in row}
    return {"closed_noun": "crossing" if crossings else "road",
            "shows_closed": 2 in seen, "shows_docs": 1 in seen}


#: Above this many observed days a place's observations are a dashed line, not dots (Flee's
#: interpolated daily series); in the run report and the ensemble's alike.
DAILY_OBSERVATIONS = 40


def time_series(run: RunData) -> list[dict[str, Any]]:
    """Charts: camp populations vs observations, stranded, crossings by mode, needs at the peak place."""
    charts = []
    pop = run.grids.get("population")
    obs = run.grids.get("observed")
    if pop is not None:
        camps = camp_like(run)
        if camps:
            colour = {j: PALETTE[k % len(PALETTE)] for k, j in enumerate(camps)}
            lines = [{"label": f"{run.labels[j]} (simulated)", "y": pop[:, j], "color": colour[j]} for j in camps]
            index = {n: j for j, n in enumerate(run.names)}
            reported = [{**o, "color": colour[index[o["location"]]]} for o in run.observations
                        if o["kind"] in DRAWN_KINDS and index.get(o["location"]) in colour]
            # a crisis run's gridded `observed` holds its dated reports' values: a place with
            # reports is drawn from them alone (dots, bars, triangles), not twice
            has_reports = {index[o["location"]] for o in reported}
            observed = [j for j in camps if obs is not None and np.isfinite(obs[:, j]).any() and j not in has_reports]
            seen = cast(np.ndarray, obs)  # (read below for `observed` only: none when obs is None)
            # daily series (Flee's interpolated data) read better as dashed lines than as dots
            daily = [j for j in observed if np.isfinite(seen[:, j]).sum() > DAILY_OBSERVATIONS]
            lines += [{"label": f"{run.labels[j]} (observed)", "y": seen[:, j], "color": colour[j], "dash": "5 3"}
                      for j in daily]
            dots = [{"label": f"{run.labels[j]} (observed)", "y": seen[:, j], "color": colour[j]}
                    for j in observed if j not in daily]
            c = chart("Camps: simulated population and observations", "people", run.dates, lines, dots, reported)
            if c:
                if reported:  # (the legend's words before its marks; an ensemble's page draws them black)
                    c["reported_legend"] = "reported, in the colour of its place"
                charts.append(c)
    if "stranded" in run.grids:
        st = run.grids["stranded"]
        ever = [j for j in range(st.shape[1]) if np.nanmax(np.nan_to_num(st[:, j])) > 0]
        # (one place that held them all is the total: both lines were drawn, one hiding the other)
        lines = [] if len(ever) == 1 else [{"label": "total stranded", "y": np.nansum(st, axis=1), "color": "#222"}]
        lines += [{"label": run.labels[j] + (" (all stranded)" if len(ever) == 1 else ""), "y": st[:, j]}
                  for j in ever[:5]]
        lines = patterned(lines)
        c = chart("People stranded at borders", "people", run.dates, lines)
        if c:
            charts.append(c)
    modes = sorted(v for v in run.series if v.startswith("crossings["))
    if modes:
        lines = []
        for v in modes:
            mode = re.sub(r"^crossings\[mode=(.*)\]$", r"\1", v)
            if np.nansum(run.series[v]) > 0:
                lines.append({"label": MODE_LABELS.get(mode, mode), "y": run.series[v]})
        extra = [{"label": lab, "y": run.series[v]} for v, lab in
                 (("pushbacks", "pushbacks"), ("give_ups", "gave up")) if v in run.series]
        c = chart("Passages by mode, per day: across the border, and moved by events", "people/day",
                  run.dates, patterned(lines + extra))
        if c:
            charts.append(c)
    if "needs.water_l" in run.grids:
        water = np.nan_to_num(run.grids["needs.water_l"])
        # the place the reader most needs to see: where something was provided, else the biggest camp,
        # else the biggest need
        peak = water.max(axis=0) if water.size else np.zeros(0)
        provided = run.grids.get("needs.toilets_provided")
        with_provision = [j for j in range(peak.size) if provided is not None and np.isfinite(provided[:, j]).any()]
        camps = [j for j, loc in enumerate(run.locations) if loc.get("is_camp") and j < peak.size]
        pool = with_provision or [j for j in camps if peak[j] > 0] or list(range(peak.size))
        j = max(pool, key=lambda j: peak[j]) if pool else 0
        if water.size and water[:, j].max() > 0:
            lines = [{"label": "toilets needed", "y": run.grids["needs.toilets"][:, j]}]  # count axis
            if "needs.toilets_provided" in run.grids and np.isfinite(run.grids["needs.toilets_provided"][:, j]).any():
                lines.append({"label": "toilets provided", "y": run.grids["needs.toilets_provided"][:, j],
                              "dash": "5 3"})
            lines.append({"label": "health workers (population-level density equivalent)",
                          "y": run.grids["needs.health_staff"][:, j], "dash": LINE_DASHES[2]})
            c = chart(f"Needs at {run.labels[j]}", "count", run.dates, lines)
            if c:
                charts.append(c)
    return charts


def patterned(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`lines` each with its own colour and dash pattern by position (PALETTE, LINE_DASHES), where
    it has none: a chart of many series (passages by mode, stranded by place) read by colour
    alone lost its red–green pairs to colour-blind readers and all of them on a greyscale print."""
    return [{"color": PALETTE[k % len(PALETTE)], "dash": LINE_DASHES[k % len(LINE_DASHES)], **line}
            for k, line in enumerate(lines)]


#: Indicators other than toilets whose gap the needs table shows where something was provided.
OTHER_GAPS = {"water_l": "water litres/day", "food_rations": "rations/day", "food_kcal": "kcal/day",
              "covered_space_m2": "covered m²", "tents": "tents",
              "health_staff": "health workers (population-level density equivalent)"}


#: How the crossings chart names each mode: transfers and flights are events that move people
#: (a transfer need not cross a border), not border crossings.
MODE_LABELS = {"regular": "crossed: regular", "paid": "crossed: paid", "irregular": "crossed: irregular path",
               "admission": "crossed: admitted", "corridor": "corridor (event)", "transfer": "transfer (event)",
               "flight": "flight (event)"}


#: The needs table's one figure that does not count whole things (energy): it keeps its decimal;
#: every other cell (people, litres, rations, m², tents, toilets, health workers, person-nights) is a count,
#: written as a whole number (`formatting.count_text`), as the key figures above it are.
NOT_COUNTS = frozenset({"food_kcal"})


def needs_rows(run: RunData) -> list[dict[str, str]]:
    """Per place that ever held anyone: needs at its peak day, provision and worst gap; counts as
    whole numbers (a place's 2,607.5 m² of covered space is 2,608), `NOT_COUNTS` with a decimal."""
    if "needs.in_need" not in run.grids:
        return []
    g = {k[len(tables.NEEDS_PREFIX):]: v for k, v in run.grids.items() if k.startswith(tables.NEEDS_PREFIX)}
    people = np.nan_to_num(g["in_need"])
    rows = []
    for j in np.argsort(-people.max(axis=0)):
        if people[:, j].max() <= 0:
            continue
        t = int(np.argmax(people[:, j]))

        def at(name: str, t: int = t, j: int = j) -> str:
            return count_text(g[name][t, j]) if name in g else "–"

        def worst(name: str, j: int = j) -> str:
            if name not in g or not np.isfinite(g[name][:, j]).any():
                return "–"
            text = fmt_exact if name.removesuffix("_gap") in NOT_COUNTS else count_text
            return text(np.nanmax(g[name][:, j]))

        unsheltered = g.get("person_nights_unsheltered")
        rows.append({
            "location": run.labels[j], "peak_date": run.dates[t] or str(run.days[t]), "people": at("in_need"),
            "water": at("water_l"), "rations": at("food_rations"), "space": at("covered_space_m2"),
            "tents": at("tents"),
            "toilets": worst("toilets"), "toilets_provided": worst("toilets_provided"),
            "toilets_gap": worst("toilets_gap"), "staff": at("health_staff"),
            "other_gaps": "; ".join(f"{label} {worst(ind + '_gap')}" for ind, label in OTHER_GAPS.items()
                                    if ind + "_gap" in g and np.isfinite(g[ind + "_gap"][:, j]).any()) or "–",
            "unsheltered": (count_text(np.nansum(unsheltered[:, j]))
                            if unsheltered is not None and np.isfinite(unsheltered[:, j]).any() else "–"),
        })
    return rows[:40]


def site_columns(run: RunData) -> np.ndarray | None:
    """bool per place: a crisis run's sites (the line, camps and shelters; `needs.crisis_sites`'
    rule, from the folder's places and its stranded and sheltered people); None without
    `stranded` (a Flee case)."""
    from ...analysis.needs import site_mask

    if "stranded" not in run.grids:
        return None
    ever = [np.nan_to_num(run.grids[v]).max(axis=0, initial=0) > 0
            for v in ("stranded", "sheltered", "held") if v in run.grids]
    return site_mask([str(loc.get("kind") or "") for loc in run.locations], *ever)


def _share(part: float, whole: float) -> str:
    """A share in whole percent; "< 1 %" rather than 0 for a few people among many."""
    if whole <= 0:
        return "–"
    pct = 100.0 * part / whole
    return "< 1 %" if 0 < pct < 0.5 else f"{pct:.0f} %"


def groups_at_sites(run: RunData) -> dict[str, Any] | None:
    """Who is at the crisis sites (a crisis run's `population_by_group`, summed over its sites):
    per group, the people there on the sites' busiest day (the day they hold the most people
    together) and its share, and the group's own peak and its date; where the run recorded
    `stranded_by_group`, the group's stranded that day and its most stranded at once (with its
    date); largest first, with a total row and a stacked chart of the groups day by day. None for a run without groups or sites, or
    whose sites never hold anyone."""
    site = site_columns(run)
    if not run.by_group or site is None or not site.any():
        return None
    series = {g: grid[:, site].sum(axis=1) for g, grid in run.by_group.items()}
    total = np.sum(list(series.values()), axis=0)
    if total.size == 0 or total.max() <= 0:
        return None
    t = int(np.argmax(total))

    def date(day: int) -> str:
        return run.dates[day] or str(run.days[day])

    info = {str(g.get("name")): g for g in run.groups}
    stranded = {g: grid[:, site].sum(axis=1) for g, grid in run.stranded_by_group.items()}
    order = sorted(series, key=lambda g: (-series[g][t], -series[g].max()))
    rows = []
    for g in order:
        y = series[g]
        label = str(info.get(g, {}).get("label") or "")
        peak = int(np.argmax(y))
        row = {"group": g, "who": label if label and label != g else "–", "people": count_text(y[t]),
               "share": _share(y[t], total[t]), "peak": count_text(y[peak]),
               "peak_date": date(peak) if y[peak] > 0 else "–"}
        if stranded:  # (who is stranded: that day, and the group's most stranded at once)
            z = stranded.get(g, np.zeros_like(y))
            top = int(np.argmax(z))
            row |= {"stranded": count_text(z[t]), "stranded_peak": count_text(z[top]),
                    "stranded_peak_date": date(top) if z[top] > 0 else "–"}
        rows.append(row)
    # stacked: each group's band from the groups under it to its own top, the largest at the bottom
    bands, base = [], np.zeros_like(total)
    for k, g in enumerate(order):
        top = base + series[g]
        label = rows[k]["who"] if rows[k]["who"] != "–" else g
        bands.append({"label": f"{g} ({label})" if label != g else g, "low": base.copy(), "high": top,
                      "color": PALETTE[k % len(PALETTE)], "opacity": 0.75})
        base = top
    c = chart("People at the crisis sites by group, stacked", "people", run.dates,
              [{"label": "all groups", "y": total, "color": "#222"}], bands=bands)
    all_stranded = np.sum(list(stranded.values()), axis=0) if stranded else None
    top = int(np.argmax(all_stranded)) if all_stranded is not None else 0
    return {"date": date(t), "people": count_text(total[t]), "rows": rows, "chart": c,
            "sites": [run.labels[j] for j in np.flatnonzero(site)],
            **({"stranded": count_text(all_stranded[t]), "stranded_peak": count_text(all_stranded[top]),
                "stranded_peak_date": date(top) if all_stranded[top] > 0 else "–"}
               if all_stranded is not None else {})}


#: The most places the report names as still occupied on the last day (the fullest first).
OCCUPIED_SHOWN = 10


def occupied_at_end(run: RunData) -> dict[str, Any] | None:
    """The run's last date and the places with people in need on it: their needs go on past the
    report's totals, which stop there (None when every place is empty by then)."""
    if "needs.in_need" not in run.grids or not run.days:
        return None
    last = np.nan_to_num(run.grids["needs.in_need"][-1])
    places = [{"location": run.labels[j], "people": count_text(last[j])} for j in np.argsort(-last) if last[j] > 0]
    if not places:
        return None
    shown = places[:OCCUPIED_SHOWN]  # (a Flee case may end with hundreds of places occupied)
    return {"date": run.dates[-1] or str(run.days[-1]), "places": shown, "more": len(places) - len(shown)}


def fit_rows(run: RunData) -> list[dict[str, str]]:
    """Simulated against observed on the days with observations, per place."""
    pop, obs = run.grids.get("population"), run.grids.get("observed")
    if pop is None or obs is None:
        return []
    rows = []
    for j, name in enumerate(run.labels):
        ok = np.isfinite(obs[:, j]) & np.isfinite(pop[:, j])
        if not ok.any():
            continue
        o, s = obs[ok, j], pop[ok, j]
        rel = float(np.abs(s - o).sum() / o.sum()) if o.sum() > 0 else float("nan")
        # people to the whole person (`count_text`): a column reads alike row to row (not 1,202 above 1,748.1)
        rows.append({"location": name, "n": str(int(ok.sum())), "observed_mean": count_text(float(o.mean())),
                     "simulated_mean": count_text(float(s.mean())),
                     "mae": count_text(float(np.abs(s - o).mean())),
                     "relative": f"{rel:.2f}" if np.isfinite(rel) else "–",
                     "peak_obs": count_text(float(o.max())), "peak_sim": count_text(float(np.nanmax(pop[:, j])))})
    return rows


def range_verdict(lo: float, hi: float, low: float, high: float) -> str:
    """Where the model's figures `lo`..`hi` lie against a reported range `low`..`high`: "inside"
    it, "above" or "below" it, or "overlaps" it (partly inside). A run's one figure is `lo` ==
    `hi` (inside, above or below); an ensemble's is the replicas' 5–95 % band."""
    if lo > high:
        return "above"
    if hi < low:
        return "below"
    return "inside" if low <= lo and hi <= high else "overlaps"


def reported_text(o: dict[str, Any]) -> str | None:
    """How a page writes a stock observation's report: a range "150–200", a lower bound "> 300",
    else its value; None when the row lacks what its kind needs."""
    low, high, value = o.get("low"), o.get("high"), o.get("value")
    if o["kind"] == "range" and low is not None and high is not None:
        return f"{fmt_exact(low)}–{fmt_exact(high)}"
    if o["kind"] == "lower_bound" and low is not None:
        return f"> {fmt_exact(low)}"
    return None if value is None else fmt_exact(value)


def peak_text(peak: PeakCheck) -> str:
    """A run page's verdict on a reported peak (`analysis.peak.check_peak`): the simulated peak's
    difference from it and whether that lies within the tolerance ("−56%, below 200–600")."""
    where = "within" if peak.ok else peak.verdict
    difference = f"{signed_percent(peak.difference)}, " if math.isfinite(peak.difference) else ""
    return f"{difference}{where} {count_text(peak.low)}–{count_text(peak.high)}"


def tolerance_text(sim: float, bounds: tuple[float, float | None] | None) -> str:
    """Where a run's figure lies against a report's tolerance (`analysis.observations.tolerance`,
    the main job's: ±50 % of an approximate count): "within 30–90", "above 30–90"."""
    if bounds is None:
        return ""
    low, high = bounds
    where = "within" if within(sim, low, high) else ("below" if sim < low else "above")
    return f"{where} {count_text(low)}–{count_text(high)}" if high is not None else f"{where} ≥ {count_text(low)}"


def reported_rows(run: RunData) -> list[dict[str, str]]:
    """Each dated stock observation against the simulated population that day, with a verdict
    and, where observations.json has it, what it is to the fit (`role`: fitted, held out, set
    by an event); a `peak` (reported by that date, its own date unstated) against the simulated
    peak so far, which must lie within ±50 % of it (`analysis.peak`)."""
    pop = run.grids.get("population")
    if pop is None:
        return []
    index = {n: j for j, n in enumerate(run.names)}
    rows = []
    for o in sorted(run.observations, key=lambda o: o["day"]):
        j = index.get(o["location"])
        if o["kind"] not in DRAWN_KINDS or j is None or not 0 <= o["day"] < len(run.days):
            continue
        sim = float(reported_figure(pop[:, j], o["day"], o["kind"]))
        low, high, value = o.get("low"), o.get("high"), o.get("value")
        shown = reported_text(o)
        if shown is None:
            continue
        if o["kind"] == "range" and low is not None and high is not None:
            verdict = range_verdict(sim, sim, low, high)
        elif o["kind"] == "lower_bound" and low is not None:
            verdict = "consistent" if sim >= low else "below"
        elif o["kind"] == "peak" and value is not None:
            peak = check_peak(o, pop[:, j])
            sim, verdict = peak.simulated, peak_text(peak)
        elif value is not None and value > 0:  # (an approximate count: ±50 %, as the main job's check)
            verdict = f"{signed_percent((sim - value) / value)}, {tolerance_text(sim, tolerance(o))}"
        elif value is not None:
            verdict = "0 as reported" if sim == 0 else "above"
        else:
            continue
        rows.append({"date": o.get("date") or str(o["day"]), "location": run.labels[j], "kind": o["kind"],
                     "role": str(o.get("role") or ""),  # (fitted, held out, set by an event)
                     "reported": shown, "simulated": count_text(sim), "verdict": verdict,
                     "note": o.get("note", ""), "source": o.get("source", "")})
    return rows


def comparison_rows(obj: Any) -> list[dict[str, Any]] | None:
    """A comparison as a list of rows; also accepts `analysis.compare`'s comparison.json (a dict
    whose `summary` holds one row per scenario and metric), pivoted to one row per scenario."""
    if obj is None:
        return obj
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            if not isinstance(item, dict):
                raise ValueError(f"row {i + 1} of the comparison is {checks.kind_of(item)}, expected an object")
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("summary"), list):
        from ...analysis.compare import ALL_METRICS, heading, titled
        from ..comparison_tables import NOBODY, NOT_WITHIN, metric_cell

        metrics = obj.get("metrics") or {}
        if not isinstance(metrics, dict) or not all(isinstance(v, dict) for v in metrics.values()):
            raise ValueError('its "metrics" must be an object of {label, unit} objects')
        labels = {k: titled(str(v.get("label", k)), str(v.get("unit") or "")) for k, v in metrics.items()}
        units = {k: str(v.get("unit") or "") for k, v in metrics.items()}

        def column(key: Any) -> str:
            """`compare.heading` of a metric this version knows, as the main job's report and the
            CLI head it ("stranded person-days", "m²": the file's label and unit gave
            "stranded person-days (person-days)" and "m2"); the file's own label otherwise."""
            if not isinstance(key, str):
                return str(key)
            return heading(key) if key in ALL_METRICS else labels.get(key, key)

        def counts(r: dict[str, Any]) -> bool:
            """Whether a row's figures count whole things (`formatting.is_count_unit`), written
            as whole numbers as `corredor compare` prints them: by the unit this version knows
            for the metric, else the file's."""
            key = r.get("metric")
            unit = (ALL_METRICS[key][1] if isinstance(key, str) and key in ALL_METRICS
                    else r.get("unit") or units.get(str(key), ""))
            return is_count_unit(str(unit))

        def cell(i: int, r: Any) -> tuple[str, str]:
            if not isinstance(r, dict):
                raise ValueError(f"summary row {i} is not an object")
            med, lo, hi = r.get("median"), r.get("p05"), r.get("p95")
            if any(v is not None and not checks.is_number(v) for v in (med, lo, hi)):
                raise ValueError(f"summary row {i}: median, p05 and p95 must be numbers or null")
            # (the cell `corredor compare` prints and comparison.html shows: "not within the run"
            # where no seed has a value, where the page said "–"; starred where some have none,
            # `missing_seed_notes` saying which under the table)
            shown, missing = metric_cell(r)
            # (a day metric's dates and a share's decimal: as `corredor compare` prints them)
            if shown.value in (NOT_WITHIN, NOBODY) or counts(r) or r.get("median_date") or r.get("unit") == "%":
                return column(r.get("metric")), f"{shown.value} {shown.band}".rstrip()
            median, _, band = band_cell(med, lo, hi).partition(" ")  # (no count: every digit)
            return column(r.get("metric")), f"{median}{'*' if missing else ''} {band}".rstrip()

        return pivot(obj["summary"], cell)
    raise ValueError("a comparison is a list of {variant: metrics} rows or a comparison.json with a summary")


def missing_seed_notes(comparison: Any) -> list[str]:
    """The notes under the run page's comparison table for its starred figures, as under the
    CLI's and comparison.html's tables (`comparison_tables.missing_note`): which scenario's figure
    some seeds have no value of, in how many. Nothing for a comparison given as plain rows."""
    from ..comparison_tables import metric_cell, missing_note

    summary = comparison.get("summary") if isinstance(comparison, dict) else None
    notes = []
    for r in summary if isinstance(summary, list) else []:
        if isinstance(r, dict) and (missing := metric_cell(r)[1]):
            notes.append(missing_note(str(r.get("scenario", "")), str(r.get("metric")), missing,
                                      r.get("seeds")))
    return notes


def pivot(summary: list[Any], cell: Callable[[int, Any], tuple[str, str] | None]) -> list[dict[str, Any]]:
    """Summary rows (one per scenario and metric, as `Comparison.summary()` and comparison.json
    hold them) as one row per scenario, `{"variant": name, column: text}`, in the order the
    scenarios first appear. `cell(i, row)` (i counted from 1) gives a row's column and text, or
    None to leave the row out; a scenario none of whose rows is kept gets no row."""
    rows: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(summary, start=1):
        got = cell(i, r)
        if got is not None:
            column, text = got
            rows.setdefault(str(r.get("scenario", "")), {"variant": str(r.get("scenario", ""))})[column] = text
    return list(rows.values())


def difference_rows(summary: Any) -> list[dict[str, Any]] | None:
    """The differences from the baseline, seed by seed, of `analysis.compare.DIFF_METRICS`, as
    comparison rows `{"variant": name, "label (unit)": "+x [lo – hi]"}`, from `Comparison.summary()`
    or comparison.json's `summary` (rows with `diff_median`, `diff_p05`, `diff_p95`; the
    baseline's are null). None when there is nothing to show (one scenario, or an older file)."""
    from ...analysis.compare import ALL_METRICS, DIFF_METRICS, heading
    from ..comparison_tables import chance_mark

    if not isinstance(summary, list):
        return None

    def cell(_: int, r: Any) -> tuple[str, str] | None:
        if not isinstance(r, dict) or r.get("metric") not in DIFF_METRICS:
            return None
        values: list[Any] = [r.get(k) for k in ("diff_median", "diff_p05", "diff_p95")]
        if not all(checks.is_number(v) and math.isfinite(float(v)) for v in values):
            return None  # (the baseline's own row; a metric without a paired seed)
        # (as `corredor compare` prints them, `comparison_tables.difference_cell`: whole numbers,
        # a share's points with a decimal)
        whole = ALL_METRICS[str(r["metric"])][1] != "%"
        med, lo, hi = (signed(float(v), whole=whole) for v in values)
        # (" (chance)" where its band includes 0, as `corredor compare` marks it)
        return heading(str(r["metric"])), f"{med}{chance_mark(r)} [{lo} – {hi}]"

    return pivot(summary, cell) or None


def comparison_table(comparison: list[dict[str, Any]] | None,
                     labels: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Rows of the policy comparison from `[{"variant": name, metric: value}]` or `[{name: {metric: value}}]`,
    each scenario by its readable name where `labels` (comparison.json's) has one."""
    if not comparison:
        return None
    rows: list[tuple[str, dict[str, Any]]] = []
    for item in comparison:
        name = item.get("variant", item.get("name")) if isinstance(item, dict) else None
        if name is not None:
            rows.append((str(name), {k: v for k, v in item.items() if k not in ("variant", "name")}))
        elif isinstance(item, dict):
            for key, metrics in item.items():
                rows.append((str(key), dict(metrics) if isinstance(metrics, dict) else {"value": metrics}))
    columns: list[str] = []
    for _, metrics in rows:
        columns += [k for k in metrics if k not in columns]

    def show(v: Any) -> tuple[str, str]:
        if checks.is_number(v):
            return fmt_exact(float(v)), ""
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v), ""  # (float() of a whole number beyond float's range fails)
        return split_range("–" if v is None else str(v))

    shown = labels or {}
    return {"columns": columns, "rows": [(shown.get(n, n), [show(m.get(c)) for c in columns]) for n, m in rows]}


def split_range(cell: str) -> tuple[str, str]:
    """A comparison cell "median [p05–p95]" (comparison_rows', main-job's) as (median, "[p05–p95]"),
    so the page can put the band under the median where the table is narrow (a dozen metrics
    side by side were three screens wide); any other text as (text, "")."""
    m = re.fullmatch(r"(\S+) (\[[^\[\]]+\])", cell)
    return (m.group(1), m.group(2)) if m else (cell, "")


def comparison_note(seeds: Any, run_seed: Any, chosen_as: Any = None) -> str | None:
    """What a comparison cell is (median over N seeds, 5–95 % band of them in brackets) and
    whether the run the rest of the page shows is one of those seeds; None without seeds (a
    comparison given as plain rows)."""
    if not isinstance(seeds, list) or not seeds:
        return None
    n = len(seeds)
    note = (f"Each cell: the median over {n} seed{'s' if n != 1 else ''} and, in brackets, the 5–95 % "
            f"band of {'them' if n != 1 else 'it'} (a spread between seeds, not a confidence interval).")
    if run_seed is None:
        return note
    mine = str(run_seed) in {str(x) for x in seeds}
    typical = (", chosen as the typical one (its figures nearest the medians)"
               if mine and isinstance(chosen_as, str) and chosen_as.startswith("typical") else "")
    return note + (f" The map, charts and tables above show one run: seed {run_seed}"
                   + (f", one of these seeds{typical}." if mine else ", not one of these seeds."))


def comparison_whole_run_note(rows: list[dict[str, Any]], comparison: Any, end: str | None) -> str | None:
    """`compare.whole_run_note` under a comparison's table (`rows`, `comparison_rows`'), as
    `corredor compare` prints it under its own; None when the table has no whole-run column.
    From `comparison` when it is a comparison.json as read: each scenario's last day (its
    `dates`), the baseline's people still at the sites on it (its `summary` row, written as the
    table's cells are), and whether anyone is (its `per_seed`, else the summary's 95 % points);
    otherwise (plain rows) only the shown run's last day, `end`. Where the comparison's last day
    is not `end`, it is called the compared runs' last day, not the run's."""
    from ...analysis.compare import WHOLE_RUN_METRICS, heading, last_day, whole_run_note

    columns = {k for r in rows for k in r}
    if not any(heading(k) in columns for k in WHOLE_RUN_METRICS):
        return None
    key = "people_at_sites_last_day"
    data = comparison if isinstance(comparison, dict) else {}

    def listed(v: Any) -> list[Any]:  # (a file's field that is not a list counts as missing)
        return v if isinstance(v, list) else []

    def of(field: str) -> dict[str, Any]:
        v = data.get(field)
        return v if isinstance(v, dict) else {}

    def number(v: Any) -> float | None:
        return float(v) if checks.is_number(v) and math.isfinite(float(v)) else None

    summary = [r for r in listed(data.get("summary")) if isinstance(r, dict) and r.get("metric") == key]
    names = [str(n) for n in listed(data.get("scenarios"))] or [str(r.get("variant")) for r in rows]
    ends = {n: last_day([str(d) for d in listed(of("dates").get(n))], len(listed(of("stranded_median").get(n))))
            for n in names if listed(of("dates").get(n)) or listed(of("stranded_median").get(n))}
    if not ends and end:
        ends = {"": end}  # (plain rows: the run the page shows)
    per_seed = [m for m in of("per_seed").values() if isinstance(m, dict)]
    left = ([number(v) for m in per_seed for v in listed(m.get(key))] if per_seed
            else [number(r.get("p95")) for r in summary])
    nobody = bool(left) and not any(v for v in left if v is not None)
    base = names[0] if names else None
    row = next((r for r in summary if str(r.get("scenario")) == base), None)
    band = (number(row.get("median")), number(row.get("p05")), number(row.get("p95"))) if row else None
    # (the comparison's own last day, whatever the page's run: a run of 100 days beside a
    # comparison of 150 was told "to 2023-05-11", its own last day, of the 150 days' totals)
    runs = "the run's" if not end or end in ends.values() else "the compared runs'"
    return whole_run_note(ends, base, band, nobody_left=nobody, whole=True, runs=runs)  # (people: as the cells)


#: `corredor report`'s option that shows a comparison of another scenario (named in its refusal).
OTHER_SCENARIO_OPTION = "--other-scenario"


class OtherScenario(ReportError):
    """A comparison of another scenario than the run's, refused (`comparison_scenario`)."""


@dataclass(frozen=True)
class ComparisonScenario:
    """How a comparison's scenarios stand to the run whose page would show it
    (`comparison_scenario`). `other`: they are another scenario's (`problem` says which and
    which the run's is); `note`: what the page says above the table and `corredor report` on
    stderr (None where the run is one of the compared scenarios as they ran)."""

    other: bool = False
    note: str | None = None
    problem: str | None = None


def _family(name: str) -> str:
    """A scenario's name without its variant ("chile-peru-2023+bribe-55" -> "chile-peru-2023"):
    a variant file loads as its baseline's name, "+" and its own."""
    return name.split("+", 1)[0]


def _named(identity: dict[str, Any]) -> str:
    """A scenario as a message names it: its name and, where known, the folder it was read from."""
    name, source = str(identity.get("name") or "?"), str(identity.get("source") or "")
    return f"{name} ({source})" if source and source != "None" else name


def comparison_scenario(comparison: Any, run: RunData) -> ComparisonScenario:
    """Whether `comparison` (comparison.json as read) is of the run's scenario, by its
    `scenario_identity` (`analysis.compare.scenario_identity`) against manifest.json's `scenario`.

    - The run's content hash is one of the compared scenarios': it is one of them, as they ran;
      nothing to say.
    - Its name (a variant's without its "+variant") is one of theirs: the same scenario with
      another period or settings (`run --days 100`, `--set`), a comparison a planner may share
      deliberately; shown, and the page says how the run differs (its period, else its
      settings), so nobody reads the table's totals as this run's.
    - Otherwise another scenario's (a Chile–Peru table on a Mali run's page, found by a user
      acceptance pass): `other`, refused unless asked (OTHER_SCENARIO_OPTION), then marked.
    - A comparison.json without `scenario_identity` (written before corredor recorded it), or a
      run whose manifest names no scenario: shown, with a note that it could not be checked.
    Plain rows (a list) say nothing of a scenario and are shown as given."""
    if not isinstance(comparison, dict):
        return ComparisonScenario()
    scen = run.manifest.get("scenario")
    mine = scen if isinstance(scen, dict) else {}
    name, sha = str(mine.get("name") or ""), str(mine.get("sha256") or mine.get("hash") or "")
    ids = comparison.get("scenario_identity")
    ids = ({str(k): v for k, v in ids.items() if isinstance(v, dict) and isinstance(v.get("name"), str)}
           if isinstance(ids, dict) else {})  # (entries without a name, as in an edited file: not said)
    period = _period_note(comparison, run)
    if not ids or not name:
        why = ("this comparison.json does not say which scenario it compares (an earlier version "
               "wrote it)" if not ids else "this run's manifest.json does not name its scenario")
        return ComparisonScenario(note=f"Not checked: {why}; make sure its scenarios are this "
                                       f"run's{f', {name}' if name else ''}." + period)
    if sha and any(str(i.get("sha256") or "") == sha for i in ids.values()):
        return ComparisonScenario()
    base = next(iter(ids.values()))
    families = {_family(str(i.get("name") or "")) for i in ids.values()}
    if _family(name) in families:
        how = period or (" This run's settings differ from every compared scenario's (a --set, "
                         "or the scenario edited since): the table's figures are of the compared runs.")
        return ComparisonScenario(note=f"This run ({name}) is not one of the compared scenarios as "
                                       f"they ran.{how}")
    named = _named(base)
    problem = (f"compares another scenario: {named}, not this run's {_named(mine)}; a report shows "
               f"the comparison of its own scenario (use {OTHER_SCENARIO_OPTION} to show it anyway, "
               "marked as another scenario's)")
    note = (f"Another scenario's comparison: {named}, not this run's {_named(mine)}. Its figures "
            "say nothing of the run this page shows." + period)
    return ComparisonScenario(other=True, note=note, problem=problem)


def _period_note(comparison: dict[str, Any], run: RunData) -> str:
    """The sentence that says both periods (" The compared runs cover …, this run …"), where the
    comparison's (its `dates`) is not the run's (a run of 100 days beside a comparison of 150);
    "" where they are the same or either is not known."""
    dates = comparison.get("dates")
    spans = {(str(d[0]), str(d[-1])) for d in (dates.values() if isinstance(dates, dict) else [])
             if isinstance(d, list) and d}
    mine = (str(run.dates[0]), str(run.dates[-1])) if run.dates and run.dates[0] and run.dates[-1] else None
    if not spans or mine is None or spans == {mine}:
        return ""
    theirs = "; ".join(f"{a} to {b}" for a, b in sorted(spans))
    return (f" The compared runs cover {theirs}, this run {mine[0]} to {mine[1]}: the table's "
            "figures are of their period, not this run's.")


def sources(run: RunData) -> list[dict[str, str]]:
    """Where the numbers come from: the manifest's sources, the observations' (each once, with the
    dates it reported), then the needs standard's."""
    out = []
    for s in run.manifest.get("sources") or []:
        if isinstance(s, dict):
            out.append({"what": str(s.get("what", s.get("name", ""))), "where": str(s.get("url", s.get("source", "")))})
        else:
            out.append({"what": "", "where": str(s)})
    dates_of: dict[str, list[str]] = {}  # the observations' sources, each once, with its dates
    for o in sorted(run.observations, key=lambda o: o.get("day", 0)):
        src = str(o.get("source") or "").strip()
        if src:
            when = str(o.get("date") or o.get("day", ""))
            dates_of.setdefault(src, [])
            if when not in dates_of[src]:
                dates_of[src].append(when)
    for src, dates in dates_of.items():
        out.append({"what": f"reported counts of {', '.join(dates)}", "where": src})
    std = run.needs_info.get("standard")
    for sector, where in (run.needs_info.get("standard_sources") or {}).items():
        out.append({"what": f"{std}: {sector}", "where": str(where)})
    return out


#: Each PNG's caption, also its alt text: what it shows, for a reader who cannot see it (the keys
#: are `plots.CAMPS_PNG`, `STRANDED_PNG`, `NEEDS_PNG`; plots is not imported here: matplotlib).
FIGURE_TITLES = {
    "camps.png": "Camps: simulated population over time, with observed and reported counts",
    "stranded.png": "People stranded at borders over time, per place and in total",
    "needs.png": ("Water, food rations, covered space, tents and toilets needed over time at the places with "
                  "the largest needs"),
}


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_beside(comparison_json: Path) -> bytes | None:
    """The comparison.png that `corredor compare --out` wrote beside `comparison_json` (the two
    are written together), or None where there is none or it is not a PNG. Why: `report
    --comparison` showed the table without the figure the main job's reports have."""
    path = Path(comparison_json).with_name("comparison.png")
    try:
        data = path.read_bytes() if path.is_file() else b""
    except OSError:
        return None
    return data if data.startswith(PNG_SIGNATURE) else None


def png_uri(png: Path | bytes) -> str:
    """A PNG (a file, or its bytes) as a data: URI, so the page needs no file beside it."""
    data = png if isinstance(png, bytes) else png.read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def counts_fact(hasten: Any) -> list[tuple[str, str]]:
    """The header's note that counts are people, where one agent stands for several (hasten > 1)."""
    if isinstance(hasten, int) and hasten > 1:  # (tables and charts are in people: results.in_people)
        return [("counts", f"in people; each simulated agent stands for {hasten} people")]
    return []


def _figures(run_dir: Path) -> list[dict[str, str]]:
    figs = []
    for name, title in FIGURE_TITLES.items():
        p = run_dir / name
        if p.is_file():
            figs.append({"title": title, "uri": png_uri(p)})
    return figs


#: The facts a modeller needs to reproduce or check a page, which a coordinator does not: in the
#: "Technical details" at the foot of every page (`split_facts`), not at its top.
TECHNICAL_FACTS = frozenset({"scenario hash", "seed", "base seed", "engine", "backend", "version", "hasten",
                             "wall time", "executor"})


def split_facts(facts: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A page's facts as (those for its top, its technical details: TECHNICAL_FACTS), each in order."""
    return ([f for f in facts if f[0] not in TECHNICAL_FACTS], [f for f in facts if f[0] in TECHNICAL_FACTS])


def scenario_title(scen: Any, fallback: str = "") -> str:
    """A scenario as a page's title names it: "chile-peru-2023 (bribe-0)" for a variant (whose
    name may already carry it as "+bribe-0"), else its name; `fallback` where the manifest names
    none."""
    if not isinstance(scen, dict):
        return str(scen or fallback)
    name, variant = str(scen.get("name") or fallback), str(scen.get("variant") or "")
    if variant:
        name = name.removesuffix(f"+{variant}")
        return f"{name} ({variant})"
    return name


def _run_facts(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    scen = manifest.get("scenario")
    facts = []
    if isinstance(scen, dict):
        facts += [("scenario", str(scen.get("name", ""))), ("scenario hash", str(scen.get("hash") or scen.get("sha256") or "")[:16])]
    elif scen:
        facts.append(("scenario", str(scen)))
    for key in ("seed", "engine", "backend", "version", "hasten"):
        if key in manifest:  # (the seed from its text where the file has it: every digit)
            facts.append((key, str(manifest_seed(manifest) if key == "seed" else manifest[key])))
    facts += counts_fact(manifest.get("hasten"))
    changed = manifest.get("set")  # `run --set`: the page says the run was not the scenario as written
    if isinstance(changed, dict) and changed:
        facts.append(("settings changed (--set)", ", ".join(f"{k} = {v}" for k, v in changed.items())))
    timing = manifest.get("timing")
    if isinstance(timing, dict) and "wall_s" in timing:
        facts.append(("wall time", f"{float(timing['wall_s']):.2f} s"))
    return facts


def key_figures(run: RunData) -> dict[str, Any] | None:
    """The run's key figures (manifest.json's `key_figures`, a border-crisis run's) as the page's
    first table: rows (heading, text) by `analysis.compare.key_figure_rows`, with the seed, the
    number of days and the last date they are over, and manifest.json's `chosen_as` where the
    main job chose the run as the typical one of its seeds (`mainjob.typical_seed`). None for a Flee run or a folder written before
    they were kept."""
    from ...analysis.compare import key_figure_rows

    figures = run.manifest.get("key_figures")
    if not isinstance(figures, dict):
        return flee_key_figures(run)
    try:
        rows = key_figure_rows(figures, run.manifest.get("start_date"))
    except (TypeError, ValueError):
        raise ReportError("manifest.json: key_figures holds a value that is not a number") from None
    if not rows:
        return None
    chosen = run.manifest.get("chosen_as")  # (the main job's: "typical of 20 seeds")
    seed = manifest_seed(run.manifest)
    return {"rows": rows, "seed": "?" if seed is None else seed, "days": len(run.dates),
            "end": (run.dates[-1] if run.dates else None) or "its last day",
            "chosen_as": str(chosen) if isinstance(chosen, str) and chosen else None}


def flee_key_figures(run: RunData) -> dict[str, Any] | None:
    """A Flee case's key figures, what one of its runs can say: the people it moved by the last day,
    the camp that held the most and when, the people in the camps at the end and, beside them,
    the refugees the observed data count in the camps that day. Rows (heading, text) as
    `key_figures`' with `flee` set; None for a run without places marked camps or a crisis run
    (whose figures are the manifest's)."""
    pop = run.grids.get("population")
    camps = [j for j, loc in enumerate(run.locations) if loc.get("is_camp")]
    if pop is None or not camps or not run.days or "stranded" in run.grids:
        return None
    at_camps = np.nan_to_num(pop[:, camps])
    rows = []
    total = run.series.get("total_people")
    if total is not None and np.isfinite(total[-1]):
        rows.append(("people the run moved, by the last day", f"{count_text(total[-1])} people"))
    peaks = at_camps.max(axis=0)
    k = int(np.argmax(peaks))
    t = int(np.argmax(at_camps[:, k]))
    if peaks[k] > 0:
        rows.append(("busiest camp", run.labels[camps[k]]))
        rows.append(("its most people at once", f"{count_text(peaks[k])} people, on {run.dates[t] or f'day {run.days[t]}'}"))
    rows.append(("people in the camps on the last day", f"{count_text(at_camps[-1].sum())} people"))
    observed = run.series.get("observed_total")
    if observed is not None and np.isfinite(observed[-1]):
        rows.append(("refugees in the camps on the last day, observed", f"{count_text(observed[-1])} people"))
    seed = manifest_seed(run.manifest)
    return {"rows": rows, "seed": "?" if seed is None else seed, "days": len(run.dates), "flee": True,
            "end": (run.dates[-1] if run.dates else None) or "its last day"}


def stranded_note(run: RunData) -> str | None:
    """One sentence under the key figures on why "stranded" is below the people at the same place
    that day (the needs and fit tables and camps.png count everyone there): someone who gives up
    is still on that day's count and leaves the next morning (docs/chile-peru-2023.md §5). From
    the run, on its day with the most people stranded, at the places that held them; None when
    the two agree (or the run records no stranded people)."""
    stranded, population = run.grids.get("stranded"), run.grids.get("population")
    if stranded is None or population is None or not len(run.days):
        return None
    st = np.nan_to_num(stranded)
    daily = st.sum(axis=1)
    if daily.max() <= 0:
        return None
    t = int(np.argmax(daily))  # (the first such day on a tie, as the key figure's day)
    places = np.flatnonzero(st[t] > 0)
    there, waiting = float(np.nansum(population[t, places])), float(st[t, places].sum())
    if there <= waiting:
        return None
    ever = np.flatnonzero(st.max(axis=0) > 0)
    days_there, days_waiting = float(np.nansum(population[:, ever])), float(st.sum())
    where = (run.labels[int(places[0])] if len(places) == 1
             else "the places where people were stranded (" + ", ".join(run.labels[int(j)] for j in places) + ")")
    when = run.dates[t] or f"day {run.days[t]}"
    sheltered = run.grids.get("sheltered")
    housed = float(np.nansum(sheltered[t, places])) if sheltered is not None else 0.0
    others = (f"the other {count_text(there - waiting)} had given up that day" if housed <= 0 else
              f"the other {count_text(there - waiting)} were in shelter there ({count_text(housed)}) or had given up that day")
    return (f"On {when}, {count_text(there)} people were at {where} and {count_text(waiting)} of them "
            f"stranded (waiting to cross): {others}, "
            "and someone who gives up is counted where they are until they leave the next morning. "
            "The needs, the fit and the charts of people there count them too: "
            f"{count_text(days_there)} person-days there over the run against {count_text(days_waiting)} stranded.")


def _metric_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The manifest's metrics as (heading, value) rows: each headed by its label with its key
    (`compare.heading`; a Flee case's ARDs say which is Flee's score), a key with no label alone."""
    from ...analysis.compare import heading

    metrics = manifest.get("metrics")
    if not isinstance(metrics, dict):
        return []
    return [(f"{heading(str(k))} ({k})" if heading(str(k)) != str(k) else str(k),
             f"{v:.4g}" if isinstance(v, (int, float)) else str(v)) for k, v in metrics.items()
            if not isinstance(v, (dict, list))]


# ---- rendering ------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


#: A web address inside a source's text (up to a space, a quote or a bracket; `links` leaves a
#: sentence's final punctuation out of it).
WEB_ADDRESS = re.compile(r"https?://[^\s<>\"'()\[\]]+")


def links(text: Any, short: bool = False) -> Markup:
    """`text` escaped, with each web address in it a link (`rel="noreferrer"`): a reader can open a
    source with one click. A link is fetched only when clicked, so the page still loads nothing
    (its Content-Security-Policy forbids any fetch). `short`: the link reads as the address's
    site ("eldinamo.cl"), for a table's narrow cell."""
    text = str(text)
    out, last = [], 0
    for match in WEB_ADDRESS.finditer(text):
        url = match.group(0).rstrip(".,;:!?")
        shown = re.sub(r"^www\.", "", url.split("/")[2]) if short and url.count("/") >= 2 else url
        out.append(escape(text[last:match.start()]))
        out.append(Markup('<a href="{0}" rel="noreferrer">{1}</a>').format(url, shown))
        last = match.start() + len(url)
    out.append(escape(text[last:]))
    return Markup("").join(out)


def environment() -> Environment:
    """Jinja with autoescape on, loading templates (report.html, ensemble.html and the macros.html
    they share) from this package's resources, so the two pages share markup, not copies; the
    filter `links` makes a source's web addresses links."""
    env = Environment(loader=FunctionLoader(_asset),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["links"] = links
    return env


#: The comparison figure's caption and alt text.
COMPARISON_FIGURE_TITLE = ("Each scenario's median (dot) and 5–95 % band (bar) over the seeds, per metric; "
                           "the dashed line is the baseline's median")


def labels_of(data: Any) -> dict[str, str]:
    """comparison.json's `labels`: each scenario's readable name on the pages, where it has one
    (a variant file's `label`), as the terminal, comparison.png and the pages show it; the rows of
    comparison.csv and .json are keyed by the name and have it as `scenario_label`."""
    v = data.get("labels") if isinstance(data, dict) else None
    return {str(k): str(x) for k, x in v.items() if isinstance(x, str) and x} if isinstance(v, dict) else {}


def variant_line(scenario: Any) -> str | None:
    """What a variant's run changes, for the page's first line: manifest.json's `scenario`
    `variant_label` and `variant_description` (a variant file's `label` and `description`, the
    main job's "Peru closes on 30 Mar 2023 instead of 13 Apr: ..."); None for a run of a
    scenario as written, or one whose manifest does not say."""
    if not isinstance(scenario, dict) or not scenario.get("variant"):
        return None
    label, text = (str(scenario.get(k) or "").strip() for k in ("variant_label", "variant_description"))
    if label and text:
        return f"{label}. {text}" if not text.startswith(label) else text
    return label or text or None


def change_lines(changes: Any) -> list[str]:
    """What a variant changes in its baseline, one line each, from `variant_changes` (the run's
    manifest.json `scenario.variant_changes`, comparison.json's `variant_changes`): a parameter
    "bribe_price_usd: 100 → 0", one the baseline lacks "corridor_open: 2023-04-28 (not in the
    baseline)", one set to the baseline's own value "bribe_price_usd: 100, the baseline's own
    (no change)", a table "events: adds variants/corridor.csv" or "policies: policies.csv
    replaced by variants/x.csv"; "nothing: …" where it changes nothing; [] where not known (a
    manifest written before these were recorded). Why: the page's first line was the author's
    description only, and a variant that changed nothing read like one that did."""
    if not isinstance(changes, dict):
        return []

    def items(key: str) -> list[dict[str, Any]]:
        v = changes.get(key)
        return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []

    def text(v: Any) -> str:
        from ...analysis.ensemble import value_text

        return value_text(v)

    def names(v: Any) -> str:
        return ", ".join(str(x) for x in v) if isinstance(v, list) else ""

    lines = []
    for p in items("parameters"):
        if p.get("baseline") is None:
            lines.append(f"{p.get('name')}: {text(p.get('variant'))} (not in the baseline)")
        else:
            lines.append(f"{p.get('name')}: {text(p.get('baseline'))} → {text(p.get('variant'))}")
    for f in items("files"):
        removed, added = names(f.get("removed")), names(f.get("added"))
        said = (f"{removed} replaced by {added}" if removed and added else
                f"adds {added}" if added else f"no longer reads {removed}")
        lines.append(f"{f.get('table')}: {said}")
    for p in items("unchanged"):
        lines.append(f"{p.get('name')}: {text(p.get('value'))}, the baseline's own (no change)")
    if not items("parameters") and not items("files"):
        lines.insert(0, "nothing: its parameters and files are the baseline's")
    return lines


def render(run: RunData, run_dir: Path, comparison: list[dict[str, Any]] | None,
           comparison_figure: str | None = None, comparison_seeds: list[Any] | None = None,
           differences: list[dict[str, Any]] | None = None, whole_run: str | None = None,
           scenario: ComparisonScenario | None = None, missing_notes: list[str] | None = None,
           observation_checks: list[dict[str, Any]] | None = None, labels: Mapping[str, str] | None = None) -> str:
    """The report's HTML text (`comparison_figure`: a data: URI shown under the comparison;
    `comparison_seeds`: the seeds its medians are over, said under the table; `differences`:
    `difference_rows`, a table of their own under it; `whole_run`: `comparison_whole_run_note`,
    said under the table too; `scenario`: `comparison_scenario`, whose note goes above it;
    `missing_notes`: `missing_seed_notes`, under the table; `observation_checks`: the main job's
    check of the baseline against the reports, `checks_section.observation_section`'s section;
    `labels`: the comparison's readable scenario names)."""
    from .checks_section import observation_section

    template = environment().get_template("report.html")
    scen = run.manifest.get("scenario")
    facts, technical = split_facts(_run_facts(run.manifest))
    return template.render(
        variant=scen.get("variant") if isinstance(scen, dict) else None,
        variant_line=variant_line(scen),
        variant_changes=change_lines(scen.get("variant_changes")) if isinstance(scen, dict) and scen.get("variant") else [],
        title=f"{scenario_title(scen, run_dir.name)}: one run",
        facts=facts,
        technical=technical,
        crisis="stranded" in run.grids,
        key_figures=key_figures(run),
        stranded_note=stranded_note(run),
        map=map_view(run),
        charts=time_series(run),
        groups=groups_at_sites(run),
        needs=needs_rows(run),
        occupied=occupied_at_end(run),
        needs_info=run.needs_info,
        fit=fit_rows(run),
        reported=reported_rows(run),
        observation_check=observation_section(observation_checks),
        peak_tolerance=f"{PEAK_TOLERANCE * 100:.0f} %",
        metrics=_metric_rows(run.manifest),
        comparison=comparison_table(comparison, labels),
        differences=comparison_table(differences, labels) if comparison else None,
        comparison_note=(comparison_note(comparison_seeds, manifest_seed(run.manifest), run.manifest.get("chosen_as"))
                         if comparison else None),
        whole_run_note=whole_run,
        missing_notes=missing_notes if comparison else None,
        scenario_note=scenario.note if comparison and scenario else None,
        other_scenario=bool(comparison and scenario and scenario.other),
        comparison_figure={"uri": comparison_figure, "title": COMPARISON_FIGURE_TITLE} if comparison_figure else None,
        sources=sources(run),
        figures=_figures(run_dir),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
    )


def build_report(run_dir: Path | str, comparison: list[dict[str, Any]] | dict[str, Any] | None = None,
                 comparison_png: bytes | None = None, comparison_seeds: list[Any] | None = None,
                 differences: list[dict[str, Any]] | None = None, other_scenario: bool = False,
                 say: Callable[[str], None] | None = None,
                 observation_checks: list[dict[str, Any]] | None = None) -> Path:
    """Write `run_dir/report.html` (atomically) from the run folder; returns its path.

    `comparison` (a list of dicts, variant name -> metrics, or `corredor compare`'s comparison.json
    as read) adds a policy comparison table; when None, `run_dir/comparison.json` is used if it
    exists. `comparison_png` (the comparison's figure, `outputs.plots.comparison_png`; else, for
    the folder's own comparison.json, the comparison.png `compare --out` wrote beside it) is
    shown under that table. The seeds its medians are over (`comparison_seeds`, else comparison.json's
    `seeds`) are said under it, with whether this run is one of them. `differences`
    (`difference_rows`, else made from comparison.json's summary) are the differences from the
    baseline seed by seed, a table of their own. `observation_checks` (`mainjob.observation_checks`'
    rows, the baseline's page of the main job) adds the check against the reports, as the
    terminal printed it.

    A comparison.json of another scenario than the run's (`comparison_scenario`) is refused
    with OtherScenario before anything is written, unless `other_scenario`; then, as for one
    that could not be checked or of another period, the page says so above the table, and
    `say` (if given) hears the same, as a line for a terminal ("warning: …" for another
    scenario's, "note: …" otherwise).

    >>> build_report("runs/main")  # doctest: +SKIP
    PosixPath('runs/main/report.html')
    """
    run_dir = Path(run_dir)
    run = read_run(run_dir)
    comp_path = run_dir / COMPARISON_JSON
    comparison_from_folder = comparison is None and comp_path.is_file()
    if comparison_from_folder:
        try:
            comparison = checks.read_json(comp_path)
            comparison_rows(comparison)  # (checked here, to name the file)
        except ReportError:
            raise
        except ValueError as exc:
            raise ReportError(f"{comp_path}: {exc}") from None
    rows = comparison_rows(comparison)
    scenario = comparison_scenario(comparison, run) if rows else ComparisonScenario()
    if scenario.other and not other_scenario:
        raise OtherScenario(f"{comp_path}: {scenario.problem}" if comparison_from_folder else str(scenario.problem))
    if scenario.note and say is not None:
        say(f"{'warning' if scenario.other else 'note'}: {scenario.note}")
    if comparison_seeds is None and isinstance(comparison, dict):
        comparison_seeds = comparison.get("seeds")
    if differences is None and isinstance(comparison, dict):
        differences = difference_rows(comparison.get("summary"))
    if comparison_png is None and comparison_from_folder:
        comparison_png = png_beside(comp_path)
    figure = png_uri(comparison_png) if rows and comparison_png else None
    whole_run = comparison_whole_run_note(rows, comparison, run.dates[-1] if run.dates else None) if rows else None
    return targets.write_text_atomic(run_dir / REPORT_HTML,
                                     render(run, run_dir, rows, figure, comparison_seeds, differences, whole_run,
                                            scenario, missing_seed_notes(comparison) if rows else None,
                                            observation_checks, labels_of(comparison)))
