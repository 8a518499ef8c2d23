"""Fit the free parameters of the Chile–Peru 2023 scenario to the dated camp observations.

Rerun with:  .venv/bin/python scenarios/chile-peru-2023/fit.py [--points 64] [--seeds 16]

Method (deterministic for a given --seed):
1. the scenario's current values plus a scrambled Sobol sample of `--points` parameter sets inside
   BOUNDS (scipy.stats.qmc);
2. each set is scored on the median camp population over `--seeds` replica seeds with
   `corredor.mainjob.fit_loss` (squared relative distance outside the reported ranges of the
   checks of stranded_observations.csv whose rows are marked `fitted` in its `role` column);
3. the best `--refine` sets start a Nelder–Mead search (scipy.optimize) on the same score;
4. the best few sets are re-scored with 100 other seeds on the same fitted targets; the best is
   printed as TOML lines to paste into scenario.toml [crisis.parameters], with every target's
   check (fitted and held out).
The checks not used (role held-out) are checked only afterwards: that is the held-out part.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

HERE = Path(__file__).resolve().parent

#: Free parameters and their search ranges.
BOUNDS: dict[str, tuple[float, float]] = {
    "exodus_factor": (0.5, 2.5),
    "surge_factor": (0.5, 3.0),
    "give_up_base": (0.0, 0.1),
    "give_up_per_day": (0.0, 0.01),
    "irregular_try": (0.2, 1.0),
    "irregular_success": (0.2, 1.0),
    "bribe_success": (0.2, 1.0),
    "mil_block": (0.0, 0.6),
    "mil_troops": (0.3, 0.8),
    "mil_emergency": (0.7, 1.0),
}


def score(scenario, values: dict[str, float], seeds: list[int], fitted_only: bool = True,
          centre: float = 0.01):
    from corredor.mainjob import camp_ensemble, fit_loss
    from corredor.scenario.native_crisis import with_parameters

    camp, flown = camp_ensemble(with_parameters(scenario, **values), seeds)
    med = np.median(camp, axis=0)
    return fit_loss(med, scenario, fitted_only, centre_weight=centre), med, flown


#: What --help says the script does and writes (the docstring's method is for a reader of the code).
DESCRIPTION = (
    "Fit the free parameters of the Chile-Peru 2023 scenario (BOUNDS in this file) to the dated "
    "camp observations (the rows of stranded_observations.csv marked fitted). It writes no file: "
    "scenario.toml is left as it is. It prints one line per scored parameter set, then the best "
    "set as TOML lines to paste into scenario.toml's [crisis.parameters] by hand, every "
    "target's check (fitted and held out) and the people flown out."
)


def _whole(low: int):
    """An argparse type: a whole number of at least `low` (a wrong one: usage error, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected at least {low}, found {value}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    """The script's options, each with one line of help (`--help`)."""
    ap = argparse.ArgumentParser(description=DESCRIPTION,
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--points", type=_whole(0), default=64,
                    help="Sobol points to score besides scenario.toml's current values (0: start "
                         "from the current values only)")
    ap.add_argument("--seeds", type=_whole(1), default=16,
                    help="replica seeds each parameter set is scored on (median camp population)")
    ap.add_argument("--refine", type=_whole(0), default=2,
                    help="how many of the best scored sets start a Nelder-Mead search (0: none)")
    ap.add_argument("--iterations", type=_whole(1), default=40,
                    help="most score evaluations of each Nelder-Mead search")
    ap.add_argument("--seed", type=_whole(0), default=2023,
                    help="seeds the Sobol sampler and the replica seeds; the finalists are "
                         "re-scored on 100 seeds from SEED + 1")
    ap.add_argument("--centre", type=float, default=0.01,
                    help="weight of the pull toward the middle of each target's range")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    from corredor import load_scenario
    from corredor.engine.rng import replica_seeds
    from corredor.mainjob import evaluate_targets, targets_for

    scenario = load_scenario(HERE)
    names = list(BOUNDS)
    lo = np.array([BOUNDS[n][0] for n in names])
    hi = np.array([BOUNDS[n][1] for n in names])
    seeds = replica_seeds(args.seed, args.seeds)
    current = np.clip(np.array([float(scenario.crisis.parameters[n]) for n in names]), lo, hi)
    sample = current[None, :]
    if args.points > 0:  # --points 0: refine the current values only
        sobol = qmc.Sobol(len(names), scramble=True, seed=args.seed).random(args.points)
        sample = np.vstack([sample, qmc.scale(sobol, lo, hi)])

    def f(x: np.ndarray) -> float:
        x = np.clip(x, lo, hi)
        return score(scenario, dict(zip(names, x, strict=True)), seeds, centre=args.centre)[0]

    scored = []
    for k, x in enumerate(sample):
        loss = f(x)
        scored.append((loss, x))
        label = "current" if k == 0 else f"sobol {k}/{len(sample) - 1}"
        print(f"{label} loss={loss:.4f} " +
              " ".join(f"{n}={v:.4g}" for n, v in zip(names, x, strict=True)), flush=True)
    scored.sort(key=lambda t: t[0])
    finalists = [x for _, x in scored[: min(args.refine + 2, len(scored))]]
    for loss, x in scored[: args.refine]:
        res = minimize(f, x, method="Nelder-Mead",
                       options={"maxfev": args.iterations, "xatol": 1e-3, "fatol": 1e-5,
                                "initial_simplex": _simplex(x, lo, hi)})
        print(f"nelder-mead from {loss:.4f} -> {res.fun:.4f}", flush=True)
        finalists.append(np.clip(res.x, lo, hi))
    final_seeds = replica_seeds(args.seed + 1, 100)
    best = None
    for x in finalists:
        values = dict(zip(names, (float(v) for v in x), strict=True))
        loss, med, flown = score(scenario, values, final_seeds, fitted_only=True, centre=args.centre)
        print(f"100 seeds: loss(fitted targets)={loss:.4f} {values}", flush=True)
        if best is None or loss < best[0]:
            best = (loss, values, med, flown)
    assert best is not None
    loss, values, med, flown = best
    print("\n# best parameters (100 seeds, fitted targets; held-out targets checked below):")
    for n, v in values.items():
        print(f"{n} = {v:.4g}")
    for row in evaluate_targets(med, scenario.start_date, targets_for(scenario)):
        flag = "ok " if row["ok"] else "MISS"
        used = "fitted" if row["fitted"] else "held out"
        high = "" if row["high"] is None else f"{row['high']:g}"
        print(f"{flag} {row['target']:<36} median {row['value']:7.1f}  range [{row['low']:g}, {high}]  ({used})")
    print(f"flight: median {np.median(flown):.0f} people flown (reported 115)")
    return 0


def _simplex(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A starting simplex of ±10 % of each range around x (inside the bounds)."""
    pts = [x.copy()]
    for i in range(len(x)):
        y = x.copy()
        step = 0.1 * (hi[i] - lo[i])
        y[i] = y[i] + step if y[i] + step <= hi[i] else y[i] - step
        pts.append(y)
    return np.array(pts)


if __name__ == "__main__":
    sys.exit(main())
