"""The shipped Chile–Peru 2023 scenario: its rules fire on the real dates; the fit holds; main job."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corredor.cli import app
from corredor.engine.crisis import simulate_crisis
from corredor.engine.rng import replica_seeds
from corredor.mainjob import FLIGHT_TAKEN, camp_ensemble, evaluate_targets, targets_for
from corredor.outputs.formatting import fmt_exact
from corredor.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"
START = dt.date(2023, 2, 1)


def day(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - START).days


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def run(baseline):
    return simulate_crisis(baseline, seed=11, check=True).dataset  # invariants checked daily


def test_camp_forms_on_13_april_and_is_cleared_on_15_may(run):
    camp = run["population"].sel(location="camp").values
    assert camp[: day("2023-04-13")].sum() == 0  # open border: nobody waits before 13 Apr
    assert camp[day("2023-04-13")] > 0
    assert camp[day("2023-05-15")] == 0
    stranded = run["stranded"].sum("location").values
    assert stranded[: day("2023-04-13")].sum() == 0


def test_events_fire_on_their_dates(run):
    cr = run["crossings"]
    transfer = cr.sel(mode="transfer").sum("crossing").values
    assert transfer[day("2023-05-06")] == 135
    flight = cr.sel(mode="flight").sum("crossing").values
    assert flight[day("2023-05-07")] == FLIGHT_TAKEN and flight.sum() == FLIGHT_TAKEN
    adm = cr.sel(mode="admission").sum("crossing").values
    assert adm[: day("2023-05-08")].sum() == 0 and adm[day("2023-05-16"):].sum() == 0
    money = run["money_paid_usd"].sum("crossing").values
    assert money[: day("2023-04-13")].sum() == 0 and money.sum() > 0


def test_group_mix_at_the_camp_on_21_april(baseline):
    """UNHCR, 21 Apr: ~50 % Haitian, ~40 % Venezuelan. The shares over 20 seeds' camps (about
    3,000 people in all) lie within ±15 points of the reported ones: the report's own rounding
    and the model's fitted group shares, not the seeds' noise (±1 point here), set that width."""
    hti = ven = total = 0.0
    seeds = replica_seeds(0, 20)
    for s in seeds:
        ds = simulate_crisis(baseline.with_days(day("2023-04-21") + 1), seed=s).dataset
        pbg = ds["population_by_group"].sel(location="camp").isel(day=-1)
        groups = [str(g) for g in ds["group"].values]
        total += float(pbg.sum())
        hti += sum(float(pbg.sel(group=g)) for g in groups if g.startswith("hti"))
        ven += sum(float(pbg.sel(group=g)) for g in groups if g.startswith("ven"))
    assert total > 20 * 100  # (the camp holds ~150 people on 21 Apr in every seed)
    assert abs(hti / total - 0.5) < 0.15 and abs(ven / total - 0.4) < 0.15


def test_one_and_two_threads_agree_on_the_real_scenario(baseline):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one CPU thread only")
    a = simulate_crisis(baseline, seed=3, threads=1).dataset
    two = simulate_crisis(baseline, seed=3, threads=2)
    assert two.manifest["threads"] == 2
    b = two.dataset
    for var in ("population_by_group", "crossings", "money_paid_usd", "days_waited", "give_ups"):
        np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=var)


@pytest.mark.slow
def test_median_of_100_seeds_lies_within_every_observation_but_the_reported_peak(baseline):
    """The fit check of issue 5: median camp population over 100 seeds vs each dated observation.

    Ranges (docs/chile-peru-2023.md, the checks of stranded_observations.csv): 13 Apr 30–90 (60 ± 50 %),
    21 Apr and 29 Apr 150–200, mean of 8–10 May 450–480, 0 on 15 May; the flight takes 115.
    These seeds are not the fit's seeds. UNHCR's held-out peak of ~400 before 21 Apr (its day
    not stated; matched within ±50 %, `analysis.peak`) is missed: the fitted camp holds at
    150–200 with no spike (its highest day is about 172), as the docs say.
    """
    camp, flown = camp_ensemble(baseline, replica_seeds(12345, 100))
    med = np.median(camp, axis=0)
    targets = targets_for(baseline)
    rows = evaluate_targets(med, baseline.start_date, targets)
    assert len(rows) == len(targets) == 6
    peak = next(t.name for t in targets if t.stat == "peak")
    misses = [r for r in rows if not r["ok"] and r["target"] != peak]
    assert not misses, misses
    (missed,) = [r for r in rows if r["target"] == peak]
    assert not missed["ok"] and 150 <= missed["value"] < missed["low"], missed
    assert np.median(flown) == FLIGHT_TAKEN


@pytest.mark.slow
def test_main_job_writes_runs_comparison_and_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    out = tmp_path / "main"
    r = runner.invoke(app, ["main-job", "--out", str(out), "--seeds", "1"])
    assert r.exit_code == 0, r.output
    assert (out / "comparison.csv").is_file() and (out / "comparison.json").is_file()
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert "peru_block=2023-03-30" in (out / "comparison.html").read_text(encoding="utf-8")  # (its page)
    data = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    expected = {"baseline", "no-peru-closure", "corridor-28apr", "weekly-flights",
                "bribe-0", "bribe-55", "bribe-100"}
    closing = {f"peru_block=2023-{d}" for d in ("03-30", "04-06", "04-20", "04-27")}  # (13 Apr ± 1, 2 weeks)
    assert set(data["scenarios"]) == expected | closing
    for name in expected:
        assert (out / name / "manifest.json").is_file()
    assert not any((out / name).exists() for name in closing)  # (in the comparison, no run folders)
    assert "Peru closing on 2023-03-30, 14 days earlier" in data["descriptions"]["peru_block=2023-03-30"]
    # the question the tool exists for: closing earlier strands more people, later fewer
    peak = {name: data["per_seed"][name]["peak_stranded"][0] for name in closing | {"baseline"}}
    assert peak["peru_block=2023-03-30"] > peak["baseline"] > peak["peru_block=2023-04-27"], peak
    report = (out / "baseline" / "report.html").read_text(encoding="utf-8")
    assert "Peru closes 6 Apr (1 week earlier)" in report  # (peru_block=2023-04-06, by its readable name)
    section = report[report.index('<section id="comparison">'):]
    assert '<img alt="Each scenario' in section[:section.index("</section>")]  # (comparison.png, inline)
    seed = json.loads((out / "baseline" / "manifest.json").read_text(encoding="utf-8"))["seed"]
    assert "the median over 1 seed and, in brackets, the 5–95 % band of it" in section  # (what a cell is)
    assert f"seed {seed}, one of these seeds" in section
    # (each report's run is one of the compared scenarios, as comparison.json names them: no caution)
    assert set(data["scenario_identity"]) == set(data["scenarios"])
    assert all('class="caution' not in (out / name / "report.html").read_text(encoding="utf-8") for name in expected)
    left = fmt_exact(data["per_seed"]["baseline"]["people_at_sites_last_day"][0])  # (as compare says it)
    assert (f"whole run: to 2023-06-30, the run&#39;s last day; the water and rations that the people still at "
            f"the crisis sites then (baseline: {left} [{left}–{left}]) need after it are not in "
            "the totals.") in " ".join(section.split())
    # each policy's difference from the baseline on the same seed: closing two weeks earlier adds
    # exactly the seed's extra peak (one seed: the band is that one difference)
    diff = peak["peru_block=2023-03-30"] - peak["baseline"]
    table = section[section.index('id="differences"'):]
    row = table[table.index('<th scope="row">Peru closes 30 Mar (2 weeks earlier)</th>'):]
    assert (row.startswith(f'<th scope="row">Peru closes 30 Mar (2 weeks earlier)</th><td>+{diff:,.0f} ')
            and "baseline</th>" not in table)
    r = runner.invoke(app, ["main-job", "--out", str(out), "--seeds", "1"])
    assert r.exit_code == 2 and "--force" in r.output


def test_an_interrupted_main_job_leaves_the_old_folder_or_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The main job wrote comparison.json, then run folders one by one, then the reports into its
    folder: stopped midway (Ctrl-C, SIGTERM, a full disk) it left a new comparison beside old or
    missing run folders and reports. Now a job builds its folder in a hidden temporary inside it
    and moves the entries in once all are written."""
    import corredor.outputs.report as report
    from corredor.mainjob import run_main_job

    built = []

    def stop_at_the_third_report(run_dir: Path, comparison=None, **figures_and_notes) -> Path:
        built.append(run_dir)
        if len(built) == 3:
            raise KeyboardInterrupt
        (run_dir / "report.html").write_text("new")
        return run_dir / "report.html"

    monkeypatch.setattr(report, "build_report", stop_at_the_third_report)
    fresh = tmp_path / "fresh"
    with pytest.raises(KeyboardInterrupt):
        run_main_job(fresh, seeds=1, say=lambda m: None)
    assert not fresh.exists()  # (nor any temporary: the job had created the folder)

    old = tmp_path / "old"  # an earlier job's folder, as far as check_replaceable can tell
    (old / "baseline").mkdir(parents=True)
    (old / "baseline" / "manifest.json").write_text('{"engine": "crisis", "seed": 1, "version": "0"}')
    (old / "comparison.json").write_text('{"summary": [], "per_seed": []}')
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    built.clear()
    with pytest.raises(KeyboardInterrupt):
        run_main_job(old, seeds=1, force=True, say=lambda m: None)
    assert {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in old.iterdir()) == ["baseline", "comparison.json"]


def test_a_main_job_written_meanwhile_is_kept_without_force(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `main-job --out same` at once: the folder is checked before the runs and written
    after them, so both found it empty and the one that finished second replaced the other's
    run folders and comparison silently (exit 0 for both). Now it is refused, and the first
    one's folder kept as it was."""
    import corredor.outputs.report as report
    from corredor.mainjob import run_main_job

    out = tmp_path / "same"
    theirs = '{"summary": [], "per_seed": []}'

    def another_job_finishes_meanwhile(run_dir: Path, comparison=None, **figures_and_notes) -> Path:
        if not out.joinpath("comparison.json").exists():
            (out / "comparison.json").write_text(theirs)
        (run_dir / "report.html").write_text("new")
        return run_dir / "report.html"

    monkeypatch.setattr(report, "build_report", another_job_finishes_meanwhile)
    with pytest.raises(FileExistsError, match="written by another command while this one ran"):
        run_main_job(out, seeds=1, say=lambda m: None)
    assert [p.name for p in out.iterdir()] == ["comparison.json"]  # (and no temporary)
    assert (out / "comparison.json").read_text() == theirs


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped): no process runs under it now."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_main_jobs_leftovers_do_not_block_the_next_one(tmp_path: Path) -> None:
    """A main job killed hard (SIGKILL, a power cut) left its hidden `.main-job.*.tmp` inside
    --out, and the next `main-job` refused: without --force the folder "exists", with --force it
    held "files corredor did not write"; the user had to find the folder and delete it by hand.
    The temporary's name now says which process (and machine) writes it: a dead process's
    leftovers (the job's temporary, a comparison file's, a run folder waiting to be replaced) are
    removed by the next job, with a warning; a live process's are never touched."""
    import re
    import socket

    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:40]  # (as named)
    dead = _dead_pid()
    out = tmp_path / "main"
    leftover = out / f".main-job.{dead}-{host}.k1ll3d00.tmp"
    (leftover / "baseline").mkdir(parents=True)  # (a run folder not finished: no manifest yet)
    (leftover / "comparison.csv").write_text("half")
    runner = CliRunner()
    with pytest.warns(UserWarning, match=r"removed .*\.main-job\..*no longer runs"):
        r = runner.invoke(app, ["main-job", "--out", str(out), "--seeds", "1", "--executor", "serial"])
    assert r.exit_code == 0, r.output
    assert not leftover.exists() and (out / "comparison.json").is_file()

    # killed again, over a finished job's folder: while writing, and between two renames
    (leftover / "baseline").mkdir(parents=True)
    (out / f".baseline.{dead}-{host}.old").mkdir()
    (out / f".comparison.json.{dead}-{host}.abcd_123.tmp").write_text("{")
    live = out / f".main-job.{os.getpid()}-{host}.l1v3l1v3.tmp"  # a job still writing here
    live.mkdir()
    r = runner.invoke(app, ["main-job", "--out", str(out), "--seeds", "1", "--force",
                                    "--executor", "serial"])
    assert r.exit_code == 2 and "being written by another corredor command" in r.output
    assert live.is_dir() and leftover.is_dir()  # (refused before any work: nothing removed)
    live.rmdir()
    with pytest.warns(UserWarning, match="no longer runs"):
        r = runner.invoke(app, ["main-job", "--out", str(out), "--seeds", "1", "--force",
                                    "--executor", "serial"])
    assert r.exit_code == 0, r.output
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_main_job_reads_the_scenario_given_with_scenario(tmp_path: Path, monkeypatch) -> None:
    """Found by an operations review: outside a checkout the main job looked for
    ./scenarios/chile-peru-2023 only, so a cron job (cwd $HOME or /) from a wheel install failed
    with "/scenarios/chile-peru-2023: no such file or folder" and no way to name the scenario.
    `--scenario DIR` names it; a folder without scenario.toml is refused by name (exit 2)."""
    import shutil

    runner = CliRunner()
    r = runner.invoke(app, ["main-job", "--out", str(tmp_path / "o"), "--scenario", str(tmp_path / "none")])
    assert r.exit_code == 2 and "none: no scenario.toml (expected a border-crisis scenario folder" in r.output
    assert not (tmp_path / "o").exists()
    copy = tmp_path / "my copy"
    shutil.copytree(SCENARIO, copy)
    (copy / "groups.csv").write_text("")  # (a problem only the copy has: the copy is what is read)
    r = runner.invoke(app, ["main-job", "--out", str(tmp_path / "o"), "--scenario", str(copy),
                            "--seeds", "1", "--executor", "serial"])
    assert r.exit_code == 2 and "groups.csv:1:1: empty file" in r.output, r.output
    assert not (tmp_path / "o").exists()


def test_seed_0_matches_the_kept_reference():
    """Any change of behaviour shows here; refresh deliberately with
    `python scenarios/chile-peru-2023/reference.py --write` and say why in the commit."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cp_reference", SCENARIO / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kept = json.loads((SCENARIO / "reference_seed0.json").read_text(encoding="utf-8"))
    assert module.summary(0) == kept


def test_a_camp_that_outlasts_the_clearance_keeps_its_known_provisions():
    """Found by an output audit: in the bribe-0 variant people are still at the line after 15 May,
    but what was provided there (no cover, no toilets after their removal) ended on 15 May, so
    their unsheltered nights went uncounted. After the clearance the need is the whole gap."""
    from corredor.outputs.tables import in_people, needs_for
    from corredor.scenario.native_crisis import load_variant

    res = simulate_crisis(load_variant(SCENARIO / "variants" / "bribe_0.toml"), seed=0)
    needs = needs_for(res)
    after = (dt.date(2023, 5, 16) - load_scenario(SCENARIO).start_date).days
    camp = in_people(res.dataset)["population"].sel(location="camp").values[after:]
    assert camp.max() > 0  # (the variant's premise: the line is not empty after 15 May)
    unsheltered = needs["person_nights_unsheltered"].sel(location="camp").values[after:]
    np.testing.assert_array_equal(unsheltered, camp)
    toilets = needs["toilets"].sel(location="camp").values[after:]
    np.testing.assert_array_equal(needs["toilets_gap"].sel(location="camp").values[after:], toilets)


def test_the_fit_scripts_help_describes_every_option_and_what_it_writes():
    """Found by a user's acceptance pass: `fit.py --help` described only --centre, and did not
    say whether the script rewrites scenario.toml or only prints. Every option now has its line,
    the description says that nothing is written, and a count below its least is refused."""
    import re

    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    r = subprocess.run([sys.executable, str(SCENARIO / "fit.py"), "--help"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for option in ("--points", "--seeds", "--refine", "--iterations", "--seed", "--centre"):
        metavar = option[2:].upper()
        said = re.search(rf"^  {option} {metavar}\s+(.*)$", text, re.MULTILINE)
        assert said is not None and said.group(1).strip() and not said.group(1).startswith("--"), (option, text)
    flat = " ".join(text.split())
    assert "It writes no file: scenario.toml is left as it is." in flat, text
    assert "TOML lines to paste into scenario.toml's [crisis.parameters]" in flat, text
    r = subprocess.run([sys.executable, str(SCENARIO / "fit.py"), "--seeds", "0"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 2 and "--seeds: expected at least 1, found 0" in r.stderr, r.stderr


def _observation(date: str, kind: str, value: float | None = None, low: float | None = None,
                 high: float | None = None, loc: str = "camp", role: str = "held-out", check: str = "") -> dict:
    nan = float("nan")
    return {"day": day(date), "loc": loc, "kind": kind, "value": nan if value is None else value,
            "low": nan if low is None else low, "high": nan if high is None else high,
            "role": role, **({"check": check} if check else {}), "note": "", "source": "test"}


def test_each_observation_says_what_it_is_to_the_fit_and_the_summary_counts_the_held_out(baseline):
    """Found by a domain review: the main job printed 5 `ok` and 1 `MISS` that read as validation,
    but four were the fitted targets, one was true by construction (everyone moved on 15 May),
    and the held-out observations the model misses (">300" on 19 Apr, "~300" on 9 May, "40
    moved" on 15 May) were not printed. Now every dated observation is a line marked `fitted`,
    `held out` or `set by an event` (or `not compared`, with why), and a summary counts the
    held-out ones within tolerance. A hand-built set of observations and model figures."""
    import dataclasses

    from corredor.mainjob import check_lines, observation_checks, observation_role

    observations = (
        _observation("2023-04-13", "point", 60, role="fitted", check="13 Apr: ~60 (±50 %)"),  # fitted
        _observation("2023-04-19", "lower_bound", 300, low=300),  # held out: 320 → within
        _observation("2023-05-03", "subgroup", 150),  # not compared
        _observation("2023-05-06", "transfer", 135, 120, 150),  # events.csv: a transfer of 135
        _observation("2023-05-09", "point", 300),  # held out: 465 → a miss (150–450)
        _observation("2023-05-15", "point", 0),  # events.csv: everyone moved from the camp
        _observation("2023-05-15", "transfer", 40),  # held out: 400 moved → a miss (20–60)
        _observation("2023-05-16", "inflow", 20),  # held out: 20 moved from a line empty the night before
        # (the fit's other checks, as stranded_observations.csv names them: 21 and 29 Apr, 8–10 May
        # fitted, the peak of ~400 by 21 Apr held out, its 320 within 200–600)
        _observation("2023-04-21", "range", 175, 150, 200, role="fitted", check="21 Apr: 150–200"),
        _observation("2023-04-21", "peak", 400, check="by 21 Apr: a peak of ~400 (±50 %)"),
        _observation("2023-04-29", "range", 175, 150, 200, role="fitted", check="29 Apr: 150–200"),
        _observation("2023-05-08", "point", 450, role="fitted", check="8–10 May: 450–480"),
        _observation("2023-05-10", "point", 480, role="fitted", check="8–10 May: 450–480"),
    )
    scenario = dataclasses.replace(baseline, crisis=dataclasses.replace(baseline.crisis, observations=observations))
    camp = np.zeros(baseline.days)
    for date, people in (("2023-04-13", 60), ("2023-04-19", 320), ("2023-04-21", 175), ("2023-04-29", 175),
                         ("2023-05-08", 465), ("2023-05-09", 465), ("2023-05-10", 465)):
        camp[day(date)] = people
    transfer = np.zeros(baseline.days)
    transfer[[day("2023-05-06"), day("2023-05-15"), day("2023-05-16")]] = (135, 400, 20)
    flows = {"transfer": np.vstack([transfer, transfer]), "flight": np.zeros((2, baseline.days))}
    rows = observation_checks(scenario, np.vstack([camp, camp]), flows)
    lines = check_lines(rows)
    def said(label: str) -> str:
        (line,) = [line for line in lines[:-1] if f"baseline vs observation {label}" in line]
        return line

    assert said("9 May: 300 (point").startswith("MISS held out ") and "median 465 (range 150–450)" in said("9 May")
    assert said("19 Apr").startswith("ok   held out ") and "(range ≥ 300)" in said("19 Apr")
    assert said("13 Apr").startswith("ok   fitted ")
    assert said("15 May: 0").startswith("ok   set by an event ") and "a transfer of everyone from camp" in said("15 May: 0")
    assert said("6 May").startswith("ok   set by an event ") and "median 135 (range 120–150; " in said("6 May")
    assert said("15 May: 40 (transfer").startswith("MISS held out ") and "median 400 (range 20–60)" in said("15 May: 40")
    assert said("16 May").startswith("ok   held out ") and "median 20 (range 10–30; " in said("16 May")
    assert said("3 May").startswith("--   not compared ")
    assert said("8–10 May").startswith("ok   fitted ") and said("by 21 Apr").startswith("ok   held out ")
    assert lines[-1] == ("3 of 5 held-out observations within tolerance (fitted: 4 of 4; set by an event: "
                         "2 of 2; not compared: 1)")
    assert [observation_role(o, scenario) for o in observations[:2]] == ["fitted", "held out"]
    assert observation_role(_observation("2023-05-07", "outflow", 115, loc="arica"), scenario) == "set by an event"
    json.dumps(rows, allow_nan=False)  # (observation_check.json: plain JSON, no NaN or Infinity)


@pytest.mark.slow
def test_the_run_page_marks_each_reported_count_fitted_held_out_or_set_by_an_event(baseline, tmp_path):
    """The run page's fit table carries the main job's mark: the fitted 13 Apr count, the held-out
    ">300" of 19 Apr and the 0 of 15 May that the clearance sets by construction."""
    import re

    from corredor.outputs.report import build_report
    from corredor.outputs.runfolder import write_run_folder

    folder = tmp_path / "run"
    write_run_folder(simulate_crisis(baseline, seed=11), folder, force=True)
    build_report(folder)
    html = " ".join((folder / "report.html").read_text(encoding="utf-8").split())
    assert '<th class="text">to the fit</th>' in html
    role = {date: re.search(rf'<td class="text">{date}</td>.*?<td class="text role">(.*?)</td>', html).group(1)
            for date in ("2023-04-13", "2023-04-19", "2023-05-15")}
    assert role == {"2023-04-13": "fitted", "2023-04-19": "held out", "2023-05-15": "set by an event"}
