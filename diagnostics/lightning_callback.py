"""The collapse monitor as a PyTorch Lightning callback (``pip install 'mode-collapse-bench[lightning]'``).

    from diagnostics.lightning_callback import CollapseMonitorCallback
    from diagnostics.monitor import CollapseMonitor

    monitor = CollapseMonitor(real_images, sample_every=200)
    trainer = L.Trainer(callbacks=[CollapseMonitorCallback(monitor, sample=lambda gan, n: gan.sample(n))])

After every training batch the callback hands the monitor the scalars the LightningModule logged with
``self.log`` (by default the keys ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``; ``scalars`` maps other
names), and every ``sample_every`` batches a batch of samples drawn by ``sample(pl_module, n)`` (no
gradients; the module's train/eval mode is restored). The scored batch's numbers go to the trainer's
loggers under ``monitor/`` (TensorBoard, CSV, W&B alike, through ``log_metrics``): ``monitor/verdict``
is the batch's own (0 healthy, 1 partially collapsed, 2 collapsed), ``monitor/alarm`` the same once it
has held for the monitor's ``patience`` batches; every event is printed once (rank zero) and kept in
``monitor.events``. ``stop_on="collapsed"`` (or ``"partially collapsed"``) stops training at the first
alarm of that level.

The step the monitor sees is the number of training batches so far (GANs with manual optimization
step two optimizers per batch, so ``trainer.global_step`` counts twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

try:
    from lightning.pytorch.callbacks import Callback
    from lightning.pytorch.utilities import rank_zero_info
except ImportError as exc:  # the one optional dependency of this module: say which extra brings it
    raise ImportError(
        "diagnostics.lightning_callback needs the optional extra [lightning]: "
        f"pip install 'mode-collapse-bench[lightning]' ({exc})"
    ) from None

from .modes import LEVELS
from .monitor import SCALARS, CollapseMonitor, MonitorInputError


def _default_sample(pl_module: Any, n: int) -> Any:
    if not hasattr(pl_module, "sample"):
        raise MonitorInputError(
            f"{type(pl_module).__name__} has no sample(n) method; pass sample=lambda module, n: ... "
            "to CollapseMonitorCallback"
        )
    return pl_module.sample(n)


class CollapseMonitorCallback(Callback):
    """Feeds a :class:`~diagnostics.monitor.CollapseMonitor` from a Lightning training run."""

    def __init__(
        self,
        monitor: CollapseMonitor,
        sample: Callable[[Any, int], Any] | None = None,
        scalars: Mapping[str, str] | None = None,
        stop_on: str | None = None,
    ):
        if not isinstance(monitor, CollapseMonitor):
            raise MonitorInputError(f"monitor must be a CollapseMonitor, got {type(monitor).__name__}")
        names = dict(scalars) if scalars is not None else {n: n for n in SCALARS}
        unknown = sorted(set(names) - set(SCALARS))
        if unknown:
            raise MonitorInputError(f"unknown scalar {unknown[0]!r}; valid: {', '.join(SCALARS)}")
        if stop_on is not None and stop_on not in LEVELS[1:]:
            raise MonitorInputError(f"unknown stop_on {stop_on!r}; valid: {', '.join(LEVELS[1:])}")
        self.monitor, self.sample, self.scalars = monitor, sample or _default_sample, names
        self.stop_level = LEVELS.index(stop_on) if stop_on else None
        self.batches = 0

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = self.batches
        self.batches += 1
        metrics = trainer.callback_metrics
        values = {name: metrics[key] for name, key in self.scalars.items() if key in metrics}
        events = self.monitor.log(step, **values)
        if self.monitor.wants_samples(step):
            was = pl_module.training
            pl_module.eval()
            try:
                with torch.no_grad():
                    fake = self.sample(pl_module, self.monitor.n_samples)
            finally:
                pl_module.train(was)
            events += self.monitor.observe(step, fake)
            for logger in trainer.loggers:
                logger.log_metrics(self.monitor.latest(), step=trainer.global_step)
            if self.stop_level is not None and self.monitor.alarm >= self.stop_level:
                trainer.should_stop = True
        for e in events:
            rank_zero_info(f"collapse monitor: {e.message}")

    def state_dict(self) -> dict[str, Any]:
        return {"batches": self.batches}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.batches = int(state_dict.get("batches", 0))
