"""Invariants checked every day under check=True, on real cases, and caught when broken on purpose.

Daily, inside the engines (check=True): the agent engine recounts people per place and link from
its people columns and compares them with its tallies; the crisis engine checks created = present
+ travelling + exited, signs, crossing, admission, event and shelter capacities. After the run,
engine/invariants.py checks the labelled dataset (conservation, signs, flows). A test that cannot
fail proves nothing, so each check is also fed a deliberately corrupted state or dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corredor.engine.crisis import InvariantError, _check_day
from corredor.engine.invariants import check_results, results_problems
from corredor.scenario import load_scenario
from corredor.simulate import simulate

REPO = Path(__file__).resolve().parents[1]
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"


@pytest.mark.parametrize(
    ("case", "engine", "days"),
    [
        ("mali2012", "agents", None),
        ("mali2012", "cohorts", None),
        ("burundi", "agents", None),
        ("burundi", "cohorts", None),
        ("car", "agents", 200),
        ("car", "cohorts", None),
    ],
)
def test_flee_cases_hold_invariants_every_day(
    flee_cases: Path, case: str, engine: str, days: int | None
) -> None:
    scenario = load_scenario(flee_cases / case, hasten=10, days=days)
    res = simulate(scenario, seed=11, engine=engine, check=True)  # raises on a broken invariant
    ds = res.dataset
    assert results_problems(res) == []
    # Flee's rules have no exits: everyone created is at a place or on a link, every day
    total = ds["population"].sum("location") + ds["travellers"].sum("route")
    assert (total.values == ds["total_people"].values).all()
    assert int(ds["total_people"][-1]) > 1000  # the run did move people (not a vacuous pass)
    assert int(ds["departures"].sum()) > 0


def test_chile_peru_holds_invariants_every_day() -> None:
    scenario = load_scenario(CHILE_PERU)
    res = simulate(scenario, seed=5, check=True)
    ds = res.dataset
    assert results_problems(res) == []
    present = ds["population"].sum("location") + ds["travellers"].sum("route") + ds["exited"]
    assert (present.values == ds["total_people"].values).all()
    assert int(ds["stranded"].sum()) > 0  # a camp forms: the capacity checks had work to do
    assert int(ds["crossings"].sum()) > 0
    # who is stranded, group by group: summed over the groups, the stranded of each place and day
    by_group = ds["stranded_by_group"].values
    assert (by_group.sum(axis=2) == ds["stranded"].values).all()
    assert (by_group <= ds["population_by_group"].values).all()
    assert (by_group.sum(axis=(0, 1)) > 0).sum() >= 2  # (more than one group waits at the line)
    ds["stranded_by_group"].values[50, :, 0] += 1
    assert "stranded != stranded_by_group summed over groups" in results_problems(res)


@pytest.fixture(scope="module")
def small_run():
    """A short agent run of the shared mali2012 case whose dataset the tests corrupt."""
    shared = REPO.parent / "shared" / "data" / "flee" / "mali2012"
    if not shared.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return simulate(load_scenario(shared, hasten=20, days=60), seed=2, engine="cohorts")


def _copy(res):
    from corredor.results import Results

    return Results(res.dataset.copy(deep=True), dict(res.manifest))


def test_a_person_lost_from_a_place_is_caught(small_run) -> None:
    res = _copy(small_run)
    assert results_problems(res) == []
    pop = res.dataset["population"].values
    t, j = 30, int(np.argmax(pop[30]))
    pop[t, j] -= 1
    with pytest.raises(InvariantError, match=f"day {t}: created"):
        check_results(res)


def test_a_negative_count_is_caught(small_run) -> None:
    res = _copy(small_run)
    res.dataset["travellers"].values[5, 0] = -1
    assert any("travellers: negative count on day 5" in p for p in results_problems(res))


def test_a_person_moved_without_a_departure_is_caught(small_run) -> None:
    """Totals still balance, but people appear on a link without anyone departing."""
    res = _copy(small_run)
    ds = res.dataset
    t = 40
    j = int(np.argmax(ds["population"].values[t]))
    ds["population"].values[t:, j] -= 1
    ds["travellers"].values[t:, 0] += 1
    problems = results_problems(res)
    assert problems == ["people on links do not change by departures − arrivals",
                        "people at places do not change by spawned + arrivals − departures"]


def test_a_spawn_not_counted_is_caught(small_run) -> None:
    res = _copy(small_run)
    res.dataset["spawned"].values[10] += 3
    assert "total_people is not the running sum of spawned" in results_problems(res)


@pytest.fixture(scope="module")
def crisis_day():
    """A crisis plan and the records of one real day, for feeding _check_day corrupted records."""
    from corredor.engine.rules.crisis_plan import (
        M_CORRIDOR,
        M_FLIGHT,
        M_REGULAR,
        M_TRANSFER,
        compile_crisis,
    )

    scenario = load_scenario(CHILE_PERU)
    plan = compile_crisis(scenario)
    res = simulate(scenario, seed=5)
    ds = res.dataset
    limited = np.argwhere(plan.capacity >= 0)
    assert limited.size, "the scenario has a crossing with a daily capacity"
    t, c = (int(x) for x in limited[len(limited) // 2])
    out = {
        "population_by_group": ds["population_by_group"].values.copy(),
        "travellers": ds["travellers"].values.copy(),
        "exited": ds["exited"].values.copy(),
        "stranded": ds["stranded"].values.copy(),
        "stranded_by_group": ds["stranded_by_group"].values.copy(),
        "sheltered": ds["sheltered"].values.copy(),
        "crossings": ds["crossings"].values.copy(),
        "pushbacks": ds["pushbacks"].values.copy(),
        "money_paid_usd": ds["money_paid_usd"].values.copy(),
        "fares_paid_usd": ds["fares_paid_usd"].values.copy(),
        "cannot_pay_fare": ds["cannot_pay_fare"].values.copy(),
        "days_waited": ds["days_waited"].values.copy(),
        "arrivals": ds["arrivals"].values.copy(),
    }
    created = int(ds["total_people"].values[t])
    moved = out["crossings"][t][:, [M_FLIGHT, M_TRANSFER, M_CORRIDOR]].sum()
    ev_done = np.zeros(len(plan.ev_kind), dtype=np.int64)
    # the day's event moves are not in the dataset: attribute them to events within their caps
    left = int(moved)
    for v in range(len(ev_done)):
        take = left if plan.ev_people[v] < 0 else min(left, int(plan.ev_people[v]))
        ev_done[v] = take
        left -= take
    if left:
        pytest.skip("event moves of the chosen day cannot be attributed")
    return plan, t, c, created, out, ev_done, M_REGULAR


def test_crisis_day_check_passes_on_real_records(crisis_day) -> None:
    plan, t, _c, created, out, ev_done, _ = crisis_day
    _check_day(plan, t, created, out, ev_done)


def test_crisis_day_check_catches_a_lost_person(crisis_day) -> None:
    plan, t, _c, created, out, ev_done, _ = crisis_day
    with pytest.raises(InvariantError, match="created"):
        _check_day(plan, t, created + 1, out, ev_done)


def test_crisis_day_check_catches_capacity_exceeded(crisis_day) -> None:
    plan, t, c, created, out, ev_done, m_regular = crisis_day
    bad = {k: v.copy() for k, v in out.items()}
    bad["crossings"][t, c, m_regular] = plan.capacity[t][c] + 1
    with pytest.raises(InvariantError, match="capacity exceeded"):
        _check_day(plan, t, created, bad, ev_done)


def test_crisis_day_check_catches_negative_stranded(crisis_day) -> None:
    plan, t, _c, created, out, ev_done, _ = crisis_day
    bad = {k: v.copy() for k, v in out.items()}
    bad["stranded"][t, 0] = -1
    with pytest.raises(InvariantError, match="negative stranded"):
        _check_day(plan, t, created, bad, ev_done)


def test_crisis_day_check_catches_more_of_a_group_stranded_than_present(crisis_day) -> None:
    """Who is stranded, group by group (`stranded_by_group`), is checked as `stranded` is: never
    more of a group than are at the place."""
    plan, t, _c, created, out, ev_done, _ = crisis_day
    bad = {k: v.copy() for k, v in out.items()}
    j, g = np.unravel_index(int(np.argmax(bad["population_by_group"][t])), bad["population_by_group"][t].shape)
    bad["stranded_by_group"][t, j, g] = bad["population_by_group"][t, j, g] + 1
    with pytest.raises(InvariantError, match="more of a group stranded than present"):
        _check_day(plan, t, created, bad, ev_done)


def test_cli_check_passes_and_a_broken_invariant_exits_3(
    flee_cases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from corredor.cli import app
    from corredor.engine import invariants

    runner = CliRunner()
    args = ["run", str(flee_cases / "mali2012"), "--hasten", "20", "--days", "40",
            "--engine", "agents", "--check", "-q"]
    ok = runner.invoke(app, [*args, "--out", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output
    monkeypatch.setattr(invariants, "results_problems", lambda res: ["day 3: injected fault"])
    bad = runner.invoke(app, [*args, "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 3
    assert "internal error (please report): invariants broken: day 3: injected fault" in bad.output
    assert "Traceback" not in bad.output
    assert not (tmp_path / "bad").exists()


def test_crisis_day_check_catches_a_shelter_over_capacity(crisis_day) -> None:
    plan, t, _c, created, out, ev_done, _ = crisis_day
    j = int(np.flatnonzero(plan.shelter_cap >= 0)[0])
    bad = {k: v.copy() for k, v in out.items()}
    bad["sheltered"][t, j] = plan.shelter_cap[j] + 1
    with pytest.raises(InvariantError, match="shelter over capacity"):
        _check_day(plan, t, created, bad, ev_done)


def test_crisis_day_check_catches_an_event_beyond_its_size_or_unrecorded(crisis_day) -> None:
    plan, t, _c, created, out, ev_done, _ = crisis_day
    v = int(np.flatnonzero(plan.ev_people >= 0)[0])
    too_many = ev_done.copy()
    too_many[v] = plan.ev_people[v] + 1
    with pytest.raises(InvariantError, match=f"event {v} moved"):
        _check_day(plan, t, created, out, too_many)
    unrecorded = ev_done.copy()
    unrecorded[v] = min(ev_done[v] + 1, plan.ev_people[v]) if ev_done[v] < plan.ev_people[v] else ev_done[v] - 1
    with pytest.raises(InvariantError, match="event moves"):
        _check_day(plan, t, created, out, unrecorded)


def test_crisis_day_check_catches_admissions_beyond_their_limit(crisis_day) -> None:
    import dataclasses

    from corredor.engine.rules.crisis_plan import M_ADMISSION

    plan, t, c, created, out, ev_done, _ = crisis_day
    pools = plan.admission_pool.copy()
    pools[t, c, :] = 0  # one admission row of 5 a day for every group on day t
    limited = dataclasses.replace(plan, admission_pool=pools, admission_pool_cap=np.array([5], np.int64))
    _check_day(limited, t, created, out, ev_done)  # the real day admits nobody at c: within the limit
    bad = {k: v.copy() for k, v in out.items()}
    bad["crossings"][t, c, M_ADMISSION] = 6
    with pytest.raises(InvariantError, match="admission capacity exceeded"):
        _check_day(limited, t, created, bad, ev_done)


def test_a_crisis_runs_dataset_is_told_from_a_flee_cases() -> None:
    """`results.is_crisis`: the run folder (key figures), the ensemble (policy and supplies
    metrics) and these checks (money paid never negative) tell a border-crisis run by it."""
    from corredor.results import is_crisis
    from test_crisis_engine import tiny
    from toy_flee import line_case

    crisis = simulate(tiny(days=5), seed=1).dataset
    flee = simulate(line_case(days=5), seed=1).dataset
    assert is_crisis(crisis) and not is_crisis(flee)
    assert crisis.attrs["engine"] == "crisis-agents" != flee.attrs.get("engine")  # (what each is)
    assert {"population", "total_people"} <= set(crisis) & set(flee)  # (shared: no tell)
