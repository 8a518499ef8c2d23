"""The day the engine running in this process has reached: what `corredor run`'s day counter shows.

Why a shared array and not a callback: the agent engine's day loop is one compiled call (hours on
a large run) that cannot call Python, so it stores the days done into `DAYS` at the end of each
day (one integer store: no measurable cost), as the cohort and crisis engines' Python day loops
do; the counter's thread (`progress.day_counter`) reads it while the kernel runs, which it can
because the kernels release the GIL (nogil). Nothing here prints or waits.

>>> begin(0, 820); DAYS.tolist()
[0, 820, 0]
"""

from __future__ import annotations

import numpy as np

#: [days done, days in the run, day the engine started from in this process (a resumed run's)];
#: days in the run is 0 until an engine starts.
DAYS = np.zeros(3, np.int64)


def begin(first_day: int, n_days: int) -> None:
    """An engine starts: day `first_day` (0, or a checkpoint's) of `n_days`."""
    DAYS[0] = first_day
    DAYS[1] = n_days
    DAYS[2] = first_day


def reset() -> None:
    """No engine has started (the counter shows nothing yet)."""
    DAYS[:] = 0
