"""Adversarial losses as pure functions of the discriminator's logits.

Every loss has the same signature, ``loss(d_real, d_fake) -> AdversarialLoss``, where ``d_real`` and
``d_fake`` are the raw (pre-sigmoid) discriminator outputs on a real and a generated batch, shape
``(n,)`` or ``(n, 1)``. The returned ``g_loss`` is computed from the same ``d_fake``; a trainer that
updates G after D re-evaluates D on the fake batch and reads ``g_loss`` from a second call. Keeping
the four values together (as compare_gan's ``loss_lib`` does) lets a variant such as WGAN-GP be
"a loss plus a penalty" rather than a trainer of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F


class AdversarialLoss(NamedTuple):
    d_loss: torch.Tensor
    d_loss_real: torch.Tensor
    d_loss_fake: torch.Tensor
    g_loss: torch.Tensor


LossFn = Callable[[torch.Tensor, torch.Tensor], AdversarialLoss]


def non_saturating(d_real: torch.Tensor, d_fake: torch.Tensor) -> AdversarialLoss:
    """Goodfellow et al. 2014, with the "-log D(G(z))" generator loss they recommend in practice.

    D minimises the binary cross-entropy of real-vs-fake; G maximises log D(G(z)), whose gradient does
    not vanish when D confidently rejects the fakes early in training.
    """
    d_loss_real = F.softplus(-d_real).mean()  # -log sigmoid(d_real)
    d_loss_fake = F.softplus(d_fake).mean()  # -log(1 - sigmoid(d_fake))
    g_loss = F.softplus(-d_fake).mean()  # -log sigmoid(d_fake)
    return AdversarialLoss(d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, g_loss)


def minimax(d_real: torch.Tensor, d_fake: torch.Tensor) -> AdversarialLoss:
    """The original zero-sum game of Goodfellow et al. 2014: G minimises log(1 - D(G(z))).

    Its generator gradient saturates when D wins, which is why it is an option and not the default.
    """
    d_loss_real = F.softplus(-d_real).mean()
    d_loss_fake = F.softplus(d_fake).mean()
    g_loss = -d_loss_fake
    return AdversarialLoss(d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, g_loss)


LOSSES: dict[str, LossFn] = {"non-saturating": non_saturating, "minimax": minimax}


def wasserstein(d_real: torch.Tensor, d_fake: torch.Tensor) -> AdversarialLoss:
    """The critic objective of WGAN (Arjovsky, Chintala, Bottou 2017, arXiv 1701.07875).

    Here ``d_real`` and ``d_fake`` are unbounded critic scores, not logits. The critic maximises
    ``mean(d_real) - mean(d_fake)``, an estimate of the Wasserstein-1 distance when the critic is
    (close to) 1-Lipschitz, so it minimises ``d_loss = mean(d_fake) - mean(d_real)``; G minimises
    ``-mean(d_fake)``. The loss alone does not constrain the critic: pair it with weight clipping
    (WGAN) or a gradient penalty (WGAN-GP, see :mod:`baselines.penalties`). Not in ``LOSSES``,
    whose entries are all sigmoid cross-entropy losses of logits.
    """
    d_loss_real = -d_real.mean()
    d_loss_fake = d_fake.mean()
    g_loss = -d_fake.mean()
    return AdversarialLoss(d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, g_loss)
