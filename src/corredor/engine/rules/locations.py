"""Per-location rules evaluated once per day: decay, score, spawn weight, move chance.

Flee 3.1 sources: SimulationSettings.get_conflict_decay, scoring.updateLocationScore,
spawning.refresh_spawn_weights, Person.evolve (flee-model.md §3.3-3.6).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def conflict_decay(age: int, decay: np.ndarray, interval: int, use_decay: bool) -> float:
    """decay(Δt) = L[min(int(Δt / interval), len(L) − 1)]; 1 without a decay list."""
    if not use_decay:
        return 1.0
    k = int(age / interval)  # Python's int() truncates toward zero, as Flee does
    if k > decay.shape[0] - 1:
        k = decay.shape[0] - 1
    if k < 0:
        k = 0
    return decay[k]


@nb.njit(cache=True, nogil=True)
def location_scores(t: int, foreign: np.ndarray, camp: np.ndarray, conflict: np.ndarray,
                    toc: np.ndarray, decay: np.ndarray, interval: int, use_decay: bool,
                    foreign_w: float, camp_w: float, conflict_w: float, out: np.ndarray) -> None:
    """score = foreign_weight? × camp_weight? × conflict_weight^(decay(t − toc)·c) if c > 0."""
    for i in range(out.shape[0]):
        s = 1.0
        if foreign[i]:
            s *= foreign_w
        if camp[i]:
            s *= camp_w
        if conflict[i] > 0.0:
            s *= conflict_w ** (conflict_decay(t - toc[i], decay, interval, use_decay) * conflict[i])
        out[i] = s


@nb.njit(cache=True, nogil=True)
def attractiveness(score: np.ndarray, camp: np.ndarray, pop: np.ndarray, use_pop: bool,
                   pop_power: float, out: np.ndarray) -> None:
    """A(v) = score(v) × min(1, pop)^p for non-camps when use_pop_for_loc_weight (3.1's min, §7.2)."""
    for i in range(out.shape[0]):
        a = score[i]
        if use_pop and not camp[i]:
            a *= min(1.0, float(pop[i])) ** pop_power
        out[i] = a


@nb.njit(cache=True, nogil=True)
def spawn_weights(tau: int, conflict: np.ndarray, toc: np.ndarray, pop: np.ndarray,
                  decay: np.ndarray, interval: int, use_decay: bool, out: np.ndarray) -> float:
    """W_i = pop_i × c_i × decay(τ − toc_i) where c_i > 0, else 0; returns ΣW."""
    total = 0.0
    for i in range(out.shape[0]):
        w = 0.0
        if conflict[i] > 0.0:
            w = float(pop[i]) * conflict[i] * conflict_decay(tau - toc[i], decay, interval, use_decay)
        out[i] = w
        total += w
    return total


@nb.njit(cache=True, nogil=True)
def move_chances(base: np.ndarray, pop: np.ndarray, capacity: np.ndarray, pop_base: float,
                 pop_scale: float, out: np.ndarray) -> None:
    """m = movechance × (max(pop, capacity)/movechance_pop_base)^movechance_pop_scale_factor."""
    for i in range(out.shape[0]):
        m = base[i]
        if pop_scale != 0.0:
            m *= (float(max(pop[i], capacity[i])) / pop_base) ** pop_scale
        out[i] = m
