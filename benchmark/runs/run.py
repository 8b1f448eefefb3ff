"""One run: a (dataset, variant, seed) trained on the shared trainer, written as a run record.

The run folder holds ``config.json`` (fully resolved), ``metrics.jsonl``, ``summary.json``,
``checkpoint.pt``, ``samples.npy`` and the plots. A finished run (summary present, same config) is
skipped; an interrupted one resumes from its checkpoint; a run that produces NaN/inf is recorded as
``diverged`` at its step; any other error is recorded as ``failed`` with the message, and never
propagates to the rest of a suite.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import diagnostics
from baselines import registry
from baselines.atomic import write_json, write_text
from baselines.config import TrainConfig, from_dict, to_dict
from baselines.errors import ConfigError, Diverged
from baselines.trainer import Trainer, resolve_device
from benchmark.data import plots
from benchmark.data.registry import get_dataset, is_image
from benchmark.data.scoring import Scorer
from benchmark.runs.hooks import CoverageEval, JsonlLog, KeepCheckpoints, MonitorHook, generate, read_metrics

PROTOCOL = "veegan"
SAVED_IMAGES = 1000  # image runs keep this many samples (uint8) in samples.npy, not all 26,000


@dataclass
class RunSpec:
    dataset: str
    variant: str
    seed: int = 0
    train: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    tag: str = ""
    # Dataset options (image sets only): mnist_root, download, cache_dir, frame_rate, image_size.
    data: dict[str, Any] = field(default_factory=dict)

    def folder(self, root: Path) -> Path:
        name = self.variant + (f"-{self.tag}" if self.tag else "")
        return Path(root) / dataset_slug(self.dataset) / name / f"seed{self.seed}"


def dataset_slug(name: str) -> str:
    """A folder name for a dataset: ``frames:/data/my dogs`` becomes ``frames-my_dogs``."""
    if ":" not in name:
        return name
    prefix, path = name.split(":", 1)
    stem = Path(path.rstrip("/")).name or "root"
    return f"{prefix}-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)


def resolve(spec: RunSpec) -> dict[str, Any]:
    """The fully resolved configuration of a run; raises ConfigError on any unknown name or key."""
    return _prepare(spec)[0]


def _prepare(spec: RunSpec) -> tuple[dict[str, Any], Any, TrainConfig]:
    """The resolved configuration with the dataset and training configuration it was resolved from
    (so that a run builds its dataset and checks its settings once)."""
    dataset = get_dataset(spec.dataset, **spec.data)
    cls = registry.get(spec.variant)
    train = from_dict(TrainConfig, {**spec.train, "seed": spec.seed}, where="train")
    if train.eval_every % train.log_every:
        raise ConfigError(f"train.eval_every ({train.eval_every}) must be a multiple of log_every")
    options = from_dict(cls.Options, spec.options, where=f"variant {spec.variant}")
    config = {
        "dataset": spec.dataset,
        "dataset_info": dataset.describe(),
        "variant": spec.variant,
        "variant_paper": cls.paper,
        "variant_options": dataclasses.asdict(options),
        "tag": spec.tag,
        "seed": spec.seed,
        "protocol": PROTOCOL,
        "train": to_dict(train),
    }
    if is_image(spec.dataset):  # (mixture records keep their original keys, so they stay resumable)
        scorer = Scorer(dataset)
        config["protocol"] = scorer.protocol
        config["scoring"] = scorer.describe()
        config["data_options"] = dict(spec.data)
    return config, dataset, train


def versions() -> dict[str, str]:
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def _with_new_defaults(old: Any, new: Any, defaults: Any) -> Any:
    """``old`` with the keys it lacks taken from ``new`` where ``new`` holds the field's default:
    a record written before a setting existed ran with what is now that setting's default."""
    if not (isinstance(old, dict) and isinstance(new, dict) and isinstance(defaults, dict)):
        return old
    out = dict(old)
    for key, value in new.items():
        if key not in out and key in defaults and defaults[key] == value:
            out[key] = value
        elif key in out:
            out[key] = _with_new_defaults(out[key], value, defaults.get(key))
    return out


def check_matching_config(path: Path, config: dict[str, Any]) -> None:
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        new = json.loads(json.dumps(config))
        defaults = {"train": to_dict(TrainConfig())}
        cls = registry.get(new["variant"]) if new.get("variant") in registry.names() else None
        if cls is not None:
            defaults["variant_options"] = dataclasses.asdict(cls.Options())
        old = _with_new_defaults(old, new, json.loads(json.dumps(defaults)))
        if old != new:
            raise ConfigError(f"{path} holds a different configuration; choose another --out or remove it")


@dataclass
class Job:
    """One run between its start (folder, hooks, variant) and its finish (samples, summary)."""

    spec: RunSpec
    config: dict[str, Any]
    dataset: Any
    train: TrainConfig
    folder: Path
    summary: dict[str, Any]
    hooks: list[Any]
    log: JsonlLog
    evaluator: CoverageEval
    scorer: Scorer
    previous: dict[str, Any]
    started: float
    variant: Any = None
    build_error: Exception | None = None


def start_run(
    spec: RunSpec, root: Path, progress: bool = False, snapshots: bool = False
) -> Job | dict[str, Any]:
    """Resolve, check and prepare one run (its folder, config and hooks), or return the summary of
    the same run finished before (it is skipped). The variant is built
    before anything is written, so that an option its constructor refuses is bad input (one line,
    no run folder); nothing before it draws from torch's random stream."""
    config, dataset, train = _prepare(spec)
    folder = spec.folder(root)
    summary_path = folder / "summary.json"
    check_matching_config(folder / "config.json", config)
    if summary_path.exists():
        return json.loads(summary_path.read_text(encoding="utf-8"))
    variant, build_error = None, None
    torch.manual_seed(spec.seed)  # network initialisation
    try:
        variant = registry.build(
            spec.variant, dataset.problem, train, config["variant_options"], resolve_device(train.device)
        )
    except ConfigError:
        raise
    except Exception as exc:  # a defect, not bad input: recorded as a failed run
        build_error = exc
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", config)
    scorer = Scorer(dataset, cache_dir=spec.data.get("cache_dir"))
    progress_path = folder / "progress.json"
    previous = json.loads(progress_path.read_text()) if progress_path.exists() else {"wall_time_s": 0.0}
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "dataset": spec.dataset,
        "variant": spec.variant,
        "tag": spec.tag,
        "seed": spec.seed,
        "iters": train.iters,
        "protocol": config["protocol"],
    }
    log = JsonlLog(folder / "metrics.jsonl")
    evaluator = CoverageEval(scorer, train.eval_samples, spec.seed)
    monitor = MonitorHook(scorer, evaluator, registry.get(spec.variant).d_loss_kind, log.path, spec.seed)
    hooks: list[Any] = [
        evaluator,
        log,
        monitor,
        _ProgressFile(progress_path, previous["wall_time_s"], started),
    ]
    if progress:
        hooks.append(_Bar(train.iters))
    if snapshots:
        hooks.append(KeepCheckpoints(folder / "checkpoint.pt"))
    return Job(
        spec,
        config,
        dataset,
        train,
        folder,
        summary,
        hooks,
        log,
        evaluator,
        scorer,
        previous,
        started,
        variant,
        build_error,
    )


def share_wall_time(job: Job, runs: int) -> None:
    """Charge the run ``1 / runs`` of the wall time from now on (a batched job of ``runs``)."""
    for hook in job.hooks:
        if isinstance(hook, _ProgressFile):
            hook.share = runs


def mark_resumed(job: Job, step: int) -> None:
    """Drop the log records after the checkpoint a run restarts from (all of them when it starts)."""
    job.log.truncate_after(step)
    if step:
        job.summary["resumed_from"] = step


def finish_run(job: Job, view: Any, outcome: BaseException | None, batch: int = 1) -> dict[str, Any]:
    """Score and record one run after training: ``outcome`` is None (trained to the end), the
    Diverged it stopped at, or the error that stopped it. ``view`` is its trainer (or batched view)."""
    spec, summary, folder = job.spec, job.summary, job.folder
    fake = None
    try:
        if outcome is not None:
            raise outcome
        fake = generate(view, job.scorer.final_samples, spec.seed)
        _save_samples(folder / "samples.npy", fake, job.scorer.is_mixture)
        metrics = job.scorer.score(fake)
        if "captured" in metrics:
            summary["captured_modes"] = metrics.pop("captured")
        summary["status"] = "ok"
        summary["metrics"] = metrics
    except Diverged as exc:
        summary.update(status="diverged", diverged_step=exc.step, error=str(exc))
        fake = job.evaluator.last_samples
    except Exception as exc:  # recorded, so one broken run never stops a suite
        summary.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        write_text(folder / "error.txt", "".join(traceback.format_exception(exc)))
        fake = None

    history = read_metrics(folder / "metrics.jsonl")
    if registry.get(spec.variant).d_loss_kind == "cross-entropy":
        events = _failure_events(history)
    else:  # a signed critic loss can sit near zero or below it in healthy training
        events = []
        summary["detector_note"] = "D-loss-to-zero detector not applicable to a Wasserstein critic loss"
    summary["failure_events"] = [e.to_dict() for e in events]
    # The collapse monitor's events (all its detectors; diagnostics.monitor), its rows in monitor.json.
    for hook in job.hooks:
        if isinstance(hook, MonitorHook):
            report = hook.report()
            write_json(folder / "monitor.json", report)
            summary["monitor_events"] = report["events"]
    summary["last_eval"] = next(
        (
            {k: v for k, v in r.items() if k.startswith("eval/")}
            for r in reversed(history)
            if "eval/modes_captured" in r
        ),
        None,
    )
    # A batched job's wall time is shared by its runs: each is charged an equal part.
    summary["wall_time_s"] = job.previous["wall_time_s"] + (time.perf_counter() - job.started) / batch
    if batch > 1:
        summary["batched_with"] = batch
    summary["device"] = str(view.variant.device) if view is not None else None
    summary["versions"] = versions()
    try:
        plots.samples_plot(job.dataset, fake, folder / "samples.png", title=_title(spec, summary))
        plots.loss_plot(
            history,
            events,
            folder / "losses.png",
            title=_title(spec, summary),
            diverged_step=summary.get("diverged_step"),
        )
    except Exception as exc:  # a plotting problem must not lose the numbers
        summary["plot_error"] = f"{type(exc).__name__}: {exc}"
    write_json(folder / "summary.json", summary)
    return summary


def run(
    spec: RunSpec, root: Path, progress: bool = False, threads: int | None = None, snapshots: bool = False
) -> dict[str, Any]:
    """Train (or resume, or skip) one run and return its summary; ``snapshots``: also keep a
    copy of every checkpoint (:class:`~benchmark.runs.hooks.KeepCheckpoints`)."""
    if threads:
        torch.set_num_threads(threads)
    job = start_run(spec, root, progress, snapshots)
    if isinstance(job, dict):
        return job
    trainer, outcome = None, None
    try:
        if job.build_error is not None:
            raise job.build_error
        trainer = Trainer(
            job.variant, job.dataset, job.train, hooks=job.hooks, checkpoint=job.folder / "checkpoint.pt"
        )
        mark_resumed(job, trainer.step if trainer.load_checkpoint() else 0)
        trainer.fit()
    except Exception as exc:
        outcome = exc
    return finish_run(job, trainer, outcome)


def _save_samples(path: Path, fake: np.ndarray, is_mixture: bool) -> None:
    """Mixture samples as they are; images as uint8 ``(n, C, H, W)``, the first SAVED_IMAGES only."""
    if not is_mixture:
        fake = np.clip(np.round((fake[:SAVED_IMAGES] + 1.0) * 127.5), 0, 255).astype(np.uint8)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, fake)
    tmp.replace(path)


def _failure_events(history: list[dict[str, Any]]) -> list[Any]:
    rows = [r for r in history if "d_loss" in r]
    if not rows:
        return []
    return diagnostics.detect_d_loss_to_zero(
        [r["step"] for r in rows],
        [r["d_loss"] for r in rows],
        d_real=[r.get("d_real", float("nan")) for r in rows],
        d_fake=[r.get("d_fake", float("nan")) for r in rows],
    )


def _title(spec: RunSpec, summary: dict[str, Any]) -> str:
    m = summary.get("metrics") or {}
    status = summary.get("status")
    tail = (
        f"{m['modes_captured']:.0f}/{m['modes_total']:.0f} modes, {100 * m['high_quality_score']:.1f}% HQ"
        if m
        else status
    )
    return f"{spec.variant} on {spec.dataset}, seed {spec.seed}: {tail}"


class _ProgressFile:
    """Keeps the accumulated wall time next to the checkpoint, so a resumed run reports its total
    (``share``: the runs of a batched job that share this wall time, each charged an equal part)."""

    def __init__(self, path: Path, before: float, started: float):
        self.path, self.before, self.started, self.share = path, before, started, 1

    def on_checkpoint(self, trainer: Any, step: int) -> None:
        spent = (time.perf_counter() - self.started) / self.share
        write_json(self.path, {"step": step, "wall_time_s": self.before + spent})


class _Bar:
    def __init__(self, total: int):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="it", leave=False, dynamic_ncols=True)

    def on_train_start(self, trainer: Any) -> None:
        self.bar.n = trainer.step
        self.bar.refresh()

    def on_log(self, trainer: Any, step: int, record: dict[str, Any]) -> None:
        self.bar.update(step - self.bar.n)
        if "eval/modes_captured" in record:
            self.bar.set_postfix(modes=record["eval/modes_captured"])

    def on_train_end(self, trainer: Any) -> None:
        self.bar.close()


def failed_record(spec: RunSpec, exc: BaseException) -> dict[str, Any]:
    """What a run that never returned (a dead worker or lost task) counts as; its folder stays
    unfinished on disk, so the next invocation of the suite runs or resumes it."""
    return {
        "dataset": spec.dataset,
        "variant": spec.variant,
        "seed": spec.seed,
        "status": "failed",
        "error": f"{type(exc).__name__}: {exc}",
    }
