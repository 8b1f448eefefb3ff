"""Hybrid feature matching: non-saturating GAN loss + fm_weight x feature matching."""

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.feature_matching import feature_matching_loss
from baselines.losses import non_saturating
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset


def _variant(tiny_train, name="feature-matching-hybrid", options=None, train=None):
    cfg = from_dict(TrainConfig, {**tiny_train, **(train or {})})
    torch.manual_seed(cfg.seed)
    return registry.build(name, get_dataset("ring8").problem, cfg, options), cfg


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True)


def test_default_weight_and_options(tiny_train):
    v, _ = _variant(tiny_train)
    assert v.options.fm_weight == 10.0 and v.options.layer == -1


def test_loss_is_ns_loss_plus_weighted_fm_in_value_and_gradient(tiny_train):
    w = 2.5
    v, _ = _variant(tiny_train, options={"fm_weight": w})
    gen = torch.Generator().manual_seed(0)
    v.discriminator_step(get_dataset("ring8").sample(64, gen), gen)
    fake = v.generate(64, gen)
    g_loss, logs = v.generator_loss(fake)
    d = v.discriminator
    ns = non_saturating(v._last_d_real, d(fake)).g_loss
    fm = feature_matching_loss(d.features(v._last_real).detach(), d.features(fake))
    assert g_loss.item() == pytest.approx(ns.item() + w * fm.item(), rel=1e-6)
    assert logs["g_adv_loss"].item() == pytest.approx(ns.item(), rel=1e-6)
    assert logs["fm_loss"].item() == pytest.approx(fm.item(), rel=1e-6)
    params = list(v.generator.parameters())
    for total, a, b in zip(_grads(g_loss, params), _grads(ns, params), _grads(fm, params), strict=True):
        torch.testing.assert_close(total, a + w * b)


def test_zero_weight_reproduces_the_plain_gan_exactly(tiny_train):
    short = {"iters": 5, "ckpt_every": 0}
    hybrid, cfg = _variant(tiny_train, options={"fm_weight": 0.0}, train=short)
    gan, _ = _variant(tiny_train, name="gan", train=short)
    ds = get_dataset("ring8")
    Trainer(hybrid, ds, cfg).fit()
    Trainer(gan, ds, cfg).fit()
    for a, b in zip(hybrid.generator.parameters(), gan.generator.parameters(), strict=True):
        assert torch.equal(a, b)


def test_step_logs_add_up(tiny_train):
    v, _ = _variant(tiny_train, options={"fm_weight": 3.0})
    logs = v.train_step(get_dataset("ring8"), torch.Generator().manual_seed(0))
    assert {"d_loss", "d_real", "d_fake", "g_loss", "g_adv_loss", "fm_loss"} <= set(logs)
    expected = logs["g_adv_loss"] + 3.0 * logs["fm_loss"]
    assert logs["g_loss"].item() == pytest.approx(expected.item(), rel=1e-6)
