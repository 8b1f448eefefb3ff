"""Known-answer tests for classifier-based image coverage, using oracle classifiers with set outputs."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import diagnostics
from diagnostics import ClassifierTooWeakError, PerChannelClassifier, classifier_coverage, evaluate
from diagnostics.image_coverage import MAX_PER_MODE_KEYS

K = 10


class Oracle(nn.Module):
    """Reads the mode from pixel (0, 0) and the wanted confidence from pixel (0, 1) of channel 0.

    Its logits make the softmax put exactly that confidence on that mode and spread the rest evenly.
    """

    def __init__(self, n_classes: int = K, accuracy: float = 1.0):
        super().__init__()
        self.n_classes = n_classes
        self.held_out_accuracy = accuracy
        self.in_channels = 1

    def forward(self, x):
        label = x[:, 0, 0, 0].round().long()
        p = x[:, 0, 0, 1].double().clamp(1e-9, 1.0 - 1e-9)
        rest = torch.log((1.0 - p) / (self.n_classes - 1))
        logits = rest[:, None].repeat(1, self.n_classes)
        logits[torch.arange(x.shape[0]), label] = torch.log(p)
        return logits


def images(labels, conf=1.0, channels: int = 1, size: int = 4) -> torch.Tensor:
    """Float images whose pixel (0, 0) is the label and (0, 1) the confidence, in every channel."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.float32)
    x = torch.zeros(labels.shape[0], channels, size, size)
    x[:, :, 0, 0] = labels[:, None] if labels.ndim == 1 else labels
    x[:, :, 0, 1] = torch.as_tensor(conf, dtype=torch.float32).reshape(-1, 1) if np.ndim(conf) else conf
    return x


def smoothed(h, eps=1e-6):
    h = np.asarray(h, dtype=np.float64)
    return (h / h.sum() + eps) / (1 + h.size * eps)


def test_five_of_ten_modes_known_answers():
    kept = [0, 2, 4, 6, 8]
    fake = images(np.repeat(kept, 100))
    out = classifier_coverage(None, fake, classifier=Oracle(), n_modes=K)
    assert out["modes_captured"] == 5.0
    assert out["modes_total"] == 10.0
    assert out["mode_coverage_score"] == pytest.approx(0.5)
    assert out["high_quality_score"] == 1.0
    assert out["classifier_accuracy"] == 1.0
    # Uniform over 5 against uniform over 10: KL(gen || true) = log 2 up to the 1e-6 smoothing.
    assert out["kl_gen_true_distance"] == pytest.approx(math.log(2), abs=1e-4)
    gen, true = smoothed([1, 0] * 5), smoothed(np.ones(K))
    assert out["kl_true_gen_distance"] == pytest.approx(float(np.sum(true * np.log(true / gen))), rel=1e-9)
    for i in range(K):
        assert out[f"mode_mass_{i}"] == pytest.approx(0.2 if i in kept else 0.0)
    assert all(type(v) is float for v in out.values())


def test_high_quality_share_and_threshold():
    # 30 confident samples in modes 0-2, 70 unsure ones in modes 3-9.
    labels = np.concatenate([np.repeat([0, 1, 2], 10), np.repeat(np.arange(3, 10), 10)])
    conf = np.concatenate([np.full(30, 0.95), np.full(70, 0.5)])
    fake = images(labels, conf)
    out = classifier_coverage(None, fake, classifier=Oracle(), n_modes=K)
    assert out["high_quality_score"] == pytest.approx(0.3)
    assert out["modes_captured"] == 3.0
    assert sum(out[f"mode_mass_{i}"] for i in range(K)) == pytest.approx(0.3)
    # The VEEGAN/PacGAN count: every sample counts.
    everything = classifier_coverage(None, fake, classifier=Oracle(), n_modes=K, hq_threshold=0.0)
    assert everything["high_quality_score"] == 1.0
    assert everything["modes_captured"] == 10.0
    assert everything["kl_gen_true_distance"] == pytest.approx(0.0, abs=1e-9)


def test_no_high_quality_sample_gives_nan_kl():
    out = classifier_coverage(None, images([1, 2, 3], 0.2), classifier=Oracle(), n_modes=K)
    assert out["high_quality_score"] == 0.0
    assert out["modes_captured"] == 0.0
    assert math.isnan(out["kl_gen_true_distance"]) and math.isnan(out["kl_true_gen_distance"])


def test_reference_weights_given_or_estimated_from_real():
    fake = images(np.repeat([0, 1], 50))
    weights = np.zeros(K)
    weights[:2] = 1.0
    out = classifier_coverage(None, fake, classifier=Oracle(), n_modes=K, weights=weights)
    assert out["kl_gen_true_distance"] == pytest.approx(0.0, abs=1e-4)
    assert out["kl_true_gen_distance"] == pytest.approx(0.0, abs=1e-4)
    # Real images in modes 0 and 1 only: the reference is estimated from them (confidence ignored).
    real = images(np.repeat([0, 1], 20), 0.3)
    estimated = classifier_coverage(real, fake, classifier=Oracle(), n_modes=K)
    assert estimated["kl_gen_true_distance"] == pytest.approx(0.0, abs=1e-4)
    uniform = classifier_coverage(None, fake, classifier=Oracle(), n_modes=K)
    assert uniform["kl_gen_true_distance"] == pytest.approx(math.log(5), abs=1e-3)
    # Explicit weights win over real.
    explicit = classifier_coverage(real, fake, classifier=Oracle(), n_modes=K, weights=np.ones(K))
    assert explicit == uniform
    with pytest.raises(ValueError):
        classifier_coverage(None, fake, classifier=Oracle(), n_modes=K, weights=np.ones(3))


def test_weak_classifier_is_refused():
    fake = images([0, 1, 2])
    with pytest.raises(ClassifierTooWeakError) as info:
        classifier_coverage(None, fake, classifier=Oracle(accuracy=0.9), n_modes=K)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "0.9000" in message and "0.9500" in message and "min_accuracy" in message
    assert "\n" not in message
    out = classifier_coverage(None, fake, classifier=Oracle(accuracy=0.9), n_modes=K, min_accuracy=0.85)
    assert out["classifier_accuracy"] == pytest.approx(0.9)
    with pytest.raises(ClassifierTooWeakError):  # unknown accuracy is refused too
        classifier_coverage(None, fake, classifier=Oracle(accuracy=float("nan")), n_modes=K)
    out = classifier_coverage(
        None, fake, classifier=Oracle(accuracy=float("nan")), n_modes=K, min_accuracy=None
    )
    assert math.isnan(out["classifier_accuracy"])


def test_bad_options_rejected():
    fake = images([0, 1])
    with pytest.raises(ValueError, match="n_modes"):
        classifier_coverage(None, fake, classifier=Oracle(), n_modes=12)
    with pytest.raises(ValueError):
        classifier_coverage(None, fake, classifier=Oracle(), n_modes=K, hq_threshold=1.5)
    with pytest.raises(ValueError):
        classifier_coverage(None, images([]), classifier=Oracle(), n_modes=K)
    with pytest.raises(ValueError):
        classifier_coverage(None, torch.zeros(3, 4, 4), classifier=Oracle(), n_modes=K)


def test_batching_does_not_change_the_result():
    rng = np.random.default_rng(0)
    fake = images(rng.integers(0, K, 257), rng.uniform(0.5, 1.0, 257))
    one = classifier_coverage(None, fake, classifier=Oracle(), n_modes=K, batch_size=1000)
    many = classifier_coverage(None, fake, classifier=Oracle(), n_modes=K, batch_size=16)
    assert one == many


def test_per_channel_classifier_spells_the_mode():
    base = Oracle()
    stacked = PerChannelClassifier(base, channels=3)
    assert stacked.n_classes == 1000 and stacked.held_out_accuracy == 1.0
    x = torch.zeros(2, 3, 4, 4)
    x[0, :, 0, 0] = torch.tensor([3.0, 7.0, 1.0])
    x[0, :, 0, 1] = torch.tensor([0.9, 0.8, 0.5])
    x[1, :, 0, 0] = torch.tensor([0.0, 0.0, 9.0])
    x[1, :, 0, 1] = 1.0
    modes, conf = stacked.predict(x)
    assert modes.dtype == torch.int64 and modes.tolist() == [371, 9]
    assert conf[0].item() == pytest.approx(0.9 * 0.8 * 0.5, rel=1e-5)
    # The joint logits agree with predict.
    probs = torch.softmax(stacked(x), dim=1)
    assert probs.argmax(dim=1).tolist() == [371, 9]
    assert probs[0, 371].item() == pytest.approx(0.36, rel=1e-5)


def test_stacked_coverage_has_no_per_mode_keys():
    stacked = PerChannelClassifier(Oracle(), channels=3)
    digits = np.array([[3, 7, 1], [0, 0, 9], [3, 7, 1]])
    fake = images(digits, channels=3)
    out = classifier_coverage(None, fake, classifier=stacked, n_modes=1000)
    assert 1000 > MAX_PER_MODE_KEYS
    assert out["modes_captured"] == 2.0
    assert out["mode_coverage_score"] == pytest.approx(0.002)
    assert not any(key.startswith("mode_mass_") for key in out)


def test_registered_and_runs_through_evaluate():
    entry = diagnostics.get("classifier_coverage")
    assert entry.fn is classifier_coverage
    assert entry.direction == "higher"
    assert entry.main_key == "modes_captured"
    assert set(entry.needs) == {"classifier", "n_modes"}
    fake = images([0, 1, 1])
    out = evaluate(["classifier_coverage"], None, fake, classifier=Oracle(), n_modes=K, centres=None)
    assert out["modes_captured"] == 2.0
    with pytest.raises(ValueError, match="classifier"):
        evaluate(["classifier_coverage"], None, fake, n_modes=K)
