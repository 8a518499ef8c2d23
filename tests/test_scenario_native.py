"""The native format (scenario.toml + CSVs): conversion round trips, its own rules and errors."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corredor.plan import compile_plan
from corredor.scenario import Scenario, ScenarioError, load_scenario
from corredor.scenario.convert import DestinationExists, toml_text, write_native
from corredor.scenario.native import load_native, toml_key_position
from scenario_cases import edit, write_mini_flee


def comparable(obj: Any) -> Any:
    """Plain structure of a Scenario part, without provenance (source, metadata, line numbers)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: comparable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.name not in ("line", "lines", "source", "metadata")
        }
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, obj.tolist())
    if isinstance(obj, list | tuple):
        return [comparable(x) for x in obj]
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if hasattr(obj, "items"):
        return {k: comparable(v) for k, v in obj.items()}
    return obj


def assert_same_scenario(a: Scenario, b: Scenario) -> None:
    ca, cb = comparable(a), comparable(b)
    differing = [k for k in ca if ca[k] != cb[k]]
    assert not differing, differing


@pytest.mark.parametrize("case", ["mali2012", "burundi", "car"])
def test_converted_shared_case_loads_equal(flee_cases: Path, tmp_path: Path, case: str) -> None:
    flee = load_scenario(flee_cases / case)
    dest = write_native(flee, tmp_path / case)
    native = load_scenario(dest)
    assert native.metadata["format"] == "native"
    assert_same_scenario(flee, native)
    # and the data columns agree at the case's hasten
    for name, series in flee.observations.camps.items():
        assert np.array_equal(
            series.daily(flee.days, flee.hasten),
            native.observations.camps[name].daily(flee.days, flee.hasten),
        )


def test_a_file_listed_twice_stays_two_parts(tmp_path: Path) -> None:
    """Found by fuzzing: `D,d.csv,d.csv` (Flee sums the two) converted into one merged part."""
    layout = "total,refugees.csv\nD,d.csv,d.csv\nE,e.csv\n"
    flee = load_scenario(write_mini_flee(tmp_path / "m", {"source_data/data_layout.csv": layout}))
    native = load_scenario(write_native(flee, tmp_path / "n"))
    a, b = flee.observations.camps["D"], native.observations.camps["D"]  # (file names differ: d.csv#2)
    assert len(b.parts) == 2
    assert np.array_equal(a.daily(flee.days, 1), b.daily(flee.days, 1))


def test_coordinates_that_are_not_degrees_warn_and_are_not_converted(tmp_path: Path) -> None:
    case = write_mini_flee(tmp_path / "m")
    lines = (case / "input_csv" / "locations.csv").read_text().splitlines()
    cells = lines[1].split(",")
    cells[3] = "500"
    lines[1] = ",".join(cells)
    (case / "input_csv" / "locations.csv").write_text("\n".join(lines) + "\n")
    flee = load_scenario(case)  # Flee runs it: a warning
    assert any("gps_x (latitude) 500 is not in degrees" in str(w) for w in flee.metadata["warnings"])
    with pytest.raises(ScenarioError) as err:
        write_native(flee, tmp_path / "n")
    assert "input_csv/locations.csv:2:4:" in str(err.value) and "are not degrees" in str(err.value)
    assert not (tmp_path / "n").exists()


def test_comparison_sees_differences(tmp_path: Path) -> None:
    """The equality helper is not blind: a changed distance is noticed."""
    flee = load_scenario(write_mini_flee(tmp_path / "m"))
    dest = write_native(flee, tmp_path / "n")
    edit(dest / "routes.csv", 2, "A,B,101,0")
    with pytest.raises(AssertionError):
        assert_same_scenario(flee, load_scenario(dest))


def test_mini_round_trip_and_toml_path(tmp_path: Path) -> None:
    flee = load_scenario(write_mini_flee(tmp_path / "m"))
    dest = write_native(flee, tmp_path / "n")
    assert_same_scenario(flee, load_scenario(dest / "scenario.toml"))
    assert sorted(p.name for p in dest.iterdir()) == [
        "closures.csv",
        "conflicts.csv",
        "locations.csv",
        "observations.csv",
        "registration_corrections.csv",
        "routes.csv",
        "scenario.toml",
    ]


def test_write_refuses_existing_unless_force(tmp_path: Path) -> None:
    flee = load_scenario(write_mini_flee(tmp_path / "m"))
    dest = write_native(flee, tmp_path / "n")  # an earlier conversion, unedited
    with pytest.raises(DestinationExists):
        write_native(flee, dest, description="again")
    assert "again" not in (dest / "scenario.toml").read_text()
    write_native(flee, dest, force=True, description="again")
    assert 'description = "again"' in (dest / "scenario.toml").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


HAND = {
    "scenario.toml": """\
[scenario]
name = "corridor"
start_date = "2023-04-20"
days = 5
description = "a hand-written native scenario"

[files]
locations = "places.csv"
routes = "roads.csv"

[settings.move_rules]
max_move_speed = 500.0
""",
    "places.csv": """\
kind,name,lat,lon,country,population,capacity,note
#loc+type,#loc+name,#geo+lat,#geo+lon,#country+name,#population,#capacity,#meta+note
city,Santiago,-33.45,-70.66,Chile,1000,,capital
border_post,Chacalluta,-18.35,-70.33,Chile,0,,
staging,Arica,-18.47,-70.30,Chile,0,,
shelter,Tacna shelter,-18.01,-70.25,Peru,0,300,
destination,Lima,-12.05,-77.04,Peru,0,,
""",
    "roads.csv": """\
name1,name2,distance_km,max_move_speed
Santiago,Arica,2050,800
Arica,Chacalluta,20,
Chacalluta,Tacna shelter,35,
Tacna shelter,Lima,1250,
""",
}


def write_hand(folder: Path, files: dict[str, str] | None = None) -> Path:
    for name, text in {**HAND, **(files or {})}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def errors_of(folder: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_native(folder)
    return [str(p) for p in info.value.problems]


def test_hand_written_native_scenario(tmp_path: Path) -> None:
    # an empty max_move_speed cell is an error once the column exists (Flee would crash)
    msgs = errors_of(write_hand(tmp_path / "a"))
    assert msgs == [
        "roads.csv:3:4: missing max_move_speed (expected a number on every row once the column exists)",
        "roads.csv:4:4: missing max_move_speed (expected a number on every row once the column exists)",
        "roads.csv:5:4: missing max_move_speed (expected a number on every row once the column exists)",
    ]
    roads = "name1,name2,distance_km\nSantiago,Arica,2050\nArica,Chacalluta,20\n"
    roads += "Chacalluta,Tacna shelter,35\nTacna shelter,Lima,1250\n"
    s = load_native(write_hand(tmp_path / "b", {"roads.csv": roads}))
    assert s.name == "corridor" and s.start_date.isoformat() == "2023-04-20" and s.days == 5
    assert [loc.kind for loc in s.locations] == [
        "city",
        "border_post",
        "staging",
        "shelter",
        "destination",
    ]
    assert s.locations[0].attributes == {"note": "capital"}
    assert s.locations[0].line == 3  # header, HXL row, then data
    assert s.locations[3].capacity == 300 and s.locations[0].capacity == -1
    assert s.locations[0].type_raw == "city"
    assert s.settings.move_rules.max_move_speed == 500.0
    assert s.observations is None and s.conflicts is None and s.closures == ()
    assert s.metadata["description"] == "a hand-written native scenario"


def mini_native(tmp_path: Path) -> Path:
    return write_native(load_scenario(write_mini_flee(tmp_path / "m")), tmp_path / "n")


@pytest.mark.parametrize(
    ("file", "line_no", "text", "expected"),
    [
        (
            "locations.csv",
            4,
            "B,Land,RB,1.5,2.5,village,town,,500,-1",
            "locations.csv:4:6: unknown kind 'village'",
        ),
        ("locations.csv", 4, "B,Land,RB,1.5,2.5,towm,town,,500,-1", "(did you mean 'town'?)"),
        ("locations.csv", 4, "B,Land,RB,1e300,2.5,town,town,,500,-1",
         "locations.csv:4:4: bad lat (expected degrees between -90 and 90, found 1e+300)"),
        ("locations.csv", 4, "B,Land,RB,1.5,-181,town,town,,500,-1",
         "locations.csv:4:5: bad lon (expected degrees between -180 and 180, found -181)"),
        (
            "locations.csv",
            4,
            "A,Land,RB,1.5,2.5,town,town,,500,-1",
            "locations.csv:4:1: duplicate location name 'A'",
        ),
        (
            "locations.csv",
            4,
            "B,Land,RB,1.5,2.5,town,town,,500,-7",
            "locations.csv:4:10: negative capacity (expected ≥ 0, or −1 or empty for no limit, found -7)",
        ),
        ("locations.csv", 4, "B,Land,RB,x,2.5,town,town,,500,-1", "locations.csv:4:4: bad lat"),
        (
            "locations.csv",
            1,
            "name,country,region,lat,lon,type,flee_type,conflict_date,population,capacity",
            "locations.csv:1:1: missing column 'kind' (expected columns name, kind; found name, country",
        ),
        (
            "routes.csv",
            3,
            "B,Nowhere,50,0",
            "routes.csv:3:2: unknown location 'Nowhere' (expected a name from locations.csv)",
        ),
        (
            "routes.csv",
            1,
            "name1,name2,km,forced_redirection",
            "routes.csv:1:1: missing column 'distance_km' (expected columns name1, name2, distance_km; found",
        ),
        ("closures.csv", 3, "location,C,,3,x", "closures.csv:3:5: bad closure_end"),
        ("observations.csv", 6, "D,2020-01-03,lots,d.csv", "observations.csv:6:3: bad value"),
        ("observations.csv", 6, "D,3 Jan 2020,100,d.csv", "observations.csv:6:2: bad date"),
        (
            "registration_corrections.csv",
            2,
            "D,2020-01-07",
            "registration_corrections.csv:2:2: date 2020-01-07 is not in the series of 'D'",
        ),
        ("scenario.toml", 5, "days = 0", "scenario.toml:5:1: bad days"),
        ("scenario.toml", 4, 'start_date = "soon"', "scenario.toml:4:1: bad start_date"),
        # Python's reprs were shown: found None, found datetime.datetime(2020, 1, 1, 10, 0)
        ("scenario.toml", 4, "start_date = 2020-01-01T10:00:00",
         "scenario.toml:4:1: bad start_date (expected a date YYYY-MM-DD, found 2020-01-01T10:00:00)"),
        ("scenario.toml", 5, "", "scenario.toml:2:1: bad days (expected a whole number of days ≥ 1, "
         "found nothing (the key is missing))"),
        ("scenario.toml", 4, "start_date = 9999-12-01",
         "scenario.toml:4:1: start date 9999-12-01 is out of range (expected a date from 1700-01-01"),
        (
            "scenario.toml",
            10,
            'roads = "routes.csv"',
            "scenario.toml:10:1: unknown key 'roads' in [files]",
        ),
        (
            "scenario.toml",
            9,
            'locations = "nowhere.csv"',
            "scenario.toml:9:1: files.locations: missing file nowhere.csv",
        ),
        ("scenario.toml", 6, "description = ", "scenario.toml:6:"),
        ("scenario.toml", 2, "[scenarios]", "scenario.toml:2:1: unknown table [scenarios]"),
        # a forgotten table header: its keys were "unknown table [name]" with no place
        ("scenario.toml", 2, "", "scenario.toml:3:1: key 'name' outside any table (expected it "
         "inside one of [scenario], [files], [settings], [crisis]); put it under [scenario] "
         "(is the [scenario] line missing?)"),
        ("scenario.toml", 1, 'nmae = "x"', "scenario.toml:1:1: key 'nmae' outside any table "
         "(expected it inside one of [scenario], [files], [settings], [crisis]) (did you mean 'name'?)"),
    ],
)
def test_native_errors(tmp_path: Path, file: str, line_no: int, text: str, expected: str) -> None:
    folder = mini_native(tmp_path)
    edit(folder / file, line_no, text)
    msgs = errors_of(folder)
    assert any(expected in m for m in msgs), msgs


def test_a_camp_without_series_is_a_warning_and_left_out_of_the_ard(tmp_path: Path) -> None:
    """Found by review: a camp without a data series was an error of the native loader, while
    the API runs such a scenario and `write_native` writes it (the docs' scale case), so the
    folder it wrote could not be run. Flee needs the series only to validate: a warning, and the
    ARD scores the camps that have one (E's simulated people counted against 0 were all error)."""
    from corredor import simulate
    from corredor.analysis.metrics import ard_daily

    folder = mini_native(tmp_path)
    edit(folder / "observations.csv", 10, None)
    edit(folder / "observations.csv", 9, None)
    sc = load_native(folder)
    (w,) = [p for p in sc.metadata["warnings"] if "data series" in str(p)]
    assert str(w).startswith("locations.csv:7:1: warning: camp 'E' has no data series")
    res = simulate(sc, seed=1)
    ds = res.dataset
    sim = ds["population"].sel(location=["D"]).values
    data = ds["observed"].sel(location=["D"]).values
    assert np.isnan(ds["observed"].sel(location="E").values).all()
    assert res.manifest["metrics"]["ard_mean"] == pytest.approx(ard_daily(sim, data).mean())


def test_a_scenario_with_no_camp_series_written_natively_runs_without_an_ard(tmp_path: Path) -> None:
    """The docs' scale case (benchmarks/scale_cohorts.py::exodus: a total and no camp series),
    saved with `write_native`, was refused by the native loader: "camp 'dest0' has no data
    series". It loads with one warning naming the camps, and the run reports no ARD (a dummy
    zero series gave a plain ARD of 3.7 million)."""
    from corredor import simulate

    flee = load_scenario(write_mini_flee(tmp_path / "m"))
    api = dataclasses.replace(flee, observations=dataclasses.replace(flee.observations, camps={}))
    sc = load_native(write_native(api, tmp_path / "n"))
    (w,) = [str(p) for p in sc.metadata["warnings"] if "data series" in str(p)]
    assert "2 camps ('D', 'E') have no data series" in w
    assert "metrics" not in simulate(sc, seed=1).manifest


def test_a_camp_refused_for_its_row_is_not_also_an_unknown_series(tmp_path: Path) -> None:
    """Found by an acceptance pass: a camp row refused for its capacity also made its observations
    "series 'E' is not a location of locations.csv", a second problem that did not exist."""
    folder = mini_native(tmp_path)
    edit(folder / "locations.csv", 7, "E,Other,RE,3.5,4.5,camp,camp,,0,-12405")
    with pytest.raises(ScenarioError) as info:
        load_native(folder)
    said = [str(p) for p in info.value.problems + info.value.warnings]
    assert len(said) == 1 and said[0].startswith("locations.csv:7:10: negative capacity"), said


def test_missing_total_series(tmp_path: Path) -> None:
    folder = mini_native(tmp_path)
    for n in (4, 3, 2):
        edit(folder / "observations.csv", n, None)
    assert any("missing the 'total' series" in m for m in errors_of(folder))


def test_native_settings_errors_point_at_the_key(tmp_path: Path) -> None:
    folder = mini_native(tmp_path)
    text = (folder / "scenario.toml").read_text()
    line_no, _ = toml_key_position(text, "settings.move_rules", "camp_weight")
    edit(folder / "scenario.toml", line_no, "camp_wieght = 2.0")
    msgs = errors_of(folder)
    assert msgs == [
        f"scenario.toml:{line_no}:1: settings.move_rules.camp_wieght: unknown setting 'camp_wieght'"
        " (did you mean 'camp_weight'?)"
    ]


def test_native_settings_out_of_bounds_point_at_the_key(tmp_path: Path) -> None:
    # a negative softening makes 1/(softening + km) infinite or negative for short routes
    folder = mini_native(tmp_path)
    text = (folder / "scenario.toml").read_text()
    line_no, _ = toml_key_position(text, "settings.move_rules", "softening")
    edit(folder / "scenario.toml", line_no, "softening = -500.0")
    assert errors_of(folder) == [
        f"scenario.toml:{line_no}:1: settings.move_rules.softening: Input should be greater than"
        " or equal to 0 (found -500.0)"
    ]


def test_bad_toml_syntax_has_a_line(tmp_path: Path) -> None:
    folder = mini_native(tmp_path)
    edit(folder / "scenario.toml", 5, "days = = 10")  # (line 1: the header)
    (msg,) = errors_of(folder)
    assert msg.startswith("scenario.toml:5:") and "bad TOML" in msg


def test_crisis_section_is_delegated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = mini_native(tmp_path)
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8")  # (without the Flee settings a crisis scenario refuses)
    toml.write_text(text[:text.index("[settings.")] + '[crisis]\ngroups = "groups.csv"\n', encoding="utf-8")
    calls: list[tuple[Any, ...]] = []

    class FakeModule:
        @staticmethod
        def read_crisis(folder, table, problems, names, start_date=None, toml_path=None, **_):  # noqa: ANN001, ANN205
            calls.append((table, sorted(names), start_date))
            from corredor.scenario.model import Crisis

            return Crisis()

    monkeypatch.setitem(sys.modules, "corredor.scenario.native_crisis", FakeModule)
    s = load_native(folder)
    assert s.crisis is not None
    assert calls == [({"groups": "groups.csv"}, ["A", "B", "C", "D", "E"], s.start_date)]
    monkeypatch.setitem(sys.modules, "corredor.scenario.native_crisis", None)  # import fails
    (msg,) = errors_of(folder)
    assert "crisis sections need corredor.scenario.native_crisis" in msg
    assert msg.startswith("scenario.toml:")


def test_toml_writer_round_trips_values() -> None:
    import datetime as dt
    import tomllib

    tables = {
        "t": {
            "a": 1,
            "b": 0.1,
            "c": True,
            "d": 'x "q" é\n',
            "e": [1.0, 2.5],
            "f": dt.date(2020, 1, 2),
        }
    }
    assert tomllib.loads(toml_text(tables)) == tables


def test_empty_attribute_cells_round_trip(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    edit(
        folder / "input_csv/locations.csv",
        1,
        "#name,region,country,gps_x,gps_y,location_type,conflict_date,population,conflict_intensity,note",
    )
    edit(folder / "input_csv/locations.csv", 2, "A,RA,Land,1.0,2.0,conflict_zone,0,1000,0.5,")
    edit(folder / "input_csv/locations.csv", 3, "B,RB,Land,1.5,2.5,town,,500,,x")
    flee = load_scenario(folder)
    assert flee.locations[0].attributes == {"conflict_intensity": "0.5"}
    assert flee.locations[1].attributes == {"note": "x"}
    native = load_scenario(write_native(flee, tmp_path / "n"))
    assert_same_scenario(flee, native)
    edit(
        tmp_path / "n" / "locations.csv",
        3,
        "A,Land,RA,1,2,conflict,conflict_zone,0,1000,-1,strong,",
    )
    assert any("locations.csv:3:11: bad conflict_intensity" in m for m in errors_of(tmp_path / "n"))


def test_compile_problems_name_the_native_files(tmp_path: Path) -> None:
    # compile_plan names Flee's files; for a native scenario they become its [files] entries
    roads = "name1,name2,distance_km\nSantiago,Arica,2050\nArica,Chacalluta,20\n"
    s = load_native(write_hand(tmp_path / "b", {"roads.csv": roads}))
    with pytest.raises(ScenarioError) as info:
        compile_plan(s)  # without a [crisis] section the Flee rules do not know a 'city'
    first = info.value.problems[0]
    assert (first.path, first.line) == ("places.csv", 3) and "kind 'city'" in first.message
    toml = HAND["scenario.toml"].replace("days = 5", "days = 40000")
    with pytest.raises(ScenarioError) as info:
        compile_plan(load_native(write_hand(tmp_path / "c", {"roads.csv": roads, "scenario.toml": toml})))
    assert [p.path for p in info.value.problems] == ["scenario.toml"]


def _with_climates(folder: Path, climates: list[str]) -> Path:
    """The converted mini case with a `climate` column (one value a place, in file order)."""
    lines = (folder / "locations.csv").read_text(encoding="utf-8").splitlines()
    rows = [lines[0] + ",climate", lines[1] + ",#meta+climate"]
    rows += [f"{row},{c}" for row, c in zip(lines[2:], climates, strict=True)]
    (folder / "locations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_a_climate_column_flags_cold_places_for_the_needs(tmp_path: Path) -> None:
    """locations.csv's `climate`: validated where it is written, carried to the run's dataset,
    and a `cold` place gets the cold-climate covered space per person (FACTS.md's worked example
    gives 4.5–5.5 m² for cold desert nights; 3.5 m² elsewhere)."""
    from corredor import simulate
    from corredor.analysis.needs import compute_needs

    msgs = errors_of(_with_climates(mini_native(tmp_path / "bad"), ["", "", "chilly", "", ""]))
    assert msgs == ["locations.csv:5:11: bad climate 'chilly' (expected one of cold, temperate, hot, or empty; "
                    "'cold' gives the needs the cold-climate covered space)"]
    s = load_native(_with_climates(mini_native(tmp_path / "ok"), ["hot", "", "", "Cold", ""]))
    assert [loc.climate for loc in s.locations] == ["hot", "", "", "cold", ""]
    for engine in ("agents", "cohorts"):
        ds = simulate(s, seed=1, engine=engine).dataset
        assert list(ds["climate"].values) == ["hot", "", "", "cold", ""]
        needs = compute_needs(ds)
        people, space = ds["population"].isel(day=-1), needs["covered_space_m2"].isel(day=-1)
        assert float(people.sel(location="D")) > 0 and float(people.sel(location="B")) > 0
        assert float(space.sel(location="D")) == pytest.approx(4.5 * float(people.sel(location="D")))
        assert float(space.sel(location="B")) == pytest.approx(3.5 * float(people.sel(location="B")))
    # none given: no climate coordinate (every place the usual figure), as before the column
    plain = simulate(load_native(mini_native(tmp_path / "plain")), seed=1, engine="agents").dataset
    assert "climate" not in plain.coords
