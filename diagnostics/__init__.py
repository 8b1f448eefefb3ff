"""Sample- and signal-based diagnostics of GAN mode collapse and training failure.

Depends only on numpy, scipy and (optionally, for tensor inputs) torch. Importing the package fills
the diagnostics registry with the built-ins, once, via :func:`registry._register_builtins`. The mode
classifiers of :mod:`diagnostics.classifiers` need torch; they are imported on first access, so
``import diagnostics`` itself does not load torch.
"""

from typing import Any

from .detectors import (
    FailureEvent,
    detect_d_loss_to_zero,
    detect_d_saturation,
    detect_g_loss_rising,
    detect_mode_hopping,
    detect_oscillation,
)
from .errors import ClassifierTooWeakError, UnknownNameError
from .history import HistoryError, load_history, run_detectors
from .image_coverage import classifier_coverage
from .mixture import mixture_coverage, mode_histogram_kl
from .registry import _register_builtins, evaluate, get, names, register

_register_builtins()

_CLASSIFIER_NAMES = (
    "ModeClassifier",
    "PerChannelClassifier",
    "classifier_info",
    "data_fingerprint",
    "load_or_train",
    "train_mode_classifier",
)


def __getattr__(name: str) -> Any:
    if name in _CLASSIFIER_NAMES:
        from . import classifiers

        return getattr(classifiers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HistoryError",
    "detect_d_saturation",
    "detect_g_loss_rising",
    "detect_mode_hopping",
    "detect_oscillation",
    "load_history",
    "run_detectors",
    "ClassifierTooWeakError",
    "FailureEvent",
    "ModeClassifier",
    "PerChannelClassifier",
    "UnknownNameError",
    "classifier_coverage",
    "classifier_info",
    "data_fingerprint",
    "detect_d_loss_to_zero",
    "evaluate",
    "get",
    "load_or_train",
    "mixture_coverage",
    "mode_histogram_kl",
    "names",
    "register",
    "train_mode_classifier",
]
