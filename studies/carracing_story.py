"""Does feature matching stop a DCGAN from drawing the same CarRacing frame again and again?

    python -m studies.carracing_story [--runs results/runs/carracing-story]
        [--out results/carracing_story.json] [--table results/tables/carracing-story-diagnostics.md]

Reads the run folders the ``carracing-story`` suite wrote (``RUNS/carracing/VARIANT/seedN``) and scores
each run's final samples (``samples.npy``) the way ``mcbench diagnose`` does, with the clip classifier:
clips covered (of 10), KL(gen||true) over the clips, the share of near-duplicate pairs among the
samples beside the real frames' own share (both in the classifier's feature space, threshold the 1 %
quantile of real nearest-neighbour distances), the Fréchet distance in that feature space, recall, and
the verdict. The run's own last evaluation (modes, high-quality %) is read from ``summary.json``.
Per variant: the mean and 95 % t interval over seeds. The samples are not kept in git (12 MB a run);
the JSON keeps every run's numbers. ``--figure`` draws real frames beside the first samples of every
variant's lowest seed, titled with that run's clips and duplicate share.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from baselines.atomic import write_json, write_text
from benchmark.reports.stats import t_interval

COLUMNS = (  # key, title, display scale, digits, bounds of the stored value (before the scale)
    ("clips", "clips of 10", 1.0, 1, 0.0, 10.0),
    ("high_quality", "HQ %", 100.0, 1, 0.0, 1.0),
    ("kl_gen_true", "KL(gen||true)", 1.0, 2, 0.0, math.inf),
    ("dup_rate_fake", "dup. pairs %", 100.0, 3, 0.0, 1.0),
    ("frechet_classifier", "FD (classifier)", 1.0, 1, 0.0, math.inf),
    ("recall", "recall", 1.0, 2, 0.0, 1.0),
    ("dup_rate_real", "real dup. pairs %", 100.0, 3, 0.0, 1.0),
)


def score_run(folder: Path) -> dict[str, Any]:
    """One run's numbers: its summary's last evaluation and ``mcbench diagnose`` on its samples."""
    from benchmark.diagnose.command import diagnose

    summary = json.loads((folder / "summary.json").read_text())
    seed = int(summary["seed"])
    report = diagnose(
        None, folder / "samples.npy", dataset="carracing", log=folder / "metrics.jsonl", seed=seed
    )
    space = report["metrics"]["classifier"]
    return {
        "variant": summary["variant"],
        "seed": seed,
        "iters": summary["iters"],
        "status": summary["status"],
        "wall_time_s": summary.get("wall_time_s"),
        "verdict": report["verdict"],
        "clips": report["modes"]["captured"],
        "high_quality": summary["metrics"].get("high_quality_score"),
        "kl_gen_true": summary["metrics"].get("kl_gen_true_distance"),
        "dup_rate_fake": space["dup_rate_fake"],
        "dup_rate_real": space["dup_rate_real"],
        "frechet_classifier": space["frechet_distance"],
        "recall": space["recall_score"],
        "fake_samples": report["inputs"]["fake"].get("n"),
    }


def aggregate(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per variant, per column: mean, interval and seeds."""
    out: dict[str, dict[str, Any]] = {}
    for variant in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == variant]
        cells: dict[str, Any] = {"seeds": [r["seed"] for r in mine]}
        for key, _, _, _, lo, hi in COLUMNS:
            iv = t_interval([r[key] for r in mine], lower=lo, upper=hi)
            cells[key] = None if iv is None else {"mean": iv.mean, "lo": iv.lo, "hi": iv.hi, "n": iv.n}
        cells["verdicts"] = [r["verdict"] for r in mine]
        out[variant] = cells
    return out


def _cell(iv: dict[str, Any] | None, scale: float, digits: int) -> str:
    if iv is None:
        return "n/a"
    text = f"{scale * iv['mean']:.{digits}f}"
    return text if iv["n"] < 2 else f"{text} [{scale * iv['lo']:.{digits}f}, {scale * iv['hi']:.{digits}f}]"


def markdown(table: dict[str, dict[str, Any]]) -> str:
    head = "| variant | seeds | " + " | ".join(c[1] for c in COLUMNS) + " | verdicts |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for variant, cells in table.items():
        row = [_cell(cells[key], scale, digits) for key, _, scale, digits, _, _ in COLUMNS]
        verdicts = ", ".join(cells["verdicts"])
        cols = " | ".join([variant, str(len(cells["seeds"])), *row, verdicts])
        lines.append(f"| {cols} |")
    return "\n".join(lines) + "\n"


def sample_figure(
    runs: list[dict[str, Any]], folders: dict[tuple[str, int], Path], path: Path, n: int = 32
) -> None:
    """Real CarRacing frames, then ``n`` samples of each variant's lowest seed, one grid per panel."""
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from benchmark.data.plots import _save, image_grid
    from benchmark.data.registry import get_dataset

    first: dict[str, dict[str, Any]] = {}
    for r in sorted(runs, key=lambda r: r["seed"]):
        first.setdefault(r["variant"], r)
    real = get_dataset("carracing").sample(n, torch.Generator().manual_seed(12345)).numpy()
    panels = [("real frames", real)]
    for variant, r in first.items():
        fake = np.load(folders[(variant, r["seed"])] / "samples.npy")[:n]
        dup = 100 * r["dup_rate_fake"]
        title = f"{variant}, seed {r['seed']}: {r['clips']} clips, dup. pairs {dup:.2f} %"
        panels.append((title, fake))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.0, 2.3 * len(panels)))
    for ax, (title, images) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.axis("off")
        ax.set_title(title, fontsize=9)
        ax.imshow(image_grid(images, columns=16), interpolation="nearest")
    _save(fig, Path(path))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", default="results/runs/carracing-story")
    p.add_argument("--out", default="results/carracing_story.json")
    p.add_argument("--table", default="results/tables/carracing-story-diagnostics.md")
    p.add_argument("--figure", default=None, help="PNG of real frames and each variant's samples")
    args = p.parse_args(argv)
    folders = sorted(Path(args.runs).glob("carracing/*/seed*"))
    done = [f for f in folders if (f / "summary.json").exists() and (f / "samples.npy").exists()]
    if not done:
        p.error(f"no finished CarRacing runs under {args.runs} (run `make benchmark-carracing` first)")
    runs = [score_run(f) for f in done]
    for r in runs:
        print(
            f"{r['variant']} seed {r['seed']}: {r['clips']} clips, "
            f"dup pairs {100 * r['dup_rate_fake']:.3f} % "
            f"(real {100 * r['dup_rate_real']:.3f} %), FD {r['frechet_classifier']:.1f}, {r['verdict']}"
        )
    table = aggregate(runs)
    report = {"command": "python -m studies.carracing_story", "runs": runs, "table": table}
    write_json(args.out, report)
    write_text(args.table, markdown(table))
    if args.figure:
        folder_of = {(r["variant"], r["seed"]): f for r, f in zip(runs, done, strict=True)}
        sample_figure(runs, folder_of, Path(args.figure))
    print(markdown(table))
    return report


if __name__ == "__main__":
    main()
