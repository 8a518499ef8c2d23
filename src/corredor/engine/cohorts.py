"""Cohort engine: counts of interchangeable people instead of one row per person; Flee 3.1's rules.

Why: people at the same place in the same state face the same choice with the same probabilities,
so drawing one binomial for the movers of a cell and one multinomial (as a chain of binomials) for
their routes gives exactly the distribution of the agent engine's per-person draws, at a cost that
grows with places, routes and link states instead of people. A 7.7-million-person exodus over ten
years runs in seconds (benchmarks/scale_cohorts.py, docs/performance.md).

State (all counts are agents, as in engine/agents.py):
- `at[v, f]`       people at location v with no planned path; f = 1 once they completed a link
                   (kept only when start_on_foot is on, the one rule that reads it; else f = 0)
- path cells       (v, path, hop, flags, n): people at v still following a planned path (awareness
                   ≥ 2, or bounced off a closed link)
- link cells       (link, progress km, path, hop, flags, n): people on a link. Progress is kept as
                   the exact float the agent engine would hold (0 + s + s' + ...), so arrival tests
                   (progress > length) are the same comparisons; a link has finitely many such
                   values (multiples of its speed and of the walk speed)
- frontier cells   (v, km today, path, hop, flags, n): people who arrived today with distance left,
                   who decide again in the next round (same-day chaining)

The day is the agent engine's step list, on cells (docs/model-rules.md, flee-model.md §3.2, §3.10):
 1. conflicts    onsets/removals of day t
 2. spawn        today's total split over locations by a multinomial on the spawn weights
 3. closures     links and camps; people on a link closed today are flagged to bounce back
 4. scores       scores, attractiveness, move chances, capacity multipliers from the counts,
                 route tables (the same kernels as the agent engine, engine/rules/)
 5. pass A + B0  every location cell: movers ~ Binomial(n, move chance); movers without a path
                 split over paths ~ Multinomial(route weights); each group takes its next hop
                 (refused if its final camp has Cap < 0.5) and travels at once; every link cell
                 advances (walkers ~ Binomial(n, walk_probability)); arrivals with km left join
                 the frontier. Places with a capacity decide first, one after another, and the
                 other places then see their departures (the agent engine follows Flee's serial
                 order person by person, which counts cannot: see docs/validation.md)
 6. rounds       each frontier cell decides again and travels at once, with live counts: every
                 arrival or departure at a place with a capacity updates its Cap for the next
                 decider, and where a batch could push a destination into its capacity band the
                 movers go in batches that move its Cap by ≤ 1 % (one by one in small camps);
                 repeat until the frontier is empty
 7. record       population, arrivals, departures, people per link

Random numbers: numba's Mersenne Twister with numpy's legacy binomial (inversion below n·p = 30,
BTPE above), reseeded at the start of every day with 32 bits of the counter RNG keyed by
(seed, day, COHORT) (engine/rng.py). A day's draws depend only on (seed, day); the kernel is
serial, so a seed gives identical results on any number of threads. (A numpy Generator passed into
the kernel was tried first: its reference counting on every inner call took about half the time.) Cells are merged (same key, summed counts) when their number grows.

Exact in distribution wherever people do not affect each other, i.e. unless a camp's capacity binds:
then Flee (and the agent engine) let each person see the departures and arrivals of the people
before them in list order, an order counts do not carry; the steps above follow it as closely as
counts can, and docs/validation.md measures what is left ("Cohorts vs agents").

Individual history that is not a finite state makes the engine refuse the plan: avoid_short_stints
keeps a running average of daily distance per person (`engine_for` then picks agents).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba as nb
import numpy as np

from .. import stopping
from ..plan import OP_CAMP_CLOSE, OP_CAMP_OPEN, OP_LINK_CLOSE, OP_LINK_OPEN, Plan
from . import daycount
from .agents import FP_KEYS, MAX_ROUNDS, EngineError, EngineOutput
from .rng import Stream, key_bits, seed_words
from .rules.capacity import cap_multiplier, cap_multipliers
from .rules.locations import attractiveness, location_scores, move_chances, spawn_weights
from .rules.routes import next_link, path_validity, route_tables

F_DONE = 1  # has completed a link (only tracked when start_on_foot is on)
F_BOUNCE = 2  # on a link closed after they entered it: returns to its start

# integer columns of a cell table: place (location or link), path, hop, flags, people
C_AT, C_PATH, C_HOP, C_FLAGS, C_N = 0, 1, 2, 3, 4
# float columns: progress on the link (km), km travelled today
C_PROG, C_DIST = 0, 1

#: Near a capacity band, chained movers decide in batches whose arrivals move the destination's
#: Cap by at most this much (1 % of the band; one person for bands under 100 people).
BAND_STEP = 0.01

ERR_NONE = 0
ERR_NO_SPAWN_WEIGHT = 1
ERR_POP_EXHAUSTED = 2
ERR_ROUNDS = 3
ERR_CHECK = 4

# stats columns (per day)
S_ROUNDS, S_CELLS, S_DRAWS = 0, 1, 2
#: Bytes a cell (path or link cell) takes in the cell tables: 5 int64 (pi/li) and 2 float64 (pf/lf).
#: A run's manifest gives it as `memory.bytes_per_cell` (its `cohorts.cells_max` says how many).
BYTES_PER_CELL = 5 * 8 + 2 * 8


#: Cost model of `engine_for` (CPU seconds on one thread), calibrated with benchmarks/engine_choice.py
#: on mali2012, burundi and car at hasten 1 and 10 (awareness 1 and 2), the synthetic exodus of
#: benchmarks/scale_cohorts.py and random networks (docs/performance.md, "Which engine auto picks").
#: Agents: a constant per agent-step (a person alive on a day) plus the daily per-place tables.
#: Cohorts: per day, per unit (place, link, path), per same-day hop a link allows, times a factor
#: that grows with the log of the people entering per unit and day (more people, more occupied
#: cells and draws; the cohort engine's cost does not grow with people otherwise).
AGENT_S_PER_STEP = 12e-9
AGENT_S_PER_UNIT_DAY = 1e-7
COHORT_S_PER_UNIT_DAY = 1.3e-6
COHORT_LOG_SLOPE = 0.6
COHORT_FACTOR_RANGE = (0.3, 3.0)
HOPS_PER_DAY_MAX = 8.0


def cost_estimate(plan: Plan) -> dict[str, float]:
    """Estimated CPU seconds of both engines on one thread for a plan, from its arrays alone.

    Cheap (a few array sums, no simulation) and deterministic: the same plan gives the same
    estimate, and so the same pick, on every machine and for any thread count. Keys:
    `agent_steps` (people alive summed over days, known from the day-0 insertion and the spawn
    schedule, since nobody leaves), `units` (places + links + paths), `hops_per_day` (mean over
    links of speed / length, capped), `entering_per_unit_day`, `agents_s`, `cohorts_s`.
    """
    days = max(1, int(plan.n_days))
    spawn = plan.spawn.astype(np.int64)[:days]
    steps = int(plan.insert0.sum()) * days + int(
        np.sum(spawn * np.arange(days, days - spawn.shape[0], -1, dtype=np.int64)))
    units = plan.n_locations + plan.n_links + int(plan.path_dest.shape[0])
    if plan.n_links:
        km = np.maximum(plan.link_km, 1e-9)
        hops = float(np.mean(np.minimum(plan.link_speed / km, HOPS_PER_DAY_MAX)))
    else:
        hops = 0.0
    entering = (float(spawn.sum()) + float(plan.insert0.sum())) / days / max(1, units)
    lo, hi = COHORT_FACTOR_RANGE
    factor = lo if entering <= 0 else min(hi, max(lo, 1.0 + COHORT_LOG_SLOPE * float(np.log10(entering))))
    agents_s = AGENT_S_PER_STEP * steps + AGENT_S_PER_UNIT_DAY * units * days
    cohorts_s = COHORT_S_PER_UNIT_DAY * units * days * (1.0 + hops) * factor
    return {"agent_steps": float(steps), "units": float(units), "hops_per_day": hops,
            "entering_per_unit_day": entering, "agents_s": agents_s, "cohorts_s": cohorts_s}


def _millions(x: float) -> str:
    return f"{x / 1e6:.3g} M" if x >= 1e5 else f"{x:,.0f}"


def engine_for(plan: Plan) -> tuple[str, str]:
    """Which engine `auto` picks for a Flee plan, and why: the cheaper by `cost_estimate`.

    A rule that needs each person's history (avoid_short_stints) forces the agent engine. Otherwise
    the engine with the lower estimated CPU cost on one thread runs; a tie goes to the agent
    engine, which follows Flee's serial order exactly where capacities bind (the cohort engine
    approximates there: docs/validation.md). Small populations (car at hasten 10: ≈27.5 M
    agent-steps) get agents; large ones (car at hasten 1, a 7.7-million-person exodus) cohorts.
    """
    if plan.params.get("avoid_short_stints"):
        return "agents", ("avoid_short_stints keeps a running average of each person's daily distance, "
                          "which is not a finite state: the agent engine runs it")
    est = cost_estimate(plan)
    a, c = est["agents_s"], est["cohorts_s"]
    steps = _millions(est["agent_steps"])
    if a <= c:
        return "agents", (f"agents: ≈{steps} agent-steps, estimated {a:.2g} CPU-s on one thread "
                          f"against {c:.2g} s for cohorts: cheaper here")
    return "cohorts", (f"cohorts: ≈{steps} agent-steps would cost the agent engine an estimated "
                       f"{a:.2g} CPU-s on one thread against {c:.2g} s for counts per place and state: "
                       "cheaper here")


# ---------------------------------------------------------------------------------------------
# cell tables


@nb.njit(cache=True, nogil=True, inline="always")
def _push(ti: np.ndarray, tf: np.ndarray, n: int, at: int, path: int, hop: int, flags: int,
          k: int, prog: float, dist: float) -> tuple:
    """Append one cell (growing the table by doubling); returns (ints, floats, n + 1)."""
    if n >= ti.shape[0]:
        m = 2 * ti.shape[0] + 64
        ti2 = np.zeros((m, 5), np.int64)
        tf2 = np.zeros((m, 2), np.float64)
        ti2[:n] = ti[:n]
        tf2[:n] = tf[:n]
        ti, tf = ti2, tf2
    ti[n, C_AT] = at
    ti[n, C_PATH] = path
    ti[n, C_HOP] = hop
    ti[n, C_FLAGS] = flags
    ti[n, C_N] = k
    tf[n, C_PROG] = prog
    tf[n, C_DIST] = dist
    return ti, tf, n + 1


@nb.njit(cache=True, nogil=True, inline="always")
def _same(oi: np.ndarray, of: np.ndarray, a: int, ti: np.ndarray, tf: np.ndarray, r: int,
          fcol: int) -> bool:
    """Do output row a and input row r have the same key (and the same float in column fcol)?"""
    for c in range(4):
        if oi[a, c] != ti[r, c]:
            return False
    return fcol < 0 or of[a, fcol] == tf[r, fcol]


@nb.njit(cache=True, nogil=True)
def _merge(ti: np.ndarray, tf: np.ndarray, n: int, n_paths: int, fcol: int) -> tuple:
    """Sum the counts of cells with the same key (place, path, hop, flags and, if fcol ≥ 0, the
    float in that column: progress or km today); drop empty cells. Returns (ints, floats, n)."""
    if n == 0:
        return ti, tf, 0
    key = np.empty(n, np.int64)
    for r in range(n):
        key[r] = ((ti[r, C_AT] * (n_paths + 1) + ti[r, C_PATH] + 1) * 128 + ti[r, C_HOP]) * 4 + ti[r, C_FLAGS]
    if fcol >= 0:
        o1 = np.argsort(tf[:n, fcol], kind="mergesort")
        o2 = np.argsort(key[o1], kind="mergesort")
        order = o1[o2]
    else:
        order = np.argsort(key, kind="mergesort")
    oi = np.zeros((n + 64, 5), np.int64)
    of = np.zeros((n + 64, 2), np.float64)
    m = 0
    for j in range(n):
        r = order[j]
        if ti[r, C_N] == 0:
            continue
        if m > 0 and _same(oi, of, m - 1, ti, tf, r, fcol):
            oi[m - 1, C_N] += ti[r, C_N]
            continue
        oi[m, :] = ti[r, :]
        of[m, :] = tf[r, :]
        m += 1
    return oi, of, m


@nb.njit(cache=True, nogil=True, inline="always")
def _binom(n: int, p: float, draws: np.ndarray) -> int:
    """Binomial(n, p) with p clamped to [0, 1]; no draw when the outcome is certain."""
    if n <= 0 or not p > 0.0:
        return 0
    if p >= 1.0:
        return n
    draws[0] += 1
    return np.random.binomial(n, p)


# ---------------------------------------------------------------------------------------------
# the day


@nb.njit(cache=True, nogil=True, inline="always")
def _place(v: int, path: int, hop: int, flags: int, k: int, at: np.ndarray, pi: np.ndarray,
           pf: np.ndarray, np_: int) -> tuple:
    """Put k people at v: with no path into at[v, done], else as a path cell."""
    f = flags & F_DONE
    if path < 0:
        at[v, f] += k
        return pi, pf, np_
    return _push(pi, pf, np_, v, path, hop, f, k, 0.0, 0.0)


@nb.njit(cache=True, nogil=True, inline="always")
def _step(v: int, p: int, h: int, flags: int, k: int, dist: float, at: np.ndarray,
          pi: np.ndarray, pf: np.ndarray, np_: int, mi: np.ndarray, mf: np.ndarray, nm: int,
          node_ptr: np.ndarray, nodes: np.ndarray, out_ptr: np.ndarray, out_link: np.ndarray,
          link_to: np.ndarray, link_open: np.ndarray, camp: np.ndarray, capmult: np.ndarray,
          count: np.ndarray, link_count: np.ndarray, dep: np.ndarray, capacity: np.ndarray,
          buffer: float) -> tuple:
    """k movers at v on path p, next node index h: enter the next link (Person.take_next_step).

    No open link to the next node, or a final camp with Cap < 0.5, drops the path: they stay at v.
    """
    lk = next_link(v, nodes[node_ptr[p] + h], out_ptr, out_link, link_to, link_open)
    final = nodes[node_ptr[p + 1] - 1]
    if lk < 0 or (camp[final] and capmult[final] < 0.5):
        pi, pf, np_ = _place(v, -1, 0, flags, k, at, pi, pf, np_)
        return pi, pf, np_, mi, mf, nm
    h2 = h + 1
    p2 = p
    if node_ptr[p] + h2 >= node_ptr[p + 1]:
        p2 = -1
        h2 = 0
    dep[v] += k
    count[v] -= k
    if capacity[v] >= 1:  # counts are live: later deciders see this departure
        capmult[v] = cap_multiplier(capacity[v], count[v], buffer)
    link_count[lk] += k
    mi, mf, nm = _push(mi, mf, nm, lk, p2, h2, flags & ~F_BOUNCE, k, 0.0, dist)
    return pi, pf, np_, mi, mf, nm


@nb.njit(cache=True, nogil=True)
def _decide(v: int, path: int, hop: int, flags: int, k: int, dist: float, at: np.ndarray,
            pi: np.ndarray, pf: np.ndarray, np_: int, mi: np.ndarray, mf: np.ndarray, nm: int,
            path_ptr: np.ndarray, path_valid: np.ndarray, cum: np.ndarray, tot: np.ndarray,
            nvalid: np.ndarray, node_ptr: np.ndarray, nodes: np.ndarray, out_ptr: np.ndarray,
            out_link: np.ndarray, link_to: np.ndarray, link_open: np.ndarray, camp: np.ndarray,
            capmult: np.ndarray, count: np.ndarray, link_count: np.ndarray, dep: np.ndarray,
            draws: np.ndarray, capacity: np.ndarray, buffer: float) -> tuple:
    """k movers at v: choose paths if they have none (multinomial over route weights), then step."""
    if path >= 0:
        return _step(v, path, hop, flags, k, dist, at, pi, pf, np_, mi, mf, nm, node_ptr, nodes,
                     out_ptr, out_link, link_to, link_open, camp, capmult, count, link_count, dep,
                     capacity, buffer)
    if nvalid[v] == 0:
        pi, pf, np_ = _place(v, -1, 0, flags, k, at, pi, pf, np_)
        return pi, pf, np_, mi, mf, nm
    lo, hi = path_ptr[v], path_ptr[v + 1]
    total = tot[v]
    weighted = total > 0.0
    # the last path that can be chosen takes what is left (rounding never loses people)
    last = -1
    prev = 0.0
    for p in range(lo, hi):
        w = cum[p] - prev if weighted else (1.0 if path_valid[p] else 0.0)
        prev = cum[p]
        if path_valid[p] and w > 0.0:
            last = p
    rem = k
    prev = 0.0
    left = float(nvalid[v])
    for p in range(lo, hi):
        if weighted:
            w = cum[p] - prev
            rest = total - prev  # weight of this path and all later ones
            prev = cum[p]
        else:
            w = 1.0 if path_valid[p] else 0.0
            rest = left
        if not (path_valid[p] and w > 0.0):
            continue
        if not weighted:
            left -= 1.0
        j = rem if p == last else _binom(rem, w / rest, draws)
        if j > 0:
            rem -= j
            pi, pf, np_, mi, mf, nm = _step(v, p, 1, flags, j, dist, at, pi, pf, np_, mi, mf, nm,
                                            node_ptr, nodes, out_ptr, out_link, link_to, link_open,
                                            camp, capmult, count, link_count, dep, capacity, buffer)
        if rem == 0 or p == last:
            break
    return pi, pf, np_, mi, mf, nm


@nb.njit(cache=True, nogil=True)
def _travel(mi: np.ndarray, mf: np.ndarray, nm: int, sof: bool, walk: float,
            link_from: np.ndarray, link_to: np.ndarray, link_km: np.ndarray,
            link_speed: np.ndarray, link_walk_p: np.ndarray, at: np.ndarray, count: np.ndarray,
            link_count: np.ndarray, arr: np.ndarray, li: np.ndarray, lf: np.ndarray, nl: int,
            fi: np.ndarray, ff: np.ndarray, nf: int, pi: np.ndarray, pf: np.ndarray, np_: int,
            draws: np.ndarray, capacity: np.ndarray, capmult: np.ndarray, buffer: float) -> tuple:
    """Advance every cell of the table m by today's speed (Person.finish_travel), as agents._travel.

    progress' = progress + s; arrival iff progress' > length; km today then counts up to the end.
    Arrivals with km today < s join the frontier; a bounced cell returns to the link's start.
    """
    for r in range(nm):
        k_all = mi[r, C_N]
        if k_all <= 0:
            continue
        lk = mi[r, C_AT]
        path, hop, flags = mi[r, C_PATH], mi[r, C_HOP], mi[r, C_FLAGS]
        p, d = mf[r, C_PROG], mf[r, C_DIST]
        s0 = link_speed[lk]
        if sof and (flags & F_DONE) == 0:
            s0 = walk
        nw = 0
        if link_walk_p[lk] > 0.0:
            nw = _binom(k_all, link_walk_p[lk], draws)
        km = link_km[lk]
        for part in range(2):
            s = walk if part == 0 else s0
            k = nw if part == 0 else k_all - nw
            if k == 0:
                continue
            p2 = p + s
            d2 = d + s
            if p2 > km:
                f2 = flags | F_DONE if sof else flags
                d2 += km - p2
                link_count[lk] -= k
                if f2 & F_BOUNCE:
                    v = link_from[lk]
                    count[v] += k
                    arr[v] += k
                    if capacity[v] >= 1:
                        capmult[v] = cap_multiplier(capacity[v], count[v], buffer)
                    pi, pf, np_ = _place(v, path, hop, f2 & ~F_BOUNCE, k, at, pi, pf, np_)
                    continue
                v = link_to[lk]
                count[v] += k
                arr[v] += k
                if capacity[v] >= 1:  # counts are live: later deciders see this arrival
                    capmult[v] = cap_multiplier(capacity[v], count[v], buffer)
                if d2 < s:
                    fi, ff, nf = _push(fi, ff, nf, v, path, hop, f2, k, 0.0, d2)
                else:
                    pi, pf, np_ = _place(v, path, hop, f2, k, at, pi, pf, np_)
            else:
                li, lf, nl = _push(li, lf, nl, lk, path, hop, flags, k, p2, 0.0)
    return li, lf, nl, fi, ff, nf, pi, pf, np_


@nb.njit(cache=True, nogil=True, inline="always")
def _band_batch(f: int, k: int, count: np.ndarray, capacity: np.ndarray, buffer: float) -> int:
    """Largest batch heading for f whose arrivals change f's Cap by at most BAND_STEP (k if none)."""
    c = capacity[f]
    if c < 1 or count[f] >= c or count[f] + k <= buffer * c:
        return k
    return max(1, int(BAND_STEP * c * (1.0 - buffer)))


@nb.njit(cache=True, nogil=True)
def _batch_size(v: int, path: int, k: int, count: np.ndarray, capacity: np.ndarray,
                buffer: float, path_ptr: np.ndarray, path_dest: np.ndarray,
                path_valid: np.ndarray, node_ptr: np.ndarray, nodes: np.ndarray) -> int:
    """How many of k movers at v may decide together: all of them, unless they could push a
    destination they may head for into or through its capacity band (buffer·C < n < C), where
    each arrival lowers the next person's Cap; then batches that move Cap by ≤ BAND_STEP."""
    if path >= 0:
        return _band_batch(nodes[node_ptr[path + 1] - 1], k, count, capacity, buffer)
    b = k
    for p in range(path_ptr[v], path_ptr[v + 1]):
        if path_valid[p]:
            b = min(b, _band_batch(path_dest[p], k, count, capacity, buffer))
    return b


@nb.njit(cache=True, nogil=True)
def _day(t: int, day_seed: int, fp: np.ndarray, sof: bool, use_pop: bool, take_pop: bool, use_decay: bool,
         decay: np.ndarray, decay_interval: int,
         foreign: np.ndarray, camp: np.ndarray, town: np.ndarray, conflict: np.ndarray,
         toc: np.ndarray, mc_base: np.ndarray, pop: np.ndarray, capacity: np.ndarray,
         count: np.ndarray,
         link_from: np.ndarray, link_to: np.ndarray, link_km: np.ndarray, link_speed: np.ndarray,
         link_walk_p: np.ndarray, link_open: np.ndarray, link_count: np.ndarray,
         out_ptr: np.ndarray, out_link: np.ndarray, path_ptr: np.ndarray, path_dest: np.ndarray,
         path_inv_dist: np.ndarray, path_home: np.ndarray, node_ptr: np.ndarray,
         nodes: np.ndarray, path_link_ptr: np.ndarray, path_links: np.ndarray,
         path_valid: np.ndarray,
         n_new: int, cptr: np.ndarray, cloc: np.ndarray, con: np.ndarray, cval: np.ndarray,
         refresh_t: bool, clptr: np.ndarray, clop: np.ndarray, cltarget: np.ndarray,
         clarg: np.ndarray,
         at: np.ndarray, pi: np.ndarray, pf: np.ndarray, np_: int, li: np.ndarray,
         lf: np.ndarray, nl: int,
         pop_rec: np.ndarray, arr_rec: np.ndarray, dep_rec: np.ndarray, link_rec: np.ndarray,
         stats: np.ndarray, refs: np.ndarray, capped_first: bool, check: bool) -> tuple:
    """Day t on cells (module docstring's step list). Returns (error, path cells, link cells)."""
    n_loc = count.shape[0]
    n_links = link_count.shape[0]
    n_paths = path_dest.shape[0]
    draws = np.zeros(1, np.int64)
    np.random.seed(day_seed)  # this day's draws depend on (seed, day) only
    # 1. conflicts
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
    # 2. spawn: Multinomial(n_new, weights) as a chain of binomials
    tau = t if (refresh_t or t == 0) else t - 1
    wts = np.zeros(n_loc)
    wsum = spawn_weights(tau, conflict, toc, pop, decay, decay_interval, use_decay, wts)
    if n_new > 0:
        if not wsum > 0.0:
            return ERR_NO_SPAWN_WEIGHT, pi, pf, np_, li, lf, nl
        last = -1
        for j in range(n_loc):
            if wts[j] > 0.0:
                last = j
        rem = n_new
        acc = 0.0
        for j in range(n_loc):
            w = wts[j]
            if not w > 0.0:
                continue
            k = rem if j == last else _binom(rem, w / (wsum - acc), draws)
            acc += w
            rem -= k
            at[j, 0] += k
            count[j] += k
            if take_pop and conflict[j] > 0.0:
                pop[j] -= k
                if pop[j] < 0:
                    return ERR_POP_EXHAUSTED, pi, pf, np_, li, lf, nl
            if rem == 0:
                break
    # 3. closures, in file order
    changed = False
    for e in range(clptr[t], clptr[t + 1]):
        op = clop[e]
        k = cltarget[e]
        if op == OP_LINK_CLOSE:
            if link_open[k]:
                link_open[k] = False
                changed = True
                for r in range(nl):  # people already on it turn back when they reach its end
                    if li[r, C_AT] == k:
                        li[r, C_FLAGS] |= F_BOUNCE
        elif op == OP_LINK_OPEN:
            if not link_open[k]:
                link_open[k] = True
                changed = True
        elif op == OP_CAMP_CLOSE:
            mc_base[k] = fp[8]
            camp[k] = False
            conflict[k] = -1.0
            town[k] = True
        elif op == OP_CAMP_OPEN:
            mc_base[k] = fp[7] if clarg[e] != 0 else fp[6]
            camp[k] = True
            conflict[k] = -1.0
            town[k] = False
    if changed:
        path_validity(path_link_ptr, path_links, link_open, path_valid)
    # 4. scores, move chances, capacity, route tables
    score = np.zeros(n_loc)
    attract = np.zeros(n_loc)
    mc = np.zeros(n_loc)
    capmult = np.zeros(n_loc)
    cum = np.zeros(n_paths)
    tot = np.zeros(n_loc)
    nvalid = np.zeros(n_loc, np.int64)
    location_scores(t, foreign, camp, conflict, toc, decay, decay_interval, use_decay,
                    fp[2], fp[3], fp[4], score)
    attractiveness(score, camp, pop, use_pop, fp[12], attract)
    move_chances(mc_base, pop, capacity, fp[13], fp[14], mc)
    cap_multipliers(capacity, count, fp[9], capmult)
    route_tables(path_ptr, path_dest, path_inv_dist, path_home, path_valid, attract, capmult,
                 fp[10], fp[11], cum, tot, nvalid)
    arr = np.zeros(n_loc, np.int64)
    dep = np.zeros(n_loc, np.int64)
    walk = fp[1]
    # 5. pass A on a snapshot of the location cells, then every link cell and entrant travels.
    # Places with a capacity go first when capped_first: in Flee's serial pass A (and the agent
    # engine) a departure from such a place raises its Cap for every later mover in list order,
    # and their residents are mostly older (earlier in the list) than the movers elsewhere.
    mi = np.zeros((64, 5), np.int64)
    mf = np.zeros((64, 2), np.float64)
    nm = 0
    np0 = np_
    phases = 2 if capped_first else 1
    for phase in range(phases):
        if capped_first and phase == 1:
            cap_multipliers(capacity, count, fp[9], capmult)
            route_tables(path_ptr, path_dest, path_inv_dist, path_home, path_valid, attract,
                         capmult, fp[10], fp[11], cum, tot, nvalid)
        for v in range(n_loc):
            if capped_first and (capacity[v] >= 1) != (phase == 0):
                continue
            if capped_first and phase == 0:  # this place's routes with the departures so far
                route_tables(path_ptr[v:v + 2], path_dest, path_inv_dist, path_home, path_valid,
                             attract, capmult, fp[10], fp[11], cum, tot[v:v + 1], nvalid[v:v + 1])
            m = mc[v]
            for f in range(2):
                n0 = at[v, f]
                if n0 == 0:
                    continue
                k = _binom(n0, m, draws)
                if k == 0:
                    continue
                at[v, f] -= k
                pi, pf, np_, mi, mf, nm = _decide(v, -1, 0, f, k, 0.0, at, pi, pf, np_, mi, mf,
                                                  nm, path_ptr, path_valid, cum, tot, nvalid,
                                                  node_ptr, nodes, out_ptr, out_link, link_to,
                                                  link_open, camp, capmult, count, link_count, dep,
                                                  draws, capacity, fp[9])
            if capped_first and phase == 0:
                for r in range(np0):  # path cells at this place
                    if pi[r, C_AT] == v and pi[r, C_N] > 0:
                        k = _binom(pi[r, C_N], m, draws)
                        if k > 0:
                            pi[r, C_N] -= k
                            pi, pf, np_, mi, mf, nm = _step(v, pi[r, C_PATH], pi[r, C_HOP],
                                                            pi[r, C_FLAGS], k, 0.0, at, pi, pf, np_,
                                                            mi, mf, nm, node_ptr, nodes, out_ptr,
                                                            out_link, link_to, link_open, camp,
                                                            capmult, count, link_count, dep,
                                                            capacity, fp[9])
                capmult[v] = cap_multiplier(capacity[v], count[v], fp[9])
    for r in range(np0):  # path cells at places without a capacity (all of them if not capped_first)
        n0 = pi[r, C_N]
        v = pi[r, C_AT]
        if n0 <= 0 or (capped_first and capacity[v] >= 1):
            continue
        k = _binom(n0, mc[v], draws)
        if k == 0:
            continue
        pi[r, C_N] -= k
        pi, pf, np_, mi, mf, nm = _step(v, pi[r, C_PATH], pi[r, C_HOP], pi[r, C_FLAGS], k, 0.0, at,
                                        pi, pf, np_, mi, mf, nm, node_ptr, nodes, out_ptr, out_link,
                                        link_to, link_open, camp, capmult, count, link_count, dep,
                                        capacity, fp[9])
    ni = np.zeros((max(64, nl + nm), 5), np.int64)
    nfl = np.zeros((max(64, nl + nm), 2), np.float64)
    nn = 0
    fi = np.zeros((64, 5), np.int64)
    ff = np.zeros((64, 2), np.float64)
    nf = 0
    ni, nfl, nn, fi, ff, nf, pi, pf, np_ = _travel(li, lf, nl, sof, walk, link_from, link_to,
                                                   link_km, link_speed, link_walk_p, at, count,
                                                   link_count, arr, ni, nfl, nn, fi, ff, nf, pi, pf,
                                                   np_, draws, capacity, capmult, fp[9])
    ni, nfl, nn, fi, ff, nf, pi, pf, np_ = _travel(mi, mf, nm, sof, walk, link_from, link_to,
                                                   link_km, link_speed, link_walk_p, at, count,
                                                   link_count, arr, ni, nfl, nn, fi, ff, nf, pi, pf,
                                                   np_, draws, capacity, capmult, fp[9])
    # 6. chained decisions in rounds. Counts (and capacity multipliers) are live: each frontier
    # cell decides with the counts left by the cells before it, its movers travel at once, and
    # where a batch could push a capped destination into its capacity band they go in small batches
    # (Flee's finish_travel recursion updates counts person by person).
    rounds = 0
    while nf > 0:
        rounds += 1
        if rounds > MAX_ROUNDS:
            return ERR_ROUNDS, pi, pf, np_, li, lf, nl
        fi, ff, nf = _merge(fi, ff, nf, n_paths, C_DIST)  # same (v, km today, path, hop, flags)
        gi = np.zeros((64, 5), np.int64)
        gf = np.zeros((64, 2), np.float64)
        ng = 0
        for r in range(nf):
            v = fi[r, C_AT]
            n0 = fi[r, C_N]
            path, hop, flags = fi[r, C_PATH], fi[r, C_HOP], fi[r, C_FLAGS]
            dist = ff[r, C_DIST]
            k = _binom(n0, mc[v], draws)
            if n0 - k > 0:
                pi, pf, np_ = _place(v, path, hop, flags, n0 - k, at, pi, pf, np_)
            if k == 0:
                continue
            batch = _batch_size(v, path, k, count, capacity, fp[9], path_ptr, path_dest,
                                path_valid, node_ptr, nodes)
            left = k
            while left > 0:
                b = min(batch, left)
                left -= b
                if path < 0:  # this place's route table with the counts as they are now
                    route_tables(path_ptr[v:v + 2], path_dest, path_inv_dist, path_home,
                                 path_valid, attract, capmult, fp[10], fp[11], cum, tot[v:v + 1],
                                 nvalid[v:v + 1])
                nm = 0
                pi, pf, np_, mi, mf, nm = _decide(v, path, hop, flags, b, dist, at, pi, pf,
                                                  np_, mi, mf, nm, path_ptr, path_valid, cum, tot,
                                                  nvalid, node_ptr, nodes, out_ptr, out_link,
                                                  link_to, link_open, camp, capmult, count,
                                                  link_count, dep, draws, capacity, fp[9])
                ni, nfl, nn, gi, gf, ng, pi, pf, np_ = _travel(mi, mf, nm, sof, walk, link_from,
                                                               link_to, link_km, link_speed,
                                                               link_walk_p, at, count, link_count,
                                                               arr, ni, nfl, nn, gi, gf, ng, pi, pf,
                                                               np_, draws, capacity, capmult, fp[9])
        fi, ff, nf = gi, gf, ng
    # keep the tables small: merge cells with the same key when they have grown
    if nn > 2 * refs[0] + 64:
        ni, nfl, nn = _merge(ni, nfl, nn, n_paths, C_PROG)
        refs[0] = nn
    if np_ > 2 * refs[1] + 64:
        pi, pf, np_ = _merge(pi, pf, np_, n_paths, -1)
        refs[1] = np_
    # 7. record
    pop_rec[t, :] = count
    arr_rec[t, :] = arr
    dep_rec[t, :] = dep
    link_rec[t, :] = link_count
    stats[t + 1, S_ROUNDS] = rounds
    stats[t + 1, S_CELLS] = nn + np_
    stats[t + 1, S_DRAWS] = draws[0]
    if check:
        here = np.zeros(n_loc, np.int64)
        for v in range(n_loc):
            here[v] = at[v, 0] + at[v, 1]
            if at[v, 0] < 0 or at[v, 1] < 0:
                return ERR_CHECK, pi, pf, np_, ni, nfl, nn
        for r in range(np_):
            if pi[r, C_N] < 0:
                return ERR_CHECK, pi, pf, np_, ni, nfl, nn
            here[pi[r, C_AT]] += pi[r, C_N]
        on = np.zeros(n_links, np.int64)
        for r in range(nn):
            if ni[r, C_N] < 0:
                return ERR_CHECK, pi, pf, np_, ni, nfl, nn
            on[ni[r, C_AT]] += ni[r, C_N]
        for v in range(n_loc):
            if here[v] != count[v]:
                return ERR_CHECK, pi, pf, np_, ni, nfl, nn
        for j in range(n_links):
            if on[j] != link_count[j]:
                return ERR_CHECK, pi, pf, np_, ni, nfl, nn
    return ERR_NONE, pi, pf, np_, ni, nfl, nn


# ---------------------------------------------------------------------------------------------
# driver


@dataclass
class CohortStats:
    """Cost figures of a cohort run (per day): chained rounds, live cells, binomial draws."""

    rounds: np.ndarray
    cells: np.ndarray
    draws: np.ndarray


def day_seeds(seed: int, n_days: int) -> np.ndarray:
    """32-bit seeds of numba's Mersenne Twister for each day, from the counter RNG keyed by (seed, day)."""
    word = seed_words(seed)
    return np.array([int(key_bits(word, t, Stream.COHORT, 0)) & 0xFFFFFFFF for t in range(n_days)], np.int64)


def run_cohorts(plan: Plan, seed: int = 0, threads: int | None = None, check: bool = False) -> EngineOutput:
    """Run the cohort engine on a Plan; the same EngineOutput as the agent engine (counts are agents).

    `threads` is accepted for symmetry and ignored: the kernel is serial, so results never depend on
    it. Raises EngineError for avoid_short_stints (use engine_for / the agent engine).

    >>> out = run_cohorts(compile_plan(scenario), seed=1)  # doctest: +SKIP
    """
    p = plan.params
    if p.get("avoid_short_stints"):
        raise EngineError("the cohort engine cannot run avoid_short_stints (per-person running average); "
                          "use engine='agents' or 'auto'")
    fp = np.array([p[k] for k in FP_KEYS], np.float64)
    sof = bool(p["start_on_foot"])
    n_loc, n_links, n_days = plan.n_locations, plan.n_links, plan.n_days
    at = np.zeros((n_loc, 2), np.int64)
    at[:, 0] = plan.insert0
    count = plan.insert0.astype(np.int64).copy()
    link_count = np.zeros(n_links, np.int64)
    pi = np.zeros((64, 5), np.int64)
    pf = np.zeros((64, 2), np.float64)
    li = np.zeros((64, 5), np.int64)
    lf = np.zeros((64, 2), np.float64)
    np_ = nl = 0
    foreign, camp, town = plan.foreign.copy(), plan.camp0.copy(), plan.town0.copy()
    conflict, toc = plan.conflict0.copy(), np.full(n_loc, -1, np.int64)
    mc_base, pop = plan.movechance0.copy(), plan.pop.copy()
    link_open = np.ones(n_links, np.bool_)
    path_valid = np.zeros(plan.path_dest.shape[0], np.bool_)
    path_validity(plan.path_link_ptr, plan.path_links, link_open, path_valid)
    decay = plan.decay.astype(np.float64)
    pop_rec = np.zeros((n_days, n_loc), np.int64)
    arr_rec = np.zeros((n_days, n_loc), np.int64)
    dep_rec = np.zeros((n_days, n_loc), np.int64)
    link_rec = np.zeros((n_days, n_links), np.int64)
    stats = np.zeros((n_days + 1, 3), np.int64)
    refs = np.zeros(2, np.int64)  # table sizes after the last merge (merge again when doubled)
    spawn = plan.spawn.astype(np.int64)
    use_pop, take_pop, use_decay = bool(p["use_pop_for_loc_weight"]), bool(p["take_from_population"]), bool(p["use_decay"])
    seeds = day_seeds(seed, n_days)
    t0 = time.perf_counter()
    daycount.begin(0, n_days)
    days_done = daycount.DAYS
    for t in range(n_days):
        stopping.check()  # (a stop whose KeyboardInterrupt a finalizer swallowed ends the run here)
        days_done[0] = t  # (for `run`'s day counter: engine/daycount.py)
        err, pi, pf, np_, li, lf, nl = _day(
            t, int(seeds[t]), fp, sof, use_pop, take_pop, use_decay, decay,
            int(plan.decay_interval),
            foreign, camp, town, conflict, toc, mc_base, pop, plan.capacity, count,
            plan.link_from, plan.link_to, plan.link_km, plan.link_speed, plan.link_walk_p,
            link_open, link_count, plan.out_ptr, plan.out_link, plan.path_ptr, plan.path_dest,
            plan.path_inv_dist, plan.path_home, plan.path_node_ptr, plan.path_nodes,
            plan.path_link_ptr, plan.path_links, path_valid,
            int(spawn[t]), plan.conflict_ptr, plan.conflict_loc, plan.conflict_on,
            plan.conflict_value, bool(plan.refresh_today[t]), plan.closure_ptr, plan.closure_op,
            plan.closure_target, plan.closure_arg,
            at, pi, pf, np_, li, lf, nl,
            pop_rec, arr_rec, dep_rec, link_rec, stats, refs, True, bool(check))
        if err != ERR_NONE:
            msg = {
                ERR_NO_SPAWN_WEIGHT: "people must appear but no location has a positive spawn weight "
                                     "(no conflict zone with population > 0)",
                ERR_POP_EXHAUSTED: "take_from_population: more people spawned than the conflict zones' population",
                ERR_ROUNDS: f"same-day travel did not end after {MAX_ROUNDS} rounds (links of length 0?)",
                ERR_CHECK: "invariant broken: cell counts differ from the per-location/per-link counts",
            }[int(err)]
            raise EngineError(f"day {t}: {msg}")
    loop_s = time.perf_counter() - t0
    days_done[0] = n_days
    alive = plan.insert0.sum() + np.cumsum(spawn)
    out = EngineOutput(
        population=pop_rec, arrivals=arr_rec, departures=dep_rec, travellers=link_rec,
        spawned=spawn.copy(), alive=alive.astype(np.int64), rounds=stats[1:, S_ROUNDS].copy(),
        loop_s=loop_s, agent_steps=int(alive.sum()), threads=1, bytes_per_person=0.0,
    )
    out.cohort_stats = CohortStats(rounds=stats[1:, S_ROUNDS].copy(), cells=stats[1:, S_CELLS].copy(),  # type: ignore[attr-defined]
                                   draws=stats[1:, S_DRAWS].copy())
    return out
