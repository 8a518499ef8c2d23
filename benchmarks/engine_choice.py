"""Calibration of `engine_for`'s cost model: CPU seconds of both engines on one thread.

For each case it records what the plan tells before running (agent-steps, places, links, paths,
days) and what a run costs: the agent engine's and the cohort engine's CPU seconds on one thread
(`time.process_time` around `run_agents`/`run_cohorts`, median of `--repeats` seeds after a
warm-up that compiles or loads the numba kernels), and the cohort engine's live cells per day.
It prints the estimate `engine_for` makes beside the measurement, so a drift of the model (or of
either engine) shows as a wrong pick. Cases: the Flee cases at hasten 1 and 10, and the synthetic
exodus of benchmarks/scale_cohorts.py at several sizes (agents are skipped above `--max-agent-steps`).

    .venv/bin/python benchmarks/engine_choice.py [--repeats 3] [--json benchmarks/out/engine_choice.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FLEE = HERE.parent.parent / "shared" / "data" / "flee"


def _cpu(fn, *args, **kw) -> tuple[float, object]:
    t = time.process_time()
    out = fn(*args, **kw)
    return time.process_time() - t, out


def measure(label: str, plan, repeats: int, max_agent_steps: float) -> dict:
    from corredor.engine.agents import run_agents
    from corredor.engine.cohorts import cost_estimate, engine_for, run_cohorts

    est = cost_estimate(plan)
    row: dict = {"case": label, "days": plan.n_days, "places": plan.n_locations,
                 "links": plan.n_links, "paths": int(plan.path_dest.shape[0]),
                 "people": plan.total_agents, **{f"est_{k}": v for k, v in est.items()},
                 "choice": engine_for(plan)[0]}
    run_cohorts(plan, seed=0)  # warm-up (compile or load the cache)
    cc, cells, draws, rounds = [], [], [], []
    for s in range(1, repeats + 1):
        c, out = _cpu(run_cohorts, plan, seed=s)
        cc.append(c)
        cells.append(float(out.cohort_stats.cells.mean()))
        draws.append(float(out.cohort_stats.draws.mean()))
        rounds.append(float(out.cohort_stats.rounds.mean()))
        row["agent_steps"] = int(out.agent_steps)
    row["cohorts_cpu_s"] = statistics.median(cc)
    row["cells_mean"] = statistics.median(cells)
    row["draws_per_day"] = statistics.median(draws)
    row["rounds_per_day"] = statistics.median(rounds)
    if row["agent_steps"] <= max_agent_steps:
        run_agents(plan, seed=0, threads=1)
        ca = [_cpu(run_agents, plan, seed=s, threads=1)[0] for s in range(1, repeats + 1)]
        row["agents_cpu_s"] = statistics.median(ca)
    else:
        row["agents_cpu_s"] = None
    row["load_1min"] = os.getloadavg()[0]
    a = row["agents_cpu_s"]
    faster = "?" if a is None else ("agents" if a < row["cohorts_cpu_s"] else "cohorts")
    print(f"{label:<24} steps {row['agent_steps']:>14,}  cells/day {row['cells_mean']:>9.0f}  "
          f"agents {a if a is None else round(a, 3)!s:>7} s (est {est['agents_s']:.3f})  "
          f"cohorts {row['cohorts_cpu_s']:7.3f} s (est {est['cohorts_s']:.3f})  "
          f"draws/day {row['draws_per_day']:.0f} rounds/day {row['rounds_per_day']:.1f}  "
          f"faster {faster:<7} pick {row['choice']}  load {row['load_1min']:.1f}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-agent-steps", type=float, default=2e9)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import corredor
    from scale_cohorts import exodus, random_network

    cases: list[tuple[str, object]] = []
    for case in ("mali2012", "burundi", "car"):
        for h in (10, 1):
            cases.append((f"{case} h{h}", lambda case=case, h=h: corredor.load_scenario(FLEE / case, hasten=h)))
    cases.append(("car h10 awareness 2", lambda: corredor.load_scenario(FLEE / "car", hasten=10)
                  .with_settings(move_rules={"awareness_level": 2})))
    cases.append(("car h1 awareness 2", lambda: corredor.load_scenario(FLEE / "car", hasten=1)
                  .with_settings(move_rules={"awareness_level": 2})))
    for people, days in ((7_700, 3650), (77_000, 3650), (770_000, 3650), (7_700_000, 3650),
                         (770_000, 365), (7_700_000, 365)):
        cases.append((f"exodus {people:,} {days}d", lambda p=people, d=days: exodus(people=p, days=d)))
    for places, people in ((100, 100_000), (1000, 100_000), (1000, 1_000_000)):
        cases.append((f"random {places} {people:,}",
                      lambda n=places, p=people: random_network(n, people=p)))
    rows = []
    for label, make in cases:
        if args.only and args.only not in label:
            continue
        rows.append(measure(label, corredor.compile_plan(make()), args.repeats, args.max_agent_steps))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2, default=lambda x: np.asarray(x).tolist()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
