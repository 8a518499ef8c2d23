"""A run folder's outputs come from what the run recorded (its dataset and manifest), not from files
read again after the run: what was provided is what the scenario loaded and the manifest records,
crossing status is the engine's, and a scenario re-read for its observations is read afresh."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

import corredor
from corredor.outputs import tables
from corredor.outputs.runfolder import write_run_folder
from synthetic_results import crisis_like

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
pytestmark = pytest.mark.skipif(not (SHIPPED / "scenario.toml").is_file(), reason="shipped scenario missing")


def _copy(tmp_path: Path, name: str = "sc") -> Path:
    folder = tmp_path / name
    shutil.copytree(SHIPPED, folder)
    return folder


def _undeclare_provided(folder: Path) -> None:
    toml = folder / "scenario.toml"
    lines = toml.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("provided = ")]
    assert len(kept) == len(lines) - 1
    toml.write_text("".join(kept), encoding="utf-8")


def _needs_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "needs.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))[1:]  # (the HXL row)


@pytest.mark.parametrize("bom", [False, True])
def test_an_undeclared_provided_csv_is_warned_of_and_not_used(tmp_path, bom):
    """Found by a review: with provided.csv in the folder but not named in [crisis], the outputs
    read it after the run with a reader of their own: with a UTF-8 BOM `corredor run` ended in a
    KeyError traceback after the simulation (no run folder), without one needs.csv showed 6
    toilets provided from a file the scenario never declared, hashed or checked. Now the loader
    says the file is not read, and the needs state nothing provided."""
    folder = _copy(tmp_path)
    _undeclare_provided(folder)
    if bom:
        prov = folder / "provided.csv"
        prov.write_bytes(b"\xef\xbb\xbf" + prov.read_bytes())
    scen = corredor.load_scenario(folder, days=80)
    warned = [str(w) for w in scen.metadata["warnings"] if "provided.csv" in str(w)]
    assert warned == ["provided.csv:1:1: warning: provided.csv is not read: scenario.toml's [crisis] does not "
                      "name it (add provided = \"provided.csv\" to [crisis] for the needs outputs to use it)"]
    res = corredor.simulate(scen, seed=0)
    assert "provided" not in res.manifest
    out = write_run_folder(res, tmp_path / "run")
    rows = _needs_rows(out)
    toilets = [r for r in rows if r["location"] == "camp" and r["indicator"] == "toilets"]
    assert toilets and all(r["provided"] == "" and r["gap"] == "" for r in rows)


def test_a_declared_provided_csv_with_a_bom_reaches_the_needs(tmp_path):
    """The loader's reader (the only one now) reads a BOM; its rows go through the manifest."""
    folder = _copy(tmp_path)
    prov = folder / "provided.csv"
    prov.write_bytes(b"\xef\xbb\xbf" + prov.read_bytes())
    scen = corredor.load_scenario(folder, days=80)
    assert not [w for w in scen.metadata["warnings"] if "provided.csv" in str(w)]
    res = corredor.simulate(scen, seed=0)
    assert [p["amount"] for p in res.manifest["provided"]][:1] == [6.0]
    out = write_run_folder(res, tmp_path / "run")
    day = next(r for r in _needs_rows(out)
               if r["location"] == "camp" and r["indicator"] == "toilets" and r["date"] == "2023-04-13")
    assert day["provided"] == "6"


def test_the_needs_never_read_the_scenario_folder_after_the_run(tmp_path):
    """A run whose manifest records nothing provided gets no provision from its source folder's
    provided.csv (there is no second reader of the file)."""
    res = crisis_like(n_days=20, scenario_source=str(_copy(tmp_path)))
    assert not hasattr(tables, "read_provided_csv") and tables.provided_for(res) is None
    needs = tables.needs_for(res)
    assert not [v for v in needs.data_vars if str(v).endswith("_provided")]


def test_a_crossing_closed_to_one_group_is_closed_on_the_map(tmp_path):
    """Found by a review: the engine marks a crossing closed on a day when its policy closes it to
    any group (the most restrictive policy over groups), the outputs' fallback only when closed to
    every group. The fallback is gone: the run folder shows what the engine recorded."""
    folder = _copy(tmp_path)
    with (folder / "policies.csv").open("a", encoding="utf-8") as fh:
        fh.write("pe_santa_rosa,2023-02-05,2023-02-10,closed,,0,,,hti_undoc,test\n")
    res = corredor.simulate(corredor.load_scenario(folder, days=12), seed=0)
    recorded = res.dataset["crossing_status"].sel(crossing="pe_santa_rosa").values
    assert list(recorded) == [0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 0, 0]
    out = write_run_folder(res, tmp_path / "run")
    net = json.loads((out / "network.json").read_text(encoding="utf-8"))
    roads = [j for j, r in enumerate(net["roads"]) if r["crossing"] == "pe_santa_rosa"]
    assert roads and all([day[j] for day in net["road_status"]] == list(recorded) for j in roads)


def test_a_run_without_crossing_status_gets_none_from_its_scenario(tmp_path):
    """No closure marks are re-derived from the scenario on disk (by a rule of their own) for a
    run that does not record them; every crisis run does."""
    res = crisis_like(n_days=150, start="2023-02-01", crossings=("pe_santa_rosa", "cl_chacalluta_exit"),
                      scenario_source=str(SHIPPED))
    assert not hasattr(tables, "with_scenario_context")
    tables.write_standard_outputs(res, tmp_path)
    net = json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))
    assert net["road_status"] is None or all(s is None for day in net["road_status"] for s in day)
    # its observations are still the scenario's (observations.json)
    obs = json.loads((tmp_path / "observations.json").read_text(encoding="utf-8"))
    assert (obs[0]["date"], obs[0]["location"], obs[0]["value"]) == ("2023-04-13", "camp", 60.0)


def test_observations_follow_an_edit_to_a_file_in_a_subfolder(tmp_path):
    """Found by a review: the scenario re-read for a run's observations was cached on the times
    of the folder's top-level files, so an edit to a [crisis] file in a subfolder was not seen
    by a long-lived process."""
    folder = _copy(tmp_path)
    (folder / "data").mkdir()
    shutil.move(folder / "stranded_observations.csv", folder / "data" / "obs.csv")
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'observations = "stranded_observations.csv"', 'observations = "data/obs.csv"'), encoding="utf-8")
    res = crisis_like(n_days=150, start="2023-02-01", scenario_source=str(folder))
    assert tables.observations_for(res)[0]["value"] == 60.0
    obs = folder / "data" / "obs.csv"
    obs.write_text(obs.read_text(encoding="utf-8").replace("2023-04-13,camp,60,", "2023-04-13,camp,61,", 1),
                   encoding="utf-8")
    assert tables.observations_for(res)[0]["value"] == 61.0


def test_a_provided_csv_beside_a_native_flee_model_scenario_is_warned_of(tmp_path):
    """A native scenario without [crisis] has no key to name what was provided: its provided.csv
    (which the outputs read after the run before) is not read, and loading says so."""
    from corredor.scenario.convert import write_native
    from scenario_cases import write_mini_flee

    folder = write_native(corredor.load_scenario(write_mini_flee(tmp_path / "mini")), tmp_path / "case")
    assert not [w for w in corredor.load_scenario(folder).metadata["warnings"] if "provided" in str(w)]
    (folder / "provided.csv").write_text("location,indicator,amount\nA,toilets,3\n", encoding="utf-8")
    warned = [str(w) for w in corredor.load_scenario(folder).metadata["warnings"] if "provided" in str(w)]
    assert warned == ["provided.csv:1:1: warning: provided.csv is not read: only a border-crisis scenario's "
                      "[crisis] provided names what was provided"]
