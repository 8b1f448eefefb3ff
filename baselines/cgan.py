"""Conditional GAN (Mirza & Osindero 2014, arXiv 1411.1784).

Both networks see the mode label: G maps (z, y) to a sample and D scores (x, y) pairs, so D can
reject a fake that looks real but sits in the wrong mode for its label, and G is asked for every
label in proportion to the data's mode weights. That is what should keep it from dropping modes.
"""

from __future__ import annotations

from functools import cached_property

import torch
import torch.nn.functional as F
from torch import nn

from .gan import GAN
from .networks import MLPDiscriminator, MLPGenerator
from .variant import RealData, StepLogs


class ConditionalGenerator(nn.Module):
    """Maps z ``(n, z_dim)`` and integer labels ``(n,)`` to samples ``(n, data_dim)``.

    The label enters as a one-hot vector concatenated to z at the input of one MLP.
    """

    def __init__(self, z_dim: int, n_modes: int, data_dim: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.z_dim, self.n_modes, self.data_dim = z_dim, n_modes, data_dim
        self.mlp = MLPGenerator(z_dim + n_modes, data_dim, hidden, layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = F.one_hot(labels, self.n_modes).to(z.dtype)
        return self.mlp(torch.cat([z, y], dim=1))


class ConditionalDiscriminator(nn.Module):
    """Maps samples ``(n, data_dim)`` and integer labels ``(n,)`` to logits ``(n,)``.

    Its input is ``data_dim + n_modes`` wide: the sample with the label's one-hot vector appended.
    """

    def __init__(self, data_dim: int, n_modes: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.data_dim, self.n_modes = data_dim, n_modes
        self.mlp = MLPDiscriminator(data_dim + n_modes, hidden, layers)

    def _joint(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, F.one_hot(labels, self.n_modes).to(x.dtype)], dim=1)

    def features(self, x: torch.Tensor, labels: torch.Tensor, layer: int = -1) -> torch.Tensor:
        return self.mlp.features(self._joint(x, labels), layer)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.mlp(self._joint(x, labels))


class CGAN(GAN):
    """Conditional GAN of Mirza & Osindero (2014, arXiv 1411.1784), on the mode label.

    From the paper: the conditioning of both G and D on the label y, fed in by concatenation, and
    the adversarial objective (the ``loss`` option, non-saturating by default as in :class:`GAN`).
    The paper's MNIST model first maps z and y to separate ReLU hidden layers (200 and 1000 units)
    and joins them; for the 2-D mixtures we concatenate the one-hot label to z (for G) and to x
    (for D) at the input of the protocol's MLPs, the simplest form of the same conditioning.
    Ours, not the paper's: network sizes, optimizer, learning rates, batch and latent size all come
    from the VEEGAN protocol in :class:`baselines.config.TrainConfig` (the paper used maxout D,
    dropout and SGD with momentum on MNIST).

    Real batches carry their true labels (``data.sample_labeled``); fake labels, for D's and G's
    updates and for :meth:`generate`, are drawn from the true mode weights with the run's
    generator, so unconditional samples follow the data's mode distribution.
    """

    name = "cgan"
    paper = "Mirza & Osindero 2014, arXiv 1411.1784"

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        net, k = self.train.net, self.problem.n_modes
        g = ConditionalGenerator(self.train.z_dim, k, self.problem.data_dim, net.hidden, net.g_layers)
        d = ConditionalDiscriminator(self.problem.data_dim, k, net.hidden, net.d_layers)
        return g, d

    @cached_property
    def mode_weights(self) -> torch.Tensor:
        """The data's mode weights ``(n_modes,)`` on the device (uniform if the problem gives none)."""
        w = self.problem.mode_weights or (1.0,) * self.problem.n_modes
        return torch.tensor(w, dtype=torch.float32, device=self.device)

    def sample_labels(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` mode labels ``(n,)`` (int64) drawn from the data's mode weights."""
        return torch.multinomial(self.mode_weights, n, replacement=True, generator=gen)

    def generate_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``(n, data_dim)`` and the labels ``(n,)`` they were generated for."""
        labels = self.sample_labels(n, gen)
        return self.generator(self.sample_z(n, gen), labels), labels

    def generate(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.generate_labeled(n, gen)[0]

    def discriminator_step(
        self, real: torch.Tensor, gen: torch.Generator, labels: torch.Tensor | None = None
    ) -> StepLogs:
        if labels is None:
            raise ValueError("cgan's discriminator step needs the real batch's mode labels")
        with torch.no_grad():
            fake, fake_labels = self.generate_labeled(real.shape[0], gen)
        return self.update_discriminator(
            self.discriminator(real, labels), self.discriminator(fake, fake_labels)
        )

    def generator_step(self, gen: torch.Generator) -> StepLogs:
        fake, labels = self.generate_labeled(self.train.batch_size, gen)
        return self.update_generator(self.loss(self._last_d_real, self.discriminator(fake, labels)).g_loss)

    def train_step(self, data: RealData, gen: torch.Generator) -> StepLogs:
        logs: StepLogs = {}
        for _ in range(self.train.d_steps):
            real, labels = data.sample_labeled(self.train.batch_size, gen)
            logs = self.discriminator_step(real, gen, labels)
        logs.update(self.generator_step(gen))
        return logs
