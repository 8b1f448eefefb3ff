"""Near-duplicates among generated samples and the birthday-paradox estimate of support size.

Arora & Zhang, "Do GANs learn the distribution? Some theory and empirics" (ICLR 2018, arXiv
1706.08224): if batches of s samples contain a near-duplicate pair with probability >= 1/2, the
distribution's support holds about s^2 distinct samples (DCGAN on CelebA: s ~ 400, support ~ 160k).
The paper confirms duplicates by eye; here a pair is a near-duplicate when its Euclidean distance is at
most a threshold ``tau`` calibrated on the real data, so the same rule is applied to real samples and
both are reported side by side. That matters for data such as video frames, where consecutive real
frames are near-duplicates of each other and a high rate is normal.

Calibration (decided here): ``tau`` is the ``dup_quantile`` quantile (default 1 %) of the distances
from each of ``dup_calibration_samples`` (default 2,000) random real samples to its nearest neighbour
among them. So about 1 % of real samples have a "duplicate" within a set of that size. Nearest-
neighbour distances rather than random-pair distances are used because a near-duplicate should be as
close as the closest real pairs, not merely closer than 99 % of random pairs (at the 1 % quantile of
pair distances, a batch of about 15 real samples already holds a "duplicate"). ``tau`` depends on the
calibration size (more samples, closer neighbours), so keep it fixed when comparing runs, or pass
``dup_threshold`` explicitly. The space is whatever features are passed: pixels (``"raw"``) or a
classifier's features.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .features import as_features
from .neighbours import _sq_dist, _sq_norms, check_magnitude, knn_radii

_BLOCK = 128  # columns per block of the incremental first-collision search
LOW_DIM = 64  # features of at most this many dimensions are compared in float64


def _pair(real: Any, fake: Any) -> tuple[np.ndarray, np.ndarray]:
    # Fix: 1e30 passed as_features and overflowed the float32 distances (the calibrated threshold
    # came out nan, with RuntimeWarnings); see neighbours.MAX_FEATURE_MAGNITUDE.
    r = check_magnitude(as_features(real, "real", np.float32), "real")
    f = check_magnitude(as_features(fake, "fake", np.float32), "fake")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real has dimension {r.shape[1]} but fake has {f.shape[1]}")
    # Fix: on low-dimensional data with tight modes (ring8: sigma 0.02 at radius 2) float32 distances
    # through |a|^2 - 2ab + |b|^2 lose the nearest-neighbour distances (squared ~1e-6 against norms
    # ~4): the calibrated threshold came out 0 and exact copies were missed. Such data is cheap in
    # float64; images and features stay float32.
    dtype = np.float64 if r.shape[1] <= LOW_DIM else np.float32
    centre = r.mean(axis=0, dtype=np.float64)  # keeps float32 distances accurate
    return (r - centre).astype(dtype), (f - centre).astype(dtype)


def calibrate_threshold(real: np.ndarray, quantile: float, samples: int, seed: int) -> float:
    """``quantile`` of nearest-neighbour distances among ``samples`` random rows of ``real``."""
    if not (math.isfinite(quantile) and 0.0 <= quantile <= 1.0):
        raise ValueError(f"dup_quantile must be in [0, 1], got {quantile}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"dup_calibration_samples must be an int >= 2, got {samples!r}")
    rng = np.random.default_rng(seed)
    idx = rng.choice(real.shape[0], min(samples, real.shape[0]), replace=False)
    nn_sq = knn_radii(real[np.sort(idx)], (1,))[1]
    return float(np.sqrt(np.quantile(nn_sq.astype(np.float64), quantile)))


def _threshold(r: np.ndarray, dup_threshold: float | None, quantile: float, samples: int, seed: int) -> float:
    if dup_threshold is not None:
        if not (math.isfinite(dup_threshold) and dup_threshold >= 0):
            raise ValueError(f"dup_threshold must be finite and >= 0, got {dup_threshold}")
        return float(dup_threshold)
    return calibrate_threshold(r, quantile, samples, seed)


def _pair_rate(x: np.ndarray, batch: int, tau: float, rng: np.random.Generator) -> float:
    """Fraction of the b(b-1)/2 pairs of one random batch of b rows that lie within ``tau``."""
    b = min(batch, x.shape[0])
    sub = x[np.sort(rng.choice(x.shape[0], b, replace=False))]
    d = _sq_dist(sub, _sq_norms(sub), sub, _sq_norms(sub))
    close = np.triu(d <= d.dtype.type(tau * tau), k=1)
    return float(close.sum()) / (b * (b - 1) / 2)


def duplicate_rate(
    real: Any,
    fake: Any,
    *,
    dup_batch_size: int = 1000,
    dup_quantile: float = 0.01,
    dup_calibration_samples: int = 2000,
    dup_threshold: float | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Share of near-duplicate pairs in a random batch of fake samples, beside the real data's share.

    Args:
        real, fake: features (n, d), (m, d); same d (pixels or classifier features).
        dup_batch_size: b; one batch of min(b, m) fake and one of min(b, n) real rows, drawn without
            replacement, all b(b-1)/2 pairs of each are compared.
        dup_quantile, dup_calibration_samples: calibration of the threshold (module docstring).
        dup_threshold: use this distance instead of calibrating.
        seed: seeds calibration and batches.

    Returns:
        ``dup_rate_fake``: fraction of fake pairs within the threshold, in [0, 1]; lower is better;
            about ``dup_rate_real`` for a generator matching the data, far above it when it collapses.
        ``dup_rate_real``: the same for real pairs. ``dup_threshold``: the distance used.
    """
    r, f = _pair(real, fake)
    tau = _threshold(r, dup_threshold, dup_quantile, dup_calibration_samples, seed)
    if isinstance(dup_batch_size, bool) or not isinstance(dup_batch_size, int) or dup_batch_size < 2:
        raise ValueError(f"dup_batch_size must be an int >= 2, got {dup_batch_size!r}")
    rng = np.random.default_rng([seed, 1])
    return {
        "dup_rate_fake": _pair_rate(f, dup_batch_size, tau, rng),
        "dup_rate_real": _pair_rate(r, dup_batch_size, tau, rng),
        "dup_threshold": tau,
    }


def first_collision(x: np.ndarray, tau: float) -> float:
    """Smallest s such that the first s rows of ``x`` hold a pair within ``tau``; ``inf`` if none do.

    Columns are scanned in blocks and the search stops at the first block with a collision, so a
    collapsed sample costs little.
    """
    tau_sq = x.dtype.type(tau * tau)
    sq = _sq_norms(x)
    n = x.shape[0]
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        d = _sq_dist(x[:b], sq[:b], x[a:b], sq[a:b])  # rows 0..b-1 against columns a..b-1
        rows = np.arange(b)[:, None]
        cols = np.arange(a, b)[None, :]
        hit = ((d <= tau_sq) & (rows < cols)).any(axis=0)
        if hit.any():
            return float(a + int(np.argmax(hit)) + 1)
    return math.inf


def _birthday(x: np.ndarray, tau: float, max_batch: int, trials: int, rng: np.random.Generator) -> float:
    """Smallest batch size whose estimated collision probability is >= 1/2 (``inf`` if above max)."""
    b = min(max_batch, x.shape[0])
    times = np.sort(
        [first_collision(x[rng.choice(x.shape[0], b, replace=False)], tau) for _ in range(trials)]
    )
    # P(batch of s has a duplicate) = P(first collision <= s); its lower median is the answer.
    return float(times[math.ceil(trials / 2) - 1])


def birthday_support(
    real: Any,
    fake: Any,
    *,
    birthday_max_batch: int = 1000,
    birthday_trials: int = 20,
    dup_quantile: float = 0.01,
    dup_calibration_samples: int = 2000,
    dup_threshold: float | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Birthday-paradox support estimate of the fake (and real) distribution.

    For each of ``birthday_trials`` seeded random orderings of ``birthday_max_batch`` samples (drawn
    without replacement), the first batch size at which a near-duplicate pair appears is found; the
    probability that a batch of size s holds a duplicate is the share of trials with that size <= s,
    so every s up to the maximum is evaluated at once. The smallest s with probability >= 1/2 is the
    birthday batch, and s^2 the support estimate. A set of m distinct, well-separated samples repeated
    many times gives s ~ sqrt(2 ln 2 * m), so an estimate of about 1.4 m.

    Args:
        real, fake: features (n, d), (m, d), same d.
        birthday_max_batch: largest batch size examined (capped at the set size).
        birthday_trials: random batches per set.
        dup_quantile, dup_calibration_samples, dup_threshold: near-duplicate threshold, as in
            :func:`duplicate_rate` (same options, so both use the same threshold).
        seed: seeds calibration and batches.

    Returns:
        ``birthday_batch``: smallest batch size with duplicate probability >= 1/2 among fake samples;
            ``inf`` when fewer than half of the trials find a duplicate within ``birthday_max_batch``.
        ``support_estimate``: ``birthday_batch ** 2``; higher is better (``inf``: more than
            ``birthday_max_batch ** 2``, the test cannot tell how much more).
        ``birthday_batch_real``, ``support_estimate_real``: the same for the real data, the reference.
        ``birthday_threshold``: the distance used. ``birthday_max_batch``: the largest batch examined.
    """
    r, f = _pair(real, fake)
    tau = _threshold(r, dup_threshold, dup_quantile, dup_calibration_samples, seed)
    for name, value in (("birthday_max_batch", birthday_max_batch), ("birthday_trials", birthday_trials)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an int >= 2, got {value!r}")
    rng = np.random.default_rng([seed, 2])
    s_fake = _birthday(f, tau, birthday_max_batch, birthday_trials, rng)
    s_real = _birthday(r, tau, birthday_max_batch, birthday_trials, rng)
    return {
        "birthday_batch": s_fake,
        "support_estimate": s_fake**2,
        "birthday_batch_real": s_real,
        "support_estimate_real": s_real**2,
        "birthday_threshold": tau,
        "birthday_max_batch": float(min(birthday_max_batch, f.shape[0])),
    }
