"""Run-folder tables read back with pyarrow, csv and json (no pandas)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corredor.outputs import tables
from synthetic_results import XSS_NAME, crisis_like, flee_like


def _read_csv(path):
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1], rows[2:]


@pytest.fixture(params=["flee", "crisis"])
def written(request, tmp_path):
    res = flee_like() if request.param == "flee" else crisis_like()
    paths = tables.write_tables(res, tmp_path)
    return res, tmp_path, paths


def test_every_file_is_written(written):
    res, folder, paths = written
    names = sorted(p.name for p in paths)
    # sites_by_group.csv only for a run with groups (a crisis run); a Flee case's folder is as before
    by_group = ["sites_by_group.csv"] if "group" in res.dataset.dims else []
    assert names == sorted(["results.parquet", "populations.csv", "needs.csv", "locations.geojson", "routes.geojson",
                            "network.json", *by_group])
    assert sorted(p.name for p in folder.iterdir()) == names
    assert all((folder / n).stat().st_size > 0 for n in names)


def test_long_table_schema_and_values_match_the_dataset(written):
    res, folder, _ = written
    t = pq.read_table(folder / "results.parquet")
    assert t.column_names == ["day", "date", "location", "group", "variable", "value", "unit"]
    assert str(t.schema.field("date").type) == "date32[day]"
    ds = res.dataset
    pop = t.filter(pc.equal(t["variable"], "population"))
    assert pop.num_rows == ds.sizes["day"] * ds.sizes["location"]
    # the sum of the population rows is the dataset's sum, and one cell round-trips exactly
    assert pc.sum(pop["value"]).as_py() == pytest.approx(float(ds.population.sum()))
    loc = str(ds.location.values[-1])
    cell = pop.filter(pc.and_(pc.equal(pop["day"], 3), pc.equal(pop["location"], loc)))
    assert cell["value"].to_pylist() == [float(ds.population.sel(day=3, location=loc))]
    assert str(cell["date"][0].as_py()) == str(ds.date.values[3])[:10]
    variables = set(t["variable"].to_pylist())
    assert {"needs.water_l", "needs.toilets"} <= variables
    # what is not known (a day without an observation, nothing stated as provided) is null, not
    # NaN, so that sums skip it: as many nulls as the dataset has NaN cells in its day variables
    assert not pc.any(pc.is_nan(t["value"])).as_py()
    nan_cells = sum(int(np.isnan(ds[v].values).sum()) for v in ds.data_vars
                    if "day" in ds[v].dims and ds[v].dtype.kind == "f")
    assert nan_cells > 0 and t.filter(pc.invert(pc.starts_with(t["variable"], "needs.")))[
        "value"].null_count == nan_cells


def test_crisis_long_table_keeps_groups_modes_and_status(tmp_path):
    res = crisis_like()
    tables.write_long_table(res, tmp_path)
    t = pq.read_table(tmp_path / "results.parquet")
    by_group = t.filter(pc.equal(t["variable"], "population_by_group"))
    assert set(by_group["group"].to_pylist()) == {"ven_undoc", "hti_undoc"}
    flights = t.filter(pc.equal(t["variable"], "crossings[mode=flight]"))
    assert pc.sum(flights["value"]).as_py() == 115.0
    assert set(flights["location"].to_pylist()) == {"concordia"}
    status = t.filter(pc.equal(t["variable"], "crossing_status"))
    assert status["value"].to_pylist()[:3] == [0.0, 0.0, 2.0]  # open, open, closed


def test_populations_csv_has_hxl_row_and_matching_numbers(written):
    res, folder, _ = written
    header, tags, rows = _read_csv(folder / "populations.csv")
    assert header[:8] == ["date", "day", "location", "label", "location_code", "country", "adm1", "kind"]
    assert len(tags) == len(header) and all(t.startswith("#") for t in tags)
    assert tags[:5] == ["#date", "#meta+day", "#loc+id", "#loc+name", "#loc+code"]
    # only the ISO date is a #date (HXL tools read a day index 0-99 as a year), and the readable
    # label, not the scenario's identifier, is the #loc+name
    assert [t for t in tags if t.startswith("#date")] == ["#date"]
    labels = {str(n): str(v) for n, v in zip(res.dataset.location.values,
                                                res.dataset["label"].values if "label" in res.dataset.coords
                                                else res.dataset.location.values, strict=True)}
    assert {(r[2], r[3]) for r in rows} == set(labels.items())
    assert tags[header.index("population")].startswith("#affected")
    ds = res.dataset
    assert len(rows) == ds.sizes["day"] * ds.sizes["location"]
    total = sum(float(r[header.index("population")]) for r in rows)
    assert total == pytest.approx(float(ds.population.sum()))
    if "stranded" in ds:
        assert "#affected+stranded" in tags


def test_country_tag_follows_the_values():
    assert tables.country_tag(["CL", "PE", "CL/PE"]) == "#country+code"
    assert tables.country_tag(["Mali", "Burkina Faso"]) == "#country+name"


def test_needs_csv_rows_and_gap(tmp_path):
    res = crisis_like(n_days=20)
    needs = tables.needs_for(res)
    tables.write_needs_csv(res, tmp_path, needs)
    header, tags, rows = _read_csv(tmp_path / "needs.csv")
    assert tags[header.index("in_need")] == "#inneed"
    assert tags[header.index("value")] == "#indicator+value"
    col = {h: i for i, h in enumerate(header)}
    camp_toilets = [r for r in rows if r[col["location"]] == "camp" and r[col["indicator"]] == "toilets"]
    # the manifest says 6 toilets were provided; on day 15 435 people need 9 -> gap 3
    day15 = next(r for r in camp_toilets if r[col["day"]] == "15")
    assert (day15[col["value"]], day15[col["provided"]], day15[col["gap"]]) == ("9", "6", "3")
    assert day15[col["sector"]] == "wash"
    # rows only where someone is, or where something was provided: empty days keep the provision
    empty = [r for r in camp_toilets if r[col["in_need"]] == "0"]
    assert empty and all(r[col["provided"]] == "6" for r in empty)
    assert not any(r[col["location"]] == "chacalluta" for r in rows)  # nobody ever there


def test_needs_csv_written_a_block_of_days_at_a_time_is_the_same_file(tmp_path, monkeypatch):
    """needs.csv's numbers are made text a block of days at a time and the file is written a
    block of lines at a time (the whole table as Python strings took several times the run's
    memory): any block sizes give the same bytes."""
    res = crisis_like(n_days=20)
    needs = tables.needs_for(res)
    files = []
    for days, lines in ((1, 1), (7, 3), (1000, 100000)):
        monkeypatch.setattr(tables, "_NEEDS_DAYS_PER_BLOCK", days)
        monkeypatch.setattr(tables, "_LINES_PER_WRITE", lines)
        folder = tmp_path / f"{days}-{lines}"
        folder.mkdir()
        files.append(tables.write_needs_csv(res, folder, needs).read_bytes())
    assert files[0] == files[1] == files[2] and files[0].count(b"\r\n") > 40


def test_needs_csv_and_geojson_count_tents_beside_the_covered_space(tmp_path):
    """The planner's "how many tents": needs.csv has a `tents` row (sector shelter, unit tents)
    beside each `covered_space_m2` row, ⌈m² / 16⌉ whole tents at that place that day, and
    locations.geojson a `tents_peak` beside `covered_space_m2_peak`."""
    res = crisis_like(n_days=20)
    paths = tables.write_tables(res, tmp_path)
    header, tags, rows = _read_csv(tmp_path / "needs.csv")
    col = {h: i for i, h in enumerate(header)}
    assert tags[col["indicator"]] == "#indicator+code" and tags[col["value"]] == "#indicator+value"
    key = (col["day"], col["location"])
    space = {tuple(r[i] for i in key): float(r[col["value"]]) for r in rows if r[col["indicator"]] == "covered_space_m2"}
    tents = {tuple(r[i] for i in key): r for r in rows if r[col["indicator"]] == "tents"}
    assert set(tents) == set(space) and any(v > 0 for v in space.values())
    for k, r in tents.items():
        assert (r[col["sector"]], r[col["unit"]]) == ("shelter", "tents")
        assert float(r[col["value"]]) == np.ceil(space[k] / 16.0 - 1e-9)
    day15 = tents[("15", "camp")]  # 60 + 15 × 25 = 435 people × 3.5 m² = 1,522.5 m² → 96 tents
    assert space[("15", "camp")] == 1522.5 and day15[col["value"]] == "96"
    doc = json.loads(next(p for p in paths if p.name == "locations.geojson").read_text(encoding="utf-8"))
    camp = next(f["properties"] for f in doc["features"] if f["properties"].get("name") == "camp")
    assert camp["tents_peak"] == max(int(float(r[col["value"]])) for k, r in tents.items() if k[1] == "camp")
    assert isinstance(camp["tents_peak"], int)


def test_geojson_points_and_lines(written):
    res, folder, _ = written
    doc = json.loads((folder / "locations.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    points = doc["features"]
    lines = json.loads((folder / "routes.geojson").read_text(encoding="utf-8"))["features"]
    assert {f["geometry"]["type"] for f in points} == {"Point"}
    assert {f["geometry"]["type"] for f in lines} == {"LineString"}
    ds = res.dataset
    assert len(points) == ds.sizes["location"]
    assert len(lines) == ds.sizes["route"] // 2  # one line per road, both directions merged
    first = points[0]
    assert first["geometry"]["coordinates"] == [float(ds.lon.values[0]), float(ds.lat.values[0])]
    peak = float(ds.population.isel(location=0).max())
    assert first["properties"]["population_peak"] == peak
    # counts are JSON integers when whole (GIS tools type the field as integer)
    assert all(isinstance(f["properties"]["population_peak"], int) for f in points
               if float(f["properties"]["population_peak"]).is_integer())
    # a place nobody was ever at has no peak date (not the start date)
    for f in points:
        never = f["properties"]["population_peak"] == 0
        assert (f["properties"]["population_peak_date"] is None) == never


def test_geojson_leaves_out_roads_of_zero_length(tmp_path):
    """Found by an output audit: arica -> arica_shelters (same coordinates) was a LineString of
    one repeated point, which GIS tools reject as invalid."""
    res = crisis_like(n_days=5)
    ds = res.dataset
    a, b = str(ds.route_from.values[0]), str(ds.route_to.values[0])
    lat = ds["lat"].values.copy()
    lon = ds["lon"].values.copy()
    names = [str(n) for n in ds.location.values]
    lat[names.index(b)], lon[names.index(b)] = lat[names.index(a)], lon[names.index(a)]
    res.dataset = ds.assign_coords(lat=("location", lat), lon=("location", lon))
    tables.write_tables(res, tmp_path)
    lines = json.loads((tmp_path / "routes.geojson").read_text(encoding="utf-8"))["features"]
    assert lines and all(f["geometry"]["coordinates"][0] != f["geometry"]["coordinates"][1] for f in lines)
    assert not any({f["properties"]["from"], f["properties"]["to"]} == {a, b} for f in lines)
    net = json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))
    assert any({r["a"], r["b"]} == {a, b} for r in net["roads"])


def test_geojson_leaves_out_places_not_in_degrees(tmp_path):
    """A Flee gps_x of 118 (validate warns of it, the case still runs) became a Point at latitude
    118, which RFC 7946 (§3.1.1) and GIS tools refuse: such a place and its roads are left out."""
    res = flee_like()
    ds = res.dataset
    names = [str(n) for n in ds.location.values]
    lat = ds["lat"].values.copy()
    lat[0] = 118.4
    res.dataset = ds.assign_coords(lat=("location", lat))
    tables.write_tables(res, tmp_path)
    points = json.loads((tmp_path / "locations.geojson").read_text(encoding="utf-8"))["features"]
    lines = json.loads((tmp_path / "routes.geojson").read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["name"] for f in points] == names[1:]
    assert lines and not any(names[0] in (f["properties"]["from"], f["properties"]["to"]) for f in lines)
    for f in points + lines:
        coords = f["geometry"]["coordinates"]
        for lon, lat_ in [coords] if f["geometry"]["type"] == "Point" else coords:
            assert -180 <= lon <= 180 and -90 <= lat_ <= 90
    net = json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))
    assert net["locations"][0]["lat"] == 118.4  # (the report's map draws it, as validate warned)


def test_a_place_without_coordinates_is_on_no_map(tmp_path):
    """Empty gps cells read as 0,0 (as Flee reads them): such a place was a GeoJSON Point in the
    Gulf of Guinea and stretched the report's map to reach it. At exactly 0,0 a place has no
    position (lat and lon null in network.json); GeoJSON and the map leave it and its roads out."""
    from corredor.outputs.report.map_labels import project

    res = flee_like()
    ds = res.dataset
    names = [str(n) for n in ds.location.values]
    lat, lon = ds["lat"].values.copy(), ds["lon"].values.copy()
    lat[1] = lon[1] = 0.0
    res.dataset = ds.assign_coords(lat=("location", lat), lon=("location", lon))
    tables.write_tables(res, tmp_path)
    doc = json.loads((tmp_path / "locations.geojson").read_text(encoding="utf-8"))
    points = [f["properties"]["name"] for f in doc["features"] if f["geometry"]["type"] == "Point"]
    assert points == [n for k, n in enumerate(names) if k != 1]
    lines = json.loads((tmp_path / "routes.geojson").read_text(encoding="utf-8"))["features"]
    assert not any(names[1] in (f["properties"]["from"], f["properties"]["to"]) for f in lines)
    net = json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))
    assert net["locations"][1]["lat"] is None and net["locations"][1]["lon"] is None
    assert net["locations"][0]["lat"] == float(lat[0])
    assert 1 not in project(net["locations"]) and 0 in project(net["locations"])


def test_closure_status_reaches_geojson_and_network(tmp_path):
    res = crisis_like(n_days=10)
    tables.write_tables(res, tmp_path)
    doc = json.loads((tmp_path / "routes.geojson").read_text(encoding="utf-8"))
    crossing = next(f for f in doc["features"] if f["properties"].get("crossing") == "concordia")
    assert crossing["properties"]["days_closed"] == 8
    assert crossing["properties"]["first_closed_date"] == "2023-04-15"
    net = json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))
    j = next(i for i, r in enumerate(net["roads"]) if r["crossing"] == "concordia")
    assert [row[j] for row in net["road_status"]][:3] == [0, 0, 2]
    assert len(net["locations"]) == 6 and net["dates"][0] == "2023-04-13"


def test_odd_names_get_unique_codes_and_survive_round_trip(tmp_path):
    res = crisis_like(camp_name=XSS_NAME)
    tables.write_tables(res, tmp_path)
    header, _, rows = _read_csv(tmp_path / "populations.csv")
    names = {r[header.index("location")] for r in rows}
    assert XSS_NAME in names
    codes = {r[header.index("location_code")] for r in rows}
    assert "script_alert_1_script" in codes
    assert tables.slug("Línea de la Concordia") == "linea_de_la_concordia"


def test_ensemble_dimension_is_reduced_to_the_median(tmp_path):
    import xarray as xr

    res = flee_like(n_days=6)
    ens = xr.concat([res.dataset * k for k in (1, 2, 6)], dim="replica")
    res.dataset = ens
    tables.write_populations_csv(res, tmp_path)
    header, _, rows = _read_csv(tmp_path / "populations.csv")
    total = sum(float(r[header.index("population")]) for r in rows)
    assert total == pytest.approx(2 * float(flee_like(n_days=6).dataset.population.sum()))
    assert np.isfinite(total)


SHIPPED = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"


@pytest.mark.skipif(not (SHIPPED / "variants").is_dir(), reason="shipped Chile–Peru variants missing")
def test_a_variant_run_reads_the_variant_observations_not_the_baseline():
    """A run that does not record its observations reads them from its scenario; a policy variant
    is found among the folder's variant files by its name, and an unknown name gives none."""
    res = crisis_like(n_days=150, start="2023-02-01", crossings=("pe_santa_rosa", "cl_chacalluta_exit"),
                      scenario_source=str(SHIPPED))
    res.manifest["scenario"]["name"] = "chile-peru-2023+no-peru-closure"
    assert tables.observations_for(res)[0]["value"] == 60.0
    res.manifest["scenario"]["name"] = "chile-peru-2023+no-such-variant"
    assert tables.observations_for(res) == []  # unknown: none rather than the baseline's


def test_large_fractional_needs_keep_every_digit_in_csv(tmp_path):
    """Found by an output audit: CSV numbers that are not whole were written with 6 significant
    digits, so the covered space of a camp of 300,001 people (1,050,003.5 m²) read "1.05e+06"."""
    res = crisis_like(n_days=6)
    res.dataset["population"].loc[{"location": "camp"}] = 300_001.0
    needs = tables.needs_for(res)
    tables.write_needs_csv(res, tmp_path, needs)
    header, _, rows = _read_csv(tmp_path / "needs.csv")
    col = {h: i for i, h in enumerate(header)}
    space = {r[col["value"]] for r in rows if r[col["location"]] == "camp" and r[col["indicator"]] == "covered_space_m2"}
    assert space == {"1050003.5"}
    assert [tables._fmt(v) for v in (0.1 + 0.2, -0.0000001, 2.25, 1e7 + 0.5)] == ["0.3", "0", "2.25", "10000000.5"]


def _described_crisis(n_days: int = 25):
    """crisis_like with its groups described as the crisis engine describes them (groups.csv's
    nationality, documents, vulnerable) and a second site: arica as a shelter."""
    res = crisis_like(n_days=n_days)
    kinds = [("shelter" if n == "arica" else str(k)) for n, k in zip(res.dataset.location.values,
                                                                      res.dataset.kind.values, strict=True)]
    res.dataset = res.dataset.assign_coords(kind=("location", kinds), group_nationality=("group", ["VEN", "HTI"]),
                                            group_documents=("group", [False, False]),
                                            group_vulnerable=("group", [False, True]))
    return res


def test_sites_by_group_csv_is_population_by_group_at_the_crisis_sites(tmp_path):
    """Found by a user acceptance pass: who is stranded where (groups) was simulated but only in
    results.parquet. The CSV holds it at the crisis sites, day by day, as the dataset does."""
    res = _described_crisis()
    tables.write_tables(res, tmp_path)
    header, tags, rows = _read_csv(tmp_path / "sites_by_group.csv")
    assert header == ["date", "day", "location", "label", "location_code", "country", "adm1", "group", "nationality",
                      "documents", "vulnerable", "population", "stranded"]
    assert tags == ["#date", "#meta+day", "#loc+id", "#loc+name", "#loc+code", "#country+code", "#adm1+name",
                    "#group+name",
                    "#country+origin+code", "#meta+documents", "#meta+vulnerable", "#affected+displaced+ind",
                    "#affected+stranded"]
    ds = res.dataset
    # the sites: the camp (kind camp, people stranded there) and arica (kind shelter); not the cities
    assert sorted({r[2] for r in rows}) == ["arica", "camp"]
    assert len(rows) == ds.sizes["day"] * 2 * ds.sizes["group"]  # every day, site and group
    for r in rows:
        want = ds.population_by_group.sel(day=int(r[1]), location=r[2], group=r[7]).item()
        assert float(r[11]) == want and r[0] == str(ds.date.values[int(r[1])])[:10]
        assert float(r[12]) == ds.stranded_by_group.sel(day=int(r[1]), location=r[2], group=r[7]).item()
    assert {(r[7], r[8], r[9], r[10]) for r in rows} == {("ven_undoc", "VEN", "no", "no"),
                                                        ("hti_undoc", "HTI", "no", "yes")}
    # summed over the groups, a site's rows are its population and its stranded in populations.csv
    _, _, pops = _read_csv(tmp_path / "populations.csv")
    for col, pop_col in ((11, 8), (12, 10)):  # (population; stranded: who is stranded, group by group)
        summed: dict[tuple[str, str], float] = {}
        for r in rows:
            summed[(r[1], r[2])] = summed.get((r[1], r[2]), 0.0) + float(r[col])
        assert summed == {(r[1], r[2]): float(r[pop_col]) for r in pops if r[2] in ("arica", "camp")}
        assert max(summed.values()) > 0
    # network.json describes the groups for the report (this synthetic run has no group_fallback)
    net = json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))
    assert net["groups"] == [
        {"name": "ven_undoc", "nationality": "VEN", "documents": False, "vulnerable": False, "fallback": "",
         "label": "VEN, no documents"},
        {"name": "hti_undoc", "nationality": "HTI", "documents": False, "vulnerable": True, "fallback": "",
         "label": "HTI, no documents, vulnerable"}]


def test_a_flee_case_has_no_groups_file_and_no_groups_in_its_network(tmp_path):
    res = flee_like()
    assert tables.write_groups_csv(res, tmp_path) is None
    tables.write_tables(res, tmp_path)
    assert not (tmp_path / "sites_by_group.csv").exists()
    assert "groups" not in json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))


def test_groups_of_a_run_that_does_not_describe_them_are_named_only(tmp_path):
    """A dataset without the group_* coords (a run written before they were kept): empty cells,
    the group's name as its label."""
    res = crisis_like(n_days=6)
    tables.write_groups_csv(res, tmp_path)
    _, _, rows = _read_csv(tmp_path / "sites_by_group.csv")
    assert {tuple(r[7:11]) for r in rows} == {("ven_undoc", "", "", ""), ("hti_undoc", "", "", "")}
    assert [g["label"] for g in tables.group_table(res.dataset)] == ["ven_undoc", "hti_undoc"]
