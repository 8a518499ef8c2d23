"""Route choice and travel (steps 3–4): move people toward their destination along cheap links.

Route choice: at a place, the candidates are the ordinary links whose far end is strictly cheaper
to go on from (cost-to-go from the plan's per-epoch tables: distance + price + risk + a penalty for
crossings the group cannot pass regularly), chosen by a logit on total cost with temperature
`route_temperature_km`. Strictly decreasing cost-to-go means nobody walks in circles.
Travel: up to `speed_km_per_day` per day, over several links; a person stops at the start of a
border-crossing link (the crossing step decides), at their destination (trip ends), at a stop place
(locations.csv `stop = yes`: held there until an event moves them on; not someone heading back to
their fallback) or when the day's distance is used up. Nobody else is ever at a place when the
day's events run (step 7): an event from a place people only pass through moves nobody.
A route with its own `speed_km_per_day` v takes distance × speed / v of the
day's budget: the plan's `link_travel_km`, which is what these kernels are given as `link_km`.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..rng import Stream, uniform
from .crisis_state import EXITED, HELD, MOVING, SETTLED

# stream constants as plain ints (numba cannot read class attributes)
_S_ROUTE = Stream.ROUTE


@nb.njit(cache=True, nogil=True)
def choose_link(
    seed: np.uint64, day: int, i: int, hop: int, v: int, g: int, d: int, e: int, temperature: float,
    out_start: np.ndarray, out_links: np.ndarray, link_to: np.ndarray, link_normal: np.ndarray,
    link_cost: np.ndarray, togo: np.ndarray,
) -> int:
    """Next link from place v toward destination slot d for group g in epoch e, or −1 if none."""
    here = togo[e, g, d, v]
    if not math.isfinite(here):
        return -1
    best = math.inf
    for j in range(out_start[v], out_start[v + 1]):
        k = out_links[j]
        w = link_to[k]
        if link_normal[k] == 0 or togo[e, g, d, w] >= here:
            continue
        c = link_cost[e, g, k] + togo[e, g, d, w]
        if c < best:
            best = c
    if not math.isfinite(best):
        return -1
    total = 0.0
    for j in range(out_start[v], out_start[v + 1]):
        k = out_links[j]
        w = link_to[k]
        if link_normal[k] == 0 or togo[e, g, d, w] >= here:
            continue
        total += math.exp(-(link_cost[e, g, k] + togo[e, g, d, w] - best) / temperature)
    u = uniform(seed, day, _S_ROUTE, i, hop) * total
    chosen = -1
    acc = 0.0
    for j in range(out_start[v], out_start[v + 1]):
        k = out_links[j]
        w = link_to[k]
        if link_normal[k] == 0 or togo[e, g, d, w] >= here:
            continue
        chosen = k
        acc += math.exp(-(link_cost[e, g, k] + togo[e, g, d, w] - best) / temperature)
        if u < acc:
            break
    return chosen


@nb.njit(parallel=True, cache=True, nogil=True)
def travel(
    seed: np.uint64, day: int, n: int, speed: float, e: int, temperature: float,
    state: np.ndarray, group: np.ndarray, node: np.ndarray, link: np.ndarray, km_left: np.ndarray,
    dest: np.ndarray, returning: np.ndarray, at_cross: np.ndarray, hops: np.ndarray,
    arrived: np.ndarray,
    out_start: np.ndarray, out_links: np.ndarray, link_to: np.ndarray, link_km: np.ndarray,
    link_normal: np.ndarray, link_crossing: np.ndarray, link_cost: np.ndarray, togo: np.ndarray,
    dest_nodes: np.ndarray, stop: np.ndarray,
) -> None:
    """Advance every moving person by one day of travel (independent per person: parallel).
    `stop[v]` 1: a stop place, where those not heading back are held (HELD)."""
    for i in nb.prange(n):
        if state[i] != MOVING or at_cross[i] >= 0:
            continue
        budget = speed
        for _step in range(512):
            if link[i] < 0:
                v = node[i]
                if v == dest_nodes[dest[i]]:
                    arrived[i] = v
                    state[i] = SETTLED if returning[i] == 1 else EXITED
                    break
                if stop[v] == 1 and returning[i] == 0:
                    state[i] = HELD  # waits there for a transfer, flight or corridor (step 7)
                    break
                if budget <= 0.0:
                    break
                k = choose_link(seed, day, i, hops[i], v, group[i], dest[i], e, temperature,
                                out_start, out_links, link_to, link_normal, link_cost, togo)
                if k < 0:
                    break  # no way on from here: stays at the place
                if link_crossing[k] >= 0:
                    at_cross[i] = link_crossing[k]  # queue at the crossing (step 5)
                    break
                link[i] = k
                km_left[i] = link_km[k]
                hops[i] += 1
            step = min(budget, km_left[i])
            km_left[i] -= step
            budget -= step
            if km_left[i] <= 1e-9:
                node[i] = link_to[link[i]]
                link[i] = -1
                km_left[i] = 0.0
            else:
                break
