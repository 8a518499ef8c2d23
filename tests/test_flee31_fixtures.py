"""Internal consistency of the Flee 3.1 reference fixtures (tests/fixtures/flee31).

The fixtures are what corredor is compared with, so they must hang together: totals equal the
day-0 insert plus the cumulative spawns, spawns and debt follow Flee 3.1's rule from the UNHCR
total, the stored ARDs agree with the stored counts, the ensemble agrees with the deterministic
series. Events are also checked against the case's own conflicts.csv / closures.csv when
../shared is beside the checkout. None of this needs Flee installed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from flee31_reference import (
    CASES,
    ard_day,
    available,
    fixture_path,
    load_deterministic,
    load_ensemble,
    spawns_from_total,
)

FLEE_CASES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flee"

DET = available("deterministic")
ENS = available("ensemble")


def test_fixtures_exist_for_every_case():
    for case in CASES:
        assert case in DET, f"deterministic fixture missing: {case}"
        assert case in ENS, f"ensemble fixture missing: {case}"


def _check_provenance(fx: dict, case: str, kind: str) -> None:
    p = fx["provenance"]
    assert p["flee_version"] == "3.1"
    assert p["kind"] == kind and p["case"] == case and p["hasten"] == 10
    assert "flee31_driver.py" in p["command"] and f"--hasten {p['hasten']}" in p["command"]
    assert p["generated_utc"][:2] == "20" and p["generated_utc"].endswith("Z")
    assert p["seeds"] == sorted(set(p["seeds"])) and p["seeds"][0] == 1


@pytest.mark.parametrize("case", DET)
def test_deterministic_provenance_and_shape(case):
    fx = load_deterministic(case)
    _check_provenance(fx, case, "deterministic")
    assert len(fx["provenance"]["seeds"]) >= 2  # seed independence was checked on these
    days = fx["provenance"]["days"]
    assert len(fx["dates"]) == days and fx["dates"][0] == fx["provenance"]["start_date"]
    for series in fx["daily"].values():
        assert len(series) == days
    assert list(fx["data"]) == fx["camps"]
    for c in fx["camps"]:
        assert len(fx["data"][c]) == days
        assert all(isinstance(v, int) and v >= 0 for v in fx["data"][c])


@pytest.mark.parametrize("case", DET)
def test_total_agents_is_day0_insert_plus_cumulative_spawns(case):
    fx = load_deterministic(case)
    d = fx["daily"]
    assert fx["day0_inserted_total"] == sum(fx["day0_inserted"].values())
    running = fx["day0_inserted_total"]
    for t, s in enumerate(d["spawned"]):
        running += s
        assert d["total_refugees_simulation"][t] == running, t
    assert fx["total_spawned"] == sum(d["spawned"])
    assert d["total_refugees_simulation"][-1] == fx["day0_inserted_total"] + fx["total_spawned"]


@pytest.mark.parametrize("case", DET)
def test_spawns_and_debt_follow_flee31_rule_from_unhcr_total(case):
    fx = load_deterministic(case)
    d = fx["daily"]
    total = d["unhcr_total_series"]
    spawned, debt = spawns_from_total(total, insert_day0=True)
    assert d["spawned"][0] == 0  # insert_day0: nothing spawns on day 0
    assert d["spawned"] == spawned
    assert d["refugee_debt"] == debt
    # raw count telescopes: Σ_{s≤t} Δ(s) = total(t) (3.1: no day-0 double count)
    assert d["raw_unhcr_refugee_count"] == total
    # agents ever created = running max of the total, shifted by what day 0 put in camps
    assert d["total_refugees_simulation"][-1] == (
        fx["day0_inserted_total"] + max(total) - total[0])


@pytest.mark.parametrize("case", DET)
def test_camp_data_columns_sum_to_unhcr_camp_total_and_seed_day0(case):
    fx = load_deterministic(case)
    d = fx["daily"]
    for t in range(len(fx["dates"])):
        assert d["refugees_in_camps_unhcr"][t] == sum(fx["data"][c][t] for c in fx["camps"])
    for c in fx["camps"]:
        assert fx["day0_inserted"][c] == fx["data"][c][0]


@pytest.mark.parametrize("case", DET)
def test_flee31_keeps_camp_capacity_on_day0(case):
    fx = load_deterministic(case)
    assert fx["capacity_after_day0"] == fx["capacity_setup"]
    assert list(fx["capacity_setup"]) == fx["camps"]


def _read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.reader(fh) if r and not r[0].startswith("#")]


def _case_dir(case: str) -> Path:
    path = FLEE_CASES / case
    if not path.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return path


@pytest.mark.parametrize("case", DET)
def test_capacities_are_locations_csv_over_hasten(case):
    fx = load_deterministic(case)
    rows = _read_csv_rows(_case_dir(case) / "input_csv" / "locations.csv")
    caps = {r[0]: int(r[7]) // 10 for r in rows if "camp" in r[5].lower()}
    assert fx["capacity_setup"] == {c: caps[c] for c in fx["camps"]}


@pytest.mark.parametrize("case", DET)
def test_closure_events_are_the_rows_of_closures_csv_by_day(case):
    fx = load_deterministic(case)
    rows = _read_csv_rows(_case_dir(case) / "input_csv" / "closures.csv")
    days = len(fx["dates"])
    expected = []
    for t in range(days):
        for i, r in enumerate(rows):
            if int(r[3]) == t:
                expected.append((t, i, r[0], "close"))
            if int(r[4]) == t:
                expected.append((t, i, r[0], "reopen"))
    got = [(e["day"], e["row"], e["type"], e["action"]) for e in fx["closure_events"]]
    assert got == expected
    # a working country/location closure removes links on the day it fires
    closing = [e for e in fx["closure_events"]
               if e["action"] == "close" and e["type"] in ("country", "location")]
    for e in closing:
        assert fx["daily"]["closed_links"][e["day"]] > 0


@pytest.mark.parametrize("case", DET)
def test_conflict_events_follow_conflicts_csv(case):
    """Onsets where a column goes from ≤1e-6 to >1e-6 (or is >1e-6 on day 0); 3.1 removes a zone
    only when the previous value is exactly 1 (InputGeography.AddNewConflictZones)."""
    fx = load_deterministic(case)
    rows = _read_csv_rows(_case_dir(case) / "input_csv" / "conflicts.csv")
    with open(_case_dir(case) / "input_csv" / "conflicts.csv", newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    names = [h.strip() for h in header[1:]]
    known = {r[0] for r in _read_csv_rows(_case_dir(case) / "input_csv" / "locations.csv")}
    days = len(fx["dates"])
    expected = set()
    for j, name in enumerate(names):
        if name not in known:  # blank or unknown columns are ignored by Flee
            continue
        col = [float(r[j + 1]) for r in rows[:days]]
        for t, v in enumerate(col):
            if v > 1e-6 and (t == 0 or col[t - 1] < 1e-6):
                expected.add((t, name, True))
            if v < 1e-6 and t > 0 and col[t - 1] == 1:
                expected.add((t, name, False))
    got = {(e["day"], e["location"], e["on"]) for e in fx["conflict_events"]}
    assert got == expected
    for e in fx["conflict_events"]:
        if e["on"]:
            assert e["time_of_conflict"] == e["day"]
    # number of zones in conflict per day is the initial set updated by the events
    on = {k for k, v in fx["conflict_initial"].items() if v > 0}
    for t in range(days):
        for e in (e for e in fx["conflict_events"] if e["day"] == t):
            (on.add if e["on"] else on.discard)(e["location"])
        assert fx["daily"]["conflict_zones"][t] == len(on), t


# ---------------------------------------------------------------------------------------------
# Ensemble
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ENS)
def test_ensemble_provenance_and_seeds(case):
    fx = load_ensemble(case)
    _check_provenance(fx, case, "ensemble")
    seeds = fx["provenance"]["seeds"]
    assert len(seeds) >= 20 and seeds == list(range(1, len(seeds) + 1))
    assert [r["seed"] for r in fx["runs"]] == seeds and fx["n_seeds"] == len(seeds)
    days = fx["provenance"]["days"]
    for c in fx["camps"]:
        assert len(fx["mean"][c]) == days and len(fx["sd"][c]) == days
        assert all(s >= 0 for s in fx["sd"][c])


@pytest.mark.parametrize("case", ENS)
def test_ensemble_matches_deterministic_fixture(case):
    ens, det = load_ensemble(case), load_deterministic(case)
    assert ens["camps"] == det["camps"]
    assert ens["data"] == det["data"]
    assert ens["total_agents"] == det["daily"]["total_refugees_simulation"]
    # agent-steps = agents alive at each day's evolve, summed; nobody leaves in these cases
    steps = sum(det["daily"]["total_refugees_simulation"])
    assert {r["agent_steps"] for r in ens["runs"]} == {steps}
    for r in ens["runs"]:
        assert r["cpu_s_loop"] > 0 and r["cpu_s_total"] >= r["cpu_s_loop"]


@pytest.mark.parametrize("case", ENS)
def test_final_counts_agree_with_mean_sd_and_totals(case):
    fx = load_ensemble(case)
    n = fx["n_seeds"]
    for c in fx["camps"]:
        finals = [r["final"][c] for r in fx["runs"]]
        m = sum(finals) / n
        sd = math.sqrt(sum((x - m) ** 2 for x in finals) / (n - 1))
        assert fx["mean"][c][-1] == pytest.approx(m, abs=6e-4)
        assert fx["sd"][c][-1] == pytest.approx(sd, abs=6e-4)
    for r in fx["runs"]:
        assert sum(r["final"].values()) == r["final_camps_sim_total"]
        assert r["final_camps_sim_total"] <= fx["total_agents"][-1]
    # camps hold at most everyone created so far, on average too
    for t in range(len(fx["total_agents"])):
        assert sum(fx["mean"][c][t] for c in fx["camps"]) <= fx["total_agents"][t] + 1e-6


@pytest.mark.parametrize("case", ENS)
def test_final_day_ard_recomputes_from_stored_counts(case):
    fx = load_ensemble(case)
    data_last = {c: fx["data"][c][-1] for c in fx["camps"]}
    for r in fx["runs"]:
        assert r["ard_plain_final"] == pytest.approx(ard_day(r["final"], data_last, False), rel=1e-12)
        assert r["ard_rescaled_final"] == pytest.approx(ard_day(r["final"], data_last, True), rel=1e-12)


@pytest.mark.parametrize("case", ENS)
def test_mean_ard_is_consistent_with_mean_trajectory(case):
    """Plain ARD is convex in the sim counts, so the seeds' mean ARD is at least the ARD of the
    mean trajectory (Jensen), and not wildly above it (bounded by mean + 3·SD terms)."""
    fx = load_ensemble(case)
    camps, days = fx["camps"], len(fx["total_agents"])
    of_mean, upper = 0.0, 0.0
    for t in range(days):
        data_t = {c: fx["data"][c][t] for c in camps}
        u = max(int(sum(data_t.values())), 1)
        of_mean += ard_day({c: fx["mean"][c][t] for c in camps}, data_t, False)
        upper += sum(abs(fx["mean"][c][t] - data_t[c]) + fx["sd"][c][t] for c in camps) / u
    of_mean /= days
    upper /= days
    mean_ard = sum(r["ard_plain"] for r in fx["runs"]) / fx["n_seeds"]
    tol = len(camps) * 1e-3  # fixture means are rounded to 3 decimals
    assert of_mean - tol <= mean_ard <= upper + tol
    for r in fx["runs"]:
        assert 0.0 <= r["ard_rescaled"] and 0.0 <= r["ard_plain"]


def test_fixture_path_rejects_unknown_kind():
    with pytest.raises(ValueError):
        fixture_path("nonsense", "mali2012")


# ---------------------------------------------------------------------------------------------
# Against Flee itself, only where benchmarks/.venv-flee exists (never in CI)
# ---------------------------------------------------------------------------------------------

FLEE_PYTHON = Path(__file__).resolve().parents[1] / "benchmarks" / ".venv-flee" / "bin" / "python"


@pytest.mark.skipif(not FLEE_PYTHON.exists(), reason="Flee 3.1 virtualenv not installed")
def test_short_flee_run_reproduces_deterministic_fixture_prefix():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from flee31_driver import run_flee

    case, days = "mali2012", 25
    det = load_deterministic(case)
    res = run_flee(_case_dir(case), 10, seed=7, days=days)
    assert res["flee_version"] == "3.1" and res["camps"] == det["camps"]
    assert res["daily"]["spawned"] == det["daily"]["spawned"][:days]
    assert res["daily"]["refugee_debt"] == det["daily"]["refugee_debt"][:days]
    assert res["daily"]["total_agents"] == det["daily"]["total_refugees_simulation"][:days]
    assert res["data"] == {c: v[:days] for c, v in det["data"].items()}
    assert res["closure_events"] == [e for e in det["closure_events"] if e["day"] < days]
    assert res["agent_steps"] == sum(res["daily"]["agents_at_evolve"])
    for t in range(days):  # agents are in camps, on links or elsewhere: camps never hold more
        assert res["daily"]["camps_sim_total"][t] <= res["daily"]["total_agents"][t]
