"""Departures: people appear at their origin with a group, a destination and cash (step 1).

Draws are keyed by (seed, day, stream, person), so who gets which group does not depend on threads.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..rng import Stream, uniform
from .crisis_state import MOVING

# stream constants as plain ints (numba cannot read class attributes)
_S_CASH = Stream.CASH
_S_DESTINATION = Stream.DESTINATION
_S_GROUP = Stream.GROUP


@nb.njit(cache=True, nogil=True)
def _pick(cdf: np.ndarray, u: float) -> int:
    """Index of the first cumulative value above u (categorical draw)."""
    k = 0
    while k < cdf.shape[0] - 1 and u >= cdf[k]:
        k += 1
    return k


@nb.njit(parallel=True, cache=True, nogil=True)
def depart(
    seed: np.uint64, day: int, lo: int, hi: int, person_origin: np.ndarray,
    group_cdf: np.ndarray, dest_cdf: np.ndarray, cash_mean: np.ndarray, cash_sd: np.ndarray,
    state: np.ndarray, group: np.ndarray, node: np.ndarray, link: np.ndarray,
    dest: np.ndarray, goal: np.ndarray, cash: np.ndarray,
) -> None:
    """Create people lo..hi-1 at their origins (group ~ shares, destination ~ group's, cash ~ normal ≥ 0)."""
    for i in nb.prange(lo, hi):
        g = _pick(group_cdf, uniform(seed, day, _S_GROUP, i))
        group[i] = g
        dest[i] = _pick(dest_cdf[g], uniform(seed, day, _S_DESTINATION, i))
        goal[i] = dest[i]
        # Box–Muller normal from two uniforms; cash cannot be negative
        u1 = max(uniform(seed, day, _S_CASH, i, 0), 1e-300)
        u2 = uniform(seed, day, _S_CASH, i, 1)
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        cash[i] = max(0.0, cash_mean[g] + cash_sd[g] * z)
        node[i] = person_origin[i]
        link[i] = -1
        state[i] = MOVING
