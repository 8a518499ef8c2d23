"""Counter-based random numbers keyed by (seed, day, stream, id).

Why: a draw depends only on its key, never on how many draws came before or on which thread made
them, so a seed gives identical results on 1 or N threads and after a resume from a checkpoint.
The mixer is SplitMix64's finaliser (a bijection on 64-bit integers with full avalanche), applied in
a chain over the key words. `stream` separates independent uses on the same day (move decision,
route choice, walk test, ...); give every use its own constant from `Stream`.

>>> u = uniform(np.uint64(1), 0, Stream.MOVE, 42)  # doctest: +SKIP
"""

from __future__ import annotations

import numba as nb
import numpy as np

from . import MAX_SEED  # (defined in the light package, for the command line's --seed)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


class Stream:
    """Stream constants: one per kind of draw, so uses never share numbers."""

    SPAWN = 1
    MOVE = 2
    ROUTE = 3
    WALK = 4
    CHAIN_MOVE = 5
    CHAIN_ROUTE = 6
    CROSS = 7
    BRIBE = 8
    GIVE_UP = 9
    IRREGULAR = 10
    GROUP = 11
    CASH = 12
    DESTINATION = 13
    EVENT = 14
    COHORT = 15
    MOVE_SKIP = 16  # geometric gaps between movers of one move-chance class (agents.py)


@nb.njit(inline="always", cache=True, nogil=True)
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective avalanche mix of one 64-bit word."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(inline="always", cache=True, nogil=True)
def key_bits(seed: np.uint64, day: int, stream: int, idx: int, sub: int = 0) -> np.uint64:
    """64 random bits for the key (seed, day, stream, idx, sub)."""
    h = mix64(seed + _GOLDEN)
    h = mix64(h ^ (np.uint64(day) + _GOLDEN))
    h = mix64(h ^ (np.uint64(stream) * _GOLDEN))
    h = mix64(h ^ np.uint64(idx))
    h = mix64(h ^ (np.uint64(sub) + _GOLDEN))
    return h


@nb.njit(inline="always", cache=True, nogil=True)
def uniform(seed: np.uint64, day: int, stream: int, idx: int, sub: int = 0) -> float:
    """A uniform double in [0, 1) for the key; 53 random bits."""
    return float(key_bits(seed, day, stream, idx, sub) >> _S11) * _INV53


def seed_refusal(seed: object) -> str | None:
    """Why `seed` cannot seed a run (None when it can): a whole number from 0 to MAX_SEED.

    Why: `seed_words` keeps the low 64 bits, so 2**64 ran seed 0's numbers (and -1 seed 2**64-1's)
    while the manifest recorded the seed as given, and int() made 1.5 and "1" seed 1."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        return f"seed must be a whole number from 0 to 2**64-1, found {seed!r} ({type(seed).__name__})"
    if not 0 <= int(seed) <= MAX_SEED:
        return (f"seed must be from 0 to 2**64-1 (64-bit key words: a larger or negative seed "
                f"would repeat another's numbers), found {int(seed)}")
    return None


def seed_words(seed: int) -> np.uint64:
    """Turn a user seed (any non-negative int) into the 64-bit key word the kernels use."""
    return np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)


def replica_seeds(base_seed: int, n: int) -> list[int]:
    """Independent replica seeds from numpy's SeedSequence.spawn (DESIGN: replicas).

    `base_seed` is a whole number ≥ 0 (any size: SeedSequence takes it whole); a float or a
    negative one is refused with a ValueError, not truncated by int() (1.5 ran as 1)."""
    if isinstance(base_seed, bool) or not isinstance(base_seed, int | np.integer) or base_seed < 0:
        raise ValueError(f"base seed must be a whole number ≥ 0, found {base_seed!r}")
    children = np.random.SeedSequence(int(base_seed)).spawn(int(n))
    return [int(c.generate_state(1, dtype=np.uint64)[0]) for c in children]


@nb.njit(inline="always", cache=True, nogil=True)
def stream_key(seed: np.uint64, day: int, stream: int) -> np.uint64:
    """The (seed, day, stream) part of key_bits, computed once per day and stream.

    uniform_k(stream_key(seed, day, stream), idx, sub) == uniform(seed, day, stream, idx, sub).
    """
    h = mix64(seed + _GOLDEN)
    h = mix64(h ^ (np.uint64(day) + _GOLDEN))
    return mix64(h ^ (np.uint64(stream) * _GOLDEN))


@nb.njit(inline="always", cache=True, nogil=True)
def uniform_k(key: np.uint64, idx: int, sub: int = 0) -> float:
    """uniform() from a precomputed stream_key: two mixes per draw instead of five."""
    h = mix64(key ^ np.uint64(idx))
    h = mix64(h ^ (np.uint64(sub) + _GOLDEN))
    return float(h >> _S11) * _INV53
