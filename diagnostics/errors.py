"""Exceptions raised by the diagnostics package."""

from __future__ import annotations

from collections.abc import Iterable


class UnknownNameError(ValueError):
    """A name was looked up in a registry that does not hold it.

    The message names the missing entry and lists every valid name in sorted order, so a typo on the
    command line can be fixed from the error alone.
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind = kind
        self.name = name
        self.valid = tuple(sorted(valid))
        listed = ", ".join(self.valid) if self.valid else "(none registered)"
        super().__init__(f"unknown {kind} {name!r}; valid names: {listed}")


class ClassifierTooWeakError(ValueError):
    """A mode classifier's held-out accuracy is below the threshold a diagnostic demands.

    Coverage counted by a classifier that mislabels many real images says more about the classifier
    than about the generator, so scoring refuses instead of returning a misleading number.
    """

    def __init__(self, accuracy: float, min_accuracy: float, option: str = "min_accuracy"):
        self.accuracy = accuracy
        self.min_accuracy = min_accuracy
        super().__init__(
            f"mode classifier held-out accuracy {accuracy:.4f} is below the required {min_accuracy:.4f}; "
            f"train it longer or on more data, or pass {option}=<lower value> (0 disables the check)"
        )
