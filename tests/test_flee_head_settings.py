"""Flee settings that change nothing in corredor, and Flee HEAD settings it applies (findings-flee
#1, #2): each is said at its key in the file, refused by `--set` and calibrate where it can never
change a run, and warned of where it changes nothing for this scenario only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corredor.cli import app
from corredor.scenario import ScenarioError, load_scenario
from scenario_cases import MINI, write_mini_flee

YML = "simsetting.yml"
LOC = "input_csv/locations.csv"
runner = CliRunner()


def _case(tmp_path: Path, move: str = "", spawn: str = "", town_b_population: int | None = None) -> Path:
    """The mini case with lines added at the top of move_rules / spawn_rules (2-space indented)."""
    yml = MINI[YML].replace("move_rules:\n", "move_rules:\n" + move).replace(
        "spawn_rules:\n", "spawn_rules:\n" + spawn)
    files = {YML: yml}
    if town_b_population is not None:
        files[LOC] = MINI[LOC].replace("B,RB,Land,1.5,2.5,town,,500", f"B,RB,Land,1.5,2.5,town,,{town_b_population}")
    return write_mini_flee(tmp_path / "case", files)


def _warnings(folder: Path) -> list:
    return list(load_scenario(folder).metadata["warnings"])


@pytest.mark.parametrize(("section", "line", "why"), [
    ("move", "  capacity_scaling: 0.5\n", "Flee 3.1, which corredor follows, ignores it"),
    ("move", "  max_crossing_speed: 1\n", "no rule of Flee 3.1 or HEAD uses it"),
    ("spawn", "  empty_camps_on_day0: true\n", "a Flee HEAD setting (no people in camps on day 0"),
])
def test_a_setting_that_never_changes_a_run_warns_at_its_key(tmp_path: Path, section: str, line: str,
                                                              why: str) -> None:
    """capacity_scaling (HEAD only; 3.1 ignores it) and max_crossing_speed (read, never used)
    loaded with no word (`validate`: 0 warnings), as if a camp had been halved; HEAD's
    empty_camps_on_day0 was refused, although Flee 3.1 runs the file as without it (one treatment
    for every HEAD key 3.1 does not read: docs/model-rules.md, "Flee HEAD settings")."""
    (w,) = _warnings(_case(tmp_path, **{section: line}))
    assert (w.path, w.line, w.column, w.severity) == (YML, 4 if section == "move" else 2, 3, "warning")
    assert "accepted but has no effect in corredor" in w.message and why in w.message


@pytest.mark.parametrize("key", ["move_rules.capacity_scaling", "move_rules.max_crossing_speed",
                                 "move_rules.pruning_threshold", "spawn_rules.empty_camps_on_day0"])
def test_set_refuses_a_setting_that_never_changes_a_run(tmp_path: Path, key: str) -> None:
    """`run --set move_rules.capacity_scaling=0.1` ran and gave the baseline's numbers to the last
    digit; `--set` offers only keys that change a run."""
    folder = _case(tmp_path)
    r = runner.invoke(app, ["run", str(folder), "--set", f"{key}=2", "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert f"'{key}' changes no run in corredor" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def test_calibrate_refuses_parameters_that_cannot_change_the_result(tmp_path: Path) -> None:
    """A calibration over capacity_scaling gave the same loss for every trial; it (and
    pop_power_for_loc_weight while use_pop_for_loc_weight is false) is refused at its table."""
    folder = _case(tmp_path)
    params = tmp_path / "p.toml"
    params.write_text("[params.move_rules.camp_weight]\nlow = 1\nhigh = 2\n\n"
                      "[params.move_rules.capacity_scaling]\nlow = 0.2\nhigh = 2.0\n\n"
                      "[params.move_rules.pop_power_for_loc_weight]\nlow = 0.2\nhigh = 2.0\n",
                      encoding="utf-8")
    r = runner.invoke(app, ["calibrate", str(folder), "--params", str(params), "--out", str(tmp_path / "cal")])
    assert r.exit_code == 2, r.output
    assert f"{params}:5:1: 'move_rules.capacity_scaling' changes no run in corredor" in r.output
    assert (f"{params}:9:1: 'move_rules.pop_power_for_loc_weight' cannot change this case's result: "
            "move_rules.use_pop_for_loc_weight is false") in r.output
    assert "camp_weight" not in r.output and not (tmp_path / "cal").exists()


def test_pop_power_is_refused_by_calibrate_even_where_an_empty_place_makes_it_matter(tmp_path: Path) -> None:
    """With an empty town, min(1, population)^p is 0 there for every p > 0 and 1 elsewhere: no
    range of powers gives two results, so the parameter is flat for calibrate too."""
    from corredor.analysis.calibrate import read_params

    folder = _case(tmp_path, move="  use_pop_for_loc_weight: true\n", town_b_population=0)
    params = tmp_path / "p.toml"
    params.write_text("[params.move_rules.pop_power_for_loc_weight]\nlow = 0.2\nhigh = 2.0\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        read_params(params, load_scenario(folder))
    (p,) = err.value.problems
    assert (p.line, p.column) == (1, 1) and "every power above 0 gives the same run" in p.message


def _people_at(folder: Path, **overrides: object) -> np.ndarray:
    from corredor.analysis.ensemble import apply_overrides
    from corredor.simulate import simulate

    scenario = apply_overrides(load_scenario(folder), overrides)
    return np.asarray(simulate(scenario, seed=3, engine="agents").dataset["population"])


def test_use_pop_for_loc_weight_warns_where_it_changes_nothing_and_not_where_it_does(tmp_path: Path) -> None:
    """Flee 3.1's weight factor is min(1, population)^p (flee-model.md §7.2): 1 wherever a place
    holds a person, so `use_pop_for_loc_weight: true` changes nothing unless a place a route leads
    to can be empty. It is said at its key then, and only then; the claim is checked by running."""
    folder = _case(tmp_path / "full", move="  use_pop_for_loc_weight: true\n")
    (w,) = _warnings(folder)
    assert (w.path, w.line, w.column) == (YML, 4, 3)
    assert "use_pop_for_loc_weight: true changes nothing in this scenario" in w.message
    assert "min(1, population)" in w.message
    off = {"move_rules.use_pop_for_loc_weight": False}
    assert np.array_equal(_people_at(folder), _people_at(folder, **off))

    empty = _case(tmp_path / "empty", move="  use_pop_for_loc_weight: true\n", town_b_population=0)
    assert not _warnings(empty)
    assert not np.array_equal(_people_at(empty), _people_at(empty, **off))
    # (a population under one agent of the hasten is 0 too: B's 500 at hasten 1000)
    hastened = _case(tmp_path / "h", move="  use_pop_for_loc_weight: true\n")
    yml = hastened / YML
    yml.write_text(yml.read_text(encoding="utf-8").replace("hasten: 1", "hasten: 1000"), encoding="utf-8")
    assert not _warnings(hastened)


@pytest.mark.parametrize(("move", "population", "line", "says"), [
    ("  pop_power_for_loc_weight: 3\n", None, 4, "use_pop_for_loc_weight is false"),
    ("  use_pop_for_loc_weight: true\n  pop_power_for_loc_weight: 3\n", 0, 5,
     "every power above 0 gives the same run"),
    ("  use_pop_for_loc_weight: true\n  pop_power_for_loc_weight: 0\n", 0, 4,
     "with pop_power_for_loc_weight 0, min(1, population)^0 is 1 at every place"),
])
def test_pop_power_warns_where_it_changes_nothing(tmp_path: Path, move: str, population: int | None,
                                                   line: int, says: str) -> None:
    """`pop_power_for_loc_weight: 3` gave the baseline's numbers to the last digit with no note."""
    (w,) = _warnings(_case(tmp_path, move=move, town_b_population=population))
    assert (w.path, w.line, w.column) == (YML, line, 3) and says in w.message


def test_set_of_a_pop_weight_that_changes_nothing_warns(tmp_path: Path) -> None:
    folder = _case(tmp_path)
    r = runner.invoke(app, ["run", str(folder), "--set", "move_rules.use_pop_for_loc_weight=true",
                            "--out", str(tmp_path / "out"), "--engine", "agents", "-q"])
    assert r.exit_code == 0, r.output
    assert "warning: case: move_rules.use_pop_for_loc_weight: true changes nothing in this scenario" in r.output


@pytest.mark.parametrize(("spawn", "says"), [
    ("  conflict_spawn_decay: [1.0, 0.5]\n  conflict_spawn_decay_interval: 5\n",
     "5 is a Flee HEAD setting that corredor applies, but Flee 3.1 has no such setting and fixes "
     "the interval at 30 days, so results differ from Flee 3.1's"),
    ("  conflict_spawn_decay_interval: 5\n",
     "5 changes nothing: there is no spawn_rules.conflict_spawn_decay list"),
    ("  sum_from_camps: true\n", "true is a Flee HEAD setting that corredor applies, but Flee 3.1 has no such setting"),
])
def test_a_head_setting_that_corredor_applies_warns_at_its_key(tmp_path: Path, spawn: str, says: str) -> None:
    """conflict_spawn_decay_interval 5 changed the spawn weights (Fassala-Mbera 6655 vs 6710 in
    mali2012) with `validate` saying 0 warnings, while Flee 3.1 fixes 30 days."""
    folder = _case(tmp_path, spawn=spawn)
    (w,) = [w for w in _warnings(folder) if "spawn_rules" in w.message]
    key = spawn.splitlines()[-1].split(":")[0].strip()
    assert (w.path, w.line, w.column) == (YML, 1 + len(spawn.splitlines()), 3)
    assert f"spawn_rules.{key}: {says}" in w.message


def test_head_settings_at_flee_31_values_say_nothing(tmp_path: Path) -> None:
    """At the values under which Flee HEAD does what 3.1 does (its defaults; every FabFlee case
    writes `capacity_scaling: 1.0`) a HEAD key changes nothing in either version: no warning."""
    folder = _case(tmp_path, spawn="  conflict_spawn_decay: [1.0, 0.5]\n  conflict_spawn_decay_interval: 30\n"
                                   "  sum_from_camps: false\n  empty_camps_on_day0: false\n",
                   move="  capacity_scaling: 1.0\n  pruning_threshold: 1.0\n")
    assert not _warnings(folder)
