"""Scale runs of the cohort engine: a ten-year exodus of 7.7 million people, a 10,000-place network.

What it measures (docs/performance.md, "Cohort engine"):
- exodus: 7.7 million people leaving five origin cities over 3,650 days across a 40-place corridor
  (the order of the Venezuelan exodus, R4V Aug 2023); target ≤ 5 s wall on a 2-core machine;
- people: the same corridor with 77 thousand to 77 million people (cost should be flat);
- days: the same corridor over 365, 1,825 and 3,650 days;
- places: random networks of 100, 1,000 and 10,000 places (3 nearest neighbours), 365 days;
- a tiny machine-speed reference (sorting 2 M floats) measured in the same run, so timings from
  other machines can be compared as ratios.
Each point is the median of `--repeats` runs (default 5; at most 3 for 10,000 places), after one
warm-up run that also compiles the numba kernels. Timings: `loop_s` = the engine's day loop,
`wall_s` = simulate() end to end (plan compiled beforehand, Results labelled, metrics computed),
`cpu_s` = CPU time of that call (the kernel is serial, so on a shared machine cpu_s is what an idle
core would take; the 1-minute load average is recorded beside it).

    .venv/bin/python benchmarks/scale_cohorts.py [--repeats 5] [--quick] [--json benchmarks/out/scale_cohorts.json]
    .venv/bin/python benchmarks/scale_cohorts.py --write DIR   # the exodus as a scenario folder
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from corredor.engine.cohorts import run_cohorts
from corredor.plan import Plan, compile_plan
from corredor.scenario.model import (
    ConflictTimeline,
    Location,
    Observations,
    Route,
    Scenario,
    Series,
)
from corredor.simulate import simulate

START = dt.date(2015, 1, 1)


def exodus(people: int = 7_700_000, days: int = 3650) -> Scenario:
    """Five origin cities (conflict zones) → border towns → transit towns → 14 destination 'camps'.

    40 places in 6 countries; the departures grow linearly to `people` over `days` (refugees.csv
    total with yearly points), so everyone has left by the last day.
    """
    locs: list[Location] = []
    routes: list[Route] = []
    origins = [f"origin{i}" for i in range(5)]
    for i, n in enumerate(origins):
        locs.append(Location(n, country="V", kind="conflict", type_raw="conflict_zone", conflict_date=0,
                             population=4_000_000 + 500_000 * i, lat=float(i), lon=0.0))
    border = [f"border{i}" for i in range(6)]
    transit = [f"transit{i}" for i in range(15)]
    dests = [f"dest{i}" for i in range(14)]
    for i, n in enumerate(border):
        locs.append(Location(n, country="V", kind="town", type_raw="town", population=50_000, lat=float(i), lon=1.0))
    for i, n in enumerate(transit):
        locs.append(Location(n, country=f"T{i % 3}", kind="town", type_raw="town", population=200_000,
                             lat=float(i), lon=2.0))
    for i, n in enumerate(dests):
        locs.append(Location(n, country=f"T{i % 3}", kind="camp", type_raw="camp", capacity=0,
                             lat=float(i), lon=3.0))
    rng = np.random.default_rng(2023)
    for i, o in enumerate(origins):  # each origin reaches two border towns
        for b in (border[i], border[(i + 2) % 6]):
            routes.append(Route(o, b, float(rng.integers(150, 700))))
    for i, b in enumerate(border):  # border towns → three transit towns each
        for k in range(3):
            routes.append(Route(b, transit[(2 * i + k) % 15], float(rng.integers(40, 400))))
    for i in range(15):  # a transit chain with shortcuts
        routes.append(Route(transit[i], transit[(i + 1) % 15], float(rng.integers(100, 900))))
    for i, d in enumerate(dests):  # destinations hang off transit towns
        routes.append(Route(transit[i], d, float(rng.integers(20, 600))))
        routes.append(Route(transit[(i + 7) % 15], d, float(rng.integers(200, 1200))))
    years = list(range(0, days + 1, 365)) + ([days] if days % 365 else [])
    total = Series("total", ("refugees.csv",), tuple(years),
                   tuple(float(people) * y / days for y in years))
    conflicts = ConflictTimeline(tuple(origins), np.ones((days, len(origins))))
    return Scenario(name=f"exodus-{people}-{days}d", start_date=START, days=days, locations=tuple(locs),
                    routes=tuple(routes), conflicts=conflicts, observations=Observations(total, {}))


def random_network(places: int, days: int = 365, people: int = 1_000_000, seed: int = 7, *,
                   pop_low: int = 1000, camp_capacity: tuple[int, int] | None = (5_000, 50_000),
                   min_km: float = 1.0, at_once: bool = False, name: str | None = None) -> Scenario:
    """`places` points in a square ~2,000 km wide, each linked to its 3 nearest neighbours; 1 % conflict
    zones, 2 % camps (capacities uniform in `camp_capacity`, or none), the rest towns (populations
    uniform in [pop_low, 500,000)); `people` leave over `days`, or all on day 0 with `at_once`.

    The defaults are this benchmark's case; benchmarks/gpu_device_check.py's scale case is
    random_network(1000, people=N, pop_low=10_000, camp_capacity=None, min_km=5.0, at_once=True).
    """
    rng = np.random.default_rng(seed)
    side = 2000.0
    xy = rng.uniform(0, side, size=(places, 2))
    kinds = np.array(["town"] * places, dtype=object)
    order = rng.permutation(places)
    n_conf = max(1, places // 100)
    n_camp = max(1, places // 50)
    kinds[order[:n_conf]] = "conflict"
    kinds[order[n_conf:n_conf + n_camp]] = "camp"
    locs = []
    for i in range(places):
        k = str(kinds[i])
        locs.append(Location(f"p{i}", country="L" if xy[i, 0] < side * 0.7 else "H", kind=k,
                             type_raw="conflict_zone" if k == "conflict" else k,
                             conflict_date=0 if k == "conflict" else None,
                             population=int(rng.integers(pop_low, 500_000)) if k != "camp" else 0,
                             capacity=(int(rng.integers(*camp_capacity))
                                       if k == "camp" and camp_capacity is not None else -1),
                             lat=float(xy[i, 0]), lon=float(xy[i, 1])))
    # 3 nearest neighbours by a grid search (no scipy needed)
    cell = side / max(1, int(math.sqrt(places / 4)))
    grid: dict[tuple[int, int], list[int]] = {}
    for i in range(places):
        grid.setdefault((int(xy[i, 0] // cell), int(xy[i, 1] // cell)), []).append(i)
    edges: set[tuple[int, int]] = set()
    for i in range(places):
        gx, gy = int(xy[i, 0] // cell), int(xy[i, 1] // cell)
        cand: list[int] = []
        r = 1
        while len(cand) < 4 and r < 1000:
            cand = [j for dx in range(-r, r + 1) for dy in range(-r, r + 1) for j in grid.get((gx + dx, gy + dy), [])]
            r += 1
        d = np.hypot(*(xy[cand] - xy[i]).T)
        for j in np.array(cand)[np.argsort(d)][1:4]:
            edges.add((min(i, int(j)), max(i, int(j))))
    routes = tuple(Route(f"p{a}", f"p{b}", float(max(min_km, round(np.hypot(*(xy[a] - xy[b])), 1))))
                   for a, b in sorted(edges))
    confl = [f"p{i}" for i in range(places) if kinds[i] == "conflict"]
    total = Series("total", ("refugees.csv",), (0, days),
                   (float(people) if at_once else 0.0, float(people)))
    conflicts = ConflictTimeline(tuple(confl), np.ones((days, len(confl))))
    sc = Scenario(name=name or f"random-{places}", start_date=START, days=days, locations=tuple(locs),
                  routes=routes, conflicts=conflicts, observations=Observations(total, {}))
    return sc.with_settings(spawn_rules={"insert_day0": False}) if at_once else sc


def machine_reference(repeats: int = 5) -> float:
    """Median seconds to sort 2 million float64 (a machine-speed yardstick for the ratios)."""
    rng = np.random.default_rng(0)
    x = rng.random(2_000_000)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        np.sort(x)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def time_plan(plan: Plan, repeats: int) -> dict[str, float]:
    """Median loop and wall seconds of `repeats` cohort runs (seeds 1..repeats) after a warm-up."""
    run_cohorts(dataclasses.replace(plan, n_days=min(plan.n_days, 3)), seed=0)  # compile, warm caches
    loops, walls, cpus, cells = [], [], [], 0
    for s in range(1, repeats + 1):
        t = time.perf_counter()
        c = time.process_time()
        res = simulate(plan, seed=s, engine="cohorts", threads=1)
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - t)
        loops.append(res.manifest["timing"]["loop_s"])
        cells = max(cells, res.manifest["cohorts"]["cells_max"])
    return {"loop_s": statistics.median(loops), "wall_s": statistics.median(walls),
            "cpu_s": statistics.median(cpus), "load_avg_1min": os.getloadavg()[0],
            "loop_min_s": min(loops), "loop_max_s": max(loops), "repeats": repeats,
            "people": plan.total_agents, "days": plan.n_days, "places": plan.n_locations,
            "links": plan.n_links, "cells_max": cells}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer points (smoke test)")
    ap.add_argument("--only", default="", help="run only the points whose label contains this text")
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/scale_cohorts.json"))
    ap.add_argument("--write", type=Path, metavar="DIR",
                    help="only save the 7.7-million exodus as a native scenario in DIR (for "
                         "`corredor run DIR`) and exit; no timings")
    args = ap.parse_args()
    if args.write is not None:
        from corredor.scenario.convert import write_native

        print(f"wrote {write_native(exodus(), args.write)}")
        return
    rows: list[dict] = []

    def point(label: str, sc: Scenario, repeats: int) -> None:
        if args.only not in label:
            return
        t = time.perf_counter()
        plan = compile_plan(sc)
        compile_s = time.perf_counter() - t
        r = {"case": label, "compile_plan_s": compile_s, **time_plan(plan, repeats)}
        rows.append(r)
        print(f"{label:<28} people {r['people']:>12,} days {r['days']:>5} places {r['places']:>6} "
              f"links {r['links']:>6}  loop {r['loop_s']:7.3f} s  wall {r['wall_s']:7.3f} s  "
              f"cpu {r['cpu_s']:7.3f} s  load {r['load_avg_1min']:.1f}  "
              f"(plan {compile_s:.2f} s, cells ≤ {r['cells_max']:,}, n={r['repeats']})", flush=True)

    ref = machine_reference()
    print(f"machine reference: sort 2M float64 in {ref * 1e3:.1f} ms", flush=True)
    point("exodus 7.7M, 3650 d", exodus(), args.repeats)
    if not args.quick:
        for people in (77_000, 770_000, 77_000_000):
            point(f"exodus {people:,}, 3650 d", exodus(people=people), args.repeats)
        for days in (365, 1825):
            point(f"exodus 7.7M, {days} d", exodus(days=days), args.repeats)
        for places in (100, 1000):
            point(f"random {places} places", random_network(places), args.repeats)
    point("random 10000 places", random_network(10_000), 1 if args.quick else max(1, min(args.repeats, 3)))
    out = {"machine_reference_sort_2M_s": ref, "python": platform.python_version(),
           "platform": platform.platform(), "date_utc": dt.datetime.now(dt.UTC).isoformat(),
           "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
