"""The main job: a border-crisis baseline and its policy variants, run, compared, reported.

`run_main_job(out_dir)` runs the baseline and every variant in `<scenario>/variants` (by default
the shipped scenarios/chile-peru-2023) over several seeds (common seeds), writes one run folder
per scenario (of one typical seed, the same for every scenario: `typical_seed`), writes the
comparison (comparison.csv/json), checks the baseline against the dated observations at every
observed place, and builds the HTML report of each run folder. The comparison also answers the
planners' question "what if it had happened on another day": the baseline with one date
parameter (`sweep_parameter`: `--sweep-date NAME`, by default the shipped scenario's `peru_block`,
the day Peru closed) one and two weeks earlier and later (`closure_day_scenarios`; in the
comparison and the reports' policy table, without run folders of their own).
The checks of the observations (`targets_for`: the observations file's `check` and `role`
columns say which rows are checked as one and which the fit uses) and the check of every
observation (`observation_checks`) live in `analysis.observations`, shared with calibration and
the pages.

>>> run_main_job(Path("runs/main"), seeds=20, force=True)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import stopping

# (the observations and their reading live in analysis.observations, shared with calibration and
# the pages; re-exported here, where the fit script and older code import them)
from .analysis.observations import APPROX_TOLERANCE as APPROX_TOLERANCE
from .analysis.observations import BY_EVENT as BY_EVENT
from .analysis.observations import CAMP as CAMP
from .analysis.observations import FITTED as FITTED
from .analysis.observations import FLOW_KINDS as FLOW_KINDS
from .analysis.observations import HELD_OUT as HELD_OUT
from .analysis.observations import NOT_COMPARED as NOT_COMPARED
from .analysis.observations import Target as Target
from .analysis.observations import bounds_text as bounds_text
from .analysis.observations import check_lines as check_lines
from .analysis.observations import checks_summary as checks_summary
from .analysis.observations import evaluate_targets as evaluate_targets
from .analysis.observations import event_setting as event_setting
from .analysis.observations import observation_checks as observation_checks
from .analysis.observations import observation_role as observation_role
from .analysis.observations import target_days as target_days
from .analysis.observations import targets_for as targets_for
from .analysis.observations import tolerance as tolerance
from .targets import (
    check_replaceable,
    holds_anything,
    is_temporary,
    old_name,
    remove_stale_temporaries,
    temporary_prefix,
    write_text_atomic,
)


def _scenario_dir() -> Path:
    """The shipped scenario: beside the package in a checkout, else under the working folder."""
    here = Path(__file__).resolve().parents[2] / "scenarios" / "chile-peru-2023"
    if (here / "scenario.toml").is_file():
        return here
    return Path.cwd() / "scenarios" / "chile-peru-2023"


#: Where the shipped scenario lives (the repository's scenarios/ folder).
SCENARIO_DIR = _scenario_dir()
#: The repatriation flight of 7 May took 115 people (radiosregionales.cl).
FLIGHT_TAKEN = 115


def fit_loss(median_camp: np.ndarray, scenario: Any, fitted_only: bool = True,
             centre_weight: float = 0.01) -> float:
    """Sum of squared relative distances of the values of the scenario's checks (`targets_for`;
    those whose rows are marked fitted with `fitted_only`; none after the series' last day) outside
    their ranges, plus a small pull (`centre_weight`) toward the middle of each range so the fit
    does not sit on an edge where seed noise pushes it out. `median_camp`: the median people at the camp per day."""
    loss = 0.0
    targets = targets_for(scenario)
    for row, t in zip(evaluate_targets(median_camp, scenario.start_date, targets), targets, strict=True):
        if (fitted_only and not t.fitted) or t.location != CAMP or not row["compared"]:
            continue  # (the camp's series alone, within the run)
        if t.high is None:  # (a lower bound: its distance below it only)
            loss += (max(t.low - row["value"], 0.0) / max(t.low, 50.0)) ** 2
            continue
        mid = (t.low + t.high) / 2.0
        scale = max(mid, 50.0)
        miss = max(t.low - row["value"], 0.0) + max(row["value"] - t.high, 0.0)
        loss += (miss / scale) ** 2
        half = (t.high - t.low) / 2.0
        if half > 0:
            loss += centre_weight * ((row["value"] - mid) / half) ** 2
    return loss


def camp_ensemble(scenario: Any, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(camp population per seed × day, people flown per seed) for one scenario."""
    from .analysis.compare import run_seeds

    def reduce(res: Any) -> tuple[np.ndarray, float]:
        ds = res.dataset
        return (ds["population"].sel(location=CAMP).values.copy(),
                float(ds["crossings"].sel(mode="flight").values.sum()))

    out = run_seeds(scenario, seeds, threads=1, reduce=reduce)
    return np.vstack([o[0] for o in out]), np.array([o[1] for o in out])


# ---- the main job ------------------------------------------------------------------------------


#: Days by which the main job moves its swept date parameter (`sweep_parameter`; the shipped
#: scenario's `peru_block`, Peru's closure on 13 Apr 2023).
CLOSURE_SHIFTS_DAYS = (-14, -7, 7, 14)

#: The date parameter the main job sweeps when none is named (`--sweep-date`): the shipped
#: scenario's day Peru closes.
DEFAULT_SWEEP_DATE = "peru_block"

#: How the pages word a move of a date parameter they know (what happens on the date, as a
#: label and as a clause; what the baseline's date is; what moves with it): the shipped
#: scenario's. Any other parameter is named as it is written ("boat_suspension 17 Sep (1 week
#: later)", `_sweep_words`).
_SWEEP_WORDS = {"peru_block": ("Peru closes", "Peru closing on", "in 2023",
                               "its later steps keep their distance to it")}


def _sweep_words(parameter: str) -> tuple[str, str, str, str]:
    """`_SWEEP_WORDS` of `parameter`, else its name with plain words."""
    return _SWEEP_WORDS.get(parameter, (parameter, f"{parameter} on", "as written",
                                        "the rows written against it move with it"))


def sweep_parameter(baseline: Any, name: str | None = None) -> str | None:
    """The date parameter whose date the main job moves (`closure_day_scenarios`): `name` (a
    ValueError, naming the scenario's date parameters, when the baseline has no date parameter
    of that name), else `DEFAULT_SWEEP_DATE` where the baseline has it, else None: no date
    sweep. Why: the sweep was tied to the shipped scenario's `peru_block`; another crisis's
    scenario names its own dates (a boat suspension, a rainy season)."""
    from .scenario.settings import suggest

    crisis = getattr(baseline, "crisis", None)
    dates = tuple(crisis.date_parameters) if crisis is not None else ()
    if name is None:
        return DEFAULT_SWEEP_DATE if DEFAULT_SWEEP_DATE in dates else None
    if name not in dates:
        have = (f"its date parameters are {', '.join(sorted(dates))}" if dates else
                "it has none (a date parameter is a date in [crisis.parameters], e.g. peru_block = 2023-04-13)")
        raise ValueError(f"--sweep-date {name}: the scenario has no date parameter {name!r}"
                         f"{suggest(name, set(dates))}; {have}")
    return name


def no_sweep_note(baseline: Any) -> str:
    """What the main job says when it moves no date (the baseline has no `DEFAULT_SWEEP_DATE`
    and none was named): that it skips the sweep, and how to ask for one."""
    crisis = getattr(baseline, "crisis", None)
    dates = sorted(crisis.date_parameters) if crisis is not None else []
    ask = (f"; name one with --sweep-date NAME ({', '.join(dates)})" if dates else
           " and none to move (a date parameter is a date in [crisis.parameters])")
    return f"no date sweep: the scenario has no date parameter {DEFAULT_SWEEP_DATE}{ask}"


def closure_day_scenarios(baseline: Any, shifts: tuple[int, ...] = CLOSURE_SHIFTS_DAYS,
                          parameter: str = DEFAULT_SWEEP_DATE) -> dict[str, Any]:
    """The baseline with its date parameter `parameter` (default Peru's closure, `peru_block`;
    the later steps written against it move with it) moved by each of `shifts` days, named as
    `compare --sweep` names them (`peru_block=2023-03-30`). Empty when the baseline has no such
    date parameter. A shift of 0 is the baseline itself and is left out, as `compare --sweep`
    runs a point at the baseline's own value once, as its row."""
    from .scenario.native_crisis import parameter_changes, with_parameters

    crisis = getattr(baseline, "crisis", None)
    if crisis is None or parameter not in crisis.date_parameters:
        return {}
    block = baseline.start_date + dt.timedelta(days=int(crisis.parameters[parameter]))
    happens, happening, written, moves = _sweep_words(parameter)
    out = {}
    for shift in shifts:
        if shift == 0:
            continue
        date = block + dt.timedelta(days=shift)
        name = f"{parameter}={date}"
        sc = with_parameters(baseline, **{parameter: date})
        when = f"{abs(shift) // 7} week{'s' if abs(shift) >= 14 else ''}" if shift % 7 == 0 else f"{abs(shift)} days"
        side = "earlier" if shift < 0 else "later"
        out[name] = replace(sc, metadata={
            **sc.metadata, "variant": name,
            # (the pages' name of it; `name` stays the files' and the terminal's)
            "variant_label": f"{happens} {date.day} {date:%b} ({when} {side})",
            "variant_description": f"{happens} on {date.day} {date:%b %Y} instead of {block.day} {block:%b}: "
                                   f"the baseline with {happening} {date}, {abs(shift)} days "
                                   f"{side} than {written} ({moves})",
            # (what it changes, as a variant file's: the comparison page's Scenarios table)
            "variant_changes": {"parameters": parameter_changes(baseline, sc.crisis)[0], "unchanged": [],
                                "files": []}})
    return out


def variant_files(scenario_dir: Path = SCENARIO_DIR) -> list[Path]:
    """The variant files shipped beside the baseline, in name order."""
    return sorted((scenario_dir / "variants").glob("*.toml"))


def write_run(results: Any, out_dir: Path, force: bool) -> None:
    """One run folder of the main job (outputs.runfolder: atomic, --force replaces only a run folder)."""
    from .outputs.runfolder import write_run_folder

    write_run_folder(results, out_dir, force=force)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "run"


def _write_inside(out_dir: Path, write: Callable[[Path], None], replace: bool = True) -> None:
    """Let `write` fill a hidden temporary folder inside `out_dir` (which may be a writable folder
    under a read-only one), then move its entries in: run folders first, comparison.json (the
    mark of a finished job) last. An interruption or a failure while writing leaves `out_dir` as
    it was (and no `out_dir` the job created) and no temporary behind. The temporary's name
    (`.main-job.PID-HOST.RANDOM.tmp`) tells the next job whether its writer was killed
    (`targets.stale_temporary`); a stop signal waits while the entries are moved in. Without
    `replace` (no `--force`), entries that appeared in `out_dir` meanwhile (another job writing
    the same folder: it was checked empty before the runs) are kept, and FileExistsError raised
    (`targets.swap_in`'s rule)."""
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix("main-job"), suffix=".tmp", dir=out_dir))
    try:
        with stopping.filling():  # (the run folders and comparison in it are not the output yet)
            write(tmp)
        stopping.check()  # (a stop seen but swallowed meanwhile: nothing is moved in)
        with stopping.held():  # (stopped midway, the moves mixed new entries with old ones)
            if not replace:
                there = sorted(name for name in os.listdir(out_dir) if not is_temporary(name))
                if there:  # (the other job's own temporary, still running, is no output yet)
                    raise FileExistsError(f"{out_dir} was written by another command while this "
                                          f"one ran ({', '.join(there[:3])}{', …' if len(there) > 3 else ''}); "
                                          "it is kept: use --force to replace it")
            for name in sorted(os.listdir(tmp), key=lambda n: n == "comparison.json"):
                _move_in(tmp / name, out_dir / name)
            stopping.committed(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    tmp.rmdir()


def _move_in(new: Path, target: Path) -> None:
    """Put `new` at `target`, replacing a file or a folder (an earlier job's run folder) there."""
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(old_name(target.name))
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def typical_seed(values: Mapping[str, np.ndarray], metrics: tuple[str, ...] | None = None) -> int:
    """The index of the seed whose figures are together nearest their medians over the seeds: the
    smallest sum, over `metrics` (default: the comparison's policy metrics, `analysis.compare.METRICS`,
    which the run page's key figures lead with: peak stranded, stranded person-days, money paid,
    give-ups, irregular crossings, ...), of |value − median| / (p95 − p05), the quantiles as the
    comparison computes them (`Comparison.summary`); the first such seed on a tie.

    Why: the run folders were of the first seed, whose key figures could be the highest or the
    lowest of the 20 (money paid the highest, irregular crossings the lowest, on one page), outside
    the band the same page printed beside them. Why this distance: each metric counts in units of
    its own 5–95 % band, the band the pages print, so that money in USD does not outweigh people
    and a metric that barely varies does not decide alone; ranks would ignore how far apart the
    seeds are, and with few seeds many rank distances tie. A metric that does not vary (every seed
    the same, or none with a value) counts nothing; a seed without a value of a metric that others
    have is one band away."""
    if metrics is None:
        from .analysis.compare import METRICS

        metrics = tuple(METRICS)
    total: np.ndarray | None = None
    for key in metrics:
        v = np.asarray(values[key], dtype=float) if key in values else None
        if v is None:
            continue
        total = np.zeros(v.size) if total is None else total
        finite = v[np.isfinite(v)]
        if not finite.size:
            continue
        p05, med, p95 = np.quantile(finite, [0.05, 0.5, 0.95])
        if p95 <= p05:
            continue
        total += np.where(np.isfinite(v), np.abs(v - med) / (p95 - p05), 1.0)
    return 0 if total is None else int(np.argmin(total))


def typical_runs(scenarios: Mapping[str, Any], seed: int, executor: Any = None) -> dict[str, Any]:
    """Each of `scenarios` run once with `seed` (its Results), as the comparison ran it
    (`analysis.compare.run_compare_seed`: a run's random numbers are keyed by its seed, so its
    figures are the comparison's of that seed), on `executor` (default: this process)."""
    from .analysis.compare import CompareShared, SeedTask, run_compare_seed
    from .analysis.executors import SerialExecutor
    from .engine.rules.crisis_plan import compile_crisis

    shared = CompareShared({n: (s, compile_crisis(s)) for n, s in scenarios.items()}, 1, None)
    tasks = [SeedTask(n, 0, int(seed), True) for n in scenarios]
    return {out.name: out.results for out in (executor or SerialExecutor()).map_unordered(
        run_compare_seed, shared, tasks)}


def observed_places(scenario: Any) -> list[str]:
    """The places the scenario's dated observations are at, in the order first observed: the
    main job keeps each one's daily people, to check the observations there."""
    crisis = getattr(scenario, "crisis", None)
    return list(dict.fromkeys(str(o.get("loc", o.get("location", "")))
                              for o in (crisis.observations if crisis is not None else ())))


def run_main_job(out_dir: Path, seeds: int = 20, force: bool = False, base_seed: int = 0,
                 scenario_dir: Path = SCENARIO_DIR,
                 say: Callable[[str], None] = print, executor: Any = None,
                 progress: Callable[[str, int, int], None] | None = None,
                 sweep_date: str | None = None, baseline: Any = None) -> dict[str, Any]:
    """Run the baseline and its variants, write run folders, the comparison and the reports.
    `executor` runs the comparison's runs and `progress` hears of each (`analysis.compare.compare`;
    default: this process, silently). `sweep_date`: the date parameter moved by
    `CLOSURE_SHIFTS_DAYS` (`sweep_parameter`: by default `peru_block` where the scenario has it,
    else no date sweep, said with `say`; a ValueError for a name the scenario has no date
    parameter of). `baseline`: the scenario of `scenario_dir` already read (the command reads it
    first, to check `--sweep-date` before any work)."""
    from .analysis.compare import COMPARISON_FILES, compare, write_comparison
    from .scenario import load_scenario
    from .scenario.native_crisis import load_variant

    out_dir = Path(out_dir)
    # (first, as the command does: never in the scenario, which it reads, nor a folder whose
    # entries it may not replace, `--force` or not: it writes into `out_dir`, replacing them)
    check_replaceable(out_dir, [scenario_dir])
    if out_dir.exists() and holds_anything(out_dir) and not force:
        raise FileExistsError(f"{out_dir} exists and is not empty (use --force to replace it)")
    remove_stale_temporaries(out_dir)  # (a killed job's: they would stay there for good)
    scenarios = {"baseline": baseline if baseline is not None else load_scenario(scenario_dir)}
    swept = sweep_parameter(scenarios["baseline"], sweep_date)
    for path in variant_files(scenario_dir):
        v = load_variant(path)
        scenarios[str(v.metadata.get("variant", path.stem))] = v
    closure = closure_day_scenarios(scenarios["baseline"], parameter=swept) if swept else {}
    scenarios.update(closure)
    if swept is None:
        say(no_sweep_note(scenarios["baseline"]))
    shifts = ", ".join(f"{d:+d}".replace("-", "−") for d in CLOSURE_SHIFTS_DAYS if d)
    moved = f" ({len(closure)} of them the baseline with {swept} moved by {shifts} days)" if closure else ""
    say(f"running {len(scenarios)} scenarios × {seeds} seeds{moved}")
    base = scenarios["baseline"]  # observations check of the baseline (median over the seeds)
    comp = compare(scenarios, seeds=seeds, base_seed=base_seed, keep=1, executor=executor,
                   progress=progress, places=observed_places(base))
    camp = comp.camp.get("baseline")  # (none where the scenario has no camp or staging place)
    checks = observation_checks(base, camp if camp is not None else np.zeros_like(comp.stranded["baseline"]),
                                comp.flows.get("baseline"), comp.camp_place or CAMP,
                                places=comp.places.get("baseline"))
    names = {name: _slug(name) for name in comp.names if name not in closure}  # (run folders)
    # (the run folders: every scenario's run of one typical seed of the baseline, common to all)
    k = typical_seed(comp.values["baseline"])
    runs = ({n: comp.runs[n][0] for n in names} if k == 0 else
            typical_runs({n: scenarios[n] for n in names}, comp.seeds[k], executor))
    for res in runs.values():  # (the run page says which run it is; one seed leaves no choice)
        if len(comp.seeds) > 1:
            res.manifest["chosen_as"] = f"typical of {len(comp.seeds)} seeds"
    summary = comp.summary()  # (each call works out every scenario's quantiles and differences)

    def write(tmp: Path) -> None:
        from .outputs.plots import comparison_png

        png = comparison_png(summary, comp.names, comp.labels)
        # (the comparison's files and its own page, as `compare --out` writes them)
        write_comparison(comp, tmp, png=png, observation_checks=checks)
        for name, slug in names.items():
            write_run(runs[name], tmp / slug, force=True)
        write_text_atomic(tmp / "observation_check.json", json.dumps(checks, indent=1) + "\n")
        from .outputs.report import build_report
        from .outputs.report.comparison_section import difference_rows

        # (as comparison.json holds them: the rows, and what the note under them reads)
        left = "people_at_sites_last_day"
        data = {"summary": summary, "scenarios": comp.names, "dates": {n: comp.dates(n) for n in comp.names},
                "per_seed": {n: {left: comp.values[n][left].tolist()} for n in comp.names},
                "scenario_identity": comp.identities, "labels": comp.labels}
        differences = difference_rows(summary)
        for name, slug in names.items():  # (the check is the baseline's: on its page only)
            build_report(tmp / slug, comparison=data, comparison_png=png, comparison_seeds=comp.seeds,
                         differences=differences, observation_checks=checks if name == "baseline" else None)

    _write_inside(out_dir, write, replace=force)
    written = [out_dir / name for name in COMPARISON_FILES]
    run_dirs = [out_dir / slug for slug in names.values()]
    reports = [run_dir / "report.html" for run_dir in run_dirs]
    return {"comparison": [str(p) for p in written], "runs": [str(p) for p in run_dirs],
            "checks": checks, "reports": [str(r) for r in reports], "summary": summary,
            "comparison_object": comp}
