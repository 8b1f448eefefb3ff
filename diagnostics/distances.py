"""Frechet distance and kernel (KID) distance between two sets of features.

Both work on feature arrays (n, d) from any space (:func:`diagnostics.features.extract_features`).
With Inception-v3 pool features (torch-fidelity's ``inception-v3-compat``) they are FID (Heusel et
al., 2017) and KID (Binkowski et al., 2018). In any other space, such as the penultimate layer of a
dataset's mode classifier, they are *not* comparable with published Inception FID/KID numbers, only
with numbers computed in the same space with the same weights; the caller labels the column with its
space, and ``*_feature_dim`` records the dimension.

The numbers agree with torch-fidelity 0.4.0 (``fid_statistics_to_metric``, ``kid_features_to_metric``)
given the same features; ``tests/test_diagnostics_distances.py`` checks this.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from .features import as_features
from .neighbours import check_magnitude


def feature_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of features (n, d), in float64."""
    f = as_features(features, "features")
    return f.mean(axis=0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def _one_blas_thread() -> Any:
    """Run LAPACK's eigensolvers on one thread.

    For d of a few hundred they are fastest single-threaded anyway, and on a busy machine a
    multi-threaded OpenBLAS spends most of its time waiting on thread barriers: measured on a 2-core
    CI box under load, ``eigh`` of a 384 x 384 matrix took 2.3 s with 2 threads and 0.02 s with one.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues -> 0)."""
    w, v = np.linalg.eigh((sigma + sigma.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance_from_statistics(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))``. The trace term is
    computed as ``sum sqrt(eig(A sigma2 A))`` with ``A = sigma1^(1/2)``: that matrix is symmetric PSD
    and has the same eigenvalues as ``sigma1 sigma2``, so ``eigvalsh`` applies and rounding cannot
    produce the complex parts that ``scipy.linalg.sqrtm(sigma1 @ sigma2)`` can on singular
    covariances (d > n, or collapsed generators). Eigenvalues below 0 from rounding are set to 0, and
    the result is clipped at 0. Symmetric in its two arguments up to rounding.
    """
    m1, m2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = m1.shape[0]
    if m1.shape != (d,) or m2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"shapes do not match: mu {m1.shape}, {m2.shape}; sigma {s1.shape}, {s2.shape}")
    with _one_blas_thread():
        root1 = _psd_sqrt(s1)
        inner = root1 @ s2 @ root1
        eig = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    tr_covmean = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = m1 - m2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(value, 0.0)


def frechet_distance(real: Any, fake: Any) -> dict[str, float]:
    """Frechet distance between Gaussians fitted to real and fake features (FID in Inception space).

    Args:
        real, fake: features (n, d) and (m, d), n, m >= 2, same d; numpy or torch.

    Returns:
        ``frechet_distance``: >= 0, in squared feature units; lower is better, best 0 (0 for identical
            sets). Symmetric. Biased upwards for small n (it depends on the sample size), so compare
            only numbers computed with the same n. A Frechet distance in a mode classifier's feature
            space is not an Inception FID and is not comparable with published FIDs.
        ``frechet_feature_dim``: d.
    """
    r = check_magnitude(as_features(real, "real"), "real")  # see neighbours.MAX_FEATURE_MAGNITUDE
    f = check_magnitude(as_features(fake, "fake"), "fake")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real has dimension {r.shape[1]} but fake has {f.shape[1]}")
    mu_r, s_r = feature_statistics(r)
    mu_f, s_f = feature_statistics(f)
    return {
        "frechet_distance": frechet_distance_from_statistics(mu_r, s_r, mu_f, s_f),
        "frechet_feature_dim": float(r.shape[1]),
    }


def _poly_kernel_sums(x: np.ndarray, y: np.ndarray, gamma: float, coef0: float, degree: int) -> float:
    """Unbiased MMD^2 estimate for one pair of equal-size subsets with the polynomial kernel."""
    m = x.shape[0]

    def kernel(gram: np.ndarray) -> np.ndarray:
        # The Gram matrix comes from a float32 product; the kernel and its sums are taken in float64.
        # Integer powers by repeated products: ``** degree`` would call pow() per entry (slow).
        base = gram.astype(np.float64)
        base *= gamma
        base += coef0
        out = base.copy()
        for _ in range(degree - 1):
            out *= base
        return out

    k_xx = kernel(x @ x.T)  # numpy uses the symmetric rank-k update for a @ a.T
    k_yy = kernel(y @ y.T)
    k_xy = kernel(x @ y.T)
    off_xx = k_xx.sum() - np.trace(k_xx)
    off_yy = k_yy.sum() - np.trace(k_yy)
    return float((off_xx + off_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_distance(
    real: Any,
    fake: Any,
    *,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    kid_degree: int = 3,
    kid_gamma: float | None = None,
    kid_coef0: float = 1.0,
    seed: int = 0,
) -> dict[str, float]:
    """Kernel distance (KID in Inception space): unbiased MMD^2 with a polynomial kernel, over subsets.

    The kernel is ``k(x, y) = (gamma <x, y> + coef0) ** degree``, by default cubic with
    ``gamma = 1/d`` and ``coef0 = 1`` (Binkowski et al., 2018; torch-fidelity's defaults). Each of
    ``kid_subsets`` rounds draws ``kid_subset_size`` fake and then as many real rows without
    replacement, from ``numpy.random.RandomState(seed)`` in the order torch-fidelity uses (its input1
    is the generated set), so with the same seed and features the subsets, and the numbers, agree
    with ``torch_fidelity.calculate_metrics(input1=fake, input2=real, kid=True, rng_seed=seed)``.

    Args:
        real, fake: features (n, d), (m, d); same d.
        kid_subsets: rounds, >= 1.
        kid_subset_size: rows per subset; reduced to ``min(n, m)`` when either set is smaller
            (torch-fidelity refuses instead); must end up >= 2. ``kid_subset_size_used`` reports it.
        kid_degree, kid_gamma, kid_coef0: the kernel; ``kid_gamma=None`` means 1/d.
        seed: seeds the subset draws; the same seed gives the same numbers.

    Returns:
        ``kid_mean``: mean of the per-subset MMD^2 estimates; lower is better, best 0. Unbiased, so it
            is about 0 (and can be slightly negative) for two samples of one distribution. Symmetric
            in expectation; not exactly, since the draws differ. Not comparable across feature spaces.
        ``kid_std``: population standard deviation of the per-subset estimates (as torch-fidelity).
        ``kid_subset_size_used``: the subset size used. ``kid_feature_dim``: d.
    """
    # Fix: 1e30 passed as_features and overflowed the float32 Gram products (kid_mean nan, with
    # RuntimeWarnings); see neighbours.MAX_FEATURE_MAGNITUDE.
    r = check_magnitude(as_features(real, "real", np.float32), "real")
    f = check_magnitude(as_features(fake, "fake", np.float32), "fake")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real has dimension {r.shape[1]} but fake has {f.shape[1]}")
    if isinstance(kid_subsets, bool) or not isinstance(kid_subsets, int) or kid_subsets < 1:
        raise ValueError(f"kid_subsets must be an int >= 1, got {kid_subsets!r}")
    size = min(int(kid_subset_size), r.shape[0], f.shape[0])
    if size < 2:
        raise ValueError(f"kid_subset_size must be >= 2, got {kid_subset_size!r}")
    d = r.shape[1]
    gamma = 1.0 / d if kid_gamma is None else float(kid_gamma)
    if (
        not (math.isfinite(gamma) and math.isfinite(kid_coef0))
        or int(kid_degree) != kid_degree
        or kid_degree < 1
    ):
        raise ValueError("kid_gamma and kid_coef0 must be finite and kid_degree an integer >= 1")

    rng = np.random.RandomState(seed)
    values = np.empty(kid_subsets)
    for i in range(kid_subsets):
        fi = f[rng.choice(f.shape[0], size, replace=False)]
        ri = r[rng.choice(r.shape[0], size, replace=False)]
        values[i] = _poly_kernel_sums(fi, ri, gamma, float(kid_coef0), int(kid_degree))
    return {
        "kid_mean": float(values.mean()),
        "kid_std": float(values.std()),
        "kid_subset_size_used": float(size),
        "kid_feature_dim": float(d),
    }
