"""Where pass A's time goes on a GPU: the same per-person step built up one part at a time.

The fused kernel's day at 1e8 people (docs/performance.md) costs several times what its memory
traffic and arithmetic alone would. This script times, on a synthetic state of N people over the
scale case's network (benchmarks/gpu_device_check.py), kernels that each add one part of pass A
with draws "bernoulli" (gpu.bernoulli_movers_kernel with `direct`) to the one before:

  read      every person's place read and summed (the memory floor of the pass)
  draw      + the bernoulli draw (two splitmix rounds and a double per person)
  decide    + the movers' route choice and next link (writes path and hop)
  step      + stepping onto the link (writes place, flags and progress) — no tallies
  tally     + the departure and link tallies, shared-memory atomics (the engine's layout)

each with people grouped (a warp's 32 people at one place, as created) and scattered (places at
random), so the tallies' contention shows. Medians of --reps runs, state restored between runs.
The kernels reuse the engine's device functions; the tables are simplified (every path valid and
equally likely, one move chance everywhere) and the results are not the engine's: timing only.

    python benchmarks/gpu_pass_a_breakdown.py --people 1e8 --json out.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from numba import cuda  # a module global: numba's simulator swaps it in the kernels' globals

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corredor.engine import gpu  # noqa: E402
from corredor.engine.gpu import (  # noqa: E402 - module globals, as numba's simulator needs
    _bernoulli_mover,
    _decide_step,
    _flush,
    _histogram,
    _leave,
)

STAGES = ("read", "draw", "decide", "step", "tally")


def make_kernels():
    """The six stage kernels (grid-stride, one thread per person)."""
    def build(stage: int):
        @cuda.jit
        def k(n, pre, where, prog, path, hop, flags, lcls, mc, path_ptr, path_valid, cum, tot,
              nvalid, node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp, capmult,
              tally, n_loc, n_links, sink):
            n_tally = 2 * n_loc + n_links
            h = _histogram(stage >= 4, tally, n_tally)
            move_prefix = pre[gpu._S_MOVE]
            route_prefix = pre[gpu._S_ROUTE]
            acc = 0
            i = cuda.grid(1)
            stride = cuda.gridsize(1)
            while i < n:
                w = where[i]
                if stage == 0:
                    acc += w
                elif w >= 0 and _bernoulli_mover(i, w, lcls, mc, move_prefix):
                    if stage == 1:
                        acc += 1
                    else:
                        lk = _decide_step(i, w, route_prefix, 0, path, hop, path_ptr,
                                              path_valid, cum, tot, nvalid, node_ptr, nodes,
                                              out_ptr, out_link, link_to, link_open, camp,
                                              capmult)
                        if stage == 2:
                            acc += lk
                        elif lk >= 0:
                            if stage == 3:
                                flags[i] = flags[i] & gpu._F_NOT_BOUNCE
                                where[i] = -(lk + 1)
                            else:
                                _leave(i, w, lk, where, flags, h, n_loc)
                            prog[i] = 0.0
                i += stride
            sink[cuda.grid(1)] = acc
            if stage >= 4:
                _flush(h, tally, n_tally)

        return k

    return {name: build(j) for j, name in enumerate(STAGES)}


def synthetic(n: int, grouped: bool, seed: int = 3):
    """Device state of n people on the scale case's network, and its simplified tables."""
    from corredor.plan import compile_plan
    from gpu_device_check import scale_case

    plan = compile_plan(scale_case(1000, 3))
    n_loc = plan.n_locations
    rng = np.random.default_rng(seed)
    if grouped:  # runs of people at one place, as spawned: 32-person blocks share a place
        where = (np.arange(n, dtype=np.int64) * n_loc // max(1, n)).astype(np.int32)
    else:
        where = rng.integers(0, n_loc, n).astype(np.int32)
    npath = np.diff(plan.path_ptr)
    cum = np.zeros(len(plan.path_dest))
    for o in range(n_loc):
        lo, hi = plan.path_ptr[o], plan.path_ptr[o + 1]
        cum[lo:hi] = np.arange(1, hi - lo + 1, dtype=np.float64)
    dev = {
        "where": where, "prog": np.zeros(n), "path": np.full(n, -1, np.int32),
        "hop": np.zeros(n, np.int8), "flags": np.zeros(n, np.int8),
    }
    tables = {
        "lcls": np.ones(n_loc, np.int64), "mc": np.full(n_loc, 0.47),
        "path_ptr": plan.path_ptr.astype(np.int64), "path_valid": np.ones(len(cum), np.bool_),
        "cum": cum, "tot": npath.astype(np.float64), "nvalid": npath.astype(np.int64),
        "node_ptr": plan.path_node_ptr.astype(np.int64), "nodes": gpu._path_steps(plan.path_node_ptr, plan.path_nodes, plan.out_ptr,
                                  plan.out_link, plan.link_to),
        "out_ptr": plan.out_ptr.astype(np.int64), "out_link": plan.out_link.astype(np.int32),
        "link_to": plan.link_to.astype(np.int32), "link_open": np.ones(plan.n_links, np.bool_),
        "camp": np.zeros(n_loc, np.bool_), "capmult": np.ones(n_loc),
    }
    pristine = {k: cuda.to_device(v) for k, v in dev.items()}
    work = {k: cuda.to_device(v) for k, v in dev.items()}
    return plan, pristine, work, {k: cuda.to_device(v) for k, v in tables.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", default="1e8")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    n = int(float(args.people))
    kernels = make_kernels()
    if gpu.simulator_enabled():  # a dry run: the simulator cannot run gpu.py's device
        del kernels["tally"]  # functions that use `cuda` from another module's globals
    tpb = gpu.TPB_FLAT
    blocks = gpu._loop_grid(n, tpb, gpu._max_blocks())
    pre = cuda.to_device(gpu.day_prefixes(1, 5))
    sink = cuda.device_array(blocks * tpb, np.int64)
    rows = []
    for grouped in (True, False):
        plan, pristine, work, tab = synthetic(n, grouped)
        n_loc, n_links = plan.n_locations, plan.n_links
        n_tally = 2 * n_loc + n_links
        tally = cuda.to_device(np.zeros(n_tally + 8, np.int32))
        for name, k in kernels.items():
            times = []
            for rep in range(args.reps + 1):  # the first run compiles
                for key, arr in pristine.items():
                    work[key].copy_to_device(arr)
                cuda.synchronize()
                t = time.perf_counter()
                k[blocks, tpb, 0, n_tally * 4](
                    n, pre, work["where"], work["prog"], work["path"], work["hop"], work["flags"],
                    tab["lcls"], tab["mc"], tab["path_ptr"], tab["path_valid"], tab["cum"],
                    tab["tot"], tab["nvalid"], tab["node_ptr"], tab["nodes"], tab["out_ptr"],
                    tab["out_link"], tab["link_to"], tab["link_open"], tab["camp"],
                    tab["capmult"], tally, n_loc, n_links, sink)
                cuda.synchronize()
                if rep:
                    times.append(time.perf_counter() - t)
            movers = int((work["where"].copy_to_host() < 0).sum())
            ms = 1e3 * float(np.median(times))
            rows.append({"stage": name, "people": n, "grouped": grouped, "ms": ms,
                         "ms_min": 1e3 * min(times), "movers": movers,
                         "people_per_s": n / (ms / 1e3)})
            print(f"  {'grouped' if grouped else 'scattered'} {name:<7} {ms:8.3f} ms "
                  f"({rows[-1]['people_per_s']:.3g} people/s, {movers:,} stepped)", flush=True)
        del pristine, work
    if args.json:
        args.json.write_text(json.dumps({"device": gpu.device_name(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
