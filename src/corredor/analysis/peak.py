"""A reported peak against a simulated series: the one reading every page, figure and check uses.

An observation of kind `peak` ("UNHCR: peak of ~400", dated by the report that gave it, the day
of the peak itself unstated) says the most people at its place on any day up to its date was
about `value`. It is checked by the most the simulation had there over the same days (day 0 to
the report's day), which must lie within ±PEAK_TOLERANCE of `value`. Why one function: the run
report, the ensemble report, the main job's check and the figures each read it their own way
before (an upper bound in one, a dated count in another) and gave one report four verdicts.

>>> c = check_peak({"kind": "peak", "day": 3, "value": 400.0}, np.array([0, 100, 178, 0, 500]))
>>> c.simulated, c.low, c.high, c.verdict, c.ok, round(c.difference, 3)
(178.0, 200.0, 600.0, 'below', False, -0.555)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: How far a simulated peak may lie from a reported one ("~400") and still match it: ±50 %, the
#: tolerance the main job gives its other approximate count ("~60" on 13 Apr: 30–90).
PEAK_TOLERANCE = 0.5


@dataclass(frozen=True)
class PeakCheck:
    """One simulated peak against a reported one: `simulated` (the most there on any day up to
    the report's day), the range `low`..`high` it must lie in, and `verdict`: "inside", "below"
    (the simulation's peak is lower) or "above"."""

    reported: float
    simulated: float
    low: float
    high: float
    verdict: str

    @property
    def ok(self) -> bool:
        """Whether the simulated peak lies within the tolerance of the reported one."""
        return self.verdict == "inside"

    @property
    def difference(self) -> float:
        """(simulated − reported) / reported; NaN for a reported peak of 0."""
        return (self.simulated - self.reported) / self.reported if self.reported > 0 else math.nan


def peak_bounds(reported: float) -> tuple[float, float]:
    """The range a simulated peak must lie in to match a reported peak of `reported` people."""
    return reported * (1.0 - PEAK_TOLERANCE), reported * (1.0 + PEAK_TOLERANCE)


def simulated_peak(series: np.ndarray, day: int) -> Any:
    """The most people there on any day from day 0 to `day` (inclusive). `series`: one place's
    daily counts, day last (a run's (day,) gives a float; an ensemble's (replica, day) an array
    of each replica's peak)."""
    values = np.asarray(series, dtype=np.float64)[..., : day + 1]
    out = np.nanmax(values, axis=-1)
    return float(out) if out.ndim == 0 else out


def peak_verdict(reported: float, simulated: float) -> PeakCheck:
    """A simulated peak (`simulated_peak`) against a reported one."""
    low, high = peak_bounds(reported)
    lo_ok, hi_ok = simulated >= low - 1e-9, simulated <= high + 1e-9
    verdict = "inside" if lo_ok and hi_ok else "below" if not lo_ok else "above"
    return PeakCheck(float(reported), float(simulated), low, high, verdict)


def check_peak(observation: Mapping[str, Any], series: np.ndarray) -> PeakCheck:
    """A `peak` observation ({day, value, ...}, as observations.json holds it) against one place's
    simulated daily counts (`series`, indexed by the run's days)."""
    if observation.get("kind") != "peak" or observation.get("value") is None:
        raise ValueError(f"not a reported peak with a value: {dict(observation)}")
    return peak_verdict(float(observation["value"]), simulated_peak(series, int(observation["day"])))

