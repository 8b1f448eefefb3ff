"""The variant base class: how a GAN variant computes its losses, never a training loop of its own.

A variant owns its networks and optimizers. The one training step every variant takes is the base
class's template, :meth:`Variant.train_step`: :meth:`~Variant.d_updates` discriminator updates, each
on a fresh :meth:`~Variant.real_batch`, then one :meth:`~Variant.generator_update`. Subclasses override
only the pieces that differ (how many D updates, what a real batch is, the loss, a penalty, the
networks, the fakes D sees, the generator's objective) or add hooks for the shared
:class:`baselines.trainer.Trainer` (replay buffers, snapshots); none writes its own loop.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from . import draws
from .config import TrainConfig
from .errors import ConfigError
from .losses import AdversarialLoss
from .networks import build_discriminator, build_generator
from .problem import Problem
from .stacked import StackedModule, restack_optimizer, unstack_optimizer

StepLogs = dict[str, torch.Tensor]


class RealData(Protocol):
    """What the trainer needs from a dataset (``benchmark.datasets`` provides it).

    ``sample(n, gen)`` returns ``(n, *problem.sample_shape)`` real samples on ``gen``'s device
    (``(n, data_dim)`` for vector data, ``(n, C, H, W)`` in [-1, 1] for images);
    ``sample_labeled(n, gen)`` returns them with their mode labels ``(n,)`` (int64), for the
    variants that condition on or are guided by the mode.
    """

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor: ...

    def sample_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]: ...


class Variant:
    """Base class. Class attributes describe the variant for ``mcbench list`` and the tables."""

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    # "cross-entropy": d_loss >= 0 and near 0 means D wins, so the D-loss-to-zero detector applies;
    # "wasserstein": a signed critic loss, for which that detector means nothing.
    d_loss_kind: ClassVar[str] = "cross-entropy"
    # The image discriminator's normalisation when ``net.d_norm`` is "auto" (DCGAN's batch norm).
    default_d_norm: ClassVar[str] = "batch"
    # True where K runs of the variant train as one batched model (:meth:`batched`) with the same
    # numbers as K single runs (tests/test_batched.py); why not, for the others.
    batchable: ClassVar[bool] = False
    not_batchable_reason: ClassVar[str] = "not yet checked against single runs"
    # Leading run axes of every tensor in a step: 0 for a single run, 1 in a batched job.
    run_dims: int = 0

    @dataclass
    class Options:
        """Variant-specific options; subclasses replace this dataclass."""

    def __init__(self, problem: Problem, train: TrainConfig, options: Any, device: torch.device):
        self.problem = problem
        self.train = train
        self.options = options
        self.device = device
        self.generator, self.discriminator = self.build_networks()
        self.generator.to(device)
        self.discriminator.to(device)
        self.opt_g, self.opt_d = self.build_optimizers()

    # ----- construction ---------------------------------------------------------------------
    @property
    def d_norm(self) -> str:
        """The image discriminator's normalisation: ``net.d_norm``, or this variant's default for "auto"."""
        norm = self.train.net.d_norm
        return self.default_d_norm if norm == "auto" else norm

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """G then D from the shared factory (MLPs for vectors, DCGAN nets for images)."""
        g = build_generator(self.problem, self.train)
        return g, self.build_discriminator()

    def build_discriminator(self, **kwargs: Any) -> nn.Module:
        """A discriminator from the shared factory with this variant's normalisation (see
        :func:`baselines.networks.build_discriminator` for ``kwargs``)."""
        return build_discriminator(self.problem, self.train, norm=self.d_norm, **kwargs)

    def build_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        betas = (self.train.beta1, self.train.beta2)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.train.lr_g, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.train.lr_d, betas=betas)
        return opt_g, opt_d

    def hooks(self) -> list[Any]:
        """Trainer hooks this variant needs (none by default)."""
        return []

    # ----- many runs as one ------------------------------------------------------------------
    @classmethod
    def batched(cls, views: Sequence[Variant]) -> Variant:
        """One variant training the K runs ``views`` (built as their single runs, one seed each) as
        one model: G and D become :class:`baselines.stacked.StackedModule` of the views' networks,
        the optimizers are rebuilt over the stacked parameters, and every step's tensors carry a
        leading run axis. The views keep serving evaluation and checkpoints (:meth:`sync_views`)."""
        if not cls.batchable:
            raise ConfigError(f"variant {cls.name} cannot be batched: {cls.not_batchable_reason}")
        lead = copy.copy(views[0])
        others = [k for k, v in vars(lead).items() if isinstance(v, nn.Module | torch.optim.Optimizer)]
        if set(others) != {"generator", "discriminator", "opt_g", "opt_d"}:
            raise ConfigError(f"variant {cls.name} holds state a batched job cannot stack: {sorted(others)}")
        lead.generator = StackedModule([v.generator for v in views])
        lead.discriminator = StackedModule([v.discriminator for v in views])
        lead.run_dims, lead.views = 1, list(views)
        lead.opt_g, lead.opt_d = lead.build_optimizers()
        return lead

    def sync_views(self, optimizers: bool = False) -> None:
        """Copy each run's networks (and, with ``optimizers``, its optimizer state) into its view."""
        for net in ("generator", "discriminator"):
            getattr(self, net).copy_to([getattr(v, net) for v in self.views])
        if optimizers:
            for opt in ("opt_g", "opt_d"):
                unstack_optimizer(getattr(self, opt), [getattr(v, opt) for v in self.views])

    def restack(self) -> None:
        """The inverse of ``sync_views(optimizers=True)``: the batched state from the views (after
        they loaded their checkpoints)."""
        for net in ("generator", "discriminator"):
            getattr(self, net).copy_from([getattr(v, net) for v in self.views])
        for opt in ("opt_g", "opt_d"):
            restack_optimizer(getattr(self, opt), [getattr(v, opt) for v in self.views])

    def per_run(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, a computation written for one run, applied to each run of a batched job."""
        return torch.func.vmap(fn) if self.run_dims else fn

    def batch_len(self, x: torch.Tensor) -> int:
        """The number of samples in the batch ``x`` (per run in a batched job)."""
        return x.shape[self.run_dims]

    # ----- the game -------------------------------------------------------------------------
    def loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> AdversarialLoss:
        raise NotImplementedError

    def sample_z(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return draws.randn(gen, n, self.train.z_dim, device=self.device)

    def generate(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """Samples from the current generator, shape ``(n, *problem.sample_shape)``; a mixture variant
        overrides."""
        return self.generator(self.sample_z(n, gen))

    def fake_for_discriminator(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, StepLogs]:
        """The fake batch D is trained on (no gradient to G) and extra step logs; a variant that
        shows D other fakes (a replay buffer, an old generator) overrides only this."""
        with torch.no_grad():
            return self.generate(n, gen), {}

    def discriminator_step(self, real: torch.Tensor, gen: torch.Generator) -> StepLogs:
        fake, extra = self.fake_for_discriminator(self.batch_len(real), gen)
        self._last_real = real  # for generator losses that compare with real statistics
        return {**self.update_discriminator(self.discriminator(real), self.discriminator(fake)), **extra}

    def update_discriminator(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> StepLogs:
        """One optimizer step of D on the loss of its logits on a real and a fake batch."""
        out = self.per_run(self.loss)(d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        out.d_loss.sum().backward()  # (a sum over runs: each run's gradient is its own loss's)
        self.opt_d.step()
        self._last_d_real = d_real.detach()
        return {
            "d_loss": out.d_loss.detach(),
            "d_real": torch.sigmoid(d_real.detach()).mean(-1),
            "d_fake": torch.sigmoid(d_fake.detach()).mean(-1),
        }

    def generator_step(self, gen: torch.Generator) -> StepLogs:
        fake = self.generate(self.train.batch_size, gen)
        d_fake = self.discriminator(fake)
        # The generator loss reuses D's logits on the last real batch (taken before D's update) so
        # that losses which need them (relativistic ones) work without another forward pass.
        return self.update_generator(self.per_run(self.loss)(self._last_d_real, d_fake).g_loss)

    def update_generator(self, g_loss: torch.Tensor, logs: StepLogs | None = None) -> StepLogs:
        """One optimizer step of G on ``g_loss``; returns ``g_loss`` (detached) with ``logs``."""
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        self.opt_g.step()
        return {"g_loss": g_loss.detach(), **(logs or {})}

    def d_updates(self) -> int:
        """Discriminator updates before each generator update (``train.d_steps``; WGAN's ``n_critic``)."""
        return self.train.d_steps

    def real_batch(self, data: RealData, gen: torch.Generator) -> Any:
        """The real batch of one discriminator update, passed as is to :meth:`discriminator_step`
        (PacGAN draws ``pack`` times more; cGAN draws the mode labels with it)."""
        return draws.sample(data, self.train.batch_size, gen)

    def train_step(self, data: RealData, gen: torch.Generator) -> StepLogs:
        """The template of every variant's step: ``d_updates()`` discriminator updates, each on a
        fresh real batch, then one generator update; the logs of the last D update and of G's.

        The order of random draws is part of the contract (it makes runs reproducible and equal to
        a plain loop, ``tests/test_harness_equivalence.py``): real batch, D's fakes, for each D
        update; then G's noise."""
        logs: StepLogs = {}
        for _ in range(self.d_updates()):
            logs = self.discriminator_step(self.real_batch(data, gen), gen)
        logs.update(self.generator_update(data, gen))
        return logs

    def generator_update(self, data: RealData, gen: torch.Generator) -> StepLogs:
        """The template's generator update: :meth:`generator_step`, which needs no data; an objective
        that draws real samples of its own (the unrolled GAN's simulated D steps) overrides this."""
        return self.generator_step(gen)

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])

    def grad_norms(self) -> dict[str, Any]:
        """L2 norms of the current gradients of G and D (after the last step), for logging: floats,
        or one list of K floats each in a batched job."""
        out: dict[str, Any] = {}
        for key, net in (("g_grad_norm", self.generator), ("d_grad_norm", self.discriminator)):
            grads = [p.grad.detach() for p in net.parameters() if p.grad is not None]
            if not self.run_dims:
                out[key] = float(torch.cat([g.flatten() for g in grads]).norm()) if grads else 0.0
            elif grads:
                out[key] = torch.cat([g.flatten(1) for g in grads], 1).norm(dim=1).tolist()
            else:
                out[key] = [0.0] * len(self.views)
        return out
