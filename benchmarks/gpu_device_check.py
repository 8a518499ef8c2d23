"""On one CUDA GPU: does the GPU backend give the CPU engine's results, and how fast is it?

One prepared script for a machine with a GPU (an H100 is the target), meant to finish in about five
minutes. It prints Markdown tables to paste into docs/performance.md ("GPU backend") and writes the
numbers as JSON.

1. Equivalence, mali2012 and car (Flee 3.1 cases from ../shared/data/flee, hasten 10 by default),
   seeds 1..N (N ≥ 100): the CPU agent engine (one thread per process, a process pool over the CPU
   cores, started before CUDA) and the GPU backend (this process) run every seed. Reported: how many
   seeds give identical daily populations; per camp and day in {¼, ½, ¾, end} of the run, a
   two-sample Kolmogorov–Smirnov test of the N CPU values against the N GPU values, with the number
   of rejections at a family-wise α = 0.01 (Bonferroni) and the smallest p; the largest relative
   difference of the ensemble means of a camp's population on those days (camps with a mean ≥ 20).
   Identical seeds are expected (the GPU replays capacity-dependent decisions in Flee's serial
   order, as the CPU engine does); a seed can differ only where libdevice's log differs from the
   CPU's in the last bit at a decision boundary, and then the distributions must still agree.
2. Throughput on the synthetic scale case: 1,000 places (3 nearest neighbours, 1 % conflict zones,
   2 % camps), everyone created on day 0 in the conflict zones, `--days` days; 1e7 and 1e8 people
   with open camps (no capacity, so pass A needs no host replay), and 1e7 with capped camps (the
   host replays movers at full camps). person-steps/s = Σ_days people alive / seconds of the day
   loop; "steady" uses the second half of the days (day 0 moves everyone at once). The CPU engine
   on the same case at 1e7 (all cores) is the reference.

3. With `--profile` (after the throughput, before the equivalence): milliseconds per day and phase
   (run_agents_gpu(profile=True): a device wait after every phase; phases in gpu.PHASES) at the
   largest --people with open camps and on seed 1 of the first case; "steady" leaves out day 0 (everyone spawns and moves).

Run it (the device machine's python3 has numba, numba-cuda, numpy, scipy, xarray; carry wheels for
what it lacks, pydantic first — docs/performance.md says how):

    python3 benchmarks/gpu_device_check.py [--seeds 100] [--hasten 10] [--days 20]
        [--people 1e7,1e8] [--json $OUT/gpu_check.json] [--quick] [--profile] [--budget-s 200]

`--quick` (5 seeds, 2e5 and 1e6 people, 6 days) checks that the script runs; its numbers mean
nothing. `--compile-only` compiles every kernel to PTX for sm_90 and stops: it needs numba-cuda and
NVVM (CUDA toolkit or the nvidia-cuda-nvcc wheel) but no GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CASES = REPO.parent / "shared" / "data" / "flee"  # default of --cases-dir
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

START = dt.date(2020, 1, 1)


# ------------------------------------------------------------------ equivalence


def _cpu_worker(args: tuple[str, int, int, int]) -> tuple[str, int, np.ndarray, float]:
    """One CPU replica (runs in a pool process with NUMBA_NUM_THREADS=1): daily populations."""
    case, hasten, days, seed = args
    from corredor.engine.agents import run_agents

    plan = _plan(case, hasten, days)
    t = time.perf_counter()
    out = run_agents(plan, seed=seed, threads=1)
    return case, seed, out.population.astype(np.int32), time.perf_counter() - t


_PLANS: dict[tuple[str, int, int], object] = {}


def _plan(case: str, hasten: int, days: int):
    cases_dir = Path(os.environ.get("CORREDOR_CASES_DIR", str(CASES)))
    key = (case, hasten, days)
    if key not in _PLANS:
        from corredor.plan import compile_plan
        from corredor.scenario import load_scenario

        _PLANS[key] = compile_plan(load_scenario(cases_dir / case, hasten=hasten,
                                                 days=days if days > 0 else None))
    return _PLANS[key]


def equivalence(cases: list[str], seeds: int, hasten: int, days: int, pool,
                budget_s: float = float("inf")) -> list[dict]:
    """CPU (pool) and GPU (here) replicas of every case and seed, compared as described above.

    The GPU stops adding seeds to a case once that case's share of `budget_s` is spent (so a
    device lease ends with results); the rows say how many seeds were compared.
    """
    from scipy import stats

    from corredor.engine.gpu import run_agents_gpu

    jobs = [(c, hasten, days, s) for c in cases for s in range(1, seeds + 1)]
    pending = pool.map_async(_cpu_worker, jobs, chunksize=1)
    gpu_pop: dict[str, list[np.ndarray]] = {c: [] for c in cases}
    gpu_s: dict[str, float] = {c: 0.0 for c in cases}
    t_start = time.perf_counter()
    for ci, c in enumerate(cases):
        run_agents_gpu(_plan(c, hasten, 5), seed=0)  # compile the kernels (five days suffice)
        plan = _plan(c, hasten, days)
        deadline = t_start + budget_s * (ci + 1) / len(cases)
        for s in range(1, seeds + 1):
            t = time.perf_counter()
            gpu_pop[c].append(run_agents_gpu(plan, seed=s).population.astype(np.int32))
            gpu_s[c] += time.perf_counter() - t
            if time.perf_counter() > deadline:
                break
        print(f"  gpu {c}: {len(gpu_pop[c])} seeds in {gpu_s[c]:.1f} s", flush=True)
    cpu_res = pending.get()
    rows = []
    for c in cases:
        plan = _plan(c, hasten, days)
        cpu = {s: pop for cc, s, pop, _ in cpu_res if cc == c}
        cpu_s = sum(sec for cc, _, _, sec in cpu_res if cc == c) * len(gpu_pop[c]) / seeds
        g = np.stack(gpu_pop[c])  # (seeds, days, locations)
        seeds_c = len(g)
        p = np.stack([cpu[s] for s in range(1, seeds_c + 1)])
        same = int(sum(np.array_equal(p[k], g[k]) for k in range(seeds_c)))
        camps = np.flatnonzero(plan.camp0)
        n_days = plan.n_days
        check_days = sorted({max(0, n_days // 4), n_days // 2, (3 * n_days) // 4, n_days - 1})
        pvals, rel = [], []
        for j in camps:
            for t in check_days:
                x, y = p[:, t, j], g[:, t, j]
                if x.min() == x.max() == y.min() == y.max():
                    continue  # both constant and equal, or nothing to test
                pvals.append(stats.ks_2samp(x, y).pvalue)
                mx, my = x.mean(), y.mean()
                if mx >= 20:
                    rel.append(abs(my - mx) / mx)
        n_tests = len(pvals)
        alpha = 0.01 / max(1, n_tests)
        rows.append({
            "case": c, "hasten": hasten, "days": n_days, "people": plan.total_agents,
            "seeds": seeds_c, "identical_seeds": same, "ks_tests": n_tests,
            "ks_rejections": int(sum(pv < alpha for pv in pvals)),
            "ks_min_p": float(min(pvals)) if pvals else 1.0,
            "max_rel_mean_diff": float(max(rel)) if rel else 0.0,
            "cpu_s_per_seed": cpu_s / seeds_c, "gpu_s_per_seed": gpu_s[c] / seeds_c,
        })
    return rows


# ------------------------------------------------------------------ throughput


def scale_case(people: int, days: int, places: int = 1000, capped: bool = False, seed: int = 7):
    """The synthetic scale case as a Scenario (see the module docstring)."""
    from corredor.scenario.model import (
        ConflictTimeline,
        Location,
        Observations,
        Route,
        Scenario,
        Series,
    )

    rng = np.random.default_rng(seed)
    side = 2000.0
    xy = rng.uniform(0, side, size=(places, 2))
    order = rng.permutation(places)
    n_conf, n_camp = max(1, places // 100), max(1, places // 50)
    kinds = np.array(["town"] * places, dtype=object)
    kinds[order[:n_conf]] = "conflict"
    kinds[order[n_conf:n_conf + n_camp]] = "camp"
    locs = []
    for i in range(places):
        k = str(kinds[i])
        cap = int(rng.integers(1, 10) * people // (10 * n_camp)) if (capped and k == "camp") else 0
        locs.append(Location(f"p{i}", country="L" if xy[i, 0] < side * 0.7 else "H", kind=k,
                             type_raw="conflict_zone" if k == "conflict" else k,
                             conflict_date=0 if k == "conflict" else None,
                             population=int(rng.integers(10_000, 500_000)) if k != "camp" else 0,
                             capacity=cap if k == "camp" else -1,
                             lat=float(xy[i, 0]), lon=float(xy[i, 1])))
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    edges = set()
    for i in range(places):
        for j in np.argsort(d2[i])[1:4]:
            edges.add((min(i, int(j)), max(i, int(j))))
    routes = tuple(Route(f"p{a}", f"p{b}", float(max(5.0, round(math.sqrt(d2[a, b]), 1))))
                   for a, b in sorted(edges))
    confl = tuple(f"p{i}" for i in range(places) if kinds[i] == "conflict")
    total = Series("total", ("refugees.csv",), (0, days), (float(people), float(people)))
    sc = Scenario(name=f"scale-{places}-{people}", start_date=START, days=days,
                  locations=tuple(locs), routes=routes,
                  conflicts=ConflictTimeline(confl, np.ones((days, len(confl)))),
                  observations=Observations(total, {}))
    return sc.with_settings(spawn_rules={"insert_day0": False})


_SCALE_PLANS: dict[tuple[int, int, bool], object] = {}


def scale_plan(people: int, days: int, capped: bool = False):
    """compile_plan(scale_case(...)), kept for the profile section (building one at 1e8 takes a while)."""
    from corredor.plan import compile_plan

    key = (people, days, capped)
    if key not in _SCALE_PLANS:  # a plan's arrays do not grow with the people: keeping them is cheap
        _SCALE_PLANS[key] = compile_plan(scale_case(people, days, capped=capped))
    return _SCALE_PLANS[key]


def throughput(people_list: list[int], days: int, cpu_ref_people: int,
               rows: list[dict] | None = None) -> list[dict]:
    """GPU person-steps per second at each size (appended to `rows` as they are measured)."""
    from corredor.engine.agents import run_agents
    from corredor.engine.gpu import run_agents_gpu
    from corredor.plan import compile_plan

    rows = [] if rows is None else rows
    run_agents_gpu(compile_plan(scale_case(50_000, 3)), seed=0)  # compile the kernels
    points = [(n, False) for n in people_list] + [(min(people_list), True)]
    for n, capped in points:
        t = time.perf_counter()
        plan = scale_plan(n, days, capped)
        plan_s = time.perf_counter() - t
        out = run_agents_gpu(plan, seed=1)
        half = days // 2
        steady_steps = float(out.alive[half:].sum())
        rows.append({
            "backend": "gpu", "people": plan.total_agents, "days": days, "capped_camps": capped,
            "places": plan.n_locations, "links": plan.n_links, "loop_s": out.loop_s,
            "person_steps_per_s": out.agent_steps / out.loop_s,
            "steady_person_steps_per_s": steady_steps / float(out.day_s[half:].sum()),
            "day0_s": float(out.day_s[0]), "plan_s": plan_s, "rounds_max": int(out.rounds.max()),
            **{k: v for k, v in out.gpu_stats.items() if k in (
                "capped_movers", "deferred_movers", "deferred_chains", "shared_tally",
                "direct_pass_a", "max_blocks")},
        })
        print(f"  gpu {n:.0e} people{' capped' if capped else ''}: "
              f"{rows[-1]['person_steps_per_s']:.3g} person-steps/s "
              f"(steady {rows[-1]['steady_person_steps_per_s']:.3g})", flush=True)
        del out
    if cpu_ref_people:
        plan = compile_plan(scale_case(cpu_ref_people, days))
        run_agents(compile_plan(scale_case(50_000, 3)), seed=0)
        out = run_agents(plan, seed=1)
        half = days // 2
        rows.append({
            "backend": f"cpu ({out.threads} threads)", "people": plan.total_agents, "days": days,
            "capped_camps": False, "places": plan.n_locations, "links": plan.n_links,
            "loop_s": out.loop_s, "person_steps_per_s": out.agent_steps / out.loop_s,
            "steady_person_steps_per_s": float("nan"), "day0_s": float("nan"), "plan_s": 0.0,
            "rounds_max": int(out.rounds.max()),
        })
        print(f"  cpu {cpu_ref_people:.0e} people: {rows[-1]['person_steps_per_s']:.3g} "
              f"person-steps/s", flush=True)
    return rows


# ------------------------------------------------------------------ profile


def profile(people: int, days: int, case: str, hasten: int, case_days: int,
            rows: list[dict] | None = None) -> list[dict]:
    """Wall milliseconds per day and phase (run_agents_gpu(profile=True): a device wait after every
    phase) on the scale case at `people` (open camps) and on one seed of `case`: where a day's
    time goes, on the device and on the host.

    Two figures per run: "all days" and "steady" (days ≥ 1, without day 0's spawn of everyone).
    """
    from corredor.engine.gpu import PHASES, run_agents_gpu

    rows = [] if rows is None else rows
    for label in (f"scale {people:.0e} open", f"{case} seed 1"):
        if label.startswith("scale"):
            plan, warm = scale_plan(people, days), scale_plan(50_000, 3)
        else:
            plan, warm = _plan(case, hasten, case_days), _plan(case, hasten, 5)
        run_agents_gpu(warm, seed=1)  # compile the kernels
        out = run_agents_gpu(plan, seed=1, profile=True)
        ph = np.asarray(out.gpu_stats["phase_day_s"])
        steady = ph[1:] if ph.shape[0] > 1 else ph
        row = {"run": label, "people": int(plan.total_agents),
               "days": int(plan.n_days), "loop_s": out.loop_s,
               "ms_per_day": 1e3 * out.loop_s / plan.n_days,
               "steady_ms_per_day": 1e3 * float(steady.sum(1).mean()),
               "rounds_mean": float(out.rounds.mean()), "rounds_max": int(out.rounds.max()),
               "max_blocks": out.gpu_stats["max_blocks"],
               "phase_ms_per_day": {p: 1e3 * float(ph[:, j].mean()) for j, p in enumerate(PHASES)},
               "steady_phase_ms_per_day": {p: 1e3 * float(steady[:, j].mean())
                                           for j, p in enumerate(PHASES)}}
        rows.append(row)
        print(f"  profile {label}: {row['ms_per_day']:.2f} ms/day, steady "
              f"{row['steady_ms_per_day']:.2f}: " + ", ".join(
                  f"{p} {v:.2f}" for p, v in row["steady_phase_ms_per_day"].items()), flush=True)
        del out
    return rows


# ------------------------------------------------------------------ report


def markdown(device: str, eq: list[dict], tp: list[dict], pr: list[dict] | None = None) -> str:
    lines = [f"Device: {device}; {platform.node()}, Python {platform.python_version()}, "
             f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.", "",
             "| case | hasten | days | people | seeds | identical seeds | KS rejections (α=0.01, Bonferroni) | min p | max rel. diff of mean camp pop. | CPU s/seed (1 thread) | GPU s/seed |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in eq:
        lines.append(f"| {r['case']} | {r['hasten']} | {r['days']} | {r['people']:,} | {r['seeds']} | "
                     f"{r['identical_seeds']} | {r['ks_rejections']} of {r['ks_tests']} | "
                     f"{r['ks_min_p']:.3g} | {r['max_rel_mean_diff']:.2%} | "
                     f"{r['cpu_s_per_seed']:.2f} | {r['gpu_s_per_seed']:.2f} |")
    lines += ["", "| backend | people | camps | days | loop s | person-steps/s | steady (2nd half) | day 0 s | decisions replayed on the host |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in tp:
        host = r.get("capped_movers", 0) + r.get("deferred_movers", 0) + r.get("deferred_chains", 0)
        lines.append(f"| {r['backend']} | {r['people']:,} | {'capped' if r['capped_camps'] else 'open'} | "
                     f"{r['days']} | {r['loop_s']:.2f} | {r['person_steps_per_s']:.3g} | "
                     f"{r['steady_person_steps_per_s']:.3g} | {r['day0_s']:.3f} | {host:,} |")
    if pr:
        from corredor.engine.gpu import PHASES

        lines += ["", "Milliseconds per day and phase, steady days (≥ 1), profile=True (a device wait "
                  "after each phase):", "",
                  "| run | people | ms/day (all days) | ms/day steady | "
                  + " | ".join(PHASES) + " | rounds mean / max |",
                  "|---|---|---|---|" + "---|" * len(PHASES) + "---|"]
        for r in pr:
            lines.append(f"| {r['run']} | {r['people']:,} | {r['ms_per_day']:.2f} | "
                         f"{r['steady_ms_per_day']:.2f} | "
                         + " | ".join(f"{r['steady_phase_ms_per_day'][p]:.2f}" for p in PHASES)
                         + f" | {r['rounds_mean']:.1f} / {r['rounds_max']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--case-days", type=int, default=0, help="run only the first N days of the cases")
    ap.add_argument("--days", type=int, default=20, help="days of the scale case")
    ap.add_argument("--people", default="1e7,1e8")
    ap.add_argument("--cases", default="mali2012,car")
    ap.add_argument("--cases-dir", type=Path, default=CASES,
                    help="folder holding the Flee cases [../shared/data/flee]")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--budget-s", type=float, default=float("inf"),
                    help="wall seconds for the whole script; equivalence compares fewer seeds to fit")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-equivalence", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="after the throughput: ms per day and phase at the largest --people and "
                         "on one seed of the first case")
    ap.add_argument("--compile-only", action="store_true",
                    help="compile every kernel to PTX for sm_90 and stop (needs NVVM, no GPU)")
    args = ap.parse_args()
    if args.compile_only:
        from corredor.engine.gpu import compile_ptx_all

        for name, size in compile_ptx_all((9, 0)).items():
            what = "bytes of static shared memory" if name.endswith("_static_shared") else "bytes of PTX"
            print(f"{name:<40} {size:>8,} {what}")
        print("all kernels compile for sm_90")
        return
    if args.quick:
        args.seeds, args.people, args.days = 5, "2e5,1e6", 6
    people = [int(float(x)) for x in args.people.split(",") if x]
    os.environ["CORREDOR_CASES_DIR"] = str(args.cases_dir.resolve())  # read by _plan, here and in the pool
    cases = [c for c in args.cases.split(",") if c]
    t_all = time.perf_counter()
    # the CPU pool first: its processes must not inherit a CUDA context
    ctx = mp.get_context("spawn")
    env_threads = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"
    pool = ctx.Pool(args.workers) if not args.skip_equivalence else None
    if env_threads is None:
        del os.environ["NUMBA_NUM_THREADS"]
    else:
        os.environ["NUMBA_NUM_THREADS"] = env_threads
    from corredor.engine.agents import run_agents
    from corredor.engine.gpu import device_name, gpu_available

    if not gpu_available():
        sys.exit("no CUDA device (nor NUMBA_ENABLE_CUDASIM=1): nothing to check")
    device = device_name()
    print(f"device: {device}; numba {__import__('numba').__version__}", flush=True)
    eq: list[dict] = []
    tp: list[dict] = []
    pr: list[dict] = []
    errors: list[str] = []

    def save() -> None:
        """Write what has been measured so far (a lease may end before the last section)."""
        md = markdown(device, eq, tp, pr)
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"device": device, "equivalence": eq, "throughput": tp,
                                             "profile": pr, "errors": errors, "markdown": md},
                                            indent=1, default=float))

    t = time.perf_counter()
    try:
        throughput(people, args.days, min(people), tp)
    except Exception:  # report and go on to the next section
        errors.append(traceback.format_exc())
        print(errors[-1], flush=True)
    print(f"throughput: {time.perf_counter() - t:.0f} s", flush=True)
    save()
    if args.profile:
        t = time.perf_counter()
        try:
            profile(max(people), args.days, cases[0], args.hasten,
                    5 if args.quick else args.case_days, pr)
        except Exception:
            errors.append(traceback.format_exc())
            print(errors[-1], flush=True)
        print(f"profile: {time.perf_counter() - t:.0f} s", flush=True)
        save()
    if pool is not None:
        try:
            # compile the CPU engine once (the pool processes load it from numba's cache)
            run_agents(_plan(cases[0], args.hasten, 5), seed=0)
            t = time.perf_counter()
            left = args.budget_s - (time.perf_counter() - t_all)
            eq = equivalence(cases, args.seeds, args.hasten, 5 if args.quick else args.case_days,
                             pool, budget_s=max(30.0, left))
            print(f"equivalence: {time.perf_counter() - t:.0f} s", flush=True)
        except Exception:
            errors.append(traceback.format_exc())
            print(errors[-1], flush=True)
        pool.terminate()
    save()
    print("\n" + markdown(device, eq, tp, pr) + "\n")
    print(f"total {time.perf_counter() - t_all:.0f} s")
    if args.json is not None:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
