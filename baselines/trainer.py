"""The one training loop every variant runs on.

Per iteration it calls ``variant.train_step`` and keeps the step's (detached) scalars on the device;
every ``log_every`` iterations it moves them to the host in one transfer, checks them for NaN/inf
(raising :class:`Diverged` with the exact first bad step) and hands one averaged record to the hooks.
Every ``eval_every`` iterations hooks may add evaluation numbers to that record; every
``ckpt_every`` iterations the whole state (networks, optimizers, random generator, step) is written
atomically, and ``fit`` resumes from that file when it exists.

Hooks are objects with any of ``on_train_start(trainer)``, ``on_step_end(trainer, step, logs)``,
``on_eval(trainer, step) -> dict | None``, ``on_log(trainer, step, record)``,
``on_checkpoint(trainer, step)`` and ``on_train_end(trainer)``.

Many runs as one (:meth:`Trainer.batched`): K runs of one variant (seeds, or datasets of one shape
are not mixed) train as one batched model (:meth:`baselines.variant.Variant.batched`) in this same
loop. Each run keeps its own random generator, hooks, checkpoint file and record: a hook receives a
:class:`RunView` of its run (``variant`` is the run's own single variant, synchronised from the
batched one before every evaluation and checkpoint), so the benchmark's hooks serve both cases
unchanged. A run whose logs turn NaN/inf is marked diverged at its first bad step and its hooks are
no longer called; the other runs go on (their gradients are their own losses', so a NaN in one run
never reaches another).
"""

from __future__ import annotations

import dataclasses
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_write
from .config import TrainConfig
from .draws import RunGenerators
from .errors import Diverged
from .variant import RealData, Variant

_HOOK_METHODS = ("on_train_start", "on_step_end", "on_eval", "on_log", "on_checkpoint", "on_train_end")


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class TrainResult:
    step: int
    resumed_from: int
    # Batched jobs: one entry per run, None for a run that trained to the end.
    diverged: list[Diverged | None] | None = None


class RunView:
    """What a hook of one run of a batched job sees as its ``trainer``."""

    def __init__(self, trainer: Trainer, k: int, variant: Variant, cfg: TrainConfig, gen: torch.Generator):
        self.trainer, self.k, self.variant, self.cfg, self.gen = trainer, k, variant, cfg, gen
        self.data = trainer.data

    @property
    def step(self) -> int:
        return self.trainer.step


class Trainer:
    def __init__(
        self,
        variant: Variant,
        data: RealData,
        cfg: TrainConfig,
        hooks: list[Any] | None = None,
        checkpoint: str | os.PathLike | None = None,
    ):
        self.variant = variant
        self.data = data
        self.cfg = cfg
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.step = 0
        self._restored = False
        self.gen = torch.Generator(device=variant.device)
        self.gen.manual_seed(cfg.seed)
        self._hooks: list[Any] = []
        for h in [*variant.hooks(), *(hooks or [])]:
            self.add_hook(h)

        # One slot per run: (what its hooks see, its hooks, its checkpoint). A single run is its
        # own view; a batched job replaces the slots (:meth:`batched`).
        self._slots: list[tuple[Any, list[Any], Path | None]] = [(self, self._hooks, self.checkpoint)]
        self.diverged: list[Diverged | None] = [None]
        self.is_batched = False

    @classmethod
    def batched(
        cls,
        views: list[Variant],
        data: RealData,
        cfgs: list[TrainConfig],
        hooks: list[list[Any]] | None = None,
        checkpoints: list[str | os.PathLike | None] | None = None,
    ) -> Trainer:
        """K runs of one variant trained as one model; ``views[k]`` is run k's variant built as its
        single run would be (same seed before construction), ``cfgs[k]`` its configuration (they may
        differ only in the seed), ``hooks[k]`` and ``checkpoints[k]`` its own."""
        k = len(views)
        hooks = hooks or [[] for _ in range(k)]
        checkpoints = checkpoints or [None] * k
        if not (len(cfgs) == len(hooks) == len(checkpoints) == k):
            raise ValueError("batched: views, cfgs, hooks and checkpoints need one entry per run")
        base = dataclasses.replace(cfgs[0], seed=0)
        if any(dataclasses.replace(c, seed=0) != base for c in cfgs):
            raise ValueError("batched: the runs' configurations may differ only in their seed")
        trainer = cls(type(views[0]).batched(views), data, cfgs[0], checkpoint=None)
        gens = []
        for c in cfgs:
            gens.append(torch.Generator(device=trainer.variant.device))
            gens[-1].manual_seed(c.seed)
        trainer.gen = RunGenerators(gens)
        trainer._slots = []
        for i in range(k):
            view = RunView(trainer, i, views[i], cfgs[i], gens[i])
            run_hooks: list[Any] = []
            for h in [*views[i].hooks(), *hooks[i]]:
                trainer._check_hook(h)
                run_hooks.append(h)
            trainer._slots.append((view, run_hooks, Path(checkpoints[i]) if checkpoints[i] else None))
        trainer.diverged = [None] * k
        trainer.is_batched = True
        return trainer

    @staticmethod
    def _check_hook(hook: Any) -> None:
        if not any(hasattr(hook, m) for m in _HOOK_METHODS):
            raise TypeError(f"{hook!r} defines none of {', '.join(_HOOK_METHODS)}")

    def add_hook(self, hook: Any) -> None:
        self._check_hook(hook)
        self._hooks.append(hook)

    def _alive(self) -> list[int]:
        return [i for i, d in enumerate(self.diverged) if d is None]

    def _call(self, method: str, *args: Any, runs: list[int] | None = None) -> list[Any]:
        """Call ``method`` on the hooks of ``runs`` (default: every run still training)."""
        out = []
        for i in self._alive() if runs is None else runs:
            view, hooks, _ = self._slots[i]
            out.extend(getattr(h, method)(view, *args) for h in hooks if hasattr(h, method))
        return out

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self, run: int = 0) -> dict[str, Any]:
        """What run ``run``'s checkpoint holds (a single run's: its variant, generator and step)."""
        view = self._slots[run][0]
        return {"step": self.step, "variant": view.variant.state_dict(), "gen": view.gen.get_state()}

    def save_checkpoint(self) -> None:
        """Each run's state to its checkpoint file (a batched run's file is a single run's)."""
        if all(path is None for _, _, path in self._slots):
            return
        if self.is_batched:
            self.variant.sync_views(optimizers=True)
        for i in self._alive():
            _, _, path = self._slots[i]
            if path is None:
                continue
            buf = io.BytesIO()
            torch.save(self.state_dict(i), buf)
            atomic_write(path, lambda f, b=buf: f.write(b.getvalue()), binary=True)
            self._call("on_checkpoint", self.step, runs=[i])

    def load_checkpoint(self) -> bool:
        """Restore the state saved in the checkpoint files if they exist (once); True if restored.
        In a batched job every run must have one, all at the same step (else ValueError: train
        such runs separately)."""
        if self._restored:
            return True
        paths = [path for _, _, path in self._slots]
        found = [p is not None and p.exists() for p in paths]
        if not any(found):
            return False
        if not all(found):
            raise ValueError("batched: some runs have a checkpoint and some do not; resume them separately")
        # Loaded on the CPU: module and optimizer loading move tensors to the parameters' device,
        # and a generator's state is always a CPU byte tensor.
        states = [torch.load(p, map_location="cpu", weights_only=True) for p in paths]
        steps = {int(s["step"]) for s in states}
        if len(steps) > 1:
            raise ValueError(f"batched: the runs' checkpoints are at different steps {sorted(steps)}")
        for (view, _, _), state in zip(self._slots, states, strict=True):
            view.variant.load_state_dict(state["variant"])
            view.gen.set_state(state["gen"])
        if self.is_batched:
            self.variant.restack()
        self.step = steps.pop()
        self._restored = True
        return True

    # ----- the loop ---------------------------------------------------------------------------
    def _flush(
        self, pending: list[dict[str, torch.Tensor]], first_step: int
    ) -> list[dict[str, float] | Diverged]:
        """Average the pending step logs into one record per run, or a Diverged at the run's first
        bad step. A single run's logs are 0-dim, a batched job's ``(K,)``; one transfer either way."""
        keys = list(pending[0])
        table = torch.stack([torch.stack([logs[k].float() for k in keys], -1) for logs in pending]).cpu()
        if not self.is_batched:
            table = table.unsqueeze(1)  # (steps, runs = 1, keys)
        out: list[dict[str, float] | Diverged] = []
        for i in range(table.shape[1]):
            part = table[:, i]
            finite = torch.isfinite(part)
            if not bool(finite.all()):
                bad_row, bad_col = (~finite).nonzero()[0].tolist()
                out.append(Diverged(first_step + bad_row, keys[bad_col]))
            else:
                out.append(dict(zip(keys, part.mean(0).tolist(), strict=True)))
        return out

    def _eval_mode(self, training: bool) -> None:
        nets = [self.variant.generator]
        if self.is_batched:
            nets += [view.variant.generator for view, _, _ in self._slots]
        for net in nets:
            net.train(training)

    def fit(self) -> TrainResult:
        cfg = self.cfg
        self.load_checkpoint()
        resumed_from = self.step
        self._call("on_train_start")
        pending: list[dict[str, torch.Tensor]] = []
        first_pending = self.step + 1
        step_hooks = [
            i for i in range(len(self._slots)) if any(hasattr(h, "on_step_end") for h in self._slots[i][1])
        ]
        self.variant.generator.train()
        self.variant.discriminator.train()
        while self.step < cfg.iters and self._alive():
            self.step += 1
            logs = self.variant.train_step(self.data, self.gen)
            pending.append(logs)
            for i in step_hooks:
                run_logs = {k: v[i] for k, v in logs.items()} if self.is_batched else logs
                self._call("on_step_end", self.step, run_logs, runs=[i] if self.diverged[i] is None else [])
            last = self.step == cfg.iters
            is_eval = self.step % cfg.eval_every == 0 or last
            if is_eval or self.step % cfg.log_every == 0 or last:
                flushed = self._flush(pending, first_pending)
                norms = self.variant.grad_norms()
                pending, first_pending = [], self.step + 1
                for i in self._alive():
                    if isinstance(flushed[i], Diverged):
                        if not self.is_batched:
                            raise flushed[i]
                        self.diverged[i] = flushed[i]
                if not self._alive():
                    break
                if is_eval and self.is_batched:
                    self.variant.sync_views()
                for i in self._alive():
                    record: dict[str, Any] = {"step": self.step, **flushed[i]}
                    record.update({k: v[i] if self.is_batched else v for k, v in norms.items()})
                    if is_eval:
                        self._eval_mode(False)
                        for extra in self._call("on_eval", self.step, runs=[i]):
                            record.update(extra or {})
                        self._eval_mode(True)
                    self._call("on_log", self.step, record, runs=[i])
            if cfg.ckpt_every and (self.step % cfg.ckpt_every == 0 or last):
                self.save_checkpoint()
        if self.is_batched:
            self.variant.sync_views(optimizers=True)
        self._call("on_train_end")
        diverged = list(self.diverged) if self.is_batched else None
        return TrainResult(step=self.step, resumed_from=resumed_from, diverged=diverged)
