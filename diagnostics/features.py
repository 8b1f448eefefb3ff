"""Feature spaces for the distribution diagnostics: raw coordinates, a mode classifier, Inception-v3.

The distance and neighbourhood diagnostics (:mod:`diagnostics.distances`, :mod:`diagnostics.neighbours`,
:mod:`diagnostics.ndb`, :mod:`diagnostics.duplicates`) all take feature arrays of shape (n, d). This
module turns samples into such arrays, once per set, so several diagnostics can share them:

* ``"raw"``: the samples themselves, flattened (mixture coordinates, or image pixels mapped to
  [-1, 1] as :func:`diagnostics.classifiers.to_model_input` does, so uint8 real images and float fake
  images land on the same scale).
* ``"classifier"``: the penultimate layer of the dataset's mode classifier (``classifier.features``);
  for stacked MNIST the per-channel features are concatenated (3 x 128 = 384-d).
* ``"inception"``: torch-fidelity's ``inception-v3-compat`` pool features (2048-d), the space of the
  published FID numbers. Only from a weights file the user already has: ``weights_path`` or the
  copy torch-fidelity keeps in torch's hub cache. This module never downloads anything; without the
  weights it raises :class:`FeatureSpaceUnavailableError` and the caller leaves the column empty.

A Frechet distance in the classifier space is *not* an FID: it is not comparable with Inception FID
numbers from papers, only with other numbers in the same space with the same classifier weights.
Label every column with its space.

:func:`register_classifier_extractor` also exposes a mode classifier to torch-fidelity as a feature
extractor, so torch-fidelity's own metrics (``calculate_metrics(..., feature_extractor=name)``) can run
in the classifier space; the tests use it to cross-check :mod:`diagnostics.distances`.

torch and torch-fidelity are imported only when a function here needs them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

SPACES = ("raw", "classifier", "inception")
INCEPTION_NAME = "inception-v3-compat"
INCEPTION_FEATURE = "2048"


class FeatureSpaceUnavailableError(RuntimeError):
    """A feature space cannot be computed here (e.g. Inception weights are not on this machine)."""


def as_features(x: Any, what: str, dtype: Any = np.float64) -> np.ndarray:
    """Host copy of a feature array (numpy, nested sequence or torch tensor) as 2-D ``dtype``.

    Shape (n,) is read as n one-dimensional samples. Raises ``ValueError`` for other ranks, for fewer
    than 2 samples or for non-finite entries, which would silently poison every statistic.
    """
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a numeric array of shape (n, d), got {type(x).__name__}") from exc
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{what} must have shape (n, d), got {a.shape}; extract features first")
    if a.shape[0] < 2:
        raise ValueError(f"{what} needs at least 2 samples, got {a.shape[0]}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} holds non-finite values")
    return a


def _raw(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.ndim == 4 and a.dtype == np.uint8:  # images: same scale as float images in [-1, 1]
        a = a.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 1:
        return a[:, None]
    return a.reshape(a.shape[0], -1)


def _classifier_features(x: Any, classifier: Any, batch_size: int) -> np.ndarray:
    import torch

    from .classifiers import _module_device, to_model_input

    if classifier is None or not hasattr(classifier, "features"):
        raise ValueError("space 'classifier' needs classifier=<a mode classifier with a .features method>")
    images = to_model_input(x)
    device = _module_device(classifier)
    was_training = classifier.training
    classifier.eval()
    parts = []
    try:
        with torch.inference_mode():
            for start in range(0, images.shape[0], batch_size):
                batch = images[start : start + batch_size].to(device)
                parts.append(classifier.features(batch).float().cpu())
    finally:
        classifier.train(was_training)
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(parts).numpy()


def inception_weights(weights_path: str | os.PathLike | None = None) -> Path:
    """The Inception-v3 weights file to use, without downloading: ``weights_path`` or the hub cache.

    Raises:
        FeatureSpaceUnavailableError: neither exists; the message says where the file was looked for.
    """
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise FeatureSpaceUnavailableError(f"Inception weights file {path} does not exist")
        return path
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    cached = Path(torch.hub.get_dir()) / "checkpoints" / URL_INCEPTION_V3.rsplit("/", 1)[-1]
    if cached.is_file():
        return cached
    raise FeatureSpaceUnavailableError(
        f"Inception-v3 weights are not on this machine (looked for {cached}); they are not on PyPI and "
        "this suite never downloads at run time. Pass feature_extractor_weights_path=<file> "
        f"(torch-fidelity's {URL_INCEPTION_V3.rsplit('/', 1)[-1]}) or use the 'classifier' feature space"
    )


def _to_uint8_rgb(x: Any) -> Any:
    """Images (n, C, H, W) as the uint8 RGB tensors torch-fidelity's extractors expect."""
    import torch

    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 4 or t.shape[1] not in (1, 3):
        raise ValueError(f"Inception features need images (n, 1 or 3, H, W), got {tuple(t.shape)}")
    if t.dtype != torch.uint8:
        if not t.is_floating_point():
            raise ValueError(f"images must be uint8 in [0, 255] or float in [-1, 1], got {t.dtype}")
        t = ((t.float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t


def _inception_features(x: Any, weights_path: Any, batch_size: int) -> np.ndarray:
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = inception_weights(weights_path)
    model = FeatureExtractorInceptionV3(
        INCEPTION_NAME, [INCEPTION_FEATURE], feature_extractor_weights_path=str(path)
    )
    images = _to_uint8_rgb(x)
    parts = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            (feat,) = model(images[start : start + batch_size].contiguous())
            parts.append(feat.float().cpu())
    return torch.cat(parts).numpy()


def extract_features(
    x: Any,
    space: str,
    *,
    classifier: Any = None,
    batch_size: int = 1000,
    feature_extractor_weights_path: str | os.PathLike | None = None,
) -> tuple[np.ndarray, str]:
    """Samples to features, float32 array (n, d), in the named space.

    Args:
        x: samples; (n, d) coordinates for ``"raw"``, or images (n, C, H, W), uint8 in [0, 255] or float
            in [-1, 1] (numpy or torch).
        space: ``"raw"``, ``"classifier"`` or ``"inception"`` (see the module docstring).
        classifier: the mode classifier for ``"classifier"`` (anything with ``features(images)``, e.g.
            :class:`~diagnostics.classifiers.ModeClassifier` or ``PerChannelClassifier``); it runs on
            its own device, in eval mode (its training flag is restored), without gradients.
        batch_size: images per forward pass.
        feature_extractor_weights_path: Inception-v3 weights in torch-fidelity's format, for
            ``"inception"``; when omitted, only torch's hub cache is tried.

    Returns:
        ``(features, name)``: float32 (n, d) and the name to label results with: ``"raw"``,
        ``"classifier"`` or ``"inception-v3-compat"``.

    Raises:
        ValueError: unknown space, missing classifier, bad image shape or dtype, ``batch_size < 1``.
        FeatureSpaceUnavailableError: ``"inception"`` without weights on this machine.
    """
    if space not in SPACES:
        raise ValueError(f"unknown feature space {space!r}; valid spaces: {', '.join(SPACES)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if space == "raw":
        return _raw(x), "raw"
    if space == "classifier":
        return _classifier_features(x, classifier, batch_size), "classifier"
    return _inception_features(x, feature_extractor_weights_path, batch_size), INCEPTION_NAME


# ------------------------------------------------------------------ torch-fidelity feature extractor


def register_classifier_extractor(classifier: Any, name: str | None = None) -> str:
    """Make ``classifier`` available to torch-fidelity as feature extractor ``name``; return the name.

    torch-fidelity's registry maps a name to a *class* that it instantiates itself, so a subclass of
    ``FeatureExtractorBase`` is made for this classifier instance. It provides ``"features"`` (the
    penultimate layer, the default layer for FID, KID and precision/recall) and ``"logits"`` (the
    default for the Inception Score). Inputs are torch-fidelity's uint8 images (n, C, H, W).

    ``name`` defaults to ``"mode-classifier-<data_hash>"`` (or the object id when the classifier has
    no ``data_hash``). Registering the same classifier under the same name again returns the name;
    another classifier under a taken name raises ``ValueError`` (torch-fidelity cannot unregister).
    """
    from torch_fidelity import register_feature_extractor
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if not hasattr(classifier, "features"):
        raise TypeError(f"classifier must have a features() method, got {type(classifier).__name__}")
    if name is None:
        tag = str(getattr(classifier, "data_hash", "") or f"{id(classifier):x}")
        name = f"mode-classifier-{tag}"
    existing = FEATURE_EXTRACTORS_REGISTRY.get(name)
    if existing is not None:
        if getattr(existing, "classifier", None) is classifier:
            return name
        raise ValueError(f"torch-fidelity feature extractor {name!r} is already registered for another model")
    cls = type("ModeClassifierExtractor", (_classifier_extractor_base(),), {"classifier": classifier})
    register_feature_extractor(name, cls)
    return name


def _classifier_extractor_base() -> type:
    """The FeatureExtractorBase subclass, built on first use so torch-fidelity is imported lazily."""
    global _EXTRACTOR_BASE
    if _EXTRACTOR_BASE is not None:
        return _EXTRACTOR_BASE
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase

    from .classifiers import to_model_input

    class ClassifierExtractorBase(FeatureExtractorBase):
        classifier: Any = None  # set on each per-instance subclass

        def __init__(self, name: str, features_list: list[str], **kwargs: Any):
            super().__init__(name, features_list)
            self.model = type(self).classifier  # a submodule, so .cuda()/.eval() reach it
            self.model.eval()

        @staticmethod
        def get_provided_features_list() -> tuple[str, ...]:
            return ("features", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric: str) -> str:
            return {"isc": "logits", "fid": "features", "kid": "features", "prc": "features"}[metric]

        @staticmethod
        def can_be_compiled() -> bool:
            return False

        @staticmethod
        def get_dummy_input_for_compile() -> Any:
            return None

        def forward(self, x: Any) -> tuple[Any, ...]:
            images = to_model_input(x)
            feats = self.model.features(images)
            out = {"features": feats.float()}
            if "logits" in self.features_list:
                out["logits"] = self.model(images).float()
            return tuple(out[k] for k in self.features_list)

    _EXTRACTOR_BASE = ClassifierExtractorBase
    return _EXTRACTOR_BASE


_EXTRACTOR_BASE: type | None = None
