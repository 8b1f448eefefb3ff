"""Figures for one run: real against generated samples, and the loss curves with failure events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from baselines.atomic import atomic_write  # noqa: E402
from benchmark.data.datasets import MixtureDataset  # noqa: E402


def _save(fig: Any, path: Path) -> None:
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"), binary=True)
    plt.close(fig)


def image_grid(images: np.ndarray, columns: int = 8) -> np.ndarray:
    """Tile ``(n, C, H, W)`` images (uint8, or float in [-1, 1]) into one ``(rows*H, columns*W, 3)``
    uint8 picture with a 1-pixel dark border; grey images are repeated over 3 channels, missing
    cells stay dark."""
    x = np.asarray(images)
    if x.dtype != np.uint8:
        x = np.clip(np.round((np.nan_to_num(x) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    n, c, h, w = x.shape
    if c == 1:
        x = np.repeat(x, 3, axis=1)
    rows = max(1, -(-n // columns))
    out = np.full((rows * (h + 1) + 1, columns * (w + 1) + 1, 3), 40, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        out[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + col * (w + 1) : 1 + col * (w + 1) + w] = x[
            i, :3
        ].transpose(1, 2, 0)
    return out


def image_samples_plot(
    dataset: Any, fake: np.ndarray | None, path: Path, title: str = "", n: int = 64
) -> None:
    """Real images beside generated ones, ``n`` of each, as two grids in one PNG."""
    import torch

    real = dataset.sample(n, torch.Generator().manual_seed(12345)).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 5.2))
    for ax, images, label in ((axes[0], real, "real"), (axes[1], fake, "generated")):
        ax.axis("off")
        ax.set_title(label, fontsize=9)
        if images is None or len(images) == 0:
            ax.text(0.5, 0.5, "no generated samples", transform=ax.transAxes, ha="center")
            continue
        ax.imshow(image_grid(images[:n]), interpolation="nearest")
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


def samples_plot(dataset: Any, fake: np.ndarray | None, path: Path, title: str = "") -> None:
    """Scatter (2-D; above 2-D the real data's first two principal axes) or histogram in report units
    (1-D) of real against generated samples; image datasets get grids of real and generated images."""
    import torch

    if not isinstance(dataset, MixtureDataset):
        image_samples_plot(dataset, fake, path, title)
        return
    gen = torch.Generator().manual_seed(12345)
    real = dataset.sample(2500, gen).numpy()
    fig, ax = plt.subplots(figsize=(5.2, 4.6) if dataset.dim >= 2 else (6.4, 3.6))
    finite = None if fake is None else fake[np.isfinite(fake).all(axis=1)]
    centres = dataset.centres
    if dataset.dim > 2:  # the real data's two principal axes, the same map for every set drawn
        mean = real.mean(axis=0)
        axes = np.linalg.svd(real - mean, full_matrices=False)[2][:2].T
        real, centres = (real - mean) @ axes, (centres - mean) @ axes
        finite = None if finite is None else (finite - mean) @ axes
        ax.set_xlabel("first principal axis of the real data")
        ax.set_ylabel("second")
    if dataset.dim >= 2:
        ax.scatter(real[:, 0], real[:, 1], s=3, c="tab:blue", alpha=0.35, label="real")
        if finite is not None and len(finite):
            ax.scatter(finite[:, 0], finite[:, 1], s=3, c="tab:red", alpha=0.35, label="generated")
        ax.scatter(centres[:, 0], centres[:, 1], marker="+", c="k", s=40, label="mode centres")
        lim = np.abs(centres).max() * 1.4 + 0.2
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
    else:
        r = dataset.to_report_units(real[:, 0])
        lo, hi = r.min() - 10, r.max() + 10
        bins = np.linspace(lo, hi, 120)
        ax.hist(r, bins=bins, alpha=0.5, density=True, color="tab:blue", label="real")
        if finite is not None and len(finite):
            f = np.clip(dataset.to_report_units(finite[:, 0]), lo, hi)
            ax.hist(f, bins=bins, alpha=0.5, density=True, color="tab:red", label="generated")
        unit = dataset.unit.replace("degC", "°C")
        label = f"temperature ({unit})" if dataset.unit == "degC" else f"value ({unit})" if unit else "value"
        ax.set_xlabel(label)
        ax.set_ylabel("density")
    if fake is None:
        ax.text(0.5, 0.5, "no generated samples", transform=ax.transAxes, ha="center")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def loss_plot(
    history: list[dict[str, Any]],
    events: list[Any],
    path: Path,
    title: str = "",
    diverged_step: int | None = None,
) -> None:
    """D and G loss against step, with D(x) and D(G(z)) below; detected failures shaded red."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    rows = [r for r in history if "d_loss" in r]
    steps = [r["step"] for r in rows]
    for key, colour in (("d_loss", "tab:blue"), ("g_loss", "tab:orange")):
        top.plot(steps, [r.get(key, np.nan) for r in rows], label=key, color=colour, lw=1)
    for key, colour in (("d_real", "tab:green"), ("d_fake", "tab:red")):
        label = {"d_real": "D(x)", "d_fake": "D(G(z))"}[key]
        bottom.plot(steps, [r.get(key, np.nan) for r in rows], label=label, color=colour, lw=1)
    end = steps[-1] if steps else 0
    for i, ev in enumerate(events):
        for ax in (top, bottom):
            ax.axvspan(
                ev.step,
                ev.end_step if ev.end_step is not None else end,
                color="red",
                alpha=0.15,
                label="D loss to zero" if i == 0 and ax is top else None,
            )
            ax.axvline(ev.step, color="red", lw=1)
    if diverged_step is not None:
        for ax in (top, bottom):
            ax.axvline(diverged_step, color="black", ls="--", lw=1)
        top.text(diverged_step, top.get_ylim()[1], f" diverged at {diverged_step}", fontsize=8, va="top")
    top.set_ylabel("loss")
    bottom.set_ylabel("mean D output")
    bottom.set_xlabel("iteration")
    bottom.set_ylim(-0.02, 1.02)
    top.legend(fontsize=7)
    bottom.legend(fontsize=7)
    top.set_title(title, fontsize=9)
    _save(fig, path)


MAX_HEATMAP_ROWS = 100  # above this many modes (stacked MNIST: 1,000) modes are pooled into bands


def coverage_matrix(history: list[dict[str, Any]], n_modes: int) -> tuple[list[int], np.ndarray]:
    """Evaluation steps and a ``(n_modes, n_evals)`` 0/1 matrix: mode ``i`` covered at evaluation ``j``,
    from the ``eval/captured`` lists of ``metrics.jsonl``."""
    rows = [r for r in history if "eval/captured" in r]
    matrix = np.zeros((n_modes, len(rows)))
    for j, r in enumerate(rows):
        idx = [int(i) for i in r["eval/captured"] if 0 <= int(i) < n_modes]
        matrix[idx, j] = 1.0
    return [int(r["step"]) for r in rows], matrix


def coverage_plot(
    histories: list[list[dict[str, Any]]],
    n_modes: int,
    path: Path,
    title: str = "",
    mode_names: list[str] | None = None,
) -> None:
    """Mode coverage over training as a heatmap: x the evaluation step, y the mode, colour the fraction
    of runs (seeds) that cover the mode at that step (0/1 for one run). Above ``MAX_HEATMAP_ROWS`` modes
    they are pooled into equal bands (colour: fraction of the band's modes covered, over runs), with
    the count of covered modes over time above."""
    mats = [coverage_matrix(h, n_modes) for h in histories]
    mats = [(s, m) for s, m in mats if s]
    big = n_modes > MAX_HEATMAP_ROWS
    fig, axes = plt.subplots(
        2 if big else 1,
        1,
        figsize=(7, 6.2 if big else 1.2 + 0.22 * min(n_modes, 40)),
        squeeze=False,
        sharex=True,
        gridspec_kw={"height_ratios": [1, 2.5]} if big else None,
    )
    ax = axes[-1, 0]
    if not mats:
        ax.text(0.5, 0.5, "no evaluations logged", transform=ax.transAxes, ha="center")
        ax.axis("off")
        fig.suptitle(title, fontsize=9)
        _save(fig, path)
        return
    # Runs of one suite share the evaluation schedule; a shorter (diverged) run is padded with zeros.
    width = max(len(s) for s, _ in mats)
    steps = max((s for s, _ in mats), key=len)
    frac = np.zeros((n_modes, width))
    for _, m in mats:
        frac[:, : m.shape[1]] += m
    frac /= len(mats)
    if big:
        band = -(-n_modes // MAX_HEATMAP_ROWS)
        bands = -(-n_modes // band)
        padded = np.full((bands * band, width), np.nan)
        padded[:n_modes] = frac
        shown = np.nanmean(padded.reshape(bands, band, width), axis=1)
        counts = [m.sum(axis=0) for _, m in mats]
        top = axes[0, 0]
        for i, c in enumerate(counts):
            top.plot(
                steps[: len(c)], c, lw=1, marker="o", ms=3, label=f"run {i}" if len(counts) > 1 else None
            )
        top.set_ylabel(f"modes covered\n(of {n_modes})")
        top.set_ylim(0, max(1.0, max(c.max() for c in counts) * 1.1))
        if len(counts) > 1:
            top.legend(fontsize=7)
        ylabel = f"mode band ({band} modes each)"
    else:
        shown = frac
        ylabel = "mode"
    edges_x = _edges(steps)
    edges_y = np.arange(shown.shape[0] + 1) - 0.5
    mesh = ax.pcolormesh(edges_x, edges_y, shown, cmap="Greens", vmin=0.0, vmax=1.0, shading="flat")
    if not big and mode_names and len(mode_names) == n_modes and n_modes <= 40:
        ax.set_yticks(range(n_modes))
        ax.set_yticklabels(mode_names, fontsize=6)
    ax.set_ylim(edges_y[-1], edges_y[0])
    ax.set_ylabel(ylabel)
    ax.set_xlabel("iteration (evaluation step)")
    label = "fraction covered" if big else ("covered" if len(mats) == 1 else f"fraction of {len(mats)} runs")
    fig.colorbar(mesh, ax=axes[:, 0].tolist(), label=label, fraction=0.04, pad=0.02)
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


def _edges(steps: list[int]) -> np.ndarray:
    """Cell edges centred on the evaluation steps (equal steps: a cell per evaluation interval)."""
    s = np.asarray(steps, dtype=float)
    if len(s) == 1:
        return np.array([s[0] - 0.5, s[0] + 0.5])
    mid = (s[1:] + s[:-1]) / 2
    return np.concatenate([[s[0] - (mid[0] - s[0])], mid, [s[-1] + (s[-1] - mid[-1])]])
