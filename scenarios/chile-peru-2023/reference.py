"""Fixed-seed reference of the Chile–Peru 2023 baseline: write it, or compare a fresh run with it.

Why: a change in the rules, the scenario or the random numbers shows up as a difference from this
file in review (tests/test_chile_peru.py compares it exactly), so behaviour changes are deliberate.
Refresh after an intended change:  .venv/bin/python scenarios/chile-peru-2023/reference.py --write
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference_seed0.json"
DATES = ("2023-04-13", "2023-04-21", "2023-04-29", "2023-05-05", "2023-05-08", "2023-05-10",
         "2023-05-15", "2023-06-30")


def summary(seed: int = 0) -> dict:
    """Policy metrics and camp populations on key dates of one baseline run (1 thread)."""
    import datetime as dt

    from corredor import load_scenario
    from corredor.analysis.compare import policy_metrics
    from corredor.engine.crisis import simulate_crisis

    scenario = load_scenario(HERE)
    ds = simulate_crisis(scenario, seed=seed, threads=1).dataset
    camp = ds["population"].sel(location="camp").values
    days = {d: (dt.date.fromisoformat(d) - scenario.start_date).days for d in DATES}
    crossings = ds["crossings"].sum(["day", "crossing"])
    return {
        "seed": seed,
        "metrics": {k: (None if v != v else v) for k, v in policy_metrics(ds).items()},
        "camp": {d: int(camp[k]) for d, k in days.items()},
        "crossings_by_mode": {str(m): int(v) for m, v in zip(ds["mode"].values, crossings.values, strict=True)},
        "total_people": int(ds["total_people"].values[-1]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="(re)write reference_seed0.json")
    args = ap.parse_args(argv)
    now = summary(0)
    if args.write:
        REFERENCE.write_text(json.dumps(now, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {REFERENCE}")
        return 0
    old = json.loads(REFERENCE.read_text(encoding="utf-8"))
    print("same as the reference" if old == now else json.dumps({"reference": old, "now": now}, indent=1))
    return 0 if old == now else 1


if __name__ == "__main__":
    sys.exit(main())
