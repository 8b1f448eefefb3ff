"""Multilayer perceptrons for the low-dimensional mixtures.

Sizes follow the VEEGAN protocol's 2-D experiments as we read them (VEEGAN arXiv 1705.07761, which
reuses the unrolled-GAN set-up of Metz et al. 2016): latent 256, ReLU hidden layers of 128 units in
both networks. Both are configurable through :class:`baselines.config.NetConfig`.
"""

from __future__ import annotations

import torch
from torch import nn


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
