"""Feature matching (Salimans et al. 2016): G matches batch means of D's hidden features."""

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.feature_matching import feature_matching_loss
from benchmark.data.registry import get_dataset


def _variant(tiny_train, dataset="ring8", name="feature-matching", options=None, net=None):
    cfg = from_dict(TrainConfig, {**tiny_train, "net": net or tiny_train["net"]})
    torch.manual_seed(cfg.seed)
    return registry.build(name, get_dataset(dataset).problem, cfg, options)


def _g_params(v):
    return [p.detach().clone() for p in v.generator.parameters()]


def test_loss_is_the_mse_of_batch_means_by_hand(tiny_train):
    # One hidden layer of two ReLUs, f(x) = (relu(x), relu(-x)), on 1-D data.
    v = _variant(tiny_train, "bimodal-temperature", net={"hidden": 2, "d_layers": 1})
    with torch.no_grad():
        v.discriminator.body[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        v.discriminator.body[0].bias.zero_()
    v._last_real = torch.tensor([[1.0], [3.0]])  # features (1, 0), (3, 0): mean (2, 0)
    fake = torch.tensor([[-2.0], [0.0]])  # features (0, 2), (0, 0): mean (0, 1)
    g_loss, logs = v.generator_loss(fake)
    expected = ((2 - 0) ** 2 + (0 - 1) ** 2) / 2
    assert g_loss.item() == pytest.approx(expected)
    assert logs["fm_loss"].item() == pytest.approx(expected)
    a, b = torch.tensor([[1.0, 0.0], [3.0, 0.0]]), torch.tensor([[0.0, 2.0], [0.0, 0.0]])
    assert feature_matching_loss(a, b).item() == pytest.approx(expected)


@pytest.mark.parametrize("layer", [0, 1, -1])
def test_the_chosen_layer_is_matched(tiny_train, layer):
    v = _variant(tiny_train, options={"layer": layer})
    gen = torch.Generator().manual_seed(0)
    v._last_real = get_dataset("ring8").sample(32, gen)
    fake = v.generate(32, gen)
    d = v.discriminator
    expected = feature_matching_loss(d.features(v._last_real, layer), d.features(fake, layer))
    assert torch.equal(v.generator_loss(fake)[0], expected)


def test_generator_gradient_is_exactly_zero_when_feature_means_match(tiny_train):
    v = _variant(tiny_train)
    gen = torch.Generator().manual_seed(0)
    v.discriminator_step(get_dataset("ring8").sample(v.train.batch_size, gen), gen)
    # The "real" batch is the very batch G is about to produce, so the feature means are equal.
    twin = torch.Generator().manual_seed(0)
    twin.set_state(gen.get_state())
    with torch.no_grad():
        v._last_real = v.generate(v.train.batch_size, twin)
    before = _g_params(v)
    logs = v.generator_step(gen)
    assert logs["g_loss"].item() == 0.0
    assert all(torch.count_nonzero(p.grad) == 0 for p in v.generator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, v.generator.parameters(), strict=True))


def test_generator_moves_when_feature_means_differ(tiny_train):
    v = _variant(tiny_train)
    gen = torch.Generator().manual_seed(0)
    logs = v.train_step(get_dataset("ring8"), gen)
    assert logs["g_loss"].item() > 0 and torch.equal(logs["g_loss"], logs["fm_loss"])
    assert {"d_loss", "d_real", "d_fake"} <= set(logs)
    assert any(torch.count_nonzero(p.grad) > 0 for p in v.generator.parameters())


def test_discriminator_is_trained_as_in_the_plain_gan(tiny_train):
    fm, gan = _variant(tiny_train), _variant(tiny_train, name="gan")
    ds = get_dataset("ring8")
    log_fm = fm.train_step(ds, torch.Generator().manual_seed(0))
    log_gan = gan.train_step(ds, torch.Generator().manual_seed(0))
    assert torch.equal(log_fm["d_loss"], log_gan["d_loss"])
    for a, b in zip(fm.discriminator.parameters(), gan.discriminator.parameters(), strict=True):
        assert torch.equal(a, b)


def test_layer_out_of_range_is_a_config_error(tiny_train):
    with pytest.raises(ConfigError, match="layer must be in"):
        _variant(tiny_train, options={"layer": 2})
