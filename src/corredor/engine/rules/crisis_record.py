"""Daily records (step 9): counts per place, group, link and waiting time, reduced per chunk.

Why fixed chunks: people are split into a fixed number of chunks (not one per thread), each chunk
counts into its own row and the rows are summed afterwards, so there are no atomics and the counts
are the same on any number of threads.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .crisis_state import EXITED, HELD, SHELTERED, UNBORN, WAITING

N_CHUNKS = 16


@nb.njit(parallel=True, cache=True, nogil=True)
def record(
    n: int, n_places: int, n_groups: int, n_links: int, wait_edges: np.ndarray,
    state: np.ndarray, group: np.ndarray, node: np.ndarray, link: np.ndarray,
    waited: np.ndarray, arrived: np.ndarray,
):
    """(population by place×group, travellers by link, stranded by place×group, sheltered,
    arrivals, wait histogram, exited, held) at the end of the day; clears the day's `arrived`
    marks."""
    nb_bins = wait_edges.shape[0]
    pop = np.zeros((N_CHUNKS, n_places, n_groups), dtype=np.int64)
    trav = np.zeros((N_CHUNKS, n_links), dtype=np.int64)
    strand = np.zeros((N_CHUNKS, n_places, n_groups), dtype=np.int64)
    shelt = np.zeros((N_CHUNKS, n_places), dtype=np.int64)
    held = np.zeros((N_CHUNKS, n_places), dtype=np.int64)
    arr = np.zeros((N_CHUNKS, n_places), dtype=np.int64)
    hist = np.zeros((N_CHUNKS, nb_bins), dtype=np.int64)
    exited = np.zeros(N_CHUNKS, dtype=np.int64)
    size = (n + N_CHUNKS - 1) // N_CHUNKS
    for c in nb.prange(N_CHUNKS):
        for i in range(c * size, min(n, (c + 1) * size)):
            if arrived[i] >= 0:
                arr[c, arrived[i]] += 1
                arrived[i] = -1
            s = state[i]
            if s == UNBORN:
                continue
            if s == EXITED:
                exited[c] += 1
                continue
            if link[i] >= 0:
                trav[c, link[i]] += 1
                continue
            pop[c, node[i], group[i]] += 1
            if s == WAITING:
                strand[c, node[i], group[i]] += 1
                b = 0
                while b < nb_bins - 1 and waited[i] >= wait_edges[b + 1]:
                    b += 1
                hist[c, b] += 1
            elif s == SHELTERED:
                shelt[c, node[i]] += 1
            elif s == HELD:
                held[c, node[i]] += 1
    return (pop.sum(axis=0), trav.sum(axis=0), strand.sum(axis=0), shelt.sum(axis=0),
            arr.sum(axis=0), hist.sum(axis=0), exited.sum(), held.sum(axis=0))
