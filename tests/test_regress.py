"""Regression gate: the tolerance rule on synthetic records, and end to end, a generator that cannot
learn (learning rate zero) fails the gate and is named."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from baselines.errors import ConfigError
from benchmark import cli
from benchmark.reports import regress
from benchmark.runs.run import RunSpec
from benchmark.runs.suite import Suite

SUITE = """
datasets = ["bimodal-temperature"]
variants = ["gan", "cgan"]
seeds = [0, 1]
[train]
{extra}iters = 400
batch_size = 64
z_dim = 8
log_every = 25
eval_every = 200
ckpt_every = 400
eval_samples = 500
[train.net]
hidden = 32
"""


def _runs(rows: list[tuple]) -> pd.DataFrame:
    cols = ["dataset", "variant", "seed", "iters", "status", "modes_captured", "high_quality_score"]
    df = pd.DataFrame(rows, columns=cols)
    df["kl_gen_true_distance"] = 0.1
    return df


def _base(modes=(6.0, 7.0), hq=(0.5, 0.5)) -> pd.DataFrame:
    return _runs([("ring8", "gan", s, 100, "ok", modes[s], hq[s]) for s in (0, 1)])


def test_tolerance_is_k_std_or_the_floor():
    cell = regress.make_baseline(_base(), "t")["cells"]["ring8/gan"]["metrics"]
    assert cell["modes_captured"]["tolerance"] == pytest.approx(regress.K * 0.7071, rel=1e-3)
    assert cell["high_quality_score"]["tolerance"] == regress.gated()["high_quality_score"][1]  # std 0


def test_only_the_bad_direction_beyond_tolerance_is_a_regression():
    baseline = regress.make_baseline(_base(modes=(7.0, 7.0), hq=(0.5, 0.5)), "t")
    assert regress.compare(baseline, _base(modes=(8.0, 8.0), hq=(0.9, 0.9))) == []  # better
    assert regress.compare(baseline, _base(modes=(7.0, 6.0), hq=(0.46, 0.46))) == []  # within floors
    found = regress.compare(baseline, _base(modes=(6.0, 6.0), hq=(0.5, 0.5)))
    assert [(r.dataset, r.variant, r.metric) for r in found] == [("ring8", "gan", "modes_captured")]
    assert "baseline 7.00 ± 0.000, now 6.00, tolerance 0.500" in found[0].line()


def test_a_run_that_diverged_where_the_baseline_was_ok_is_a_regression():
    baseline = regress.make_baseline(_base(), "t")
    now = _runs([("ring8", "gan", 0, 100, "ok", 6.0, 0.5), ("ring8", "gan", 1, 100, "diverged", None, None)])
    assert [r.metric for r in regress.compare(baseline, now)] == ["runs ok"]
    assert [r.now for r in regress.compare(baseline, now.iloc[:0])] == ["missing"]


def test_gate_runs_at_least_two_seeds():
    suite = Suite("s", "", [RunSpec("ring8", "gan", 0)])
    assert regress.gate_seeds(suite) == [0, 1]
    assert regress.gate_seeds(suite, [3, 5]) == [3, 5]
    with pytest.raises(ConfigError, match="at least 2 seeds"):
        regress.gate_seeds(suite, [0])


def test_generator_learning_rate_zero_fails_the_gate_and_is_named(tmp_path, capsys):
    good, broken = tmp_path / "good.toml", tmp_path / "broken.toml"
    good.write_text(SUITE.format(extra=""))
    broken.write_text(SUITE.format(extra="lr_g = 0.0\n"))
    base = tmp_path / "baseline.json"
    common = ["--baseline", str(base), "--jobs", "1", "--threads", "1"]
    assert cli.main(["regress", "--suite", str(good), "--update", "--out", str(tmp_path / "a"), *common]) == 0
    assert f"baseline written: {base} (4 runs, seeds [0, 1], 0 not ok)" in capsys.readouterr().out
    cells = json.loads(base.read_text())["cells"]  # what was written, not only what was printed
    assert set(cells) == {"bimodal-temperature/gan", "bimodal-temperature/cgan"}
    assert cells["bimodal-temperature/cgan"]["metrics"]["modes_captured"]["n"] == 2
    assert cli.main(["regress", "--suite", str(broken), "--out", str(tmp_path / "b"), *common]) == 1
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("regression:")]
    # cgan finds both modes in 400 iterations; with a frozen generator it finds none
    assert any("bimodal-temperature cgan modes_captured: baseline 2.00" in x for x in lines), lines
    # the unchanged suite reuses its records (--out) and passes against the same baseline
    assert cli.main(["regress", "--suite", str(good), "--out", str(tmp_path / "a"), *common]) == 0
    assert cli.main(["regress", "--suite", str(good), "--seeds", "0,2", *common]) == 2  # seeds must match
