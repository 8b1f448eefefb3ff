"""Detectors of GAN training failures from logged training signals (losses, discriminator outputs).

A detector reads per-step scalars that a training loop logged and returns a list of
:class:`FailureEvent`; an empty list means nothing was flagged. Detectors are pure functions of their
inputs: no randomness and no I/O.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

D_LOSS_TO_ZERO = "d_loss_to_zero"


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


def _finite_median(x: np.ndarray | None, lo: int, hi: int) -> float | None:
    """Median of the finite values of x[lo:hi + 1]; None when x is None or has none there."""
    if x is None:
        return None
    seg = x[lo : hi + 1]
    seg = seg[np.isfinite(seg)]
    return float(np.median(seg)) if seg.size else None


def detect_d_loss_to_zero(
    steps: Sequence[float] | np.ndarray,
    d_loss: Sequence[float] | np.ndarray,
    d_real: Sequence[float] | np.ndarray | None = None,
    d_fake: Sequence[float] | np.ndarray | None = None,
    *,
    threshold: float = 0.05,
    window: int = 5,
    min_points: int = 5,
    d_real_min: float = 0.95,
    d_fake_max: float = 0.05,
) -> list[FailureEvent]:
    """Flag stretches where the discriminator loss falls to (near) zero and stays there.

    This is the usual signature of a failure to converge: D separates real from fake perfectly, its
    loss saturates and the gradient it passes to G carries almost no information.

    Args:
        steps: training step of each logged point, shape (T,), in increasing order.
        d_loss: discriminator loss at those steps, shape (T,). Meant for losses bounded below by 0
            (binary cross-entropy, hinge); NaN entries are treated as missing. Not meaningful for a
            WGAN critic loss, which is signed.
        d_real: optional mean D(x) (sigmoid output, in [0, 1]) at those steps, shape (T,).
        d_fake: optional mean D(G(z)) (sigmoid output, in [0, 1]) at those steps, shape (T,).
        threshold: loss level counted as "near zero".
        window: number of logged points in the trailing rolling median (>= 1).
        min_points: number of consecutive smoothed points that must stay below ``threshold`` (>= 1).
        d_real_min, d_fake_max: separation required when ``d_real`` / ``d_fake`` are given.

    Rule:
        1. Smooth ``d_loss`` with a trailing rolling median over the last ``window`` logged points,
           ignoring NaNs (a window that is all NaN yields NaN, which counts as not below).
        2. A candidate stretch is a maximal run of consecutive logged points whose smoothed loss is
           below ``threshold``; it needs at least ``min_points`` points.
        3. Because a trailing median lags, the reported start is moved back to the first raw point
           of the drop: from the run's first index, walk back at most ``window - 1`` points (never
           into the previous run) while the raw loss is below ``threshold``, skipping NaNs. The
           reported end is likewise the last raw point below ``threshold`` inside the run.
        4. If ``d_real`` is given, the stretch counts only when the median of its finite values over
           the reported span is >= ``d_real_min``; if ``d_fake`` is given, only when its median is
           <= ``d_fake_max``. This rejects a near-zero loss that is not D winning. A signal with no
           finite value over the span does not veto.
        Each surviving stretch gives one event, in time order.

    Returns:
        A list of :class:`FailureEvent` with kind ``"d_loss_to_zero"``; ``step`` is the reported
        start, ``end_step`` the reported end or ``None`` when the run reaches the last logged point.
        Empty when nothing is flagged (the healthy outcome).

    Raises:
        ValueError: inputs are not 1-D, their lengths differ (the message names them), or a
            parameter is out of range.
    """
    if not (isinstance(window, int | np.integer) and window >= 1):
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if not (isinstance(min_points, int | np.integer) and min_points >= 1):
        raise ValueError(f"min_points must be an integer >= 1, got {min_points!r}")
    for label, value in (("threshold", threshold), ("d_real_min", d_real_min), ("d_fake_max", d_fake_max)):
        if not math.isfinite(value):
            raise ValueError(f"{label} must be finite, got {value}")

    st = _as_1d(steps, "steps")
    loss = _as_1d(d_loss, "d_loss")
    series = {"steps": st, "d_loss": loss}
    real = fake = None
    if d_real is not None:
        real = series["d_real"] = _as_1d(d_real, "d_real")
    if d_fake is not None:
        fake = series["d_fake"] = _as_1d(d_fake, "d_fake")
    lengths = {name: arr.size for name, arr in series.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {size}" for name, size in lengths.items())
        raise ValueError(f"input series must have equal lengths: {listed}")

    n = loss.size
    smoothed = _trailing_nanmedian(loss, int(window))
    with np.errstate(invalid="ignore"):
        below_smoothed = smoothed < threshold  # NaN compares False
        below_raw = np.isfinite(loss) & (loss < threshold)

    events: list[FailureEvent] = []
    prev_end = -1
    for a, b in _runs(below_smoothed):
        run_end_prev, prev_end = prev_end, b
        if b - a + 1 < min_points:
            continue
        start = None
        lowest = max(run_end_prev + 1, a - window + 1, 0)
        for j in range(a, lowest - 1, -1):
            if np.isnan(loss[j]):
                continue
            if not below_raw[j]:
                break
            start = j
        if start is None:
            start = a
        inside = np.flatnonzero(below_raw[a : b + 1])
        last = a + int(inside[-1]) if inside.size else b
        last = max(last, start)

        med_real = _finite_median(real, start, last)
        med_fake = _finite_median(fake, start, last)
        if med_real is not None and med_real < d_real_min:
            continue
        if med_fake is not None and med_fake > d_fake_max:
            continue

        step = int(st[start])
        end_step = None if b == n - 1 else int(st[last])
        details = [f"median D loss {float(np.nanmedian(loss[start : last + 1])):.3g}"]
        if med_real is not None:
            details.append(f"D(x)={med_real:.2f}")
        if med_fake is not None:
            details.append(f"D(G(z))={med_fake:.2f}")
        until = "" if end_step is None else f" until step {end_step}"
        message = (
            f"D loss fell below {threshold:g} at step {step} and stayed there{until} "
            f"({', '.join(details)}): D wins, G gets no useful gradient"
        )
        events.append(FailureEvent(kind=D_LOSS_TO_ZERO, step=step, end_step=end_step, message=message))
    return events
