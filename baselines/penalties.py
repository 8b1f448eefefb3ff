"""Regularisers of the discriminator (critic) as pure functions, after compare_gan's ``penalty_lib``.

A penalty takes the discriminator, a real and a generated batch and the run's ``torch.Generator``
(for any randomness it needs) and returns a 0-dim tensor to be added, times its weight, to the
discriminator loss. It keeps its graph to D's parameters so that the sum can be back-propagated.
"""

from __future__ import annotations

import torch
from torch import nn

from . import draws


def gradient_penalty(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    gen: draws.Gen,
    run_dims: int = 0,
) -> torch.Tensor:
    """The two-sided penalty of WGAN-GP (Gulrajani et al. 2017, arXiv 1704.00028, eq. 3), unweighted.

    Returns ``mean_i (||grad_x D(xhat_i)||_2 - 1)^2`` at the interpolates
    ``xhat_i = eps_i * real_i + (1 - eps_i) * fake_i`` with one ``eps_i ~ U[0, 1]`` per sample, drawn
    from ``gen`` (on ``gen``'s device, which must be the batches' device). ``real`` and ``fake`` have
    the same shape ``(n, ...)`` (``(K, n, ...)`` with ``run_dims=1``: K runs, one penalty each, each
    run's ``eps`` from its own generator); the norm is over all non-batch dimensions. The result
    is >= 0, and 0
    exactly when D has unit gradient norm at every interpolate (e.g. a linear D with a unit weight
    vector). The caller multiplies by lambda (paper: 10). D must score each sample on its own (no
    batch statistics), because the per-sample gradients are taken from the gradient of the batch sum.

    The interpolates are detached from G (this is a penalty on D only), and the gradient is taken with
    ``create_graph=True`` so that the penalty itself can be differentiated w.r.t. D's parameters.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape")
    lead = real.shape[: run_dims + 1]  # (n,), or (K, n) for K runs of a batched job (one value each)
    ones = [1] * (real.dim() - run_dims - 1)
    eps = draws.rand(gen, real.shape[run_dims], *ones, device=real.device, dtype=real.dtype)
    xhat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(xhat).sum(), xhat, create_graph=True)
    slopes = torch.linalg.vector_norm(grad.reshape(*lead, -1), dim=-1)
    return ((slopes - 1) ** 2).mean(-1)
