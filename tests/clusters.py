"""Test data shared by the sample-diagnostics tests: a fixed mixture of 10 well-separated clusters."""

import numpy as np


def mixture(n_per, modes, d=16, seed=0, spread=0.5):
    """n_per points around each listed centre of a fixed 10-centre mixture (centres 10 apart)."""
    centres = np.random.default_rng(123).standard_normal((10, d)) * 10.0
    rng = np.random.default_rng(seed)
    parts = [centres[m] + spread * rng.standard_normal((n_per, d)) for m in modes]
    return np.concatenate(parts).astype(np.float32)


RING_CENTRES = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1)
RING_SIGMA = 0.02


def ring(n, seed, modes=range(8)):
    """n points of the ring of 8 Gaussians (radius 2, sigma 0.02), drawn from the given modes only."""
    rng = np.random.default_rng(seed)
    modes = np.asarray(list(modes))
    return RING_CENTRES[modes[rng.integers(0, modes.size, n)]] + RING_SIGMA * rng.normal(size=(n, 2))
