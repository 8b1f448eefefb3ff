"""WGAN-GP: the gradient penalty's known values, its randomness and gradient, the variant's wiring."""

import math

import pytest
import torch
from torch import nn

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.penalties import gradient_penalty
from baselines.trainer import Trainer
from baselines.variant import Problem
from benchmark.data.registry import get_dataset


def _trainer(cfg_dict, options=None, checkpoint=None):
    cfg = from_dict(TrainConfig, cfg_dict)
    ds = get_dataset("ring8")
    torch.manual_seed(cfg.seed)
    return Trainer(registry.build("wgan-gp", ds.problem, cfg, options), ds, cfg, checkpoint=checkpoint)


def _steps(opt):
    counts = {int(s["step"]) for s in opt.state.values()}
    assert len(counts) == 1
    return counts.pop()


def _linear_critic(w, bias=0.7):
    d = nn.Linear(len(w), 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([w]))
        d.bias.fill_(bias)
    return d


def _batches(n=32, dim=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g), 3 * torch.randn(n, dim, generator=g)


def _gen(seed=1):
    return torch.Generator().manual_seed(seed)


def test_penalty_is_zero_for_a_unit_norm_linear_critic():
    real, fake = _batches()
    gp = gradient_penalty(_linear_critic([0.6, 0.8]), real, fake, _gen())
    assert gp.item() < 1e-10


@pytest.mark.parametrize("w", [[1.8, 2.4], [0.3, 0.4], [0.0, 0.0]])
def test_penalty_of_a_linear_critic_is_the_squared_norm_gap(w):
    # The gradient of x -> w.x + b is w everywhere, so every interpolate has slope ||w||.
    real, fake = _batches()
    expected = (math.hypot(*w) - 1) ** 2  # 4, 0.25, 1
    assert math.isclose(
        gradient_penalty(_linear_critic(w), real, fake, _gen()).item(), expected, rel_tol=1e-6
    )


def test_variant_weights_the_penalty_by_lambda(tiny_train):
    v = _trainer(tiny_train, {"gp_lambda": 7.0}).variant
    v.discriminator = _linear_critic([1.8, 2.4])  # ||w|| = 3
    real, fake = _batches()
    term, logs = v.penalty(real, fake, _gen())
    assert math.isclose(term.item(), 7.0 * 4.0, rel_tol=1e-6)
    assert math.isclose(logs["gp"].item(), 4.0, rel_tol=1e-6)


def test_penalty_gradient_reaches_critic_parameters():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||; the bias does not affect the input gradient.
    d = _linear_critic([1.8, 2.4])
    real, fake = _batches()
    gradient_penalty(d, real, fake, _gen()).backward()
    assert torch.allclose(d.weight.grad, torch.tensor([[2.4, 3.2]]), rtol=1e-5)
    assert d.bias.grad is None or d.bias.grad.abs().item() == 0.0
    # And through a ReLU network (double backward), into every layer's weights.
    mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    gradient_penalty(mlp, real, fake, _gen()).backward()
    assert mlp[0].weight.grad.abs().sum() > 0 and mlp[2].weight.grad.abs().sum() > 0


def test_interpolates_use_one_uniform_eps_per_sample_from_the_passed_generator():
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = _linear_critic([1.0, -2.0])

        def forward(self, x):
            seen.append(x.detach().clone())
            return self.lin(x)

    real, fake, spy = *_batches(n=16), Spy()
    global_state = torch.random.get_rng_state()
    gradient_penalty(spy, real, fake, _gen(5))
    assert torch.equal(torch.random.get_rng_state(), global_state)  # no global randomness used
    eps = torch.rand(16, 1, generator=_gen(5))
    assert torch.allclose(seen[0], eps * real + (1 - eps) * fake, atol=1e-6)
    # Same generator state, same penalty; another seed, another one (for a non-linear critic).
    mlp = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    a, b = (gradient_penalty(mlp, real, fake, _gen(5)) for _ in range(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, gradient_penalty(mlp, real, fake, _gen(6)))


def test_penalty_rejects_mismatched_batches():
    real, fake = _batches()
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_penalty(_linear_critic([1.0, 0.0]), real, fake[:5], _gen())


def test_paper_defaults(tiny_train):
    v = _trainer(tiny_train).variant
    assert (v.options.gp_lambda, v.options.n_critic) == (10.0, 5)
    for opt in (v.opt_d, v.opt_g):
        assert isinstance(opt, torch.optim.Adam)
        assert opt.param_groups[0]["lr"] == 1e-4 and opt.param_groups[0]["betas"] == (0.0, 0.9)


def test_step_counts_logs_and_no_clipping(tiny_train):
    t = _trainer({**tiny_train, "iters": 2, "ckpt_every": 0})
    v = t.variant
    before = torch.cat([p.detach().flatten() for p in v.discriminator.parameters()])
    assert before.abs().max() > 0.1  # nothing clipped at construction
    logs = v.train_step(t.data, t.gen)
    assert {"d_loss", "g_loss", "wasserstein_estimate", "critic_real", "critic_fake", "gp"} == set(logs)
    # d_loss = -(Wasserstein estimate) + lambda * gp, all from the same (last) critic step.
    expected = -logs["wasserstein_estimate"] + 10.0 * logs["gp"]
    assert math.isclose(logs["d_loss"].item(), expected.item(), rel_tol=1e-5, abs_tol=1e-6)
    assert (_steps(v.opt_d), _steps(v.opt_g)) == (5, 1)  # n_critic critic updates, one G update
    after = torch.cat([p.detach().flatten() for p in v.discriminator.parameters()])
    assert after.abs().max() > 0.1  # no weight clipping in WGAN-GP


@pytest.mark.parametrize("gp_lambda", [10.0, 2.0])
def test_trained_critic_estimates_the_penalised_wasserstein_distance_of_a_shift(gp_lambda):
    # Real ~ N(0, 0.1^2), fake ~ N(2, 0.1^2) in 1-D: W1 = 2. On the interpolates the best critic is
    # linear with slope s maximising 2 s - lambda (s - 1)^2, i.e. s = 1 + 1/lambda, so the estimate
    # mean D(real) - mean D(fake) converges to 2 (1 + 1/lambda): 2.2 for lambda 10, 3.0 for lambda 2.
    # (A critic that starts sloping the wrong way can stall at the mirror optimum s = -(1 - 1/lambda),
    # a property of the two-sided penalty in 1-D; this seed's initial critic slopes the right way.)
    torch.manual_seed(0)
    cfg = from_dict(TrainConfig, {"batch_size": 64, "z_dim": 4, "net": {"hidden": 32}})
    v = registry.build("wgan-gp", Problem(1, 1), cfg, {"lr_d": 1e-3, "gp_lambda": gp_lambda})
    g = _gen(0)
    v.generate = lambda n, gen: 2 + 0.1 * torch.randn(n, 1, generator=gen)  # a fixed "generator"
    estimates = []
    for _ in range(200):
        logs = v.discriminator_step(0.1 * torch.randn(64, 1, generator=g), g)
        estimates.append(logs["wasserstein_estimate"].item())
    expected = 2 * (1 + 1 / gp_lambda)
    assert abs(sum(estimates[-50:]) / 50 - expected) < 0.05
