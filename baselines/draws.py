"""Random draws for one run or for K runs trained as one batched model.

A single run draws from one ``torch.Generator``. A batched job of K runs carries a
:class:`RunGenerators`, one generator per run, and every draw goes through the helpers below: each
run's tensor is drawn from its own generator, in the order a single run would draw it, and the K
tensors are stacked on a leading run axis. So run ``k`` of a batched job sees exactly the random
numbers of the single run with the same seed (``tests/test_batched.py`` checks it for every variant
that can be batched). The cost of a draw is the same as in K single runs: the draws are not where
batching saves time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch


class RunGenerators:
    """The random streams of K runs: ``gens[k]`` is run ``k``'s generator, seeded as its single run."""

    def __init__(self, gens: list[torch.Generator]):
        if not gens:
            raise ValueError("RunGenerators needs at least one generator")
        self.gens = list(gens)
        self.device = gens[0].device

    def __len__(self) -> int:
        return len(self.gens)

    def __iter__(self) -> Iterator[torch.Generator]:
        return iter(self.gens)

    def __getitem__(self, k: int) -> torch.Generator:
        return self.gens[k]


Gen = torch.Generator | RunGenerators


def per_run(gen: Gen, draw: Callable[[torch.Generator], Any]) -> Any:
    """``draw(gen)`` for one run; for K runs, ``draw`` once per run's generator, the results stacked on
    a new leading axis (tuples of tensors are stacked element by element)."""
    if not isinstance(gen, RunGenerators):
        return draw(gen)
    parts = [draw(g) for g in gen.gens]
    if isinstance(parts[0], tuple):
        return tuple(torch.stack(p) for p in zip(*parts, strict=True))
    return torch.stack(parts)


def randn(gen: Gen, *shape: int, device: torch.device | None = None) -> torch.Tensor:
    """Standard normal draws of ``shape`` (``(K, *shape)`` for K runs, each run's slice filled in
    place by its generator: the numbers ``torch.randn`` gives, without a copy to stack them)."""
    if not isinstance(gen, RunGenerators):
        return torch.randn(*shape, generator=gen, device=device)
    out = torch.empty(len(gen), *shape, device=device)
    for k, g in enumerate(gen.gens):
        out[k].normal_(generator=g)
    return out


def rand(
    gen: Gen, *shape: int, device: torch.device | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape`` (``(K, *shape)`` for K runs)."""
    return per_run(gen, lambda g: torch.rand(*shape, generator=g, device=device, dtype=dtype))


def multinomial(gen: Gen, weights: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` indices drawn with replacement with probabilities ``weights`` (``(K, n)`` for K runs)."""
    return per_run(gen, lambda g: torch.multinomial(weights, n, replacement=True, generator=g))


def sample(data: Any, n: int, gen: Gen) -> torch.Tensor:
    """``n`` real samples (``data.sample``), ``(K, n, ...)`` for K runs."""
    return per_run(gen, lambda g: data.sample(n, g))


def sample_labeled(data: Any, n: int, gen: Gen) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` real samples with their mode labels (``data.sample_labeled``), stacked per run."""
    return per_run(gen, lambda g: data.sample_labeled(n, g))
