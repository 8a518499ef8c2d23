"""Policy comparison: a baseline and its variants, each over many seeds, side by side.

Why common seeds: every scenario runs with the same replica seeds (from `replica_seeds`), so a
difference between two policies is the policy's, not seed noise. Each run is reduced at once to a
handful of policy metrics (see METRICS) and a daily stranded series; whole datasets are kept only
when asked (`keep`), so a comparison of many seeds stays small.

>>> comp = compare({"baseline": base, "no closure": variant}, seeds=20)  # doctest: +SKIP
>>> write_comparison(comp, Path("runs/cmp"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import seed_text
from ..engine.rng import replica_seeds
from ..scenario.model import Scenario
from ..targets import check_outside_scenarios, write_texts_atomic
from .bands import MIN_BAND_RUNS, NEAR_RANGE_RUNS, band_coverage, percent
from .metrics import ARD_LABELS

#: Metric key -> (label, unit), in table order.
METRICS: dict[str, tuple[str, str]] = {
    "peak_stranded": ("peak stranded", "people"),
    "stranded_person_days": ("stranded person-days", "person-days"),
    # (the key keeps its first name; the label says what it counts in any scenario, whose line
    # need not be a place called "camp")
    "days_until_camp_empties": ("days until nobody is stranded", "days"),
    "money_paid_usd": ("money paid", "USD"),
    "give_ups": ("give-ups", "people"),
    "irregular_crossings": ("irregular crossings", "people"),
    # (the groups groups.csv marks vulnerable: the sick, the disabled, mothers with children, whom
    # medical care and protection must reach at the line; `vulnerable_stranded`;
    # here, not beside the stranded: the order of METRIC_TABLES, which a comparison's pages keep)
    "peak_stranded_vulnerable": ("peak vulnerable people stranded", "people"),
    "vulnerable_stranded_person_days": ("vulnerable stranded person-days", "person-days"),
    # (people moved by transfer events: 0 says a transfer found nobody at its origin, e.g. a place
    # people pass through without stopping; `validate` warns of that)
    "transferred": ("transferred", "people"),
    "corridor_moves": ("through a corridor", "people"),
    "flown_out": ("flown out", "people"),
    # (money paid is both kinds: the informal price at crossings and events' fares; these say what
    # of it was fares, and how often someone could not pay one: a person passed over by a daily
    # bus on 5 days counts 5; `policy_metrics`)
    "fares_paid_usd": ("fares paid, of the money paid", "USD"),
    "cannot_pay_fare": ("passed over for want of a fare", "person-days"),
}


#: When and how long people were stranded (`waiting_metrics`), metric key -> (label, unit), in
#: table order. The waits are read from the run's `days_waited` (the stranded each day by the
#: days they had waited so far, that day counted: bins 1-2, 3-6, 7-13, 14-27, 28+), so "7 days
#: or more" is the bins from 7 on; the run records no person's whole wait, only these bins.
WAIT_METRICS: dict[str, tuple[str, str]] = {
    # (a day number, 0 = the start date; the tables, comparison.csv and comparison.json give it
    # as a date too, `DAY_METRICS`)
    "stranded_peak_day": ("day the most people were stranded", ""),
    "peak_stranded_week": ("peak people stranded 7 days or more", "people"),
    "stranded_week_share": ("share of stranded person-days at 7 days or more of waiting", "%"),
}

#: The metrics that are a day of the run (a day number, 0 = the start date), given as dates too.
DAY_METRICS: tuple[str, ...] = ("stranded_peak_day",)

#: What a policy costs in supplies, at the crisis sites (`needs.crisis_sites`: staging places, camps,
#: shelters and wherever people were stranded or held) under the default standard (Sphere): metric key -> (label, unit), in table order.
NEEDS_METRICS: dict[str, tuple[str, str]] = {
    "peak_at_sites": ("peak people at the crisis sites", "people"),
    # (each label says where: the difference table, comparison.png and comparison.json show
    # these without the "peak people at the crisis sites" column that "there" pointed to)
    # ("whole run": to the run's last day, where people may still be at the sites: the next
    # metric says how many, and `corredor compare` says so under the table)
    "water_l": ("water needed at the crisis sites, whole run", "l"),
    "food_rations": ("food rations needed at the crisis sites, whole run", "rations"),
    "people_at_sites_last_day": ("people still at the crisis sites on the last day", "people"),
    # (what a WASH officer plans trucking from: the sites' water on their busiest day; here, not
    # beside the whole-run water: the order of METRIC_TABLES, which a comparison's pages keep)
    "peak_water_l_per_day": ("water needed on the busiest day at the crisis sites", "l/day"),
    "peak_covered_space_m2": ("covered space needed on the busiest day", "m²"),
    # (whole tents at each place, summed over the places: `needs.compute_needs`'s `tents`, for the
    # people without shelter only: not those in a shelter's beds)
    "peak_tents": ("tents for people without a shelter bed at the crisis sites, busiest day",
                   "tents"),
    # (1 per 50 at the line, a transit site, throughout; 1:50 then 1:20 in shelters: sphere.toml)
    "peak_toilets": ("toilets needed on the worst day", "toilets"),
}

#: Why a metric can have no value in a run (NaN), for the notes under the tables; only these can.
NO_VALUE_REASONS: dict[str, str] = {
    "days_until_camp_empties": "people were still stranded on the run's last day",
    # (`vulnerable_stranded`: a dataset without stranded_by_group, as a run's results written
    # before the engine recorded it; never a run of this version)
    **dict.fromkeys(("peak_stranded_vulnerable", "vulnerable_stranded_person_days"),
                    "the run's results do not say who of the stranded was in a vulnerable group"),
    # (a day or a share of nobody: not a 0)
    **dict.fromkeys(("stranded_peak_day", "stranded_week_share"), "nobody was stranded"),
    "peak_stranded_week": "the run's results do not record how long the stranded had waited",
}

#: Every metric of a comparison, policy metrics first, then when and how long people were stranded.
ALL_METRICS: dict[str, tuple[str, str]] = {**METRICS, **WAIT_METRICS, **NEEDS_METRICS}

#: Every per-run figure corredor names, key -> (label, unit): a comparison's (ALL_METRICS), and
#: those that a run's key figures and `corredor ensemble` give beside them. One key and one label
#: per figure wherever it is written (comparison.csv, a run's manifest, an ensemble's
#: metrics.csv and metrics_summary.json, the CLI's tables, the pages): `heading`.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    **ALL_METRICS,
    "people_final": ("people created by the last day", "people"),
    **{key: (label, "") for key, label in ARD_LABELS.items()},  # (a Flee case's: which ARD is which)
}


def heading(key: str, sep: str = " ") -> str:
    """A metric's column heading, "label (unit)", with the unit as screens write it ("m²"); the
    unit is left out where the label already ends with it ("stranded person-days", not
    "stranded person-days (person-days)"). Every table of a comparison (the CLI's, the main
    job's report, `corredor report --comparison`) and of an ensemble (its CLI table, its page)
    heads its columns or rows with this. A key METRIC_LABELS does not know (a `metric_fn`'s
    own) is its own heading."""
    return titled(*METRIC_LABELS[key], sep=sep) if key in METRIC_LABELS else key


def titled(label: str, unit: str, sep: str = " ") -> str:
    """"label (unit)", the unit said once and as people read it ("litres", not "l":
    `formatting.unit_text`): `heading`'s rule for a label and unit given as text (a comparison.json
    metric this version does not know)."""
    from ..outputs.formatting import unit_text

    return label if not unit or label.endswith(unit) else f"{label}{sep}({unit_text(unit)})"


def name_lines(name: str) -> str:
    """A scenario's name as a table or a figure shows it: a sweep point of several parameters one
    `key=value` a line ("peru_block=2023-03-30" / "bribe_price_usd=0"), so that a narrow column
    breaks it between its values rather than inside a date, and a figure's label stays short."""
    return _NEXT_ASSIGNMENT.sub("\n", name)


_NEXT_ASSIGNMENT = re.compile(r",(?=[A-Za-z_][\w.]*=)")


#: How `corredor compare` prints them: tables of a few columns each, (title, metric keys).
METRIC_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("policy comparison", ("peak_stranded", "stranded_person_days", "days_until_camp_empties",
                           "money_paid_usd", "give_ups", "irregular_crossings")),
    # (a table of its own: the first, six columns, has no room for two more in 130)
    ("vulnerable people stranded (groups marked vulnerable)",
     ("peak_stranded_vulnerable", "vulnerable_stranded_person_days")),
    ("moved by events", ("transferred", "corridor_moves", "flown_out")),
    ("fares of events", ("fares_paid_usd", "cannot_pay_fare")),
    # (a table of its own: a band of dates is 25 characters wide)
    ("when and how long people were stranded",
     ("stranded_peak_day", "peak_stranded_week", "stranded_week_share")),
    # (the supplies in two tables: in one, seven columns did not fit 130)
    ("people, water and food at the crisis sites (Sphere)",
     ("peak_at_sites", "water_l", "food_rations", "people_at_sites_last_day")),
    ("the busiest day's water, shelter and toilets at the crisis sites (Sphere)",
     ("peak_water_l_per_day", "peak_covered_space_m2", "peak_tents", "peak_toilets")),
)

#: The metrics summed over the run's days, which stop at its last day (`whole_run_note`).
WHOLE_RUN_METRICS: tuple[str, ...] = ("water_l", "food_rations")


#: The metrics `corredor compare` also prints as differences from the baseline, seed by seed, in
#: tables of a few columns each as METRIC_TABLES (eight in one did not fit 130): those a planner
#: acts on, among them the people still at the sites on the last day (whose needs the whole-run
#: totals leave out), the tents (bought, unlike space) and the vulnerable at the peak (whom care
#: and protection must reach; last in its table, as in METRICS, the order the run report's
#: differences keep); not the money paid, crossings and moves
#: (what a policy changes, not what it costs) nor space and toilets (the tents and the people say
#: as much).
DIFF_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("difference from the baseline, seed by seed",
     ("peak_stranded", "stranded_person_days", "days_until_camp_empties", "give_ups",
      "peak_stranded_vulnerable")),
    # (the day of the peak in days, + later; the share in percentage points; here, before the
    # supplies: ALL_METRICS' order, which the run report's differences keep)
    ("difference from the baseline in when and how long people were stranded, seed by seed",
     ("stranded_peak_day", "peak_stranded_week", "stranded_week_share")),
    ("difference from the baseline at the crisis sites (Sphere), seed by seed",
     ("water_l", "food_rations", "people_at_sites_last_day", "peak_tents")),
)
DIFF_METRICS: tuple[str, ...] = tuple(key for _, keys in DIFF_TABLES for key in keys)


def needs_metrics(ds: Any) -> dict[str, float]:
    """The supplies one run implies at its crisis sites (NEEDS_METRICS): daily needs summed over
    the sites, then the run's total (water, rations), its worst day (people, water, space, tents,
    toilets) or its last day (the people still there, whose needs the totals leave out)."""
    from .needs import compute_needs, crisis_sites

    site = crisis_sites(ds)
    if site is None or not site.any():
        return dict.fromkeys(NEEDS_METRICS, 0.0)
    needs = compute_needs(ds.isel(location=np.flatnonzero(site)))
    daily = {k: np.asarray(needs[k].sum("location").values, dtype=np.float64)
             for k in ("in_need", "water_l", "food_rations", "covered_space_m2", "tents", "toilets")}
    return {
        "peak_at_sites": float(daily["in_need"].max(initial=0.0)),
        "water_l": float(daily["water_l"].sum()),
        "peak_water_l_per_day": float(daily["water_l"].max(initial=0.0)),
        "food_rations": float(daily["food_rations"].sum()),
        "people_at_sites_last_day": float(daily["in_need"][-1]) if daily["in_need"].size else 0.0,
        "peak_covered_space_m2": float(daily["covered_space_m2"].max(initial=0.0)),
        "peak_tents": float(daily["tents"].max(initial=0.0)),
        "peak_toilets": float(daily["toilets"].max(initial=0.0)),
    }


def policy_metrics(ds: Any) -> dict[str, float]:
    """The comparison metrics of one run (a crisis Results dataset).

    `days_until_camp_empties`: from the first day anyone is stranded to the first day after the
    peak on which nobody is; 0 when nobody is ever stranded, NaN when people are still stranded
    on the run's last day. `money_paid_usd`: all money paid, the informal price at crossings and
    events' fares (`fares_paid_usd`: the fares alone; `cannot_pay_fare`: the times an event passed
    someone over for want of its fare; both 0 for results written before events had fares, which
    had none). `peak_stranded_vulnerable` and `vulnerable_stranded_person_days`: the
    same peak and sum of `vulnerable_stranded`; 0 without a vulnerable group, NaN (not a false
    0) where the dataset does not say who was stranded group by group and someone was.
    """
    stranded = np.asarray(ds["stranded"].sum("location").values, dtype=np.float64)
    peak = float(stranded.max()) if stranded.size else 0.0
    vulnerable = vulnerable_stranded(ds)
    if vulnerable is None and peak <= 0:
        vulnerable = np.zeros_like(stranded)  # (nobody stranded at all: nobody vulnerable either)
    empties = 0.0 if peak <= 0 else math.nan
    if peak > 0:
        first = int(np.argmax(stranded > 0))
        at_peak = int(np.argmax(stranded))
        after = np.nonzero(stranded[at_peak:] == 0)[0]
        if after.size:
            empties = float(at_peak + int(after[0]) - first)
    fares = float(ds["fares_paid_usd"].values.sum()) if "fares_paid_usd" in ds else 0.0
    return {
        "peak_stranded": peak,
        "stranded_person_days": float(stranded.sum()),
        "days_until_camp_empties": empties,
        "money_paid_usd": float(ds["money_paid_usd"].values.sum()) + fares,
        "give_ups": float(ds["give_ups"].values.sum()),
        "irregular_crossings": float(ds["crossings"].sel(mode="irregular").values.sum()),
        "peak_stranded_vulnerable": float(vulnerable.max(initial=0.0)) if vulnerable is not None else math.nan,
        "vulnerable_stranded_person_days": float(vulnerable.sum()) if vulnerable is not None else math.nan,
        "transferred": _mode_total(ds, "transfer"),
        "corridor_moves": _mode_total(ds, "corridor"),
        "flown_out": _mode_total(ds, "flight"),
        "fares_paid_usd": fares,
        "cannot_pay_fare": float(ds["cannot_pay_fare"].values.sum()) if "cannot_pay_fare" in ds else 0.0,
    }


def vulnerable_stranded(ds: Any) -> np.ndarray | None:
    """The people stranded each day in the groups marked vulnerable (`group_vulnerable`), all
    places together: `stranded_by_group` summed over those groups and the places. Zeros where no
    group is vulnerable; None where the dataset does not record it (no `stranded_by_group` or no
    `group_vulnerable`: a crisis run's results from before the engine recorded who was stranded
    by group), since a 0 there would say nobody vulnerable was stranded when nobody knows. Why:
    the sick, the disabled and mothers with children need medical care and protection at the
    line, so a planner comparing policies asks how many of them are stranded, not only how many
    people."""
    if "stranded_by_group" not in ds or "group_vulnerable" not in ds.coords:
        return None
    grid = ds["stranded_by_group"]
    flags = np.asarray(ds["group_vulnerable"].values, dtype=bool)
    others = [d for d in grid.dims if d not in ("day", "group")]
    daily = grid.isel(group=np.flatnonzero(flags)).sum([*others, "group"])
    return np.asarray(daily.transpose("day").values, dtype=np.float64)


def stranded_peak_day(ds: Any) -> float:
    """The day (its `day` coordinate, 0 = the start date) the most people were stranded, all
    places together (the first such day on a tie); NaN where nobody ever was."""
    daily = np.asarray(ds["stranded"].sum([d for d in ds["stranded"].dims if d != "day"]).values)
    if not daily.size or daily.max() <= 0:
        return math.nan
    days = ds["day"].values if "day" in ds.coords else np.arange(daily.size)
    return float(days[int(np.argmax(daily))])


#: The `days_waited` bins of people who had waited 7 days or more (`waiting_metrics`).
WEEK_BINS: tuple[str, ...] = ("7-13", "14-27", "28+")


def waiting_metrics(ds: Any) -> dict[str, float]:
    """When and how long people were stranded in one run (WAIT_METRICS), all places together:
    `stranded_peak_day` (`stranded_peak_day`); `peak_stranded_week`, the most people stranded on
    one day who had by then waited 7 days or more, that day counted (`days_waited` bins 7-13,
    14-27 and 28+); `stranded_week_share`, those people's share of all stranded person-days, in
    % (the sum over days of those bins over the sum of all bins: 40 means that 40 % of the days
    spent stranded were a 7th or later day of waiting). NaN for the share and the day where nobody
    was ever stranded (no share of nothing, no day), and for the two waits where the results have
    no `days_waited`. Why: "days until nobody is stranded" is fixed by the day the line is
    cleared, and a policy that halves the crowd read as changing nothing on "how long"."""
    out = {"stranded_peak_day": stranded_peak_day(ds)}
    if "days_waited" not in ds or "wait_bin" not in ds.coords:
        return {**out, "peak_stranded_week": math.nan, "stranded_week_share": math.nan}
    hist = ds["days_waited"].transpose("day", "wait_bin")
    bins = [str(b) for b in ds["wait_bin"].values]
    counts = np.asarray(hist.values, dtype=np.float64)
    week = counts[:, [bins.index(b) for b in WEEK_BINS if b in bins]].sum(axis=1)
    total = float(counts.sum())
    return {**out, "peak_stranded_week": float(week.max(initial=0.0)),
            "stranded_week_share": 100.0 * float(week.sum()) / total if total > 0 else math.nan}


#: One crisis run's key figures, in the order a run's page and `corredor run` give them: what
#: `compare` gives per seed (METRICS, WAIT_METRICS, NEEDS_METRICS), with the day of the peak
#: after the peak.
KEY_FIGURES: tuple[str, ...] = ("peak_stranded", "stranded_peak_day",
                                *[k for k in ALL_METRICS if k not in ("peak_stranded", "stranded_peak_day")])


def key_figures(ds: Any) -> dict[str, float]:
    """One border-crisis run's key figures (KEY_FIGURES): `policy_metrics`, `waiting_metrics`
    and `needs_metrics`. Why: a planner's first questions of one run (how many stranded at most,
    when, for how long, what it takes) were answered only by `compare`, over seeds."""
    figures = {**policy_metrics(ds), **waiting_metrics(ds), **needs_metrics(ds)}
    return {k: figures[k] for k in KEY_FIGURES}


def key_figure_rows(figures: Mapping[str, Any], start: Any = None) -> list[tuple[str, str]]:
    """`key_figures` as (heading, text) rows, as the run page and `corredor run` write them: counts
    with every digit, as whole numbers (`formatting.count_text`, the one rule for figures of
    counts: 2,607.5 m² is 2,608 m²), the peak's day as its date (from `start`, the run's start
    date), a figure that is not there ("–", NaN, None) with why (NO_VALUE_REASONS). Keys this
    version does not know are left out (a manifest of a later version)."""
    from ..outputs.formatting import count_text, day_date, fmt_exact, is_count_unit, unit_text

    rows = []
    for key in KEY_FIGURES:
        if key not in figures:
            continue
        value = figures[key]
        missing = value is None or not math.isfinite(float(value))
        if key == "stranded_peak_day":
            rows.append((METRIC_LABELS[key][0],
                         "nobody was stranded" if missing else day_date(value, start)))
            continue
        label, unit = METRIC_LABELS[key]
        text = (NO_VALUE_REASONS.get(key, "–") if missing
                else (count_text(value) if is_count_unit(unit) else fmt_exact(value))
                + ("" if not unit or label.endswith(unit) else f" {unit_text(unit)}"))
        rows.append((label, text))
    return rows


def _mode_daily(ds: Any, mode: str) -> np.ndarray:
    """People moved by one kind of event each day, over every crossing (zeros where the run has
    no such mode)."""
    modes = [str(m) for m in ds["mode"].values] if "mode" in ds.coords else []
    if mode not in modes:
        return np.zeros(ds.sizes["day"])
    return np.asarray(ds["crossings"].sel(mode=mode).sum("crossing").values, dtype=np.float64)


def _mode_total(ds: Any, mode: str) -> float:
    """People moved by one kind of event over the run (0 where the run has no such mode)."""
    return float(_mode_daily(ds, mode).sum())


@dataclass
class Comparison:
    """Per scenario: metric values per seed, and the daily stranded total per seed."""

    names: list[str]
    seeds: list[int]
    values: dict[str, dict[str, np.ndarray]]  # scenario -> metric -> (n_seeds,)
    stranded: dict[str, np.ndarray]  # scenario -> (n_seeds, days)
    camp: dict[str, np.ndarray] = field(default_factory=dict)  # population at `camp_place`, same shape
    descriptions: dict[str, str] = field(default_factory=dict)
    runs: dict[str, list[Any]] = field(default_factory=dict)  # kept Results, if asked
    start_dates: dict[str, Any] = field(default_factory=dict)  # scenario -> datetime.date of day 0
    #: the folders the scenarios were read from: `write_comparison` writes inside none of them
    sources: list[str] = field(default_factory=list)
    #: the seed the replica seeds were made from (`replica_seeds`), None where not known
    base_seed: int | None = None
    #: scenario -> the variant file or scenario folder it was read from (a sweep point: the
    #: baseline's; its description says what the sweep changed)
    files: dict[str, str] = field(default_factory=dict)
    #: the baseline's scenario name (scenario.toml's `name`), for the page's title
    scenario: str = ""
    #: scenario -> what it is (`scenario_identity`): comparison.json's `scenario_identity`, by
    #: which a run's report tells a comparison of its own scenario from another's
    identities: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the place whose population `camp` holds (`camp_place`), None where the scenario has none
    camp_place: str | None = None
    #: scenario -> daily flows per seed (`daily_flows`: "transfer", "flight"), each (n_seeds,
    #: days): what the main job sets reported transfers, flights and arrivals against
    flows: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: scenario -> place -> its daily people per seed (n_seeds, days), for each of the places
    #: `compare(places=...)` named that the scenario has: what the main job sets the dated
    #: observations at places other than `camp_place` against
    places: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: scenario -> its readable name (a variant file's `label`, the main job's "Peru closes 30 Mar
    #: (2 weeks earlier)"), where it has one: the terminal, comparison.png and the pages show it
    #: (`label`), comparison.csv has it beside the name (`scenario_label`), the rows are keyed by name
    labels: dict[str, str] = field(default_factory=dict)
    #: scenario -> what it changes in the baseline (`native_crisis.variant_changes`: a variant
    #: file's, a sweep point's), comparison.json's `variant_changes`, the page's Scenarios table
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: a sweep's columns (`sweep_column`: comparison.csv's and the summary rows' columns after the
    #: others), and scenario -> column -> its value of that parameter (a number, or a date as
    #: YYYY-MM-DD; the baseline's as written), where it has the parameter
    sweep_keys: list[str] = field(default_factory=list)
    swept: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the scenarios in the order the tables and comparison.png show them (a one-way sweep: by
    #: value, the baseline among the points); empty: `names`' order
    order: list[str] = field(default_factory=list)
    #: what the command line set, as data (comparison.json's `set` and `sweep`): `--set` key ->
    #: value, `--sweep` key -> its values (dates as YYYY-MM-DD); empty where none was given
    settings: dict[str, Any] = field(default_factory=dict)
    sweeps: dict[str, list[Any]] = field(default_factory=dict)

    def shown_names(self) -> list[str]:
        """The scenarios in the order the tables and the figure show them (`order`, else `names`)."""
        return list(self.order) if sorted(self.order) == sorted(self.names) else list(self.names)

    def identical_to_baseline(self) -> list[str]:
        """The scenarios whose every figure (ALL_METRICS) and daily number stranded are the
        baseline's on every seed (a variant that changed nothing any run felt: a capacity that
        never binds, a price set to the baseline's own)."""
        if not self.names:
            return []
        base = self.names[0]
        same = []
        for name in self.names[1:]:
            a, b = self.stranded[name], self.stranded[base]
            if a.shape == b.shape and np.array_equal(a, b) and all(
                    np.array_equal(self.values[name][k], self.values[base][k], equal_nan=True)
                    for k in ALL_METRICS if k in self.values[name] and k in self.values[base]):
                same.append(name)
        return same

    def identical_notes(self) -> list[str]:
        """`identical_note` of each scenario `identical_to_baseline`, by its name, as `corredor
        compare` prints it under its tables (comparison.html says it by the readable name)."""
        return [identical_note(n, len(self.seeds)) for n in self.identical_to_baseline()]

    def dates(self, name: str) -> list[str]:
        """ISO dates of the days of `name`'s daily series (empty when its start is unknown)."""
        start = self.start_dates.get(name)
        if start is None:
            return []
        import datetime as dt

        return [(start + dt.timedelta(days=k)).isoformat() for k in range(self.stranded[name].shape[1])]

    def summary(self) -> list[dict[str, Any]]:
        """One row per (scenario, metric): median and the 5–95 % band over seeds, and the same of
        the difference from the baseline (the first scenario) seed by seed (`diff_median`,
        `diff_p05`, `diff_p95`; NaN for the baseline itself). Why paired: every scenario runs the
        same seeds, so the difference on one seed is the policy's alone, and its band is narrower
        than the two scenarios' bands side by side suggest."""
        rows = []
        base = self.names[0] if self.names else ""
        for name in self.names:
            start = self.start_dates.get(name)
            for key, (label, unit) in ALL_METRICS.items():
                v = self.values[name][key]
                finite = v[np.isfinite(v)]
                q = _quantiles(finite)
                paired = paired_differences(v, self.values[base][key]) if name != base else np.zeros(0)
                d = _quantiles(paired) if name != base else [math.nan] * 3
                rows.append({
                    # (`scenario_label`: the readable name every output shows, `Comparison.label`)
                    "scenario": name, "scenario_label": self.label(name), "metric": key, "label": label,
                    "unit": unit, "median": q[1], "p05": q[0], "p95": q[2],
                    "seeds": int(v.size), "seeds_without_value": int(v.size - finite.size),
                    "diff_median": d[1], "diff_p05": d[0], "diff_p95": d[2],
                    "diff_within_chance": within_chance(d[0], d[2], paired.size),
                    # (a day metric's figures as dates too; None for any other)
                    **{f"{k}_date": quantile_date(x, start) if key in DAY_METRICS else None
                       for k, x in zip(("median", "p05", "p95"), (q[1], q[0], q[2]), strict=True)},
                    **{col: self.swept.get(name, {}).get(col) for col in self.sweep_keys},
                })
        return rows

    def label(self, name: str) -> str:
        """A scenario's readable name, as the terminal, comparison.png, the page and comparison.csv's
        `scenario_label` show it: its variant file's `label` ("Peru closes 1 Apr"), else its name
        (the baseline's, a sweep point's "bribe_price_usd=0 (no paid passage)")."""
        return self.labels.get(name) or name

    def whole_run_note(self) -> str:
        """`whole_run_note` of this comparison, as `corredor compare` prints it under its table:
        each scenario's last day, the baseline's people still at the sites then (median and
        5–95 % band over seeds, whole numbers as the table writes them), or that nobody is."""
        key = "people_at_sites_last_day"
        ends = {n: last_day(self.dates(n), self.stranded[n].shape[-1]) for n in self.names}
        nobody = not any(v > 0 for n in self.names for v in self.values[n].get(key, np.zeros(0)))
        base = self.names[0] if self.names else None
        v = self.values[base][key] if base is not None and key in self.values[base] else np.zeros(0)
        q = _quantiles(v[np.isfinite(v)])
        return whole_run_note(ends, base, (q[1], q[0], q[2]), nobody_left=nobody, whole=True)

    def median(self, name: str, key: str) -> float:
        v = self.values[name][key]
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else math.nan


def identical_note(name: str, seeds: int) -> str:
    """What `corredor compare` and comparison.html say of a scenario whose results are the
    baseline's on every seed (`Comparison.identical_to_baseline`). Why: a variant that changed
    nothing any run felt gave a row of zeros, which read the same as a variant not applied."""
    on = f"on all {seeds:,} seeds" if seeds != 1 else "on its one seed"
    runs = "any run" if seeds != 1 else "the run"
    return f"{name}: identical to the baseline {on}: this change did not affect {runs}"


def quantile_date(day: float, start: Any) -> str | None:
    """A quantile of a day metric (a day number, 0 = `start`) as its date, YYYY-MM-DD, rounded to
    the nearer day (`formatting.day_date`: a median between two days goes to the later); None
    without a value or a start date."""
    from ..outputs.formatting import day_date

    if start is None or not math.isfinite(day):
        return None
    return day_date(day, start)


def sweep_column(key: str, taken: Any = ()) -> str:
    """A swept parameter's column in comparison.csv and the summary rows: its name without
    `crisis.` (`bribe_price_usd`), as the sweep's names write it; the dotted key where that is
    already a column (`taken`)."""
    name = key.removeprefix("crisis.")
    return key if name in taken else name


#: comparison.csv's columns before a sweep's (`sweep_column`): the summary rows' keys.
CSV_COLUMNS: tuple[str, ...] = ("scenario", "metric", "unit", "median", "p05", "p95", "seeds",
                                "seeds_without_value", "diff_median", "diff_p05", "diff_p95", "label",
                                "period", "period_start", "period_end", "scenario_label",
                                "diff_within_chance", "median_date", "p05_date", "p95_date")


def sweep_table(scenarios: Mapping[str, Any], keys: Sequence[str], points: Sequence[str]
                ) -> tuple[list[str], dict[str, dict[str, Any]], list[str]]:
    """A sweep's columns in comparison.csv and the summary rows (`compare.sweep_column`, one per
    swept key), each scenario's value of each (a number, or a date as YYYY-MM-DD; the baseline's
    and a variant file's as written; none where it lacks the parameter), and the order of the
    tables and comparison.png: in a one-way sweep the baseline among the `points` by value (its
    100 between 55 and 150, where a price gradient reads top to bottom), the variant files after
    them; else as compared. Why: the values were only inside the row names, and a two-way pivot
    had a hole where the baseline's cell was the row "baseline". `scenarios`: name -> scenario, the
    baseline first; `keys`: the swept dotted keys; `points`: the names of the sweep's points."""
    from ..scenario.native_crisis import plain_value

    columns: list[str] = []
    for key in keys:
        columns.append(sweep_column(key, [*CSV_COLUMNS, *columns]))
    values: dict[str, dict[str, Any]] = {}
    numbers: dict[str, float] = {}
    for name, sc in scenarios.items():
        crisis = getattr(sc, "crisis", None)
        shown = crisis.parameter_dates(sc.start_date) if crisis is not None else {}
        own: dict[str, Any] = {}
        for col, dotted in zip(columns, keys, strict=True):
            section, _, key = dotted.partition(".")
            if crisis is not None and section == "crisis" and key in shown:
                own[col] = plain_value(shown[key])
                numbers.setdefault(name, float(crisis.parameters[key]))
        if own:
            values[name] = own
    names = list(scenarios)
    order = names
    if len(keys) == 1 and names and names[0] in numbers and all(p in numbers for p in points):
        block = sorted([names[0], *points], key=lambda n: numbers[n])  # (stable: ties keep their order)
        order = [*block, *(n for n in names if n not in block)]
    return (columns if keys else []), (values if keys else {}), order


def scenario_identity(scenario: Scenario) -> dict[str, str]:
    """What a compared scenario is, as a run's manifest.json says it of the run's (`scenario`):
    its name (a variant's "chile-peru-2023+bribe-55"), the folder it was read from, and the hash
    of its content (`engine.crisis.scenario_hash`: its places, routes, rules and period, so a
    run of it for fewer days, or with another --set, has another). Why: `corredor report RUN
    --comparison` put a Chile–Peru comparison into a Mali run's page, unchecked. The entry every
    manifest gives its scenario (`provenance.scenario_entry`)."""
    from ..provenance import scenario_entry

    return scenario_entry(scenario)


def last_day(dates: list[str], days: int) -> str:
    """A scenario's last day as `whole_run_note` says it: its ISO date, or "day N" (day 0 the
    first) when its start date is unknown (`dates` empty)."""
    return dates[-1] if dates else f"day {days - 1}"


def whole_run_note(ends: Mapping[str, str], baseline: str | None = None,
                   band: tuple[float | None, float | None, float | None] | None = None, *,
                   nobody_left: bool = False, whole: bool = False, runs: str = "the run's") -> str:
    """Where the whole-run totals (WHOLE_RUN_METRICS) stop, and whom they leave out: the one
    line `corredor compare` prints under its table and the run report writes under its
    comparison. Why: a planner read the water total as the cost of the whole crisis, with
    people still at the sites.

    `ends`: each scenario's last day (`last_day`), said once when they are all the same, each
    otherwise; empty when not known. `band`: the `baseline`'s people still at the crisis
    sites on the last day, (median, 5 %, 95 %) over seeds, or None when not known; written by
    `band_cell` (`whole`: as whole numbers, as the CLI's tables write them; else as the
    report's cells, one decimal where not whole), so it reads as the table's own cell above it.
    `nobody_left`: no scenario has anyone there on its last day, in any seed. `runs`: whose last
    day it is (a run's report beside a comparison of another period: "the compared runs'").

    >>> whole_run_note({"baseline": "2023-06-30"}, "baseline", (268.0, 252.0, 279.0))  # doctest: +ELLIPSIS
    "whole run: to 2023-06-30, the run's last day; ... then (baseline: 268 [252–279]) need after it ..."
    """
    from ..outputs.formatting import MISSING, band_cell

    by_day: dict[str, list[str]] = {}
    for name, day in ends.items():
        by_day.setdefault(day, []).append(name)
    when = (f"to {runs} last day" if not by_day else
            f"to {next(iter(by_day))}, {runs} last day" if len(by_day) == 1 else
            "to each scenario's last day ("
            + "; ".join(f"{', '.join(names)}: {day}" for day, names in by_day.items()) + ")")
    if nobody_left:
        return f"whole run: {when}; nobody is at the crisis sites then, in any scenario or seed."
    cell = band_cell(*band, whole=whole) if band is not None else MISSING
    how_many = f" ({baseline}: {cell})" if baseline is not None and cell != MISSING else ""
    return (f"whole run: {when}; the water and rations that the people still at the crisis sites "
            f"then{how_many} need after it are not in the totals.")


def paired_differences(values: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """`values − baseline` seed by seed (the same index is the same seed), for the seeds where
    both have a value (a camp that had not emptied has none)."""
    diff = np.asarray(values, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    return diff[np.isfinite(diff)]


#: Fewer seeds than this, and a comparison's 5–95 % bands are not meaningful (`band_note`;
#: `bands.band_coverage`, the one rule of what a band of n runs holds: 74 % at 10, 45 % at 3).
MIN_BAND_SEEDS = MIN_BAND_RUNS
#: From this many seeds on, a band is not said to be close to the seeds' range (`band_note`).
NEAR_RANGE_SEEDS = NEAR_RANGE_RUNS


def bands_meaningful(seeds: int) -> bool:
    """Whether the 5–95 % bands over `seeds` seeds mean anything: MIN_BAND_SEEDS or more."""
    return seeds >= MIN_BAND_SEEDS


def band_note(seeds: int) -> str:
    """What the 5–95 % bands are at this number of seeds, as `corredor compare` says it under its
    first table, comparison.html above its tables and comparison.json in `bands`: with one seed
    there is no range; below MIN_BAND_SEEDS the bands are not meaningful; below NEAR_RANGE_SEEDS
    they are close to the seeds' lowest–highest range (`band_coverage` says how close); "" from
    then on. Why: with 1–3 seeds "[506–506]" and "[506–508]" read as certainty.

    >>> band_note(25)
    ''
    """
    if seeds <= 1:
        return ("1 seed: no range. Each figure is one run's: it says nothing of the spread between "
                f"seeds, nor whether a difference is more than chance; run --seeds {MIN_BAND_SEEDS} or "
                "more for ranges.")
    share = percent(band_coverage(seeds))
    if seeds < MIN_BAND_SEEDS:
        return (f"with {seeds} seeds the [5–95 %] bands are not meaningful: each lies between the "
                f"lowest and the highest of {seeds} values and holds on average only {share} of runs, "
                f"not 90 % (a difference's band too, and so its \"{CHANCE_MARK.strip()}\" mark); "
                f"run --seeds {MIN_BAND_SEEDS} or more.")
    if seeds < NEAR_RANGE_SEEDS:
        return (f"with {seeds} seeds a [5–95 %] band is close to the range of the {seeds} values "
                f"(lowest to highest): it holds on average {share} of runs, not 90 %.")
    return ""


def bands_field(seeds: int) -> dict[str, Any]:
    """comparison.json's `bands`: what its 5–95 % bands are at its number of seeds (`band_note`)."""
    return {"seeds": int(seeds), "meaningful": bands_meaningful(seeds), "min_seeds": MIN_BAND_SEEDS,
            "coverage": round(band_coverage(seeds), 3), "note": band_note(seeds)}


#: The mark after a difference `within_chance` (the terminal's, comparison.html's and the run
#: page's difference tables), and the note under a table that has one.
CHANCE_MARK = " (chance)"
CHANCE_NOTE = ("(chance): within chance variation: the 5–95 % band of this difference, seed by seed, "
               "includes 0, so these seeds do not tell it from no difference.")


def within_chance(low: float, high: float, seeds: int) -> bool | None:
    """Whether a difference from the baseline is within chance variation: its 5–95 % band over
    the seeds (`low`, `high`: seed by seed, `paired_differences`) includes 0. None where that
    cannot be said: fewer than 2 seeds with a difference (no band), no value, the baseline's own
    row. comparison.csv's and comparison.json's `diff_within_chance`; docs/outputs.md states the
    rule (below MIN_BAND_SEEDS seeds it is as rough as the band)."""
    if seeds < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return None
    return bool(low <= 0 <= high)


def _quantiles(values: np.ndarray) -> list[float]:
    """The 5th, 50th and 95th percentiles (NaN for no values)."""
    if not values.size:
        return [math.nan] * 3
    return [float(x) for x in np.quantile(values, [0.05, 0.5, 0.95])]


def run_seeds(scenario: Scenario, seeds: list[int], threads: int = 1,
              reduce: Callable[[Any], Any] | None = None, check: bool = False) -> list[Any]:
    """Run one crisis scenario once per seed (its plan compiled once); `reduce` maps each Results."""
    from ..engine.rules.crisis_plan import compile_crisis
    from ..simulate import simulate_crisis_plan

    plan = compile_crisis(scenario)
    out = []
    for s in seeds:
        res = simulate_crisis_plan(scenario, plan, seed=s, threads=threads, check=check)
        out.append(reduce(res) if reduce is not None else res)
    return out


@dataclass(frozen=True)
class CompareShared:
    """What every run of a comparison reads (sent to each worker once): per scenario name, the
    scenario and its compiled crisis plan; the threads a run uses; the place whose population
    is kept per seed; other places whose population is kept too (`compare(places=...)`)."""

    scenarios: dict[str, tuple[Scenario, Any]]
    threads: int
    camp: str | None
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedTask:
    """One run of a comparison: scenario `name` with the k-th common seed; `keep` returns its Results."""

    name: str
    k: int
    seed: int
    keep: bool


@dataclass
class SeedOutput:
    """One run reduced to what the comparison keeps (and its Results, if the task asked)."""

    name: str
    k: int
    metrics: dict[str, float]
    stranded: np.ndarray
    camp: np.ndarray | None
    results: Any = None
    flows: dict[str, np.ndarray] = field(default_factory=dict)
    places: dict[str, np.ndarray] = field(default_factory=dict)


def run_compare_seed(shared: CompareShared, task: SeedTask) -> SeedOutput:
    """Worker function: run one (scenario, seed) and reduce it at once (module-level: it is sent
    to worker processes and Dask workers by name)."""
    from ..simulate import simulate_crisis_plan

    scen, plan = shared.scenarios[task.name]
    # (as `simulate` runs it: the run folders the main job writes of it say their engine_choice
    # and compile time, as every run folder does)
    res = simulate_crisis_plan(scen, plan, seed=task.seed, threads=shared.threads)
    ds = res.dataset
    camp = (np.array(ds["population"].sel(location=shared.camp).values)
            if shared.camp is not None and shared.camp in plan.names else None)
    return SeedOutput(task.name, task.k, {**policy_metrics(ds), **waiting_metrics(ds), **needs_metrics(ds)},
                      np.asarray(ds["stranded"].sum("location").values), camp,
                      res if task.keep else None, daily_flows(ds),
                      {p: np.array(ds["population"].sel(location=p).values)
                       for p in shared.places if p in plan.names})


def daily_flows(ds: Any) -> dict[str, np.ndarray]:
    """A run's people moved by transfers ("transfer") and flown out ("flight") per day, over
    every place: what reports of "40 moved" or "115 flown" are set against (and, on a day the
    line was emptied the evening before, a report of new arrivals there: `mainjob`)."""
    return {m: _mode_daily(ds, m) for m in ("transfer", "flight")}


def compare(scenarios: Mapping[str, Scenario], seeds: int = 20, base_seed: int = 0,
            threads: int = 1, keep: int = 0, camp: str | None = None,
            progress: Callable[[str, int, int], None] | None = None,
            executor: Any = None, places: Sequence[str] = ()) -> Comparison:
    """Run every scenario with the same `seeds` replica seeds; keep the first `keep` Results each.

    `camp` names the place whose daily population is also kept per seed (when it exists);
    None: the baseline's `camp_place`. `places` names more places whose daily population is kept
    per seed, in each scenario that has them (`Comparison.places`: the main job's observations).
    `executor` (`executors.make_executor`; default: serial in this process) runs the
    (scenario, seed) pairs, in worker processes or on a Dask cluster: the same seeds give the
    same comparison whatever runs them, since a run's random numbers are keyed by its seed.
    `progress(name, done, total)` is called as each of `name`'s runs ends.
    `scenarios` is a dict {name: Scenario}, the baseline first (anything else is a TypeError).
    Refused with a ValueError before anything runs: fewer than one seed (numpy's "need at least
    one array to concatenate" after every run), a scenario without a `[crisis]` section
    (named, where compile_crisis said only "scenario has no [crisis] part"), or one with a hasten
    other than 1 (named too: compile_crisis's "hasten 10: …" did not say which was given one).
    """
    from ..engine.rules.crisis_plan import compile_crisis
    from .executors import SerialExecutor

    if not isinstance(scenarios, Mapping):  # (a list was "'list' object has no attribute 'items'")
        raise TypeError(f"compare takes a dict of scenarios by name, the baseline first (e.g. "
                        f"{{'baseline': s1, 'closed': s2}}), found {type(scenarios).__name__}")
    if isinstance(seeds, bool) or not isinstance(seeds, int | np.integer) or seeds < 1:
        raise ValueError(f"seeds must be a whole number ≥ 1, found {seeds!r}")
    if not scenarios:  # (it returned an empty comparison, which every reader then failed on)
        raise ValueError("compare needs at least one scenario, the baseline first")
    for name, scenario in scenarios.items():
        if getattr(scenario, "crisis", None) is None:
            raise ValueError(f"{name!r} is not a border-crisis scenario (no [crisis] section): compare "
                             "runs the crisis engine's policy metrics; compare a Flee case's settings "
                             "with analysis.ensemble.run_ensemble and build_variants")
    seed_list = replica_seeds(base_seed, seeds)
    names = list(scenarios)
    plans: dict[str, Any] = {}
    for name, scenario in scenarios.items():
        try:
            plans[name] = compile_crisis(scenario)
        except ValueError as exc:  # (a hasten other than 1: which of the scenarios has it)
            raise ValueError(f"{name!r}: {exc}") from None
    if camp is None:
        camp = camp_place(next(iter(scenarios.values())))
    shared = CompareShared({n: (s, plans[n]) for n, s in scenarios.items()}, int(threads), camp,
                           tuple(dict.fromkeys(str(p) for p in places)))
    tasks = [SeedTask(n, k, s, k < keep) for k, s in enumerate(seed_list) for n in names]
    outs: dict[str, list[SeedOutput | None]] = {n: [None] * len(seed_list) for n in names}
    done = dict.fromkeys(names, 0)
    for out in (executor or SerialExecutor()).map_unordered(run_compare_seed, shared, tasks):
        outs[out.name][out.k] = out
        done[out.name] += 1
        if progress is not None:
            progress(out.name, done[out.name], len(seed_list))
    values: dict[str, dict[str, np.ndarray]] = {}
    stranded: dict[str, np.ndarray] = {}
    camps: dict[str, np.ndarray] = {}
    flows: dict[str, dict[str, np.ndarray]] = {}
    kept: dict[str, dict[str, np.ndarray]] = {}
    runs: dict[str, list[Any]] = {}
    for name in names:
        got = [o for o in outs[name] if o is not None]
        assert len(got) == len(seed_list), f"{name}: {len(got)} of {len(seed_list)} runs came back"
        values[name] = {m: np.array([o.metrics[m] for o in got]) for m in ALL_METRICS}
        stranded[name] = np.vstack([o.stranded for o in got])
        camp_series = [o.camp for o in got if o.camp is not None]
        if camp_series:
            camps[name] = np.vstack(camp_series)
        flows[name] = {key: np.vstack([o.flows[key] for o in got]) for key in got[0].flows
                       if all(key in o.flows for o in got)}
        kept[name] = {p: np.vstack([o.places[p] for o in got]) for p in got[0].places
                      if all(p in o.places for o in got)}
        runs[name] = [o.results for o in got[:keep]]
    desc = {n: str(s.metadata.get("variant_description", "") if s.metadata.get("variant")
                   else s.metadata.get("description", ""))  # (a baseline: its scenario.toml's)
            for n, s in scenarios.items()}
    starts = {n: s.start_date for n, s in scenarios.items()}
    sources = list(dict.fromkeys(str(s.source) for s in scenarios.values() if s.source))
    from ..provenance import source_path

    # (absolute: comparison.json names the same files from any working directory)
    files = {n: source_path(s.metadata.get("variant_file") or s.source or "") for n, s in scenarios.items()}
    base = scenarios[names[0]]
    return Comparison(names, seed_list, values, stranded, camps, desc, runs, starts, sources,
                      base_seed=int(base_seed), files=files, scenario=str(getattr(base, "name", "") or ""),
                      identities={n: scenario_identity(s) for n, s in scenarios.items()},
                      camp_place=camp if camps else None, flows=flows, places=kept,
                      labels={n: str(s.metadata["variant_label"]) for n, s in scenarios.items()
                              if s.metadata.get("variant") and s.metadata.get("variant_label")},
                      changes={n: dict(s.metadata["variant_changes"]) for n, s in scenarios.items()
                               if s.metadata.get("variant") and isinstance(s.metadata.get("variant_changes"), dict)})


def camp_place(scenario: Scenario) -> str | None:
    """The place whose daily population a comparison keeps beside the stranded (comparison.json's
    `camp_median`): the one named `camp` (the Chile–Peru line's), else the first place of kind
    `staging` (where people wait at a closed border), else None. Why: a scenario written for
    another border names its line otherwise, and its comparison kept no camp series at all."""
    locations = list(getattr(scenario, "locations", []) or [])
    names = [str(getattr(loc, "name", "")) for loc in locations]
    if "camp" in names:
        return "camp"
    return next((str(loc.name) for loc in locations if getattr(loc, "kind", "") == "staging"), None)


def file_unit(unit: str) -> str:
    """A unit as data files write it: ASCII, as in needs.csv and UDUNITS (`m2`); screens say m²."""
    return unit.replace("²", "2")


#: The metrics of one day, the run's last (comparison.csv's `period` is that day only).
LAST_DAY_METRICS: tuple[str, ...] = ("people_at_sites_last_day",)


def metric_period(dates: list[str], metric: str) -> str:
    """The days a metric's figure is computed over, as comparison.csv's `period` writes them: an
    ISO 8601 interval `first/last` (both included) of the run's dates: a total sums over them, a
    peak is the busiest day within them, the days until nobody is stranded are counted within
    them; a last-day figure (LAST_DAY_METRICS) is of the last day only (`last/last`). Empty when
    the run's dates are not known.

    >>> metric_period(["2023-02-01", "2023-02-02", "2023-06-30"], "water_l")
    '2023-02-01/2023-06-30'
    >>> metric_period(["2023-02-01", "2023-06-30"], "people_at_sites_last_day")
    '2023-06-30/2023-06-30'
    """
    if not dates:
        return ""
    first, last = metric_period_bounds(dates, metric)
    return f"{first}/{last}"


def metric_period_bounds(dates: list[str], metric: str) -> tuple[str, str]:
    """`metric_period`'s first and last day, each an ISO date (both "" when the dates are not
    known): comparison.csv's `period_start` and `period_end`. Why two columns: HXL has no
    interval type, and its date cleaning (and spreadsheets) read "2023-02-01/2023-06-30" as one
    wrong date; `#date+start` and `#date+end` survive them, as provided.csv's do.

    >>> metric_period_bounds(["2023-02-01", "2023-06-30"], "people_at_sites_last_day")
    ('2023-06-30', '2023-06-30')
    """
    if not dates:
        return "", ""
    return (dates[-1] if metric in LAST_DAY_METRICS else dates[0]), dates[-1]


def period_fields(dates: list[str], metric: str) -> dict[str, str]:
    """The last three columns of a comparison.csv row, as comparison.json's summary rows hold them
    too: `period` (the ISO interval, `metric_period`), `period_start` and `period_end`."""
    first, last = metric_period_bounds(dates, metric)
    return {"period": metric_period(dates, metric), "period_start": first, "period_end": last}


def comparison_csv(comp: Comparison) -> str:
    """comparison.csv text: a header, an HXL hashtag row, one row per (scenario, metric), written
    as every corredor CSV (`outputs.tables.hxl_csv_text`: CRLF, RFC 4180), figures by `csv_number`.
    The last columns say what a row is, as the pages do: the metric's `label`
    (METRIC_LABELS: "water needed …, whole run") and the days its figure covers (`period_fields`:
    the ISO interval `period`, tagged `#meta+period` as no HXL tool reads an interval as a date,
    and its `period_start` and `period_end`, `#date+start` and `#date+end`); after them, columns
    added since, so that a reader of the earlier columns by position reads on: the scenario's
    readable name `scenario_label` (`Comparison.label`, `#meta+scenario+label`; `label` is the
    metric's) and whether its difference from the baseline is within chance variation,
    `diff_within_chance` (`within_chance`: `true`, `false`, empty where it cannot be said;
    `#meta+diff+chance`); a day metric's median and band as dates (`median_date`, `p05_date`,
    `p95_date`, `#date+median` …; empty for any other metric); then one column per swept parameter
    (`Comparison.sweep_keys`, `#meta+sweep+<name>`: each scenario's value, the baseline's as
    written)."""
    from ..outputs.tables import hxl_attribute, hxl_csv_text

    figures = ("median", "p05", "p95", "seeds", "seeds_without_value", "diff_median", "diff_p05", "diff_p95")
    day_dates = ("median_date", "p05_date", "p95_date")
    header = [*CSV_COLUMNS, *comp.sweep_keys]
    tags = ["#meta+scenario", "#indicator+name", "#indicator+unit", "#indicator+value+median",
            "#indicator+value+p05", "#indicator+value+p95", "#meta+seeds", "#meta+seeds+missing",
            "#indicator+value+diff+median", "#indicator+value+diff+p05", "#indicator+value+diff+p95",
            "#indicator+label", "#meta+period", "#date+start", "#date+end", "#meta+scenario+label",
            "#meta+diff+chance", "#date+median", "#date+p05", "#date+p95",
            *(f"#meta+sweep+{hxl_attribute(k)}" for k in comp.sweep_keys)]
    dates = {name: comp.dates(name) for name in comp.names}
    rows = ([r["scenario"], r["metric"], file_unit(r["unit"]), *(r[k] for k in figures),
             METRIC_LABELS.get(r["metric"], (r.get("label", ""), ""))[0],
             *period_fields(dates.get(r["scenario"], []), r["metric"]).values(),
             r["scenario_label"], bool_text(r["diff_within_chance"]),
             *(r.get(k) for k in day_dates), *(r.get(k) for k in comp.sweep_keys)] for r in comp.summary())
    return hxl_csv_text(header, tags, rows, number=csv_number)


def bool_text(value: bool | None) -> str:
    """A yes/no column as comparison.csv writes it: `true`, `false`, empty for not known (as JSON
    writes them, and pandas reads them back as booleans)."""
    return "" if value is None else "true" if value else "false"


def csv_number(value: float) -> str:
    """A figure as comparison.csv and the run folder's CSVs write it: every digit, no exponent
    (12345678, 418129.5), as comparison.json holds it; empty for no value (NaN, infinite). Rounded to 6 decimals, which drops a
    percentile's binary noise (27875.300000000003) and nothing a planner reads."""
    if not math.isfinite(value):
        return ""
    r = round(float(value), 6) + 0.0  # (+ 0.0: no "-0")
    return f"{r:.0f}" if r.is_integer() else f"{r:.6f}".rstrip("0")


def _json_value(v: Any) -> Any:
    """A --set or --sweep value as JSON holds it: a date as YYYY-MM-DD, the rest as it is."""
    return v.isoformat() if hasattr(v, "isoformat") else v


def comparison_json(comp: Comparison) -> dict[str, Any]:
    """A JSON-ready dict: seeds, the summary rows, per-seed values and median daily series, and
    the `provenance` block every manifest has (corredor's and its dependencies' versions)."""
    def clean(x: float) -> float | None:
        return None if math.isnan(x) else float(x)

    from .. import __version__
    from ..provenance import provenance

    return {
        "version": __version__,
        # (as a run's, ensemble's or calibration's manifest; nothing of how it was run, so that
        # the same command on workers or in one process writes the same file)
        "provenance": provenance(),
        # (the baseline's scenario name; null base seed where the comparison was made without one)
        "baseline_scenario": comp.scenario,
        "base_seed": comp.base_seed,
        **({"base_seed_text": seed_text(comp.base_seed)} if comp.base_seed is not None else {}),
        "seeds": [int(s) for s in comp.seeds],
        # (the same as text: seeds pass 2^53, beyond what JavaScript or Excel keep exactly)
        "seeds_text": [seed_text(s) for s in comp.seeds],
        "metrics": {k: {"label": lab, "unit": file_unit(u)} for k, (lab, u) in ALL_METRICS.items()},
        # (what the 5–95 % bands are at this number of seeds: not meaningful below `min_seeds`,
        # `band_note`; the share of runs one holds on average, `band_coverage`)
        "bands": bands_field(len(comp.seeds)),
        "scenarios": comp.names,
        "descriptions": comp.descriptions,
        # (the readable names of the scenarios that have one, as every output shows them; the
        # summary rows hold each scenario's in `scenario_label`)
        "labels": comp.labels,
        "files": comp.files,
        # (what each variant and sweep point changes in the baseline: `native_crisis.variant_changes`)
        "variant_changes": comp.changes,
        # (the scenarios whose figures are the baseline's on every seed: `identical_note`)
        "identical_to_baseline": comp.identical_to_baseline(),
        # (the tables' and comparison.png's order: a one-way sweep's by value)
        "order": comp.shown_names(),
        # (what --set and --sweep gave, as data: not only inside the descriptions' prose)
        "set": {k: _json_value(v) for k, v in comp.settings.items()},
        "sweep": {k: [_json_value(v) for v in vs] for k, vs in comp.sweeps.items()},
        # (a sweep's columns of the summary rows and comparison.csv, and each scenario's values)
        "sweep_keys": comp.sweep_keys,
        "swept": comp.swept,
        # (comparison.csv's rows: with the days each figure covers, `period_fields`)
        "summary": [{**{k: (clean(v) if isinstance(v, float) else file_unit(v) if k == "unit" else v)
                        for k, v in r.items()},
                     **period_fields(comp.dates(r["scenario"]), r["metric"])} for r in comp.summary()],
        "per_seed": {n: {m: [clean(float(x)) for x in comp.values[n][m]] for m in ALL_METRICS}
                     for n in comp.names},
        "stranded_median": {n: np.median(comp.stranded[n], axis=0).tolist() for n in comp.names},
        "camp_median": {n: np.median(comp.camp[n], axis=0).tolist() for n in comp.camp},
        # (the place those are of: `camp_place`; null where the scenario has none)
        "camp_place": comp.camp_place,
        "dates": {n: comp.dates(n) for n in comp.names},
        # (which scenarios these are: a run's report refuses another scenario's comparison)
        **({"scenario_identity": comp.identities} if comp.identities else {}),
    }


#: the data files write_comparison writes (with `figures`, comparison.png and comparison.html
#: too; `corredor compare --out` refuses to replace any of them without --force)
COMPARISON_FILES = ("comparison.csv", "comparison.json")


class ComparisonExists(FileExistsError):
    """The folder already holds a file `write_comparison` would write, and `force` was not given
    (`paths`: those files)."""

    def __init__(self, message: str, paths: list[Path]) -> None:
        super().__init__(message)
        self.paths = paths


def write_comparison(comp: Comparison, out_dir: str | os.PathLike[str], force: bool = False, *,
                     figures: bool = True, png: bytes | None = None,
                     observation_checks: list[dict[str, Any]] | None = None) -> list[Path]:
    """Write comparison.csv, comparison.json and, with `figures`, comparison.png and
    comparison.html (the page of the tables, `outputs.report.comparison.render_comparison`)
    into out_dir, as `corredor compare --out` does; return their paths. `png`: comparison.png's
    bytes when already drawn (`outputs.plots.comparison_png`), else drawn here;
    `observation_checks`: the main job's check against the reports, shown on comparison.html.

    As `write_run_folder`, `write_ensemble` and `write_calibration`: a file of these already in
    `out_dir` is kept unless `force` (ComparisonExists, a FileExistsError, nothing written);
    other files there are left alone. The files are written together (`write_texts_atomic`: a
    failure or a stop leaves the old set, never a new CSV beside an old JSON); without `force`,
    one another command wrote there meanwhile is kept too (FileExistsError). An `out_dir` that
    is the folder of a scenario compared (`comp.sources`) or lies inside one is refused with
    UnsafeTarget before anything is written (`targets.check_outside_scenarios`; a folder above
    one, such as `.`, is fine: the files are added to it, nothing is replaced)."""
    check_outside_scenarios(out_dir, comp.sources)
    names = [*COMPARISON_FILES]
    if figures:
        from ..outputs.plots import COMPARISON_PNG
        from ..outputs.report.comparison import COMPARISON_HTML

        names = [COMPARISON_PNG, COMPARISON_HTML, *names]  # (the data files last: they mark the set done)
    there = [n for n in names if os.path.lexists(Path(out_dir) / n)]
    if there and not force:  # (before any figure is drawn)
        raise ComparisonExists(f"{out_dir} already holds {', '.join(there)}; force=True (--force) "
                               "replaces them", [Path(out_dir) / n for n in there])
    texts: dict[str, str | bytes] = {}
    data = comparison_json(comp)
    json_text = json.dumps(data, indent=1) + "\n"  # (before the page reads `data`)
    if figures:
        from ..outputs.plots import COMPARISON_PNG, comparison_png
        from ..outputs.report.comparison import COMPARISON_HTML, render_comparison

        png = png if png is not None else comparison_png(comp.summary(), comp.shown_names(), comp.labels,
                                                         comp.names[0])
        texts = {COMPARISON_PNG: png,
                 COMPARISON_HTML: render_comparison(data, png, observation_checks=observation_checks)}
    csv_name, json_name = COMPARISON_FILES
    texts[csv_name] = comparison_csv(comp)
    texts[json_name] = json_text
    return write_texts_atomic(out_dir, texts, replace=force)
