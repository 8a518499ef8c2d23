"""The Python API as a researcher calls it (README, docs/ensembles.md, docs/calibration.md): bad
arguments are refused up front with a message naming them, never run, truncated or aliased."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from corredor import load_scenario, simulate
from corredor.analysis.ensemble import (
    OverrideError,
    apply_overrides,
)
from corredor.engine.rng import MAX_SEED, replica_seeds, seed_refusal
from corredor.scenario.native_crisis import with_parameters
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


# ---- with_parameters checks its values as apply_overrides does --------------------------------


@pytest.fixture(scope="module")
def chile_peru():
    return load_scenario(CHILE_PERU)


@pytest.mark.parametrize(("values", "said"), [
    ({"give_up_base": -1.0}, "crisis parameter 'give_up_base': expected a number"),
    ({"give_up_base": "x"}, "crisis parameter 'give_up_base': expected a number, found 'x'"),
    ({"bribe_success": 1.5}, "crisis parameter 'bribe_success': expected a number between 0 and 1"),
    ({"peru_block": "2023-04-20"}, "a date is written without quotes"),
    ({"peru_block": 1.5}, "crisis parameter 'peru_block': expected a date YYYY-MM-DD"),
    ({"peru_block": 10**6}, "within 100 years of the start date"),
])
def test_with_parameters_refuses_what_apply_overrides_refuses(chile_peru, values, said):
    """A give-up rate of -1 was taken and run; a date as text failed in float()."""
    with pytest.raises(ValueError, match=said.replace("(", r"\(").replace(")", r"\)")):
        with_parameters(chile_peru, **values)
    key, value = next(iter(values.items()))
    if not isinstance(value, int):  # (apply_overrides takes dates only as dates)
        with pytest.raises(OverrideError):
            apply_overrides(chile_peru, {f"crisis.{key}": value})


def test_with_parameters_and_apply_overrides_give_the_same_scenario(chile_peru):
    a = with_parameters(chile_peru, give_up_base=0.05, peru_block=dt.date(2023, 4, 20))
    b = apply_overrides(chile_peru, {"crisis.give_up_base": 0.05, "crisis.peru_block": dt.date(2023, 4, 20)})
    assert a == b
    days = with_parameters(chile_peru, peru_block=np.int64(78))  # (days since the start date)
    assert days.crisis.parameters["peru_block"] == a.crisis.parameters["peru_block"] == 78.0
