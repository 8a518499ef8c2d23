"""Scale run: a synthetic case with 10 million people, agent-steps per second of the engine loop.

The network is a ring of 40 conflict zones, 120 towns and 40 camps (each camp reachable from a
few towns), roads of 40–300 km; 10 million people appear over the first 20 days (a refugees.csv
total rising linearly), then everyone keeps moving under Flee 3.1's rules until day 40. Target
(issue 3): ≥ 2e7 agent-steps per second. Also reports bytes per person of the people columns.

    python benchmarks/scale_agents.py --people 10000000 --days 40 --threads 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

from corredor.scenario.model import (
    ConflictTimeline,
    Location,
    Observations,
    Route,
    Scenario,
    Series,
)
from corredor.scenario.settings import Settings


def synthetic(people: int, days: int, seed: int = 1) -> Scenario:
    """A reproducible synthetic Flee-style case (see the module docstring)."""
    rng = np.random.default_rng(seed)
    locs: list[Location] = []
    n_conf, n_town, n_camp = 40, 120, 40
    for i in range(n_conf):
        locs.append(Location(name=f"Z{i}", country="Home", kind="conflict", type_raw="conflict_zone",
                             conflict_date=0, population=int(rng.integers(20_000, 500_000))))
    for i in range(n_town):
        locs.append(Location(name=f"T{i}", country="Home", kind="town", type_raw="town",
                             population=int(rng.integers(5_000, 100_000))))
    for i in range(n_camp):
        locs.append(Location(name=f"C{i}", country="Abroad", kind="camp", type_raw="camp",
                             capacity=int(people / n_camp * 1.5)))
    routes: list[Route] = []

    def road(a: str, b: str) -> None:
        routes.append(Route(a=a, b=b, distance_km=float(rng.integers(40, 300))))

    for i in range(n_town):  # towns in a ring
        road(f"T{i}", f"T{(i + 1) % n_town}")
    for i in range(n_conf):  # each conflict zone touches 3 towns
        for k in range(3):
            road(f"Z{i}", f"T{(3 * i + k * 7) % n_town}")
    for i in range(n_camp):  # each camp is reachable from 2 towns
        road(f"C{i}", f"T{(3 * i + 1) % n_town}")
        road(f"C{i}", f"T{(3 * i + 60) % n_town}")
    total = Series(name="total", files=("refugees.csv",), days=(0, 20), values=(0.0, float(people)))
    camps = {f"C{i}": Series(name=f"C{i}", files=(f"c{i}.csv",), days=(0,), values=(0.0,))
             for i in range(n_camp)}
    conflicts = ConflictTimeline(names=tuple(f"Z{i}" for i in range(n_conf)),
                                 intensity=np.ones((days, n_conf)))
    settings = Settings(**{"move_rules": {"max_move_speed": 200.0, "conflict_weight": 0.25,
                                          "camp_weight": 2.0},
                           "spawn_rules": {"conflict_spawn_decay": [1.0, 1.0, 0.5]}})
    return Scenario(name=f"synthetic-{people}", start_date=dt.date(2020, 1, 1), days=days,
                    locations=tuple(locs), routes=tuple(routes), conflicts=conflicts,
                    observations=Observations(total=total, camps=camps), settings=settings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=40)
    ap.add_argument("--threads", type=int, default=None, help="numba threads [all]")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    from corredor.engine.agents import run_agents
    from corredor.plan import compile_plan

    plan = compile_plan(synthetic(a.people, a.days))
    run_agents(compile_plan(synthetic(10_000, 5)), seed=0, threads=a.threads)  # warm the cache
    runs = []
    for k in range(a.repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        out = run_agents(plan, seed=k + 1, threads=a.threads)
        runs.append({"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                     "loop_s": out.loop_s, "agent_steps": out.agent_steps, "threads": out.threads})
    best = sorted(runs, key=lambda r: r["loop_s"])[len(runs) // 2]
    rate = best["agent_steps"] / best["loop_s"]
    rate_cpu = best["agent_steps"] / best["cpu_s"]
    res = {"people": plan.total_agents, "days": a.days, "runs": runs,
           "agent_steps_per_s": rate, "agent_steps_per_cpu_s": rate_cpu,
           "bytes_per_person": out.bytes_per_person,
           "people_bytes_total": out.bytes_per_person * plan.total_agents}
    print(f"synthetic: {plan.total_agents:,} people, {a.days} days, {best['agent_steps']:,} agent-steps "
          f"in {best['loop_s']:.2f} s wall / {best['cpu_s']:.2f} CPU-s on {best['threads']} thread(s): "
          f"{rate:.3g} agent-steps per wall-s, {rate_cpu:.3g} per CPU-s (target 2e7); "
          f"{out.bytes_per_person:.0f} bytes/person")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
