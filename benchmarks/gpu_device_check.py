"""On one CUDA GPU: does the GPU backend give the CPU engine's results, and how fast is it?

One prepared script for a machine with a GPU, meant to finish in about five minutes. Issue 8's
target (3e10 person-steps/s at 1e8) is stated for an H100; the machine lent may be another card
(an H200 after run 14), so the device's name is printed first and kept in the JSON ("device",
"card", "card_note") and the Markdown, and another card's figures are called that card's. It
prints Markdown tables to paste into docs/performance.md ("GPU backend") and writes the
numbers as JSON (after every section, so a lease that ends early still leaves results).

Every section runs once per pass-A draws in `--draws` (gaps: the CPU engine's default geometric
gaps, reproduced exactly on the device; bernoulli: one draw per person, no scan).

1. Throughput on the synthetic scale case (benchmarks/scale_cohorts.random_network with 1,000
   places, 3 nearest neighbours, 1 % conflict zones, 2 % camps, everyone created on day 0 in the
   conflict zones), `--days` days; 1e7 and 1e8 people with open camps (no capacity, so pass A
   needs no host replay and the rest of the day runs in gpu's fused_kernel); at 1e8 also: the
   BUILDS of the fused kernel in turn, REPEATS times (medians), and the queued rounds (fuse=False);
   and 1e7 with capped camps (the host replays movers at full camps). Every fused layout's
   daily populations are checked against the queued rounds' (1e8) and the CPU engine's (1e7),
   same seed; then the registers and local memory of every compiled kernel.
   person-steps/s = Σ_days people alive / seconds of the day loop; "steady" uses the second half
   of the days (day 0 moves everyone at once). The CPU engine on the same case at 1e7 (all cores)
   is the reference. Every build is compiled before its clock starts.
2. With `--profile`: milliseconds per day and phase (run_agents_gpu(profile=True): a device wait
   after every phase; phases in gpu.PHASES) at the largest --people with open camps (each
   draws) and on seed 1 of the first case; "steady" leaves out day 0 (everyone spawns and moves).
3. Equivalence, mali2012 and car (Flee 3.1 cases from ../shared/data/flee, hasten 10 by default),
   seeds 1..N (N ≥ 100): the CPU agent engine (a pool of one-thread processes) and the GPU backend
   (a pool of `--gpu-workers` processes, each its own CUDA context on the one device: a small
   case's replica is mostly host work, so replicas side by side keep the device busy) run every
   seed with the same draws. Reported: how many seeds give identical daily populations; per camp
   and day in {¼, ½, ¾, end} of the run, a two-sample Kolmogorov–Smirnov test of the N CPU values
   against the N GPU values, with the number of rejections at a family-wise α = 0.01 (Bonferroni)
   and the smallest p; the largest relative difference of the ensemble means of a camp's
   population on those days (camps with a mean ≥ 20). Identical seeds are expected (the GPU
   replays capacity-dependent decisions in Flee's serial order, as the CPU engine does); a seed
   can differ only where libdevice's log differs from the CPU's in the last bit at a decision
   boundary, and then the distributions must still agree. Jobs go out seed by seed, all of the
   first draws before the next, so a `--budget-s` that runs out leaves balanced cases.

Run it (the device machine's python3 has numba, numba-cuda, numpy, scipy, xarray; carry wheels for
what it lacks, pydantic first — docs/performance.md says how):

    python3 benchmarks/gpu_device_check.py [--seeds 100] [--hasten 10] [--days 20]
        [--people 1e7,1e8] [--draws gaps,bernoulli] [--gpu-workers 11] [--workers 4]
        [--json $OUT/gpu_check.json] [--quick] [--profile] [--budget-s 200]

`--quick` (5 seeds, 2e5 and 1e6 people, 6 days) checks that the script runs; its numbers mean
nothing. `--compile-only` compiles every kernel to PTX for sm_90 and stops: it needs numba-cuda and
NVVM (CUDA toolkit or the nvidia-cuda-nvcc wheel) but no GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CASES = REPO.parent / "shared" / "data" / "flee"  # default of --cases-dir
for _p in (REPO / "src", REPO / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":  # a dry run in the simulator (also in the pools)
    sys.path.insert(0, str(REPO / "tests"))
    import fast_cudasim  # its barriers wait instead of polling: the same results, far sooner

    fast_cudasim.install()


# ------------------------------------------------------------------ the card

#: The card issue 8's target (3e10 person-steps/s at 1e8 people) is stated for.
TARGET_CARD = "H100"


def card(device: str) -> str:
    """The card's short name in a CUDA device name ("NVIDIA H200" → "H200", "NVIDIA H100 80GB
    HBM3" → "H100", "NVIDIA GH200 480GB" → "GH200"); other names (the simulator's) as they are."""
    for word in device.replace("-", " ").split():
        if re.fullmatch(r"G?[A-Z]\d{2,3}[A-Z]?", word):
            return word
    return device


def card_note(device: str) -> str:
    """What the figures are: "" on the target's card, else a plain note (an H200's figures are
    H200 figures, not H100 ones)."""
    if "simulator" in device:
        return "numba's CUDA simulator: a dry run, its figures mean nothing"
    got = card(device)
    if got == TARGET_CARD:
        return ""
    what = f"{got} figures, not {TARGET_CARD} ones" if got != device else \
        f"not known to be an {TARGET_CARD}"
    return f"{what}: issue 8's target is stated for an {TARGET_CARD}"


def device_line(device: str) -> str:
    """The device's name, with card_note's note where there is one."""
    note = card_note(device)
    return device + (f" ({note})" if note else "")


# ------------------------------------------------------------------ equivalence


def _cpu_worker(args: tuple[str, int, int, int, str]) -> tuple[tuple, np.ndarray, float]:
    """One CPU replica (a pool process with NUMBA_NUM_THREADS=1): daily populations, seconds."""
    case, hasten, days, seed, draws = args
    from corredor.engine.agents import run_agents

    plan = _plan(case, hasten, days)
    t = time.perf_counter()
    out = run_agents(plan, seed=seed, threads=1, draws=draws)
    return args, out.population.astype(np.int32), time.perf_counter() - t


def _gpu_worker(args: tuple[str, int, int, int, str]) -> tuple[tuple, np.ndarray, float]:
    """One GPU replica (a pool process with its own CUDA context; several share the device, since a
    small case's replica is mostly host work): daily populations, seconds (the first job of a
    process also compiles the kernels; its time is left out of the per-seed figures)."""
    import warnings

    case, hasten, days, seed, draws = args
    from corredor.engine.gpu import run_agents_gpu

    plan = _plan(case, hasten, days)
    first = draws not in _COMPILED
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = run_agents_gpu(plan, seed=seed, draws=draws)
    _COMPILED.add(draws)
    return args, out.population.astype(np.int32), float("nan") if first else time.perf_counter() - t


_COMPILED: set[str] = set()  # draws whose kernels this process has compiled


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


def equivalence(cases: list[str], seeds: int, hasten: int, days: int, draws: list[str],
                cpu_pool, gpu_pool, budget_s: float = float("inf"), seed_start: int = 1) -> list[dict]:
    """CPU and GPU replicas of every case, seed and draws, compared as described above.

    Jobs go out seed by seed (all cases of a seed, the first draws before the next), so when the
    GPU's share of `budget_s` is spent every case has about as many seeds; the rows say how many
    were compared (those the GPU finished, with their CPU twins) and which (`seed_list`, so that
    runs over disjoint seed ranges can be added up).
    """
    from scipy import stats

    jobs = [(c, hasten, days, s, d) for d in draws for s in range(seed_start, seed_start + seeds)
            for c in cases]
    t_start = time.perf_counter()
    cpu_async = [cpu_pool.apply_async(_cpu_worker, (j,)) for j in jobs]
    gpu_async = [gpu_pool.apply_async(_gpu_worker, (j,)) for j in jobs]
    deadline = t_start + budget_s
    gpu_res: dict[tuple, tuple[np.ndarray, float]] = {}
    for j, r in zip(jobs, gpu_async, strict=True):
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        try:
            _, pop, sec = r.get(timeout=left if np.isfinite(left) else None)
        except mp.TimeoutError:
            break
        gpu_res[j] = (pop, sec)
    gpu_wall = time.perf_counter() - t_start
    gpu_pool.terminate()
    print(f"  gpu: {len(gpu_res)} of {len(jobs)} replicas in {gpu_wall:.0f} s", flush=True)
    cpu_res: dict[tuple, tuple[np.ndarray, float]] = {}
    for j, r in zip(jobs, cpu_async, strict=True):
        if j in gpu_res:
            _, pop, sec = r.get()
            cpu_res[j] = (pop, sec)
    rows = []
    for d in draws:
        for c in cases:
            done = [j for j in jobs if j[0] == c and j[4] == d and j in gpu_res]
            if not done:
                continue
            plan = _plan(c, hasten, days)
            g = np.stack([gpu_res[j][0] for j in done])  # (seeds, days, locations)
            p = np.stack([cpu_res[j][0] for j in done])
            same = int(sum(np.array_equal(p[k], g[k]) for k in range(len(done))))
            camps = np.flatnonzero(plan.camp0)
            n_days = plan.n_days
            check_days = sorted({max(0, n_days // 4), n_days // 2, (3 * n_days) // 4, n_days - 1})
            pvals, rel = [], []
            for jc in camps:
                for t in check_days:
                    x, y = p[:, t, jc], g[:, t, jc]
                    if x.min() == x.max() == y.min() == y.max():
                        continue  # both constant and equal, or nothing to test
                    pvals.append(stats.ks_2samp(x, y).pvalue)
                    mx, my = x.mean(), y.mean()
                    if mx >= 20:
                        rel.append(abs(my - mx) / mx)
            n_tests = len(pvals)
            alpha = 0.01 / max(1, n_tests)
            gsec = [gpu_res[j][1] for j in done if np.isfinite(gpu_res[j][1])]
            rows.append({
                "case": c, "draws": d, "hasten": hasten, "days": n_days,
                "people": plan.total_agents, "seeds": len(done), "identical_seeds": same,
                "seed_list": [j[3] for j in done],
                "differing_seeds": [j[3] for k, j in enumerate(done)
                                    if not np.array_equal(p[k], g[k])],
                "ks_tests": n_tests, "ks_rejections": int(sum(pv < alpha for pv in pvals)),
                "ks_min_p": float(min(pvals)) if pvals else 1.0,
                "max_rel_mean_diff": float(max(rel)) if rel else 0.0,
                "cpu_s_per_seed": float(np.mean([cpu_res[j][1] for j in done])),
                "gpu_s_per_seed": float(np.mean(gsec)) if gsec else float("nan"),
                "gpu_wall_s": gpu_wall,
            })
    return rows


# ------------------------------------------------------------------ throughput


def scale_case(people: int, days: int, places: int = 1000, capped: bool = False, seed: int = 7):
    """The synthetic scale case as a Scenario (see the module docstring): scale_cohorts'
    random network with everyone created on day 0; capped camps hold 10–90 % of an equal share."""
    from scale_cohorts import random_network

    share = max(1, people // max(1, places // 50))
    return random_network(places, days, people, seed, pop_low=10_000,
                          camp_capacity=(share // 10, 9 * share // 10 + 1) if capped else None,
                          min_km=5.0, at_once=True, name=f"scale-{places}-{people}")


_SCALE_PLANS: dict[tuple[int, int, bool], object] = {}


def scale_plan(people: int, days: int, capped: bool = False):
    """compile_plan(scale_case(...)), kept for the profile section (building one at 1e8 takes a while)."""
    from corredor.plan import compile_plan

    key = (people, days, capped)
    if key not in _SCALE_PLANS:  # a plan's arrays do not grow with the people: keeping them is cheap
        _SCALE_PLANS[key] = compile_plan(scale_case(people, days, capped=capped))
    return _SCALE_PLANS[key]


#: Builds of the fused kernel the check compares side by side at the largest size, each run
#: REPEATS times in turn (medians; one run each swung by up to ±12 % in runs 10 and 11): as the
#: library builds it ({}: the days run ahead, blocks of gpu.TPB_FUSED = 1,024 threads within
#: gpu.FUSED_MAX_REGISTERS = 32, gpu.FUSED_WAVES = 2 waves of resident blocks, and since run 14
#: the links' changes tallied in global memory, the block's histogram holding the places'
#: alone), and with one wave. Keys: "tpb" (threads a block of a fused day), "spawn_bins"
#: (gpu.SPAWN_BINS, for every kernel built; at least 1: a local array of 0 cannot be built),
#: "max_registers" (the fused kernel's cap; None: uncapped), "waves", "ahead" (False: every day
#: waits for the device, the default before run 13), "checks" (with the checks for capped
#: places: 1.11× slower in run 11), "shared_tally" (False: global tallies, slower in run 11),
#: "links" (False: the links' changes in the block's histogram, the default before run 14).
#: Run 13 measured and dropped the queue in person order and a person's place or whole state
#: carried in the queue; run 14 the warp-aggregated tallies, the route choice loading 2 weights
#: at once and the integer move draws: each slower than the build without.
BUILDS = ({}, {"waves": 1})
REPEATS = 3


_MADE: dict[tuple, tuple] = {}  # _fused_kernels' builds, kept across repeats


def kernel_options(build: dict) -> dict[str, bool]:
    """gpu._make_kernels' options for a build (its keys above; "ahead", "tpb", "waves",
    "max_registers" and "shared_tally" are not among them). Also what benchmarks/gpu_ptxas.py
    --builds compiles."""
    return {"capacity_checks": build.get("checks", False),
            "link_tally_global": build.get("links", True)}


_UNSET = object()


@contextlib.contextmanager
def _fused_kernels(build: dict):
    """Within: run_agents_gpu's kernels built as `build` says (keys above; the register cap is
    ignored in numba's simulator, which has no registers). "tpb" sets gpu.TPB_FUSED (the threads
    of a block of a fused day's kernels) and the fused kernel's queue (gpu._QUEUE, 2 entries a
    thread), "waves" gpu.FUSED_WAVES, "spawn_bins" gpu.SPAWN_BINS, while the build is compiled
    and run: numba reads the queue's size and the bins when it compiles, run_agents_gpu the
    others when it runs."""
    from corredor.engine import gpu

    lib_cap = None if gpu.simulator_enabled() else gpu.FUSED_MAX_REGISTERS
    want = build.get("max_registers", _UNSET)
    cap = lib_cap if want is _UNSET or gpu.simulator_enabled() else want
    opts = kernel_options(build)
    tpb = int(build.get("tpb", gpu.TPB_FUSED))
    waves = int(build.get("waves", gpu.FUSED_WAVES))
    bins = int(build.get("spawn_bins", gpu.SPAWN_BINS))
    sizes = (gpu.TPB_FUSED, gpu._QUEUE, gpu.FUSED_WAVES, gpu.SPAWN_BINS)
    own = (cap == lib_cap and opts == kernel_options({}) and tpb == gpu.TPB_FUSED
           and bins == gpu.SPAWN_BINS)  # the library's kernels
    key = build.get("shared_tally", True)
    real = gpu._KERNELS.get(key)
    try:  # (the library's sizes and kernels back on every way out, a failed build's too)
        gpu.FUSED_WAVES = waves
        if not own:
            # the queue as the library sizes it for TPB_FUSED = tpb (2 entries a thread): no
            # larger, as its shared memory takes L1's room (run 13 measured 512 threads with a
            # queue of 1,024)
            gpu.TPB_FUSED, gpu._QUEUE, gpu.SPAWN_BINS = tpb, 2 * tpb, bins
            made = (key, cap, tpb, bins, *opts.values())
            if made not in _MADE:  # compiled once a build, not once a repeat
                _MADE[made] = gpu._make_kernels(key, cap, **opts)
            gpu._KERNELS[key] = _MADE[made]
        yield
    finally:
        gpu.TPB_FUSED, gpu._QUEUE, gpu.FUSED_WAVES, gpu.SPAWN_BINS = sizes
        if not own:
            if real is None:
                gpu._KERNELS.pop(key, None)
            else:
                gpu._KERNELS[key] = real


def _layout(fused: bool, build: dict) -> str:
    """A run's layout in words, for the checks and tables."""
    if not fused:
        return "queued rounds"
    cap = build.get("max_registers", 0)
    return ("fused" + (f", max {cap} registers" if cap else ", uncapped" if cap is None else "")
            + (", capacity checks" if build.get("checks") else "")
            + ("" if build.get("shared_tally", True) else ", global tallies")
            + ("" if build.get("links", True) else ", links tallied in the block")
            + (f", {build['spawn_bins']} spawn bins" if "spawn_bins" in build else "")
            + (f", {build['tpb']} threads a block" if build.get("tpb") else "")
            + (f", {build['waves']} waves" if build.get("waves") else "")
            + ("" if build.get("ahead", True) else ", days not ahead"))


def throughput(people_list: list[int], days: int, cpu_ref_people: int, draws: list[str],
               rows: list[dict] | None = None, builds_only: bool = False) -> list[dict]:
    """GPU person-steps per second at each size and draws (appended to `rows` as measured).
    `builds_only`: the BUILDS and nothing else (no queued rounds, capped camps or CPU engine, so
    nothing but the repeats checks their numbers: a short run where the builds are known to
    agree)."""
    from corredor.engine.agents import run_agents
    from corredor.engine.gpu import run_agents_gpu
    from corredor.plan import compile_plan

    rows = [] if rows is None else rows
    warm = compile_plan(scale_case(min(50_000, min(people_list)), 3))
    for d in draws:  # compile the kernels
        run_agents_gpu(warm, seed=0, draws=d)
    # open camps run fused_kernel by default; at the largest size the BUILDS in turn, REPEATS
    # times, and the queued rounds
    top = max(people_list)
    last = draws[-1]
    points = [(n, False, d, None, {}) for n in people_list for d in draws]
    points += [(top, False, last, None, b) for _ in range(REPEATS) for b in BUILDS[1:] + BUILDS[:1]]
    if not builds_only:
        points += [(top, False, d, False, {}) for d in draws]
        points += [(min(people_list), True, last, None, {})]
    pops: dict[tuple, np.ndarray] = {}  # same-seed daily populations, to check the fused kernel
    for n, capped, d, fuse, build in points:
        t = time.perf_counter()
        plan = scale_plan(n, days, capped)
        plan_s = time.perf_counter() - t
        fused_regs = None
        shared = build.get("shared_tally")
        ahead = bool(build.get("ahead", True))
        with _fused_kernels(build):
            try:  # compiled before the clock starts
                run_agents_gpu(warm, seed=0, draws=d, fuse=fuse, shared_tally=shared,
                               ahead=ahead)
            except Exception as e:  # noqa: BLE001 - a build this numba-cuda cannot make: skip it
                if not build:
                    raise
                rows.append({"check": f"{_layout(True, build)} builds", "identical": False,
                             "error": repr(e)[:500]})
                print(f"  {_layout(True, build)}: {e!r}"[:500], flush=True)
                continue
            out = run_agents_gpu(plan, seed=1, draws=d, fuse=fuse, shared_tally=shared,
                                 ahead=ahead)
            from corredor.engine import gpu as _gpu

            if not _gpu.simulator_enabled():  # what the fused kernel got
                try:
                    got = _gpu._KERNELS[shared is not False][6].get_regs_per_thread()
                    fused_regs = sorted(got.values()) if isinstance(got, dict) else got
                except Exception:  # noqa: BLE001 - not compiled (queued rounds), or no query
                    fused_regs = None
        g = out.gpu_stats
        lay = _layout(bool(g["fused"]), build)
        key = (n, capped, d, lay)
        if key in pops and not np.array_equal(pops[key], out.population):
            rows.append({"check": f"{lay} at {n:.0e}, draws {d}: a repeat gave the same numbers",
                         "identical": False})
        pops[key] = out.population.copy()
        half = days // 2
        steady_steps = float(out.alive[half:].sum())
        rows.append({
            "backend": "gpu", "draws": d, "people": plan.total_agents, "days": days,
            "capped_camps": capped, "places": plan.n_locations, "links": plan.n_links,
            "loop_s": out.loop_s, "person_steps_per_s": out.agent_steps / out.loop_s,
            "steady_person_steps_per_s": steady_steps / float(out.day_s[half:].sum()),
            "day0_s": float(out.day_s[0]), "plan_s": plan_s, "rounds_max": int(out.rounds.max()),
            "build": build, "layout": lay, "fused_regs": fused_regs,
            **{k: v for k, v in out.gpu_stats.items() if k in (
                "capped_movers", "deferred_movers", "deferred_chains", "shared_tally",
                "direct_pass_a", "max_blocks", "fused_blocks", "fused", "ahead")},
        })
        size = f" ({fused_regs} registers, {g['fused_blocks']} blocks)" if g["fused"] else ""
        print(f"  gpu {n:.0e} people{' capped' if capped else ''} draws {d} {lay}{size}: "
              f"{rows[-1]['person_steps_per_s']:.3g} person-steps/s "
              f"(steady {rows[-1]['steady_person_steps_per_s']:.3g}, "
              f"day 0 {1e3 * rows[-1]['day0_s']:.1f} ms)", flush=True)
        del out
    # the builds' medians over their repeats
    for build in BUILDS:
        lay = _layout(True, build)
        mine = [r for r in rows if r.get("layout") == lay and r["people"] == top
                and r["draws"] == last and not r["capped_camps"]]
        if mine:
            rows.append({"median_of": lay, "draws": last, "people": top, "runs": len(mine),
                         "person_steps_per_s": float(np.median(
                             [r["person_steps_per_s"] for r in mine])),
                         "steady_person_steps_per_s": float(np.median(
                             [r["steady_person_steps_per_s"] for r in mine])),
                         "day0_s": float(np.median([r["day0_s"] for r in mine])),
                         "fused_regs": mine[-1]["fused_regs"],
                         "fused_blocks": mine[-1].get("fused_blocks")})
            m = rows[-1]
            print(f"  median of {m['runs']}: {lay}, {last}, {top:.0e}: "
                  f"{m['person_steps_per_s']:.3g} (steady {m['steady_person_steps_per_s']:.3g}, "
                  f"day 0 {1e3 * m['day0_s']:.1f} ms)", flush=True)
    # every fused layout must give the queued rounds' numbers (same seed, top size) and the CPU
    # engine's (same seed and draws, the CPU reference size)
    queued = _layout(False, {})
    for (n, capped, d, lay), a in pops.items():
        b = next((v for (n2, c2, d2, lay2), v in pops.items()
                  if n2 == top and not c2 and d2 == d and lay2 == queued), None)
        if n == top and not capped and lay != queued and b is not None:
            rows.append({"check": f"{lay} = queued at {top:.0e}, draws {d}, seed 1",
                         "identical": bool(np.array_equal(a, b))})
            print(f"  {rows[-1]['check']}: {rows[-1]['identical']}", flush=True)
    if cpu_ref_people:
        plan = compile_plan(scale_case(cpu_ref_people, days))
        run_agents(warm, seed=0)
        for d in draws:
            out = run_agents(plan, seed=1, draws=d)
            for (n, capped, d2, lay), g in pops.items():
                if n == cpu_ref_people and not capped and d2 == d and lay != queued:
                    rows.append({"check": f"{lay} GPU = CPU at {cpu_ref_people:.0e}, "
                                          f"draws {d}, seed 1",
                                 "identical": bool(np.array_equal(g, out.population))})
                    print(f"  {rows[-1]['check']}: {rows[-1]['identical']}", flush=True)
            half = days // 2
            rows.append({
                "backend": f"cpu ({out.threads} threads)", "draws": d, "people": plan.total_agents,
                "days": days, "capped_camps": False, "places": plan.n_locations,
                "links": plan.n_links, "loop_s": out.loop_s,
                "person_steps_per_s": out.agent_steps / out.loop_s,
                "steady_person_steps_per_s": float("nan"), "day0_s": float("nan"), "plan_s": 0.0,
                "rounds_max": int(out.rounds.max()), "fused": False,
            })
            print(f"  cpu {cpu_ref_people:.0e} people draws {d}: "
                  f"{rows[-1]['person_steps_per_s']:.3g} person-steps/s", flush=True)
    return rows


# ------------------------------------------------------------------ profile


def profile(people: int, days: int, case: str, hasten: int, case_days: int, draws: list[str],
            rows: list[dict] | None = None) -> list[dict]:
    """Wall milliseconds per day and phase (run_agents_gpu(profile=True): a device wait after every
    phase) on the scale case at `people` (open camps) for each draws, and on one seed of `case`:
    where a day's time goes, on the device and on the host.

    Two figures per run: "all days" and "steady" (days ≥ 1, without day 0's spawn of everyone).
    """
    from corredor.engine.gpu import PHASES, run_agents_gpu

    rows = [] if rows is None else rows
    runs = [(f"scale {people:.0e} open", d, {}) for d in draws]
    runs += [(f"{case} seed 1", draws[0], {})]
    for label, d, build in runs:
        if label.startswith("scale"):
            plan, warm = scale_plan(people, days), scale_plan(min(50_000, people), 3)
        else:
            plan, warm = _plan(case, hasten, case_days), _plan(case, hasten, 5)
        with _fused_kernels(build):
            run_agents_gpu(warm, seed=1, draws=d)  # compile the kernels
            out = run_agents_gpu(plan, seed=1, profile=True, draws=d)
        ph = np.asarray(out.gpu_stats["phase_day_s"])
        steady = ph[1:] if ph.shape[0] > 1 else ph
        row = {"run": label, "draws": d, "fused": bool(out.gpu_stats["fused"]),
               "layout": _layout(bool(out.gpu_stats["fused"]), build),
               "people": int(plan.total_agents),
               "days": int(plan.n_days), "loop_s": out.loop_s,
               "ms_per_day": 1e3 * out.loop_s / plan.n_days,
               "steady_ms_per_day": 1e3 * float(steady.sum(1).mean()),
               "rounds_mean": float(out.rounds.mean()), "rounds_max": int(out.rounds.max()),
               "max_blocks": out.gpu_stats["max_blocks"],
               "chain_people_per_day": out.gpu_stats["chain_people"] / plan.n_days,
               "departures_per_day": float(out.departures.sum()) / plan.n_days,
               "phase_ms_per_day": {p: 1e3 * float(ph[:, j].mean()) for j, p in enumerate(PHASES)},
               "steady_phase_ms_per_day": {p: 1e3 * float(steady[:, j].mean())
                                           for j, p in enumerate(PHASES)}}
        rows.append(row)
        print(f"  profile {label} draws {d}{', ' + row['layout'] if row['fused'] else ''}: "
              f"{row['ms_per_day']:.2f} ms/day, steady "
              f"{row['steady_ms_per_day']:.2f}: " + ", ".join(
                  f"{p} {v:.2f}" for p, v in row["steady_phase_ms_per_day"].items()), flush=True)
        del out
    return rows


def kernel_resources() -> list[dict]:
    """Registers and local memory (spills) per thread of every kernel compiled so far, per tally
    layout: the fused kernel holds a whole day, and its registers bound how many warps an SM
    keeps in flight."""
    from corredor.engine import gpu

    names = ("spawn", "movers", "movers_bernoulli", "pass_a", "advance", "chain", "fused")
    rows = []
    for shared, kernels in gpu._KERNELS.items():
        for name, k in zip(names, kernels, strict=True):
            try:
                regs = k.get_regs_per_thread()
                local = k.get_local_mem_per_thread()
            except Exception:  # noqa: BLE001 - not compiled in this process, or no such query
                continue
            for sig, r in (regs.items() if isinstance(regs, dict) else [(None, regs)]):
                loc = local.get(sig) if isinstance(local, dict) else local
                rows.append({"kernel": name, "shared_tally": shared,
                             "regs_per_thread": int(r), "local_bytes_per_thread": int(loc or 0)})
                print(f"  {name}{'' if shared else ' global-tally'}: "
                      f"{r} registers, {loc} B local per thread", flush=True)
    return rows


def launch_overhead(launches: int = 300) -> list[dict]:
    """Microseconds per launch of an empty kernel taking 1, 16 and 48 device arrays (the chain
    kernel takes ~45 arguments, pass A's ~30): how much of a same-day round is numba-cuda
    preparing arguments on the host rather than the device working. Timed over `launches`
    launches with one synchronisation at the end (launches are asynchronous)."""
    from numba import cuda

    rows = []
    for n_args in (1, 16, 48):
        names = ", ".join(f"a{k}" for k in range(n_args))
        src = f"def k({names}):\n    if cuda.grid(1) == 0 and a0.shape[0] < 0:\n        a0[0] = 1\n"
        ns: dict = {"cuda": cuda}
        exec(src, ns)  # noqa: S102 - a generated kernel signature, nothing from outside
        kern = cuda.jit(ns["k"])
        arrs = [cuda.device_array(16, np.int32) for _ in range(n_args)]
        kern[1, 32](*arrs)
        cuda.synchronize()
        t = time.perf_counter()
        for _ in range(launches):
            kern[1, 32](*arrs)
        cuda.synchronize()
        us = 1e6 * (time.perf_counter() - t) / launches
        rows.append({"arrays": n_args, "us_per_launch": us})
        print(f"  launch with {n_args} device arrays: {us:.1f} µs", flush=True)
    return rows


# ------------------------------------------------------------------ report


def markdown(device: str, eq: list[dict], tp: list[dict], pr: list[dict] | None = None,
             lo: list[dict] | None = None) -> str:
    lines = [f"Device: {device_line(device)}; {platform.node()}, Python {platform.python_version()}, "
             f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.", "",
             "| case | draws | hasten | days | people | seeds | identical seeds | KS rejections (α=0.01, Bonferroni) | min p | max rel. diff of mean camp pop. | CPU s/seed (1 thread) | GPU s/seed (one of several processes) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in eq:
        lines.append(f"| {r['case']} | {r['draws']} | {r['hasten']} | {r['days']} | {r['people']:,} | {r['seeds']} | "
                     f"{r['identical_seeds']} | {r['ks_rejections']} of {r['ks_tests']} | "
                     f"{r['ks_min_p']:.3g} | {r['max_rel_mean_diff']:.2%} | "
                     f"{r['cpu_s_per_seed']:.2f} | {r['gpu_s_per_seed']:.2f} |")
    lines += ["", "| backend | draws | people | camps | days | loop s | person-steps/s | steady (2nd half) | day 0 s | decisions replayed on the host |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    checks = [r for r in tp if "check" in r]
    medians = [r for r in tp if "median_of" in r]
    for r in tp:
        if "check" in r or "median_of" in r:
            continue
        host = r.get("capped_movers", 0) + r.get("deferred_movers", 0) + r.get("deferred_chains", 0)
        lay = ""
        if r["backend"] == "gpu":
            lay = ", " + r["layout"]
            lay += f", {r['fused_blocks']} blocks" if r.get("fused_blocks") else ""
        lines.append(f"| {r['backend']} | {r['draws']}{lay} | {r['people']:,} | {'capped' if r['capped_camps'] else 'open'} | "
                     f"{r['days']} | {r['loop_s']:.2f} | {r['person_steps_per_s']:.3g} | "
                     f"{r['steady_person_steps_per_s']:.3g} | {r['day0_s']:.3f} | {host:,} |")
    if medians:
        lines += ["", "| build (medians of its runs) | draws | people | runs | registers | blocks | "
                  "person-steps/s | steady | day 0 ms |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['median_of']} | {r['draws']} | {r['people']:,} | {r['runs']} | "
                  f"{r['fused_regs']} | {r['fused_blocks']} | {r['person_steps_per_s']:.3g} | "
                  f"{r['steady_person_steps_per_s']:.3g} | {1e3 * r['day0_s']:.1f} |"
                  for r in medians]
    if checks:
        lines += [""] + [f"- {r['check']}: {'identical' if r['identical'] else 'DIFFERENT'}"
                         for r in checks]
    if pr:
        from corredor.engine.gpu import PHASES

        lines += ["", "Milliseconds per day and phase, steady days (≥ 1), profile=True (a device wait "
                  "after each phase):", "",
                  "| run | draws | people | ms/day (all days) | ms/day steady | "
                  + " | ".join(PHASES) + " | rounds mean / max | departures / day | people in "
                  "same-day rounds / day |",
                  "|---|---|---|---|---|" + "---|" * len(PHASES) + "---|---|---|"]
        for r in pr:
            lines.append(f"| {r['run']} | {r['draws']}"
                         f"{', ' + r['layout'] if r.get('fused') else ''}"
                         " | "
                         f"{r['people']:,} | {r['ms_per_day']:.2f} | "
                         f"{r['steady_ms_per_day']:.2f} | "
                         + " | ".join(f"{r['steady_phase_ms_per_day'][p]:.2f}" for p in PHASES)
                         + f" | {r['rounds_mean']:.1f} / {r['rounds_max']} | "
                         f"{r['departures_per_day']:,.0f} | {r['chain_people_per_day']:,.0f} |")
    if lo:
        lines += ["", "Kernel launch (empty kernel, numba-cuda): "
                  + ", ".join(f"{r['arrays']} device arrays {r['us_per_launch']:.1f} µs" for r in lo)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--seed-start", type=int, default=1,
                    help="first seed of the equivalence (seeds S..S+N-1), to add runs up")
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--case-days", type=int, default=0, help="run only the first N days of the cases")
    ap.add_argument("--days", type=int, default=20, help="days of the scale case")
    ap.add_argument("--people", default="1e7,1e8")
    ap.add_argument("--cases", default="mali2012,car")
    ap.add_argument("--cases-dir", type=Path, default=CASES,
                    help="folder holding the Flee cases [../shared/data/flee]")
    ncpu = os.cpu_count() or 2
    ap.add_argument("--workers", type=int, default=max(1, ncpu // 4),
                    help="CPU engine processes for the equivalence [a quarter of the cores]")
    ap.add_argument("--gpu-workers", type=int, default=max(1, ncpu - max(1, ncpu // 4) - 1),
                    help="processes running GPU replicas side by side (each its own CUDA context; "
                         "a small case's replica is mostly host work) [the other cores but one]")
    ap.add_argument("--draws", default="gaps,bernoulli",
                    help="pass-A draws to measure and compare (corredor.engine.agents.DRAWS)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--budget-s", type=float, default=float("inf"),
                    help="wall seconds for the whole script; equivalence compares fewer seeds to fit")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-equivalence", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--builds-only", action="store_true",
                    help="throughput of the BUILDS alone (no queued rounds, capped camps, CPU)")
    ap.add_argument("--profile", action="store_true",
                    help="after the throughput: ms per day and phase at the largest --people and "
                         "on one seed of the first case, and the cost of a kernel launch")
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
    draws = [d for d in args.draws.split(",") if d]
    t_all = time.perf_counter()
    # the pools first, from a process without a CUDA context (spawned: nothing is inherited)
    ctx = mp.get_context("spawn")
    env_threads = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"
    pool = gpu_pool = None
    if not args.skip_equivalence:
        pool = ctx.Pool(args.workers)
        gpu_pool = ctx.Pool(args.gpu_workers)
    if env_threads is None:
        del os.environ["NUMBA_NUM_THREADS"]
    else:
        os.environ["NUMBA_NUM_THREADS"] = env_threads
    from corredor.engine.agents import run_agents
    from corredor.engine.gpu import device_name, gpu_available

    if not gpu_available():
        sys.exit("no CUDA device (nor NUMBA_ENABLE_CUDASIM=1): nothing to check")
    device = device_name()
    print(f"device: {device_line(device)}; numba {__import__('numba').__version__}", flush=True)
    eq: list[dict] = []
    tp: list[dict] = []
    pr: list[dict] = []
    lo: list[dict] = []
    res: list[dict] = []
    errors: list[str] = []

    def save() -> None:
        """Write what has been measured so far (a lease may end before the last section)."""
        md = markdown(device, eq, tp, pr, lo)
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"device": device, "card": card(device),
                                             "card_note": card_note(device),
                                             "numba": __import__("numba").__version__,
                                             "equivalence": eq, "throughput": tp,
                                             "profile": pr, "launch": lo, "resources": res, "errors": errors,
                                             "markdown": md},
                                            indent=1, default=float))

    if not args.skip_throughput:
        t = time.perf_counter()
        try:
            throughput(people, args.days, 0 if args.builds_only else min(people), draws, tp,
                       builds_only=args.builds_only)
        except Exception:  # report and go on to the next section
            errors.append(traceback.format_exc())
            print(errors[-1], flush=True)
        print(f"throughput: {time.perf_counter() - t:.0f} s", flush=True)
        save()
    if args.profile:
        t = time.perf_counter()
        try:
            profile(max(people), args.days, cases[0], args.hasten,
                    5 if args.quick else args.case_days, draws, pr)
            lo.extend(launch_overhead())
        except Exception:
            errors.append(traceback.format_exc())
            print(errors[-1], flush=True)
        print(f"profile: {time.perf_counter() - t:.0f} s", flush=True)
        save()
    try:
        res.extend(kernel_resources())
    except Exception:
        errors.append(traceback.format_exc())
        print(errors[-1], flush=True)
    save()
    if pool is not None:
        try:
            # compile the CPU engine once (the pool processes load it from numba's cache)
            run_agents(_plan(cases[0], args.hasten, 5), seed=0)
            t = time.perf_counter()
            left = args.budget_s - (time.perf_counter() - t_all)
            eq = equivalence(cases, args.seeds, args.hasten, 5 if args.quick else args.case_days,
                             draws, pool, gpu_pool, budget_s=max(30.0, left),
                             seed_start=args.seed_start)
            print(f"equivalence: {time.perf_counter() - t:.0f} s", flush=True)
        except Exception:
            errors.append(traceback.format_exc())
            print(errors[-1], flush=True)
        pool.terminate()
        gpu_pool.terminate()
    save()
    print("\n" + markdown(device, eq, tp, pr, lo) + "\n")
    print(f"total {time.perf_counter() - t_all:.0f} s, {len(errors)} errors"
          + (" (tracebacks above and in the JSON's errors)" if errors else ""))
    if args.json is not None:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
