"""The Python API as a researcher calls it (README, docs/ensembles.md, docs/calibration.md): bad
arguments are refused up front with a message naming them, never run, truncated or aliased."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest

from corredor import load_scenario, simulate
from corredor.analysis.calibrate import ParamSpec, calibrate, read_params, write_calibration
from corredor.analysis.compare import compare, write_comparison
from corredor.analysis.ensemble import (
    OverrideError,
    Variant,
    apply_overrides,
    read_bands,
    replay_overrides,
    run_ensemble,
    write_ensemble,
)
from corredor.analysis.needs import compute_needs
from corredor.engine.rng import MAX_SEED, replica_seeds, seed_refusal
from corredor.scenario.native_crisis import with_parameters
from ensemble_toy import identity, toy_scenario, toy_simulate
from synthetic_results import crisis_like

REPO = Path(__file__).resolve().parents[1]
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"


# ---- seeds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, "1", True, None])
def test_simulate_refuses_a_seed_that_would_alias_or_be_truncated(seed):
    """seed_words keeps 64 bits: simulate(seed=2**64) ran seed 0's numbers with 2**64 in the
    manifest, -1 ran 2**64-1's, and int() made 1.5 and "1" seed 1."""
    with pytest.raises(ValueError, match="seed must be"):
        simulate(toy_scenario(), seed=seed)


def test_every_64_bit_seed_is_accepted():
    for seed in (0, 1, MAX_SEED, np.uint64(MAX_SEED), np.int64(7)):
        assert seed_refusal(seed) is None


@pytest.mark.parametrize("base", [1.5, -1, "3"])
def test_replica_seeds_refuse_a_base_seed_that_is_not_a_whole_number(base):
    with pytest.raises(ValueError, match="base seed must be a whole number"):
        replica_seeds(base, 2)
    assert replica_seeds(np.int64(3), 2) == replica_seeds(3, 2)


# ---- with_parameters checks its values as apply_overrides does --------------------------------


@pytest.fixture(scope="module")
def chile_peru():
    return load_scenario(CHILE_PERU)


@pytest.mark.parametrize(("values", "said"), [
    ({"give_up_base": -1.0}, "crisis parameter 'give_up_base': expected a number"),
    ({"give_up_base": "x"}, "crisis parameter 'give_up_base': expected a number, found 'x'"),
    ({"bribe_success": 1.5}, "crisis parameter 'bribe_success': expected a number between 0 and 1"),
    ({"peru_block": "2023-04-20"}, "a date is written without quotes"),
    ({"peru_block": 1.5}, "crisis parameter 'peru_block': expected a date YYYY-MM-DD"),
    ({"peru_block": 10**6}, "within 100 years of the start date"),
])
def test_with_parameters_refuses_what_apply_overrides_refuses(chile_peru, values, said):
    """A give-up rate of -1 was taken and run; a date as text failed in float()."""
    with pytest.raises(ValueError, match=said.replace("(", r"\(").replace(")", r"\)")):
        with_parameters(chile_peru, **values)
    key, value = next(iter(values.items()))
    if not isinstance(value, int):  # (apply_overrides takes dates only as dates)
        with pytest.raises(OverrideError):
            apply_overrides(chile_peru, {f"crisis.{key}": value})


def test_with_parameters_and_apply_overrides_give_the_same_scenario(chile_peru):
    a = with_parameters(chile_peru, give_up_base=0.05, peru_block=dt.date(2023, 4, 20))
    b = apply_overrides(chile_peru, {"crisis.give_up_base": 0.05, "crisis.peru_block": dt.date(2023, 4, 20)})
    assert a == b
    days = with_parameters(chile_peru, peru_block=np.int64(78))  # (days since the start date)
    assert days.crisis.parameters["peru_block"] == a.crisis.parameters["peru_block"] == 78.0


# ---- calibrate, compare and run_ensemble refuse bad inputs before running --------------------


def test_calibrate_refuses_a_parameter_a_case_lacks_before_any_trial():
    """A ParamSpec built in Python (not read by read_params) was an AttributeError from pydantic."""
    toy = toy_scenario()
    for spec, said in ((ParamSpec("move_rules.camp_wieght", 0.5, 2.0), "toy: unknown setting "
                        "'move_rules.camp_wieght' (did you mean 'camp_weight'?)"),
                       (ParamSpec("crisis.give_up_base", 0.01, 0.1), "toy: 'crisis.give_up_base': this "
                        "scenario has no border-crisis parameters")):
        with pytest.raises(OverrideError) as err:
            calibrate([toy], [spec], trials=1, replicas=1, simulate_fn=toy_simulate, compile_fn=identity)
        assert str(err.value) == said
    with pytest.raises(ValueError, match="at least one scenario"):  # (was an IndexError)
        calibrate([], [ParamSpec("move_rules.camp_weight", 0.5, 2.0)], trials=1, replicas=1)


def test_compare_refuses_no_seeds_and_a_flee_case_by_name(chile_peru):
    with pytest.raises(ValueError, match="seeds must be a whole number ≥ 1, found 0"):
        compare({"baseline": chile_peru}, seeds=0)  # (numpy's "need at least one array to concatenate")
    with pytest.raises(ValueError, match="'toy' is not a border-crisis scenario"):
        compare({"baseline": chile_peru, "toy": toy_scenario()}, seeds=1)
    with pytest.raises(ValueError, match="at least one scenario"):  # (was an empty Comparison)
        compare({}, seeds=1)


@pytest.mark.parametrize("how", ["load_scenario", "with_hasten"])
def test_a_border_crisis_scenario_with_a_hasten_is_refused_not_run_at_one(how: str, chile_peru):
    """`simulate(load_scenario(crisis, hasten=10))` ran every person and said hasten 1 in its
    manifest, the hasten silently ignored; `run --hasten 10` refuses it. The API refuses it too,
    before anything runs (compare as well), and hasten 1 still runs."""
    hastened = (load_scenario(CHILE_PERU, hasten=10, days=2) if how == "load_scenario"
                else chile_peru.with_days(2).with_hasten(10))
    said = "hasten 10: a border-crisis scenario simulates every person"
    with pytest.raises(ValueError, match=said):
        simulate(hastened, seed=0)
    with pytest.raises(ValueError, match=said):
        compare({"baseline": hastened}, seeds=1)
    # (which of the compared scenarios has the hasten: compile_crisis's message did not say)
    with pytest.raises(ValueError) as err:
        compare({"baseline": chile_peru.with_days(2), "slow lane": hastened}, seeds=1)
    assert str(err.value).startswith(f"'slow lane': {said}")
    res = simulate(hastened.with_hasten(1), seed=0)
    assert res.manifest["hasten"] == 1 and res.dataset.sizes["day"] == 2


@pytest.mark.parametrize("section", ["move_rules", "spawn_rules"])
def test_a_border_crisis_scenario_with_flee_settings_is_refused_not_run_without(section: str, chile_peru):
    """`simulate(crisis.with_settings(move_rules={"camp_weight": 2}))` ran as without it (the crisis
    rules read no Flee setting); scenario.toml and `--set` refuse the key. The API refuses it too,
    in their words, before anything runs (compare as well)."""
    key, value = ("camp_weight", 2.0) if section == "move_rules" else ("take_from_population", True)
    changed = chile_peru.with_days(2).with_settings(**{section: {key: value}})
    said = (f"settings.{section}.{key}: a border-crisis scenario's rules do not read "
            f"settings.{section}; its behaviour parameters are crisis.<name>")
    with pytest.raises(ValueError, match=re.escape(said)):
        simulate(changed, seed=0)
    with pytest.raises(ValueError) as err:
        compare({"baseline": chile_peru.with_days(2), "camps": changed}, seeds=1)
    assert str(err.value).startswith(f"'camps': {said}")
    assert simulate(chile_peru.with_days(2).with_settings(**{section: {}}), seed=0).dataset.sizes["day"] == 2


def test_run_ensemble_refuses_two_variants_with_one_label():
    """Rows and summaries are keyed by label: the two variants' replicas were merged as one."""
    variants = [Variant("cw", {"move_rules.camp_weight": 1}), Variant("cw", {"move_rules.camp_weight": 4})]
    with pytest.raises(OverrideError, match="'cw' is given twice"):
        run_ensemble(toy_scenario(), replicas=1, variants=variants, simulate_fn=toy_simulate,
                     compile_fn=identity)


# ---- type hints: the paths the docs pass as text ---------------------------------------------


@pytest.mark.parametrize(("fn", "arg"), [(write_ensemble, "out"), (read_bands, "folder"),
                                         (write_calibration, "out"), (read_params, "path"),
                                         (write_comparison, "out_dir")])
def test_path_arguments_take_text_as_the_docs_pass_it(fn, arg):
    """docs/ensembles.md and docs/calibration.md call write_ensemble(ens, "runs/mali-sweep") and
    read_params("params.toml", ...): the hints said Path, so mypy refused the documented calls."""
    hint = typing.get_type_hints(fn)[arg]
    assert str in typing.get_args(hint) and os.PathLike[str] in typing.get_args(hint)


def test_write_ensemble_takes_a_text_path(tmp_path):
    ens = run_ensemble(toy_scenario(), replicas=2, simulate_fn=toy_simulate, compile_fn=identity)
    out = write_ensemble(ens, str(tmp_path / "ens"), plot=False)
    assert out == tmp_path / "ens" and "population" in read_bands(str(out))


# ---- run folders: an existing folder ---------------------------------------------------------


@pytest.mark.parametrize("earlier", ["empty", "run folder"])
def test_write_run_folder_refuses_an_existing_folder_before_writing_anything(tmp_path, monkeypatch,
                                                                            earlier):
    """Found by a test audit (no test asserted it; dropping the check survived): without `force`,
    an existing folder is refused with the documented RunFolderExists before anything is written.
    Without the check, swap_in's late guard still kept the folder, but only after the whole run
    had been written to a temporary, and with a FileExistsError saying, falsely, that another
    command had written it meanwhile."""
    from corredor.outputs import runfolder

    out = tmp_path / "run"
    out.mkdir()
    if earlier == "run folder":
        (out / "manifest.json").write_text('{"engine": "agents", "seed": 5, "version": "0.1.0"}')
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    written: list[Path] = []
    monkeypatch.setattr(runfolder, "write_manifest", lambda results, folder: written.append(folder))
    with pytest.raises(runfolder.RunFolderExists, match=r"run exists; use --force to replace it"):
        runfolder.write_run_folder(crisis_like(), out)
    assert written == []  # nothing was written, not even to a temporary
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ---- needs: names of places ------------------------------------------------------------------


def test_compute_needs_refuses_a_place_the_run_lacks():
    """A misspelt cold place was planned as temperate without a word; a bare name was read as
    its letters."""
    ds = crisis_like().dataset
    name = str(ds["location"].values[0])
    with pytest.raises(ValueError, match="cold: unknown location 'nowhere'"):
        compute_needs(ds, cold=["nowhere"])
    with pytest.raises(ValueError, match="shelter_capacity: unknown location 'nowhere'"):
        compute_needs(ds, shelter_capacity={"nowhere": 10})
    one = compute_needs(ds, cold=name)
    assert one["cold"].values.tolist() == compute_needs(ds, cold=[name])["cold"].values.tolist()
    assert int(one["cold"].sum()) == 1


# ---- simulate on a border-crisis scenario ----------------------------------------------------


def test_a_crisis_run_says_which_engine_ran_and_compile_plan_refuses_it_in_one_problem(chile_peru):
    """manifest["engine_choice"] was missing for crisis runs (engine="cohorts" was set aside
    without a word); compile_plan listed every place as a kind "the Flee rules do not know"."""
    from corredor import ScenarioError, compile_plan

    short = chile_peru.with_days(3)
    res = simulate(short, seed=1, engine="cohorts")
    choice = res.manifest["engine_choice"]
    assert choice["asked"] == "cohorts" and choice["engine"] == res.manifest["engine"] == "crisis-agents"
    assert "crisis engine" in choice["reason"]
    with pytest.raises(ScenarioError) as err:
        compile_plan(short)
    assert len(err.value.problems) == 1 and "pass the Scenario itself to simulate()" in str(err.value)


def test_results_population_names_an_unknown_place(chile_peru):
    res = simulate(chile_peru.with_days(2), seed=0)
    assert res.population("camp").shape == (2,)
    with pytest.raises(KeyError, match="no location 'cmap' in these results \\(did you mean 'camp'\\?\\)"):
        res.population("cmap")


# ---- figures leave the caller's matplotlib alone ---------------------------------------------

_BACKEND_KEPT = """
import matplotlib
matplotlib.use("svg")  # a notebook's backend, say
import sys
from corredor.analysis.calibrate import ParamSpec, calibrate, write_calibration
from corredor.analysis.ensemble import run_ensemble, write_ensemble
from ensemble_toy import identity, toy_scenario, toy_simulate
ens = run_ensemble(toy_scenario(), replicas=2, simulate_fn=toy_simulate, compile_fn=identity)
write_ensemble(ens, sys.argv[1] + "/ens")
cal = calibrate([toy_scenario()], [ParamSpec("move_rules.camp_weight", 0.5, 8.0)], trials=1, replicas=1,
                simulate_fn=toy_simulate, compile_fn=identity)
write_calibration(cal, sys.argv[1] + "/fit")
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""


def test_ensemble_and_calibration_figures_keep_the_callers_backend(tmp_path):
    """plot_bands and plot_fit called matplotlib.use("Agg") and pyplot: after write_ensemble a
    notebook's inline backend was Agg, and its figures no longer showed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    r = subprocess.run([sys.executable, "-c", _BACKEND_KEPT, str(tmp_path)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["svg", "False"]
    assert (tmp_path / "ens" / "bands.png").stat().st_size > 1000
    assert (tmp_path / "fit" / "fit.png").stat().st_size > 1000


# ---- a result owns its arrays: editing one leaves the plan (and later runs) alone -----------


@pytest.mark.parametrize("engine", ["agents", "cohorts"])
def test_editing_a_result_in_place_leaves_later_runs_of_the_plan_alone(tmp_path, engine):
    """The dataset's observed, coordinates and distances were the Plan's own arrays: a notebook's
    `ds["observed"] *= people_per_agent` changed the next run's ARD (same plan, same seed)."""
    from corredor import compile_plan
    from scenario_cases import write_mini_flee

    plan = compile_plan(load_scenario(write_mini_flee(tmp_path / "mini")))
    first = simulate(plan, seed=1, engine=engine)
    ard = first.manifest["metrics"]["ard_mean"]
    ds = first.dataset
    for name in ("observed", "observed_total", "refugee_debt", "refugees_raw", "lat", "lon", "distance_km"):
        ds[name].values[...] = 7  # (every array a notebook may edit in place)
    again = simulate(plan, seed=1, engine=engine)
    assert again.manifest["metrics"]["ard_mean"] == ard
    assert not (again.dataset["lat"].values == 7).any() and not (plan.observed == 7).any()


def test_editing_a_crisis_result_in_place_leaves_a_reused_crisis_plan_alone(chile_peru):
    """A crisis run's departures and distances were its CrisisPlan's arrays, which ensembles and
    fits reuse across seeds: zeroing one result's departures emptied the next run."""
    from corredor.engine.crisis import simulate_crisis
    from corredor.engine.rules.crisis_plan import compile_crisis

    short = chile_peru.with_days(5)
    cplan = compile_crisis(short)
    first = simulate_crisis(short, seed=1, plan=cplan)
    before = first.dataset["population"].values.copy()
    first.dataset["departures"].values[...] = 0
    first.dataset["distance_km"].values[...] = 0
    again = simulate_crisis(short, seed=1, plan=cplan)
    assert (again.dataset["population"].values == before).all()
    assert again.dataset["departures"].values.sum() > 0 and (again.dataset["distance_km"].values > 0).all()


# ---- days, hasten and threads are checked as the CLI checks them ------------------------------

NOT_WHOLE = [0, -3, 2.9, 2.0, "7", True, None]


@pytest.mark.parametrize("days", [*NOT_WHOLE[:-1], 36_526])
def test_load_scenario_refuses_days_that_are_not_a_whole_number_in_range(tmp_path, chile_peru, days):
    """days=0 ran a crisis scenario into an empty dataset that key_figures and write_run_folder
    failed on; -3 was numpy's "negative dimensions"; 2.9 ran 2 days and "7" ran 7; a Flee case's
    days=0 blamed sim_period.csv, whose line says 10."""
    from scenario_cases import write_mini_flee

    said = r"days must be a whole number from 1 to 36,525, found "
    for path in (CHILE_PERU, write_mini_flee(tmp_path / "mini")):
        with pytest.raises(ValueError, match=said):
            load_scenario(path, days=days)
    with pytest.raises(ValueError, match=said):
        chile_peru.with_days(days)
    assert load_scenario(CHILE_PERU, days=np.int64(3)).days == 3


@pytest.mark.parametrize("hasten", [*NOT_WHOLE[:-1], 10**9 + 1])
def test_hasten_is_refused_unless_a_whole_number_in_range(tmp_path, hasten):
    """hasten=0 was pydantic's ValidationError (which `except ScenarioError` missed, with a help
    URL); 2.5 ran at 2."""
    from scenario_cases import write_mini_flee

    mini = write_mini_flee(tmp_path / "mini")
    said = r"hasten must be a whole number from 1 to 1,000,000,000, found "
    with pytest.raises(ValueError, match=said):
        load_scenario(mini, hasten=hasten)
    with pytest.raises(ValueError, match=said):
        load_scenario(mini).with_hasten(hasten)
    assert load_scenario(mini, hasten=10).hasten == 10


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_simulate_refuses_threads_that_are_not_a_whole_number_from_one(threads):
    """0, -1 and 1.5 ran on one thread, as if asked for."""
    with pytest.raises(ValueError, match=r"threads must be a whole number ≥ 1, found "):
        simulate(toy_scenario(), seed=0, threads=threads)


# ---- a wrong kind of argument is a TypeError saying what is expected ------------------------


def test_simulate_compare_and_calibrate_say_what_they_take(chile_peru):
    """simulate("path") was "'str' object has no attribute 'crisis'", compare([s1, s2]) "'list'
    object has no attribute 'items'", calibrate(scenario, ...) "'Scenario' object is not iterable"."""
    with pytest.raises(TypeError, match=r"simulate takes a Scenario or a Plan, found str \(load_scenario\(path\) first\)"):
        simulate(str(CHILE_PERU))
    with pytest.raises(TypeError, match=r"simulate takes a Scenario or a Plan, found PosixPath|WindowsPath"):
        simulate(CHILE_PERU)
    with pytest.raises(TypeError, match=r"compare takes a dict of scenarios by name, the baseline first .* found list"):
        compare([chile_peru, chile_peru], seeds=1)
    spec = ParamSpec("move_rules.camp_weight", 0.5, 2.0)
    with pytest.raises(TypeError, match=r"calibrate's scenarios is a list of scenarios \(one case: \[scenario\]\), found Scenario"):
        calibrate(toy_scenario(), [spec], trials=1, replicas=1, simulate_fn=toy_simulate, compile_fn=identity)
    with pytest.raises(TypeError, match=r"calibrate's params is a list of ParamSpec \(one: \[spec\]\), found ParamSpec"):
        calibrate([toy_scenario()], spec, trials=1, replicas=1, simulate_fn=toy_simulate, compile_fn=identity)


# ---- calibrate: bounds built in Python, functions for worker processes, Optuna's log level --


@pytest.mark.parametrize(("spec", "said"), [
    (ParamSpec("move_rules.camp_weight", 10, 0.5), "'move_rules.camp_weight': low (10) must be below high (0.5)"),
    (ParamSpec("move_rules.camp_weight", 2, 2), "'move_rules.camp_weight': low (2) must be below high (2)"),
    (ParamSpec("move_rules.camp_weight", 0.0, 5, log=True), "'move_rules.camp_weight': a log scale needs low > 0, found 0"),
])
def test_calibrate_refuses_bounds_built_in_python_naming_the_parameter(spec, said):
    """These were Optuna's "`low <= high` must hold" and "`low > 0` must hold for `log=True`",
    which do not name the parameter; read_params refused them in the same words."""
    with pytest.raises(ValueError) as err:
        calibrate([toy_scenario()], [spec], trials=1, replicas=1, simulate_fn=toy_simulate, compile_fn=identity)
    assert str(err.value) == said


def test_a_lambda_for_worker_processes_is_refused_naming_the_argument():
    """make_executor("local") with a lambda failed with pickle's "Can't pickle local object" at
    the first batch, without saying which argument or what to do."""
    from corredor.analysis.executors import make_executor

    said = r"must be a module-level function to run in worker processes"
    with make_executor("local", workers=2) as ex:
        with pytest.raises(TypeError, match=r"metric_fn=<lambda> " + said):
            run_ensemble(toy_scenario(), replicas=1, executor=ex, simulate_fn=toy_simulate,
                         compile_fn=identity, metric_fn=lambda r: {"x": 1.0})
        with pytest.raises(TypeError, match=r"objective=<lambda> " + said):
            calibrate([toy_scenario()], [ParamSpec("move_rules.camp_weight", 0.5, 2.0)], trials=1,
                      replicas=1, executor=ex, objective=lambda r: 0.0, simulate_fn=toy_simulate,
                      compile_fn=identity)
        assert ex._pool is None  # (nothing was sent to a worker)
    # the serial executor runs a lambda
    ens = run_ensemble(toy_scenario(), replicas=1, simulate_fn=toy_simulate, compile_fn=identity,
                       metric_fn=lambda r: {"x": 1.0})
    assert ens is not None


def test_calibrate_gives_optunas_log_level_back():
    """calibrate set Optuna's verbosity to WARNING and left it so: the caller's own studies
    logged less afterwards."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        calibrate([toy_scenario()], [ParamSpec("move_rules.camp_weight", 0.5, 2.0)], trials=1,
                  replicas=1, simulate_fn=toy_simulate, compile_fn=identity)
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
        with pytest.raises(ValueError):  # (a refused call too)
            calibrate([toy_scenario()], [ParamSpec("move_rules.camp_weight", 2.0, 0.5)], trials=1,
                      replicas=1, simulate_fn=toy_simulate, compile_fn=identity)
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(before)


# ---- notebook ergonomics: tab completion and one-line reprs ---------------------------------


def test_public_names_are_listed_before_first_use_and_reprs_are_one_line(chile_peru):
    """dir(corredor) lacked the lazily imported names (no tab completion); a Scenario showed
    20–48 KB and an Ensemble every per-replica row."""
    r = subprocess.run([sys.executable, "-c", "import corredor; print(sorted(dir(corredor)))"],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    for name in ("simulate", "load_scenario", "compile_plan", "Results", "Scenario", "ScenarioError"):
        assert repr(name) in r.stdout, r.stdout + r.stderr
    text = repr(chile_peru)
    assert text.startswith("Scenario(name='chile-peru-2023', source=") and "border crisis" in text
    assert f"days={chile_peru.days}" in text and f"places={len(chile_peru.locations)}" in text
    assert len(text) < 300 and "\n" not in text
    assert "Flee" in repr(toy_scenario()) and "routes=4" in repr(toy_scenario())
    ens = run_ensemble(toy_scenario(), replicas=20, simulate_fn=toy_simulate, compile_fn=identity)
    assert len(repr(ens)) < 400 and "replicas=20" in repr(ens)


def test_a_scenario_error_names_the_folder_it_is_about(tmp_path):
    """A loop over Flee cases got `input_csv/locations.csv:2:4: ...` without the case's name."""
    from corredor import ScenarioError
    from scenario_cases import edit, write_mini_flee

    case = write_mini_flee(tmp_path / "case7")
    edit(case / "input_csv" / "locations.csv", 2, "A,RA,Land,abc,2.0,conflict_zone,0,1000")
    with pytest.raises(ScenarioError) as err:
        load_scenario(case)
    assert err.value.folder == case.as_posix()
    first, *rest = str(err.value).splitlines()
    assert first == f"{case.as_posix()}: 1 problem:"
    assert rest == [str(p) for p in err.value.problems] and rest[0].startswith("input_csv/locations.csv:2:4: ")


# ---- provenance: what a folder written from Python says of the run ---------------------------


def _rerun_from_manifest(folder: Path):
    """The run that `folder/manifest.json` says was made: its source, hasten and days, with its
    `set` applied, at its seed."""
    import json

    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    base = load_scenario(m["scenario"]["source"], hasten=m["hasten"], days=m["days"])
    return m, base, simulate(replay_overrides(base, m.get("set") or {}), seed=m["seed"])


@pytest.mark.parametrize("case", ["flee", "crisis"])
def test_a_run_folder_written_after_apply_overrides_says_what_was_set(case, flee_cases, tmp_path):
    """A run folder written from Python after `apply_overrides` gave the unchanged folder as its
    source and no `set` (only `corredor run --set` added it): loading the source and running the
    seed gave other numbers. apply_overrides now records its values in the scenario, composing
    two calls, and every manifest writes them as `set`: source + set + seed is the same run."""
    from corredor.outputs.runfolder import write_run_folder

    if case == "flee":
        sc = load_scenario(flee_cases / "car", hasten=10, days=20)
        first, second = {"move_rules.camp_weight": 4}, {"move_rules.conflict_weight": 0.25}
    else:
        sc = load_scenario(CHILE_PERU, days=20)
        # (and a date parameter: JSON holds it as text, `replay_overrides` reads it back as a date)
        first, second = {"crisis.speed_km_per_day": 200.0}, {"crisis.route_usd_km": 3.0,
                                                              "crisis.peru_block": dt.date(2023, 2, 10)}
    changed = apply_overrides(apply_overrides(sc, first), second)
    assert changed.metadata["overrides"] == {**first, **second} and "overrides" not in sc.metadata
    res = simulate(changed, seed=3)
    assert res.manifest["set"] == {**first, **second}
    write_run_folder(res, tmp_path / "run")
    m, base, again = _rerun_from_manifest(tmp_path / "run")
    assert m["set"] == {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in {**first, **second}.items()}
    assert set(m["provenance"]) >= {"corredor", "python", "numpy", "numba", "xarray", "pyarrow", "pandas"}
    assert again.dataset.equals(res.dataset)  # (every variable and coordinate, value for value)
    plain = simulate(base, seed=3)  # (the source alone is another run: `set` is needed)
    assert not np.array_equal(plain.dataset["travellers"].values, res.dataset["travellers"].values)
    assert "set" not in plain.manifest


def test_ensemble_and_calibration_manifests_name_version_and_scenario_as_a_run_does(tmp_path):
    """docs/ensembles.md and docs/calibration.md named `version`, the files wrote
    `corredor_version`; an ensemble's `scenario` was a name where a run's is {name, sha256,
    source}. Now one key and one shape, plus the same `provenance` block and `set`."""
    import json

    sc = apply_overrides(toy_scenario(), {"move_rules.camp_weight": 3})
    ens = run_ensemble(sc, replicas=2, simulate_fn=toy_simulate, compile_fn=identity)
    m = json.loads((write_ensemble(ens, tmp_path / "ens", plot=False) / "manifest.json").read_text())
    cal = calibrate([sc], [ParamSpec("move_rules.conflict_weight", 0.5, 2.0)], trials=1, replicas=1,
                    simulate_fn=toy_simulate, compile_fn=identity)
    c = json.loads((write_calibration(cal, tmp_path / "fit") / "manifest.json").read_text())
    for manifest, scenario in ((m, m["scenario"]), (c, c["scenarios"][0])):
        assert "corredor_version" not in manifest and manifest["version"] == c["provenance"]["corredor"]
        assert scenario["name"] == "toy" and len(scenario["sha256"]) == 64
        assert set(manifest["provenance"]) >= {"python", "numpy", "numba", "xarray", "pyarrow", "pandas"}
    assert m["set"] == c["scenarios"][0]["set"] == {"move_rules.camp_weight": 3}


# ---- one dataset schema: Flee and crisis runs ------------------------------------------------


def test_flee_and_crisis_datasets_carry_the_documented_attributes_and_units(flee_cases):
    """docs/architecture.md: the dataset's `people_per_agent` attribute is h; crisis datasets had
    neither it nor `hasten`, and no units on lat, lon and distance_km; Flee datasets had no
    `engine`. Every run now has the same attributes and coordinate units."""
    car = load_scenario(flee_cases / "car", hasten=10, days=5)
    runs = {"agents": simulate(car, seed=1, engine="agents"),
            "cohorts": simulate(car, seed=1, engine="cohorts"),
            "crisis-agents": simulate(load_scenario(CHILE_PERU, days=5), seed=1)}
    for engine, res in runs.items():
        ds = res.dataset
        h = 1 if engine == "crisis-agents" else 10
        assert {k: ds.attrs[k] for k in ("hasten", "people_per_agent", "engine")} == \
            {"hasten": h, "people_per_agent": h, "engine": engine}, engine
        assert ds.attrs["scenario"] == res.manifest["scenario"]["name"]
        assert ds.attrs["start_date"] == res.manifest["start_date"]
        for coord in ("date", "location", "country", "kind", "is_camp", "route", "route_from", "route_to"):
            assert coord in ds.coords, (engine, coord)
        units = {c: ds[c].attrs.get("units") for c in ("day", "lat", "lon", "distance_km")}
        assert units == {"day": "day", "lat": "degrees_north", "lon": "degrees_east", "distance_km": "km"}, engine
        missing = [v for v in ds.data_vars if "units" not in ds[v].attrs]
        assert not missing, (engine, missing)
