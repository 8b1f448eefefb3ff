"""Trainer hooks the benchmark adds: the metrics log, the periodic mode-coverage evaluation and the
kept checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.atomic import write_text
from benchmark.data.scoring import Scorer

EVAL_SEED_OFFSET = 1_000_003  # evaluation noise never touches the training random stream
GENERATE_CHUNK = 5000  # larger requests are generated in chunks (images), smaller ones in one call


def generate(trainer_or_variant: Any, n: int, seed: int) -> np.ndarray:
    """``n`` samples from the current generator with a fixed, separate seed; shape (n, *sample shape)."""
    variant = getattr(trainer_or_variant, "variant", trainer_or_variant)
    gen = torch.Generator(device=variant.device)
    gen.manual_seed(seed + EVAL_SEED_OFFSET)
    with torch.no_grad():
        parts = [
            variant.generate(min(GENERATE_CHUNK, n - start), gen).float().cpu().numpy()
            for start in range(0, n, GENERATE_CHUNK)
        ]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class CoverageEval:
    """``on_eval``: mode coverage of ``n`` fresh samples, keys prefixed ``eval/``; keeps the last set."""

    def __init__(self, scorer: Scorer, n: int, seed: int):
        self.scorer, self.n, self.seed = scorer, n, seed
        self.last_samples: np.ndarray | None = None

    def on_eval(self, trainer: Any, step: int) -> dict[str, Any]:
        fake = generate(trainer, self.n, self.seed)
        self.last_samples = fake
        scores = self.scorer.score(fake)
        out: dict[str, Any] = {f"eval/{k}": scores[k] for k in self.scorer.output_keys()}
        # Which modes are covered, for mode-hopping analysis and the coverage-over-time plot.
        out["eval/captured"] = self.scorer.captured(scores)
        return out


class JsonlLog:
    """Appends each record to ``metrics.jsonl``. ``truncate_after(step)`` drops records logged after
    the checkpoint a resumed run restarts from (and a torn last line from a killed process)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if rec.get("step", 0) <= step:
                kept.append(line)
        write_text(self.path, "".join(line + "\n" for line in kept))

    def on_log(self, trainer: Any, step: int, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, allow_nan=True) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    out = []
    if Path(path).exists():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


MONITOR_REAL = 2000  # real samples the run's collapse monitor is calibrated on
MONITOR_SEED_OFFSET = 2_000_003  # its real draws never touch the training random stream


class MonitorHook:
    """The collapse monitor of :mod:`diagnostics.monitor`, fed by the trainer: every logged record's
    scalars (``on_log``) and, at every evaluation, the evaluation's own samples (``evaluator``'s last
    set, so nothing is generated twice). Its events and scored rows go to ``monitor.json`` at the end.
    After a resume it first replays the kept log records' scalars, so the loss detectors see the whole
    window; the sample conditions start afresh from the checkpoint."""

    def __init__(self, scorer: Scorer, evaluator: CoverageEval, d_loss_kind: str, log: Path, seed: int):
        self.scorer, self.evaluator, self.d_loss_kind, self.log, self.seed = (
            scorer,
            evaluator,
            d_loss_kind,
            Path(log),
            seed,
        )
        self.monitor: Any = None

    def _build(self, trainer: Any) -> Any:
        from diagnostics.modes import ClassifierModes, MixtureModes
        from diagnostics.monitor import CollapseMonitor

        dataset = self.scorer.dataset
        gen = torch.Generator(device="cpu")
        gen.manual_seed(self.seed + MONITOR_SEED_OFFSET)
        real = dataset.sample(MONITOR_REAL, gen).float().cpu().numpy()
        if self.scorer.is_mixture:
            modes = MixtureModes(dataset.centres, dataset.sigma)
        else:
            modes = ClassifierModes(
                self.scorer.classifier, dataset.n_modes, self.scorer.mode_threshold or 0.0
            )
        every = max(1, trainer.cfg.eval_every)
        return CollapseMonitor(
            real, modes=modes, sample_every=every, d_loss_kind=self.d_loss_kind, seed=self.seed
        )

    def on_train_start(self, trainer: Any) -> None:
        self.monitor = self._build(trainer)
        for record in read_metrics(self.log):  # what a resumed run logged before its checkpoint
            self._scalars(record)

    def _scalars(self, record: dict[str, Any]) -> None:
        from diagnostics.monitor import SCALARS

        values = {k: record[k] for k in SCALARS if isinstance(record.get(k), int | float)}
        if values and "step" in record:
            self.monitor.log(int(record["step"]), **values)

    def on_log(self, trainer: Any, step: int, record: dict[str, Any]) -> None:
        if self.monitor is None:
            return
        self._scalars(record)
        if "eval/modes_captured" in record and self.evaluator.last_samples is not None:
            self.monitor.observe(step, self.evaluator.last_samples)

    def report(self) -> dict[str, Any]:
        if self.monitor is None:
            return {"events": [], "history": []}
        return {
            "events": [e.to_dict() for e in self.monitor.events],
            "history": self.monitor.history,
            "modes": self.monitor.modes.source,
        }


class KeepCheckpoints:
    """``on_checkpoint``: a copy of the checkpoint just written, as ``snapshots/step0001000.pt`` beside
    it, so that the generator can be scored at every checkpoint after the run (``mcbench run
    --keep-checkpoints``; :mod:`studies.small_d_probe` reads them). Each copy is a
    whole checkpoint (a few MB for an image DCGAN): this is for probes, not for suites."""

    def __init__(self, checkpoint: Path):
        self.checkpoint = Path(checkpoint)
        self.folder = self.checkpoint.parent / "snapshots"

    def on_checkpoint(self, trainer: Any, step: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"step{step:07d}.pt"
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(self.checkpoint, tmp)
        tmp.replace(target)
