import math

import torch

from baselines.losses import LOSSES, minimax, non_saturating
from baselines.networks import MLPDiscriminator, MLPGenerator


def test_losses_at_chance_equal_log2():
    zeros = torch.zeros(5)
    for fn in LOSSES.values():
        out = fn(zeros, zeros)
        assert math.isclose(out.d_loss_real.item(), math.log(2), rel_tol=1e-6)
        assert math.isclose(out.d_loss.item(), 2 * math.log(2), rel_tol=1e-6)


def test_non_saturating_generator_gradient_survives_a_winning_discriminator():
    # D rejects the fakes with logit -10: minimax's G gradient vanishes, non-saturating's does not.
    d_fake = torch.full((4,), -10.0, requires_grad=True)
    (g_ns,) = torch.autograd.grad(non_saturating(torch.zeros(4), d_fake).g_loss, d_fake)
    d_fake = torch.full((4,), -10.0, requires_grad=True)
    (g_mm,) = torch.autograd.grad(minimax(torch.zeros(4), d_fake).g_loss, d_fake)
    assert g_ns.abs().mean() > 1000 * g_mm.abs().mean()


def test_perfect_discriminator_has_near_zero_loss():
    out = non_saturating(torch.full((3,), 20.0), torch.full((3,), -20.0))
    assert out.d_loss.item() < 1e-8


def test_network_shapes_and_features():
    g, d = MLPGenerator(8, 2, hidden=16), MLPDiscriminator(2, hidden=16)
    x = g(torch.randn(5, 8))
    assert x.shape == (5, 2)
    assert d(x).shape == (5,)
    assert d.features(x).shape == (5, 16)


def test_feature_layers_are_selectable():
    d = MLPDiscriminator(2, hidden=16, layers=3)
    x = torch.randn(4, 2)
    assert torch.equal(d.features(x), d.features(x, 2))
    assert torch.equal(d.features(x, -1), d.features(x, 2))
    assert not torch.equal(d.features(x, 0), d.features(x, 1))
    assert torch.equal(d.head(d.features(x)).squeeze(-1), d(x))
    import pytest

    with pytest.raises(ValueError):
        d.features(x, 3)
