"""Agent engine: one person per row of fixed-capacity columns, Flee 3.1's rules, one day at a time.

Why this shape: a Plan fixes how many people will ever exist (day-0 insertion + daily spawns), so
the columns are allocated once and nobody is appended in the loop. The day is one written list of
steps (flee-model.md §3.2, docs/model-rules.md), run inside a single numba function:

 1. conflicts   conflicts.csv onsets/removals of day t (state: intensity, onset day, move chance)
 2. spawn       today's total from the Plan, each new person's location drawn ∝ spawn weights
                (pop × intensity × decay, refreshed at t if a conflict changed today, else t−1)
 3. closures    closures.csv operations of day t (links, camps); people on a link that closes are
                marked and return to its start when they reach its end
 4. scores      location scores, attractiveness, capacity multipliers, move chances, route tables
 5. pass A      one parallel scan per chunk of people: who moves (people at a location move with
                its chance, drawn by geometric gaps per move-chance class, so camp residents cost
                a few ns) and round 0 of pass B for people already on a link (advance by today's
                speed; arrival needs progress > length). Then movers at places with a capacity
                decide serially in index order, and everyone else in parallel, each seeing the
                counts Flee's serial pass A would show them (earlier departures from capped
                places); movers step onto the first link of their path and advance (round 0).
 6. pass B      serially in index order, as Flee's finish_travel recursion: each arrival is
                counted, then that person decides again at once with live counts while km are
                left today (a newly entered link is credited a full day's speed)
 7. record      population per location, arrivals, departures, people per link

Only counts at places with a capacity change anyone's choice, so the parallel parts use counts
frozen at the start of the pass plus the listed departures, and the serial sweep uses live ones:
the order effects near a camp's capacity threshold (Flee's "rush" into a camp that dips below
it) are Flee's. Counts are tallied per chunk of CHUNK people (fixed, not per thread) and summed
afterwards, and every random number is keyed by (seed, day, stream, person, step) through
engine/rng.py, so a seed gives identical results on any number of threads.

The per-person steps (take the next step of a path, travel on a link: rules/travel.py states
the speed rule) are written out inside the hot loops: calling helpers that take many arrays,
even with numba's inline="always", cost ~65 ns per call here (measured on one chunk of burundi:
pass A went from 192 to 125 ns per mover, burundi at hasten 1 from 1.45 to 0.79 CPU-s, with
identical results).

People columns (22 bytes per person): where (int32: location ≥ 0, link −(k+1)), progress (float64:
km on the link, or today's km while waiting in the frontier), path (int32 planned path, −1 none),
hop (int8 next node on the path), flags (int8), frontier scratch (int32). avoid_short_stints adds
two float32 columns (recent travel, km today).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

# Threads wait for work by sleeping, not spinning: the day loop opens a few short parallel regions
# per day, and spinning threads on a shared or oversubscribed machine made a burundi run 90x
# slower in wall time (225 s instead of 2.5 s on 2 busy cores). Set before OpenMP starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba as nb  # noqa: E402
import numpy as np  # noqa: E402
from numba import prange  # noqa: E402

from .. import stopping
from ..plan import OP_CAMP_CLOSE, OP_CAMP_OPEN, OP_LINK_CLOSE, OP_LINK_OPEN, Plan
from ..stopping import at_once
from . import daycount
from .parallel_lock import parallel_section
from .rng import Stream, seed_words, stream_key, uniform_k
from .rules.capacity import cap_multiplier, cap_multipliers
from .rules.locations import attractiveness, location_scores, move_chances, spawn_weights
from .rules.routes import choose_path_live, path_validity, route_tables

# The hot kernels use numba's numpy error model: a division does not first test its divisor for
# zero to raise ZeroDivisionError. None of their divisors can be zero (capacity multipliers divide
# only inside a buffer below a capacity, gaps by log1p(−q) with q > 0), so results are the same;
# about 1 % less CPU on burundi.

#: People per chunk: the unit of parallel work, of count tallies and of move-gap streams.
CHUNK = 8192
#: Move-chance classes: class k ≥ 1 holds chances in about (2^-k, 2^-(k-1)]; class 0 always moves.
NCLS = 48
#: Movers at capped places listed per chunk by the scan (more: _capped_movers looks through all).
CAPBUF = 64
#: How pass A draws who moves (same distribution, different numbers for a seed): "gaps", geometric
#: gaps per chunk and move-chance class (a few ns per person who stays; the default), or
#: "bernoulli", one uniform per person at a place (no sequential scan: the GPU's fast pass A).
DRAWS = ("gaps", "bernoulli")
#: Chained (same-day) decision rounds before the engine gives up (Flee would hit its recursion limit).
MAX_ROUNDS = 100_000

F_DONE = np.int8(1)  # has completed a link (Flee: places_travelled > 1)
F_BOUNCE = np.int8(2)  # is on a link that was closed after they entered it

_SPAWN = Stream.SPAWN
_MOVE = Stream.MOVE
_ROUTE = Stream.ROUTE
_CHAIN_MOVE = Stream.CHAIN_MOVE
_CHAIN_ROUTE = Stream.CHAIN_ROUTE
_SKIP = Stream.MOVE_SKIP
_WALK = Stream.WALK

# float parameters (fp) and integer switches (ip) passed to the kernel
FP_KEYS = ("max_move_speed", "max_walk_speed", "foreign_weight", "camp_weight", "conflict_weight",
           "conflict_movechance", "camp_movechance", "idpcamp_movechance", "default_movechance",
           "capacity_buffer", "weight_softening", "weight_power", "pop_power_for_loc_weight",
           "movechance_pop_base", "movechance_pop_scale_factor")
IP_KEYS = ("avoid_short_stints", "start_on_foot", "use_pop_for_loc_weight", "take_from_population",
           "use_decay")

ERR_NONE = 0
ERR_NO_SPAWN_WEIGHT = 1
ERR_POP_EXHAUSTED = 2
ERR_ROUNDS = 3
ERR_CHECK = 4


@dataclass
class EngineOutput:
    """What one run of the agent engine produces (counts are agents)."""

    population: np.ndarray  # (n_days, n_loc) int64 at the end of each day
    arrivals: np.ndarray  # (n_days, n_loc) int64
    departures: np.ndarray  # (n_days, n_loc) int64
    travellers: np.ndarray  # (n_days, n_links) int64 on each link at the end of each day
    spawned: np.ndarray  # (n_days,) int64
    alive: np.ndarray  # (n_days,) int64 people existing during day t's moves
    rounds: np.ndarray  # (n_days,) int64 chained-decision rounds per day
    loop_s: float
    agent_steps: int
    threads: int
    bytes_per_person: float


@nb.njit(cache=True, nogil=True, inline="always")
def _geometric(skip_key: np.uint64, key: int, sub: int, q: float, lq: float) -> int:
    """Failures before the first success of Bernoulli(q) trials, keyed by the counter RNG.

    `lq` is log1p(−q), computed once per day and class (the same number every call would get).
    """
    if q >= 1.0:
        return 0
    u = 1.0 - uniform_k(skip_key, key, sub)  # (0, 1]
    g = math.floor(math.log(u) / lq)
    if g > 4.0e18:
        return 4_000_000_000_000_000_000
    return int(g)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _scan_chunk(c: int, n_alive: int, move_key: np.uint64, skip_key: np.uint64,
                walk_key: np.uint64, where: np.ndarray, prog: np.ndarray, flags: np.ndarray,
                scratch: np.ndarray, nmov: np.ndarray, nfr: np.ndarray, ncap: np.ndarray,
                lcls: np.ndarray, qcls: np.ndarray, lqcls: np.ndarray, mc: np.ndarray,
                capacity: np.ndarray, dday: np.ndarray, ast: bool, link_from: np.ndarray, link_to: np.ndarray,
                link_km: np.ndarray, link_speed: np.ndarray, link_walk_p: np.ndarray,
                start_on_foot: bool, walk: float, dep_t: np.ndarray, arr_t: np.ndarray,
                lnk_t: np.ndarray, capk: np.ndarray, gaps: np.ndarray, bern: bool) -> None:
    """One pass over a chunk: who moves today (pass A's draw) and round 0 of pass B for people
    already on a link.

    Movers (draws "gaps", the default): within a chunk, the people of each move-chance class form
    one Bernoulli(q_class) sequence whose successes are found by geometric gaps; a success moves
    with probability m/q_class. Exact in distribution, a few ns per person who stays. With `bern`
    (draws "bernoulli") each person at a place moves if their own uniform is below its chance m:
    the same distribution, other numbers for a seed, and no sequential dependence (the GPU's
    fast pass A). Movers' indices go to the
    front of the chunk's scratch segment, arrivals (frontier) to its back, both in index order;
    the positions among the movers of the first CAPBUF movers at capped places go to capk[c].
    """
    dep_t[c, :] = 0
    arr_t[c, :] = 0
    lnk_t[c, :] = 0
    lo = c * CHUNK
    hi = min(lo + CHUNK, n_alive)
    cnt = gaps[c, 0]  # this chunk's rows: members seen, next success, gaps drawn, per class
    nxt = gaps[c, 1]
    ndraw = gaps[c, 2]
    cnt[:] = 0
    nxt[:] = -1
    ndraw[:] = 0
    for k in range(1, NCLS):  # each class's first gap (keyed, so drawing it early changes nothing)
        if qcls[k] > 0.0 and not bern:
            nxt[k] = _geometric(skip_key, c * NCLS + k, 0, qcls[k], lqcls[k])
            ndraw[k] = 1
    nm = 0
    nc = 0
    nf = 0
    for i in range(lo, hi):
        w = where[i]
        if w < 0:  # round 0 of pass B (Person.finish_travel), written out
            lk = -w - 1
            s = link_speed[lk]  # todays_speed, written out
            if start_on_foot and (flags[i] & F_DONE) == 0:
                s = walk
            if link_walk_p[lk] > 0.0:
                if uniform_k(walk_key, i, 0) < link_walk_p[lk]:
                    s = walk
            pnew = prog[i] + s
            km = link_km[lk]
            if pnew > km:  # arrival needs progress > length
                flags[i] |= F_DONE
                dist = km - (pnew - s)
                lnk_t[c, lk] -= 1
                if ast:
                    dday[i] = np.float32(dist)
                if flags[i] & F_BOUNCE:  # the link closed after they entered it
                    flags[i] &= ~F_BOUNCE
                    v0 = link_from[lk]
                    where[i] = v0
                    arr_t[c, v0] += 1
                else:
                    where[i] = link_to[lk]
                    prog[i] = dist
                    nf += 1
                    scratch[hi - nf] = i
            else:
                prog[i] = pnew
                if ast:
                    dday[i] = np.float32(s)
            continue
        k = lcls[w]
        if k < 0:
            continue
        move = k == 0
        if not move and bern:
            move = uniform_k(move_key, i, 0) < mc[w]
        elif not move:
            ck = cnt[k]
            cnt[k] = ck + 1
            if ck != nxt[k]:
                continue
            q = qcls[k]
            m = mc[w]
            move = m >= q or uniform_k(move_key, i, 0) * q < m
            nxt[k] = ck + 1 + _geometric(skip_key, c * NCLS + k, ndraw[k], q, lqcls[k])
            ndraw[k] += 1
        if move:
            scratch[lo + nm] = i
            if capacity[w] >= 1:
                if nc < CAPBUF:
                    capk[c, nc] = nm
                nc += 1
            nm += 1
    nmov[c] = nm
    nfr[c] = nf
    ncap[c] = nc


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _capped_movers(nch: int, route_key: np.uint64, where: np.ndarray, prog: np.ndarray,
                   path: np.ndarray, hop: np.ndarray, flags: np.ndarray, scratch: np.ndarray,
                   nmov: np.ndarray, capacity: np.ndarray, count: np.ndarray, buffer: float,
                   capm: np.ndarray, attract: np.ndarray, ws: float, wp: float,
                   path_ptr: np.ndarray, path_valid: np.ndarray, path_dest: np.ndarray,
                   path_inv_dist: np.ndarray, path_home: np.ndarray, node_ptr: np.ndarray,
                   nodes: np.ndarray, slink: np.ndarray, out_ptr: np.ndarray,
                   out_link: np.ndarray, link_from: np.ndarray, link_to: np.ndarray,
                   link_open: np.ndarray, camp: np.ndarray,
                   link_count: np.ndarray, dep_day: np.ndarray, eff_idx: np.ndarray,
                   eff_loc: np.ndarray, ncap: np.ndarray, capk: np.ndarray) -> int:
    """Pass A for movers at places with a capacity, serially in index order (as Flee does).

    Their departures lower counts that other people's capacity multipliers read, so each one sees
    the departures before it. Departures that change a capacity multiplier are listed (eff_*),
    so that _pass_a_chunk can show every later mover the counts Flee would show. Returns how many.
    """
    ne = 0
    for c in range(nch):
        lo = c * CHUNK
        listed = ncap[c] <= CAPBUF  # else look through all the chunk's movers
        for kk in range(ncap[c] if listed else nmov[c]):
            k = capk[c, kk] if listed else kk
            i = scratch[lo + k]
            v = where[i]
            if capacity[v] < 1:
                continue
            if path[i] < 0:
                p = choose_path_live(v, uniform_k(route_key, i, 0), path_ptr, path_valid,
                                     path_dest, path_inv_dist, path_home, attract, capm, ws, wp)
                if p < 0:
                    continue
                path[i] = p
                hop[i] = 1
            pth = path[i]
            h = np.int64(hop[i])
            pos = node_ptr[pth] + h
            tgt = nodes[pos]
            lk = slink[pos]  # the path's own link, if it is the first from v to tgt
            if lk < 0 or link_from[lk] != v or not link_open[lk]:
                lk = -1
                for j in range(out_ptr[v], out_ptr[v + 1]):  # first open link to tgt
                    if link_open[out_link[j]] and link_to[out_link[j]] == tgt:
                        lk = out_link[j]
                        break
            if lk >= 0:  # no step toward a camp that is full (Cap < 0.5) at the path's end
                fin = nodes[node_ptr[pth + 1] - 1]
                if camp[fin] and capm[fin] < 0.5:
                    lk = -1
            if lk < 0:
                path[i] = -1
                continue
            h += 1
            if node_ptr[pth] + h >= node_ptr[pth + 1]:
                path[i] = -1
            else:
                hop[i] = np.int8(h)
            flags[i] &= ~F_BOUNCE
            where[i] = -(lk + 1)
            prog[i] = 0.0
            count[v] -= 1
            dep_day[v] += 1
            link_count[lk] += 1
            new = cap_multiplier(capacity[v], count[v], buffer)
            if new != capm[v]:
                capm[v] = new
                eff_idx[ne] = i
                eff_loc[ne] = v
                ne += 1
    return ne


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _pass_a_chunk(c: int, n_alive: int, route_key: np.uint64, walk_key: np.uint64,
                  where: np.ndarray, prog: np.ndarray, path: np.ndarray, hop: np.ndarray,
                  flags: np.ndarray, scratch: np.ndarray, nmov: np.ndarray, capacity: np.ndarray,
                  count0: np.ndarray, buffer: float, capm0: np.ndarray, attract: np.ndarray,
                  ws: float, wp: float, path_ptr: np.ndarray, path_valid: np.ndarray,
                  path_dest: np.ndarray, path_inv_dist: np.ndarray, path_home: np.ndarray,
                  cum0: np.ndarray, tot0: np.ndarray, nvalid0: np.ndarray, node_ptr: np.ndarray,
                  nodes: np.ndarray, slink: np.ndarray, out_ptr: np.ndarray,
                  out_link: np.ndarray, link_from: np.ndarray, link_to: np.ndarray, link_open: np.ndarray,
                  link_km: np.ndarray, link_speed: np.ndarray, link_walk_p: np.ndarray,
                  camp: np.ndarray, eff_idx: np.ndarray, eff_loc: np.ndarray, n_eff: int,
                  dday: np.ndarray, ast: bool, start_on_foot: bool, walk: float,
                  dep_t: np.ndarray, arr_t: np.ndarray, lnk_t: np.ndarray) -> None:
    """Pass A for the other movers of one chunk (choose a path, step onto its first link), then
    round 0 of pass B for everyone of the chunk who stepped onto a link today.

    Person i sees the counts at the start of pass A minus the listed departures of people before
    i (the only changes Flee's serial pass A makes to capacity multipliers). Chunks before the
    first such departure share the day's route tables. Arrivals replace the movers at the front of
    the scratch segment (nmov[c] becomes their number).
    """
    lo = c * CHUNK
    nm = nmov[c]
    if nm == 0:
        return
    hi_i = scratch[lo + nm - 1]
    e = 0
    while e < n_eff and eff_idx[e] < scratch[lo]:
        e += 1
    local = e > 0 or (e < n_eff and eff_idx[e] <= hi_i)
    cum, tot, nvalid, capm, lcount = cum0, tot0, nvalid0, capm0, count0
    if local:  # this chunk's own counts and tables (two allocations, not five)
        nl = count0.shape[0]
        fbuf = np.empty(2 * nl + cum0.shape[0])
        ibuf = np.empty(2 * nl, np.int64)
        capm = fbuf[:nl]
        tot = fbuf[nl:2 * nl]
        cum = fbuf[2 * nl:]
        lcount = ibuf[:nl]
        nvalid = ibuf[nl:]
        capm[:] = capm0
        tot[:] = tot0
        cum[:] = cum0
        lcount[:] = count0
        nvalid[:] = nvalid0
        for k in range(e):
            v = eff_loc[k]
            lcount[v] -= 1
            capm[v] = cap_multiplier(capacity[v], lcount[v], buffer)
        if e > 0:
            route_tables(path_ptr, path_dest, path_inv_dist, path_home, path_valid, attract,
                         capm, ws, wp, cum, tot, nvalid)
    wpos = 0
    for k in range(nm):
        i = scratch[lo + k]
        if local and e < n_eff and eff_idx[e] < i:
            while e < n_eff and eff_idx[e] < i:
                v = eff_loc[e]
                lcount[v] -= 1
                capm[v] = cap_multiplier(capacity[v], lcount[v], buffer)
                e += 1
            route_tables(path_ptr, path_dest, path_inv_dist, path_home, path_valid, attract,
                         capm, ws, wp, cum, tot, nvalid)
        w = where[i]
        if w >= 0:
            if capacity[w] >= 1:  # a mover at a capped place who stayed (_capped_movers)
                continue
            if path[i] < 0:  # choose_path, written out (calls with many arrays are slow)
                nv = nvalid[w]
                if nv == 0:
                    continue
                u = uniform_k(route_key, i, 0)
                plo, phi = path_ptr[w], path_ptr[w + 1]
                pth = -1
                if tot[w] > 0.0:
                    target = u * tot[w]
                    prev = 0.0
                    for q in range(plo, phi):
                        if path_valid[q] and cum[q] > prev:
                            pth = q
                            if cum[q] > target:
                                break
                        prev = cum[q]
                else:
                    kk = min(int(u * nv), nv - 1)
                    for q in range(plo, phi):
                        if path_valid[q]:
                            if kk == 0:
                                pth = q
                                break
                            kk -= 1
                if pth < 0:
                    continue
                path[i] = pth
                hop[i] = 1
            pth = path[i]
            h = np.int64(hop[i])
            pos = node_ptr[pth] + h
            tgt = nodes[pos]
            lk = slink[pos]  # the path's own link, if it is the first from w to tgt
            if lk < 0 or link_from[lk] != w or not link_open[lk]:
                lk = -1
                for j in range(out_ptr[w], out_ptr[w + 1]):  # first open link to tgt
                    if link_open[out_link[j]] and link_to[out_link[j]] == tgt:
                        lk = out_link[j]
                        break
            if lk >= 0:  # no step toward a camp that is full (Cap < 0.5) at the path's end
                fin = nodes[node_ptr[pth + 1] - 1]
                if camp[fin] and capm[fin] < 0.5:
                    lk = -1
            if lk < 0:
                path[i] = -1
                continue
            h += 1
            if node_ptr[pth] + h >= node_ptr[pth + 1]:
                path[i] = -1
            else:
                hop[i] = np.int8(h)
            dep_t[c, w] += 1
            lnk_t[c, lk] += 1
            flags[i] &= ~F_BOUNCE
            where[i] = -(lk + 1)
        else:
            lk = -w - 1  # stepped onto lk in _capped_movers
        s = link_speed[lk]  # todays_speed, written out
        if start_on_foot and (flags[i] & F_DONE) == 0:
            s = walk
        if link_walk_p[lk] > 0.0:
            if uniform_k(walk_key, i, 0) < link_walk_p[lk]:
                s = walk
        pnew = 0.0 + s
        km = link_km[lk]
        if pnew > km:  # arrival needs progress > length
            flags[i] |= F_DONE
            dist = km - (pnew - s)
            lnk_t[c, lk] -= 1
            if ast:
                dday[i] = np.float32(dist)
            if flags[i] & F_BOUNCE:  # the link closed after they entered it
                flags[i] &= ~F_BOUNCE
                v0 = link_from[lk]
                where[i] = v0
                arr_t[c, v0] += 1
            else:
                where[i] = link_to[lk]
                prog[i] = dist
                scratch[lo + wpos] = i
                wpos += 1
        else:
            prog[i] = pnew
            if ast:
                dday[i] = np.float32(s)
    nmov[c] = wpos


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _sweep(nch: int, n_alive: int, t: int, cmove_key: np.uint64, croute_key: np.uint64,
           walk_key: np.uint64, where: np.ndarray, prog: np.ndarray, path: np.ndarray,
           hop: np.ndarray, flags: np.ndarray, scratch: np.ndarray, nmov: np.ndarray,
           nfr: np.ndarray, rtd: np.ndarray, dday: np.ndarray, ast: bool, max_speed: float,
           town: np.ndarray, mc: np.ndarray, capacity: np.ndarray, count: np.ndarray,
           buffer: float, capm: np.ndarray, attract: np.ndarray, ws: float, wp: float,
           path_ptr: np.ndarray, path_valid: np.ndarray, path_dest: np.ndarray,
           path_inv_dist: np.ndarray, path_home: np.ndarray, node_ptr: np.ndarray,
           nodes: np.ndarray, slink: np.ndarray, out_ptr: np.ndarray, out_link: np.ndarray,
           link_from: np.ndarray, link_to: np.ndarray,
           link_open: np.ndarray, link_km: np.ndarray, link_speed: np.ndarray,
           link_walk_p: np.ndarray, camp: np.ndarray, start_on_foot: bool, walk: float,
           link_count: np.ndarray, arr_day: np.ndarray, dep_day: np.ndarray) -> int:
    """The rest of pass B, serially in index order as Flee does (Person.finish_travel's
    recursion): each arrival of round 0 is counted, then that person's same-day decisions run
    with live counts to the end before the next person's. Returns the deepest chain (−1 if one
    did not end)."""
    deepest = 0
    widest = 1
    for o in range(path_ptr.shape[0] - 1):
        widest = max(widest, path_ptr[o + 1] - path_ptr[o])
    wbuf = np.zeros(widest)
    # the part of each path's weight fixed for the day, evaluated in the same order as in full
    pbase = np.empty(path_dest.shape[0])
    for q in range(path_dest.shape[0]):
        pbase[q] = (ws + attract[path_dest[q]] * path_home[q]) * path_inv_dist[q]
    for c in range(nch):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n_alive)
        na, nb_ = nmov[c], nfr[c]
        ia, ib = 0, 0
        while ia < na or ib < nb_:
            if ib >= nb_ or (ia < na and scratch[lo + ia] < scratch[hi - 1 - ib]):
                i = scratch[lo + ia]
                ia += 1
            else:
                i = scratch[hi - 1 - ib]
                ib += 1
            # the arrival of round 0 (deferred until now so that earlier people go first)
            v = where[i]
            dist = prog[i]
            count[v] += 1
            arr_day[v] += 1
            if capacity[v] >= 1:
                capm[v] = cap_multiplier(capacity[v], count[v], buffer)
            r = 1
            while True:
                if r > MAX_ROUNDS:
                    return -1
                if r > deepest:
                    deepest = r
                m = mc[v]
                if ast and town[v]:  # ForceTownMove unless the last two days covered enough
                    if (rtd[i] + dist / max_speed) / 2.0 < 0.5:
                        m = 1.0
                if m < 1.0:
                    if not uniform_k(cmove_key, i, r) < m:
                        break
                if path[i] < 0:
                    # choose a path with the weights of now (live capacity multipliers)
                    plo, phi = path_ptr[v], path_ptr[v + 1]
                    totw = 0.0
                    nv = 0
                    for q in range(plo, phi):
                        wq = 0.0
                        if path_valid[q]:
                            wq = pbase[q] * capm[path_dest[q]]  # = (ws + A·home)·inv_dist·Cap
                            if wp != 1.0:
                                wq = wq ** wp
                            totw += wq
                            nv += 1
                        wbuf[q - plo] = wq
                    if nv == 0:
                        break
                    u = uniform_k(croute_key, i, r)
                    chosen = -1
                    if totw > 0.0:
                        target = u * totw
                        acc = 0.0
                        for q in range(plo, phi):
                            wq = wbuf[q - plo]
                            if wq > 0.0:
                                acc += wq
                                chosen = q
                                if acc > target:
                                    break
                    else:
                        kk = min(int(u * nv), nv - 1)
                        for q in range(plo, phi):
                            if path_valid[q]:
                                if kk == 0:
                                    chosen = q
                                    break
                                kk -= 1
                    if chosen < 0:
                        break
                    path[i] = chosen
                    hop[i] = 1
                pth = path[i]
                h = np.int64(hop[i])
                pos = node_ptr[pth] + h
                tgt = nodes[pos]
                lk = slink[pos]  # the path's own link, if it is the first from v to tgt
                if lk < 0 or link_from[lk] != v or not link_open[lk]:
                    lk = -1
                    for j in range(out_ptr[v], out_ptr[v + 1]):  # first open link to tgt
                        if link_open[out_link[j]] and link_to[out_link[j]] == tgt:
                            lk = out_link[j]
                            break
                if lk >= 0:  # no step toward a camp that is full (Cap < 0.5) at the path's end
                    fin = nodes[node_ptr[pth + 1] - 1]
                    if camp[fin] and capm[fin] < 0.5:
                        lk = -1
                if lk < 0:
                    path[i] = -1
                    break
                h += 1
                if node_ptr[pth] + h >= node_ptr[pth + 1]:
                    path[i] = -1
                else:
                    hop[i] = np.int8(h)
                count[v] -= 1
                dep_day[v] += 1
                if capacity[v] >= 1:
                    capm[v] = cap_multiplier(capacity[v], count[v], buffer)
                link_count[lk] += 1
                flags[i] &= ~F_BOUNCE
                s = link_speed[lk]  # todays_speed, written out
                if start_on_foot and (flags[i] & F_DONE) == 0:
                    s = walk
                if link_walk_p[lk] > 0.0:
                    if uniform_k(walk_key, i, r) < link_walk_p[lk]:
                        s = walk
                dist += s
                km = link_km[lk]
                if s > km:  # arrives again today
                    flags[i] |= F_DONE
                    dist += km - s
                    link_count[lk] -= 1
                    v = link_to[lk]
                    where[i] = v
                    count[v] += 1
                    arr_day[v] += 1
                    if capacity[v] >= 1:
                        capm[v] = cap_multiplier(capacity[v], count[v], buffer)
                    if ast:
                        dday[i] = np.float32(dist)
                    if dist < s:
                        r += 1
                        continue
                    break
                where[i] = -(lk + 1)
                prog[i] = s
                if ast:
                    dday[i] = np.float32(dist)
                break
    return deepest


@nb.njit(cache=True, nogil=True)
def _spawn_chunk(c: int, first: int, last: int, key: np.uint64, cumw: np.ndarray,
                 wsum: float, where: np.ndarray, prog: np.ndarray, path: np.ndarray,
                 hop: np.ndarray, flags: np.ndarray, tally: np.ndarray) -> None:
    """People first..last−1 appear at locations drawn i.i.d. ∝ spawn weight (one uniform each)."""
    tally[c, :] = 0
    lo = max(c * CHUNK, first)
    hi = min((c + 1) * CHUNK, last)
    n = cumw.shape[0]
    for i in range(lo, hi):
        target = uniform_k(key, i, 0) * wsum
        # first j with cumw[j] > target
        loc: int | np.intp = np.searchsorted(cumw, target, side="right")
        if loc >= n:  # rounding at the top end: the last location with weight
            for j in range(n - 1, -1, -1):
                if j == 0 or cumw[j] > cumw[j - 1]:
                    loc = j
                    break
        where[i] = loc
        prog[i] = 0.0
        path[i] = -1
        hop[i] = 0
        flags[i] = 0
        tally[c, loc] += 1


@nb.njit(cache=True, nogil=True)
def _reduce(nch: int, dep_t: np.ndarray, arr_t: np.ndarray, lnk_t: np.ndarray, count: np.ndarray,
            link_count: np.ndarray, arr_day: np.ndarray, dep_day: np.ndarray) -> None:
    """count(after) = count(before) + arrivals − departures, summed over chunk tallies."""
    for j in range(count.shape[0]):
        a = 0
        d = 0
        for c in range(nch):
            a += arr_t[c, j]
            d += dep_t[c, j]
        count[j] += a - d
        arr_day[j] += a
        dep_day[j] += d
    for j in range(link_count.shape[0]):
        s = 0
        for c in range(nch):
            s += lnk_t[c, j]
        link_count[j] += s


# Only the explicit prange loops run in parallel: numba would otherwise turn every whole-array
# statement of the day (a dozen: clearing and copying per-place arrays, recording the day's row)
# into a parallel region of its own, ~0.3-0.5 µs each to open — ~4 µs per day, ~2 % of burundi at
# hasten 10. Same operations, same results.
_PRANGE_ONLY = {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
                "setitem": False, "numpy": False, "stencil": False, "fusion": False}


# (numba's stub types `parallel` as a bool; its documented dict of options is what numba reads)
@nb.njit(parallel=_PRANGE_ONLY, cache=True, nogil=True)  # type: ignore[call-overload]
def _run(seed: np.uint64, n_days: int, t_begin: int, n_alive0: int, fp: np.ndarray, ip: np.ndarray,
         decay: np.ndarray, decay_interval: int,
         # location state (mutated)
         foreign: np.ndarray, camp: np.ndarray, town: np.ndarray, conflict: np.ndarray,
         toc: np.ndarray, mc_base: np.ndarray, pop: np.ndarray, capacity: np.ndarray,
         count: np.ndarray,
         # links and paths
         link_from: np.ndarray, link_to: np.ndarray, link_km: np.ndarray, link_speed: np.ndarray,
         link_walk_p: np.ndarray, link_open: np.ndarray, link_count: np.ndarray,
         out_ptr: np.ndarray, out_link: np.ndarray, path_ptr: np.ndarray, path_dest: np.ndarray,
         path_inv_dist: np.ndarray, path_home: np.ndarray, node_ptr: np.ndarray,
         nodes: np.ndarray, path_link_ptr: np.ndarray, path_links: np.ndarray, slink: np.ndarray,
         # timeline
         spawn: np.ndarray, cptr: np.ndarray, cloc: np.ndarray, con: np.ndarray, cval: np.ndarray,
         refresh: np.ndarray, clptr: np.ndarray, clop: np.ndarray, cltarget: np.ndarray,
         clarg: np.ndarray,
         # people
         where: np.ndarray, prog: np.ndarray, path: np.ndarray, hop: np.ndarray,
         flags: np.ndarray, scratch: np.ndarray, rtd: np.ndarray, dday: np.ndarray,
         # records
         pop_rec: np.ndarray, arr_rec: np.ndarray, dep_rec: np.ndarray, link_rec: np.ndarray,
         spawned_rec: np.ndarray, alive_rec: np.ndarray, rounds_rec: np.ndarray,
         check: bool, one_thread: bool, bern: bool, days_done: np.ndarray) -> tuple:
    """Days t_begin..n_days−1 of the day loop of the module docstring; (error code, error day).
    `days_done[0]` is set to the days done at the end of each day (`corredor run`'s day counter
    reads it from another thread: engine/daycount.py).

    Everything carried from one day to the next is in the arguments (mutated in place), so a run
    split into several calls (checkpoints, engine/checkpoint.py) equals a run in one call.
    `n_alive0` is the number of people created before day t_begin. With `one_thread` (numba has
    one thread) the chunk loops run as plain loops: a parallel region costs a few µs to open,
    ~2 % of burundi at hasten 10, and chunks give the same result in any order.
    """
    max_speed, walk = fp[0], fp[1]
    ast, start_on_foot, use_pop, take_pop, use_decay = ip[0] != 0, ip[1] != 0, ip[2] != 0, ip[3] != 0, ip[4] != 0
    n_loc = count.shape[0]
    n_links = link_count.shape[0]
    n_paths = path_dest.shape[0]
    cap_agents = where.shape[0]
    n_chunks_max = (cap_agents + CHUNK - 1) // CHUNK
    if n_chunks_max < 1:
        n_chunks_max = 1
    dep_t = np.zeros((n_chunks_max, n_loc), np.int64)
    arr_t = np.zeros((n_chunks_max, n_loc), np.int64)
    lnk_t = np.zeros((n_chunks_max, n_links), np.int64)
    wts = np.zeros(n_loc)
    cumw = np.zeros(n_loc)
    score = np.zeros(n_loc)
    attract = np.zeros(n_loc)
    capmult = np.zeros(n_loc)
    mc = np.zeros(n_loc)
    lcls = np.zeros(n_loc, np.int64)
    qcls = np.zeros(NCLS)
    lqcls = np.zeros(NCLS)
    cum = np.zeros(n_paths)
    tot = np.zeros(n_loc)
    nvalid = np.zeros(n_loc, np.int64)
    path_valid = np.zeros(n_paths, np.bool_)
    closed_today = np.zeros(n_links, np.bool_)
    arr_day = np.zeros(n_loc, np.int64)
    dep_day = np.zeros(n_loc, np.int64)
    nmov = np.zeros(n_chunks_max, np.int64)
    nfr = np.zeros(n_chunks_max, np.int64)
    count0 = np.zeros(n_loc, np.int64)
    capm0 = np.zeros(n_loc)
    ncap = np.zeros(n_chunks_max, np.int64)
    capk = np.zeros((n_chunks_max, CAPBUF), np.int64)
    gaps = np.zeros((n_chunks_max, 3, NCLS), np.int64)
    path_validity(path_link_ptr, path_links, link_open, path_valid)
    n_alive = n_alive0
    for t in range(t_begin, n_days):
        # 1. conflicts (InputGeography.AddNewConflictZones)
        for e in range(cptr[t], cptr[t + 1]):
            j = cloc[e]
            if con[e]:
                mc_base[j] = fp[5]
                conflict[j] = cval[e]
                town[j] = False
                toc[j] = t
            else:
                mc_base[j] = fp[8]
                conflict[j] = -1.0
                town[j] = True
        # 2. spawn (spawning.spawn_daily_displaced): weights as last refreshed (t or t−1)
        tau = t if (refresh[t] or t == 0) else t - 1
        wsum = spawn_weights(tau, conflict, toc, pop, decay, decay_interval, use_decay, wts)
        n_new = spawn[t]
        if n_new > 0:
            if not wsum > 0.0:
                return ERR_NO_SPAWN_WEIGHT, t
            acc = 0.0
            for j in range(n_loc):
                acc += wts[j]
                cumw[j] = acc
            c0 = n_alive // CHUNK
            k_spawn = stream_key(seed, t, _SPAWN)
            c1 = (n_alive + n_new + CHUNK - 1) // CHUNK
            if one_thread or c1 - c0 == 1:
                for c in range(c0, c1):
                    _spawn_chunk(c, n_alive, n_alive + n_new, k_spawn, cumw, acc, where, prog,
                                 path, hop, flags, dep_t)
            else:
                for c in prange(c0, c1):
                    _spawn_chunk(c, n_alive, n_alive + n_new, k_spawn, cumw, acc, where, prog,
                                 path, hop, flags, dep_t)
            for j in range(n_loc):
                s = 0
                for c in range(c0, c1):
                    s += dep_t[c, j]
                count[j] += s
                if take_pop and conflict[j] > 0.0:
                    pop[j] -= s
                    if pop[j] < 0:
                        return ERR_POP_EXHAUSTED, t
            n_alive += n_new
        spawned_rec[t] = n_new
        # 3. closures (Ecosystem.enact_border_closures), in file order
        changed = False
        any_closed = False
        for e in range(clptr[t], clptr[t + 1]):
            op = clop[e]
            k = cltarget[e]
            if op == OP_LINK_CLOSE:
                if link_open[k]:
                    link_open[k] = False
                    closed_today[k] = True
                    any_closed = True
                    changed = True
            elif op == OP_LINK_OPEN:
                if not link_open[k]:
                    link_open[k] = True
                    changed = True
            elif op == OP_CAMP_CLOSE:  # Location.close_camp: becomes a town
                mc_base[k] = fp[8]
                camp[k] = False
                conflict[k] = -1.0
                town[k] = True
            elif op == OP_CAMP_OPEN:  # Location.open_camp
                mc_base[k] = fp[7] if clarg[e] != 0 else fp[6]
                camp[k] = True
                conflict[k] = -1.0
                town[k] = False
        if any_closed:
            for i in prange(n_alive):
                w = where[i]
                if w < 0 and closed_today[-w - 1]:
                    flags[i] |= F_BOUNCE
            closed_today[:] = False
        if changed:
            path_validity(path_link_ptr, path_links, link_open, path_valid)
        # 4. scores, move chances, capacity, route tables (Ecosystem.evolve, start)
        location_scores(t, foreign, camp, conflict, toc, decay, decay_interval, use_decay,
                        fp[2], fp[3], fp[4], score)
        attractiveness(score, camp, pop, use_pop, fp[12], attract)
        move_chances(mc_base, pop, capacity, fp[13], fp[14], mc)
        qcls[:] = 0.0
        for j in range(n_loc):
            m = mc[j]
            if not m > 0.0:
                lcls[j] = -1
            elif m >= 1.0:
                lcls[j] = 0
            else:
                k = int(math.ceil(-math.log2(m)))
                k = max(1, min(k, NCLS - 1))
                lcls[j] = k
                if m > qcls[k]:
                    qcls[k] = m
        for k in range(NCLS):
            lqcls[k] = math.log1p(-qcls[k]) if qcls[k] < 1.0 else 0.0
        cap_multipliers(capacity, count, fp[9], capmult)
        route_tables(path_ptr, path_dest, path_inv_dist, path_home, path_valid, attract, capmult,
                     fp[10], fp[11], cum, tot, nvalid)
        alive_rec[t] = n_alive
        arr_day[:] = 0
        dep_day[:] = 0
        # 5. pass A: who moves (and round 0 of pass B for people already on links), movers at
        #    capped places serially, everyone else in parallel (then round 0 for them)
        k_move = stream_key(seed, t, _MOVE)
        k_skip = stream_key(seed, t, _SKIP)
        k_walk = stream_key(seed, t, _WALK)
        k_route = stream_key(seed, t, _ROUTE)
        nch = (n_alive + CHUNK - 1) // CHUNK
        serial = one_thread or nch == 1  # no parallel region where it cannot help (same result)
        if serial:
            for c in range(nch):
                _scan_chunk(c, n_alive, k_move, k_skip, k_walk, where, prog, flags, scratch, nmov,
                            nfr, ncap, lcls, qcls, lqcls, mc, capacity, dday, ast, link_from,
                            link_to, link_km, link_speed, link_walk_p, start_on_foot, walk, dep_t,
                            arr_t, lnk_t, capk, gaps, bern)
        else:
            for c in prange(nch):
                _scan_chunk(c, n_alive, k_move, k_skip, k_walk, where, prog, flags, scratch, nmov,
                            nfr, ncap, lcls, qcls, lqcls, mc, capacity, dday, ast, link_from,
                            link_to, link_km, link_speed, link_walk_p, start_on_foot, walk, dep_t,
                            arr_t, lnk_t, capk, gaps, bern)
        count0[:] = count
        capm0[:] = capmult
        n_capped = ncap[:nch].sum()
        eff_idx = np.zeros(n_capped + 1, np.int64)
        eff_loc = np.zeros(n_capped + 1, np.int64)
        n_eff = 0
        if n_capped > 0:  # a call with ~45 arrays costs ~1 µs even when it has nothing to do
            n_eff = _capped_movers(nch, k_route, where, prog, path, hop, flags, scratch, nmov,
                                   capacity, count, fp[9], capmult, attract, fp[10], fp[11],
                                   path_ptr, path_valid, path_dest, path_inv_dist, path_home,
                                   node_ptr, nodes, slink, out_ptr, out_link, link_from, link_to,
                                   link_open, camp,
                                   link_count, dep_day, eff_idx, eff_loc, ncap, capk)
        if serial:
            for c in range(nch):
                if nmov[c] == 0:  # nothing to do (the call alone costs ~1 µs)
                    continue
                _pass_a_chunk(c, n_alive, k_route, k_walk, where, prog, path, hop, flags, scratch,
                              nmov, capacity, count0, fp[9], capm0, attract, fp[10], fp[11],
                              path_ptr, path_valid, path_dest, path_inv_dist, path_home, cum, tot,
                              nvalid, node_ptr, nodes, slink, out_ptr, out_link, link_from,
                              link_to, link_open, link_km, link_speed, link_walk_p, camp, eff_idx,
                              eff_loc, n_eff, dday, ast, start_on_foot, walk, dep_t, arr_t, lnk_t)
        else:
            for c in prange(nch):
                _pass_a_chunk(c, n_alive, k_route, k_walk, where, prog, path, hop, flags, scratch,
                              nmov, capacity, count0, fp[9], capm0, attract, fp[10], fp[11],
                              path_ptr, path_valid, path_dest, path_inv_dist, path_home, cum, tot,
                              nvalid, node_ptr, nodes, slink, out_ptr, out_link, link_from,
                              link_to, link_open, link_km, link_speed, link_walk_p, camp, eff_idx,
                              eff_loc, n_eff, dday, ast, start_on_foot, walk, dep_t, arr_t, lnk_t)
        _reduce(nch, dep_t, arr_t, lnk_t, count, link_count, arr_day, dep_day)
        # 6. the rest of pass B (arrivals and same-day decisions), serially in index order
        cap_multipliers(capacity, count, fp[9], capmult)
        r = _sweep(nch, n_alive, t, stream_key(seed, t, _CHAIN_MOVE),
                   stream_key(seed, t, _CHAIN_ROUTE), k_walk, where, prog, path, hop, flags,
                   scratch, nmov, nfr, rtd, dday, ast, max_speed, town, mc, capacity, count,
                   fp[9], capmult, attract, fp[10], fp[11], path_ptr, path_valid, path_dest,
                   path_inv_dist, path_home, node_ptr, nodes, slink, out_ptr, out_link, link_from,
                   link_to,
                   link_open, link_km, link_speed, link_walk_p, camp, start_on_foot, walk,
                   link_count, arr_day, dep_day)
        if r < 0:
            return ERR_ROUNDS, t
        rounds_rec[t] = r
        # end of day: recent travel r ← (r + km today / max speed) / 2
        if ast:
            for i in prange(n_alive):
                rtd[i] = np.float32((rtd[i] + dday[i] / max_speed) / 2.0)
                dday[i] = 0.0
        # 7. record
        pop_rec[t, :] = count
        arr_rec[t, :] = arr_day
        dep_rec[t, :] = dep_day
        link_rec[t, :] = link_count
        if check:
            at = np.zeros(n_loc, np.int64)
            on = np.zeros(n_links, np.int64)
            for i in range(n_alive):
                w = where[i]
                if w >= 0:
                    at[w] += 1
                else:
                    on[-w - 1] += 1
            for j in range(n_loc):
                if at[j] != count[j] or count[j] < 0:
                    return ERR_CHECK, t
            for j in range(n_links):
                if on[j] != link_count[j]:
                    return ERR_CHECK, t
        days_done[0] = t + 1
    return ERR_NONE, -1


def step_links(plan: Plan) -> np.ndarray:
    """Per path node position (h ≥ 1): the path's link into that node when it is the first link
    in its origin's out list to that node, else −1 (position 0: −1).

    Why: a step takes the first open link from the current place to the next node (Flee matches
    by name); when the path's own link is that first one and is open, it is the answer without
    scanning the out list. Anything else falls back to the scan, so the result is the same.
    """
    slink = np.full(plan.path_nodes.shape[0], -1, np.int32)
    first: dict[tuple[int, int], int] = {}
    for j in range(plan.out_link.shape[0]):
        lk = int(plan.out_link[j])
        first.setdefault((int(plan.link_from[lk]), int(plan.link_to[lk])), lk)
    for p in range(plan.path_dest.shape[0]):
        n0, l0 = int(plan.path_node_ptr[p]), int(plan.path_link_ptr[p])
        for h in range(1, int(plan.path_node_ptr[p + 1]) - n0):
            lk = int(plan.path_links[l0 + h - 1])
            a, b = int(plan.path_nodes[n0 + h - 1]), int(plan.path_nodes[n0 + h])
            if int(plan.link_from[lk]) == a and int(plan.link_to[lk]) == b and first.get((a, b)) == lk:
                slink[n0 + h] = lk
    return slink


def bytes_per_person(ast: bool) -> float:
    """Memory of the people columns per person (where, progress, path, hop, flags, scratch)."""
    return 4 + 8 + 4 + 1 + 1 + 4 + (8 if ast else 0)


#: People are indexed with int32 in the frontier and scratch columns.
MAX_AGENTS = 2**31 - 2


def check_memory(plan: Plan) -> None:
    """Refuse, before allocating, a run whose people columns exceed int32 indices or the RAM.

    Why: numpy reserves huge zero arrays lazily, so an absurd run would only fail (or be killed
    by the kernel) days into the loop; a clear message with the hasten that fits is better.
    """
    agents = plan.total_agents
    need = agents * bytes_per_person(bool(plan.params["avoid_short_stints"]))
    need += plan.n_days * (3 * plan.n_locations + plan.n_links + 3) * 8
    ram: float  # bytes, or inf where the OS does not say
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        ram = float("inf")
    refuse_unless_fits(plan, need, ram, MAX_AGENTS, "this machine")


def refuse_unless_fits(plan: Plan, need: float, room: float, max_agents: int, where: str) -> None:
    """EngineError naming the --hasten that fits, when the plan's agents exceed `max_agents` (the
    indices' range) or `need` bytes exceed the `room` that `where` (this machine, the device) has;
    shared by the CPU's check_memory and the GPU's check_device_fits."""
    agents = plan.total_agents
    if agents > max_agents or need > room:
        h = plan.hasten * max(2, math.ceil(max(agents / max_agents, need / room)))
        raise EngineError(f"the run needs {agents:,} agents ({need / 2**30:,.1f} GiB), more than "
                          f"{where} can hold ({room / 2**30:,.1f} GiB, at most {max_agents:,} "
                          f"agents); use --hasten {h} or more")


class EngineError(RuntimeError):
    """The run cannot go on under Flee's rules (Flee itself would crash here)."""


def initial_state(plan: Plan) -> dict[str, np.ndarray]:
    """Everything the day loop carries from day to day, before day 0 (people columns preallocated).

    Keys are the mutable arguments of `_run`; engine/checkpoint.py saves and restores this dict.
    """
    n_loc, n_links, n_days = plan.n_locations, plan.n_links, plan.n_days
    cap = plan.total_agents
    ast = bool(plan.params["avoid_short_stints"])
    where = np.zeros(cap, np.int32)
    # day-0 insertion: int(I_c(0)) people in each camp, in camp order (spawning.add_initial_refugees)
    n0 = int(plan.insert0.sum())
    where[:n0] = np.repeat(np.arange(n_loc, dtype=np.int32), plan.insert0)
    return {
        "foreign": plan.foreign.copy(), "camp": plan.camp0.copy(), "town": plan.town0.copy(),
        "conflict": plan.conflict0.copy(), "toc": np.full(n_loc, -1, np.int64),
        "mc_base": plan.movechance0.copy(), "pop": plan.pop.copy(),
        "count": np.bincount(where[:n0], minlength=n_loc).astype(np.int64),
        "link_open": np.ones(n_links, np.bool_), "link_count": np.zeros(n_links, np.int64),
        "where": where, "prog": np.zeros(cap, np.float64), "path": np.full(cap, -1, np.int32),
        "hop": np.zeros(cap, np.int8), "flags": np.zeros(cap, np.int8),
        "scratch": np.zeros(cap, np.int32), "rtd": np.zeros(cap if ast else 1, np.float32),
        "dday": np.zeros(cap if ast else 1, np.float32),
        "pop_rec": np.zeros((n_days, n_loc), np.int64), "arr_rec": np.zeros((n_days, n_loc), np.int64),
        "dep_rec": np.zeros((n_days, n_loc), np.int64),
        "link_rec": np.zeros((n_days, n_links), np.int64), "spawned": np.zeros(n_days, np.int64),
        "alive": np.zeros(n_days, np.int64), "rounds": np.zeros(n_days, np.int64),
    }


def run_agents(plan: Plan, seed: int = 0, threads: int | None = None, check: bool = False,
               state: dict[str, np.ndarray] | None = None, first_day: int = 0,
               every: int = 0, on_checkpoint: Callable[[int, dict[str, np.ndarray]], None] | None = None,
               draws: str = "gaps") -> EngineOutput:
    """Run the agent engine on a Plan; identical output for a seed whatever `threads` is.

    `draws` (DRAWS) picks how pass A draws who moves: both give the same distribution of results,
    each its own numbers for a seed; the GPU backend gives the same numbers for the same `draws`.

    To resume, pass the `state` saved before `first_day`; with `every` > 0 the loop stops every
    `every` days and calls `on_checkpoint(day, state)` (the state before that day). Neither
    changes the result.

    >>> out = run_agents(compile_plan(scenario), seed=1)  # doctest: +SKIP
    """
    if draws not in DRAWS:
        raise ValueError(f"unknown draws {draws!r}; choose one of {', '.join(DRAWS)}")
    p = plan.params
    fp = np.array([p[k] for k in FP_KEYS], np.float64)
    ip = np.array([int(p[k]) for k in IP_KEYS], np.int64)
    n_days = plan.n_days
    ast = bool(p["avoid_short_stints"])
    check_memory(plan)
    st = initial_state(plan) if state is None else state
    n_created = np.concatenate([[0], np.cumsum(plan.spawn)]) + int(plan.insert0.sum())
    slink = step_links(plan)
    old_threads = nb.get_num_threads()
    if threads is not None:
        # numba.config sets NUMBA_NUM_THREADS at import time, out of mypy's sight
        nb.set_num_threads(max(1, min(int(threads), nb.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    try:
        t0 = time.perf_counter()
        err, day, t = ERR_NONE, -1, int(first_day)
        daycount.begin(t, n_days)
        while t < n_days and err == ERR_NONE:
            t_end = n_days if every <= 0 else min(n_days, (t // every + 1) * every)
            # (a signal's Python handler would wait for the kernel; parallel_section: another
            # thread may run a parallel kernel meanwhile, nogil, where numba's layer allows it)
            with at_once(), parallel_section():
                err, day = _run(
                    seed_words(seed), t_end, t, int(n_created[t]), fp, ip, plan.decay.astype(np.float64),
                    int(plan.decay_interval),
                    st["foreign"], st["camp"], st["town"], st["conflict"], st["toc"], st["mc_base"],
                    st["pop"], plan.capacity, st["count"],
                    plan.link_from, plan.link_to, plan.link_km, plan.link_speed, plan.link_walk_p,
                    st["link_open"], st["link_count"], plan.out_ptr, plan.out_link, plan.path_ptr,
                    plan.path_dest, plan.path_inv_dist, plan.path_home, plan.path_node_ptr,
                    plan.path_nodes, plan.path_link_ptr, plan.path_links, slink,
                    plan.spawn, plan.conflict_ptr, plan.conflict_loc, plan.conflict_on,
                    plan.conflict_value, plan.refresh_today, plan.closure_ptr, plan.closure_op,
                    plan.closure_target, plan.closure_arg,
                    st["where"], st["prog"], st["path"], st["hop"], st["flags"], st["scratch"],
                    st["rtd"], st["dday"],
                    st["pop_rec"], st["arr_rec"], st["dep_rec"], st["link_rec"], st["spawned"],
                    st["alive"], st["rounds"], bool(check), nb.get_num_threads() == 1,
                    draws == "bernoulli", daycount.DAYS)
            t = t_end
            stopping.check()  # (a stop whose KeyboardInterrupt a finalizer swallowed ends the run here)
            if err == ERR_NONE and t < n_days and on_checkpoint is not None:
                on_checkpoint(t, st)
        loop_s = time.perf_counter() - t0
        used = nb.get_num_threads()
    finally:
        nb.set_num_threads(old_threads)
    pop_rec, arr_rec, dep_rec, link_rec = st["pop_rec"], st["arr_rec"], st["dep_rec"], st["link_rec"]
    spawned, alive, rounds = st["spawned"], st["alive"], st["rounds"]
    if err != ERR_NONE:
        msg = {
            ERR_NO_SPAWN_WEIGHT: "people must appear but no location has a positive spawn weight "
                                 "(no conflict zone with population > 0)",
            ERR_POP_EXHAUSTED: "take_from_population: more people spawned than the conflict zones' population",
            ERR_ROUNDS: f"same-day travel did not end after {MAX_ROUNDS} rounds (links of length 0?)",
            ERR_CHECK: "invariant broken: counts per location/link differ from the people columns",
        }[int(err)]
        raise EngineError(f"day {int(day)}: {msg}")
    return EngineOutput(
        population=pop_rec, arrivals=arr_rec, departures=dep_rec, travellers=link_rec,
        spawned=spawned, alive=alive, rounds=rounds, loop_s=loop_s,
        agent_steps=int(alive.sum()), threads=int(used), bytes_per_person=bytes_per_person(ast),
    )
