"""Load the Flee 3.1 reference fixtures (tests/fixtures/flee31) and recompute what they imply.

Why: corredor's tests compare its Flee rules with what flee==3.1 itself produced, without Flee
installed. The fixtures were made by benchmarks/flee31_fixtures.py; each holds a ``provenance``
block (Flee version, command, date, seeds, hasten). Fixture layout and keys: benchmarks/README.md.

    from flee31_reference import load_deterministic, load_ensemble
    det = load_deterministic("mali2012")          # hasten 10
    det["daily"]["spawned"][:3], det["camps"], det["data"]["Mentao"][-1]
    ens = load_ensemble("mali2012")
    ens["mean"]["Mentao"][-1], ens["sd"]["Mentao"][-1], [r["ard_rescaled"] for r in ens["runs"]]
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "flee31"
CASES = ("mali2012", "burundi", "car")
DEFAULT_HASTEN = 10


def fixture_path(kind: str, case: str, hasten: int = DEFAULT_HASTEN) -> Path:
    """Path of a fixture; ``kind`` is 'deterministic' or 'ensemble'."""
    if kind not in ("deterministic", "ensemble"):
        raise ValueError(f"kind must be 'deterministic' or 'ensemble', not {kind!r}")
    return FIXTURE_DIR / kind / f"{case}_h{hasten}.json"


def available(kind: str, hasten: int = DEFAULT_HASTEN) -> list[str]:
    """Cases (of CASES) that have a fixture of this kind."""
    return [c for c in CASES if fixture_path(kind, c, hasten).exists()]


@cache
def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def load_deterministic(case: str, hasten: int = DEFAULT_HASTEN) -> dict[str, Any]:
    """Seed-independent Flee 3.1 series of a case: spawns, debt, data columns, events, capacities."""
    return _load(fixture_path("deterministic", case, hasten))


def load_ensemble(case: str, hasten: int = DEFAULT_HASTEN) -> dict[str, Any]:
    """Flee 3.1 ensemble summary of a case: per camp per day mean/SD of sim, per-seed finals and ARD."""
    return _load(fixture_path("ensemble", case, hasten))


def spawns_from_total(total: list[int], insert_day0: bool = True) -> tuple[list[int], list[int]]:
    """Flee 3.1's daily spawn count and debt from the daily UNHCR total (refugees.csv).

    new(t) = Δ(t) − debt, Δ(t) = total(t) − total(t−1) (Δ(0) = total(0)); new forced to 0 on day 0
    with insert_day0; a negative new becomes debt = −new and 0 spawns, else the debt is cleared.
    """
    spawned, debts = [], []
    debt = 0
    for t, v in enumerate(total):
        delta = v - total[t - 1] if t > 0 else v
        new = delta - debt
        if insert_day0 and t == 0:
            new = 0
        if new < 0:
            debt = -new
            new = 0
        elif debt > 0:
            debt = 0
        spawned.append(new)
        debts.append(debt)
    return spawned, debts


def ard_day(sim: dict[str, float], data: dict[str, float], rescaled: bool) -> float:
    """One day's averaged relative difference (flee-model.md §4.2), camps = keys of ``sim``.

    E = Σ_c round(|ŝ_c − data_c|, 4) / max(U, 1), U = int(Σ data), S = Σ sim;
    ŝ = sim·U/S (0 if S = 0) when rescaled, else ŝ = sim.
    """
    u = int(sum(data[c] for c in sim))
    s = sum(sim.values())
    tot = 0.0
    for c, x in sim.items():
        hat = (x * u / s if s > 0 else 0.0) if rescaled else x
        tot += round(abs(hat - data[c]), 4)
    return tot / max(u, 1)


#: Criterion 4: the mean rescaled ARDs differ by at most 4 standard errors of the difference
#: (from both sides' SDs over seeds). It was ±0.02, 13–51 SE of the difference in the three cases:
#: an engine off by 5–7 % of the ARD would have passed (a statistics review); measured, the
#: difference is within 0.6 SE in every case and engine (docs/validation.md).
ARD_MAX_Z = 4.0
#: ... and never more than this, whatever the SDs (an engine whose ARD spread grew would widen its
#: own tolerance)
ARD_MAX_DIFF = 0.02


def criteria(ens: dict[str, Any], sims: Any, ards: Any, data: Any) -> dict[str, Any]:
    """Issue 3's equivalence criteria of corredor runs against a Flee 3.1 ensemble fixture.

    `sims`: populations (seed, day, camp) in the order of ens["camps"]; `ards`: their rescaled
    ARDs; `data`: the observations (day, camp). On every 10th day, a point is within tolerance if
    the means differ by at most 3 SE (of the difference of the two means) + 1 % of the data; KS
    p per camp on the final counts; and the difference of the mean rescaled ARDs, with its
    standard error from both sides' SDs over seeds (`ard_z` = ard_diff / ard_se). The tests
    assert share_within ≥ 0.95, every KS p > 0.01 and |ard_z| ≤ ARD_MAX_Z (with |ard_diff| ≤
    ARD_MAX_DIFF as an outer bound); benchmarks/flee_criteria.py prints them.
    """
    import numpy as np
    from scipy import stats

    s = np.asarray(sims, dtype=np.float64)
    data = np.asarray(data, dtype=np.float64)
    camps = list(ens["camps"])
    n, k = s.shape[0], int(ens["n_seeds"])
    f_mean = np.array([ens["mean"][c] for c in camps]).T
    f_sd = np.array([ens["sd"][c] for c in camps]).T
    days = np.arange(0, s.shape[1], 10)
    se = np.sqrt(s.std(0, ddof=1)[days] ** 2 / n + f_sd[days] ** 2 / k)
    ok = np.abs(s.mean(0)[days] - f_mean[days]) <= 3 * se + 0.01 * data[days]
    ks = {c: float(stats.ks_2samp(s[:, -1, j], [r["final"][c] for r in ens["runs"]]).pvalue)
          for j, c in enumerate(camps)}
    f_ards = np.array([r["ard_rescaled"] for r in ens["runs"]], dtype=np.float64)
    ards = np.asarray(ards, dtype=np.float64)
    ard_flee = float(f_ards.mean())
    ard_diff = float(ards.mean()) - ard_flee
    ard_se = float(np.sqrt(ards.var(ddof=1) / ards.size + f_ards.var(ddof=1) / f_ards.size))
    return {"within": int(ok.sum()), "points": int(ok.size), "share_within": float(ok.mean()),
            "ks": ks, "ks_min_p": min(ks.values()), "ard_sim": float(ards.mean()),
            "ard_flee": ard_flee, "ard_diff": ard_diff, "ard_se": ard_se,
            "ard_z": ard_diff / ard_se if ard_se > 0 else (0.0 if ard_diff == 0 else float("inf"))}
