"""One camp's final-day spread, corredor against Flee 3.1, with enough Flee seeds to see rare events.

Why: on mali2012 (hasten 10) the 20-seed Flee fixture gives Fassala-Mbera a final-day SD of 25
while corredor's agent engine gives ~110. The camp sits at its full-camp gate (Cap < 0.5 at
n > (B + (1 − B)/2)·C = 6,639.5 with B = 0.75, C = 7,588): residents leave at 0.001 a day, and
each time the count dips under the gate, the people waiting in Lere (98 km away) rush in, ~170 at
once. Lere turns into a conflict zone on day 273 and everyone there must move; a seed whose gate
happens to open in the days after that gets a burst of 300–700 people, which decays by only
~7 a day until the end. That is a rare event with a big effect, so a sample of 20 Flee runs can
easily contain none. This script runs more Flee seeds (with every location's daily count, see
flee31_driver.py's `population_all`) and corredor seeds, and compares the camp's final count
(KS, Levene, share of late bursts) and the size and spacing of the bursts before day 273.

    python benchmarks/camp_tail.py --flee-seeds 1-24 --seeds 60 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))


def _seeds(text: str) -> list[int]:
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


def bursts(x: np.ndarray, lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    """(day, increase) for day-to-day increases above `size` on days lo..hi−1."""
    d = np.diff(x)
    return [(int(t + 1), int(d[t])) for t in np.flatnonzero(d > size) if lo <= t + 1 < hi]


def main() -> None:
    from scipy import stats

    from corredor.engine.agents import run_agents
    from corredor.plan import compile_plan
    from corredor.scenario import load_scenario
    from flee31_driver import run_flee

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", default="mali2012")
    ap.add_argument("--camp", default="Fassala-Mbera")
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--flee-seeds", default="1-24")
    ap.add_argument("--seeds", type=int, default=60, help="corredor seeds (1000, 1001, …)")
    ap.add_argument("--jobs", type=int, default=2, help="Flee runs at once")
    ap.add_argument("--late-day", type=int, default=273, help="bursts from this day on are 'late'")
    ap.add_argument("--late-final", type=float, default=6780.0,
                    help="a final count above this marks a late burst")
    ap.add_argument("--cache", type=Path, default=REPO / "benchmarks" / "out" / "camp_tail")
    args = ap.parse_args()
    case = REPO.parent / "shared" / "data" / "flee" / args.case
    args.cache.mkdir(parents=True, exist_ok=True)

    def flee(seed: int) -> np.ndarray:
        f = args.cache / f"{args.case}_h{args.hasten}_s{seed}.json"
        if not f.exists():
            run_flee(case, args.hasten, seed, json_out=f)
        r = json.loads(f.read_text())
        return np.array(r["daily"]["population_all"])[:, r["locations"].index(args.camp)]

    with ThreadPoolExecutor(args.jobs) as ex:
        fl = np.array(list(ex.map(flee, _seeds(args.flee_seeds))))
    plan = compile_plan(load_scenario(case, hasten=args.hasten))
    j = list(plan.location_names).index(args.camp)
    co = np.array([run_agents(plan, seed=1000 + k, threads=1).population[:, j]
                   for k in range(args.seeds)])
    t_end = fl.shape[1] - 1
    print(f"{args.case} h{args.hasten}, {args.camp}: Flee 3.1 {len(fl)} seeds, corredor {len(co)}")
    for name, x in (("Flee 3.1", fl), ("corredor", co)):
        b = [bursts(v, 190, args.late_day, 100) for v in x]
        sizes = np.array([s for v in b for _, s in v], float)
        gaps = np.array([g for v in b for g in np.diff([t for t, _ in v])], float)
        late = int((x[:, t_end] > args.late_final).sum())
        print(f"  {name:<9} final {x[:, t_end].mean():7.1f} ± {x[:, t_end].std(ddof=1):5.1f} (SD); "
              f"late bursts {late}/{len(x)}; bursts before day {args.late_day}: {len(sizes)}, "
              f"size {sizes.mean():.1f} ± {sizes.std(ddof=1) / np.sqrt(len(sizes)):.1f} (SE), "
              f"spacing {gaps.mean():.1f} ± {gaps.std(ddof=1) / np.sqrt(len(gaps)):.1f} days")
    lf, lc = int((fl[:, t_end] > args.late_final).sum()), int((co[:, t_end] > args.late_final).sum())
    print(f"  KS p (final) {stats.ks_2samp(fl[:, t_end], co[:, t_end]).pvalue:.3f}; "
          f"Levene p (equal spread) {stats.levene(fl[:, t_end], co[:, t_end]).pvalue:.3f}; "
          f"Fisher p (late-burst share) "
          f"{stats.fisher_exact([[lf, len(fl) - lf], [lc, len(co) - lc]]).pvalue:.3f}")


if __name__ == "__main__":
    main()
