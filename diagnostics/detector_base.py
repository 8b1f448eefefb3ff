"""Shared pieces of the training-signal detectors: the event type, the kind names and series helpers.

Its one job is what every detector (:mod:`diagnostics.detectors`, :mod:`diagnostics.mode_hopping`)
builds on: the :class:`FailureEvent` they return, the ``kind`` name constants, validation of inputs
(1-D series of equal length, integer and finite parameters), and the pure numpy helpers that smooth a
series (trailing and centred rolling medians, centred mean), find runs of a condition and estimate a
robust standard deviation. No randomness and no I/O.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

D_LOSS_TO_ZERO = "d_loss_to_zero"
D_SATURATION = "d_saturation"
G_LOSS_RISING = "g_loss_rising"
OSCILLATION = "oscillation"
MODE_HOPPING = "mode_hopping"


@dataclass(frozen=True)
class FailureEvent:
    """One detected failure.

    Attributes:
        kind: which detector fired, e.g. ``"d_loss_to_zero"``.
        step: training step at which the failure began.
        end_step: last step of the failure, or ``None`` when it lasts to the end of the log.
        message: one human-readable line suitable for a report table.
    """

    kind: str
    step: int
    end_step: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable) with keys kind, step, end_step, message."""
        return asdict(self)


def _as_1d(x: Any, what: str) -> np.ndarray:
    """Host float64 1-D copy of a sequence, array or torch tensor."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    return arr


def _check_int(lowest: int = 1, **values: Any) -> None:
    """Raise ValueError unless every named value is an integer >= ``lowest``."""
    for label, value in values.items():
        if not (isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= lowest):
            raise ValueError(f"{label} must be an integer >= {lowest}, got {value!r}")


def _check_finite(**values: float) -> None:
    """Raise ValueError unless every named value is a finite number."""
    for label, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{label} must be finite, got {value}")


def _check_lengths(series: dict[str, np.ndarray]) -> None:
    """Raise ValueError naming each series and its length unless they all have the same length."""
    lengths = {name: len(arr) for name, arr in series.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {size}" for name, size in lengths.items())
        raise ValueError(f"input series must have equal lengths: {listed}")


def _trailing_nanmedian(x: np.ndarray, window: int) -> np.ndarray:
    """Median of the last ``window`` points up to and including each index, NaNs ignored.

    The first points use the shorter history available. An index whose whole window is NaN gets NaN.
    """
    if x.size == 0:
        return x.copy()
    padded = np.concatenate([np.full(window - 1, np.nan), x])
    windows = sliding_window_view(padded, window)  # (n, window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows -> NaN, on purpose
        return np.nanmedian(windows, axis=1)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) index pairs of the maximal runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _sustained(
    smoothed_ok: np.ndarray, raw_ok: np.ndarray, raw_missing: np.ndarray, window: int, min_points: int
) -> list[tuple[int, int, int]]:
    """Stretches where a trailing-smoothed condition holds for at least ``min_points`` points.

    Returns (start, last, run_end) index triples. ``run_end`` is the last index of the smoothed run.
    ``start`` undoes the lag of a trailing window: from the run's first index it walks back at most
    ``window - 1`` points (never into the previous run) while the raw condition holds, skipping
    missing points. ``last`` is the last raw point inside the run that meets the condition.
    """
    out = []
    prev_end = -1
    for a, b in _runs(smoothed_ok):
        run_end_prev, prev_end = prev_end, b
        if b - a + 1 < min_points:
            continue
        start = None
        lowest = max(run_end_prev + 1, a - window + 1, 0)
        for j in range(a, lowest - 1, -1):
            if raw_missing[j]:
                continue
            if not raw_ok[j]:
                break
            start = j
        if start is None:
            start = a
        inside = np.flatnonzero(raw_ok[a : b + 1])
        last = a + int(inside[-1]) if inside.size else b
        out.append((start, max(last, start), b))
    return out


def _finite_median(x: np.ndarray | None, lo: int, hi: int) -> float | None:
    """Median of the finite values of x[lo:hi + 1]; None when x is None or has none there."""
    if x is None:
        return None
    seg = x[lo : hi + 1]
    seg = seg[np.isfinite(seg)]
    return float(np.median(seg)) if seg.size else None


def _centered_nanmedian(x: np.ndarray, window: int) -> np.ndarray:
    """Median of the ``window`` points centred on each index, NaNs ignored; shorter at the edges."""
    if x.size == 0:
        return x.copy()
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), x, np.full(window - 1 - half, np.nan)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(sliding_window_view(padded, window), axis=1)


def _centered_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` points centred on each index (x has no NaN); shorter at the edges."""
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), x, np.full(window - 1 - half, np.nan)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(sliding_window_view(padded, window), axis=1)


def _robust_sd(x: np.ndarray) -> float:
    """Standard deviation estimated from the median absolute deviation (exact for Gaussian data)."""
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else 0.0
