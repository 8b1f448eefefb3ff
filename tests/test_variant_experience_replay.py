"""Experience replay: the buffer keeps old samples, D's fake batch mixes them in at the stated fraction,
capacity holds, old snapshots are substituted exactly when stated, and resume reproduces a full run."""

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.experience_replay import ReplayBuffer
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset


def _trainer(tiny_train, options, cfg=None, checkpoint=None, hooks=None):
    cfg = from_dict(TrainConfig, {**tiny_train, "ckpt_every": 0, **(cfg or {})})
    ds = get_dataset("ring8")
    torch.manual_seed(cfg.seed)
    v = registry.build("experience-replay", ds.problem, cfg, options)
    return Trainer(v, ds, cfg, hooks=hooks, checkpoint=checkpoint)


def _flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


class _OnStep:
    def __init__(self, fn):
        self.on_step_end = fn


def _write_tags(iters, batch, k):
    """The iteration tag of every sample written, in order: all of step 1's batch (the buffer is still
    empty, so nothing is replayed), then the ``batch - k`` fresh samples of each later step."""
    return [1] * batch + [t for t in range(2, iters + 1) for _ in range(batch - k)]


def test_ring_buffer_holds_exactly_the_last_capacity_fresh_samples(tiny_train):
    t = _trainer(tiny_train, {"buffer_update": "ring", "capacity": 320, "replay_fraction": 0.5})
    t.fit()
    buf = t.variant.buffer
    tags = _write_tags(40, 64, 32)
    assert buf.size == 320 and buf.seen == len(tags) and buf.x.shape == (320, 2)
    expected = torch.zeros(320, dtype=torch.long)
    for i, tag in enumerate(tags):
        expected[i % 320] = tag
    assert torch.equal(buf.step, expected)  # oldest kept: iteration 31 of 40


def test_random_and_reservoir_buffers_keep_samples_older_than_a_ring_would(tiny_train):
    for update in ("random", "reservoir"):
        t = _trainer(tiny_train, {"buffer_update": update, "capacity": 320})
        t.fit()
        buf = t.variant.buffer
        assert buf.size == 320  # capacity respected after 1312 writes
        assert int(buf.step.min()) < 31  # a ring of 320 would hold only iterations 31-40
        assert int(buf.step.max()) == 40
    # Reservoir: a uniform sample of all history, so the mean tag is near the mean written tag.
    tags = torch.tensor(_write_tags(40, 64, 32), dtype=torch.float)
    assert abs(float(buf.step.float().mean()) - float(tags.mean())) < 2.0


def test_buffer_contents_are_the_fresh_samples_d_saw(tiny_train):
    t = _trainer(tiny_train, {"buffer_update": "ring", "capacity": 640, "replay_fraction": 0.5})
    v = t.variant
    seen = []
    h = v.discriminator.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach().clone()))
    v.train_step(t.data, t.gen)  # step 1: nothing to replay yet, the whole fake batch is fresh
    v.train_step(t.data, t.gen)  # step 2: 32 fresh + 32 replayed
    h.remove()
    fake1, fake2 = seen[1], seen[4]  # D calls per step: real, fake (D step), fake (G step)
    assert torch.equal(v.buffer.x[:64], fake1)
    assert torch.equal(v.buffer.x[64:96], fake2[:32])
    assert v.buffer.size == 96


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75])
def test_fraction_of_replayed_samples_in_ds_fake_batch(fraction, tiny_train):
    t = _trainer(tiny_train, {"replay_fraction": fraction, "capacity": 2560})
    v = t.variant
    for _ in range(5):
        v.train_step(t.data, t.gen)
    stored = v.buffer.x[: v.buffer.size].clone()
    seen = []
    h = v.discriminator.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach().clone()))
    logs = v.train_step(t.data, t.gen)
    h.remove()
    fake = seen[1]
    from_buffer = (fake[:, None, :] == stored[None]).all(-1).any(-1)  # row found in the old buffer
    assert fake.shape[0] == 64
    assert int(from_buffer.sum()) == round(fraction * 64)
    assert not bool(from_buffer[: 64 - round(fraction * 64)].any())  # the fresh part is new
    assert float(logs["replayed_fraction"]) == round(fraction * 64) / 64
    assert float(logs["replay_age"]) > 0


def test_reservoir_slots_are_distinct_and_later_duplicates_win():
    buf = ReplayBuffer(8, 1, "reservoir", torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    for step in range(1, 50):
        buf.write(torch.full((6, 1), float(step)), step, gen)
        assert buf.size == min(8, 6 * step)
    assert buf.seen == 6 * 49
    assert torch.equal(buf.x.flatten().long(), buf.step)  # every slot holds the value written with its tag


def _snapshot_run(tiny_train, swap, watched):
    """Run 40 iterations with snapshots every 10 (kept 3 iterations); record which iteration called the
    old network ``watched`` and with which parameters, and the live networks' parameters each step."""
    opts = {"snapshot_every": 10, "snapshot_duration": 3, "snapshot_swap": swap}
    t = _trainer(tiny_train, opts)
    v = t.variant
    history = {}
    t.add_hook(
        _OnStep(
            lambda tr, step, logs: history.__setitem__(step, (_flat(v.generator), _flat(v.discriminator)))
        )
    )
    calls = []
    old = getattr(v, f"old_{watched}")
    old.register_forward_hook(lambda m, inp, out: calls.append((v.iteration, _flat(m), v.old_step)))
    t.fit()
    return v, history, calls


def test_old_discriminator_is_substituted_for_the_stated_iterations(tiny_train):
    v, history, calls = _snapshot_run(tiny_train, "discriminator", "discriminator")
    # Snapshots at 10, 20, 30, 40; episodes start at 20 (pool {10}) and 30 (pool {10, 20}).
    assert [it for it, _, _ in calls] == [21, 22, 23, 31, 32, 33]
    for it, params, taken in calls:
        assert taken in (10, 20) and taken <= it - 10
        assert torch.equal(params, history[taken][1])  # exactly D as it was at that iteration
    assert calls[0][2] == 10
    assert not torch.equal(history[20][0], history[23][0])  # G still learns, against the old D


def test_old_generator_is_substituted_and_its_samples_are_not_stored(tiny_train):
    v, history, calls = _snapshot_run(tiny_train, "generator", "generator")
    assert [it for it, _, _ in calls] == [21, 22, 23, 31, 32, 33]
    for _, params, taken in calls:
        assert torch.equal(params, history[taken][0])
    assert not bool(((v.buffer.step >= 21) & (v.buffer.step <= 23)).any())


def test_both_swaps_and_no_swap_without_snapshots(tiny_train):
    _, _, g_calls = _snapshot_run(tiny_train, "both", "generator")
    _, _, d_calls = _snapshot_run(tiny_train, "both", "discriminator")
    assert [c[0] for c in g_calls] == [c[0] for c in d_calls] == [21, 22, 23, 31, 32, 33]
    t = _trainer(tiny_train, {})
    assert t.variant.old_generator is None and t.variant.old_discriminator is None


@pytest.mark.parametrize(
    "options",
    [
        {"buffer_update": "random"},
        {"buffer_update": "reservoir", "capacity": 200},
        {"buffer_update": "ring", "snapshot_every": 7, "snapshot_duration": 3, "snapshot_swap": "both"},
        {"snapshot_every": 6, "snapshot_duration": 6, "snapshot_pool": 2},
    ],
)
def test_resume_from_checkpoint_reproduces_uninterrupted_run(options, tmp_path, tiny_train):
    ck = {"ckpt_every": 20}
    full = _trainer(tiny_train, options, ck, checkpoint=tmp_path / "full.pt")
    full.fit()
    half = _trainer(tiny_train, options, {**ck, "iters": 20}, checkpoint=tmp_path / "half.pt")
    half.fit()
    resumed = _trainer(tiny_train, options, ck, checkpoint=tmp_path / "half.pt")
    assert resumed.fit().resumed_from == 20
    a, b = full.variant, resumed.variant
    assert torch.equal(_flat(a.generator), _flat(b.generator))
    assert torch.equal(_flat(a.discriminator), _flat(b.discriminator))
    assert torch.equal(a.buffer.x, b.buffer.x) and torch.equal(a.buffer.step, b.buffer.step)
    assert (a.buffer.seen, a.iteration, a.old_step) == (b.buffer.seen, b.iteration, b.old_step)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"replay_fraction": 1.0}, "replay_fraction must be in"),
        ({"replay_fraction": -0.1}, "replay_fraction must be in"),
        ({"capacity": 10}, "capacity .* must be >= batch_size"),
        ({"snapshot_every": 5, "snapshot_duration": 6}, "snapshot_duration must be in"),
        ({"snapshot_every": 5, "snapshot_duration": 0}, "snapshot_duration must be in"),
        ({"snapshot_every": -1}, "snapshot_every must be"),
        ({"snapshot_pool": 0}, "snapshot_pool must be"),
        ({"buffer_update": "fifo"}, "random, ring, reservoir"),
    ],
)
def test_invalid_options_are_config_errors(options, message, tiny_train):
    with pytest.raises(ConfigError, match=message):
        _trainer(tiny_train, options)
