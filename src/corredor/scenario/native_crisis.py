"""The `[crisis]` part of a native scenario -> `model.Crisis`; policy variants of a baseline.

The crisis part names CSV files beside `scenario.toml` (a key may also hold a list of files, read in
order and concatenated, which is how a variant adds events to the baseline's):

    [crisis]
    groups = "groups.csv"          # name,share,nationality,documents,vulnerable,destinations,
                                   # fallback,cash_usd_mean,cash_usd_sd,source
    crossings = "crossings.csv"    # name,from,to,staging,irregular_to,pushback_to,source
    policies = "policies.csv"      # crossing,start,end,status,capacity_per_day,militarisation,
                                   # price_usd,bribe_success,groups,source
    events = "events.csv"          # kind,start,end,every_days,origin,destination,crossing,people,
                                   # fare_usd,groups,source
    departures = "departures.csv"  # origin,start,end,people_per_day,scale,source
    observations = "stranded_observations.csv"  # date,loc,value,low,high,kind,note,source[,role,
                                                 # check] (role: fitted | held-out)
    provided = "provided.csv"      # location,indicator,amount,start,end,source (needs met)
    [crisis.parameters]            # behaviour parameters (see PARAMETERS); unknown keys refused
    [crisis.capacities]            # shelter = places (or "$name"), replacing locations.csv's capacity

Dates are YYYY-MM-DD and become 0-based days from `[scenario] start_date`; `end` is inclusive.
A policy's `militarisation`, `price_usd` or `bribe_success` cell may name a behaviour parameter as
`$name` (kept in `PolicyPeriod.parameters`, the value itself stored as NaN), so a variant or the fit
changes it in one place; an empty `price_usd` / `bribe_success` cell means `$bribe_price_usd` /
`$bribe_success`. A policy's `capacity_per_day` and an event's `people` may too (a whole number;
the row keeps the value read, and `PolicyPeriod.capacity` / `Crisis.schedule` the one in force),
and an event's `fare_usd` (a number ≥ 0, resolved by `Crisis.schedule` likewise). A parameter that only such references (or a departures `scale`) use must still be
given a value in `[crisis.parameters]`.
A `start` or `end` cell of policies, events or departures may name a *date parameter* as `$name`, `$name+N` or `$name-N`
(N days after or before it): its value in `[crisis.parameters]` is a date (`peru_block =
2023-04-13`), kept in `Crisis.parameters` as days since the start date, so a variant, `--set` or
`--sweep crisis.peru_block=2023-04-06,2023-04-20` moves a closure and the rows around it together.
A row whose days a date parameter moves may be empty for some values: it then has no effect.
An events row is one `Event`; `Crisis.schedule(days)` makes a transfer's or flight's days.
A `groups` cell lists group names separated by ';' (empty = everyone); `destinations` is
`place=probability;place=probability`. Every file may carry an HXL hashtag row under its header.

A variant is a TOML file with a `[variant]` table (`base` = the baseline folder, relative to the
file) and a `[crisis]` table that is merged key by key over the baseline's: a file key replaces the
baseline's file list, `[crisis.parameters]` and `[crisis.capacities]` entries replace single ones. Paths in a variant
are relative to the variant file. See `load_variant`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .csvread import Row, Table, file_problem, parse_date_text, read_table, read_text
from .model import MAX_DAYS, Crisis, Crossing, Event, Group, PolicyPeriod, Scenario, resolved_days
from .problems import Problem, Problems, ScenarioError, shown
from .settings import suggest
from .tomlread import loads_toml

#: Behaviour parameters of the crisis rules, with defaults (units in the name or the comment).
PARAMETERS: dict[str, float] = {
    "speed_km_per_day": 600.0,  # overland travel per day (bus)
    "give_up_base": 0.02,  # daily give-up hazard rate on the first day of waiting
    "give_up_per_day": 0.005,  # added to the hazard rate per day already waited
    "shelter_give_up_factor": 0.5,  # hazard multiplier for people in a shelter
    "irregular_try": 0.1,  # daily probability that a stranded person tries the irregular path
    "irregular_success": 0.5,  # success of an irregular attempt at militarisation 0
    "pushback_factor": 1.0,  # P(pushback | failed irregular attempt) = factor × militarisation
    "bribe_price_usd": 0.0,  # price used where a policy row leaves price_usd empty
    "bribe_success": 0.5,  # success of a paid attempt where a policy row leaves it empty
    "route_usd_km": 1.0,  # route cost: km-equivalent of one USD of fare or price
    "route_risk_km": 500.0,  # route cost: km-equivalent of risk 1.0
    "route_blocked_km": 300.0,  # route cost of a crossing the group cannot pass regularly
    "route_temperature_km": 25.0,  # spread of the logit choice among alternatives
}

FILE_KEYS = ("groups", "crossings", "policies", "events", "departures", "observations", "provided")
REQUIRED_FILE_KEYS = ("groups", "departures")
POLICY_STATUSES = ("open", "documents", "closed")
EVENT_KINDS = ("transfer", "flight", "admission", "corridor")
#: What an observation is to the fit (the observations' `role` column; docs/scenario-format.md).
OBSERVATION_ROLES = ("fitted", "held-out")
OBSERVATION_KINDS = (
    "point",
    "range",
    "lower_bound",
    "peak",
    "qualitative",
    "subgroup",
    "transfer",
    "outflow",
    "inflow",
    "flow_per_day",
)

#: (lowest, highest or None, lowest excluded) of a parameter; any other is a number ≥ 0.
#: Probabilities stay within [0, 1]; a speed or a logit's temperature of 0 would stop everyone
#: or divide by zero. (Give-up rates are hazards, 1 − exp(−rate) a day: any rate ≥ 0 is one.)
PARAMETER_BOUNDS: dict[str, tuple[float, float | None, bool]] = {
    "irregular_try": (0.0, 1.0, False),
    "irregular_success": (0.0, 1.0, False),
    "bribe_success": (0.0, 1.0, False),
    "speed_km_per_day": (0.0, None, True),
    "route_temperature_km": (0.0, None, True),
}

#: Policy columns whose value is a probability: a parameter named there as `$name` is at most 1.
PROBABILITY_COLUMNS = ("militarisation", "bribe_success")

#: Columns (policies, events, departures) whose `$name` is a date parameter; and a cell naming one:
#: `$name`, `$name+N`, `$name-N`.
DATE_COLUMNS = ("start", "end")
#: Number columns whose cell may be `$name` (a number parameter), by file key; a count of people
#: (`capacity_per_day`, `people`) takes a whole-number parameter.
NUMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "policies": ("capacity_per_day", "militarisation", "price_usd", "bribe_success"),
    "events": ("people", "fare_usd"),
}
#: Where `$name` may be written, as an error that refuses it elsewhere says.
PARAMETER_PLACES = ("policies' start, end, capacity_per_day, militarisation, price_usd and bribe_success; "
                    "events' start, end, people and fare_usd; departures' start and end (its scale names a parameter "
                    "without $); [crisis.capacities] values")
_DATE_REF = re.compile(r"\$\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-])\s*(\d{1,5}))?")


def _is_iso_date(text: str) -> bool:
    """True for text that is a calendar date written YYYY-MM-DD."""
    try:
        return len(text) == 10 and dt.date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def date_parameter_problem(key: str, value: Any, start_date: dt.date | None) -> str | None:
    """Why `value` cannot be date parameter `key` (None when it can): a date YYYY-MM-DD within
    100 years of the start date. Shared by the scenario reader and `--set`/`--sweep`."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        # (a quoted date is text in TOML; "expected YYYY-MM-DD, found '2023-04-20'" puzzled a user)
        text = value.strip() if isinstance(value, str) else ""
        quoted = _is_iso_date(text)
        hint = f" (a date is written without quotes: {key} = {text})" if quoted else ""
        return (f"crisis parameter '{key}': expected a date YYYY-MM-DD (a start or end cell is "
                f"${key}), found {'the text ' if quoted else ''}{shown(value)}{hint}")
    if start_date is not None and abs((value - start_date).days) > MAX_DAYS:
        return (f"crisis parameter '{key}': expected a date within 100 years of the start date "
                f"{start_date}, found {value}")
    return None


def parameter_problem(key: str, value: Any, probability: bool = False, count: int | None = None) -> str | None:
    """Why `value` cannot be crisis parameter `key` (None when it can): a finite number within
    PARAMETER_BOUNDS, ≥ 0 otherwise, at most 1 where a policy uses it as a probability
    (`probability`), and a whole number at least `count` where a table uses it as a count of people
    (`count_parameters`). Shared by the scenario reader and `--set`/`--sweep`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"crisis parameter '{key}': expected a number, found {shown(value)}"
    lo, hi, positive = PARAMETER_BOUNDS.get(key, (0.0, 1.0 if probability else None, False))
    if value < lo or (positive and value == lo) or (hi is not None and value > hi):
        rng = f"between {lo:g} and {hi:g}" if hi is not None else f"{'>' if positive else '≥'} {lo:g}"
        why = " (a policy uses it as a probability)" if probability and key not in PARAMETER_BOUNDS else ""
        return f"crisis parameter '{key}': expected a number {rng}{why}, found {shown(value)}"
    if count is not None and (value != int(value) or value < count or abs(value) > MAX_NUMBER):
        return (f"crisis parameter '{key}': expected a whole number of at least {count} (a table uses it "
                f"as a number of people), found {shown(value)}")
    return None


def probability_parameters(crisis: Crisis) -> set[str]:
    """Parameters that some policy row names as `$name` in a probability column."""
    return {ref for pol in crisis.policies for col, ref in pol.parameters.items() if col in PROBABILITY_COLUMNS}


def count_parameters(crisis: Crisis) -> dict[str, int]:
    """Parameters that a table uses as a number of people, with the least each may be: a policy's
    `capacity_per_day` and a `[crisis.capacities]` value (0), an event's `people` (1)."""
    out = {ref: 0 for pol in crisis.policies for col, ref in pol.parameters.items() if col == "capacity_per_day"}
    out |= {ref: 0 for ref in crisis.capacities.values() if isinstance(ref, str)}
    for ev in crisis.events:
        if "people" in ev.parameters:
            out[ev.parameters["people"]] = max(out.get(ev.parameters["people"], 1), 1)
    return out


#: What 0 means for a parameter whose 0 is not the low end of its scale but "none": an informal
#: price of 0 is "none demanded", i.e. no paid passage at all (people then wait or try the
#: irregular path, as at a very high price), not free passage. A policy column whose 0 means so.
ZERO_MEANS_NONE: dict[str, str] = {"price_usd": "no paid passage"}


def zero_meaning(crisis: Crisis | None, name: str, value: Any) -> str | None:
    """What `value` of crisis parameter `name` means where it is 0 and 0 means "none"
    (ZERO_MEANS_NONE): `bribe_price_usd` (the price where a policy row leaves `price_usd` empty)
    and any parameter a policy row names as `$name` in `price_usd`; None otherwise. Why: a sweep
    point named `bribe_price_usd=0` read as the cheapest point of a price gradient, and its
    figures (more people stranded than at 1 USD) as a U-shape.

    >>> zero_meaning(None, "bribe_price_usd", 0.0), zero_meaning(None, "bribe_price_usd", 55)
    ('no paid passage', None)
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or value != 0:
        return None
    column = "price_usd" if name == "bribe_price_usd" else next(
        (col for pol in (crisis.policies if crisis is not None else ()) for col, ref in pol.parameters.items()
         if ref == name and col in ZERO_MEANS_NONE), None)
    return ZERO_MEANS_NONE.get(column) if column is not None else None


#: Largest magnitude a number in the crisis tables may have: counts become int64 and are summed over
#: days × places, and no count of people, dollars or kilometres in a scenario comes near it.
MAX_NUMBER = 1e12
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}


class _Reader:
    """Reads one crisis table; every fault goes to `problems` with the file, line and column."""

    def __init__(
        self,
        folder: Path,
        problems: Problems,
        location_names: set[str],
        start_date: dt.date | None,
        toml_path: Path,
    ) -> None:
        self.folder = folder
        self.problems = problems
        self.names = location_names
        self.start = start_date
        self.toml_path = toml_path
        self._toml_lines: list[str] | None = None
        self.parameter_names: set[str] = set(PARAMETERS)
        self.parameter_values: dict[str, float] = dict(PARAMETERS)
        self.date_names: set[str] = set()  # date parameters (named as $name in start/end cells)
        self.refused: set[str] = set()  # [crisis.parameters] keys whose value is refused (said there)
        self.routes: set[frozenset[str]] | None = None  # place pairs of routes.csv, when known
        self.days: int | None = None  # the run's length, when known
        self.fallback_cells: dict[str, tuple[Path, int, int]] = {}  # group -> its fallback cell
        self.misspelt: dict[str, str] = {}  # a name tables use but nothing defines -> the near key

    # ---- helpers ---------------------------------------------------------------------------
    def toml_position(self, key: str) -> tuple[int, int]:
        """Best-effort (line, column) of `key = ...` (or of a `[table]` header given as such) in
        the TOML file (tomllib keeps no positions); else of the [crisis] table, else the line
        after the last one: never (0, 0), so every problem has a place."""
        from .native import toml_place

        if self._toml_lines is None:
            try:
                self._toml_lines = self.toml_path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self._toml_lines = []
        for i, text in enumerate(self._toml_lines, start=1):
            body = text.strip()
            if body.startswith(f"{key} ") or body.startswith(f"{key}=") or body == key:
                return i, text.index(key) + 1
        return toml_place("\n".join(self._toml_lines), "crisis")

    def toml_error(self, key: str, message: str) -> None:
        self.problems.error(self.toml_path, *self.toml_position(key), message)

    def hint(self, ref: str, choices: set[str]) -> str:
        """' (did you mean X?)' for a parameter name a cell uses: the near key of [crisis.parameters]
        found for it (`misspelt`), else the nearest of `choices`, else ''."""
        return f" (did you mean '{self.misspelt[ref]}'?)" if ref in self.misspelt else suggest(ref, choices)

    def tables(self, key: str, spec: Any, what: str, min_cells: int = 2) -> list[tuple[Table, dict[str, int]]]:
        """Each file of a file key, read, with its header's column positions."""
        files = spec if isinstance(spec, list) else [spec]
        out = []
        seen: set[Path] = set()
        for f in files:
            if not isinstance(f, str) or not f:
                self.toml_error(key, f"crisis.{key}: expected a file name or a list of file names, found {shown(f)}")
                continue
            path = (self.folder / f) if not Path(f).is_absolute() else Path(f)
            same = Path(os.path.normpath(os.path.abspath(path)))
            if same in seen:  # (its rows would count twice: every event twice, every policy...)
                self.toml_error(key, f"crisis.{key}: {f} is listed twice")
                continue
            seen.add(same)
            table = read_table(path, self.problems, what, min_cells=min_cells)
            if table is None:
                continue
            rows = [r for r in table.rows if not r.is_blank]
            header = [c.strip().lower() for c in rows[0].cells]
            out.append((table, {name: i for i, name in enumerate(header)}))
        return out

    def data_rows(self, table: Table) -> list[Row]:
        """Rows after the header, skipping blank rows and comments (the HXL row is one). A row
        with a filled cell beyond the header's columns is an error there: a stray comma in a
        cell shifts every cell after it, which would otherwise be read silently."""
        rows = [r for r in table.rows if not r.is_blank]
        width = len(rows[0].cells)
        out = []
        for r in rows[1:]:
            if r.cells and r.cells[0].startswith("#"):
                continue
            extra = [k for k in range(width, len(r.cells)) if r.cells[k]]
            if extra:
                self.problems.error(table.path, r.line, extra[0] + 1,
                                    f"{len(r.cells)} cells, more than the header's {width} columns "
                                    "(a comma inside a cell needs quotes)")
            out.append(r)
        return out

    def need_columns(self, table: Table, cols: dict[str, int], names: tuple[str, ...]) -> bool:
        missing = [n for n in names if n not in cols]
        if missing:
            header_line = next(r.line for r in table.rows if not r.is_blank)
            self.problems.error(
                table.path,
                header_line,
                1,
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(expected {', '.join(names)})",
            )
            return False
        return True

    def cell(self, row: Row, cols: dict[str, int], name: str) -> str:
        return row.get(cols[name]) if name in cols else ""

    def err(self, table: Table, row: Row, cols: dict[str, int], name: str, message: str) -> None:
        self.problems.error(table.path, row.line, cols.get(name, -1) + 1, message)

    def number(self, table: Table, row: Row, cols: dict[str, int], name: str, default: float | None,
               lo: float | None = None, hi: float | None = None, whole: bool = False) -> float | None:
        text = self.cell(row, cols, name)
        if text == "":
            if default is None:
                self.err(table, row, cols, name, f"missing {name} (expected a number)")
            return default
        try:
            value = float(text)
        except ValueError:
            if text.startswith("$"):  # (a parameter where none is read: say where one is)
                self.err(table, row, cols, name, f"bad {name} (expected a number, found {shown(text)}): "
                                                 f"{name} cannot name a parameter; $name is allowed in "
                                                 f"{PARAMETER_PLACES}")
                return None
            self.err(table, row, cols, name, f"bad {name} (expected a number, found {shown(text)})")
            return None
        if not math.isfinite(value):
            self.err(table, row, cols, name, f"bad {name} (expected a finite number, found {shown(text)})")
            return None
        if abs(value) > MAX_NUMBER:  # counts become int64 and days × places arrays hold them
            self.err(table, row, cols, name,
                     f"bad {name} (expected a number of size at most {MAX_NUMBER:g}, found {shown(text)})")
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
            self.err(table, row, cols, name, f"bad {name} (expected {rng}, found {shown(text)})")
            return None
        if whole and value != int(value):  # (a count of people or of days: no silent rounding)
            self.err(table, row, cols, name, f"bad {name} (expected a whole number, found {shown(text)})")
            return None
        return value

    def day(self, table: Table, row: Row, cols: dict[str, int], name: str, default: int | None = None) -> int | None:
        text = self.cell(row, cols, name)
        if text == "" and default is not None:
            return default
        date = parse_date_text(text) if text else None
        if date is None:
            found = f"found {shown(text)}" if text else "found nothing"
            self.err(table, row, cols, name, f"bad {name} (expected a date YYYY-MM-DD, {found})")
            return None
        if self.start is None:
            return None
        return (date - self.start).days

    def dated_day(self, table: Table, row: Row, cols: dict[str, int], name: str) -> tuple[int | None, str]:
        """A start or end cell (policies, events, departures): (day, "") for a date, (days added,
        parameter) for `$name±N`."""
        text = self.cell(row, cols, name)
        if not text.startswith("$"):
            return self.day(table, row, cols, name), ""
        m = _DATE_REF.fullmatch(text)
        if m is None:
            self.err(table, row, cols, name, f"bad {name} (expected a date YYYY-MM-DD, or a date "
                                             f"parameter as $name, $name+N or $name-N with N a whole number of days below "
                                             f"100,000, found {shown(text)})")
            return None, ""
        ref, sign, n = m.group(1), m.group(2), int(m.group(3) or 0)
        if ref not in self.date_names:
            what = ("a number, not a date" if ref in self.parameter_names else
                    f"unknown{suggest(ref, self.date_names)}")
            self.err(table, row, cols, name, f"parameter {ref!r} in {name} is {what} (expected a key of "
                                             "[crisis.parameters] whose value is a date YYYY-MM-DD)")
            return None, ""
        if ref not in self.parameter_names and ref not in self.refused:  # (a misspelt name, say)
            self.err(table, row, cols, name, f"date parameter {ref!r} in {name} has no value (expected "
                                             f"{ref} = YYYY-MM-DD in [crisis.parameters])"
                                             f"{self.hint(ref, self.date_names & self.parameter_names)}")
            return None, ""
        return (-n if sign == "-" else n), ref

    def number_ref(self, table: Table, row: Row, cols: dict[str, int], name: str, hi: float | None = None,
                   count: int | None = None) -> str:
        """The parameter a `$name` number cell names, its value checked (at most `hi`; a whole
        number at least `count` for a count of people); "" with an error when it cannot be one."""
        ref = self.cell(row, cols, name)[1:].strip()
        value = self.parameter_values.get(ref)
        if ref in self.date_names:
            self.err(table, row, cols, name, f"parameter {ref!r} in {name} is a date (expected a number parameter)")
        elif ref not in self.parameter_names and ref not in self.refused:
            self.err(table, row, cols, name,
                     f"unknown parameter {ref!r} in {name} (expected a key of "
                     f"[crisis.parameters]){self.hint(ref, self.parameter_names - self.date_names)}")
        elif value is None:  # (refused in [crisis.parameters], and said there)
            return ""
        elif hi is not None and value > hi:
            self.err(table, row, cols, name, f"bad {name}: parameter {ref!r} is {value:g} (expected between 0 and {hi:g})")
        elif count is not None and (value != int(value) or value < count):
            self.err(table, row, cols, name, f"bad {name}: parameter {ref!r} is {value:g} (expected a whole "
                                             f"number of at least {count})")
        else:
            return ref
        return ""

    def row_days(self, table: Table, row: Row, cols: dict[str, int], end_default_start: bool = False,
                 ) -> tuple[int | None, int | None, dict[str, str]]:
        """A row's start and end cells (`dated_day`) and the date parameters they follow
        ({"start": name, "end": name}); an empty end is the start when `end_default_start`."""
        start, start_ref = self.dated_day(table, row, cols, "start")
        if end_default_start and self.cell(row, cols, "end") == "":
            end, end_ref = start, start_ref
        else:
            end, end_ref = self.dated_day(table, row, cols, "end")
        return start, end, {k: v for k, v in (("start", start_ref), ("end", end_ref)) if v}

    def place(self, table: Table, row: Row, cols: dict[str, int], name: str, required: bool = True) -> str:
        text = self.cell(row, cols, name)
        if text == "":
            if required:
                self.err(table, row, cols, name, f"missing {name} (expected a location name)")
            return ""
        if self.names and text not in self.names:
            self.err(table, row, cols, name,
                     f"unknown location {text!r} in {name}{suggest(text, self.names)}")
        return text

    def flag(self, table: Table, row: Row, cols: dict[str, int], name: str) -> bool:
        text = self.cell(row, cols, name).lower()
        if text in _TRUE:
            return True
        if text not in _FALSE:
            self.err(table, row, cols, name, f"bad {name} (expected yes/no or 1/0, found {shown(text)})")
        return False

    def group_list(self, table: Table, row: Row, cols: dict[str, int], known: set[str]) -> tuple[str, ...]:
        text = self.cell(row, cols, "groups")
        out = tuple(g.strip() for g in text.split(";") if g.strip())
        for g in out:
            if known and g not in known:
                self.err(table, row, cols, "groups", f"unknown group {g!r}{suggest(g, known)}")
        return out

    def need_route(self, table: Table, row: Row, cols: dict[str, int], name: str, a: str, b: str,
                   what: str) -> None:
        """An error at the cell `name` unless routes.csv links a and b (when routes are known)."""
        if self.routes is not None and frozenset((a, b)) not in self.routes:
            self.err(table, row, cols, name, f"{what}: no route between {a!r} and {b!r} in the routes table")

    def outside(self, table: Table, row: Row, cols: dict[str, int], start: int, end: int,
                name: str = "start") -> bool:
        """True, with a warning at the cell `name`, when days start..end all fall outside the run."""
        if self.days is None or (end >= 0 and start < self.days):
            return False
        self.problems.warn(table.path, row.line, cols.get(name, -1) + 1,
                           f"dated outside the run's {self.days} days from {self.start}: it has no effect")
        return True

    # ---- the tables ------------------------------------------------------------------------
    def groups(self, spec: Any) -> tuple[Group, ...]:
        cols_needed = ("name", "share", "destinations", "fallback")
        out: list[Group] = []
        share_at: tuple[Any, int, int] = ("", 0, 0)  # the last file's `share` heading
        share_refused = False  # a share cell was an error: its sum would count it as 0
        errors_before = len(self.problems.errors)
        for table, cols in self.tables("groups", spec, "a groups table"):
            if not self.need_columns(table, cols, cols_needed):
                continue
            share_at = (table.path, next(r.line for r in table.rows if not r.is_blank), cols["share"] + 1)
            for row in self.data_rows(table):
                name = self.cell(row, cols, "name")
                if not name:
                    self.err(table, row, cols, "name", "missing group name")
                    continue
                if any(g.name == name for g in out):
                    self.err(table, row, cols, "name", f"duplicate group {name!r}")
                share = self.number(table, row, cols, "share", None, 0.0, 1.0)
                share_refused |= share is None
                dests = self.destinations(table, row, cols)
                fallback = self.place(table, row, cols, "fallback")
                self.fallback_cells[name] = (table.path, row.line, cols.get("fallback", -1) + 1)
                mean = self.number(table, row, cols, "cash_usd_mean", 0.0, 0.0)
                sd = self.number(table, row, cols, "cash_usd_sd", 0.0, 0.0)
                out.append(Group(
                    name=name, share=share or 0.0,
                    nationality=self.cell(row, cols, "nationality"),
                    documents=self.flag(table, row, cols, "documents"),
                    vulnerable=self.flag(table, row, cols, "vulnerable"),
                    destinations=dests, fallback=fallback,
                    cash_usd_mean=mean or 0.0, cash_usd_sd=sd or 0.0,
                    source=self.cell(row, cols, "source"), line=row.line, path=str(table.path),
                ))
        total = sum(g.share for g in out)
        if out and not share_refused and abs(total - 1.0) > 1e-6:  # (every file of a list: one table)
            self.problems.error(*share_at, f"group shares add up to {total:g} (expected 1: the column's "
                                           "shares of the people leaving)")
        if not out and len(self.problems.errors) == errors_before:  # (else an error said why)
            self.toml_error("groups", "crisis: no groups defined (expected at least one row in the groups table)")
        return tuple(out)

    def fallbacks_off_the_line(self, groups: tuple[Group, ...], crossings: tuple[Crossing, ...]) -> None:
        """Warn of a group whose fallback is a crossing's staging place or far side: who gives up
        would stay where they waited, uncounted, or join the queue they gave up on. (The staging
        place is the crossing's `from`, which a `staging` cell that differs is refused for: a wrong
        one is not also an end here.)"""
        ends = ({c.a: (c.name, "the staging place", f"stay at {c.a!r}, where they waited, no longer counted "
                                                      "as stranded") for c in crossings if c.a}
                | {c.b: (c.name, "the far side", f"head through it to {c.b!r}, joining the queue they gave "
                                                 "up on") for c in crossings if c.b})
        for g in groups:
            if g.fallback in ends and g.name in self.fallback_cells:
                name, end, then = ends[g.fallback]
                self.problems.warn(*self.fallback_cells[g.name],
                                   f"group {g.name}'s fallback {g.fallback!r} is {end} of crossing {name}: "
                                   f"people who give up at it would {then} (expected a place away from the "
                                   "crossings, such as where they came from)")

    def destinations(self, table: Table, row: Row, cols: dict[str, int]) -> dict[str, float]:
        text = self.cell(row, cols, "destinations")
        out: dict[str, float] = {}
        for part in (p.strip() for p in text.split(";") if p.strip()):
            place, _, prob = part.partition("=")
            place = place.strip()
            try:
                p = float(prob) if prob.strip() else 1.0
            except ValueError:
                self.err(table, row, cols, "destinations", f"bad destination probability {prob!r} (expected place=number)")
                continue
            if not 0.0 <= p <= 1.0:  # (NaN fails too)
                self.err(table, row, cols, "destinations",
                         f"bad destination probability {prob.strip()!r} for {place!r} (expected a number between 0 and 1)")
                continue
            if self.names and place not in self.names:
                self.err(table, row, cols, "destinations",
                         f"unknown location {place!r} in destinations{suggest(place, self.names)}")
            out[place] = out.get(place, 0.0) + p
        if not out:
            self.err(table, row, cols, "destinations", "missing destinations (expected place=probability;...)")
        elif abs(sum(out.values()) - 1.0) > 1e-6:
            self.err(table, row, cols, "destinations",
                     f"destination probabilities add up to {sum(out.values()):g} (expected 1)")
        return out

    def crossings(self, spec: Any) -> tuple[Crossing, ...]:
        out: list[Crossing] = []
        for table, cols in self.tables("crossings", spec, "a crossings table"):
            if not self.need_columns(table, cols, ("name", "from", "to", "staging")):
                continue
            for row in self.data_rows(table):
                name = self.cell(row, cols, "name")
                if not name:
                    self.err(table, row, cols, "name", "missing crossing name")
                    continue
                if any(c.name == name for c in out):
                    self.err(table, row, cols, "name", f"duplicate crossing {name!r}")
                a = self.place(table, row, cols, "from")
                b = self.place(table, row, cols, "to")
                if a and a == b:
                    self.err(table, row, cols, "to", f"a crossing goes from one place to another (found {a!r} twice)")
                elif a in self.names and b in self.names:
                    self.need_route(table, row, cols, "to", a, b, f"crossing {name}")
                staging = self.place(table, row, cols, "staging")
                if staging and a and staging != a:
                    self.err(table, row, cols, "staging",
                             f"staging {staging!r} must be the crossing's 'from' place {a!r} "
                             "(people wait where the crossing starts)")
                irregular_to = self.place(table, row, cols, "irregular_to", required=False)
                if irregular_to in self.names and a in self.names:
                    self.need_route(table, row, cols, "irregular_to", a, irregular_to,
                                    f"crossing {name}'s irregular path")
                out.append(Crossing(
                    name=name, a=a, b=b, staging=staging, line=row.line,
                    irregular_to=irregular_to,
                    pushback_to=self.place(table, row, cols, "pushback_to", required=False),
                    source=self.cell(row, cols, "source"), path=str(table.path),
                ))
        return tuple(out)

    def policies(self, spec: Any, crossings: set[str], groups: set[str]) -> tuple[PolicyPeriod, ...]:
        out: list[PolicyPeriod] = []
        for table, cols in self.tables("policies", spec, "a policies table"):
            if not self.need_columns(table, cols, ("crossing", "start", "end", "status")):
                continue
            dated: list[PolicyPeriod] = []  # (rows whose days are known: the ones to compare)
            complete = True  # (whether every row's days are known: else gaps are not known)
            for row in self.data_rows(table):
                crossing = self.cell(row, cols, "crossing")
                if crossing not in crossings:
                    self.err(table, row, cols, "crossing", f"unknown crossing {crossing!r}{suggest(crossing, crossings)}")
                start, end, refs = self.row_days(table, row, cols)
                # (the days with the date parameters' values, for the overlap and gap checks below)
                verdict, span = ("unknown", None) if start is None or end is None or self.start is None else (
                    self.check_days(table, row, cols, start, end, refs))
                status = self.cell(row, cols, "status").lower()
                if status not in POLICY_STATUSES:
                    self.err(table, row, cols, "status",
                             f"bad status {status!r} (expected one of {', '.join(POLICY_STATUSES)})")
                cap: float | None
                if self.cell(row, cols, "capacity_per_day").startswith("$"):  # (its value now, kept too)
                    ref = self.number_ref(table, row, cols, "capacity_per_day", count=0)
                    refs |= {"capacity_per_day": ref} if ref else {}
                    cap = self.parameter_values[ref] if ref else None
                else:
                    cap = self.number(table, row, cols, "capacity_per_day", -1.0, -1.0, whole=True)
                values: dict[str, float | None] = {}
                for name, default, hi in (("militarisation", 0.0, 1.0), ("price_usd", math.nan, None),
                                          ("bribe_success", math.nan, 1.0)):
                    text = self.cell(row, cols, name)
                    if text.startswith("$"):
                        ref = self.number_ref(table, row, cols, name, hi)
                        refs |= {name: ref} if ref else {}
                        values[name] = math.nan
                    else:
                        values[name] = self.number(table, row, cols, name, default, 0.0, hi)
                mil, price, bribe = values["militarisation"], values["price_usd"], values["bribe_success"]
                out.append(period := PolicyPeriod(
                    crossing=crossing, start=start or 0, end=end or 0, status=status,
                    capacity_per_day=int(cap) if cap is not None else -1,
                    militarisation=mil if mil is not None else 0.0,
                    price_usd=price if price is not None else math.nan,
                    bribe_success=bribe if bribe is not None else math.nan,
                    groups=self.group_list(table, row, cols, groups),
                    source=self.cell(row, cols, "source"), line=row.line,
                    parameters=refs, path=str(table.path),
                ))
                if span is not None and verdict in ("ok", "outside"):
                    dated.append(replace(period, start=span[0], end=span[1], parameters={}))
                elif verdict in ("unknown", "unvalued"):
                    complete = False
            self.overlaps_in(table, cols, dated)
            if complete:
                self.gaps_in(table, cols, dated)
        return tuple(out)

    def check_days(self, table: Table, row: Row, cols: dict[str, int], start: int, end: int,
                   refs: dict[str, str]) -> tuple[str, tuple[int, int] | None]:
        """A row's verdict and its (first, last) day, date parameters `refs` at their values:
        "ok"; "reversed" (end before start with fixed dates: an error); "unvalued" (a date
        parameter without a value: its error is reported elsewhere; no days); "emptied" (a date
        parameter's value reverses them) or "outside" (all outside the run), both warned of. A row
        with date parameters is kept whatever its days now: another value (`--sweep`) may bring
        it into the run."""
        if any(ref not in self.parameter_values for ref in refs.values()):
            return "unvalued", None
        first, last = resolved_days(start, end, refs, self.parameter_values)
        if last < first and not refs:
            self.err(table, row, cols, "end", "end is before start")
            return "reversed", (first, last)
        if last < first:
            self.problems.warn(table.path, row.line, cols.get("end", -1) + 1,
                               f"end is before start with {self.dated_refs(refs)}: the row "
                               "has no effect (a date parameter may empty it on purpose)")
            return "emptied", (first, last)
        return ("outside" if self.outside(table, row, cols, first, last) else "ok"), (first, last)

    def dated_refs(self, refs: dict[str, str]) -> str:
        """The date parameters of a row with their values: "peru_block = 2023-04-13"."""
        start = self.start or dt.date.min
        return ", ".join(f"{ref} = {start + dt.timedelta(days=int(self.parameter_values[ref]))}"
                         for ref in dict.fromkeys(refs.values()))

    def gaps_in(self, table: Table, cols: dict[str, int], rows: list[PolicyPeriod]) -> None:
        """Warn of days between a crossing's first and last row (in one file) that no row covers."""
        for line, message in policy_gaps(rows, self.start):
            self.problems.warn(table.path, line, cols.get("start", -1) + 1, message)

    def span(self, d0: int, d1: int) -> str:
        """Days d0..d1 as dates (days where the start date is unknown)."""
        return _span(d0, d1, self.start)

    def overlaps_in(self, table: Table, cols: dict[str, int], mine: list[PolicyPeriod]) -> None:
        """Warn of two rows of one policies file that set the same crossing for the same group on
        the same day."""
        for line, message in policy_overlaps(mine, self.start):
            self.problems.warn(table.path, line, cols.get("start", -1) + 1, message)

    def events(self, spec: Any, crossings: set[str], groups: set[str]) -> tuple[Event, ...]:
        out: list[Event] = []
        origin_col: dict[str, int] = {}  # file -> its origin column (1-based), for `event_order`
        for table, cols in self.tables("events", spec, "an events table"):
            if not self.need_columns(table, cols, ("kind", "start", "people")):
                continue
            origin_col[str(table.path)] = cols.get("origin", -1) + 1
            if "price_usd" in cols:  # (routes' and policies' price column: here it would charge nobody)
                header_line = next(r.line for r in table.rows if not r.is_blank)
                self.problems.warn(table.path, header_line, cols["price_usd"] + 1,
                                   "price_usd is not read in an events table: an event's fare is the "
                                   "column fare_usd")
            for row in self.data_rows(table):
                kind = self.cell(row, cols, "kind").lower()
                if kind not in EVENT_KINDS:
                    self.err(table, row, cols, "kind",
                             f"bad kind {kind!r} (expected one of {', '.join(EVENT_KINDS)})")
                    continue
                start, end, refs = self.row_days(table, row, cols, end_default_start=True)
                every = self.number(table, row, cols, "every_days", 0.0, 0.0, whole=True)
                people_text = self.cell(row, cols, "people").lower()
                size_ref = ""
                if people_text == "all":
                    people: float | None = -1.0
                elif people_text.startswith("$"):  # (its value now, kept; `schedule` reads the parameter)
                    size_ref = self.number_ref(table, row, cols, "people", count=1)
                    people = self.parameter_values[size_ref] if size_ref else None
                else:  # (no event moves nobody; 'all' is the admission or transfer without a limit)
                    people = self.number(table, row, cols, "people", None, 1.0, whole=True)
                fare, fare_ref = self.fare(table, row, cols, kind)
                crossing = ""
                origin = destination = ""
                if kind == "admission":
                    crossing = self.cell(row, cols, "crossing")
                    if not crossing:
                        known = f" (expected one of {', '.join(sorted(crossings))})" if crossings else ""
                        self.err(table, row, cols, "crossing", f"missing crossing: an admission needs a crossing{known}")
                    elif crossing not in crossings:
                        self.err(table, row, cols, "crossing",
                                 f"unknown crossing {crossing!r}{suggest(crossing, crossings)}")
                else:
                    if self.cell(row, cols, "crossing"):  # (read for admissions only: say so)
                        self.problems.warn(table.path, row.line, cols["crossing"] + 1,
                                           f"crossing is ignored for a {kind}: it goes from its origin to its "
                                           "destination (only an admission names a crossing)")
                    origin = self.place(table, row, cols, "origin")
                    destination = self.place(table, row, cols, "destination")
                    if origin and origin == destination:  # (a transfer to itself counted as moves)
                        self.err(table, row, cols, "destination",
                                 f"{kind} from {origin!r} to itself (expected two different places)")
                    elif kind == "corridor" and origin in self.names and destination in self.names:
                        self.need_route(table, row, cols, "destination", origin, destination, "corridor")
                if people_text == "all" and kind not in ("transfer", "admission"):
                    self.err(table, row, cols, "people", "'all' is allowed for transfers and admissions only")
                if every is not None and every > 1 and kind not in ("transfer", "flight"):
                    self.problems.warn(table.path, row.line, cols.get("every_days", -1) + 1,
                                       f"every_days is ignored for a{'n' if kind == 'admission' else ''} "
                                       f"{kind}: it holds on every day from start to end")
                if start is None or end is None or people is None or fare is None or self.start is None:
                    continue
                days_are, _ = self.check_days(table, row, cols, start, end, refs)
                if days_are in ("reversed", "unvalued") or (days_are == "outside" and not refs):
                    continue
                # (one row, one Event: Crisis.schedule makes a transfer's or flight's days)
                out.append(Event(
                    kind=kind, start=start, end=end,
                    origin=origin, destination=destination, people=int(people),
                    groups=self.group_list(table, row, cols, groups), crossing=crossing,
                    source=self.cell(row, cols, "source"), line=row.line,
                    path=str(table.path), every_days=int(every or 0),
                    parameters={**refs, **({"people": size_ref} if size_ref else {}),
                                **({"fare_usd": fare_ref} if fare_ref else {})},
                    fare_usd=fare,
                ))
        for ev, message in event_order(out, self.parameter_values, self.days, self.start):
            self.problems.warn(ev.path, ev.line, origin_col.get(ev.path, 0), message)
        return tuple(out)

    def fare(self, table: Table, row: Row, cols: dict[str, int], kind: str) -> tuple[float | None, str]:
        """An events row's `fare_usd` (USD each person moved pays; empty = 0) and the parameter a
        `$name` cell names (its value now); None with an error at the cell when it cannot be one.
        An admission moves nobody, so it takes no fare (an error, not a fare silently unpaid)."""
        text = self.cell(row, cols, "fare_usd")
        ref = ""
        if text.startswith("$"):
            ref = self.number_ref(table, row, cols, "fare_usd")
            fare = self.parameter_values[ref] if ref else None
        else:
            fare = self.number(table, row, cols, "fare_usd", 0.0, 0.0)
        if kind == "admission" and (ref or (fare is not None and fare != 0)):
            self.err(table, row, cols, "fare_usd", f"an admission takes no fare (expected an empty fare_usd, "
                                                   f"found {shown(text)}): it opens a crossing and moves nobody; "
                                                   "a fare is paid on transfers, flights and corridors")
            return None, ""
        return fare, ref

    def departures(self, spec: Any, parameters: dict[str, float]) -> dict[str, Any]:
        rows: list[dict[str, Any]] = []
        for table, cols in self.tables("departures", spec, "a departures table"):
            if not self.need_columns(table, cols, ("origin", "start", "end", "people_per_day")):
                continue
            for row in self.data_rows(table):
                origin = self.place(table, row, cols, "origin")
                start, end, refs = self.row_days(table, row, cols)
                rate = self.number(table, row, cols, "people_per_day", None, 0.0)
                scale = self.cell(row, cols, "scale")
                if scale and scale in self.date_names:
                    self.err(table, row, cols, "scale", f"parameter {scale!r} in scale is a date "
                                                        "(expected a number parameter)")
                elif scale and scale not in parameters and scale not in self.refused:
                    self.err(table, row, cols, "scale",
                             f"unknown parameter {scale!r} in scale (expected a key of [crisis.parameters])"
                             f"{self.hint(scale, set(parameters))}")
                if start is None or end is None or rate is None or self.start is None:
                    continue
                if self.check_days(table, row, cols, start, end, refs)[0] in ("reversed", "unvalued"):
                    continue
                rows.append({"origin": origin, "start": start, "end": end, "people_per_day": rate,
                             "scale": scale, "source": self.cell(row, cols, "source"), "line": row.line,
                             # (the file as named from the scenario's folder, not where that
                             # folder is: scenario_hash reads these rows)
                             "file": Path(os.path.relpath(table.path, self.folder)).as_posix(),
                             **({"refs": refs} if refs else {})})
        return {"rows": tuple(rows)}

    def observations(self, spec: Any) -> tuple[dict[str, Any], ...]:
        """The observations' rows; with a `role` column (fitted | held-out) each row keeps its role
        (`role`, an empty cell: held-out), and with a `check` column its check's name (`check`:
        rows of one name are one check, `analysis.observations.targets_for`)."""
        out: list[dict[str, Any]] = []
        checks: dict[str, tuple[dict[str, Any], Path, int]] = {}  # (name: its first row, where)
        for table, cols in self.tables("observations", spec, "an observations table"):
            if not self.need_columns(table, cols, ("date", "loc", "value", "kind")):
                continue
            for row in self.data_rows(table):
                day = self.day(table, row, cols, "date")
                kind = self.cell(row, cols, "kind")
                if kind not in OBSERVATION_KINDS:
                    self.err(table, row, cols, "kind",
                             f"bad kind {kind!r} (expected one of {', '.join(OBSERVATION_KINDS)})")
                loc = self.cell(row, cols, "loc")
                if self.names and loc not in self.names:
                    self.err(table, row, cols, "loc", f"unknown location {loc!r}{suggest(loc, self.names)}")
                value = self.number(table, row, cols, "value", math.nan, 0.0)
                low = self.number(table, row, cols, "low", math.nan, 0.0)
                high = self.number(table, row, cols, "high", math.nan, 0.0)
                if low is not None and high is not None and low > high:
                    self.err(table, row, cols, "high", f"high {high:g} is below low {low:g}")
                o = {"day": day, "loc": loc, "value": value, "low": low, "high": high, "kind": kind,
                     **({"role": self.observation_role(table, row, cols, kind, value, low, high)}
                        if "role" in cols else {}),
                     **({"check": self.cell(row, cols, "check")} if self.cell(row, cols, "check") else {})}
                if o.get("check"):
                    self.observation_check(table, row, cols, o, checks)
                if day is None:
                    continue
                if self.outside(table, row, cols, day, day, "date"):
                    continue
                out.append({**o, "note": self.cell(row, cols, "note"),
                            "source": self.cell(row, cols, "source"), "line": row.line})
        return tuple(out)

    def observation_role(self, table: Table, row: Row, cols: dict[str, int], kind: str,
                         value: float | None, low: float | None, high: float | None) -> str:
        """A `role` cell: `fitted` (calibration's `interval` objective fits it) or `held-out` (the
        main job's check of it is a test; an empty cell); a fitted row must state a count of
        people present that a fit can score."""
        from ..analysis.observations import STOCK_KINDS, tolerance

        role = self.cell(row, cols, "role") or "held-out"
        if role not in OBSERVATION_ROLES:
            self.err(table, row, cols, "role", f"bad role {role!r} (expected {' or '.join(OBSERVATION_ROLES)}; "
                                               "empty: held-out)")
        elif role == "fitted" and kind not in STOCK_KINDS and kind in OBSERVATION_KINDS:
            self.err(table, row, cols, "role", f"role fitted: kind {kind} is not a count of people "
                                               "present, which is what a fit scores (expected held-out, "
                                               f"or kind one of {', '.join(STOCK_KINDS)})")
        elif role == "fitted" and kind in STOCK_KINDS and None not in (value, low, high) and tolerance(
                {"kind": kind, "value": value, "low": low, "high": high}) is None:
            self.err(table, row, cols, "role", "role fitted: the row states no figure to fit "
                                               "(expected a value, or low and high)")
        return role

    def observation_check(self, table: Table, row: Row, cols: dict[str, int], o: dict[str, Any],
                          checks: dict[str, tuple[dict[str, Any], Path, int]]) -> None:
        """A `check` cell: rows of one name are checked as one (`analysis.observations.targets_for`),
        so they must be counts of people present at one place, with one role; a peak alone."""
        from ..analysis.observations import STOCK_KINDS, tolerance

        name, kind = str(o["check"]), str(o["kind"])
        if kind in OBSERVATION_KINDS and kind not in STOCK_KINDS:
            self.err(table, row, cols, "check", f"check {name!r}: kind {kind} is not a count of people "
                                                f"present (expected kind one of {', '.join(STOCK_KINDS)})")
            return
        if None in (o["value"], o["low"], o["high"]):  # (a bad number: said at its cell)
            return
        if kind in STOCK_KINDS and tolerance(o) is None:
            self.err(table, row, cols, "check", f"check {name!r}: the row states no figure to check "
                                                "(expected a value, or low and high)")
            return
        if name not in checks:
            checks[name] = (o, table.path, row.line)
            return
        first, path, line = checks[name]
        where = f"line {line}" if path == table.path else f"{Path(path).name} line {line}"
        if "peak" in (kind, first["kind"]):
            self.err(table, row, cols, "check", f"check {name!r} is also the name of {where}: a peak is "
                                                "checked alone (the most there up to its day; expected "
                                                "another name)")
        elif o["loc"] != first["loc"]:
            self.err(table, row, cols, "check", f"check {name!r} is at {first['loc']!r} ({where}), this row "
                                                f"at {o['loc']!r} (expected one place per check)")
        elif o.get("role") != first.get("role"):
            self.err(table, row, cols, "check", f"check {name!r} is {first.get('role') or 'without a role'} "
                                                f"({where}), this row {o.get('role') or 'without one'} "
                                                "(expected one role per check)")

    def provided(self, spec: Any) -> tuple[dict[str, Any], ...]:
        """What was provided where (docs/outputs.md, "Provided"): the rows the needs' gaps use."""
        from ..analysis.needs import INDICATORS, SHELTER_CAPACITY

        known = set(INDICATORS) | {SHELTER_CAPACITY}
        out: list[dict[str, Any]] = []
        for table, cols in self.tables("provided", spec, "a provided table"):
            if not self.need_columns(table, cols, ("location", "indicator", "amount")):
                continue
            for row in self.data_rows(table):
                loc = self.place(table, row, cols, "location")
                ind = self.cell(row, cols, "indicator")
                if ind not in known:
                    self.err(table, row, cols, "indicator",
                             f"unknown indicator {ind!r} (expected one of {', '.join(sorted(known))})"
                             f"{suggest(ind, known)}")
                amount = self.number(table, row, cols, "amount", None, 0.0)
                days = [self.day(table, row, cols, k) if self.cell(row, cols, k) else None
                        for k in ("start", "end")]
                if days[0] is not None and days[1] is not None and days[1] < days[0]:
                    self.err(table, row, cols, "end", "end is before start")
                elif days != [None, None] and all(d is not None or not self.cell(row, cols, k)
                                                  for d, k in zip(days, ("start", "end"), strict=True)):
                    # (as every dated table: an empty start or end is the run's first or last day)
                    first = days[0] if days[0] is not None else -MAX_DAYS
                    last = days[1] if days[1] is not None else MAX_DAYS
                    self.outside(table, row, cols, first, last, "start" if days[0] is not None else "end")
                if amount is None or ind not in known or (self.names and loc not in self.names):
                    continue
                iso = [(self.start + dt.timedelta(days=d)).isoformat() if d is not None and self.start else None
                       for d in days]
                out.append({"location": loc, "indicator": ind, "amount": amount, "start": iso[0],
                            "end": iso[1], "source": self.cell(row, cols, "source")})
        return tuple(out)

    def capacities(self, table: Any, shelters: set[str] | None) -> dict[str, int | str]:
        """`[crisis.capacities]`: `place = N` (a whole number ≥ 0) or `place = "$name"` (a
        whole-number parameter), replacing a shelter's capacity in locations.csv; `shelters`: the
        places of kind shelter (None: not known)."""
        if not isinstance(table, dict):
            self.toml_error("[crisis.capacities]", "crisis.capacities: expected a table of place = number "
                                                   f"(a shelter's places), found {shown(table)}")
            return {}
        out: dict[str, int | str] = {}
        for place, value in table.items():
            if self.names and place not in self.names:
                self.toml_error(place, f"crisis.capacities: unknown location {place!r}{suggest(place, self.names)}")
                continue
            if shelters is not None and place not in shelters:
                listed = ", ".join(sorted(shelters)) or "none here"
                self.toml_error(place, f"crisis.capacities: {place!r} is not a shelter (only a shelter's "
                                       f"capacity limits a crisis run; expected a place of kind shelter: {listed})")
                continue
            text = value.strip() if isinstance(value, str) else ""
            ref = text[1:].strip()
            number = not isinstance(value, bool) and isinstance(value, int | float)
            if text.startswith("$") and ref in self.date_names:
                self.toml_error(place, f"crisis.capacities.{place}: parameter {ref!r} is a date (expected a "
                                       "number parameter)")
            elif text.startswith("$") and ref not in self.parameter_names:
                if ref not in self.refused:  # (a bad value: said at its key)
                    self.toml_error(place, f"crisis.capacities.{place}: unknown parameter {ref!r} (expected a "
                                           f"key of [crisis.parameters]){self.hint(ref, self.parameter_names - self.date_names)}")
            elif text.startswith("$"):
                found = self.parameter_values[ref]
                if found == int(found):
                    out[place] = ref
                else:
                    self.toml_error(place, f"crisis.capacities.{place}: parameter {ref!r} is {found:g} (expected "
                                           "a whole number of places, at least 0)")
            elif not number or not math.isfinite(value) or value != int(value) or not 0 <= value <= MAX_NUMBER:
                self.toml_error(place, f"crisis.capacities.{place}: expected a whole number of places, at least 0, "
                                       f"or \"$name\" naming a parameter, found {shown(value)}")
            else:
                out[place] = int(value)
        return out

    def parameters(self, table: Any, extra_names: set[str], lenient: bool = False,
                   inherited: frozenset[str] = frozenset(), explained: frozenset[str] = frozenset(),
                   ) -> dict[str, float]:
        """[crisis.parameters] over PARAMETERS' defaults. A key that is neither a built-in
        parameter nor referred to by a table is refused (a misspelt parameter would otherwise
        leave its default in force), unless `lenient` (a referring table could not be read) or
        `inherited` (a variant's baseline declared it: a variant may replace the tables that use it).
        A key in `explained` is left out without a word: a table's cell misspells it, and the error
        at that cell names it (it would otherwise be "unknown ... did you mean <the misspelling>").
        A date parameter (in `self.date_names`) is a date, kept as days since the start date."""
        out = dict(PARAMETERS)
        if table is None:
            return out
        if not isinstance(table, dict):
            self.toml_error("parameters", f"crisis.parameters: expected a table, found {shown(table)}")
            return out
        for key, value in table.items():
            if key in explained:
                continue
            if key not in PARAMETERS and key not in extra_names and key not in inherited and not lenient:
                self.toml_error(key, f"unknown crisis parameter '{key}' (not a built-in parameter, and no "
                                     f"table refers to it as ${key}){suggest(key, set(PARAMETERS) | extra_names)}; "
                                     "one that only a variant's files use belongs in that variant's "
                                     "[crisis.parameters]")
                continue
            if key not in PARAMETERS and key not in extra_names and isinstance(value, dt.date):
                self.date_names.add(key)  # (a variant's baseline's date, its policies replaced)
            if key in self.date_names:
                problem = date_parameter_problem(key, value, self.start)
                if problem is None:
                    out[key] = float((value - self.start).days) if self.start is not None else 0.0
            else:
                problem = parameter_problem(key, value)
                if problem is None:
                    out[key] = float(value)
            if problem is not None:
                self.toml_error(key, problem)
                self.refused.add(key)  # (it has a value, a bad one: not also "has no value")
        return out


def _span(d0: int, d1: int, start: dt.date | None) -> str:
    """Days d0..d1 as dates (days where the start date is unknown)."""
    if start is None:
        return f"days {d0} to {d1}"
    return f"{start + dt.timedelta(days=d0)} to {start + dt.timedelta(days=d1)}"


def policy_gaps(rows: list[PolicyPeriod], start: dt.date | None) -> list[tuple[int, str]]:
    """(line, message) for the days between a crossing's first and last row (of one file, days
    resolved) that no row covers: the crossing is open to everyone with no limit on them, which a
    gap seldom means."""
    out = []
    by_crossing: dict[str, list[PolicyPeriod]] = {}
    for r in rows:
        by_crossing.setdefault(r.crossing, []).append(r)
    for crossing, mine in by_crossing.items():
        mine = sorted(mine, key=lambda r: (r.start, r.end))
        covered = mine[0].end
        for r in mine[1:]:
            if r.start > covered + 1:
                out.append((r.line, f"no row of {crossing} covers {_span(covered + 1, r.start - 1, start)}: the "
                                    "crossing is open to everyone with no limit on those days (expected a row "
                                    "for them, e.g. status open)"))
            covered = max(covered, r.end)
    return out


def policy_overlaps(rows: list[PolicyPeriod], start: dt.date | None) -> list[tuple[int, str]]:
    """(line, message) for each row (of one file, days resolved) that sets a crossing for a group
    on a day an earlier row sets: the later row applies there, which within one file is seldom
    meant (a variant's extra file, read after the baseline's, overrides it on purpose: no warning).
    One message per row names every earlier row it overlaps: naming only the first hid a closure
    that a row overriding March also overrode in April."""
    out = []
    for j, b in enumerate(rows):
        spans = []
        for a in rows[:j]:
            if a.crossing != b.crossing or a.end < b.start or b.end < a.start:
                continue
            shared = set(a.groups) & set(b.groups) if a.groups and b.groups else set(a.groups or b.groups)
            if a.groups and b.groups and not shared:
                continue
            when = _span(max(a.start, b.start), min(a.end, b.end), start)
            who = f" for {';'.join(sorted(shared))}" if shared else ""
            spans.append(f"the row on line {a.line} ({b.crossing}, {when}{who})")
        if spans:
            listed = spans[0] if len(spans) == 1 else f"{', '.join(spans[:-1])} and {spans[-1]}"
            out.append((b.line, f"overlaps {listed}: this later row applies on those days"))
    return out


def _listed(items: Sequence[object]) -> str:
    """'7', '7 and 8', '6, 7 and 8'."""
    words = [str(x) for x in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _event_days(ev: Event, parameters: Mapping[str, Any], days: int | None) -> set[int]:
    """The days event `ev` acts on (within the run's `days` when known), date parameters resolved."""
    first, last = ev.days(parameters)
    if days is not None:
        last = min(last, days - 1)
    step = max(1, ev.every_days) if ev.kind in ("transfer", "flight") else 1
    return {d for d in range(first, last + 1, step) if d >= 0}


def event_order(events: Sequence[Event], parameters: Mapping[str, Any], days: int | None,
                start: dt.date | None) -> list[tuple[Event, str]]:
    """(event, message) for each transfer, flight or corridor that a transfer of `all` people from
    the same place, listed before it, empties on some of its days: the events of a day apply in
    the order they are listed, so the later one moves nobody of the groups they share on those
    days. The baseline's daily clearance of the line did that to a variant's corridor, appended
    after it, from 12 May on, without a word."""
    out = []
    moves = [(ev, _event_days(ev, parameters, days)) for ev in events
             if ev.kind in ("transfer", "flight", "corridor") and not any(
                 ref not in parameters for ref in ev.parameters.values())]
    for j, (b, b_days) in enumerate(moves):
        emptied: set[int] = set()
        rows: dict[str, list[int]] = {}  # the earlier rows' files (as named from b's) -> lines
        taken: set[str] | None = set()  # the groups the earlier rows take (None: every group)
        for a, a_days in moves[:j]:
            if a.kind != "transfer" or a.people >= 0 or a.origin != b.origin or not a_days & b_days:
                continue
            if a.groups and b.groups and not set(a.groups) & set(b.groups):
                continue
            emptied |= a_days & b_days
            taken = None if taken is None or not a.groups else taken | set(a.groups)
            name = "" if a.path == b.path else Path(os.path.relpath(a.path, Path(b.path).parent)).as_posix()
            rows.setdefault(name, []).append(a.line)
        if not emptied:
            continue
        both = sorted(emptied)
        when = (_span(both[0], both[0], start).split(" to ")[0] if len(both) == 1 else
                f"{len(both)} days from {_span(both[0], both[-1], start)}")
        left = set(b.groups) - taken if taken is not None and b.groups else set()
        whom = f" of {';'.join(sorted(set(b.groups) - left))}" if left else ""  # (the others it still moves)
        lines = [f"line{'s' if len(ls) > 1 else ''} {_listed(ls)}{f' of {f}' if f else ''}" for f, ls in rows.items()]
        many = sum(len(ls) for ls in rows.values()) > 1
        out.append((b, f"this {b.kind} from {b.origin} moves nobody{whom} on {when}: the "
                       f"transfer{'s' if many else ''} of all people from {b.origin} on {' and '.join(lines)} "
                       f"come{'' if many else 's'} first on those days (the events of a day apply in the "
                       "order they are listed; list this row, or its file, before "
                       f"{'them' if many else 'that one'})"))
    return out


def policy_day_warnings(scenario: Scenario) -> list[str]:
    """Overlaps and gaps in each policies file of a crisis scenario at its date parameters' current
    values, as "path:line: message" (the reader warns of them at the files' own values; a
    `--set`/`--sweep` of a date parameter may make new ones)."""
    crisis = scenario.crisis
    if crisis is None:
        return []
    by_file: dict[str, list[PolicyPeriod]] = {}
    for pol in crisis.policies:
        first, last = pol.days(crisis.parameters)
        if last >= first:
            by_file.setdefault(pol.path, []).append(replace(pol, start=first, end=last, parameters={}))
    out = []
    for path, rows in by_file.items():
        found = policy_overlaps(rows, scenario.start_date) + policy_gaps(rows, scenario.start_date)
        out += [f"{path}:{line}: {message}" for line, message in sorted(found)]
    # (and events that a date parameter's new value puts after a clearance of their place)
    out += [f"{ev.path}:{ev.line}: {message}"
            for ev, message in event_order(crisis.events, crisis.parameters, scenario.days, scenario.start_date)]
    return out


def _nearest(word: str, choices: set[str]) -> str | None:
    """The choice nearest `word`, as `suggest` finds it; None when none is near."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _referenced_names(folder: Path, spec: Any, columns: tuple[str, ...], dollar: bool) -> set[str] | None:
    """Parameter names that a table's `columns` refer to, so they may be declared as parameters.

    With `dollar`, only cells written `$name` count (policies); else every non-empty cell (the
    `scale` column of departures). None when a file cannot be read: its own error is reported
    when the table is read, and the parameters it would refer to are then not refused.
    """
    names: set[str] = set()
    for f in spec if isinstance(spec, list) else [spec]:
        if not isinstance(f, str) or not f:
            continue
        table = read_table(folder / f, Problems(folder), "a table")  # (errors: reported by the reader)
        if table is None:
            return None
        rows = [r for r in table.rows if not r.is_blank]
        header = [c.strip().lower() for c in rows[0].cells]
        for col in columns:
            if col not in header:
                continue
            k = header.index(col)
            for row in rows[1:]:
                if row.is_comment:
                    continue
                cell = row.get(k).strip()
                if dollar and cell.startswith("$"):
                    m = _DATE_REF.match(cell)  # (`$name+N` in a start or end cell names `name`)
                    name = m.group(1) if m else cell[1:].strip()
                    if name:  # (a lone `$` names nothing: its cell's error says so)
                        names.add(name)
                elif not dollar and cell:
                    names.add(cell)
    return names


def _misplaced_names(folder: Path, crisis_table: dict[str, Any]) -> set[str]:
    """Names written `$name` in a column of a crisis table that takes no parameter (e.g. a groups
    `share`): their cells are refused, each saying where `$name` is allowed."""
    allowed = {key: (*NUMBER_COLUMNS.get(key, ()), *DATE_COLUMNS) for key in ("policies", "events", "departures")}
    out: set[str] = set()
    for key in FILE_KEYS:
        spec = crisis_table.get(key)
        for f in spec if isinstance(spec, list) else [spec]:
            if not isinstance(f, str) or not f:
                continue
            table = read_table(folder / f, Problems(folder), "a table")  # (errors: reported by the reader)
            rows = [r for r in table.rows if not r.is_blank] if table is not None else []
            header = [c.strip().lower() for c in rows[0].cells] if rows else []
            for row in rows[1:]:
                for k, col in enumerate(header):
                    cell = row.get(k).strip()
                    if not row.is_comment and cell.startswith("$") and col not in allowed.get(key, ()):
                        m = _DATE_REF.match(cell)
                        out |= {m.group(1)} if m else set()
    return out


def read_crisis(
    folder: Path,
    crisis_table: dict[str, Any],
    problems: Problems,
    location_names: set[str],
    start_date: dt.date | None = None,
    toml_path: Path | None = None,
    routes: set[frozenset[str]] | None = None,
    days: int | None = None,
    inherited: frozenset[str] = frozenset(),
    shelters: set[str] | None = None,
) -> Crisis:
    """Read the `[crisis]` table of `folder/scenario.toml` into a Crisis; faults go to `problems`.

    `start_date` defaults to `[scenario] start_date` of `folder/scenario.toml`. With `routes`
    (the place pairs of routes.csv) crossings and corridors must follow a route; with `days`
    (the run's length) rows dated outside the run are warned of and events are made for the
    run's days only. `inherited`: parameters a variant's baseline declared (accepted even when
    the variant's tables no longer refer to them). `shelters`: the places of kind shelter, the
    only ones `[crisis.capacities]` may name (None: any place).
    """
    folder = Path(folder)
    toml_path = toml_path or folder / "scenario.toml"
    if start_date is None:
        start_date = _start_date_of(toml_path)
    r = _Reader(folder, problems, set(location_names), start_date, toml_path)
    if start_date is None:
        r.toml_error("[scenario]", "crisis: [scenario] start_date is needed to read crisis dates")
    r.routes, r.days = routes, days
    if not isinstance(crisis_table, dict):
        r.toml_error("crisis", f"crisis: expected a table, found {shown(crisis_table)}")
        return Crisis()
    known = set(FILE_KEYS) | {"parameters", "capacities"}
    for key in crisis_table:
        if key not in known:
            r.toml_error(key, f"unknown key 'crisis.{key}'{suggest(key, known)}")
    for key in REQUIRED_FILE_KEYS:
        if key not in crisis_table:
            r.toml_error("[crisis]", f"crisis: missing key '{key}' (expected a file name)")
    extra: set[str] = set()
    unread = False  # a table that refers to parameters cannot be read: accept the declared ones
    for key, columns, dollar in (("departures", ("scale",), False),
                                 ("policies", NUMBER_COLUMNS["policies"], True),
                                 ("events", NUMBER_COLUMNS["events"], True),
                                 ("policies", DATE_COLUMNS, True), ("events", DATE_COLUMNS, True),
                                 ("departures", DATE_COLUMNS, True)):
        if key in crisis_table:
            found = _referenced_names(folder, crisis_table[key], columns, dollar)
            unread |= found is None
            extra |= found or set()
            if columns == DATE_COLUMNS:  # (a built-in parameter is a number: refused at its cell)
                r.date_names |= (found or set()) - set(PARAMETERS)
    caps = crisis_table.get("capacities")
    extra |= {v.strip()[1:].strip() for v in (caps.values() if isinstance(caps, dict) else ())
              if isinstance(v, str) and v.strip().startswith("$")}
    given = crisis_table.get("parameters")
    declared = set(given) if isinstance(given, dict) else set()
    # A name that tables use but nothing defines, near a key that is defined: one error, at the cell,
    # "did you mean <key>" (not also "<key> is unknown, did you mean <name>" and "<name> has no value").
    r.misspelt = {name: near for name in extra - declared - set(PARAMETERS)
                  if (near := _nearest(name, declared | set(PARAMETERS)))}
    unused = declared - set(PARAMETERS) - extra - inherited
    # (a key that only a refused `$name` cell names: that cell's error says why, not "unknown ... belongs
    # in that variant's [crisis.parameters]", which it is)
    misplaced = _misplaced_names(folder, crisis_table)
    params = r.parameters(crisis_table.get("parameters"), extra, lenient=unread, inherited=inherited,
                          explained=frozenset(unused & (set(r.misspelt.values()) | misplaced)))
    for name in sorted(extra - set(params) - r.refused - set(r.misspelt)):
        r.toml_error("[crisis.parameters]",
                     f"crisis parameter '{name}' is used by a table but has no value in [crisis.parameters]")
    r.parameter_names = set(params)
    r.parameter_values = params
    groups = r.groups(crisis_table["groups"]) if "groups" in crisis_table else ()
    group_names = {g.name for g in groups}
    crossings = r.crossings(crisis_table["crossings"]) if "crossings" in crisis_table else ()
    crossing_names = {c.name for c in crossings}
    if groups and crossings:
        r.fallbacks_off_the_line(groups, crossings)
    policies = r.policies(crisis_table["policies"], crossing_names, group_names) if "policies" in crisis_table else ()
    events = r.events(crisis_table["events"], crossing_names, group_names) if "events" in crisis_table else ()
    departures = r.departures(crisis_table["departures"], params) if "departures" in crisis_table else {"rows": ()}
    observations = r.observations(crisis_table["observations"]) if "observations" in crisis_table else ()
    provided = r.provided(crisis_table["provided"]) if "provided" in crisis_table else ()
    capacities = r.capacities(caps, shelters) if "capacities" in crisis_table else {}
    return Crisis(
        groups=groups, crossings=crossings, policies=policies, events=events,
        departures=departures, parameters=params, observations=observations, provided=provided,
        date_parameters=tuple(sorted(r.date_names & set(params))), capacities=capacities,
    )


def read_provided(path: Path, problems: Problems, location_names: set[str], start_date: dt.date | None,
                  days: int | None = None) -> tuple[dict[str, Any], ...]:
    """A provided table outside a [crisis] table (a Flee case's `provided.csv`), read and checked as
    `[crisis] provided` is: the one reader of what was provided, whose rows a run's manifest records."""
    r = _Reader(path.parent, problems, set(location_names), start_date, path)
    r.days = days
    return r.provided(path.name)


def _start_date_of(toml_path: Path) -> dt.date | None:
    try:
        data = loads_toml(toml_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    value = data.get("scenario", {}).get("start_date")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return parse_date_text(value)
    return None


class UnknownParameter(ValueError, KeyError):
    """A name that is not one of the scenario's crisis parameters.

    A ValueError like every other refusal of the API; also a KeyError, which `with_parameters`
    raised before, so that callers catching that still do. Its text is the message as it is
    (a KeyError's would be quoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def with_parameters(scenario: Scenario, **values: float | dt.date) -> Scenario:
    """A copy of a crisis scenario with some behaviour parameters replaced (used by fitting); a
    date parameter takes a date (or a whole number of days since the start date).

    Values are checked as the scenario reader and `apply_overrides` check them (ValueError: a
    number within the parameter's bounds, at most 1 where a policy uses it as a probability), so
    a give-up rate of -1 or a date as text is refused here, not run; an unknown name is an
    `UnknownParameter` (a ValueError, and a KeyError as before) naming the known ones.

    As `analysis.ensemble.apply_overrides`, it records what it applied in the copy's
    `metadata["overrides"]` (`crisis.<name>`: a number, or a date parameter's date), which a
    run's manifest writes as `set`.

    >>> s2 = with_parameters(s, give_up_base=0.05, peru_block=dt.date(2023, 4, 20))  # doctest: +SKIP
    """
    if scenario.crisis is None:
        raise ValueError("not a crisis scenario")
    params = dict(scenario.crisis.parameters)
    applied: dict[str, Any] = {}
    probabilities = probability_parameters(scenario.crisis)
    counts = count_parameters(scenario.crisis)
    for key, value in values.items():
        if key not in params:
            raise UnknownParameter(f"unknown crisis parameter {key!r}{suggest(key, set(params))}; "
                                   f"the scenario's are {', '.join(sorted(params))}")
        if key in scenario.crisis.date_parameters and isinstance(value, int | np.integer) \
                and not isinstance(value, bool):  # (days since the start date)
            if abs(int(value)) > MAX_DAYS:
                raise ValueError(f"crisis parameter '{key}': expected a date within 100 years of the "
                                 f"start date {scenario.start_date}, found {int(value):,} days from it")
            params[key] = float(value)
            applied[f"crisis.{key}"] = scenario.start_date + dt.timedelta(days=int(value))
        elif key in scenario.crisis.date_parameters:
            problem = date_parameter_problem(key, value, scenario.start_date)  # (a datetime; 9999)
            if problem is not None or not isinstance(value, dt.date):
                raise ValueError(problem)
            params[key] = float((value - scenario.start_date).days)
            applied[f"crisis.{key}"] = value
        elif isinstance(value, dt.date):
            raise ValueError(f"crisis parameter {key!r} is a number, not a date")
        elif (problem := parameter_problem(key, value, key in probabilities, counts.get(key))) is not None:
            raise ValueError(problem)
        else:
            params[key] = float(value)
            applied[f"crisis.{key}"] = float(value)
    meta = dict(scenario.metadata)
    if applied:  # (for the manifest's `set`, as apply_overrides records its values)
        meta["overrides"] = {**dict(meta.get("overrides") or {}), **applied}
    return replace(scenario, crisis=replace(scenario.crisis, parameters=params), metadata=meta)


#: keys of a variant's [variant] table
VARIANT_KEYS = frozenset({"base", "name", "description", "label"})


def is_variant_file(path: str | Path) -> bool:
    """True for a `.toml` file with a `[variant]` table."""
    p = Path(path)
    if p.suffix != ".toml" or file_problem(p) is not None:
        return False
    try:
        return "variant" in loads_toml(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def _variant_warnings(base: Scenario, base_dir: Path, base_toml: dict[str, Any],
                      problems: Problems) -> tuple[Problem, ...]:
    """A variant's warnings: the baseline's, except those of its crisis tables, which the variant
    read again as its own (`problems`, its parameters and files in force). The variant kept the
    baseline's alone, so `validate` said "ok (0 warnings)" of a variant whose own events file had
    an event dated outside the run."""
    crisis = base_toml.get("crisis", {})
    crisis = crisis if isinstance(crisis, dict) else {}
    specs = [crisis.get(key) for key in FILE_KEYS]
    names = [f for spec in specs for f in (spec if isinstance(spec, list) else [spec]) if isinstance(f, str)]
    try:
        reread = {(base_dir / f).resolve() for f in names}
        kept = [problems.problem(base_dir / w.path, w.line, w.column, w.message, "warning")
                for w in base.metadata.get("warnings", ()) if (base_dir / w.path).resolve() not in reread]
    except (OSError, RuntimeError, ValueError):  # (names the baseline read; a loop of links)
        kept = list(base.metadata.get("warnings", ()))
    # (the network's findings at the baseline's own files, e.g. a stop place's `stop` cell in
    # locations.csv, are found again with the variant's tables: said once)
    again = {str(w) for w in problems.warnings}
    return (*(w for w in kept if str(w) not in again), *problems.warnings)


def load_variant(path: str | Path) -> Scenario:
    """Load a policy variant: its baseline scenario with the `[crisis]` overrides applied.

    >>> v = load_variant("scenarios/chile-peru-2023/variants/no_peru_closure.toml")  # doctest: +SKIP
    """
    from . import load_scenario
    from .native import toml_place
    from .tomlread import toml_error

    path = Path(path)
    # every problem names its file from the current folder, as the user named the variant (its
    # own checks below name it as given): variants/x.toml and variants/x.csv, not x.toml; given
    # as ../s/variants/x.toml, its tables are ../s/variants/x.csv, not their absolute paths
    problems = Problems(root=None if path.is_absolute() else Path.cwd(), outside=True)
    reading = Problems()
    text = read_text(path, reading, "a [variant] table and [crisis] overrides")
    if text is None:
        raise ScenarioError(reading.errors)
    try:
        data = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, reason = toml_error(exc, text)
        raise ScenarioError([Problem(str(path), line, col, f"bad TOML ({reason})")]) from None
    variant = data.get("variant")
    if not isinstance(variant, dict) or not isinstance(variant.get("base"), str):
        line, col = toml_place(text, "variant", "base")
        found = ""
        if isinstance(variant, dict):
            found = f", found {shown(variant['base'])}" if "base" in variant else ", found no base key"
        raise ScenarioError([Problem(str(path), line, col,
                                     f"a variant needs [variant] base = \"<baseline folder>\"{found}")])
    # (collected, not raised: the [crisis] overrides below are still read, so that one pass shows
    # a misspelt [variant] key and a misspelt parameter together, as for any other scenario)
    own_problems = [Problem(str(path), *toml_place(text, key),
                            f"a variant may override [crisis] only (found [{key}]; the period and "
                            "places are the baseline's)") for key in sorted(set(data) - {"variant", "crisis"})]
    own_problems += [Problem(str(path), *toml_place(text, "variant", key),
                             f"unknown key 'variant.{key}' (expected {', '.join(sorted(VARIANT_KEYS))})"
                             f"{suggest(key, VARIANT_KEYS)}") for key in sorted(set(variant) - VARIANT_KEYS)]
    try:
        base_dir = (path.parent / variant["base"]).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # (a NUL in the name, a loop of links)
        line, col = toml_place(text, "variant", "base")
        raise ScenarioError([*own_problems, Problem(str(path), line, col,
                                                    f"bad base folder {variant['base']!r} ({exc})")]) from None
    if not (base_dir / "scenario.toml").is_file():
        line, col = toml_place(text, "variant", "base")
        raise ScenarioError([*own_problems, Problem(str(path), line, col, f"base {variant['base']!r} is not a "
                                                    f"scenario folder ({base_dir} has no scenario.toml; the "
                                                    "path is relative to this file)")])
    base = load_scenario(base_dir)
    base_toml = loads_toml((base_dir / "scenario.toml").read_text(encoding="utf-8"))
    table = dict(base_toml.get("crisis", {}))
    over = data.get("crisis", {})
    if not isinstance(over, dict):
        line, col = toml_place(text, "crisis")
        raise ScenarioError([*own_problems, Problem(str(path), line, col, "[crisis] must be a table")])
    own = over.get("parameters")
    # the baseline's own parameters were checked when it loaded; a variant that replaces the
    # tables referring to them (e.g. policies without $mil_block) must not be refused for them
    inherited = frozenset(base.crisis.parameters if base.crisis else ()) - set(own if isinstance(own, dict) else ())
    for key, value in over.items():
        if key in ("parameters", "capacities") and isinstance(value, dict):
            table[key] = {**dict(table.get(key, {})), **value}  # (entry by entry)
        elif key in FILE_KEYS:
            files = value if isinstance(value, list) else [value]
            table[key] = [os.path.normpath(path.parent.absolute() / f) if isinstance(f, str) else f
                          for f in files]  # (no resolve(): it fails on a NUL, which the reader reports)
        else:
            table[key] = value
    crisis = read_crisis(base_dir, table, problems, {loc.name for loc in base.locations},
                         start_date=base.start_date, toml_path=path,
                         routes={frozenset((r.a, r.b)) for r in base.routes}, days=base.days,
                         inherited=inherited, shelters={loc.name for loc in base.locations if loc.kind == "shelter"})
    if not own_problems and not problems.errors:  # (places people cannot reach; not on top of errors)
        from .crisis_network import report_network

        report_network(crisis, base.locations, base.routes, problems, base_dir, table,
                       str(base.metadata.get("files", {}).get("locations", "locations.csv")))
    if own_problems:
        raise ScenarioError([*own_problems, *problems.errors], problems.warnings)
    problems.raise_if_errors()
    name = str(variant.get("name") or path.stem)
    meta = {**dict(base.metadata), "variant": name, "variant_file": str(path),
            "variant_description": str(variant.get("description", "")),
            **({"variant_label": str(variant["label"])} if variant.get("label") else {}), "baseline": base.name,
            "variant_changes": variant_changes(base, crisis, base_dir, base_toml, table,
                                               set(own) if isinstance(own, dict) else set()),
            "warnings": _variant_warnings(base, base_dir, base_toml, problems)}
    return replace(base, name=f"{base.name}+{name}", crisis=crisis, metadata=meta)


def plain_value(value: Any) -> Any:
    """A parameter's value as the files say it: a whole number without ".0" (100, not 100.0),
    a date as YYYY-MM-DD (`Crisis.parameter_dates`), any other number as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def parameter_changes(base: Scenario, crisis: Crisis | None,
                      own: Any = ()) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The parameters `crisis` gives other values than `base`'s, each {name, baseline, variant}
    (`baseline` null where `base` lacks it; dates as YYYY-MM-DD, whole numbers without ".0"), and
    those among `own` (the names a variant sets) that keep `base`'s value, each {name, value}:
    `variant_changes`' `parameters` and `unchanged`, a sweep point's too."""
    start = base.start_date
    before = base.crisis.parameter_dates(start) if base.crisis is not None else {}
    after = crisis.parameter_dates(start) if crisis is not None else {}
    params = [{"name": k, "baseline": plain_value(before.get(k)), "variant": plain_value(v)}
              for k, v in after.items() if k not in before or before[k] != v]
    same = [{"name": k, "value": plain_value(v)} for k, v in after.items() if k in own and before.get(k) == v]
    return params, same


def variant_changes(base: Scenario, crisis: Crisis, base_dir: Path, base_toml: dict[str, Any],
                    table: dict[str, Any], own: set[str]) -> dict[str, Any]:
    """What a variant changes in its baseline, in effect: `parameters`, each
    {name, baseline, variant} whose value differs (`baseline` null for a parameter the baseline
    lacks; dates as YYYY-MM-DD); `unchanged`, each {name, value} the variant sets to the
    baseline's own value; `files`, each {table, removed, added} of a `[crisis]` table whose files differ
    (names from the baseline's folder, else the file's name). Why: a page showed only the
    author's free-text description, so a reader could not tell "this policy changes nothing"
    from "this variant was not applied" (the manifest's `scenario.variant_changes`, the
    comparison's Scenarios table)."""
    params, same = parameter_changes(base, crisis, own)
    crisis_toml = base_toml.get("crisis", {})

    def real(folder: Path, name: Any) -> str:
        try:
            return os.path.realpath(folder / str(name))
        except (OSError, ValueError):
            return str(folder / str(name))

    def shown_name(full: str) -> str:
        try:
            return Path(full).relative_to(os.path.realpath(base_dir)).as_posix()
        except ValueError:
            return Path(full).name

    files = []
    for key in FILE_KEYS:
        spec = crisis_toml.get(key) if isinstance(crisis_toml, dict) else None
        was = [real(base_dir, f) for f in (spec if isinstance(spec, list) else [spec]) if isinstance(f, str)]
        spec = table.get(key)
        now = [real(base_dir, f) for f in (spec if isinstance(spec, list) else [spec]) if isinstance(f, str)]
        if was != now:
            files.append({"table": key, "removed": [shown_name(f) for f in was if f not in now],
                          "added": [shown_name(f) for f in now if f not in was]})
    return {"parameters": params, "unchanged": same, "files": files}


def load_any(path: str | Path) -> Scenario:
    """A scenario folder or a variant file."""
    from . import load_scenario

    return load_variant(path) if is_variant_file(path) else load_scenario(path)
