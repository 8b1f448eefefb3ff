"""The speed scripts run end to end on a tiny setting (what they report is timed elsewhere, never in
a test: these only check that they run and write what they promise)."""

import json

from benchmark.perf import diagnostics as perf_diagnostics
from benchmark.perf import training as perf


def test_harness_overhead_script_runs_and_writes_its_ratio(tmp_path):
    out = perf.main(["--iters", "20", "--rounds", "2", "--threads", "1", "--out", str(tmp_path / "p.json")])
    saved = json.loads((tmp_path / "p.json").read_text())
    assert len(saved["rounds"]) == 2 and saved["iters_per_round"] == 20
    assert saved["median_ratio_trainer_over_plain"] == out["median_ratio_trainer_over_plain"] > 0


def test_diagnostics_cost_script_runs_on_a_few_samples(tmp_path):
    path = tmp_path / "d.json"
    perf_diagnostics.main(["--n", "300", "--threads", "1", "--untrained", "--out", str(path)])
    saved = json.loads(path.read_text())
    assert saved and path.stat().st_size > 100
