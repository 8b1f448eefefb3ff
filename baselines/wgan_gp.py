"""WGAN with gradient penalty (Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville 2017, arXiv 1704.00028).

The Wasserstein loss of :class:`baselines.wgan.WGAN` plus ``gp_lambda`` times the gradient penalty
of :func:`baselines.penalties.gradient_penalty` (the critic's gradient norm pushed towards 1 at random
interpolates of real and fake samples), instead of weight clipping. No trainer of its own: it is WGAN
with a different ``penalty`` and ``constrain_critic``.

Hyperparameters from the paper's Algorithm 1: ``gp_lambda`` = 10, ``n_critic`` = 5, Adam with
learning rate 1e-4 and betas (0, 0.9) for both networks. The authors' toy-data script
(``gan_toy.py`` in igul222/improved_wgan_training) uses betas (0.5, 0.9) and lambda 0.1 instead;
set ``beta1=0.5`` / ``gp_lambda=0.1`` for that. ``lr_d`` / ``lr_g`` set to ``None`` fall back to
TrainConfig's (the plain-GAN protocol's) rates; TrainConfig's ``beta1`` / ``beta2`` are not used.
Batch, latent size and networks come from the protocol; TrainConfig's ``d_steps`` must stay 1.

Images: the critic is the DCGAN discriminator with layer normalisation instead of batch norm
(``net.d_norm="auto"``), as the paper recommends (section 4: batch norm makes a sample's score depend
on its batch, which breaks the per-sample penalty); ``"none"`` is allowed, ``"batch"`` is refused.
The penalty's interpolation weight is one scalar per image (shape ``(n, 1, 1, 1)``) and the gradient
norm is taken over all pixels.

Step logs: as WGAN's (``d_loss`` here includes the weighted penalty), plus ``gp``, the unweighted
penalty of the last critic step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .config import TrainConfig, check_option
from .errors import ConfigError
from .penalties import gradient_penalty
from .variant import Problem, StepLogs
from .wgan import WGAN


class WGANGP(WGAN):
    name = "wgan-gp"
    paper = "Gulrajani et al. 2017, arXiv 1704.00028"
    default_d_norm = "layer"

    @dataclass
    class Options:
        gp_lambda: float = 10.0  # paper
        n_critic: int = 5  # paper
        lr_d: float | None = 1e-4  # paper; None: TrainConfig.lr_d
        lr_g: float | None = 1e-4  # paper; None: TrainConfig.lr_g
        beta1: float = 0.0  # paper's Algorithm 1 (the toy script: 0.5)
        beta2: float = 0.9  # paper

        def __post_init__(self) -> None:
            check_option("gp_lambda", self.gp_lambda, low=0)
            check_option("n_critic", self.n_critic, low=1)
            for key in ("lr_d", "lr_g"):
                check_option(key, getattr(self, key), low=0, strict=True, none_ok=True)

    def __init__(self, problem: Problem, train: TrainConfig, options: Any, device: torch.device):
        if problem.kind == "image" and train.net.d_norm == "batch":
            raise ConfigError(
                f"variant {self.name}: net.d_norm='batch' makes the critic's scores depend on the batch, "
                "which breaks the per-sample gradient penalty; use 'layer' (the paper's advice) or 'none'"
            )
        super().__init__(problem, train, options, device)

    def build_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        betas = (self.options.beta1, self.options.beta2)
        lr_g, lr_d = self.learning_rates()
        return (
            torch.optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas),
        )

    def penalty(
        self, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor | float, StepLogs]:
        gp = gradient_penalty(self.discriminator, real, fake, gen, run_dims=self.run_dims)
        return self.options.gp_lambda * gp, {"gp": gp.detach()}

    def constrain_critic(self) -> None:
        """No clipping: the penalty replaces it."""
