"""``mcbench compare``: bad input stops before any training, in one line; a tiny comparison writes its
answer from the records and resumes instead of training again."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from baselines.errors import ConfigError
from benchmark.compare import panel
from benchmark.data.registry import get_dataset


def mcbench(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "benchmark", *argv], capture_output=True, text=True, cwd=cwd)


def test_default_panel_adds_label_users_only_with_labels(tmp_path):
    ring = get_dataset("ring8")
    assert panel.panel(ring, None) == ["gan", *panel.LABEL_FREE, *panel.LABEL_USING]
    rng = np.random.default_rng(0)
    np.save(tmp_path / "v.npy", np.concatenate([rng.normal(-5, 1, (100, 2)), rng.normal(5, 1, (100, 2))]))
    unlabelled = get_dataset(f"vectors:{tmp_path / 'v.npy'}")
    assert panel.panel(unlabelled, None) == ["gan", *panel.LABEL_FREE]
    with pytest.raises(ConfigError, match="cgan need"):
        panel.panel(unlabelled, ["cgan"])
    assert panel.panel(ring, ["wgan", "gan", "wgan"]) == ["gan", "wgan"]


def test_settings_are_sized_to_the_data():
    train, options, line = panel.settings("ring8", None)
    assert train["iters"] == panel.VECTOR_ITERS and "VEEGAN" in line and options["minibatch-discrimination"]
    train, _, line = panel.settings("mnist", None)
    assert train["iters"] == panel.IMAGE_ITERS and train["batch_size"] == 64 and "DCGAN" in line
    assert panel.settings("ring8", 1000)[0]["eval_every"] == 100


@pytest.mark.parametrize(
    "make,argv,expected",
    [
        (lambda d: (d / "e.csv").write_text(""), ["vectors:e.csv"], "is empty"),
        (lambda d: np.save(d / "n.npy", np.full((50, 2), np.nan)), ["vectors:n.npy"], "NaN"),
        (lambda d: np.save(d / "s.npy", np.ones((3, 2))), ["vectors:s.npy"], "at least 20 rows"),
        (
            lambda d: (np.save(d / "x.npy", np.ones((40, 2))), (d / "y.txt").write_text("1\n2\n")),
            ["vectors:x.npy", "--labels", "y.txt"],
            "2 labels for 40 rows",
        ),
        (None, ["ring8", "--variants", "gan", "vae"], "unknown variant(s) vae"),
        (None, ["ring8", "--iters", "0"], "--iters must be >= 1, got 0"),
        (None, ["ring8", "--seeds", "1"], "--seeds must be >= 2"),
        (None, ["nosuch"], "unknown dataset 'nosuch'"),
    ],
)
def test_bad_input_is_one_line_before_training(tmp_path, monkeypatch, capsys, make, argv, expected):
    from benchmark.cli import main  # in this process: the same exit code and stderr, no interpreter start

    if make is not None:
        make(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["compare", *argv, "--out", "out"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert not (tmp_path / "out" / "runs").exists()  # nothing trained


def test_tiny_comparison_answers_from_records_and_resumes(tmp_path):
    argv = ["compare", "ring8", "--variants", "gan", "pacgan", "--iters", "20", "--seeds", "2", "--out", "c"]
    first = mcbench(*argv, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "c"
    record = json.loads((out / "compare.json").read_text())
    assert record["data"] == "ring8" and "20 iterations" in record["settings"]
    assert (out / "compare.md").read_text().startswith("# Which mitigation on ring8?")
    assert (out / "samples.png").exists() and (out / "report" / "index.html").exists()
    assert "against gan" in first.stdout and "p Holm" in first.stdout
    summaries = sorted((out / "runs").rglob("summary.json"))
    assert len(summaries) == 4
    before = [p.stat().st_mtime_ns for p in summaries]
    answer = (out / "compare.md").read_text()
    again = mcbench(*argv, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [p.stat().st_mtime_ns for p in summaries] == before  # finished runs are not trained again
    assert (out / "compare.md").read_text() == answer  # the same records give the same answer
