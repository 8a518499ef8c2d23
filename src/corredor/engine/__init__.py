"""The simulation engines (agents, cohorts, crisis; CPU and GPU) and their random numbers (rng).

Importing this package imports nothing heavy: the command line takes `MAX_SEED` from here to
bound `--seed` without importing numba and numpy at start-up, as `engine.rng` would. It makes
sure numba can write the kernels' cache before any module of the package defines one
(`numba_cache.ensure`: a private temporary folder where numba's own places cannot be written).
"""

from .numba_cache import Fallback, _fallback, ensure

#: The largest seed: seeds are 64-bit key words (engine/rng.py), so a larger one would alias a
#: smaller one
MAX_SEED = 2**64 - 1

ensure()


def numba_cache_fallback() -> Fallback | None:
    """The temporary folder this process gave numba for its cache, or None (numba's own)."""
    return _fallback[0] if _fallback else None
