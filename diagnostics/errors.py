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
