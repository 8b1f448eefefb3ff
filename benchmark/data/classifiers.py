"""The mode classifier of each image dataset: trained on first use, cached, and its accuracy reported.

The classifier of a dataset is trained on ``dataset.classifier_split()`` (a stratified 80/20 split of
the real images, or full MNIST's official train/t10k split) by
:func:`diagnostics.classifiers.train_mode_classifier` and cached under
``CACHE/classifiers/KEY-HASH.pt``, where HASH covers the training and test images, their labels,
the training settings and the architecture (``ARCHITECTURE``): other data, settings or architecture
never reuse a stale classifier. Stacked MNIST uses the MNIST classifier on each channel
(:class:`diagnostics.classifiers.PerChannelClassifier`).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

from torch import nn

from benchmark.data.images import ImageDataset, default_cache_dir
from diagnostics.classifier_training import (
    DEFAULT_EPOCHS,
    classifier_info,
    data_fingerprint,
    load_or_train,
    train_mode_classifier,
)
from diagnostics.classifiers import DEFAULT_DOWNSAMPLE, DEFAULT_WIDTH, PerChannelClassifier

# Settings every cached classifier is trained with; part of the cache key.
TRAIN_SETTINGS: dict[str, Any] = {"held_out": 0.2, "split_seed": 0, "seed": 0}
# The architecture is part of the cache key too, so a changed default never reuses a stale classifier.
ARCHITECTURE: dict[str, Any] = {"width": DEFAULT_WIDTH, "hidden": 128, "downsample": DEFAULT_DOWNSAMPLE}


def cache_key(dataset: ImageDataset) -> str:
    """A file-name-safe key: the dataset name, or for ``frames:PATH`` a digest of the path."""
    name = dataset.name
    if re.fullmatch(r"[A-Za-z0-9_.=+-]+", name):
        return name
    stem = re.sub(r"[^A-Za-z0-9_.=+-]+", "-", name).strip("-")[-40:]
    return f"{stem}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def classifier_for(
    dataset: ImageDataset,
    cache_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    epochs: int | None = None,
    verbose: bool = False,
) -> nn.Module:
    """The dataset's mode classifier, loaded from the cache or trained now (and cached).

    The returned module has ``held_out_accuracy`` and ``n_classes`` (1,000 for stacked MNIST), and
    ``train_seconds`` when it was trained in this call.
    """
    x_tr, y_tr, x_te, y_te = dataset.classifier_split(
        TRAIN_SETTINGS["held_out"], TRAIN_SETTINGS["split_seed"]
    )
    _, _, n_classes = dataset.classifier_data()
    options: dict[str, Any] = {
        "seed": TRAIN_SETTINGS["seed"],
        "epochs": DEFAULT_EPOCHS if epochs is None else epochs,
        **ARCHITECTURE,
    }
    digest = data_fingerprint(x_tr, y_tr, x_te, y_te)
    settings = hashlib.sha256(repr(sorted(options.items())).encode()).hexdigest()[:6]
    # Stacked MNIST's per-channel classifier is the MNIST classifier (same data, same hash): share it.
    key = "mnist" if dataset.name == "stacked-mnist" else cache_key(dataset)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    trained: dict[str, float] = {}

    def train() -> nn.Module:
        if verbose:
            print(f"training the mode classifier of {dataset.name} on {len(y_tr):,} images ...", flush=True)
        started = time.perf_counter()
        model = train_mode_classifier(x_tr, y_tr, x_te, y_te, n_classes, device=device, **options)
        trained["seconds"] = time.perf_counter() - started
        return model

    base = load_or_train(folder / "classifiers", key, f"{digest}-{settings}", train)
    if "seconds" in trained:
        base.train_seconds = trained["seconds"]
    if dataset.per_channel_classifier:
        wrapped = PerChannelClassifier(base, channels=dataset.shape[0])
        return wrapped
    return base


def report(dataset: ImageDataset, classifier: nn.Module) -> dict[str, Any]:
    """What a reader needs to trust the classifier: accuracy, on which split, and the data hash."""
    base = getattr(classifier, "base", classifier)
    x_tr, _, x_te, _ = dataset.classifier_split(TRAIN_SETTINGS["held_out"], TRAIN_SETTINGS["split_seed"])
    official = dataset.test_images is not None
    return {
        "dataset": dataset.name,
        **classifier_info(classifier),
        "train_images": int(len(x_tr)),
        "held_out_images": int(len(x_te)),
        "held_out_split": "official test split" if official else "stratified 20 % of the real images",
        "per_channel": bool(dataset.per_channel_classifier),
        "train_seconds": getattr(base, "train_seconds", None),
    }
