"""Detectors of GAN training failures from logged training signals (losses, discriminator outputs).

A detector reads per-step scalars that a training loop logged and returns a list of
:class:`FailureEvent`; an empty list means nothing was flagged. Detectors are pure functions of their
inputs: no randomness and no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .detector_base import (
    D_LOSS_TO_ZERO,
    D_SATURATION,
    G_LOSS_RISING,
    OSCILLATION,
    FailureEvent,
    _as_1d,
    _centered_mean,
    _centered_nanmedian,
    _check_finite,
    _check_int,
    _check_lengths,
    _finite_median,
    _robust_sd,
    _sustained,
    _trailing_nanmedian,
)


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
    _check_int(window=window, min_points=min_points)
    _check_finite(threshold=threshold, d_real_min=d_real_min, d_fake_max=d_fake_max)

    st = _as_1d(steps, "steps")
    loss = _as_1d(d_loss, "d_loss")
    series = {"steps": st, "d_loss": loss}
    real = fake = None
    if d_real is not None:
        real = series["d_real"] = _as_1d(d_real, "d_real")
    if d_fake is not None:
        fake = series["d_fake"] = _as_1d(d_fake, "d_fake")
    _check_lengths(series)

    n = loss.size
    smoothed = _trailing_nanmedian(loss, int(window))
    with np.errstate(invalid="ignore"):
        below_smoothed = smoothed < threshold  # NaN compares False
        below_raw = np.isfinite(loss) & (loss < threshold)

    events: list[FailureEvent] = []
    for start, last, b in _sustained(below_smoothed, below_raw, np.isnan(loss), int(window), int(min_points)):
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


def detect_d_saturation(
    steps: Sequence[float] | np.ndarray,
    d_real: Sequence[float] | np.ndarray,
    d_fake: Sequence[float] | np.ndarray,
    *,
    d_real_min: float = 0.95,
    d_fake_max: float = 0.05,
    window: int = 5,
    min_points: int = 5,
) -> list[FailureEvent]:
    """Flag stretches where D(x) stays near 1 while D(G(z)) stays near 0, whatever the loss says.

    A discriminator that scores real data near 1 and generated data near 0 has won: with the
    saturating G loss its gradient to G vanishes, and with the non-saturating loss G is pushed hard
    but in directions that rarely move it towards the data. Unlike :func:`detect_d_loss_to_zero`,
    this test reads only the two outputs, so it also works when the logged D loss includes
    penalties or label smoothing that keep it away from zero.

    Args:
        steps: training step of each logged point, shape (T,), in increasing order.
        d_real: mean D(x) (sigmoid output, in [0, 1]) at those steps, shape (T,). NaN = missing.
        d_fake: mean D(G(z)) (sigmoid output, in [0, 1]) at those steps, shape (T,). NaN = missing.
        d_real_min: D(x) level counted as "near 1".
        d_fake_max: D(G(z)) level counted as "near 0".
        window: number of logged points in each trailing rolling median (>= 1).
        min_points: consecutive smoothed points for which both conditions must hold (>= 1).

    Rule:
        1. Smooth each signal with a trailing rolling median over ``window`` logged points,
           ignoring NaNs.
        2. A candidate stretch is a maximal run of points where smoothed D(x) >= ``d_real_min`` and
           smoothed D(G(z)) <= ``d_fake_max``, at least ``min_points`` long.
        3. The start is moved back over the lag of the trailing median as in
           :func:`detect_d_loss_to_zero` (raw points where both conditions hold; a point where
           either signal is NaN is skipped), and the end is the last raw point inside the run where
           both hold.

    Returns:
        Events of kind ``"d_saturation"``, one per stretch in time order; ``end_step`` is ``None``
        when the stretch lasts to the last logged point. Empty when nothing is flagged.

    Raises:
        ValueError: inputs are not 1-D, their lengths differ, or a parameter is out of range.
    """
    _check_int(window=window, min_points=min_points)
    _check_finite(d_real_min=d_real_min, d_fake_max=d_fake_max)
    st = _as_1d(steps, "steps")
    real = _as_1d(d_real, "d_real")
    fake = _as_1d(d_fake, "d_fake")
    _check_lengths({"steps": st, "d_real": real, "d_fake": fake})

    n = st.size
    sm_real = _trailing_nanmedian(real, int(window))
    sm_fake = _trailing_nanmedian(fake, int(window))
    missing = np.isnan(real) | np.isnan(fake)
    with np.errstate(invalid="ignore"):
        ok_smoothed = (sm_real >= d_real_min) & (sm_fake <= d_fake_max)
        ok_raw = ~missing & (real >= d_real_min) & (fake <= d_fake_max)

    events = []
    for start, last, b in _sustained(ok_smoothed, ok_raw, missing, int(window), int(min_points)):
        step = int(st[start])
        end_step = None if b == n - 1 else int(st[last])
        med_real = _finite_median(real, start, last)
        med_fake = _finite_median(fake, start, last)
        until = "" if end_step is None else f" until step {end_step}"
        message = (
            f"D(x) stayed >= {d_real_min:g} and D(G(z)) <= {d_fake_max:g} from step {step}{until} "
            f"(median D(x)={med_real:.2f}, D(G(z))={med_fake:.2f}): D has won and G's gradient is "
            "weak or uninformative"
        )
        events.append(FailureEvent(kind=D_SATURATION, step=step, end_step=end_step, message=message))
    return events


def detect_g_loss_rising(
    steps: Sequence[float] | np.ndarray,
    g_loss: Sequence[float] | np.ndarray,
    *,
    window: int = 9,
    rel_rise: float = 1.0,
    noise_k: float = 4.0,
    min_points: int = 5,
) -> list[FailureEvent]:
    """Flag a generator loss that climbs well above its best level and is still up there at the end.

    A G loss that keeps rising means D keeps getting better at rejecting samples faster than G can
    adapt; one that rises and then comes back down is ordinary GAN back-and-forth, not flagged.

    Args:
        steps: training step of each logged point, shape (T,), in increasing order.
        g_loss: generator loss at those steps, shape (T,), any sign or scale. NaN = missing.
        window: points in the centred rolling median that smooths the loss (>= 1).
        rel_rise: the rise must exceed ``rel_rise * |lowest smoothed level|``; 1.0 means the final
            level is at least double a positive minimum (0.69 -> 1.39 for the non-saturating loss).
        noise_k: the rise must also exceed ``noise_k`` times the loss's point-to-point noise, so a
            flat but noisy loss near zero is not flagged.
        min_points: the raised level must hold for at least this many logged points at the end (>= 1).

    Rule (on the finite points only, in order):
        1. ``m`` = centred rolling median of the loss over ``window`` points (shorter at the edges).
        2. ``low`` = the smallest value of ``m`` (its first occurrence), ``end`` = the last value of m.
        3. noise = robust SD of the first differences of the raw loss, divided by sqrt(2) (a trend
           shifts every difference by about the same amount, which the median removes).
           threshold = max(``rel_rise`` * abs(low), ``noise_k`` * noise).
        4. Flag when end - low > threshold. The onset is the first point after the last time ``m``
           was within threshold / 2 of ``low``; from there to the end must span >= ``min_points``.

    Returns:
        At most one event of kind ``"g_loss_rising"`` with ``step`` at the onset and ``end_step``
        ``None`` (it lasts to the end of the log by definition). Empty when nothing is flagged,
        including when fewer than ``window + min_points`` finite points were logged.

    Raises:
        ValueError: inputs are not 1-D, their lengths differ, or a parameter is out of range.
    """
    _check_int(window=window, min_points=min_points)
    _check_finite(rel_rise=rel_rise, noise_k=noise_k)
    st = _as_1d(steps, "steps")
    loss = _as_1d(g_loss, "g_loss")
    _check_lengths({"steps": st, "g_loss": loss})
    keep = np.isfinite(loss)
    st, loss = st[keep], loss[keep]
    if loss.size < window + min_points:
        return []

    m = _centered_nanmedian(loss, int(window))
    low_at = int(np.argmin(m))
    low, end = float(m[low_at]), float(m[-1])
    noise = _robust_sd(np.diff(loss)) / math.sqrt(2.0)
    threshold = max(rel_rise * abs(low), noise_k * noise)
    if not end - low > threshold:
        return []
    near_low = np.flatnonzero(m[low_at:] <= low + threshold / 2.0)
    onset = low_at + int(near_low[-1]) + 1
    if loss.size - onset < min_points:
        return []
    step = int(st[onset])
    message = (
        f"G loss rose from a smoothed low of {low:.3g} at step {int(st[low_at])} to {end:.3g} at the last "
        f"step {int(st[-1])} (+{end - low:.3g}, threshold {threshold:.3g}), starting near step {step}, "
        "and did not come back: D is overpowering G"
    )
    return [FailureEvent(kind=G_LOSS_RISING, step=step, end_step=None, message=message)]


def detect_oscillation(
    steps: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    name: str = "loss",
    smooth: int = 3,
    trend_window: int = 25,
    rel_amplitude: float = 0.1,
    noise_k: float = 3.0,
    min_swings: int = 4,
) -> list[FailureEvent]:
    """Flag stretches where a logged loss swings up and down around its trend, repeatedly and widely.

    Sustained large swings mean D and G keep overtaking each other instead of settling, which
    often goes with G cycling between modes.

    Args:
        steps: training step of each logged point, shape (T,), in increasing order.
        values: the logged series (D loss, G loss, ...), shape (T,), any sign. NaN = missing.
        name: what the series is, used in the message (e.g. ``"D loss"``).
        smooth: points in the centred rolling mean that removes point-to-point noise (>= 1).
        trend_window: points in the centred rolling median taken as the trend (>= 1). Swings slower
            than about this many points are part of the trend, not an oscillation.
        rel_amplitude: a swing must leave the trend by more than ``rel_amplitude`` times the
            series' scale, the median of its absolute values (0.1 = 10% of a typical loss value).
        noise_k: ... and by more than ``noise_k`` times the noise left after smoothing.
        min_swings: crossings from one side of the band to the other needed for an event (>= 1);
            4 means two full periods.

    Rule (on the finite points only, in order):
        1. ``r`` = (centred rolling mean over ``smooth``) - (centred rolling median over
           ``trend_window``), the detrended, smoothed series.
        2. noise = robust SD of (raw - smoothed) / sqrt(1 - 1/smooth) / sqrt(smooth), the SD of
           white noise left in the smoothed series (0 when ``smooth`` is 1, then only the relative
           band applies), per point: the larger of the series' own and the one in the centred
           ``trend_window`` around the point (a stretch where the loss sits still must not shrink
           the band elsewhere). band = max(``rel_amplitude`` * median(abs(raw)), ``noise_k`` * noise).
        3. Hysteresis: the state becomes "high" when r > band and "low" when r < -band, and is
           kept while r is inside the band. A swing is a change of state.
        4. Swings at most ``trend_window // 2`` points apart belong to the same stretch (longer
           quiet spells end it). A stretch with at least ``min_swings`` swings is an event; it
           starts where r first left the band before its first swing and ends at its last swing.

    Returns:
        Events of kind ``"oscillation"`` in time order; ``end_step`` is ``None`` when the last swing
        is within ``trend_window // 2`` points of the end of the log. Empty when nothing is flagged.

    Raises:
        ValueError: inputs are not 1-D, their lengths differ, or a parameter is out of range.
    """
    _check_int(smooth=smooth, trend_window=trend_window, min_swings=min_swings)
    _check_finite(rel_amplitude=rel_amplitude, noise_k=noise_k)
    st = _as_1d(steps, "steps")
    x = _as_1d(values, "values")
    _check_lengths({"steps": st, "values": x})
    keep = np.isfinite(x)
    st, x = st[keep], x[keep]
    if x.size < 3:
        return []

    smoothed = _centered_mean(x, int(smooth))
    r = smoothed - _centered_nanmedian(x, int(trend_window))
    noise = np.zeros_like(x)
    if smooth > 1:
        # The noise where each point is (a centred window of trend_window points), never below the
        # whole series' own: a stretch where the loss sits still (D loss at zero) would otherwise
        # deflate one global estimate and let white noise elsewhere cross the band.
        resid = x - smoothed
        local = 1.4826 * _centered_nanmedian(np.abs(resid - np.median(resid)), int(trend_window))
        noise = np.maximum(local, _robust_sd(resid)) / math.sqrt(1.0 - 1.0 / smooth) / math.sqrt(smooth)
    scale = float(np.median(np.abs(x)))
    band = np.maximum(rel_amplitude * scale, noise_k * noise)
    if not (band > 0.0).any():  # a constant series has no swings
        return []

    # Hysteresis: entered[k] is where the state held before swing k began (r first left the band).
    state, entered_at = 0, 0
    swings: list[int] = []
    entered: list[int] = []
    for k, value in enumerate(r):
        new = 1 if value > band[k] else -1 if value < -band[k] else state
        if new != state:
            if state != 0:
                swings.append(k)
                entered.append(entered_at)
            state, entered_at = new, k

    max_gap = max(int(trend_window) // 2, 1)
    groups: list[list[int]] = []
    for i, k in enumerate(swings):
        if groups and k - swings[groups[-1][-1]] <= max_gap:
            groups[-1].append(i)
        else:
            groups.append([i])

    events = []
    for group in groups:
        if len(group) < min_swings:
            continue
        first, last = entered[group[0]], swings[group[-1]]
        step = int(st[first])
        end_step = None if x.size - 1 - last <= max_gap else int(st[last])
        peak = float(np.max(np.abs(r[first : last + 1])))
        width = float(np.median(band[first : last + 1]))
        until = "the end of the log" if end_step is None else f"step {end_step}"
        message = (
            f"{name} oscillates from step {step} to {until}: {len(group)} swings across a band of "
            f"+/-{width:.3g} around its trend (largest {peak:.3g}; scale {scale:.3g}): D and G keep "
            "overtaking each other"
        )
        events.append(FailureEvent(kind=OSCILLATION, step=step, end_step=end_step, message=message))
    return events
