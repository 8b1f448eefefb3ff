"""Minibatch discrimination (Salimans et al. 2016): D's output for a sample depends on its batch."""

import math

import pytest
import torch

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from baselines.minibatch_discrimination import MinibatchDiscriminator, minibatch_closeness
from baselines.networks import MLPDiscriminator
from benchmark.data.registry import get_dataset


def _variant(tiny_train, options=None):
    cfg = from_dict(TrainConfig, tiny_train)
    torch.manual_seed(cfg.seed)
    return registry.build("minibatch-discrimination", get_dataset("ring8").problem, cfg, options)


def test_closeness_of_identical_samples_is_n_minus_1_per_kernel():
    # j = i is left out (as in the authors' code): n identical samples each have n - 1 twins.
    m = torch.randn(1, 7, 5).expand(6, 7, 5)
    assert torch.equal(minibatch_closeness(m), torch.full((6, 7), 5.0))


def test_closeness_of_well_separated_samples_is_zero():
    m = 100.0 * torch.arange(6.0)[:, None, None] * torch.ones(6, 3, 5)
    assert torch.all(minibatch_closeness(m) < 1e-30)


def test_closeness_by_hand():
    # One kernel, C = 2: L1 distances 1 (rows 0-1), 2 (rows 0-2), 3 (rows 1-2).
    m = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])[:, None, :]
    e = math.exp
    expected = torch.tensor([[e(-1) + e(-2)], [e(-1) + e(-3)], [e(-2) + e(-3)]])
    torch.testing.assert_close(minibatch_closeness(m), expected)


def test_discriminator_is_permutation_equivariant():
    torch.manual_seed(0)
    d = MinibatchDiscriminator(2, hidden=16, layers=2, kernels=8, kernel_dim=5)
    x = torch.randn(10, 2)
    perm = torch.randperm(10)
    torch.testing.assert_close(d(x[perm]), d(x)[perm])


def test_output_for_a_sample_depends_on_the_rest_of_its_batch():
    torch.manual_seed(0)
    mbd = MinibatchDiscriminator(2, hidden=16, layers=2, kernels=8, kernel_dim=5)
    plain = MLPDiscriminator(2, hidden=16, layers=2)
    x = 0.1 * torch.randn(10, 2)
    y = x.clone()
    y[1:] += 3.0  # same first sample, different companions
    assert not torch.allclose(mbd(x)[0], mbd(y)[0])
    assert torch.equal(plain(x)[0], plain(y)[0])
    # Alone in its batch a sample has no companions: its closeness features are 0.
    h = mbd.body(x[:1])
    assert torch.equal(mbd.minibatch_features(h), torch.zeros(1, 8))


def test_collapsed_batch_has_finite_gradients():
    torch.manual_seed(0)
    d = MinibatchDiscriminator(2, hidden=16, layers=2, kernels=8, kernel_dim=5)
    x = torch.ones(12, 2, requires_grad=True)
    d(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in d.parameters())


def test_defaults_are_the_papers_and_shapes_follow(tiny_train):
    v = _variant(tiny_train)
    d = v.discriminator
    assert (v.options.kernels, v.options.kernel_dim, v.options.loss) == (100, 5, "non-saturating")
    assert d.T.shape == (16, 100, 5) and d.head.in_features == 16 + 100
    x = torch.randn(4, 2)
    assert d(x).shape == (4,) and d.features(x).shape == (4, 16)


def test_real_and_fake_are_scored_in_separate_minibatches(tiny_train):
    v = _variant(tiny_train, {"kernels": 4})
    calls = []
    v.discriminator.register_forward_hook(lambda mod, args, out: calls.append(args[0].detach().clone()))
    gen = torch.Generator().manual_seed(0)
    real = get_dataset("ring8").sample(64, gen)
    v.discriminator_step(real, gen)
    assert len(calls) == 2
    assert torch.equal(calls[0], real)  # the real batch alone, no fakes mixed in
    assert calls[1].shape == (64, 2) and not torch.equal(calls[1], real)


def test_bad_kernel_options_are_config_errors(tiny_train):
    with pytest.raises(ConfigError, match="kernels"):
        _variant(tiny_train, {"kernels": 0})


def test_compare_with_is_exact_for_identical_samples():
    m = torch.randn(1, 3, 5).expand(10, 3, 5)
    assert torch.allclose(minibatch_closeness(m, compare_with=4), torch.full((10, 3), 9.0))


def test_compare_with_at_least_the_batch_is_the_full_sum():
    torch.manual_seed(0)
    m = torch.randn(9, 4, 5)
    assert torch.equal(minibatch_closeness(m, compare_with=9), minibatch_closeness(m))
    assert torch.equal(minibatch_closeness(m, compare_with=50), minibatch_closeness(m))


def test_compare_with_is_unbiased_over_batch_orders():
    # Averaged over every rotation of the batch rows, the k-row estimate of a sample's sum equals
    # the full sum: each other row is among its k comparison rows in the right share of orders.
    torch.manual_seed(0)
    n, k = 8, 3
    m = 0.5 * torch.randn(n, 2, 3)
    full = minibatch_closeness(m)
    est = torch.zeros_like(full)
    import itertools

    perms = list(itertools.permutations(range(n)))[::97]  # a spread-out subset of orders
    counts = torch.zeros(n, 1)
    for p in perms:
        p = torch.tensor(p)
        out = minibatch_closeness(m[p], compare_with=k)
        est[p] += out
        counts[p] += 1
    torch.testing.assert_close(est / counts, full, rtol=0.1, atol=0.0)


def test_compare_with_by_hand():
    # n = 3, k = 2, one kernel: rows 0 and 1 compare with the other one of the first two rows
    # (1 row, scaled by 2); row 2 compares with rows 0 and 1 (2 rows, scaled by 1).
    m = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])[:, None, :]
    e = math.exp
    expected = torch.tensor([[2 * e(-1)], [2 * e(-1)], [e(-2) + e(-3)]])
    torch.testing.assert_close(minibatch_closeness(m, compare_with=2), expected)


def test_compare_with_option_reaches_the_discriminator(tiny_train):
    v = _variant(tiny_train, {"kernels": 4, "compare_with": 8})
    assert v.discriminator.compare_with == 8
    with pytest.raises(ConfigError, match="compare_with"):
        _variant(tiny_train, {"compare_with": 1})
