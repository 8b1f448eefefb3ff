"""Conditional GAN: G and D see the one-hot mode label; fake labels follow the data's mode weights."""

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset


def _variant(tiny_train, dataset="ring8", **overrides):
    cfg = from_dict(TrainConfig, {**tiny_train, "ckpt_every": 0, **overrides})
    ds = get_dataset(dataset)
    torch.manual_seed(0)
    return registry.build("cgan", ds.problem, cfg), ds, cfg


def test_generator_output_depends_on_the_label(tiny_train):
    v, ds, cfg = _variant(tiny_train)
    z = torch.randn(5, cfg.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a = v.generator(z, torch.zeros(5, dtype=torch.long))
        b = v.generator(z, torch.ones(5, dtype=torch.long))
        again = v.generator(z, torch.zeros(5, dtype=torch.long))
    assert a.shape == (5, ds.dim)
    assert torch.equal(a, again)
    assert (a - b).abs().min() > 0  # every row moves when only the label changes


@pytest.mark.parametrize("dataset", ["ring8", "grid25", "bimodal-temperature"])
def test_input_widths_add_the_one_hot_label(dataset, tiny_train):
    v, ds, cfg = _variant(tiny_train, dataset)
    assert v.discriminator.mlp.body[0].in_features == ds.dim + ds.n_modes
    assert v.generator.mlp.net[0].in_features == cfg.z_dim + ds.n_modes


def test_fake_labels_follow_the_mode_weights_and_real_labels_are_the_true_ones(tiny_train):
    v, ds, _ = _variant(tiny_train, "bimodal-temperature-imbalanced", batch_size=4000)
    calls = []
    handle = v.discriminator.register_forward_hook(lambda mod, inp, out: calls.append(inp))
    v.train_step(ds, torch.Generator().manual_seed(0))
    handle.remove()
    (x_real, y_real), (_, y_fake), (_, y_gen) = calls  # D step: real, fake; G step: fake
    # Real labels are the data's: each real sample's label is its nearest centre (modes are far apart).
    centres = torch.as_tensor(ds.centres, dtype=torch.float32)
    assert torch.equal(y_real, torch.cdist(x_real, centres).argmin(dim=1))
    for y in (y_fake, y_gen):  # 90/10 weights: about 400 of 4000 minority labels (sd 19)
        assert abs(y.float().mean().item() - 0.1) < 0.02
    _, labels = v.generate_labeled(20_000, torch.Generator().manual_seed(2))
    assert abs(labels.float().mean().item() - 0.1) < 0.01


def test_discriminator_step_refuses_a_batch_without_labels(tiny_train):
    v, ds, _ = _variant(tiny_train)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="labels"):
        v.discriminator_step(ds.sample(8, gen), gen)


def test_training_logs_standard_keys_and_generate_is_unconditional(tiny_train):
    v, ds, cfg = _variant(tiny_train)
    logs = Trainer(v, ds, cfg).variant.train_step(ds, torch.Generator().manual_seed(0))
    assert {"d_loss", "g_loss", "d_real", "d_fake"} == set(logs)
    assert all(t.dim() == 0 for t in logs.values())
    assert v.generate(7, torch.Generator().manual_seed(0)).shape == (7, ds.dim)
