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
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_write
from .config import TrainConfig
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

    def add_hook(self, hook: Any) -> None:
        if not any(hasattr(hook, m) for m in _HOOK_METHODS):
            raise TypeError(f"{hook!r} defines none of {', '.join(_HOOK_METHODS)}")
        self._hooks.append(hook)

    def _call(self, method: str, *args: Any) -> list[Any]:
        return [getattr(h, method)(self, *args) for h in self._hooks if hasattr(h, method)]

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "variant": self.variant.state_dict(), "gen": self.gen.get_state()}

    def save_checkpoint(self) -> None:
        if self.checkpoint is None:
            return
        buf = io.BytesIO()
        torch.save(self.state_dict(), buf)
        atomic_write(self.checkpoint, lambda f: f.write(buf.getvalue()), binary=True)
        self._call("on_checkpoint", self.step)

    def load_checkpoint(self) -> bool:
        """Restore the state saved in ``checkpoint`` if the file exists (once); True if restored."""
        if self._restored:
            return True
        if self.checkpoint is None or not self.checkpoint.exists():
            return False
        # Loaded on the CPU: module and optimizer loading move tensors to the parameters' device,
        # and a generator's state is always a CPU byte tensor.
        state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        self.variant.load_state_dict(state["variant"])
        self.gen.set_state(state["gen"])
        self.step = int(state["step"])
        self._restored = True
        return True

    # ----- the loop ---------------------------------------------------------------------------
    def _flush(self, pending: list[dict[str, torch.Tensor]], first_step: int) -> dict[str, float]:
        """Average the pending step logs into one record; raise Diverged at the first bad step."""
        keys = list(pending[0])
        table = torch.stack([torch.stack([logs[k].float() for k in keys]) for logs in pending]).cpu()
        finite = torch.isfinite(table)
        if not bool(finite.all()):
            bad_row, bad_col = (~finite).nonzero()[0].tolist()
            raise Diverged(first_step + bad_row, keys[bad_col])
        means = table.mean(0).tolist()
        return dict(zip(keys, means, strict=True))

    def fit(self) -> TrainResult:
        cfg = self.cfg
        self.load_checkpoint()
        resumed_from = self.step
        self._call("on_train_start")
        step_hooks = [h for h in self._hooks if hasattr(h, "on_step_end")]
        pending: list[dict[str, torch.Tensor]] = []
        first_pending = self.step + 1
        self.variant.generator.train()
        self.variant.discriminator.train()
        while self.step < cfg.iters:
            self.step += 1
            logs = self.variant.train_step(self.data, self.gen)
            pending.append(logs)
            for h in step_hooks:
                h.on_step_end(self, self.step, logs)
            last = self.step == cfg.iters
            is_eval = self.step % cfg.eval_every == 0 or last
            if is_eval or self.step % cfg.log_every == 0 or last:
                record: dict[str, Any] = {"step": self.step, **self._flush(pending, first_pending)}
                record.update(self.variant.grad_norms())
                pending, first_pending = [], self.step + 1
                if is_eval:
                    self.variant.generator.eval()
                    for extra in self._call("on_eval", self.step):
                        record.update(extra or {})
                    self.variant.generator.train()
                self._call("on_log", self.step, record)
            if cfg.ckpt_every and (self.step % cfg.ckpt_every == 0 or last):
                self.save_checkpoint()
        self._call("on_train_end")
        return TrainResult(step=self.step, resumed_from=resumed_from)
