"""make gate-power on a tiny gate: one check, one mutant, one repetition, one rerun."""

from benchmark.gate import power
from benchmark.gate.gate import run_gate


def test_gate_power_reports_detection_per_mutant_and_false_alarms(tmp_path, tiny_gate):
    gate, base = tmp_path / "g.toml", tmp_path / "g.json"
    gate.write_text(tiny_gate("cgan"))
    assert run_gate(gate, base, update=True, jobs=1, threads=1, echo=lambda _: None) == 0
    args = ["--gate", str(gate), "--baseline", str(base), "--mutants", "cgan~shuffled-labels,gan~lr-g-0"]
    args += ["--reps", "1", "--reruns", "1", "--jobs", "1", "--work", str(tmp_path / "w")]
    out = power.main(args + ["--out", str(tmp_path / "p.json")])
    row = out["mutants"]["cgan~shuffled-labels"]
    assert row["of"] == "cgan" and row["reps"] == 1 and row["checks"] == ["cgan@bimodal-temperature"]
    rep = row["per_rep"][0]["cgan@bimodal-temperature"]
    assert rep["seeds"] == [1000, 1001]  # fresh seeds, not the calibration's 0..2
    # cgan with its real labels shuffled keeps one mode: both seeds fail and the rule fires
    assert rep["failures"] == 2 and rep["fired"] and row["detected"] == 1
    assert rep["line"].startswith("regression: bimodal-temperature cgan [cgan@bimodal-temperature]")
    # a mutant of a variant the gate does not check is reported with no checks and no detection
    assert out["mutants"]["gan~lr-g-0"]["checks"] == [] and out["mutants"]["gan~lr-g-0"]["detected"] == 0
    rerun = out["unbroken"]["cgan@bimodal-temperature"]
    assert rerun["reruns"] == 1 and rerun["per_rerun"][0]["seeds"] == [5000, 5001]
    from baselines import registry

    assert not [n for n in registry.names() if "~" in n]  # the corpus is gone from the registry again
    assert rerun["fired"] == 0 and out["gate_false_alarms"] == {
        "checks": ["cgan@bimodal-temperature"],
        "reruns": 1,
        "fired": 0,
    }
