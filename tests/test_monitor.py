"""The collapse monitor: known answers on a ring of 8 Gaussians, then its inputs and events."""

import numpy as np
import pytest
import torch
from clusters import RING_CENTRES, RING_SIGMA, ring

from diagnostics.modes import ClassifierModes, KMeansModes, MixtureModes, mode_state
from diagnostics.monitor import CollapseMonitor, MonitorInputError

CENTRES, SIGMA = RING_CENTRES, RING_SIGMA


def test_mode_state_known_answers():
    real = np.full(8, 100.0)
    assert mode_state(real, 800, np.full(8, 64.0), 512)["level"] == 0
    one = mode_state(real, 800, np.eye(8)[0] * 512, 512)
    assert one["level"] == 2 and one["captured"] == 1 and one["missing"] == [1, 2, 3, 4, 5, 6, 7]
    assert one["kl"] == pytest.approx(np.log(8), rel=1e-4)  # KL(fake || real): one of 8 equal modes
    part = mode_state(real, 800, np.r_[np.full(6, 80.0), 0, 0], 512)
    assert part["level"] == 1 and part["missing"] == [6, 7]
    # a mode REAL's share predicts fewer than 5 samples of is not called missing
    assert mode_state(np.r_[np.full(7, 100.0), 1.0], 701, np.r_[np.full(7, 64.0), 0], 448)["level"] == 0


@pytest.mark.parametrize("labelled", [True, False], ids=["mixture-centres", "k-means-pseudo-modes"])
def test_healthy_batches_raise_nothing_and_a_collapse_is_raised_after_patience(labelled):
    modes = MixtureModes(CENTRES, SIGMA) if labelled else None
    mon = CollapseMonitor(ring(4000, 0), modes=modes, k=8, sample_every=100, patience=2)
    for i in range(20):
        assert mon.observe(100 * i, ring(512, 100 + i)) == []
    assert mon.verdict == "healthy" and mon.events == []
    assert mon.history[-1]["modes_captured"] == 8
    assert mon.observe(2000, ring(512, 1, modes=[3])) == []  # one batch is not enough
    new = mon.observe(2100, ring(512, 2, modes=[3]))
    kinds = {e.kind for e in new}
    assert "mode_collapse" in kinds and all(e.step == 2100 for e in new)
    (collapse,) = [e for e in new if e.kind == "mode_collapse"]
    assert "captures 1 of the 8 modes" in collapse.message
    if not labelled:
        assert "low_diversity" in kinds  # Vendi of one mode against the ring's
    assert mon.verdict == "collapsed"
    # recovery ends the event; no new event is raised for it
    assert mon.observe(2200, ring(512, 3)) == []
    ended = [e for e in mon.events if e.kind == "mode_collapse"]
    assert len(ended) == 1 and ended[0].end_step == 2200


def test_partial_collapse_and_duplicates():
    mon = CollapseMonitor(ring(4000, 0), modes=MixtureModes(CENTRES, SIGMA), patience=1)
    (e,) = mon.observe(0, ring(512, 5, modes=range(6)))
    assert e.kind == "modes_missing" and "missing 6, 7" in e.message
    copies = np.repeat(ring(8, 6), 64, axis=0)  # 8 distinct samples, 64 copies each
    kinds = {e.kind for e in mon.observe(1, copies)}
    assert kinds == {"duplicates"}
    assert mon.history[-1]["dup_rate"] > 0.1 > 10 * mon.dup_rate_real


def test_classifier_modes_and_a_loader_of_real_batches():
    class Nearest(torch.nn.Module):  # a "classifier": logits = minus the distance to each centre
        def forward(self, x):
            return -torch.cdist(x.flatten(1).float(), torch.as_tensor(CENTRES, dtype=torch.float32)) * 50

    real = torch.as_tensor(ring(2000, 0), dtype=torch.float32)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(real), batch_size=256)
    mon = CollapseMonitor(loader, modes=ClassifierModes(Nearest(), 8, min_confidence=0.9), patience=1)
    assert mon.n_real == 2000 and mon.observe(0, ring(512, 1)) == []
    assert [e.kind for e in mon.observe(1, ring(512, 2, modes=[0]))] == ["mode_collapse"]


def test_loss_detectors_on_the_rolling_window_and_nan_is_a_diverged_event():
    mon = CollapseMonitor(ring(1000, 0), window=200, check_every=10)
    rng = np.random.default_rng(0)
    raised = []
    for step in range(0, 3000, 10):
        late = step >= 1500  # D wins: its loss to zero, D(x) to 1 and D(G(z)) to 0
        d = 1e-4 if late else 1.3 + 0.05 * rng.normal()
        raised += mon.log(
            step,
            d_loss=d,
            g_loss=0.7 + 0.05 * rng.normal(),
            d_real=1.0 if late else 0.55,
            d_fake=0.0 if late else 0.45,
        )
    kinds = [e.kind for e in raised]
    assert "d_loss_to_zero" in kinds and "oscillation" not in kinds
    (e,) = [e for e in raised if e.kind == "d_loss_to_zero"]
    assert 1400 <= e.step <= 1700
    assert kinds.count("d_loss_to_zero") == 1  # raised once while it lasts
    (div,) = mon.log(3000, d_loss=float("nan"), g_loss=1.0)
    assert div.kind == "diverged" and "d_loss = nan" in div.message
    assert mon.log(3010, d_loss=float("inf")) == []  # once


def test_healthy_losses_raise_nothing():
    mon = CollapseMonitor(ring(1000, 0), window=200, check_every=10)
    rng = np.random.default_rng(1)
    for step in range(0, 20000, 10):
        mon.log(step, d_loss=1.3 + 0.1 * rng.normal(), g_loss=0.75 + 0.1 * rng.normal())
    assert mon.events == []


def test_bad_input_is_one_clear_error():
    with pytest.raises(MonitorInputError, match="real data is empty"):
        CollapseMonitor(np.zeros((0, 2)))
    with pytest.raises(MonitorInputError, match="real data has NaN"):
        CollapseMonitor(np.full((10, 2), np.nan))
    with pytest.raises(MonitorInputError, match="sample_every must be an integer >= 1, got 0"):
        CollapseMonitor(ring(100, 0), sample_every=0)
    with pytest.raises(MonitorInputError, match="unknown d_loss_kind 'bce'; valid: cross-entropy"):
        CollapseMonitor(ring(100, 0), d_loss_kind="bce")
    mon = CollapseMonitor(ring(500, 0))
    with pytest.raises(MonitorInputError, match=r"shape \(3,\) per sample, the real data \(2,\)"):
        mon.observe(0, np.zeros((10, 3)))
    with pytest.raises(MonitorInputError, match="at step 5 hold NaN"):
        mon.observe(5, np.full((10, 2), np.nan))
    with pytest.raises(
        MonitorInputError, match="unknown scalar 'loss'; valid: d_loss, g_loss, d_real, d_fake"
    ):
        mon.log(0, loss=1.0)


def test_kmeans_pseudo_modes_cover_the_ring():
    km = KMeansModes.fit(ring(4000, 0), k=8, seed=0)
    idx = km.assign(ring(800, 1))
    assert (idx >= 0).mean() > 0.97
    assert len(set(idx[idx >= 0].tolist())) == 8
    assert (km.assign(np.array([[0.0, 0.0]])) == -1).all()  # far from every cell


def test_nothing_is_raised_before_the_warmup_step_but_every_batch_is_kept():
    mon = CollapseMonitor(ring(4000, 0), modes=MixtureModes(CENTRES, SIGMA), sample_every=100, warmup=300)
    for step in range(0, 300, 100):  # a young generator: one mode, and D wins at once
        assert mon.observe(step, ring(512, step, modes=[3])) == []
        for s in range(step, step + 100, 5):
            assert mon.log(s, d_loss=1e-4, d_real=1.0, d_fake=0.0) == []
    assert [h["verdict"] for h in mon.history] == ["collapsed"] * 3 and mon.events == []
    assert mon.observe(300, ring(512, 7, modes=[3])) == []  # the patience counts from the warmup on
    assert [e.kind for e in mon.observe(400, ring(512, 8, modes=[3]))] == ["mode_collapse"]
    young = CollapseMonitor(ring(4000, 0), modes=MixtureModes(CENTRES, SIGMA), warmup=300)
    assert [e.kind for e in young.log(50, d_loss=float("nan"))] == ["diverged"]  # never held back
    with pytest.raises(MonitorInputError, match="warmup must be an integer >= 0"):
        CollapseMonitor(ring(100, 0), warmup=-1)
