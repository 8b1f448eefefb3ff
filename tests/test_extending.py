"""Adding a variant or a dataset is one new class or factory plus one registry line, and the new
thing then appears everywhere it should: ``mcbench list``, ``mcbench run``, a table and a report.

Each test registers a toy one (defined here, as a contributor's new file would define it), trains a
few iterations through the command line, and finds it by its exact name in the listing, the table
and the report; nothing else in the project is edited.
"""

from __future__ import annotations

import numpy as np
import pytest

from baselines import registry as variant_registry
from baselines.gan import GAN
from baselines.losses import LOSSES
from benchmark import cli
from benchmark.data import registry as dataset_registry
from benchmark.data.datasets import MixtureDataset

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
    found = [r for r in rows if r[:2] == [dataset, variant]]
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
