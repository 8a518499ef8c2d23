"""GPU backend of the agent engine: the same day, rules and random numbers as engine/agents.py, on CUDA.

Why this split: the people columns (where, progress, path, hop, flags, and the two avoid-short-stints
columns) are the only arrays that grow with the population, so they live on the device for the whole
run and every per-person step is a CUDA kernel. Everything per location, link or path (conflicts,
spawn weights, closures, scores, move-chance classes, capacity multipliers, route tables) is small and
is computed on the host with the very same numba functions the CPU engine calls, so those numbers are
bit-identical on both backends; once a day these tables go to the device, and the tallies (departures
and arrivals per location, change per link, frontier sizes) come back per phase or per batch of
rounds, summed on the device (per-block shared-memory histograms, then one global add per block and
bin). Kernels over all people run at most BLOCKS_PER_SM blocks per multiprocessor, the blocks looping
over the work, so each block flushes its histogram once.

Day order (identical to engine/agents.py, flee-model.md §3.2):
 1. conflicts       host: onsets/removals of day t
 2. spawn           host: weights (refreshed at t or t−1) → device: one uniform per new person picks
                    its location (first j with cumulative weight > u·ΣW), tallied per location
 3. closures        host: link/camp operations; device: people on a link closed today are marked
 4. scores          host: scores, attractiveness, move chances and their classes, Cap, route tables
 5. pass A          device, a block per CHUNK of people at a time (the CPU's chunks): movers are
                    drawn by the CPU's geometric gaps per (chunk, move-chance class) — the gaps
                    are generated in parallel and prefix-summed into the movers' ranks, each
                    thread ranking a contiguous segment of the chunk (draws "bernoulli": one
                    draw per person, no scan, blocks looping over chunks).
                    Movers at capped places are replayed on the host in index order with live
                    counts (Flee's serial pass A); a later mover whose choice reads a multiplier
                    they changed is deferred to the host too; everyone else chooses a path and
                    steps onto its first link on the device
 6. pass B          device: everyone on a link advances (round 0), then rounds of same-day decisions
                    for those who arrived with km left: one compacted frontier list per round, the
                    grid sized to it, rounds queued CHAIN_BATCH at a time (each reads its
                    frontier's length from the device; no host work is needed between rounds). A
                    decision that reads a capped place's multiplier depends on Flee's serial order
                    (each arrival's chain sees every earlier person's): that person is handed to
                    the host, which replays such chains in index order with the device's logged
                    count changes at capped places. Without any capped place (`fuse`, the
                    default there) no decision reads anybody else's, so fused_kernel runs every
                    person's pass A step, round 0 and same-day rounds in one launch (with draws
                    "bernoulli" their pass A draw too): one launch a day instead of one per round.
                    Its blocks pass the people who need work today through a queue in shared
                    memory, so a warp's threads hold 32 such people, not the few
                    among 32 consecutive ones (H100, ncu: 17.6 threads of 32 active against 6.5)
 7. record          host: counts per location and link after the day

Random numbers: engine/rng.py's key (seed, day, stream, id, sub) → SplitMix64 chain, computed on the
device with the same 64-bit integer arithmetic; the first three links of the chain (seed, day, stream)
are the same for every person and are computed once per day on the host. Same seed, same bits.
Counts are integer sums, so they do not depend on the order threads finish. A result can differ from
the CPU only where a float computed on the device (log and log1p in the geometric gaps, libdevice)
lands within an ulp of a decision boundary.

Implemented: every setting the CPU agent engine runs (any awareness level, capacity, closures of links
and camps, same-day chaining, start_on_foot, walk_probability, avoid_short_stints, decay,
take_from_population, check). Refused: no CUDA device and no simulator (`GpuUnavailable`); engine
"cohorts" and border-crisis scenarios (`simulate_gpu`, ValueError). A network whose tallies do not fit
one block's shared memory is tallied with global atomics instead.

>>> out = run_agents_gpu(compile_plan(scenario), seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
import time
import warnings
from typing import Any, Protocol

import numba as nb
import numpy as np

if not hasattr(np, "row_stack"):  # numpy ≥ 2.5 removed it; numba-cuda 0.30 still calls it
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from ..plan import OP_CAMP_CLOSE, OP_CAMP_OPEN, OP_LINK_CLOSE, OP_LINK_OPEN, Plan  # noqa: E402
from . import daycount  # noqa: E402
from .agents import (  # noqa: E402
    CHUNK,
    DRAWS,
    ERR_CHECK,
    ERR_NO_SPAWN_WEIGHT,
    ERR_POP_EXHAUSTED,
    ERR_ROUNDS,
    F_BOUNCE,
    F_DONE,
    FP_KEYS,
    IP_KEYS,
    MAX_ROUNDS,
    NCLS,
    EngineError,
    EngineOutput,
    refuse_unless_fits,
)
from .rng import Stream, seed_words, uniform  # noqa: E402
from .rules.capacity import cap_multiplier, cap_multipliers  # noqa: E402
from .rules.locations import attractiveness, location_scores, move_chances, spawn_weights  # noqa: E402
from .rules.routes import choose_path, choose_path_live, next_link, path_validity, route_tables  # noqa: E402

#: Threads per block of the per-chunk kernel (pass A); a power of two, at most TPB_MAX.
TPB = 128
TPB_MAX = 128
_CNT_COLS = TPB_MAX + 2  # per-class counts per thread; +2 puts the rows in distinct banks
#: Threads per block of the per-person kernels (spawn, chained rounds, marks) on days not fused.
TPB_FLAT = 256
#: Threads per block of the per-person kernels on a fused day (the fused kernel, within
#: FUSED_MAX_REGISTERS; spawn, bounces, recent travel and check's census uncapped, which must stay
#: within the 64 registers a thread that 1,024 allow: spawn took 36 in run 13, the others are a
#: few loads each). For the fused kernel 2 blocks of 1,024 threads an SM, 64 warps in flight, and
#: the block's shared tallies (23 KB on the scale case) held twice an SM instead of six
#: times, which leaves L1 most of its 228 KB for the route and link tables. Run 13 on an H100, 1e8
#: people, medians of 3 in turn: 2.82e10 person-steps/s, against 2.77e10 for 512 threads, 2.68e10
#: for 512 uncapped (37 registers, 3 blocks), 2.08e10 for 256 uncapped (6 blocks) and 1.45e10 for
#: 256 within 32 registers (8 blocks, 8 × 28 KB of shared memory: L1 all but gone).
TPB_FUSED = 1024
#: Registers a thread of the fused kernel may use (on a device; the simulator has none): 32 lets
#: two blocks of TPB_FUSED threads share an SM's 65,536 (uncapped it takes 37, and one fits).
FUSED_MAX_REGISTERS = 32
#: The spawn kernel counts its people per place in registers (SPAWN_BINS a thread) when the day's
#: spawn table has fewer entries (one bin is the fallback), instead of an atomic a person.
SPAWN_BINS = 16
#: Shared memory (bytes) one block may use for its tallies; larger networks tally in global memory.
SHARED_TALLY_BYTES = 24 * 1024
_SHARED_NO_OPT_IN = 48 * 1024  # shared memory a launch may use without cudaFuncSetAttribute
#: Resident blocks per multiprocessor the looping kernels are sized for (grid = SMs × this).
BLOCKS_PER_SM = 8
#: Waves of resident blocks in the fused kernel's grid: FUSED_WAVES × the blocks a multiprocessor
#: holds at once (from the compiled kernel's registers and shared memory) × multiprocessors. Its
#: blocks loop over equal shares of the people, so a grid of whole waves leaves no multiprocessor
#: idle at the end (8 blocks an SM where 6 fit would be 1.33 waves). With 4 resident, 2 waves
#: were measured a little faster than 4 (run 8: 8 blocks an SM 1.06e10, 16 1.03e10).
FUSED_WAVES = 2
#: Same-day rounds queued at once (the host reads their tallies once, and launches overlap the
#: device's work); rounds after the last one with people exit at once.
CHAIN_BATCH = 4
_QUEUE = 2 * TPB_FUSED  # fused_kernel's shared queue: < 2 entries a thread at any time
#: Phases of a day that run_agents_gpu(profile=True) times, in day order: spawn (day prefixes,
#: conflicts, spawn kernel), host_tables (closures, scores, classes, route tables, uploads), pass_a
#: (who moves; without capacities also their step, or with fuse and draws "gaps" their mark),
#: pass_a_host (capped movers and deferred movers replayed on the host, their gathers and
#: scatters, pass_a_kernel), advance (round 0 of pass B), chain (the same-day rounds), chain_host
#: (chains replayed on the host), fused (fused_kernel: pass A's steps, with draws "bernoulli" its
#: draws too, round 0 and every same-day round; then advance and chain are 0), end_of_day
#: (avoid_short_stints columns, records, check).
PHASES = ("spawn", "host_tables", "pass_a", "pass_a_host", "advance", "chain", "chain_host",
          "fused", "end_of_day")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

_S_SPAWN = Stream.SPAWN
_S_MOVE = Stream.MOVE
_S_ROUTE = Stream.ROUTE
_S_WALK = Stream.WALK
_S_CHAIN_MOVE = Stream.CHAIN_MOVE
_S_CHAIN_ROUTE = Stream.CHAIN_ROUTE
_S_SKIP = Stream.MOVE_SKIP
_N_STREAMS = 17

_F_DONE = int(F_DONE)
_F_BOUNCE = int(F_BOUNCE)
_F_NOT_BOUNCE = ~int(F_BOUNCE)
_F_MOVE = 4  # device only, within a day: drawn to move by movers_kernel, stepped by fused_kernel
_F_NOT_MOVE = ~4
#: What pass A's kernels do with a mover (their `direct`): put them on a list (the host replays the
#: capped ones, pass_a_kernel the others), step them at once (no capacity anywhere), or mark them
#: (_F_MOVE) for fused_kernel to step in its compact queue (no capacity; draws "gaps").
_LIST, _STEP, _MARK = 0, 1, 2
#: fused_kernel's `pass_a`: draw who moves (draws "bernoulli") or take the marked (draws "gaps").
_A_DRAW, _A_MARKED = 1, 2
_GEOM_MAX = 4_000_000_000_000_000_000


class GpuUnavailable(RuntimeError):
    """No CUDA device (and numba's CUDA simulator is not switched on)."""


def simulator_enabled() -> bool:
    """True when numba runs CUDA kernels in its Python simulator (NUMBA_ENABLE_CUDASIM=1)."""
    return bool(getattr(cuda, "simulator_enabled", False)) or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def gpu_available() -> bool:
    """A CUDA device or the simulator can run the kernels."""
    try:
        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver install is "not available"
        return False


# ---------------------------------------------------------------- counter-based RNG on the device


def _mask(x: int) -> int:
    return x & 0xFFFFFFFFFFFFFFFF


def _mix_host(z: int) -> int:
    """SplitMix64 finaliser in Python integers (rng.mix64)."""
    z = _mask((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9)
    z = _mask((z ^ (z >> 27)) * 0x94D049BB133111EB)
    return z ^ (z >> 31)


def key_prefix(seed: int, day: int, stream: int) -> int:
    """The first three links of rng.key_bits' chain (seed, day, stream), shared by a day's draws."""
    g = 0x9E3779B97F4A7C15
    h = _mix_host(_mask(int(seed) + g))
    h = _mix_host(h ^ _mask(int(day) + g))
    return _mix_host(h ^ _mask(int(stream) * g))


def day_prefixes(seed: int, day: int) -> np.ndarray:
    """key_prefix for every stream constant 0..16 of one day, as the uint64 array the kernels read."""
    return np.array([key_prefix(seed, day, s) for s in range(_N_STREAMS)], np.uint64)


@cuda.jit(device=True, inline=True)
def _mix64(z):
    z = (z ^ (z >> _U30)) * _M1
    z = (z ^ (z >> _U27)) * _M2
    return z ^ (z >> _U31)


@cuda.jit(device=True, inline=True)
def _bits(prefix, idx, sub):
    """rng.key_bits(seed, day, stream, idx, sub) given key_prefix(seed, day, stream)."""
    h = _mix64(prefix ^ np.uint64(idx))
    return _mix64(h ^ (np.uint64(sub) + _GOLDEN))


@cuda.jit(device=True, inline=True)
def _uniform(prefix, idx, sub):
    """rng.uniform: 53 random bits as a double in [0, 1)."""
    return float(_bits(prefix, idx, sub) >> _U11) * _INV53


@cuda.jit(device=True, inline=True)
def _ix(k):
    """k as an unsigned array index. numba wraps a signed index around (k < 0 reads from the
    end), which costs about five instructions an access on an sm_90 (the sign, a mask of the
    length, a 64-bit add); an unsigned one goes straight to the address. Every index passed here
    is ≥ 0 (in the simulator a negative one is an error: OverflowError or IndexError).
    Measured with ptxas 13.0 for sm_90 (docs/performance.md): the fused kernel's builds lost 5 to
    7 % of their instructions and kept or lowered their registers (the default 40 → 36)."""
    return nb.uint32(k)


@cuda.jit
def uniforms_kernel(prefix, idx, sub, out):
    """out[j] = uniform for key (…, idx[j], sub[j]); used by the tests to compare bits with rng.py."""
    j = cuda.grid(1)
    if j < out.shape[0]:
        out[j] = _uniform(prefix[0], idx[j], sub[j])


@cuda.jit(device=True, inline=True)
def _geometric(prefix, key, sub, q):
    """agents._geometric: failures before the first success of Bernoulli(q), keyed by (key, sub)."""
    if q >= 1.0:
        return 0
    u = 1.0 - _uniform(prefix, key, sub)
    g = math.floor(math.log(u) / math.log1p(-q))
    if g > 4.0e18:
        return _GEOM_MAX
    return int(g)


# ---------------------------------------------------------------- rules on the device (same as rules/)


@cuda.jit(device=True, inline=True)
def _choose_path(o, u, path_ptr, path_valid, cum, tot, nvalid):
    """rules.routes.choose_path. No branch before the place's four loads, so that they go out
    together (after `if nv == 0: return -1` they waited for nvalid's): where no path is open
    the loops below see none (tot is then 0) and give −1.

    The weighted loop reads `cum` alone, not path_valid: rules.routes.route_tables adds no
    weight for a closed path, so there cum[p] equals the entry before it (0 for a place's
    first path) and `c > prev` is already false, as `valid and c > prev` is. One load a path
    fewer in the loop that run 13's ncu found at least 18 % of the fused kernel's stall samples in (a
    byte each, 7.8 M of its excess sectors at 1e7); not yet timed on a device."""
    nv = nvalid[_ix(o)]
    lo = path_ptr[_ix(o)]
    hi = path_ptr[_ix(o + 1)]
    t = tot[_ix(o)]
    if nv == 0:
        hi = lo
    if t > 0.0:
        target = u * t
        last = -1
        prev = 0.0
        p = lo
        while p < hi:
            c = cum[_ix(p)]
            if c > prev:
                last = p
                if c > target:
                    return p
            prev = c
            p += 1
        return last
    k = int(u * nv)
    if k >= nv:
        k = nv - 1
    for p in range(lo, hi):
        if path_valid[_ix(p)]:
            if k == 0:
                return p
            k -= 1
    return -1


@cuda.jit(device=True, inline=True)
def _next_link(v, target, out_ptr, out_link, link_to, link_open):
    """rules.routes.next_link."""
    for j in range(out_ptr[_ix(v)], out_ptr[_ix(v + 1)]):
        lk = out_link[_ix(j)]
        if link_open[_ix(lk)] and link_to[_ix(lk)] == target:
            return lk
    return -1


@cuda.jit(device=True, inline=True)
def _step_of(i, v, route_prefix, sub, p, h, path_ptr, path_valid, cum, tot, nvalid, node_ptr,
             nodes, out_ptr, out_link, link_to, link_open, camp, capmult, capped, first=None):
    """agents._decide_step on values: person i at v with path p (−1: none) at hop h chooses a
    path if none and takes its next step. Returns (link entered or −1, path after, hop after):
    the path is −1 once its last step is taken, and then the hop is left as it was.
    `capped` False (a network without capacities, every multiplier 1) leaves out the check of
    the path's end against a full camp, which cannot fail there.

    `nodes` is interleaved (_path_steps): nodes[2k] the path node, nodes[2k + 1] the first link in
    out-list order from the node before it to it. When person i stands on that node before it and
    that link is open, it is what rules.routes.next_link would return, without scanning v's
    out-links; otherwise (a closed link, a bounce) the scan decides, as on the CPU.

    `first` (_first_steps, today's: 0 where that link is closed; the fused kernel without
    `capped`): a path just chosen takes its first step from one load, first[p], instead of
    node_ptr[p] and node_ptr[p + 1], then two of `nodes`, then link_open: the chain of dependent
    loads from the person's place to the link's tables is two loads shorter (ncu: most of the
    fused kernel's stalls wait on L1 loads). Where first[p] is 0 the step is looked up below."""
    if p < 0:
        p = _choose_path(v, _uniform(route_prefix, i, sub), path_ptr, path_valid, cum, tot, nvalid)
        if p < 0:
            return -1, p, h
        h = 1
        if first is not None and not capped:
            s = first[_ix(p)]
            if s != 0:
                if s & 1:
                    return (s >> 1) - 1, -1, h
                return (s >> 1) - 1, p, h + 1
    k = 2 * (node_ptr[_ix(p)] + h)
    lk = nodes[_ix(k + 1)]
    if lk < 0 or nodes[_ix(k - 2)] != v or not link_open[_ix(lk)]:
        lk = _next_link(v, nodes[_ix(k)], out_ptr, out_link, link_to, link_open)
    if lk < 0:
        return -1, -1, h
    end = node_ptr[_ix(p + 1)]
    if capped:
        final = nodes[_ix(2 * (end - 1))]
        if camp[_ix(final)] and capmult[_ix(final)] < 0.5:
            return -1, -1, h
    if node_ptr[_ix(p)] + h + 1 >= end:
        return lk, -1, h
    return lk, p, h + 1


@cuda.jit(device=True, inline=True)
def _decide_step(i, v, route_prefix, sub, path, hop, path_ptr, path_valid, cum, tot, nvalid,
                 node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp, capmult,
                 capped=True, first=None):
    """_step_of for person i's columns: the link entered or −1; path and hop written where
    they change (hop is read only on a path)."""
    p = path[i]
    h = 0
    if p >= 0:
        h = nb.int32(hop[i])
    lk, p2, h2 = _step_of(i, v, route_prefix, sub, p, h, path_ptr, path_valid, cum, tot, nvalid,
                          node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp, capmult,
                          capped, first)
    if p2 != p:
        path[i] = p2
    if h2 != h:
        hop[i] = h2
    return lk


@cuda.jit(device=True, inline=True)
def _leave(i, v, lk, where, flags, h, n_loc, link=True):
    """Person i leaves v onto link lk: tallied in h (departure at v, +1 on the link unless
    `link` is False: then _travel(entered=True) tallies the link's change)."""
    cuda.atomic.add(h, v, 1)
    if link:
        cuda.atomic.add(h, 2 * n_loc + lk, 1)
    flags[i] = flags[i] & _F_NOT_BOUNCE
    where[i] = -(lk + 1)


@cuda.jit(device=True, inline=True)
def _bernoulli_mover(i, w, lcls, mc, move_prefix):
    """Draws "bernoulli" (agents._scan_chunk with `bern`): does person i at w move today? Never
    (class −1), always (class 0), or if its uniform (MOVE stream) is below the place's chance."""
    k = lcls[_ix(w)]
    m = mc[_ix(w)]
    u = _uniform(move_prefix, i, 0)
    # without branches, so that mc's load goes out with lcls', not after `k < 0` is known
    return (k == 0) | ((k > 0) & (u < m))


@cuda.jit(device=True, inline=True)
def _step_mover(i, v, route_prefix, path, hop, path_ptr, path_valid, cum, tot, nvalid, node_ptr,
                nodes, out_ptr, out_link, link_to, link_open, camp, capmult, where, prog, flags,
                h, n_loc):
    """Pass A's step for mover i at v (agents._pass_a_chunk): choose and step onto a link, tallied
    in h (departure at v, +1 on the link)."""
    lk = _decide_step(i, v, route_prefix, 0, path, hop, path_ptr, path_valid, cum, tot, nvalid,
                      node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp, capmult)
    if lk >= 0:
        _leave(i, v, lk, where, flags, h, n_loc)
        prog[i] = 0.0


@cuda.jit(device=True, inline=True)
def _take_mover(i, v, lo, slots, direct, capacity, capped, movers, route_prefix, path, hop,
                path_ptr, path_valid, cum, tot, nvalid, node_ptr, nodes, out_ptr, out_link,
                link_to, link_open, camp, capmult, where, prog, flags, h, n_loc):
    """A mover found by pass A's draw, as `direct` says (_LIST, _STEP, _MARK): marked for
    fused_kernel; to the chunk's capped list (the host replays them); to its movers list
    (pass_a_kernel); or stepped at once."""
    if direct == _MARK:
        flags[i] = flags[i] | _F_MOVE
    elif capacity[v] >= 1:
        capped[lo + cuda.atomic.add(slots, 1, 1)] = i
    elif direct == _LIST:
        movers[lo + cuda.atomic.add(slots, 0, 1)] = i
    else:
        _step_mover(i, v, route_prefix, path, hop, path_ptr, path_valid, cum, tot, nvalid,
                    node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp, capmult, where,
                    prog, flags, h, n_loc)


@cuda.jit(device=True, inline=True)
def _todays_speed(i, lk, on_foot, walk_prefix, sub, link_speed, link_walk_p, walk):
    """rules.travel.todays_speed: km a day on link lk, walking if on foot or drawn to walk."""
    s = link_speed[lk]
    if on_foot:
        s = walk
    wp = link_walk_p[lk]
    if wp > 0.0:
        if _uniform(walk_prefix, i, sub) < wp:
            s = walk
    return s


@cuda.jit(device=True, inline=True)
def _travel(i, lk, p, dist, walk_prefix, sub, where, prog, flags, dday, ast, link_from, link_to,
            link_km, link_speed, link_walk_p, start_on_foot, walk, tally, n_loc, entered=False,
            links=None):
    """agents._travel with rules.travel.todays_speed: advance on link lk; True = joins the frontier.

    tally layout: [departures n_loc | arrivals n_loc | link change n_links]. `entered`: the
    person has just left a place onto lk (by _leave(link=False), which left the link's +1 to
    here): the link's net change is then +1 if they stay on it tonight and 0 if they arrive,
    so someone who crosses a link within one step touches its tally not at all, not twice.
    `links`: where the links' changes go (same layout as `tally`), if not in `tally`.
    """
    lt = tally if links is None else links
    f = flags[i]  # read once, written once: the compiler cannot tell the columns apart
    km = link_km[lk]  # loaded with the speed, not after the walking draw's branch
    to = link_to[lk]
    s = _todays_speed(i, lk, start_on_foot and (f & _F_DONE) == 0, walk_prefix, sub,
                      link_speed, link_walk_p, walk)
    p += s
    dist += s
    arrived = p > km
    v = to if arrived else -1  # (a select: the load of `to` stays beside km's)
    if arrived:
        dist += km - p
        if not entered:
            cuda.atomic.add(lt, 2 * n_loc + lk, -1)
        if ast:
            dday[i] = dist
        if f & _F_BOUNCE:
            flags[i] = (f | _F_DONE) & _F_NOT_BOUNCE
            v = link_from[lk]
            where[i] = v
            cuda.atomic.add(tally, n_loc + v, 1)
            return False
        flags[i] = f | _F_DONE
        where[i] = v
        cuda.atomic.add(tally, n_loc + v, 1)
        if dist < s:
            prog[i] = dist
            return True
        return False
    if entered:
        cuda.atomic.add(lt, 2 * n_loc + lk, 1)
    prog[i] = p
    if ast:
        dday[i] = dist
    return False


_HAND_OVER = -2  # _chain_decide: the host decides (a capped place's multiplier is read)


@cuda.jit(device=True, inline=True)
def _chain_moves(i, r, v, chain_move, pr, rtd, ast, max_speed, town, mc):
    """Does person i, arrived at v having done pr km today, move on in same-day round r
    (agents._chain)?"""
    m = mc[_ix(v)]
    if ast and town[_ix(v)]:  # ForceTownMove
        if (rtd[_ix(i)] + pr / max_speed) / 2.0 < 0.5:
            m = 1.0
    if m < 1.0:
        return _uniform(chain_move, i, r) < m
    return True


@cuda.jit(device=True, inline=True)
def _late(p, v, node_ptr, nodes, capacity, touched):
    """Would a decision at v on path p (−1: none) read a capped place's multiplier (choosing
    among paths that reach one, or a planned path ending at one)? Then the host decides it
    (_HAND_OVER)."""
    if p < 0:
        return touched[_ix(v)]
    return capacity[_ix(nodes[_ix(2 * (node_ptr[_ix(p + 1)] - 1))])] >= 1


@cuda.jit(device=True, inline=True)
def _chain_decide(i, r, chain_move, chain_route, where, prog, path, hop, rtd, ast, max_speed, town,
                  mc, path_ptr, path_valid, cum, tot, nvalid, node_ptr, nodes, out_ptr, out_link,
                  link_to, link_open, camp, capmult, capacity, touched):
    """Person i's decision in same-day round r (agents._chain, one step) where they arrived with km
    left: the link entered, −1 (stays), or _HAND_OVER when the decision reads a capped place's
    multiplier (choosing among paths that reach one, `touched`, or a planned path ending at one),
    which Flee's serial order decides, so the host replays it. (Split from _chain_go: CPython
    passes a call of more than 30 arguments as *args, which numba-cuda cannot inline.)"""
    v = where[i]
    if not _chain_moves(i, r, v, chain_move, prog[i], rtd, ast, max_speed, town, mc):
        return -1
    if _late(path[i], v, node_ptr, nodes, capacity, touched):
        return _HAND_OVER
    return _decide_step(i, v, chain_route, r, path, hop, path_ptr, path_valid, cum, tot, nvalid,
                        node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp, capmult)


@cuda.jit(device=True, inline=True)
def _chain_go(i, r, lk, walk_prefix, where, prog, flags, dday, ast, link_from, link_to, link_km,
              link_speed, link_walk_p, start_on_foot, walk, h, n_loc, capacity, ev_idx, ev_loc,
              cnt):
    """Person i leaves where they are onto link lk in same-day round r and travels with the km
    left today; True = arrived again with km left. Count changes at capped places are logged as
    events for the host's replay."""
    v = where[i]
    dist = prog[i]
    _leave(i, v, lk, where, flags, h, n_loc, False)
    if capacity[v] >= 1:
        _event(i, v, False, ev_idx, ev_loc, cnt)
    more = _travel(i, lk, 0.0, dist, walk_prefix, r, where, prog, flags, dday, ast, link_from,
                   link_to, link_km, link_speed, link_walk_p, start_on_foot, walk, h, n_loc, True)
    if where[i] >= 0 and capacity[where[i]] >= 1:
        _event(i, where[i], True, ev_idx, ev_loc, cnt)
    return more


# ---------------------------------------------------------------- kernels


@cuda.jit(device=True, inline=True)
def _zero(h, n):
    """Zero h[0:n] with the whole block, then wait for everyone."""
    for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
        h[j] = 0
    cuda.syncthreads()


@cuda.jit(device=True, inline=True)
def _histogram(use_shared, tally, n):
    """The block's tallies: the dynamic shared memory's first n int32, zeroed (every thread of the
    block must call it then), or, without `use_shared`, the global tallies themselves."""
    if use_shared:
        h = cuda.shared.array(0, dtype=nb.int32)
        _zero(h, n)
        return h
    return tally


@cuda.jit(device=True, inline=True)
def _flush(h, tally_g, n):
    """Add the block's shared histogram h[0:n] into the global tallies (one atomic per non-zero bin)."""
    cuda.syncthreads()
    for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
        x = h[j]
        if x != 0:
            cuda.atomic.add(tally_g, j, x)


@cuda.jit(device=True, inline=True)
def _event(i, v, up, ev_idx, ev_loc, cnt):
    """Log a pass-B count change at a capped place: person i, location v, +1 (up) or −1."""
    k = cuda.atomic.add(cnt, 0, 1)
    if k < ev_idx.shape[0]:
        ev_idx[k] = i
        ev_loc[k] = 2 * v + (1 if up else 0)


@cuda.jit(device=True, inline=True)
def _append(ok, i, out, tally, at, slots):
    """Block-wide append: the block's threads with ok put i into out[…] at slots reserved by one
    global atomic on tally[at] (the list's length) per block and call. Every thread of the block
    must call it (it has barriers); slots (shared, 2 int32) starts with slots[0] = 0."""
    k = 0
    if ok:
        k = cuda.atomic.add(slots, 0, 1)
    cuda.syncthreads()
    if cuda.threadIdx.x == 0:
        n = slots[0]
        first = 0
        if n > 0:
            first = cuda.atomic.add(tally, at, n)
        slots[1] = first
        slots[0] = 0  # every increment of this call happened before the barrier above
    cuda.syncthreads()
    if ok:
        out[slots[1] + k] = i


def _make_kernels(shared_tally: bool, max_registers: int | None = None,
                  capacity_checks: bool = False, lineinfo: bool = False,
                  link_tally_global: bool = True):
    """Compile the per-person kernels for one way of tallying (shared-memory histograms or
    global). The fused kernel's build, for measurements (benchmarks/gpu_device_check.py):
    `max_registers` caps its registers a thread (more warps in flight, perhaps spills);
    `capacity_checks` keeps in it the checks for capped places and full camps, which cannot
    hold in the networks it runs (run 11: 1.11× faster without, medians of 3); `lineinfo` maps
    its instructions to source lines for Nsight Compute (benchmarks/gpu_ncu_day.py);
    `link_tally_global` has the fused kernel tally the links' changes straight into the global
    tallies, its shared histogram holding the places' alone (2·n_loc bins: 8 KB instead of 23 KB
    a block on the scale case, more of the SM's memory left to L1, which run 13 found to matter):
    since a link crossed within one step is not tallied, only people who stay on a link tonight
    or arrive from one touch it (the default since run 14, faster in every round: 2.89e10
    against 2.83e10 at 1e8, medians of 5, H100; the kernel is marked so, `link_tally_global`
    attribute, for the host to launch it with the smaller shared memory). (Run 13
    measured builds whose queue was in person order, or carried each entry's place or its
    person's whole state: each was slower than this one, and they were removed. Run 14 measured
    and removed the warp-aggregated tallies, the route choice loading 2 weights at once and the
    integer move draws: each slower than this one at 1e8 on an H100, 2.78e10 (one run), 2.81e10
    and 2.83e10 against its 2.83e10–2.91e10, medians.)

    Tallies: tally[0:n_loc] departures, tally[n_loc:2·n_loc] arrivals, then the change per link;
    tally[n_tally + 1] counts deferred movers (see pass_a_kernel) and tally[n_tally + 2 + j] the
    frontier after round j of a batch of same-day rounds (round 0: advance_kernel).
    Per-chunk lists (movers, capped movers, frontier) live at [chunk·CHUNK, chunk·CHUNK + n) of
    their buffer, as the CPU engine's scratch does, and are filled through a shared-memory counter.
    """

    @cuda.jit
    def spawn_kernel(first, last, pre, cumw, locs, n, fallback, wsum, where, tally, n_loc):
        """agents._spawn_chunk: person i appears at the first place j whose running sum of spawn
        weights exceeds u·ΣW (tally[n_loc+j]), searched in _spawn_table's n entries (cumw, locs):
        only the places where that sum rises, since no other can be that first place (10 of the
        scale case's 1,000: 4 steps of the search instead of 10, for everyone on day 0).
        With n < SPAWN_BINS entries each thread counts its people per entry in registers and
        adds its counts to the block's tallies once at the end: a shared atomic a person on 10
        places is 1e8 atomics on 10 addresses on day 0, each warp's serialised on its equal
        addresses; this way it is SPAWN_BINS compare-adds a person and ≤ n + 1 atomics a thread.
        It writes the place alone: a slot is used once (people are never removed) and
        run_agents_gpu allocates the other columns as a new person has them (progress 0, no
        path, hop 0, no flags), so 4 bytes a person instead of 18 (1.4 GB less on day 0 at 1e8).
        """
        h = _histogram(shared_tally, tally, 2 * n_loc)
        prefix = pre[_S_SPAWN]
        i = first + cuda.grid(1)
        stride = cuda.gridsize(1)
        binned = n < SPAWN_BINS  # bin n: the fallback (a target at or above ΣW)
        cnt = cuda.local.array(SPAWN_BINS, nb.int32)  # (registers: every index is a constant)
        for j in range(SPAWN_BINS):
            cnt[j] = 0
        n_u = nb.uint32(n)
        while i < last:
            target = _uniform(prefix, i, 0) * wsum
            # searchsorted(side="right") in unsigned 32-bit steps: with numba's signed 64-bit
            # `(lo + hi) // 2` and wrapped indices a step was about 20 instructions of 64-bit
            # arithmetic (floor division's sign fix-ups), 4 steps a person on day 0
            lo = nb.uint32(0)
            hi = n_u
            while lo < hi:
                mid = nb.uint32((lo + hi) >> nb.uint32(1))
                if cumw[mid] > target:
                    hi = mid
                else:
                    lo = nb.uint32(mid + nb.uint32(1))
            loc = fallback
            if lo < n_u:
                loc = locs[lo]
            where[_ix(i)] = loc
            if binned:
                k = nb.int32(lo)
                for j in range(SPAWN_BINS):
                    cnt[j] += nb.int32(k == j)
            else:
                cuda.atomic.add(h, n_loc + loc, 1)
            i += stride
        if binned:
            for j in range(SPAWN_BINS):
                if cnt[j] != 0:
                    cuda.atomic.add(h, n_loc + (locs[j] if j < n else fallback), cnt[j])
        if shared_tally:
            _flush(h, tally, 2 * n_loc)

    @cuda.jit
    def movers_kernel(n_alive, pre, where, prog, path, hop, flags, lcls, qcls, mc, capacity, direct,
                      path_ptr, path_valid, cum, tot, nvalid, node_ptr, nodes, out_ptr, out_link,
                      link_to, link_open, camp, capmult, movers, nmov, capped, ncap, tally, n_loc,
                      n_links):
        """Pass A, who moves, for chunk blockIdx.x (agents._movers_chunk, the same draws).

        The CPU walks its chunk in order and, per move-chance class k, counts class members; the
        members whose rank is R_0 = G_0, R_j = R_{j−1} + 1 + G_j (G_j geometric, keyed by
        (chunk·NCLS + k, j)) are candidates and move if u·q_k < m. Here each thread owns a contiguous
        segment of the chunk: (1) count members per class, (2) exclusive-scan the counts over
        threads, (3) generate the G_j in parallel batches and prefix-sum them into ranks, marking
        the candidate ranks, (4) walk the segment again with the ranks known. Movers at places with
        a capacity go to `capped` (the host takes them in index order); the others go to `movers`,
        or, when `direct` is _STEP (no place has a capacity), choose a path and step onto it here,
        or, _MARK, are marked for fused_kernel.
        """
        cnt = cuda.shared.array((NCLS, _CNT_COLS), dtype=nb.int16)
        mark = cuda.shared.array(CHUNK, dtype=nb.uint8)
        ncls = cuda.shared.array(NCLS, dtype=nb.int32)
        ocls = cuda.shared.array(NCLS, dtype=nb.int32)
        scan = cuda.shared.array(TPB_MAX, dtype=nb.int64)
        slots = cuda.shared.array(2, dtype=nb.int32)
        n_tally = 2 * n_loc + n_links
        h = _histogram(shared_tally and direct == _STEP, tally, n_tally)
        c = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        lo = c * CHUNK
        hi = min(lo + CHUNK, n_alive)
        seg = (CHUNK + nt - 1) // nt
        a = min(lo + tid * seg, hi)
        b = min(a + seg, hi)
        # (1) members per class in this thread's segment
        if tid == 0:
            slots[0] = 0
            slots[1] = 0
        for k in range(NCLS):
            cnt[k, tid] = 0
        for j in range(tid, hi - lo, nt):
            mark[j] = 0
        for i in range(a, b):
            w = where[i]
            if w >= 0:
                k = lcls[w]
                if k >= 1:
                    cnt[k, tid] += 1
        cuda.syncthreads()
        # (2) exclusive scan over threads, per class; class totals and their offsets in `mark`
        for k in range(tid, NCLS, nt):
            run = 0
            for t2 in range(nt):
                x = cnt[k, t2]
                cnt[k, t2] = run
                run += x
            ncls[k] = run
        cuda.syncthreads()
        if tid == 0:
            off = 0
            for k in range(NCLS):
                ocls[k] = off
                off += ncls[k]
        cuda.syncthreads()
        # (3) candidate ranks per class: R_j = R_{j−1} + 1 + G_j, R_{−1} = −1
        skip_prefix = pre[_S_SKIP]
        for k in range(1, NCLS):
            nk = ncls[k]
            if nk == 0:
                continue
            q = qcls[k]
            key = c * NCLS + k
            base = 0
            r_prev = -1
            while r_prev < nk:
                g = _geometric(skip_prefix, key, base + tid, q)
                if g > CHUNK:
                    g = CHUNK
                scan[tid] = g + 1
                cuda.syncthreads()
                step = 1
                while step < nt:  # inclusive Hillis–Steele scan of the gaps
                    x = 0
                    if tid >= step:
                        x = scan[tid - step]
                    cuda.syncthreads()
                    scan[tid] += x
                    cuda.syncthreads()
                    step *= 2
                r = r_prev + scan[tid]
                if r < nk:
                    mark[ocls[k] + r] = 1
                r_prev = r_prev + scan[nt - 1]
                base += nt
                cuda.syncthreads()
        cuda.syncthreads()
        # (4) movers
        move_prefix = pre[_S_MOVE]
        route_prefix = pre[_S_ROUTE]
        for i in range(a, b):
            w = where[i]
            if w < 0:
                continue
            k = lcls[w]
            if k < 0:
                continue
            move = k == 0
            if not move:
                rank = cnt[k, tid]
                cnt[k, tid] = rank + 1
                if mark[ocls[k] + rank] != 0:
                    q = qcls[k]
                    m = mc[w]
                    move = m >= q or _uniform(move_prefix, i, 0) * q < m
            if move:
                _take_mover(i, w, lo, slots, direct, capacity, capped, movers, route_prefix, path,
                            hop, path_ptr, path_valid, cum, tot, nvalid, node_ptr, nodes, out_ptr,
                            out_link, link_to, link_open, camp, capmult, where, prog, flags, h,
                            n_loc)
        cuda.syncthreads()
        if tid == 0:
            nmov[c] = slots[0]
            ncap[c] = slots[1]
        if shared_tally and direct == _STEP:
            _flush(h, tally, n_tally)

    @cuda.jit
    def bernoulli_movers_kernel(n_alive, pre, where, prog, path, hop, flags, lcls, mc, capacity,
                                direct, path_ptr, path_valid, cum, tot, nvalid, node_ptr, nodes,
                                out_ptr, out_link, link_to, link_open, camp, capmult, movers, nmov,
                                capped, ncap, tally, n_loc, n_links):
        """Pass A, who moves, with draws "bernoulli" (agents._scan_chunk with `bern`): person i at
        a place moves if its uniform (MOVE stream) is below the place's chance. No scan: blocks
        loop over chunks (c = blockIdx.x, + gridDim.x, …), threads read the chunk interleaved
        (coalesced), and the lists and outcomes are those of movers_kernel.
        """
        slots = cuda.shared.array(2, dtype=nb.int32)
        n_tally = 2 * n_loc + n_links
        h = _histogram(shared_tally and direct == _STEP, tally, n_tally)
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        move_prefix = pre[_S_MOVE]
        route_prefix = pre[_S_ROUTE]
        nch = (n_alive + CHUNK - 1) // CHUNK
        c = cuda.blockIdx.x
        while c < nch:
            lo = c * CHUNK
            hi = min(lo + CHUNK, n_alive)
            if tid == 0:
                slots[0] = 0
                slots[1] = 0
            cuda.syncthreads()
            for i in range(lo + tid, hi, nt):
                w = where[i]
                if w >= 0 and _bernoulli_mover(i, w, lcls, mc, move_prefix):
                    _take_mover(i, w, lo, slots, direct, capacity, capped, movers, route_prefix,
                                path, hop, path_ptr, path_valid, cum, tot, nvalid, node_ptr, nodes,
                                out_ptr, out_link, link_to, link_open, camp, capmult, where, prog,
                                flags, h, n_loc)
            cuda.syncthreads()
            if tid == 0:
                nmov[c] = slots[0]
                ncap[c] = slots[1]
            c += cuda.gridDim.x
        if shared_tally and direct == _STEP:
            _flush(h, tally, n_tally)

    @cuda.jit
    def pass_a_kernel(n_alive, pre, where, prog, path, hop, flags, movers, nmov, n_eff, eff_first,
                      touched, in_u, deferred, path_ptr, path_valid, cum, tot, nvalid, node_ptr,
                      nodes, out_ptr, out_link, link_to, link_open, camp, capmult, tally, n_loc,
                      n_links):
        """Pass A for the movers at places without a capacity (agents._pass_a_chunk); blocks loop
        over chunks (c = blockIdx.x, + gridDim.x, …) and take the chunk's list of movers.

        A mover sees the day's route tables unless a departure from a capped place before it (in
        index order) changed a capacity multiplier its choice reads (`touched` origins, or a planned
        path ending in `in_u`); those are deferred to the host, which replays them in index order.
        """
        n_tally = 2 * n_loc + n_links
        h = _histogram(shared_tally, tally, n_tally)
        route_prefix = pre[_S_ROUTE]
        nch = (n_alive + CHUNK - 1) // CHUNK
        c = cuda.blockIdx.x
        while c < nch:
            lo = c * CHUNK
            for k in range(cuda.threadIdx.x, nmov[c], cuda.blockDim.x):
                i = movers[lo + k]
                w = where[i]
                if n_eff > 0 and i > eff_first:
                    p = path[i]
                    if p < 0:
                        late = touched[w]
                    else:
                        late = in_u[nodes[2 * (node_ptr[p + 1] - 1)]]
                    if late:
                        deferred[cuda.atomic.add(tally, n_tally + 1, 1)] = i
                        continue
                _step_mover(i, w, route_prefix, path, hop, path_ptr, path_valid, cum, tot,
                            nvalid, node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp,
                            capmult, where, prog, flags, h, n_loc)
            c += cuda.gridDim.x
        if shared_tally:
            _flush(h, tally, n_tally)

    @cuda.jit
    def advance_kernel(n_alive, pre, where, prog, flags, dday, ast, link_from, link_to, link_km,
                       link_speed, link_walk_p, start_on_foot, walk, front, tally, n_loc,
                       n_links, capacity, ev_idx, ev_loc, cnt):
        """Round 0 of pass B (agents._advance_chunk): everyone on a link advances; arrivals with km
        left today go to the frontier list front[0 : tally[n_tally + 2]] (any order: each person's
        next decision depends on their own key only; see _append)."""
        slots = cuda.shared.array(2, dtype=nb.int32)
        n_tally = 2 * n_loc + n_links
        h = _histogram(shared_tally, tally, n_tally)
        if cuda.threadIdx.x == 0:
            slots[0] = 0
        cuda.syncthreads()
        walk_prefix = pre[_S_WALK]
        nt = cuda.blockDim.x
        base = cuda.blockIdx.x * nt
        while base < n_alive:  # block-uniform
            i = base + cuda.threadIdx.x
            more = False
            if i < n_alive:
                w = where[i]
                if w < 0:
                    more = _travel(i, -w - 1, prog[i], 0.0, walk_prefix, 0, where, prog, flags,
                                   dday, ast, link_from, link_to, link_km, link_speed,
                                   link_walk_p, start_on_foot, walk, h, n_loc)
                    if more and capacity[where[i]] >= 1:  # counted at i's turn in Flee's pass B
                        _event(i, where[i], True, ev_idx, ev_loc, cnt)
            _append(more, i, front, tally, n_tally + 2, slots)
            base += cuda.gridDim.x * nt
        if shared_tally:
            _flush(h, tally, n_tally)

    @cuda.jit
    def chain_kernel(r, at, pre, front_in, front_out, where, prog, path, hop, flags, dday, rtd,
                     ast, max_speed, town, mc, path_ptr, path_valid, cum, tot, nvalid, node_ptr,
                     nodes, out_ptr, out_link, link_from, link_to, link_open, link_km, link_speed,
                     link_walk_p, camp, capmult, start_on_foot, walk, tally, n_loc, n_links,
                     capacity, touched, ev_idx, ev_loc, cnt, def_idx, def_r):
        """Round r ≥ 1 of pass B for the frontier front_in[0:nf], nf = tally[at] (written by the
        previous round, so rounds can be queued without the host reading nf; nf = 0: nothing to
        do): each decides again where it arrived (agents._chain, one step), travels, and may join
        the next frontier front_out[0 : tally[at + 1]].

        A decision that reads the capacity multiplier of a capped place (choosing among paths that
        reach one, `touched`; or a planned path ending at one) depends on the serial order of
        pass B: the person is handed to the host (def_idx, def_r), which replays such chains in
        index order with the counts Flee would show (see _chains_host). Count changes at capped
        places are logged as events for that replay."""
        slots = cuda.shared.array(2, dtype=nb.int32)
        nf = tally[at]
        if nf == 0:  # the whole block leaves before any barrier
            return
        n_tally = 2 * n_loc + n_links
        h = _histogram(shared_tally, tally, n_tally)
        if cuda.threadIdx.x == 0:
            slots[0] = 0
        cuda.syncthreads()
        chain_move = pre[_S_CHAIN_MOVE]
        chain_route = pre[_S_CHAIN_ROUTE]
        walk_prefix = pre[_S_WALK]
        nt = cuda.blockDim.x
        base = cuda.blockIdx.x * nt
        while base < nf:  # block-uniform
            k = base + cuda.threadIdx.x
            i = -1
            more = False
            if k < nf:
                i = front_in[k]
                lk = _chain_decide(i, r, chain_move, chain_route, where, prog, path, hop, rtd, ast,
                                   max_speed, town, mc, path_ptr, path_valid, cum, tot, nvalid,
                                   node_ptr, nodes, out_ptr, out_link, link_to, link_open, camp,
                                   capmult, capacity, touched)
                if lk == _HAND_OVER:
                    k2 = cuda.atomic.add(cnt, 1, 1)
                    def_idx[k2] = i
                    def_r[k2] = r
                elif lk >= 0:
                    more = _chain_go(i, r, lk, walk_prefix, where, prog, flags, dday, ast,
                                     link_from, link_to, link_km, link_speed, link_walk_p,
                                     start_on_foot, walk, h, n_loc, capacity, ev_idx, ev_loc, cnt)
            _append(more, i, front_out, tally, at + 1, slots)
            base += cuda.gridDim.x * nt
        if shared_tally:
            _flush(h, tally, n_tally)

    @cuda.jit(device=True, inline=True)
    def _enqueue(ok, i, r, qi, qr, qn):
        """fused_kernel: the threads with ok put (person i, round r) in the block's queue, at
        slots from a shared atomic on its length qn[0]."""
        if ok:
            u = _ix(cuda.atomic.add(qn, 0, 1))
            qi[u] = i
            qr[u] = r

    @cuda.jit(device=True, inline=True)
    def _goes_on(i, r, w, chain_move, pr, p, st, rtd, ast, max_speed, town, mc, node_ptr, nodes,
                 capacity, touched):
        """fused_kernel, same-day round r: note the block's deepest round (st[1]); does person
        i, at w having done pr km today on path p, move on? With `capacity_checks`, a decision
        that would read a capped place's multiplier stays and sets st[2] = 2 (the host raises)."""
        if r > st[1]:  # (a shared atomic only for a new deepest round)
            cuda.atomic.max(st, 1, r)
        go = _chain_moves(i, r, w, chain_move, pr, rtd, ast, max_speed, town, mc)
        if go and capacity_checks and _late(p, w, node_ptr, nodes, capacity, touched):
            cuda.atomic.max(st, 2, 2)
            go = False
        return go

    fused_opts: dict[str, bool | int] = {"lineinfo": True} if lineinfo else {}
    if max_registers is not None:
        fused_opts["max_registers"] = max_registers

    @cuda.jit(**fused_opts)
    def fused_kernel(n_alive, pass_a, max_rounds, k_move, k_route, k_chain_route, k_chain_move,
                     k_walk, where, prog, path, hop, flags, dday, rtd,
                     ast, max_speed, town, lcls, mc, path_ptr, path_valid, cum, tot, nvalid,
                     node_ptr, nodes, out_ptr, out_link, link_from, link_to, link_open, link_km,
                     link_speed, link_walk_p, camp, capmult, start_on_foot, walk, tally, n_loc,
                     n_links, capacity, touched, ev_idx, ev_loc, cnt, fstat, first):
        """The rest of a day without capacities in one launch: pass A's steps, of the people
        drawn here (`pass_a` _A_DRAW: draws "bernoulli", as bernoulli_movers_kernel) or of those
        movers_kernel marked (_A_MARKED: draws "gaps", whose scan needs a chunk at a time); then
        round 0 of pass B (advance_kernel) and every same-day round (chain_kernel), each
        person's in turn.

        Why this is the same day: without a capped place nobody's decision reads anybody else's
        (the route tables and multipliers are fixed for the day), and a person's draws depend on
        their own key and round only, so the order of people and rounds does not matter. It
        saves a launch per round, the frontier lists and their scattered reads.
        A block reads its people a tile (one a thread) at a time and puts those who need work
        (movers, people on a link) in a shared queue (_QUEUE entries: person, round); whenever
        the queue holds a tile's worth, or nobody is left to read, every thread takes one entry,
        does that round and puts the person back with the next round if they arrived with km
        left. (A thread per person instead, a warp doing 32 consecutive people, had 6.5 of 32
        threads active on an H100, most people not moving: 1.8× slower at 1e8. A queue a warp,
        filled by ballots without the block's barriers, was no faster at the same occupancy:
        run 10.) Every entry (pass A's step, round 0 on a link, a same-day round) goes through
        one route decision and one trip, with only what differs in branches: a warp holding
        both kinds runs the decision once, not once a kind (run 10, measured with a queue a warp:
        1.25× at 1e8, same registers).
        Without capacities every multiplier is 1 and no place is capped, so the checks for full
        camps and capped places are left out (unless `capacity_checks`; run 11: 1.11×).
        fstat (int64): [0] Σ rounds entered (chain_people), [1] deepest round entered, [2] 1 if
        someone would enter round max_rounds + 1, 2 if a decision would need the host (cannot
        happen without capacities; the host raises). k_move … k_walk: the day's key prefixes
        of the streams MOVE, ROUTE, CHAIN_ROUTE, CHAIN_MOVE and WALK (day_prefixes)."""
        st = cuda.shared.array(3, dtype=nb.int64)
        qi = cuda.shared.array(_QUEUE, dtype=nb.int32)  # the queue: person, round
        qr = cuda.shared.array(_QUEUE, dtype=nb.int32)
        qn = cuda.shared.array(1, dtype=nb.int32)
        n_tally = 2 * n_loc + n_links
        n_sh = 2 * n_loc if link_tally_global else n_tally  # bins in the block's histogram
        h = _histogram(shared_tally, tally, n_sh)
        tid = cuda.threadIdx.x
        if tid == 0:
            st[0] = 0
            st[1] = 0
            st[2] = 0
            qn[0] = 0
        cuda.syncthreads()
        # the day's key prefixes (k_*) are scalar arguments: the device reads them from its
        # constant bank where used, with no load from memory and no register held for them
        nt = cuda.blockDim.x
        base = nb.int32(cuda.blockIdx.x * nt)
        while True:  # every branch below is the same for the whole block
            n_q = qn[0]
            cuda.syncthreads()  # everyone has read n_q before qn changes
            if n_q < nt and base < n_alive:  # room for a tile: who needs work today
                i = nb.int32(base + tid)
                need = False
                if i < n_alive:
                    w = where[_ix(i)]
                    need = w < 0 or (pass_a == _A_MARKED and (flags[_ix(i)] & _F_MOVE) != 0) or (
                        pass_a == _A_DRAW and _bernoulli_mover(i, w, lcls, mc, k_move))
                _enqueue(need, i, 0, qi, qr, qn)
                base = nb.int32(base + cuda.gridDim.x * nt)
            elif n_q == 0:
                break
            else:  # the last min(n_q, nt) entries, one a thread
                c = min(n_q, nt)
                lo = n_q - c
                i = nb.int32(-1)
                r = nb.int32(0)
                if tid < c:
                    e = _ix(lo + tid)
                    i = qi[e]
                    r = qr[e]
                # the queue's end moves back to lo before the barrier (everyone read n_q before
                # the one above, and nobody appends before this one), so one barrier orders it
                # and the entries' reads before any append: a barrier fewer per round of entries
                if tid == 0:
                    qn[0] = lo
                n_chain = cuda.syncthreads_count(1 if i >= 0 and 1 <= r <= max_rounds else 0)
                if tid == 0:  # (only thread 0 writes st[0]; the others touch st[1], st[2])
                    st[0] += n_chain
                more = False
                if i >= 0:  # every kind of entry through one decision and one trip
                    w = where[_ix(i)]
                    lk = -1
                    p0 = 0.0
                    dist = 0.0
                    if w < 0:  # round 0 of someone on a link
                        lk = -w - 1
                        p0 = prog[_ix(i)]
                    elif r > max_rounds:
                        cuda.atomic.max(st, 2, 1)
                    else:  # pass A's step (drawn or marked), or same-day round r
                        go = True
                        if r == 0:
                            if pass_a == _A_MARKED:
                                flags[_ix(i)] = flags[_ix(i)] & _F_NOT_MOVE
                        else:
                            go = _goes_on(i, r, w, k_chain_move, prog[_ix(i)], path[_ix(i)], st,
                                          rtd, ast, max_speed, town, mc, node_ptr, nodes,
                                          capacity, touched)
                        if go:
                            lk = _decide_step(i, w, k_route if r == 0 else k_chain_route,
                                              r, path, hop, path_ptr, path_valid, cum, tot,
                                              nvalid, node_ptr, nodes, out_ptr, out_link,
                                              link_to, link_open, camp, capmult,
                                              capacity_checks, first)
                            if lk >= 0:
                                if r > 0:  # km done today
                                    dist = prog[_ix(i)]
                                _leave(i, w, lk, where, flags, h, n_loc, False)
                                if r == 0:
                                    prog[_ix(i)] = 0.0
                                elif capacity_checks and capacity[_ix(w)] >= 1:
                                    _event(i, w, False, ev_idx, ev_loc, cnt)
                    if lk >= 0:
                        more = _travel(i, lk, p0, dist, k_walk, r, where, prog, flags, dday,
                                       ast, link_from, link_to, link_km, link_speed, link_walk_p,
                                       start_on_foot, walk, h, n_loc, w >= 0,  # (w: its place
                                       # before this step; −1 − link for one already on a link)
                                       tally if link_tally_global else None)
                        if capacity_checks and r > 0:
                            v = where[_ix(i)]
                            if v >= 0 and capacity[_ix(v)] >= 1:
                                _event(i, v, True, ev_idx, ev_loc, cnt)
                _enqueue(more, i, r + 1, qi, qr, qn)  # next round
            cuda.syncthreads()  # the queue's writes done before the next read
        cuda.syncthreads()
        if tid == 0:
            if st[0] > 0:
                cuda.atomic.add(fstat, 0, st[0])
            if st[1] > 0:
                cuda.atomic.max(fstat, 1, st[1])
            if st[2] > 0:
                cuda.atomic.max(fstat, 2, st[2])
        if shared_tally:
            _flush(h, tally, n_sh)

    fused_kernel.link_tally_global = link_tally_global  # the host launches it with 2·n_loc bins
    return (spawn_kernel, movers_kernel, bernoulli_movers_kernel, pass_a_kernel, advance_kernel,
            chain_kernel, fused_kernel)


@cuda.jit
def _fill_kernel(out, value):
    """out[:] = value."""
    i = cuda.grid(1)
    while i < out.shape[0]:
        out[i] = value
        i += cuda.gridsize(1)


@cuda.jit
def _compact_kernel(lists, counts, offsets, out):
    """out[offsets[c] + k] = lists[c·CHUNK + k] for k < counts[c] (chunk blockIdx.x)."""
    c = cuda.blockIdx.x
    for k in range(cuda.threadIdx.x, counts[c], cuda.blockDim.x):
        out[offsets[c] + k] = lists[c * CHUNK + k]


@cuda.jit
def _gather_kernel(ids, where, path, hop, out_where, out_path, out_hop):
    """The columns the host needs to replay some people's pass A."""
    k = cuda.grid(1)
    stride = cuda.gridsize(1)
    while k < ids.shape[0]:
        i = ids[k]
        out_where[k] = where[i]
        out_path[k] = path[i]
        out_hop[k] = hop[i]
        k += stride


@cuda.jit
def _scatter_kernel(ids, new_where, new_path, new_hop, where, prog, path, hop, flags):
    """Write back the host's pass A for some people (a changed `where` = stepped onto a link)."""
    k = cuda.grid(1)
    stride = cuda.gridsize(1)
    while k < ids.shape[0]:
        i = ids[k]
        path[i] = new_path[k]
        hop[i] = new_hop[k]
        if new_where[k] != where[i]:
            where[i] = new_where[k]
            prog[i] = 0.0
            flags[i] = flags[i] & _F_NOT_BOUNCE
        k += stride


@cuda.jit
def _scatter_chain_kernel(ids, where_h, prog_h, path_h, hop_h, flags_h, dday_h, ast, where, prog,
                          path, hop, flags, dday):
    """Write back the host's replay of some people's pass B."""
    k = cuda.grid(1)
    stride = cuda.gridsize(1)
    while k < ids.shape[0]:
        i = ids[k]
        where[i] = where_h[k]
        prog[i] = prog_h[k]
        path[i] = path_h[k]
        hop[i] = hop_h[k]
        flags[i] = flags_h[k]
        if ast:
            dday[i] = dday_h[k]
        k += stride


@cuda.jit
def _gather_chain_kernel(ids, where, prog, path, hop, flags, rtd, dday, ast, o_where, o_prog,
                         o_path, o_hop, o_flags, o_rtd, o_dday):
    """The columns the host needs to replay some people's pass B."""
    k = cuda.grid(1)
    stride = cuda.gridsize(1)
    while k < ids.shape[0]:
        i = ids[k]
        o_where[k] = where[i]
        o_prog[k] = prog[i]
        o_path[k] = path[i]
        o_hop[k] = hop[i]
        o_flags[k] = flags[i]
        if ast:
            o_rtd[k] = rtd[i]
            o_dday[k] = dday[i]
        k += stride


@cuda.jit
def _bounce_kernel(n_alive, where, flags, closed_today):
    """People on a link closed today will return to its start when they reach its end."""
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < n_alive:
        w = where[i]
        if w < 0 and closed_today[-w - 1]:
            flags[i] = flags[i] | _F_BOUNCE
        i += stride


@cuda.jit
def _recent_travel_kernel(n_alive, rtd, dday, max_speed):
    """End of day (avoid_short_stints): r ← (r + km today / max speed) / 2, km today ← 0."""
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < n_alive:
        rtd[i] = (rtd[i] + dday[i] / max_speed) / 2.0
        dday[i] = 0.0
        i += stride


@cuda.jit
def _census_kernel(n_alive, where, at, on):
    """check=True: recount people per location and per link from the columns."""
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < n_alive:
        w = where[i]
        if w >= 0:
            cuda.atomic.add(at, w, 1)
        else:
            cuda.atomic.add(on, -w - 1, 1)
        i += stride


_KERNELS: dict[bool, tuple] = {}


def compile_ptx_all(cc: tuple[int, int] = (9, 0)) -> dict[str, int]:
    """Compile every kernel to PTX for compute capability `cc` with the argument types of a run.

    Needs numba-cuda and NVVM (the CUDA toolkit, or the nvidia-cuda-nvcc wheel) but no GPU: the
    check that the simulator cannot make (typing and lowering for a real device). Returns the PTX
    size per kernel (and `<name>_static_shared`, bytes); raises on the first kernel that does not
    compile.
    """
    sizes: dict[str, int] = {}
    for name, ptx in kernel_ptx(cc).items():
        sizes[name] = len(ptx)
        if name.split("_global_tally")[0] in _TALLY_KERNELS:
            static = sum(int(m) for m in re.findall(r"\.shared \.align \d+ \.b8 \S+\[(\d+)\]", ptx))
            if static + SHARED_TALLY_BYTES > _SHARED_NO_OPT_IN:  # numba-cuda does not opt in
                raise RuntimeError(f"kernel {name}: {static} B of static shared memory + "
                                   f"{SHARED_TALLY_BYTES} B of tallies exceed the "
                                   f"{_SHARED_NO_OPT_IN} B a block may use without opting in")
            sizes[f"{name}_static_shared"] = static
    return sizes


_TALLY_KERNELS = ("spawn", "movers", "movers_bernoulli", "pass_a", "advance", "chain", "fused")


def kernel_ptx(cc: tuple[int, int] = (9, 0),
               fused_builds: dict[str, dict] | None = None) -> dict[str, str]:
    """Every kernel's PTX for compute capability `cc`, with the argument types of a run, by name
    (`<name>_global_tally` for the kernels built for tallies in global memory). What
    compile_ptx_all checks, and what benchmarks/gpu_ptxas.py gives ptxas for registers and spills.
    `fused_builds` adds the fused kernel built with each set of _make_kernels options, as
    `fused[<label>]` (shared tallies)."""
    from numba import typeof

    i32, i64, f64 = np.zeros(1, np.int32), np.zeros(1, np.int64), np.zeros(1)
    f32, i8, b, u64 = (np.zeros(1, np.float32), np.zeros(1, np.int8), np.zeros(1, np.bool_),
                       np.zeros(1, np.uint64))
    n, x, yes, key = 1, 1.0, True, np.uint64(1)
    out: dict[str, str] = {}
    for shared in (True, False):
        spawn_k, movers_k, bern_k, pass_a_k, adv_k, chain_k, fused_k = _make_kernels(shared)
        movers_args = (n, u64, i32, f64, i32, i8, i8, i64, f64, f64, i64, _MARK, i32, b, f64, f64,
                       i64, i32, i32, i32, i32, i32, b, b, f64, i32, i32, i32, i32, i32, n, n)
        todo = {
            "spawn": (spawn_k, (n, n, u64, f64, i32, n, n, x, i32, i32, n)),
            "movers": (movers_k, movers_args),
            "movers_bernoulli": (bern_k, movers_args[:8] + movers_args[9:]),
            "pass_a": (pass_a_k, (n, u64, i32, f64, i32, i8, i8, i32, i32, n, n, b, b, i32, i32, b,
                                  f64, f64, i64, i32, i32, i32, i32, i32, b, b, f64, i32, n, n)),
            "advance": (adv_k, (n, u64, i32, f64, i8, f32, yes, i32, i32, f64, f64, f64, yes, x,
                                i32, i32, n, n, i64, i32, i32, i32)),
            "chain": (chain_k, (n, n, u64, i32, i32, i32, f64, i32, i8, i8, f32, f32, yes,
                                x, b, f64, i32, b, f64, f64, i64, i32, i32, i32, i32, i32, i32, b,
                                f64, f64, f64, b, f64, yes, x, i32, n, n, i64, b, i32, i32, i32,
                                i32, i32)),
            "fused": (fused_k, (n, _A_DRAW, n, key, key, key, key, key, i32, f64, i32, i8, i8, f32,
                                f32, yes, x, b, i64, f64, i32, b, f64, f64, i64, i32, i32, i32, i32,
                                i32, i32, b, f64, f64, f64, b, f64, yes, x, i32, n, n, i64, b,
                                i32, i32, i32, i64, i32)),
        }
        for name, (k, args) in todo.items():
            ptx, _ = cuda.compile_ptx(k.py_func, tuple(typeof(a) for a in args), cc=cc)
            out[name + ("" if shared else "_global_tally")] = ptx
    for label, opts in (fused_builds or {}).items():
        k = _make_kernels(True, **opts)[6]
        ptx, _ = cuda.compile_ptx(k.py_func, tuple(typeof(a) for a in todo["fused"][1]), cc=cc)
        out[f"fused[{label}]"] = ptx
    for name, k, args in (("uniforms", uniforms_kernel, (u64, i64, i64, f64)),
                          ("compact", _compact_kernel, (i32, i32, i64, i32)),
                          ("fill", _fill_kernel, (f64, x)),
                          ("gather", _gather_kernel, (i32, i32, i32, i8, i32, i32, i8)),
                          ("scatter", _scatter_kernel, (i32, i32, i32, i8, i32, f64, i32, i8, i8)),
                          ("gather_chain", _gather_chain_kernel,
                           (i32, i32, f64, i32, i8, i8, f32, f32, yes, i32, f64, i32, i8, i8, f32,
                            f32)),
                          ("scatter_chain", _scatter_chain_kernel,
                           (i32, i32, f64, i32, i8, i8, f32, yes, i32, f64, i32, i8, i8, f32)),
                          ("bounce", _bounce_kernel, (n, i32, i8, b)),
                          ("recent_travel", _recent_travel_kernel, (n, f32, f32, x)),
                          ("census", _census_kernel, (n, i32, i64, i64))):
        ptx, _ = cuda.compile_ptx(k.py_func, tuple(typeof(a) for a in args), cc=cc)
        out[name] = ptx
    return out


def device_bytes_per_person(ast: bool, fused: bool = False) -> float:
    """Device memory per person: the columns (where 4, progress 8, path 4, hop 1, flags 1, and 8
    with avoid_short_stints), plus, unless the day runs fused (no capacities: no lists are
    needed), three index lists, the chain round and the event log."""
    return 4 + 8 + 4 + 1 + 1 + (8 if ast else 0) + (0 if fused else 8 + 4 + 4 + 16)


#: People the kernels can index: int32 person indices (queues, lists, the fused kernel's read
#: position), with room for a grid's stride past the last person.
MAX_GPU_AGENTS = 2**31 - 2**24


def check_device_fits(plan: Plan, fused: bool) -> None:
    """Refuse, before allocating, a run whose people exceed int32 indices or the device's free
    memory, with the hasten that fits (agents.refuse_unless_fits, as on the CPU): beyond int32 the
    indices would wrap silently, and an allocation failure mid-setup says less."""
    need = plan.total_agents * device_bytes_per_person(bool(plan.params["avoid_short_stints"]), fused)
    try:
        free = float(cuda.current_context().get_memory_info()[0])
    except Exception:  # noqa: BLE001 - a context that cannot say: let the allocation decide
        free = float("inf")
    refuse_unless_fits(plan, need, free, MAX_GPU_AGENTS, "the GPU's free memory")


def _kernels(shared_tally: bool) -> tuple:
    if shared_tally not in _KERNELS:
        cap = None if simulator_enabled() else FUSED_MAX_REGISTERS
        _KERNELS[shared_tally] = _make_kernels(shared_tally, cap)
    return _KERNELS[shared_tally]


# ---------------------------------------------------------------- host side


@nb.njit(cache=True, nogil=True)
def _path_steps(node_ptr: np.ndarray, nodes: np.ndarray, out_ptr: np.ndarray, out_link: np.ndarray,
                link_to: np.ndarray) -> np.ndarray:
    """The device's path nodes, interleaved with each step's link: [2k] = nodes[k], [2k + 1] = the
    first link in out-list order from nodes[k − 1] to nodes[k] (−1 at a path's first node, or if
    none). See _decide_step: it saves scanning a place's out-links for most decisions."""
    out = np.full(2 * len(nodes), -1, np.int32)
    for p in range(len(node_ptr) - 1):
        for k in range(node_ptr[p], node_ptr[p + 1]):
            out[2 * k] = nodes[k]
            if k > node_ptr[p]:
                v = nodes[k - 1]
                for j in range(out_ptr[v], out_ptr[v + 1]):
                    if link_to[out_link[j]] == nodes[k]:
                        out[2 * k + 1] = out_link[j]
                        break
    return out


@nb.njit(cache=True, nogil=True)
def _first_steps(path_ptr: np.ndarray, node_ptr: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """A path's first step in one int32 (_step_of's `first`): 2·(link + 1), + 1 if that step is
    the path's last, where link is the first link in out-list order from the path's origin to
    its second node (_path_steps); 0 where _step_of must look the step up as for any other hop
    (no such link, a path of fewer than two nodes or one that does not start at its origin).
    _open_first_steps gives a day's copy."""
    out = np.zeros(len(node_ptr) - 1, np.int32)
    for o in range(len(path_ptr) - 1):
        for p in range(path_ptr[o], path_ptr[o + 1]):
            k = node_ptr[p]
            if node_ptr[p + 1] - k >= 2 and steps[2 * k] == o and steps[2 * k + 3] >= 0:
                out[p] = 2 * (steps[2 * k + 3] + 1) + (1 if node_ptr[p + 1] - k == 2 else 0)
    return out


@nb.njit(cache=True, nogil=True)
def _open_first_steps(first: np.ndarray, link_open: np.ndarray, out: np.ndarray) -> None:
    """out = _first_steps' `first`, 0 where its link is closed today (then _step_of scans v's
    out-links for an open one, as rules.routes.next_link does). Today's closures close every
    link between two places, so a path that can be chosen never has its first link closed;
    this keeps the fast step equal to the lookup without leaning on that (run on closure days
    only)."""
    for p in range(first.shape[0]):
        s = first[p]
        out[p] = s if s != 0 and link_open[(s >> 1) - 1] else 0


@nb.njit(cache=True, nogil=True)
def _classes(mc: np.ndarray, lcls: np.ndarray, qcls: np.ndarray) -> None:
    """Move-chance classes exactly as agents._run: −1 never, 0 always, k ≥ 1 for (2^-k, 2^-(k-1)]."""
    qcls[:] = 0.0
    for j in range(mc.shape[0]):
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


@nb.njit(cache=True, nogil=True)
def _spawn_table(w: np.ndarray, cum: np.ndarray, loc: np.ndarray) -> tuple[float, int, int]:
    """The spawn kernel's table: cum[:k] the running sum of the weights w (in index order, as the
    CPU engine sums them) at the places loc[:k] where it rises. The first place whose running sum
    exceeds a target ≥ 0 is always such a place, and the sums there are increasing, so searching
    them gives the CPU engine's place. With a negative weight (not monotone) every place is kept,
    the search as on the CPU. Returns (ΣW, k, the place for a target ≥ ΣW: the last where the sum
    rises, or 0, as agents._spawn_chunk)."""
    every = False
    for j in range(w.shape[0]):
        if w[j] < 0.0:
            every = True
    acc = 0.0
    k = 0
    fallback = 0
    for j in range(w.shape[0]):
        before = acc
        acc += w[j]
        if acc > before:
            fallback = j
        if every or acc > before:
            cum[k] = acc
            loc[k] = j
            k += 1
    return acc, k, fallback


@nb.njit(cache=True, nogil=True)
def _step_host(k: int, v: int, path: np.ndarray, hop: np.ndarray, node_ptr: np.ndarray,
               nodes: np.ndarray, out_ptr: np.ndarray, out_link: np.ndarray, link_to: np.ndarray,
               link_open: np.ndarray, camp: np.ndarray, capmult: np.ndarray) -> int:
    """Person.take_next_step on the gathered columns (row k): the link entered or −1."""
    p = path[k]
    h = np.int64(hop[k])
    lk = next_link(v, nodes[node_ptr[p] + h], out_ptr, out_link, link_to, link_open)
    if lk < 0:
        path[k] = -1
        return -1
    final = nodes[node_ptr[p + 1] - 1]
    if camp[final] and capmult[final] < 0.5:
        path[k] = -1
        return -1
    h += 1
    if node_ptr[p] + h >= node_ptr[p + 1]:
        path[k] = -1
    else:
        hop[k] = np.int8(h)
    return lk


@nb.njit(cache=True, nogil=True)
def _capped_host(ids: np.ndarray, where: np.ndarray, path: np.ndarray, hop: np.ndarray,
                 seed: np.uint64, t: int, capacity: np.ndarray, count: np.ndarray, buffer: float,
                 capm: np.ndarray, attract: np.ndarray, ws: float, wp: float, path_ptr: np.ndarray,
                 path_valid: np.ndarray, path_dest: np.ndarray, path_inv_dist: np.ndarray,
                 path_home: np.ndarray, node_ptr: np.ndarray, nodes: np.ndarray,
                 out_ptr: np.ndarray, out_link: np.ndarray, link_to: np.ndarray,
                 link_open: np.ndarray, camp: np.ndarray, link_count: np.ndarray,
                 dep_day: np.ndarray, eff_idx: np.ndarray, eff_loc: np.ndarray) -> int:
    """Movers at capped places, serially in index order, with live counts (agents._capped_movers).

    `ids` sorted; where/path/hop are their gathered columns (updated in place: a stepped-on link
    becomes where = −(link+1)). Departures that change a capacity multiplier are listed; returns
    how many.
    """
    ne = 0
    for k in range(ids.shape[0]):
        i = ids[k]
        v = where[k]
        if path[k] < 0:
            p = choose_path_live(v, uniform(seed, t, _S_ROUTE, i, 0), path_ptr, path_valid,
                                 path_dest, path_inv_dist, path_home, attract, capm, ws, wp)
            if p < 0:
                continue
            path[k] = p
            hop[k] = 1
        lk = _step_host(k, v, path, hop, node_ptr, nodes, out_ptr, out_link, link_to, link_open,
                        camp, capm)
        if lk < 0:
            continue
        where[k] = -(lk + 1)
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


@nb.njit(cache=True, nogil=True)
def _deferred_host(ids: np.ndarray, where: np.ndarray, path: np.ndarray, hop: np.ndarray,
                   seed: np.uint64, t: int, capacity: np.ndarray, count0: np.ndarray,
                   buffer: float, capm0: np.ndarray, attract: np.ndarray, ws: float, wp: float,
                   path_ptr: np.ndarray, path_valid: np.ndarray, path_dest: np.ndarray,
                   path_inv_dist: np.ndarray, path_home: np.ndarray, node_ptr: np.ndarray,
                   nodes: np.ndarray, out_ptr: np.ndarray, out_link: np.ndarray,
                   link_to: np.ndarray, link_open: np.ndarray, camp: np.ndarray,
                   eff_idx: np.ndarray, eff_loc: np.ndarray, n_eff: int, count: np.ndarray,
                   link_count: np.ndarray, dep_day: np.ndarray) -> None:
    """Deferred movers (sorted ids) with the counts of the start of pass A minus the listed capped
    departures before them, in index order (agents._pass_a_chunk's local tables)."""
    lcount = count0.copy()
    capm = capm0.copy()
    cum = np.zeros(path_dest.shape[0])
    tot = np.zeros(count0.shape[0])
    nvalid = np.zeros(count0.shape[0], np.int64)
    route_tables(path_ptr, path_dest, path_inv_dist, path_home, path_valid, attract, capm, ws, wp,
                 cum, tot, nvalid)
    e = 0
    for k in range(ids.shape[0]):
        i = ids[k]
        if e < n_eff and eff_idx[e] < i:
            while e < n_eff and eff_idx[e] < i:
                v = eff_loc[e]
                lcount[v] -= 1
                capm[v] = cap_multiplier(capacity[v], lcount[v], buffer)
                e += 1
            route_tables(path_ptr, path_dest, path_inv_dist, path_home, path_valid, attract, capm,
                         ws, wp, cum, tot, nvalid)
        v = where[k]
        if path[k] < 0:
            p = choose_path(v, uniform(seed, t, _S_ROUTE, i, 0), path_ptr, path_valid, cum, tot,
                            nvalid)
            if p < 0:
                continue
            path[k] = p
            hop[k] = 1
        lk = _step_host(k, v, path, hop, node_ptr, nodes, out_ptr, out_link, link_to, link_open,
                        camp, capm)
        if lk < 0:
            continue
        where[k] = -(lk + 1)
        count[v] -= 1
        dep_day[v] += 1
        link_count[lk] += 1


@nb.njit(cache=True, nogil=True)
def _chains_host(ids: np.ndarray, r0: np.ndarray, where: np.ndarray, prog: np.ndarray,
                 path: np.ndarray, hop: np.ndarray, flags: np.ndarray, rtd: np.ndarray,
                 dday: np.ndarray, ev_idx: np.ndarray, ev_loc: np.ndarray, seed: np.uint64,
                 t: int, ast: bool, max_speed: float, town: np.ndarray, mc: np.ndarray,
                 capacity: np.ndarray, live: np.ndarray, buffer: float, attract: np.ndarray,
                 ws: float, wp: float, path_ptr: np.ndarray, path_valid: np.ndarray,
                 path_dest: np.ndarray, path_inv_dist: np.ndarray, path_home: np.ndarray,
                 node_ptr: np.ndarray, nodes: np.ndarray, out_ptr: np.ndarray,
                 out_link: np.ndarray, link_to: np.ndarray, link_open: np.ndarray,
                 link_km: np.ndarray, link_speed: np.ndarray, link_walk_p: np.ndarray,
                 camp: np.ndarray, start_on_foot: bool, walk: float, count: np.ndarray,
                 link_count: np.ndarray, arr_day: np.ndarray, dep_day: np.ndarray) -> int:
    """The rest of pass B for people whose next decision reads a capped place's multiplier.

    Flee's pass B is serial in index order (agents._sweep / _chain): person i sees the arrivals
    and departures of everyone before it. `live` starts at the counts before pass B; the device's
    logged changes at capped places (sorted by person) are applied up to and including i (i's own
    are those of its chain before it was handed over), and these chains' own changes as they happen.
    Gathered columns (row k) are updated in place. Returns the deepest chain (decisions made).
    """
    capm = np.ones(live.shape[0])
    for v in range(live.shape[0]):
        capm[v] = cap_multiplier(capacity[v], live[v], buffer)
    e = 0
    n_ev = ev_idx.shape[0]
    deepest = 0
    for k in range(ids.shape[0]):
        i = ids[k]
        while e < n_ev and ev_idx[e] <= i:
            v = ev_loc[e] // 2
            live[v] += 1 if ev_loc[e] % 2 == 1 else -1
            capm[v] = cap_multiplier(capacity[v], live[v], buffer)
            e += 1
        v = where[k]
        dist = prog[k]
        r = r0[k]
        while r <= MAX_ROUNDS:
            m = mc[v]
            if ast and town[v]:
                if (rtd[k] + dist / max_speed) / 2.0 < 0.5:
                    m = 1.0
            if m < 1.0:
                if not uniform(seed, t, _S_CHAIN_MOVE, i, r) < m:
                    break
            if path[k] < 0:
                p = choose_path_live(v, uniform(seed, t, _S_CHAIN_ROUTE, i, r), path_ptr,
                                     path_valid, path_dest, path_inv_dist, path_home, attract,
                                     capm, ws, wp)
                if p < 0:
                    break
                path[k] = p
                hop[k] = 1
            lk = _step_host(k, v, path, hop, node_ptr, nodes, out_ptr, out_link, link_to,
                            link_open, camp, capm)
            if lk < 0:
                break
            count[v] -= 1
            dep_day[v] += 1
            live[v] -= 1
            capm[v] = cap_multiplier(capacity[v], live[v], buffer)
            link_count[lk] += 1
            flags[k] &= ~F_BOUNCE
            s = link_speed[lk]
            if start_on_foot and (flags[k] & F_DONE) == 0:
                s = walk
            if link_walk_p[lk] > 0.0:
                if uniform(seed, t, _S_WALK, i, r) < link_walk_p[lk]:
                    s = walk
            dist += s
            km = link_km[lk]
            if s > km:
                flags[k] |= F_DONE
                dist += km - s
                link_count[lk] -= 1
                v = link_to[lk]
                where[k] = v
                count[v] += 1
                arr_day[v] += 1
                live[v] += 1
                capm[v] = cap_multiplier(capacity[v], live[v], buffer)
                if ast:
                    dday[k] = np.float32(dist)
                if dist < s:
                    r += 1
                    continue
                break
            where[k] = -(lk + 1)
            prog[k] = s
            if ast:
                dday[k] = np.float32(dist)
            break
        if r > deepest:
            deepest = r
    return deepest


def _max_blocks() -> int:
    """Most blocks for the kernels that loop: BLOCKS_PER_SM per multiprocessor (2 in the simulator,
    where blocks run one after another but two still exercise the cross-block paths)."""
    if simulator_enabled():
        return 2
    try:
        return BLOCKS_PER_SM * int(cuda.get_current_device().MULTIPROCESSOR_COUNT)
    except Exception:  # noqa: BLE001 - an unknown device: a size that fills any current GPU
        return BLOCKS_PER_SM * 132


def _loop_grid(n: int, tpb: int, max_blocks: int) -> int:
    """Blocks for a kernel whose blocks loop over n items: one per tpb items, at most max_blocks."""
    return max(1, min((n + tpb - 1) // tpb, max_blocks))


def _resident_grid(kernel, tpb: int, smem: int) -> int | None:
    """Blocks of `kernel` (compiled for one signature) the device holds at once, launched with
    tpb threads and smem bytes of dynamic shared memory; None in the simulator, or before it is
    compiled."""
    if simulator_enabled():
        return None
    try:
        (k,) = kernel.overloads.values()
        return int(k.max_cooperative_grid_blocks(tpb, smem)) or None
    except Exception:  # noqa: BLE001 - not compiled yet, or an API this numba-cuda lacks
        return None


def _grid(n: int, tpb: int) -> int:
    """Blocks for a grid-stride kernel over n items (one in the simulator, where blocks are slow)."""
    if simulator_enabled():
        return 1
    return max(1, min((n + tpb - 1) // tpb, 65535 * 4))


class _DeviceArray(Protocol):
    """What the host code uses of a numba.cuda device array (numba.cuda is opaque to mypy)."""

    shape: tuple[int, ...]

    def __getitem__(self, key: Any) -> _DeviceArray: ...

    def copy_to_device(self, ary: Any, stream: Any = ...) -> None: ...

    def copy_to_host(self, ary: Any = ..., stream: Any = ...) -> np.ndarray: ...


class _Scratch:
    """Device buffers for the host replays' gathers and scatters, kept across days and grown on
    demand (a fresh cudaMalloc for every small list each day costs more than the copy)."""

    def __init__(self) -> None:
        self.bufs: dict[tuple[str, str], _DeviceArray] = {}

    def get(self, name: str, n: int, dtype) -> _DeviceArray:
        """A device array of n items of dtype (a view of the buffer `name`)."""
        key = (name, np.dtype(dtype).str)
        b = self.bufs.get(key)
        if b is None or b.shape[0] < n:
            b = cuda.device_array(max(n, 1024, 2 * (0 if b is None else b.shape[0])), dtype)
            self.bufs[key] = b
        return b[:n]

    def put(self, name: str, host: np.ndarray) -> _DeviceArray:
        """The host array copied into the buffer `name`."""
        d = self.get(name, host.shape[0], host.dtype)
        d.copy_to_device(np.ascontiguousarray(host))
        return d


#: Days in flight when run_agents_gpu runs days ahead: the host prepares day t while the
#: device runs days t − 1 and t − 2, and settles day t − AHEAD_LAG once the device is done.
AHEAD_LAG = 2


class _DaysAhead:
    """Days queued on one stream without waiting for the device (run_agents_gpu's `ahead`).

    Each day in flight has a slot (day t: t mod AHEAD_LAG + 1): page-locked copies of the tables
    it sends (an asynchronous copy reads its source when the stream reaches it, so the host
    must not change that source before), and device rows for its tallies, spawn tallies and
    fused statistics, zeroed on the stream before the day's kernels and copied back after them.
    A slot is reused only after its day has been settled (its event waited for)."""

    def __init__(self, devs: list, n_tally_ext: int, n_spawn: int) -> None:
        self.slots = AHEAD_LAG + 1
        self.stream = cuda.stream()
        self.stage = {id(d): [cuda.pinned_array(d.shape, d.dtype) for _ in range(self.slots)]
                      for d in devs}
        self.d_tally = cuda.device_array((self.slots, n_tally_ext), np.int32)
        self.d_spawn = cuda.device_array((self.slots, n_spawn), np.int32)
        self.d_fstat = cuda.device_array((self.slots, 3), np.int64)
        self.h_tally = cuda.pinned_array((self.slots, n_tally_ext), np.int32)
        self.h_spawn = cuda.pinned_array((self.slots, n_spawn), np.int32)
        self.h_fstat = cuda.pinned_array((self.slots, 3), np.int64)
        self.zeros = (cuda.pinned_array(n_tally_ext, np.int32), cuda.pinned_array(n_spawn, np.int32),
                      cuda.pinned_array(3, np.int64))
        for z in self.zeros:
            z[:] = 0
        self.events = [cuda.event() for _ in range(self.slots)]
        self.sent: dict[int, int] = {}  # the day each array was last sent: a slot holds one copy

    def rows(self, t: int) -> tuple:
        """Day t's device rows: tallies, spawn tallies, fused statistics."""
        k = t % self.slots
        return self.d_tally[k], self.d_spawn[k], self.d_fstat[k]

    def begin(self, t: int) -> None:
        """Zero day t's rows, on the stream (after the kernels of the day that used the slot)."""
        for row, zero in zip(self.rows(t), self.zeros, strict=True):
            row.copy_to_device(zero, stream=self.stream)

    def send(self, dev, host: np.ndarray, t: int) -> None:
        """Queue the copy of `host` to `dev` for day t, from day t's page-locked slot."""
        if self.sent.get(id(dev)) == t:  # its first copy may not have left the slot yet
            raise RuntimeError("a table was sent to the device twice in one day")
        self.sent[id(dev)] = t
        slot = self.stage[id(dev)][t % self.slots]
        slot[...] = host
        dev.copy_to_device(slot, stream=self.stream)

    def end(self, t: int) -> None:
        """Queue day t's rows back to the host, and mark the day's end."""
        k = t % self.slots
        self.d_tally[k].copy_to_host(self.h_tally[k], stream=self.stream)
        self.d_spawn[k].copy_to_host(self.h_spawn[k], stream=self.stream)
        self.d_fstat[k].copy_to_host(self.h_fstat[k], stream=self.stream)
        self.events[k].record(self.stream)

    def wait(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Day t's tallies, spawn tallies and fused statistics, once the device has done it."""
        k = t % self.slots
        self.events[k].synchronize()
        return (self.h_tally[k].astype(np.int64), self.h_spawn[k].astype(np.int64),
                self.h_fstat[k].copy())


def _gather_ids(ids: np.ndarray, d_where, d_path, d_hop, tpb: int, scr: _Scratch) -> tuple:
    """where, path, hop of the people `ids` (host arrays)."""
    n = len(ids)
    d_ids = scr.put("ids", ids)
    ow = scr.get("g_where", n, np.int32)
    op = scr.get("g_path", n, np.int32)
    oh = scr.get("g_hop", n, np.int8)
    _gather_kernel[_grid(n, tpb), tpb](d_ids, d_where, d_path, d_hop, ow, op, oh)
    return ow.copy_to_host(), op.copy_to_host(), oh.copy_to_host()


def _gather(d_lists, counts: np.ndarray, d_where, d_path, d_hop, tpb: int, scr: _Scratch) -> tuple:
    """The people in per-chunk lists (counts per chunk), sorted by index, with their columns."""
    offsets = np.zeros(len(counts), np.int64)
    offsets[1:] = np.cumsum(counts)[:-1]
    n = int(counts.sum())
    out = scr.get("compact", n, np.int32)
    _compact_kernel[len(counts), tpb](d_lists, scr.put("counts", counts.astype(np.int32)),
                                      scr.put("offsets", offsets), out)
    ids = np.sort(out.copy_to_host())
    return (ids, *_gather_ids(ids, d_where, d_path, d_hop, tpb, scr))


def _scatter(ids: np.ndarray, where: np.ndarray, path: np.ndarray, hop: np.ndarray, d_where,
             d_prog, d_path, d_hop, d_flags, tpb: int, scr: _Scratch) -> None:
    """Write the host's pass A for `ids` back to the device columns."""
    n = len(ids)
    if n == 0:
        return
    _scatter_kernel[_grid(n, tpb), tpb](scr.put("ids", ids), scr.put("s_where", where),
                                        scr.put("s_path", path), scr.put("s_hop", hop), d_where,
                                        d_prog, d_path, d_hop, d_flags)


def run_agents_gpu(plan: Plan, seed: int = 0, check: bool = False, threads_per_block: int | None = None,
                   shared_tally: bool | None = None, blocks: int | None = None,
                   profile: bool = False, draws: str = "gaps", fuse: bool | None = None,
                   ahead: bool = True) -> EngineOutput:
    """Run the agent engine on the GPU; the same output as run_agents for a seed and `draws`
    (see module doc). draws "bernoulli" replaces pass A's scan by one draw per person (fast here).

    `threads_per_block` (a power of two ≤ 128; on hardware keep the default), `shared_tally`
    (None: shared-memory histograms when the network's tallies fit, else global atomics) and
    `blocks` (most blocks of a looping kernel; None: BLOCKS_PER_SM per multiprocessor, and for
    the fused kernel, once compiled, FUSED_WAVES times the blocks the device holds at once; 2 in
    the simulator) change how the work is laid out, never the result. The output also carries
    `gpu_stats` (decisions replayed on the host, layout) and `day_s` (wall seconds per day). `profile=True` waits for the device after every phase and adds
    the wall seconds per phase (PHASES) to gpu_stats["phase_s"] and, per day, to
    gpu_stats["phase_day_s"] (the waits slow the run a little; off: no cost). `fuse` (None: when
    no place has a capacity) runs the rest of the day after pass A's draws in one kernel, each
    person through all of their same-day rounds (fused_kernel; with draws "bernoulli" pass A
    too, with "gaps" their steps); it needs a network without capacities and never changes the
    result. `ahead` (on by default where it can run: fused days without take_from_population,
    `check` or `profile`; else ignored; run 13 on an H100: 2.15e10 person-steps/s at 1e8 against
    1.76e10 without, medians of 3, faster in each round) queues the days on one stream without
    waiting for the device: without capacities
    no table the host computes for a day reads the counts the device tallies, so the host
    prepares day t (tables, their copies, the launches: 0.6 ms a day and more on an H100 in
    run 12, with the device idle) while the device runs the days before, and reads each day's
    tallies AHEAD_LAG days later; the same result (gpu_stats["ahead"] says if it ran so), and
    `day_s` then counts from one settled day to the next.

    >>> out = run_agents_gpu(compile_plan(scenario), seed=1)  # doctest: +SKIP
    """
    if not gpu_available():
        raise GpuUnavailable("no CUDA device is available (set NUMBA_ENABLE_CUDASIM=1 to run the "
                             "kernels in numba's simulator, slowly)")
    if draws not in DRAWS:
        raise ValueError(f"unknown draws {draws!r}; choose one of {', '.join(DRAWS)}")
    bern = draws == "bernoulli"
    tpb = int(threads_per_block or TPB)
    flat = TPB_FLAT if threads_per_block is None else tpb
    if not 1 <= tpb <= TPB_MAX or tpb & (tpb - 1):
        raise ValueError(f"threads_per_block must be a power of two in 1..{TPB_MAX}, got {tpb}")
    max_blocks = int(blocks) if blocks else _max_blocks()
    fused_blocks = int(blocks) if blocks else None  # None: sized after its first launch
    p = plan.params
    fp = np.array([p[k] for k in FP_KEYS], np.float64)
    max_speed, walk = float(fp[0]), float(fp[1])
    ast = bool(p["avoid_short_stints"])
    start_on_foot = bool(p["start_on_foot"])
    use_pop = bool(p["use_pop_for_loc_weight"])
    take_pop = bool(p["take_from_population"])
    use_decay = bool(p["use_decay"])
    n_loc, n_links, n_days = plan.n_locations, plan.n_links, plan.n_days
    n_paths = int(plan.path_dest.shape[0])
    cap = max(1, plan.total_agents)
    n_tally = 2 * n_loc + n_links
    if shared_tally is None:
        shared_tally = n_tally * 4 <= SHARED_TALLY_BYTES
    shared_bytes = n_tally * 4 if shared_tally else 0
    (spawn_kernel, movers_kernel, bern_kernel, pass_a_kernel, advance_kernel, chain_kernel,
     fused_kernel) = _kernels(bool(shared_tally))
    direct = not bool((plan.capacity >= 1).any())  # no capped place: pass A needs no host replay
    fused = direct if fuse is None else bool(fuse)
    if fused and not direct:
        raise ValueError("fuse=True needs a network without capacities: a capped place's "
                         "multiplier makes decisions depend on Flee's serial order")
    # a build whose fused kernel tallies the links in global memory (benchmarks/gpu_device_check.py)
    fused_shared = (2 * n_loc * 4 if shared_tally and getattr(fused_kernel, "link_tally_global", False)
                    else shared_bytes)
    if fused and threads_per_block is None:
        flat = TPB_FUSED  # every per-person kernel of a fused day, as measured in run 13

    def wave_grid() -> int | None:
        """FUSED_WAVES × the fused kernel's resident blocks, once it is compiled (else None)."""
        resident = _resident_grid(fused_kernel, flat, fused_shared)
        return FUSED_WAVES * resident if resident else None

    if fused and fused_blocks is None:
        # compiled already (an earlier run: the device check's warm-up): day 0 on the grid of the
        # other days (it took max_blocks, 4 waves of 1,024-thread blocks on an H100, in run 13)
        fused_blocks = wave_grid()
    assert not fused or flat <= _QUEUE // 2  # the fused kernel's queue: < 2 entries a thread
    check_device_fits(plan, fused)
    ahead = bool(ahead) and fused and not take_pop and not check and not profile
    path_origin = np.repeat(np.arange(n_loc), np.diff(plan.path_ptr))
    decay = plan.decay.astype(np.float64)
    decay_interval = int(plan.decay_interval)
    assert len(IP_KEYS) == 5  # the switches read above by name

    # location state (host; small)
    foreign = plan.foreign.copy()
    camp = plan.camp0.copy()
    town = plan.town0.copy()
    conflict = plan.conflict0.copy()
    toc = np.full(n_loc, -1, np.int64)
    mc_base = plan.movechance0.copy()
    pop = plan.pop.copy()
    capacity = plan.capacity
    link_open = np.ones(n_links, np.bool_)
    path_valid = np.zeros(n_paths, np.bool_)
    path_validity(plan.path_link_ptr, plan.path_links, link_open, path_valid)
    wts = np.zeros(n_loc)
    cumw = np.zeros(n_loc)
    spawn_locs = np.zeros(n_loc, np.int32)
    score = np.zeros(n_loc)
    attract = np.zeros(n_loc)
    capmult = np.zeros(n_loc)
    mc = np.zeros(n_loc)
    lcls = np.zeros(n_loc, np.int64)
    qcls = np.zeros(NCLS)
    cum = np.zeros(n_paths)
    tot = np.zeros(n_loc)
    nvalid = np.zeros(n_loc, np.int64)
    closed_today = np.zeros(n_links, np.bool_)
    zero_tally = np.zeros(n_tally + 3 + CHAIN_BATCH, np.int32)
    f0 = n_tally + 2  # frontier counts of a batch of rounds: tally[f0 + j] after round j

    # records
    pop_rec = np.zeros((n_days, n_loc), np.int64)
    arr_rec = np.zeros((n_days, n_loc), np.int64)
    dep_rec = np.zeros((n_days, n_loc), np.int64)
    link_rec = np.zeros((n_days, n_links), np.int64)
    spawned = np.zeros(n_days, np.int64)
    alive = np.zeros(n_days, np.int64)
    rounds = np.zeros(n_days, np.int64)
    day_s = np.zeros(n_days)  # wall seconds of each day (every day ends with a device→host copy)

    # day-0 insertion (spawning.add_initial_refugees), as run_agents
    n0 = int(plan.insert0.sum())
    where_h = np.zeros(cap, np.int32)
    where_h[:n0] = np.repeat(np.arange(n_loc, dtype=np.int32), plan.insert0)
    count = np.bincount(where_h[:n0], minlength=n_loc).astype(np.int64)
    link_count = np.zeros(n_links, np.int64)

    to_dev = cuda.to_device
    # people columns: on the device for the whole run
    d_where = to_dev(where_h)
    del where_h
    d_prog = cuda.device_array(cap, np.float64)
    _fill_kernel[_grid(cap, TPB_FLAT), TPB_FLAT](d_prog, 0.0)  # (the spawn kernel writes `where` alone)
    d_path = to_dev(np.full(cap, -1, np.int32))
    d_hop = to_dev(np.zeros(cap, np.int8))
    d_flags = to_dev(np.zeros(cap, np.int8))
    lists = 1 if fused else cap  # fused: no frontier, capped/deferred list or event log is written
    d_front = (cuda.device_array(lists, np.int32), cuda.device_array(lists, np.int32))
    d_side = cuda.device_array(lists, np.int32)  # capped movers, then deferred movers
    nch_max = (cap + CHUNK - 1) // CHUNK
    d_nmov = to_dev(np.zeros(nch_max, np.int32))
    d_ncap = to_dev(np.zeros(nch_max, np.int32))
    d_capacity = to_dev(plan.capacity)
    d_touched = to_dev(np.zeros(n_loc, np.bool_))
    # pass B in Flee's serial order: who may read a capped multiplier, and the changes at capped places
    touched_cap = np.zeros(n_loc, np.bool_)
    touched_cap[path_origin[plan.capacity[plan.path_dest] >= 1]] = True
    d_touched_cap = to_dev(touched_cap)
    d_ev_idx = cuda.device_array(2 * lists, np.int32)
    d_ev_loc = cuda.device_array(2 * lists, np.int32)
    d_def_r = cuda.device_array(lists, np.int32)
    d_cnt = to_dev(np.zeros(2, np.int32))
    zero_fstat = np.zeros(3, np.int64)
    d_fstat = to_dev(zero_fstat)  # fused_kernel: chain people, deepest round, error
    zero2 = np.zeros(2, np.int32)
    d_in_u = to_dev(np.zeros(n_loc, np.bool_))
    d_rtd = to_dev(np.zeros(cap if ast else 1, np.float32))
    d_dday = to_dev(np.zeros(cap if ast else 1, np.float32))
    # network (read-only) and per-day tables
    d_link_from = to_dev(plan.link_from)
    d_link_to = to_dev(plan.link_to)
    d_link_km = to_dev(plan.link_km)
    d_link_speed = to_dev(plan.link_speed)
    d_link_walk_p = to_dev(plan.link_walk_p)
    d_out_ptr = to_dev(plan.out_ptr)
    d_out_link = to_dev(plan.out_link)
    d_path_ptr = to_dev(plan.path_ptr)
    d_node_ptr = to_dev(plan.path_node_ptr)
    steps = _path_steps(plan.path_node_ptr, plan.path_nodes, plan.out_ptr, plan.out_link,
                        plan.link_to)
    d_nodes = to_dev(steps)
    first_all = _first_steps(plan.path_ptr, plan.path_node_ptr, steps)
    first = np.empty_like(first_all)
    _open_first_steps(first_all, link_open, first)
    d_first = to_dev(first)
    d_link_open = to_dev(link_open)
    d_path_valid = to_dev(path_valid)
    d_camp = to_dev(camp)
    d_town = to_dev(town)
    d_closed = to_dev(closed_today)
    d_tally = to_dev(zero_tally)
    d_pre = to_dev(np.zeros(_N_STREAMS, np.uint64))
    d_cumw = to_dev(cumw)
    d_spawn_locs = to_dev(spawn_locs)
    d_mc = to_dev(mc)
    d_lcls = to_dev(lcls)
    d_qcls = to_dev(qcls)
    d_capmult = to_dev(capmult)
    d_cum = to_dev(cum)
    d_tot = to_dev(tot)
    d_nvalid = to_dev(nvalid)
    seed64 = int(seed_words(seed))
    scr = _Scratch()
    stats = {"capped_movers": 0, "capacity_changes": 0, "deferred_movers": 0, "deferred_chains": 0,
             "chain_people": 0}  # chain_people: Σ over same-day rounds of the people in the round

    def _replay_chains(n_defc: int, n_ev: int) -> int:
        """Gather the handed-over people and the logged changes, replay, write back."""
        slots_i = d_side[:n_defc].copy_to_host()
        slots_r = d_def_r[:n_defc].copy_to_host()
        order = np.argsort(slots_i, kind="stable")
        ids = slots_i[order].astype(np.int32)
        r0 = slots_r[order].astype(np.int64)
        ev_i = d_ev_idx[:n_ev].copy_to_host() if n_ev else np.zeros(0, np.int32)
        ev_l = d_ev_loc[:n_ev].copy_to_host() if n_ev else np.zeros(0, np.int32)
        eo = np.argsort(ev_i, kind="stable")
        ev_i, ev_l = ev_i[eo], ev_l[eo]
        net = (np.bincount(ev_l // 2, weights=np.where(ev_l % 2 == 1, 1, -1), minlength=n_loc)
               if n_ev else np.zeros(n_loc))
        live = count - net.astype(np.int64)  # counts before pass B's serial part
        n = len(ids)
        d_ids = scr.put("ids", ids)
        cols = [scr.get(f"c{j}", n, dt) for j, dt in enumerate((np.int32, np.float64, np.int32,
                                                                 np.int8, np.int8, np.float32,
                                                                 np.float32))]
        _gather_chain_kernel[_grid(n, flat), flat](d_ids, d_where, d_prog, d_path, d_hop, d_flags,
                                                   d_rtd, d_dday, ast, *cols)
        w_h, pr_h, pa_h, ho_h, fl_h, rt_h, dd_h = (c.copy_to_host() for c in cols)
        deepest = _chains_host(ids, r0, w_h, pr_h, pa_h, ho_h, fl_h, rt_h, dd_h, ev_i, ev_l,
                               np.uint64(seed64), t, ast, max_speed, town, mc, capacity, live,
                               fp[9], attract, fp[10], fp[11], plan.path_ptr, path_valid,
                               plan.path_dest, plan.path_inv_dist, plan.path_home,
                               plan.path_node_ptr, plan.path_nodes, plan.out_ptr, plan.out_link,
                               plan.link_to, link_open, plan.link_km, plan.link_speed,
                               plan.link_walk_p, camp, start_on_foot, walk, count, link_count,
                               arr_day, dep_day)
        _scatter_chain_kernel[_grid(n, flat), flat](d_ids, *(scr.put(f"s{j}", c) for j, c in
                                                             enumerate((w_h, pr_h, pa_h, ho_h,
                                                                        fl_h, dd_h))), ast,
                                                    d_where, d_prog, d_path, d_hop, d_flags, d_dday)
        return int(deepest)
    err, err_day = 0, -1
    n_alive = n0
    n_queued = 0  # ahead: days queued on the stream

    def fused_stats(fs: np.ndarray, day: int) -> int:
        """Count the fused kernel's statistics of `day` (chain people; an error, the earliest
        day's kept); returns its deepest round."""
        nonlocal err, err_day
        n_chain, deepest, bad = (int(x) for x in fs)
        stats["chain_people"] += n_chain
        if bad == 2:
            raise EngineError(f"day {day}: a same-day decision read a capped place's multiplier "
                              "in the fused kernel (a bug: fuse needs a network without "
                              "capacities)")
        if bad == 1 and (not err or day < err_day):
            err, err_day = ERR_ROUNDS, day
        return deepest

    def record(day: int) -> None:
        """The day's counts into the records."""
        pop_rec[day, :] = count
        arr_rec[day, :] = arr_day
        dep_rec[day, :] = dep_day
        link_rec[day, :] = link_count

    t_day: float  # set before the day loop; settle() and the loop both move it on

    def settle(day: int) -> None:
        """ahead: wait for the device to finish `day`, then count and record it as the day
        loop does when it waits (its wall seconds: since the day before was settled)."""
        nonlocal t_day
        if days is None:
            raise RuntimeError("settle() is only called when running days ahead")
        tl, sp, fs = days.wait(day)
        count[:] += sp[n_loc:2 * n_loc]
        arr_day[:] = 0
        dep_day[:] = 0
        apply(tl)
        rounds[day] = fused_stats(fs, day)
        if not err:
            record(day)
        now = time.perf_counter()
        day_s[day] = now - t_day
        t_day = now

    tally_h = cuda.pinned_array(zero_tally.shape[0], np.int32)  # page-locked: a direct DMA back
    days = _DaysAhead([d_pre, d_cumw, d_spawn_locs, d_closed, d_link_open, d_path_valid, d_camp, d_town, d_mc,
                       d_lcls, d_qcls, d_capmult, d_cum, d_tot, d_nvalid, d_first],
                      zero_tally.shape[0], 2 * n_loc) if ahead else None
    st = days.stream if days is not None else 0  # the stream of every launch and copy of a day

    def tallies() -> np.ndarray:
        d_tally.copy_to_host(tally_h)
        return tally_h.astype(np.int64)

    on_device: dict[int, np.ndarray] = {}  # last upload of each small table (id of device array)

    def send(dev, host: np.ndarray) -> None:
        """Copy a host table to the device: now, or queued for today when running ahead."""
        if days is None:
            dev.copy_to_device(host)
        else:
            days.send(dev, host, today[0])

    def upload(dev, host: np.ndarray) -> None:
        """Copy a small host table to the device unless the device already holds these values."""
        last = on_device.get(id(dev))
        if last is None or not np.array_equal(last, host):
            send(dev, host)
            on_device[id(dev)] = host.copy()

    def tables() -> None:
        """Capacity multipliers and route tables from today's scores and counts, uploaded."""
        cap_multipliers(capacity, count, fp[9], capmult)
        route_tables(plan.path_ptr, plan.path_dest, plan.path_inv_dist, plan.path_home, path_valid,
                     attract, capmult, fp[10], fp[11], cum, tot, nvalid)
        upload(d_capmult, capmult)
        upload(d_cum, cum)
        upload(d_tot, tot)
        upload(d_nvalid, nvalid)

    def apply(tl: np.ndarray) -> int:
        """count(after) = count(before) + arrivals − departures; returns the next frontier's size."""
        dep, arr, lnk = tl[:n_loc], tl[n_loc:2 * n_loc], tl[2 * n_loc:n_tally]
        count[:] += arr - dep
        arr_day[:] += arr
        dep_day[:] += dep
        link_count[:] += lnk
        return int(tl[f0])

    arr_day = np.zeros(n_loc, np.int64)
    dep_day = np.zeros(n_loc, np.int64)
    phase_day = np.zeros((n_days, len(PHASES)))  # profile: seconds per day and phase
    phase_col = {ph: j for j, ph in enumerate(PHASES)}
    lap_at = [0.0]
    today = [0]

    def lap(phase: str) -> None:
        """profile: wait for the device, add the seconds since the last lap to the phase's."""
        if profile:
            cuda.synchronize()
            now = time.perf_counter()
            phase_day[today[0], phase_col[phase]] += now - lap_at[0]
            lap_at[0] = now

    cuda.synchronize()
    t_day = t0 = lap_at[0] = time.perf_counter()  # the day loop (allocation, upload not counted)
    daycount.begin(0, n_days)
    for t in range(n_days):
        today[0] = t
        daycount.DAYS[0] = t  # (days queued on the device: `run`'s day counter, engine/daycount.py)
        if days is not None:
            days.begin(t)
            d_day_tally, d_day_spawn, d_day_fstat = days.rows(t)
        else:
            d_day_tally, d_day_spawn, d_day_fstat = d_tally, d_tally, d_fstat
        pre_t = day_prefixes(seed64, t)
        send(d_pre, pre_t)
        loc_changed = False
        # 1. conflicts
        for e in range(plan.conflict_ptr[t], plan.conflict_ptr[t + 1]):
            j = plan.conflict_loc[e]
            if plan.conflict_on[e]:
                mc_base[j] = fp[5]
                conflict[j] = plan.conflict_value[e]
                town[j] = False
                toc[j] = t
            else:
                mc_base[j] = fp[8]
                conflict[j] = -1.0
                town[j] = True
            loc_changed = True
        # 2. spawn
        tau = t if (plan.refresh_today[t] or t == 0) else t - 1
        wsum = spawn_weights(tau, conflict, toc, pop, decay, decay_interval, use_decay, wts)
        n_new = int(plan.spawn[t])
        if n_new > 0:
            if not wsum > 0.0:
                err, err_day = ERR_NO_SPAWN_WEIGHT, t
                break
            acc, n_sp, fallback = _spawn_table(wts, cumw, spawn_locs)
            upload(d_cumw, cumw)  # (unchanged weights, as on most days of a long conflict: no copy)
            upload(d_spawn_locs, spawn_locs)
            if days is None:
                d_tally.copy_to_device(zero_tally)
            spawn_kernel[_loop_grid(n_new, flat, max_blocks), flat, st,
                         (2 * n_loc * 4 if shared_tally else 0)](
                n_alive, n_alive + n_new, d_pre, d_cumw, d_spawn_locs, n_sp, fallback, acc,
                d_where, d_day_spawn, n_loc)
            if days is None:  # (ahead: counted when the day is settled; no take_pop there)
                s = tallies()[n_loc:2 * n_loc]
                count += s
            if take_pop:
                pos = conflict > 0.0
                pop[pos] -= s[pos]
                if (pop[pos] < 0).any():
                    err, err_day = ERR_POP_EXHAUSTED, t
                    break
            n_alive += n_new
        spawned[t] = n_new
        lap("spawn")
        # 3. closures, in file order
        changed = False
        any_closed = False
        for e in range(plan.closure_ptr[t], plan.closure_ptr[t + 1]):
            op = plan.closure_op[e]
            k = plan.closure_target[e]
            if op == OP_LINK_CLOSE:
                if link_open[k]:
                    link_open[k] = False
                    closed_today[k] = True
                    any_closed = changed = True
            elif op == OP_LINK_OPEN:
                if not link_open[k]:
                    link_open[k] = True
                    changed = True
            elif op == OP_CAMP_CLOSE:
                mc_base[k] = fp[8]
                camp[k] = False
                conflict[k] = -1.0
                town[k] = True
                loc_changed = True
            elif op == OP_CAMP_OPEN:
                mc_base[k] = fp[7] if plan.closure_arg[e] != 0 else fp[6]
                camp[k] = True
                conflict[k] = -1.0
                town[k] = False
                loc_changed = True
        if any_closed and n_alive > 0:
            send(d_closed, closed_today)
            _bounce_kernel[_grid(n_alive, flat), flat, st](n_alive, d_where, d_flags, d_closed)
            closed_today[:] = False
        if changed:
            path_validity(plan.path_link_ptr, plan.path_links, link_open, path_valid)
            send(d_link_open, link_open)
            send(d_path_valid, path_valid)
            _open_first_steps(first_all, link_open, first)
            send(d_first, first)
        if loc_changed:
            send(d_camp, camp)
            send(d_town, town)
        # 4. scores, move chances and classes, capacity, route tables
        location_scores(t, foreign, camp, conflict, toc, decay, decay_interval, use_decay,
                        fp[2], fp[3], fp[4], score)
        attractiveness(score, camp, pop, use_pop, fp[12], attract)
        move_chances(mc_base, pop, capacity, fp[13], fp[14], mc)
        _classes(mc, lcls, qcls)
        upload(d_mc, mc)
        upload(d_lcls, lcls)
        upload(d_qcls, qcls)
        tables()
        alive[t] = n_alive
        if days is None:
            arr_day[:] = 0
            dep_day[:] = 0
        lap("host_tables")
        # 5. pass A: who moves; movers at capped places (host, index order); the others
        nch = (n_alive + CHUNK - 1) // CHUNK
        nf = 0
        r_fused = 0
        if nch > 0:
            if days is None:
                d_tally.copy_to_device(zero_tally)
            # fused: bernoulli's pass A is all in fused_kernel; gaps' movers are marked, and
            # fused_kernel steps them (its compact queue keeps a warp's threads busy; here the
            # few movers of a thread's segment would leave most threads of a warp idle)
            how = _MARK if fused else _STEP if direct else _LIST
            if bern and not fused:
                bern_kernel[min(nch, max_blocks), flat, 0, shared_bytes if direct else 0](
                    n_alive, d_pre, d_where, d_prog, d_path, d_hop, d_flags, d_lcls, d_mc,
                    d_capacity, how, d_path_ptr, d_path_valid, d_cum, d_tot, d_nvalid,
                    d_node_ptr, d_nodes, d_out_ptr, d_out_link, d_link_to, d_link_open, d_camp,
                    d_capmult, d_front[1], d_nmov, d_side, d_ncap, d_tally, n_loc, n_links)
            elif not bern:
                movers_kernel[nch, tpb, st, shared_bytes if how == _STEP else 0](
                    n_alive, d_pre, d_where, d_prog, d_path, d_hop, d_flags, d_lcls, d_qcls, d_mc,
                    d_capacity, how, d_path_ptr, d_path_valid, d_cum, d_tot, d_nvalid,
                    d_node_ptr, d_nodes, d_out_ptr, d_out_link, d_link_to, d_link_open, d_camp,
                    d_capmult, d_front[1], d_nmov, d_side, d_ncap, d_day_tally, n_loc, n_links)
            lap("pass_a")
            if not direct:
                count0 = count.copy()
                capm0 = capmult.copy()
                ncap = d_ncap.copy_to_host()[:nch].astype(np.int64)
                n_eff = 0
                eff_idx = np.zeros(1, np.int64)
                eff_loc = np.zeros(1, np.int64)
                if ncap.sum() > 0:
                    ids, w_h, p_h, h_h = _gather(d_side, ncap, d_where, d_path, d_hop, flat, scr)
                    eff_idx = np.zeros(len(ids) + 1, np.int64)
                    eff_loc = np.zeros(len(ids) + 1, np.int64)
                    n_eff = _capped_host(ids, w_h, p_h, h_h, np.uint64(seed64), t, capacity, count,
                                         fp[9], capmult, attract, fp[10], fp[11], plan.path_ptr,
                                         path_valid, plan.path_dest, plan.path_inv_dist,
                                         plan.path_home, plan.path_node_ptr, plan.path_nodes,
                                         plan.out_ptr, plan.out_link, plan.link_to, link_open,
                                         camp, link_count, dep_day, eff_idx, eff_loc)
                    _scatter(ids, w_h, p_h, h_h, d_where, d_prog, d_path, d_hop, d_flags, flat, scr)
                    stats["capped_movers"] += len(ids)
                    stats["capacity_changes"] += n_eff
                in_u = np.zeros(n_loc, np.bool_)
                in_u[eff_loc[:n_eff]] = True
                touched = np.zeros(n_loc, np.bool_)
                touched[path_origin[in_u[plan.path_dest]]] = True
                upload(d_in_u, in_u)
                upload(d_touched, touched)
                pass_a_kernel[min(nch, max_blocks), flat, 0, shared_bytes](
                    n_alive, d_pre, d_where, d_prog, d_path, d_hop, d_flags, d_front[1], d_nmov, n_eff,
                    int(eff_idx[0]) if n_eff else -1, d_touched, d_in_u, d_side, d_path_ptr,
                    d_path_valid, d_cum, d_tot, d_nvalid, d_node_ptr, d_nodes, d_out_ptr,
                    d_out_link, d_link_to, d_link_open, d_camp, d_capmult, d_tally, n_loc, n_links)
                n_def = int(d_tally[n_tally + 1:n_tally + 2].copy_to_host()[0]) if n_eff else 0
                if n_def > 0:
                    ids = np.sort(d_side[:n_def].copy_to_host()).astype(np.int32)
                    w_h, p_h, h_h = _gather_ids(ids, d_where, d_path, d_hop, flat, scr)
                    _deferred_host(ids, w_h, p_h, h_h, np.uint64(seed64), t, capacity, count0,
                                   fp[9], capm0, attract, fp[10], fp[11], plan.path_ptr,
                                   path_valid, plan.path_dest, plan.path_inv_dist, plan.path_home,
                                   plan.path_node_ptr, plan.path_nodes, plan.out_ptr,
                                   plan.out_link, plan.link_to, link_open, camp, eff_idx, eff_loc,
                                   n_eff, count, link_count, dep_day)
                    _scatter(ids, w_h, p_h, h_h, d_where, d_prog, d_path, d_hop, d_flags, flat, scr)
                    stats["deferred_movers"] += n_def
                lap("pass_a_host")
            if fused:  # pass A's steps (and bernoulli's draws), round 0, every same-day round
                if days is None:
                    d_fstat.copy_to_device(zero_fstat)
                fused_kernel[_loop_grid(n_alive, flat, fused_blocks or max_blocks), flat, st,
                             fused_shared](
                    n_alive, _A_DRAW if bern else _A_MARKED, MAX_ROUNDS, pre_t[_S_MOVE],
                    pre_t[_S_ROUTE], pre_t[_S_CHAIN_ROUTE], pre_t[_S_CHAIN_MOVE], pre_t[_S_WALK],
                    d_where, d_prog,
                    d_path, d_hop, d_flags, d_dday, d_rtd, ast, max_speed, d_town, d_lcls, d_mc,
                    d_path_ptr, d_path_valid,
                    d_cum, d_tot, d_nvalid, d_node_ptr, d_nodes, d_out_ptr, d_out_link,
                    d_link_from, d_link_to, d_link_open, d_link_km, d_link_speed, d_link_walk_p,
                    d_camp, d_capmult, start_on_foot, walk, d_day_tally, n_loc, n_links,
                    d_capacity, d_touched_cap, d_ev_idx, d_ev_loc, d_cnt, d_day_fstat, d_first)
                if fused_blocks is None:  # compiled now
                    fused_blocks = wave_grid() or max_blocks
                if days is None:
                    apply(tallies())
                    r_fused = fused_stats(d_fstat.copy_to_host(), t)
                lap("fused")
            else:
                # round 0 of pass B: everyone on a link advances
                if not direct:  # without capacities nothing is logged or handed over in pass B
                    d_cnt.copy_to_device(zero2)
                advance_kernel[_loop_grid(n_alive, flat, max_blocks), flat, 0, shared_bytes](
                    n_alive, d_pre, d_where, d_prog, d_flags, d_dday, ast, d_link_from,
                    d_link_to, d_link_km, d_link_speed, d_link_walk_p, start_on_foot, walk,
                    d_front[0], d_tally, n_loc, n_links, d_capacity, d_ev_idx, d_ev_loc, d_cnt)
                nf = apply(tallies())
                lap("advance")
        # 6. chained decisions in rounds. A decision the device makes here never reads a capped
        # place's multiplier (those people are handed to the host), and every other multiplier is
        # 1, so the route tables need no refresh between rounds: rounds are queued in batches and
        # their tallies read once per batch
        r = r_fused
        while nf > 0:
            if r + 1 > MAX_ROUNDS:
                err, err_day = ERR_ROUNDS, t
                break
            batch = min(CHAIN_BATCH, MAX_ROUNDS - r)
            zero_tally[f0] = nf
            d_tally.copy_to_device(zero_tally)
            zero_tally[f0] = 0
            grid = _loop_grid(nf, flat, max_blocks)
            for j in range(batch):
                src, dst = (r + j) % 2, (r + j + 1) % 2
                chain_kernel[grid, flat, 0, shared_bytes](
                    r + j + 1, f0 + j, d_pre, d_front[src], d_front[dst], d_where, d_prog, d_path,
                    d_hop, d_flags, d_dday, d_rtd, ast, max_speed, d_town, d_mc, d_path_ptr,
                    d_path_valid, d_cum, d_tot, d_nvalid, d_node_ptr, d_nodes, d_out_ptr,
                    d_out_link, d_link_from, d_link_to, d_link_open, d_link_km, d_link_speed,
                    d_link_walk_p, d_camp, d_capmult, start_on_foot, walk, d_tally, n_loc,
                    n_links, d_capacity, d_touched_cap, d_ev_idx, d_ev_loc, d_cnt, d_side,
                    d_def_r)
            tl = tallies()
            apply(tl)
            fronts = tl[f0:f0 + batch + 1]
            r += int((fronts[:batch] > 0).sum())  # rounds that had people to move
            stats["chain_people"] += int(fronts[:batch].sum())
            nf = int(fronts[batch])
        lap("chain")
        if err:
            break
        if nch > 0 and not direct:  # chains that read a capped multiplier: Flee's order, on the host
            n_ev, n_defc = (int(x) for x in d_cnt.copy_to_host())
            if n_ev > d_ev_idx.shape[0]:
                raise EngineError(f"day {t}: more pass-B changes at capped places ({n_ev}) than "
                                  f"the GPU backend's log holds ({d_ev_idx.shape[0]})")
            if n_defc > 0:
                deepest = _replay_chains(n_defc, n_ev)
                if deepest > MAX_ROUNDS:
                    err, err_day = ERR_ROUNDS, t
                    break
                r = max(r, deepest)
                stats["deferred_chains"] += n_defc
        lap("chain_host")
        if ast and n_alive > 0:
            _recent_travel_kernel[_grid(n_alive, flat), flat, st](n_alive, d_rtd, d_dday,
                                                                  max_speed)
        if days is not None:  # the day is queued; settle the one AHEAD_LAG days before
            days.end(t)
            n_queued = t + 1
            if t >= AHEAD_LAG:
                settle(t - AHEAD_LAG)
                if err:
                    break
            continue
        # 7. record
        rounds[t] = r
        record(t)
        if check:
            d_at = to_dev(np.zeros(n_loc, np.int64))
            d_on = to_dev(np.zeros(n_links, np.int64))
            if n_alive > 0:
                _census_kernel[_grid(n_alive, flat), flat](n_alive, d_where, d_at, d_on)
            if (not np.array_equal(d_at.copy_to_host(), count) or (count < 0).any()
                    or not np.array_equal(d_on.copy_to_host(), link_count)):
                err, err_day = ERR_CHECK, t
                break
        lap("end_of_day")
        now = time.perf_counter()
        day_s[t] = now - t_day
        t_day = now
    if days is not None:  # the days still in flight, up to the first that failed
        for u in range(max(0, n_queued - AHEAD_LAG), n_queued):
            if not err or u < err_day:
                settle(u)
    cuda.synchronize()
    loop_s = time.perf_counter() - t0
    if err:
        msg = {
            ERR_NO_SPAWN_WEIGHT: "people must appear but no location has a positive spawn weight "
                                 "(no conflict zone with population > 0)",
            ERR_POP_EXHAUSTED: "take_from_population: more people spawned than the conflict zones' population",
            ERR_ROUNDS: f"same-day travel did not end after {MAX_ROUNDS} rounds (links of length 0?)",
            ERR_CHECK: "invariant broken: counts per location/link differ from the people columns",
        }[int(err)]
        raise EngineError(f"day {int(err_day)}: {msg}")
    out = EngineOutput(
        population=pop_rec, arrivals=arr_rec, departures=dep_rec, travellers=link_rec,
        spawned=spawned, alive=alive, rounds=rounds, loop_s=loop_s,
        agent_steps=int(alive.sum()), threads=0, bytes_per_person=device_bytes_per_person(ast, fused),
    )
    out.day_s = day_s  # type: ignore[attr-defined]
    out.gpu_stats = {**stats, "shared_tally": bool(shared_tally), "direct_pass_a": direct,  # type: ignore[attr-defined]
                     "draws": draws, "fused": fused, "ahead": ahead,
                     "threads_per_block": tpb, "threads_per_block_flat": flat,
                     "max_blocks": max_blocks,
                     "fused_blocks": (fused_blocks or 0) if fused else 0,
                     "simulator": simulator_enabled()}
    if profile:  # totals over the run, and per day (rows: days, columns: PHASES)
        out.gpu_stats["phase_s"] = {ph: float(phase_day[:, j].sum())  # type: ignore[attr-defined]
                                    for j, ph in enumerate(PHASES)}
        out.gpu_stats["phase_day_s"] = phase_day  # type: ignore[attr-defined]
    return out



def simulate_gpu(scenario_or_plan, seed: int = 0, engine: str = "auto", check: bool = False,
                 draws: str = "gaps"):
    """simulate(..., backend="gpu"): the agent engine on CUDA, labelled like any other run.

    The GPU backend runs the agent engine only: engine "auto" and "agents" are accepted, "cohorts"
    and border-crisis scenarios are refused with a ValueError (nothing is run).

    >>> res = simulate(scenario, seed=1, backend="gpu")  # doctest: +SKIP
    """
    from ..scenario.model import Scenario
    from ..simulate import results_from_output

    t0 = time.perf_counter()
    if isinstance(scenario_or_plan, Scenario) and scenario_or_plan.crisis is not None:
        raise ValueError("the GPU backend runs Flee's rules (agent engine); border-crisis scenarios "
                         "need backend='cpu'")
    if engine not in ("auto", "agents"):
        raise ValueError(f"the GPU backend runs the agent engine; engine={engine!r} needs backend='cpu'")
    if isinstance(scenario_or_plan, Plan):
        plan = scenario_or_plan
    else:
        from ..plan import compile_plan

        plan = compile_plan(scenario_or_plan)
    with warnings.catch_warnings():
        if simulator_enabled():  # numpy scalars warn on the wrap-around the hash relies on
            warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        out = run_agents_gpu(plan, seed=seed, check=check, draws=draws)
    res = results_from_output(plan, out, seed, "agents", time.perf_counter() - t0)
    res.manifest["draws"] = draws
    res.manifest["backend"] = "gpu"
    res.manifest["threads"] = 0
    res.manifest["engine_choice"] = {"asked": engine, "engine": "agents",
                                     "reason": "the GPU backend runs the agent engine"}
    stats = dict(out.gpu_stats)  # type: ignore[attr-defined]
    stats["device"] = device_name()
    res.manifest["gpu"] = stats
    if check:
        from .invariants import check_results

        check_results(res)
    return res


def device_name() -> str:
    """The CUDA device's name ('simulator' under NUMBA_ENABLE_CUDASIM)."""
    if simulator_enabled():
        return "numba CUDA simulator"
    try:
        name = cuda.get_current_device().name
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - a name is only informative
        return "unknown CUDA device"
