"""Ensembles: many seeded replicas (and sweeps of settings) reduced to quantile bands.

Why: one run of a stochastic model is an anecdote. An ensemble runs N replicas per variant with
seeds from `numpy.random.SeedSequence.spawn` (`engine.rng.replica_seeds`), on an executor (local
processes by default, or Dask), and reduces them to the mean and the 5/25/50/75/95 % quantiles per
day and per cell of every numeric variable that has a `day` dimension, plus the distribution of
each per-replica metric. Workers return only those arrays, never whole datasets. Every variant of
a sweep uses the same replica seeds (common random numbers): in the crisis engine that pairs the
replicas closely, in a Flee case hardly at all (its replicas part after the first decision the
settings change), so each variant's seed-by-seed difference from the first is reduced too
(`paired_differences`), with its own band. The same base seed gives the same bands, whatever the
executor or worker count.

>>> import corredor
>>> sc = corredor.load_scenario("../shared/data/flee/mali2012", hasten=10)  # doctest: +SKIP
>>> ens = run_ensemble(sc, replicas=20, seed=1)  # doctest: +SKIP
>>> ens.bands["population"].sel(stat="q50", variant="baseline")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import xarray as xr
import yaml

from ..engine import seed_text
from ..engine.rng import replica_seeds
from ..results import AGENTS, in_people, is_crisis, people_per_agent
from ..targets import check_replaceable, remove_stale_temporaries, swap_in, temporary_prefix
from .bands import NEAR_RANGE_RUNS, band_coverage, percent
from .compare import NO_VALUE_REASONS as COMPARE_NO_VALUE_REASONS
from .compare import stranded_peak_day

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Quantiles of every band, as fractions; their names in the `stat` coordinate are q05 ... q95.
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_NAMES: tuple[str, ...] = tuple(f"q{round(q * 100):02d}" for q in QUANTILES)
#: The `stat` coordinate of the bands: mean first, then the quantiles.
STATS: tuple[str, ...] = ("mean", *QUANTILE_NAMES)

#: Above this many bytes the per-replica arrays go to a memory-mapped file, not RAM.
_MEMMAP_BYTES = 256 * 2**20


# ---- settings overrides: --set key=value and --sweep key=v1,v2 -------------------------------


class OverrideError(ValueError):
    """A `--set`/`--sweep`/parameter key or value the scenario does not accept."""


#: A number with an exponent that YAML 1.1 reads as text ('1e6', '2E-3'): a float on the command line.
_EXPONENT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def parse_value(text: str) -> Any:
    """A command-line value as YAML scalar: '2' -> 2, '0.5' -> 0.5, '1e6' -> 1000000.0,
    'true' -> True, 'x' -> 'x'. A date that no calendar has ('2023-04-31') raises
    `OverrideError`: YAML's date constructor raised a ValueError, a traceback."""
    if _EXPONENT.fullmatch(text.strip()):
        return float(text)
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):  # (lists nested beyond the stack: kept as text)
        return text
    except (ValueError, OverflowError) as exc:  # (only its date and time constructors raise these)
        raise OverrideError(f"'{text.strip()}' is not a date ({exc}; expected YYYY-MM-DD)") from None
    return text if value is None and text.strip() not in ("null", "~") else value


def value_text(value: Any) -> str:
    """A parameter's value as a person types it, for a sweep point's name and the baseline's own
    value beside it: a whole number without ".0" (100 and 100.0 as "100", the model keeps its
    parameters as floats), others as Python writes them (0.25, 1e-05), a date as YYYY-MM-DD,
    true/false/null and lists as YAML reads them back (`parse_value` of it is the value again).

    >>> value_text(100.0), value_text(0.25), value_text(dt.date(2023, 4, 13)), value_text(True)
    ('100', '0.25', '2023-04-13', 'true')
    """
    if isinstance(value, bool | list | dict) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:  # (beyond: "1e+20")
        return str(int(value))
    return str(value)  # (a float's str is its repr: the shortest text that reads back the same)


def _key_said(key: str, text: str, option: str) -> Any:
    """`parse_value(text)` with the option and key a refused value belongs to in its message."""
    try:
        return parse_value(text)
    except OverrideError as exc:
        raise OverrideError(f"{option} {key}: {exc}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """'move_rules.camp_weight=2' -> ('move_rules.camp_weight', 2)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise OverrideError(f"expected key=value, found '{text}'")
    return key.strip(), _key_said(key.strip(), value.strip(), "--set")


#: Most values one `--sweep` range may make (the runs' limit is checked after, on the product).
MAX_RANGE_VALUES = 1_000_000


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def parse_range(key: str, text: str) -> list[Any] | None:
    """'10..50/20' -> [10, 30, 50]; '2023-04-06..2023-04-20/7' -> three dates a week apart; the
    step defaults to 1 (a day for dates); b is included where a step lands on it ('0..10/4' ->
    [0, 4, 8]: a step that does not divide the width stops short of b). None when `text` is not a
    range (its ends are not both numbers or both dates): then it is a plain value."""
    span, slash, step_text = text.partition("/")
    lo_text, dots, hi_text = span.partition("..")
    if not dots:
        return None
    lo, hi = (_key_said(key, t.strip(), "--sweep") for t in (lo_text, hi_text))
    dates = all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in (lo, hi))
    if not dates and not (_is_number(lo) and _is_number(hi)):
        return None
    step = _key_said(key, step_text.strip(), "--sweep") if slash else 1  # ("a..b/" gives no step: refused)
    if not _is_number(step) or step <= 0 or (dates and not isinstance(step, int)):
        what = "a whole number of days" if dates else "a number"
        raise OverrideError(f"--sweep {key}: the range {text}'s step: expected {what} above 0, "
                            f"found '{step_text.strip()}'")
    width = (hi - lo).days if dates else hi - lo
    if width < 0:
        raise OverrideError(f"--sweep {key}: the range {text} is empty (its end comes before its start)")
    ratio = width / step  # (infinite for -1e308..1e308 or a step of 1e-308: no count to floor)
    count = math.floor(ratio + 1e-9) + 1 if math.isfinite(ratio) else MAX_RANGE_VALUES + 1
    if count > MAX_RANGE_VALUES:
        many = f"{count:,}" if math.isfinite(ratio) else "too many"
        raise OverrideError(f"--sweep {key}: the range {text} makes {many} values, more than "
                            f"{MAX_RANGE_VALUES:,}")
    if dates:
        return [lo + dt.timedelta(days=k * step) for k in range(count)]
    if all(isinstance(v, int) for v in (lo, hi, step)):
        return [lo + k * step for k in range(count)]
    return [float(f"{lo + k * step:.12g}") for k in range(count)]  # (0.1 steps print as 0.3, not 0.30000000000000004)


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """'move_rules.camp_weight=1,2,4' -> ('move_rules.camp_weight', [1, 2, 4]); an item `a..b` or
    `a..b/step` is the range from a up to b (b included where a step lands on it) in steps of
    `step` (default 1; days for dates): 'crisis.bribe_price_usd=0..100/25',
    'crisis.peru_block=2023-03-30..2023-04-27/7'."""
    key, sep, values = text.partition("=")
    items = [v.strip() for v in values.split(",")] if sep else []
    if not key.strip() or not items or any(not v for v in items):
        raise OverrideError(f"expected key=v1,v2,... or key=a..b/step, found '{text}'")
    parsed: list[Any] = []
    for item in items:
        values_of = parse_range(key.strip(), item)
        parsed.extend(values_of if values_of is not None else [_key_said(key.strip(), item, "--sweep")])
        if len(parsed) > MAX_RANGE_VALUES:
            raise OverrideError(f"--sweep {key.strip()}: more than {MAX_RANGE_VALUES:,} values")
    seen: set[Any] = set()
    twice_set: set[str] = set()  # (in one pass: a range may make a million values)
    for v in parsed:
        k = (isinstance(v, bool), v if isinstance(v, Hashable) else value_text(v))  # (true is not 1, but 1.0 is 1)
        if k in seen:
            twice_set.add(value_text(v))
        seen.add(k)
    twice = sorted(twice_set)
    if twice:  # (two variants with one label, the same runs twice)
        raise OverrideError(f"--sweep {key.strip()}: {', '.join(twice)} is given twice")
    return key.strip(), parsed


def apply_overrides(scenario: Any, overrides: Mapping[str, Any]) -> Any:
    """A copy of `scenario` with dotted settings replaced: {'move_rules.camp_weight': 2}.

    `section.key` addresses `scenario.settings`; `crisis.key` a behaviour parameter of a border-
    crisis scenario. Unknown keys and refused values raise `OverrideError` with a suggestion.
    The copy's `metadata["overrides"]` holds every value applied so far (a second call adds to
    the first's, a key given again keeps its last value): the run's manifest writes it as `set`,
    so that `apply_overrides(load_scenario(source), set)` is the scenario that ran.
    Its `metadata["override_warnings"]` holds the warnings of this call's values, as text
    (`analysis.overrides.override_warnings`: a date outside the run, policy rows the new dates make
    overlap or leave a gap, a setting or parameter whose value changes nothing here); the
    commands print them, as the loader's own warnings are in `metadata["warnings"]`.
    """
    from ..scenario.model import CRISIS_HASTEN, CRISIS_UNREAD_SECTIONS, crisis_unread
    from ..scenario.problems import shown
    from ..scenario.settings import Settings, no_effect_reason, suggest
    from .overrides import override_warnings

    sections: dict[str, dict[str, Any]] = {}
    crisis_params: dict[str, Any] = {}
    fields = Settings.model_fields
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if section == "crisis":
            crisis = getattr(scenario, "crisis", None)
            known = dict(crisis.parameters) if crisis is not None else {}
            if crisis is None:
                raise OverrideError(f"'{dotted}': this scenario has no border-crisis parameters")
            if key not in known:
                raise OverrideError(f"unknown crisis parameter '{key}'{suggest(key, set(known))}")
            crisis_params[key] = value
            continue
        crisis = getattr(scenario, "crisis", None)
        if crisis is not None and dotted in crisis.parameters:  # `late_factor` for `crisis.late_factor`
            raise OverrideError(f"unknown setting '{dotted}' (did you mean 'crisis.{dotted}'? a "
                                "border-crisis parameter is addressed as crisis.<name>)")
        if crisis is not None and section in CRISIS_UNREAD_SECTIONS:
            raise OverrideError(f"'{dotted}': {crisis_unread(section)}")
        if crisis is not None and dotted == "optimisations.hasten" and (isinstance(value, bool) or value != 1):
            raise OverrideError(f"'{dotted}': {CRISIS_HASTEN}")  # (1 is what runs, as `hasten = 1` in the file)
        if (why := no_effect_reason(dotted)) is not None:  # (a warning in a file: it loads as in Flee)
            raise OverrideError(f"'{dotted}' changes no run in corredor: {why}. Only settings "
                                "that change a run can be set or fitted")
        if section not in fields or section == "log_levels" or not key:
            choices = {f"{s}.{k}" for s in fields if s != "log_levels"
                       for k in fields[s].annotation.model_fields}  # type: ignore[union-attr]
            raise OverrideError(f"unknown setting '{dotted}'{suggest(dotted, choices)}")
        model = fields[section].annotation
        if key not in model.model_fields:  # type: ignore[union-attr]
            keys = set(model.model_fields)  # type: ignore[union-attr]
            raise OverrideError(f"unknown setting '{dotted}'{suggest(key, keys)}")
        sections.setdefault(section, {})[key] = value
    out = scenario
    if sections:
        try:
            out = out.with_settings(**sections)
        except Exception as exc:  # pydantic ValidationError: say which key and value
            errors = getattr(exc, "errors", None)
            if callable(errors):
                msgs = [
                    f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')} "
                    f"(found {shown(e.get('input'))})"
                    for e in errors()
                ]
                raise OverrideError("; ".join(msgs)) from None
            raise OverrideError(str(exc)) from None
    if crisis_params:
        from ..scenario.native_crisis import (
            count_parameters,
            date_parameter_problem,
            parameter_problem,
            probability_parameters,
        )

        crisis = out.crisis
        probabilities = probability_parameters(crisis)
        counts = count_parameters(crisis)  # (a corridor's size, a shelter's places: whole numbers)
        for key, value in crisis_params.items():
            if key in crisis.date_parameters:  # (a date: kept as days since the start date)
                problem = date_parameter_problem(key, value, out.start_date)
                if problem is None:
                    crisis_params[key] = float((value - out.start_date).days)
            else:
                problem = parameter_problem(key, value, key in probabilities, counts.get(key))
            if problem is not None:
                raise OverrideError(problem)
        params = {**dict(crisis.parameters), **crisis_params}
        out = dataclasses.replace(out, crisis=dataclasses.replace(crisis, parameters=params))
    if overrides:  # (what was applied, as given: a date parameter's date, not its day number)
        applied = {**dict(scenario.metadata.get("overrides") or {}), **dict(overrides)}
        warned = tuple(override_warnings(scenario, out, overrides))
        meta = {k: v for k, v in scenario.metadata.items() if k != "override_warnings"}
        # (the key only where this call's values warn: values that do not are the same scenario
        # as `with_parameters` makes of them)
        out = dataclasses.replace(out, metadata={**meta, "overrides": applied,
                                                 **({"override_warnings": warned} if warned else {})})
    return out


def replay_overrides(scenario: Any, applied: Mapping[str, Any]) -> Any:
    """`apply_overrides` for a manifest's `set` as JSON holds it: a date parameter's value is ISO
    text there ("2023-04-20", JSON has no dates), read back as the date it was. Why:
    apply_overrides takes a date only as a date (text is what a quoted date in a TOML file gives,
    refused there with a hint), so `source` + `set` + seed did not replay a run that moved a date."""
    import datetime as dt

    crisis = getattr(scenario, "crisis", None)
    dates = set(getattr(crisis, "date_parameters", ()) or ())

    def value(key: str, v: Any) -> Any:
        if key.startswith("crisis.") and key.removeprefix("crisis.") in dates and isinstance(v, str):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                return v  # (apply_overrides says what is wrong with it)
        return v

    return apply_overrides(scenario, {k: value(k, v) for k, v in applied.items()})


#: The label of the scenario as given, unchanged but for `--set` (no sweep): `compare`'s name
#: for the scenario its variants are compared with.
BASELINE = "baseline"


@dataclass(frozen=True)
class Variant:
    """One point of a sweep: a label and the dotted overrides it applies."""

    label: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


def unique_name(name: str, taken: Collection[str]) -> str:
    """`name`, or where `taken` has it `name-2`, `name-3`, … (the first free one): the rows of two
    scenarios, cases or variants given one name must not merge. One scheme for every command
    (calibrate's cases, compare's variants and sweep points).

    >>> unique_name("bribe-55", ["baseline", "bribe-55", "bribe-55-2"])
    'bribe-55-3'
    """
    unique, k = name, 2
    while unique in taken:
        unique, k = f"{name}-{k}", k + 1
    return unique


def point_name(key: str, value: Any, meaning: str | None = None) -> str:
    """One parameter of a sweep point's name, `key=value`, as `compare` and `ensemble` both name
    their points: a border-crisis parameter without its `crisis.` (every parameter name lacks a
    dot, every setting has one, so the two cannot be confused), a setting with its section, the
    value as typed (`value_text`), then what the value means where it is not what it reads as
    (`meaning`: `native_crisis.zero_meaning`'s "no paid passage" of a price of 0).

    >>> point_name("crisis.bribe_price_usd", 0.0), point_name("move_rules.camp_weight", 2)
    ('bribe_price_usd=0', 'move_rules.camp_weight=2')
    >>> point_name("crisis.bribe_price_usd", 0.0, "no paid passage")
    'bribe_price_usd=0 (no paid passage)'
    """
    return f"{key.removeprefix('crisis.')}={value_text(value)}" + (f" ({meaning})" if meaning else "")


def build_variants(
    settings: Mapping[str, Any] | None = None, sweeps: Sequence[tuple[str, list[Any]]] = (),
    base_label: str = BASELINE, meaning: Callable[[str, Any], str | None] | None = None,
) -> list[Variant]:
    """The cartesian product of the sweeps, each with the common `settings` applied first and
    named by its values (`point_name`, joined by commas: "peru_block=2023-04-06,bribe_price_usd=0");
    without sweeps one variant, `base_label` (the CLI passes a policy variant's name).
    `meaning(key, value)`: what a value means where its name would mislead, said in brackets
    after it ("bribe_price_usd=0 (no paid passage)"; the CLI passes `native_crisis.zero_meaning`
    of the scenario swept)."""
    base = dict(settings or {})
    if not sweeps:
        return [Variant(base_label, base)]
    keys = [k for k, _ in sweeps]
    if len(set(keys)) != len(keys):
        raise OverrideError("each --sweep key may appear once")
    both = sorted(set(keys) & set(base))
    if both:  # (the sweep would silently replace the --set value)
        raise OverrideError(f"{', '.join(both)} is both --set and --sweep; give it in one of them")
    out = []
    for combo in itertools.product(*(values for _, values in sweeps)):
        over = {**base, **dict(zip(keys, combo, strict=True))}
        label = ",".join(point_name(k, v, meaning(k, v) if meaning is not None else None)
                         for k, v in zip(keys, combo, strict=True))
        out.append(Variant(label, over))
    return out


# ---- per-replica work (runs inside workers) --------------------------------------------------


@dataclass(frozen=True)
class ReplicaTask:
    """Run replica `replica` of variant `variant` with `seed`; `template` asks for the layout."""

    variant: int
    replica: int
    seed: int
    template: bool = False


@dataclass
class ReplicaOutput:
    """What a worker sends back: band arrays (float32), scalar metrics, and maybe the layout."""

    variant: int
    replica: int
    seed: int
    arrays: dict[str, np.ndarray]
    metrics: dict[str, float]
    template: xr.Dataset | None = None
    manifest: dict[str, Any] | None = None


@dataclass(frozen=True)
class EnsembleShared:
    """Sent once to each worker: the compiled plans (one per variant) and how to run them."""

    plans: tuple[Any, ...]
    simulate_fn: Callable[..., Any] | None = None
    metric_fn: Callable[[Any], Mapping[str, float]] | None = None
    engine: str = "auto"
    threads: int | None = 1


def band_variables(ds: xr.Dataset) -> list[str]:
    """Variables that get bands: numeric, with a `day` dimension, not observations (inputs)."""
    return [
        str(name)
        for name, da in ds.data_vars.items()
        if "day" in da.dims
        and np.issubdtype(da.dtype, np.number)
        and not str(name).startswith("observed")
    ]


#: Per-replica metrics that are a day (0 = the start date), not an amount: the CLI's table and the
#: report page give them as dates (`outputs.formatting.day_date`), metrics.csv a date beside each.
DAY_METRICS: tuple[str, ...] = ("stranded_peak_day",)

#: Why a per-replica metric can have no value (NaN), for the notes under the CLI's table:
#: compare's, and the day of a peak there never was.
NO_VALUE_REASONS: dict[str, str] = {**COMPARE_NO_VALUE_REASONS, "stranded_peak_day": "nobody was stranded"}

#: Metric keys that ensemble folders of earlier versions wrote -> the key each is now (compare's,
#: `compare.METRIC_LABELS`): where a folder is read (`current_metric_keys`), so that one written
#: before the names were made one still opens in `corredor report`, its figures under today's labels.
OLD_METRIC_KEYS: dict[str, str] = {"stranded_peak": "peak_stranded"}


def current_metric_keys(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """`metrics` (a variant's part of metrics_summary.json, or a row of metrics.csv) with each
    old key (OLD_METRIC_KEYS) renamed to today's, in its place; an old key whose new one is there
    too is left out (the new one is what this version wrote)."""
    return {OLD_METRIC_KEYS.get(k, k): v for k, v in metrics.items()
            if not (k in OLD_METRIC_KEYS and OLD_METRIC_KEYS[k] in metrics)}


def default_metrics(results: Any) -> dict[str, float]:
    """Per-replica scalars: the manifest's numeric metrics (e.g. ARD) and a few totals; for a
    border-crisis run also `compare`'s policy and supplies metrics (give-ups, money paid, days
    until nobody is stranded, water, rations, ...), so an ensemble gives their spread too. Each
    under compare's key (`compare.METRIC_LABELS`): `peak_stranded`, not the `stranded_peak` of
    earlier versions (OLD_METRIC_KEYS).

    `stranded_peak_day`: the day (0 = the start date) the most people were stranded, all places
    together (the first such day on a tie); NaN where nobody ever was. Why per replica: the
    median of the daily counts peaks on one day, but each replica's own busiest day can differ,
    and their spread is what a planner readying for the peak needs."""
    out: dict[str, float] = {}
    for key, value in (getattr(results, "manifest", {}) or {}).get("metrics", {}).items():
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            out[str(key)] = float(value)
    ds = results.dataset
    if "total_people" in ds:
        out.setdefault("people_final", float(in_people(ds[["total_people"]])["total_people"].values[-1]))
    if "stranded" in ds:
        daily = ds["stranded"].sum([d for d in ds["stranded"].dims if d != "day"]).values
        out.setdefault("peak_stranded", float(np.max(daily)) if daily.size else 0.0)
        out.setdefault("stranded_peak_day", stranded_peak_day(ds))
        out.setdefault("stranded_person_days", float(np.sum(daily)))
    if is_crisis(ds):  # (the two stranded figures are above already)
        from .compare import needs_metrics, policy_metrics, waiting_metrics

        for key, value in {**policy_metrics(ds), **waiting_metrics(ds), **needs_metrics(ds)}.items():
            if key not in ("peak_stranded", "stranded_person_days"):
                out.setdefault(key, value)
    return out


def prepare(scenario: Any) -> Any:
    """What replicas share: the compiled Plan, or the Scenario itself for border-crisis runs.

    (Crisis scenarios are compiled inside `simulate`, which dispatches them to the crisis engine.)
    """
    if getattr(scenario, "crisis", None) is not None:
        return scenario
    from ..plan import compile_plan

    return compile_plan(scenario)


def _simulate(shared: EnsembleShared, plan: Any, seed: int) -> Any:
    fn = shared.simulate_fn
    if fn is None:
        from ..simulate import simulate

        fn = simulate
    return fn(plan, seed=seed, engine=shared.engine, threads=shared.threads)


def run_replica(shared: EnsembleShared, task: ReplicaTask) -> ReplicaOutput:
    """Worker function: simulate one replica and keep only what the reduction needs."""
    results = _simulate(shared, shared.plans[task.variant], task.seed)
    ds = results.dataset
    names = band_variables(ds)
    arrays = {n: np.asarray(ds[n].transpose("day", ...).values, dtype=np.float32) for n in names}
    metric_fn = shared.metric_fn or default_metrics
    metrics = {str(k): float(v) for k, v in metric_fn(results).items()}
    template = None
    manifest = None
    if task.template:
        keep = [n for n in ds.data_vars if str(n).startswith("observed")]
        template = ds[keep].copy() if keep else ds.drop_vars(list(ds.data_vars))
        for n in names:  # zero-size stand-ins carry dims, coords and attrs of each band variable
            template[f"__layout__{n}"] = ds[n].transpose("day", ...).isel(day=slice(0, 0))
        manifest = dict(getattr(results, "manifest", {}) or {})
    return ReplicaOutput(task.variant, task.replica, task.seed, arrays, metrics, template, manifest)


# ---- reduction -------------------------------------------------------------------------------


#: The memory maps' folder in the temp dir, named as the writers' temporaries are
#: (`.corredor-ens.PID-HOST.RANDOM.tmp`) so that a hard-killed ensemble's is known and removed.
_STORE_NAME = "corredor-ens"


class _Store:
    """(replicas, day, ...) float32 arrays per variable and variant, in RAM or memory-mapped.

    The maps live in a folder of the temp dir ($TMPDIR) that `close` removes; one left by an
    ensemble killed hard (SIGKILL, the OOM killer) is removed by the next ensemble on this
    machine (`targets.remove_stale_temporaries`), never a live process's or another machine's."""

    def __init__(self, n_variants: int, n_replicas: int, shapes: Mapping[str, tuple[int, ...]]):
        self.shapes = dict(shapes)
        total = 4 * n_variants * n_replicas * sum(math.prod(s) for s in shapes.values())
        scratch = tempfile.gettempdir()  # ($TMPDIR: where the user wants big scratch files)
        remove_stale_temporaries(scratch, _STORE_NAME)  # (a hard-killed ensemble's: GBs, for good)
        self._dir = (tempfile.mkdtemp(prefix=temporary_prefix(_STORE_NAME), suffix=".tmp", dir=scratch)
                     if total > _MEMMAP_BYTES else None)
        self.data: dict[tuple[int, str], np.ndarray] = {}
        try:
            for v in range(n_variants):
                for name, shape in shapes.items():
                    full = (n_replicas, *shape)
                    if self._dir is None:
                        arr = np.full(full, np.nan, dtype=np.float32)
                    else:
                        path = os.path.join(self._dir, f"{v}-{len(self.data)}.f32")
                        arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                                        shape=full)
                    self.data[(v, name)] = arr
        except BaseException:  # (a full disk, a stop: the caller has no store to close, and the
            self.close()       # folder, with the maps already made, was left in the temp dir)
            raise

    def put(self, out: ReplicaOutput) -> None:
        for name, arr in out.arrays.items():
            if name not in self.shapes or arr.shape != self.shapes[name]:
                raise RuntimeError(
                    f"replica {out.replica} returned '{name}' with shape {arr.shape}, "
                    f"expected {self.shapes.get(name)}"
                )
            self.data[(out.variant, name)][out.replica] = arr

    def bands(self, variant: int, name: str) -> np.ndarray:
        """(stat, day, ...) mean and quantiles over replicas, computed a few days at a time."""
        src = self.data[(variant, name)]
        n_rep, n_day = src.shape[0], src.shape[1]
        per_day = max(1, n_rep * math.prod(src.shape[2:]) * 8)
        step = max(1, min(n_day, (64 * 2**20) // per_day))
        out = np.empty((len(STATS), *src.shape[1:]), dtype=np.float64)
        for d0 in range(0, n_day, step):
            block = np.asarray(src[:, d0 : d0 + step], dtype=np.float64)
            out[0, d0 : d0 + step] = block.mean(axis=0)
            out[1:, d0 : d0 + step] = np.quantile(block, QUANTILES, axis=0)
        return out

    def close(self) -> None:
        """Drop the arrays and remove the memory maps' folder; safe to call twice."""
        self.data.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def summarize_metrics(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Reduce per-seed metric dicts to {metric: {n, mean, sd, min, q05, q25, q50, q75, q95, max}}.

    Reusable wherever replicas give scalars (ensembles, policy comparison, calibration). Keys
    that are not numbers are skipped; NaN values are left out of a metric's count. The sd of a
    single value is NaN (undefined, not 0: one replica says nothing of the spread), as is every
    statistic of a metric no replica has; metrics_summary.json writes them as null. A 5–95 % band
    of n values holds on average 90 % × (n − 1)/(n + 1) of runs (`bands.band_coverage`).

    >>> summarize_metrics([{"ard": 0.2}, {"ard": 0.4}])["ard"]["q50"]
    0.30000000000000004
    """
    values: dict[str, list[float]] = {}
    for row in rows:
        for key, v in row.items():
            if isinstance(v, int | float | np.number) and not isinstance(v, bool):
                values.setdefault(str(key), []).append(float(v))
    out: dict[str, dict[str, float]] = {}
    for key, vals in values.items():
        arr = np.asarray(vals, dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            out[key] = {"n": 0.0, **{s: math.nan for s in ("mean", "sd", "min", *QUANTILE_NAMES, "max")}}
            continue
        qs = np.quantile(arr, QUANTILES)
        out[key] = {
            "n": float(arr.size),
            "mean": float(arr.mean()),
            "sd": float(arr.std(ddof=1)) if arr.size > 1 else math.nan,
            "min": float(arr.min()),
            **{name: float(q) for name, q in zip(QUANTILE_NAMES, qs, strict=True)},
            "max": float(arr.max()),
        }
    return out


#: Below this many replicas the 5–95 % band is close to the replicas' range and holds well under
#: 90 % of runs (`bands.band_coverage`: 81 % at 20, 45 % at 3): the CLI warns and the page says so.
FEW_REPLICAS = NEAR_RANGE_RUNS


def few_replicas_note(n: int) -> str | None:
    """What the 5–95 % band holds at `n` replicas, where that is far from 90 % (n < FEW_REPLICAS);
    None from FEW_REPLICAS on. Why: "5–95 %" reads as "90 % of runs", which an empirical band of n
    replicas holds only on average 0.9 (n − 1)/(n + 1) of (`bands.band_coverage`); at 3, 45 %."""
    if n >= FEW_REPLICAS:
        return None
    if n == 1:
        return ("with 1 replica the '5–95 %' and '25–75 %' bands are its value alone and its sd is "
                "undefined; run more replicas (-n) for a spread")
    outer, inner = percent(band_coverage(n)), percent(band_coverage(n, 0.25, 0.75))
    return (f"with {n} replicas the '5–95 %' band holds on average {outer} of runs, not 90 % (a band "
            f"of n replicas holds 90 % × (n − 1)/(n + 1): its ends lie near the lowest and the highest "
            f"value), and the '25–75 %' band {inner}, not 50 %; more replicas (-n) bring it nearer 90 % "
            f"({percent(band_coverage(FEW_REPLICAS))} at {FEW_REPLICAS}, {percent(band_coverage(100))} "
            "at 100)")


def paired_differences(rows: Sequence[Mapping[str, Any]], labels: Sequence[str]
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """Each variant after the first: per metric, `summarize_metrics` of its value minus the first
    variant's on the same replica (the same seed), over the replicas where both have one, with
    `r`, the correlation of the two variants' values over those replicas (NaN below 3 pairs or
    where either is constant), and `se`, the standard error of the mean difference (sd/√n).

    Why: every variant runs the same seeds, but that pairs the replicas only as long as their
    random numbers stay aligned. The crisis engine's do (a policy moves a figure by a few people
    on every seed); a Flee case's replicas part after the first decision a setting changes, so
    their values barely correlate (a review measured r = 0.06–0.37 on mali2012) and the difference
    between two variants' medians can be seed noise. This band says which it is."""
    if len(labels) < 2:
        return {}
    ids = ("variant", "replica", "seed")
    by_variant: dict[str, dict[int, Mapping[str, Any]]] = {label: {} for label in labels}
    for row in rows:
        if row.get("variant") in by_variant:
            by_variant[str(row["variant"])][int(row["replica"])] = row
    first = by_variant[labels[0]]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label in labels[1:]:
        own = by_variant[label]
        names = list(dict.fromkeys(k for r in [*first.values(), *own.values()] for k in r if k not in ids))
        stats: dict[str, dict[str, float]] = {}
        for name in names:
            pairs = [(_number(own[r].get(name)), _number(first[r].get(name))) for r in sorted(own) if r in first]
            pairs = [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
            s = summarize_metrics({name: a - b} for a, b in pairs).get(name)
            if s is None:  # (no replica of either has it as a number)
                s = summarize_metrics([{name: math.nan}])[name]
            x = np.array([a for a, _ in pairs])
            y = np.array([b for _, b in pairs])
            r = (float(np.corrcoef(x, y)[0, 1]) if len(pairs) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0
                 else math.nan)
            se = s["sd"] / math.sqrt(s["n"]) if s["n"] > 1 else math.nan
            stats[name] = {**s, "se": se, "r": r}
        out[label] = stats
    return out


def _number(v: Any) -> float:
    """A metric value as a float; NaN for anything that is not a number."""
    if isinstance(v, int | float | np.number) and not isinstance(v, bool):
        return float(v)
    return math.nan


def json_nulls(obj: Any) -> Any:
    """`obj` with every NaN or infinite float as None: JSON has no NaN (Python writes a bare
    `NaN` that strict readers, jq and JavaScript refuse), and null says "undefined"."""
    if isinstance(obj, dict):
        return {k: json_nulls(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_nulls(v) for v in obj]
    if isinstance(obj, float | np.floating) and not math.isfinite(float(obj)):
        return None
    return obj


# ---- the ensemble ----------------------------------------------------------------------------


@dataclass
class Ensemble:
    """Reduced replicas: `bands` (variant × stat × day × ...), per-replica `metrics`, manifest."""

    bands: xr.Dataset
    metrics: list[dict[str, Any]]
    summary: dict[str, dict[str, dict[str, float]]]
    manifest: dict[str, Any]
    #: a crisis scenario's dated observations, as a run folder's observations.json holds them;
    #: its lower bounds and peaks with each replica's figure (`observation_replicas`)
    observations: list[dict[str, Any]] = field(default_factory=list)
    #: each variant after the first: its seed-by-seed difference from the first, per metric
    #: (`paired_differences`); empty without a sweep
    differences: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line, whatever the replica count (the dataclass's showed every per-replica row:
        9 KB at 20 replicas)."""
        variants = [str(v) for v in self.bands.coords["variant"].values] if "variant" in self.bands.coords else []
        return (f"Ensemble(scenario={self.manifest.get('scenario')!r}, variants={variants}, "
                f"replicas={self.manifest.get('replicas', len(self.metrics))}, "
                f"bands={list(self.bands.data_vars)})")

    def metric_table(self) -> Any:
        """Per-replica metrics as a pandas DataFrame (variant, replica, seed, metrics...)."""
        import pandas as pd

        return pd.DataFrame(self.metrics)


def metrics_csv(rows: Sequence[Mapping[str, Any]], start_date: dt.date | str | None = None) -> str:
    """metrics.csv text: a header, an HXL hashtag row, one row per replica, written as every
    corredor CSV (`outputs.tables.hxl_csv_text`: CRLF, each float exactly, no exponent; HXL tools
    and pandas with `skiprows=[1]` read it alike). Beside each day metric (DAY_METRICS, e.g.
    `stranded_peak_day`) its date (`stranded_peak_date`, `#date+stranded_peak`) when `start_date`
    is known, as the band tables write a date beside each day."""
    from ..outputs.formatting import day_date
    from ..outputs.tables import hxl_attribute, hxl_csv_text

    def date_of(value: Any) -> str:
        """A day metric's date; empty where a replica has none (None, NaN)."""
        return day_date(float(value), start_date) if value is not None and math.isfinite(float(value)) else ""

    ids = ("variant", "replica", "seed")
    names = list(dict.fromkeys(k for r in rows for k in r if k not in ids))
    # (header, HXL tag, the metric it shows, whether as its date)
    columns: list[tuple[str, str, str, bool]] = []
    for n in names:
        columns.append((n, f"#indicator+{hxl_attribute(n)}", n, False))
        if n in DAY_METRICS and start_date is not None:
            stem = n.removesuffix("_day")
            columns.append((f"{stem}_date", f"#date+{hxl_attribute(stem)}", n, True))
    header = [*ids, *(c for c, _, _, _ in columns)]
    tags = ["#meta+variant", "#meta+replica", "#meta+seed", *(t for _, t, _, _ in columns)]
    return hxl_csv_text(header, tags, ([str(r["variant"]), int(r["replica"]), int(r["seed"]),
                                        *(date_of(r.get(n)) if as_date else r.get(n)
                                          for _, _, n, as_date in columns)] for r in rows))


# ---- finished replicas kept beside the output, for --resume ----------------------------------


#: What `partial_path` adds to the output folder's name: the folder that keeps finished replicas.
PARTIAL_SUFFIX = ".partial"
#: The partial folder's record of the ensemble it belongs to (`ensemble_identity`).
PARTIAL_IDENTITY = "ensemble.json"
#: The format of that record and of each replica's file; another format is refused.
PARTIAL_FORMAT = 1
_REPLICA_FILE = re.compile(r"v(\d+)-r(\d+)\.npz")


class PartialMismatch(ValueError):
    """A partial folder kept by another ensemble (other scenario, options, seeds or code)."""


def partial_path(out: str | os.PathLike[str]) -> Path:
    """Where an ensemble written to `out` keeps its finished replicas: `OUT.partial` beside it
    (beside, not inside: the output folder appears only once complete, `atomic_dir`)."""
    out = Path(out)
    return out.with_name(out.name + PARTIAL_SUFFIX)


def _fn_name(fn: Any) -> str | None:
    return None if fn is None else f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def ensemble_identity(scenario: Any, variants: Sequence[Variant], replicas: int, seed: int,
                      engine: str = "auto", simulate_fn: Callable[..., Any] | None = None,
                      compile_fn: Callable[[Any], Any] | None = None,
                      metric_fn: Callable[[Any], Mapping[str, float]] | None = None) -> dict[str, Any]:
    """What a partial folder must match to be resumed: the scenario's digest and each variant's
    (its overrides applied: `provenance.scenario_digest`, which covers hasten and days), the
    variants' labels and overrides, replicas, base seed, engine, the functions that run and
    measure a replica, and corredor's source digest (replicas of other code must not be mixed
    into one ensemble). As JSON gives it back (dates as text), so that a record read from the
    folder compares equal."""
    from ..provenance import provenance, scenario_digest

    record = {
        "format": PARTIAL_FORMAT,
        "scenario": str(getattr(scenario, "name", scenario)),
        "scenario_sha256": scenario_digest(scenario),
        "variants": [{"label": v.label, "overrides": dict(v.overrides),
                      "sha256": scenario_digest(apply_overrides(scenario, v.overrides))}
                     for v in variants],
        "replicas": int(replicas),
        "base_seed_text": seed_text(int(seed)),
        "engine": engine,
        "simulate_fn": _fn_name(simulate_fn),
        "compile_fn": _fn_name(compile_fn),
        "metric_fn": _fn_name(metric_fn),
        "corredor_source": provenance().get("corredor_source"),
    }
    return cast(dict[str, Any], json.loads(json.dumps(record, default=_json_default)))


#: How a mismatch is said: the record's key -> what it is called in the refusal.
_IDENTITY_WORDS = {"scenario": "scenario", "scenario_sha256": "scenario's content",
                   "variants": "variants (--set, --sweep, or the scenario's content under them)",
                   "replicas": "replicas (-n)", "base_seed_text": "seed (--seed)", "engine": "engine (--engine)",
                   "simulate_fn": "simulate function", "compile_fn": "compile function",
                   "metric_fn": "metric function", "corredor_source": "corredor's code",
                   "format": "format (an earlier corredor version's)"}


def kept_replicas(folder: str | os.PathLike[str]) -> set[tuple[int, int]]:
    """(variant, replica) of each replica file in a partial folder; empty where there is none."""
    try:
        names = os.listdir(folder)
    except OSError:
        return set()
    return {(int(m[1]), int(m[2])) for n in names if (m := _REPLICA_FILE.fullmatch(n))}


def open_partial(folder: str | os.PathLike[str], identity: Mapping[str, Any]) -> set[tuple[int, int]]:
    """Make the partial folder `folder` for the ensemble `identity`, or check that the one there
    was made for it (PartialMismatch, naming what differs, where not; also where it holds no
    record); return the (variant, replica) it keeps. A replica file that cannot be read (a
    machine that lost power mid-write) and a killed writer's temporaries are removed: those
    replicas run again."""
    folder = Path(folder)
    record = folder / PARTIAL_IDENTITY
    if os.path.lexists(folder):
        try:
            found = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise PartialMismatch(f"{folder} exists but holds no record of an ensemble ({PARTIAL_IDENTITY}); "
                                  "remove it, or write the ensemble elsewhere (--out)") from None
        differ = [k for k in dict.fromkeys([*identity, *(found if isinstance(found, dict) else {})])
                  if not isinstance(found, dict) or found.get(k) != identity.get(k)]
        if differ:
            said = ", ".join(_IDENTITY_WORDS.get(k, k) for k in differ)
            raise PartialMismatch(f"{folder} keeps the replicas of another ensemble (its {said} "
                                  "differ from this command's); resume it with the command that made "
                                  "it, or remove it to start this ensemble afresh")
    else:
        folder.mkdir(parents=True)
        _write_atomically(record, (json.dumps(dict(identity), indent=2) + "\n").encode("utf-8"))
    kept = set()
    for name in os.listdir(folder):
        path = folder / name
        if name.endswith(".tmp"):  # (a writer killed between writing and renaming)
            path.unlink(missing_ok=True)
        elif (m := _REPLICA_FILE.fullmatch(name)) is not None:
            try:
                with np.load(path, allow_pickle=False) as z:
                    json.loads(str(z["meta"]))
                kept.add((int(m[1]), int(m[2])))
            except Exception:  # (unreadable: run it again)
                path.unlink(missing_ok=True)
    return kept


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a temporary beside it, renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def keep_replica(folder: str | os.PathLike[str], out: ReplicaOutput) -> None:
    """Keep one finished replica in the partial folder (`v{variant}-r{replica}.npz`: its band
    arrays as float32 and its seed and metrics as JSON, every float exactly), atomically."""
    import io

    names = list(out.arrays)
    meta = json.dumps({"variant": out.variant, "replica": out.replica, "seed": str(out.seed),
                       "names": names, "metrics": out.metrics})  # (NaN as NaN: read back by json)
    buf = io.BytesIO()
    files: dict[str, Any] = {"meta": np.array(meta), **{f"a{i}": out.arrays[n] for i, n in enumerate(names)}}
    np.savez(buf, **files)
    _write_atomically(Path(folder) / f"v{out.variant}-r{out.replica}.npz", buf.getvalue())


def load_replica(folder: str | os.PathLike[str], variant: int, replica: int) -> ReplicaOutput:
    """A replica kept by `keep_replica`, as the worker returned it (without the layout)."""
    with np.load(Path(folder) / f"v{variant}-r{replica}.npz", allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {n: np.asarray(z[f"a{i}"]) for i, n in enumerate(meta["names"])}
    return ReplicaOutput(int(meta["variant"]), int(meta["replica"]), int(meta["seed"]), arrays,
                         {str(k): float(v) for k, v in meta["metrics"].items()})


def to_run(kept: Collection[tuple[int, int]], n_variants: int, replicas: int) -> int:
    """How many replicas a resumed ensemble runs: those not kept, and the first, whose layout of
    the results is not kept (one replica: less than a file per replica would cost)."""
    return n_variants * replicas - len(set(kept) - {(0, 0)})


ProgressFn = Callable[[int, int], None]


def run_ensemble(
    scenario: Any,
    replicas: int,
    seed: int = 0,
    variants: Sequence[Variant] | None = None,
    executor: Any = None,
    engine: str = "auto",
    threads: int | None = 1,
    simulate_fn: Callable[..., Any] | None = None,
    compile_fn: Callable[[Any], Any] | None = None,
    metric_fn: Callable[[Any], Mapping[str, float]] | None = None,
    progress: ProgressFn | None = None,
    partial: str | os.PathLike[str] | None = None,
) -> Ensemble:
    """Run `replicas` seeded replicas of each variant and reduce them to bands and metrics.

    `executor` comes from `executors.make_executor` (default: serial in this process).
    Variant labels must differ (OverrideError): results, summary and bands are keyed by label.
    `simulate_fn(plan, seed=, engine=, threads=)` and `compile_fn(scenario)` default to corredor's
    own `simulate` and `compile_plan`; `metric_fn(results) -> {name: float}` to `default_metrics`.
    All three must be module-level functions for the process and Dask executors (a lambda with
    the local executor is a TypeError naming the argument, before anything runs).

    `partial`: a folder (`partial_path(out)`) that keeps each finished replica, so that an
    ensemble stopped midway (a signal, a lost worker, a crash) goes on where it was: given the
    same folder again, only the replicas it lacks run (and the first, for the results' layout),
    and the result is the same, bit for bit, as in one go. A folder made by another ensemble
    (`ensemble_identity`) is refused with PartialMismatch before anything runs. `progress(done,
    n)` then counts the replicas run in this call. The caller removes the folder once the
    ensemble's output is written.
    """
    from .executors import SerialExecutor, worker_refusal

    if int(replicas) < 1:
        raise ValueError(f"replicas must be at least 1, found {replicas}")
    if (why := worker_refusal(executor, simulate_fn=simulate_fn, metric_fn=metric_fn)) is not None:
        raise TypeError(why)
    replicas = int(replicas)
    variants = list(variants or [Variant(BASELINE)])
    labels = [v.label for v in variants]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:  # (rows, summary and bands are keyed by label: two variants would be merged as one)
        raise OverrideError(f"variant labels must differ; {', '.join(map(repr, twice))} is given twice")
    compile_fn = compile_fn or prepare
    started = time.perf_counter()
    plans = tuple(compile_fn(apply_overrides(scenario, v.overrides)) for v in variants)
    seeds = replica_seeds(seed, replicas)
    kept: set[tuple[int, int]] = set()
    if partial is not None:  # (checked before any work: another ensemble's replicas are refused)
        kept = open_partial(partial, ensemble_identity(scenario, variants, replicas, seed, engine,
                                                       simulate_fn, compile_fn, metric_fn))
    tasks = [
        ReplicaTask(v, r, s, template=(v == 0 and r == 0))
        for r, s in enumerate(seeds)
        for v in range(len(variants))
        if (v, r) not in kept or (v == 0 and r == 0)
    ]
    shared = EnsembleShared(plans, simulate_fn, metric_fn, engine, threads)
    ex = executor or SerialExecutor()
    store: _Store | None = None
    template: xr.Dataset | None = None
    first_manifest: dict[str, Any] = {}
    pending: list[ReplicaOutput] = []
    rows: list[dict[str, Any]] = []
    done = 0

    def row(out: ReplicaOutput) -> dict[str, Any]:
        return {"variant": variants[out.variant].label, "replica": out.replica, "seed": out.seed,
                **out.metrics}

    try:
        for out in ex.map_unordered(run_replica, shared, tasks):
            if partial is not None and (out.variant, out.replica) not in kept:
                keep_replica(partial, out)  # (before it counts as done: a stop now keeps it)
            if out.template is not None:
                template, first_manifest = out.template, out.manifest or {}
                shapes = {k: v.shape for k, v in out.arrays.items()}
                store = _Store(len(variants), replicas, shapes)
                for p in pending:
                    store.put(p)
                pending.clear()
                for v, r in sorted(kept - {(0, 0)}):  # (read one at a time: never all in RAM)
                    back = load_replica(cast(str, partial), v, r)  # (kept: partial was given)
                    store.put(back)
                    rows.append(row(back))
            if store is None:  # keep until the template replica arrives
                pending.append(out)
            else:
                store.put(out)
            rows.append(row(out))
            done += 1
            if progress is not None:
                progress(done, len(tasks))
        assert store is not None and template is not None
        bands = _bands_dataset(store, template, variants, plans)
        observations = observation_replicas(scenario, store, template, variants, plans)
    finally:
        if store is not None:
            store.close()
    order = {v.label: i for i, v in enumerate(variants)}
    rows.sort(key=lambda r: (order[r["variant"]], r["replica"]))
    summary = {
        v.label: summarize_metrics(
            {k: x for k, x in r.items() if k not in ("variant", "replica", "seed")}
            for r in rows if r["variant"] == v.label
        )
        for v in variants
    }
    manifest = _manifest(scenario, variants, seed, seeds, engine, ex, first_manifest,
                         time.perf_counter() - started, plans)
    bands.attrs.update({"replicas": replicas, "base_seed": int(seed),
                        "quantiles": list(QUANTILES)})
    differences = paired_differences(rows, [v.label for v in variants])
    return Ensemble(bands, rows, summary, manifest, observations, differences)


#: Observation kinds an ensemble checks replica by replica: a lower bound ("at least N") and a
#: reported peak (dated counts and ranges are checked against the bands, from observations.json).
REPLICA_KINDS = ("lower_bound", "peak")


def observation_replicas(scenario: Any, store: _Store, template: xr.Dataset, variants: Sequence[Variant],
                         plans: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """A crisis scenario's observations as a run folder's observations.json holds them
    (`outputs.tables.observations_for`), each lower bound and peak at a place and day of the run
    with `replicas`: {variant: [each replica's figure, in people]}, the figure a run's report sets
    against it (`observations.reported_figure`: the people there that day; for a peak, the most there up
    to that day). Why per replica: the bands are quantiles of each day's count, so they cannot
    say in how many replicas a bound is met, nor spread the replicas' own peaks. Empty for a
    Flee case (its observations are the `observed` variable)."""
    from types import SimpleNamespace

    from ..outputs.tables import observations_for
    from .observations import reported_figure

    crisis = getattr(scenario, "crisis", None)
    if crisis is None or "__layout__population" not in template:
        return []
    rows = observations_for(SimpleNamespace(dataset=template,
                                            manifest={"observations": list(crisis.observations)}),
                            scenario)
    names = [str(n) for n in template["__layout__population"]["location"].values]
    per_agent = _people_per_agent(template, variants, plans)
    n_days = store.shapes["population"][0]
    for row in rows:
        if row["kind"] not in REPLICA_KINDS or row["location"] not in names or not 0 <= row["day"] < n_days:
            continue
        j = names.index(row["location"])
        row["replicas"] = {
            v.label: [float(x) for x in reported_figure(store.data[(k, "population")][:, :, j] * per_agent[k],
                                                        row["day"], row["kind"])]
            for k, v in enumerate(variants)}
    return rows


def quantile_view(da: xr.DataArray) -> xr.DataArray:
    """The quantile rows of a band variable with a numeric `quantile` dimension (0.05 ... 0.95).

    For code that expects xarray's `quantile` convention, e.g. `outputs.plots.camps_figure`.
    """
    q = da.sel(stat=list(QUANTILE_NAMES))
    return q.rename(stat="quantile").assign_coords(quantile=list(QUANTILES))


def _bands_dataset(store: _Store, template: xr.Dataset, variants: Sequence[Variant],
                   plans: Sequence[Any] = ()) -> xr.Dataset:
    """Bands of people, as a run folder's tables: each variant's counts times its own people per
    agent (its plan's hasten: a sweep may change it), observations at the template's."""
    layout = {str(k)[len("__layout__"):]: template[k] for k in template.data_vars
              if str(k).startswith("__layout__")}
    base = template.drop_vars(list(layout and [f"__layout__{k}" for k in layout]))
    h0 = people_per_agent(template)
    per_agent = _people_per_agent(template, variants, plans)
    data_vars = {}
    for name, proto in layout.items():
        counts = proto.attrs.get("units") in (AGENTS, "people")
        stacked = np.stack([store.bands(v, name) * (per_agent[v] if counts else 1)
                            for v in range(len(variants))])
        dims = ("variant", "stat", *proto.dims)
        attrs = {**proto.attrs, "units": "people"} if counts else dict(proto.attrs)
        data_vars[name] = xr.DataArray(stacked, dims=dims, attrs=attrs)
    coords = {"variant": [v.label for v in variants], "stat": list(STATS)}
    ds = xr.Dataset(data_vars, coords=coords)
    ds = ds.assign_coords({k: c for k, c in base.coords.items() if k not in coords})
    observed = in_people(base.assign_attrs(people_per_agent=h0))
    for var in base.data_vars:  # observations: identical in every replica, kept once
        ds[var] = observed[var]
    ds.attrs["people_per_agent"] = 1  # every count above is in people
    return ds


def _people_per_agent(template: xr.Dataset, variants: Sequence[Variant], plans: Sequence[Any]) -> list[int]:
    """The people one counted agent stands for in each variant: its plan's hasten (a sweep may
    change it), else the template replica's."""
    from ..plan import Plan

    h0 = people_per_agent(template)
    return [p.hasten if isinstance(p, Plan) else h0 for p in plans] or [h0] * len(variants)


def _variant_hastens(scenario: Any, plans: Sequence[Any]) -> list[Any]:
    """The hasten each variant ran at: its plan's, since `--set`/`--sweep optimisations.hasten=…`
    changes it (the scenario's own hasten is then not what the counts were scaled by)."""
    from ..plan import Plan

    base = getattr(scenario, "hasten", None)
    return [p.hasten if isinstance(p, Plan) else base for p in plans]


def _manifest(
    scenario: Any, variants: Sequence[Variant], seed: int, seeds: list[int], engine: str,
    ex: Any, first: Mapping[str, Any], wall_s: float, plans: Sequence[Any] = (),
) -> dict[str, Any]:
    from .. import __version__
    from ..provenance import overrides_set, provenance, scenario_entry

    hastens = _variant_hastens(scenario, plans) or [getattr(scenario, "hasten", None)] * len(variants)
    replica_hash = ((first.get("scenario") or {}).get("sha256") if isinstance(first.get("scenario"), dict)
                    else first.get("scenario_hash"))  # (a stand-in scenario's: its replica's)
    entry = scenario_entry(scenario)
    if entry["sha256"] is None:
        entry["sha256"] = replica_hash
    changed = overrides_set(scenario)
    return {
        "kind": "ensemble",
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        # {name, sha256, source} as a run's manifest says it (the scenario given, before the variants)
        "scenario": entry,
        # (deprecated duplicates of scenario.source and scenario.sha256, for readers of 0.1 folders)
        "scenario_source": entry["source"],
        "scenario_hash": entry["sha256"],
        **({"set": changed} if changed else {}),  # what apply_overrides changed before the ensemble
        # one hasten for the whole ensemble, or null when a sweep varies it (each variant says its own)
        "hasten": hastens[0] if len(set(hastens)) == 1 else None,
        "days": getattr(scenario, "days", None),
        "start_date": getattr(scenario, "start_date", None),
        "engine": first.get("engine", engine),
        # the first replica's: which engine ran and why, and where the cohort engine ran a case
        # with camp capacities its `caveat` (approximate there: `simulate.capacity_caveat`)
        **({"engine_choice": first["engine_choice"]} if isinstance(first.get("engine_choice"), dict) else {}),
        "backend": first.get("backend"),
        "base_seed": int(seed),
        "base_seed_text": seed_text(seed),
        "replicas": len(seeds),
        "replica_seeds": [int(s) for s in seeds],
        # (the same as text, every digit: they pass 2^53, which jq, JavaScript and Excel round)
        "replica_seeds_text": [seed_text(s) for s in seeds],
        "variants": [{"label": v.label, "overrides": dict(v.overrides), "hasten": h}
                     for v, h in zip(variants, hastens, strict=True)],
        "executor": type(ex).__name__,
        "workers": int(getattr(ex, "workers", 1)),
        "quantiles": list(QUANTILES),
        "wall_s": round(wall_s, 3),
        "provenance": provenance(),
    }


# ---- files -----------------------------------------------------------------------------------


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dt.date | Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def atomic_dir(out: Path, force: bool, write: Callable[[Path], None],
               sources: Iterable[str | Path | None] = ()) -> Path:
    """Write a folder atomically: fill a temporary sibling, then rename it into place.

    An existing `out` is kept unless `force`; with `force` it is replaced only after the new
    folder is complete, so a failed run never leaves a half-written result, and never when it
    is the current folder, one above it, or a scenario folder in `sources` (targets.py). An
    `out` that is a scenario folder in `sources` or lies inside one is refused either way.
    """
    check_replaceable(out, sources, replace=force)
    if os.path.lexists(out) and not force:
        raise FileExistsError(f"{out} exists; use --force to replace it")
    return swap_in(out, write, replace=force)


#: Keys of the ensemble manifest that say how it was run, not what it gave: left out of the copy
#: each band table embeds (`corredor.manifest`), as a run's results.parquet leaves out its timing,
#: so that the same seeds give the same tables on any executor
BAND_VOLATILE_KEYS = ("created", "wall_s", "executor", "workers", "invocation")


def write_band_table(frame: Any, path: Path, manifest: Mapping[str, Any]) -> None:
    """One Parquet table of an ensemble folder (a band table, observed.parquet) with the ensemble's
    manifest embedded as schema metadata `corredor.manifest` (less `BAND_VOLATILE_KEYS`), as a
    run's results.parquet embeds its own.

    Why: a band file copied out of its folder still says which scenario, version and seeds made it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    from ..outputs.tables import stable_manifest

    # (nor the scenario's paths: `scenario_source`, the deprecated copy of scenario.source, too)
    stable = {k: v for k, v in stable_manifest(manifest, BAND_VOLATILE_KEYS).items()
              if k != "scenario_source"}
    meta = {**(table.schema.metadata or {}),
            b"corredor.manifest": json.dumps(stable, default=_json_default).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)


#: A sweep's seed-by-seed differences from its first variant (`paired_differences`).
DIFFERENCES_JSON = "metrics_differences.json"

#: label columns written beside a dimension of the bands' tables (read_bands takes them back as coords)
ROUTE_LABELS = {"route": ("route_from", "route_to")}
#: written beside `day` (the scenario's start date + day), read back as nothing: the day is the key
DAY_LABELS = ("date",)


def write_ensemble(ens: Ensemble, out: str | os.PathLike[str], force: bool = False, plot: bool = True) -> Path:
    """Write bands/<variable>.parquet, metrics.csv, metrics_summary.json, manifest.json
    [, metrics_differences.json] [, observations.json] [, plot].

    Each Parquet table is tidy: one row per (variant, day, cell) with columns mean, q05 ... q95.
    A sweep also gets metrics_differences.json (`Ensemble.differences`); a crisis ensemble
    observations.json, as a run folder does (`Ensemble.observations`). An undefined statistic
    (NaN: no replica had a value, the sd of one value) is null in the JSON files.
    """
    from ..outputs.tables import write_observations

    out = Path(out)

    def write(tmp: Path) -> None:
        (tmp / "bands").mkdir()
        for name in ens.bands.data_vars:
            da = ens.bands[name]
            if "stat" not in da.dims:
                continue
            frame = da.reset_coords(drop=True).to_dataset(dim="stat").to_dataframe().reset_index()
            for dim, labels in ROUTE_LABELS.items():  # links by their ends, as in a run folder
                if dim in frame.columns and all(c in ens.bands.coords for c in labels):
                    for c in reversed(labels):  # (each goes in right after the dimension)
                        ends = dict(zip(ens.bands[dim].values.tolist(), ens.bands[c].values.tolist(),
                                        strict=True))
                        frame.insert(frame.columns.get_loc(dim) + 1, c, frame[dim].map(ends))
            start = ens.manifest.get("start_date")
            if "day" in frame.columns and isinstance(start, dt.date):  # a date beside each day
                frame.insert(frame.columns.get_loc("day") + 1, "date",
                             [start + dt.timedelta(days=int(d)) for d in frame["day"]])
            write_band_table(frame, tmp / "bands" / f"{name}.parquet", ens.manifest)
        obs = [n for n in ens.bands.data_vars if "stat" not in ens.bands[n].dims]
        if obs:
            write_band_table(ens.bands[obs].reset_coords(drop=True).to_dataframe().reset_index(),
                             tmp / "observed.parquet", ens.manifest)
        (tmp / "metrics.csv").write_bytes(
            metrics_csv(ens.metrics, ens.manifest.get("start_date")).encode("utf-8"))
        (tmp / "metrics_summary.json").write_text(
            json.dumps(json_nulls(ens.summary), indent=2, default=_json_default) + "\n")
        if ens.differences:
            (tmp / DIFFERENCES_JSON).write_text(
                json.dumps(json_nulls(ens.differences), indent=2, default=_json_default) + "\n")
        write_observations(ens.observations, tmp)  # (a run folder's writer: the same file)
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        if plot:
            try:
                plot_bands(ens, tmp / "bands.png")
                files.append("bands.png")
            except Exception as exc:  # a figure must never cost the run's data
                ens.manifest["plot_error"] = str(exc)
        manifest = {**ens.manifest, "places": places(ens.bands), "files": files}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_default) + "\n")

    scen = ens.manifest.get("scenario")
    return atomic_dir(out, force, write, [scen.get("source") if isinstance(scen, dict)
                                          else ens.manifest.get("scenario_source")])


#: What the manifest keeps of each place (the bands' tables name places only): how the report
#: picks the places bands.png draws (`band_panels`) and titles them, from the folder alone.
PLACE_COORDS = ("label", "kind", "is_camp")


def places(bands: xr.Dataset) -> list[dict[str, Any]]:
    """[{name, label, kind, is_camp}] per location of the bands, each key where the results carry it."""
    if "location" not in bands.coords:
        return []
    coords = [c for c in PLACE_COORDS if c in bands.coords and bands[c].dims == ("location",)]
    out = []
    for j, name in enumerate(bands["location"].values.tolist()):
        place: dict[str, Any] = {"name": str(name)}
        for c in coords:
            value = bands[c].values[j]
            place[c] = bool(value) if c == "is_camp" else str(value)
        out.append(place)
    return out


def read_bands(folder: str | os.PathLike[str], names: Iterable[str] | None = None) -> xr.Dataset:
    """Read the bands written by `write_ensemble` back into a Dataset (variant × stat × ...);
    only the variables in `names` when given (the report reads two of a crisis run's 17)."""
    import pandas as pd

    arrays = {}
    paths = sorted((Path(folder) / "bands").glob("*.parquet"))
    if names is not None:
        wanted = set(names)
        paths = [p for p in paths if p.stem in wanted]
    for path in paths:
        frame = pd.read_parquet(path)
        labels = [c for labels in ROUTE_LABELS.values() for c in labels if c in frame.columns]
        labels += [c for c in DAY_LABELS if c in frame.columns]
        dims = [c for c in frame.columns if c not in STATS and c not in labels]
        ds = xr.Dataset.from_dataframe(frame.drop(columns=labels).set_index(dims))
        da = ds.to_array("stat").sel(stat=list(STATS))
        for dim, cols in ROUTE_LABELS.items():
            if dim in da.dims and all(c in labels for c in cols):
                first = frame.drop_duplicates(dim).set_index(dim)
                da = da.assign_coords({c: (dim, first.loc[da[dim].values, c].to_numpy()) for c in cols})
        arrays[path.stem] = da
    return xr.Dataset(arrays)


def band_panels(ds: xr.Dataset, variable: str = "population", max_panels: int = 9) -> tuple[str, Any, np.ndarray]:
    """What `plot_bands` draws: the variable (the first band variable if `variable` is absent),
    its bands stacked over a `cell` dimension, and the cells to draw, busiest first: a crisis
    run's sites (staging, shelter, camp), else the camps, else every place, leaving out any that
    is empty in every replica of every variant."""
    if variable not in ds:
        variable = cast(str, next(n for n in ds.data_vars if "stat" in ds[n].dims))  # (str names)
    da = ds[variable]
    cell_dims = [d for d in da.dims if d not in ("variant", "stat", "day")]
    if "location" in cell_dims:
        from .needs import crisis_sites

        site = crisis_sites(ds)  # (over every variant and stat of the bands)
        if site is not None and site.any():
            da = da.isel(location=np.flatnonzero(site))  # where people wait
        elif "is_camp" in da.coords and bool(da["is_camp"].any()):
            da = da.isel(location=np.flatnonzero(da["is_camp"].values))  # camps are what is observed
    if cell_dims:
        stacked = da.stack(cell=cell_dims)
        score = stacked.sel(stat="q50").isel(variant=0).max("day").values
        ever = np.nan_to_num(stacked.sel(stat="q95").max(["variant", "day"]).values) > 0
        order = np.argsort(-np.nan_to_num(score), kind="stable")
        order = (order[ever[order]] if ever.any() else order[:1])[:max_panels]
    else:
        stacked, order = da.expand_dims(cell=[variable]), np.array([0])
    return variable, stacked, order


def plot_bands(ens: Ensemble, path: Path, variable: str = "population", max_panels: int = 9) -> None:
    """Write `bands_figure` as a PNG at `path` (bands.png)."""
    from ..outputs.fonts import quiet_missing_glyphs
    from ..outputs.plots import save_png

    fig = bands_figure(ens, variable, max_panels)
    with quiet_missing_glyphs([fig], "ensemble plot"):
        save_png(fig, path, dpi=110)


def _band_x(ds: Any, start: Any) -> np.ndarray:
    """bands.png's x values: each day's date where the ensemble has a start date (its manifest's,
    a date or its ISO text), as the page's charts and camps.png draw them; else day numbers."""
    days = np.asarray(ds["day"].values)
    try:
        first = dt.date.fromisoformat(str(start)) if start is not None else None
    except ValueError:
        first = None
    if first is None:
        return days
    return np.datetime64(first, "D") + days.astype("timedelta64[D]")


def bands_figure(ens: Ensemble, variable: str = "population", max_panels: int = 9) -> Figure:
    """Median and 25–75 / 5–95 % bands of `variable` for the busiest places (`band_panels`), with
    observations; panels are titled with the places' labels where the results carry them.

    A crisis's reports (`ens.observations`) are marked as camps.png marks a run's
    (`plots.draw_observations`: counts as dots, ranges as vertical bars, lower bounds as upward
    triangles); a place without them gets the `observed` series as small dots (a Flee case). One
    legend, in a strip right of the panels (`plots.legend_beside`, as camps.png), names every mark
    of every panel once: inside the first panel it could cover a reported peak's dashed line.
    Drawn with matplotlib's object API, as outputs/plots.py draws: `matplotlib.use("Agg")` and
    pyplot switched a notebook's backend, so its own figures no longer showed."""
    from ..outputs import mplconfig

    mplconfig.ensure()  # (a configuration folder matplotlib can write)
    from matplotlib.figure import Figure

    from ..outputs.fonts import label_fonts
    from ..outputs.plots import LEGEND_STRIP_IN, draw_observations, legend_beside, plain_counts
    from .observations import DRAWN_KINDS

    ds = ens.bands
    variable, stacked, order = band_panels(ds, variable, max_panels)
    n = len(order)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    panels = 4.0 * cols
    width = panels + LEGEND_STRIP_IN
    fig = Figure(figsize=(width, 2.8 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    days = _band_x(ds, ens.manifest.get("start_date"))
    for ax, k in zip(axes.flat, order, strict=False):
        cell = stacked.isel(cell=int(k))
        for vi, label in enumerate(ds["variant"].values):
            c = cell.sel(variant=label)
            color = f"C{vi}"
            ax.fill_between(days, c.sel(stat="q05"), c.sel(stat="q95"), color=color, alpha=0.15, lw=0)
            ax.fill_between(days, c.sel(stat="q25"), c.sel(stat="q75"), color=color, alpha=0.3, lw=0)
            ax.plot(days, c.sel(stat="q50"), color=color, lw=1.2, label=str(label))
        name = cell["cell"].values.item() if "cell" in cell.coords else variable
        name = name if isinstance(name, str) else ", ".join(str(x) for x in np.atleast_1d(name))
        reports = ([o for o in ens.observations if o["location"] == name and o["kind"] in DRAWN_KINDS]
                   if variable == "population" else [])
        if reports:  # (drawn from the reports alone: `observed` holds a range as one value)
            draw_observations(ax, days, reports)
        elif "observed" in ds and variable == "population" and "location" in ds["observed"].dims:
            loc = name
            if loc in ds["observed"]["location"].values:
                obs = ds["observed"].sel(location=loc)
                if np.isfinite(obs.values).any() and float(np.nanmax(obs.values)) > 0:
                    ax.plot(days, obs, "k.", ms=1.5, label="observed")
        title = name
        if "label" in ds.coords and "location" in ds["label"].dims and name in ds["location"].values:
            title = str(ds["label"].sel(location=name).item()) or name
        ax.set_title(str(title), fontsize=9)
        ax.tick_params(labelsize=7)
        plain_counts(ax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"{variable}: median, 25–75 % and 5–95 % of {ds.attrs.get('replicas', '?')} replicas",
                 fontsize=10)
    if np.issubdtype(days.dtype, np.datetime64):  # (dates, as the page's charts above it)
        for ax in list(axes.flat)[:n]:
            for tick in ax.get_xticklabels():
                tick.set_rotation(30)
                tick.set_horizontalalignment("right")
    else:
        fig.supxlabel("day", fontsize=8)
    units = ds[variable].attrs.get("units")
    if units:
        fig.supylabel(str(units), fontsize=8)
    titles = [ax.title for ax in list(axes.flat)[:n]]  # place names, in any script
    family = list(label_fonts(t.get_text() for t in titles).families)
    for t in titles:
        t.set_fontfamily(family)
    # the panels take the width they had; the strip right of them holds the one legend
    fig.tight_layout(rect=(0.0, 0.0, panels / width, 1.0))
    legend_beside(fig, list(axes.flat)[:n], fontsize=6)
    return fig
