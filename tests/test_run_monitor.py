"""Our trainer feeds the same collapse monitor a user's loop does: its rows agree with the run's own
evaluation, its events reach the summary, and batched runs record what single runs record."""

import json

from benchmark.runs.batch import run_batch
from benchmark.runs.hooks import read_metrics
from benchmark.runs.run import RunSpec, run

TRAIN = {"iters": 60, "batch_size": 32, "z_dim": 16, "log_every": 10, "eval_every": 20, "ckpt_every": 30}
TRAIN["eval_samples"] = 500  # within the monitor's sample budget, so it scores every evaluation sample


def _monitor(spec, root):
    return json.loads((spec.folder(root) / "monitor.json").read_text())


def test_the_run_monitor_counts_the_modes_the_evaluation_counts_and_reports_a_frozen_generator(tmp_path):
    spec = RunSpec("ring8", "gan", 0, train={**TRAIN, "lr_g": 0.0})
    summary = run(spec, tmp_path)
    report = _monitor(spec, tmp_path)
    evals = [r for r in read_metrics(spec.folder(tmp_path) / "metrics.jsonl") if "eval/modes_captured" in r]
    assert [h["step"] for h in report["history"]] == [r["step"] for r in evals] == [20, 40, 60]
    assert [h["modes_captured"] for h in report["history"]] == [r["eval/modes_captured"] for r in evals]
    assert report["modes"] == "8 mixture centres (within 3 sigma)"
    # A generator that never learns covers none of the ring: collapsed, held for the patience (2 evals).
    assert all(h["verdict"] == "collapsed" for h in report["history"])
    kinds = [(e["kind"], e["step"]) for e in summary["monitor_events"]]
    assert kinds == [("mode_collapse", 40)] and report["events"] == summary["monitor_events"]
    assert "captures 0 of the 8 modes" in summary["monitor_events"][0]["message"]


def test_a_batched_job_writes_the_monitor_record_single_runs_write(tmp_path):
    specs = [RunSpec("ring8", "gan", s, train=TRAIN) for s in range(2)]
    run_batch(specs, tmp_path / "b")
    for spec in specs:
        single = run(spec, tmp_path / "s")
        batched = _monitor(spec, tmp_path / "b")
        assert _monitor(spec, tmp_path / "s")["history"] == batched["history"]
        assert single["monitor_events"] == batched["events"]
