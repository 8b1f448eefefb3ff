"""The speed scripts run end to end on a tiny setting (what they report is timed elsewhere, never in
a test: these only check that they run and write what they promise)."""

import json

from benchmark.perf import batched as perf_batched
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


def test_batched_perf_script_runs_and_reports_ratios(tmp_path):
    path = tmp_path / "b.json"
    out = perf_batched.main(
        [
            "--iters",
            "3",
            "--rounds",
            "1",
            "--ks",
            "1,2",
            "--variants",
            "gan",
            "--no-images",
            "--out",
            str(path),
        ]
    )
    assert json.loads(path.read_text())["results"] == json.loads(json.dumps(out["results"]))
    assert [(r["variant"], r["k"]) for r in out["results"]] == [("gan", 1), ("gan", 2)]
    assert all(r["ratio_singles_over_batched"] > 0 for r in out["results"])
    a = out["arithmetic"]
    assert a["k"] == 2 and a["single_step_over_matmul"] > 1 and a["batched_run_step_over_matmul"] > 1
    assert set(out["not_batchable"]) == {"unrolled", "experience-replay", "adagan", "guided-latent"}
