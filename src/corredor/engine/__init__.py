"""The simulation engines (agents, cohorts, crisis; CPU and GPU) and their random numbers (rng).

Importing this package imports nothing heavy: the command line takes `MAX_SEED` from here to
bound `--seed` without importing numba and numpy at start-up, as `engine.rng` would. It makes
sure numba can write the kernels' cache before any module of the package defines one
(`numba_cache.ensure`: a private temporary folder where numba's own places cannot be written).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .numba_cache import Fallback, _fallback, ensure

#: The largest seed: seeds are 64-bit key words (engine/rng.py), so a larger one would alias a
#: smaller one
MAX_SEED = 2**64 - 1


ensure()


def numba_cache_fallback() -> Fallback | None:
    """The temporary folder this process gave numba for its cache, or None (numba's own)."""
    return _fallback[0] if _fallback else None


def seed_text(seed: int) -> str:
    """A seed as its exact decimal text, written beside the number in every JSON file that holds
    one (`seed_text`, `replica_seeds_text`, ...). Why: replica seeds pass 2^53, and readers
    that hold JSON numbers as doubles (jq 1.6, JavaScript, Excel) round them, and a rounded seed
    reruns as another run."""
    return str(int(seed))


def manifest_seed(doc: Mapping[str, Any], key: str = "seed") -> Any:
    """The seed `key` of a manifest as a reader should take it back: its text (`<key>_text`,
    every digit) where the file has it, else the number; None where it has neither. Files
    written before the text keys existed hold the number alone (exact when read by Python)."""
    text = doc.get(f"{key}_text")
    if isinstance(text, str) and text.isascii() and text.isdigit():
        return int(text)
    return doc.get(key)
