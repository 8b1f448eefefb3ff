"""make gate-power on a tiny setting: one mutant, one seed pair, one dataset."""

from benchmark.gate import power


def test_gate_power_reports_detection_per_mutant(tmp_path):
    args = ["--mutants", "gan~lr-g-0", "--unbroken", "gan", "--reps", "1", "--jobs", "1", "--threads", "1"]
    out = power.main(args + ["--datasets", "bimodal-temperature", "--out", str(tmp_path / "p.json")])
    row = out["rows"]["gan~lr-g-0"]
    assert row["kind"] == "mutant" and row["of"] == "gan" and len(row["reps"]) == 1
    assert row["reps"][0]["seeds"] == [2, 3]
    # A generator that never learns: the gate's bimodal-temperature cell of gan sees it ...
    assert row["rate"] == 1.0 and all(
        "bimodal-temperature gan" in line for line in row["reps"][0]["regressions"]
    )
    # ... and the unbroken gan on fresh seeds is reported beside it, as a false-alarm count.
    assert out["rows"]["gan"]["kind"] == "unbroken" and len(out["rows"]["gan"]["reps"]) == 1
