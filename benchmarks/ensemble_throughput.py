"""Ensemble throughput: replicas per second of one Flee case on 1, 2, ... local worker processes.

The issue's target is 1,000 replicas of car at hasten 10 in at most 5 minutes on a 2-core machine.
Wall time is only meaningful on an idle machine, so each run also records the CPU seconds spent
(workers and parent) and the load average before and after: on a shared machine the CPU time per
replica is the stable number, and `replicas × cpu_s_per_replica / cores` the idle-machine estimate.
Each worker runs its replicas on one thread (process-level parallelism across replicas). The
timing includes starting the workers and the reduction to bands, i.e. what `corredor ensemble`
costs; a tiny numpy reference timed in the same run lets numbers from noisy machines be compared.

    python benchmarks/ensemble_throughput.py ../shared/data/flee/car --hasten 10 \
        --replicas 1000 --workers 1,2 [--engine auto] [--json benchmarks/out/ensemble_car.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def timed_simulate(plan, seed=0, engine="auto", threads=None):
    """corredor's simulate, adding the replica's CPU seconds (measured in the worker) to its metrics.

    Workers are forked from a fork server, not from this process, so their CPU time is not in
    this process's RUSAGE_CHILDREN; each replica reports its own instead.
    """
    from corredor.simulate import simulate

    t = time.process_time()
    res = simulate(plan, seed=seed, engine=engine, threads=threads)
    res.manifest.setdefault("metrics", {})["cpu_s"] = time.process_time() - t
    return res


def machine_reference_s() -> float:
    """Seconds for a fixed small numpy workload (sort of 2M floats, 5 times): a speed yardstick."""
    rng = np.random.default_rng(0)
    x = rng.random(2_000_000)
    t = time.perf_counter()
    for _ in range(5):
        np.sort(x)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", type=Path)
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="write the measurements here")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # workers import timed_simulate by name
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent), *filter(None, [os.environ.get("PYTHONPATH")])])
    import corredor
    from corredor.analysis.ensemble import run_ensemble
    from corredor.analysis.executors import LocalProcessExecutor
    from corredor.simulate import simulate
    from ensemble_throughput import timed_simulate

    scenario = corredor.load_scenario(args.case, hasten=args.hasten)
    # warm-up: compile (or load cached) kernels once so worker start-up measures cache loading only
    t = time.perf_counter()
    warm = simulate(corredor.compile_plan(scenario), seed=0, engine=args.engine, threads=1)
    warm_s = time.perf_counter() - t
    t = time.perf_counter()
    simulate(corredor.compile_plan(scenario), seed=1, engine=args.engine, threads=1)
    one_s = time.perf_counter() - t
    runs = []
    ref = machine_reference_s()
    for w in [int(x) for x in args.workers.split(",")]:
        load0 = os.getloadavg()[0]
        s0 = _cpu(resource.RUSAGE_SELF)
        t = time.perf_counter()
        with LocalProcessExecutor(workers=w) as ex:
            ens = run_ensemble(scenario, args.replicas, seed=args.seed, executor=ex,
                               engine=args.engine, simulate_fn=timed_simulate)
        wall = time.perf_counter() - t  # includes worker start-up and shutdown
        worker_cpu = sum(r.get("cpu_s", 0.0) for r in ens.metrics)  # simulation CPU in workers
        parent_cpu = _cpu(resource.RUSAGE_SELF) - s0  # reduction to bands, collecting results
        ard = ens.summary["base"].get("ard_rescaled_mean") or ens.summary["base"].get("ard_mean") or {}
        idle_estimate = (worker_cpu + parent_cpu) / min(w, os.cpu_count() or 1)  # if CPU-bound
        runs.append({"workers": w, "wall_s": round(wall, 2),
                     "cpu_bound_wall_estimate_s": round(idle_estimate, 1),
                     "replicas_per_s": round(args.replicas / wall, 3),
                     "worker_cpu_s": round(worker_cpu, 2), "parent_cpu_s": round(parent_cpu, 2),
                     "cpu_s_per_replica": round((worker_cpu + parent_cpu) / args.replicas, 4),
                     "loadavg_1min_before": round(load0, 2),
                     "loadavg_1min_after": round(os.getloadavg()[0], 2),
                     "ard_q50": ard.get("q50"), "ard_q05": ard.get("q05"), "ard_q95": ard.get("q95")})
        print(f"workers={w}: {args.replicas} replicas in {wall:.1f} s "
              f"({args.replicas / wall:.2f} replicas/s)", flush=True)
    base = runs[0]["wall_s"]
    for r in runs:
        r["speedup_vs_first"] = round(base / r["wall_s"], 3)
    result = {
        "case": scenario.name, "hasten": args.hasten, "replicas": args.replicas,
        "engine": warm.manifest.get("engine", args.engine), "seed": args.seed,
        "first_run_s (compile+run)": round(warm_s, 3), "single_run_s": round(one_s, 3),
        "machine_reference_s": round(ref, 4), "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "corredor_version": corredor.__version__, "runs": runs,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
