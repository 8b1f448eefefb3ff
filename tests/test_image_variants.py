"""Image problems: the DCGAN networks, the shared factory, and one training step of every variant."""

import math

import pytest
import torch
from torch import nn

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.conv_networks import DCGANDiscriminator, DCGANGenerator, stage_plan
from baselines.errors import ConfigError
from baselines.networks import MLPDiscriminator, MLPGenerator, build_discriminator, build_generator
from baselines.pacgan import pack
from baselines.penalties import gradient_penalty
from baselines.trainer import Trainer
from baselines.variant import Problem

SHAPES = [(1, 28, 28), (3, 28, 28), (3, 64, 64)]
N_MODES = 3
WIDTH = 4
# Options that keep the variants' memory and time small (pool, buffer, classifier pretraining).
SMALL = {
    "adagan": {"pool_size": 64},
    "experience-replay": {"capacity": 32},
    "guided-latent": {"classifier_steps": 2, "holdout_samples": 60},
    "unrolled": {"unroll_steps": 2},
}


class FakeImages:
    """Random labelled images in [-1, 1]: mode j is brighter in channel j % C, plus uniform noise."""

    def __init__(self, shape, n_modes=N_MODES):
        self.shape, self.n_modes = tuple(shape), n_modes
        self.problem = Problem(math.prod(shape), n_modes, "image", shape=self.shape)

    def sample_labeled(self, n, gen):
        labels = torch.randint(self.n_modes, (n,), generator=gen)
        x = torch.rand(n, *self.shape, generator=gen) * 1.2 - 0.6
        x[torch.arange(n), labels % self.shape[0]] += 0.4 * (labels[:, None, None].float() - 1)
        return x.clamp(-1, 1), labels

    def sample(self, n, gen):
        return self.sample_labeled(n, gen)[0]


def _cfg(**overrides):
    net = {"conv_width": WIDTH, **overrides.pop("net", {})}
    return from_dict(
        TrainConfig, {"batch_size": 8, "z_dim": 8, "iters": 10, "ckpt_every": 0, "net": net, **overrides}
    )


def _build(name, shape=(1, 28, 28), options=None, **cfg):
    data = FakeImages(shape)
    torch.manual_seed(0)
    v = registry.build(name, data.problem, _cfg(**cfg), {**SMALL.get(name, {}), **(options or {})})
    return v, data


def _flat(params):
    return torch.cat([p.detach().flatten().clone() for p in params])


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", registry.names())
def test_one_step_of_every_variant_on_images(name, shape):
    v, data = _build(name, shape)
    g_before, d_before = _flat(v.generator.parameters()), _flat(v.discriminator.parameters())
    logs = v.train_step(data, torch.Generator().manual_seed(0))
    assert logs and all(torch.isfinite(val).all() for val in logs.values())
    # AdaGAN (10 stages of 1 iteration here) freezes the trained G and starts a fresh one.
    g_net = v.components[0] if name == "adagan" else v.generator
    d_net = v.discriminator
    g_after = _flat(g_net.parameters())
    assert torch.isfinite(g_after).all() and not torch.equal(g_before, g_after)
    if name != "adagan":
        assert not torch.equal(d_before, _flat(d_net.parameters()))
    x = v.generate(5, torch.Generator().manual_seed(1))
    assert x.shape == (5, *shape) and x.abs().max() <= 1


@pytest.mark.parametrize("name", registry.names())
def test_resume_on_images_reproduces_an_uninterrupted_run(name, tmp_path):
    # Batch-norm running statistics, image buffers and pools must all be in the checkpoint.
    def fit(iters, path):
        # The variant is built for 4 iterations (AdaGAN's stages depend on it); the trainer stops at `iters`.
        v, data = _build(name, (1, 28, 28), iters=4, ckpt_every=2)
        t = Trainer(v, data, _cfg(iters=iters, ckpt_every=2), checkpoint=path)
        t.fit()
        return v

    full = fit(4, tmp_path / "full.pt")
    fit(2, tmp_path / "half.pt")
    resumed = fit(4, tmp_path / "half.pt")
    a, b = full.generator.state_dict(), resumed.generator.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# ----- the networks -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_dcgan_generator_shape_and_range(shape):
    torch.manual_seed(0)
    g = DCGANGenerator(8, shape, width=WIDTH)
    x = g(3 * torch.randn(6, 8))
    assert x.shape == (6, *shape)
    assert x.abs().max() <= 1 and x.std() > 0


@pytest.mark.parametrize(("shape", "stages"), [((1, 28, 28), 2), ((3, 28, 28), 2), ((3, 64, 64), 4)])
def test_dcgan_discriminator_logits_and_features_per_stage(shape, stages):
    torch.manual_seed(0)
    d = DCGANDiscriminator(shape, width=WIDTH).eval()
    x = torch.rand(5, *shape) * 2 - 1
    assert d(x).shape == (5,)
    assert d.n_hidden == stages
    start, _ = stage_plan(shape[1])
    for layer in range(stages):
        side = shape[1] // 2 ** (layer + 1)
        assert d.features(x, layer).shape == (5, WIDTH * 2**layer * side * side)
    assert side == start
    assert torch.equal(d.features(x), d.features(x, stages - 1))
    assert torch.equal(d.features(x), d.body(x)) and d.body(x).shape == (5, d.feature_dim)
    assert torch.equal(d.head(d.body(x)).squeeze(-1), d(x))
    with pytest.raises(ValueError):
        d.features(x, stages)


def test_dcgan_discriminator_norm_options():
    shape = (3, 64, 64)
    kinds = {
        norm: {type(m) for m in DCGANDiscriminator(shape, WIDTH, norm).modules()}
        for norm in ("batch", "layer", "none")
    }
    assert nn.BatchNorm2d in kinds["batch"] and nn.GroupNorm not in kinds["batch"]
    assert nn.GroupNorm in kinds["layer"] and nn.BatchNorm2d not in kinds["layer"]
    assert not {nn.BatchNorm2d, nn.GroupNorm} & kinds["none"]
    d = DCGANDiscriminator(shape, WIDTH, "batch")
    assert isinstance(d.body[0][1], nn.Identity)  # no norm on the input stage (DCGAN)
    with pytest.raises(ValueError, match="norm"):
        DCGANDiscriminator(shape, WIDTH, "instance")


@pytest.mark.parametrize("side", [27, 30, 6, 4])
def test_unsupported_image_sizes_are_refused(side):
    with pytest.raises(ValueError, match="image side"):
        DCGANGenerator(8, (1, side, side))


def test_problem_checks_the_image_shape():
    assert Problem(784, 10, "image", shape=(1, 28, 28)).sample_shape == (1, 28, 28)
    assert Problem(2, 8).sample_shape == (2,)
    with pytest.raises(ValueError, match="C\\*H\\*W"):
        Problem(700, 10, "image", shape=(1, 28, 28))
    with pytest.raises(ValueError, match="kind"):
        Problem(2, 8, "frames")


def test_factory_builds_dcgan_nets_for_images_and_the_same_mlps_as_before_for_vectors():
    cfg = _cfg(net={"hidden": 16, "g_layers": 3})
    image = FakeImages((3, 28, 28)).problem
    assert isinstance(build_generator(image, cfg), DCGANGenerator)
    assert isinstance(build_discriminator(image, cfg), DCGANDiscriminator)
    vector = Problem(2, 8)
    torch.manual_seed(0)
    g, d = build_generator(vector, cfg), build_discriminator(vector, cfg)
    torch.manual_seed(0)
    g0, d0 = MLPGenerator(8, 2, 16, 3), MLPDiscriminator(2, 16, 2)
    for new, old in ((g, g0), (d, d0)):
        assert type(new) is type(old)
        a, b = new.state_dict(), old.state_dict()
        assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    # And a variant's build_networks on a vector problem gives exactly these networks.
    torch.manual_seed(0)
    v = registry.build("gan", vector, cfg)
    assert torch.equal(_flat(v.generator.parameters()), _flat(g0.parameters()))
    assert torch.equal(_flat(v.discriminator.parameters()), _flat(d0.parameters()))


def _first_conv(net):
    return next(m for m in net.modules() if isinstance(m, nn.Conv2d))


def test_image_discriminator_can_be_narrower_than_the_generator():
    # PacGAN's smaller-discriminator setting: D's base width set apart from G's (0 = G's width).
    image = FakeImages((3, 28, 28)).problem
    same, narrow = _cfg(net={"conv_width": 16}), _cfg(net={"conv_width": 16, "d_conv_width": 4})
    d16, d4 = build_discriminator(image, same), build_discriminator(image, narrow)
    assert _first_conv(d16).out_channels == 16 and _first_conv(d4).out_channels == 4
    assert d4.feature_dim * 4 == d16.feature_dim
    n16, n4 = (sum(p.numel() for p in d.parameters()) for d in (d16, d4))
    assert n4 < n16 / 8  # parameters shrink with width squared
    g16, g4 = build_generator(image, same), build_generator(image, narrow)
    assert _flat(g16.parameters()).numel() == _flat(g4.parameters()).numel()
    v = registry.build("pacgan", image, narrow, {"pack": 2})
    assert _first_conv(v.discriminator).in_channels == 6 and _first_conv(v.discriminator).out_channels == 4
    with pytest.raises(ConfigError, match="d_conv_width.*>= 0"):
        _cfg(net={"d_conv_width": -1})


# ----- variant-specific checks ----------------------------------------------------------------------
@pytest.mark.parametrize("m", [2, 3, 4])
def test_pacgan_image_discriminator_sees_m_times_c_channels(m):
    v, data = _build("pacgan", (3, 28, 28), {"pack": m})
    first = v.discriminator.inner.body[0][0]
    assert first.in_channels == m * 3
    x = data.sample(4 * m, torch.Generator().manual_seed(0))
    assert v.discriminator(x).shape == (4,)


def test_pack_stacks_consecutive_images_along_channels():
    x = torch.arange(6.0)[:, None, None, None].expand(6, 2, 3, 3)  # image i is constant i
    packed = pack(x, 3)
    assert packed.shape == (2, 6, 3, 3)
    assert packed[:, :, 0, 0].tolist() == [[0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5]]


def test_wgan_gp_penalty_is_zero_for_a_unit_gradient_critic_on_images():
    shape = (3, 28, 28)
    torch.manual_seed(0)
    lin = nn.Linear(math.prod(shape), 1)
    with torch.no_grad():
        lin.weight /= lin.weight.norm()
    critic = nn.Sequential(nn.Flatten(), lin)
    real, fake = torch.rand(8, *shape) * 2 - 1, torch.rand(8, *shape) * 2 - 1
    assert gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0)).item() < 1e-10
    with torch.no_grad():
        lin.weight *= 3.0  # slope 3 everywhere: penalty (3 - 1)^2
    gp = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0)).item()
    assert math.isclose(gp, 4.0, rel_tol=1e-5)


def test_wgan_gp_critic_uses_layer_norm_and_refuses_batch_norm():
    v, _ = _build("wgan-gp")
    kinds = {type(m) for m in v.discriminator.modules()}
    assert nn.GroupNorm in kinds and nn.BatchNorm2d not in kinds
    v, _ = _build("wgan-gp", net={"d_norm": "none"})
    assert nn.GroupNorm not in {type(m) for m in v.discriminator.modules()}
    with pytest.raises(ConfigError, match="d_norm"):
        _build("wgan-gp", net={"d_norm": "batch"})
    v, _ = _build("gan")  # everyone else: DCGAN's batch norm
    assert nn.BatchNorm2d in {type(m) for m in v.discriminator.modules()}


def test_cgan_label_maps_join_the_image_channels():
    v, data = _build("cgan", (1, 28, 28))
    assert v.discriminator.net.body[0][0].in_channels == 1 + N_MODES
    z = torch.randn(4, 8)
    with torch.no_grad():
        v.generator.eval()
        a = v.generator(z, torch.zeros(4, dtype=torch.long))
        b = v.generator(z, torch.ones(4, dtype=torch.long))
        assert a.shape == (4, 1, 28, 28) and not torch.equal(a, b)
        x, y = data.sample_labeled(4, torch.Generator().manual_seed(0))
        v.discriminator.eval()
        assert not torch.equal(v.discriminator(x, y), v.discriminator(x, (y + 1) % N_MODES))


def test_minibatch_layer_sits_on_the_flattened_conv_features():
    v, data = _build("minibatch-discrimination", (3, 28, 28), {"kernels": 6, "kernel_dim": 3})
    d = v.discriminator.eval()
    assert d.T.shape == (d.feature_dim, 6, 3) and d.head.in_features == d.feature_dim + 6
    x = data.sample(6, torch.Generator().manual_seed(0))
    y = x.clone()
    y[1:] = -y[1:]  # same first image, other companions
    assert d(x).shape == (6,) and not torch.allclose(d(x)[0], d(y)[0])


def test_feature_matching_on_any_conv_stage():
    for layer in (0, 1, -1):
        v, data = _build("feature-matching", (1, 28, 28), {"layer": layer})
        logs = v.train_step(data, torch.Generator().manual_seed(0))
        assert torch.isfinite(logs["fm_loss"])
    with pytest.raises(ConfigError, match="layer"):
        _build("feature-matching", (1, 28, 28), {"layer": 2})  # 28x28 D has two stages


def test_unrolled_generator_step_leaves_the_real_discriminators_batch_statistics_alone():
    v, data = _build("unrolled", (1, 28, 28))
    gen = torch.Generator().manual_seed(0)
    v.discriminator_step(data.sample(8, gen), gen)
    buffers = _flat(v.discriminator.buffers())
    d_params = _flat(v.discriminator.parameters())
    g_params = _flat(v.generator.parameters())
    logs = v.unrolled_generator_step(data, gen)
    assert torch.isfinite(logs["g_loss"])
    assert torch.equal(buffers, _flat(v.discriminator.buffers()))
    assert torch.equal(d_params, _flat(v.discriminator.parameters()))
    assert not torch.equal(g_params, _flat(v.generator.parameters()))


def test_experience_replay_stores_and_replays_images():
    v, data = _build("experience-replay", (3, 28, 28))
    gen = torch.Generator().manual_seed(0)
    v.train_step(data, gen)
    assert v.buffer.x.shape == (32, 3, 28, 28) and v.buffer.size == 8
    logs = v.train_step(data, gen)
    assert logs["replayed_fraction"].item() == 0.5


def test_adagan_reweights_an_image_pool_and_samples_its_mixture():
    v, data = _build("adagan", (1, 28, 28), {"num_generators": 2}, iters=2)
    gen = torch.Generator().manual_seed(0)
    v.train_step(data, gen)  # the end of stage 1: D_M scores the pool, weights change
    assert v.pool.shape == (64, 1, 28, 28) and len(v.components) == 1
    w = v.pool_weights
    assert math.isclose(float(w.sum()), 1.0, abs_tol=1e-9) and not torch.allclose(
        w, torch.full_like(w, 1 / 64)
    )
    v.train_step(data, gen)
    assert v.finished and v.generate(9, gen).shape == (9, 1, 28, 28)


def test_guided_latent_uses_a_conv_classifier_of_the_image_shape():
    v, data = _build("guided-latent", (3, 64, 64))
    assert isinstance(v.classifier.body[0][0], nn.Conv2d) and v.classifier.body[0][0].in_channels == 3
    v.train_step(data, torch.Generator().manual_seed(0))
    assert v.real_mean.shape == (N_MODES, 3 * 64 * 64)
    assert v.classifier(data.sample(2, torch.Generator())).shape == (2, N_MODES)
    assert v.stats_min_std == 0.1


def test_cgan_label_share_equals_the_explicit_label_maps():
    v, data = _build("cgan", (3, 28, 28))
    d = v.discriminator.train()
    x, y = data.sample_labeled(6, torch.Generator().manual_seed(0))
    explicit = d.net(d._joint(x, y))
    torch.testing.assert_close(d(x, y), explicit, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(d.features(x, y, 0), d.net.features(d._joint(x, y), 0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(d.features(x, y), d.net.body(d._joint(x, y)), rtol=1e-5, atol=1e-5)
