"""Cohort engine: exact travel arithmetic, closures, reproducibility, conservation, engine choice.

Deterministic cases (every draw certain) must give exactly the agent engine's numbers; random
cases are compared in distribution in test_cohorts_equivalence.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from corredor.engine.agents import EngineError, run_agents
from corredor.engine.cohorts import C_N, C_PROG, _merge, cost_estimate, engine_for, run_cohorts
from corredor.plan import compile_plan
from corredor.scenario import load_scenario
from corredor.simulate import simulate
from test_cohorts_equivalence import write_case


def write_line(folder: Path, *, km: float = 400.0, people: int = 100, start_on_foot: bool = False,
               close_f_on: int = -1, days: int = 8, speed: float = 200.0) -> Path:
    """A → F, one link of `km`; `people` appear at A on day 1 and all leave at once (move chance 1);
    nobody leaves F (camp move chance 0), so every count is certain."""
    files = {
        "input_csv/locations.csv": "#name,region,country,gps_x,gps_y,location_type,conflict_date,population\n"
                                   f"A,R,Land,0,0,conflict_zone,0,{max(10 * people, 10)}\nF,R,Other,1,1,camp,,0\n",
        "input_csv/routes.csv": f"#name1,name2,distance,forced_redirection\nA,F,{km},0\n",
        "input_csv/closures.csv": "#closure_type,name1,name2,closure_start,closure_end\n"
                                  + (f"location,F,,{close_f_on},-1\n" if close_f_on >= 0 else ""),
        "input_csv/conflicts.csv": "#Day,A\n" + "".join(f"{d},1\n" for d in range(days)),
        "input_csv/sim_period.csv": f"StartDate,2020-01-01\nLength,{days}\n",
        "source_data/data_layout.csv": "total,refugees.csv\nF,f.csv\n",
        "source_data/refugees.csv": f"Date,Refugee_numbers\n2020-01-01,0\n2020-01-02,{people}\n",
        "source_data/f.csv": "2020-01-01,0\n",
        "simsetting.yml": (
            f"move_rules:\n  max_move_speed: {speed}\n  max_walk_speed: 35.0\n  camp_movechance: 0.0\n"
            f"  start_on_foot: {start_on_foot}\n"
        ),
    }
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def line_plan(tmp_path: Path, **kw):
    return compile_plan(load_scenario(write_line(tmp_path / "line", **kw)))


def test_arrival_needs_progress_beyond_the_length(tmp_path):
    """A link of exactly 2 × speed takes three days (progress 200, 400 = length, 600 > length)."""
    plan = line_plan(tmp_path, km=400.0)
    out = run_cohorts(plan, seed=3, check=True)
    assert plan.spawn[1] == 100
    assert out.travellers[:, 0].tolist() == [0, 100, 100, 0, 0, 0, 0, 0]
    assert out.population[:, 1].tolist() == [0, 0, 0, 100, 100, 100, 100, 100]
    assert out.departures[1, 0] == 100 and out.arrivals[3, 1] == 100
    ref = run_agents(plan, seed=3)
    assert np.array_equal(out.population, ref.population)
    assert np.array_equal(out.travellers, ref.travellers)


def test_start_on_foot_first_link_at_walk_speed(tmp_path):
    """150 km on foot at 35 km/day: 35·5 = 175 > 150 on the fifth day (day 5); by car on day 1."""
    on_foot = run_cohorts(line_plan(tmp_path / "a", km=150.0, start_on_foot=True), seed=1, check=True)
    by_car = run_cohorts(line_plan(tmp_path / "b", km=150.0), seed=1, check=True)
    assert on_foot.arrivals[:, 1].tolist() == [0, 0, 0, 0, 0, 100, 0, 0]
    assert by_car.arrivals[:, 1].tolist() == [0, 100, 0, 0, 0, 0, 0, 0]
    ref = run_agents(line_plan(tmp_path / "c", km=150.0, start_on_foot=True), seed=1)
    assert np.array_equal(on_foot.population, ref.population)


def test_closure_sends_people_on_the_link_back(tmp_path):
    """F closes on day 2 while everyone is on A→F: they reach the end on day 3 and are back at A."""
    plan = line_plan(tmp_path, km=400.0, close_f_on=2)
    out = run_cohorts(plan, seed=5, check=True)
    assert out.population[:, 1].sum() == 0
    assert out.population[3:, 0].tolist() == [100] * 5
    assert out.arrivals[3, 0] == 100
    ref = run_agents(plan, seed=5)
    assert np.array_equal(out.population, ref.population)
    assert np.array_equal(out.arrivals, ref.arrivals)


def test_millions_of_people_cost_no_more_cells_than_a_hundred(tmp_path):
    small = run_cohorts(line_plan(tmp_path / "s", people=100), seed=1, check=True)
    big = run_cohorts(line_plan(tmp_path / "b", people=7_700_000), seed=1, check=True)
    assert big.population[-1, 1] == 7_700_000
    assert big.cohort_stats.cells.max() == small.cohort_stats.cells.max()


@pytest.fixture(scope="module")
def basic_plan(tmp_path_factory):
    return compile_plan(load_scenario(write_case(tmp_path_factory.mktemp("basic"))))


def test_reproducible_for_a_seed_whatever_the_threads(basic_plan):
    a = simulate(basic_plan, seed=11, engine="cohorts", threads=1)
    b = simulate(basic_plan, seed=11, engine="cohorts", threads=2)
    c = simulate(basic_plan, seed=12, engine="cohorts", threads=1)
    assert np.array_equal(a.dataset["population"].values, b.dataset["population"].values)
    assert np.array_equal(a.dataset["travellers"].values, b.dataset["travellers"].values)
    assert not np.array_equal(a.dataset["population"].values, c.dataset["population"].values)


def test_people_are_conserved_every_day(basic_plan):
    """present + on links = ever created, every day (check=True also checks cells against counts)."""
    ds = simulate(basic_plan, seed=2, engine="cohorts", check=True).dataset
    on_map = ds["population"].sum("location") + ds["travellers"].sum("route")
    assert (on_map.values == ds["total_people"].values).all()
    assert (ds["population"].values >= 0).all() and (ds["travellers"].values >= 0).all()
    # arrivals − departures is the daily change of each location, spawns included
    change = np.diff(ds["population"].values, axis=0)
    spawned_at = change - (ds["arrivals"].values[1:] - ds["departures"].values[1:])
    assert (spawned_at.sum(axis=1) == ds["spawned"].values[1:]).all()


def test_same_results_schema_as_the_agent_engine(basic_plan):
    c = simulate(basic_plan, seed=1, engine="cohorts")
    a = simulate(basic_plan, seed=1, engine="agents")
    assert set(c.dataset.data_vars) == set(a.dataset.data_vars)
    for name in a.dataset.data_vars:
        assert c.dataset[name].dims == a.dataset[name].dims, name
        assert c.dataset[name].dtype == a.dataset[name].dtype, name
    assert set(c.dataset.coords) == set(a.dataset.coords)
    assert c.manifest["engine"] == "cohorts" and a.manifest["engine"] == "agents"
    assert set(a.manifest) - {"cohorts", "draws"} <= set(c.manifest)  # engine-specific keys
    assert a.manifest["draws"] == "gaps" and "draws" not in c.manifest
    assert c.manifest["metrics"].keys() == a.manifest["metrics"].keys()
    assert np.array_equal(c.dataset["spawned"].values, a.dataset["spawned"].values)


def test_the_manifest_gives_a_cohort_runs_memory_per_cell_not_per_agent(basic_plan):
    """A cohort run's manifest said `memory.bytes_per_agent: 0.0`, which reads as a fault: the
    engine keeps no per-agent columns. It gives the bytes of a cell instead (cells_max beside)."""
    from corredor.engine.cohorts import BYTES_PER_CELL

    c = simulate(basic_plan, seed=1, engine="cohorts")
    a = simulate(basic_plan, seed=1, engine="agents")
    assert c.manifest["memory"] == {"bytes_per_cell": BYTES_PER_CELL, "agents": basic_plan.total_agents}
    assert BYTES_PER_CELL == 56 and c.manifest["cohorts"]["cells_max"] > 0
    assert a.manifest["memory"]["bytes_per_agent"] > 0 and "bytes_per_cell" not in a.manifest["memory"]


def huge(plan, factor: int = 100_000):
    """The same plan with `factor` times the people (spawns scaled), nothing else changed."""
    return dataclasses.replace(plan, spawn=plan.spawn * factor, insert0=plan.insert0 * factor)


def test_auto_picks_the_cheaper_engine_by_estimated_cost(basic_plan):
    small, reason = engine_for(basic_plan)
    assert small == "agents" and "agent-steps" in reason and "cheaper" in reason
    res = simulate(basic_plan, seed=1)
    assert res.manifest["engine"] == "agents"
    assert res.manifest["engine_choice"] == {"asked": "auto", "engine": "agents", "reason": reason}
    big, reason = engine_for(huge(basic_plan))
    assert big == "cohorts" and "agent-steps" in reason and "cheaper" in reason
    # the flip is monotone in the number of people: once cohorts, always cohorts
    picks = [engine_for(huge(basic_plan, f))[0] for f in (1, 10, 100, 1_000, 10_000, 100_000)]
    assert picks == sorted(picks)  # "agents" < "cohorts": a run of agents, then cohorts
    assert engine_for(huge(basic_plan))[0] == big  # deterministic


def test_cost_estimate_counts_the_engines_agent_steps(basic_plan):
    """agent-steps from the spawn schedule alone equal what the engine counted (nobody leaves)."""
    out = run_agents(basic_plan, seed=3, threads=1)
    assert cost_estimate(basic_plan)["agent_steps"] == out.agent_steps > 0
    est = cost_estimate(huge(basic_plan, 10))
    assert est["agent_steps"] == 10 * out.agent_steps
    assert est["agents_s"] > cost_estimate(basic_plan)["agents_s"]


def test_auto_picks_agents_for_car_at_hasten_10_and_cohorts_at_hasten_1(flee_cases):
    """The measured cheaper engine on one thread (docs/performance.md: 0.33 vs 1.1 CPU-s at
    hasten 10, 3.5 vs 1.7 CPU-s at hasten 1)."""
    h10 = engine_for(compile_plan(load_scenario(flee_cases / "car", hasten=10)))
    h1 = engine_for(compile_plan(load_scenario(flee_cases / "car", hasten=1)))
    assert h10[0] == "agents" and "27.5 M agent-steps" in h10[1]
    assert h1[0] == "cohorts" and "275 M agent-steps" in h1[1]


def test_a_rule_that_needs_history_forces_agents_even_when_cohorts_are_cheaper(basic_plan):
    stints = dataclasses.replace(huge(basic_plan),
                                 params={**basic_plan.params, "avoid_short_stints": True})
    engine, reason = engine_for(stints)
    assert engine == "agents" and "avoid_short_stints" in reason
    stints = dataclasses.replace(basic_plan, params={**basic_plan.params, "avoid_short_stints": True})
    res = simulate(stints, seed=1)
    assert res.manifest["engine"] == "agents" and "avoid_short_stints" in res.manifest["engine_choice"]["reason"]
    with pytest.raises(EngineError, match="avoid_short_stints"):
        run_cohorts(stints, seed=1)


def test_merge_sums_equal_cells_and_keeps_distinct_progress():
    ti = np.array([[3, -1, 0, 0, 5], [3, -1, 0, 0, 7], [3, -1, 0, 0, 2], [1, -1, 0, 1, 4],
                   [3, -1, 0, 0, 0]], np.int64)
    tf = np.array([[200.0, 0], [200.0, 0], [400.0, 0], [200.0, 0], [35.0, 0]])
    oi, of, n = _merge(ti, tf, 5, 10, C_PROG)
    got = sorted((int(oi[r, 0]), float(of[r, C_PROG]), int(oi[r, 3]), int(oi[r, C_N])) for r in range(n))
    assert got == [(1, 200.0, 1, 4), (3, 200.0, 0, 12), (3, 400.0, 0, 2)]


def test_flee_case_runs_and_conserves(flee_cases):
    plan = compile_plan(load_scenario(flee_cases / "mali2012"))
    out = run_cohorts(plan, seed=1, check=True)
    total = plan.insert0.sum() + np.cumsum(plan.spawn)
    assert (out.population.sum(axis=1) + out.travellers.sum(axis=1) == total).all()


def test_a_cohort_run_with_camp_capacities_says_it_is_approximate_there(basic_plan, tmp_path):
    """The README called the cohort engine exact in distribution without a condition; it is exact
    only where no capacity binds (a review found twice the agent engine's spread at a mali2012
    camp near its capacity). A cohort run of a case with camp capacities says so in its
    engine_choice; an agent run, or a case without capacities, has no caveat."""
    caveat = simulate(basic_plan, seed=1, engine="cohorts").manifest["engine_choice"]["caveat"]
    capped = int((basic_plan.capacity >= 1).sum())
    assert capped == 2 and caveat.startswith(f"{capped} camps have a capacity here")
    assert "approximate" in caveat and "wider" in caveat
    assert "caveat" not in simulate(basic_plan, seed=1, engine="agents").manifest["engine_choice"]
    assert "caveat" not in simulate(line_plan(tmp_path), seed=1, engine="cohorts").manifest["engine_choice"]
