"""The PyTorch DCGAN tutorial's networks (Radford et al. 2016 architecture) for 28x28 grey digits.

Transposed convolutions with batch norm and ReLU in G (7x7, 14x14, 28x28, tanh), strided convolutions
with leaky ReLU (0.2) and batch norm in D, widths that train on 2 CPU cores. Used by the collapse
monitor's Lightning demo (:mod:`studies.monitor_demo`) and its cost benchmark
(:mod:`benchmark.perf.monitor`), which must train the same model.
"""

from __future__ import annotations

import torch
from torch import nn

Z_DIM, WIDTH, BATCH = 64, 32, 64


class Generator(nn.Module):
    def __init__(self, z_dim: int = Z_DIM, w: int = WIDTH):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, 4 * w, 7, 1, 0, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(True),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * w, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, w: int = WIDTH):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, w, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * w, 1, 7, 1, 0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def init_weights(m: nn.Module) -> None:
    """The tutorial's ``weights_init``: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
