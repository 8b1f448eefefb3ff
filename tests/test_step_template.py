"""One step template: every variant trains through ``Variant.train_step`` (D updates, then one G
update); a variant may wrap the template (``super().train_step``) but never writes its own loop."""

from __future__ import annotations

import inspect

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig
from baselines.variant import Variant
from benchmark.data.registry import get_dataset


def own_loops(cls: type) -> list[str]:
    """Classes in ``cls``'s hierarchy (below Variant) whose ``train_step`` does not call the template."""
    bad = []
    for klass in cls.__mro__:
        if klass is Variant or "train_step" not in vars(klass):
            continue
        if "super().train_step(" not in inspect.getsource(vars(klass)["train_step"]):
            bad.append(klass.__name__)
    return bad


@pytest.mark.parametrize("name", registry.names())
def test_no_variant_writes_its_own_loop(name):
    assert own_loops(registry.get(name)) == []


def test_the_check_can_fail():
    class Looping(registry.get("gan")):
        def train_step(self, data, gen):
            for _ in range(self.train.d_steps):
                self.discriminator_step(data.sample(self.train.batch_size, gen), gen)
            return self.generator_step(gen)

    assert own_loops(Looping) == ["Looping"]


class Counting:
    """A dataset that counts the real batches drawn."""

    def __init__(self, data):
        self.data, self.calls = data, []

    def sample(self, n, gen):
        self.calls.append(n)
        return self.data.sample(n, gen)

    def sample_labeled(self, n, gen):
        self.calls.append(n)
        return self.data.sample_labeled(n, gen)


@pytest.mark.parametrize(
    ("name", "options", "batches"),
    [
        ("gan", {}, [32, 32, 32]),  # d_steps = 3
        ("wgan", {"n_critic": 3}, [32, 32, 32]),  # n_critic replaces d_steps
        ("pacgan", {"pack": 2}, [64, 64, 64]),  # pack times the batch per D update
        ("cgan", {}, [32, 32, 32]),  # labelled batches
    ],
)
def test_the_template_draws_one_real_batch_per_d_update(name, options, batches):
    ring = get_dataset("ring8")
    d_steps = 1 if name == "wgan" else 3
    cfg = TrainConfig(
        iters=1, batch_size=32, z_dim=4, d_steps=d_steps, device="cpu", log_every=1, eval_every=1
    )
    v = registry.build(name, ring.problem, cfg, options, torch.device("cpu"))
    data = Counting(ring)
    logs = v.train_step(data, torch.Generator().manual_seed(0))
    assert data.calls == batches and "g_loss" in logs and "d_loss" in logs


def test_unrolled_generator_update_draws_its_own_real_batches():
    ring = get_dataset("ring8")
    cfg = TrainConfig(iters=1, batch_size=16, z_dim=4, device="cpu", log_every=1, eval_every=1)
    v = registry.build("unrolled", ring.problem, cfg, {"unroll_steps": 1}, torch.device("cpu"))
    data = Counting(ring)
    logs = v.train_step(data, torch.Generator().manual_seed(0))
    assert data.calls == [16, 16, 16]  # D's batch; the simulated step's; the surrogate's real batch
    assert "d_fake_unrolled" in logs
