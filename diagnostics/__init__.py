"""Sample- and signal-based diagnostics of GAN mode collapse and training failure.

Depends on numpy and scipy; scikit-learn (K-means for NDB), torch and torch-fidelity (tensor inputs,
feature extraction, mode classifiers) are imported only when first needed. Importing the package fills
the diagnostics registry with the built-ins, once, via :func:`registry._register_builtins`. The mode
classifiers of :mod:`diagnostics.classifiers` need torch; they are imported on first access, so
``import diagnostics`` itself does not load torch.
"""

from typing import Any

from .detector_base import FailureEvent
from .detectors import (
    detect_d_loss_to_zero,
    detect_d_saturation,
    detect_g_loss_rising,
    detect_oscillation,
)
from .distances import frechet_distance, kernel_distance
from .duplicates import birthday_support, duplicate_rate
from .errors import ClassifierTooWeakError, UnknownNameError
from .features import FeatureSpaceUnavailableError, extract_features, register_classifier_extractor
from .history import HistoryError, load_history, run_detectors
from .image_coverage import classifier_coverage
from .mixture import mixture_coverage, mode_histogram_kl
from .mode_hopping import detect_mode_hopping
from .ndb import ndb
from .neighbours import prdc
from .registry import _register_builtins, evaluate, get, names, register
from .vendi import vendi_score

_register_builtins()

_CLASSIFIER_NAMES = ("ModeClassifier", "PerChannelClassifier")
_CLASSIFIER_TRAINING_NAMES = ("classifier_info", "data_fingerprint", "load_or_train", "train_mode_classifier")


def __getattr__(name: str) -> Any:
    if name in _CLASSIFIER_NAMES:
        from . import classifiers

        return getattr(classifiers, name)
    if name in _CLASSIFIER_TRAINING_NAMES:
        from . import classifier_training

        return getattr(classifier_training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ClassifierTooWeakError",
    "FailureEvent",
    "FeatureSpaceUnavailableError",
    "HistoryError",
    "ModeClassifier",
    "PerChannelClassifier",
    "UnknownNameError",
    "birthday_support",
    "classifier_coverage",
    "classifier_info",
    "data_fingerprint",
    "detect_d_loss_to_zero",
    "detect_d_saturation",
    "detect_g_loss_rising",
    "detect_mode_hopping",
    "detect_oscillation",
    "duplicate_rate",
    "evaluate",
    "extract_features",
    "frechet_distance",
    "get",
    "kernel_distance",
    "load_history",
    "load_or_train",
    "mixture_coverage",
    "mode_histogram_kl",
    "names",
    "ndb",
    "prdc",
    "register",
    "register_classifier_extractor",
    "run_detectors",
    "train_mode_classifier",
    "vendi_score",
]
