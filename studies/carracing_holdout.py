"""Is the CarRacing mode classifier right on frames it has not seen the like of? Held-out time segments.

    python -m studies.carracing_holdout [--folds 5] [--later 50]
        [--out results/carracing_holdout.json]

The suite's classifier is trained on a stratified 80 % of the 1,000 built-in frames and scored on the
other 20 %, frames interleaved in time with training frames: a held-out frame has neighbours 40 ms
away in the training set, so its score says little about frames unlike any it was trained on. Two
harder tests, with the suite's architecture, epochs and seed:

* **contiguous time blocks**: ``--folds`` folds; fold ``f`` holds out the ``f``-th contiguous block of
  every clip (frames 0-19 of each clip for the first of 5 folds, and so on), trains on the rest and
  scores the block. The block's middle frames are 10 frames (0.4 s) from the nearest training frame.
* **later frames**: the same episodes rendered ``--later`` frames further on (the renderer is
  deterministic, so the first 100 frames of a clip are the built-in ones, checked) and the suite's
  own classifier scored on the frames after the 100th, which no classifier saw.

Clips themselves cannot be held out: each clip is its own mode (its own randomised colours), so a
frame of an unseen clip belongs to no class the classifier knows.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

from baselines.atomic import write_json
from benchmark.data import frames
from benchmark.data.classifiers import ARCHITECTURE, TRAIN_SETTINGS, classifier_for
from diagnostics.classifier_training import DEFAULT_EPOCHS, train_mode_classifier


def block_folds(labels: torch.Tensor, frames_per_clip: int, folds: int) -> list[np.ndarray]:
    """For each fold, a boolean mask of the held-out frames: the fold's contiguous block of every clip.

    Frames are stored clip after clip, ``frames_per_clip`` each (``labels`` is the clip index)."""
    if folds < 2 or folds > frames_per_clip:
        raise ValueError(f"need 2 <= folds <= {frames_per_clip} frames per clip, got {folds}")
    y = labels.numpy()
    position = np.arange(len(y)) - np.searchsorted(y, y)  # index of each frame within its clip
    edges = np.linspace(0, frames_per_clip, folds + 1).round().astype(int)
    return [(position >= a) & (position < b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def accuracy(model: Any, x: torch.Tensor, y: torch.Tensor) -> float:
    pred, _ = model.predict(x)
    return float((pred == y).double().mean())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--later", type=int, default=50, help="frames rendered past the built-in 100 per clip")
    p.add_argument("--out", default="results/carracing_holdout.json")
    args = p.parse_args(argv)
    if args.later < 1:
        p.error(f"--later must be >= 1, got {args.later}")
    torch.set_num_threads(1)

    data = frames.carracing()
    x, y, n_classes = data.classifier_data()
    per_clip = len(y) // n_classes
    options = {"seed": TRAIN_SETTINGS["seed"], "epochs": DEFAULT_EPOCHS, **ARCHITECTURE}

    suite_clf = classifier_for(data)
    report: dict[str, Any] = {
        "command": "python -m studies.carracing_holdout",
        "frames": int(len(y)),
        "clips": int(n_classes),
        "interleaved_20pct_accuracy": float(suite_clf.held_out_accuracy),
        "classifier": {"epochs": DEFAULT_EPOCHS, **ARCHITECTURE},
    }

    blocks = []
    for f, test in enumerate(block_folds(y, per_clip, args.folds)):
        started = time.perf_counter()
        tr, te = torch.from_numpy(np.flatnonzero(~test)), torch.from_numpy(np.flatnonzero(test))
        model = train_mode_classifier(x[tr], y[tr], x[te], y[te], n_classes, **options)
        pos = np.flatnonzero(test[:per_clip])
        per_clip_acc = [accuracy(model, x[te][y[te] == c], y[te][y[te] == c]) for c in range(n_classes)]
        blocks.append(
            {
                "fold": f,
                "frames_of_each_clip": [int(pos[0]), int(pos[-1])],
                "accuracy": float(model.held_out_accuracy),
                "worst_clip_accuracy": min(per_clip_acc),
                "train_seconds": time.perf_counter() - started,
            }
        )
        print(f"block {f} (frames {pos[0]}-{pos[-1]} of each clip): {100 * model.held_out_accuracy:.1f} %")
    report["time_blocks"] = blocks
    report["time_blocks_mean_accuracy"] = float(np.mean([b["accuracy"] for b in blocks]))

    longer = frames.carracing(frames_per_clip=per_clip + args.later)
    lx, ly, _ = longer.classifier_data()
    total = per_clip + args.later
    first = torch.cat([lx[c * total : c * total + per_clip] for c in range(n_classes)])
    later_x = torch.cat([lx[c * total + per_clip : (c + 1) * total] for c in range(n_classes)])
    later_y = torch.cat([ly[c * total + per_clip : (c + 1) * total] for c in range(n_classes)])
    report["later_frames"] = {
        "frames_per_clip": args.later,
        "first_frames_identical": bool(torch.equal(first, x)),
        "accuracy": accuracy(suite_clf, later_x, later_y),
        "per_clip_accuracy": [
            accuracy(suite_clf, later_x[later_y == c], later_y[later_y == c]) for c in range(n_classes)
        ],
    }
    later = report["later_frames"]
    print(
        f"interleaved 20 %: {100 * report['interleaved_20pct_accuracy']:.1f} %; time blocks (mean of "
        f"{args.folds}): {100 * report['time_blocks_mean_accuracy']:.1f} %; frames {per_clip}-{total - 1} "
        f"of each episode: {100 * report['later_frames']['accuracy']:.1f} % "
        f"(first {per_clip} frames identical to the built-in set: {later['first_frames_identical']})"
    )
    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
