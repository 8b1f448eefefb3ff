"""The monitor's Lightning callback: scalars and samples from a LightningModule, numbers to its logger."""

import csv

import lightning as L
import pytest
import torch
from clusters import RING_CENTRES as CENTRES
from clusters import RING_SIGMA as SIGMA
from clusters import ring

from diagnostics.lightning_callback import CollapseMonitorCallback
from diagnostics.modes import MixtureModes
from diagnostics.monitor import CollapseMonitor, MonitorInputError


class ScriptedGAN(L.LightningModule):
    """Draws from every ring mode until batch ``collapse_at``, then from mode 0 only; logs GAN scalars."""

    def __init__(self, collapse_at: int, nan_at: int | None = None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.collapse_at, self.nan_at, self.batches = collapse_at, nan_at, 0

    def training_step(self, batch, batch_idx):
        self.batches = batch_idx
        d_loss = float("nan") if batch_idx == self.nan_at else 1.3
        self.log_dict({"d_loss": d_loss, "g_loss": 0.7, "d_real": 0.55, "d_fake": 0.45})
        return (self.w**2).sum() + batch[0].sum() * 0

    def sample(self, n):
        modes = [0] if self.batches >= self.collapse_at else range(8)
        return torch.as_tensor(ring(n, self.batches, modes=modes), dtype=torch.float32)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def fit(module, callback, tmp_path, batches=100):
    data = torch.utils.data.TensorDataset(torch.zeros(batches, 1))
    logger = L.pytorch.loggers.CSVLogger(tmp_path, name="run")
    trainer = L.Trainer(
        max_epochs=1,
        callbacks=[callback],
        logger=logger,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=1))
    with open(logger.log_dir + "/metrics.csv") as f:
        return trainer, list(csv.DictReader(f))


def test_the_first_alarm_comes_patience_intervals_after_the_collapse_and_goes_to_the_logger(tmp_path):
    monitor = CollapseMonitor(ring(2000, 0), modes=MixtureModes(CENTRES, SIGMA), sample_every=10, patience=2)
    trainer, rows = fit(ScriptedGAN(collapse_at=40), CollapseMonitorCallback(monitor), tmp_path)
    (collapse,) = [e for e in monitor.events if e.kind == "mode_collapse"]
    assert collapse.step == 50  # scored at 40 and 50: the second collapsed batch raises it
    scored = [r for r in rows if r.get("monitor/modes_captured")]
    assert len(scored) == 10
    alarms = [float(r["monitor/alarm"]) for r in scored]
    assert alarms == [0, 0, 0, 0, 0, 2, 2, 2, 2, 2]
    assert [float(r["monitor/verdict"]) for r in scored] == [0, 0, 0, 0, 2, 2, 2, 2, 2, 2]
    assert trainer.global_step == 100


def test_stop_on_collapsed_stops_training_and_nan_is_an_event_not_a_crash(tmp_path):
    monitor = CollapseMonitor(ring(2000, 0), modes=MixtureModes(CENTRES, SIGMA), sample_every=10, patience=2)
    callback = CollapseMonitorCallback(monitor, stop_on="collapsed")
    trainer, _ = fit(ScriptedGAN(collapse_at=40, nan_at=15), callback, tmp_path)
    assert trainer.global_step == 51  # stopped after the batch that raised the alarm
    (div,) = [e for e in monitor.events if e.kind == "diverged"]
    assert div.step == 15


def test_bad_settings_are_one_clear_error():
    monitor = CollapseMonitor(ring(200, 0))
    with pytest.raises(
        MonitorInputError, match="unknown stop_on 'dead'; valid: partially collapsed, collapsed"
    ):
        CollapseMonitorCallback(monitor, stop_on="dead")
    with pytest.raises(MonitorInputError, match="unknown scalar 'loss_d'"):
        CollapseMonitorCallback(monitor, scalars={"loss_d": "lossD"})
    with pytest.raises(MonitorInputError, match="monitor must be a CollapseMonitor"):
        CollapseMonitorCallback(object())
