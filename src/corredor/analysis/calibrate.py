"""Calibration: fit named settings within bounds to a scenario's observations with Optuna.

Why: Flee's users tune movement parameters by hand or with a cluster-side toolkit; here one call
fits them. Each trial applies the sampled parameters to every scenario (one or several cases fitted
jointly), runs `replicas` seeded replicas of each (the same seeds in every trial: common random
numbers: for a border crisis they pair the trials' replicas closely; for a Flee case they barely
do, docs/calibration.md), scores each replica with the
objective, and minimises the mean over replicas and cases. The sampler is Optuna's TPE with a fixed
seed, so the same inputs give the same trials.

Objectives: `"ard"` (Flee's averaged relative difference, rescaled, flee-model.md §4.2) for Flee
cases; `"interval"` for border crises: their observations read as the main job reads them
(`analysis.observations`), only those the fit uses where the scenario says so (its observations'
`role` column; `"interval-all"`: the held-out ones too); or any module-level callable `objective(results, scenario) -> float`
(lower is better).

params.toml:

    [params.move_rules.camp_weight]
    low = 0.5
    high = 20.0
    log = true          # sample on a log scale (optional)

    [params.move_rules.awareness_level]
    low = 1
    high = 3
    int = true          # integers only (optional)
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from ..engine import seed_text
from ..engine.rng import replica_seeds
from ..results import in_people
from ..scenario.csvread import decode_text
from ..scenario.problems import Problems, shown
from ..scenario.tomlread import loads_toml, toml_error
from .ensemble import (
    OverrideError,
    _json_default,
    apply_overrides,
    atomic_dir,
    prepare,
    unique_name,
)
from .observations import FITTED, FitSelection, fit_checks, fit_selection

Objective = Callable[[Any, Any], float]


# ---- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamSpec:
    """One parameter to fit: a dotted settings key, its bounds and how to sample it."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False
    line: int = 0

    def clip(self, value: float) -> float:
        """`value` within the bounds; for `integer`, the nearest whole number within them (a
        starting value of 1 with bounds 1.2–3 is 2, what the sampler can draw, not 1)."""
        if self.integer:
            return float(min(max(round(float(value)), math.ceil(self.low)), math.floor(self.high)))
        return min(max(float(value), self.low), self.high)

    def bounds_problem(self) -> str | None:
        """Why the bounds cannot be searched (None when they can): not finite, low not below high,
        a log scale from low ≤ 0, or no whole number between them for `integer`. One check for
        read_params (at the table's place) and calibrate (a ParamSpec built in Python, which got
        Optuna's "`low <= high` must hold" without the parameter's name at the first trial)."""
        for label, v in (("low", self.low), ("high", self.high)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                return f"'{self.name}': '{label}' must be a finite number, found {v!r}"
        if not self.low < self.high:
            return f"'{self.name}': low ({self.low:g}) must be below high ({self.high:g})"
        if self.log and self.low <= 0:
            return f"'{self.name}': a log scale needs low > 0, found {self.low:g}"
        return self.whole_numbers_problem()

    def whole_numbers_problem(self) -> str | None:
        """Why an `integer` parameter has nothing to draw (no whole number between its bounds)."""
        if self.integer and math.ceil(self.low) > math.floor(self.high):
            return (f"'{self.name}': int = true, but no whole number lies between low ({self.low:g}) "
                    f"and high ({self.high:g})")
        return None


_SPEC_KEYS = {"low", "high", "log", "int"}


def _place(text: str, table: str, key: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of `key` of `[table]` in params.toml: a table of its own
    (`[table.key]`), else the key, else its table's header, else the table around it, else the
    line after the last one; never (0, 0), so every problem in the file has a place."""
    from ..scenario.native import toml_key_position, toml_place

    dotted = f"{table}.{key}" if table and key else (key or table)
    found = toml_key_position(text, dotted)
    return found if found != (0, 0) else toml_place(text, table, key)


def _spec_key_position(text: str, section: str, name: str, key: str) -> tuple[int, int] | None:
    """1-based (line, column) of `key` in `[params.section.name]`, or None where it is not
    written on a line of its own (absent, or inside an inline table)."""
    from ..scenario.native import toml_key_position

    table = f"params.{section}.{name}"
    where = toml_key_position(text, table, key)
    return where if where != (0, 0) and where != toml_key_position(text, table) else None


def _setting_type(section: str, name: str) -> Any:
    """The type of setting `section.name` (bool, int, float...), or None when there is none."""
    from ..scenario.settings import Settings

    field = Settings.model_fields.get(section)
    model = getattr(field, "annotation", None) if field is not None and section != "log_levels" else None
    fields = getattr(model, "model_fields", {})
    return fields[name].annotation if name in fields else None


def date_parameter_refusal(dotted: str, scenario: Any) -> str | None:
    """Why `dotted` cannot be fitted when it names a date parameter of `scenario`'s crisis (None
    otherwise): calibration searches numbers. `read_params` asks this before it reads the bounds,
    so that date bounds (`low = 2024-03-20`, the natural way to write them) are told this, not
    that a bound must be a number."""
    section, _, name = dotted.partition(".")
    crisis = getattr(scenario, "crisis", None)
    if section == "crisis" and crisis is not None and name in crisis.date_parameters:
        return (f"'{dotted}' is a date parameter; calibration searches numbers (compare its "
                f"dates with `corredor compare --sweep {dotted}=YYYY-MM-DD,...`)")
    return None


def spec_refusal(spec: ParamSpec, scenario: Any) -> str | None:
    """Why `scenario` cannot be fitted over `spec` (None when it can): a setting or crisis
    parameter it lacks, a date parameter, or an end of the range it refuses. Shared by
    `read_params` and `calibrate`, which checks every case before any trial runs."""
    if (why := date_parameter_refusal(spec.name, scenario)) is not None:
        return why
    try:  # both ends of the range: every value tried lies between them
        for end in (spec.low, spec.high):
            apply_overrides(scenario, {spec.name: spec.clip(end)})
    except OverrideError as exc:
        return str(exc)
    if spec.name == "move_rules.pop_power_for_loc_weight" and getattr(scenario, "crisis", None) is None:
        from ..plan import pop_power_flat

        return f"'{spec.name}' cannot change this case's result: {pop_power_flat(scenario)}"
    return None


def read_params(path: str | os.PathLike[str], scenario: Any | None = None) -> list[ParamSpec]:
    """Read params.toml; every problem is reported as `path:line:col: message` (ScenarioError).

    With `scenario`, each key is also checked against the scenario's settings.
    """
    path = Path(path)
    problems = Problems()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.error(path, 0, 0, f"cannot read the parameter file: {exc.strerror or exc}")
        problems.raise_if_errors()
        raise AssertionError from None  # unreachable
    text = decode_text(raw, path, problems, "[params.<section>.<name>] tables")
    if text is None:
        problems.raise_if_errors()
        raise AssertionError  # unreachable
    try:
        data = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, reason = toml_error(exc)
        problems.error(path, line, col, f"not valid TOML: {reason}")
        problems.raise_if_errors()
    params = data.get("params")
    if not isinstance(params, dict) or not params:
        line, col = _place(text, "", "params") if "params" in data else (1, 1)
        problems.error(path, line, col, "no [params.<section>.<name>] tables found (expected at least one, "
                                        "e.g. [params.move_rules.camp_weight] with low and high)")
        problems.raise_if_errors()
        raise AssertionError  # unreachable
    for key in data:
        if key not in ("params",):
            problems.error(path, *_place(text, "", key),
                           f"unknown top-level key '{key}' (expected [params.<section>.<name>])")
    specs: list[ParamSpec] = []
    for section, table in params.items():
        if not isinstance(table, dict):
            problems.error(path, *_place(text, "params", section),
                           f"'params.{section}' must be a table of parameters")
            continue
        for name, spec in table.items():
            dotted = f"{section}.{name}"
            line, col = _place(text, f"params.{section}", name)
            if not isinstance(spec, dict):
                problems.error(path, line, col, f"'{dotted}' must be a table with low and high")
                continue
            def at(key: str, section: str = section, name: str = name,
                   here: tuple[int, int] = (line, col)) -> tuple[int, int]:
                """Where `key` of this parameter is written (its table's place when absent)."""
                return _spec_key_position(text, section, name, key) or here

            bad = sorted(set(spec) - _SPEC_KEYS)
            for k in bad:
                problems.error(path, *at(k), f"'{dotted}': unknown key '{k}' (use low, high, log, int)")
            if scenario is not None and (why := date_parameter_refusal(dotted, scenario)) is not None:
                problems.error(path, line, col, why)  # (before the bounds: dates, as it is one)
                continue
            low, high = spec.get("low"), spec.get("high")
            ok = True
            for label, v in (("low", low), ("high", high)):
                if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                    found = "nothing (the key is missing)" if v is None else shown(v)
                    problems.error(path, *at(label), f"'{dotted}': '{label}' must be a finite number, found {found}")
                    ok = False
            for flag in ("log", "int"):
                if flag in spec and not isinstance(spec[flag], bool):
                    problems.error(path, *at(flag), f"'{dotted}': '{flag}' must be true or false, found {shown(spec[flag])}")
                    ok = False
            if not ok or bad:
                continue
            low, high = cast(float, low), cast(float, high)  # (checked above: finite numbers)
            p = ParamSpec(dotted, float(low), float(high), bool(spec.get("log", False)),
                          bool(spec.get("int", False)), line)
            if (why := p.bounds_problem()) is not None:  # (an integer range without a whole number
                problems.error(path, line, col, why)   # was Optuna's "`low <= high` must hold")
                continue
            kind = _setting_type(section, name)
            if kind is bool:  # (0 and 1 pass the check of both ends below; 0.37 fails a trial)
                problems.error(path, line, col, f"'{dotted}': {name} is a yes/no setting; only numeric "
                                              "settings can be calibrated")
                continue
            if kind is int and not p.integer:
                problems.error(path, line, col, f"'{dotted}': {name} is a whole-number setting; add "
                                              "int = true")
                continue
            if scenario is not None and (why := spec_refusal(p, scenario)) is not None:
                problems.error(path, line, col, why)
                continue
            specs.append(p)
    problems.raise_if_errors()
    return specs


# ---- objectives ------------------------------------------------------------------------------


def ard_from_dataset(ds: Any, rescaled: bool = True) -> float:
    """Flee's averaged relative difference over all days (flee-model.md §4.2).

    Each day: Σ_camps |ŝ_c − data_c| / max(U, 1), where ŝ_c = sim_c·U/S when rescaled (U, S =
    observed and simulated camp totals; ŝ = 0 when S = 0); then the mean over days.
    """
    obs = ds["observed"]
    camps = np.isfinite(obs.values).any(axis=0)
    if "is_camp" in obs.coords:
        camps &= np.asarray(obs["is_camp"].values, dtype=bool)
    sim = np.asarray(ds["population"].transpose("day", "location").values, dtype=np.float64)[:, camps]
    data = np.nan_to_num(np.asarray(obs.transpose("day", "location").values, dtype=np.float64)[:, camps])
    u = data.sum(axis=1)
    if rescaled:
        s = sim.sum(axis=1)
        scale = np.divide(u, s, out=np.zeros_like(u), where=s > 0)
        sim = sim * scale[:, None]
    err = np.round(np.abs(sim - data), 4).sum(axis=1) / np.maximum(u, 1.0)
    return float(err.mean()) if err.size else math.nan


def ard_objective(results: Any, scenario: Any = None) -> float:
    """Rescaled ARD of one replica: the engine's own metric when it reports one."""
    metrics = (getattr(results, "manifest", {}) or {}).get("metrics", {})
    for key in ("ard_rescaled_mean", "ard_mean"):
        if key in metrics and metrics[key] is not None:
            return float(metrics[key])
    return ard_from_dataset(results.dataset)


def interval_loss(simulated: float, low: float | None, high: float | None) -> float:
    """0 inside [low, high]; outside, the distance to the nearest bound relative to it.

    Either bound may be None (open). A point observation is low == high.

    >>> interval_loss(150, 100, 200), interval_loss(300, 100, 200), interval_loss(50, 100, None)
    (0.0, 0.5, 0.5)
    """
    if low is not None and simulated < low:
        return (low - simulated) / max(abs(low), 1.0)
    if high is not None and simulated > high:
        return (simulated - high) / max(abs(high), 1.0)
    return 0.0


def _interval_score(results: Any, scenario: Any, include_held_out: bool) -> float:
    """Mean `interval_loss` over the checks `analysis.observations.fit_selection` picks: each the
    model's people at the observation's place (`population`, as the main job's check and the
    documented fit read them), against the same range the main job checks (a fit target's, else
    `observations.tolerance`: "~60" is 30–90, not exactly 60)."""
    ds = results.dataset
    if "population" not in ds:
        return math.nan
    places = {str(x) for x in ds["location"].values} if "location" in ds.coords else set()
    losses = []
    for check in fit_selection(scenario, include_held_out).scored:
        if check.location not in places or check.last >= ds.sizes["day"]:
            continue
        da = ds["population"].sel(location=check.location)
        da = da.sum([d for d in da.dims if d != "day"]) if da.ndim > 1 else da
        losses.append(interval_loss(check.figure(np.asarray(da.values)), check.low, check.high))
    return float(np.mean(losses)) if losses else math.nan


def interval_objective(results: Any, scenario: Any) -> float:
    """Mean interval loss over a crisis scenario's observations to fit: where the scenario
    declares which the fit uses (its observations' `role` column: the rows marked fitted), those alone;
    its held-out observations are not fitted, so that the main job's check of them stays a test.
    Without such a declaration, every stock observation not set by an event. Each is read as the
    main job reads it (`analysis.observations`: people at its place, its tolerance)."""
    return _interval_score(results, scenario, include_held_out=False)


def interval_all_objective(results: Any, scenario: Any) -> float:
    """`interval_objective` with the held-out observations fitted too (`--objective
    interval-all`): the main job's check of them is then no longer a test."""
    return _interval_score(results, scenario, include_held_out=True)


def _is_interval(objective: Objective) -> bool:
    """Whether `objective` fits a crisis scenario's observations (`analysis.observations`)."""
    return objective is interval_objective or objective is interval_all_objective


def observations_fitted(objective: Objective, scenario: Any) -> FitSelection | None:
    """The observations an interval objective scores on `scenario`, and those it leaves out
    (held out, set by an event, outside the run); None for another objective or a Flee case."""
    if not _is_interval(objective) or getattr(scenario, "crisis", None) is None:
        return None
    return fit_selection(scenario, include_held_out=objective is interval_all_objective)


def objective_refusal(objective: Objective, scenario: Any) -> str | None:
    """Why a built-in objective cannot score `scenario`, so that every trial would score 0 or
    fail (found before the trials, not after them); None when it can, or for other objectives."""
    crisis = getattr(scenario, "crisis", None)
    if objective is ard_objective and crisis is not None:
        return (f"{scenario.name}: the ard objective compares camps with UNHCR data, which a "
                "border-crisis scenario has not (every trial would score 0); use --objective "
                "interval")
    if _is_interval(objective) and crisis is None:
        return (f"{scenario.name}: the {objective_name(objective)} objective fits a border-crisis "
                "scenario's observations, which a Flee case has not; use --objective ard")
    selection = observations_fitted(objective, scenario)
    if selection is not None and not selection.scored:
        held = (f" ({len(selection.held_out)} held out: --objective interval-all fits them too)"
                if selection.held_out else "")
        if selection.declared and not any(c.role == FITTED for c in fit_checks(scenario)):
            return (f"{scenario.name}: its observations mark none fitted (their role column){held}, "
                    f"so the {objective_name(objective)} objective has nothing to fit")
        return (f"{scenario.name}: no observation to fit is dated within its {scenario.days} "
                f"simulated days{held}, so the {objective_name(objective)} objective has nothing "
                "to fit")
    return None


OBJECTIVES: dict[str, Objective] = {"ard": ard_objective, "interval": interval_objective,
                                     "interval-all": interval_all_objective}


def objective_name(objective: Objective) -> str:
    """A built-in objective as `--objective` names it (`ard`); another as `module.name`."""
    for name, fn in OBJECTIVES.items():
        if objective is fn:
            return name
    qual = getattr(objective, "__qualname__", None) or type(objective).__name__
    return f"{getattr(objective, '__module__', None) or '?'}.{qual}"


def resolve_objective(objective: str | Objective | None, scenarios: Sequence[Any]) -> Objective:
    """A callable objective: by name, as given, or chosen by the scenarios (crisis -> interval)."""
    if callable(objective):
        return objective
    if objective is None:
        crisis = any(getattr(s, "crisis", None) is not None for s in scenarios)
        return interval_objective if crisis else ard_objective
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective '{objective}'; choose one of {', '.join(OBJECTIVES)}")
    return OBJECTIVES[objective]


# ---- worker ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationShared:
    """Sent once to each worker: the base scenarios and how to run and score them."""

    scenarios: tuple[Any, ...]
    objective: Objective
    simulate_fn: Callable[..., Any] | None = None
    compile_fn: Callable[[Any], Any] | None = None
    engine: str = "auto"
    threads: int | None = 1
    #: identifies this object across processes (worker plan caches are keyed by it)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class TrialTask:
    """Replica `replica` (seed `seed`) of case `case` with `overrides`; `series` keeps fit curves."""

    trial: int
    case: int
    replica: int
    seed: int
    overrides: tuple[tuple[str, Any], ...]
    series: bool = False


_PLAN_CACHE: dict[Any, Any] = {}


def run_trial_replica(shared: CalibrationShared, task: TrialTask) -> dict[str, Any]:
    """Worker function: simulate one replica with the trial's overrides and score it."""
    key = (shared.token, task.case, task.overrides)
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        scenario = apply_overrides(shared.scenarios[task.case], dict(task.overrides))
        plan = (shared.compile_fn or prepare)(scenario)
        _PLAN_CACHE.clear()  # replicas of one trial and case arrive together; keep one plan
        _PLAN_CACHE[key] = plan
    sim = shared.simulate_fn
    if sim is None:
        from ..simulate import simulate

        sim = simulate
    results = sim(plan, seed=task.seed, engine=shared.engine, threads=shared.threads)
    out: dict[str, Any] = {"trial": task.trial, "case": task.case, "replica": task.replica,
                           "loss": float(shared.objective(results, shared.scenarios[task.case]))}
    if task.series:
        ds = in_people(results.dataset)  # fit.png says people, like every other output (not agents)
        if "observed" in ds and "population" in ds:
            obs = ds["observed"].transpose("day", "location").values
            camps = np.isfinite(obs).any(axis=0)
            if "is_camp" in ds.coords:
                camps &= np.asarray(ds["is_camp"].values, dtype=bool)
            pop = ds["population"].transpose("day", "location").values[:, camps]
            out["sim_camps"] = np.asarray(pop.sum(axis=1), dtype=np.float64)
            out["obs_camps"] = np.nansum(obs[:, camps], axis=1).astype(np.float64)
    return out


# ---- the loop --------------------------------------------------------------------------------


@dataclass
class Calibration:
    """Best parameters, every trial, and each case's loss before (its own settings) and after."""

    params: list[ParamSpec]
    best: dict[str, float]
    trials: list[dict[str, Any]]
    before: dict[str, dict[str, float]]
    after: dict[str, dict[str, float]]
    series: dict[str, dict[str, np.ndarray]]
    manifest: dict[str, Any] = field(default_factory=dict)
    #: each case's change of loss, after − before, with its standard error (`paired_change`);
    #: empty for one built by hand, whose report falls back to the unpaired one (`loss_change`)
    change: dict[str, dict[str, Any]] = field(default_factory=dict)


def evaluate(
    scenarios: Sequence[Any],
    overrides: Mapping[str, Any],
    replicas: int,
    seed: int,
    executor: Any,
    shared: CalibrationShared,
    trial: int = -1,
    series: bool = False,
) -> list[dict[str, Any]]:
    """Run `replicas` seeded replicas of every case with `overrides`; one row per replica."""
    seeds = replica_seeds(seed, replicas)
    items = tuple(sorted(overrides.items()))
    tasks = [TrialTask(trial, c, r, s, items, series)
             for c in range(len(scenarios)) for r, s in enumerate(seeds)]
    rows = list(executor.map_unordered(run_trial_replica, shared, tasks))
    rows.sort(key=lambda r: (r["case"], r["replica"]))
    return rows


def per_case_loss(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Mean, sd and count of the replica losses of each case (rows from `evaluate`)."""
    out = {}
    for c, name in enumerate(names):
        vals = np.array([r["loss"] for r in rows if r["case"] == c], dtype=np.float64)
        out[name] = {"mean": float(np.mean(vals)), "sd": float(np.std(vals, ddof=1)) if vals.size > 1 else 0.0,
                     "n": int(vals.size)}  # (a count: best.json's "n": 4, not 4.0)
    return out


_F = TypeVar("_F", bound=Callable[..., Any])


def _optuna_quiet(fn: _F) -> _F:
    """Run `fn` with Optuna's log at WARNING (no INFO line per trial), then give the caller's
    level back, whatever happens: it stayed at WARNING, so the caller's own studies logged less."""

    @functools.wraps(fn)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        try:
            import optuna
        except ImportError:  # (fn says what to install)
            return fn(*args, **kwargs)
        level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            return fn(*args, **kwargs)
        finally:
            optuna.logging.set_verbosity(level)

    return cast(_F, quiet)


@_optuna_quiet
def calibrate(
    scenarios: Sequence[Any],
    params: Sequence[ParamSpec],
    trials: int = 20,
    replicas: int = 3,
    seed: int = 0,
    executor: Any = None,
    objective: str | Objective | None = None,
    engine: str = "auto",
    threads: int | None = 1,
    simulate_fn: Callable[..., Any] | None = None,
    compile_fn: Callable[[Any], Any] | None = None,
    eval_replicas: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Calibration:
    """Minimise the mean objective over `scenarios` × `replicas` with Optuna's seeded TPE.

    The first trial is the first scenario's own values (clipped into the bounds). "Before" is
    every scenario with its own settings; "after" every scenario with the best values; both are
    re-measured on `eval_replicas` fresh seeds (default: 2 × replicas) that no trial used.
    Optuna's log level is WARNING during the call and the caller's again after it.
    """
    try:
        import optuna
    except ImportError as exc:  # optional extra
        raise RuntimeError("calibration needs optuna: pip install 'corredor[calibrate]'") from exc
    from .executors import SerialExecutor, worker_refusal

    if trials < 1 or replicas < 1:
        raise ValueError("trials and replicas must be at least 1")
    # (one Scenario or one ParamSpec was "'Scenario' object is not iterable")
    for arg, value, what in (("scenarios", scenarios, "scenarios (one case: [scenario])"),
                             ("params", params, "ParamSpec (one: [spec])")):
        if not isinstance(value, Iterable) or isinstance(value, str | bytes | os.PathLike | ParamSpec):
            raise TypeError(f"calibrate's {arg} is a list of {what}, found {type(value).__name__}")
    scenarios = list(scenarios)
    if not scenarios:
        raise ValueError("calibrate needs at least one scenario")
    names = _case_names(scenarios)
    for p in params:  # (an unknown key was an AttributeError from the first trial's defaults)
        if not isinstance(p, ParamSpec):
            raise TypeError(f"calibrate takes a list of ParamSpec, found {type(p).__name__} {p!r}")
        if why := p.bounds_problem():
            raise ValueError(why)
        for name, scenario in zip(names, scenarios, strict=True):
            if (why := spec_refusal(p, scenario)) is not None:
                raise OverrideError(f"{name}: {why}")
    obj = resolve_objective(objective, scenarios)
    for scenario in scenarios:
        if why := objective_refusal(obj, scenario):
            raise ValueError(why)
    if (why := worker_refusal(executor, objective=objective, simulate_fn=simulate_fn,
                              compile_fn=compile_fn)) is not None:
        raise TypeError(why)
    ex = executor or SerialExecutor()
    shared = CalibrationShared(tuple(scenarios), obj, simulate_fn, compile_fn, engine, threads)
    started = time.perf_counter()
    n_startup = min(10, max(2, trials // 3))
    sampler = optuna.samplers.TPESampler(seed=int(seed), n_startup_trials=n_startup)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    defaults: dict[str, float | int] = {}
    for p in params:
        v = p.clip(_current_value(scenarios[0], p.name))
        defaults[p.name] = int(v) if p.integer else v
    study.enqueue_trial(defaults)
    table: list[dict[str, Any]] = []
    eval_replicas = int(eval_replicas or 2 * replicas)
    total_steps = trials + 2
    for k in range(trials):
        trial = study.ask()
        values = {
            p.name: (trial.suggest_int(p.name, int(math.ceil(p.low)), int(math.floor(p.high)), log=p.log)
                     if p.integer else trial.suggest_float(p.name, p.low, p.high, log=p.log))
            for p in params
        }
        t0 = time.perf_counter()
        rows = evaluate(scenarios, values, replicas, seed, ex, shared, trial=k)
        per_case = per_case_loss(rows, names)
        losses = [v["mean"] for v in per_case.values()]
        loss = float(np.mean(losses)) if np.all(np.isfinite(losses)) else math.inf
        study.tell(trial, loss if math.isfinite(loss) else None,
                   state=None if math.isfinite(loss) else optuna.trial.TrialState.FAIL)
        table.append({"trial": k, **values, "loss": loss,
                      **{f"loss_{n}": v["mean"] for n, v in per_case.items()},
                      "wall_s": round(time.perf_counter() - t0, 3)})
        if progress is not None:
            progress(k + 1, total_steps)
    finite = [r for r in table if math.isfinite(r["loss"])]
    if not finite:
        raise RuntimeError("every trial failed: the objective was never finite")
    best_row = min(finite, key=lambda r: (r["loss"], r["trial"]))
    best = {p.name: best_row[p.name] for p in params}
    eval_seed = int(seed) + 1_000_003  # fresh seeds, used by no trial
    # "before" is every case as given (its own settings), not the first case's values
    before_rows = evaluate(scenarios, {}, eval_replicas, eval_seed, ex, shared, series=True)
    if progress is not None:
        progress(trials + 1, total_steps)
    after_rows = evaluate(scenarios, best, eval_replicas, eval_seed, ex, shared, series=True)
    if progress is not None:
        progress(total_steps, total_steps)
    series = {}
    for c, name in enumerate(names):
        curves: dict[str, np.ndarray] = {}
        for label, rows in (("before", before_rows), ("after", after_rows)):
            sims = [r["sim_camps"] for r in rows if r["case"] == c and "sim_camps" in r]
            if sims:
                curves[label] = np.median(np.stack(sims), axis=0)
                curves["observed"] = next(r["obs_camps"] for r in rows if r["case"] == c)
        series[name] = curves
    from .. import __version__
    from ..provenance import overrides_set, provenance, scenario_entry

    trial_seeds, eval_seeds = replica_seeds(seed, replicas), replica_seeds(eval_seed, eval_replicas)
    selections = [observations_fitted(obj, sc) for sc in scenarios]
    observations = {n: sel.summary() for n, sel in zip(names, selections, strict=True) if sel is not None}
    manifest = {
        "kind": "calibration",
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        # each case as a run's manifest names its scenario ({name, sha256, source}; `name` the
        # case's), its hasten, days and start date, and `set` where apply_overrides changed it
        "scenarios": [{**scenario_entry(s), "name": n, "hasten": getattr(s, "hasten", None),
                       "days": getattr(s, "days", None), "start_date": getattr(s, "start_date", None),
                       **({"set": overrides_set(s)} if overrides_set(s) else {})}
                      for n, s in zip(names, scenarios, strict=True)],
        # as --objective spells it (ard, interval, interval-all), or a callable's module and name
        "objective": objective_name(obj),
        # (an interval objective) per case, the observations it fitted and those it did not, and why
        **({"observations": observations} if observations else {}),
        # the search space, so that the folder says what was searched, not only what was found
        "params": [{"name": p.name, "low": p.low, "high": p.high, "log": p.log, "int": p.integer}
                   for p in params],
        # the sampler as built (its draws, hence every trial after the startup ones, differ
        # between optuna versions: provenance.optuna says which made these)
        "sampler": {"name": "optuna TPESampler", "seed": int(seed), "n_startup_trials": n_startup,
                    "optuna": optuna.__version__},
        "seed": int(seed),
        "seed_text": seed_text(seed),
        "trials": int(trials),
        "replicas_per_trial": int(replicas),
        "eval_replicas": eval_replicas,
        "eval_seed": eval_seed,
        "eval_seed_text": seed_text(eval_seed),
        # every seed, so that "fresh seeds for before/after" can be read from the file itself
        "trial_seeds": trial_seeds,
        "eval_seeds": eval_seeds,
        # (the same as text, every digit: they pass 2^53, which jq, JavaScript and Excel round)
        "trial_seeds_text": [seed_text(s) for s in trial_seeds],
        "eval_seeds_text": [seed_text(s) for s in eval_seeds],
        "engine": engine,
        "executor": type(ex).__name__,
        "workers": int(getattr(ex, "workers", 1)),
        "first_trial": defaults,
        "own_settings": {n: {p.name: _current_value(s, p.name) for p in params}
                         for n, s in zip(names, scenarios, strict=True)},
        "best": best,
        "best_trial": best_row["trial"],
        "wall_s": round(time.perf_counter() - started, 3),
        "provenance": provenance(extra=("optuna",)),
    }
    return Calibration(list(params), best, table, per_case_loss(before_rows, names),
                       per_case_loss(after_rows, names), series, manifest,
                       paired_change(before_rows, after_rows, names))


def _current_value(scenario: Any, dotted: str) -> float:
    section, _, key = dotted.partition(".")
    if section == "crisis":
        return float(scenario.crisis.parameters[key])
    return float(getattr(getattr(scenario.settings, section), key))


def _case_names(scenarios: Sequence[Any]) -> list[str]:
    """Each case's name; one used twice gets `-2`, `-3` (`ensemble.unique_name`, as compare's)."""
    names: list[str] = []
    for s in scenarios:
        names.append(unique_name(str(getattr(s, "name", "case")) or "case", names))
    return names


# ---- what the fit supports -------------------------------------------------------------------

#: a best value within this share of its range from a bound (on the scale it is sampled on) is
#: "at or near" it: with tens of trials the sampler seldom lands nearer, and the fit may want a
#: value beyond the bound
NEAR_BOUND = 0.05


def _share_of_range(spec: ParamSpec, value: float) -> float:
    """Where `value` lies between the bounds, 0 at low and 1 at high, on the sampled scale."""
    if spec.log:
        return math.log(value / spec.low) / math.log(spec.high / spec.low)
    return (value - spec.low) / (spec.high - spec.low)


def bound_warnings(cal: Calibration) -> list[tuple[ParamSpec, str]]:
    """Each parameter whose best value lies at or near a bound (within `NEAR_BOUND` of its range),
    with the warning for it: the optimum may lie at or beyond the bound, so the value found says
    more about the bound than about the data."""
    out = []
    for spec in cal.params:
        value = cal.best.get(spec.name)
        if value is None or spec.bounds_problem() is not None:
            continue
        share = _share_of_range(spec, float(value))
        for side, bound, near in (("lower", spec.low, share <= NEAR_BOUND),
                                  ("upper", spec.high, share >= 1 - NEAR_BOUND)):
            if near:
                where = "at" if float(value) == bound else "near"
                out.append((spec, f"{spec.name} = {float(value):.4g} is {where} its {side} bound "
                                  f"({bound:g}; range {spec.low:g}–{spec.high:g}{', log scale' if spec.log else ''}, "
                                  f"within {NEAR_BOUND * 100:g} % of it): the best value may lie at or beyond "
                                  "the bound; widen it if the setting allows, else read the value as "
                                  "limited by it"))
    return out


def trial_loss_se(cal: Calibration) -> float:
    """The standard error of a trial's loss from replica noise: each case's replica sd at the best
    values (`after`, measured on the fresh seeds) over √(replicas per trial), combined over the
    cases as the trial's loss averages them. NaN where no spread was measured (one seed)."""
    replicas = int(cal.manifest.get("replicas_per_trial") or 1)
    sds = [float(v["sd"]) if int(v.get("n", 0)) > 1 else math.nan for v in cal.after.values()]
    if not sds:
        return math.nan
    return math.sqrt(sum(sd * sd for sd in sds) / replicas) / len(sds)


def near_best(cal: Calibration) -> dict[str, Any]:
    """The near-best region: the trials whose loss lies within one standard error of replica noise
    (`trial_loss_se`) of the best trial's, their number and each parameter's range among them.
    Values inside it are not distinguished by the data: their losses differ by no more than the
    replicas' luck."""
    finite = [r for r in cal.trials if math.isfinite(r["loss"])]
    if not finite:
        return {}
    best = min(r["loss"] for r in finite)
    se = trial_loss_se(cal)
    limit = best + (se if math.isfinite(se) else 0.0)
    inside = sorted((r for r in finite if r["loss"] <= limit), key=lambda r: (r["loss"], r["trial"]))
    return {
        "best_loss": best,
        "se": se if math.isfinite(se) else None,
        "loss_limit": limit,
        "count": len(inside),
        "of": len(cal.trials),
        "trials": [r["trial"] for r in inside],
        "ranges": {p.name: [min(r[p.name] for r in inside), max(r[p.name] for r in inside)]
                   for p in cal.params},
        "note": "trials whose loss is within one standard error of replica noise of the best: "
                "values inside these ranges are not distinguished by the data",
    }


def paired_change(before_rows: Sequence[Mapping[str, Any]], after_rows: Sequence[Mapping[str, Any]],
                  names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each case's change of loss, after − before, seed by seed: both are measured on the same
    fresh seeds (replica r has the same seed in both), so the standard error is that of the
    paired differences. Falls back to `loss_change`'s unpaired one where the replicas differ."""
    out: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(names):
        b = {r["replica"]: float(r["loss"]) for r in before_rows if r["case"] == c}
        a = {r["replica"]: float(r["loss"]) for r in after_rows if r["case"] == c}
        if not b or set(a) != set(b):
            continue
        d = np.array([a[k] - b[k] for k in sorted(b)])
        mean_before = float(np.mean(list(b.values())))
        se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
        out[name] = _change_entry(float(d.mean()), se, mean_before, int(d.size), paired=True)
    return out


def _change_entry(diff: float, se: float, before: float, n: int, paired: bool) -> dict[str, Any]:
    """One case's change: absolute and relative to before, each with its standard error."""
    rel = diff / before if before else math.nan
    rel_se = se / abs(before) if before and math.isfinite(se) else math.nan
    return {"change": diff, "se": se if math.isfinite(se) else None,
            "relative": rel if math.isfinite(rel) else None,
            "relative_se": rel_se if math.isfinite(rel_se) else None,
            "n": n, "paired": paired, "in_sample": True}


def loss_change(cal: Calibration) -> dict[str, dict[str, Any]]:
    """Each case's change of loss, after − before, with its standard error: the paired one
    (`Calibration.change`), else the unpaired √(sd_b²/n_b + sd_a²/n_a). In-sample: measured on
    the observations that were fitted (docs/calibration.md, leave-one-out for a test)."""
    out = {}
    for case, b in cal.before.items():
        if case in cal.change:
            out[case] = cal.change[case]
            continue
        a = cal.after[case]
        nb, na = int(b.get("n", 0)), int(a.get("n", 0))
        se = (math.sqrt(b["sd"] ** 2 / nb + a["sd"] ** 2 / na) if nb > 1 and na > 1 else math.nan)
        out[case] = _change_entry(a["mean"] - b["mean"], se, b["mean"], min(nb, na), paired=False)
    return out


def summary_lines(cal: Calibration) -> list[str]:
    """The near-best region and the change's reading, as the terminal and best_params.toml say
    them (the bound warnings are said apart, as warnings)."""
    region = near_best(cal)
    lines = []
    if region:
        se = region["se"]
        within = (f"within one standard error of replica noise ({se:.2g}) of the best loss "
                  f"{region['best_loss']:.4g}" if se is not None else
                  f"at the best loss {region['best_loss']:.4g} (no replica spread was measured)")
        ranges = ", ".join(f"{k} {_span(lo, hi)}" for k, (lo, hi) in region["ranges"].items())
        alone = ("; only the best trial: no other trial came that near, so the search says nothing of "
                 "how wide it is" if region["count"] == 1 else "")
        lines.append(f"near-best region: {region['count']} of {region['of']} trials {within}: {ranges}; "
                     f"values inside it are not distinguished by the data{alone}")
    lines.append("change: in-sample (measured on the observations that were fitted, not a test of the "
                 "fit; for one, fit some cases and score another: docs/calibration.md, \"Evaluating "
                 "on cases not used in fitting\")")
    return lines


def _short(value: float) -> str:
    """A parameter value to 3 significant digits (the near-best region's ends)."""
    return f"{float(value):.3g}"


def _span(low: float, high: float) -> str:
    """A near-best range, "0.503–2.51"; one value where its ends are the same."""
    return _short(low) if _short(low) == _short(high) else f"{_short(low)}–{_short(high)}"


# ---- files -----------------------------------------------------------------------------------


#: before_after.csv's columns and their HXL hashtags (the case as compare's `#meta+scenario`;
#: losses as `#indicator+loss`, like comparison.csv's `#indicator+value+median`)
BEFORE_AFTER_TAGS = {
    "case": "#meta+scenario",
    "loss_before": "#indicator+loss+before+mean",
    "sd_before": "#indicator+loss+before+sd",
    "loss_after": "#indicator+loss+after+mean",
    "sd_after": "#indicator+loss+after+sd",
    "replicas": "#meta+replicas",
    # after − before on the same fresh seeds and its paired standard error; in-sample
    "change": "#indicator+loss+change",
    "se_change": "#indicator+loss+change+se",
}


def trials_columns(params: Sequence[str], cases: Sequence[str]) -> tuple[list[str], list[str]]:
    """trials.csv's header and HXL hashtags: `trial` (#meta+trial), each parameter
    (#meta+param+move_rules_camp_weight), `loss` (#indicator+loss+mean: the mean over cases),
    and each case's `loss_<case>` (#indicator+loss+case_mali2012). Each trial's seconds are
    manifest.json's `trial_wall_s`, not a column: the same command gives the same trials.csv."""
    from ..outputs.tables import hxl_attribute

    header = ["trial", *params, "loss", *[f"loss_{c}" for c in cases]]
    tags = ["#meta+trial", *[f"#meta+param+{hxl_attribute(p)}" for p in params], "#indicator+loss+mean",
            *[f"#indicator+loss+case_{hxl_attribute(c)}" for c in cases]]
    return header, tags


def write_calibration(cal: Calibration, out: str | os.PathLike[str], force: bool = False,
                      plot: bool = True) -> Path:
    """Write best_params.toml, best.json, trials.csv, before_after.csv, manifest.json, fit.png.

    best.json and best_params.toml (as comments) carry what the fit supports: the near-best
    region (`near_best`), the change with its standard error, in-sample (`loss_change`), and a
    warning for each best value at or near a bound (`bound_warnings`).

    The CSVs are written as every corredor table (`outputs.tables.write_hxl_csv`): an HXL hashtag
    row under the header (`trials_columns`, `BEFORE_AFTER_TAGS`), CRLF line ends, every digit.
    """
    from ..outputs.tables import write_hxl_csv

    out = Path(out)

    def write(tmp: Path) -> None:
        region, change = near_best(cal), loss_change(cal)
        warnings = [why for _, why in bound_warnings(cal)]
        lines = ["# best parameters found by `corredor calibrate`; use with --set key=value",
                 *(f"# {line}" for line in summary_lines(cal)),
                 *(f"# warning: {why}" for why in warnings)]
        sections: dict[str, list[str]] = {}
        for name, value in cal.best.items():
            section, _, key = name.partition(".")
            near = (f"  # near-best {_span(*region['ranges'][name])}"
                    if region and name in region["ranges"] else "")
            sections.setdefault(section, []).append(f"{key} = {value!r}{near}")
        for section, items in sections.items():
            lines += ["", f"[{section}]", *items]
        (tmp / "best_params.toml").write_text("\n".join(lines) + "\n")
        summary = {"best": cal.best, "before": cal.before, "after": cal.after,
                   "change": change, "near_best": region, "warnings": warnings}
        (tmp / "best.json").write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
        header, tags = trials_columns([p.name for p in cal.params], list(cal.before))
        write_hxl_csv(tmp / "trials.csv", header, tags, ([r.get(k) for k in header] for r in cal.trials))
        write_hxl_csv(tmp / "before_after.csv", list(BEFORE_AFTER_TAGS), list(BEFORE_AFTER_TAGS.values()),
                      ([c, cal.before[c]["mean"], cal.before[c]["sd"], cal.after[c]["mean"],
                        cal.after[c]["sd"], int(cal.after[c]["n"]), change[c]["change"],
                        change[c]["se"]] for c in cal.before))
        files = ["best_params.toml", "best.json", "trials.csv", "before_after.csv"]
        if plot:
            try:
                plot_fit(cal, tmp / "fit.png")
                files.append("fit.png")
            except Exception as exc:  # a figure must never cost the fit
                cal.manifest["plot_error"] = str(exc)
        # (each trial's seconds: how it ran, not what it found, so here and not in trials.csv)
        manifest = {**cal.manifest, "trial_wall_s": [r.get("wall_s") for r in cal.trials],
                    "files": [*files, "manifest.json"]}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_default) + "\n")

    return atomic_dir(out, force, write, [sc.get("source") for sc in cal.manifest.get("scenarios", [])])


def _case_days(cal: Calibration, case: str, n: int) -> tuple[np.ndarray, bool]:
    """The x values of a case's `n` days: dates from its start date (as the run folder's plots
    draw them) when the manifest has one, else day numbers; and whether they are dates."""
    start = next((sc.get("start_date") for sc in cal.manifest.get("scenarios", ())
                  if sc.get("name") == case), None)
    try:
        first = np.datetime64(str(start), "D") if start else None
    except ValueError:
        first = None
    if first is None:
        return np.arange(n), False
    return first + np.arange(n).astype("timedelta64[D]"), True


def plot_fit(cal: Calibration, path: Path) -> None:
    """Loss by trial (with the best so far), and per case the people in its camps: observed, with
    its own settings and with the fitted ones (median over the fresh seeds), dated, with the axes
    of the run folder's camps.png ("people", plain counts with thousands separators).
    Drawn with matplotlib's object API (no pyplot, no `matplotlib.use`: a notebook keeps its backend)."""
    from ..outputs import mplconfig

    mplconfig.ensure()  # (a configuration folder matplotlib can write)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from ..outputs.plots import plain_counts, save_png

    cases = [c for c, curves in cal.series.items() if "observed" in curves]
    n = 1 + len(cases)
    fig = Figure(figsize=(4.2 * n, 3.4))
    axes = fig.subplots(1, n, squeeze=False)
    ax = axes[0, 0]
    losses = np.array([r["loss"] for r in cal.trials], dtype=float)
    ax.plot(np.arange(len(losses)), losses, ".", color="0.5", label="trial")
    ax.plot(np.arange(len(losses)), np.minimum.accumulate(np.where(np.isfinite(losses), losses, np.inf)),
            "-", color="C0", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # (trials are whole: no "trial 1.5")
    ax.set_xlabel("trial", fontsize=8)
    objective = cal.manifest.get("objective")
    ax.set_ylabel(f"loss{f' ({objective})' if objective else ''}, mean over cases", fontsize=8)
    ax.set_title("loss by trial (lower is better)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    seeds = cal.manifest.get("eval_replicas")
    over = f"median of {seeds} fresh seeds" if seeds else "median over fresh seeds"
    for ax, case in zip(axes[0, 1:], cases, strict=True):
        curves = cal.series[case]
        x, dated = _case_days(cal, case, len(curves["observed"]))
        ax.plot(x, curves["observed"], "k-", lw=1, label="observed")
        if "before" in curves:
            ax.plot(x, curves["before"], "-", color="0.6", lw=1,
                    label=f"own settings (loss {cal.before[case]['mean']:.3f})")
        if "after" in curves:
            ax.plot(x, curves["after"], "-", color="C3", lw=1.2,
                    label=f"fitted (loss {cal.after[case]['mean']:.3f})")
        ax.set_title(f"{case}: people in all camps\n(simulated: {over})", fontsize=9)
        ax.set_ylabel("people", fontsize=8)
        plain_counts(ax)
        ax.tick_params(labelsize=7)
        if dated:
            for tick in ax.get_xticklabels():
                tick.set_rotation(30)
                tick.set_horizontalalignment("right")
        else:
            ax.set_xlabel("day")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path, dpi=110)
