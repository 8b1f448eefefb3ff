"""WGAN (weight clipping): the Wasserstein loss, clipping, n_critic steps, optimizer defaults, resume."""

import math

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.losses import wasserstein
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset


def _trainer(cfg_dict, options=None, checkpoint=None, variant="wgan"):
    cfg = from_dict(TrainConfig, cfg_dict)
    ds = get_dataset("ring8")
    torch.manual_seed(cfg.seed)
    return Trainer(registry.build(variant, ds.problem, cfg, options), ds, cfg, checkpoint=checkpoint)


def _steps(opt):
    """Number of updates an optimizer has made (the same for all of its parameters)."""
    counts = {int(s["step"]) for s in opt.state.values()}
    assert len(counts) == 1
    return counts.pop()


def test_wasserstein_loss_matches_hand_computation():
    out = wasserstein(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0]))
    # critic loss = mean D(fake) - mean D(real) = 1.5 - 2; generator loss = -mean D(fake)
    assert out.d_loss_real.item() == -2.0
    assert out.d_loss_fake.item() == 1.5
    assert out.d_loss.item() == -0.5
    assert out.g_loss.item() == -1.5


def test_wasserstein_gradients_are_constant_signs():
    # Unlike the sigmoid losses, the critic gradient does not saturate: d d_loss / d d_fake = 1/n.
    d_real = torch.full((4,), 50.0, requires_grad=True)
    d_fake = torch.full((4,), -50.0, requires_grad=True)
    g_real, g_fake = torch.autograd.grad(wasserstein(d_real, d_fake).d_loss, (d_real, d_fake))
    assert torch.equal(g_real, torch.full((4,), -0.25)) and torch.equal(g_fake, torch.full((4,), 0.25))


def test_paper_defaults():
    t = _trainer({"iters": 1, "ckpt_every": 0, "batch_size": 8, "z_dim": 4, "net": {"hidden": 8}})
    v = t.variant
    assert (v.options.n_critic, v.options.clip) == (5, 0.01)
    for opt in (v.opt_d, v.opt_g):
        assert isinstance(opt, torch.optim.RMSprop)
        assert opt.param_groups[0]["lr"] == 5e-5


def test_lr_none_falls_back_to_train_config_and_adam_option(tiny_train):
    cfg = {**tiny_train, "lr_d": 2e-4, "lr_g": 3e-4}
    v = _trainer(cfg, {"lr_d": None, "lr_g": None, "optimizer": "adam", "beta2": 0.9}).variant
    assert isinstance(v.opt_d, torch.optim.Adam)
    assert v.opt_d.param_groups[0]["lr"] == 2e-4 and v.opt_g.param_groups[0]["lr"] == 3e-4
    assert v.opt_d.param_groups[0]["betas"] == (0.5, 0.9)  # beta1 from TrainConfig, beta2 given


@pytest.mark.parametrize(
    "train, options, match",
    [
        ({"d_steps": 5}, {}, "n_critic"),
        ({}, {"n_critic": 0}, "n_critic must be >= 1"),
        ({}, {"clip": 0.0}, "clip must be > 0"),
        ({}, {"beta1": 0.5}, "only to optimizer=adam"),
    ],
)
def test_bad_settings_fail_loudly(tiny_train, train, options, match):
    with pytest.raises(ConfigError, match=match):
        _trainer({**tiny_train, **train}, options)


@pytest.mark.parametrize("clip", [0.01, 0.05])
def test_critic_parameters_lie_in_the_clip_box_after_a_critic_step(tiny_train, clip):
    t = _trainer(tiny_train, {"clip": clip})
    v = t.variant
    real = t.data.sample(64, t.gen)
    v.discriminator_step(real, t.gen)
    params = torch.cat([p.detach().flatten() for p in v.discriminator.parameters()])
    c = torch.tensor(clip, dtype=params.dtype)  # the clip value as the parameters store it
    assert params.abs().max() <= c
    # The box is active: default init (+-1/sqrt(16) = 0.25 for hidden 16) puts many weights outside it.
    assert (params.abs() == c).sum().item() > 10


def test_n_critic_critic_updates_per_generator_update(tiny_train):
    t = _trainer({**tiny_train, "iters": 3, "ckpt_every": 0}, {"n_critic": 3})
    t.fit()
    assert _steps(t.variant.opt_d) == 9
    assert _steps(t.variant.opt_g) == 3


def test_logs_are_critic_values_not_sigmoid_probabilities(tiny_train):
    t = _trainer(tiny_train)
    logs = t.variant.train_step(t.data, t.gen)
    assert {"d_loss", "g_loss", "wasserstein_estimate", "critic_real", "critic_fake"} == set(logs)
    assert all(x.dim() == 0 and not x.requires_grad for x in logs.values())
    assert math.isclose(logs["wasserstein_estimate"].item(), -logs["d_loss"].item(), abs_tol=1e-7)
    est = logs["critic_real"] - logs["critic_fake"]
    assert math.isclose(logs["wasserstein_estimate"].item(), est.item(), abs_tol=1e-7)
