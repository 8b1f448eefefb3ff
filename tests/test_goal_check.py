"""The goal check reads final scores from records and judges each seed against the goal."""

import json

from studies.goal_check import final_scores, markdown, rows


def _record(root, dataset, variant, seed, modes, hq, status="ok"):
    folder = root / dataset / variant / f"seed{seed}"
    folder.mkdir(parents=True)
    summary = {"dataset": dataset, "variant": variant, "seed": seed, "status": status}
    summary["metrics"] = {"modes_captured": modes, "high_quality_score": hq}
    (folder / "summary.json").write_text(json.dumps(summary))


def test_seeds_are_judged_against_each_half_of_the_goal(tmp_path):
    _record(tmp_path, "ring8", "pacgan", 0, 8, 0.95)  # met
    _record(tmp_path, "ring8", "pacgan", 1, 8, 0.899)  # 0.1 HQ points short
    _record(tmp_path, "grid25", "pacgan", 0, 23, 0.85)  # one mode short
    _record(tmp_path, "grid25", "pacgan", 1, 25, 0.80)  # met, exactly at the bar
    _record(tmp_path, "ring8", "cgan", 0, 8, 0.99)  # uses labels: not a candidate
    _record(tmp_path, "ring8", "wgan", 0, 8, 0.99, status="diverged")  # not a finished result
    table = {(r["dataset"], r["variant"]): r for r in rows(final_scores(tmp_path))}
    assert set(table) == {("ring8", "pacgan"), ("grid25", "pacgan")}
    assert table["ring8", "pacgan"]["met"] == [0] and table["grid25", "pacgan"]["met"] == [1]
    assert table["ring8", "pacgan"]["hq"] == 100 * (0.95 + 0.899) / 2
    text = markdown(list(table.values()))
    assert "| pacgan | grid25 | 0, 1 | 1 |" in text and "seed 0: met" in text
