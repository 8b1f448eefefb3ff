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
from .vendi import vendi_score

DiagnosticFn = Callable[..., Mapping[str, float]]

DIRECTIONS = ("higher", "lower", "none")
KINDS = ("mixture", "image")  # the dataset kinds a run's periodic evaluation can score


@dataclass(frozen=True)
class Output:
    """What the reports need to know about one output key: every table, report, learning curve and
    the regression gate reads these instead of writing the metric out again.

    Attributes:
        key: the key in the diagnostic's output dict (and ``eval/KEY`` in a run's metrics log).
        label: the column title, e.g. ``"HQ %"``.
        direction: ``"higher"``, ``"lower"`` or ``"none"`` is better.
        scale: display multiplier (a fraction shown as a percentage: 100).
        digits: decimals shown.
        upper: the largest displayed value (intervals are clipped to it): a number, or the name of a
            summary key that holds it per run (``"modes_total"``).
        last: also reported as each run's mean over its last evaluations (mode hopping makes one
            final snapshot a lottery).
        gate_floor: the regression gate checks this key, with this absolute floor on its tolerance;
            ``None`` leaves it out of the gate.
    """

    key: str
    label: str
    direction: str
    scale: float = 1.0
    digits: int = 3
    upper: float | str = float("inf")
    last: bool = False
    gate_floor: float | None = None

    def __post_init__(self) -> None:
        if not self.key or not self.label:
            raise ValueError(f"an output needs a key and a label, got {self.key!r}, {self.label!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"output {self.key!r}: direction must be one of {DIRECTIONS}, got {self.direction!r}"
            )


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
        outputs: the keys tables, reports and the gate show, with their labels and directions.
        evaluated_on: dataset kinds (:data:`KINDS`) whose runs compute this diagnostic at every
            evaluation and in the final summary; empty for diagnostics called on demand.
    """

    name: str
    fn: DiagnosticFn
    direction: str
    needs: tuple[str, ...] = ()
    main_key: str = ""
    outputs: tuple[Output, ...] = ()
    evaluated_on: tuple[str, ...] = ()


_REGISTRY: dict[str, Diagnostic] = {}


def register(
    name: str,
    fn: DiagnosticFn,
    direction: str,
    needs: Sequence[str] = (),
    main_key: str | None = None,
    outputs: Sequence[Output] = (),
    evaluated_on: Sequence[str] = (),
) -> Diagnostic:
    """Add a diagnostic to the registry and return its entry.

    ``main_key`` defaults to the first declared output's key, else ``name``. Raises
    ``ValueError`` for an empty or already-registered name, an unknown ``direction`` or kind in
    ``evaluated_on``, a malformed ``needs`` or an output key declared with another meaning by a
    registered diagnostic; ``TypeError`` when ``fn`` is not callable.
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
    bad_kinds = [k for k in evaluated_on if k not in KINDS]
    if isinstance(evaluated_on, str) or bad_kinds:
        raise ValueError(
            f"diagnostic {name!r}: evaluated_on must hold kinds from {KINDS}, got {evaluated_on!r}"
        )
    outputs_t = tuple(outputs)
    for out in outputs_t:
        if not isinstance(out, Output):
            raise TypeError(f"diagnostic {name!r}: outputs must be Output entries, got {type(out).__name__}")
        known = _declared(out.key)
        if known is not None and known != out:
            raise ValueError(f"diagnostic {name!r}: output {out.key!r} is already declared differently")
    entry = Diagnostic(
        name=name,
        fn=fn,
        direction=direction,
        needs=needs_t,
        main_key=main_key or (outputs_t[0].key if outputs_t else name),
        outputs=outputs_t,
        evaluated_on=tuple(evaluated_on),
    )
    _REGISTRY[name] = entry
    return entry


def _declared(key: str) -> Output | None:
    for entry in _REGISTRY.values():
        for out in entry.outputs:
            if out.key == key:
                return out
    return None


def evaluated_on(kind: str) -> list[str]:
    """Names of the diagnostics a run on a dataset of ``kind`` computes, in registration order."""
    if kind not in KINDS:
        raise UnknownNameError("dataset kind", kind, KINDS)
    return [name for name, entry in _REGISTRY.items() if kind in entry.evaluated_on]


def outputs(kind: str | None = None) -> list[Output]:
    """The declared outputs of the diagnostics runs compute (on ``kind``, or on any kind), each key
    once, in registration order: the columns of every table and the keys of the gate."""
    seen: dict[str, Output] = {}
    for entry in _REGISTRY.values():
        if entry.evaluated_on and (kind is None or kind in entry.evaluated_on):
            for out in entry.outputs:
                seen.setdefault(out.key, out)
    return list(seen.values())


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


# The coverage outputs, shared by the mixture (VEEGAN protocol) and the classifier coverage: the same
# keys mean the same thing on both kinds of data.
COVERAGE_OUTPUTS = (
    Output("modes_captured", "modes", "higher", digits=1, upper="modes_total", last=True, gate_floor=0.5),
    Output(
        "high_quality_score", "HQ %", "higher", scale=100.0, digits=1, upper=100.0, last=True, gate_floor=0.05
    ),
    Output("kl_gen_true_distance", "KL(gen||true)", "lower", gate_floor=0.05),
    Output("kl_true_gen_distance", "KL(true||gen)", "lower"),
)


def _register_builtins() -> None:
    """Register the diagnostics shipped with the package. Safe to call more than once."""
    if "mixture_coverage" not in _REGISTRY:
        register(
            "mixture_coverage",
            mixture_coverage,
            direction="higher",
            needs=("centres", "sigma"),
            main_key="modes_captured",
            outputs=COVERAGE_OUTPUTS,
            evaluated_on=("mixture",),
        )
    if "classifier_coverage" not in _REGISTRY:
        register(
            "classifier_coverage",
            classifier_coverage,
            direction="higher",
            needs=("classifier", "n_modes"),
            main_key="modes_captured",
            outputs=COVERAGE_OUTPUTS,
            evaluated_on=("image",),
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
        ("vendi_score", vendi_score, "higher", "vendi_fake"),
    ):
        if name not in _REGISTRY:
            register(name, fn, direction=direction, main_key=main_key)
