"""Adding a variant, a dataset or a diagnostic is one new class or function plus one registry line,
and the new thing then appears everywhere it should: ``mcbench list``, ``mcbench run``, a table and a
report (and, for a diagnostic declared with a gate floor, the regression gate).

Each test registers a toy one (defined here, as a contributor's new file would define it), trains a
few iterations through the command line, and finds it by its exact name in the listing, the table
and the report; nothing else in the project is edited.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from baselines import registry as variant_registry
from baselines.gan import GAN
from baselines.losses import LOSSES
from benchmark import cli
from benchmark.data import registry as dataset_registry
from benchmark.data.datasets import MixtureDataset
from benchmark.reports import regress
from benchmark.reports.tables import load_runs
from diagnostics import registry as diagnostics_registry
from diagnostics.registry import Output

TINY = ["--iters", "40", "--batch-size", "64", "--z-dim", "8", "--log-every", "10", "--eval-every", "20"]
TINY += ["--ckpt-every", "20", "--hidden", "16"]


class ToyMinimaxGAN(GAN):
    """A new variant as a contributor writes it: a name, a paper, and the loss it changes."""

    name = "toy-minimax"
    paper = "a toy variant registered by tests/test_extending.py"

    def loss(self, d_real, d_fake):
        return LOSSES["minimax"](d_real, d_fake)


def toy_line() -> MixtureDataset:
    """A new dataset as a contributor writes it: three Gaussians on a line."""
    return MixtureDataset(
        name="toy-line",
        description="3 Gaussians on a line, sigma 0.05 (a toy dataset registered by a test)",
        centres=np.array([[-1.0], [0.0], [1.0]]),
        sigma=np.full(3, 0.05),
        weights=np.full(3, 1 / 3),
        mode_names=("left", "middle", "right"),
        source="tests/test_extending.py",
    )


def spread_ratio(real, fake, **_options):
    """A new diagnostic as a contributor writes it: the fake samples' spread over the real ones'."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    return {"spread_ratio": float(fake.std(axis=0).mean() / real.std(axis=0).mean())}


SPREAD = Output("spread_ratio", "spread ratio", "none", digits=2, gate_floor=0.1)


@pytest.fixture
def toy_diagnostic():
    diagnostics_registry.register(  # the one line
        "toy_spread", spread_ratio, "none", outputs=(SPREAD,), evaluated_on=("mixture",)
    )
    yield "toy_spread"
    diagnostics_registry.unregister("toy_spread")


@pytest.fixture
def toy_variant(monkeypatch):
    monkeypatch.setitem(variant_registry._VARIANTS, ToyMinimaxGAN.name, ToyMinimaxGAN)  # the one line
    return ToyMinimaxGAN.name


@pytest.fixture
def toy_dataset():
    dataset_registry.register("toy-line", "mixture", toy_line, toy_line().description)  # the one line
    yield "toy-line"
    dataset_registry.unregister("toy-line")


def _listed(capsys, section: str) -> list[str]:
    assert cli.main(["list"]) == 0
    names, current = [], None
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith(" "):
            current = line.rstrip(":")
        elif current == section:
            names.append(line.split()[0])
    return names


def _run_table_report(tmp_path, capsys, dataset: str, variant: str) -> tuple[str, str]:
    runs = tmp_path / "runs"
    assert cli.main(["run", "--dataset", dataset, "--variant", variant, "--out", str(runs), *TINY]) == 0
    capsys.readouterr()
    assert cli.main(["table", str(runs)]) == 0
    table = capsys.readouterr().out
    assert cli.main(["report", str(runs), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    return table, report


def _row_cells(table: str, dataset: str, variant: str) -> list[str]:
    rows = [
        [c.strip() for c in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("|")
    ]
    found = [r for r in rows if r[:2] == [dataset, variant] and r[2].startswith("ours")]
    assert len(found) == 1, f"no single row for {dataset}/{variant} in:\n{table}"
    return found[0]


def test_a_new_variant_appears_in_list_run_table_and_report(tmp_path, capsys, toy_variant):
    assert toy_variant in _listed(capsys, "variants")
    table, report = _run_table_report(tmp_path, capsys, "ring8", toy_variant)
    row = _row_cells(table, "ring8", toy_variant)
    assert row[-2] == "1/0/0"  # seeds ok/div/fail: the toy run finished
    assert toy_variant in report


def test_a_new_dataset_appears_in_list_run_table_and_report(tmp_path, capsys, toy_dataset):
    assert toy_dataset in _listed(capsys, "datasets")
    table, report = _run_table_report(tmp_path, capsys, toy_dataset, "gan")
    row = _row_cells(table, toy_dataset, "gan")
    assert row[3].endswith("/ 3")  # modes captured, out of the toy's 3
    assert toy_dataset in report


def test_an_unregistered_name_is_refused_with_the_valid_ones(capsys):
    assert cli.main(["run", "--dataset", "toy-line", "--variant", "gan"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'toy-line'" in err and "ring8" in err


def test_a_new_diagnostic_appears_in_list_run_table_report_and_gate(tmp_path, capsys, toy_diagnostic):
    assert toy_diagnostic in _listed(capsys, "diagnostics")
    table, report = _run_table_report(tmp_path, capsys, "ring8", "gan")
    header = table.splitlines()[0].replace("||", "\u2016")  # KL(gen||true): not a column separator
    titles = [c.strip() for c in header.strip("|").split("|")]
    md_rows = [line.replace("||", "\u2016").strip("|").split("|") for line in table.splitlines()[2:]]
    (ours,) = [r for r in md_rows if len(r) == len(titles) and r[1].strip() == "gan" and "ours" in r[2]]
    cell = ours[titles.index("spread ratio")].strip()
    capsys.readouterr()
    assert cli.main(["table", str(tmp_path / "runs"), "--format", "csv"]) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert float(row["spread_ratio_mean"]) == pytest.approx(float(cell), abs=0.005)  # shown to 2 digits
    run = tmp_path / "runs" / "ring8" / "gan" / "seed0"
    final = json.loads((run / "summary.json").read_text())["metrics"]["spread_ratio"]
    assert cell == f"{final:.2f}" and 0 < final < 10  # the table shows the run's own value
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert sum("eval/spread_ratio" in r for r in evals) == 2  # every evaluation (steps 20 and 40)
    assert "<th>spread ratio</th>" in report
    assert regress.gated()["spread_ratio"] == (False, 0.1)
    baseline = regress.make_baseline(load_runs(tmp_path / "runs"), "toy")
    assert baseline["cells"]["ring8/gan"]["metrics"]["spread_ratio"]["mean"] == pytest.approx(final)


def test_without_the_toy_diagnostic_nothing_else_changes():
    assert "spread_ratio" not in regress.gated()
    assert [o.key for o in diagnostics_registry.outputs()] == [
        "modes_captured",
        "high_quality_score",
        "kl_gen_true_distance",
        "kl_true_gen_distance",
    ]
