"""Checkpoint-by-checkpoint scoring of the small-D probe: counts with known answers, kept checkpoints,
and a kept last checkpoint that reproduces the run's own final scoring."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.data import classifiers as bench_classifiers
from benchmark.runs.run import RunSpec, run
from studies import small_d_probe as probe


class _BrightnessOracle(nn.Module):
    """Mode = the image's mean brightness bucket, confident (a smooth classifier the test can pin)."""

    held_out_accuracy = 0.99

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.n_classes = n_classes

    def forward(self, x):
        level = ((x.mean(dim=(1, 2, 3)) + 1) / 2 * self.n_classes).clamp(0, self.n_classes - 1e-3)
        centres = torch.arange(self.n_classes, dtype=x.dtype) + 0.5
        return -8.0 * (level[:, None] - centres[None, :]).abs()


def test_counts_modes_of_any_sample_and_of_high_quality_samples():
    labels = [0, 0, 1, 2, 2, 3]
    conf = [0.95, 0.2, 0.3, 0.91, 0.99, 0.5]
    out = probe.count_modes(labels, conf, 0.9)
    # Four modes have a sample; only modes 0 and 2 have a confident one; 3 of 6 samples are confident.
    assert out == {"modes": 4.0, "hq": 0.5, "hq_modes": 2.0}
    assert probe.count_modes(labels, conf, 0.0)["hq_modes"] == 4.0


def test_count_refuses_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="equal 1-D"):
        probe.count_modes([0, 1], [0.5], 0.9)
    with pytest.raises(ValueError, match="equal 1-D"):
        probe.count_modes([], [], 0.9)


def _snap(run, seed, step, modes, hq_modes, hq=0.5):
    return {
        "run": run,
        "seed": seed,
        "snapshots": [{"step": step, "modes": modes, "hq": hq, "hq_modes": hq_modes, "kl": 1.0}],
    }


def test_mitigations_are_compared_with_gan_only_where_gan_is_collapsed():
    runs = [
        _snap("gan", 0, 500, 20.0, 10.0),
        _snap("gan", 1, 500, 40.0, 0.0),  # gan's mean at 500: 30 modes, 5 HQ modes
        _snap("gan", 0, 1000, 600.0, 5.0),  # not collapsed: no comparison at 1000
        _snap("pacgan-pack4", 0, 500, 90.0, 20.0, hq=0.25),
        _snap("pacgan-pack4", 0, 1000, 700.0, 30.0),
    ]
    table = probe.by_step(runs)
    assert table["gan"][500]["modes"] == 30.0 and table["gan"][500]["seeds"] == [0, 1]
    rows = probe.compare(table, collapsed=300)
    assert len(rows) == 1
    row = rows[0]
    assert row["step"] == 500 and row["run"] == "pacgan-pack4"
    assert row["modes_ratio"] == pytest.approx(3.0) and row["hq_modes_ratio"] == pytest.approx(4.0)
    assert row["hq"] == 0.25 and row["gan_hq"] == 0.5
    text = probe.markdown(table, rows, 100)
    # gan's two seeds show their range (20-40 modes, 0-10 HQ modes); pacgan's one seed shows none.
    assert (
        "| 500 | pacgan-pack4 | 90.0 | 30.0 (20-40) | 3.0x | 20.0 | 5.0 (0-10) | 4.0x | 25.0 | 50.0 |" in text
    )


def test_a_gan_without_hq_modes_gives_no_ratio():
    table = probe.by_step([_snap("gan", 0, 500, 3.0, 0.0), _snap("wgan-gp", 0, 500, 9.0, 2.0)])
    (row,) = probe.compare(table, collapsed=300)
    assert row["modes_ratio"] == pytest.approx(3.0) and row["hq_modes_ratio"] is None
    assert "n/a" in probe.markdown(table, [row], 10)


def test_kept_last_checkpoint_reproduces_the_runs_final_scoring(tmp_path, monkeypatch, tiny_train):
    monkeypatch.setattr(bench_classifiers, "classifier_for", lambda ds, cache_dir=None: _BrightnessOracle())
    monkeypatch.setattr("benchmark.data.scoring.IMAGE_SAMPLES", 300)
    spec = RunSpec("mnist", "gan", 0, {**tiny_train, "iters": 40, "batch_size": 16})
    summary = run(spec, tmp_path / "runs", snapshots=True)
    assert summary["status"] == "ok", summary.get("error")
    folder = spec.folder(tmp_path / "runs")
    kept = sorted(p.name for p in (folder / "snapshots").glob("*.pt"))
    assert kept == ["step0000020.pt", "step0000040.pt"]

    report = probe.main(
        [
            "--runs",
            str(tmp_path / "runs"),
            "--samples",
            "300",
            "--out",
            str(tmp_path / "p.json"),
            "--table",
            str(tmp_path / "p.md"),
        ]
    )
    (scored,) = report["runs"]
    assert [s["step"] for s in scored["snapshots"]] == [20, 40]
    last = scored["snapshots"][-1]
    # Same generator state, same seed, same number of samples: the run's own final numbers.
    assert last["protocol_modes"] == summary["metrics"]["modes_captured"]
    assert last["hq"] == pytest.approx(summary["metrics"]["high_quality_score"])
    assert last["kl"] == pytest.approx(summary["metrics"]["kl_gen_true_distance"])
    assert 0 <= last["hq_modes"] <= last["modes"] <= 10
    assert json.loads((tmp_path / "p.json").read_text())["samples_per_checkpoint"] == 300
    assert "| gan | 40 | 0 |" in (tmp_path / "p.md").read_text()
    # The step-20 generator differs from the step-40 one (it was really reloaded, not reused).
    first, _, _ = probe.load_generator(folder, folder / "snapshots" / "step0000020.pt")
    second, _, _ = probe.load_generator(folder, folder / "snapshots" / "step0000040.pt")
    p1 = np.concatenate([t.detach().numpy().ravel() for t in first.generator.parameters()])
    p2 = np.concatenate([t.detach().numpy().ravel() for t in second.generator.parameters()])
    assert not np.allclose(p1, p2)


def test_no_runs_with_kept_checkpoints_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        probe.main(["--runs", str(tmp_path)])
    assert exc.value.code == 2 and "make small-d-probe" in capsys.readouterr().err
