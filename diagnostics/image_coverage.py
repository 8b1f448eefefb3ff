"""Mode coverage of generated images, counted by a pretrained mode classifier.

This is the image counterpart of :func:`diagnostics.mixture.mixture_coverage`, with the same output
keys and units. It follows the stacked-MNIST protocol of VEEGAN (Srivastava et al., 2017) and PacGAN
(Lin et al., 2018): a classifier trained on real labelled images assigns every generated image to a
mode, and a mode counts as captured when at least one generated image lands in it. Here only
*high-quality* images count, those the classifier labels with confidence (largest softmax
probability) at least ``hq_threshold``; ``hq_threshold=0`` counts every image, which is exactly the
VEEGAN/PacGAN rule (they generate 26,000 samples for the 1,000 stacked-MNIST modes).

The classifier is given as an option; this module never loads or trains one (see
:mod:`diagnostics.classifiers`). torch is imported only when a diagnostic runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ClassifierTooWeakError
from .mixture import _as_float_array, coverage_from_counts

MAX_PER_MODE_KEYS = 100  # above this many modes, mode_mass_{i} keys are left out to keep rows short


def _weights(weights: Any, k: int) -> np.ndarray:
    w = _as_float_array(weights, "weights")
    if w.shape != (k,):
        raise ValueError(f"weights must have shape ({k},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def _predict(
    classifier: Any, images: Any, batch_size: int, k: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    from .classifiers import predict_modes  # torch is needed only from here on

    labels, conf = predict_modes(classifier, images, batch_size=batch_size)
    lab = labels.cpu().numpy().astype(np.int64, copy=False)
    c = conf.detach().cpu().numpy().astype(np.float64)
    if lab.size and (lab.min() < 0 or lab.max() >= k):
        raise ValueError(
            f"classifier returned modes in [{lab.min()}, {lab.max()}] for {what}, outside [0, {k})"
        )
    return lab, c


def classifier_coverage(
    real: Any,
    fake: Any,
    *,
    classifier: Any,
    n_modes: int,
    weights: Any = None,
    hq_threshold: float = 0.9,
    min_accuracy: float | None = 0.95,
    batch_size: int = 1000,
    smoothing: float = 1e-6,
) -> dict[str, float]:
    """Mode coverage and mode balance of generated images, judged by a mode classifier.

    Args:
        real: real images (n_r, C, H, W) or ``None``. Used only when ``weights`` is ``None``: the
            reference mode distribution is then the histogram of the classifier's labels on all real
            images (every image counts, whatever its confidence). With neither, it is uniform.
        fake: generated images (n, C, H, W), n >= 1; uint8 in [0, 255] or float in [-1, 1] (see
            :func:`diagnostics.classifiers.to_model_input`); numpy or torch.
        classifier: a :class:`~diagnostics.classifiers.ModeClassifier`,
            :class:`~diagnostics.classifiers.PerChannelClassifier`, or any ``nn.Module`` returning
            logits ``(n, n_modes)``; its ``held_out_accuracy`` attribute is checked.
        n_modes: number of modes k (10 for MNIST, 1000 for 3-channel stacked MNIST). Must match the
            classifier's ``n_classes`` when it has one.
        weights: true mode distribution, shape (k,), non-negative; normalised here. Overrides ``real``.
        hq_threshold: smallest confidence, in [0, 1], of a high-quality image; 0 counts every image.
        min_accuracy: refuse to score when the classifier's held-out accuracy is below this, or unknown
            (``nan`` or missing). ``None`` or 0 disables the check.
        batch_size: images per classifier forward pass.
        smoothing: see :func:`diagnostics.mixture.mode_histogram_kl`.

    Returns:
        The keys of :func:`~diagnostics.mixture.mixture_coverage`, in the same units, where "high
        quality" means confidence >= ``hq_threshold``:

        ``modes_captured``: modes holding at least one high-quality fake image, in [0, k]; higher is
            better, best k. ``modes_total``: k. ``mode_coverage_score``: modes_captured / k.
        ``high_quality_score``: fraction of all fake images that are high quality, in [0, 1].
        ``kl_gen_true_distance``, ``kl_true_gen_distance``: KL(p_gen || p_true) and KL(p_true || p_gen)
            in nats between the high-quality histogram and the reference, smoothed as in
            :func:`~diagnostics.mixture.mode_histogram_kl`; lower is better, best 0; ``nan`` when no
            image is high quality.
        ``mode_mass_{i}``: fraction of all fake images that are high quality and in mode i; only when
            k <= 100 (:data:`MAX_PER_MODE_KEYS`).
        ``classifier_accuracy``: the classifier's held-out accuracy in [0, 1] (``nan`` if unknown).

    Raises:
        ClassifierTooWeakError: held-out accuracy below ``min_accuracy`` (or unknown).
        ValueError: empty ``fake``, bad shapes or options, classifier/n_modes mismatch, invalid weights,
            or real images (when used for the reference) on which the classifier's output is non-finite.
    """
    accuracy = float(getattr(classifier, "held_out_accuracy", float("nan")))
    if min_accuracy is not None and min_accuracy > 0 and not accuracy >= min_accuracy:
        raise ClassifierTooWeakError(accuracy, float(min_accuracy))
    if isinstance(n_modes, bool) or int(n_modes) != n_modes or n_modes < 1:
        raise ValueError(f"n_modes must be an int >= 1, got {n_modes!r}")
    k = int(n_modes)
    classes = getattr(classifier, "n_classes", None)
    if classes is not None and int(classes) != k:
        raise ValueError(f"classifier has {classes} classes but n_modes is {k}")
    if not (math.isfinite(hq_threshold) and 0.0 <= hq_threshold <= 1.0):
        raise ValueError(f"hq_threshold must be in [0, 1], got {hq_threshold}")

    labels, conf = _predict(classifier, fake, batch_size, k, "fake")
    n = labels.size
    if n == 0:
        raise ValueError("fake holds no samples")
    if weights is not None:
        w = _weights(weights, k)
    elif real is not None:
        real_labels, real_conf = _predict(classifier, real, batch_size, k, "real")
        if real_labels.size == 0:
            raise ValueError("real holds no samples; pass real=None for uniform weights")
        # Fix: a non-finite real image (nan, inf, or pixels so far outside [-1, 1] that the logits
        # overflow) gets a nan confidence and an arbitrary arg-max label, which silently skewed the
        # reference histogram. Fake images may be non-finite (never high quality, as in
        # mixture_coverage); the reference may not.
        bad = int(np.count_nonzero(~np.isfinite(real_conf)))
        if bad:
            raise ValueError(
                f"real holds {bad} image(s) on which the classifier's output is non-finite (non-finite "
                "pixels, or pixels far outside [-1, 1]); they would skew the reference mode histogram"
            )
        w = _weights(np.bincount(real_labels, minlength=k), k)
    else:
        w = np.full(k, 1.0 / k)

    is_hq = conf >= hq_threshold  # nan confidences (non-finite images) are never high quality
    counts = np.bincount(labels[is_hq], minlength=k).astype(np.float64)
    out = coverage_from_counts(counts, n, w, smoothing, per_mode=k <= MAX_PER_MODE_KEYS)
    out["classifier_accuracy"] = accuracy
    return out
