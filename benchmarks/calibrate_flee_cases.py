"""Fit one set of global movement parameters to mali2012, burundi and car jointly (hasten 10).

Reports each case's ARD (rescaled, flee-model.md §4.2) with its own simsetting.yml and with the fitted
parameters, both measured on fresh seeds no trial used; then, with `--loo`, a leave-one-out check:
fit on two cases, score the third, which the fit never saw. Results go to docs/calibration.md.

    python benchmarks/calibrate_flee_cases.py ../shared/data/flee --trials 30 --replicas 2 \
        --workers 2 [--loo --loo-trials 15] [--out benchmarks/out/calibration]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

CASES = ("mali2012", "burundi", "car")

PARAMS_TOML = """\
# global movement parameters fitted jointly to the Flee cases
[params.move_rules.camp_weight]
low = 0.5
high = 10.0
log = true

[params.move_rules.conflict_weight]
low = 0.05
high = 1.0
log = true

[params.move_rules.default_movechance]
low = 0.05
high = 1.0
"""


def _table(cal, title: str) -> str:
    lines = [f"**{title}**", "", "| case | ARD own settings (mean ± sd) | ARD fitted (mean ± sd) | change |",
             "|---|---|---|---|"]
    for case in cal.before:
        b, a = cal.before[case], cal.after[case]
        lines.append(f"| {case} | {b['mean']:.4f} ± {b['sd']:.4f} | {a['mean']:.4f} ± {a['sd']:.4f} "
                     f"| {100 * (a['mean'] - b['mean']) / b['mean']:+.1f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("flee_dir", type=Path, help="folder holding mali2012/, burundi/, car/")
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--eval-replicas", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--loo", action="store_true", help="also fit on two cases and score the third")
    ap.add_argument("--loo-trials", type=int, default=15)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/calibration"))
    args = ap.parse_args(argv)

    import corredor
    from corredor.analysis.calibrate import (
        CalibrationShared,
        calibrate,
        evaluate,
        per_case_loss,
        read_params,
        resolve_objective,
        write_calibration,
    )
    from corredor.analysis.executors import make_executor

    args.out.mkdir(parents=True, exist_ok=True)
    params_path = args.out / "params.toml"
    params_path.write_text(PARAMS_TOML)
    scenarios = [corredor.load_scenario(args.flee_dir / c, hasten=args.hasten) for c in CASES]
    specs = read_params(params_path, scenarios[0])
    report: list[str] = []
    with make_executor("local", workers=args.workers) as ex:
        t = time.perf_counter()
        cal = calibrate(scenarios, specs, trials=args.trials, replicas=args.replicas, seed=args.seed,
                        executor=ex, objective="ard", engine=args.engine,
                        eval_replicas=args.eval_replicas,
                        progress=lambda d, n: print(f"  joint fit {d}/{n}", flush=True))
        write_calibration(cal, args.out / "joint", force=True)
        joint_s = time.perf_counter() - t
        report.append(_table(cal, f"Joint fit on {', '.join(CASES)} ({args.trials} trials × "
                                  f"{args.replicas} replicas per case; {joint_s:.0f} s)"))
        report.append("best: " + ", ".join(f"`{k}` = {v:.4g}" for k, v in cal.best.items()))
        if args.loo:
            rows = ["| held-out case | fitted on | ARD own settings | ARD with the other cases' fit |",
                    "|---|---|---|---|"]
            for k, held in enumerate(CASES):
                train = [s for j, s in enumerate(scenarios) if j != k]
                fit = calibrate(train, specs, trials=args.loo_trials, replicas=args.replicas,
                                seed=args.seed, executor=ex, objective="ard", engine=args.engine,
                                eval_replicas=2,
                                progress=lambda d, n, h=held: print(f"  loo {h} {d}/{n}", flush=True))
                shared = CalibrationShared((scenarios[k],), resolve_objective("ard", [scenarios[k]]),
                                           engine=args.engine)
                eval_seed = args.seed + 1_000_003
                before = per_case_loss(evaluate([scenarios[k]], {}, args.eval_replicas, eval_seed, ex, shared), [held])
                after = per_case_loss(evaluate([scenarios[k]], fit.best, args.eval_replicas, eval_seed, ex, shared), [held])
                rows.append(f"| {held} | {', '.join(c for c in CASES if c != held)} | "
                            f"{before[held]['mean']:.4f} ± {before[held]['sd']:.4f} | "
                            f"{after[held]['mean']:.4f} ± {after[held]['sd']:.4f} |")
                (args.out / f"loo_{held}.json").write_text(json.dumps(
                    {"best": fit.best, "before": before, "after": after}, indent=2) + "\n")
            report.append("**Leave-one-out**\n\n" + "\n".join(rows))
    text = "\n\n".join(report) + "\n"
    (args.out / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
