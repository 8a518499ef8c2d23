"""Averaged relative difference (flee-model.md §4.2) against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from corredor.analysis.metrics import ard_daily, ard_mean


def test_plain_ard_by_hand() -> None:
    sim = np.array([[10, 0], [30, 10]])
    data = np.array([[5, 5], [20, 20]])
    # day 0: (|10-5| + |0-5|) / 10 = 1.0; day 1: (10 + 10) / 40 = 0.5
    assert ard_daily(sim, data).tolist() == [1.0, 0.5]
    assert ard_mean(sim, data) == pytest.approx(0.75)


def test_rescaled_ard_by_hand() -> None:
    sim = np.array([[30, 10]])  # S = 40
    data = np.array([[20, 60]])  # U = 80 -> ŝ = (60, 20)
    # (|60-20| + |20-60|) / 80 = 1.0
    assert ard_daily(sim, data, rescaled=True).tolist() == [1.0]
    # plain: (10 + 50) / 80 = 0.75
    assert ard_daily(sim, data).tolist() == [0.75]


def test_zero_totals_follow_flee() -> None:
    # S = 0: ŝ = 0; U = 0: divide by max(U, 1) = 1
    assert ard_daily(np.array([[0, 0]]), np.array([[3, 4]]), rescaled=True).tolist() == [1.0]
    assert ard_daily(np.array([[2, 1]]), np.array([[0, 0]])).tolist() == [3.0]
    assert ard_daily(np.array([[2, 1]]), np.array([[0, 0]]), rescaled=True).tolist() == [0.0]


def test_rounding_to_four_decimals_per_camp() -> None:
    # ŝ = 1·7/3 = 2.3333..; |2.3333 − 2| rounds to 0.3333 per camp, as Flee's script does
    e = ard_daily(np.array([[1.0, 2.0]]), np.array([[2.0, 5.0]]), rescaled=True)[0]
    assert e == pytest.approx((0.3333 + 0.3333) / 7)


def test_positive_days_only_and_shape_check() -> None:
    sim = np.array([[1, 1], [4, 0]])
    data = np.array([[0, 0], [2, 2]])
    assert ard_mean(sim, data, positive_days_only=True) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ard_daily(np.zeros((2, 2)), np.zeros((3, 2)))


def test_matches_reference_helper_on_random_days() -> None:
    from flee31_reference import ard_day

    rng = np.random.default_rng(4)
    sim = rng.integers(0, 500, size=(20, 5))
    data = rng.integers(0, 500, size=(20, 5))
    names = [f"c{j}" for j in range(5)]
    for rescaled in (False, True):
        ours = ard_daily(sim, data, rescaled)
        ref = [ard_day(dict(zip(names, map(float, sim[t]), strict=True)),
                       dict(zip(names, map(float, data[t]), strict=True)), rescaled) for t in range(20)]
        assert np.allclose(ours, ref, rtol=0, atol=1e-12)
