"""Stacked MNIST with a small discriminator, checkpoint by checkpoint: modes, and modes with HQ samples.

    python -m studies.small_d_probe [--runs results/runs/small-d-probe] [--samples 10000]
        [--out results/small_d_probe.json] [--table results/tables/stacked-mnist-small-d-probe.md]
        [--figure results/figures/stacked-mnist-small-d-probe.png]

Reads the run folders ``RUNS/DATASET/VARIANT[-TAG]/seedN`` (stacked MNIST here) of runs trained
with ``mcbench run --keep-checkpoints`` (``make small-d-probe``) and scores the generator of every
kept checkpoint on SAMPLES fresh samples (drawn with the run's own evaluation seed) with the
dataset's mode classifier:

- ``modes``: modes covered by any sample, the count VEEGAN and PacGAN report;
- ``hq``: the share of high-quality samples (classifier confidence >= 0.9 on all three digits' product;
  the real images score 81.7 %, ``results/classifiers.json`` and the README);
- ``hq_modes``: modes covered by at least one high-quality sample. This is meant to separate modes
  drawn as digits from smudges filed under a mode, but it is only an upper bound: the classifier is
  confident on some images far from any digit too (the 10-step unrolled GAN's grey noise scores
  100 % high quality in the README's probe), so look at the samples (``--figure``);
- ``kl``: KL(gen || true) over the modes of all samples.

Then, at every checkpoint where the plain GAN (mean over its seeds) covers at most ``--collapsed``
modes (300, the issue's bound for "collapsed"), each other run's modes and HQ modes as a multiple of
the GAN's. Per run, the summary's own final scoring (26,000 samples) and its wall time are kept too.
The checkpoints are not kept in git (5 MB each); the JSON keeps every number.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.atomic import write_json, write_text

BASELINE = "gan"


def count_modes(labels: Any, confidence: Any, hq_threshold: float) -> dict[str, float]:
    """Modes covered by any sample, the high-quality share and the modes covered by high-quality
    samples (confidence >= ``hq_threshold``), from the classifier's labels and confidences."""
    labels, confidence = np.asarray(labels), np.asarray(confidence)
    if labels.shape != confidence.shape or labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels and confidences must be two equal 1-D arrays, got {labels.shape}")
    good = confidence >= hq_threshold
    return {
        "modes": float(np.unique(labels).size),
        "hq": float(good.mean()),
        "hq_modes": float(np.unique(labels[good]).size),
    }


def build_variant(folder: Path) -> tuple[Any, dict[str, Any]]:
    """The run's variant (networks built from its ``config.json``, on the CPU) and the config."""
    from baselines import registry
    from baselines.config import TrainConfig, from_dict
    from baselines.trainer import resolve_device
    from benchmark.data.registry import get_dataset

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    dataset = get_dataset(config["dataset"], **config.get("data_options", {}))
    train = from_dict(TrainConfig, {**config["train"], "device": "cpu"}, where="train")
    variant = registry.build(
        config["variant"], dataset.problem, train, config["variant_options"], resolve_device("cpu")
    )
    return variant, config


def load_snapshot(variant: Any, snapshot: Path) -> int:
    """Puts the snapshot's whole state (networks, optimizers) into ``variant``; returns its step."""
    state = torch.load(snapshot, map_location="cpu", weights_only=True)
    variant.load_state_dict(state["variant"])
    return int(state["step"])


def load_generator(folder: Path, snapshot: Path) -> tuple[Any, int, dict[str, Any]]:
    """The run's variant with the snapshot's state, the snapshot's step and the config."""
    variant, config = build_variant(folder)
    return variant, load_snapshot(variant, snapshot), config


def score_snapshot(
    variant: Any, config: dict[str, Any], snapshot: Path, scorer: Any, n: int
) -> dict[str, Any]:
    """One checkpoint's generator (loaded into the run's ``variant``) scored on ``n`` samples (see
    the module docstring)."""
    from benchmark.runs.hooks import generate

    step = load_snapshot(variant, snapshot)
    fake = generate(variant, n, int(config["seed"]))
    labels, conf = scorer.predict(fake)
    protocol = scorer.score(fake, (labels, conf))
    out = {"step": step, **count_modes(labels.numpy(), conf.numpy(), scorer.hq_threshold)}
    out["protocol_modes"] = float(protocol["modes_captured"])
    out["kl"] = float(protocol["kl_gen_true_distance"])
    return out


def score_run(folder: Path, scorer: Any, n: int) -> dict[str, Any]:
    """Every kept checkpoint of one run, in step order, with the run's own final scoring."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    variant, config = build_variant(folder)  # built once; each snapshot overwrites its whole state
    paths = sorted((folder / "snapshots").glob("*.pt"))
    snapshots = [score_snapshot(variant, config, p, scorer, n) for p in paths]
    snapshots.sort(key=lambda s: s["step"])
    metrics = summary.get("metrics") or {}
    return {
        "run": folder.parent.name,
        "seed": int(summary["seed"]),
        "status": summary["status"],
        "iters": summary["iters"],
        "wall_time_s": summary.get("wall_time_s"),
        "final": {
            "samples": int(config["scoring"]["final_samples"]),
            "modes": metrics.get("modes_captured"),
            "hq": metrics.get("high_quality_score"),
            "kl": metrics.get("kl_gen_true_distance"),
        },
        "snapshots": snapshots,
    }


def by_step(runs: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    """Per run name, per step: the mean over seeds of modes, HQ share, HQ modes and KL, and the seeds."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for r in runs:
        for s in r["snapshots"]:
            out.setdefault(r["run"], {}).setdefault(s["step"], {"seeds": [], "rows": []})
            cell = out[r["run"]][s["step"]]
            cell["seeds"].append(r["seed"])
            cell["rows"].append(s)
    for steps in out.values():
        for cell in steps.values():
            rows = cell.pop("rows")
            for key in ("modes", "hq", "hq_modes", "kl"):
                cell[key] = statistics.fmean(row[key] for row in rows)
                cell[f"{key}_seeds"] = [row[key] for row in rows]
    return out


def compare(table: dict[str, dict[int, dict[str, Any]]], collapsed: float) -> list[dict[str, Any]]:
    """At each step where the baseline's mean modes are at most ``collapsed``: every other run's
    modes and HQ modes as multiples of the baseline's (None where the baseline's are 0)."""
    rows = []
    for step, base in sorted(table.get(BASELINE, {}).items()):
        if base["modes"] > collapsed:
            continue
        for name, steps in table.items():
            if name == BASELINE or step not in steps:
                continue
            cell = steps[step]
            rows.append(
                {
                    "step": step,
                    "run": name,
                    "seeds": cell["seeds"],
                    "modes": cell["modes"],
                    "modes_seeds": cell["modes_seeds"],
                    "gan_modes": base["modes"],
                    "gan_modes_seeds": base["modes_seeds"],
                    "modes_ratio": cell["modes"] / base["modes"] if base["modes"] else None,
                    "hq_modes": cell["hq_modes"],
                    "hq_modes_seeds": cell["hq_modes_seeds"],
                    "gan_hq_modes": base["hq_modes"],
                    "gan_hq_modes_seeds": base["hq_modes_seeds"],
                    "hq_modes_ratio": cell["hq_modes"] / base["hq_modes"] if base["hq_modes"] else None,
                    "hq": cell["hq"],
                    "gan_hq": base["hq"],
                }
            )
    return rows


def _spread(mean: float, values: list[float]) -> str:
    """The mean, and the range over seeds where there are several."""
    if len(values) < 2:
        return f"{mean:.1f}"
    return f"{mean:.1f} ({min(values):.0f}-{max(values):.0f})"


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}x"


def markdown(table: dict[str, dict[int, dict[str, Any]]], rows: list[dict[str, Any]], n: int) -> str:
    lines = [
        f"Each checkpoint's generator on {n:,} samples; mean over the seeds listed (and the range).",
        "",
        "| run | step | seeds | modes (any sample) | HQ % | modes with an HQ sample | KL(gen||true) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, steps in table.items():
        for step, c in sorted(steps.items()):
            seeds = ",".join(map(str, c["seeds"]))
            lines.append(
                f"| {name} | {step} | {seeds} | {_spread(c['modes'], c['modes_seeds'])} | "
                f"{100 * c['hq']:.1f} | {_spread(c['hq_modes'], c['hq_modes_seeds'])} | {c['kl']:.2f} |"
            )
    lines += [
        "",
        "Where gan covers at most the collapse bound: each run against gan at the same step (mean, and",
        "in brackets the range over seeds where there are several).",
        "",
        "| step | run | modes | gan modes | ratio | HQ modes | gan HQ modes | ratio | HQ % | gan HQ % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['step']} | {r['run']} | {_spread(r['modes'], r['modes_seeds'])} | "
            f"{_spread(r['gan_modes'], r['gan_modes_seeds'])} | {_ratio(r['modes_ratio'])} | "
            f"{_spread(r['hq_modes'], r['hq_modes_seeds'])} | "
            f"{_spread(r['gan_hq_modes'], r['gan_hq_modes_seeds'])} | "
            f"{_ratio(r['hq_modes_ratio'])} | {100 * r['hq']:.1f} | {100 * r['gan_hq']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def sample_figure(
    runs: list[dict[str, Any]],
    folders: dict[tuple[str, int], Path],
    steps: list[int],
    path: Path,
    n: int = 16,
) -> None:
    """``n`` samples of each run name's lowest seed at each of ``steps`` (where it has them)."""
    import matplotlib.pyplot as plt

    from benchmark.data.plots import _save, image_grid
    from benchmark.runs.hooks import generate

    first: dict[str, dict[str, Any]] = {}
    for r in sorted(runs, key=lambda r: r["seed"]):
        first.setdefault(r["run"], r)
    fig, axes = plt.subplots(
        len(first), len(steps), figsize=(3.2 * len(steps), 1.1 * len(first)), squeeze=False
    )
    for row, (name, r) in enumerate(first.items()):
        folder = folders[(name, r["seed"])]
        variant, config = build_variant(folder)
        for col, step in enumerate(steps):
            ax = axes[row][col]
            ax.axis("off")
            snap = folder / "snapshots" / f"step{step:07d}.pt"
            if not snap.exists():
                continue
            load_snapshot(variant, snap)
            images = generate(variant, n, int(config["seed"]))
            ax.imshow(image_grid(images, columns=n // 2), interpolation="nearest")
            ax.set_title(f"{name} s{r['seed']}, step {step}", fontsize=7)
    _save(fig, Path(path))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from benchmark.data.registry import get_dataset
    from benchmark.data.scoring import Scorer

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", default="results/runs/small-d-probe")
    p.add_argument("--samples", type=int, default=10000, help="samples per checkpoint (default 10,000)")
    p.add_argument("--collapsed", type=float, default=300.0, help="gan's modes at most this: collapsed")
    p.add_argument("--out", default="results/small_d_probe.json")
    p.add_argument("--table", default="results/tables/stacked-mnist-small-d-probe.md")
    p.add_argument("--figure", default=None, help="PNG: samples of each run at --figure-steps")
    p.add_argument("--figure-steps", default="500,1000,2000")
    args = p.parse_args(argv)
    if args.samples < 1:
        p.error(f"--samples must be at least 1, got {args.samples}")
    folders = sorted(Path(args.runs).glob("*/*/seed*"))
    done = [f for f in folders if (f / "summary.json").exists() and list((f / "snapshots").glob("*.pt"))]
    if not done:
        p.error(f"no finished runs with kept checkpoints under {args.runs} (run `make small-d-probe` first)")
    scorers: dict[str, Any] = {}
    runs = []
    for f in done:
        name = json.loads((f / "config.json").read_text(encoding="utf-8"))["dataset"]
        scorer = scorers.setdefault(name, Scorer(get_dataset(name)))
        runs.append(score_run(f, scorer, args.samples))
        last = runs[-1]["snapshots"][-1]
        print(
            f"{f}: step {last['step']}: {last['modes']:.0f} modes, HQ {100 * last['hq']:.1f} %, "
            f"{last['hq_modes']:.0f} HQ modes",
            flush=True,
        )
    table = by_step(runs)
    rows = compare(table, args.collapsed)
    report = {
        "command": "python -m studies.small_d_probe",
        "samples_per_checkpoint": args.samples,
        "collapsed_at_most": args.collapsed,
        "hq_threshold": scorer.hq_threshold,
        "runs": runs,
        "by_step": {name: {str(k): v for k, v in steps.items()} for name, steps in table.items()},
        "against_gan": rows,
    }
    write_json(args.out, report)
    write_text(args.table, markdown(table, rows, args.samples))
    if args.figure:
        folder_of = {(r["run"], r["seed"]): f for r, f in zip(runs, done, strict=True)}
        steps = [int(s) for s in args.figure_steps.split(",")]
        sample_figure(runs, folder_of, steps, Path(args.figure))
    print(markdown(table, rows, args.samples))
    return report


if __name__ == "__main__":
    main()
