"""Issue 3's equivalence criteria for both engines against the committed Flee 3.1 fixtures, as a table.

The same seeds as tests/test_flee_equivalence.py (agents) and tests/test_cohorts_equivalence.py
(cohorts), replica_seeds(2026, 100) at the fixture's hasten, and the same arithmetic, which lives
in tests/flee31_reference.criteria: points within 3 SE + 1 % of the data on every 10th day, the
smallest per-camp KS p on final counts, and mean rescaled / plain ARD (± SD over seeds) against
Flee's, with the rescaled ARDs' difference in standard errors of the difference (z).

    python benchmarks/flee_criteria.py mali2012 burundi car
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))


def criteria(case: str, engine: str, seeds: int) -> dict:
    """The criteria for one case and engine (flee31_reference.criteria, which the tests assert),
    with the plain ARD beside the rescaled one."""
    from corredor import load_scenario
    from corredor.analysis.metrics import ard_daily
    from corredor.engine.agents import run_agents
    from corredor.engine.cohorts import run_cohorts
    from corredor.engine.rng import replica_seeds
    from corredor.plan import compile_plan
    from flee31_reference import criteria as flee31_criteria
    from flee31_reference import load_ensemble

    ens = load_ensemble(case)
    hasten = int(ens["provenance"]["hasten"])
    plan = compile_plan(load_scenario(REPO.parent / "shared" / "data" / "flee" / case, hasten=hasten))
    idx = [list(plan.location_names).index(c) for c in ens["camps"]]
    data = plan.observed[:, idx]
    run = run_agents if engine == "agents" else run_cohorts
    sims = np.array([run(plan, seed=s, threads=1).population[:, idx]
                     for s in replica_seeds(2026, seeds)], dtype=np.float64)
    ard_r = [ard_daily(s, data, rescaled=True).mean() for s in sims]
    ard_p = [ard_daily(s, data, rescaled=False).mean() for s in sims]
    crit = flee31_criteria(ens, sims, ard_r, data)
    worst = min(crit["ks"], key=crit["ks"].get)
    f_r = [r["ard_rescaled"] for r in ens["runs"]]
    f_p = [r["ard_plain"] for r in ens["runs"]]
    return {"case": case, "engine": engine, "flee_seeds": int(ens["n_seeds"]),
            "within": crit["within"], "points": crit["points"], "ks_min": crit["ks_min_p"],
            "ks_camp": worst, "ard_diff": crit["ard_diff"], "ard_z": crit["ard_z"],
            "ard_r": (np.mean(ard_r), np.std(ard_r, ddof=1)), "ard_r_flee": (np.mean(f_r), np.std(f_r, ddof=1)),
            "ard_p": (np.mean(ard_p), np.std(ard_p, ddof=1)), "ard_p_flee": (np.mean(f_p), np.std(f_p, ddof=1))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--engines", default="agents,cohorts")
    ap.add_argument("--seeds", type=int, default=100)
    args = ap.parse_args()
    from flee31_reference import ARD_MAX_DIFF, ARD_MAX_Z

    print("| case | engine | Flee seeds | points within | smallest KS p (camp) | ARD rescaled: corredor / Flee | z | ARD plain: corredor / Flee | all criteria |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        for engine in args.engines.split(","):
            r = criteria(case, engine, args.seeds)
            ok = (r["within"] >= 0.95 * r["points"] and r["ks_min"] > 0.01
                  and abs(r["ard_z"]) <= ARD_MAX_Z and abs(r["ard_diff"]) <= ARD_MAX_DIFF)
            print(f"| {case} | {engine} | {r['flee_seeds']} | {r['within']}/{r['points']} "
                  f"({r['within'] / r['points']:.1%}) | {r['ks_min']:.3f} ({r['ks_camp']}) | "
                  f"{r['ard_r'][0]:.4f} ± {r['ard_r'][1]:.4f} / {r['ard_r_flee'][0]:.4f} ± {r['ard_r_flee'][1]:.4f} | {r['ard_z']:+.2f} | "
                  f"{r['ard_p'][0]:.4f} ± {r['ard_p'][1]:.4f} / {r['ard_p_flee'][0]:.4f} ± {r['ard_p_flee'][1]:.4f} | "
                  f"{'pass' if ok else 'FAIL'} |", flush=True)


if __name__ == "__main__":
    main()
