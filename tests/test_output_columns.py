"""What an information-management officer's tools read of a run folder (findings of a review
through HXL tools, GDAL and pyarrow): each place's admin 1 (`adm1`, `#adm1+name`), which places
needs are computed at (`is_site`), the places and the roads as two one-geometry GeoJSON layers,
and a unit on every row of results.parquet, each of its variables described in docs/outputs.md."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import corredor
from corredor.analysis.needs import crisis_sites
from corredor.outputs.runfolder import write_run_folder
from corredor.scenario.model import LOCATION_KINDS

REPO = Path(__file__).resolve().parents[1]
OUTPUTS_MD = REPO / "docs" / "outputs.md"


@pytest.fixture(scope="module")
def folders(flee_cases: Path, tmp_path_factory) -> dict[str, Path]:
    """Short runs of copies of the Chile–Peru scenario (80 days: the line at Concordia has
    formed) and of mali2012 (hasten 10, 15 days), written as run folders."""
    cases = tmp_path_factory.mktemp("cases")
    cp, mali = cases / "chile-peru-2023", cases / "mali2012"
    shutil.copytree(REPO / "scenarios" / "chile-peru-2023", cp)
    shutil.copytree(flee_cases / "mali2012", mali)
    out = tmp_path_factory.mktemp("out")
    return {
        "cp": write_run_folder(corredor.simulate(corredor.load_scenario(cp, days=80), seed=3), out / "cp"),
        "mali": write_run_folder(corredor.simulate(corredor.load_scenario(mali, hasten=10, days=15), seed=3),
                                 out / "mali"),
    }


def _table(path: Path) -> tuple[list[str], list[str], list[dict[str, str]]]:
    """A corredor CSV: header, HXL hashtag row, rows as dicts."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1], [dict(zip(rows[0], r, strict=True)) for r in rows[2:]]


def _input_regions(case: Path) -> dict[str, str]:
    """name -> region as the scenario's locations.csv writes it (HXL row skipped)."""
    path = case / "input_csv" / "locations.csv" if (case / "input_csv").is_dir() else case / "locations.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        head, *rows = [r for r in csv.reader(fh) if r]
    col = [c.strip().lstrip("#") for c in head].index("region")  # (Flee's header is "#name,region,...")
    return {r[0]: r[col] for r in rows if not r[0].startswith("#")}


@pytest.mark.parametrize("case", ["cp", "mali"])
def test_every_place_table_carries_the_inputs_region_as_adm1(folders, flee_cases, case):
    """The region column of the input (Flee's locations.csv `region`; the native one, tagged
    `#adm1+name` there) was in no output, so nothing could be joined to an admin-1 boundary."""
    folder = folders[case]
    source = REPO / "scenarios" / "chile-peru-2023" if case == "cp" else flee_cases / "mali2012"
    want = {n: ("" if r.strip().lower() in ("", "unknown") else r) for n, r in _input_regions(source).items()}
    assert any(want.values())
    files = ["populations.csv", "needs.csv"] + (["sites_by_group.csv"] if case == "cp" else [])
    for name in files:
        header, tags, rows = _table(folder / name)
        assert header[header.index("country") + 1] == "adm1", name
        assert tags[header.index("adm1")] == "#adm1+name", name
        assert rows and all(r["adm1"] == want[r["location"]] for r in rows), name
        assert "unknown" not in {r["adm1"] for r in rows}
    points = json.loads((folder / "locations.geojson").read_text(encoding="utf-8"))["features"]
    assert points and all(f["properties"]["adm1"] == want[f["properties"]["name"]] for f in points)
    places = json.loads((folder / "network.json").read_text(encoding="utf-8"))["locations"]
    assert [p["adm1"] for p in places] == [want[p["name"]] for p in places]
    if case == "cp":
        shelters = next(f["properties"] for f in points if f["properties"]["name"] == "arica_shelters")
        assert shelters["adm1"] == "Arica y Parinacota"


@pytest.mark.parametrize("case", ["cp", "mali"])
def test_locations_are_points_and_routes_are_lines_each_of_one_schema(folders, case):
    """One FeatureCollection held Points and LineStrings with two property sets: GDAL read its
    geometry as 'Unknown' with the union of the fields, and it could not be one Shapefile."""
    folder = folders[case]
    layers = {}
    for name, geometry in (("locations.geojson", "Point"), ("routes.geojson", "LineString")):
        doc = json.loads((folder / name).read_text(encoding="utf-8"))
        assert doc["type"] == "FeatureCollection"
        features = doc["features"]
        assert features and {f["geometry"]["type"] for f in features} == {geometry}, name
        assert len({tuple(f["properties"]) for f in features}) == 1, name  # one set of fields, in one order
        layers[name] = features
    net = json.loads((folder / "network.json").read_text(encoding="utf-8"))
    located = [p for p in net["locations"] if p["lat"] is not None]
    assert len(layers["locations.geojson"]) == len(located)
    assert {"from", "to", "distance_km"} <= set(layers["routes.geojson"][0]["properties"])
    assert not {"from", "to"} & set(layers["locations.geojson"][0]["properties"])


def test_is_site_marks_where_needs_are_computed(folders):
    """Chile–Peru: the line (kind staging) and the shelters are the sites needs.csv covers, yet
    `is_camp` is false for both; `is_site` marks them, and only them, on the map's layer and in
    network.json. A Flee case computes needs at every place: every place is a site."""
    cp = folders["cp"]
    _, _, needs_rows = _table(cp / "needs.csv")
    in_needs = {r["location"] for r in needs_rows}
    points = {f["properties"]["name"]: f["properties"]
              for f in json.loads((cp / "locations.geojson").read_text(encoding="utf-8"))["features"]}
    sites = {n for n, p in points.items() if p["is_site"]}
    assert sites == {"camp", "arica_shelters"}
    assert in_needs <= sites
    assert points["camp"]["kind"] == "staging" and points["camp"]["is_camp"] is False
    assert all(isinstance(p["is_site"], bool) for p in points.values())
    net = json.loads((cp / "network.json").read_text(encoding="utf-8"))
    assert {p["name"] for p in net["locations"] if p["is_site"]} == sites
    mali = json.loads((folders["mali"] / "locations.geojson").read_text(encoding="utf-8"))["features"]
    assert all(f["properties"]["is_site"] is True for f in mali)
    _, _, mali_needs = _table(folders["mali"] / "needs.csv")
    assert len({r["location"] for r in mali_needs}) > sum(f["properties"]["is_camp"] for f in mali)


def test_is_site_follows_crisis_sites_in_a_dataset():
    """The rule is `needs.crisis_sites` itself, not a copy of it."""
    from corredor.outputs.tables import location_table
    from synthetic_results import crisis_like

    ds = crisis_like().dataset
    assert [loc["is_site"] for loc in location_table(ds)] == crisis_sites(ds).tolist()


def _documented_variables() -> dict[str, str]:
    """docs/outputs.md's table of results.parquet's variables: name -> unit cell."""
    text = OUTPUTS_MD.read_text(encoding="utf-8")
    section = text.split("## results.parquet", 1)[1].split("\n## ", 1)[0]
    table = section.split("| variable | unit |", 1)[1]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1]
    return rows


def _doc_key(variable: str) -> str:
    """How the docs' table names a written variable: without `[dim=value]`; a needs provision or
    gap by its pattern."""
    base = variable.split("[", 1)[0]
    m = re.fullmatch(r"needs\.(.+)_(provided|gap)", base)
    return f"needs.<indicator>_{m.group(2)}" if m else base


@pytest.mark.parametrize("case", ["cp", "mali"])
def test_every_variable_of_results_parquet_has_a_unit_and_is_documented(folders, case):
    """One `value` column mixed people, l/day, kcal/day, m², USD and status codes with no unit,
    and several variables written were not in docs/outputs.md at all."""
    t = pq.read_table(folders[case] / "results.parquet")
    assert t.column_names == ["day", "date", "location", "group", "variable", "value", "unit"]
    assert t["unit"].null_count == 0
    docs = _documented_variables()
    units: dict[str, set[str]] = {}
    for variable, unit in zip(t["variable"].to_pylist(), t["unit"].to_pylist(), strict=True):
        units.setdefault(_doc_key(variable), set()).add(unit)
    missing = sorted(set(units) - set(docs))
    assert not missing, f"written but not in docs/outputs.md's table of variables: {missing}"
    for key, found in units.items():
        assert len(found) == 1, (key, found)
        if not key.startswith("needs.<"):
            assert docs[key].strip("`") == next(iter(found)), (key, docs[key], found)
    if case == "cp":  # (a provision stated, its gap)
        assert {"needs.<indicator>_provided", "needs.<indicator>_gap", "money_paid_usd"} <= set(units)
        assert units["money_paid_usd"] == {"USD"} and units["needs.water_l"] == {"l/day"}


def test_the_kind_row_lists_every_kind_a_run_can_write():
    """Flee cases write `conflict` and `forward` where the input says `conflict_zone` and
    `forward_hub`: the docs' `kind` row names every written value."""
    section = OUTPUTS_MD.read_text(encoding="utf-8").split("## populations.csv", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| `kind` |"))
    assert all(f"`{kind}`" in row for kind in LOCATION_KINDS), [k for k in LOCATION_KINDS if f"`{k}`" not in row]
    assert "`conflict_zone`" in row and "`forwarding_hub`" in row
