"""compile_plan: Flee 3.1's deterministic rules (hasten, types, links, paths, timelines)."""

from __future__ import annotations

import numpy as np
import pytest

from corredor.plan import (
    OP_CAMP_CLOSE,
    OP_LINK_CLOSE,
    OP_LINK_OPEN,
    compile_plan,
    flee_spawns,
)
from corredor.scenario.model import Series
from corredor.scenario.problems import ScenarioError
from toy_flee import line_case, toy


def _s(points: list[tuple[int, float]]) -> Series:
    return Series(name="x", files=("x.csv",), days=tuple(d for d, _ in points),
                  values=tuple(v for _, v in points))


def test_daily_series_clamps_interpolates_and_truncates() -> None:
    s = _s([(2, 10.0), (12, 31.0)])
    d = s.daily(15, hasten=1)
    assert d[:3].tolist() == [10, 10, 10]  # at or before the first point: first value
    assert d[7] == int(10 + 0.5 * 21)  # 20.5 -> 20
    assert d[12:].tolist() == [31, 31, 31]  # after the last point: last value
    # hasten divides before interpolating: 31/2 = 15.5 -> 15 at the end
    assert s.daily(15, hasten=2)[-1] == 15
    assert s.daily(15, hasten=2)[7] == int(5.0 + 0.5 * 10.5)


def test_spawns_debt_and_raw_by_hand() -> None:
    spawn, debt, raw = flee_spawns(np.array([100, 150, 140, 160, 200]), insert_day0=True)
    assert spawn.tolist() == [0, 50, 0, 10, 40]
    assert debt.tolist() == [0, 0, 10, 0, 0]
    assert raw.tolist() == [100, 150, 140, 160, 200]
    spawn, _, _ = flee_spawns(np.array([100, 150]), insert_day0=False)
    assert spawn.tolist() == [100, 50]


def test_location_types_hasten_and_auto_camp() -> None:
    sc = toy([("A", "conflict", 1005), ("B", "town", 99), ("C", "camp", 2001, "Other"),
              ("M", "marker", 0), ("F", "forward", 0), ("U", "unknown", 7)],
             [("A", "B", 10), ("B", "C", 10), ("C", "M", 5), ("M", "F", 5), ("F", "U", 5)],
             settings={"optimisations": {"hasten": 10}})
    p = compile_plan(sc)
    assert p.pop.tolist() == [100, 9, 0, 0, 0, 0]
    assert p.capacity.tolist() == [-1, -1, 200, -1, -1, -1]
    mr = sc.settings.move_rules
    assert p.movechance0.tolist() == [mr.conflict_movechance, mr.default_movechance,
                                      mr.camp_movechance, 1.0, 1.0, 1.0]
    assert p.camp0.tolist() == [False, False, True, False, False, False]
    assert p.foreign.tolist() == [False, False, True, False, False, False]
    # a default move chance under 0.005 makes every town an output camp (Flee's auto-camp rule)
    p2 = compile_plan(sc.with_settings(move_rules={"default_movechance": 0.001}))
    assert p2.camp0.tolist() == [False, True, True, False, False, False]


def test_conflict_with_future_date_is_a_town() -> None:
    from dataclasses import replace

    sc = toy([("A", "conflict", 100), ("B", "town", 100)], [("A", "B", 10)])
    late = replace(sc.locations[0], conflict_date=30)
    p = compile_plan(replace(sc, locations=(late, sc.locations[1])))
    assert p.town0[0] and p.conflict0[0] < 0


def test_links_in_flee_order_with_forced_redirection() -> None:
    sc = toy([("A", "town", 1), ("B", "town", 1), ("C", "town", 1)],
             [("A", "B", 10, 0), ("B", "C", 20, 1), ("A", "C", 30, 2)])
    p = compile_plan(sc)
    pairs = list(zip(p.link_from.tolist(), p.link_to.tolist(), strict=True))
    # row 1: A→B, B→A; row 2 (fr=1): twice B→C, C→B; row 3 (fr=2): C→A then A→C
    assert pairs == [(0, 1), (1, 0), (1, 2), (2, 1), (1, 2), (2, 1), (2, 0), (0, 2)]
    out_b = p.out_link[p.out_ptr[1]:p.out_ptr[2]].tolist()
    assert [p.link_to[k] for k in out_b] == [0, 2, 2]  # B's links in file order, duplicate kept


def test_paths_skip_markers_and_respect_awareness() -> None:
    places = [("A", "town", 1), ("M", "marker", 0), ("B", "town", 1), ("C", "town", 1)]
    roads = [("A", "M", 10), ("M", "B", 20), ("B", "C", 40)]
    p1 = compile_plan(toy(places, roads))
    # awareness 1 from A: the marker is free, so the only destination is B (30 km)
    a = p1.path_ptr
    dests = [p1.location_names[d] for d in p1.path_dest[a[0]:a[1]]]
    assert dests == ["B"]
    assert 1.0 / p1.path_inv_dist[a[0]] == pytest.approx(10.0 + 30.0)
    p2 = compile_plan(toy(places, roads, settings={"move_rules": {"awareness_level": 2}}))
    a = p2.path_ptr
    assert [p2.location_names[d] for d in p2.path_dest[a[0]:a[1]]] == ["B", "C"]
    # from B at awareness 2: M is a marker, so B→M→A is a path, and B→C; never back to B
    b = [p2.location_names[d] for d in p2.path_dest[a[2]:a[3]]]
    assert sorted(b) == ["A", "C"]
    p0 = compile_plan(toy(places, roads, settings={"move_rules": {"awareness_level": 0}}))
    assert p0.path_dest.size == 0  # Flee 3.1 never moves anyone at awareness 0


def test_conflict_transitions_follow_flee_31() -> None:
    sc = toy([("A", "town", 100), ("B", "town", 100), ("C", "camp", 0)],
             [("A", "B", 10), ("B", "C", 10)], days=6,
             conflicts={"A": [0, 1, 0.5, 0, 0, 0], "B": [1, 0.5, 0.5, 0, 2, 2]})
    p = compile_plan(sc)
    ev = [(t, p.location_names[p.conflict_loc[e]], bool(p.conflict_on[e]))
          for t in range(6) for e in range(p.conflict_ptr[t], p.conflict_ptr[t + 1])]
    # A: on at 1; 1 -> 0.5 ignored; 0.5 -> 0 is NOT a removal in 3.1 (it tests previous == 1).
    # B: on at 0; 0.5 -> 0 not a removal either; 0 -> 2 at day 4 is a new onset.
    assert ev == [(0, "B", True), (1, "A", True), (4, "B", True)]
    assert p.refresh_today.tolist() == [True, True, False, False, True, False]
    sc2 = toy([("A", "town", 100), ("C", "camp", 0)], [("A", "C", 10)], days=3,
              conflicts={"A": [1, 0, 0]})
    p2 = compile_plan(sc2)
    assert p2.conflict_on.tolist() == [True, False] and p2.conflict_ptr.tolist() == [0, 1, 2, 2]


def test_closures_country_link_and_camp() -> None:
    places = [("A", "town", 1, "X"), ("B", "town", 1, "X"), ("C", "camp", 10, "Y")]
    roads = [("A", "B", 10), ("B", "C", 10)]
    sc = toy(places, roads, days=5, closures=[("country", "X", "Y", 1, 3), ("link", "A", "B", 0, -1),
                                              ("camp", "C", "", 2, -1)])
    p = compile_plan(sc)
    ops = [(t, int(p.closure_op[e]), int(p.closure_target[e]))
           for t in range(5) for e in range(p.closure_ptr[t], p.closure_ptr[t + 1])]
    # links 2 (B→C) and 3 (C→B) close on day 1 and reopen on day 3; the link row does nothing
    assert ops == [(1, OP_LINK_CLOSE, 2), (1, OP_LINK_CLOSE, 3), (2, OP_CAMP_CLOSE, 2),
                   (3, OP_LINK_OPEN, 2), (3, OP_LINK_OPEN, 3)]
    assert any("no effect in Flee 3.1" in w for w in p.warnings)
    fixed = compile_plan(sc.with_settings(move_rules={"fix_link_closures": True}))
    ops = [(t, int(fixed.closure_op[e]), int(fixed.closure_target[e]))
           for t in range(1) for e in range(fixed.closure_ptr[t], fixed.closure_ptr[t + 1])]
    assert ops == [(0, OP_LINK_CLOSE, 0), (0, OP_LINK_CLOSE, 1)]


def test_refuses_what_it_does_not_implement() -> None:
    sc = toy([("A", "town", 1), ("B", "town", 1)], [("A", "B", 10)],
             settings={"move_rules": {"fixed_routes": True}})
    with pytest.raises(ScenarioError, match="fixed_routes"):
        compile_plan(sc)
    short = toy([("A", "conflict", 1), ("B", "town", 1)], [("A", "B", 10)], days=5,
                conflicts={"A": [1, 1]})
    with pytest.raises(ScenarioError, match="conflicts.csv"):
        compile_plan(short)


def test_spawn_totals_and_day0_insertion() -> None:
    sc = toy([("A", "conflict", 1000), ("C", "camp", 500)], [("A", "C", 10)], days=4,
             total=[(0, 40.0), (3, 100.0)], camps_data={"C": [(0, 37.0), (3, 60.0)]},
             conflicts={"A": [1, 1, 1, 1]})
    p = compile_plan(sc)
    assert p.insert0.tolist() == [0, 37]
    assert p.spawn.tolist() == [0, 20, 20, 20]
    assert p.total_agents == 97
    assert p.observed[:, 1].tolist() == [37, 44, 52, 60]
    assert np.isnan(p.observed[:, 0]).all()
    assert p.observed_total.tolist() == [37, 44, 52, 60]


def test_a_rising_total_without_a_conflict_zone_is_refused_at_compile() -> None:
    roads = [("A", "C", 100)]
    total = [(0, 0.0), (6, 60.0)]  # ten people a day from day 1 to day 6
    places = [("A", "conflict", 1000), ("C", "camp", 0)]
    assert compile_plan(toy(places, roads, days=7, total=total, conflicts={"A": [1] * 7})).spawn.sum() == 60
    # the only zone ends on day 4 (1 -> 0): day 4 is the first day nobody can send the ten
    with pytest.raises(ScenarioError, match=r"on day 4 \(.*\) 10 people must appear .* no place is a conflict zone"):
        compile_plan(toy(places, roads, days=7, total=total, conflicts={"A": [1, 1, 1, 1, 0, 0, 0]}))
    # no conflict-typed place at all: the locations file's header is named
    with pytest.raises(ScenarioError) as e:
        compile_plan(toy([("A", "town", 1000), ("C", "camp", 0)], roads, days=7, total=total))
    assert [(p.path, p.line) for p in e.value.problems] == [("input_csv/locations.csv", 1)]
    # a zone of nobody sends nobody either
    with pytest.raises(ScenarioError, match="on day 1 "):
        compile_plan(toy([("A", "conflict", 0), ("C", "camp", 0)], roads, days=7, total=total))
    # under sum_from_camps the camps' series make the total, and the message says so
    with pytest.raises(ScenarioError, match=r"on day 4 .*\(the summed series of data_layout.csv \(spawn_rules.sum_from_camps\) rises\)"):
        compile_plan(toy(places, roads, days=7, total=[(0, 0.0)], camps_data={"C": total},
                         conflicts={"A": [1, 1, 1, 1, 0, 0, 0]}, settings={"spawn_rules": {"sum_from_camps": True}}))
    # a decay list that reaches 0 after the 2-day interval: weights refreshed on day 0 (the onset)
    # are used on days 1-2 (age ≤ 1 at τ = t − 1), and day 3's (τ = 2) carry the factor 0
    decayed = {"spawn_rules": {"conflict_spawn_decay": [1.0, 0.0], "conflict_spawn_decay_interval": 2}}
    with pytest.raises(ScenarioError, match="on day 3 "):
        compile_plan(toy(places, roads, days=7, total=total, conflicts={"A": [1] * 7}, settings=decayed))


@pytest.mark.parametrize("case", ["ended", "nobody", "decayed"])
def test_the_compile_check_names_the_day_the_engine_would_stop(case: str, monkeypatch) -> None:
    import corredor.plan as plan_mod
    from corredor.engine.agents import EngineError, run_agents

    roads, total = [("A", "C", 100)], [(0, 0.0), (6, 60.0)]
    places = [("A", "conflict", 0 if case == "nobody" else 1000), ("C", "camp", 0)]
    conflicts = {"A": [1, 1, 1, 1, 0, 0, 0] if case == "ended" else [1] * 7}
    settings = {"spawn_rules": {"conflict_spawn_decay": [1.0, 0.0], "conflict_spawn_decay_interval": 2}
                if case == "decayed" else {}}
    sc = toy(places, roads, days=7, total=total, conflicts=conflicts, settings=settings)
    with pytest.raises(ScenarioError) as e:
        compile_plan(sc)
    day = int(str(e.value).split("on day ")[1].split()[0])
    monkeypatch.setattr(plan_mod, "_spawn_source_problems", lambda *a: [])
    with pytest.raises(EngineError, match=f"^day {day}: "):
        run_agents(compile_plan(sc), seed=3)


def test_take_from_population_beyond_every_zone_is_refused_at_compile() -> None:
    roads = [("A", "C", 100), ("B", "C", 100)]
    places = [("A", "conflict", 30), ("B", "conflict", 20), ("C", "camp", 0)]
    take = {"spawn_rules": {"take_from_population": True}}
    total = [(0, 0.0), (5, 50.0)]
    assert compile_plan(toy(places, roads, days=6, total=total, settings=take)).spawn.sum() == 50
    with pytest.raises(ScenarioError, match="create 60 people, more than the 50 living"):
        compile_plan(toy(places, roads, days=6, total=[(0, 0.0), (5, 60.0)], settings=take))
    # without take_from_population the same case compiles
    compile_plan(toy(places, roads, days=6, total=[(0, 0.0), (5, 60.0)]))


def _summed_mali(flee_cases, tmp_path, hasten: int = 10):
    """mali2012 with `spawn_rules.sum_from_camps: True`: the spawn total is the camps' series
    summed, and refugees.csv (still read) is not used; here zeroed, so nothing can come from it."""
    import shutil

    case = tmp_path / "mali"
    shutil.copytree(flee_cases / "mali2012", case)
    yml = case / "simsetting.yml"
    yml.write_text(yml.read_text(encoding="utf-8")
                   .replace("  insert_day0: True\n", "  insert_day0: True\n  sum_from_camps: True\n")
                   .replace("hasten: 10", f"hasten: {hasten}"), encoding="utf-8")
    refugees = case / "source_data" / "refugees.csv"
    lines = refugees.read_text(encoding="utf-8").splitlines()
    refugees.write_text("\n".join([lines[0]] + [ln.rsplit(",", 1)[0] + ",0" for ln in lines[1:]]) + "\n",
                        encoding="utf-8")
    return case


def test_too_many_people_summed_from_camps_are_shown_in_the_camp_file(flee_cases, tmp_path) -> None:
    """Found by review: under sum_from_camps the total too large was shown in refugees.csv (at its
    largest row), a file that does not feed the spawn total; it is shown at the camp count that
    makes it, with the setting named."""
    from corredor.scenario import load_scenario

    case = _summed_mali(flee_cases, tmp_path)
    abala = case / "source_data" / "nig-abala.csv"
    lines = abala.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",1000000000000"  # line 6
    abala.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refugees = case / "source_data" / "refugees.csv"  # larger still, but unused: never the place shown
    refugees.write_text(refugees.read_text(encoding="utf-8").replace(",0\n", ",900000000000000\n", 1),
                        encoding="utf-8")
    scenario = load_scenario(case)
    with pytest.raises(ScenarioError) as e:
        compile_plan(scenario)
    (problem,) = e.value.problems
    assert (problem.path, problem.line, problem.column) == ("source_data/nig-abala.csv", 6, 2)
    assert "more than the 10,000,000,000" in problem.message and "sum_from_camps" in problem.message
    # a native folder keeps every series in one file: the camps' rows only are searched
    from corredor.scenario.convert import write_native

    native = write_native(scenario, tmp_path / "native")
    with pytest.raises(ScenarioError) as e:
        compile_plan(load_scenario(native))
    (problem,) = e.value.problems
    rows = (native / "observations.csv").read_text(encoding="utf-8").splitlines()
    assert rows[problem.line - 1].startswith("Abala,") and rows[problem.line - 1].count(",1000000000000,") == 1
    assert (problem.path, problem.column) == ("observations.csv", 3)


def test_a_hasten_above_every_camp_summed_from_camps_is_refused_with_the_hasten_that_fits(
        flee_cases, tmp_path) -> None:
    """Found by review: under sum_from_camps the hasten check measured refugees.csv, which that
    setting does not read: with it zeroed a run of nobody passed, and with it kept the message
    named a hasten (157,300) that still simulated nobody. Each camp's series is divided by the
    hasten before they are summed, so the largest camp's peak is the hasten that fits."""
    from corredor.scenario import load_scenario

    with pytest.raises(ScenarioError) as e:
        compile_plan(load_scenario(_summed_mali(flee_cases, tmp_path / "a", hasten=120_000)))
    (problem,) = e.value.problems
    assert (problem.path, problem.line, problem.column) == ("simsetting.yml", 29, 3)
    assert "at hasten 120,000 nobody is simulated" in problem.message
    assert "sum_from_camps" in problem.message and "(Fassala-Mbera) reaches 54,028 people" in problem.message
    assert "expected a hasten of at most 54,028" in problem.message
    assert compile_plan(load_scenario(_summed_mali(flee_cases, tmp_path / "b", hasten=54_028))).spawn.sum() > 0


def test_sum_from_camps_adds_every_layout_row_after_the_total():
    """Flee HEAD's `sum_from_camps` sums every data_layout.csv row after the total's
    (flee-model.md §3), a non-camp row's too (`Observations.extra`); corredor summed the camps'
    alone, so such a row's rises spawned nobody."""
    import dataclasses

    from corredor.scenario.model import Observations

    base = line_case(days=10, spawn_per_day=0, settings={"spawn_rules": {"sum_from_camps": True}})
    obs = base.observations
    town = Series(name="B", files=("b.csv",), days=(0, 5), values=(0.0, 500.0))
    camp = Series(name="C", files=("c.csv",), days=(0, 9), values=(0.0, 90.0))
    camps_only = dataclasses.replace(base, observations=Observations(obs.total, {"C": camp}))
    with_town = dataclasses.replace(base, observations=Observations(obs.total, {"C": camp}, {"B": town}))
    alone = compile_plan(camps_only).spawn
    both = compile_plan(with_town).spawn
    assert alone.sum() == 90
    assert both.sum() == 590
    np.testing.assert_array_equal(both - alone, [0, 100, 100, 100, 100, 100, 0, 0, 0, 0])


def test_a_hasten_is_blamed_only_when_one_agent_is_more_than_the_data_hold():
    """Found by review: a total that never rises (insert_day0, empty camps) simulates nobody at any
    hasten, yet at hasten 10 the plan was refused with "the total reaches 1,000 people at most,
    less than one agent of 10 (expected a hasten of at most 1,000)", which is false."""
    flat = dict(places=[("A", "conflict", 10000), ("C", "camp", 0, "Other")], roads=[("A", "C", 100)],
                days=6, total=[(0, 1000.0), (5, 1000.0)], conflicts={"A": [1.0] * 6})
    for h in (1, 10):
        plan = compile_plan(toy(**flat, settings={"optimisations": {"hasten": h}}))
        assert plan.spawn.sum() == 0 and plan.insert0.sum() == 0  # nobody, and no refusal
    tiny = {**flat, "total": [(0, 0.0), (5, 8.0)]}
    assert compile_plan(toy(**tiny)).spawn.sum() == 8
    with pytest.raises(ScenarioError, match=r"at hasten 10 nobody is simulated: the observations' "
                       r"total reaches 8 people at most, less than one agent of 10"):
        compile_plan(toy(**tiny, settings={"optimisations": {"hasten": 10}}))


def test_a_hasten_is_blamed_when_every_rise_is_less_than_one_agent_and_only_then():
    """Found by review: blaming the hasten only when the data's peak is below one agent let a run
    of nobody pass when the counts are far above the hasten but rise by less than one agent
    (5,000 → 5,005 at hasten 10: 5 people at hasten 1, nobody at 10); and a flat total below the
    hasten (8 at hasten 10), which simulates nobody at any hasten, was still blamed on it."""
    case = dict(places=[("A", "conflict", 10000), ("C", "camp", 0, "Other")], roads=[("A", "C", 100)],
                days=6, conflicts={"A": [1.0] * 6})
    slow = {**case, "total": [(0, 5000.0), (5, 5005.0)]}
    assert compile_plan(toy(**slow)).spawn.sum() == 5
    with pytest.raises(ScenarioError) as e:
        compile_plan(toy(**slow, settings={"optimisations": {"hasten": 10}}))
    (problem,) = e.value.problems
    assert "at hasten 10 nobody is simulated: the observations' total never rises by one agent of 10 " \
           "(at hasten 1 the observations create 5 people) (expected a hasten of at most 7" in problem.message
    assert compile_plan(toy(**slow, settings={"optimisations": {"hasten": 7}})).spawn.sum() > 0
    flat = {**case, "total": [(0, 8.0), (5, 8.0)]}
    for h in (1, 10):  # nobody at any hasten: no refusal
        plan = compile_plan(toy(**flat, settings={"optimisations": {"hasten": h}}))
        assert plan.spawn.sum() == 0 and plan.insert0.sum() == 0
    # a total from 0 past the hasten in steps each below it still simulates somebody: each count
    # is divided by the hasten before it is interpolated
    ramp = compile_plan(toy(**case, total=[(0, 0.0), (5, 40.0)], settings={"optimisations": {"hasten": 10}}))
    assert ramp.spawn.tolist() == [0, 0, 1, 1, 1, 1]


def test_a_layout_row_that_is_no_camp_is_part_of_the_scenario_hash():
    """Found by review: under sum_from_camps a data_layout row that is no camp
    (`Observations.extra`) changes the spawns, but the scenario hash (in the manifest, and checked
    on --resume) left it out: a checkpoint taken before such a row changed was resumed with it."""
    import dataclasses

    from corredor.plan import scenario_sha256
    from corredor.scenario.model import Observations

    base = line_case(days=10, spawn_per_day=0, settings={"spawn_rules": {"sum_from_camps": True}})
    obs = base.observations
    camp = Series(name="C", files=("c.csv",), days=(0, 9), values=(0.0, 90.0))

    def with_town(top: float):
        town = Series(name="B", files=("b.csv",), days=(0, 5), values=(0.0, top))
        return dataclasses.replace(base, observations=Observations(obs.total, {"C": camp}, {"B": town}))

    low, high = with_town(500.0), with_town(900.0)
    assert compile_plan(low).spawn.sum() != compile_plan(high).spawn.sum()
    assert compile_plan(low).scenario_sha256 != compile_plan(high).scenario_sha256
    # a scenario without such rows keeps the hash it had
    assert scenario_sha256(dataclasses.replace(base, observations=Observations(obs.total, {"C": camp}))) == \
        scenario_sha256(dataclasses.replace(base, observations=Observations(obs.total, {"C": camp}, {})))


def test_a_layout_row_that_is_no_camp_warns_that_sum_from_camps_uses_it(flee_cases, tmp_path) -> None:
    """Found by review: the warning for a data_layout row that is no camp said only that Flee 3.1
    never uses it, also under spawn_rules.sum_from_camps, which now adds it to the spawn total."""
    from corredor.scenario import load_scenario

    case = _summed_mali(flee_cases, tmp_path)
    with (case / "source_data" / "data_layout.csv").open("a", encoding="utf-8") as f:
        f.write("Mopti,nig-niamey.csv\n")  # (Mopti: a town)
    scenario = load_scenario(case)
    (warning,) = [w for w in scenario.metadata["warnings"] if "Mopti" in str(w)]
    assert (warning.path, warning.line) == ("source_data/data_layout.csv", 10)
    assert "sum_from_camps adds it to the spawn total" in warning.message


def test_sum_from_camps_day_0_adds_the_total_rows_value_too():
    """flee-model.md §3.3: under sum_from_camps Flee HEAD's day-0 source sums every layout row,
    the total's too; without insert_day0 those people spawn on day 0. corredor left the total's
    day-0 value out (30 spawned where HEAD spawns 80); later days are the camps' rises alone."""
    rules = {"spawn_rules": {"sum_from_camps": True, "insert_day0": False}}
    case = dict(places=[("A", "conflict", 10000), ("C", "camp", 10**6, "Other")],
                roads=[("A", "C", 100)], days=6, total=[(0, 50.0), (5, 50.0)],
                camps_data={"C": [(0, 30.0), (5, 80.0)]}, conflicts={"A": [1.0] * 6})
    plan = compile_plan(toy(**case, settings=rules))
    np.testing.assert_array_equal(plan.spawn, [80, 10, 10, 10, 10, 10])
    with_day0 = compile_plan(toy(**case, settings={"spawn_rules": {"sum_from_camps": True}}))
    np.testing.assert_array_equal(with_day0.spawn, [0, 10, 10, 10, 10, 10])
    assert with_day0.insert0.sum() == 30  # (the camp's day-0 people, inserted there)
