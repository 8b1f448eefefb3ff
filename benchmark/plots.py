"""Figures for one run: real against generated samples, and the loss curves with failure events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from baselines.atomic import atomic_write  # noqa: E402

from .datasets import MixtureDataset  # noqa: E402


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
    """Scatter (2-D) or histogram in report units (1-D) of real against generated samples; image
    datasets get grids of real and generated images."""
    import torch

    if not isinstance(dataset, MixtureDataset):
        image_samples_plot(dataset, fake, path, title)
        return
    gen = torch.Generator().manual_seed(12345)
    real = dataset.sample(2500, gen).numpy()
    fig, ax = plt.subplots(figsize=(5.2, 4.6) if dataset.dim == 2 else (6.4, 3.6))
    finite = None if fake is None else fake[np.isfinite(fake).all(axis=1)]
    if dataset.dim == 2:
        ax.scatter(real[:, 0], real[:, 1], s=3, c="tab:blue", alpha=0.35, label="real")
        if finite is not None and len(finite):
            ax.scatter(finite[:, 0], finite[:, 1], s=3, c="tab:red", alpha=0.35, label="generated")
        ax.scatter(
            dataset.centres[:, 0], dataset.centres[:, 1], marker="+", c="k", s=40, label="mode centres"
        )
        lim = np.abs(dataset.centres).max() * 1.4 + 0.2
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
        ax.set_xlabel(f"temperature ({dataset.unit.replace('degC', '°C')})")
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
