"""corredor's agent engine against Flee 3.1 itself (fixtures made by benchmarks/flee31_fixtures.py).

Issue 3's "done when", per case at hasten 10:
- deterministic series identical to Flee 3.1's (spawns, debt, totals, data columns, day-0
  insertion, capacities, conflict on/off events);
- with ≥ 100 corredor seeds against Flee's ≥ 20: for ≥ 95 % of (camp, every 10th day) points,
  |mean_corredor − mean_flee| ≤ 3 × SE of the difference + 1 % of that day's data value;
  KS p > 0.01 on each camp's final count; mean rescaled ARD within 4 SE of the difference of
  Flee's (and never more than ±0.02 away: flee31_reference.ARD_MAX_Z, ARD_MAX_DIFF).
The seeds are fixed (SeedSequence(2026)), so the statistical checks are deterministic.
A case whose fixture is not committed yet is skipped.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FLEE_CASES
from corredor import load_scenario
from corredor.analysis.metrics import ard_daily
from corredor.engine.agents import run_agents
from corredor.engine.rng import replica_seeds
from corredor.plan import compile_plan
from flee31_reference import (
    ARD_MAX_DIFF,
    ARD_MAX_Z,
    available,
    criteria,
    fixture_path,
    load_deterministic,
    load_ensemble,
)

CASES = ("mali2012", "burundi", "car")
N_SEEDS = 100


def _plan(case: str):
    if not (FLEE_CASES / case).is_dir():
        pytest.skip("../shared/data/flee is not beside the checkout")
    return compile_plan(load_scenario(FLEE_CASES / case, hasten=10))


@pytest.mark.parametrize("case", CASES)
def test_deterministic_series_identical_to_flee(case: str) -> None:
    if not fixture_path("deterministic", case).exists():
        pytest.skip(f"no Flee 3.1 deterministic fixture for {case} yet")
    det = load_deterministic(case)
    p = _plan(case)
    d = det["daily"]
    assert p.spawn.tolist() == d["spawned"]
    assert p.debt.tolist() == d["refugee_debt"]
    assert p.raw_total.tolist() == d["raw_unhcr_refugee_count"]
    assert p.observed_total.tolist() == d["refugees_in_camps_unhcr"]
    assert (np.cumsum(p.spawn) + p.insert0.sum()).tolist() == d["total_refugees_simulation"]
    names = list(p.location_names)
    assert [names[i] for i in p.camp_indices] == det["camps"]
    for c in det["camps"]:
        i = names.index(c)
        assert p.observed[:, i].astype(int).tolist() == det["data"][c], c
        assert int(p.insert0[i]) == det["day0_inserted"][c], c
        assert int(p.capacity[i]) == det["capacity_after_day0"][c], c
    ours = [(t, names[p.conflict_loc[e]], bool(p.conflict_on[e]))
            for t in range(p.n_days) for e in range(p.conflict_ptr[t], p.conflict_ptr[t + 1])]
    assert ours == [(e["day"], e["location"], e["on"]) for e in det["conflict_events"]]
    closing_days = sorted({e["day"] for e in det["closure_events"]
                           if e["type"] in ("country", "location", "camp", "idpcamp")})
    ours_days = sorted({t for t in range(p.n_days) if p.closure_ptr[t + 1] > p.closure_ptr[t]})
    assert ours_days == closing_days


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_ensemble_statistically_equal_to_flee(case: str) -> None:
    if case not in available("ensemble"):
        pytest.skip(f"no Flee 3.1 ensemble fixture for {case} yet")
    ens = load_ensemble(case)
    p = _plan(case)
    camps = ens["camps"]
    idx = [list(p.location_names).index(c) for c in camps]
    data = p.observed[:, idx]
    sims, ards = [], []
    for seed in replica_seeds(2026, N_SEEDS):
        sim = run_agents(p, seed=seed, threads=1).population[:, idx]
        sims.append(sim)
        ards.append(ard_daily(sim, data, rescaled=True).mean())
    crit = criteria(ens, sims, ards, data)  # (seed, day, camp) runs against the fixture
    assert crit["share_within"] >= 0.95, f"{crit['share_within']:.3f} of points within tolerance"
    for c, p_ks in crit["ks"].items():
        assert p_ks > 0.01, f"{c}: KS p = {p_ks:.4f}"
    print(f"\n{case}: ARD {crit['ard_sim']:.4f} vs Flee {crit['ard_flee']:.4f}, z = {crit['ard_z']:+.2f}")
    assert abs(crit["ard_z"]) <= ARD_MAX_Z, (crit["ard_sim"], crit["ard_flee"], crit["ard_se"])
    assert abs(crit["ard_diff"]) <= ARD_MAX_DIFF, (crit["ard_sim"], crit["ard_flee"])
