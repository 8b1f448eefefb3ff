"""PacGAN: D judges packs of m samples, one decision per pack; G and sampling are unchanged."""

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.pacgan import pack
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset


def _variant(tiny_train, m, dataset="ring8"):
    cfg = from_dict(TrainConfig, {**tiny_train, "ckpt_every": 0})
    ds = get_dataset(dataset)
    torch.manual_seed(0)
    return registry.build("pacgan", ds.problem, cfg, {"pack": m}), ds, cfg


def _input_shapes(module):
    shapes = []
    handle = module.register_forward_hook(lambda mod, inp, out: shapes.append((inp[0].shape, out.shape)))
    return shapes, handle


@pytest.mark.parametrize("m", [2, 3, 4])
def test_d_input_layer_sees_packs_and_gives_one_decision_per_pack(m, tiny_train):
    v, ds, cfg = _variant(tiny_train, m)
    first = v.discriminator.inner.body[0]
    assert first.in_features == m * ds.dim  # only the input layer grows
    assert first.out_features == cfg.net.hidden
    shapes, handle = _input_shapes(first)
    logits, handle_out = _input_shapes(v.discriminator)
    v.train_step(ds, torch.Generator().manual_seed(0))
    handle.remove(), handle_out.remove()
    # D step: real then fake; G step: fake. Each is batch_size packs of m samples.
    b = cfg.batch_size
    assert [s for s, _ in shapes] == [torch.Size([b, m * ds.dim])] * 3
    assert [(s, o) for s, o in logits] == [(torch.Size([b * m, ds.dim]), torch.Size([b]))] * 3


def test_pack_groups_consecutive_samples():
    x = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(pack(x, 3), torch.tensor([[0.0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    with pytest.raises(ValueError, match="multiple"):
        pack(x[:5], 3)


def test_changing_one_sample_changes_only_its_packs_decision(tiny_train):
    v, ds, _ = _variant(tiny_train, 3)
    x = ds.sample(30, torch.Generator().manual_seed(1))  # 10 packs of 3
    with torch.no_grad():
        before = v.discriminator(x)
        y = x.clone()
        y[7] += 0.5  # sample 7 belongs to pack 2 (samples 6, 7, 8)
        after = v.discriminator(y)
    changed = (before != after).nonzero().flatten().tolist()
    assert changed == [2]


@pytest.mark.parametrize("bad", [0, 1, 5, -2, 8])
def test_pack_outside_2_to_4_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="pack must be one of 2, 3, 4"):
        registry.build("pacgan", get_dataset("ring8").problem, TrainConfig(), {"pack": bad})
    with pytest.raises(ConfigError, match="pack must be int"):
        registry.build("pacgan", get_dataset("ring8").problem, TrainConfig(), {"pack": 2.0})


def test_generate_is_an_ordinary_generator(tiny_train):
    v, ds, cfg = _variant(tiny_train, 4, "grid25")
    out = v.generate(7, torch.Generator().manual_seed(0))  # 7 is not a multiple of the pack
    assert out.shape == (7, ds.dim)
    assert v.generator.net[0].in_features == cfg.z_dim


def test_training_moves_g_and_logs_the_standard_keys(tiny_train):
    v, ds, cfg = _variant(tiny_train, 2)
    t = Trainer(v, ds, cfg)
    before = torch.cat([p.detach().flatten().clone() for p in v.generator.parameters()])
    logs = v.train_step(ds, t.gen)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(logs)
    assert all(val.dim() == 0 for val in logs.values())
    after = torch.cat([p.detach().flatten() for p in v.generator.parameters()])
    assert not torch.equal(before, after)
