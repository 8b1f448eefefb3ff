import math

import numpy as np
import pytest
import torch

import diagnostics
from baselines.errors import ConfigError
from benchmark.data.datasets import TEMPERATURE_MODES
from benchmark.data.registry import entries, get_dataset, names

MIXTURES = [e.name for e in entries() if e.kind == "mixture" and not e.is_prefix]  # vectors: needs a file


def test_ring8_has_eight_distinct_centres_on_unit_circle():
    ds = get_dataset("ring8")
    assert ds.centres.shape == (8, 2)
    assert np.allclose(np.linalg.norm(ds.centres, axis=1), 1.0)
    # No repeated centre (the linspace(0, 2pi, 8) mistake would give only 7 distinct modes).
    assert len({tuple(np.round(c, 6)) for c in ds.centres}) == 8
    assert np.all(ds.sigma == 0.01)


def test_grid25_centres_and_sigma():
    ds = get_dataset("grid25")
    assert sorted({x for x, _ in ds.centres}) == [-4, -2, 0, 2, 4]
    assert ds.centres.shape == (25, 2) and np.all(ds.sigma == 0.05)


@pytest.mark.parametrize("name", MIXTURES)
def test_real_samples_score_every_mode_with_expected_quality(name):
    ds = get_dataset(name)
    x = ds.sample(20_000, torch.Generator().manual_seed(0)).numpy()
    out = diagnostics.mixture_coverage(None, x, **ds.modes())
    assert out["modes_captured"] == ds.n_modes
    # Within 3 sigma: 1-D Gaussian 99.73 %; 2-D isotropic 1 - exp(-9/2) = 98.89 %.
    expected = 0.9973 if ds.dim == 1 else 1 - math.exp(-4.5)
    assert out["high_quality_score"] == pytest.approx(expected, abs=0.004)
    assert out["kl_gen_true_distance"] < 0.01
    masses = np.array([out[f"mode_mass_{i}"] for i in range(ds.n_modes)])
    assert np.allclose(masses / masses.sum(), ds.weights, atol=0.015)


def test_temperature_is_standardized_and_reports_celsius():
    for name, minority in (("bimodal-temperature", 0.5), ("bimodal-temperature-imbalanced", 0.1)):
        ds = get_dataset(name)
        x = ds.sample(200_000, torch.Generator().manual_seed(1)).numpy()[:, 0]
        assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
        celsius = ds.to_report_units(x)
        hot = celsius[celsius > 5]
        assert hot.mean() == pytest.approx(TEMPERATURE_MODES["alice-springs"][0], abs=0.1)
        assert (celsius < 5).mean() == pytest.approx(minority, abs=0.005)
        assert ds.describe()["unit"] == "degC"


def test_sampling_is_seeded():
    ds = get_dataset("grid25")
    a = ds.sample(100, torch.Generator().manual_seed(3))
    b = ds.sample(100, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ConfigError, match="valid: ring8, grid25, bimodal-temperature"):
        get_dataset("ring7")


def test_names_include_the_image_sets_and_errors_name_frames():
    assert {"mnist", "stacked-mnist", "carracing"} <= set(names())
    with pytest.raises(ConfigError, match="frames:PATH"):
        get_dataset("cifar")


def test_mixtures_take_no_dataset_options():
    with pytest.raises(ConfigError, match="image_size"):
        get_dataset("ring8", image_size=32)
