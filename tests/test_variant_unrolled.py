"""Unrolled GAN: the unrolled generator gradient, checked against known answers on tiny float64 models."""

import copy
import math

import pytest
import torch

from baselines import registry
from baselines.config import NetConfig, TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.trainer import Trainer
from baselines.unrolled import differentiable_adam_step
from baselines.variant import Problem
from benchmark.data.registry import get_dataset

BS = 16


class Ring64:
    """A float64 ring of 8 Gaussians (the benchmark's datasets sample float32)."""

    def sample(self, n, gen):
        angle = 2 * math.pi * torch.randint(0, 8, (n,), generator=gen, dtype=torch.float64) / 8
        centre = torch.stack([angle.cos(), angle.sin()], 1)
        return centre + 0.1 * torch.randn(n, 2, generator=gen, dtype=torch.float64)


def _variant(name="unrolled", warm_steps=3, seed=0, **options):
    """A tiny float64 variant whose D (and its Adam state) has taken ``warm_steps`` real steps."""
    cfg = TrainConfig(batch_size=BS, z_dim=3, lr_d=1e-2, lr_g=1e-3, net=NetConfig(hidden=8))
    torch.manual_seed(seed)
    v = registry.build(name, Problem(2, 8), cfg, options)
    gen = torch.Generator().manual_seed(100 + seed)
    for _ in range(warm_steps):
        v.discriminator_step(Ring64().sample(BS, gen), gen)
    return v


def _g_grad(v, loss_fn, seed=7):
    loss = loss_fn(torch.Generator().manual_seed(seed))
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(v.generator.parameters()))])


def _unrolled_grad(v, seed=7):
    return _g_grad(v, lambda gen: v.unrolled_generator_loss(Ring64(), gen)[0], seed)


def _plain_grad_on_final_batch(v, k, seed=7):
    """The plain GAN's generator gradient at the current D, on the batch the unrolled loss ends with
    (the draws of the K simulated steps are skipped in the same order)."""

    def loss(gen):
        for _ in range(k):
            Ring64().sample(BS, gen), v.sample_z(BS, gen)
        fake = v.generate(BS, gen)
        real = Ring64().sample(BS, gen) if k else None
        d_real = v.discriminator(real) if k else v._last_d_real
        return v.loss(d_real, v.discriminator(fake)).g_loss

    return _g_grad(v, loss, seed)


@pytest.mark.parametrize("loss", ["minimax", "non-saturating"])
def test_zero_unroll_steps_gives_the_plain_gan_gradient(float64, loss):
    v = _variant(unroll_steps=0, loss=loss)
    assert torch.equal(_unrolled_grad(v), _plain_grad_on_final_batch(v, 0))


@pytest.mark.parametrize("loss", ["minimax", "non-saturating"])
def test_zero_unroll_steps_trains_exactly_like_gan(tiny_train, loss):
    def run(name, options):
        cfg = from_dict(TrainConfig, {**tiny_train, "iters": 20, "ckpt_every": 0})
        ds = get_dataset("ring8")
        torch.manual_seed(cfg.seed)
        t = Trainer(registry.build(name, ds.problem, cfg, options), ds, cfg)
        t.fit()
        return torch.cat([p.detach().flatten() for p in t.variant.generator.parameters()])

    assert torch.equal(run("gan", {"loss": loss}), run("unrolled", {"loss": loss, "unroll_steps": 0}))


@pytest.mark.parametrize("k", [1, 3])
def test_unrolling_changes_the_gradient_and_zero_lr_removes_the_change(float64, k):
    v = _variant(unroll_steps=k, loss="non-saturating")
    plain = _plain_grad_on_final_batch(v, k)
    assert not torch.allclose(_unrolled_grad(v), plain, rtol=1e-3, atol=0)
    # With D's learning rate 0 the simulated steps do not move D: the plain gradient comes back.
    v.opt_d.param_groups[0]["lr"] = 0.0
    torch.testing.assert_close(_unrolled_grad(v), plain, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", ["minimax", "non-saturating"])
def test_second_order_gradient_matches_finite_differences(float64, loss):
    v = _variant(unroll_steps=3, loss=loss)
    grad = _unrolled_grad(v, seed=11)
    first_order = _variant(unroll_steps=3, loss=loss, first_order=True)
    assert not torch.allclose(_unrolled_grad(first_order, seed=11), grad, rtol=1e-3, atol=0)

    params = list(v.generator.parameters())
    offsets = torch.cumsum(torch.tensor([0] + [p.numel() for p in params]), 0)
    # The largest entries of the first and of the last layer, so the relative error means something.
    picks = [int(grad[offsets[0] : offsets[1]].abs().argmax())]
    picks += [int(offsets[-3] + grad[offsets[-3] : offsets[-2]].abs().argmax())]
    h = 1e-6
    for flat in picks:
        i = int(torch.searchsorted(offsets, torch.tensor(flat), right=True)) - 1
        p, j = params[i], flat - int(offsets[i])

        def loss_at(delta, p=p, j=j):
            with torch.no_grad():
                p.view(-1)[j] += delta
            out = v.unrolled_generator_loss(Ring64(), torch.Generator().manual_seed(11))[0].item()
            with torch.no_grad():
                p.view(-1)[j] -= delta
            return out

        fd = (loss_at(h) - loss_at(-h)) / (2 * h)
        assert fd == pytest.approx(float(grad[flat]), rel=1e-4), (flat, fd, float(grad[flat]))


@pytest.mark.parametrize("warm_steps", [0, 3])
def test_one_simulated_step_equals_a_real_adam_step(float64, warm_steps):
    v = _variant(unroll_steps=1, warm_steps=warm_steps)
    simulated = v.unrolled_discriminator(Ring64(), torch.Generator().manual_seed(5))

    d = copy.deepcopy(v.discriminator)
    opt = torch.optim.Adam(d.parameters(), lr=1.0)
    opt.load_state_dict(v.opt_d.state_dict())  # lr, betas, eps and the moments of the real optimizer
    gen = torch.Generator().manual_seed(5)
    real = Ring64().sample(BS, gen)
    with torch.no_grad():
        fake = v.generate(BS, gen)
    v.loss(d(real), d(fake)).d_loss.backward()
    opt.step()
    for name, p in d.named_parameters():
        torch.testing.assert_close(simulated[name], p.detach(), rtol=1e-13, atol=1e-15)
        assert not torch.equal(p.detach(), dict(v.discriminator.named_parameters())[name].detach())


def test_generator_step_leaves_d_and_its_optimizer_untouched(float64):
    v = _variant(unroll_steps=3)
    d_before = copy.deepcopy(v.discriminator.state_dict())
    opt_before = copy.deepcopy(v.opt_d.state_dict())
    g_before = [p.detach().clone() for p in v.generator.parameters()]
    v.unrolled_generator_step(Ring64(), torch.Generator().manual_seed(3))
    for k, t in v.discriminator.state_dict().items():
        assert torch.equal(t, d_before[k])
    opt_after = v.opt_d.state_dict()
    assert opt_after["param_groups"] == opt_before["param_groups"]
    for i, s in opt_before["state"].items():
        for key, t in s.items():
            assert torch.equal(opt_after["state"][i][key], t), (i, key)
    assert any(not torch.equal(a, p) for a, p in zip(g_before, v.generator.parameters(), strict=True))


def test_adam_step_is_finite_for_parameters_with_zero_second_moment(float64):
    # A dead ReLU unit has gradient 0 and exp_avg_sq 0; sqrt'(0) would turn its backward into NaN.
    theta = torch.tensor([0.5, -1.0], requires_grad=True)
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    grads = {"w": theta * torch.tensor([1.0, 0.0])}
    state = {"w": (torch.zeros(2), torch.zeros(2), 0.0)}
    group = {"lr": 0.1, "betas": (0.5, 0.999), "eps": 1e-8}
    new, _ = differentiable_adam_step({"w": p}, grads, state, group)
    (g,) = torch.autograd.grad(new["w"].sum(), theta)
    assert torch.isfinite(g).all()
    assert float(new["w"][1].detach()) == 2.0


def test_negative_unroll_steps_is_refused():
    with pytest.raises(ConfigError, match="unroll_steps"):
        registry.build("unrolled", Problem(2, 8), TrainConfig(), {"unroll_steps": -1})
