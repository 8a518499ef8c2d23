"""What a planner reads of a Flee case's run: counts in people (at hasten h > 1 one agent stands
for h people; Flee's out.csv stays in agents), what was provided, and closures on the map."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import corredor
from corredor.outputs.report import build_report
from corredor.outputs.runfolder import write_run_folder
from corredor.results import in_people

H = 10


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows[1:]  # (the HXL row)


@pytest.fixture(scope="module")
def mali_run(flee_cases: Path, tmp_path_factory):
    """mali2012 at hasten 10, 40 days, with a provided.csv beside Flee's files."""
    case = tmp_path_factory.mktemp("case") / "mali2012"
    shutil.copytree(flee_cases / "mali2012", case)
    (case / "provided.csv").write_text("location,indicator,amount,start,end,source\n"
                                       "Fassala-Mbera,toilets,100,2012-03-01,2012-06-30,test\n")
    res = corredor.simulate(corredor.load_scenario(case, hasten=H, days=40), seed=1)
    folder = write_run_folder(res, tmp_path_factory.mktemp("out") / "run", flee_out=True)
    return res, folder


def test_the_dataset_counts_agents_and_says_so(mali_run):
    res, _ = mali_run
    ds = res.dataset
    assert ds.attrs["people_per_agent"] == H
    assert ds["population"].attrs["units"] == "agents"
    people = in_people(ds)
    assert people["population"].attrs["units"] == "people"
    np.testing.assert_array_equal(people["population"].values, H * ds["population"].values)
    assert in_people(people) is people  # already in people: unchanged


def test_tables_and_needs_are_in_people(mali_run):
    res, folder = mali_run
    ds = res.dataset
    j = list(ds["location"].values).index("Fassala-Mbera")
    agents = ds["population"].values[:, j]
    assert agents.max() > 0
    pops = [r for r in _rows(folder / "populations.csv") if r["location"] == "Fassala-Mbera"]
    assert [float(r["population"]) for r in pops] == [H * float(a) for a in agents]
    water = {int(r["day"]): float(r["value"]) for r in _rows(folder / "needs.csv")
             if r["location"] == "Fassala-Mbera" and r["indicator"] == "water_l"}
    need = {int(r["day"]): float(r["in_need"]) for r in _rows(folder / "needs.csv")
            if r["location"] == "Fassala-Mbera"}
    for t, a in enumerate(agents):
        assert need[t] == H * a and water[t] == 15.0 * H * a  # Sphere: 15 l a person a day
    quick = _rows(folder / "population.csv")
    assert [float(r["Fassala-Mbera"]) for r in quick] == [H * float(a) for a in agents]
    peaks = {f["properties"]["name"]: f["properties"] for f in
             json.loads((folder / "locations.geojson").read_text())["features"]}
    assert peaks["Fassala-Mbera"]["population_peak"] == H * agents.max()


def test_population_csv_is_written_as_every_csv_and_agrees_with_populations_csv(mali_run):
    """population.csv was the one CSV without an HXL hashtag row, written by its own csv.writer
    code with numbers as Python printed them. Now it goes through `tables.write_hxl_csv`: CRLF,
    the hashtag row, and the same digits as populations.csv for every day and place."""
    _, folder = mali_run
    raw = (folder / "population.csv").read_bytes()
    lines = raw.decode("utf-8").split("\r\n")
    assert lines[-1] == "" and not any("\n" in line for line in lines)  # CRLF only
    header, tags = lines[0].split(","), lines[1].split(",")
    assert tags[:2] == ["#meta+day", "#date"] and len(tags) == len(header)
    codes = {r["location"]: r["location_code"] for r in _rows(folder / "populations.csv")}
    assert tags[2:] == [f"#affected+displaced+ind+loc_{codes[name]}" for name in header[2:]]
    tidy = {(r["day"], r["location"]): r["population"] for r in _rows(folder / "populations.csv")}
    quick = _rows(folder / "population.csv")
    assert len(quick) == 40
    for r in quick:
        assert all(r[name] == tidy[(r["day"], name)] for name in header[2:]), r["day"]


def test_flee_out_csv_stays_in_agents(mali_run):
    res, folder = mali_run
    with (folder / "out.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    sim = [float(r["Fassala-Mbera sim"]) for r in rows]
    assert sim == [float(a) for a in res.dataset["population"].sel(location="Fassala-Mbera").values]


def test_a_flee_folders_provided_csv_gives_the_gap(mali_run):
    """The case's loader reads provided.csv (as [crisis] provided is read) and the run's manifest
    records its rows: the needs read them there, not the folder's file again after the run."""
    res, folder = mali_run
    assert Path(res.manifest["scenario"]["source"]).name == "mali2012"
    assert res.manifest["provided"] == [{"location": "Fassala-Mbera", "indicator": "toilets", "amount": 100.0,
                                         "start": "2012-03-01", "end": "2012-06-30", "source": "test"}]
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["provided"] == res.manifest["provided"]
    rows = [r for r in _rows(folder / "needs.csv")
            if r["location"] == "Fassala-Mbera" and r["indicator"] == "toilets"]
    day1 = next(r for r in rows if r["date"] == "2012-03-01")
    assert float(day1["provided"]) == 100.0
    assert float(day1["gap"]) == max(float(day1["value"]) - 100.0, 0.0)
    assert next(r for r in rows if r["date"] == "2012-02-29")["provided"] == ""


def test_the_report_says_its_counts_are_people(mali_run):
    _, folder = mali_run
    html = build_report(folder).read_text(encoding="utf-8")
    assert f"in people; each simulated agent stands for {H} people" in html


def test_closures_reach_the_map_and_the_tables(mali_run):
    """mali2012 closes the Mali–Burkina Faso border on days 0–22 and Mali–Niger on 0–33."""
    res, folder = mali_run
    ds = res.dataset
    country = dict(zip(ds["location"].values, ds["country"].values, strict=True))
    pairs = [frozenset((country[a], country[b])) for a, b in
             zip(ds["route_from"].values, ds["route_to"].values, strict=True)]
    closed = ds["route_closed"].transpose("day", "route").values
    burkina = [k for k, p in enumerate(pairs) if p == {"Mali", "Burkina_Faso"}]
    niger = [k for k, p in enumerate(pairs) if p == {"Mali", "Niger"}]
    assert burkina and niger
    assert closed[0, burkina].all() and not closed[-1, burkina].any()
    assert closed[25, niger].all() and not closed[25, burkina].any()
    others = [k for k in range(len(pairs)) if k not in burkina + niger]
    assert not closed[:, others].any()
    roads = [f["properties"] for f in json.loads((folder / "routes.geojson").read_text())["features"]]
    for road in roads:
        links = [k for k in range(len(pairs)) if {ds["route_from"].values[k], ds["route_to"].values[k]}
                 == {road["from"], road["to"]}]
        assert road.get("days_closed", 0) == int(closed[:, links].any(axis=1).sum())
    assert sum(1 for r in roads if r.get("days_closed")) == len(burkina + niger) // 2
    network = json.loads((folder / "network.json").read_text())
    assert len(network["road_status"]) == ds.sizes["day"]


def test_a_flee_folders_provided_csv_is_checked_when_loaded(flee_cases: Path, tmp_path: Path):
    """A bad row is a located error at load (it was a traceback after the run, or a silent row:
    the outputs read the file with a reader of their own); a UTF-8 BOM is read."""
    case = tmp_path / "mali2012"
    shutil.copytree(flee_cases / "mali2012", case)
    (case / "provided.csv").write_text("location,indicator,amount\nFassala-Mbera,latrines,3\nNowhere,toilets,2\n",
                                       encoding="utf-8")
    with pytest.raises(corredor.ScenarioError) as err:
        corredor.load_scenario(case)
    text = str(err.value)
    assert "provided.csv:2:2: unknown indicator 'latrines'" in text
    assert "provided.csv:3:1: unknown location 'Nowhere'" in text
    (case / "provided.csv").write_bytes("\ufefflocation,indicator,amount\nFassala-Mbera,toilets,3\n".encode())
    scen = corredor.load_scenario(case)
    assert [p["amount"] for p in scen.metadata["provided"]] == [3.0]
