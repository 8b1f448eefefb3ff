"""Known answers for the tools of the detector false-alarm measurement and the monitor's cost."""

import numpy as np
import pytest

from studies.detector_false_alarms import LEVELS, _tally, synthetic, wilson


def test_wilson_interval_known_answers():
    lo, hi = wilson(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)  # the 95 % upper bound of 0 in 20
    lo, hi = wilson(5, 10)
    assert lo + hi == pytest.approx(1.0) and lo == pytest.approx(0.2366, abs=1e-4)


@pytest.mark.parametrize("kind", ["white", "ar1"])
def test_synthetic_histories_have_the_stated_levels(kind):
    h = np.concatenate([synthetic(kind, s)["d_loss"] for s in range(40)])
    mean, sd = LEVELS["d_loss"]
    assert h.mean() == pytest.approx(mean, abs=0.03) and h.std() == pytest.approx(sd, rel=0.1)
    one = synthetic(kind, 0)["g_loss"]
    lag1 = np.corrcoef(one[:-1], one[1:])[0, 1]
    assert (abs(lag1) < 0.15) if kind == "white" else (0.85 < lag1 < 0.99)
    assert np.array_equal(synthetic(kind, 3)["d_real"], synthetic(kind, 3)["d_real"])  # seeded


def test_tally_counts_each_history_once_per_kind():
    t = _tally([{"oscillation"}, set(), {"oscillation", "g_loss_rising"}, set()])
    assert t["any_event"] == 2 and t["per_kind"]["oscillation"]["fired"] == 2
    assert t["per_kind"]["g_loss_rising"]["rate"] == 0.25
