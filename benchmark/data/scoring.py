"""How a run's generated samples are scored: one scorer per dataset, mixtures and images alike.

Mixtures follow the VEEGAN protocol (:func:`diagnostics.mixture_coverage`: 2,500 samples, a mode
is covered by high-quality samples within 3 sigma of its centre). Image datasets are scored by their
mode classifier (:func:`diagnostics.image_coverage.classifier_coverage`):

- ``stacked-mnist`` follows the protocol of VEEGAN (arXiv 1705.07761) and PacGAN (arXiv 1712.04086)
  as PROTOCOLS.md states it: 26,000 samples; a mode is covered by at least one sample, whatever the
  classifier's confidence, and KL is taken over every sample's mode.
- every other image set (MNIST, frames): 10,000 samples; like the mixtures, only high-quality
  samples (classifier confidence >= ``hq_threshold``) cover a mode and enter the KL.

``high_quality_score`` is always the share of samples whose confidence is at least ``hq_threshold``.
The classifier predicts each sample once; both thresholds are applied to the same predictions.

Which diagnostics a run computes comes from the diagnostics registry
(:func:`diagnostics.registry.evaluated_on`): a diagnostic registered with ``evaluated_on=("mixture",)``
(or ``"image"``) is added to every evaluation and to the final summary of such runs, scored against
a fixed reference set of real samples, and its declared outputs become table columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from benchmark.data.datasets import MixtureDataset
from diagnostics import registry as diagnostics_registry
from diagnostics.classifiers import predict_modes
from diagnostics.image_coverage import classifier_coverage
from diagnostics.mixture import mixture_coverage

MIXTURE_SAMPLES = 2500  # VEEGAN protocol
STACKED_MNIST_SAMPLES = 26000  # VEEGAN / PacGAN protocol
IMAGE_SAMPLES = 10000
REFERENCE_SEED = 2_000_003  # the real reference set never touches a training or evaluation stream
COVERAGE = {"mixture": "mixture_coverage", "image": "classifier_coverage"}  # computed by _coverage


class _Predictions:
    """Stands in for a classifier whose predictions on one batch are already known."""

    def __init__(self, classifier: Any, labels: torch.Tensor, confidence: torch.Tensor):
        self.held_out_accuracy = float(getattr(classifier, "held_out_accuracy", float("nan")))
        self.n_classes = getattr(classifier, "n_classes", None)
        self._out = (labels, confidence)

    def predict(self, x: Any, batch_size: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        if len(x) != len(self._out[0]):
            raise ValueError("predictions were computed for another batch")
        return self._out


class Scorer:
    """``score(fake)`` -> the coverage metrics of one dataset; ``final_samples`` is the protocol's n."""

    def __init__(
        self,
        dataset: Any,
        *,
        cache_dir: str | None = None,
        min_accuracy: float = 0.95,
        hq_threshold: float = 0.9,
    ):
        self.dataset = dataset
        self.cache_dir = cache_dir
        self.min_accuracy = min_accuracy
        self.hq_threshold = hq_threshold
        self.is_mixture = isinstance(dataset, MixtureDataset)
        self._classifier: Any = None
        self._reference: Any = None
        self.kind = "mixture" if self.is_mixture else "image"
        if self.is_mixture:
            self.final_samples, self.protocol, self.mode_threshold = MIXTURE_SAMPLES, "veegan", None
        elif dataset.name == "stacked-mnist":
            self.final_samples, self.protocol, self.mode_threshold = (
                STACKED_MNIST_SAMPLES,
                "stacked-mnist (VEEGAN/PacGAN: a mode is covered by any sample)",
                0.0,
            )
        else:
            self.final_samples, self.protocol, self.mode_threshold = (
                IMAGE_SAMPLES,
                f"classifier (a mode is covered by samples of confidence >= {hq_threshold})",
                hq_threshold,
            )

    @property
    def classifier(self) -> Any:
        """The dataset's mode classifier, loaded (or trained and cached) on first use."""
        if self._classifier is None:
            from benchmark.data.classifiers import classifier_for

            self._classifier = classifier_for(self.dataset, self.cache_dir)
        return self._classifier

    def predict(self, images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The mode classifier's ``(labels, confidence)`` for images (image datasets only)."""
        return predict_modes(self.classifier, torch.as_tensor(images))

    def reference(self) -> np.ndarray:
        """A fixed set of ``final_samples`` real samples (its own seed), drawn once, for registered
        diagnostics that compare against real data."""
        if self._reference is None:
            gen = torch.Generator().manual_seed(REFERENCE_SEED)
            self._reference = self.dataset.sample(self.final_samples, gen).float().cpu().numpy()
        return self._reference

    def _options(self) -> dict[str, Any]:
        if self.is_mixture:
            return dict(self.dataset.modes())
        return {"n_modes": self.dataset.n_modes, "weights": self.dataset.weights}

    def extra_names(self) -> list[str]:
        """Registered diagnostics this scorer computes beside its coverage."""
        return [n for n in diagnostics_registry.evaluated_on(self.kind) if n != COVERAGE[self.kind]]

    def output_keys(self) -> list[str]:
        """The declared output keys of every diagnostic this scorer computes (the evaluation log's)."""
        return [o.key for o in diagnostics_registry.outputs(self.kind)]

    def score(
        self, fake: np.ndarray, predictions: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> dict[str, Any]:
        """Coverage metrics of ``fake`` and those of every other registered diagnostic evaluated on
        this kind of data; for images also ``captured`` (the covered modes). ``predictions``:
        :meth:`predict`'s output for ``fake`` when the caller already has it."""
        out = self._coverage(fake, predictions)
        extra = self.extra_names()
        if extra:
            out.update(diagnostics_registry.evaluate(extra, self.reference(), fake, **self._options()))
        return out

    def _coverage(
        self, fake: np.ndarray, predictions: tuple[torch.Tensor, torch.Tensor] | None
    ) -> dict[str, Any]:
        if self.is_mixture:
            return dict(mixture_coverage(None, fake, **self._options()))
        labels, conf = predictions if predictions is not None else self.predict(fake)
        known = _Predictions(self.classifier, labels, conf)
        options = {"classifier": known, "min_accuracy": self.min_accuracy, **self._options()}
        out: dict[str, Any] = dict(
            classifier_coverage(None, fake, hq_threshold=self.mode_threshold, **options)
        )
        if self.mode_threshold != self.hq_threshold:
            hq = classifier_coverage(None, fake, hq_threshold=self.hq_threshold, **options)
            out["high_quality_score"] = hq["high_quality_score"]
        covered = labels[conf >= self.mode_threshold]
        out["captured"] = sorted(int(m) for m in torch.unique(covered))
        return out

    def captured(self, scores: dict[str, Any]) -> list[int]:
        """The covered modes, from the output of :meth:`score`."""
        if "captured" in scores:
            return list(scores["captured"])
        return [i for i in range(self.dataset.n_modes) if scores.get(f"mode_mass_{i}", 0.0) > 0]

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"protocol": self.protocol, "final_samples": self.final_samples}
        if not self.is_mixture:
            info.update(hq_threshold=self.hq_threshold, min_accuracy=self.min_accuracy)
        return info
