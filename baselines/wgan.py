"""Wasserstein GAN with weight clipping (Arjovsky, Chintala, Bottou 2017, arXiv 1701.07875).

The critic D scores samples with an unbounded real number and is trained ``n_critic`` times per
generator update on the Wasserstein loss (:func:`baselines.losses.wasserstein`); after every critic
update each of its parameters is clipped to ``[-clip, clip]``, a crude way to keep D in a set of
K-Lipschitz functions so that ``mean D(real) - mean D(fake)`` estimates the Wasserstein-1 distance
(up to the factor K).

Hyperparameters: ``n_critic`` = 5, ``clip`` = 0.01 and RMSProp with learning rate 5e-5 for both
networks are the paper's (Algorithm 1; the paper reports that momentum-based optimizers such as Adam
made the critic unstable). They are options, because the protocol's TrainConfig rates (Adam, 1e-4 / 1e-3)
are tuned for the plain GAN: ``lr_d`` / ``lr_g`` set to ``None`` fall back to TrainConfig's
``lr_d`` / ``lr_g`` (so ``--lr-d`` / ``--lr-g`` on the command line affect WGAN only then; use
``--set lr_d=...``), and ``optimizer="adam"`` uses TrainConfig's betas unless ``beta1`` / ``beta2`` are
given. Batch, latent size and networks come from the protocol. TrainConfig's ``d_steps`` must stay 1:
the number of critic steps is this variant's ``n_critic`` option.

Step logs: ``d_loss`` is the critic loss (plus any penalty a subclass adds), ``wasserstein_estimate``
is ``mean D(real) - mean D(fake)``, and ``critic_real`` / ``critic_fake`` are the raw mean critic
scores. There is no ``d_real`` / ``d_fake``: a critic's output is not a logit, so its sigmoid is not a
probability of "real". All critic logs are from the last of the ``n_critic`` critic steps.

Images: the critic is the DCGAN discriminator with batch norm, as in the paper's DCGAN experiments;
clipping applies to every parameter, the norm layers' scales and shifts included (as the authors'
code clamps all of ``netD.parameters()``), never to the running statistics, which are buffers.

Not implemented: the authors' code (not Algorithm 1) also runs 100 critic steps for the first 25
generator steps and every 500th one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from .config import TrainConfig, check_option
from .errors import ConfigError
from .losses import AdversarialLoss, wasserstein
from .variant import Problem, StepLogs, Variant


class WGAN(Variant):
    name = "wgan"
    d_loss_kind = "wasserstein"
    paper = "Arjovsky, Chintala, Bottou 2017, arXiv 1701.07875"
    batchable = True

    @dataclass
    class Options:
        n_critic: int = 5  # critic updates per generator update (paper)
        clip: float = 0.01  # critic parameters are clipped to [-clip, clip] (paper)
        optimizer: Literal["rmsprop", "adam"] = "rmsprop"  # paper
        lr_d: float | None = 5e-5  # paper; None: TrainConfig.lr_d
        lr_g: float | None = 5e-5  # paper; None: TrainConfig.lr_g
        beta1: float | None = None  # Adam only; None: TrainConfig.beta1
        beta2: float | None = None  # Adam only; None: TrainConfig.beta2

        def __post_init__(self) -> None:
            check_option("n_critic", self.n_critic, low=1)
            check_option("clip", self.clip, low=0, strict=True)
            for key in ("lr_d", "lr_g"):
                check_option(key, getattr(self, key), low=0, strict=True, none_ok=True)

    def __init__(self, problem: Problem, train: TrainConfig, options: Any, device: torch.device):
        if train.d_steps != 1:
            raise ConfigError(
                f"variant {self.name} sets its critic steps with its n_critic option "
                f"(e.g. --set n_critic={train.d_steps}); leave d_steps at 1, got {train.d_steps}"
            )
        self._validate(options)
        super().__init__(problem, train, options, device)
        # Start inside the constraint set, so that the first critic step (like every later one)
        # evaluates a clipped critic; the authors' code clamps before each critic step for this.
        self.constrain_critic()

    def _validate(self, options: Any) -> None:
        # n_critic, clip and the learning rates are checked by the options themselves (__post_init__).
        # getattr: subclasses (WGAN-GP) have Options without clip or an optimizer choice.
        rmsprop = getattr(options, "optimizer", None) == "rmsprop"
        if rmsprop and (options.beta1 is not None or options.beta2 is not None):
            raise ConfigError(f"variant {self.name}: beta1/beta2 apply only to optimizer=adam")

    # ----- construction ---------------------------------------------------------------------
    def learning_rates(self) -> tuple[float, float]:
        """(lr_g, lr_d): the options' values, or TrainConfig's where an option is None."""
        o, t = self.options, self.train
        return (t.lr_g if o.lr_g is None else o.lr_g, t.lr_d if o.lr_d is None else o.lr_d)

    def build_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        o, t = self.options, self.train
        lr_g, lr_d = self.learning_rates()
        if o.optimizer == "rmsprop":
            # PyTorch's defaults (alpha 0.99, eps 1e-8), as in the authors' PyTorch code.
            return (
                torch.optim.RMSprop(self.generator.parameters(), lr=lr_g),
                torch.optim.RMSprop(self.discriminator.parameters(), lr=lr_d),
            )
        betas = (t.beta1 if o.beta1 is None else o.beta1, t.beta2 if o.beta2 is None else o.beta2)
        return (
            torch.optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas),
        )

    # ----- the game -------------------------------------------------------------------------
    def loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> AdversarialLoss:
        return wasserstein(d_real, d_fake)

    def penalty(
        self, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor | float, StepLogs]:
        """Term added to the critic loss (already weighted), and its logs. Clipping needs none."""
        return 0.0, {}

    @torch.no_grad()
    def constrain_critic(self) -> None:
        """Clip every critic parameter to ``[-clip, clip]`` (in place), as in Algorithm 1."""
        c = self.options.clip
        for p in self.discriminator.parameters():
            p.clamp_(-c, c)

    def discriminator_step(self, real: torch.Tensor, gen: torch.Generator) -> StepLogs:
        with torch.no_grad():
            fake = self.generate(self.batch_len(real), gen)
        d_real = self.discriminator(real)
        d_fake = self.discriminator(fake)
        out = self.per_run(self.loss)(d_real, d_fake)
        extra, logs = self.penalty(real, fake, gen)
        d_loss = out.d_loss + extra
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.sum().backward()
        self.opt_d.step()
        self.constrain_critic()
        # The base generator_step passes D's last real scores to the loss; the Wasserstein
        # generator loss ignores them, but the shared step expects them.
        self._last_d_real = d_real.detach()
        critic_real, critic_fake = d_real.detach().mean(-1), d_fake.detach().mean(-1)
        return {
            "d_loss": d_loss.detach(),
            "wasserstein_estimate": critic_real - critic_fake,
            "critic_real": critic_real,
            "critic_fake": critic_fake,
            **logs,
        }

    def d_updates(self) -> int:
        """``n_critic`` critic updates per generator update (Algorithm 1)."""
        return self.options.n_critic
