"""AdaGAN: the data-weight update, the stage schedule, mixture sampling and resume."""

import math

import pytest
import torch
from torch import nn

from baselines import registry
from baselines.adagan import adagan_data_weights, chain_density_ratio
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset

SMALL = {"pool_size": 2000}


def _build(cfg_dict, options=None, variant="adagan", dataset="ring8"):
    cfg = from_dict(TrainConfig, cfg_dict)
    ds = get_dataset(dataset)
    torch.manual_seed(cfg.seed)
    return registry.build(
        variant, ds.problem, cfg, {**SMALL, **(options or {})} if variant == "adagan" else {}
    )


def _trainer(cfg_dict, options=None, dataset="ring8", hooks=None, checkpoint=None):
    cfg = from_dict(TrainConfig, cfg_dict)
    v = _build(cfg_dict, options, dataset=dataset)
    return Trainer(v, get_dataset(dataset), cfg, hooks=hooks, checkpoint=checkpoint)


def _flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def _normalisation(ratio, beta, lam):
    """sum_i (lambda - (1 - beta) r_i)_+ / (beta N): 1 exactly when lambda is lambda*."""
    r = ratio.double()
    return float(torch.relu(lam - (1 - beta) * r).sum() / (beta * r.numel()))


# ----- the data-weight update (paper, Theorem 1 / Section 3.1) ---------------------------------
@pytest.mark.parametrize(
    "beta, lam, w_covered, w_uncovered",
    # The model covers the first half of the points with twice their density (ratio 2) and misses
    # the second half (ratio 0). For beta <= 1/2 all weight goes to the missed half (lambda* = 2 beta);
    # for beta >= 1/2 lambda* = 1 and the covered half keeps (2 beta - 1) / beta of its weight.
    [(0.3, 0.6, 0.0, 2.0), (0.5, 1.0, 0.0, 2.0), (0.8, 1.0, 0.75, 1.25)],
)
def test_weights_move_to_the_uncovered_half_with_known_lambda(beta, lam, w_covered, w_uncovered):
    n = 1000
    ratio = torch.cat([torch.full((n // 2,), 2.0), torch.zeros(n // 2)])
    w, got_lam = adagan_data_weights(ratio, beta)
    assert got_lam == pytest.approx(lam, abs=1e-12)
    assert _normalisation(ratio, beta, got_lam) == pytest.approx(1.0, abs=1e-12)
    assert torch.allclose(w[: n // 2], torch.full((n // 2,), w_covered / n, dtype=torch.float64))
    assert torch.allclose(w[n // 2 :], torch.full((n // 2,), w_uncovered / n, dtype=torch.float64))
    assert (w >= 0).all() and float(w.sum()) == pytest.approx(1.0, abs=1e-12)
    if beta >= 0.5:  # then the new mixture (1 - beta) model + beta W is exactly the data (uniform)
        model = ratio.double() / n
        assert torch.allclose((1 - beta) * model + beta * w, torch.full((n,), 1.0 / n, dtype=torch.float64))


@pytest.mark.parametrize("beta", [1.0, 0.5, 1 / 3, 0.1, 0.01])
def test_weights_on_random_ratios_are_a_distribution_decreasing_in_the_ratio(beta):
    gen = torch.Generator().manual_seed(0)
    ratio = torch.exp(3 * torch.randn(5000, generator=gen))  # spans many orders of magnitude
    w, lam = adagan_data_weights(ratio, beta)
    assert (w >= 0).all() and float(w.sum()) == pytest.approx(1.0, abs=1e-12)
    assert _normalisation(ratio, beta, lam) == pytest.approx(1.0, abs=1e-9)
    order = torch.argsort(ratio)
    assert (w[order].diff() <= 1e-15).all(), "a point the model covers more must not weigh more"
    if beta == 1.0:
        assert torch.allclose(w, torch.full_like(w, 1 / 5000))


def test_weights_reject_bad_inputs():
    with pytest.raises(ValueError):
        adagan_data_weights(torch.ones(4), 0.0)
    with pytest.raises(ValueError):
        adagan_data_weights(torch.tensor([1.0, -1.0]), 0.5)


def test_chain_ratio_from_the_stage_discriminator_known_answer():
    # Model so far: ratio 2 on the first half, 0 on the second; the stage trained on W = all weight on
    # the second half, and its D is at chance (logit 0), i.e. G_t reproduced W. With beta = 1/2 the
    # new mixture is exactly the data: ratio 1 everywhere.
    n = 10
    previous = torch.tensor([2.0] * 5 + [0.0] * 5)
    w = torch.tensor([0.0] * 5 + [0.2] * 5)
    out = chain_density_ratio(previous, 0.5, w, torch.zeros(n))
    assert torch.allclose(out, torch.ones(n, dtype=torch.float64))


# ----- stages, mixture weights, sampling ---------------------------------------------------------
@pytest.mark.parametrize("options, weights", [({}, [1 / 3] * 3), ({"beta": "constant"}, [0.25, 0.25, 0.5])])
def test_stages_switch_at_the_even_split_and_mixture_weights_follow_beta(tiny_train, options, weights):
    seen = []

    class Spy:
        def on_step_end(self, trainer, step, logs):
            v = trainer.variant
            seen.append((step, v.stage, len(v.components), id(v.generator), float(logs["stage"])))

    cfg = {**tiny_train, "iters": 10, "ckpt_every": 0}
    t = _trainer(cfg, {"num_generators": 3, **options}, hooks=[Spy()])
    t.fit()
    v = t.variant
    assert v.stage_ends == [3, 6, 10]
    stages = [s for _, s, _, _, _ in seen]
    assert stages == [0, 0, 1, 1, 1, 2, 2, 2, 2, 3]  # stage after each step (switch at 3, 6, 10)
    assert [c for _, _, c, _, _ in seen] == [0, 0, 1, 1, 1, 2, 2, 2, 2, 3]
    assert [s for *_, s in seen] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]  # the stage each step trained in
    ids = [i for _, _, _, i, _ in seen]
    assert ids[0] == ids[1] != ids[2] == ids[3] == ids[4] != ids[5]  # a fresh G at each switch
    assert ids[9] == ids[8]  # none after the last stage
    assert v.finished and torch.allclose(v.mixture_weights, torch.tensor(weights, dtype=torch.float64))
    assert not torch.equal(_flat(v.components[0]), _flat(v.components[1]))
    # Each stage's pool weights are a distribution.
    assert float(v.pool_weights.sum()) == pytest.approx(1.0, abs=1e-9) and (v.pool_weights >= 0).all()


def _make_constant(g, value):
    with torch.no_grad():
        g.net[-1].weight.zero_()
        g.net[-1].bias.fill_(value)


def _fractions(v, n, k):
    gen = torch.Generator().manual_seed(123)
    with torch.no_grad():
        x = v.generate(n, gen)
    return [float((x[:, 0] == j).float().mean()) for j in range(k)]


def test_generate_draws_from_each_generator_in_proportion_to_its_weight(tiny_train):
    t = _trainer({**tiny_train, "iters": 3, "ckpt_every": 0}, {"num_generators": 3, "beta": "constant"})
    t.fit()
    v = t.variant
    for j, g in enumerate(v.components):
        _make_constant(g, j)
    fracs = _fractions(v, 40_000, 3)
    for got, want in zip(fracs, [0.25, 0.25, 0.5], strict=True):
        assert abs(got - want) < 0.015


def test_generate_mid_run_includes_the_generator_in_progress_with_beta_t(tiny_train):
    v = _build({**tiny_train, "iters": 6}, {"num_generators": 3, "beta": "constant", "beta_constant": 0.3})
    data, gen = get_dataset("ring8"), torch.Generator().manual_seed(0)
    for _ in range(3):  # stages end at 2, 4, 6: now in stage 2 of 3 with one finished generator
        v.train_step(data, gen)
    gens, weights = v.members()
    assert len(gens) == 2 and gens[1] is v.generator
    assert torch.allclose(weights, torch.tensor([0.7, 0.3], dtype=torch.float64))
    _make_constant(v.components[0], 0)
    _make_constant(v.generator, 1)
    fracs = _fractions(v, 40_000, 2)
    assert abs(fracs[0] - 0.7) < 0.015 and abs(fracs[1] - 0.3) < 0.015


def test_one_generator_is_a_plain_gan_on_the_pool(tiny_train):
    class Pool:  # the same pool and weighted draws, handed to the plain GAN as its data
        def __init__(self, data, size):
            self.data, self.size, self.pool = data, size, None

        def sample(self, n, gen):
            if self.pool is None:
                self.pool = self.data.sample(self.size, gen)
                self.w = torch.full((self.size,), 1 / self.size, dtype=torch.float64)
            return self.pool[torch.multinomial(self.w, n, replacement=True, generator=gen)]

    cfg_dict = {**tiny_train, "ckpt_every": 0}
    cfg = from_dict(TrainConfig, cfg_dict)
    ada = Trainer(_build(cfg_dict, {"num_generators": 1}), get_dataset("ring8"), cfg)
    gan = Trainer(_build(cfg_dict, variant="gan"), Pool(get_dataset("ring8"), SMALL["pool_size"]), cfg)
    ada.fit(), gan.fit()
    assert torch.equal(_flat(ada.variant.generator), _flat(gan.variant.generator))
    assert torch.equal(_flat(ada.variant.components[0]), _flat(gan.variant.generator))
    a = ada.variant.generate(100, torch.Generator().manual_seed(5))
    b = gan.variant.generate(100, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


class _ModeSampler(nn.Module):
    """A 'generator' that reproduces one mode exactly (a dummy parameter keeps Adam happy)."""

    def __init__(self, centre, sigma):
        super().__init__()
        self.centre, self.sigma = centre, sigma
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z):
        return self.centre + self.sigma * z[:, :1] + 0 * self.dummy


def test_mixture_discriminator_points_the_next_generator_at_the_missing_mode(tiny_train):
    # 50/50 temperatures; the first "GAN" produces exactly the South Pole mode, so dM/dP_data is 2 there
    # and 0 at Alice Springs: with beta_2 = 1/2 the ideal weights put everything on Alice Springs.
    ds = get_dataset("bimodal-temperature")
    cfg = {
        **tiny_train,
        "iters": 600,
        "ckpt_every": 0,
        "lr_d": 1e-3,
        "batch_size": 128,
        "net": {"hidden": 32},
    }
    v = _build(cfg, {"num_generators": 2, "pool_size": 4000}, dataset="bimodal-temperature")
    pole = int(torch.tensor(ds.centres[:, 0]).argmin())
    v.generator = _ModeSampler(float(ds.centres[pole, 0]), float(ds.sigma[pole]))
    v.opt_g = torch.optim.Adam(v.generator.parameters())
    seen = {}

    class Spy:
        def on_step_end(self, trainer, step, logs):
            if step == 300:
                seen["w"], seen["pool"] = v.pool_weights.clone(), v.pool.clone()
                seen["lam"] = v.last_lambda

    Trainer(v, ds, from_dict(TrainConfig, cfg), hooks=[Spy()]).fit()
    alice = seen["pool"][:, 0] > 0
    assert float(seen["w"][alice].sum()) > 0.9
    assert float(seen["w"].sum()) == pytest.approx(1.0, abs=1e-9)
    assert math.isclose(seen["lam"], 1.0, abs_tol=0.25)


# ----- checkpoints and options -----------------------------------------------------------------
class _Crash(Exception):
    pass


@pytest.mark.parametrize("density_ratio", ["mixture-d", "stage-d"])
def test_resume_across_stage_boundaries_reproduces_an_uninterrupted_run(tmp_path, tiny_train, density_ratio):
    # 40 iterations in 3 stages end at 13, 26, 40: the checkpoint at 20 lies inside stage 2, after one
    # reweighting and before another.
    opts = {"num_generators": 3, "density_ratio": density_ratio}
    full = _trainer(tiny_train, opts, checkpoint=tmp_path / "full.pt")
    full.fit()

    class CrashAt20:
        def on_checkpoint(self, trainer, step):
            if step == 20:
                raise _Crash

    crashed = _trainer(tiny_train, opts, hooks=[CrashAt20()], checkpoint=tmp_path / "half.pt")
    with pytest.raises(_Crash):
        crashed.fit()
    resumed = _trainer(tiny_train, opts, checkpoint=tmp_path / "half.pt")
    assert resumed.fit().resumed_from == 20
    a, b = full.variant, resumed.variant
    assert len(a.components) == len(b.components) == 3
    for ga, gb in zip(a.components, b.components, strict=True):
        assert torch.equal(_flat(ga), _flat(gb))
    assert torch.equal(_flat(a.generator), _flat(b.generator))
    assert torch.equal(a.mixture_weights, b.mixture_weights)
    assert torch.equal(a.pool_weights, b.pool_weights) and torch.equal(a.pool, b.pool)
    x = a.generate(64, torch.Generator().manual_seed(9))
    y = b.generate(64, torch.Generator().manual_seed(9))
    assert torch.equal(x, y)


def test_resume_with_a_different_schedule_is_refused(tmp_path, tiny_train):
    _trainer(tiny_train, {"num_generators": 3}, checkpoint=tmp_path / "c.pt").fit()
    with pytest.raises(ConfigError, match="stages"):
        _trainer(tiny_train, {"num_generators": 4}, checkpoint=tmp_path / "c.pt").load_checkpoint()


@pytest.mark.parametrize("bad", [{"num_generators": 0}, {"pool_size": 0}, {"beta_constant": 1.5}])
def test_bad_options_are_refused(bad):
    with pytest.raises(ConfigError):
        registry.build("adagan", get_dataset("ring8").problem, TrainConfig(iters=10), bad)
