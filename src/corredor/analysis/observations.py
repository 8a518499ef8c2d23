"""Dated observations of a crisis scenario and how every part of corredor reads them.

One reading for all: calibration's `interval` objective (`analysis.calibrate`), the main job's
check (`mainjob`), and the run and ensemble pages and figures (`outputs`) take from here

- which kinds count the people at a place (`STOCK_KINDS`) and which a figure draws (`DRAWN_KINDS`);
- the range a model figure must lie in to match an observation (`tolerance`: a stated range, `>N`
  at least N, an approximate count without a range ±50 %, a peak ±50 % of it; never the
  zero-width interval of a rounded "~60");
- what an observation is to the fit (`observation_role`: fitted, held out, set by an event; the
  scenario's observations say which are fitted, their `role` column, and which rows are checked as
  one, their `check` column: `targets_for`; the Chile–Peru fit, docs/chile-peru-2023.md §3);
- the model figure compared (`reported_figure`: the people at the observation's place that day,
  `population`; for a peak the most there up to that day).

Why: calibration scored `stranded` against "~60" as exactly 60, fitted the reports the main job
calls held out, and the pages gave a percentage without a verdict; three readings of one row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .peak import PEAK_TOLERANCE, check_peak, peak_bounds, simulated_peak

#: The place the Chile–Peru fit and the main job's check read (the line between the posts).
CAMP = "camp"

#: Kinds of observation that count the people at a place: on their day (a point, a range, a lower
#: bound, a qualitative "hundreds") or, for a `peak`, the most there on some day up to it. Each is
#: set against the model's people there (`reported_figure`); the other kinds are flows (moved,
#: flown, arrived: `FLOW_KINDS`) or not compared (`NOT_COMPARED`). (scenario-format.md lists the
#: kinds.)
STOCK_KINDS = ("point", "range", "lower_bound", "qualitative", "peak")
#: The stock kinds a figure draws and a run page's table lists (a dot, a bar, a triangle, a
#: diamond): all but `qualitative`, whose wide range ("hundreds": 100–999) would read as a figure.
DRAWN_KINDS = ("point", "range", "lower_bound", "peak")


@dataclass(frozen=True)
class Target:
    """One named check of the median population at `location` against dated observations: the
    rows of the scenario's observations that share a `check` name (`targets_for`).

    `stat` is how the median series is reduced over days first..last: "value" (one day), "mean",
    or "max"; the result must lie in [low, high] (high None: no upper bound). "peak" is a reported
    peak of `reported` people on some day up to `last`, checked as every page checks one
    (`analysis.peak.check_peak`: the most there over the days, within ±50 % of it; [low, high] is
    that range). `fitted` says whether the fit uses it (its rows' `role`); `rows` names its rows
    (date, kind), so that the main job's check lists each observation once, with its role.
    """

    name: str
    first: str  # date YYYY-MM-DD
    last: str
    stat: str
    low: float
    high: float | None
    fitted: bool
    source: str
    reported: float | None = None  # (stat "peak": the reported peak)
    rows: tuple[tuple[str, str], ...] = ()  # (date, kind) of the observations it stands for
    location: str = CAMP


def declares_roles(scenario: Any) -> bool:
    """Whether the scenario's observations say which rows the fit uses (a `role` column): without,
    every observation is held out for the main job's check, and calibration fits them all."""
    crisis = getattr(scenario, "crisis", None)
    return any("role" in o for o in getattr(crisis, "observations", ()) or ())


def _stated(o: Mapping[str, Any]) -> tuple[float, float | None]:
    """The figures a row of a multi-row check states: its range (low–high; a lower bound: low, no
    upper bound), else its value."""
    value, low, high = (_number(o.get(k)) for k in ("value", "low", "high"))
    if o.get("kind") == "lower_bound" and low is not None:
        return low, None
    if low is not None and high is not None:
        return low, high
    return (value, value) if value is not None else (math.nan, math.nan)


def _target(name: str, rows: list[Mapping[str, Any]], start: Any) -> Target:
    """The check of the observation rows named `name`: one row, its day and tolerance (a peak: the
    most there from the first day to its day); several (reports of one crowd), the mean over
    their days, between the lowest and the highest figure they state."""
    rows = sorted(rows, key=lambda o: int(o["day"]))
    first, last = int(rows[0]["day"]), int(rows[-1]["day"])

    def date(d: int) -> str:
        return (start + dt.timedelta(days=d)).isoformat()

    stat, reported = "value" if first == last else "mean", None
    if len(rows) == 1:
        low, high = tolerance(rows[0]) or (math.nan, math.nan)
        if rows[0].get("kind") == "peak":  # (the most there from the first day to its day)
            first, stat, reported = 0, "peak", _number(rows[0].get("value"))
    else:
        stated = [_stated(o) for o in rows]
        low = min(lo for lo, _ in stated)
        high = None if any(h is None for _, h in stated) else max(h for _, h in stated if h is not None)
    return Target(name, date(first), date(last), stat, low, high,
                  fitted=any(o.get("role") == "fitted" for o in rows),
                  source="; ".join(dict.fromkeys(str(o["source"]) for o in rows if o.get("source"))),
                  reported=reported,
                  rows=tuple((date(int(o["day"])), str(o.get("kind", ""))) for o in rows),
                  location=str(rows[0].get("loc", rows[0].get("location", ""))))


def targets_for(scenario: Any) -> tuple[Target, ...]:
    """The named checks of `scenario`'s observations (their `check` column), in the order of their
    first rows: rows of one name are one check (`_target`), with their role (`fitted`)."""
    crisis = getattr(scenario, "crisis", None)
    start = getattr(scenario, "start_date", None)
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for o in getattr(crisis, "observations", ()) or ():
        if o.get("check") and o.get("day") is not None:
            groups.setdefault(str(o["check"]), []).append(o)
    return tuple(_target(name, rows, start) for name, rows in groups.items()) if start is not None else ()


def target_days(target: Target, start: Any) -> tuple[int, int]:
    """The first and last day (from `start`) a target reads."""
    d0 = (dt.date.fromisoformat(target.first) - start).days
    d1 = (dt.date.fromisoformat(target.last) - start).days
    return d0, d1


#: Why a check or an observation dated after the run's last day is not compared (a run cut short,
#: `Scenario.with_days`, keeps observations the loader would have left out of a shorter run).
AFTER_THE_RUN = "after the run's last day"


def evaluate_targets(median_camp: np.ndarray, start: Any, targets: Sequence[Target]) -> list[dict[str, Any]]:
    """Each target's (`targets_for`) reduced median value (`median_camp`: the median people at its
    place per day) and whether it lies in its range; `compared` False (value NaN, `ok` None,
    `why` `AFTER_THE_RUN`) for a target whose last day is after the series' last day."""
    rows = []
    for t in targets:
        d0, d1 = target_days(t, start)
        if d1 >= len(median_camp):  # (a run shorter than the observations: nothing to reduce)
            rows.append({"target": t.name, "value": math.nan, "low": t.low, "high": t.high,
                         "ok": None, "fitted": t.fitted, "compared": False, "why": AFTER_THE_RUN})
            continue
        seg = median_camp[d0 : d1 + 1]
        if t.stat == "peak":
            peak = check_peak({"kind": "peak", "day": d1 - d0, "value": t.reported}, seg)
            value, ok = peak.simulated, peak.ok
        else:
            value = float({"value": seg[0] if seg.size else math.nan, "mean": seg.mean(),
                           "max": seg.max()}[t.stat])
            ok = within(value, t.low, t.high)
        rows.append({"target": t.name, "value": value, "low": t.low, "high": t.high,
                     "ok": ok, "fitted": t.fitted, "compared": True, "why": ""})
    return rows



# ---- the observations check: every dated observation, with what it is --------------------------

#: What an observation is to the fit: a target the parameters were fitted to, one the fit did not
#: use (the only real test of the model), or one an event of events.csv makes true by construction
#: (a transfer of everyone from a place leaves 0 there; a flight of 115 flies 115).
FITTED, HELD_OUT, BY_EVENT = "fitted", "held out", "set by an event"
#: Flows reported on a day, and the model's daily flow (`analysis.compare.daily_flows`) each is
#: set against ("inflow": new arrivals at a line that was emptied the evening before).
FLOW_KINDS = {"transfer": "transfer", "outflow": "flight", "inflow": "transfer"}
#: Observations listed but not compared, and why.
NOT_COMPARED = {"subgroup": "a subset of the people there that the model does not single out",
                "flow_per_day": "an average rate over a period, not a dated count"}
#: The tolerance of an approximate count ("~300", "40 moved") without a stated range: ±50 %, as
#: the fit's "~60" on 13 Apr and every reported peak (`analysis.peak.PEAK_TOLERANCE`).
APPROX_TOLERANCE = PEAK_TOLERANCE


def _number(v: Any) -> float | None:
    """A cell as a number; None when empty (NaN or missing)."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _obs_date(o: Mapping[str, Any], start: Any) -> str:
    return str(o.get("date") or (start + dt.timedelta(days=int(o["day"]))).isoformat())


def event_setting(o: Mapping[str, Any], scenario: Any) -> str | None:
    """The event that makes observation `o` true by construction, as "events.csv line 4: ...";
    None when none does. A reported transfer or flight on the day of an event of that kind with
    a stated number of people (the number was taken from the report), or a count of 0 at a place
    on a day a transfer moves everyone from it."""
    crisis = getattr(scenario, "crisis", None)
    if crisis is None:
        return None
    day, kind = int(o["day"]), str(o.get("kind", ""))
    loc = str(o.get("loc", o.get("location", "")))
    zero = (kind in ("point", "range", "lower_bound")
            and (_number(o.get("value")) == 0 or (kind == "range" and _number(o.get("high")) == 0)))
    for e in getattr(crisis, "events", ()):
        d0, d1 = e.days(crisis.parameters)
        if not d0 <= day <= d1 or (e.every_days > 1 and (day - d0) % e.every_days):
            continue
        where = f"{Path(e.path).name or 'events'} line {e.line}"
        if kind == "outflow" and e.kind == "flight" and e.people >= 0:
            return f"{where}: a flight of {e.people}"
        if kind == "transfer" and e.kind == "transfer" and e.people >= 0 and e.origin == loc:
            return f"{where}: a transfer of {e.people} from {loc}"
        if zero and e.kind == "transfer" and e.people < 0 and not e.groups and e.origin == loc:
            return f"{where}: a transfer of everyone from {loc}"
    return None


def observation_role(o: Mapping[str, Any], scenario: Any) -> str:
    """`FITTED`, `BY_EVENT` or `HELD_OUT`: what observation `o` (a row of the scenario's
    observations, or of observations.json) is to the fit. The run page marks its rows with it."""
    if o.get("role") == FITTED:  # (the observations file's `role` column)
        return FITTED
    return BY_EVENT if event_setting(o, scenario) else HELD_OUT


def _reported(o: Mapping[str, Any]) -> str:
    value, low, high = (_number(o.get(k)) for k in ("value", "low", "high"))
    if o.get("kind") in ("range", "qualitative") and low is not None and high is not None:
        return f"{low:g}–{high:g}"
    if o.get("kind") == "lower_bound" and low is not None:
        return f">{low:g}"
    if o.get("kind") == "peak" and value is not None:
        return f"a peak of ~{value:g}"
    if value is not None and low is not None and high is not None:
        return f"{value:g} ({low:g}–{high:g})"
    return "" if value is None else f"{value:g}"


def observation_label(o: Mapping[str, Any], date: str) -> str:
    """An observation as the main job's check names it: "19 Apr: >300 (lower_bound, camp)"."""
    kind, loc = str(o.get("kind", "")), str(o.get("loc", o.get("location", "")))
    return f"{dt.date.fromisoformat(date):%d %b}: {_reported(o)} ({kind}, {loc})".lstrip("0")


def within(value: float, low: float, high: float | None) -> bool:
    """Whether a model figure matches: in [low, high] (None: no upper bound), to rounding."""
    return bool(low - 1e-9 <= value and (high is None or value <= high + 1e-9))


def reported_figure(population: np.ndarray, day: int, kind: str) -> np.ndarray:
    """What the model sets against a dated stock observation of `kind` on `day`: the people there
    that day, or for a `peak` (reported by that day, its own date unstated) the most there up to
    that day (`analysis.peak.simulated_peak`, the reading every check of a peak uses).
    `population`: one place's daily counts, day last (a run's (day,), an ensemble's
    (replica, day)); the result has the other axes (a run: a scalar)."""
    series = np.asarray(population, dtype=np.float64)
    return np.asarray(simulated_peak(series, day)) if kind == "peak" else series[..., day]


def tolerance(o: Mapping[str, Any]) -> tuple[float, float | None] | None:
    """The range (low, high; None: no upper bound) a model figure must lie in to match `o`: its
    stated range (a range, a qualitative report, a point with low and high), at least `low` for a
    lower bound, ±50 % of a peak (`analysis.peak`), else ±50 % of its value (`APPROX_TOLERANCE`:
    "~60" is 30–90, not exactly 60); None when it states no figure.

    >>> tolerance({"kind": "point", "value": 60}), tolerance({"kind": "lower_bound", "low": 300})
    ((30.0, 90.0), (300.0, None))
    """
    value, low, high = (_number(o.get(k)) for k in ("value", "low", "high"))
    kind = o.get("kind")
    if kind == "lower_bound":
        return (low, None) if low is not None else None
    if kind == "peak":
        return peak_bounds(value) if value is not None else None
    if low is not None and high is not None:
        return low, high
    if value is None:
        return None
    return value * (1 - APPROX_TOLERANCE), value * (1 + APPROX_TOLERANCE)


def observation_checks(scenario: Any, camp: np.ndarray, flows: Mapping[str, np.ndarray] | None = None,
                       camp_name: str = CAMP,
                       places: Mapping[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """Every dated observation of the scenario against the median over seeds of the model's
    figure, one row each (the rows of one `check` name: one row, that check's), in date
    order. `camp`: the daily people at `camp_name` per seed (seeds × days); `places`: the same
    of other places (`analysis.compare.Comparison.places`), so that an observation at any of
    them is compared too (a scenario of another crisis observes several places); `flows`: the
    daily flows per seed (`analysis.compare.daily_flows`). Each row: `target` (what is checked),
    `role` (`FITTED`, `HELD_OUT`, `BY_EVENT`), `compared`, `value` (the model's median), `low`,
    `high` (None: no upper bound), `ok`, `why` (the event, or why it is not compared)."""
    start = scenario.start_date
    med = np.median(np.atleast_2d(camp), axis=0)
    at = {str(p): np.median(np.atleast_2d(v), axis=0) for p, v in (places or {}).items()}
    at[camp_name] = med
    flow = {k: np.median(np.atleast_2d(v), axis=0) for k, v in (flows or {}).items()}
    crisis = getattr(scenario, "crisis", None)
    observations = sorted(crisis.observations if crisis is not None else (), key=lambda o: int(o["day"]))
    targets = {t.name: t for t in targets_for(scenario)}
    checked = dict(zip(targets, evaluate_targets(med, start, tuple(targets.values())), strict=True))
    rows: list[dict[str, Any]] = []
    done: dict[str, dict[str, Any]] = {}
    for o in observations:
        date = _obs_date(o, start)
        loc = str(o.get("loc", o.get("location", "")))
        kind = str(o.get("kind", ""))
        line = o.get("line")
        seen = f"{date} {kind} {_reported(o)}".strip()
        target = targets.get(str(o.get("check") or ""))
        if target is not None:
            if target.name in done:
                done[target.name]["observations"].append(seen)
                continue
            r = checked[target.name]
            why = event_setting(o, scenario) or ""
            row = {"target": target.name, "date": date,
                   "location": loc, "kind": kind, "role": FITTED if target.fitted else (BY_EVENT if why else HELD_OUT),
                   "compared": True, "value": float(r["value"]), "low": float(r["low"]),
                   "high": None if r["high"] is None else float(r["high"]),
                   "ok": bool(r["ok"]), "fitted": target.fitted, "why": why, "source": target.source,
                   "observations": [seen]}
            done[target.name] = row
            rows.append(row)
            if not r["compared"]:
                row.update(compared=False, value=None, low=None, high=None, ok=None, why=r["why"])
            elif loc != camp_name:
                row.update(compared=False, value=None, low=None, high=None, ok=None,
                           why=f"the main job keeps the daily people at {camp_name} only")
            continue
        label = observation_label(o, date)
        role = observation_role(o, scenario)
        row = {"target": label, "date": date, "location": loc, "kind": kind, "role": role,
               "compared": False, "value": None, "low": None, "high": None, "ok": None,
               "fitted": role == FITTED, "why": event_setting(o, scenario) or "",
               "source": str(o.get("source", "")), "note": str(o.get("note", "")),
               "observations": [seen], **({"line": line} if line is not None else {})}
        rows.append(row)
        day, tol = int(o["day"]), tolerance(o)
        if kind in NOT_COMPARED:
            row["why"] = NOT_COMPARED[kind]
            continue
        if tol is None or not 0 <= day < med.size:  # (a qualitative report without bounds)
            row["why"] = ("no figure to compare" if tol is None else AFTER_THE_RUN if day >= med.size
                          else "before the run's first day")
            continue
        if kind in FLOW_KINDS:
            series = flow.get(FLOW_KINDS[kind])
            if series is None:
                row["why"] = "the model's daily flows were not kept"
                continue
            if kind == "inflow" and not (loc == camp_name and day > 0 and med[day - 1] == 0
                                         and event_setting({**o, "kind": "point", "value": 0}, scenario)):
                row["why"] = ("the model counts no arrivals at a place; they are the people the daily "
                              "transfer moves only where the line was emptied the evening before")
                continue
            value = float(series[day])
            if kind == "inflow":
                row["why"] = "the people moved from the line that day, all come since the day before"
        elif loc not in at:
            row["why"] = f"the model's daily people at {loc} were not kept (kept: {', '.join(sorted(at))})"
            continue
        else:
            value = float(reported_figure(at[loc], day, kind))
        low, high = tol
        row.update(compared=True, value=value, low=low, high=high, ok=within(value, low, high))
    return sorted(rows, key=lambda r: r["date"])


def checks_summary(rows: list[dict[str, Any]]) -> str:
    """One line on `observation_checks`' rows: how many held-out observations the model matches
    (the real test), then the fitted and event-set ones, and those not compared."""
    def count(role: str) -> tuple[int, int]:
        mine = [r for r in rows if r["compared"] and r["role"] == role]
        return sum(bool(r["ok"]) for r in mine), len(mine)

    (k, n), (kf, nf), (ke, ne) = count(HELD_OUT), count(FITTED), count(BY_EVENT)
    left = sum(not r["compared"] for r in rows)
    return (f"{k} of {n} held-out observations within tolerance (fitted: {kf} of {nf}; set by an "
            f"event: {ke} of {ne}; not compared: {left})")


def bounds_text(low: float, high: float | None) -> str:
    """A check's tolerance as the main job prints it: "≥ 300", "0", "150–450"."""
    return f"≥ {low:g}" if high is None else f"{low:g}" if low == high else f"{low:g}–{high:g}"


def check_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The main job's printed lines of `observation_checks`' rows: `ok`/`MISS` (or `--` for one not
    compared), what the observation is to the fit, the check, and the summary last."""
    out = []
    width = max(len(r) for r in (FITTED, HELD_OUT, BY_EVENT, "not compared"))
    for r in rows:
        if not r["compared"]:
            out.append(f"--   {'not compared':<{width}} baseline vs observation {r['target']}: {r['why']}")
            continue
        mark = "ok  " if r["ok"] else "MISS"
        bounds = bounds_text(r["low"], r["high"])
        why = f"; {r['why']}" if r["why"] else ""
        out.append(f"{mark} {r['role']:<{width}} baseline vs observation {r['target']}: median "
                   f"{r['value']:.0f} (range {bounds}{why})")
    out.append(checks_summary(rows))
    return out


# ---- what a calibration fits: the same checks, by role ------------------------------------------


@dataclass(frozen=True)
class FitCheck:
    """One check calibration's `interval` objective scores: the model's people at `location`,
    reduced over days `first`..`last` by `stat` ("value": the one day; "mean"; "peak": the most
    up to `last`), against [low, high] (None: no upper bound), as the main job checks it (a fit
    target's range, else `tolerance`); `role` is what it is to the fit (`observation_role`)."""

    name: str
    role: str
    location: str
    first: int
    last: int
    stat: str
    low: float
    high: float | None

    def figure(self, series: np.ndarray) -> float:
        """The model's figure from the place's daily people (`series`, one value a day)."""
        seg = np.asarray(series, dtype=np.float64)[self.first : self.last + 1]
        if self.stat == "peak":
            return float(simulated_peak(seg, self.last - self.first))
        return float({"value": seg[0] if seg.size else math.nan, "mean": seg.mean(),
                      "max": seg.max()}[self.stat])

    def text(self) -> str:
        """The check as the terminal and manifest.json name it: "13 Apr: ~60 (±50 %) [30–90]"."""
        return f"{self.name} [{bounds_text(self.low, self.high)}]"


def observation_day(o: Mapping[str, Any], start: Any) -> int | None:
    """The observation's day from the scenario's start (its `day`, else its `date`); None without."""
    if o.get("day") is not None:
        return int(o["day"])
    try:
        return (dt.date.fromisoformat(str(o["date"])) - start).days if o.get("date") else None
    except (TypeError, ValueError):
        return None


def fit_checks(scenario: Any) -> Iterator[FitCheck]:
    """Every observation of `scenario` that counts people at a place (`STOCK_KINDS`) and states a
    figure, as a check with its role: the rows of one `check` name as that check (`targets_for`; one
    check: "8–10 May: 450–480", the mean over the three days, as the main job's check reads them). Flows
    (people moved or flown) and the kinds `NOT_COMPARED` are not checks of people present."""
    crisis = getattr(scenario, "crisis", None)
    start = getattr(scenario, "start_date", None)
    observations = list(getattr(crisis, "observations", ()) or ())
    targets = targets_for(scenario)
    for t in targets:
        d0, d1 = target_days(t, start)
        if t.fitted:
            role = FITTED
        else:  # (as the main job: set by an event when one of its observations is)
            mine = [o for o in observations if o.get("check") == t.name]
            role = BY_EVENT if any(event_setting(o, scenario) for o in mine) else HELD_OUT
        yield FitCheck(t.name, role, t.location, d0, d1, t.stat, float(t.low),
                       None if t.high is None else float(t.high))
    for o in observations:
        kind, day, bounds = str(o.get("kind") or ""), observation_day(o, start), tolerance(o)
        if kind not in STOCK_KINDS or day is None or bounds is None:
            continue
        o = {**o, "day": day}
        date = _obs_date(o, start)
        if o.get("check"):
            continue  # (its check, above)
        loc = str(o.get("loc", o.get("location", "")))
        # (a peak: the most there from the first day to its day, as the main job reads it)
        yield FitCheck(observation_label(o, date), observation_role(o, scenario), loc,
                       0 if kind == "peak" else day, day, "peak" if kind == "peak" else "value",
                       bounds[0], bounds[1])


@dataclass(frozen=True)
class FitSelection:
    """Which checks (`fit_checks`) a calibration scores (`scored`) and which it leaves out, and
    why: `held_out` (not fitted, so that they stay a test of the fit: the main job's check),
    `by_event` (true by construction, whatever the parameters), `outside` (dated outside the
    run's days). `declared`: the scenario says which observations the fit uses (its observations'
    `role` column, `declares_roles`); without, every check not set by an event is scored."""

    scored: tuple[FitCheck, ...]
    held_out: tuple[FitCheck, ...]
    by_event: tuple[FitCheck, ...]
    outside: tuple[FitCheck, ...]
    declared: bool
    include_held_out: bool

    def summary(self) -> dict[str, Any]:
        """What manifest.json records: the checks fitted, those not fitted by why (held out, set by
        an event, outside the run), each by name with its range, and the rule."""
        return {"fitted": [c.text() for c in self.scored],
                "held_out": [c.text() for c in self.held_out],
                "set_by_an_event": [c.text() for c in self.by_event],
                "outside_the_run": [c.text() for c in self.outside],
                "rule": self.rule()}

    def rule(self) -> str:
        """One sentence on which observations are scored and why."""
        if not self.declared:
            return ("the scenario marks no observation held out (its observations have no role "
                    "column): every stock observation not set by an event is fitted")
        if self.include_held_out:
            return ("every stock observation not set by an event, held-out ones included "
                    "(objective interval-all): the main job's held-out check is then in-sample")
        return ("the observations the scenario's fit uses; the held-out ones are not fitted, so "
                "that the main job's check of them stays a test")

    def lines(self, case: str) -> list[str]:
        """What the terminal says before the trials: what is fitted, and what is not and why."""
        def names(checks: tuple[FitCheck, ...]) -> str:
            return "; ".join(c.text() for c in checks)

        n = len(self.scored)
        if not self.declared:
            head = f"fitting all {n} observations (the scenario marks none held out)"
        elif self.include_held_out:
            head = (f"fitting {n} observations, the held-out ones included (--objective interval-all: "
                    "the main job's check of them is no longer a test)")
        else:
            head = f"fitting the {n} observations the scenario's fit uses"
        out = [f"{case}: {head}: {names(self.scored)}"]
        for what, checks in (("held out, not fitted (the main job's check of them stays a test; "
                              "--objective interval-all fits them too)", self.held_out),
                             ("set by an event, not fitted (true whatever the parameters)", self.by_event),
                             ("outside the run, not fitted", self.outside)):
            if checks:
                out.append(f"{case}: {len(checks)} {what}: {names(checks)}")
        return out


def fit_selection(scenario: Any, include_held_out: bool = False) -> FitSelection:
    """The checks calibration scores on `scenario`: those the documented fit uses (role `FITTED`)
    where the scenario declares them, held-out ones too with `include_held_out`; every check not
    set by an event where it declares none. Checks dated outside the run's days are left out."""
    days = getattr(scenario, "days", None)
    declared = declares_roles(scenario)
    groups: dict[str, list[FitCheck]] = {"scored": [], "held_out": [], "by_event": [], "outside": []}
    for c in sorted(fit_checks(scenario), key=lambda c: (c.last, c.first)):
        if c.role == BY_EVENT:
            groups["by_event"].append(c)
        elif c.first < 0 or (days is not None and c.last >= days):
            groups["outside"].append(c)
        elif declared and c.role == HELD_OUT and not include_held_out:
            groups["held_out"].append(c)
        else:
            groups["scored"].append(c)
    return FitSelection(tuple(groups["scored"]), tuple(groups["held_out"]), tuple(groups["by_event"]),
                        tuple(groups["outside"]), declared, include_held_out)


def with_held_out(scenario: Any, names: Sequence[str]) -> tuple[Any, list[str]]:
    """`scenario` with the observations `names` held out (`calibrate --hold-out`), without editing
    its file; and the names that match none of its observations. A name is a check's (the `check`
    column: all its rows) or a date, YYYY-MM-DD (every row of that day, and the rest of any check
    one of them is in). The other rows keep their role; without a `role` column they become fitted
    where a fit can score them (a count of people present stating a figure), so that the fit
    uses every observation but those held out."""
    import dataclasses

    crisis = getattr(scenario, "crisis", None)
    observations = list(getattr(crisis, "observations", ()) or ())
    start = getattr(scenario, "start_date", None)
    wanted = set(names)
    dates = {_obs_date(o, start): o for o in observations} if start is not None else {}
    checks = {str(o["check"]) for o in observations if o.get("check")}
    unknown = [n for n in names if n not in checks and n not in dates]
    held = {i for i, o in enumerate(observations)
            if str(o.get("check") or "") in wanted or (start is not None and _obs_date(o, start) in wanted)}
    held_checks = {str(observations[i]["check"]) for i in held if observations[i].get("check")}
    declared = declares_roles(scenario)

    def role(i: int, o: Mapping[str, Any]) -> str:
        if i in held or str(o.get("check") or "") in held_checks:
            return "held-out"
        if declared:
            return str(o.get("role") or "held-out")
        return "fitted" if o.get("kind") in STOCK_KINDS and tolerance(o) is not None else "held-out"

    if crisis is None:
        return scenario, unknown
    rows = tuple({**o, "role": role(i, o)} for i, o in enumerate(observations))
    return dataclasses.replace(scenario, crisis=dataclasses.replace(crisis, observations=rows)), unknown
