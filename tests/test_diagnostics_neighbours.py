"""Improved precision/recall and density/coverage: identity, prdc cross-check, dropped modes."""

import numpy as np
import pytest
import torch
from clusters import mixture

from diagnostics import frechet_distance, kernel_distance, prdc
from diagnostics.neighbours import knn_radii


def test_identical_sets_give_best_values():
    x = mixture(60, range(10))
    out = prdc(x, x, chunk_size=97)
    assert out["precision_score"] == 1.0 and out["recall_score"] == 1.0 and out["coverage_score"] == 1.0
    # Closed balls: each holds its centre and its k = 5 neighbours, so density is at most (k + 1) / k;
    # the k-th neighbour lies exactly on the ball's edge, and float32 rounding of the distances (which
    # differs with the BLAS thread count: 1.197 on one thread, 1.177 on two) decides whether it counts,
    # so density is between k / k = 1 and (k + 1) / k.
    assert 1.0 - 1e-9 <= out["density"] <= 6 / 5 + 1e-9
    # Repeated samples (radius 0) still count as inside: prdc's strict < would give 0 here.
    rep = np.repeat(x[:50], 6, axis=0)
    out = prdc(rep, rep)
    assert out["precision_score"] == 1.0 and out["recall_score"] == 1.0 and out["coverage_score"] == 1.0


def test_matches_prdc_package_on_random_data():
    prdc_pkg = pytest.importorskip("prdc")
    rng = np.random.default_rng(1)
    real = rng.standard_normal((600, 20)).astype(np.float32)
    fake = (rng.standard_normal((500, 20)) * 1.2 + 0.3).astype(np.float32)
    ours = prdc(real, fake, chunk_size=128)
    ref3 = prdc_pkg.compute_prdc(real, fake, 3)
    ref5 = prdc_pkg.compute_prdc(real, fake, 5)
    assert ours["precision_score"] == pytest.approx(ref3["precision"], rel=1e-4)
    assert ours["recall_score"] == pytest.approx(ref3["recall"], rel=1e-4)
    assert ours["density"] == pytest.approx(ref5["density"], rel=1e-4)
    assert ours["coverage_score"] == pytest.approx(ref5["coverage"], rel=1e-4)


def test_chunking_subsampling_and_torch_input():
    real, fake = mixture(40, range(10), seed=2), mixture(40, range(8), seed=3)
    whole = prdc(real, fake)
    assert prdc(real, fake, chunk_size=7) == whole
    assert prdc(torch.from_numpy(real), torch.from_numpy(fake)) == whole
    sub = prdc(real, fake, max_samples=200, seed=4)
    assert sub == prdc(real, fake, max_samples=200, seed=4)
    assert sub != prdc(real, fake, max_samples=200, seed=5)


def test_subsampling_applies_only_above_max_samples():
    real, fake = mixture(30, range(10), seed=2), mixture(25, range(10), seed=3)
    whole = prdc(real, fake, max_samples=None)
    assert prdc(real, fake) == whole  # both below the default 10,000: every row is used
    assert prdc(real, fake, max_samples=300) == whole
    assert whole["prdc_real_samples"] == 300.0 and whole["prdc_fake_samples"] == 250.0
    sub = prdc(real, fake, max_samples=260)
    assert sub["prdc_real_samples"] == 260.0 and sub["prdc_fake_samples"] == 250.0
    with pytest.raises(ValueError, match="max_samples"):
        prdc(real, fake, max_samples=1)


def test_knn_radii_known_answer():
    x = np.array([[0.0], [1.0], [3.0], [7.0]], dtype=np.float32)
    radii = knn_radii(x, (1, 2), chunk_size=3)
    assert np.allclose(np.sqrt(radii[1]), [1, 1, 2, 4])
    assert np.allclose(np.sqrt(radii[2]), [3, 2, 3, 6])
    with pytest.raises(ValueError, match="more than k"):
        knn_radii(x, (4,))


def test_recall_and_coverage_fall_as_modes_are_dropped():
    real = mixture(50, range(10), seed=5)
    scores = [prdc(real, mixture(50, range(10 - drop), seed=6)) for drop in (0, 2, 5)]
    for key in ("recall_score", "coverage_score"):
        values = [s[key] for s in scores]
        assert values[0] > values[1] > values[2], (key, values)
        assert values[2] < 0.55
    # What is generated stays realistic: precision does not move (about 0.8 for k = 3 at this n and d).
    assert max(s["precision_score"] for s in scores) - min(s["precision_score"] for s in scores) < 0.05


def test_frechet_and_kid_rise_as_modes_are_dropped():
    real = mixture(50, range(10), seed=5)
    fakes = [mixture(50, range(10 - drop), seed=6) for drop in (0, 2, 5)]
    fd = [frechet_distance(real, f)["frechet_distance"] for f in fakes]
    kid = [kernel_distance(real, f, kid_subsets=5, kid_subset_size=200)["kid_mean"] for f in fakes]
    assert fd[0] < fd[1] < fd[2] and kid[0] < kid[1] < kid[2]


@pytest.mark.parametrize("name", ["ring8", "grid25", "bimodal-temperature", "bimodal-temperature-imbalanced"])
def test_matches_prdc_package_on_every_shipped_mixture(name):
    # Tight clusters far from the origin (ring8: sigma 0.01 at radius 1) are where float32 distances
    # expanded as |a|^2 + |b|^2 - 2ab lose the neighbour radii; two independent 2,500-sample sets.
    prdc_pkg = pytest.importorskip("prdc")
    from benchmark.data.registry import get_dataset

    data = get_dataset(name)
    gen = torch.Generator().manual_seed(0)
    real, fake = (data.sample(2500, gen).numpy() for _ in range(2))
    ours = prdc(real, fake)
    ref3, ref5 = prdc_pkg.compute_prdc(real, fake, 3), prdc_pkg.compute_prdc(real, fake, 5)
    for key, ref in (("precision_score", ref3["precision"]), ("recall_score", ref3["recall"])):
        assert abs(ours[key] - ref) <= 1e-6, (key, ours[key], ref)
    for key, ref in (("density", ref5["density"]), ("coverage_score", ref5["coverage"])):
        assert abs(ours[key] - ref) <= 1e-6, (key, ours[key], ref)
