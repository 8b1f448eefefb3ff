"""Vendi score: known answers first, then a cross-check against the authors' package (vendi-score)."""

import numpy as np
import pytest
from vendi_score import vendi as reference

import diagnostics
from diagnostics.vendi import entropy_score, vendi_of


def test_identical_samples_score_one_and_orthogonal_ones_score_n():
    same = np.tile([[1.0, 2.0, 3.0]], (50, 1))
    assert vendi_of(same, "cosine", None, 1.0) == pytest.approx(1.0)
    assert vendi_of(same, "rbf", 1.0, 1.0) == pytest.approx(1.0)
    eye = np.eye(20)
    assert vendi_of(eye, "cosine", None, 1.0) == pytest.approx(20.0)
    assert vendi_of(eye, "cosine", None, 2.0) == pytest.approx(20.0)
    assert vendi_of(eye, "cosine", None, float("inf")) == pytest.approx(20.0)


def test_m_equal_groups_of_identical_samples_score_m():
    groups = np.repeat(np.eye(5), 12, axis=0)  # 5 groups of 12 identical, mutually orthogonal rows
    for q in (0.5, 1.0, 2.0, float("inf")):
        assert vendi_of(groups, "cosine", None, q) == pytest.approx(5.0)
    far = np.repeat(np.arange(4)[:, None] * 1e3, 10, axis=0)  # 4 far-apart points, rbf
    assert vendi_of(far, "rbf", 1.0, 1.0) == pytest.approx(4.0)


def test_entropy_score_of_a_known_distribution():
    p = np.array([0.5, 0.25, 0.25])
    assert entropy_score(p, 1.0) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert entropy_score(p, 2.0) == pytest.approx(1 / (p**2).sum())
    assert entropy_score(p, float("inf")) == pytest.approx(2.0)


@pytest.mark.filterwarnings("ignore:Please import `csr_matrix`:DeprecationWarning")  # the package's own
@pytest.mark.parametrize("q", [1.0, 2.0])
def test_matches_the_reference_package(q):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)) + rng.integers(0, 3, size=(300, 1)) * 2.0
    # cosine: the package's score_K on the normalised Gram matrix (its dual form for d < n)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert vendi_of(x, "cosine", None, q) == pytest.approx(reference.score_K(u @ u.T, q=q), rel=1e-9)
    assert vendi_of(x, "cosine", None, q) == pytest.approx(reference.score_dual(x, q=q), rel=1e-9)
    # rbf: the package's score with a Python kernel
    h = 3.0
    small = x[:60]
    ref = reference.score(small, lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * h * h)), q=q)
    assert vendi_of(small, "rbf", h, q) == pytest.approx(ref, rel=1e-9)


def test_registered_diagnostic_sees_a_collapse_against_real():
    rng = np.random.default_rng(1)
    centres = np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1) * 2
    real = centres[rng.integers(0, 8, 800)] + 0.02 * rng.normal(size=(800, 2))
    fake = centres[rng.integers(0, 1, 800)] + 0.02 * rng.normal(size=(800, 2))
    out = diagnostics.evaluate(["vendi_score"], real, fake, vendi_kernel="rbf", vendi_bandwidth=0.5)
    assert out["vendi_real"] == pytest.approx(8.0, rel=0.05)
    assert out["vendi_fake"] == pytest.approx(1.0, rel=0.05)
    assert out["vendi_ratio"] < 0.15
    assert "vendi_score" in diagnostics.names()


def test_bad_options_are_one_clear_error():
    x = np.ones((10, 2))
    with pytest.raises(ValueError, match="unknown vendi_kernel 'gauss'; valid: cosine, rbf"):
        diagnostics.vendi_score(x, x, vendi_kernel="gauss")
    with pytest.raises(ValueError, match="vendi_q must be > 0"):
        diagnostics.vendi_score(x, x, vendi_q=0)
    with pytest.raises(ValueError, match="non-finite"):
        diagnostics.vendi_score(x, np.full((10, 2), np.nan))
