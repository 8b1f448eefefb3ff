"""What a variant needs to know about the data (its own module, so that the networks and the variant
base class both import it without importing each other)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """What a variant needs to know about the data: sample shape, modes and their weights.

    ``kind`` is ``"vector"`` (samples ``(n, data_dim)``) or ``"image"`` (samples ``(n, *shape)`` with
    ``shape = (channels, height, width)``, values in [-1, 1], and ``data_dim`` their product).
    """

    data_dim: int
    n_modes: int
    kind: str = "vector"
    mode_weights: tuple[float, ...] = field(default=())
    shape: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in ("vector", "image"):
            raise ValueError(f"Problem.kind must be 'vector' or 'image', got {self.kind!r}")
        if self.kind == "image" and (len(self.shape) != 3 or math.prod(self.shape) != self.data_dim):
            raise ValueError(
                f"an image Problem needs shape (C, H, W) with C*H*W = data_dim ({self.data_dim}); "
                f"got {self.shape}"
            )

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample: ``(data_dim,)`` for vectors, ``(C, H, W)`` for images."""
        return tuple(self.shape) if self.kind == "image" else (self.data_dim,)
