"""Crossing attempts and waiting (steps 5–6): who passes a border crossing today, who is stranded.

Step 5, crossing attempts, runs in person order (a queue: earlier departures first) because
capacities are shared: a person at a crossing passes regularly if the policy of the day lets their
group through (open, or documents required and they have them) and capacity is left in their
group's pool (the policy row that sets it: the groups it names share it); else through a
humanitarian admission if one is open to their group and its pool has room; else by paying the informal price if one is
demanded and they have the cash (success `bribe`, money counted only when it works); else they are
stranded (WAITING) at the staging place.
Step 6, waiting, for everyone who failed today: give up with hazard rate
`give_up_base + give_up_per_day × days waited` and head to the group's fallback place (not
someone already heading there, held at a crossing on the way back: they cannot turn back twice);
else, if
refused (not merely behind a full day's capacity: those queue for the next day), try the
marked irregular path (where the crossing names one) with probability `irregular_try`, succeeding with
`irregular_success × (1 − militarisation)`, and on failure being pushed back with probability
`pushback_factor × militarisation`; else wait one more day.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..rng import Stream, uniform
from .crisis_plan import DOCUMENTS, M_ADMISSION, M_IRREGULAR, M_PAID, M_REGULAR, OPEN
from .crisis_state import MOVING, WAITING

#: `failed` of someone the policy lets through but today's capacity did not: they wait their turn
#: (they may still give up) instead of trying the irregular path, which is for the refused
QUEUED = 2

# stream constants as plain ints (numba cannot read class attributes)
_S_BRIBE = Stream.BRIBE
_S_GIVE_UP = Stream.GIVE_UP
_S_IRREGULAR = Stream.IRREGULAR


@nb.njit(cache=True, nogil=True)
def cross(
    seed: np.uint64, day: int, n: int,
    state: np.ndarray, group: np.ndarray, link: np.ndarray, km_left: np.ndarray,
    cash: np.ndarray, waited: np.ndarray, at_cross: np.ndarray, failed: np.ndarray, hops: np.ndarray,
    status: np.ndarray, docs: np.ndarray, admission: np.ndarray, capacity_pool: np.ndarray,
    pool_cap: np.ndarray, admission_pool: np.ndarray, admission_pool_cap: np.ndarray,
    price: np.ndarray, bribe: np.ndarray,
    cross_link: np.ndarray, link_km: np.ndarray,
    crossings_out: np.ndarray, money_out: np.ndarray,
) -> None:
    """Attempt the crossing for everyone queued at one (sequential: capacities are shared).
    `capacity_pool[c, g]` / `admission_pool[c, g]`: today's pool of group g at crossing c (−1:
    no limit), whose daily size is `pool_cap` / `admission_pool_cap`."""
    cap_left = pool_cap.copy()
    adm_left = admission_pool_cap.copy()
    for i in range(n):
        c = at_cross[i]
        if c < 0 or (state[i] != MOVING and state[i] != WAITING):
            continue
        g = group[i]
        st = status[c, g]
        mode = -1
        r = capacity_pool[c, g]
        allowed = st == OPEN or (st == DOCUMENTS and docs[g] == 1)
        if allowed and (r < 0 or cap_left[r] > 0):
            mode = M_REGULAR
            if r >= 0:
                cap_left[r] -= 1
        a = admission_pool[c, g]
        if mode < 0 and admission[c, g] == 1 and (a < 0 or adm_left[a] > 0):
            mode = M_ADMISSION
            if a >= 0:
                adm_left[a] -= 1
        if mode < 0 and price[c, g] > 0.0 and cash[i] >= price[c, g]:
            if uniform(seed, day, _S_BRIBE, i) < bribe[c, g]:
                mode = M_PAID
                cash[i] -= price[c, g]
                money_out[c] += price[c, g]
        if mode >= 0:
            crossings_out[c, mode] += 1
            k = cross_link[c]
            link[i] = k
            km_left[i] = link_km[k]
            hops[i] += 1
            state[i] = MOVING
            at_cross[i] = -1
            waited[i] = 0
            failed[i] = 0
        else:  # refused (1), or let through but behind today's capacity: queued (2)
            state[i] = WAITING
            # queued only behind a pool that lets someone through each day (a capacity or an
            # admission limit of 0 is a refusal: nobody would ever reach its front)
            queued = (allowed and (r < 0 or pool_cap[r] > 0)) or (
                admission[c, g] == 1 and (a < 0 or admission_pool_cap[a] > 0))
            failed[i] = QUEUED if queued else 1


@nb.njit(cache=True, nogil=True)
def wait_decide(
    seed: np.uint64, day: int, n: int,
    state: np.ndarray, group: np.ndarray, node: np.ndarray, link: np.ndarray, km_left: np.ndarray,
    dest: np.ndarray, waited: np.ndarray, returning: np.ndarray, gave_up_on: np.ndarray,
    at_cross: np.ndarray,
    failed: np.ndarray, hops: np.ndarray,
    give_up_base: float, give_up_per_day: float, irregular_try: float, irregular_success: float,
    pushback_factor: float, militarisation: np.ndarray,
    cross_irr_link: np.ndarray, cross_pushback: np.ndarray, link_km: np.ndarray,
    group_fallback: np.ndarray,
    crossings_out: np.ndarray, pushbacks_out: np.ndarray, give_ups_out: np.ndarray,
) -> None:
    """Give up, try the irregular path, or wait one more day, for everyone who failed today."""
    for i in range(n):
        if state[i] != WAITING or failed[i] == 0:
            continue
        queued = failed[i] == QUEUED
        failed[i] = 0
        c = at_cross[i]
        g = group[i]
        rate = give_up_base + give_up_per_day * waited[i]
        # someone already heading back (returning) who is held at a crossing on the way has no
        # one to give up to: they wait or try the irregular path (a give-up counts a person once)
        if (returning[i] == 0 and group_fallback[g] >= 0
                and uniform(seed, day, _S_GIVE_UP, i) < 1.0 - math.exp(-rate)):
            state[i] = MOVING
            returning[i] = 1
            gave_up_on[i] = day
            dest[i] = group_fallback[g]
            at_cross[i] = -1
            waited[i] = 0
            give_ups_out[0] += 1
            continue
        if not queued and cross_irr_link[c] >= 0 and uniform(seed, day, _S_IRREGULAR, i, 0) < irregular_try:
            m = militarisation[c, g]
            if uniform(seed, day, _S_IRREGULAR, i, 1) < irregular_success * (1.0 - m):
                k = cross_irr_link[c]
                link[i] = k
                km_left[i] = link_km[k]
                hops[i] += 1
                state[i] = MOVING
                at_cross[i] = -1
                waited[i] = 0
                crossings_out[c, M_IRREGULAR] += 1
                continue
            if uniform(seed, day, _S_IRREGULAR, i, 2) < pushback_factor * m:
                pushbacks_out[c] += 1
                pb = cross_pushback[c]
                if pb != node[i]:
                    node[i] = pb
                    state[i] = MOVING
                    at_cross[i] = -1
                    waited[i] = 0
                    continue
        waited[i] += 1
