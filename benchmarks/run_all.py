"""`make bench`: every benchmark of the agent engine, side by side with Flee 3.1 where it applies.

1. vs_flee.py on mali2012, burundi and car at hasten 10 (corredor 100 seeds on one thread; Flee
   3.1 5 seeds run now for mali2012 and burundi, the recorded runs of flee31_fixtures.py for car
   unless --live-car, since one Flee car run takes minutes);
2. the whole `corredor run` process on burundi at hasten 1 (engine agents, all threads), warm
   compile cache, median of 5 wall times;
3. scale_agents.py: 10 million synthetic people;
4. compare_throughput.py: the Chile–Peru comparison in one process and on 2 workers.
Results go to benchmarks/out/bench_agents.json (and compare.json); docs/performance.md reports them.

    python benchmarks/run_all.py            # everything (tens of minutes on 2 cores)
    python benchmarks/run_all.py --quick    # fewer seeds, 1 million synthetic people
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
OUT = REPO / "benchmarks" / "out"


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg_at_start": load}


def whole_process(case: str, hasten: int, repeat: int) -> dict:
    """Wall time of `corredor run` as a fresh process (warm numba cache), median of `repeat`."""
    exe = str(Path(sys.executable).with_name("corredor"))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [exe, "run", str(REPO.parent / "shared" / "data" / "flee" / case), "--hasten", str(hasten),
               "--engine", "agents", "--quiet", "--force", "--out", str(Path(tmp) / "run")]
        subprocess.run(cmd, check=True)  # warm-up: fills the compile cache
        walls = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            walls.append(time.perf_counter() - t0)
        manifest = json.loads((Path(tmp) / "run" / "manifest.json").read_text())
    return {"case": case, "hasten": hasten, "wall_s": walls, "wall_s_median": statistics.median(walls),
            "agent_steps": manifest["timing"]["agent_steps"], "loop_s_last": manifest["timing"]["loop_s"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--live-car", action="store_true", help="run Flee on car now instead of reading records")
    ap.add_argument("--skip-flee", action="store_true", help="only the corredor-side benchmarks")
    a = ap.parse_args(argv)
    from vs_flee import compare, print_report

    res: dict = {"machine": machine(), "vs_flee": [], "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    seeds = 20 if a.quick else 100
    flee_seeds = 2 if a.quick else 5
    if not a.skip_flee:
        for case in ("mali2012", "burundi", "car"):
            recorded = OUT / "flee31"
            flee_from = recorded if (case == "car" and not a.live_car and recorded.is_dir()) else None
            try:
                r = compare(case, 10, seeds, flee_seeds, jobs=1, flee_from=flee_from)
            except (FileNotFoundError, RuntimeError, SystemExit) as exc:
                print(f"{case}: Flee side skipped ({exc})")
                continue
            r["flee_source"] = "recorded runs" if flee_from else "run now"
            print_report(r)
            res["vs_flee"].append(r)
    res["whole_process"] = whole_process("burundi", 1, 2 if a.quick else 5)
    print(f"\ncorredor run burundi --hasten 1 (whole process, warm cache): median "
          f"{res['whole_process']['wall_s_median']:.2f} s wall over {len(res['whole_process']['wall_s'])} runs")
    people = 1_000_000 if a.quick else 10_000_000
    scale_json = OUT / "scale_agents.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "scale_agents.py"), "--people", str(people),
                    "--days", "40", "--threads", "1", "--json", str(scale_json)], check=True)
    res["scale"] = json.loads(scale_json.read_text())
    compare_json = OUT / "compare.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "compare_throughput.py"), "--seeds",
                    "10" if a.quick else "50", "--rounds", "3", "--json", str(compare_json)], check=True)
    res["compare"] = json.loads(compare_json.read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_agents.json").write_text(json.dumps(res, indent=2))
    print(f"\nwrote {OUT / 'bench_agents.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
