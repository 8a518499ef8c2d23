"""The main job: the Chile–Peru 2023 baseline and its policy variants, run, compared, reported.

`run_main_job(out_dir)` runs the baseline and every variant in `scenarios/chile-peru-2023/variants`
over several seeds (common seeds), writes one run folder per scenario (its first seed), writes the
comparison (comparison.csv/json), checks the baseline against the dated observations, and builds
the HTML report of each run folder. The comparison also answers the planners' question "what if
Peru had closed on another day": the baseline with its date parameter `peru_block` one and two
weeks earlier and later (`closure_day_scenarios`; in the comparison and the reports' policy table,
without run folders of their own).
The observation targets of the fit live here too (`FIT_TARGETS`), shared by the fit script and
the tests.

>>> run_main_job(Path("runs/main"), seeds=20, force=True)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import stopping
from .analysis.peak import check_peak, peak_bounds
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
CAMP = "camp"


@dataclass(frozen=True)
class Target:
    """One check of the median camp population against a dated observation.

    `stat` is how the median series is reduced over days first..last: "value" (one day), "mean",
    or "max"; the result must lie in [low, high]. "peak" is a reported peak of `reported` people
    on some day up to `last`, checked as every page checks one (`analysis.peak.check_peak`: the
    most there over the days, within ±50 % of it; [low, high] is that range). `fitted` says
    whether the fit used it.
    """

    name: str
    first: str  # date YYYY-MM-DD
    last: str
    stat: str
    low: float
    high: float
    fitted: bool
    source: str
    reported: float | None = None  # (stat "peak": the reported peak)


#: The observations of stranded_observations.csv as checks (tolerances stated in `low`/`high`).
FIT_TARGETS: tuple[Target, ...] = (
    Target("13 Apr: ~60 (±50 %)", "2023-04-13", "2023-04-13", "value", 30, 90, True,
           "noticieropresenciaregional (first group refused entry, ~60)"),
    Target("21 Apr: 150–200", "2023-04-21", "2023-04-21", "value", 150, 200, True,
           "UNHCR via AFP (breakinglatest.news): average 150–200 in recent days"),
    Target("by 21 Apr: a peak of ~400 (±50 %)", "2023-02-01", "2023-04-21", "peak", *peak_bounds(400), False,
           "UNHCR via AFP: peak ~400 before 21 Apr (its day not stated)", reported=400),
    Target("29 Apr: 150–200", "2023-04-29", "2023-04-29", "value", 150, 200, True,
           "UNHCR via infobae 2023-04-29: daily concentration 150–200"),
    Target("8–10 May: 450–480", "2023-05-08", "2023-05-10", "mean", 450, 480, True,
           "Sanzana via lavoceditalia (450 on 8 May); aricahoy.cl (480 that week)"),
    Target("15 May: 0 after the transfers", "2023-05-15", "2023-05-15", "value", 0, 0, False,
           "rpp.pe / aricahoy.cl: camp cleared 15 May"),
)
#: The repatriation flight of 7 May took 115 people (radiosregionales.cl).
FLIGHT_TAKEN = 115


def target_days(target: Target, start: Any) -> tuple[int, int]:
    import datetime as dt

    d0 = (dt.date.fromisoformat(target.first) - start).days
    d1 = (dt.date.fromisoformat(target.last) - start).days
    return d0, d1


def evaluate_targets(median_camp: np.ndarray, start: Any) -> list[dict[str, Any]]:
    """Each target's reduced median value and whether it lies in its range."""
    rows = []
    for t in FIT_TARGETS:
        d0, d1 = target_days(t, start)
        seg = median_camp[d0 : d1 + 1]
        if t.stat == "peak":
            peak = check_peak({"kind": "peak", "day": d1 - d0, "value": t.reported}, seg)
            value, ok = peak.simulated, peak.ok
        else:
            value = float({"value": seg[0] if seg.size else math.nan, "mean": seg.mean(),
                           "max": seg.max()}[t.stat])
            ok = bool(t.low - 1e-9 <= value <= t.high + 1e-9)
        rows.append({"target": t.name, "value": value, "low": t.low, "high": t.high,
                     "ok": ok, "fitted": t.fitted})
    return rows


def fit_loss(median_camp: np.ndarray, start: Any, fitted_only: bool = True,
             centre_weight: float = 0.01) -> float:
    """Sum of squared relative distances of the targets' values outside their ranges, plus a
    small pull (`centre_weight`) toward the middle of each range so the fit does not sit on an
    edge where seed noise pushes it out."""
    loss = 0.0
    for row, t in zip(evaluate_targets(median_camp, start), FIT_TARGETS, strict=True):
        if fitted_only and not t.fitted:
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


#: Days by which the main job moves Peru's closure (the date parameter `peru_block`, 13 Apr 2023).
CLOSURE_SHIFTS_DAYS = (-14, -7, 7, 14)


def closure_day_scenarios(baseline: Any, shifts: tuple[int, ...] = CLOSURE_SHIFTS_DAYS) -> dict[str, Any]:
    """The baseline with Peru's closure (`peru_block`, and the later steps written against it)
    moved by each of `shifts` days, named as `compare --sweep` names them (`peru_block=2023-03-30`).
    Empty when the baseline has no such date parameter. A shift of 0 is the baseline itself and
    is left out, as `compare --sweep` runs a point at the baseline's own value once, as its row."""
    from .scenario.native_crisis import with_parameters

    crisis = getattr(baseline, "crisis", None)
    if crisis is None or "peru_block" not in crisis.date_parameters:
        return {}
    block = baseline.start_date + dt.timedelta(days=int(crisis.parameters["peru_block"]))
    out = {}
    for shift in shifts:
        if shift == 0:
            continue
        date = block + dt.timedelta(days=shift)
        name = f"peru_block={date}"
        sc = with_parameters(baseline, peru_block=date)
        out[name] = replace(sc, metadata={
            **sc.metadata, "variant": name,
            "variant_description": f"the baseline with Peru closing on {date}, {abs(shift)} days "
                                   f"{'earlier' if shift < 0 else 'later'} than in 2023 (its later "
                                   "steps keep their distance to it)"})
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
        write(tmp)
        with stopping.held():  # (stopped midway, the moves mixed new entries with old ones)
            if not replace:
                there = sorted(name for name in os.listdir(out_dir) if not is_temporary(name))
                if there:  # (the other job's own temporary, still running, is no output yet)
                    raise FileExistsError(f"{out_dir} was written by another command while this "
                                          f"one ran ({', '.join(there[:3])}{', …' if len(there) > 3 else ''}); "
                                          "it is kept: use --force to replace it")
            for name in sorted(os.listdir(tmp), key=lambda n: n == "comparison.json"):
                _move_in(tmp / name, out_dir / name)
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


def run_main_job(out_dir: Path, seeds: int = 20, force: bool = False, base_seed: int = 0,
                 scenario_dir: Path = SCENARIO_DIR,
                 say: Callable[[str], None] = print, executor: Any = None,
                 progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run the baseline and its variants, write run folders, the comparison and the reports.
    `executor` runs the comparison's runs and `progress` hears of each (`analysis.compare.compare`;
    default: this process, silently)."""
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
    scenarios = {"baseline": load_scenario(scenario_dir)}
    for path in variant_files(scenario_dir):
        v = load_variant(path)
        scenarios[str(v.metadata.get("variant", path.stem))] = v
    closure = closure_day_scenarios(scenarios["baseline"])
    scenarios.update(closure)
    say(f"running {len(scenarios)} scenarios × {seeds} seeds ({len(closure)} of them Peru closing on "
        "another day)")
    comp = compare(scenarios, seeds=seeds, base_seed=base_seed, keep=1, executor=executor,
                   progress=progress)
    base = scenarios["baseline"]  # observations check of the baseline (median over the seeds)
    checks = evaluate_targets(np.median(comp.camp["baseline"], axis=0), base.start_date)
    names = {name: _slug(name) for name in comp.names if name not in closure}  # (run folders)
    summary = comp.summary()  # (each call works out every scenario's quantiles and differences)

    def write(tmp: Path) -> None:
        from .outputs.plots import comparison_png

        png = comparison_png(summary, comp.names)
        # (the comparison's files and its own page, as `compare --out` writes them)
        write_comparison(comp, tmp, png=png)
        for name, slug in names.items():
            write_run(comp.runs[name][0], tmp / slug, force=True)
        write_text_atomic(tmp / "observation_check.json", json.dumps(checks, indent=1) + "\n")
        from .outputs.report import build_report
        from .outputs.report.builder import difference_rows

        # (as comparison.json holds them: the rows, and what the note under them reads)
        left = "people_at_sites_last_day"
        data = {"summary": summary, "scenarios": comp.names, "dates": {n: comp.dates(n) for n in comp.names},
                "per_seed": {n: {left: comp.values[n][left].tolist()} for n in comp.names},
                "scenario_identity": comp.identities}
        differences = difference_rows(summary)
        for slug in names.values():
            build_report(tmp / slug, comparison=data, comparison_png=png, comparison_seeds=comp.seeds,
                         differences=differences)

    _write_inside(out_dir, write, replace=force)
    written = [out_dir / name for name in COMPARISON_FILES]
    run_dirs = [out_dir / slug for slug in names.values()]
    reports = [run_dir / "report.html" for run_dir in run_dirs]
    return {"comparison": [str(p) for p in written], "runs": [str(p) for p in run_dirs],
            "checks": checks, "reports": [str(r) for r in reports], "summary": summary,
            "comparison_object": comp}
