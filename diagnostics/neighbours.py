"""Nearest-neighbour fidelity and diversity: improved precision/recall and density/coverage.

* Improved precision and recall (Kynkaanniemi et al., 2019, arXiv 1904.06991), k = 3: the real
  manifold is the union of balls around each real sample with radius its distance to its k-th nearest
  real neighbour; precision is the fraction of fake samples inside it. Recall swaps the roles: the
  fraction of real samples inside the fake manifold. Recall is the mode-collapse measure: dropped
  modes leave real samples outside every fake ball.
* Density and coverage (Naeem et al., 2020, arXiv 2002.09797), k = 5: density counts, per fake
  sample, how many real balls contain it (divided by k, averaged); coverage is the fraction of real
  balls that contain at least one fake sample.

Balls are closed (``distance <= radius``), as in torch-fidelity's precision/recall. The authors'
``prdc`` package uses a strict ``<``; the two agree except on exact ties, which have probability 0
for continuous features but are common when samples repeat (video frames, a collapsed generator):
a point whose k-th neighbour is a duplicate has radius 0, and with ``<`` not even an identical fake
sample falls inside it. With closed balls, ``fake == real`` gives precision = recall = coverage = 1
exactly, and density about (k + 1) / k (each closed ball holds its own centre and its k neighbours;
whether the k-th neighbour, which sits exactly on the boundary, counts is then decided by
rounding; ``prdc`` gets about 1 there because its open ball drops it). For fake samples
drawn independently from the real distribution, density is about 1 with either convention.

Everything is computed in chunks of rows: squared Euclidean distances in float64 (after centring
both sets on the real mean), and only the k-th neighbour radii and per-sample flags/counts are kept,
so memory stays O(chunk * n) and no n x n matrix exists. float64 because the ``|a|^2 + |b|^2 - 2ab``
expansion cancels: in float32, ring8's clusters (sigma 0.01 at radius 1) lose about 1 % of each
neighbour radius, which moved density by 0.007 and coverage by 0.002 against the ``prdc`` package on
two 2,500-sample ring8 sets; in float64 they agree within 1e-6 on every mixture we ship. Cost is
three n x n distance passes (real-real, which gives both the k = 3 and the k = 5 radii, fake-fake and
real-fake), each one float64 matrix product per chunk.

Sets larger than ``max_samples`` (default 10,000, as in Naeem et al., who evaluate density and
coverage with 10,000 real and 10,000 fake samples) are subsampled without replacement with ``seed``;
the outputs ``prdc_real_samples`` and ``prdc_fake_samples`` say how many rows were used. The cost
grows as n^2, so this keeps 26,000-sample stacked-MNIST evaluations to about 1/7 of the full cost;
pass ``max_samples=None`` for all rows (Kynkaenniemi et al. use 50,000 per set on a GPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .features import as_features

_CHUNK_ELEMENTS = 1 << 23  # float64 entries of one distance block (64 MiB)
DEFAULT_MAX_SAMPLES = 10_000  # rows per set, as in Naeem et al. (2020); see the module docstring

# Largest feature magnitude the feature-space diagnostics accept (prdc, frechet_distance,
# kernel_distance, ndb, duplicate_rate, birthday_support). Fix: as_features only refused nan and inf,
# so a finite but huge entry (1e30 from a diverged generator) got through, and then overflowed the float32
# distance and Gram products (kid_mean, dup_threshold and birthday_threshold came out nan, K-means found
# one cluster, all with RuntimeWarnings) or, in float64, wiped out every other distance by cancellation
# (one 1e30 entry in real ring-8 data turned prdc's density into 79.8, with no warning at all).
# Squared float32 distances overflow once |x| is above about 1.8e19 / sqrt(d); 1e15 leaves room for
# d up to 1e8 and is far above any feature space in the suite (pixels in [-1, 1], activations ~10).
# The same bound applies to every feature diagnostic, since evaluate() gives them the same features.
MAX_FEATURE_MAGNITUDE = 1e15


def check_magnitude(a: np.ndarray, what: str) -> np.ndarray:
    """Return ``a`` (finite features, from ``as_features``); raise ``ValueError`` when an entry's
    magnitude is above :data:`MAX_FEATURE_MAGNITUDE`."""
    peak = max(float(a.max()), -float(a.min())) if a.size else 0.0  # no |a| temporary
    if peak > MAX_FEATURE_MAGNITUDE:
        raise ValueError(
            f"{what} holds values of magnitude up to {peak:.3g}, above {MAX_FEATURE_MAGNITUDE:.0e}: "
            "squared distances would overflow or lose all precision; check or rescale the features"
        )
    return a


def _sq_norms(a: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, a)


def _sq_dist(a: np.ndarray, a_sq: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (len(a), len(b)), in the inputs' dtype, clipped at 0."""
    d = a @ b.T
    d *= -2.0
    d += a_sq[:, None]
    d += b_sq[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _rows_per_chunk(n_cols: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
        return chunk_size
    return max(1, _CHUNK_ELEMENTS // max(n_cols, 1))


def knn_radii(x: np.ndarray, ks: tuple[int, ...], chunk_size: int | None = None) -> dict[int, np.ndarray]:
    """Squared distance from each row of ``x`` to its k-th nearest *other* row, for each k in ``ks``.

    ``x`` is float64 (n, d) with n > max(ks). The row itself is at distance 0 and is skipped, so
    ``k=1`` is the nearest other sample (0 when it has an exact duplicate).
    """
    n = x.shape[0]
    kmax = max(ks)
    if n <= kmax:
        raise ValueError(f"need more than k={kmax} samples per set for k-th neighbour radii, got {n}")
    sq = _sq_norms(x)
    out = {k: np.empty(n, dtype=x.dtype) for k in ks}
    step = _rows_per_chunk(n, chunk_size)
    for start in range(0, n, step):
        stop = min(start + step, n)
        d = _sq_dist(x[start:stop], sq[start:stop], x, sq)
        d[np.arange(stop - start), np.arange(start, stop)] = 0.0  # exact self-distance
        d.partition(kmax, axis=1)  # in place: the block is scratch, a copy would double its memory
        smallest = np.sort(d[:, : kmax + 1], axis=1)
        for k in ks:
            out[k][start:stop] = smallest[:, k]  # index 0 is the row itself
    return out


def _subsample(a: np.ndarray, max_samples: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_samples is None or a.shape[0] <= max_samples:
        return a
    return a[np.sort(rng.choice(a.shape[0], max_samples, replace=False))]


def prdc(
    real: Any,
    fake: Any,
    *,
    pr_k: int = 3,
    dc_k: int = 5,
    max_samples: int | None = DEFAULT_MAX_SAMPLES,
    seed: int = 0,
    chunk_size: int | None = None,
) -> dict[str, float]:
    """Improved precision/recall (k = ``pr_k``) and density/coverage (k = ``dc_k``) in one pass.

    Args:
        real, fake: features (n, d) and (m, d), same d, each with more than max(pr_k, dc_k) rows;
            numpy or torch. Euclidean distance in this space is what the metrics measure, so label
            the result with the feature space.
        pr_k: neighbourhood size of precision/recall (3 in Kynkaanniemi et al.).
        dc_k: neighbourhood size of density/coverage (5 in Naeem et al.).
        max_samples: use at most this many rows of each set, drawn without replacement with ``seed``
            (default 10,000, Naeem et al.'s evaluation size; ``None``: all). Smaller sets are used
            whole, so their numbers do not depend on it. The metrics depend on n (balls shrink as n
            grows): compare equal sizes.
        seed: seeds only the subsampling; without it the result is deterministic.
        chunk_size: rows per distance block (default: blocks of about 8M float64 entries, 64 MiB).

    Returns:
        ``precision_score``: fraction of fake samples inside the real manifold, in [0, 1]; higher is
            better (fidelity), best 1.
        ``recall_score``: fraction of real samples inside the fake manifold, in [0, 1]; higher is
            better (diversity), best 1; falls as modes are dropped.
        ``density``: mean number of real balls holding a fake sample, divided by ``dc_k``; >= 0, about
            1 for a matching distribution, about (k + 1) / k for ``fake == real`` (see the module docstring);
            above 1 when fakes crowd dense real regions. No direction.
        ``coverage_score``: fraction of real balls holding at least one fake sample, in [0, 1]; higher
            is better, best 1; falls as modes are dropped.
        ``prdc_real_samples``, ``prdc_fake_samples``: the rows of each set used (after subsampling).
    """
    for name, k in (("pr_k", pr_k), ("dc_k", dc_k)):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{name} must be an int >= 1, got {k!r}")
    if max_samples is not None and (
        isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 2
    ):
        raise ValueError(f"max_samples must be None or an int >= 2, got {max_samples!r}")
    r = check_magnitude(as_features(real, "real", np.float64), "real")  # see MAX_FEATURE_MAGNITUDE
    f = check_magnitude(as_features(fake, "fake", np.float64), "fake")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real has dimension {r.shape[1]} but fake has {f.shape[1]}")
    rng = np.random.default_rng(seed)
    r = _subsample(r, max_samples, rng)
    f = _subsample(f, max_samples, rng)
    centre = r.mean(axis=0)
    r = r - centre
    f = f - centre

    real_radii = knn_radii(r, (pr_k, dc_k), chunk_size)
    fake_radius = knn_radii(f, (pr_k,), chunk_size)[pr_k]
    r_pr, r_dc = real_radii[pr_k], real_radii[dc_k]

    r_sq, f_sq = _sq_norms(r), _sq_norms(f)
    in_real_manifold = np.zeros(f.shape[0], dtype=bool)
    real_balls_hit = np.zeros(f.shape[0], dtype=np.int64)
    in_fake_manifold = np.zeros(r.shape[0], dtype=bool)
    nearest_fake = np.full(r.shape[0], np.inf)
    step = _rows_per_chunk(r.shape[0], chunk_size)
    for start in range(0, f.shape[0], step):
        stop = min(start + step, f.shape[0])
        d = _sq_dist(f[start:stop], f_sq[start:stop], r, r_sq)  # (fake chunk, real)
        in_real_manifold[start:stop] = (d <= r_pr[None, :]).any(axis=1)
        real_balls_hit[start:stop] = np.count_nonzero(d <= r_dc[None, :], axis=1)
        in_fake_manifold |= (d <= fake_radius[start:stop, None]).any(axis=0)
        np.minimum(nearest_fake, d.min(axis=0), out=nearest_fake)

    return {
        "precision_score": float(in_real_manifold.mean()),
        "recall_score": float(in_fake_manifold.mean()),
        "density": float(real_balls_hit.mean() / dc_k),
        "coverage_score": float((nearest_fake <= r_dc).mean()),
        "prdc_real_samples": float(r.shape[0]),
        "prdc_fake_samples": float(f.shape[0]),
    }
