"""The simulation engines (agents, cohorts, crisis; CPU and GPU) and their random numbers (rng).

Importing this package imports nothing heavy: the command line takes `MAX_SEED` from here to
bound `--seed` without importing numba and numpy at start-up, as `engine.rng` would.
"""

#: The largest seed: seeds are 64-bit key words (engine/rng.py), so a larger one would alias a
#: smaller one
MAX_SEED = 2**64 - 1
