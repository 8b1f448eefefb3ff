"""The Vendi score (Friedman and Dieng 2023, "The Vendi Score: A Diversity Evaluation Metric for
Machine Learning"): a reference-free diversity number for a set of samples.

For n samples and a positive semi-definite similarity kernel k with k(x, x) = 1, K_ij = k(x_i, x_j)
and lambda_1..lambda_n the eigenvalues of K / n (they sum to 1), the Vendi score of order q is the
exponential of the Renyi entropy of the eigenvalues:

    VS_1 = exp(-sum_i lambda_i log lambda_i),  VS_q = exp(log(sum_i lambda_i^q) / (1 - q)),
    VS_inf = 1 / max_i lambda_i.

It is the effective number of distinct samples: 1 when all samples are identical, n when they are
pairwise dissimilar (K = I), m for m equal-sized groups of identical samples that are dissimilar to
each other. It needs no labels and no reference data, which is why the collapse monitor uses it
where the data has no mode classifier; the real data's own score at the same n is the yardstick.

Kernels: ``cosine`` (features normalised to unit length, K = X X^T; computed through the d x d
matrix X^T X / n when d < n, which has the same non-zero eigenvalues) and ``rbf``
(K_ij = exp(-||x_i - x_j||^2 / (2 h^2)), bandwidth h given or the median pairwise distance of REAL).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.linalg import eigvalsh
from scipy.spatial.distance import pdist, squareform

from .features import as_features
from .neighbours import check_magnitude

KERNELS = ("cosine", "rbf")


def _rows(x: Any, what: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    if a.shape[0] == 0:
        raise ValueError(f"{what} holds no samples")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} has non-finite values")
    return check_magnitude(as_features(a, what), what)


def entropy_score(eigenvalues: np.ndarray, q: float = 1.0) -> float:
    """exp of the Renyi entropy of order q of a probability vector (negative round-off dropped)."""
    p = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    p = p / p.sum()
    p = p[p > 0]
    if q == 1:
        return float(math.exp(-(p * np.log(p)).sum()))
    if math.isinf(q):
        return float(1.0 / p.max())
    return float(math.exp(math.log((p**q).sum()) / (1.0 - q)))


def vendi_of(x: np.ndarray, kernel: str, bandwidth: float | None, q: float) -> float:
    """The Vendi score of the rows of ``x`` (validated float64, shape (n, d))."""
    n, d = x.shape
    if kernel == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError("the cosine kernel needs non-zero samples; use vendi_kernel='rbf'")
        u = x / norms
        gram = u.T @ u if d < n else u @ u.T
        return entropy_score(eigvalsh(gram / n), q)
    if bandwidth is None or not (math.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"the rbf kernel needs a bandwidth > 0, got {bandwidth!r}")
    k = np.exp(-squareform(pdist(x, "sqeuclidean")) / (2.0 * bandwidth**2))
    return entropy_score(eigvalsh(k / n), q)


def median_distance(x: np.ndarray, most: int = 1000, seed: int = 0) -> float:
    """Median pairwise Euclidean distance of (at most ``most`` random) rows of x."""
    if x.shape[0] > most:
        x = x[np.random.default_rng(seed).choice(x.shape[0], most, replace=False)]
    dist = pdist(x)
    return float(np.median(dist)) if dist.size else 1.0


def vendi_score(
    real: Any,
    fake: Any,
    *,
    vendi_kernel: str = "cosine",
    vendi_bandwidth: float | None = None,
    vendi_q: float = 1.0,
    vendi_samples: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Vendi score of FAKE, and of REAL at the same number of samples as its yardstick.

    Args:
        real, fake: samples or features, shape (n, ...) and (m, ...); rows are flattened.
        vendi_kernel: ``cosine`` (for feature vectors, the paper's choice for embeddings) or ``rbf``
            (for raw low-dimensional points, where the direction from the origin means nothing).
        vendi_bandwidth: the rbf kernel's h; default the median pairwise distance of REAL.
        vendi_q: order q > 0 (1 = Shannon, the paper's default; ``inf`` = 1 / largest eigenvalue).
        vendi_samples: at most this many random rows of each set are scored (cost O(n^3) for rbf).
        seed: picks the rows.

    Returns:
        ``vendi_fake``: in [1, n], higher is more diverse. ``vendi_real``: the same for min(n, m)
        rows of REAL. ``vendi_ratio``: vendi_fake / vendi_real (about 1 for a generator as diverse as
        the data; a collapse to one of m equal modes takes it towards 1/m). ``vendi_bandwidth``: the
        rbf bandwidth used (0 for cosine).

    Raises:
        ValueError: an unknown kernel (the valid ones are listed), q <= 0, empty or non-finite input.
    """
    if vendi_kernel not in KERNELS:
        raise ValueError(f"unknown vendi_kernel {vendi_kernel!r}; valid: {', '.join(KERNELS)}")
    q = float(vendi_q)
    if not q > 0:
        raise ValueError(f"vendi_q must be > 0, got {vendi_q!r}")
    if isinstance(vendi_samples, bool) or not isinstance(vendi_samples, int) or vendi_samples < 2:
        raise ValueError(f"vendi_samples must be an int >= 2, got {vendi_samples!r}")
    r, f = _rows(real, "real"), _rows(fake, "fake")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real and fake have different widths: {r.shape[1]} and {f.shape[1]}")
    rng = np.random.default_rng([seed, 7])
    n = min(vendi_samples, r.shape[0], f.shape[0])
    r = r[rng.choice(r.shape[0], n, replace=False)] if r.shape[0] > n else r
    f = f[rng.choice(f.shape[0], n, replace=False)] if f.shape[0] > n else f
    h = 0.0
    if vendi_kernel == "rbf":
        h = float(vendi_bandwidth) if vendi_bandwidth is not None else median_distance(r, seed=seed)
    vf = vendi_of(f, vendi_kernel, h or None, q)
    vr = vendi_of(r, vendi_kernel, h or None, q)
    return {"vendi_fake": vf, "vendi_real": vr, "vendi_ratio": vf / vr, "vendi_bandwidth": h}
