"""Mode-coverage metrics for generators trained on a known Gaussian mixture (ring, grid, ...).

These follow the evaluation protocol of VEEGAN (Srivastava et al., 2017), used by most later
mode-collapse papers on the 2-D ring-8 and grid-25 toys:

* every generated sample is assigned to its nearest mixture centre;
* a sample is *high quality* when it lies within ``hq_sigmas`` (3 by default) standard deviations of
  that centre;
* a mode is *captured* when at least one high-quality sample is assigned to it;
* the histogram of high-quality samples over modes is compared with the true mixture weights by KL
  divergence in both directions.

All functions here are pure and deterministic; inputs may be NumPy arrays, nested sequences or torch
tensors (any device; they are copied to host memory as float64).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import rel_entr

_CHUNK_ROWS = 65536  # bounds the (rows, k) distance matrix held in memory at once


def _as_float_array(x: Any, what: str) -> np.ndarray:
    """Host float64 copy of an array-like or torch tensor."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric array-like, got {type(x).__name__}") from exc


def _prepare(fake: Any, centres: Any, sigma: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and reshape inputs to fake (n, d), centres (k, d), per-mode sigma (k,)."""
    f = _as_float_array(fake, "fake")
    c = _as_float_array(centres, "centres")
    if f.ndim == 1:
        f = f[:, None]
    if c.ndim == 1:  # k centres on a line
        c = c[:, None]
    if f.ndim != 2:
        raise ValueError(f"fake must have shape (n, d) or (n,), got {f.shape}")
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValueError(f"centres must have shape (k, d) with k >= 1, got {c.shape}")
    if f.shape[1] != c.shape[1]:
        raise ValueError(f"fake has dimension {f.shape[1]} but centres have dimension {c.shape[1]}")
    if not np.isfinite(c).all():
        raise ValueError("centres must be finite")
    k = c.shape[0]
    s = _as_float_array(sigma, "sigma")
    if s.ndim == 0:
        s = np.full(k, float(s))
    if s.shape != (k,):
        raise ValueError(f"sigma must be a scalar or have shape ({k},), got {s.shape}")
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError("sigma must be finite and > 0")
    return f, c, s


def assign_modes(
    fake: Any, centres: Any, sigma: Any, hq_sigmas: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Assign each sample to a mixture mode and decide whether it is high quality.

    Args:
        fake: samples, shape (n, d); shape (n,) is read as d = 1.
        centres: mode centres, shape (k, d); shape (k,) is read as d = 1.
        sigma: mode standard deviation, a scalar or one value per mode, shape (k,); must be > 0.
        hq_sigmas: radius of the high-quality ball, in units of the assigned mode's sigma.

    Returns:
        ``(nearest_idx, is_hq)``: ``nearest_idx`` is int64 of shape (n,), the mode minimising
        ``||x - centre_j|| / sigma_j`` (plain Euclidean nearest when sigma is shared; ties go to the
        lowest index); ``is_hq`` is bool of shape (n,), true when ``||x - centre|| <= hq_sigmas *
        sigma`` for the assigned mode. Samples with any non-finite coordinate get index -1 and are
        never high quality.
    """
    return _assign(*_prepare(fake, centres, sigma), hq_sigmas)


def _assign(f: np.ndarray, c: np.ndarray, s: np.ndarray, hq_sigmas: float) -> tuple[np.ndarray, np.ndarray]:
    """Core of :func:`assign_modes` on validated arrays f (n, d), c (k, d), s (k,)."""
    if not (math.isfinite(hq_sigmas) and hq_sigmas > 0):
        raise ValueError(f"hq_sigmas must be finite and > 0, got {hq_sigmas}")
    n = f.shape[0]
    nearest = np.full(n, -1, dtype=np.int64)
    is_hq = np.zeros(n, dtype=bool)
    finite_rows = np.flatnonzero(np.isfinite(f).all(axis=1))
    for start in range(0, finite_rows.size, _CHUNK_ROWS):
        rows = finite_rows[start : start + _CHUNK_ROWS]
        dist = cdist(f[rows], c)  # (rows, k) Euclidean distances
        idx = np.argmin(dist / s, axis=1)
        nearest[rows] = idx
        is_hq[rows] = dist[np.arange(rows.size), idx] <= hq_sigmas * s[idx]
    return nearest, is_hq


def mode_histogram_kl(p: Any, q: Any, smoothing: float = 1e-6) -> float:
    """KL(p || q) in nats between two histograms over the same k bins.

    Args:
        p, q: non-negative counts or probabilities, shape (k,); each is normalised to sum to 1.
        smoothing: probability added to every bin of *both* normalised histograms, which are then
            renormalised: ``p' = (p / sum(p) + smoothing) / (1 + k * smoothing)``, likewise for q.
            This keeps the divergence finite when a bin of q is empty. 0 disables it (the result is
            then ``inf`` when q is empty where p is not).

    Returns:
        KL(p' || q') >= 0; best value 0 (identical histograms), lower is better. With the default
        smoothing, a bin of p with mass 1/k over an empty bin of q contributes about
        ``(1/k) * log(1e6 / k)``, so reverse KL against a collapsed generator is large but finite.
        Returns ``nan`` when p or q has zero total mass (no histogram to compare).

    Raises:
        ValueError: shapes differ, are not 1-D, or an entry is negative or non-finite.
    """
    pa = _as_float_array(p, "p")
    qa = _as_float_array(q, "q")
    if pa.ndim != 1 or pa.shape != qa.shape or pa.size == 0:
        raise ValueError(f"p and q must be non-empty 1-D of equal length, got {pa.shape} and {qa.shape}")
    for arr, label in ((pa, "p"), (qa, "q")):
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError(f"{label} must be finite and non-negative")
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"smoothing must be finite and >= 0, got {smoothing}")
    p_total, q_total = pa.sum(), qa.sum()
    if p_total == 0 or q_total == 0:
        return float("nan")
    k = pa.size
    ps = (pa / p_total + smoothing) / (1.0 + k * smoothing)
    qs = (qa / q_total + smoothing) / (1.0 + k * smoothing)
    return float(rel_entr(ps, qs).sum())


def mixture_coverage(
    real: Any,
    fake: Any,
    *,
    centres: Any,
    sigma: Any,
    weights: Any = None,
    hq_sigmas: float = 3.0,
    smoothing: float = 1e-6,
) -> dict[str, float]:
    """VEEGAN-protocol mode coverage of generated samples on a known Gaussian mixture.

    Args:
        real: accepted for the ``fn(real, fake, **options)`` diagnostic contract and ignored; the
            reference is given by ``centres``, ``sigma`` and ``weights``.
        fake: generated samples, shape (n, d) or (n,) for d = 1; n >= 1. Non-finite rows count in n
            but are never high quality.
        centres: mode centres, shape (k, d) (or (k,) for d = 1).
        sigma: mode standard deviation, scalar or shape (k,).
        weights: true mixture weights, shape (k,), non-negative; normalised here. Default uniform.
        hq_sigmas: high-quality radius in sigmas of the assigned mode (3.0 in VEEGAN).
        smoothing: see :func:`mode_histogram_kl`.

    Returns:
        ``modes_captured``: number of modes with at least one high-quality sample, in [0, k];
            higher is better, best k.
        ``modes_total``: k.
        ``mode_coverage_score``: modes_captured / k in [0, 1]; higher is better, best 1.
        ``high_quality_score``: fraction of *all* fake samples that are high quality, in [0, 1];
            higher is better. For samples drawn from the true mixture with the default
            ``hq_sigmas=3`` expect about 0.989 in 2-D (chi-square with 2 dof below 9).
        ``mode_mass_{i}`` for i in 0..k-1: fraction of all fake samples that are high quality *and*
            assigned to mode i; these sum to ``high_quality_score``. Best is ``weights[i] *
            high_quality_score``; 0 means mode i was dropped.
        ``kl_gen_true_distance``: KL(p_gen || p_true) in nats, where p_gen is the histogram of the
            high-quality samples over modes and p_true the weights (smoothed as in
            :func:`mode_histogram_kl`). Lower is better, best 0; about log(k) when all samples sit
            in one mode of a uniform mixture.
        ``kl_true_gen_distance``: KL(p_true || p_gen), same smoothing; lower is better, best 0;
            grows as modes are dropped, so it is the KL that punishes mode collapse.

        When no sample is high quality both KL keys are ``nan``: there is no generated histogram,
        and ``high_quality_score == 0`` already reports the failure.

    Raises:
        ValueError: fake is empty, shapes disagree, sigma is not positive, or weights are invalid.
    """
    del real  # unused; see docstring
    f, c, s = _prepare(fake, centres, sigma)
    n, k = f.shape[0], c.shape[0]
    if n == 0:
        raise ValueError("fake holds no samples")
    nearest, is_hq = _assign(f, c, s, hq_sigmas)
    if weights is None:
        w = np.full(k, 1.0 / k)
    else:
        w = _as_float_array(weights, "weights")
        if w.shape != (k,):
            raise ValueError(f"weights must have shape ({k},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        w = w / w.sum()

    counts = np.bincount(nearest[is_hq], minlength=k).astype(np.float64)
    return coverage_from_counts(counts, n, w, smoothing)


def coverage_from_counts(
    counts: np.ndarray, n: int, weights: np.ndarray, smoothing: float, per_mode: bool = True
) -> dict[str, float]:
    """The coverage keys from per-mode counts of the high-quality samples out of ``n`` samples:
    modes captured (count > 0), the high-quality share, both KLs against ``weights`` (``nan`` when no
    sample is high quality) and, with ``per_mode``, each mode's share of all ``n`` samples."""
    k = counts.shape[0]
    n_hq = int(counts.sum())
    captured = float(np.count_nonzero(counts))
    out: dict[str, float] = {
        "modes_captured": captured,
        "modes_total": float(k),
        "mode_coverage_score": captured / k,
        "high_quality_score": n_hq / n,
    }
    if n_hq == 0:
        out["kl_gen_true_distance"] = float("nan")
        out["kl_true_gen_distance"] = float("nan")
    else:
        out["kl_gen_true_distance"] = mode_histogram_kl(counts, weights, smoothing)
        out["kl_true_gen_distance"] = mode_histogram_kl(weights, counts, smoothing)
    if per_mode:
        for i in range(k):
            out[f"mode_mass_{i}"] = float(counts[i] / n)
    return out
