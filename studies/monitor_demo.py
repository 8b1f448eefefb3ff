"""The collapse monitor on a real Lightning run: the tutorial DCGAN on MNIST, healthy and with a fault.

    python -m studies.monitor_demo [--steps 3000] [--every 100] [--out results/monitor_demo]

The model is the PyTorch DCGAN tutorial's (Radford et al. 2016 architecture: transposed convolutions
with batch norm in G, strided convolutions with leaky ReLU in D, Adam at 2e-4 with beta1 0.5, the
cross-entropy loss with G's non-saturating objective), shrunk to 28x28 grey digits and widths that
train on 2 CPU cores, on the 5,000 MNIST digits that ship with the suite. Each setting trains once
under ``lightning.Trainer`` with :class:`~diagnostics.lightning_callback.CollapseMonitorCallback`
(modes through the suite's MNIST classifier) and a second callback that saves 1,000 samples from
fixed latents at every monitor interval. Afterwards :func:`benchmark.diagnose.command.diagnose`
(what ``mcbench diagnose --dataset mnist`` runs) judges every saved snapshot offline, and the record
states the first step the offline verdict is ``collapsed``, the monitor's first collapse alarm and how
many intervals apart they are.

Settings (``--settings``): ``healthy`` (the tutorial's), and the fault ``g-lr-x25``: the same run
until step ``--fault-at`` (1,500), where G's learning rate becomes 25 times the tutorial's. The
monitor raises nothing before ``--warmup`` (1,000): a young generator's samples are no digits yet.

Records: ``RUN/metrics.csv`` (Lightning's CSV logger: losses and the ``monitor/`` numbers),
``RUN/monitor.json`` (events and scored rows), ``RUN/offline.json`` (the verdict of every snapshot),
``summary.json`` and ``monitor_demo.png``; the snapshots themselves stay in ``RUN/samples/`` (not
committed: 0.8 MB each).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from baselines.tutorial_dcgan import BATCH, Z_DIM, Discriminator, Generator, init_weights

# The fault switches on at ``fault_at``: the run first learns digits like the healthy one, then breaks.
SETTINGS: dict[str, dict[str, Any]] = {
    "healthy": {"lr_g": 2e-4, "lr_d": 2e-4, "g_lr_factor": 1.0},
    "g-lr-x25": {"lr_g": 2e-4, "lr_d": 2e-4, "g_lr_factor": 25.0},
}
SNAPSHOT = 1000  # samples saved at every interval


def make_module(setting: dict[str, Any], fault_at: int) -> Any:
    import lightning as L

    class DCGAN(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.automatic_optimization = False
            self.G, self.D = Generator(), Discriminator()
            self.batches = 0
            self.G.apply(init_weights)
            self.D.apply(init_weights)
            self.bce = nn.BCEWithLogitsLoss()

        def sample(self, n: int) -> torch.Tensor:
            return self.G(torch.randn(n, Z_DIM, device=self.device))

        def configure_optimizers(self) -> Any:
            opt_g = torch.optim.Adam(self.G.parameters(), lr=setting["lr_g"], betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(self.D.parameters(), lr=setting["lr_d"], betas=(0.5, 0.999))
            return opt_g, opt_d

        def training_step(self, batch: Any, batch_idx: int) -> None:
            opt_g, opt_d = self.optimizers()
            (real,) = batch
            n = real.shape[0]
            if self.batches == fault_at:
                for group in opt_g.param_groups:
                    group["lr"] = setting["lr_g"] * setting["g_lr_factor"]
            self.batches += 1
            ones, zeros = torch.ones(n), torch.zeros(n)
            out_r, out_f = self.D(real), self.D(self.sample(n).detach())
            d_loss = self.bce(out_r, ones) + self.bce(out_f, zeros)
            opt_d.zero_grad()
            self.manual_backward(d_loss)
            opt_d.step()
            g_loss = self.bce(self.D(self.sample(n)), ones)
            opt_g.zero_grad()
            self.manual_backward(g_loss)
            opt_g.step()
            self.log_dict(
                {
                    "d_loss": d_loss.detach(),
                    "g_loss": g_loss.detach(),
                    "d_real": torch.sigmoid(out_r).mean().detach(),
                    "d_fake": torch.sigmoid(out_f).mean().detach(),
                },
                on_step=True,
            )

    return DCGAN()


def _snapshot_callback(folder: Path, every: int, seed: int) -> Any:
    from lightning.pytorch.callbacks import Callback

    class Snapshots(Callback):
        """Saves SNAPSHOT samples from fixed latents at every monitor interval (uint8 .npy)."""

        def __init__(self) -> None:
            self.z = torch.randn(SNAPSHOT, Z_DIM, generator=torch.Generator().manual_seed(seed + 7))
            self.batches = 0

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            step, self.batches = self.batches, self.batches + 1
            if step % every:
                return
            was = pl_module.training
            pl_module.eval()
            with torch.no_grad():
                x = pl_module.G(self.z.to(pl_module.device)).cpu().numpy()
            pl_module.train(was)
            u8 = np.clip(np.round((x + 1) * 127.5), 0, 255).astype(np.uint8)
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"step{step:06d}.npy", u8)

    return Snapshots()


def train(
    name: str, out: Path, steps: int, every: int, warmup: int, fault_at: int, seed: int = 0
) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from benchmark.data.registry import get_dataset
    from benchmark.data.scoring import Scorer
    from diagnostics.lightning_callback import CollapseMonitorCallback
    from diagnostics.modes import ClassifierModes
    from diagnostics.monitor import CollapseMonitor

    folder = out / name
    L.seed_everything(seed, verbose=False)
    data = get_dataset("mnist")
    scorer = Scorer(data)
    real = data.sample(2000, torch.Generator().manual_seed(seed + 1)).numpy()
    modes = ClassifierModes(scorer.classifier, data.n_modes, scorer.mode_threshold or 0.0)
    monitor = CollapseMonitor(real, modes=modes, sample_every=every, warmup=warmup, seed=seed)
    images = data.sample(len(data.labels), torch.Generator().manual_seed(seed + 2))  # shuffled copy
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images), batch_size=BATCH, shuffle=True, drop_last=True
    )
    logger = CSVLogger(str(out), name=name, version="", flush_logs_every_n_steps=100)
    module = make_module(SETTINGS[name], fault_at)
    trainer = L.Trainer(
        max_steps=2 * steps,  # two optimizers step per batch (manual optimization)
        accelerator="cpu",
        logger=logger,
        log_every_n_steps=10,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[CollapseMonitorCallback(monitor), _snapshot_callback(folder / "samples", every, seed)],
    )
    started = time.perf_counter()
    trainer.fit(module, loader)
    seconds = time.perf_counter() - started
    report = {"events": [e.to_dict() for e in monitor.events], "history": monitor.history}
    report["modes"], report["warmup"], report["sample_every"] = monitor.modes.source, warmup, every
    (folder / "monitor.json").write_text(json.dumps(report, indent=1, default=float))
    record = {"setting": SETTINGS[name], "fault_at": fault_at if SETTINGS[name]["g_lr_factor"] != 1 else None}
    return {**record, "steps": steps, "train_seconds": round(seconds, 1)}


def offline(folder: Path) -> list[dict[str, Any]]:
    """``mcbench diagnose --dataset mnist`` on every saved snapshot: step, verdict, modes captured."""
    from benchmark.diagnose.command import diagnose

    rows = []
    for path in sorted((folder / "samples").glob("step*.npy")):
        rep = diagnose(None, path, dataset="mnist", seed=0)
        primary = rep["metrics"][rep["primary_space"]]
        rows.append(
            {
                "step": int(path.stem[4:]),
                "verdict": rep["verdict"],
                "modes_captured": rep["modes"]["captured"],
                "evidence": rep["evidence"],
                **{k: v for k, v in primary.items() if "duplicate" in k or k in ("recall", "coverage")},
            }
        )
    (folder / "offline.json").write_text(json.dumps(rows, indent=1))
    return rows


def compare(folder: Path, every: int, warmup: int) -> dict[str, Any]:
    """First offline ``collapsed`` snapshot from the warmup on (before it no generator draws digits
    yet), first monitor collapse alarm, and how many intervals apart they are."""
    rows = json.loads((folder / "offline.json").read_text())
    report = json.loads((folder / "monitor.json").read_text())
    first_off = next((r["step"] for r in rows if r["verdict"] == "collapsed" and r["step"] >= warmup), None)
    alarms = [e for e in report["events"] if e["kind"] == "mode_collapse"]
    first_alarm = alarms[0]["step"] if alarms else None
    lag = None if first_off is None or first_alarm is None else (first_alarm - first_off) // every
    return {
        "offline_first_collapsed_step": first_off,
        "monitor_first_collapse_alarm": first_alarm,
        "alarm_minus_offline_intervals": lag,
        "monitor_events": [(e["kind"], e["step"], e["end_step"]) for e in report["events"]],
        "offline_verdicts": {v: sum(r["verdict"] == v for r in rows) for v in {r["verdict"] for r in rows}},
    }


def figure(out: Path, names: list[str]) -> Path:
    """``monitor_demo.png``: per run, modes captured by step (the monitor's scored batches and the
    offline snapshots), its warmup, fault and first alarm, and 36 samples of the snapshot at the first
    alarm (the last snapshot when there is none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(names), 2, figsize=(11, 3.2 * len(names)), squeeze=False, gridspec_kw={"width_ratios": [3, 1]}
    )
    summary = json.loads((out / "summary.json").read_text())
    for row, name in zip(axes, names, strict=True):
        folder = out / name
        rep = json.loads((folder / "monitor.json").read_text())
        off = json.loads((folder / "offline.json").read_text())
        run = summary["runs"][name]
        ax = row[0]
        ax.plot(
            [h["step"] for h in rep["history"]],
            [h["modes_captured"] for h in rep["history"]],
            "o-",
            ms=3,
            label="monitor (512 samples a batch)",
        )
        ax.plot(
            [r["step"] for r in off],
            [r["modes_captured"] for r in off],
            "s--",
            ms=3,
            label="mcbench diagnose (1,000 saved samples)",
        )
        collapsed = [r["step"] for r in off if r["verdict"] == "collapsed"]
        ax.plot(collapsed, [0.3] * len(collapsed), "kx", ms=5, label="offline verdict: collapsed")
        ax.axvspan(0, summary["warmup"], color="0.9", label="monitor warmup")
        if run.get("fault_at") is not None:
            ax.axvline(run["fault_at"], color="C3", ls=":", label="fault switches on")
        if run["monitor_first_collapse_alarm"] is not None:
            ax.axvline(
                run["monitor_first_collapse_alarm"], color="C3", label="monitor's first collapse alarm"
            )
        ax.set(
            title=f"{name}: modes of 10 (classifier confidence >= 0.9)",
            xlabel="training batch",
            ylim=(0, 10.5),
        )
        ax.legend(fontsize=7, loc="lower right")
        alarm = run["monitor_first_collapse_alarm"]  # the samples the alarm was about, else the last
        snaps = sorted((folder / "samples").glob("step*.npy"))
        last = folder / "samples" / f"step{alarm:06d}.npy" if alarm is not None else snaps[-1]
        x = np.load(last)[:36, 0]
        grid = x.reshape(6, 6, 28, 28).transpose(0, 2, 1, 3).reshape(6 * 28, 6 * 28)
        row[1].imshow(grid, cmap="gray")
        row[1].set(title=f"{name}, {last.stem}", xticks=[], yticks=[])
    fig.tight_layout()
    path = out / "monitor_demo.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--settings", default="healthy,g-lr-x25", help=f"comma-separated: {', '.join(SETTINGS)}")
    p.add_argument("--steps", type=int, default=3000, help="training batches per run")
    p.add_argument("--every", type=int, default=100, help="the monitor's interval (and the snapshots')")
    p.add_argument("--warmup", type=int, default=1000, help="no monitor alarm before this step")
    p.add_argument("--fault-at", type=int, default=1500, help="the step a fault switches on")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("results/monitor_demo"))
    p.add_argument("--report-only", action="store_true", help="compare and draw again from the records")
    args = p.parse_args(argv)
    names = args.settings.split(",")
    if args.report_only:  # the comparison and the figure again, from the records alone
        summary = json.loads((args.out / "summary.json").read_text())
        for name in names:
            summary["runs"][name].update(compare(args.out / name, summary["every"], summary["warmup"]))
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(figure(args.out, names))
        return summary
    bad = [n for n in names if n not in SETTINGS]
    if bad:
        raise SystemExit(f"unknown setting {bad[0]!r}; valid: {', '.join(SETTINGS)}")
    torch.set_num_threads(args.threads)
    summary: dict[str, Any] = {"command": "python -m studies.monitor_demo", "runs": {}}
    summary.update(steps=args.steps, every=args.every, warmup=args.warmup, fault_at=args.fault_at)
    summary["threads"] = args.threads
    for name in names:
        record = train(name, args.out, args.steps, args.every, args.warmup, args.fault_at)
        offline(args.out / name)
        record.update(compare(args.out / name, args.every, args.warmup))
        summary["runs"][name] = record
        print(name, json.dumps(record), flush=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(figure(args.out, names))
    return summary


if __name__ == "__main__":
    main()
