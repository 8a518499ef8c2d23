"""Route choice and route following (moving.selectRoute / calculateLinkWeight, Person.take_next_step).

Paths are enumerated once by plan.py. Each (sub)step the engine builds, per origin, the cumulative
weights of its open paths, w = [(WS + A(dest)·home) · Cap(dest) / (DS + km)^DP]^WP; an agent picks a
path by one uniform (random.choices), uniformly among open paths when all weights are 0.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def path_validity(path_link_ptr: np.ndarray, path_links: np.ndarray, link_open: np.ndarray,
                  out: np.ndarray) -> None:
    """A path can be chosen only if every link on it is open (closed links leave loc.links)."""
    for p in range(out.shape[0]):
        ok = True
        for j in range(path_link_ptr[p], path_link_ptr[p + 1]):
            if not link_open[path_links[j]]:
                ok = False
                break
        out[p] = ok


@nb.njit(cache=True, nogil=True)
def route_tables(path_ptr: np.ndarray, path_dest: np.ndarray, path_inv_dist: np.ndarray,
                 path_home: np.ndarray, path_valid: np.ndarray, attract: np.ndarray,
                 capmult: np.ndarray, weight_softening: float, weight_power: float,
                 cum: np.ndarray, total: np.ndarray, n_valid: np.ndarray) -> None:
    """Cumulative path weights per origin (cum), their sum and the number of open paths."""
    for o in range(total.shape[0]):
        s = 0.0
        nv = 0
        for p in range(path_ptr[o], path_ptr[o + 1]):
            if path_valid[p]:
                v = path_dest[p]
                w = (weight_softening + attract[v] * path_home[p]) * path_inv_dist[p] * capmult[v]
                if weight_power != 1.0:
                    w = w ** weight_power
                s += w
                nv += 1
            cum[p] = s
        total[o] = s
        n_valid[o] = nv


@nb.njit(cache=True, nogil=True)
def choose_path(o: int, u: float, path_ptr: np.ndarray, path_valid: np.ndarray, cum: np.ndarray,
                total: np.ndarray, n_valid: np.ndarray) -> int:
    """The path picked at origin o by the uniform u, or −1 when o has no open path."""
    nv = n_valid[o]
    if nv == 0:
        return -1
    lo, hi = path_ptr[o], path_ptr[o + 1]
    tot = total[o]
    if tot > 0.0:
        target = u * tot
        last = -1
        prev = 0.0
        for p in range(lo, hi):
            if path_valid[p] and cum[p] > prev:
                last = p
                if cum[p] > target:
                    return p
            prev = cum[p]
        return last  # u·tot rounded up to tot: the last path with weight
    k = int(u * nv)  # all weights 0: uniform over the open paths
    if k >= nv:
        k = nv - 1
    for p in range(lo, hi):
        if path_valid[p]:
            if k == 0:
                return p
            k -= 1
    return -1


@nb.njit(cache=True, nogil=True)
def next_link(v: int, target: int, out_ptr: np.ndarray, out_link: np.ndarray,
              link_to: np.ndarray, link_open: np.ndarray) -> int:
    """First open link from v to the location `target` (Flee matches route steps by name), or −1."""
    for j in range(out_ptr[v], out_ptr[v + 1]):
        lk = out_link[j]
        if link_open[lk] and link_to[lk] == target:
            return lk
    return -1


@nb.njit(cache=True, nogil=True)
def choose_path_live(o: int, u: float, path_ptr: np.ndarray, path_valid: np.ndarray,
                     path_dest: np.ndarray, path_inv_dist: np.ndarray, path_home: np.ndarray,
                     attract: np.ndarray, capmult: np.ndarray, weight_softening: float,
                     weight_power: float) -> int:
    """choose_path with the weights computed now (for the few decisions that see live counts)."""
    lo, hi = path_ptr[o], path_ptr[o + 1]
    tot = 0.0
    nv = 0
    for p in range(lo, hi):
        if path_valid[p]:
            v = path_dest[p]
            w = (weight_softening + attract[v] * path_home[p]) * path_inv_dist[p] * capmult[v]
            if weight_power != 1.0:
                w = w ** weight_power
            tot += w
            nv += 1
    if nv == 0:
        return -1
    if tot > 0.0:
        target = u * tot
        s = 0.0
        last = -1
        for p in range(lo, hi):
            if path_valid[p]:
                v = path_dest[p]
                w = (weight_softening + attract[v] * path_home[p]) * path_inv_dist[p] * capmult[v]
                if weight_power != 1.0:
                    w = w ** weight_power
                if w > 0.0:
                    s += w
                    last = p
                    if s > target:
                        return p
        return last
    k = int(u * nv)
    if k >= nv:
        k = nv - 1
    for p in range(lo, hi):
        if path_valid[p]:
            if k == 0:
                return p
            k -= 1
    return -1
