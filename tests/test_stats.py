"""The t interval of the tables, against hand-computed values."""

import math

import pytest

from benchmark.reports.stats import t_interval


def test_three_seeds_known_interval():
    # mean 2, s = 1, t(0.975, 2) = 4.302653
    iv = t_interval([1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)
    assert iv.n == 3 and iv.mean == pytest.approx(2.0)
    assert iv.lo == pytest.approx(2.0 - half, abs=1e-5) and iv.hi == pytest.approx(2.0 + half, abs=1e-5)
    assert iv.contains(4.4) and not iv.contains(4.5)


def test_clipped_to_range_and_nan_dropped():
    iv = t_interval([7.0, 8.0, 8.0, float("nan")], lower=0, upper=8)
    assert (
        iv.n == 3
        and iv.hi == 8.0
        and iv.lo == pytest.approx(7.6667 - 4.302653 * 0.57735 / math.sqrt(3), abs=1e-4)
    )


def test_one_seed_has_no_interval_and_none_when_empty():
    iv = t_interval([5.0])
    assert (iv.lo, iv.hi, iv.n) == (5.0, 5.0, 1) and not iv.contains(5.0)
    assert t_interval([]) is None and t_interval([float("nan")]) is None


def test_identical_seeds_give_a_point_interval():
    iv = t_interval([1.0, 1.0, 1.0])
    assert iv.lo == iv.hi == 1.0 and iv.contains(1.0)
