"""Number of statistically different bins (NDB) and the JS divergence of bin histograms.

Richardson & Weiss, "On GANs and GMMs" (NeurIPS 2018, arXiv 1805.12462): partition the real data
into K cells by K-means, place every generated sample in the cell of its nearest centre, and test
each cell with a two-sided two-proportion z-test (pooled proportion) at level alpha: is the share of
generated samples in the cell different from the share of real samples? NDB is the number of cells
that differ; NDB/K is comparable across K. The paper reports, on MNIST with K = 100, NDB 0 (JS
0.0014) for held-out real data and NDB 11 (JS 0.016) for real data with all 9s removed.

Cells are fitted on the ``real`` argument and the real proportions are taken from the same samples
(as in the authors' code). With real and fake of equal size n, the smallest detectable change of a
cell's share p is about 2.8 * sqrt(2 p (1 - p) / n).

Above ``kmeans_max_samples`` real rows (default 10,000) the cells are fitted on a seeded random
subset of that size, and then every real and every fake sample is placed in its nearest cell, so the
tests still count all samples. K-means is the costly step: on 26,000 x 384 classifier features it
took 5.6 s fitted on all rows (100 iterations, not converged) and 1.6 s fitted on 10,000 (48
iterations), one thread, k-means++ included. 100 cells fitted on 10,000 rows still hold about 100 rows each.
Smaller sets are fitted whole, exactly as before.

K-means runs on one thread: scikit-learn's result depends on the thread count (each OpenMP thread
sums its own chunks), so pinning it keeps the same seed giving the same cells on any machine; and on
a busy 2-core machine two threads were 6 to 10 times slower than one (they wait on each other).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtri, rel_entr

from .features import as_features
from .neighbours import check_magnitude

DEFAULT_KMEANS_MAX_SAMPLES = 10_000  # real rows K-means is fitted on; see the module docstring


def js_divergence(p: Any, q: Any) -> float:
    """Jensen-Shannon divergence in nats (natural log) between two histograms, in [0, ln 2].

    Both are normalised to sum to 1. ``0.5 KL(p || m) + 0.5 KL(q || m)`` with ``m = (p + q) / 2``;
    finite even when bins are empty. Symmetric; 0 only for equal histograms. This is the divergence,
    not its square root (the JS *distance* of ``scipy.spatial.distance.jensenshannon``).
    """
    pa = np.asarray(p, dtype=np.float64)
    qa = np.asarray(q, dtype=np.float64)
    pa, qa = pa / pa.sum(), qa / qa.sum()
    m = 0.5 * (pa + qa)
    return float(max(0.5 * rel_entr(pa, m).sum() + 0.5 * rel_entr(qa, m).sum(), 0.0))


def two_proportion_z(count1: Any, n1: int, count2: Any, n2: int) -> np.ndarray:
    """z statistics of the pooled two-proportion test, per bin; 0 where the pooled proportion is 0 or 1."""
    c1 = np.asarray(count1, dtype=np.float64)
    c2 = np.asarray(count2, dtype=np.float64)
    pooled = (c1 + c2) / (n1 + n2)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    diff = c1 / n1 - c2 / n2
    z = np.zeros_like(diff)
    np.divide(diff, se, out=z, where=se > 0)
    return z


def ndb(
    real: Any,
    fake: Any,
    *,
    ndb_bins: int = 100,
    alpha: float = 0.05,
    seed: int = 0,
    kmeans_max_iter: int = 100,
    kmeans_max_samples: int | None = DEFAULT_KMEANS_MAX_SAMPLES,
) -> dict[str, float]:
    """NDB, NDB/K and the JS divergence of the K-means bin histograms of real and fake samples.

    Args:
        real: features (n, d) on which the K-means cells are fitted, n >= ``ndb_bins``.
        fake: features (m, d), same d, assigned to the nearest cell centre.
        ndb_bins: K, the number of cells (100 in the paper).
        alpha: level of each two-sided z-test (0.05 in the paper); no multiple-test correction, as in
            the paper, so two samples of one distribution still flag about ``alpha * K`` cells.
        seed: seeds K-means (scikit-learn ``KMeans``, k-means++ initialisation, one run, one
            thread) and the subset it is fitted on.
        kmeans_max_iter: Lloyd iterations at most.
        kmeans_max_samples: fit K-means on at most this many real rows, drawn without replacement
            with ``seed`` (``None``: all); every real and fake sample is then assigned to a cell.

    Returns:
        ``ndb``: number of cells whose fake share differs significantly from the real share, in
            [0, K]; lower is better, best 0 (0 for ``fake == real``).
        ``ndb_k``: ``ndb / K`` in [0, 1]; lower is better.
        ``ndb_jsd``: Jensen-Shannon divergence in nats (natural log) between the real and fake cell
            histograms, in [0, ln 2]; lower is better, best 0; symmetric.
        ``ndb_bins``: K. ``ndb_fit_samples``: the real rows K-means was fitted on.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # Fix: 1e30 passed as_features and overflowed K-means' float32 squared norms (one cluster, nan
    # distances, RuntimeWarnings); see neighbours.MAX_FEATURE_MAGNITUDE.
    r = check_magnitude(as_features(real, "real", np.float32), "real")
    f = check_magnitude(as_features(fake, "fake", np.float32), "fake")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real has dimension {r.shape[1]} but fake has {f.shape[1]}")
    k = ndb_bins
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= r.shape[0]:
        raise ValueError(f"ndb_bins must be an int in [2, n_real={r.shape[0]}], got {k!r}")
    if not (math.isfinite(alpha) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    fit_rows = r.shape[0] if kmeans_max_samples is None else kmeans_max_samples
    if isinstance(fit_rows, bool) or not isinstance(fit_rows, int) or fit_rows < k:
        raise ValueError(
            f"kmeans_max_samples must be None or an int >= ndb_bins={k}, got {kmeans_max_samples!r}"
        )

    km = KMeans(n_clusters=k, n_init=1, max_iter=kmeans_max_iter, random_state=seed)
    with threadpool_limits(limits=1):  # reproducible on any thread count (module docstring)
        if r.shape[0] > fit_rows:
            rows = np.sort(np.random.default_rng([seed, 3]).choice(r.shape[0], fit_rows, replace=False))
            real_labels = km.fit(r[rows]).predict(r)
        else:
            fit_rows = r.shape[0]
            real_labels = km.fit(r).labels_
        fake_labels = km.predict(f)
    real_counts = np.bincount(real_labels, minlength=k)
    fake_counts = np.bincount(fake_labels, minlength=k)
    z = two_proportion_z(fake_counts, f.shape[0], real_counts, r.shape[0])
    different = np.abs(z) > ndtri(1.0 - alpha / 2.0)
    n_diff = int(different.sum())
    return {
        "ndb": float(n_diff),
        "ndb_k": n_diff / k,
        "ndb_jsd": js_divergence(real_counts, fake_counts),
        "ndb_bins": float(k),
        "ndb_fit_samples": float(fit_rows),
    }
