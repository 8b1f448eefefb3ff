"""The gate's mutation corpus: every mutant trains, and each has lost the mechanism it names."""

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset
from benchmark.gate.mutants import MUTANTS, GANFrozenG, get, mutants_registered


@pytest.fixture(autouse=True, scope="module")
def _mutants():
    with mutants_registered():
        yield


SMALL = {"adagan": {"pool_size": 256}, "guided-latent": {"classifier_steps": 5, "holdout_samples": 100}}
SMALL["minibatch-discrimination"] = {"kernels": 5, "compare_with": 16}


def _cfg(**kw):
    return TrainConfig(**{"iters": 12, "batch_size": 32, "z_dim": 8, "device": "cpu", "ckpt_every": 0, **kw})


def _build(variant, options, train, data):
    torch.manual_seed(0)
    base = registry.get(variant)
    small = SMALL.get(variant, {}) or next((SMALL[k] for k in SMALL if issubclass(base, registry.get(k))), {})
    return registry.build(variant, data.problem, _cfg(**train), {**small, **options})


def _params(v):
    return torch.cat([p.detach().flatten() for p in v.generator.parameters()])


def test_every_mitigation_has_a_mutant_and_generic_faults_exist():
    assert {m.of for m in MUTANTS} == {n for n in registry.names() if "~" not in n}
    assert {"gan~lr-g-0", "gan~g-frozen", "gan~lr-d-x100"} <= {m.name for m in MUTANTS}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_mutant_trains_and_differs_from_its_unbroken_variant(mutant):
    data = get_dataset("ring8")
    broken = _build(mutant.run_variant, mutant.options, mutant.train, data)
    whole = _build(mutant.of, {}, {}, data)
    iters = GANFrozenG.FROZEN_AFTER + 5 if mutant.name == "gan~g-frozen" else 12
    for v in (broken, whole):
        Trainer(v, data, _cfg(iters=iters, **(mutant.train if v is broken else {}))).fit()
    assert torch.isfinite(_params(broken)).all()
    assert not torch.equal(_params(broken), _params(whole))


def test_pacgan_mutant_judges_single_samples():
    data = get_dataset("ring8")
    v = _build("pacgan~single-samples", {}, {}, data)
    assert v.discriminator(torch.randn(7, 2)).shape == (7,)  # one decision per sample
    assert _build("pacgan", {}, {}, data).discriminator(torch.randn(8, 2)).shape == (4,)


def test_minibatch_mutant_scores_each_sample_alone():
    data = get_dataset("ring8")
    v = _build("minibatch-discrimination~zeroed", {}, {}, data)
    x = torch.randn(16, 2)
    y = x.clone()
    y[1:] = torch.randn(15, 2)
    torch.testing.assert_close(v.discriminator(x)[0], v.discriminator(y)[0])
    u = _build("minibatch-discrimination", {}, {}, data)
    assert not torch.allclose(u.discriminator(x)[0], u.discriminator(y)[0])


def test_cgan_mutant_shuffles_the_real_labels():
    data = get_dataset("ring8")
    v = _build("cgan~shuffled-labels", {}, {}, data)
    x, y = v.real_batch(data, torch.Generator().manual_seed(0))
    _, y_true = data.sample_labeled(32, torch.Generator().manual_seed(0))
    assert sorted(y.tolist()) == sorted(y_true.tolist()) and not torch.equal(y, y_true)


def test_frozen_generator_mutant_stops_learning():
    data = get_dataset("ring8")
    v = _build("gan~g-frozen", {}, {}, data)
    gen = torch.Generator().manual_seed(0)
    for _ in range(GANFrozenG.FROZEN_AFTER):
        v.train_step(data, gen)
    frozen = _params(v).clone()
    for _ in range(3):
        v.train_step(data, gen)
    assert torch.equal(_params(v), frozen)


def test_unknown_mutant_names_the_valid_ones():
    from baselines.errors import ConfigError

    with pytest.raises(ConfigError, match="valid: pacgan~single-samples"):
        get("pacgan~nope")
