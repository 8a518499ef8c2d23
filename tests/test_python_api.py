"""The Python API as a researcher calls it (README, docs/ensembles.md, docs/calibration.md): bad
arguments are refused up front with a message naming them, never run, truncated or aliased."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corredor import simulate
from corredor.engine.rng import MAX_SEED, replica_seeds, seed_refusal
from ensemble_toy import toy_scenario

REPO = Path(__file__).resolve().parents[1]
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"


# ---- seeds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, "1", True, None])
def test_simulate_refuses_a_seed_that_would_alias_or_be_truncated(seed):
    """seed_words keeps 64 bits: simulate(seed=2**64) ran seed 0's numbers with 2**64 in the
    manifest, -1 ran 2**64-1's, and int() made 1.5 and "1" seed 1."""
    with pytest.raises(ValueError, match="seed must be"):
        simulate(toy_scenario(), seed=seed)


def test_every_64_bit_seed_is_accepted():
    for seed in (0, 1, MAX_SEED, np.uint64(MAX_SEED), np.int64(7)):
        assert seed_refusal(seed) is None


@pytest.mark.parametrize("base", [1.5, -1, "3"])
def test_replica_seeds_refuse_a_base_seed_that_is_not_a_whole_number(base):
    with pytest.raises(ValueError, match="base seed must be a whole number"):
        replica_seeds(base, 2)
    assert replica_seeds(np.int64(3), 2) == replica_seeds(3, 2)
