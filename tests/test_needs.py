"""Needs from populations, checked against figures worked by hand (FACTS.md §4 worked example)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from corredor.analysis.needs import Standard, compute_needs, needs_standard
from corredor.scenario import ScenarioError
from synthetic_results import crisis_like, flee_like


def _one(pop: list[list[float]], names: list[str], **coords) -> xr.Dataset:
    return xr.Dataset(
        {"population": (("day", "location"), np.asarray(pop, dtype=float))},
        coords={"day": np.arange(len(pop)), "location": names, **{k: ("location", v) for k, v in coords.items()}},
    )


def test_default_standard_is_sphere_as_in_facts():
    std = needs_standard()
    assert std.water.litres_per_person_day == 15
    assert std.food.kcal_per_person_day == 2100
    assert std.shelter.covered_m2_per_person == 3.5
    assert std.shelter.covered_m2_per_person_cold == 4.5
    assert (std.sanitation.people_per_toilet_initial, std.sanitation.people_per_toilet_later) == (50, 20)
    assert std.health.staff_per_10000 == 22
    assert "sanitation" in std.sources()


def test_worked_example_at_peak_480():
    """FACTS.md §4: 480 people -> 7,200 l, 1.008 M kcal, 1,680 m², 10 toilets at 1:50."""
    needs = compute_needs(_one([[480.0]], ["camp"]))
    row = needs.isel(day=0, location=0)
    assert float(row.water_l) == 7200.0
    assert float(row.food_kcal) == 1_008_000.0
    assert float(row.food_rations) == 480.0
    assert float(row.covered_space_m2) == 1680.0
    assert float(row.toilets) == 10.0  # 480 / 50 = 9.6 -> 10
    assert float(row.health_staff) == 2.0  # 480 * 22 / 10,000 = 1.056 -> 2 whole workers
    assert float(row.in_need) == 480.0


def test_tents_are_whole_tents_of_the_covered_space_at_each_place():
    """The planner's "how many tents": ⌈covered space / 16 m²⌉ (the UNHCR family tent) per place
    and day, by hand: 708 people × 3.5 m² = 2,478 m² → ⌈154.875⌉ = 155 tents; in the cold
    708 × 4.5 = 3,186 m² → ⌈199.125⌉ = 200; 32 people × 3.5 = 112 m² → exactly 7; nobody → 0."""
    std = needs_standard()
    assert std.shelter.tent_covered_m2 == 16.0
    assert "UNHCR family tent" in std.sources()["tents"] and "unverified" in std.sources()["tents"]
    ds = _one([[708.0, 708.0, 32.0, 0.0]], ["camp", "altiplano", "small", "empty"])
    needs = compute_needs(ds, cold={"altiplano"})
    assert needs.covered_space_m2.values.tolist() == [[2478.0, 3186.0, 112.0, 0.0]]
    assert needs.tents.values.tolist() == [[155.0, 200.0, 7.0, 0.0]]
    assert needs.tents.attrs["units"] == "tents"
    assert "16 m²" in needs.attrs["tent_rule"]
    # a total over places is the sum of each place's whole tents (155 + 7), not ⌈2,590 / 16⌉ = 162
    both = compute_needs(_one([[708.0, 32.0]], ["camp", "small"]))
    assert float(both.tents.sum()) == 162.0 == 155 + 7


def test_a_standard_file_may_set_the_tent_size_or_leave_it_at_the_default(tmp_path):
    """Like every key of a standard, `tent_covered_m2` is optional (a file written before it
    existed plans by the 16 m² family tent); a size of 0 or below is refused at its key."""
    own = tmp_path / "own.toml"
    own.write_text('[shelter]\ncovered_m2_per_person = 3.5\ntent_covered_m2 = 20\n')
    assert compute_needs(_one([[100.0]], ["a"]), needs_standard(own)).tents.item() == 18.0  # ⌈350 / 20⌉
    old = tmp_path / "old.toml"
    old.write_text('[shelter]\ncovered_m2_per_person = 3.5\n')
    assert needs_standard(old).shelter.tent_covered_m2 == 16.0
    assert "tents" not in needs_standard(old).sources()  # (no source claimed for a file's default)
    zero = tmp_path / "zero.toml"
    zero.write_text('[shelter]\ntent_covered_m2 = 0\n')
    with pytest.raises(ScenarioError, match="zero.toml:2:1: shelter.tent_covered_m2: Input should be greater than 0"):
        needs_standard(zero)


def test_tents_provided_give_a_tent_gap():
    """`tents` is an indicator a `provided` row may name (a scenario's provided.csv): the gap is
    the tents still needed."""
    needs = compute_needs(_one([[708.0], [708.0]], ["camp"]),
                          provided=[{"location": "camp", "indicator": "tents", "amount": 100, "start": 1}])
    assert np.isnan(needs.tents_gap.values[0, 0]) and needs.tents_gap.values[1, 0] == 55.0


def test_cold_locations_use_the_cold_space_figure():
    ds = _one([[100.0, 100.0]], ["coast", "altiplano"])
    needs = compute_needs(ds, cold={"altiplano"})
    assert needs.covered_space_m2.values.tolist() == [[350.0, 450.0]]
    # the same from a per-location climate coordinate
    ds2 = _one([[100.0, 100.0]], ["coast", "altiplano"], climate=["temperate", "cold"])
    assert compute_needs(ds2).covered_space_m2.values.tolist() == [[350.0, 450.0]]


def test_toilet_ratio_switches_after_the_stated_day_counted_from_first_occupation():
    # camp empty on days 0-1, occupied from day 2; switch after 3 days -> day 5 uses 1:20
    std = Standard(sanitation={"switch_after_days": 3})
    pop = [[0.0], [0.0], [100.0], [100.0], [100.0], [100.0], [100.0]]
    needs = compute_needs(_one(pop, ["camp"]), std)
    assert needs.people_per_toilet.values[:, 0].tolist() == [50, 50, 50, 50, 50, 20, 20]
    assert needs.toilets.values[:, 0].tolist() == [0, 0, 2, 2, 2, 5, 5]
    std_run = Standard(sanitation={"switch_after_days": 3, "switch_counted_from": "run_start"})
    needs_run = compute_needs(_one(pop, ["camp"]), std_run)
    assert needs_run.toilets.values[:, 0].tolist() == [0, 0, 2, 5, 5, 5, 5]


def test_gap_against_what_was_provided_with_dates():
    """The camp's 6 chemical toilets: 480 people need 10, gap 4; after removal nothing is stated."""
    res = crisis_like(n_days=20)
    ds = res.dataset
    provided = [{"location": "camp", "indicator": "toilets", "amount": 6, "start": "2023-04-13", "end": 15}]
    needs = compute_needs(ds, provided=provided)
    camp = needs.sel(location="camp")
    pop = ds.population.sel(location="camp").values
    expected_need = np.ceil(pop / 50.0)
    assert np.array_equal(camp.toilets.values, expected_need)
    assert np.all(camp.toilets_provided.values[:16] == 6)
    assert np.all(np.isnan(camp.toilets_provided.values[16:]))
    assert np.array_equal(camp.toilets_gap.values[:16], np.maximum(expected_need[:16] - 6, 0))
    # day 15 holds 60 + 15 * 25 = 435 people: ceil(435 / 50) = 9 toilets, gap 9 - 6 = 3
    assert camp.toilets_gap.values[15] == 3
    assert np.isnan(needs.toilets_gap.sel(location="arica").values).all()
    # the same bounds as date, datetime and Timestamp objects (a datetime used to raise TypeError)
    import datetime as dt

    import pandas as pd

    for start in (dt.date(2023, 4, 13), dt.datetime(2023, 4, 13, 8, 30), pd.Timestamp("2023-04-13")):
        again = compute_needs(ds, provided=[{**provided[0], "start": start,
                                             "end": dt.datetime(2023, 4, 28)}]).sel(location="camp")
        np.testing.assert_array_equal(again.toilets_provided.values, camp.toilets_provided.values)


def test_person_nights_without_shelter_only_where_capacity_is_known():
    ds = _one([[50.0, 10.0], [150.0, 10.0]], ["shelter", "street"])
    needs = compute_needs(ds, shelter_capacity={"shelter": 100})
    assert needs.person_nights_unsheltered.sel(location="shelter").values.tolist() == [0.0, 50.0]
    assert np.isnan(needs.person_nights_unsheltered.sel(location="street").values).all()
    # a negative capacity (Flee's -1) means unknown
    ds2 = _one([[50.0]], ["x"], shelter_capacity=[-1])
    assert np.isnan(compute_needs(ds2).person_nights_unsheltered.values).all()


def test_extra_dimensions_pass_through():
    res = flee_like(n_days=5)
    ens = xr.concat([res.dataset, res.dataset * 2], dim="replica")
    needs = compute_needs(ens)
    assert needs.water_l.dims == ("replica", "day", "location")
    assert float(needs.water_l.isel(replica=1).sum()) == 2 * float(needs.water_l.isel(replica=0).sum())


def test_custom_toml_and_typos_are_refused(tmp_path):
    good = tmp_path / "std.toml"
    good.write_text('name = "test"\n[water]\nlitres_per_person_day = 20\n')
    assert compute_needs(_one([[10.0]], ["a"]), needs_standard(good)).water_l.item() == 200.0
    bad = tmp_path / "bad.toml"
    bad.write_text('[water]\nlitres_per_persn_day = 20\n')
    with pytest.raises(ScenarioError) as err:
        needs_standard(bad)
    assert "bad.toml:2" in str(err.value) and "litres_per_persn_day" in str(err.value)


@pytest.mark.parametrize("content, expected", [
    (b"[water]\nlitres_per_person_day = 2\n# caf\xe9\n", "std.toml:3:6:"),  # not UTF-8: the byte
    (b"[water]\nlitres_per_person_day = \n", "std.toml:2:25: not valid TOML"),  # the place on 3.11 too
    (b"x = " + b"[" * 600 + b"]" * 600 + b"\n", "nested too deeply"),  # beyond the stack
])
def test_a_bad_standard_file_is_a_located_problem(tmp_path, content, expected):
    """Found by an error audit: the needs standard TOML had none of the readers' guards (a
    UnicodeDecodeError or RecursionError traceback, and line 0 on Python 3.11)."""
    std = tmp_path / "std.toml"
    std.write_bytes(content)
    with pytest.raises(ScenarioError) as err:
        needs_standard(std)
    assert expected in str(err.value)
    with pytest.raises(ScenarioError, match="cannot read the needs standard"):
        needs_standard(tmp_path / "missing.toml")


@pytest.mark.parametrize("content, expected", [
    ("[water]\nlitres_per_persn_day = 20\n",
     "std.toml:2:1: water.litres_per_persn_day: unknown key (expected one of litres_per_person_day, source)"),
    ("[shelter]\ntent_m2 = 16\n",
     "std.toml:2:1: shelter.tent_m2: unknown key (expected one of covered_m2_per_person, "
     "covered_m2_per_person_cold, source, tent_covered_m2, tent_source)"),
    ('name = "x"\n[water]\n  litres_per_person_day = -3\n',
     "std.toml:3:3: water.litres_per_person_day: Input should be greater than or equal to 0 (found -3)"),
    ('[food]\nkcal_per_person_day = "lots"\n',
     "std.toml:2:1: food.kcal_per_person_day: Input should be a valid number, unable to parse string as a "
     "number (found 'lots')"),
    ("[water.bottled]\nlitres = 1\n",
     "std.toml:1:1: water.bottled: unknown key (expected one of litres_per_person_day, source)"),
    ("# custom\ncolour = 1\n",
     "std.toml:2:1: colour: unknown key (expected one of food, health, name, sanitation, shelter, water)"),
    ("[sanitation]\nswitch_counted_from = 'never'\n",
     "std.toml:2:1: sanitation.switch_counted_from: Input should be 'first_occupied' or 'run_start' (found 'never')"),
])
def test_invalid_standard_values_point_at_their_key(tmp_path, content, expected):
    """Found by an error audit: a wrong key or value had its line but column 0 (`std.toml:2: …`)."""
    std = tmp_path / "std.toml"
    std.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        needs_standard(std)
    (problem,) = err.value.problems
    assert str(problem) == f"{std.as_posix()[:-len('std.toml')]}{expected}"
    assert problem.line >= 1 and problem.column >= 1


@pytest.mark.parametrize("content, found", [
    ("water = 3\n", "(found 3)"),  # a scalar as written
    ("[water]\nlitres_per_person_day = {a = 1, b = [1, 2], c = 'x'}\n", "(found a table with keys a, b, c)"),
    ("[water.litres_per_person_day]\nx = 1\ny = 2\n", "(found a table with keys x, y)"),
    ("[water]\nlitres_per_person_day = [" + ", ".join(["1"] * 200) + "]\n", "(found a list of 200 items)"),
    ("[water]\nlitres_per_person_day = '" + "x" * 300 + "'\n",
     "(found '" + "x" * 60 + "…' (300 characters))"),
])
def test_a_table_list_or_long_text_found_is_described_briefly(tmp_path, content, found):
    """Found by review: a table or a long list or text where a number was expected was dumped
    whole into the one-line message, as Python's repr (`{'a': 1, …}`)."""
    std = tmp_path / "std.toml"
    std.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        needs_standard(std)
    (problem,) = err.value.problems
    assert str(problem).endswith(found) and len(str(problem)) < len(str(std)) + 200, str(problem)
    assert problem.line >= 1 and problem.column >= 1


def test_unknown_indicator_in_provided_is_an_error():
    with pytest.raises(ValueError, match="unknown indicator"):
        compute_needs(_one([[1.0]], ["a"]), provided={"a": {"latrines": 3}})


def test_stated_shelter_capacity_from_provided_rows():
    """A camp where people slept in the open (capacity 0 from day 1): every person is a night outside."""
    ds = _one([[40.0], [60.0], [80.0]], ["camp"])
    provided = [{"location": "camp", "indicator": "shelter_capacity_people", "amount": 0, "start": 1}]
    needs = compute_needs(ds, provided=provided)
    got = needs.person_nights_unsheltered.values[:, 0]
    assert np.isnan(got[0]) and got[1:].tolist() == [60.0, 80.0]
    assert "shelter_capacity_people_gap" not in needs


def test_the_line_at_a_closed_border_keeps_the_transit_ratio_past_day_30():
    """Found by a domain review: the line (kind staging, a transit/waiting site) switched to 1:20
    on its 31st day, doubling the "toilets on the worst day". Sphere 2018 gives reception/transit
    sites 1 per 50; shelters and camps, where people stay, keep 1:50 then 1:20. By hand, 100
    people from day 0 with the switch after 30 days: day 30 is the 31st day, 100 / 50 = 2 at
    the line throughout, 100 / 20 = 5 from day 30 at the shelter and the camp."""
    pop = [[100.0, 100.0, 100.0]] * 32
    ds = _one(pop, ["line", "albergue", "camp"], kind=["staging", "shelter", "camp"])
    needs = compute_needs(ds)
    assert needs.people_per_toilet.values[29].tolist() == [50, 50, 50]
    assert needs.people_per_toilet.values[30].tolist() == [50, 20, 20]
    assert needs.toilets.values[31].tolist() == [2.0, 5.0, 5.0]
    assert needs.toilets.sel(location="line").values.tolist() == [2.0] * 32
    assert "1 per 50 for as long as people are there at transit sites (places of kind staging)" in (
        needs.attrs["toilet_switch"])
    assert "toilets at transit sites" in needs_standard().sources()


def test_a_standard_file_sets_which_kinds_are_transit_sites(tmp_path):
    """`[sanitation] transit_kinds` and `people_per_toilet_transit` are the standard's to change:
    no transit kinds and the line switches like any place; a misspelt kind is refused at its key
    (it would have switched the line to 1:20 without a word)."""
    ds = _one([[100.0, 100.0]] * 32, ["line", "albergue"], kind=["staging", "shelter"])
    none = tmp_path / "none.toml"
    none.write_text("[sanitation]\ntransit_kinds = []\n")
    assert compute_needs(ds, needs_standard(none)).toilets.values[31].tolist() == [5.0, 5.0]
    both = tmp_path / "both.toml"
    both.write_text('[sanitation]\ntransit_kinds = ["staging", "shelter"]\npeople_per_toilet_transit = 40\n')
    assert compute_needs(ds, needs_standard(both)).toilets.values[31].tolist() == [3.0, 3.0]  # ⌈100 / 40⌉
    typo = tmp_path / "typo.toml"
    typo.write_text('[sanitation]\n  transit_kinds = ["stagin"]\n')
    with pytest.raises(ScenarioError) as err:
        needs_standard(typo)
    (problem,) = err.value.problems
    assert str(problem).startswith(f"{typo.as_posix()}:2:3: sanitation.transit_kinds: unknown place kind "
                                   "'stagin' (expected kinds of locations.csv: ")
    assert "staging" in str(problem) and "Value error" not in str(problem)


def test_tents_are_for_the_people_beyond_a_shelters_capacity():
    """Found by a domain review: tents were counted for the people sleeping in the 1,000 beds of
    the Arica shelters. By hand: 745 people in a shelter of 1,000 beds need no tent; 1,100 there
    leave 100 without shelter: 100 × 3.5 = 350 m² → ⌈21.875⌉ = 22 tents; at a place of unknown
    capacity (the line) all 533 are without shelter: 533 × 3.5 = 1,865.5 m² → ⌈116.6⌉ = 117.
    Covered space stays for everyone (in a shelter, a check on its floor)."""
    ds = _one([[745.0, 533.0], [1100.0, 533.0]], ["albergue", "line"])
    needs = compute_needs(ds, shelter_capacity={"albergue": 1000})
    assert needs.tents.values.tolist() == [[0.0, 117.0], [22.0, 117.0]]
    assert needs.covered_space_m2.values[0].tolist() == [2607.5, 1865.5]
    assert needs.person_nights_unsheltered.sel(location="albergue").values.tolist() == [0.0, 100.0]
    assert "without shelter" in needs.tents.attrs["long_name"] and "without shelter" in needs.attrs["tent_rule"]
    # a capacity stated in `provided` (0: people slept in the open) is the same definition
    open_air = compute_needs(_one([[533.0]], ["line"]),
                             provided=[{"location": "line", "indicator": "shelter_capacity_people", "amount": 0}])
    assert open_air.tents.item() == 117.0


def test_the_health_figure_is_labelled_a_population_level_density():
    """Found by a domain review: "health staff 2" at a 500-person site read as "post two health
    workers at the line"; the figure is Sphere's health-workforce density (22 per 10,000)."""
    needs = compute_needs(_one([[480.0]], ["camp"]))
    assert needs.health_staff.attrs["long_name"] == "health workers, population-level density equivalent"
    assert needs.health_staff.attrs["units"] == "health workers"
    assert "population-level density" in needs_standard().sources()["health"]
    assert "Sphere Handbook 2018, WASH water supply standard 2.1" in needs_standard().sources()["water"]
