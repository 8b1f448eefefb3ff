"""Sample- and signal-based diagnostics of GAN mode collapse and training failure.

Depends only on numpy, scipy and (optionally, for tensor inputs) torch. Importing the package fills
the diagnostics registry with the built-ins, once, via :func:`registry._register_builtins`.
"""

from .detectors import FailureEvent, detect_d_loss_to_zero
from .errors import UnknownNameError
from .mixture import mixture_coverage, mode_histogram_kl
from .registry import _register_builtins, evaluate, get, names, register

_register_builtins()

__all__ = [
    "FailureEvent",
    "UnknownNameError",
    "detect_d_loss_to_zero",
    "evaluate",
    "get",
    "mixture_coverage",
    "mode_histogram_kl",
    "names",
    "register",
]
