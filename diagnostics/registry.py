"""A registry of sample-based diagnostics, looked up by name.

Every diagnostic follows one contract::

    fn(real, fake, **options) -> dict[str, float]

``real`` and ``fake`` are whatever the diagnostic documents (typically arrays or tensors of shape
(n, d)); a diagnostic that has no use for one of them still accepts it. ``options`` are keyword
arguments such as the mixture centres. :func:`evaluate` runs several diagnostics on the same pair of
samples and merges their results into one flat dict, so the benchmark can write one row per run.

The registry is filled by :func:`_register_builtins`, which ``diagnostics/__init__.py`` calls once at
import; no other module registers anything as a side effect of being imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .distances import frechet_distance, kernel_distance
from .duplicates import birthday_support, duplicate_rate
from .errors import UnknownNameError
from .image_coverage import classifier_coverage
from .mixture import mixture_coverage
from .ndb import ndb
from .neighbours import prdc

DiagnosticFn = Callable[..., Mapping[str, float]]

DIRECTIONS = ("higher", "lower", "none")


@dataclass(frozen=True)
class Diagnostic:
    """One registered diagnostic.

    Attributes:
        name: registry key.
        fn: callable following the ``fn(real, fake, **options) -> dict[str, float]`` contract.
        direction: which way is better for ``main_key``: ``"higher"``, ``"lower"`` or ``"none"``
            (informational only). Other keys in the output may go either way; their docstrings say.
        needs: option names that :func:`evaluate` must receive for this diagnostic to run.
        main_key: the output key that summarises the diagnostic in tables.
    """

    name: str
    fn: DiagnosticFn
    direction: str
    needs: tuple[str, ...] = ()
    main_key: str = ""


_REGISTRY: dict[str, Diagnostic] = {}


def register(
    name: str,
    fn: DiagnosticFn,
    direction: str,
    needs: Sequence[str] = (),
    main_key: str | None = None,
) -> Diagnostic:
    """Add a diagnostic to the registry and return its entry.

    ``main_key`` defaults to ``name``. Raises ``ValueError`` for an empty or already-registered name,
    an unknown ``direction`` or a malformed ``needs``; ``TypeError`` when ``fn`` is not callable.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"diagnostic name must be a non-empty string, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"diagnostic {name!r} is already registered")
    if not callable(fn):
        raise TypeError(f"diagnostic {name!r}: fn must be callable, got {type(fn).__name__}")
    if direction not in DIRECTIONS:
        raise ValueError(f"diagnostic {name!r}: direction must be one of {DIRECTIONS}, got {direction!r}")
    if isinstance(needs, str):
        raise ValueError(f"diagnostic {name!r}: needs must be a sequence of option names, not a string")
    needs_t = tuple(needs)
    if not all(isinstance(n, str) and n for n in needs_t):
        raise ValueError(f"diagnostic {name!r}: needs must hold non-empty strings, got {needs_t!r}")
    entry = Diagnostic(name=name, fn=fn, direction=direction, needs=needs_t, main_key=main_key or name)
    _REGISTRY[name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a diagnostic (mainly for tests that register scratch entries)."""
    if name not in _REGISTRY:
        raise UnknownNameError("diagnostic", name, _REGISTRY)
    del _REGISTRY[name]


def get(name: str) -> Diagnostic:
    """Return the entry for ``name``; raise :class:`UnknownNameError` listing the valid names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("diagnostic", name, _REGISTRY) from None


def names() -> list[str]:
    """Registered diagnostic names, sorted."""
    return sorted(_REGISTRY)


def _accepted_options(fn: DiagnosticFn, options: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``options`` that ``fn`` can take as keyword arguments.

    A function with ``**kwargs`` receives everything; otherwise only options naming one of its
    keyword-capable parameters (other than the first two, ``real`` and ``fake``) are passed. This lets
    one :func:`evaluate` call feed several diagnostics that need different options.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: pass everything
        return dict(options)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return dict(options)
    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    positional = [p for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY][:2]
    allowed = {p.name for p in params if p.kind in keyword_kinds} - {p.name for p in positional}
    return {k: v for k, v in options.items() if k in allowed}


def evaluate(names: Sequence[str], real: Any, fake: Any, **options: Any) -> dict[str, float]:
    """Run the named diagnostics on one (real, fake) pair and merge their outputs.

    Args:
        names: registered diagnostic names, run in the given order; each at most once.
        real, fake: passed unchanged to every diagnostic.
        **options: keyword options; each diagnostic receives those its signature accepts.

    Returns:
        One flat ``dict[str, float]`` holding every key of every diagnostic's output.

    Raises:
        UnknownNameError: a name is not registered (checked before anything runs).
        ValueError: a name is repeated, a diagnostic's ``needs`` are missing from ``options``, two
            diagnostics return the same key, or a diagnostic omits its ``main_key``.
        TypeError: ``names`` is a single string rather than a sequence of names.
    """
    if isinstance(names, str):
        raise TypeError("names must be a sequence of diagnostic names, not a single string")
    entries = [get(n) for n in names]
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise ValueError(f"diagnostic {entry.name!r} listed more than once")
        seen.add(entry.name)
        missing = [n for n in entry.needs if n not in options]
        if missing:
            raise ValueError(f"diagnostic {entry.name!r} needs option(s) {', '.join(missing)}")

    merged: dict[str, float] = {}
    origin: dict[str, str] = {}
    for entry in entries:
        result = entry.fn(real, fake, **_accepted_options(entry.fn, options))
        if entry.main_key not in result:
            raise ValueError(f"diagnostic {entry.name!r} did not return its main key {entry.main_key!r}")
        for key, value in result.items():
            if key in merged:
                raise ValueError(f"output key {key!r} returned by both {origin[key]!r} and {entry.name!r}")
            merged[key] = float(value)
            origin[key] = entry.name
    return merged


def _register_builtins() -> None:
    """Register the diagnostics shipped with the package. Safe to call more than once."""
    if "mixture_coverage" not in _REGISTRY:
        register(
            "mixture_coverage",
            mixture_coverage,
            direction="higher",
            needs=("centres", "sigma"),
            main_key="modes_captured",
        )
    if "classifier_coverage" not in _REGISTRY:
        register(
            "classifier_coverage",
            classifier_coverage,
            direction="higher",
            needs=("classifier", "n_modes"),
            main_key="modes_captured",
        )
    # Distribution diagnostics on feature arrays (n, d); the caller picks the feature space
    # (diagnostics.features.extract_features) and labels the results with it.
    for name, fn, direction, main_key in (
        ("frechet_distance", frechet_distance, "lower", "frechet_distance"),
        ("kernel_distance", kernel_distance, "lower", "kid_mean"),
        ("prdc", prdc, "higher", "recall_score"),
        ("ndb", ndb, "lower", "ndb_k"),
        ("duplicate_rate", duplicate_rate, "lower", "dup_rate_fake"),
        ("birthday_support", birthday_support, "higher", "support_estimate"),
    ):
        if name not in _REGISTRY:
            register(name, fn, direction=direction, main_key=main_key)
