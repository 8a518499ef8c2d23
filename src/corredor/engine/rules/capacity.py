"""Capacity multiplier (moving.getCapMultiplier, flee-model.md §3.8), Flee 3.1: no scaling."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True, inline="always")
def cap_multiplier(capacity: int, n: int, buffer: float) -> float:
    """1 below buffer·C, 0 at or above C, linear in between; 1 when C < 1 (no capacity)."""
    if capacity < 1:
        return 1.0
    c = float(capacity)
    if n <= buffer * c:
        return 1.0
    if n >= c:
        return 0.0
    return 1.0 - (n - buffer * c) / (c * (1.0 - buffer))


@nb.njit(cache=True, nogil=True)
def cap_multipliers(capacity: np.ndarray, count: np.ndarray, buffer: float, out: np.ndarray) -> None:
    """Cap(v) for every location from the current counts (agents at v, not on links)."""
    for i in range(out.shape[0]):
        out[i] = cap_multiplier(capacity[i], count[i], buffer)
