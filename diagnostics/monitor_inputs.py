"""What the collapse monitor (:mod:`diagnostics.monitor`) accepts as data, and its one error type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

MAX_REAL = 5000  # real samples kept (a loader is read until it has given this many)


class MonitorInputError(ValueError):
    """Bad input to the monitor: the message names the value and what is expected."""


def _as_array(x: Any, what: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise MonitorInputError(f"{what} must be an array or tensor of numbers: {err}") from None
    if a.ndim == 0 or a.shape[0] == 0:
        raise MonitorInputError(f"{what} is empty (shape {a.shape}); give at least one sample")
    return a


def _real_array(real: Any) -> np.ndarray:
    """An array, a tensor, or an iterable of batches (a DataLoader: x or (x, y, ...) per batch)."""
    if hasattr(real, "shape") or isinstance(real, np.ndarray | list):
        return _as_array(real, "real data")
    if isinstance(real, Iterable):
        parts, total = [], 0
        for batch in real:
            x = batch[0] if isinstance(batch, tuple | list) else batch
            x = _as_array(x, "a real batch")
            parts.append(x)
            total += x.shape[0]
            if total >= MAX_REAL:
                break
        if not parts:
            raise MonitorInputError("real data is empty: the loader gave no batch")
        return np.concatenate(parts)
    raise MonitorInputError(f"real data must be an array, a tensor or a loader, got {type(real).__name__}")
