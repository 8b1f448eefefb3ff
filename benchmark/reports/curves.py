"""Learning curves across the runs of one suite: per (dataset, variant[-tag]) the mean over seeds of an
evaluation metric at each evaluation step, with a 95 % Student-t band, and one figure per dataset.

Runs live in ``ROOT/<dataset>/<variant>[-tag]/seed<k>/`` (``summary.json``, ``metrics.jsonl``). Seeds are
aligned on their evaluation steps: every step logged by at least one seed is kept, ``n`` says how many
seeds have it, and the band is drawn only where ``n >= 2`` (elsewhere ``lo == hi == mean``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.data import plots
from benchmark.data.plots import plt
from benchmark.reports.stats import t_interval
from benchmark.runs.hooks import read_metrics
from benchmark.runs.records import read_summary

METRICS = {  # name -> (metrics.jsonl key, scale, axis label)
    "modes": ("eval/modes_captured", 1.0, "modes captured"),
    "hq": ("eval/high_quality_score", 100.0, "high-quality samples (%)"),
}
EVAL_KEY = "eval/modes_captured"  # the key that marks an evaluation record
BAND_TITLE = "mean over seeds, 95 % t band"

Runs = dict[str, dict[str, list[dict[int, dict]]]]  # dataset -> label -> per seed {step: eval record}


@dataclass(frozen=True)
class CurveStats:
    """One learning curve: at each evaluation step the mean over seeds, the 95 % t interval of that
    mean (``lo``, ``hi``; equal to ``mean`` where fewer than 2 seeds) and the seed count ``n``."""

    steps: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray


def _runs(root: Path) -> Runs:
    """Evaluation records of every run folder under ``root`` (one holding ``summary.json`` or
    ``metrics.jsonl``), grouped by dataset and variant label; runs without any are left out."""
    folders = {p.parent for name in ("summary.json", "metrics.jsonl") for p in Path(root).rglob(name)}
    out: Runs = {}
    for folder in sorted(folders):
        evals = {int(r["step"]): r for r in read_metrics(folder / "metrics.jsonl") if EVAL_KEY in r}
        if not evals:
            continue
        summary_path = folder / "summary.json"
        s = read_summary(summary_path) if summary_path.exists() else None
        if s is not None:
            dataset, label = s["dataset"], s["variant"] + (f"-{s['tag']}" if s.get("tag") else "")
        else:  # still training: fall back on the folder layout
            dataset, label = folder.parent.parent.name, folder.parent.name
        out.setdefault(dataset, {}).setdefault(label, []).append(evals)
    return out


def _stats(seeds: list[dict[int, dict]], key: str, scale: float) -> CurveStats:
    """Align seeds on the union of their steps; mean and 95 % t band where ``n >= 2``."""
    steps = np.array(sorted({step for seed in seeds for step in seed}), dtype=int)
    values = np.full((len(seeds), len(steps)), np.nan)
    for i, seed in enumerate(seeds):
        for j, step in enumerate(steps):
            v = seed.get(int(step), {}).get(key)
            if v is not None:
                values[i, j] = float(v) * scale
    n = np.sum(np.isfinite(values), axis=0)
    ivs = [t_interval(col) for col in values.T]  # None where no seed has the step
    mean = np.array([iv.mean if iv else np.nan for iv in ivs])
    lo = np.array([iv.lo if iv else np.nan for iv in ivs])
    hi = np.array([iv.hi if iv else np.nan for iv in ivs])
    return CurveStats(steps=steps, mean=mean, lo=lo, hi=hi, n=n)


def _check_metric(metric: str) -> tuple[str, float, str]:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; valid choices: {', '.join(sorted(METRICS))}")
    return METRICS[metric]


def curves(root: Path, metric: str) -> dict[str, dict[str, CurveStats]]:
    """dataset -> variant label (``variant`` or ``variant-tag``) -> learning curve of ``metric``:
    ``"modes"`` (modes captured) or ``"hq"`` (high-quality score, in %)."""
    key, scale, _ = _check_metric(metric)
    return {
        dataset: {label: _stats(seeds, key, scale) for label, seeds in sorted(variants.items())}
        for dataset, variants in sorted(_runs(root).items())
    }


def _style(i: int) -> tuple[tuple[float, ...], str]:
    """Colour and line style of the ``i``-th variant: the 10 strong tab20 colours, then the 10 light
    ones, with line styles cycling so neighbours differ twice; 20+ variants stay distinguishable."""
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))
    return tuple(plt.get_cmap("tab20")(order[i % 20])), ("-", "--", "-.", ":")[(i + i // 20) % 4]


def _plot(dataset: str, variants: dict[str, list[dict[int, dict]]], path: Path, n_modes: int | None) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, metric in zip(axes, ("modes", "hq"), strict=True):
        key, scale, label = METRICS[metric]
        for i, (variant, seeds) in enumerate(sorted(variants.items())):
            c = _stats(seeds, key, scale)
            color, style = _style(i)
            ax.plot(c.steps, c.mean, color=color, linestyle=style, linewidth=1.6, label=variant)
            top = 100.0 if metric == "hq" else (n_modes if n_modes is not None else np.inf)
            lo, hi = np.clip(c.lo, 0, top), np.clip(c.hi, 0, top)  # drawn within the metric's range
            ax.fill_between(c.steps, lo, hi, color=color, alpha=0.15, linewidth=0)
        ax.set(xlabel="iterations", ylabel=label, title=f"{dataset}: {label}")
        ax.grid(alpha=0.3)
    if n_modes is not None:
        axes[0].axhline(n_modes, color="black", linestyle="--", linewidth=1, label=f"all {n_modes} modes")
    axes[1].set_ylim(bottom=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(6, len(labels)))
    fig.suptitle(f"{dataset} learning curves ({BAND_TITLE})")
    fig.tight_layout()
    plots._save(fig, path)


def learning_curve_plot(root: Path, dataset: str, path: Path, n_modes: int | None = None) -> None:
    """PNG at ``path``: modes captured and high-quality % against iterations for every variant of
    ``dataset`` (mean line, 95 % t band); a dashed line at ``n_modes`` when given."""
    runs = _runs(root)
    if dataset not in runs:
        raise ValueError(f"no evaluation records for dataset {dataset!r} under {root}")
    _plot(dataset, runs[dataset], Path(path), n_modes)


def mode_totals(root: Path) -> dict[str, int]:
    """dataset -> its number of modes, from the ``modes_total`` of the finished runs under ``root``."""
    out: dict[str, int] = {}
    for path in Path(root).rglob("summary.json"):
        s = read_summary(path) or {}
        total = (s.get("metrics") or {}).get("modes_total")
        if total is not None:
            out[s["dataset"]] = max(out.get(s["dataset"], 0), int(total))
    return out


def learning_curve_plots(root: Path, out_dir: Path, n_modes: dict[str, int] | None = None) -> dict[str, Path]:
    """``learning_curves_<dataset>.png`` in ``out_dir`` for every dataset under ``root`` that has
    evaluation records (a dashed line at the dataset's modes, by default read from the runs' summaries);
    returns dataset -> path."""
    n_modes = mode_totals(root) if n_modes is None else n_modes
    out: dict[str, Path] = {}
    for dataset, variants in sorted(_runs(root).items()):
        out[dataset] = Path(out_dir) / f"learning_curves_{dataset}.png"
        _plot(dataset, variants, out[dataset], n_modes.get(dataset))
    return out
