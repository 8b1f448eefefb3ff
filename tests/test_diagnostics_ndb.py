"""NDB/K and JSD (Richardson & Weiss 2018): known answers and dropped modes."""

import math

import numpy as np
import pytest
from clusters import mixture

from diagnostics import ndb
from diagnostics.ndb import js_divergence, two_proportion_z


def test_identical_sets_give_zero():
    x = mixture(40, range(10))
    out = ndb(x, x, ndb_bins=20)
    assert out == {"ndb": 0.0, "ndb_k": 0.0, "ndb_jsd": 0.0, "ndb_bins": 20.0, "ndb_fit_samples": 400.0}


def test_removed_cluster_is_flagged_and_ndb_rises_with_dropped_modes():
    real = mixture(100, range(10), seed=1)
    values = []
    for drop in (0, 2, 5):
        out = ndb(real, mixture(100, range(10 - drop), seed=2), ndb_bins=10, seed=3)
        values.append(out)
    assert values[0]["ndb"] == 0.0
    # 10 cells on 10 separated clusters. Two dropped: their cells are empty; the others hold 1/8
    # instead of 1/10, not significant at n = 1000 (z = 1.7). Five dropped: every cell differs.
    assert values[1]["ndb"] == 2.0 and values[2]["ndb"] == 10.0
    jsd = [v["ndb_jsd"] for v in values]
    assert jsd[0] < 1e-3 < jsd[1] < jsd[2] <= math.log(2)
    # Finer cells: only the removed cluster's cells and the over-filled ones differ.
    out = ndb(real, mixture(100, range(9), seed=2), ndb_bins=30, seed=3)
    assert 1 <= out["ndb"] <= 30 and out["ndb_k"] == out["ndb"] / 30


def test_seeded_and_symmetric_jsd():
    real, fake = mixture(30, range(10), seed=4), mixture(30, range(7), seed=5)
    assert ndb(real, fake, ndb_bins=12, seed=1) == ndb(real, fake, ndb_bins=12, seed=1)
    p, q = np.array([3.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0])
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p), rel=1e-12)
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(math.log(2))


def test_kmeans_is_fitted_on_a_subset_only_above_kmeans_max_samples():
    real, fake = mixture(40, range(10), seed=6), mixture(40, range(8), seed=7)
    whole = ndb(real, fake, ndb_bins=10, seed=2, kmeans_max_samples=None)
    assert ndb(real, fake, ndb_bins=10, seed=2) == whole  # 400 rows, below the default 10,000
    assert ndb(real, fake, ndb_bins=10, seed=2, kmeans_max_samples=400) == whole
    assert whole["ndb_fit_samples"] == 400.0
    # Fitted on 150 rows, every real and fake row is still counted: identical sets give 0.
    sub = ndb(real, real, ndb_bins=10, seed=2, kmeans_max_samples=150)
    assert sub["ndb_fit_samples"] == 150.0 and sub["ndb"] == 0.0 and sub["ndb_jsd"] == 0.0
    # The two dropped modes' cells are still found empty.
    assert ndb(real, fake, ndb_bins=10, seed=2, kmeans_max_samples=150)["ndb"] >= 2.0
    with pytest.raises(ValueError, match="kmeans_max_samples"):
        ndb(real, fake, ndb_bins=10, kmeans_max_samples=5)


def test_two_proportion_z_known_value():
    # 60/100 against 40/100: pooled 0.5, se = sqrt(0.25 * 0.02), z = 0.2 / 0.0707 = 2.828.
    z = two_proportion_z([60, 0], 100, [40, 0], 100)
    assert z[0] == pytest.approx(0.2 / math.sqrt(0.005))
    assert z[1] == 0.0


def test_bad_options():
    x = mixture(5, range(2))
    with pytest.raises(ValueError, match="ndb_bins"):
        ndb(x, x, ndb_bins=50)
    with pytest.raises(ValueError, match="alpha"):
        ndb(x, x, ndb_bins=2, alpha=1.5)
