"""PacGAN (Lin, Khetan, Fanti and Oh 2018, arXiv 1712.04086): the discriminator judges packs.

Instead of one sample, D sees ``m`` samples at once, all real or all generated, concatenated into one
input of ``m * data_dim`` numbers (for images: along the channel axis, ``m * C`` channels, as the
paper does for its image experiments). A collapsed generator's packs contain near-identical samples, which a
packed D can tell from the varied packs of real data; the paper shows packing penalises mode collapse in
the total-variation sense. Nothing else changes: only D's input layer is ``m`` times wider (its hidden
layers keep their size, as in the paper), the loss is the ordinary one, and G is an ordinary generator,
so sampling and evaluation (``generate``) are those of the plain GAN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from . import draws
from .errors import ConfigError
from .gan import GAN
from .variant import RealData, StepLogs

PACK_SIZES = (2, 3, 4)


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Concatenate each run of ``m`` consecutive samples along axis 1: ``(n * m, d) -> (n, m * d)``,
    and for images ``(n * m, C, H, W) -> (n, m * C, H, W)``.

    Row ``i`` of the result is ``x[i*m], ..., x[i*m + m - 1]`` side by side (for images: their
    channels stacked, sample ``i*m`` first); since samples are i.i.d., consecutive grouping is as good
    as any other and costs only a view.
    """
    n_samples = x.shape[0]
    if n_samples % m:
        raise ValueError(f"cannot pack {n_samples} samples into packs of {m}: not a multiple")
    return x.reshape(n_samples // m, m * x.shape[1], *x.shape[2:])


class PackedDiscriminator(nn.Module):
    """Takes unpacked samples ``(n * m, *sample_shape)``, returns one logit per pack, shape ``(n,)``.

    ``inner`` is an ordinary discriminator whose input layer has ``m * data_dim`` units (an MLP) or
    ``m * C`` input channels (DCGAN). Wrapping it
    (rather than packing inside each training step) lets the shared discriminator and generator steps
    run unchanged: they pass a batch of samples, this module packs it.
    """

    def __init__(self, inner: nn.Module, m: int):
        super().__init__()
        self.inner = inner
        self.pack = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(pack(x, self.pack))


class PacGAN(GAN):
    """PacGAN: Lin, Khetan, Fanti, Oh 2018, "PacGAN: The power of two samples in generative adversarial
    networks", arXiv 1712.04086.

    Batching, as in the paper: ``batch_size`` stays the number of *decisions* D makes per step, so each
    D step uses ``batch_size * pack`` real and as many generated samples (the authors' code draws
    ``num_packing`` latent batches of ``batch_size`` each and concatenates the generated samples along
    the feature axis; its real packs are ``num_packing`` independent draws). The generator loss is
    computed on ``batch_size`` packs of fresh fakes in the same way. Packs are all real or all fake.

    Options: ``pack`` (the paper's ``m``) is 2, 3 or 4, the degrees the paper reports (PacGAN2-4; the
    paper's headline runs use 2 and 4), default 2; ``pack = 1`` would be the plain ``gan`` variant and is
    refused so that a run labelled PacGAN always packs. ``loss`` as in :class:`baselines.gan.GAN`
    (non-saturating, as the authors' code uses). Learning rates, batch, latent size and networks come
    from our protocol (:class:`baselines.config.TrainConfig`), not the paper's, whose own protocol
    (latent 2, 4x400 ReLU+BN generator, maxout D, batch 100) is described in ``PROTOCOLS.md``.
    """

    name = "pacgan"
    batchable = True
    paper = "Lin, Khetan, Fanti, Oh 2018, arXiv 1712.04086"

    @dataclass
    class Options:
        pack: int = 2
        loss: Literal["non-saturating", "minimax"] = "non-saturating"

        def __post_init__(self) -> None:
            if self.pack not in PACK_SIZES:
                raise ConfigError(
                    f"pacgan: pack must be one of {', '.join(map(str, PACK_SIZES))} (the paper's PacGAN2-4); "
                    f"got {self.pack!r} (for no packing use the 'gan' variant)"
                )

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        # The plain D is built and discarded, which keeps the mixtures' random stream as it was.
        g, _ = super().build_networks()
        m = self.options.pack
        # Only the input layer grows: the hidden sizes stay those of the unpacked D, as in the paper.
        return g, PackedDiscriminator(self.build_discriminator(pack=m), m)

    def real_batch(self, data: RealData, gen: torch.Generator) -> torch.Tensor:
        """``pack`` real samples per packed input; the base discriminator step generates as many
        fakes as it is given real samples."""
        return draws.sample(data, self.train.batch_size * self.options.pack, gen)

    def generator_step(self, gen: torch.Generator) -> StepLogs:
        fake = self.generate(self.train.batch_size * self.options.pack, gen)
        d_fake = self.discriminator(fake)  # (batch_size,): one logit per pack
        return self.update_generator(self.per_run(self.loss)(self._last_d_real, d_fake).g_loss)
