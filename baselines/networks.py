"""Networks: multilayer perceptrons for the low-dimensional mixtures, and the one factory every variant
builds its generator and discriminator with (MLPs for vector problems, DCGAN nets for images).

MLP sizes follow the VEEGAN protocol's 2-D experiments as we read them (VEEGAN arXiv 1705.07761, which
reuses the unrolled-GAN set-up of Metz et al. 2016): latent 256, ReLU hidden layers of 128 units in
both networks. Both are configurable through :class:`baselines.config.NetConfig`, as is the DCGAN
width (:mod:`baselines.conv_networks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .conv_networks import DCGANDiscriminator, DCGANGenerator

if TYPE_CHECKING:
    from .config import TrainConfig
    from .problem import Problem


def _mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return layers


class MLPGenerator(nn.Module):
    """Maps z of shape ``(n, z_dim)`` to samples of shape ``(n, data_dim)`` (linear output)."""

    def __init__(self, z_dim: int, data_dim: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.z_dim, self.data_dim = z_dim, data_dim
        self.net = nn.Sequential(*_mlp([z_dim] + [hidden] * layers + [data_dim]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Maps samples ``(n, data_dim)`` to logits ``(n,)``.

    ``features(x, layer)`` returns the (post-ReLU) activations of hidden layer ``layer``
    (0-based; -1, the default, is the last one), shape ``(n, hidden)``, so that feature matching and
    minibatch discrimination can use them without a second network.
    """

    def __init__(self, data_dim: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.data_dim = data_dim
        self.n_hidden = layers
        self.feature_dim = hidden
        body = _mlp([data_dim] + [hidden] * layers)
        self.body = nn.Sequential(*body, nn.ReLU())  # [Linear, ReLU] * layers
        self.head = nn.Linear(hidden, 1)

    def features(self, x: torch.Tensor, layer: int = -1) -> torch.Tensor:
        if not -self.n_hidden <= layer < self.n_hidden:
            raise ValueError(f"layer {layer} out of range for {self.n_hidden} hidden layers")
        end = 2 * (layer % self.n_hidden + 1)
        return self.body[:end](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(-1)


# ----- the factory -------------------------------------------------------------------------------
def build_generator(problem: Problem, train: TrainConfig, z_dim: int | None = None) -> nn.Module:
    """The generator for ``problem``: z ``(n, z_dim)`` to samples ``(n, *problem.sample_shape)``.

    ``z_dim`` defaults to ``train.z_dim`` (a variant that widens G's input, e.g. with a label, passes
    its own). Vector problems get ``MLPGenerator`` (linear output), image problems ``DCGANGenerator``
    (Tanh output in [-1, 1]) of width ``train.net.conv_width``.
    """
    net, z = train.net, train.z_dim if z_dim is None else z_dim
    if problem.kind == "image":
        return DCGANGenerator(z, problem.shape, net.conv_width)
    return MLPGenerator(z, problem.data_dim, net.hidden, net.g_layers)


def build_discriminator(
    problem: Problem,
    train: TrainConfig,
    *,
    norm: str = "batch",
    pack: int = 1,
    extra_inputs: int = 0,
    mlp_cls: type[nn.Module] = MLPDiscriminator,
    conv_cls: type[nn.Module] = DCGANDiscriminator,
    **extra: Any,
) -> nn.Module:
    """The discriminator for ``problem``, with ``body``/``head``/``features``/``n_hidden``/``feature_dim``.

    Its input holds ``pack`` samples side by side plus ``extra_inputs`` more: for vectors an
    ``(n, pack * data_dim + extra_inputs)`` matrix, for images ``(n, pack * C + extra_inputs, H, W)``
    (samples and any label maps concatenated along the channel axis). ``norm`` is the image D's
    normalisation (``"batch"``, ``"layer"``, ``"none"``; MLPs have none). A variant with its own
    discriminator class passes it as ``mlp_cls`` (called ``(in_dim, hidden, layers, **extra)``) and
    ``conv_cls`` (called ``(in_shape, width, norm, **extra)``). An image D's width is
    ``net.d_conv_width``, or G's ``net.conv_width`` when that is 0.
    """
    net = train.net
    if problem.kind == "image":
        c, h, w = problem.shape
        width = net.d_conv_width or net.conv_width
        return conv_cls((c * pack + extra_inputs, h, w), width, norm, **extra)
    return mlp_cls(problem.data_dim * pack + extra_inputs, net.hidden, net.d_layers, **extra)


@contextmanager
def buffers_kept(module: nn.Module) -> Iterator[nn.Module]:
    """Run forward passes without leaving a trace in ``module``'s buffers (batch-norm running
    statistics): they are restored on exit. A no-op for modules without buffers (the MLPs)."""
    saved = [(b, b.detach().clone()) for b in module.buffers()]
    try:
        yield module
    finally:
        with torch.no_grad():
            for b, old in saved:
                b.copy_(old)
