"""The vanilla GAN (Goodfellow et al. 2014, arXiv 1406.2661).

Default: the non-saturating generator loss the paper recommends in practice; ``loss="minimax"``
gives the original zero-sum objective. Hyperparameters (learning rates, batch, latent size) come from
the protocol in :class:`baselines.config.TrainConfig` (VEEGAN's), not from the 2014 paper, which
reported none for mixtures. Under that protocol the VEEGAN paper reports 1 of 8 ring modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from .losses import LOSSES, AdversarialLoss
from .variant import Variant


class GAN(Variant):
    name = "gan"
    paper = "Goodfellow et al. 2014, arXiv 1406.2661"
    batchable = True

    @dataclass
    class Options:
        loss: Literal["non-saturating", "minimax"] = "non-saturating"

    def loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> AdversarialLoss:
        return LOSSES[self.options.loss](d_real, d_fake)
