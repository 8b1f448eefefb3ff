"""DCGAN-style convolutional networks for image problems (Radford, Metz, Chintala 2015, arXiv 1511.06434).

Images are ``(n, C, H, W)`` tensors in [-1, 1] with square sides ``H = W = s * 2**k``, ``4 <= s <= 7``
and ``k >= 1`` (28 = 7 * 2**2, 32 = 4 * 2**3, 64 = 4 * 2**4). The architecture follows the paper's
guidelines: no pooling (strided convolutions in D, transposed convolutions in G), batch norm in G (all
but the output layer) and in D (all but the input layer), ReLU in G with a Tanh output, LeakyReLU(0.2)
in D, weights drawn from N(0, 0.02). Channel counts are the paper's 64x64 model scaled by ``width``
(the paper: 64): G goes ``8w@4x4 -> 4w@8 -> 2w@16 -> w@32 -> C@64`` and D mirrors it; a 28x28 model
has two stages, ``2w@7 -> w@14 -> C@28``. G's first layer (z as a 1x1 map, transposed convolution to
the start size) is the paper's "project and reshape"; D's final linear layer on the flattened last
stage is the paper's single-output layer.

D's normalisation is an option because batch statistics make a sample's score depend on its batch:
``"batch"`` (DCGAN), ``"layer"`` (per-sample normalisation over channels and pixels with a per-channel
scale and shift, what the WGAN-GP authors recommend for a critic under a gradient penalty, arXiv
1704.00028 section 4) or ``"none"``.
"""

from __future__ import annotations

import torch
from torch import nn

NORMS = ("batch", "layer", "none")


def stage_plan(size: int) -> tuple[int, int]:
    """``(s, k)`` with ``size = s * 2**k``, ``4 <= s <= 7``: the start size and the number of 2x stages."""
    s, k = size, 0
    while s % 2 == 0 and s // 2 >= 4:
        s, k = s // 2, k + 1
    if k == 0 or s > 7:
        raise ValueError(f"image side {size} is not s * 2**k with 4 <= s <= 7 and k >= 1 (e.g. 28, 32, 64)")
    return s, k


def _check_shape(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``(C, H, s, k)`` for an image shape ``(C, H, W)`` with ``H == W``."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"expected a square image shape (C, H, H), got {tuple(shape)}")
    c, h, _ = shape
    s, k = stage_plan(h)
    return c, h, s, k


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        # One group: statistics over (C, H, W) of each sample, affine per channel.
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; valid: {', '.join(NORMS)}")


def dcgan_init(module: nn.Module) -> None:
    """The paper's initialisation: conv weights N(0, 0.02); norm scales N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def conv_body(in_shape: tuple[int, ...], width: int, norm: str) -> tuple[nn.Sequential, int, int]:
    """D's convolutional stages: ``(n, C, H, W) -> (n, F)`` flattened; returns (body, F, stages).

    Stage i is a stride-2 4x4 convolution to ``width * 2**i`` channels, the norm (not on stage 0),
    LeakyReLU(0.2); the body ends with a Flatten, so ``body[:i + 1]`` gives stage i's activations.
    """
    c, _, s, k = _check_shape(in_shape)
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; valid: {', '.join(NORMS)}")
    stages: list[nn.Module] = []
    ch = c
    for i in range(k):
        out = width * 2**i
        normed = i > 0 and norm != "none"
        stages.append(
            nn.Sequential(
                nn.Conv2d(ch, out, 4, 2, 1, bias=not normed),
                _norm(norm if i > 0 else "none", out),
                nn.LeakyReLU(0.2),
            )
        )
        ch = out
    return nn.Sequential(*stages, nn.Flatten()), ch * s * s, k


class DCGANGenerator(nn.Module):
    """Maps z ``(n, z_dim)`` to images ``(n, C, H, W)`` in [-1, 1] (Tanh output)."""

    def __init__(self, z_dim: int, shape: tuple[int, ...], width: int = 64):
        super().__init__()
        c, _, s, k = _check_shape(shape)
        self.z_dim, self.shape = z_dim, tuple(shape)
        ch = width * 2 ** (k - 1)
        # z as a 1x1 map, projected to ch maps of s x s (the paper's "project and reshape").
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, ch, s, 1, 0, bias=False)]
        layers += [nn.BatchNorm2d(ch), nn.ReLU()]
        for i in range(k - 1, 0, -1):
            out = width * 2 ** (i - 1)
            layers += [nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            ch = out
        layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Maps images ``(n, C, H, W)`` to logits ``(n,)``, with the interface of ``MLPDiscriminator``.

    ``body(x)`` is the flattened last conv stage ``(n, feature_dim)`` and ``head`` the linear layer on
    it; ``features(x, layer)`` returns the flattened activations of conv stage ``layer`` (0-based; -1,
    the default, is the last, equal to ``body(x)``), so feature matching and minibatch discrimination
    work unchanged. ``n_hidden`` is the number of conv stages. With ``norm="batch"`` a sample's logit
    depends on the rest of its batch (in training mode): score real and fake batches separately.
    """

    def __init__(self, in_shape: tuple[int, ...], width: int = 64, norm: str = "batch"):
        super().__init__()
        self.in_shape, self.norm = tuple(in_shape), norm
        self.body, self.feature_dim, self.n_hidden = conv_body(in_shape, width, norm)
        self.head = nn.Linear(self.feature_dim, 1)
        dcgan_init(self)

    def features(self, x: torch.Tensor, layer: int = -1) -> torch.Tensor:
        if not -self.n_hidden <= layer < self.n_hidden:
            raise ValueError(f"layer {layer} out of range for {self.n_hidden} conv stages")
        return self.body[: layer % self.n_hidden + 1](x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(-1)
