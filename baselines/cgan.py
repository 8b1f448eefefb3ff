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

from . import draws
from .gan import GAN
from .networks import build_generator
from .variant import RealData, StepLogs


def _one_hot(labels: torch.Tensor, n_modes: int, like: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, n_modes).to(like.dtype)


class ConditionalGenerator(nn.Module):
    """Maps z ``(n, z_dim)`` and integer labels ``(n,)`` to samples ``(n, data_dim)``.

    The label enters as a one-hot vector concatenated to z at the input of one MLP.
    """

    def __init__(self, z_dim: int, n_modes: int, mlp: nn.Module):
        super().__init__()
        self.z_dim, self.n_modes = z_dim, n_modes
        self.mlp = mlp  # takes z_dim + n_modes inputs

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([z, _one_hot(labels, self.n_modes, z)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """Maps samples ``(n, data_dim)`` and integer labels ``(n,)`` to logits ``(n,)``.

    Its input is ``data_dim + n_modes`` wide: the sample with the label's one-hot vector appended.
    """

    def __init__(self, n_modes: int, mlp: nn.Module):
        super().__init__()
        self.n_modes = n_modes
        self.mlp = mlp  # takes data_dim + n_modes inputs

    def _joint(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, _one_hot(labels, self.n_modes, x)], dim=1)

    def features(self, x: torch.Tensor, labels: torch.Tensor, layer: int = -1) -> torch.Tensor:
        return self.mlp.features(self._joint(x, labels), layer)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.mlp(self._joint(x, labels))


class ConditionalConvGenerator(nn.Module):
    """Maps z ``(n, z_dim)`` and labels ``(n,)`` to images ``(n, C, H, W)``: the one-hot label is
    concatenated to z at the input of a DCGAN generator (``net``, built for ``z_dim + n_modes``)."""

    def __init__(self, z_dim: int, n_modes: int, net: nn.Module):
        super().__init__()
        self.z_dim, self.n_modes = z_dim, n_modes
        self.net = net

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, _one_hot(labels, self.n_modes, z)], dim=1))


class ConditionalConvDiscriminator(nn.Module):
    """Maps images ``(n, C, H, W)`` and labels ``(n,)`` to logits ``(n,)``: the label enters as
    ``n_modes`` constant maps (its one-hot vector broadcast over the pixels) concatenated to the image's
    channels, the image form of concatenating y to x; ``net`` is a DCGAN D with ``C + n_modes`` inputs.

    The maps are never materialised: the first convolution is linear, so its response to them is the
    convolution of a ones map with the weights of the label's channel alone (the same numbers up to
    rounding, at the cost of one input channel instead of ``n_modes``; Stacked MNIST has 1,000 modes).
    """

    def __init__(self, n_modes: int, net: nn.Module):
        super().__init__()
        self.n_modes = n_modes
        self.net = net

    def _joint(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The explicit input ``[x, label maps]`` (n, C + n_modes, H, W); for reference and tests."""
        maps = _one_hot(labels, self.n_modes, x)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return torch.cat([x, maps], dim=1)

    def _first_stage(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Stage 0 of ``net`` (conv, no norm, LeakyReLU) on ``[x, label maps]``."""
        stage = self.net.body[0]
        conv = stage[0]
        n, c = x.shape[:2]
        w_x, w_y = conv.weight[:, :c], conv.weight[:, c:]  # (out, C, k, k), (out, n_modes, k, k)
        h = F.conv2d(x, w_x, conv.bias, conv.stride, conv.padding)
        # Row i's label share: a ones map convolved with its label's weight slice, as one grouped call.
        w_sel = w_y[:, labels].transpose(0, 1).reshape(-1, 1, *w_y.shape[2:])  # (n * out, 1, k, k)
        ones = x.new_ones(1, 1, *x.shape[2:])
        h = h + F.conv2d(ones, w_sel, None, conv.stride, conv.padding).view(n, -1, *h.shape[2:])
        return stage[1:](h)

    def features(self, x: torch.Tensor, labels: torch.Tensor, layer: int = -1) -> torch.Tensor:
        n_hidden = self.net.n_hidden
        if not -n_hidden <= layer < n_hidden:
            raise ValueError(f"layer {layer} out of range for {n_hidden} conv stages")
        return self.net.body[1 : layer % n_hidden + 1](self._first_stage(x, labels)).flatten(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net.head(self.net.body[1:](self._first_stage(x, labels))).squeeze(-1)


class CGAN(GAN):
    """Conditional GAN of Mirza & Osindero (2014, arXiv 1411.1784), on the mode label.

    From the paper: the conditioning of both G and D on the label y, fed in by concatenation, and
    the adversarial objective (the ``loss`` option, non-saturating by default as in :class:`GAN`).
    The paper's MNIST model first maps z and y to separate ReLU hidden layers (200 and 1000 units)
    and joins them; for the 2-D mixtures we concatenate the one-hot label to z (for G) and to x
    (for D) at the input of the protocol's MLPs, the simplest form of the same conditioning. For
    images the same concatenation: the one-hot label joins z at the DCGAN generator's input, and D
    gets it as ``n_modes`` constant label maps stacked on the image's channels (not a projection
    discriminator, which would be a different conditioning method).
    Ours, not the paper's: network sizes, optimizer, learning rates, batch and latent size all come
    from the VEEGAN protocol in :class:`baselines.config.TrainConfig` (the paper used maxout D,
    dropout and SGD with momentum on MNIST).

    Real batches carry their true labels (``data.sample_labeled``); fake labels, for D's and G's
    updates and for :meth:`generate`, are drawn from the true mode weights with the run's
    generator, so unconditional samples follow the data's mode distribution.
    """

    name = "cgan"
    paper = "Mirza & Osindero 2014, arXiv 1411.1784"
    batchable = True

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        z, k = self.train.z_dim, self.problem.n_modes
        g_net = build_generator(self.problem, self.train, z_dim=z + k)
        d_net = self.build_discriminator(extra_inputs=k)
        if self.problem.kind == "image":
            return ConditionalConvGenerator(z, k, g_net), ConditionalConvDiscriminator(k, d_net)
        return ConditionalGenerator(z, k, g_net), ConditionalDiscriminator(k, d_net)

    @cached_property
    def mode_weights(self) -> torch.Tensor:
        """The data's mode weights ``(n_modes,)`` on the device (uniform if the problem gives none)."""
        w = self.problem.mode_weights or (1.0,) * self.problem.n_modes
        return torch.tensor(w, dtype=torch.float32, device=self.device)

    def sample_labels(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` mode labels ``(n,)`` (int64) drawn from the data's mode weights."""
        return draws.multinomial(gen, self.mode_weights, n)

    def generate_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``(n, *sample_shape)`` and the labels ``(n,)`` they were generated for."""
        labels = self.sample_labels(n, gen)
        return self.generator(self.sample_z(n, gen), labels), labels

    def generate(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.generate_labeled(n, gen)[0]

    def real_batch(self, data: RealData, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The real batch with its mode labels: D is conditioned on them."""
        return draws.sample_labeled(data, self.train.batch_size, gen)

    def discriminator_step(self, batch: tuple[torch.Tensor, torch.Tensor], gen: torch.Generator) -> StepLogs:
        if not isinstance(batch, tuple) or len(batch) != 2:
            raise ValueError("cgan's discriminator step needs (real batch, its mode labels)")
        real, labels = batch
        with torch.no_grad():
            fake, fake_labels = self.generate_labeled(self.batch_len(real), gen)
        return self.update_discriminator(
            self.discriminator(real, labels), self.discriminator(fake, fake_labels)
        )

    def generator_step(self, gen: torch.Generator) -> StepLogs:
        fake, labels = self.generate_labeled(self.train.batch_size, gen)
        d_fake = self.discriminator(fake, labels)
        return self.update_generator(self.per_run(self.loss)(self._last_d_real, d_fake).g_loss)
