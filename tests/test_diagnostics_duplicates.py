"""Near-duplicate rate and birthday-paradox support (Arora & Zhang 2017): known answers."""

import math

import numpy as np
import pytest

from diagnostics import birthday_support, duplicate_rate
from diagnostics.duplicates import first_collision


def distinct(m, d=8, seed=0):
    return (np.random.default_rng(seed).standard_normal((m, d)) * 10.0).astype(np.float32)


def test_repeated_samples_give_support_of_order_m():
    real = distinct(3000, seed=1)
    for m in (50, 400):
        fake = np.repeat(distinct(m, seed=2), 3000 // m, axis=0)
        out = birthday_support(real, fake, birthday_trials=30, seed=3)
        # Median first collision among m equally likely values: about sqrt(2 ln 2 m).
        assert m / 3 <= out["support_estimate"] <= 3 * m, (m, out)
        assert out["support_estimate"] == out["birthday_batch"] ** 2
        # The threshold is the 1 % quantile of real nearest-neighbour distances, so real data has a
        # large but finite support at it.
        assert out["support_estimate_real"] > 100 * m


def test_distinct_points_have_no_duplicates_and_infinite_support():
    real, fake = distinct(800, seed=4), distinct(800, seed=5)
    out = birthday_support(real, fake, dup_threshold=1e-3, birthday_max_batch=500)
    assert math.isinf(out["birthday_batch"]) and math.isinf(out["support_estimate"])
    assert out["birthday_max_batch"] == 500.0
    rate = duplicate_rate(real, fake, dup_threshold=1e-3)
    assert rate["dup_rate_fake"] == 0.0 and rate["dup_rate_real"] == 0.0


def test_duplicate_rate_against_real_rate():
    real = distinct(2000, seed=6)
    fake = np.repeat(distinct(20, seed=7), 100, axis=0)
    out = duplicate_rate(real, fake, dup_batch_size=500, seed=1)
    # 20 equally likely values: about 1/20 of pairs coincide.
    assert out["dup_rate_fake"] == pytest.approx(1 / 20, rel=0.2)
    assert out["dup_rate_real"] < 1e-3
    assert out == duplicate_rate(real, fake, dup_batch_size=500, seed=1)
    same = duplicate_rate(real, real, dup_batch_size=500, seed=1)
    assert same["dup_rate_fake"] == pytest.approx(same["dup_rate_real"], abs=1e-4)


def test_first_collision_known_answer():
    x = np.array([[0.0], [5.0], [10.0], [5.01], [0.0]], dtype=np.float32)
    assert first_collision(x, 0.1) == 4.0
    assert first_collision(x[:3], 0.1) == math.inf
    assert first_collision(x, 6.0) == 2.0


def test_seed_reproducibility_and_validation():
    real, fake = distinct(500, seed=8), np.repeat(distinct(30, seed=9), 10, axis=0)
    assert birthday_support(real, fake, seed=2) == birthday_support(real, fake, seed=2)
    with pytest.raises(ValueError, match="dup_quantile"):
        duplicate_rate(real, fake, dup_quantile=2.0)
    with pytest.raises(ValueError, match="birthday_trials"):
        birthday_support(real, fake, birthday_trials=1)


def test_tight_low_dimensional_modes_keep_their_threshold_and_exact_copies_count():
    # ring8 (sigma 0.02 at radius 2): in float32 the nearest-neighbour distances vanished in
    # |a|^2 - 2ab + |b|^2, the threshold came out 0 and exact copies were missed (rate 0.108, not 0.123).
    rng = np.random.default_rng(0)
    centres = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1)
    real = centres[rng.integers(0, 8, 4000)] + 0.02 * rng.normal(size=(4000, 2))
    copies = np.repeat(real[:8], 64, axis=0)  # 8 distinct samples, 64 copies each
    out = duplicate_rate(real, copies, dup_batch_size=512)
    assert out["dup_threshold"] > 0
    assert out["dup_rate_fake"] >= 8 * 64 * 63 / 2 / (512 * 511 / 2)
