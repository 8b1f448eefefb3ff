"""Frechet distance, KID and feature spaces: known answers, properties, and torch-fidelity cross-checks."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import diagnostics
from diagnostics import FeatureSpaceUnavailableError, extract_features, frechet_distance, kernel_distance
from diagnostics.classifiers import ModeClassifier, PerChannelClassifier
from diagnostics.distances import frechet_distance_from_statistics
from diagnostics.features import inception_weights, register_classifier_extractor

DIST_DIAGNOSTICS = [
    "frechet_distance",
    "kernel_distance",
    "prdc",
    "ndb",
    "duplicate_rate",
    "birthday_support",
]


def gaussian(n, d=8, shift=0.0, scale=1.0, seed=0):
    return (np.random.default_rng(seed).standard_normal((n, d)) * scale + shift).astype(np.float32)


def test_frechet_closed_form_diagonal_gaussians():
    # Commuting covariances: FD = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([3.0, 1.0, 0.0])
    expected = 9.0 + 4.0 + ((1 - 3) ** 2 + (2 - 1) ** 2 + 0.0)
    assert frechet_distance_from_statistics(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(
        expected, rel=1e-12
    )
    # Singular covariances (rank 1) are fine too.
    s = np.outer([1.0, 2.0, 0.0], [1.0, 2.0, 0.0])
    assert frechet_distance_from_statistics(mu1, s, mu1, s) == pytest.approx(0.0, abs=1e-9)


def test_frechet_on_samples_matches_formula_identity_and_symmetry():
    real = gaussian(20000, d=4, seed=1)
    fake = gaussian(20000, d=4, shift=0.5, scale=2.0, seed=2)
    # Population value: 4 * 0.25 + 4 * (2 - 1)^2 = 5.
    assert frechet_distance(real, fake)["frechet_distance"] == pytest.approx(5.0, rel=0.03)
    assert frechet_distance(real, real)["frechet_distance"] == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(real, fake)["frechet_distance"] == pytest.approx(
        frechet_distance(fake, real)["frechet_distance"], rel=1e-9
    )
    assert frechet_distance(torch.from_numpy(real), fake)["frechet_feature_dim"] == 4.0


def test_frechet_and_kid_match_torch_fidelity():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric

    real = gaussian(1200, d=32, seed=3)
    fake = gaussian(1100, d=32, shift=0.2, scale=1.1, seed=4)
    ours = frechet_distance(real, fake)["frechet_distance"]
    theirs = fid_statistics_to_metric(
        fid_features_to_statistics(torch.from_numpy(fake)),
        fid_features_to_statistics(torch.from_numpy(real)),
        False,
    )["frechet_inception_distance"]
    assert ours == pytest.approx(theirs, rel=1e-4)

    kid = kernel_distance(real, fake, kid_subsets=10, kid_subset_size=400, seed=7)
    ref = kid_features_to_metric(
        torch.from_numpy(fake),
        torch.from_numpy(real),
        kid_subsets=10,
        kid_subset_size=400,
        rng_seed=7,
        verbose=False,
    )
    assert kid["kid_mean"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-4)
    assert kid["kid_std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-4)


def test_kid_same_distribution_near_zero_seeded_and_symmetric_in_expectation():
    real, same = gaussian(1500, seed=5), gaussian(1500, seed=6)
    other = gaussian(1500, shift=0.3, seed=8)
    null = kernel_distance(real, same, kid_subsets=20, kid_subset_size=500)
    alt = kernel_distance(real, other, kid_subsets=20, kid_subset_size=500)
    assert abs(null["kid_mean"]) < 0.1 * alt["kid_mean"]
    assert kernel_distance(real, other, kid_subsets=20, kid_subset_size=500) == alt
    swapped = kernel_distance(other, real, kid_subsets=20, kid_subset_size=500)
    assert swapped["kid_mean"] == pytest.approx(alt["kid_mean"], rel=0.05)
    small = kernel_distance(real[:50], other[:60], kid_subsets=3)
    assert small["kid_subset_size_used"] == 50.0


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="dimension"):
        frechet_distance(gaussian(10, d=3), gaussian(10, d=4))
    with pytest.raises(ValueError, match="non-finite"):
        kernel_distance(np.full((5, 2), np.nan), gaussian(5, d=2))
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(np.zeros((4, 2, 2)), np.zeros((4, 2, 2)))


def test_all_distribution_diagnostics_run_together_without_key_clashes():
    real, fake = gaussian(300, seed=9), gaussian(300, shift=0.3, seed=10)
    out = diagnostics.evaluate(DIST_DIAGNOSTICS, real, fake, seed=1, ndb_bins=10, kid_subset_size=100)
    for name in DIST_DIAGNOSTICS:
        assert diagnostics.get(name).main_key in out
    assert all(type(v) is float for v in out.values())


# ----------------------------------------------------------------------------------- feature spaces


def tiny_stacked(n, seed):
    return torch.randint(
        0, 256, (n, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


@pytest.fixture(scope="module")
def per_channel():
    torch.manual_seed(0)
    base = ModeClassifier(1, 28, 10, width=4, hidden=8).eval()
    base.data_hash = "testhash0001"
    return PerChannelClassifier(base).eval()


def test_extract_features_raw_and_classifier(per_channel):
    x = tiny_stacked(20, 0)
    raw, name = extract_features(x, "raw")
    assert name == "raw" and raw.shape == (20, 3 * 28 * 28) and raw.dtype == np.float32
    assert raw.min() >= -1.0 and raw.max() <= 1.0
    as_float = x.float() / 127.5 - 1.0
    assert np.allclose(extract_features(as_float, "raw")[0], raw)
    feats, name = extract_features(x, "classifier", classifier=per_channel, batch_size=7)
    assert name == "classifier" and feats.shape == (20, 24)
    with torch.no_grad():
        expected = per_channel.features(as_float).numpy()
    assert np.allclose(feats, expected, atol=1e-5)
    with pytest.raises(ValueError, match="valid spaces"):
        extract_features(x, "pixels")
    with pytest.raises(ValueError, match="classifier="):
        extract_features(x, "classifier")


def test_inception_without_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FeatureSpaceUnavailableError, match="never downloads"):
        inception_weights()
    with pytest.raises(FeatureSpaceUnavailableError, match="does not exist"):
        extract_features(tiny_stacked(2, 0), "inception", feature_extractor_weights_path=tmp_path / "no.pth")
    cached = Path(tmp_path) / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    cached.parent.mkdir()
    cached.write_bytes(b"")
    assert inception_weights() == cached


class _Images(torch.utils.data.Dataset):
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def test_classifier_extractor_runs_torch_fidelity_metrics(per_channel):
    import torch_fidelity

    name = register_classifier_extractor(per_channel)
    assert register_classifier_extractor(per_channel) == name  # idempotent for the same model
    with pytest.raises(ValueError, match="already registered"):
        register_classifier_extractor(PerChannelClassifier(ModeClassifier(1, 28, 10)), name=name)
    real, fake = tiny_stacked(120, 1), tiny_stacked(100, 2) // 2
    metrics = torch_fidelity.calculate_metrics(
        input1=_Images(fake),
        input2=_Images(real),
        feature_extractor=name,
        fid=True,
        kid=True,
        kid_subsets=5,
        kid_subset_size=50,
        cuda=False,
        cache=False,
        save_cpu_ram=True,
        verbose=False,
        batch_size=50,
    )
    fr = extract_features(real, "classifier", classifier=per_channel)[0]
    ff = extract_features(fake, "classifier", classifier=per_channel)[0]
    fd = frechet_distance(fr, ff)["frechet_distance"]
    kid = kernel_distance(fr, ff, kid_subsets=5, kid_subset_size=50, seed=2020)["kid_mean"]
    assert fd == pytest.approx(metrics["frechet_inception_distance"], rel=1e-4)
    assert kid == pytest.approx(metrics["kernel_inception_distance_mean"], rel=1e-3)
    assert not math.isnan(fd)
