"""Guided latent spaces: one latent block per mode, a frozen mode classifier, per-mode moments."""

import math

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.guided_latent import stats_matching_penalty, wrong_mode_penalty
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset


def _variant(tiny_train, dataset="ring8", options=None, **overrides):
    cfg = from_dict(TrainConfig, {**tiny_train, "ckpt_every": 0, **overrides})
    ds = get_dataset(dataset)
    torch.manual_seed(0)
    return registry.build("guided-latent", ds.problem, cfg, options), ds, cfg


def _pretrained(tiny_train, dataset="ring8"):
    v, ds, cfg = _variant(tiny_train, dataset)
    v.pretrain_classifier(ds, torch.Generator().manual_seed(0))
    return v, ds, cfg


@pytest.mark.parametrize("subspace_dim", [None, 3])
def test_latent_for_mode_j_lies_in_block_j_only(subspace_dim, tiny_train):
    v, ds, cfg = _variant(tiny_train, "ring8", {"subspace_dim": subspace_dim})
    s = subspace_dim or cfg.z_dim  # default: each subspace as wide as the protocol's latent
    assert v.generator.net[0].in_features == ds.n_modes * s
    modes = torch.tensor([0, 3, 7, 3, 5])
    z = v.sample_z_for_modes(modes, torch.Generator().manual_seed(0)).reshape(5, ds.n_modes, s)
    for i, j in enumerate(modes.tolist()):
        assert (z[i, j] != 0).all()  # N(0, I) in its own block ...
        assert (z[i, torch.arange(ds.n_modes) != j] == 0).all()  # ... and exactly 0 in all others
    assert v.latent_dim == ds.n_modes * s


def test_classifier_pretraining_is_accurate_and_leaves_it_frozen(tiny_train):
    v, ds, _ = _pretrained(tiny_train)
    assert v.classifier_acc > 0.99
    assert v.classifier_ready
    assert not any(p.requires_grad for p in v.classifier.parameters())
    # The real per-mode statistics are the dataset's centres and sigma.
    assert torch.allclose(v.real_mean, torch.as_tensor(ds.centres, dtype=torch.float32), atol=2e-3)
    assert torch.allclose(v.real_std, torch.full_like(v.real_std, 0.01), rtol=0.15)


def test_wrong_mode_penalty_is_small_at_the_right_centres_and_large_at_wrong_ones(tiny_train):
    v, ds, _ = _pretrained(tiny_train)
    centres = torch.as_tensor(ds.centres, dtype=torch.float32)
    modes = torch.arange(8)
    with torch.no_grad():
        right = wrong_mode_penalty(v.classifier(centres), modes)
        wrong = wrong_mode_penalty(v.classifier(centres[(modes + 4) % 8]), modes)  # opposite centres
    assert right.item() < 0.05
    assert wrong.item() > 5.0
    # Uninformative logits give log(k): the scale between the two cases.
    assert math.isclose(wrong_mode_penalty(torch.zeros(8, 8), modes).item(), math.log(8), rel_tol=1e-6)


def test_stats_matching_is_zero_at_the_real_moments_and_one_std_off_gives_one():
    real_mean = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    real_std = torch.tensor([[0.1, 0.2], [0.5, 0.05]])
    # Two samples per mode at mean +- std have exactly that mean and (population) std.
    x = torch.cat([real_mean - real_std, real_mean + real_std])
    modes = torch.tensor([0, 1, 0, 1])
    assert stats_matching_penalty(x, modes, real_mean, real_std).item() < 1e-8
    # Both modes shifted by one real std in every dimension: 1 per mode.
    shifted = stats_matching_penalty(x + torch.cat([real_std, real_std]), modes, real_mean, real_std)
    assert math.isclose(shifted.item(), 1.0, rel_tol=1e-5)
    # Each mode collapsed onto its mean: the spread term is ((0 - s) / s)^2 = 1.
    collapsed = stats_matching_penalty(torch.cat([real_mean, real_mean]), modes, real_mean, real_std)
    assert math.isclose(collapsed.item(), 1.0, rel_tol=1e-4)  # sqrt(var + 1e-12) at var 0
    # A mode seen once has no spread and is left out; mode 0's exact moments still give 0.
    only0 = stats_matching_penalty(x[[0, 2, 1]], modes[[0, 2, 1]], real_mean, real_std)
    assert only0.item() < 1e-8


def test_generator_gets_gradients_from_both_penalties_and_classifier_stays_fixed(tiny_train):
    v, ds, cfg = _variant(tiny_train, "grid25", {"classifier_steps": 50})
    t = Trainer(v, ds, from_dict(TrainConfig, {**tiny_train, "ckpt_every": 0}))
    logs = v.train_step(ds, t.gen)
    clf_after_first = [p.clone() for p in v.classifier.parameters()]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "wrong_mode_loss", "stats_loss", "classifier_acc"} <= set(
        logs
    )
    assert logs["stats_loss"] > 0 and logs["wrong_mode_loss"] > 0
    expected = logs["g_loss"] + logs["wrong_mode_loss"] + logs["stats_loss"]  # default weights 1, 1
    assert torch.isclose(logs["g_total"], expected)
    v.train_step(ds, t.gen)
    assert all(torch.equal(a, b) for a, b in zip(clf_after_first, v.classifier.parameters(), strict=True))


def test_generate_draws_modes_from_the_mode_weights(tiny_train):
    v, ds, _ = _variant(tiny_train, "bimodal-temperature-imbalanced")
    x, modes = v.generate_labeled(20_000, torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 1)
    assert abs(modes.float().mean().item() - 0.1) < 0.01


def test_classifier_accuracy_is_logged(tiny_train):
    records = []

    class Spy:
        def on_log(self, trainer, step, record):
            records.append(record)

    v, ds, cfg = _variant(tiny_train, options={"classifier_steps": 100}, iters=10)
    Trainer(v, ds, cfg, hooks=[Spy()]).fit()
    assert records and records[0]["classifier_acc"] > 0.99


def test_resume_reproduces_an_uninterrupted_run_including_the_classifier(tmp_path, tiny_train):
    def trainer(iters, ckpt):
        cfg = from_dict(TrainConfig, {**tiny_train, "iters": iters})
        ds = get_dataset("ring8")
        torch.manual_seed(cfg.seed)
        v = registry.build("guided-latent", ds.problem, cfg, {"classifier_steps": 30})
        return Trainer(v, ds, cfg, checkpoint=ckpt)

    def params(module):
        return torch.cat([p.detach().flatten() for p in module.parameters()])

    full = trainer(40, tmp_path / "full.pt")
    full.fit()
    trainer(20, tmp_path / "half.pt").fit()
    resumed = trainer(40, tmp_path / "half.pt")
    assert resumed.fit().resumed_from == 20
    # Had the resumed run retrained its classifier, it would have drawn other batches and diverged.
    assert torch.equal(params(full.variant.generator), params(resumed.variant.generator))
    assert torch.equal(params(full.variant.classifier), params(resumed.variant.classifier))
    assert torch.equal(full.variant.real_std, resumed.variant.real_std)
    assert resumed.variant.classifier_acc == full.variant.classifier_acc


@pytest.mark.parametrize(
    "options", [{"subspace_dim": 0}, {"stats_weight": -1.0}, {"classifier_steps": 0}, {"foo": 1}]
)
def test_bad_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        registry.build("guided-latent", get_dataset("ring8").problem, TrainConfig(), options)
