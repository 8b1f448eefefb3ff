"""Errors the command line turns into one-line messages (exit code 2)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value, key or name is not valid; the message lists the valid choices."""


class Diverged(RuntimeError):
    """Training produced a non-finite loss; ``step`` is the first iteration where it happened."""

    def __init__(self, step: int, what: str):
        super().__init__(f"non-finite {what} at step {step}")
        self.step = step
        self.what = what
