"""analysis.peak: a reported peak ("~400 on some day up to 21 Apr") against a simulated series."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from corredor.analysis import peak
from corredor.analysis.peak import (
    PEAK_TOLERANCE,
    check_peak,
    peak_bounds,
    peak_verdict,
    simulated_peak,
)


def test_its_examples_hold():
    assert doctest.testmod(peak).failed == 0


def test_the_simulated_peak_is_the_most_on_any_day_up_to_the_reports_date():
    series = np.array([0.0, 120.0, np.nan, 90.0, 700.0])
    assert simulated_peak(series, 3) == 120.0  # (a later day's 700 is not part of it; NaN is skipped)
    assert simulated_peak(series, 0) == 0.0
    replicas = np.array([[1.0, 5.0, 2.0], [9.0, 0.0, 0.0]])
    assert simulated_peak(replicas, 1).tolist() == [5.0, 9.0]  # (each replica's own)


@pytest.mark.parametrize("simulated, verdict", [(199.0, "below"), (200.0, "inside"), (400.0, "inside"),
                                                (600.0, "inside"), (600.5, "above")])
def test_a_simulated_peak_matches_within_the_tolerance(simulated, verdict):
    assert PEAK_TOLERANCE == 0.5 and peak_bounds(400.0) == (200.0, 600.0)
    c = peak_verdict(400.0, simulated)
    assert (c.verdict, c.ok) == (verdict, verdict == "inside")
    assert c.difference == pytest.approx((simulated - 400.0) / 400.0)


def test_check_peak_takes_an_observation_row_and_refuses_another_kind():
    row = {"day": 2, "location": "camp", "kind": "peak", "value": 10.0, "low": None, "high": None}
    c = check_peak(row, np.array([3.0, 4.0, 6.0, 50.0]))
    assert (c.simulated, c.low, c.high, c.verdict) == (6.0, 5.0, 15.0, "inside")
    assert np.isnan(peak_verdict(0.0, 0.0).difference) and peak_verdict(0.0, 0.0).ok  # (a peak of 0)
    with pytest.raises(ValueError, match="not a reported peak"):
        check_peak({**row, "kind": "point"}, np.zeros(4))
