"""Known-answer tests for the discriminator-loss-to-zero detector on synthetic loss curves."""

import numpy as np
import pytest

from diagnostics import FailureEvent, detect_d_loss_to_zero

STEPS = np.arange(0, 10001, 50)


def healthy(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1.3 + 0.1 * rng.uniform(-1.0, 1.0, size=STEPS.size)


def collapse_at(step: int, seed: int = 1) -> np.ndarray:
    """Smooth decay from 1.3, then a drop to ~0.001 (small positive noise) from `step` onward."""
    rng = np.random.default_rng(seed)
    loss = 1.3 * np.exp(-STEPS / 2000.0) * (1.0 + 0.05 * rng.standard_normal(STEPS.size))
    low = STEPS >= step
    loss[low] = 0.001 * (1.0 + 0.2 * rng.uniform(0.0, 1.0, size=int(low.sum())))
    return loss


def test_healthy_series_not_flagged():
    for seed in range(5):
        assert detect_d_loss_to_zero(STEPS, healthy(seed)) == []


def test_collapse_flagged_once_near_onset():
    events = detect_d_loss_to_zero(STEPS, collapse_at(3000))
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, FailureEvent)
    assert event.kind == "d_loss_to_zero"
    assert abs(event.step - 3000) <= 300
    assert event.end_step is None
    assert "\n" not in event.message
    assert str(event.step) in event.message
    assert event.to_dict() == {
        "kind": "d_loss_to_zero",
        "step": event.step,
        "end_step": None,
        "message": event.message,
    }


def test_accepts_plain_lists():
    events = detect_d_loss_to_zero(STEPS.tolist(), collapse_at(3000).tolist())
    assert len(events) == 1


def test_short_dip_not_flagged():
    loss = healthy(2)
    dip = np.flatnonzero(STEPS == 4000)[0]
    loss[dip : dip + 2] = 0.0
    assert detect_d_loss_to_zero(STEPS, loss) == []


def test_short_stretch_below_min_points_not_flagged():
    loss = healthy(3)
    start = np.flatnonzero(STEPS == 4000)[0]
    loss[start : start + 6] = 0.0  # the smoothed series stays low for only a few points
    assert detect_d_loss_to_zero(STEPS, loss, min_points=8) == []
    assert len(detect_d_loss_to_zero(STEPS, loss, min_points=3)) == 1


def test_without_separation_not_flagged():
    loss = collapse_at(3000)
    half = np.full(STEPS.size, 0.5)
    assert detect_d_loss_to_zero(STEPS, loss, d_real=half, d_fake=half) == []


def test_with_separation_flagged_and_reported():
    loss = collapse_at(3000)
    d_real = np.where(STEPS >= 3000, 0.99, 0.6)
    d_fake = np.where(STEPS >= 3000, 0.01, 0.4)
    events = detect_d_loss_to_zero(STEPS, loss, d_real=d_real, d_fake=d_fake)
    assert len(events) == 1
    assert "D(x)=0.99" in events[0].message
    assert "D(G(z))=0.01" in events[0].message


def test_two_separate_stretches_give_two_events():
    loss = healthy(4)
    loss[(STEPS >= 2000) & (STEPS < 3000)] = 0.002
    loss[(STEPS >= 6000) & (STEPS < 7000)] = 0.002
    events = detect_d_loss_to_zero(STEPS, loss)
    assert len(events) == 2
    first, second = events
    assert abs(first.step - 2000) <= 300
    assert abs(second.step - 6000) <= 300
    assert first.end_step is not None and 2700 <= first.end_step <= 3300
    assert second.end_step is not None and 6700 <= second.end_step <= 7300


def test_nan_entries_are_ignored():
    loss = collapse_at(3000)
    loss[::7] = np.nan
    events = detect_d_loss_to_zero(STEPS, loss)
    assert len(events) == 1
    assert abs(events[0].step - 3000) <= 300
    assert detect_d_loss_to_zero(STEPS, np.where(np.arange(STEPS.size) % 7 == 0, np.nan, healthy(5))) == []


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="201.*200|200.*201"):
        detect_d_loss_to_zero(STEPS, collapse_at(3000)[:-1])
    with pytest.raises(ValueError):
        detect_d_loss_to_zero(STEPS, collapse_at(3000), d_real=np.ones(3))


def test_threshold_is_configurable():
    loss = collapse_at(3000)
    assert detect_d_loss_to_zero(STEPS, loss, threshold=0.0001) == []
    assert len(detect_d_loss_to_zero(STEPS, loss, threshold=0.01)) == 1


def test_empty_series_gives_no_events():
    assert detect_d_loss_to_zero([], []) == []
