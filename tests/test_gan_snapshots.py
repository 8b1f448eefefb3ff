"""The snapshot-lottery counts of studies/gan_snapshots.py, on a known history."""

import json

from studies.gan_snapshots import snapshot_stats, table


def _history():
    # modes, HQ fraction per evaluation: collapsed, on one mode, between modes, then spread out
    evals = [(1, 0.95), (1, 0.2), (0, 0.0), (1, 0.99), (7, 0.5), (8, 0.6)]
    return [{"step": 10}] + [
        {"step": 100 * (i + 1), "eval/modes_captured": m, "eval/high_quality_score": h}
        for i, (m, h) in enumerate(evals)
    ]


def test_counts_on_a_known_history():
    st = snapshot_stats(_history(), 8)
    assert st["evaluations"] == 6 and st["at_most_1_mode"] == 4 and st["one_mode_hq_90"] == 2
    assert st["max_modes"] == 8 and st["first_step_80pct_modes"] == 500  # 7 >= 6.4
    assert st["final"] == "8 modes, 60.0 % HQ"
    assert snapshot_stats([], 8)["first_step_80pct_modes"] is None


def test_table_reads_records(tmp_path):
    folder = tmp_path / "ring8/gan/seed2"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(
        json.dumps({"dataset": "ring8", "seed": 2, "metrics": {"modes_total": 8}})
    )
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _history()))
    assert "| ring8 | 2 | 6 | 4 | 2 | 8 / 8 | 500 | 8 modes, 60.0 % HQ |" in table(tmp_path)
