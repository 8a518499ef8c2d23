"""Scheduled events and shelters (steps 7–8): transfers, flights, corridors; life in a shelter.

Each event picks among the eligible people at its origin (right groups, at the place, not on a
road: waiting, sheltered, held at a stop place, or moving but stopped there) a random subset of the
allowed size: every eligible person gets a uniform keyed by
(seed, day, EVENT, person, event) and the smallest keys are taken, so the choice does not depend on
person order or threads.
- transfer: N people (or all) to a place; into a shelter only as far as its capacity allows
  (beds freed by an earlier event of the same day, a flight or a transfer out, count as free).
  Into a stop place (locations.csv `stop = yes`) that is not a shelter, they are held there
  (HELD) for a later event, as those who walk in (unless heading back to their fallback).
  Someone who gave up and is taken into a shelter or onto a flight no longer heads home; a
  give-up of the same day is then taken back, so `give_ups` counts people who left, once each.
- flight: up to `people` seats; the passengers leave the simulation (EXITED) at its destination.
- corridor: each day between its dates, up to `people` stranded people (or people held at a stop
  place) are put on the opened route.
A fare (`ev_fare` > 0, USD) is paid from the cash of each person moved (the cash a paid crossing
spends): the eligible are walked in key order and someone carrying less than the fare is passed
over (they stay where they are, as they were) and counted in `refused_out` (once per event and day
they are passed over), and the seat goes to the next; so the people moved are the first `people`
payers by key, and a fare of 0 takes exactly whom no fare would. What they pay is `fares_out`.
Admissions are not moves: they open a crossing to some groups and are applied in step 5.
Shelters: people there give up with the waiting hazard × `shelter_give_up_factor` (days counted
from the transfer) and head to their fallback place; the first such draw is on the day after the
transfer, so nobody faces two give-up draws (crossing, then shelter) on one day.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..rng import Stream, uniform
from .crisis_plan import CORRIDOR, FLIGHT, M_CORRIDOR, M_FLIGHT, M_TRANSFER, TRANSFER
from .crisis_state import EXITED, HELD, MOVING, SHELTERED, SHELTERED_TODAY, WAITING

# stream constants as plain ints (numba cannot read class attributes)
_S_EVENT = Stream.EVENT
_S_GIVE_UP = Stream.GIVE_UP


@nb.njit(cache=True, nogil=True)
def run_events(
    seed: np.uint64, day: int, n: int,
    state: np.ndarray, group: np.ndarray, node: np.ndarray, link: np.ndarray, km_left: np.ndarray,
    waited: np.ndarray, at_cross: np.ndarray, failed: np.ndarray, hops: np.ndarray, arrived: np.ndarray,
    returning: np.ndarray, gave_up_on: np.ndarray, dest: np.ndarray, goal: np.ndarray,
    give_ups_out: np.ndarray, ev_kind: np.ndarray, ev_start: np.ndarray, ev_end: np.ndarray, ev_origin: np.ndarray,
    ev_dest: np.ndarray, ev_people: np.ndarray, ev_groups: np.ndarray, ev_link: np.ndarray,
    ev_cross: np.ndarray, link_km: np.ndarray, shelter_cap: np.ndarray,
    crossings_out: np.ndarray, ev_done: np.ndarray, stop: np.ndarray,
    ev_fare: np.ndarray, cash: np.ndarray, fares_out: np.ndarray, refused_out: np.ndarray,
) -> None:
    """Apply every event active today, in file order (`stop[v]` 1: a stop place); `fares_out` /
    `refused_out` (by crossing slot, as `crossings_out`): the fares paid today and the people
    passed over for want of one."""
    n_places = shelter_cap.shape[0]
    shelter_pop = np.zeros(n_places, dtype=np.int64)
    for i in range(n):
        if state[i] == SHELTERED:
            shelter_pop[node[i]] += 1
    for v in range(ev_kind.shape[0]):
        kind = ev_kind[v]
        if kind == CORRIDOR:
            if day < ev_start[v] or day > ev_end[v]:
                continue
        elif day != ev_start[v]:
            continue
        origin = ev_origin[v]
        # eligible people and their keys
        count = 0
        for i in range(n):
            if node[i] != origin or link[i] >= 0 or ev_groups[v, group[i]] == 0:
                continue
            s = state[i]
            if kind == CORRIDOR:
                if s != WAITING and s != HELD:
                    continue
            elif s != MOVING and s != WAITING and s != SHELTERED and s != HELD:
                continue
            count += 1
        if count == 0:
            continue
        ids = np.empty(count, dtype=np.int64)
        keys = np.empty(count, dtype=np.float64)
        j = 0
        for i in range(n):
            if node[i] != origin or link[i] >= 0 or ev_groups[v, group[i]] == 0:
                continue
            s = state[i]
            if kind == CORRIDOR:
                if s != WAITING and s != HELD:
                    continue
            elif s != MOVING and s != WAITING and s != SHELTERED and s != HELD:
                continue
            ids[j] = i
            keys[j] = uniform(seed, day, _S_EVENT, i, v)
            j += 1
        take = count if ev_people[v] < 0 else min(count, ev_people[v])
        to = ev_dest[v]
        into_shelter = kind == TRANSFER and shelter_cap[to] >= 0
        if into_shelter:
            take = min(take, max(shelter_cap[to] - shelter_pop[to], 0))
        if take <= 0:
            continue
        order = np.argsort(keys, kind="mergesort")
        mode = M_TRANSFER if kind == TRANSFER else (M_FLIGHT if kind == FLIGHT else M_CORRIDOR)
        fare = ev_fare[v]
        taken = 0
        for r in range(count):
            if taken == take:
                break
            i = ids[order[r]]
            # the slot the move is recorded under: the crossing the person waited at (two crossings
            # may share a waiting place), else the event's own: the corridor's, or its origin's
            c = at_cross[i]
            slot = c if c >= 0 and kind != CORRIDOR else ev_cross[v]
            if fare > 0.0:
                if cash[i] < fare:  # cannot pay: left as they are, the seat goes to the next
                    refused_out[slot] += 1
                    continue
                cash[i] -= fare
                fares_out[slot] += fare
            taken += 1
            if state[i] == SHELTERED:  # a bed freed for a later event of the day (flight, transfer out)
                shelter_pop[node[i]] -= 1
            crossings_out[slot, mode] += 1
            at_cross[i] = -1
            waited[i] = 0
            failed[i] = 0
            if returning[i] == 1 and (kind == FLIGHT or into_shelter):
                returning[i] = 0  # sheltered or flown out instead of going home: if they gave up
                dest[i] = goal[i]  # (moved on from the shelter later, they head where they meant to)
                if gave_up_on[i] == day:  # today, that give-up is undone (one a person, not two)
                    give_ups_out[0] -= 1
            if kind == TRANSFER:
                node[i] = to
                state[i] = SHELTERED if into_shelter else (
                    HELD if stop[to] == 1 and returning[i] == 0 else MOVING)
                if into_shelter:
                    shelter_pop[to] += 1
                    waited[i] = SHELTERED_TODAY
            elif kind == FLIGHT:
                state[i] = EXITED
                arrived[i] = to
            else:  # corridor: onto the opened route
                k = ev_link[v]
                link[i] = k
                km_left[i] = link_km[k]
                hops[i] += 1
                state[i] = MOVING
        ev_done[v] += taken


@nb.njit(cache=True, nogil=True)
def shelter_step(
    seed: np.uint64, day: int, n: int, state: np.ndarray, group: np.ndarray, dest: np.ndarray,
    waited: np.ndarray, returning: np.ndarray, gave_up_on: np.ndarray, give_up_base: float,
    give_up_per_day: float,
    factor: float, group_fallback: np.ndarray, give_ups_out: np.ndarray,
) -> None:
    """People in shelters give up (hazard × factor) and head to their fallback, or stay a day more."""
    for i in range(n):
        if state[i] != SHELTERED:
            continue
        if waited[i] == SHELTERED_TODAY:  # arrived today: the first draw is tomorrow's
            waited[i] = 0
            continue
        g = group[i]
        rate = factor * (give_up_base + give_up_per_day * waited[i])
        if group_fallback[g] >= 0 and uniform(seed, day, _S_GIVE_UP, i, 1) < 1.0 - math.exp(-rate):
            state[i] = MOVING
            returning[i] = 1
            gave_up_on[i] = day
            dest[i] = group_fallback[g]
            waited[i] = 0
            give_ups_out[0] += 1
        else:
            waited[i] += 1
