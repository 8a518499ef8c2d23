"""Side by side: Flee 3.1 and corredor's agent engine on one Flee case, same hasten, many seeds.

Prints per camp the final-day mean and SD of each, a two-sample KS test on final counts, the ARD
distributions (rescaled, Flee's validation score; and plain), and the speed of each in agent-steps
per CPU-second of the simulation loop, with their ratio (medians over the runs).

    python benchmarks/vs_flee.py mali2012 --hasten 10 --seeds 100 --flee-seeds 5
    python benchmarks/vs_flee.py car --flee-from benchmarks/out/flee31   # reuse recorded Flee runs

Flee runs through benchmarks/flee31_driver.py (flee==3.1 in benchmarks/.venv-flee, seeded per
run, one fresh process each; its CPU time is the loop's process time in that process). corredor's
speed is measured on ONE thread (numba threads = 1) as process CPU time around the engine loop,
after a warm-up run, so a busy machine slows both the same way. Writes a JSON summary with
--json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
CASES = REPO.parent / "shared" / "data" / "flee"


def corredor_runs(case_dir: Path, hasten: int, n: int, base_seed: int = 2026) -> dict[str, Any]:
    """n corredor replicas on one thread: camp series, ARD, agent-steps and loop CPU seconds."""
    import numba

    from corredor import load_scenario
    from corredor.analysis.metrics import ard_daily
    from corredor.engine.agents import run_agents
    from corredor.engine.rng import replica_seeds
    from corredor.plan import compile_plan

    plan = compile_plan(load_scenario(case_dir, hasten=hasten))
    camps = [plan.location_names[i] for i in plan.camp_indices]
    idx = list(plan.camp_indices)
    data = plan.observed[:, idx]
    numba.set_num_threads(1)
    run_agents(plan, seed=0, threads=1)  # warm-up: compile or load the cache
    sims, cpu, steps, ard_r, ard_p = [], [], [], [], []
    for seed in replica_seeds(base_seed, n):
        c0 = time.process_time()
        out = run_agents(plan, seed=seed, threads=1)
        cpu.append(time.process_time() - c0)
        steps.append(out.agent_steps)
        sim = out.population[:, idx]
        sims.append(sim)
        ard_r.append(float(ard_daily(sim, data, True).mean()))
        ard_p.append(float(ard_daily(sim, data, False).mean()))
    return {"camps": camps, "sims": np.array(sims), "cpu_s": cpu, "agent_steps": steps,
            "ard_rescaled": ard_r, "ard_plain": ard_p, "data": data}


def flee_runs(case_dir: Path, hasten: int, seeds: list[int], jobs: int, from_dir: Path | None) -> list[dict]:
    """Flee 3.1 run records: read from `from_dir` (flee31_fixtures.py's run files) or run now."""
    if from_dir is not None:
        recs = []
        for s in seeds:
            f = from_dir / f"{case_dir.name}_h{hasten}_s{s}.json"
            if f.exists():
                recs.append(json.loads(f.read_text()))
        if not recs:
            raise SystemExit(f"no Flee run records for {case_dir.name} h{hasten} in {from_dir}")
        return recs
    from flee31_driver import run_flee

    with ThreadPoolExecutor(max_workers=jobs) as ex:
        return list(ex.map(lambda s: run_flee(case_dir, hasten, s), seeds))


def _ard(sim: np.ndarray, data: np.ndarray) -> tuple[float, float]:
    from corredor.analysis.metrics import ard_daily

    return float(ard_daily(sim, data, True).mean()), float(ard_daily(sim, data, False).mean())


def compare(case: str, hasten: int, n: int, flee_seeds: int, jobs: int,
            flee_from: Path | None) -> dict[str, Any]:
    from scipy import stats

    case_dir = CASES / case
    t0 = time.perf_counter()
    flee = flee_runs(case_dir, hasten, list(range(1, flee_seeds + 1)), jobs, flee_from)
    t_flee = time.perf_counter() - t0
    cor = corredor_runs(case_dir, hasten, n)
    camps = cor["camps"]
    f_sims = np.array([[rec["sim"][c] for c in camps] for rec in flee]).transpose(0, 2, 1)
    f_ard = [_ard(f_sims[k], cor["data"]) for k in range(len(flee))]
    f_rate = [r["agent_steps"] / r["cpu_s_loop"] for r in flee]
    c_rate = [s / c for s, c in zip(cor["agent_steps"], cor["cpu_s"], strict=True)]
    rows = []
    for j, c in enumerate(camps):
        a, b = cor["sims"][:, -1, j], f_sims[:, -1, j]
        rows.append({"camp": c, "corredor_mean": float(a.mean()), "corredor_sd": float(a.std(ddof=1)),
                     "flee_mean": float(b.mean()), "flee_sd": float(b.std(ddof=1)) if len(b) > 1 else 0.0,
                     "ks_p": float(stats.ks_2samp(a, b).pvalue)})
    return {
        "case": case, "hasten": hasten, "corredor_seeds": n, "flee_seeds": len(flee),
        "camps": rows,
        "ard_rescaled": {"corredor": [float(np.mean(cor["ard_rescaled"])), float(np.std(cor["ard_rescaled"]))],
                         "flee": [float(np.mean([x[0] for x in f_ard])), float(np.std([x[0] for x in f_ard]))]},
        "ard_plain": {"corredor": [float(np.mean(cor["ard_plain"])), float(np.std(cor["ard_plain"]))],
                      "flee": [float(np.mean([x[1] for x in f_ard])), float(np.std([x[1] for x in f_ard]))]},
        "agent_steps": {"corredor": int(np.median(cor["agent_steps"])),
                        "flee": int(np.median([r["agent_steps"] for r in flee]))},
        "cpu_s_median": {"corredor": float(np.median(cor["cpu_s"])),
                         "flee": float(np.median([r["cpu_s_loop"] for r in flee]))},
        "steps_per_cpu_s": {"corredor": float(statistics.median(c_rate)), "flee": float(statistics.median(f_rate))},
        "speedup": float(statistics.median(c_rate) / statistics.median(f_rate)),
        "flee_wall_s": t_flee,
    }


def print_report(r: dict[str, Any]) -> None:
    print(f"\n{r['case']} at hasten {r['hasten']}: corredor {r['corredor_seeds']} seeds, "
          f"Flee 3.1 {r['flee_seeds']} seeds (final day)")
    print(f"{'camp':18s} {'corredor mean±SD':>20s} {'Flee mean±SD':>20s} {'KS p':>7s}")
    for row in r["camps"]:
        print(f"{row['camp']:18s} {row['corredor_mean']:11.1f} ±{row['corredor_sd']:7.1f} "
              f"{row['flee_mean']:11.1f} ±{row['flee_sd']:7.1f} {row['ks_p']:7.3f}")
    for k in ("ard_rescaled", "ard_plain"):
        c, f = r[k]["corredor"], r[k]["flee"]
        print(f"{k:14s} corredor {c[0]:.4f} ± {c[1]:.4f}   Flee {f[0]:.4f} ± {f[1]:.4f}")
    s = r["steps_per_cpu_s"]
    print(f"agent-steps per CPU-s (median): corredor {s['corredor']:.3g} (1 thread), Flee {s['flee']:.3g}"
          f"  -> {r['speedup']:.0f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", help="mali2012 | burundi | car (a folder of ../shared/data/flee)")
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=100, help="corredor replicas")
    ap.add_argument("--flee-seeds", type=int, default=5, help="Flee 3.1 runs (seeds 1..N)")
    ap.add_argument("--jobs", type=int, default=1, help="Flee runs at a time")
    ap.add_argument("--flee-from", type=Path, default=None, help="read Flee run records from this folder")
    ap.add_argument("--json", type=Path, default=None, help="write the summary here")
    a = ap.parse_args(argv)
    r = compare(a.case, a.hasten, a.seeds, a.flee_seeds, a.jobs, a.flee_from)
    print_report(r)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
