"""The one rule of what an empirical quantile band of n runs holds (`analysis.bands`), which compare's
notes and ensemble's warnings both state."""

from __future__ import annotations

import numpy as np
import pytest

from corredor.analysis import compare, ensemble
from corredor.analysis.bands import MIN_BAND_RUNS, NEAR_RANGE_RUNS, band_coverage


@pytest.mark.parametrize("n", [2, 3, 5, 10, 20])
@pytest.mark.parametrize(("low", "high"), [(0.05, 0.95), (0.25, 0.75)])
def test_band_coverage_is_the_share_of_new_runs_an_empirical_band_holds(n: int, low: float, high: float) -> None:
    """For evenly spread values (uniform draws) the rule is exact: over many bands of n draws
    (numpy's linear quantiles, as every band corredor shows), the share of fresh draws inside is
    (high − low)(n − 1)/(n + 1); for a normal spread within 3 points."""
    rng = np.random.default_rng(11)
    for draw, slack in ((rng.uniform, 0.01), *([(rng.normal, 0.03)] if low == 0.05 else [])):
        x = draw(size=(40_000, n))
        lo, hi = np.quantile(x, [low, high], axis=1)
        fresh = draw(size=40_000)
        held = float(np.mean((fresh >= lo) & (fresh <= hi)))
        assert abs(held - band_coverage(n, low, high)) < slack, (draw, n, held, band_coverage(n, low, high))


def test_compare_and_ensemble_state_the_same_rule_at_the_same_thresholds() -> None:
    """compare said "a band of 3 seeds holds 45 % of runs" while ensemble said "holds 1 of the 3"
    (the replicas inside their own band), each by its own rule and its own threshold."""
    assert compare.band_coverage is band_coverage
    assert (compare.MIN_BAND_SEEDS, compare.NEAR_RANGE_SEEDS, ensemble.FEW_REPLICAS) == \
        (MIN_BAND_RUNS, NEAR_RANGE_RUNS, NEAR_RANGE_RUNS)
    for n in (2, 3, 5, 10, 19):
        share = f"{band_coverage(n):.0%}".replace("%", " %")
        assert f"holds on average {share} of runs" in (ensemble.few_replicas_note(n) or ""), n
        assert f"holds on average {'only ' if n < MIN_BAND_RUNS else ''}{share} of runs" in compare.band_note(n), n
    assert ensemble.few_replicas_note(NEAR_RANGE_RUNS) is None and compare.band_note(NEAR_RANGE_RUNS) == ""
