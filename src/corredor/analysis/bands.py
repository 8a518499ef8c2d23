"""What an empirical quantile band over a few runs holds: the one rule `compare` and `ensemble` use.

Every band corredor shows (a comparison's over seeds, an ensemble's over replicas) is numpy's
linear (type 7) quantiles of n runs' values. Its ends lie, on average, at the
(1 + low·(n − 1))/(n + 1) and (1 + high·(n − 1))/(n + 1) quantiles of what the runs can give (the
k-th smallest of n draws sits on average at the k/(n + 1) quantile), so the band holds on average

    coverage(n) = (high − low) · (n − 1)/(n + 1)

of runs, the chance that one more run falls inside it: for the 5–95 % band 0.9 (n − 1)/(n + 1),
0 with 1 run, 45 % with 3, 74 % with 10, 81 % with 20, 88 % with 100; never the 90 % its name says.
Exact where the values spread evenly, within 2–3 points for a normal or a skewed spread.
Below `MIN_BAND_RUNS` runs a band is not meaningful (under three quarters of runs, and its ends
lie between the lowest and highest few values); below `NEAR_RANGE_RUNS` it is said to be close to
the runs' range. docs/outputs.md ("Bands and chance") and docs/ensembles.md state the same.

>>> [round(band_coverage(n), 2) for n in (1, 2, 3, 10, 20, 100)]
[0.0, 0.3, 0.45, 0.74, 0.81, 0.88]
"""

from __future__ import annotations

#: Fewer runs than this, and a 5–95 % band is not meaningful: it holds under three quarters of
#: runs (74 % at 10, 45 % at 3) and lies between the lowest and highest of a handful of values.
MIN_BAND_RUNS = 10
#: Fewer runs than this, and a 5–95 % band is close to the runs' range (81 % of runs at 20):
#: `compare` notes it under its tables, `ensemble` warns.
NEAR_RANGE_RUNS = 20


def band_coverage(n: int, low: float = 0.05, high: float = 0.95) -> float:
    """The share of runs the empirical [low, high] quantile band of `n` runs holds on average
    (the module's rule: (high − low)(n − 1)/(n + 1); 0 for one run, whose band is a point).

    >>> round(band_coverage(3, 0.25, 0.75), 2)
    0.25
    """
    return (high - low) * (n - 1) / (n + 1) if n >= 1 else 0.0


def percent(share: float) -> str:
    """A coverage as the notes write it: "45 %"."""
    return f"{share:.0%}".replace("%", " %")
