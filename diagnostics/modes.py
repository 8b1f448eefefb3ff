"""Which mode each sample falls in, and the mode-count rule that calls a sample set collapsed.

Three ways to name modes, one interface (``n_modes``, ``source`` and ``assign(x) -> int array``, -1
for a sample that belongs to no mode):

* :class:`MixtureModes`: the known centres of a Gaussian mixture; a sample belongs to its nearest
  centre when it lies within ``hq_sigmas`` sigmas of it (the VEEGAN protocol's high-quality ball).
* :class:`ClassifierModes`: a pretrained mode classifier; a sample belongs to its arg-max class when
  the classifier's confidence reaches ``min_confidence``.
* :class:`KMeansModes`: pseudo-modes, the cells of K-means fitted once on the real data (in raw or
  feature space) when nothing else names the modes; a sample belongs to its nearest centroid when it
  is no farther from it than ``radius_quantile`` of the real members of that cell are.

:func:`mode_state` is the rule ``mcbench diagnose`` applies to a pair of sample sets and the collapse
monitor to each scored batch (one implementation): REAL's modes that FAKE misses (a true mode: FAKE
has no sample where REAL's share predicts at least 5; a K-means bin: FAKE's share is significantly
lower, a two-proportion z-test at alpha 0.05, and below a tenth of REAL's), *collapsed* when FAKE
captures at most max(1, 10 %) of the modes REAL covers or the missed ones hold at least 80 % of REAL,
*partially collapsed* when any is missed.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
from scipy.special import ndtri

from .mixture import assign_modes, mode_histogram_kl
from .ndb import two_proportion_z

COLLAPSED_MODE_SHARE = 0.10  # FAKE captures at most this share of REAL's modes (or one mode)
COLLAPSED_MISSING_MASS = 0.8  # or the modes FAKE misses hold at least this share of REAL
MISSING_MIN_EXPECTED = 5.0  # a true mode counts as missing only if REAL's share predicts this many
MISSING_SHARE_RATIO = 0.1  # a bin is missing when FAKE's share is below this fraction of REAL's
ALPHA = 0.05
LEVELS = ("healthy", "partially collapsed", "collapsed")


class ModeAssigner(Protocol):
    n_modes: int
    source: str
    bins: bool  # pseudo-modes (the z-test rule) rather than true modes

    def assign(self, x: Any) -> np.ndarray: ...


def _flat(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(a.shape[0], -1) if a.ndim != 2 else a


class MixtureModes:
    """Modes of a Gaussian mixture with known centres (k, d) and sigma (scalar or (k,))."""

    bins = False

    def __init__(self, centres: Any, sigma: Any, hq_sigmas: float = 3.0):
        self.centres = np.asarray(centres, dtype=np.float64)
        self.sigma, self.hq_sigmas = sigma, hq_sigmas
        self.n_modes = int(self.centres.shape[0])
        self.source = f"{self.n_modes} mixture centres (within {hq_sigmas:g} sigma)"

    def assign(self, x: Any) -> np.ndarray:
        nearest, hq = assign_modes(_flat(x), self.centres, self.sigma, self.hq_sigmas)
        return np.where(hq, nearest, -1)


class ClassifierModes:
    """Modes named by a classifier (``predict`` method or logits module) over ``n_modes`` classes."""

    bins = False

    def __init__(self, classifier: Any, n_modes: int, min_confidence: float = 0.0):
        self.classifier, self.n_modes, self.min_confidence = classifier, int(n_modes), float(min_confidence)
        self.source = f"mode classifier ({n_modes} classes, confidence >= {min_confidence:g})"

    def assign(self, x: Any) -> np.ndarray:
        import torch

        if hasattr(self.classifier, "predict"):  # the suite's mode classifiers (images)
            from .classifiers import predict_modes

            labels, conf = predict_modes(self.classifier, x)
        else:  # any module returning logits (n, n_modes), on samples of any shape
            t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32)
            was = self.classifier.training
            self.classifier.eval()
            try:
                with torch.no_grad():
                    conf, labels = torch.softmax(self.classifier(t), dim=1).max(dim=1)
            finally:
                self.classifier.train(was)
        labels, conf = labels.cpu().numpy(), conf.cpu().numpy()
        return np.where(conf >= self.min_confidence, labels, -1)


class KMeansModes:
    """K-means cells of the real data as pseudo-modes, fitted once (``fit``)."""

    bins = True

    def __init__(self, centroids: np.ndarray, radii: np.ndarray, features: Any = None):
        self.centroids, self.radii, self.features = centroids, radii, features
        self.n_modes = int(centroids.shape[0])
        space = "feature" if features is not None else "raw"
        self.source = f"{self.n_modes} k-means cells of the real data ({space} space)"

    @classmethod
    def fit(
        cls, real: Any, k: int = 10, seed: int = 0, features: Any = None, radius_quantile: float = 0.99
    ) -> KMeansModes:
        from sklearn.cluster import KMeans

        x = _flat(features(real) if features is not None else real)
        if x.shape[0] < k:
            raise ValueError(f"k-means pseudo-modes need at least k={k} real samples, got {x.shape[0]}")
        km = KMeans(n_clusters=k, n_init=4, max_iter=100, random_state=seed).fit(x)
        dist = np.linalg.norm(x - km.cluster_centers_[km.labels_], axis=1)
        radii = np.array(
            [
                np.quantile(dist[km.labels_ == j], radius_quantile) if (km.labels_ == j).any() else 0.0
                for j in range(k)
            ]
        )
        return cls(km.cluster_centers_, radii, features)

    def assign(self, x: Any) -> np.ndarray:
        f = _flat(self.features(x) if self.features is not None else x)
        d = _dist(f, self.centroids)
        nearest = d.argmin(axis=1)
        inside = d[np.arange(f.shape[0]), nearest] <= self.radii[nearest]
        return np.where(inside & np.isfinite(f).all(axis=1), nearest, -1)


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None]
    return np.sqrt(np.clip(sq, 0.0, None))


def counts(assigner: ModeAssigner, x: Any) -> np.ndarray:
    """Per-mode sample counts (samples of no mode left out)."""
    idx = assigner.assign(x)
    return np.bincount(idx[idx >= 0], minlength=assigner.n_modes).astype(np.float64)


def mode_state(
    real_counts: Any, n_real: int, fake_counts: Any, n_fake: int, bins: bool = False
) -> dict[str, Any]:
    """The rule of the module docstring on per-mode counts of REAL (out of n_real) and FAKE.

    Returns covered (modes REAL covers), captured, missing (their indices), missing_real_share (the
    share of REAL in the missed modes), kl (KL(FAKE || REAL) of the histograms over the covered modes,
    smoothed as :func:`diagnostics.mixture.mode_histogram_kl`; nan when FAKE has no sample in a mode),
    and level (0 healthy, 1 partially collapsed, 2 collapsed; 0 when REAL covers fewer than 2 modes).
    """
    rc, fc = np.asarray(real_counts, dtype=np.float64), np.asarray(fake_counts, dtype=np.float64)
    rs, fs = rc / max(n_real, 1), fc / max(n_fake, 1)
    covered = rc > 0
    if bins:
        z = two_proportion_z(fc, n_fake, rc, n_real)
        missing = covered & (z < -ndtri(1 - ALPHA / 2)) & (fs < MISSING_SHARE_RATIO * rs)
        captured = covered & ~missing
    else:
        missing = covered & (fc == 0) & (rs * n_fake >= MISSING_MIN_EXPECTED)
        captured = covered & (fc > 0)
    n_cov, n_cap = int(covered.sum()), int(captured.sum())
    missing_share = float(rs[missing].sum() / max(rs[covered].sum(), 1e-12))
    level = 0
    if n_cov >= 2:
        if n_cap <= max(1, COLLAPSED_MODE_SHARE * n_cov) or missing_share >= COLLAPSED_MISSING_MASS:
            level = 2
        elif missing.any():
            level = 1
    kl = mode_histogram_kl(fc[covered], rc[covered]) if fc[covered].sum() > 0 else math.nan
    return {
        "covered": n_cov,
        "captured": n_cap,
        "missing": [int(i) for i in np.flatnonzero(missing)],
        "missing_real_share": missing_share,
        "kl": kl,
        "level": level,
    }
