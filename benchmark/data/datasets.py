"""The standard multimodal datasets. Each knows its modes and describes itself for tables.

Mixtures are sampled on the fly with a ``torch.Generator`` (so a seed reproduces the data stream,
on CPU or GPU). Centres and sigmas are stored in training units; ``to_report_units`` converts
samples back to the units a reader expects (degrees Celsius for the temperature sets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from baselines.variant import Problem


@dataclass(frozen=True)
class MixtureDataset:
    """A mixture of isotropic Gaussians. ``centres`` (k, d), ``sigma`` (k,), ``weights`` (k,)."""

    name: str
    description: str
    centres: np.ndarray
    sigma: np.ndarray
    weights: np.ndarray
    mode_names: tuple[str, ...]
    source: str
    unit: str = ""
    report_offset: float = 0.0
    report_scale: float = 1.0
    _cache: dict[str, torch.Tensor] = field(default_factory=dict, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return int(self.centres.shape[1])

    @property
    def n_modes(self) -> int:
        return int(self.centres.shape[0])

    @property
    def problem(self) -> Problem:
        return Problem(self.dim, self.n_modes, "vector", tuple(float(w) for w in self.weights))

    def modes(self) -> dict[str, np.ndarray]:
        """Options for :func:`diagnostics.mixture_coverage`: centres, sigma, weights."""
        return {"centres": self.centres, "sigma": self.sigma, "weights": self.weights}

    def _tensors(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._cache:
            self._cache[key] = (
                torch.as_tensor(self.centres, dtype=torch.float32, device=device),
                torch.as_tensor(self.sigma, dtype=torch.float32, device=device),
                torch.as_tensor(self.weights, dtype=torch.float32, device=device),
            )
        return self._cache[key]

    def sample_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` real samples ``(n, dim)`` and their mode labels ``(n,)``, on ``gen``'s device."""
        centres, sigma, weights = self._tensors(gen.device)
        idx = torch.multinomial(weights, n, replacement=True, generator=gen)
        noise = torch.randn(n, self.dim, generator=gen, device=gen.device)
        return centres[idx] + noise * sigma[idx, None], idx

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` real samples, shape ``(n, dim)``, on ``gen``'s device."""
        return self.sample_labeled(n, gen)[0]

    def to_report_units(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x) * self.report_scale + self.report_offset

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "dim": self.dim,
            "modes": self.n_modes,
            "mode_names": list(self.mode_names),
            "centres": self.centres.tolist(),
            "sigma": self.sigma.tolist(),
            "weights": self.weights.tolist(),
            "unit": self.unit,
            "source": self.source,
        }


def ring8() -> MixtureDataset:
    angles = 2 * math.pi * np.arange(8) / 8  # not linspace(0, 2pi, 8): that repeats a centre
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return MixtureDataset(
        name="ring8",
        description="8 Gaussians on a circle of radius 1, sigma 0.01",
        centres=centres,
        sigma=np.full(8, 0.01),
        weights=np.full(8, 1 / 8),
        mode_names=tuple(f"{round(math.degrees(a))}deg" for a in angles),
        source="VEEGAN protocol (Srivastava et al. 2017, arXiv 1705.07761)",
    )


def grid25() -> MixtureDataset:
    ticks = np.arange(-4, 5, 2, dtype=float)
    centres = np.array([(x, y) for x in ticks for y in ticks])
    return MixtureDataset(
        name="grid25",
        description="25 Gaussians on the grid {-4,-2,0,2,4}^2, sigma 0.05",
        centres=centres,
        sigma=np.full(25, 0.05),
        weights=np.full(25, 1 / 25),
        mode_names=tuple(f"({int(x)},{int(y)})" for x, y in centres),
        source="VEEGAN protocol (Srivastava et al. 2017, arXiv 1705.07761)",
    )


# Summer (December-February) daily maximum temperatures, in degrees Celsius. The means are rounded
# from published climate averages: Alice Springs Airport (Bureau of Meteorology station 015590),
# January mean maximum about 36 C; Amundsen-Scott South Pole station, summer mean maximum about
# -27 C. The spreads are our own plausible estimates of day-to-day variation, not published figures.
TEMPERATURE_MODES = {"alice-springs": (36.0, 4.0), "south-pole": (-27.0, 3.0)}


def _temperature(name: str, weights: tuple[float, float], description: str) -> MixtureDataset:
    means = np.array([m for m, _ in TEMPERATURE_MODES.values()])
    sds = np.array([s for _, s in TEMPERATURE_MODES.values()])
    w = np.asarray(weights, dtype=float)
    # Standardize with the mixture's own mean and standard deviation (closed form).
    mean = float(w @ means)
    std = float(math.sqrt(w @ (sds**2 + means**2) - mean**2))
    return MixtureDataset(
        name=name,
        description=description,
        centres=((means - mean) / std)[:, None],
        sigma=sds / std,
        weights=w,
        mode_names=tuple(TEMPERATURE_MODES),
        source="Alice Springs and South Pole summer daily maxima (see benchmark/datasets.py)",
        unit="degC",
        report_offset=mean,
        report_scale=std,
    )


def bimodal_temperature() -> MixtureDataset:
    return _temperature(
        "bimodal-temperature", (0.5, 0.5), "1-D summer temperatures, Alice Springs vs South Pole, 50/50"
    )


def bimodal_temperature_imbalanced() -> MixtureDataset:
    return _temperature(
        "bimodal-temperature-imbalanced",
        (0.9, 0.1),
        "1-D summer temperatures, 90% Alice Springs, 10% South Pole (minority mode)",
    )
