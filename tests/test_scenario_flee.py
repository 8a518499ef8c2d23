"""Flee case folders -> Scenario: the shared cases load, and Flee 3.1's reading rules hold."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from corredor.scenario import Series, load_scenario
from corredor.scenario.flee import kind_from_type, load_flee
from corredor.scenario.model import interpolate_daily, merge_stepwise, series_table
from flee31_reference import available, load_deterministic
from scenario_cases import edit, write_mini_flee

# ---- the shared cases (counts from ../shared/data/flee/README.md) ------------------------------

CASES = {
    # case: (locations, routes, camps, start, days, hasten, total at end of refugees.csv)
    "mali2012": (23, 35, 7, "2012-02-29", 300, 10, 147_263),
    "burundi": (30, 41, 5, "2015-05-01", 396, 1, 265_492),
    "car": (63, 86, 14, "2013-12-01", 820, 1, 462_867),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_shared_case_loads_with_readme_counts(flee_cases: Path, case: str) -> None:
    n_loc, n_routes, n_camps, start, days, hasten, total_end = CASES[case]
    s = load_scenario(flee_cases / case)
    assert len(s.locations) == n_loc
    assert len(s.routes) == n_routes
    assert sum(loc.is_camp for loc in s.locations) == n_camps
    assert s.start_date.isoformat() == start
    assert s.days == days
    assert s.hasten == hasten
    assert s.observations is not None and s.observations.total is not None
    assert s.observations.total.daily(days)[-1] == total_end
    # every camp has its series, in data_layout order
    assert set(s.observations.camps) == {loc.name for loc in s.locations if loc.is_camp}
    assert s.conflicts is not None and s.conflicts.intensity.shape[0] >= days


def test_car_details(flee_cases: Path) -> None:
    s = load_scenario(flee_cases / "car")
    by = {loc.name: loc for loc in s.locations}
    assert s.home_country == "CAR"
    # conflict_zone with conflict_date 31 becomes a town but keeps the date
    assert by["Bimbo"].kind == "town" and by["Bimbo"].conflict_date == 31
    assert by["Bimbo"].type_raw == "conflict_zone"
    assert by["Bangui"].kind == "conflict" and by["Bangui"].conflict_at_start
    # an empty population cell is 0
    assert by["Mbaiki"].population == 0 and by["Mbaiki"].kind == "town"
    assert Counter(loc.kind for loc in s.locations)["forward"] == 7
    # Mboti merges two files; Bossobolo names no location: read into `extra`, with a warning
    assert s.observations.camps["Mboti"].files == ("dcon-mboti.csv", "dcon-mboti-outside.csv")
    assert "Bossobolo" in s.observations.extra
    assert any("Bossobolo" in w.message for w in s.metadata["warnings"])
    # conflicts header has a trailing empty cell: dropped
    assert len(s.conflicts.names) == 63
    assert [(c.kind, c.name1, c.name2, c.start, c.end) for c in s.closures] == [
        ("country", "CAR", "DRC", 5, 212),
        ("country", "CAR", "Chad", 163, 820),
    ]


def test_mali_attribute_column_and_settings(flee_cases: Path) -> None:
    s = load_scenario(flee_cases / "mali2012")
    kidal = s.locations[0]
    assert kidal.name == "Kidal" and kidal.attributes == {"IPC": "3"}
    assert kidal.lat == pytest.approx(18.444305) and kidal.lon == pytest.approx(1.401523)
    assert s.settings.move_rules.camp_weight == 5.0
    assert s.settings.move_rules.capacity_buffer == 0.75
    assert s.settings.spawn_rules.conflict_spawn_decay == (1.0, 1.0, 1.0, 0.5, 0.1)
    # Menaka: conflict_zone with date 1 -> town
    menaka = next(loc for loc in s.locations if loc.name == "Menaka")
    assert menaka.kind == "town" and menaka.conflict_date == 1


@pytest.mark.parametrize("case", available("deterministic"))
def test_data_columns_equal_flee31(flee_cases: Path, case: str) -> None:
    """The data columns Flee 3.1 wrote (after corrections and truncation) come out exactly."""
    det = load_deterministic(case)
    hasten = det["provenance"]["hasten"]
    s = load_scenario(flee_cases / case)
    n = len(det["dates"])
    for camp in det["camps"]:
        assert s.observations.camps[camp].daily(n, hasten).tolist() == det["data"][camp], camp
    total = s.observations.total.daily(n, hasten)
    assert total.tolist() == det["daily"]["unhcr_total_series"]


# ---- location typing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_text", "kind"),
    [
        ("camp", "camp"),
        ("Camp", "camp"),
        ("idpcamp", "idpcamp"),
        ("IDP_Camp", "idpcamp"),
        ("idp", "unknown"),  # idp alone is not a camp
        ("conflict_zone", "conflict"),
        ("Conflict", "conflict"),
        ("conflict_camp", "camp"),  # camp is tested first
        ("forwarding_hub", "forward"),
        ("marker", "marker"),
        ("flood_zone", "flood_zone"),
        ("default", "town"),
        ("Town", "town"),
        ("big_town", "town"),
        ("city", "unknown"),
        ("", "unknown"),
    ],
)
def test_kind_by_substring_first_match(type_text: str, kind: str) -> None:
    assert kind_from_type(type_text) == kind


def test_mini_case_semantics(tmp_path: Path) -> None:
    s = load_flee(write_mini_flee(tmp_path / "mini"))
    got = [(x.name, x.kind, x.conflict_date, x.population, x.capacity) for x in s.locations]
    assert got == [
        ("A", "conflict", 0, 1000, -1),
        ("B", "town", None, 500, -1),  # conflict_date not parsed for non-conflict types
        ("C", "town", 5, 300, -1),  # conflict_date > 0 -> town, date kept
        ("D", "camp", None, 0, 2000),  # col 7 is capacity for camps
        ("E", "camp", None, 0, 0),  # capacity 0: unlimited in Flee
    ]
    assert [r.forced_redirection for r in s.routes] == [0, 0, 0, 0, 2]
    assert s.conflicts.names == ("A", "C")
    assert s.conflicts.intensity[:, 1].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert s.conflicts.lines[0] == 2
    assert s.metadata["warnings"] == ()


def test_conflict_rows_by_position_not_by_day_column(tmp_path: Path) -> None:
    text = "#Day,A,C\n" + "".join(f"99,{d},0\n" for d in range(10))
    s = load_flee(write_mini_flee(tmp_path / "m", {"input_csv/conflicts.csv": text}))
    assert s.conflicts.intensity[:, 0].tolist() == list(range(10))


def test_empty_region_country_and_gps(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    edit(folder / "input_csv/locations.csv", 3, "B,,,,,town,,500")
    b = load_flee(folder).locations[1]
    assert (b.region, b.country, b.lat, b.lon) == ("unknown", "unknown", 0.0, 0.0)


def test_forced_redirection_values_and_duplicate_warning(tmp_path: Path) -> None:
    routes = "#name1,name2,distance,forced_redirection\nA,B,100,\nB,C,50,0\nB,D,200,1\nC,E,150,2\nD,E,80\n"
    s = load_flee(write_mini_flee(tmp_path / "m", {"input_csv/routes.csv": routes}))
    assert [r.forced_redirection for r in s.routes] == [0, 0, 1, 2, 0]
    (w,) = s.metadata["warnings"]
    assert (w.path, w.line, w.column) == ("input_csv/routes.csv", 4, 4)
    assert "Flee creates this route twice" in w.message


def test_route_attribute_columns(tmp_path: Path) -> None:
    routes = (
        "#name1,name2,distance,forced_redirection,max_move_speed,walk_probability\n"
        "A,B,100,0,50,0.5\nB,C,50,0,360,0\nB,D,200,0,20,1\nC,E,150,0,200,0\nD,E,80,0,200,0.25\n"
    )
    s = load_flee(write_mini_flee(tmp_path / "m", {"input_csv/routes.csv": routes}))
    assert s.routes[0].max_move_speed == 50.0 and s.routes[0].walk_probability == 0.5
    assert s.routes[2].attributes == {"max_move_speed": "20", "walk_probability": "1"}


def test_location_attribute_columns(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    edit(
        folder / "input_csv/locations.csv",
        1,
        "#name,region,country,gps_x,gps_y,location_type,conflict_date,population,conflict_intensity,note",
    )
    edit(folder / "input_csv/locations.csv", 2, "A,RA,Land,1.0,2.0,conflict_zone,0,1000,0.5,north")
    s = load_flee(folder)
    assert s.locations[0].attributes == {"conflict_intensity": "0.5", "note": "north"}
    assert s.locations[0].conflict_intensity == 0.5
    assert s.locations[1].attributes == {}


def test_conflict_period_file_and_quoted_keys(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    (folder / "input_csv/sim_period.csv").unlink()
    (folder / "input_csv/conflict_period.csv").write_text('"startdate","2020-01-01"\n"LENGTH",7\n')
    s = load_flee(folder)
    assert (s.start_date.isoformat(), s.days) == ("2020-01-01", 7)


def test_bom_crlf_and_spaces_are_accepted(tmp_path: Path) -> None:
    clean = load_flee(write_mini_flee(tmp_path / "clean"))
    messy = write_mini_flee(tmp_path / "messy")
    for path in (messy / "input_csv").glob("*.csv"):
        text = path.read_text()
        lines = [", ".join(c.strip() for c in line.split(",")) + "  " for line in text.splitlines()]
        path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    src = messy / "source_data/d.csv"
    src.write_bytes(src.read_bytes().replace(b"\n", b"\r\n"))
    s = load_flee(messy)
    assert s.locations == clean.locations
    assert s.routes == clean.routes
    assert s.closures == clean.closures
    assert np.array_equal(s.conflicts.intensity, clean.conflicts.intensity)
    assert (
        s.observations.camps["D"].daily(10).tolist()
        == clean.observations.camps["D"].daily(10).tolist()
    )


def test_missing_simsetting_uses_defaults_with_warning(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    (folder / "simsetting.yml").unlink()
    s = load_flee(folder)
    assert s.settings.move_rules.max_move_speed == 360.0
    assert [w.path for w in s.metadata["warnings"]] == ["simsetting.yml"]


def test_yaml_string_false_is_false(tmp_path: Path) -> None:
    """Flee's bool() would read the string 'False' as true; corredor reads it as false."""
    yml = 'move_rules:\n  start_on_foot: "False"\n  avoid_short_stints: "true"\n'
    s = load_flee(write_mini_flee(tmp_path / "m", {"simsetting.yml": yml}))
    assert s.settings.move_rules.start_on_foot is False
    assert s.settings.move_rules.avoid_short_stints is True


# ---- series: interpolation, clamping, truncation, corrections, hasten ---------------------------


def test_mini_series_after_registration_correction(tmp_path: Path) -> None:
    """d.csv: days 0,2,5,9 -> 0,100,300,600; correction at day 5: earlier rows × 300/100."""
    s = load_flee(write_mini_flee(tmp_path / "m"))
    d = s.observations.camps["D"]
    assert d.days == (0, 2, 5, 9)
    assert d.values == (0.0, 300.0, 300.0, 600.0)
    assert d.corrections == (5,)
    assert d.daily(10).tolist() == [0, 150, 300, 300, 300, 300, 375, 450, 525, 600]


def test_correction_before_start_is_ignored_with_warning(tmp_path: Path) -> None:
    folder = write_mini_flee(
        tmp_path / "m",
        {
            "source_data/d.csv": "2019-12-20,10\n2019-12-25,20\n2020-01-05,40\n",
            "input_csv/registration_corrections.csv": "D,2019-12-25\n",
        },
    )
    s = load_flee(folder)
    assert s.observations.camps["D"].values == (10.0, 20.0, 40.0)
    assert s.observations.camps["D"].days == (-12, -7, 4)  # negative offsets allowed
    w, zero = s.metadata["warnings"]
    assert (w.path, w.line) == ("input_csv/registration_corrections.csv", 1)
    # (D holds people on day 0, where refugees.csv says 0: warned of too)
    assert (zero.path, zero.line) == ("source_data/refugees.csv", 2)


def test_interpolation_clamps_and_truncates() -> None:
    s = Series("x", ("x.csv",), (2, 5), (10.0, 20.0))
    # before the first point: first value; between: linear, truncated; after: last value
    assert s.daily(8).tolist() == [10, 10, 10, 13, 16, 20, 20, 20]


def test_negative_values_truncate_toward_zero() -> None:
    s = Series("x", ("x.csv",), (0, 3), (0.0, -10.0))
    assert s.daily(4).tolist() == [0, -3, -6, -10]


def test_hasten_divides_before_truncation() -> None:
    s = Series("x", ("x.csv",), (0, 10), (0.0, 95.0), parts=(((0, 10), (0, 95)),))
    # 95/10 = 9.5 at day 10; day 5 -> int(4.75) = 4
    assert s.daily(11, hasten=10).tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert s.daily(11).tolist() == [0, 9, 19, 28, 38, 47, 57, 66, 76, 85, 95]


def test_hasten_order_of_operations_matches_flee() -> None:
    """Flee divides each file by hasten, then corrects: redo that, not correct-then-divide."""
    parts = (((0, 5, 9), (7, 13, 31)),)
    days, values = series_table(parts, (5,), hasten=3)
    v = np.array([7, 13, 31], dtype=np.float64) / 3.0
    v[0:1] *= v[1] / v[0]
    assert values.tolist() == v.tolist()


def test_merge_stepwise_by_hand() -> None:
    """Flee's step-wise merge: no interpolation, tail of the first file dropped."""
    a = (np.array([0.0, 10.0, 20.0, 30.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    b = (np.array([5.0, 20.0]), np.array([100.0, 200.0]))
    d, v = merge_stepwise(a, b)
    # day 0 (a before b starts): 0 + 1; day 5: b 100 + a's current (day 10) 2;
    # day 10: last b 100 + 2; day 20: 200 + 3; a's day 30 is dropped
    assert d.tolist() == [0.0, 5.0, 10.0, 20.0]
    assert v.tolist() == [1.0, 102.0, 102.0, 203.0]


def test_interpolate_daily_empty() -> None:
    assert interpolate_daily(np.zeros(0), np.zeros(0), 3).tolist() == [0, 0, 0]


def test_series_first_row_header_rules(tmp_path: Path) -> None:
    """First line skipped only if '#', empty first cell, or Date/DateTime; empty counts skipped."""
    folder = write_mini_flee(
        tmp_path / "m",
        {"source_data/e.csv": ",\n2020-01-01,0\n2020-01-03,\n2020-01-05,40\n#2020-01-07,99\n"},
    )
    e = load_flee(folder).observations.camps["E"]
    assert (e.days, e.values) == ((0, 4), (0.0, 40.0))
    folder = write_mini_flee(tmp_path / "n", {"source_data/e.csv": "2020-01-02,5\n2020-01-05,40\n"})
    assert load_flee(folder).observations.camps["E"].days == (1, 4)


def test_loading_copies_is_independent_of_folder_name(flee_cases: Path, tmp_path: Path) -> None:
    dest = tmp_path / "burundi-copy"
    shutil.copytree(flee_cases / "burundi", dest)
    s = load_scenario(dest)
    assert s.name == "burundi-copy"
    assert len(s.locations) == 30


SERIES_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "flee31_series"


@pytest.mark.parametrize("fixture", sorted(p.name for p in SERIES_FIXTURES.glob("*.json")))
def test_daily_values_equal_flee31_at_other_hastens(flee_cases: Path, fixture: str) -> None:
    """Flee 3.1's own values (fixtures/flee31_series, see make.py there), merged and corrected
    series included: car h7's Mboti differs by one on day 391 if hasten is applied last."""
    ref = json.loads((SERIES_FIXTURES / fixture).read_text())
    case, hasten = ref["provenance"]["case"].rsplit("/", 1)[1], ref["provenance"]["hasten"]
    s = load_scenario(flee_cases / case)
    series = {"total": s.observations.total, **s.observations.camps, **s.observations.extra}
    for name, values in ref["data"].items():
        assert series[name].daily(len(values), hasten).tolist() == values, name


def test_both_period_files_disagreeing_warns(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    (folder / "input_csv/conflict_period.csv").write_text("StartDate,2020-1-1\nLength,10\n")
    assert load_flee(folder).metadata["warnings"] == ()  # same date, other spelling
    (folder / "input_csv/conflict_period.csv").write_text("StartDate,2020-01-01\nLength,12\n")
    s = load_flee(folder)
    assert s.days == 10
    (w,) = s.metadata["warnings"]
    assert w.path == "input_csv/conflict_period.csv" and "differs from sim_period.csv" in w.message


def test_a_place_without_coordinates_is_warned_of_at_its_line(tmp_path: Path) -> None:
    """Empty gps cells read as 0,0, as Flee reads them (its distances come from routes.csv), but a
    map cannot place it: validate says so at the place's line, in a Flee folder and in a native
    one (where lat and lon are empty); a place with coordinates gets no such warning."""
    from corredor.scenario.convert import write_native
    from corredor.scenario.validate import validate_path

    case = write_mini_flee(tmp_path / "m")
    edit(case / "input_csv" / "locations.csv", 3, "B,RB,Land,,,town,,500")
    said = [str(w) for w in validate_path(case)]
    assert [w for w in said if "no coordinates" in w] == [
        "input_csv/locations.csv:3:4: warning: no coordinates (gps_x and gps_y empty or 0): the run reads "
        "distances from routes.csv, but maps and locations.geojson leave the place out (expected its "
        "latitude and longitude in degrees)"], said
    native = write_native(load_flee(write_mini_flee(tmp_path / "ok")), tmp_path / "n")
    assert not [w for w in map(str, validate_path(native)) if "no coordinates" in w]
    table = native / "locations.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    k = next(i for i, line in enumerate(lines) if line.startswith("B,"))
    cells = lines[k].split(",")
    cells[header.index("lat")] = cells[header.index("lon")] = ""
    lines[k] = ",".join(cells)
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    said = [str(w) for w in validate_path(native) if "no coordinates" in str(w)]
    assert said == [f"locations.csv:{k + 1}:{header.index('lat') + 1}: warning: no coordinates (lat and lon "
                    "empty or 0): maps and locations.geojson leave the place out (expected its latitude "
                    "and longitude in degrees)"], said
