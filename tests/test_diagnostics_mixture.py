"""Known-answer tests for the mixture-of-Gaussians coverage metrics and the diagnostics registry."""

import math

import numpy as np
import pytest

import diagnostics
from diagnostics import UnknownNameError, evaluate, mixture_coverage, mode_histogram_kl
from diagnostics.mixture import assign_modes
from diagnostics.registry import unregister

SIGMA = 0.01
K = 8


def ring_centres(k: int = K, radius: float = 1.0) -> np.ndarray:
    angles = 2.0 * np.pi * np.arange(k) / k
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def sample_modes(modes, per_mode: int, seed: int = 0) -> np.ndarray:
    """Draw `per_mode` points N(centre, SIGMA^2 I) from each listed mode of the ring."""
    rng = np.random.default_rng(seed)
    centres = ring_centres()
    parts = [centres[m] + SIGMA * rng.standard_normal((per_mode, 2)) for m in modes]
    return np.concatenate(parts, axis=0)


def coverage(fake, **kw):
    return mixture_coverage(None, fake, centres=ring_centres(), sigma=SIGMA, **kw)


def test_five_of_eight_modes_captured_exactly():
    kept = [0, 2, 3, 5, 6]
    out = coverage(sample_modes(kept, 1000, seed=1))
    assert out["modes_captured"] == 5.0
    assert out["modes_total"] == 8.0
    assert out["mode_coverage_score"] == pytest.approx(5 / 8)
    assert out["high_quality_score"] > 0.98
    for i in range(K):
        if i in kept:
            assert out[f"mode_mass_{i}"] > 0.18
        else:
            assert out[f"mode_mass_{i}"] == 0.0


@pytest.mark.parametrize("radius", [0.0, 0.5])
def test_off_mode_samples_are_never_high_quality(radius):
    rng = np.random.default_rng(2)
    angles = rng.uniform(0, 2 * np.pi, size=500)
    fake = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    out = coverage(fake)
    assert out["high_quality_score"] == 0.0
    assert out["modes_captured"] == 0.0
    assert out["mode_coverage_score"] == 0.0
    assert math.isnan(out["kl_gen_true_distance"])
    assert math.isnan(out["kl_true_gen_distance"])
    assert all(out[f"mode_mass_{i}"] == 0.0 for i in range(K))


def test_balanced_sample_has_near_zero_kl():
    out = coverage(sample_modes(range(K), 500, seed=3))
    assert out["modes_captured"] == 8.0
    assert out["kl_gen_true_distance"] < 0.01
    assert out["kl_true_gen_distance"] < 0.01


def test_single_mode_kl_is_log_k():
    out = coverage(sample_modes([4], 2000, seed=4))
    assert out["modes_captured"] == 1.0
    assert out["kl_gen_true_distance"] == pytest.approx(math.log(K), abs=1e-3)


def test_reverse_kl_grows_as_modes_are_dropped():
    values = []
    for n_modes in [8, 6, 4, 2, 1]:
        out = coverage(sample_modes(range(n_modes), 400, seed=5))
        assert out["modes_captured"] == float(n_modes)
        values.append(out["kl_true_gen_distance"])
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values


def test_mode_mass_sums_to_high_quality_score():
    rng = np.random.default_rng(6)
    on_mode = sample_modes([0, 1, 1, 7], 300, seed=6)
    off_mode = rng.uniform(-2, 2, size=(400, 2))
    out = coverage(np.concatenate([on_mode, off_mode]))
    total = sum(out[f"mode_mass_{i}"] for i in range(K))
    assert total == pytest.approx(out["high_quality_score"], abs=1e-12)
    assert 0.0 < out["high_quality_score"] < 1.0


def test_per_mode_sigma_in_one_dimension():
    centres = np.array([[-1.5], [1.0]])
    sigmas = np.array([0.1, 0.3])
    # -0.5 is Euclidean-closer to -1.5 but closer to 1.0 in units of each mode's sigma.
    fake = np.array([0.3, -0.5, -1.3, -1.1])
    idx, hq = assign_modes(fake, centres, sigmas)
    assert idx.tolist() == [1, 1, 0, 0]
    assert hq.tolist() == [True, False, True, False]

    out = mixture_coverage(None, fake, centres=centres, sigma=sigmas)
    assert out["modes_captured"] == 2.0
    assert out["high_quality_score"] == pytest.approx(0.5)
    assert out["mode_mass_0"] == pytest.approx(0.25)
    assert out["mode_mass_1"] == pytest.approx(0.25)


def test_non_finite_samples_are_unassigned():
    fake = np.array([[1.0, 0.0], [np.nan, 0.0], [np.inf, 1.0]])
    idx, hq = assign_modes(fake, ring_centres(), SIGMA)
    assert idx.tolist() == [0, -1, -1]
    assert hq.tolist() == [True, False, False]


def test_weights_change_the_reference_histogram():
    fake = sample_modes([0], 200, seed=7)
    weights = np.zeros(K)
    weights[0] = 1.0
    out = coverage(fake, weights=weights)
    assert out["kl_gen_true_distance"] == pytest.approx(0.0, abs=1e-4)
    assert out["kl_true_gen_distance"] == pytest.approx(0.0, abs=1e-4)


def test_mode_histogram_kl_known_values():
    assert mode_histogram_kl([1, 1], [1, 1]) == pytest.approx(0.0)
    # Unnormalised counts are normalised first.
    assert mode_histogram_kl([3, 1], [1, 1]) == pytest.approx(
        0.75 * math.log(1.5) + 0.25 * math.log(0.5), abs=1e-5
    )
    assert math.isnan(mode_histogram_kl([0, 0], [1, 1]))
    with pytest.raises(ValueError):
        mode_histogram_kl([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        mode_histogram_kl([-1, 2], [1, 2])


def test_same_input_same_output():
    fake = sample_modes([0, 3, 4], 300, seed=8)
    first = coverage(fake.copy())
    assert first == coverage(fake.copy())
    assert all(type(v) is float for v in first.values())


def test_torch_tensor_input():
    torch = pytest.importorskip("torch")
    fake = sample_modes([1, 2], 300, seed=9)
    from_numpy = coverage(fake)
    from_torch = mixture_coverage(
        torch.from_numpy(fake).float(),
        torch.from_numpy(fake).float(),
        centres=torch.from_numpy(ring_centres()),
        sigma=SIGMA,
    )
    assert from_torch["modes_captured"] == from_numpy["modes_captured"] == 2.0
    assert from_torch["high_quality_score"] == pytest.approx(from_numpy["high_quality_score"], abs=1e-3)


def test_bad_shapes_rejected():
    with pytest.raises(ValueError):
        assign_modes(np.zeros((4, 3)), ring_centres(), SIGMA)
    with pytest.raises(ValueError):
        assign_modes(np.zeros((4, 2)), ring_centres(), [SIGMA, SIGMA])
    with pytest.raises(ValueError):
        assign_modes(np.zeros((4, 2)), ring_centres(), -1.0)


# ---------------------------------------------------------------- registry


@pytest.fixture
def scratch_names():
    made = []
    yield made
    for name in made:
        unregister(name)


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        diagnostics.get("no_such_metric")
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "no_such_metric" in message
    assert ", ".join(sorted(diagnostics.names())) in message
    assert "mixture_coverage" in message


def test_builtin_is_registered():
    entry = diagnostics.get("mixture_coverage")
    assert entry.fn is mixture_coverage
    assert entry.direction == "higher"
    assert entry.main_key in {"modes_captured", "mode_coverage_score"}
    assert "centres" in entry.needs


def test_duplicate_and_non_callable_refused(scratch_names):
    diagnostics.register("scratch_a", lambda real, fake: {"a": 1.0}, "higher")
    scratch_names.append("scratch_a")
    with pytest.raises(ValueError):
        diagnostics.register("scratch_a", lambda real, fake: {"a": 2.0}, "higher")
    with pytest.raises(ValueError):
        diagnostics.register("mixture_coverage", mixture_coverage, "higher")
    with pytest.raises(TypeError):
        diagnostics.register("scratch_b", 3, "higher")
    with pytest.raises(ValueError):
        diagnostics.register("scratch_c", lambda real, fake: {}, "sideways")
    assert "scratch_b" not in diagnostics.names()


def test_evaluate_merges_and_filters_options(scratch_names):
    diagnostics.register("scratch_a", lambda real, fake: {"a": 1.0}, "higher", main_key="a")
    diagnostics.register("scratch_b", lambda real, fake, scale=1: {"b": 2.0 * scale}, "lower", main_key="b")
    scratch_names.extend(["scratch_a", "scratch_b"])
    fake = sample_modes(range(K), 100, seed=10)
    names = ["scratch_a", "scratch_b", "mixture_coverage"]
    out = evaluate(names, None, fake, centres=ring_centres(), sigma=SIGMA, scale=3)
    assert out["a"] == 1.0
    assert out["b"] == 6.0
    assert out["modes_captured"] == 8.0
    assert all(isinstance(v, float) for v in out.values())


def test_evaluate_rejects_collisions_and_missing_options(scratch_names):
    diagnostics.register("scratch_a", lambda real, fake: {"k": 1.0}, "none", main_key="k")
    diagnostics.register("scratch_b", lambda real, fake: {"k": 2.0}, "none", main_key="k")
    scratch_names.extend(["scratch_a", "scratch_b"])
    with pytest.raises(ValueError, match="k"):
        evaluate(["scratch_a", "scratch_b"], None, None)
    with pytest.raises(ValueError, match="centres"):
        evaluate(["mixture_coverage"], None, np.zeros((3, 2)), sigma=SIGMA)
    with pytest.raises(UnknownNameError):
        evaluate(["scratch_a", "nope"], None, None)
