"""The mode classifiers' held-out accuracy (``results/classifiers.json``, written by ``make classifiers``)."""

from __future__ import annotations

from pathlib import Path

from studies.pages import common as c

RECORD = "results/classifiers.json"


def build(root: Path) -> str:
    record = c.read_json(root, RECORD)
    lines = [
        "| dataset | classifier | classes | held-out accuracy | held-out images | held-out split | "
        "training images | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in sorted(record.items()):
        kind = r["type"] + (" (the MNIST classifier on each channel)" if r.get("per_channel") else "")
        lines.append(
            f"| {name} | {kind} | {c.count(r['n_classes'])} | {c.pct(r['held_out_accuracy'])} | "
            f"{c.count(r['held_out_images'])} | {r['held_out_split']} | {c.count(r['train_images'])} | "
            f"{c.count(r['n_parameters'])} |"
        )
    mnist = record.get("mnist")
    sample = (
        f"The MNIST row is the embedded {c.count(mnist['train_images'] + mnist['held_out_images'])}-digit "
        "sample; full MNIST (its t10k split) is not in the record. "
        if mnist and mnist["train_images"] + mnist["held_out_images"] < 60000
        else ""
    )
    worst = min(record.items(), key=lambda kv: kv[1]["held_out_accuracy"])
    return (
        "`make classifiers` (`mcbench classifiers`) trains or loads the cached mode classifier of every "
        "image dataset and writes its held-out accuracy here; what the classifiers are and how scoring uses "
        "them: [../datasets.md](../datasets.md) and [../diagnostics.md](../diagnostics.md). Stacked MNIST "
        "scores each channel with the MNIST classifier, so its accuracy is the MNIST one.\n\n"
        + "\n".join(lines)
        + f"\n\nThe lowest held-out accuracy is {c.pct(worst[1]['held_out_accuracy'])} ({worst[0]}). "
        + sample
        + "The CarRacing classifier's held-out frames lie between its training frames; the held-out "
        "time blocks and later frames are on [carracing.md](carracing.md).\n"
    )


PAGE = c.Page(
    name="classifiers",
    title="Mode classifiers: held-out accuracy",
    records=(RECORD,),
    summary="held-out accuracy of the mode classifiers that score the image datasets",
    build=build,
)
