"""Calibration: parameter files, objectives, and the Optuna loop on the toy stand-in model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from corredor.analysis.calibrate import (
    ParamSpec,
    ard_from_dataset,
    calibrate,
    interval_loss,
    read_params,
    write_calibration,
)
from corredor.scenario import ScenarioError
from ensemble_toy import identity, toy_scenario, toy_simulate

GOOD = """
[params.move_rules.camp_weight]
low = 0.5
high = 8.0
log = true
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "params.toml"
    p.write_text(text)
    return p


def test_read_params(tmp_path: Path) -> None:
    specs = read_params(_write(tmp_path, GOOD + "\n[params.move_rules.awareness_level]\nlow = 1\nhigh = 3\nint = true\n"),
                        toy_scenario())
    assert specs[0] == ParamSpec("move_rules.camp_weight", 0.5, 8.0, True, False, 2)
    assert specs[1].integer and specs[1].line == 7


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("[params.move_rules.camp_weight\nlow=1", ":1:", "not valid TOML"),
        ("[params.move_rules.camp_wieght]\nlow = 1\nhigh = 2\n", ":1:1:", "did you mean 'camp_weight'"),
        ("[params.move_rules.camp_weight]\nlow = 3\nhigh = 2\n", ":1:1:", "must be below high"),
        ("\n[params.move_rules.camp_weight]\nlow = 0\nhigh = 2\nlog = true\n", ":2:1:", "log scale needs low > 0"),
        ("[params.move_rules.camp_weight]\nlow = 'a'\nhigh = 2\n", ":2:1:", "'low' must be a finite number, found 'a'"),
        ("[params.move_rules.camp_weight]\nlow = 1\nhigh = 2\n  step = 1\n", ":4:3:", "unknown key 'step'"),
        # a key that is missing is reported at its table, and said to be missing (was "found None")
        ("[params.move_rules.camp_weight]\nlow = 1\n", ":1:1:", "'high' must be a finite number, found nothing "
                                                               "(the key is missing)"),
        ("[params.move_rules.camp_weight]\nlow = 1\nhigh = 2\nlog = 'yes'\n", ":4:1:",
         "'log' must be true or false, found 'yes'"),
        ("[other]\nx = 1\n", ":1:1:", "no [params"),
        # found by review: a yes/no or whole-number setting passed (0 and 1 are valid ends) and
        # the run died at a trial that drew 0.37, naming no line of params.toml
        ("[params.move_rules.avoid_short_stints]\nlow = 0\nhigh = 1\n", ":1:1:",
         "'move_rules.avoid_short_stints': avoid_short_stints is a yes/no setting; only numeric settings can be "
         "calibrated"),
        ("\n[params.move_rules.awareness_level]\nlow = 1\nhigh = 3\n", ":2:1:",
         "awareness_level is a whole-number setting; add int = true"),
        # RecursionError from tomllib
        ("[params.move_rules.camp_weight]\nlow = 1\nhigh = 2\nx = " + "[" * 500 + "]" * 500, ":4:69:",
         "not valid TOML: nested too deeply"),
    ],
)
def test_read_params_problems_point_at_the_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        read_params(path, toy_scenario())
    shown = [str(p) for p in info.value.problems]
    assert any(s.startswith(str(path) + where) and message in s for s in shown), shown


# Found by an error audit: reported at column 0 (`:1:0` shown as `:1:`), or with no line at all
# where a parameter was an inline table or a dotted key (`path: …`).
@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("[other]\nx = 1\n", ":1:1: ", "no [params.<section>.<name>] tables found (expected at least one, "
                                       "e.g. [params.move_rules.camp_weight] with low and high)"),
        ("# nothing yet\n", ":1:1: ", "no [params.<section>.<name>] tables found"),
        ("# the bounds\n  params = 3\n", ":2:3: ", "no [params.<section>.<name>] tables found"),
        ("\n[params]\n", ":2:1: ", "no [params.<section>.<name>] tables found"),
        ("params.move_rules = 3\n", ":1:1: ", "'params.move_rules' must be a table of parameters"),
        ("[params.move_rules]\ncamp_weight = 3\n", ":2:1: ", "'move_rules.camp_weight' must be a table with low and high"),
        ("[params.move_rules]\n  camp_weight = {low = 3, high = 2}\n", ":2:3: ",
         "'move_rules.camp_weight': low (3) must be below high (2)"),
        ("[params.move_rules]\ncamp_weight = {low = 1, high = 2, step = 1}\n", ":2:1: ",
         "'move_rules.camp_weight': unknown key 'step'"),
    ],
)
def test_read_params_problems_have_a_column(tmp_path: Path, flee_cases: Path, text: str, where: str,
                                            message: str) -> None:
    from typer.testing import CliRunner

    from corredor.cli import app

    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        read_params(path, toy_scenario())
    shown = [str(p) for p in info.value.problems]
    assert any(s.startswith(str(path) + where + message) for s in shown), shown
    assert all(p.line >= 1 and p.column >= 1 for p in info.value.problems), shown
    res = CliRunner().invoke(app, ["calibrate", str(flee_cases / "mali2012"), "--params", str(path),
                                   "--trials", "1", "-n", "1", "--executor", "serial",
                                   "--out", str(tmp_path / "cal")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert any(line.startswith(str(path) + where + message[:30]) for line in res.output.splitlines()), res.output
    assert not (tmp_path / "cal").exists()


def test_read_params_that_is_not_utf8_points_at_the_byte(tmp_path: Path) -> None:
    """A Latin-1 byte gave a UnicodeDecodeError traceback (only OSError was caught)."""
    path = tmp_path / "params.toml"
    path.write_bytes(b"[params.move_rules.camp_weight]\nlow=0.5\nhigh=10\n# caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        read_params(path, toy_scenario())
    (p,) = info.value.problems
    assert (p.line, p.column) == (4, 6) and "not UTF-8" in p.message and "0xe9" in p.message


def test_interval_loss() -> None:
    assert interval_loss(150, 150, 200) == 0.0
    assert interval_loss(100, 150, 200) == pytest.approx(50 / 150)
    assert interval_loss(260, 150, 200) == pytest.approx(60 / 200)
    assert interval_loss(10, None, 5) == pytest.approx(1.0)
    assert interval_loss(10, 10, 10) == 0.0


def test_ard_matches_hand_computation() -> None:
    res = toy_simulate(toy_scenario(), seed=3)
    ds = res.dataset
    sim = ds["population"].values[:, 3:].astype(float)
    obs = ds["observed"].values[:, 3:]
    u, s = obs.sum(1), sim.sum(1)
    resc = sim * (u / s)[:, None]
    want = np.mean(np.abs(resc - obs).sum(1) / np.maximum(u, 1))
    assert ard_from_dataset(ds) == pytest.approx(want)
    plain = np.mean(np.abs(sim - obs).sum(1) / np.maximum(u, 1))
    assert ard_from_dataset(ds, rescaled=False) == pytest.approx(plain)


def _plain_ard(results, scenario) -> float:
    """Plain ARD: sensitive to the camp level, which is what camp_weight moves in the toy."""
    return ard_from_dataset(results.dataset, rescaled=False)


def _fit(trials: int = 25, seed: int = 0):
    spec = ParamSpec("move_rules.camp_weight", 0.5, 8.0, log=True)
    return calibrate([toy_scenario()], [spec], trials=trials, replicas=2, seed=seed,
                     objective=_plain_ard, simulate_fn=toy_simulate, compile_fn=identity)


@pytest.mark.parametrize("seed", range(5))
def test_calibration_recovers_the_true_parameter_and_improves(seed: int) -> None:
    """Toy observations were made with camp_weight 2.5; 25 trials find it within ±25 %."""
    cal = _fit(seed=seed)
    assert 1.9 <= cal.best["move_rules.camp_weight"] <= 3.1
    assert cal.trials[0]["move_rules.camp_weight"] == 1.0  # defaults are trial 0
    assert cal.after["toy"]["mean"] < 0.5 * cal.before["toy"]["mean"]
    assert set(cal.series["toy"]) == {"observed", "before", "after"}


def test_calibration_is_reproducible() -> None:
    a, b = _fit(trials=8, seed=3), _fit(trials=8, seed=3)
    assert [r["move_rules.camp_weight"] for r in a.trials] == [r["move_rules.camp_weight"] for r in b.trials]
    assert [r["loss"] for r in a.trials] == [r["loss"] for r in b.trials]


def test_joint_fit_and_outputs(tmp_path: Path) -> None:
    spec = ParamSpec("move_rules.camp_weight", 0.5, 8.0, log=True)
    short = toy_scenario(days=20)
    cal = calibrate([toy_scenario(), short], [spec], trials=6, replicas=2, seed=1,
                    objective=_plain_ard, simulate_fn=toy_simulate, compile_fn=identity)
    assert set(cal.before) == {"toy", "toy-2"}
    for row in cal.trials:
        assert row["loss"] == pytest.approx((row["loss_toy"] + row["loss_toy-2"]) / 2)
    out = write_calibration(cal, tmp_path / "cal")
    names = {p.name for p in out.iterdir()}
    assert {"best_params.toml", "best.json", "trials.csv", "before_after.csv", "fit.png",
            "manifest.json"} <= names
    import tomllib

    best = tomllib.loads((out / "best_params.toml").read_text())
    assert math.isclose(best["move_rules"]["camp_weight"], cal.best["move_rules.camp_weight"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["trials"] == 6
    # the seeds every trial used, and the fresh ones of "before" and "after": none shared
    assert len(manifest["trial_seeds"]) == 2 and len(manifest["eval_seeds"]) == manifest["eval_replicas"]
    assert not set(manifest["trial_seeds"]) & set(manifest["eval_seeds"])
    assert len((out / "trials.csv").read_text().splitlines()) == 7


def test_cli_calibrate_bad_params_point_at_the_file(flee_cases: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corredor.cli import app

    params = _write(tmp_path, "[params.move_rules.camp_weight]\nlow = 1\nhigh = 2\n\n"
                              "[params.move_rules.foriegn_weight]\nlow = 1\nhigh = 2\n")
    res = CliRunner().invoke(app, ["calibrate", str(flee_cases / "mali2012"), "--params", str(params),
                                   "--out", str(tmp_path / "cal")])
    assert res.exit_code == 2, res.output
    assert f"{params}:5:1: unknown setting 'move_rules.foriegn_weight' (did you mean 'foreign_weight'?)" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "cal").exists()
    res = CliRunner().invoke(app, ["calibrate", str(flee_cases / "mali2012"), "--params",
                                   str(tmp_path / "missing.toml")])
    assert res.exit_code == 2 and "cannot read the parameter file" in res.output
    ok = _write(tmp_path, GOOD)
    res = CliRunner().invoke(app, ["calibrate", str(flee_cases / "mali2012"), "--params", str(ok),
                                   "--objective", "rmse"])
    assert res.exit_code == 2 and "unknown objective 'rmse'" in res.output


def test_interval_objective_on_ranged_observations() -> None:
    import datetime as dt
    from types import SimpleNamespace

    import xarray as xr

    from corredor.analysis.calibrate import interval_objective

    stranded = np.zeros((10, 2))
    stranded[3, 0] = 150  # inside [100, 200]
    stranded[5, 0] = 400  # above 300 by a third
    stranded[6, 1] = 7  # other location: ignored by 'loc'
    ds = xr.Dataset({"stranded": (("day", "location"), stranded)},
                    coords={"location": ["camp", "city"]})
    obs = (
        {"day": 3, "loc": "camp", "low": 100, "high": 200, "kind": "range"},
        {"date": "2023-01-06", "loc": "camp", "value": 300, "kind": "point"},
        {"day": 4, "loc": "camp", "low": 50, "high": float("nan"), "kind": "lower_bound"},
        {"day": 6, "loc": "camp", "value": 999, "kind": "transfer"},  # a flow: skipped
        {"day": 60, "loc": "camp", "value": 5, "kind": "point"},  # outside the run: skipped
    )
    scenario = SimpleNamespace(crisis=SimpleNamespace(observations=obs), start_date=dt.date(2023, 1, 1))
    loss = interval_objective(SimpleNamespace(dataset=ds), scenario)
    assert loss == pytest.approx((0 + 100 / 300 + 50 / 50) / 3)


def test_interval_objective_on_the_chile_peru_scenario() -> None:
    import corredor
    from corredor.analysis.calibrate import interval_objective, resolve_objective

    root = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    if not root.is_dir():
        pytest.skip("shipped Chile–Peru scenario not present")
    sc = corredor.load_scenario(root)
    assert resolve_objective(None, [sc]) is interval_objective
    from corredor.simulate import simulate

    res = simulate(sc, seed=1)
    loss = interval_objective(res, sc)
    # a run whose camp matched every report would score 0; one with nobody stranded scores worse
    # than the fitted model (each report of people seen, against none)
    counted = [o for o in sc.crisis.observations if o["kind"] in ("point", "range", "lower_bound")]
    assert counted
    matched = res.dataset.copy(deep=True)
    empty = res.dataset.copy(deep=True)
    empty["stranded"][:] = 0
    for o in counted:
        value = o["low"] if o["kind"] == "lower_bound" else (o["value"] if o["kind"] == "point" else
                                                             (o["low"] + o["high"]) / 2)
        matched["stranded"][int(o["day"])] = 0
        matched["stranded"].loc[{"day": int(o["day"]), "location": o["loc"]}] = value
    assert interval_objective(type(res)(matched, res.manifest), sc) == pytest.approx(0.0, abs=1e-12)
    empty_loss = interval_objective(type(res)(empty, res.manifest), sc)
    assert 0 <= loss < empty_loss


CHILE_PERU = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"


@pytest.mark.parametrize("case, params, extra, expected", [
    # every trial scored 0 and the "best" values were reported as a fit (exit 0)
    ("crisis", "[params.crisis.late_factor]\nlow = 0.2\nhigh = 0.8\n", ["--objective", "ard"],
     "chile-peru-2023: the ard objective compares camps with UNHCR data, which a border-crisis "
     "scenario has not (every trial would score 0); use --objective interval"),
    # every trial failed, and only then was it said
    ("mali", GOOD, ["--objective", "interval"],
     "mali2012: the interval objective fits a border-crisis scenario's observations, which a Flee "
     "case has not; use --objective ard"),
    ("crisis", "[params.crisis.late_factor]\nlow = 0.2\nhigh = 0.8\n", ["--days", "5"],
     "chile-peru-2023: no stock observation with a bound is dated within its 5 simulated days, so "
     "the interval objective has nothing to fit"),
])
def test_cli_calibrate_refuses_an_objective_that_cannot_score_the_scenario(
        flee_cases: Path, tmp_path: Path, case: str, params: str, extra: list[str], expected: str) -> None:
    """Found by a bad-input review: these ran every trial before failing, or "fitted" a loss of 0."""
    from typer.testing import CliRunner

    from corredor.cli import app

    path = CHILE_PERU if case == "crisis" else flee_cases / "mali2012"
    res = CliRunner().invoke(app, ["calibrate", str(path), "--params", str(_write(tmp_path, params)),
                                   "--trials", "1", "-n", "1", "--executor", "serial", *extra,
                                   "--out", str(tmp_path / "cal")])
    assert res.exit_code == 2, res.output
    assert expected in " ".join(res.output.split()) and "Traceback" not in res.output
    assert not (tmp_path / "cal").exists()


def test_the_library_refuses_an_objective_that_cannot_score_the_scenario() -> None:
    import corredor

    scenario = corredor.load_scenario(CHILE_PERU)
    specs = [ParamSpec("crisis.late_factor", 0.2, 0.8)]
    with pytest.raises(ValueError, match="the ard objective compares camps"):
        calibrate([scenario], specs, trials=1, replicas=1, objective="ard")


def test_a_date_parameter_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    """A crisis date parameter (peru_block) is a date, not a number a sampler can draw: refused at
    its line, pointing to a sweep of its dates (before: "expected a date ..., found 60.0")."""
    from corredor.scenario import load_scenario

    chile = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    path = _write(tmp_path, "[params.crisis.give_up_base]\nlow = 0.01\nhigh = 0.1\n\n"
                            "[params.crisis.peru_block]\nlow = 60\nhigh = 80\n")
    with pytest.raises(ScenarioError) as info:
        read_params(path, load_scenario(chile))
    assert [str(p) for p in info.value.problems] == [
        f"{path}:5:1: 'crisis.peru_block' is a date parameter; calibration searches numbers (compare its "
        "dates with `corredor compare --sweep crisis.peru_block=YYYY-MM-DD,...`)"]


def test_fit_curves_of_a_flee_case_at_hasten_10_are_in_people(flee_cases: Path) -> None:
    """fit.png's "people in camps" are people, like every run folder and ensemble table: a Flee
    case at hasten 10 showed agents (mali2012's observed camps on day 0: 1,082, not 10,820)."""
    import corredor

    sc = corredor.load_scenario(flee_cases / "mali2012", hasten=10).with_days(5)
    spec = ParamSpec("move_rules.camp_weight", 1.0, 8.0)
    cal = calibrate([sc], [spec], trials=1, replicas=1, seed=0, engine="cohorts")
    curves = cal.series["mali2012"]
    assert curves["observed"][0] == 10_820  # (926 + 69 + 87 agents) × 10, as populations.csv
    for label in ("before", "after"):  # the day-0 camp insertion (a resident may leave on day 0)
        assert 10_000 < curves[label][0] <= 10_820, label
