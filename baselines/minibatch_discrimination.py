"""Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", arXiv 1606.03498).

D sees each sample together with how close it is to the other samples of its minibatch. The last
hidden features ``f(x_i)`` (n, A) are projected by a learned tensor T (A, B, C) to matrices
``M_i`` (B, C); for each of the B kernels,

    o(x_i)_b = sum_{j != i} exp(-||M_{i,b} - M_{j,b}||_1)

and ``[f(x_i), o(x_i)]`` feeds D's final linear layer. A collapsed fake batch has many near-identical
samples, hence large ``o``, which D can learn to call fake; G must then spread its samples out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .config import check_option
from .conv_networks import DCGANDiscriminator
from .gan import GAN
from .networks import MLPDiscriminator


def minibatch_closeness(m: torch.Tensor, compare_with: int | None = None) -> torch.Tensor:
    """Per-sample, per-kernel closeness to the rest of the batch.

    ``m`` has shape (n, B, C); returns (n, B) with ``out[i, b] = sum_{j != i} exp(-|m[i,b] - m[j,b]|_1)``.
    Each term is in (0, 1]: a batch of n identical samples gives n - 1, well-separated samples give
    (nearly) 0. The paper's formula sums over all j including i; we leave out j = i, as the authors'
    code does. The two differ by exactly 1 per kernel, which D's final bias absorbs.
    Memory and time are O(n^2 B).

    ``compare_with = k`` (< n) compares every sample with the first k rows of the batch only and
    rescales each sum by (n - 1) / (number of rows it was compared with), an unbiased estimate of
    the full sum when the rows are exchangeable (as in a batch of i.i.d. samples); time O(n k B).
    It is exact for a batch of identical samples.
    """
    n = m.shape[0]
    mb = m.transpose(0, 1)  # (B, n, C): one batch of pairwise L1 distances per kernel
    k = n if compare_with is None or compare_with >= n else compare_with
    close = torch.exp(-torch.cdist(mb, mb[:, :k], p=1))  # (B, n, k)
    eye = torch.eye(n, k, dtype=torch.bool, device=m.device)
    total = close.masked_fill(eye, 0.0).sum(-1).transpose(0, 1)  # (n, B)
    if k == n:
        return total
    compared = torch.full((n, 1), float(k), dtype=m.dtype, device=m.device)
    compared[:k] = k - 1  # the first k rows are not compared with themselves
    return total * ((n - 1) / compared)


class _MinibatchLayer(nn.Module):
    """Mixin for a discriminator with ``body`` (n, A features) and ``feature_dim`` = A: adds the
    projection tensor T and replaces ``head`` by a linear layer on ``[f(x), o(x)]``."""

    def _add_minibatch_layer(self, kernels: int, kernel_dim: int, compare_with: int | None) -> None:
        a = self.feature_dim
        self.kernels, self.kernel_dim, self.compare_with = kernels, kernel_dim, compare_with
        # std 1/sqrt(A): each (kernel, dim) column of T starts with about unit L2 norm, the scale the
        # authors' weight-normalised layer starts from before their data-dependent rescaling.
        self.T = nn.Parameter(torch.randn(a, kernels, kernel_dim) / math.sqrt(a))
        self.head = nn.Linear(a + kernels, 1)

    def minibatch_features(self, h: torch.Tensor) -> torch.Tensor:
        """``o(x)`` (n, B) from the last hidden features ``h`` (n, A)."""
        m = torch.tensordot(h, self.T, dims=1)  # (n, B, C)
        return minibatch_closeness(m, self.compare_with)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return self.head(torch.cat([h, self.minibatch_features(h)], dim=1)).squeeze(-1)


class MinibatchDiscriminator(_MinibatchLayer, MLPDiscriminator):
    """The MLP discriminator with a minibatch-discrimination layer before its final linear layer.

    Maps ``(n, data_dim)`` to logits ``(n,)``, where each logit depends on the whole batch: score real
    and fake samples in separate calls. ``features(x, layer)`` (per-sample hidden activations) is
    inherited unchanged.
    """

    def __init__(
        self,
        data_dim: int,
        hidden: int,
        layers: int,
        kernels: int,
        kernel_dim: int,
        compare_with: int | None = None,
    ):
        MLPDiscriminator.__init__(self, data_dim, hidden, layers)
        self._add_minibatch_layer(kernels, kernel_dim, compare_with)


class MinibatchConvDiscriminator(_MinibatchLayer, DCGANDiscriminator):
    """The DCGAN discriminator with the same layer on its flattened last conv stage (A = its
    ``feature_dim``), as the authors place it in their image models: images ``(n, C, H, W)`` to
    logits ``(n,)``."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        width: int,
        norm: str,
        kernels: int,
        kernel_dim: int,
        compare_with: int | None = None,
    ):
        DCGANDiscriminator.__init__(self, in_shape, width, norm)
        self._add_minibatch_layer(kernels, kernel_dim, compare_with)


class MinibatchDiscrimination(GAN):
    """Minibatch discrimination, Salimans et al. 2016 (arXiv 1606.03498), Section 3.2.

    From the paper and the authors' code: the layer itself, its place (after D's last hidden layer,
    before the output layer), B = 100 kernels (``kernels``) of C = 5 dimensions (``kernel_dim``),
    as in their CIFAR-10, SVHN and MNIST models, and real and fake batches scored in separate
    minibatches (the base class's discriminator step already makes two calls). With A = 128 hidden
    features, B*C = 500 makes T about 64k parameters, comparable to the rest of the MLP, so the
    image settings are kept as they are. Not reproduced: the authors' weight normalisation,
    data-dependent initialisation and per-kernel bias on ``o`` (a bias before a linear layer is
    redundant). The generator loss is the GAN's (``loss``, default non-saturating). Learning rates,
    batch, latent size and network widths are our protocol's (VEEGAN's), not the paper's.

    Cost: every D call is O(n^2 B C). At batch 512 with the defaults an iteration takes about 3 to 5 s
    on one CPU thread (the plain GAN: 0.03 s); ``kernels=5`` takes about 0.25 s.
    ``compare_with = k`` (not in the paper; default ``None``, the whole batch) compares each sample
    with k rows of its batch only, an unbiased estimate of the same sum at O(n k B) cost; the CPU
    mixtures table uses it (see ``benchmark/suites/mixtures.toml``).

    Images: the layer sits on the DCGAN discriminator's flattened last conv stage
    (:class:`MinibatchConvDiscriminator`), as in the authors' image models; T then has
    ``feature_dim * B * C`` entries (3.1M for 28x28 at ``conv_width`` 64).
    """

    name = "minibatch-discrimination"
    batchable = True
    paper = "Salimans et al. 2016, arXiv 1606.03498"

    @dataclass
    class Options(GAN.Options):
        kernels: int = 100
        kernel_dim: int = 5
        compare_with: int | None = None  # not the paper's: None compares with the whole batch

        def __post_init__(self) -> None:
            check_option("kernels", self.kernels, low=1)
            check_option("kernel_dim", self.kernel_dim, low=1)
            check_option("compare_with", self.compare_with, low=2, none_ok=True)

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        opts = self.options
        # The protocol's generator; the plain D is built and discarded, which keeps the random stream
        # (and so every number on the mixtures) as it was before image support.
        g, _ = super().build_networks()
        d = self.build_discriminator(
            mlp_cls=MinibatchDiscriminator,
            conv_cls=MinibatchConvDiscriminator,
            kernels=opts.kernels,
            kernel_dim=opts.kernel_dim,
            compare_with=opts.compare_with,
        )
        return g, d
