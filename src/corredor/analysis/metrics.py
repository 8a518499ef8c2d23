"""Errors against observed data: Flee's averaged relative difference (ARD), plain and rescaled.

Definition (flee-model.md §4.2; Flee's extract-validation-results.py): for each day t, over the
output camps c, with U = int(Σ_c data_c) and S = Σ_c sim_c,

    E_norm(t) = Σ_c round(|sim_c − data_c|, 4) / max(U, 1)
    E_resc(t) = Σ_c round(|ŝ_c − data_c|, 4) / max(U, 1),   ŝ_c = sim_c·U/S (0 when S = 0)

and the score is the mean over all days (none skipped). Flee's "Error (rescaled)" is the mean of
E_resc; FabFlee's "mean error" is half of it.

>>> ard_daily(np.array([[10, 0]]), np.array([[5, 5]]))
array([1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np


def ard_daily(sim: np.ndarray, data: np.ndarray, rescaled: bool = False) -> np.ndarray:
    """Per-day ARD for arrays shaped (day, camp); NaN data counts as 0 (Flee has no missing days)."""
    sim = np.asarray(sim, dtype=np.float64)
    data = np.nan_to_num(np.asarray(data, dtype=np.float64), nan=0.0)
    if sim.shape != data.shape or sim.ndim != 2:
        raise ValueError(f"sim and data must both be (day, camp) arrays, got {sim.shape} and {data.shape}")
    out = np.zeros(sim.shape[0])
    for t in range(sim.shape[0]):
        u = int(data[t].sum())
        s = sim[t].sum()
        tot = 0.0
        for c in range(sim.shape[1]):
            x = sim[t, c]
            if rescaled:
                x = x * u / s if s > 0 else 0.0
            tot += round(abs(float(x) - float(data[t, c])), 4)  # Python's round, as Flee
        out[t] = tot / max(u, 1)
    return out


def ard_mean(sim: np.ndarray, data: np.ndarray, rescaled: bool = False,
             positive_days_only: bool = False) -> float:
    """Mean over days of ard_daily; `positive_days_only` keeps days with a positive data total."""
    e = ard_daily(sim, data, rescaled)
    if positive_days_only:
        keep = np.nan_to_num(np.asarray(data, dtype=np.float64)).sum(axis=1).astype(np.int64) > 0
        e = e[keep]
    return float(e.mean()) if e.size else float("nan")


def camp_arrays(results: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(sim, data, camp names) of a Results: population and observed at the output camps."""
    ds = results.dataset
    mask = np.asarray(ds["is_camp"].values, dtype=bool)
    names = [str(n) for n in np.asarray(ds["location"].values)[mask]]
    sim = np.asarray(ds["population"].values)[:, mask]
    data = np.asarray(ds["observed"].values)[:, mask]
    return sim, data, names


#: How every table, page and summary line names the manifest's ARD keys. The keys keep their
#: names (files and scripts read them), but "ARD" alone means two things: Flee's validation
#: score, which Flee prints as "Error (rescaled)" and FabFlee and `calibrate --objective ard`
#: report, is `ard_rescaled_*`; `ard_*` is the plain, unscaled error, Flee's "Error (normal)".
ARD_LABELS: dict[str, str] = {
    "ard_rescaled_mean": "ARD (Flee's score, rescaled), mean over days",
    "ard_mean": "plain ARD (unscaled), mean over days",
    "ard_rescaled_final": "ARD (Flee's score, rescaled), last day",
    "ard_final": "plain ARD (unscaled), last day",
}


def ard_summary(results: Any) -> dict[str, float]:
    """The manifest's metrics (none without any camp's data series), Flee's validation score first: ard_rescaled_mean (Flee's "Error
    (rescaled)"), ard_mean (plain, Flee's "Error (normal)"), ard_rescaled_final and ard_final
    (the last day's). `ARD_LABELS` names them for people. Camps without a data series (their
    `observed` NaN every day: a scenario that gives some none) are left out, as
    `calibrate.ard_from_dataset` does; counted as 0 people, their simulated people were all error."""
    sim, data, _ = camp_arrays(results)
    kept = np.isfinite(np.asarray(data, dtype=np.float64)).any(axis=0)
    if not kept.any():
        return {}  # (no data to score against: no ARD, rather than the simulated people as error)
    sim, data = sim[:, kept], data[:, kept]
    plain = ard_daily(sim, data, rescaled=False)
    resc = ard_daily(sim, data, rescaled=True)
    return {
        "ard_rescaled_mean": float(resc.mean()),
        "ard_mean": float(plain.mean()),
        "ard_rescaled_final": float(resc[-1]),
        "ard_final": float(plain[-1]),
    }


def ard_line(metrics: dict[str, Any]) -> str:
    """A run's ARDs for its summary line, Flee's score first and each named for what it is:
    "ARD (Flee's score, rescaled) 0.2773; plain ARD (unscaled) 0.3408"."""
    return (f"ARD (Flee's score, rescaled) {metrics['ard_rescaled_mean']:.4f}; "
            f"plain ARD (unscaled) {metrics['ard_mean']:.4f}")
