"""Policy-comparison throughput: `corredor compare` of the Chile–Peru baseline and its variants,
in this process and on 2 local worker processes, side by side.

Each round runs the same comparison (same seeds) once per executor, in alternating order, and
checks that both give the same figures; the medians over rounds and their ratio are printed and
written as JSON. The timing is what the command's comparison costs: compiling the plans, starting
the workers (a new pool each round), the runs and their reduction, not the files. CPU seconds of
this process and the load average are kept with each round, since this machine is shared.

    python benchmarks/compare_throughput.py [--seeds 50] [--rounds 3] [--json benchmarks/out/compare.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"


def scenarios() -> dict:
    """The main job's scenarios: the baseline and every shipped variant."""
    from corredor.mainjob import variant_files
    from corredor.scenario import load_scenario
    from corredor.scenario.native_crisis import load_variant

    out = {"baseline": load_scenario(SCENARIO)}
    for path in variant_files(SCENARIO):
        v = load_variant(path)
        out[str(v.metadata.get("variant", path.stem))] = v
    return out


def timed(kind: str, scen: dict, seeds: int) -> tuple[float, float, object]:
    """(wall s, CPU s of this process, Comparison) of one comparison on executor `kind`."""
    from corredor.analysis.compare import compare
    from corredor.analysis.executors import make_executor

    t0, c0 = time.perf_counter(), time.process_time()
    with make_executor(kind, workers=None if kind == "serial" else 2) as ex:
        comp = compare(scen, seeds=seeds, executor=ex)
    return time.perf_counter() - t0, time.process_time() - c0, comp


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    scen = scenarios()
    timed("serial", scen, 1)  # warm-up: fills numba's compile cache, so neither side pays it
    rows = []
    for r in range(a.rounds):
        order = ("serial", "local") if r % 2 == 0 else ("local", "serial")
        got = {}
        for kind in order:
            load = os.getloadavg()[0]
            wall, cpu, comp = timed(kind, scen, a.seeds)
            got[kind] = comp
            rows.append({"round": r, "executor": kind, "wall_s": wall, "parent_cpu_s": cpu,
                         "load_before": load, "runs": a.seeds * len(scen)})
            print(f"round {r} {kind:6s} {wall:7.2f} s wall, parent CPU {cpu:6.2f} s, load {load:.1f}",
                  flush=True)
        same = all(np.array_equal(got["serial"].values[n][k], got["local"].values[n][k], equal_nan=True)
                   for n in scen for k in got["serial"].values[n])
        if not same:
            print("the two executors disagree: a bug", file=sys.stderr)
            return 1
    med = {k: statistics.median(x["wall_s"] for x in rows if x["executor"] == k) for k in ("serial", "local")}
    ratio = med["serial"] / med["local"]
    print(f"{len(scen)} scenarios x {a.seeds} seeds: median {med['serial']:.1f} s in this process, "
          f"{med['local']:.1f} s on 2 workers: {ratio:.2f}x")
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                                  "python": platform.python_version()},
                                      "seeds": a.seeds, "scenarios": list(scen), "rounds": rows,
                                      "median_wall_s": med, "speedup": ratio}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
