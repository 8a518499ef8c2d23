"""The simulation engines (agents, cohorts, crisis; CPU and GPU) and their random numbers (rng).

Importing this package imports nothing heavy: the command line takes `MAX_SEED` from here to
bound `--seed` without importing numba and numpy at start-up, as `engine.rng` would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The largest seed: seeds are 64-bit key words (engine/rng.py), so a larger one would alias a
#: smaller one
MAX_SEED = 2**64 - 1


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
