"""Intervals over seeds for the tables: the 95 % Student-t interval of the mean.

With 3 to 5 seeds a bootstrap interval is too narrow (it can only resample the few values seen), so
every table cell uses the t interval, mean ± t(0.975, n-1) · s / sqrt(n), clipped to the metric's
range (modes in [0, total], high-quality % in [0, 100], KL >= 0) so that it never claims impossible
values. A single seed has no interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    mean: float
    lo: float
    hi: float
    n: int

    def contains(self, value: float) -> bool:
        """True when ``value`` lies inside the interval (never for a single seed: it has none)."""
        return self.n >= 2 and self.lo <= value <= self.hi


def t_interval(
    values: Iterable[float], level: float = LEVEL, lower: float = -math.inf, upper: float = math.inf
) -> Interval | None:
    """The ``level`` t interval of the mean of the finite ``values`` (None when there are none),
    clipped to ``[lower, upper]``; with one value, lo = hi = mean."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return None
    mean = float(v.mean())
    if v.size == 1:
        return Interval(mean, mean, mean, 1)
    half = float(sps.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return Interval(mean, max(lower, mean - half), min(upper, mean + half), int(v.size))
