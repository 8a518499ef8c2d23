"""People of a crisis run as columns of fixed capacity (struct of arrays), and their states.

Why columns: every kernel reads and writes a few of them for all people at once, nobody is appended
in the day loop (the capacity is the number of people the departures timeline will ever create),
and leaving is a state, not a deletion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# person states
UNBORN = 0  # not yet departed
MOVING = 1  # at a place (link == −1) or on a link, heading to `dest`
WAITING = 2  # stranded at the staging place of crossing `at_cross`
SHELTERED = 3  # in a shelter (moved there by a transfer)
SETTLED = 4  # reached their fallback place and stays there (present)
EXITED = 5  # reached their destination, or flown out (no longer present)
HELD = 6  # at a stop place (locations.csv `stop = yes`), waiting for an event to move them on
#: The highest state code (checkpoints check the range)
LAST_STATE = HELD

#: `waited` of someone moved into a shelter today: their first shelter give-up draw is tomorrow's
#: (today they already faced the waiting hazard at the crossing); the shelter step resets it to 0
SHELTERED_TODAY = -1


@dataclass
class People:
    """Columns of all people; `n` is how many have departed so far."""

    state: np.ndarray  # int8
    group: np.ndarray  # int32
    node: np.ndarray  # int32: current place, or the start of the current link
    link: np.ndarray  # int32: current link, −1 at a place
    km_left: np.ndarray  # float64: km still to go on the link
    dest: np.ndarray  # int32: destination slot (plan.dest_nodes), the fallback's after a give-up
    goal: np.ndarray  # int32: the destination slot drawn at departure (restored if a give-up is undone)
    cash: np.ndarray  # float64: USD
    waited: np.ndarray  # int32: days waited at the current crossing or shelter (SHELTERED_TODAY on arrival)
    returning: np.ndarray  # int8: 1 after giving up (heading to the fallback)
    gave_up_on: np.ndarray  # int32: the day of their last give-up, −1 none (events undo that day's)
    at_cross: np.ndarray  # int32: crossing they stopped at, −1 none
    prev: np.ndarray  # int32: previous place (no U-turns in route choice)
    hops: np.ndarray  # int32: links entered so far (keys the route-choice draws)
    failed: np.ndarray  # int8: failed a crossing attempt today
    arrived: np.ndarray  # int32: place where the trip ended today, −1 none
    n: int = 0

    @classmethod
    def empty(cls, capacity: int) -> People:
        return cls(
            state=np.zeros(capacity, dtype=np.int8),
            group=np.zeros(capacity, dtype=np.int32),
            node=np.full(capacity, -1, dtype=np.int32),
            link=np.full(capacity, -1, dtype=np.int32),
            km_left=np.zeros(capacity, dtype=np.float64),
            dest=np.zeros(capacity, dtype=np.int32),
            goal=np.zeros(capacity, dtype=np.int32),
            cash=np.zeros(capacity, dtype=np.float64),
            waited=np.zeros(capacity, dtype=np.int32),
            returning=np.zeros(capacity, dtype=np.int8),
            gave_up_on=np.full(capacity, -1, dtype=np.int32),
            at_cross=np.full(capacity, -1, dtype=np.int32),
            prev=np.full(capacity, -1, dtype=np.int32),
            hops=np.zeros(capacity, dtype=np.int32),
            failed=np.zeros(capacity, dtype=np.int8),
            arrived=np.full(capacity, -1, dtype=np.int32),
        )
