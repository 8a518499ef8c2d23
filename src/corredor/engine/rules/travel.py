"""Speed on a link for one (sub)step (Person.finish_travel, flee-model.md §3.7)."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..rng import uniform_k


@nb.njit(cache=True, nogil=True, inline="always")
def todays_speed(walk_key: np.uint64, i: int, sub: int, link: int, completed_a_link: bool,
                 link_speed: np.ndarray, link_walk_p: np.ndarray, start_on_foot: bool,
                 walk_speed: float) -> float:
    """Link (or global) speed; walk speed on an agent's first link with start_on_foot, or when the
    link's walk_probability test succeeds (Flee always draws it; we draw only when p > 0)."""
    s = link_speed[link]
    if start_on_foot and not completed_a_link:
        s = walk_speed
    wp = link_walk_p[link]
    if wp > 0.0:
        if uniform_k(walk_key, i, sub) < wp:
            s = walk_speed
    return s
