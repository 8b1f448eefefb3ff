"""Image datasets through the run path: scoring by the mode classifier, records, sample grids."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.data import classifiers as bench_classifiers
from benchmark.data.images import ImageDataset
from benchmark.data.scoring import STACKED_MNIST_SAMPLES, Scorer
from benchmark.runs.run import RunSpec, dataset_slug, run


class _FirstPixelOracle(nn.Module):
    """Mode = the image's mean brightness bucket; confidence set by the test through ``sharp``."""

    def __init__(self, n_classes: int, accuracy: float = 0.99, sharp: float = 20.0):
        super().__init__()
        self.n_classes, self.held_out_accuracy, self.sharp = n_classes, accuracy, sharp

    def forward(self, x):
        level = ((x.mean(dim=(1, 2, 3)) + 1) / 2 * self.n_classes).clamp(0, self.n_classes - 1e-3)
        centres = torch.arange(self.n_classes, dtype=x.dtype) + 0.5
        return -self.sharp * (level[:, None] - centres[None, :]).abs()


def _toy_images(n_modes=4, per_mode=30):
    # Mode m is a flat grey image at the m-th brightness bucket's centre.
    levels = ((np.arange(n_modes) + 0.5) / n_modes * 255).astype(np.uint8)
    images = np.repeat(levels, per_mode)[:, None, None, None] * np.ones((1, 1, 8, 8), dtype=np.uint8)
    labels = np.repeat(np.arange(n_modes), per_mode)
    return ImageDataset(
        "toy",
        "flat grey images",
        torch.from_numpy(images.astype(np.uint8)),
        torch.from_numpy(labels.astype(np.int64)),
        tuple(str(m) for m in range(n_modes)),
        "test",
    )


def test_scorer_counts_modes_of_images_with_the_classifier():
    ds = _toy_images()
    scorer = Scorer(ds)
    scorer._classifier = _FirstPixelOracle(4)
    # Two of four modes (buckets 0 and 2) generated.
    fake = np.concatenate([np.full((10, 1, 8, 8), v, np.float32) for v in (-0.75, 0.25)])
    out = scorer.score(fake)
    assert out["modes_captured"] == 2 and out["captured"] == [0, 2]
    assert out["kl_gen_true_distance"] == pytest.approx(np.log(2), abs=1e-4)
    assert scorer.final_samples == 10000 and "confidence >= 0.9" in scorer.protocol


def test_stacked_mnist_scoring_counts_any_sample_and_reports_hq_separately():
    ds = _toy_images()
    object.__setattr__(ds, "name", "stacked-mnist")  # the protocol is chosen by name
    scorer = Scorer(ds)
    scorer._classifier = _FirstPixelOracle(4, sharp=0.01)  # every confidence ~ 1/4: none is HQ
    fake = np.full((5, 1, 8, 8), -0.75, np.float32)
    out = scorer.score(fake)
    assert scorer.final_samples == STACKED_MNIST_SAMPLES
    assert out["modes_captured"] == 1  # counted although no sample is high quality
    assert out["high_quality_score"] == 0.0


def test_a_too_weak_classifier_is_refused_by_name():
    scorer = Scorer(_toy_images())
    scorer._classifier = _FirstPixelOracle(4, accuracy=0.5)
    with pytest.raises(ValueError, match="accuracy"):
        scorer.score(np.zeros((3, 1, 8, 8), np.float32))


def test_image_run_writes_uint8_samples_grid_and_coverage(tmp_path, monkeypatch, tiny_train):
    monkeypatch.setattr(bench_classifiers, "classifier_for", lambda ds, cache_dir=None: _FirstPixelOracle(10))
    monkeypatch.setattr("benchmark.data.scoring.IMAGE_SAMPLES", 300)
    spec = RunSpec("mnist", "gan", 0, {**tiny_train, "iters": 20, "batch_size": 16})
    summary = run(spec, tmp_path)
    folder = spec.folder(tmp_path)
    assert summary["status"] == "ok", summary.get("error")
    assert 0 <= summary["metrics"]["modes_captured"] <= 10 and "captured_modes" in summary
    samples = np.load(folder / "samples.npy")
    assert samples.dtype == np.uint8 and samples.shape == (300, 1, 28, 28)
    assert (folder / "samples.png").stat().st_size > 1000
    evals = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert any("eval/captured" in r for r in evals)
    config = json.loads((folder / "config.json").read_text())
    assert config["scoring"]["final_samples"] == 300 and config["dataset_info"]["kind"] == "image"
    # Finished: a second call skips training and returns the same summary.
    assert run(spec, tmp_path)["metrics"] == summary["metrics"]


def test_frames_dataset_folders_are_slugs():
    assert dataset_slug("frames:/data/my dogs/") == "frames-my_dogs"
    assert dataset_slug("ring8") == "ring8"


def test_classifier_is_trained_once_then_loaded_from_the_cache(tmp_path, monkeypatch):
    calls = []
    real_train = bench_classifiers.train_mode_classifier

    def quick(*args, **kwargs):
        calls.append(1)
        return real_train(*args, **{**kwargs, "epochs": 2, "width": 4, "hidden": 8})

    monkeypatch.setattr(bench_classifiers, "train_mode_classifier", quick)
    ds = _toy_images()
    first = bench_classifiers.classifier_for(ds, tmp_path)
    second = bench_classifiers.classifier_for(ds, tmp_path)
    assert len(calls) == 1 and list((tmp_path / "classifiers").glob("toy-*.pt"))
    assert second.held_out_accuracy == first.held_out_accuracy
    info = bench_classifiers.report(ds, second)
    assert info["held_out_split"].startswith("stratified") and info["held_out_images"] == 24
