"""The mutation corpus of the gate-power measurement: broken versions of every mitigation that still
train but no longer do what their paper says, and generic faults of the training loop.

Nothing here is a shipped variant or a default. A mutant is either a setting that disables the
mechanism (``options`` / ``train`` overrides of the unbroken variant) or a subclass that removes it;
subclasses are registered under the mutant's own name (``pacgan~single-samples``) only by
:func:`register_mutants`, which the gate-power script calls in every process it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from baselines import draws, registry
from baselines.cgan import CGAN
from baselines.gan import GAN
from baselines.minibatch_discrimination import MinibatchDiscrimination
from baselines.pacgan import PacGAN
from baselines.unrolled import UnrolledGAN
from baselines.variant import Variant


class PacGANSingleSamples(PacGAN):
    """PacGAN whose discriminator judges single samples: an unpacked D, unpacked batches."""

    name = "pacgan~single-samples"

    def build_networks(self):
        return Variant.build_networks(self)

    def real_batch(self, data, gen):
        return Variant.real_batch(self, data, gen)

    def generator_step(self, gen):
        return Variant.generator_step(self, gen)


class UnrolledZeroSteps(UnrolledGAN):
    """The unrolled GAN unrolling 0 steps: G's loss against the current D only."""

    name = "unrolled~0-steps"

    def generator_update(self, data, gen):
        return Variant.generator_update(self, data, gen)


class MinibatchZeroed(MinibatchDiscrimination):
    """Minibatch discrimination with its minibatch features replaced by zeros."""

    name = "minibatch-discrimination~zeroed"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        d = self.discriminator
        d.minibatch_features = lambda h: torch.zeros(*h.shape[:-1], d.kernels, dtype=h.dtype, device=h.device)


class CGANShuffledLabels(CGAN):
    """The conditional GAN trained with its real batches' labels shuffled (conditioning on noise)."""

    name = "cgan~shuffled-labels"

    def real_batch(self, data, gen):
        x, y = super().real_batch(data, gen)
        order = draws.per_run(gen, lambda g: torch.randperm(y.shape[-1], generator=g, device=y.device))
        return x, torch.gather(y, -1, order)


class GANFrozenG(GAN):
    """The plain GAN whose generator stops learning after FROZEN_AFTER iterations."""

    name = "gan~g-frozen"
    FROZEN_AFTER = 100

    def generator_update(self, data, gen):
        self._steps = getattr(self, "_steps", 0) + 1
        if self._steps <= self.FROZEN_AFTER:
            return super().generator_update(data, gen)
        fake = self.generate(self.train.batch_size, gen)  # the same draws, no update
        with torch.no_grad():
            g_loss = self.per_run(self.loss)(self._last_d_real, self.discriminator(fake)).g_loss
        return {"g_loss": g_loss}


MUTANT_CLASSES = (PacGANSingleSamples, UnrolledZeroSteps, MinibatchZeroed, CGANShuffledLabels, GANFrozenG)


@dataclass(frozen=True)
class Mutant:
    name: str
    of: str  # the unbroken variant whose gate cells should catch it
    breaks: str  # what no longer holds
    variant: str = ""  # the registered class to run ("": the unbroken variant with overrides)
    options: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)

    @property
    def run_variant(self) -> str:
        return self.variant or self.of


MUTANTS = (
    Mutant("pacgan~single-samples", "pacgan", "D judges single samples, not packs", "pacgan~single-samples"),
    Mutant("unrolled~0-steps", "unrolled", "G's loss is not unrolled", "unrolled~0-steps"),
    Mutant(
        "feature-matching~layer-0", "feature-matching", "matches the first hidden layer", options={"layer": 0}
    ),
    Mutant(
        "feature-matching-hybrid~weight-0",
        "feature-matching-hybrid",
        "feature-matching term weighted 0",
        options={"fm_weight": 0.0},
    ),
    Mutant(
        "minibatch-discrimination~zeroed",
        "minibatch-discrimination",
        "minibatch features are zeros",
        "minibatch-discrimination~zeroed",
    ),
    Mutant("wgan~no-clipping", "wgan", "clipping never binds (clip 1e6)", options={"clip": 1e6}),
    Mutant("wgan-gp~lambda-0", "wgan-gp", "no gradient penalty", options={"gp_lambda": 0.0}),
    Mutant(
        "experience-replay~never",
        "experience-replay",
        "D never sees replayed samples",
        options={"replay_fraction": 0.0},
    ),
    Mutant("adagan~one-generator", "adagan", "a mixture of one generator", options={"num_generators": 1}),
    Mutant("cgan~shuffled-labels", "cgan", "real labels shuffled", "cgan~shuffled-labels"),
    Mutant(
        "guided-latent~no-classifier",
        "guided-latent",
        "no classifier term in G's loss",
        options={"classifier_weight": 0.0},
    ),
    Mutant(
        "guided-latent~no-guidance",
        "guided-latent",
        "neither the classifier nor the per-mode statistics term in G's loss",
        options={"classifier_weight": 0.0, "stats_weight": 0.0},
    ),
    Mutant("gan~lr-g-0", "gan", "generator learning rate 0", train={"lr_g": 0.0}),
    Mutant("gan~g-frozen", "gan", f"G frozen after {GANFrozenG.FROZEN_AFTER} iterations", "gan~g-frozen"),
    Mutant("gan~lr-d-x100", "gan", "D learning rate x100", train={"lr_d": 1e-2}),
    # The same generic fault in two mitigations, where D's step size matters to the mechanism.
    Mutant("pacgan~lr-d-x100", "pacgan", "D learning rate x100", train={"lr_d": 1e-2}),
    Mutant("feature-matching~lr-d-x100", "feature-matching", "D learning rate x100", train={"lr_d": 1e-2}),
)


def register_mutants() -> None:
    """Register the mutant classes (once per process; the gate-power script's processes only)."""
    for cls in MUTANT_CLASSES:
        if cls.name not in registry.names():
            registry.register(cls)


@contextmanager
def mutants_registered() -> Iterator[None]:
    """The mutant classes registered inside the block only (for tests: the registry is left as it was)."""
    added = [cls for cls in MUTANT_CLASSES if cls.name not in registry.names()]
    for cls in added:
        registry.register(cls)
    try:
        yield
    finally:
        for cls in added:
            registry._VARIANTS.pop(cls.name, None)


def get(name: str) -> Mutant:
    for m in MUTANTS:
        if m.name == name:
            return m
    from baselines.errors import ConfigError

    raise ConfigError(f"unknown mutant {name!r}; valid: {', '.join(m.name for m in MUTANTS)}")
