"""Sweep Flee 3.1 over cases and seeds, then reduce the runs to small test fixtures.

Why: corredor's tests check its Flee rules against what Flee 3.1 itself does, without installing
Flee in CI. This script produces those reference values once, with their provenance.

    python benchmarks/flee31_fixtures.py run mali2012 burundi --seeds 1-20 --jobs 2 --nice 10
    python benchmarks/flee31_fixtures.py reduce mali2012 burundi car --seeds 1-20

``run`` writes one record per run to benchmarks/out/flee31/<case>_h<H>_s<seed>.json (gitignored)
and skips runs already there, so an interrupted sweep resumes. ``reduce`` writes
tests/fixtures/flee31/deterministic/<case>_h<H>.json and tests/fixtures/flee31/ensemble/<case>_h<H>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flee31_driver import REPO, SCHEMA, run_flee  # noqa: E402

SHARED = REPO.parent / "shared"
CASES_DIR = SHARED / "data" / "flee"
OUT_DIR = REPO / "benchmarks" / "out" / "flee31"
FIXTURES = REPO / "tests" / "fixtures" / "flee31"


def parse_seeds(text: str) -> list[int]:
    """'1-20' -> [1..20]; '1,3,5' -> [1, 3, 5]."""
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds += list(range(int(a), int(b) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def run_path(case: str, hasten: int, seed: int) -> Path:
    return OUT_DIR / f"{case}_h{hasten}_s{seed}.json"


REQUIRED_RUN_KEYS = ("schema", "camps", "conflict_initial", "daily", "sim", "data", "agent_steps")


def is_current(path: Path) -> bool:
    """A finished run record written by the current driver (older records lack keys)."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return rec.get("schema") == SCHEMA and all(k in rec for k in REQUIRED_RUN_KEYS)


def sweep(cases: list[str], seeds: list[int], hasten: int, jobs: int, nice: int) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    todo = [(c, s) for c in cases for s in seeds if not is_current(run_path(c, hasten, s))]
    print(f"{len(todo)} runs to do ({jobs} at a time)", flush=True)

    def one(case: str, seed: int) -> str:
        t0 = time.perf_counter()
        res = run_flee(CASES_DIR / case, hasten, seed, json_out=run_path(case, hasten, seed), nice=nice)
        return (f"{case} s{seed}: {res['daily']['total_agents'][-1]} agents, "
                f"{res['cpu_s_loop']:.1f} CPU-s, {time.perf_counter() - t0:.0f} s wall")

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = {pool.submit(one, c, s): (c, s) for c, s in todo}
        for f in as_completed(futs):
            try:
                print(f.result(), flush=True)
            except Exception as exc:  # keep going: one failed run must not stop the sweep
                print(f"FAILED {futs[f]}: {exc}", flush=True)


# --------------------------------------------------------------------------------------------
# Reduction
# --------------------------------------------------------------------------------------------


def ard_series(sim: dict[str, list[int]], data: dict[str, list[int]], camps: list[str],
               rescaled: bool) -> list[float]:
    """Daily averaged relative difference (flee-model.md §4.2).

    E(t) = Σ_c round(|ŝ_c − data_c|, 4) / max(U, 1), U = Σ_c data_c (int), S = Σ_c sim_c;
    ŝ = sim·U/S if S > 0 else 0 when rescaled, ŝ = sim otherwise.
    """
    days = len(sim[camps[0]])
    out = []
    for t in range(days):
        u = int(sum(data[c][t] for c in camps))
        s = sum(sim[c][t] for c in camps)
        tot = 0.0
        for c in camps:
            if rescaled:
                hat = sim[c][t] * u / s if s > 0 else 0.0
            else:
                hat = sim[c][t]
            tot += round(abs(hat - data[c][t]), 4)
        out.append(tot / max(u, 1))
    return out


DETERMINISTIC_KEYS = ("camps", "day0_inserted", "capacity_setup", "capacity_after_day0",
                      "conflict_initial", "conflict_events", "closure_events", "unhcr_total", "data")
DETERMINISTIC_DAILY = ("spawned", "refugees_raw", "refugee_debt", "total_agents",
                       "camps_data_total", "closed_links", "conflict_zones")


def deterministic_part(res: dict[str, Any]) -> dict[str, Any]:
    part = {k: res[k] for k in DETERMINISTIC_KEYS}
    part["daily"] = {k: res["daily"][k] for k in DETERMINISTIC_DAILY}
    return part


def load_runs(case: str, hasten: int, seeds: list[int]) -> list[dict[str, Any]]:
    runs = []
    for s in seeds:
        p = run_path(case, hasten, s)
        if not p.exists():
            raise FileNotFoundError(f"missing run {p}: run the sweep first")
        runs.append(json.loads(p.read_text()))
    return runs


def provenance(runs: list[dict[str, Any]], case: str, hasten: int, seeds: list[int], kind: str) -> dict:
    r0 = runs[0]
    return {
        "generator": "benchmarks/flee31_fixtures.py",
        "kind": kind,
        "flee_version": r0["flee_version"],
        "flee_install": "pip install flee==3.1 (benchmarks/.venv-flee)",
        "driver": "benchmarks/flee31_driver.py (3.1 run.py order; SumFromCamps=False; "
                  "log_levels.agent=0, link=0; random.seed(seed) and numpy.random.seed(seed) per run; "
                  "one fresh process per run)",
        "command": (f"python benchmarks/flee31_driver.py ../shared/data/flee/{case} --hasten {hasten} "
                    "--seed SEED  (for SEED in seeds); reduced by "
                    f"python benchmarks/flee31_fixtures.py reduce {case} --hasten {hasten} "
                    f"--seeds {seeds[0]}-{seeds[-1]}"),
        "case": case,
        "case_source": f"../shared/data/flee/{case} (FabFlee config_files/{case})",
        "hasten": hasten,
        "seeds": seeds,
        "days": r0["days"],
        "start_date": r0["start_date"],
        "generated_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": r0.get("python"),
        "numpy": r0.get("numpy"),
    }


def reduce_deterministic(case: str, hasten: int, seeds: list[int]) -> Path:
    """Seed-independent series; asserts they are equal across every seed given."""
    runs = load_runs(case, hasten, seeds)
    ref = deterministic_part(runs[0])
    for r in runs[1:]:
        other = deterministic_part(r)
        if other != ref:
            bad = [k for k in ref if ref[k] != other[k]]
            raise AssertionError(f"{case}: deterministic fields differ between seeds "
                                 f"{runs[0]['seed']} and {r['seed']}: {bad}")
    daily = ref["daily"]
    fixture = {
        "provenance": provenance(runs, case, hasten, seeds, "deterministic"),
        "camps": ref["camps"],
        "dates": runs[0]["dates"],
        "day0_inserted": ref["day0_inserted"],
        "day0_inserted_total": sum(ref["day0_inserted"].values()),
        "total_spawned": sum(daily["spawned"]),
        "capacity_setup": ref["capacity_setup"],
        "capacity_after_day0": ref["capacity_after_day0"],
        "daily": {
            "spawned": daily["spawned"],
            "refugee_debt": daily["refugee_debt"],
            "refugees_in_camps_unhcr": daily["camps_data_total"],
            "total_refugees_simulation": daily["total_agents"],
            "raw_unhcr_refugee_count": daily["refugees_raw"],
            "unhcr_total_series": ref["unhcr_total"],
            "closed_links": daily["closed_links"],
            "conflict_zones": daily["conflict_zones"],
        },
        "data": ref["data"],
        "conflict_initial": ref["conflict_initial"],
        "conflict_events": ref["conflict_events"],
        "closure_events": ref["closure_events"],
    }
    path = FIXTURES / "deterministic" / f"{case}_h{hasten}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    return path


def reduce_ensemble(case: str, hasten: int, seeds: list[int]) -> Path:
    runs = load_runs(case, hasten, seeds)
    camps = runs[0]["camps"]
    days = runs[0]["days"]
    n = len(runs)
    mean: dict[str, list[float]] = {}
    sd: dict[str, list[float]] = {}
    for c in camps:
        mean[c], sd[c] = [], []
        for t in range(days):
            xs = [r["sim"][c][t] for r in runs]
            m = sum(xs) / n
            v = sum((x - m) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0
            mean[c].append(round(m, 3))
            sd[c].append(round(math.sqrt(v), 3))
    per_seed = []
    for r in runs:
        plain = ard_series(r["sim"], r["data"], camps, rescaled=False)
        resc = ard_series(r["sim"], r["data"], camps, rescaled=True)
        per_seed.append({
            "seed": r["seed"],
            "final": {c: r["sim"][c][-1] for c in camps},
            "final_camps_sim_total": r["daily"]["camps_sim_total"][-1],
            "ard_plain": sum(plain) / len(plain),
            "ard_rescaled": sum(resc) / len(resc),
            "ard_plain_final": plain[-1],
            "ard_rescaled_final": resc[-1],
            "agent_steps": r["agent_steps"],
            "cpu_s_loop": round(r["cpu_s_loop"], 3),
            "cpu_s_total": round(r["cpu_s_total"], 3),
        })
    det = runs[0]
    fixture = {
        "provenance": provenance(runs, case, hasten, seeds, "ensemble"),
        "camps": camps,
        "n_seeds": n,
        "sd_ddof": 1,
        "data": det["data"],
        "total_agents": det["daily"]["total_agents"],
        "mean": mean,
        "sd": sd,
        "runs": per_seed,
    }
    path = FIXTURES / "ensemble" / f"{case}_h{hasten}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["run", "reduce", "all"])
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--nice", type=int, default=10)
    a = ap.parse_args(argv)
    seeds = parse_seeds(a.seeds)
    if a.action in ("run", "all"):
        sweep(a.cases, seeds, a.hasten, a.jobs, a.nice)
    if a.action in ("reduce", "all"):
        for case in a.cases:
            print(reduce_deterministic(case, a.hasten, seeds))
            print(reduce_ensemble(case, a.hasten, seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
