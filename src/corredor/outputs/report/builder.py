"""Build `report.html` from a run folder alone: one self-contained page that makes no request.

Reads manifest.json, network.json and results.parquet (written by the run writer and
`outputs.tables`), and the PNGs of `outputs.plots` when present. The map and the time-series
charts are inline SVG drawn from those numbers; a day slider (a few lines of inline JavaScript)
resizes the places and recolours closed crossings. Every name goes through Jinja's autoescape;
the data the script reads is embedded with `tojson`, which escapes `<`, `>`, `&` and quotes.
A Content-Security-Policy forbids any fetch, font or external image, so the page stays offline
even if a future edit forgets.

This module reads the run folder (`read_run`), makes each section's rows and texts, and renders
the page (`render`, `build_report`); the shared pieces live beside it: the charts in `svg_chart`,
the map and its labels in `map_labels`, a comparison's rows and notes in `comparison_section`.
"""

from __future__ import annotations

import base64
import math
import re
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
from ..formatting import count_text, fmt_exact, signed_percent
from . import checks
from .checks import NotARunFolder, ReportError
from .comparison_section import (
    COMPARISON_FIGURE_TITLE,
    ComparisonScenario,
    OtherScenario,
    comparison_note,
    comparison_rows,
    comparison_scenario,
    comparison_table,
    comparison_whole_run_note,
    difference_rows,
    labels_of,
    missing_seed_notes,
    png_beside,
)
from .map_labels import map_view
from .svg_chart import LINE_DASHES, PALETTE, chart

REPORT_HTML = "report.html"
COMPARISON_JSON = "comparison.json"


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
        elif var.startswith("crossings[") or var in ("pushbacks", "money_paid_usd", "fares_paid_usd",
                                                     "cannot_pay_fare"):
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


# ---- sections -------------------------------------------------------------------------------


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


#: Above this many observed days a place's observations are a dashed line, not dots (Flee's
#: interpolated daily series); in the run report and the ensemble's alike.
DAILY_OBSERVATIONS = 40


def places_title(run: RunData) -> str:
    """What the places of the population chart and camps.png are: a Flee case's camps, or a crisis
    run's sites (where people wait, shelters, observed places: rarely camps, as a Darién port's
    beach town, jungle village and reception centre were called)."""
    return "Crisis sites" if "stranded" in run.grids else "Camps"


def fallback_places(run: RunData) -> str:
    """The places a crisis run's groups fall back to when they give up, by their labels, for the
    glossary ("Santiago"; "Medellín and Cali"); "" when the run does not say (a run written
    before corredor kept `group_fallback`, a Flee case)."""
    label = dict(zip(run.names, run.labels, strict=False))
    places = list(dict.fromkeys(label.get(str(g.get("fallback")), str(g.get("fallback")))
                                for g in run.groups if g.get("fallback")))
    return " and ".join([", ".join(places[:-1]), places[-1]] if len(places) > 1 else places)


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
            c = chart(f"{places_title(run)}: simulated population and observations", "people", run.dates, lines,
                      dots, reported)
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
    """bool per place: a crisis run's sites (staging places, camps, shelters and wherever people
    were stranded or held; `needs.crisis_sites`' rule, from the folder's places and its stranded,
    sheltered and held people); None without
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
    "camps.png": "{places}: simulated population over time, with observed and reported counts",
    "stranded.png": "People stranded at borders over time, per place and in total",
    "needs.png": ("Water, food rations, covered space, tents and toilets needed over time at the places with "
                  "the largest needs"),
}



def png_uri(png: Path | bytes) -> str:
    """A PNG (a file, or its bytes) as a data: URI, so the page needs no file beside it."""
    data = png if isinstance(png, bytes) else png.read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def counts_fact(hasten: Any) -> list[tuple[str, str]]:
    """The header's note that counts are people, where one agent stands for several (hasten > 1)."""
    if isinstance(hasten, int) and hasten > 1:  # (tables and charts are in people: results.in_people)
        return [("counts", f"in people; each simulated agent stands for {hasten} people")]
    return []


def _figures(run_dir: Path, places: str = "Camps") -> list[dict[str, str]]:
    """The run folder's PNGs with their captions; `places`: `places_title`, camps.png's places."""
    figs = []
    for name, title in FIGURE_TITLES.items():
        p = run_dir / name
        if p.is_file():
            figs.append({"title": title.format(places=places), "uri": png_uri(p)})
    return figs


#: The facts a modeller needs to reproduce or check a page, which a coordinator does not: in the
#: "Technical details" at the foot of every page (`split_facts`), not at its top.
TECHNICAL_FACTS = frozenset({"scenario hash", "seed", "base seed", "engine", "backend", "version", "hasten",
                             "executor"})


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
    # (not the wall time: the page of the same run is then the same page; manifest.json has it)
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
        figures=_figures(run_dir, places_title(run)),
        fallbacks=fallback_places(run),
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
