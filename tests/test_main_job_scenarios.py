"""The main job on a crisis scenario other than Chile–Peru's: the date it moves is an option
(`--sweep-date`), and the observations are checked at every place they were made.

Found by a port of the tool to the Darién route: `main-job --scenario` ran, but moved only a date
parameter named `peru_block` (silently none in another scenario), spoke of Peru, and compared the
observations at one place only ("the main job keeps the daily people at necocli only"), dropping
the reception centre's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corredor.analysis.observations import check_lines, observation_checks
from corredor.cli import app
from corredor.mainjob import closure_day_scenarios, run_main_job, sweep_parameter
from corredor.scenario import load_scenario

#: A reception place where everyone stops (the staging place of a crossing closed from the date
#: parameter `stop_day`), a shelter `centre` of 100 places that a daily transfer fills from it,
#: a daily bus of 60 on to `town`; an observation at the reception and one at the centre.
FILES = {
    "scenario.toml": """\
[scenario]
name = "two-stops"
start_date = 2024-01-01
days = 12

[files]
locations = "locations.csv"
routes = "routes.csv"

[crisis]
groups = "groups.csv"
crossings = "crossings.csv"
policies = "policies.csv"
events = "events.csv"
departures = "departures.csv"
observations = "observations.csv"

[crisis.parameters]
give_up_base = 0.0
give_up_per_day = 0.0
stop_day = 2024-01-03
""",
    "locations.csv": """\
name,country,lat,lon,kind,capacity
origin,A,1,1,city,
reception,A,1,1.1,staging,
centre,B,1,1.2,shelter,100
town,B,1,1.3,city,
dest,C,1,1.4,destination,
""",
    "routes.csv": "name1,name2,distance_km\norigin,reception,10\nreception,centre,10\ncentre,town,10\ntown,dest,10\n",
    "groups.csv": "name,share,documents,destinations,fallback\nall,1,no,dest=1,origin\n",
    "crossings.csv": "name,from,to,staging\nstop,reception,centre,reception\n",
    "policies.csv": "crossing,start,end,status,capacity_per_day\nstop,$stop_day,2024-01-12,closed,0\n",
    "departures.csv": "origin,start,end,people_per_day\norigin,2024-01-01,2024-01-12,80\n",
    "events.csv": """\
kind,start,end,every_days,origin,destination,crossing,people,groups
transfer,$stop_day,2024-01-12,,reception,centre,,all,
transfer,$stop_day,2024-01-12,,centre,town,,60,
""",
    "observations.csv": """\
date,loc,value,low,high,kind
2024-01-08,reception,80,,,point
2024-01-09,centre,40,,,point
""",
}


def write_two_stops(folder: Path) -> Path:
    """The scenario above, written into `folder`."""
    folder.mkdir(parents=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture()
def two_stops(tmp_path: Path) -> Path:
    return write_two_stops(tmp_path / "two-stops")


def test_the_swept_date_is_the_one_named_and_none_is_assumed(two_stops: Path) -> None:
    sc = load_scenario(two_stops)
    assert sweep_parameter(sc) is None  # (no peru_block: no date sweep, rather than Peru's)
    assert sweep_parameter(sc, "stop_day") == "stop_day"
    with pytest.raises(ValueError, match=r"no date parameter 'stop_dy' \(did you mean 'stop_day'\?\); "
                                         r"its date parameters are stop_day"):
        sweep_parameter(sc, "stop_dy")
    with pytest.raises(ValueError, match="no date parameter 'give_up_base'"):  # (a number, not a date)
        sweep_parameter(sc, "give_up_base")
    moved = closure_day_scenarios(sc, (-1, 0, 7), parameter="stop_day")
    assert list(moved) == ["stop_day=2024-01-02", "stop_day=2024-01-10"]
    later = moved["stop_day=2024-01-10"]
    assert later.crisis.parameters["stop_day"] == 9  # (days since the start)
    assert later.metadata["variant_label"] == "stop_day 10 Jan (1 week later)"  # (no "Peru closes")
    assert later.metadata["variant_description"].startswith(
        "stop_day on 10 Jan 2024 instead of 3 Jan: the baseline with stop_day on 2024-01-10, 7 days later "
        "than as written")


def test_observations_are_checked_at_every_place_kept(two_stops: Path) -> None:
    sc = load_scenario(two_stops)
    days = 12
    camp = np.tile(np.arange(days, dtype=float), (3, 1))  # (the reception: 8 on day 7)
    centre = np.tile(np.full(days, 40.0), (3, 1))
    rows = {r["location"]: r for r in observation_checks(sc, camp, None, "reception", places={"centre": centre})}
    assert rows["centre"]["compared"] and rows["centre"]["value"] == 40.0 and rows["centre"]["ok"]
    assert rows["reception"]["compared"] and rows["reception"]["value"] == 7.0 and not rows["reception"]["ok"]
    # a place whose people were not kept is said so, by name
    (row,) = [r for r in observation_checks(sc, camp, None, "reception") if r["location"] == "centre"]
    assert not row["compared"] and row["why"] == "the model's daily people at centre were not kept (kept: reception)"


def test_observations_after_the_end_of_a_cut_run_are_not_compared(two_stops: Path, tmp_path: Path) -> None:
    """A run cut short (`Scenario.with_days`, which keeps the scenario's observations) ended
    before a named check's day: the main job's check crashed on a zero-size array. Each
    observation after the run's last day is now listed, not compared, and says why."""
    (two_stops / "observations.csv").write_text(
        "date,loc,value,low,high,kind,check\n"
        "2024-01-02,reception,0,,,point,\n"
        "2024-01-08,reception,80,,,point,8 Jan: 80\n"
        "2024-01-09,centre,40,,,point,\n", encoding="utf-8")
    sc = load_scenario(two_stops).with_days(5)
    camp = np.zeros((2, 5))
    rows = {r["date"]: r for r in observation_checks(sc, camp, None, "reception", places={"centre": camp})}
    assert rows["2024-01-02"]["compared"] and rows["2024-01-02"]["ok"]
    for date in ("2024-01-08", "2024-01-09"):
        assert not rows[date]["compared"] and rows[date]["why"] == "after the run's last day"
    assert rows["2024-01-08"]["target"] == "8 Jan: 80" and rows["2024-01-08"]["value"] is None
    out = run_main_job(tmp_path / "mj", seeds=1, scenario_dir=two_stops, baseline=sc, say=lambda _: None)
    lines = check_lines(out["checks"])
    assert "--   not compared    baseline vs observation 8 Jan: 80: after the run's last day" in lines
    assert lines[-1] == ("1 of 1 held-out observations within tolerance (fitted: 0 of 0; set by an event: "
                         "0 of 0; not compared: 2)")


def test_main_job_of_another_scenario(two_stops: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "mj"
    r = runner.invoke(app, ["main-job", "--scenario", str(two_stops), "--seeds", "1", "--executor", "serial",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert ("no date sweep: the scenario has no date parameter peru_block; name one with --sweep-date NAME "
            "(stop_day)") in r.output
    assert "running 1 scenarios × 1 seeds\n" in r.output and "Peru" not in r.output
    assert json.loads((out / "comparison.json").read_text(encoding="utf-8"))["scenarios"] == ["baseline"]
    # both observations compared, each at its own place (the reception: from day 4 the 20 a day
    # the bus leaves behind, 80 on day 7; the centre: 40 at night, docs/crisis-rules.md's example)
    checks = {c["location"]: c for c in json.loads((out / "observation_check.json").read_text(encoding="utf-8"))}
    assert checks["reception"]["compared"] and checks["reception"]["value"] == 80.0
    assert checks["centre"]["compared"] and checks["centre"]["value"] == 40.0
    assert "baseline vs observation 9 Jan: 40 (point, centre): median 40 (range 20–60)" in r.output

    out2 = tmp_path / "mj2"
    r = runner.invoke(app, ["main-job", "--scenario", str(two_stops), "--seeds", "1", "--executor", "serial",
                            "--sweep-date", "stop_day", "--out", str(out2)])
    assert r.exit_code == 0, r.output
    assert "running 5 scenarios × 1 seeds (4 of them the baseline with stop_day moved by −14, −7, +7, +14 days)" \
        in r.output
    data = json.loads((out2 / "comparison.json").read_text(encoding="utf-8"))
    assert data["scenarios"] == ["baseline", "stop_day=2023-12-20", "stop_day=2023-12-27", "stop_day=2024-01-10",
                                 "stop_day=2024-01-17"]
    assert data["labels"]["stop_day=2023-12-27"] == "stop_day 27 Dec (1 week earlier)"


def test_main_job_refuses_a_date_the_scenario_lacks(two_stops: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["main-job", "--scenario", str(two_stops), "--sweep-date", "boat_suspension",
                                 "--out", str(tmp_path / "mj")])
    assert r.exit_code == 2
    assert ("error: --sweep-date boat_suspension: the scenario has no date parameter 'boat_suspension'; "
            "its date parameters are stop_day") in r.output
    assert not (tmp_path / "mj").exists()  # (refused before any run)
