"""Reports: LaTeX with the best of ours in bold, the coverage heatmap's matrix, and the HTML page's
structure (tables present, every image it shows exists, relative links only, status and failures)."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from benchmark import cli
from benchmark.data import plots
from benchmark.reports import tables
from benchmark.reports.report import write_report


def _record(root: Path, dataset: str, variant: str, seed: int, modes: float, hq: float, **extra) -> Path:
    folder = root / dataset / variant / f"seed{seed}"
    folder.mkdir(parents=True)
    status = extra.pop("status", "ok")
    s = {"dataset": dataset, "variant": variant, "tag": "", "seed": seed, "iters": 100, "status": status}
    s |= {"wall_time_s": 1.0, "failure_events": extra.pop("events", [])}
    if status == "ok":
        s["metrics"] = {
            "modes_captured": modes,
            "modes_total": 8.0,
            "high_quality_score": hq,
            "kl_gen_true_distance": 0.5 / (1 + modes),
            "kl_true_gen_distance": 1.0,
        }
    s |= extra
    (folder / "summary.json").write_text(json.dumps(s))
    info = {"modes": 8, "mode_names": [f"{45 * i}deg" for i in range(8)]}
    (folder / "config.json").write_text(json.dumps({"dataset": dataset, "dataset_info": info}))
    lines = [
        {"step": 10 * k, "d_loss": 1.0, "eval/captured": list(range(min(8, k + int(modes) - 3)))}
        for k in (1, 2, 3)
    ]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    for name in ("samples.png", "losses.png"):
        plots.plt.imsave(folder / name, np.full((4, 4, 3), 0.5))
    return folder


def _suite(root: Path) -> None:
    for seed in (0, 1):
        _record(root, "ring8", "gan", seed, 1 + seed, 0.9)
        _record(root, "ring8", "unrolled", seed, 7 + seed, 0.5)
    event = {"step": 20, "end_step": None, "message": "D loss near zero from step 20"}
    _record(root, "ring8", "wgan", 0, 6, 0.95, events=[event])
    _record(root, "ring8", "wgan", 1, 0, 0, status="diverged", diverged_step=30, error="NaN loss")


def test_latex_is_booktabs_with_the_best_of_ours_in_bold(tmp_path):
    _suite(tmp_path)
    table = tables.display_table(tables.load_runs(tmp_path))
    tex = tables.to_latex(table)
    assert all(rule in tex for rule in (r"\toprule", r"\midrule", r"\bottomrule"))
    best = tables.best_cells(table)
    rows = {
        table.loc[i, "variant"] + "|" + table.loc[i, "source"][:4]: {c for j, c in best if j == i}
        for i in table.index
    }
    assert rows["unrolled|ours"] == {"modes", "KL(gen||true)"}  # 7.5 of 8 modes, lowest KL
    assert rows["wgan|ours"] == {"HQ %"}  # 95 % HQ (one ok seed) beats 90 %
    assert not rows["gan|publ"] and not rows["unrolled|publ"]  # published rows are never bold
    # unrolled: 7 and 8 modes, t(0.975, 1) = 12.71, clipped at 8; published 7.6 inside: marked
    assert r"\textbf{7.5 [1.1, 8.0] / 8 $\checkmark$}" in tex


def test_coverage_matrix_from_eval_captured(tmp_path):
    history = [
        {"step": 5, "d_loss": 1.0},
        {"step": 10, "eval/captured": [0, 2]},
        {"step": 20, "eval/captured": []},
    ]
    steps, m = plots.coverage_matrix(history, 3)
    assert steps == [10, 20]
    np.testing.assert_array_equal(m, [[1, 0], [0, 0], [1, 0]])
    # 1,000 modes (stacked MNIST): pooled into bands with the count over time; it only has to draw.
    big = [{"step": s, "eval/captured": list(range(s))} for s in (100, 500, 900)]
    plots.coverage_plot([big, big[:2]], 1000, tmp_path / "c.png", "stacked")
    assert (tmp_path / "c.png").stat().st_size > 1000


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.srcs: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a["src"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        assert tag != "script"


def test_html_report_links_only_files_inside_its_folder(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "report"
    _suite(runs)
    index = write_report(runs, None, out, "tiny")
    # moved elsewhere, the page still finds everything: links are relative and files are copied
    moved = shutil.move(str(out), str(tmp_path / "moved"))
    shutil.rmtree(runs)
    text = (Path(moved) / index.name).read_text()
    page = _Page()
    page.feed(text)
    assert page.tags["table"] == 1 + 3  # the results table and one table of seeds per (dataset, variant)
    assert len(page.srcs) == 3 * 3  # seed 0's samples and losses, and the coverage heatmap, per variant
    for link in page.srcs + [h for h in page.hrefs if not h.startswith("#")]:
        assert not link.startswith(("/", "file:", "http")) and (Path(moved) / link).is_file(), link
    assert {"tables/tiny.md", "tables/tiny.csv", "tables/tiny.tex"} <= set(page.hrefs)
    assert "diverged at step 30" in text and "D loss near zero from step 20" in text
    assert "<b>7.5 [1.1, 8.0] / 8 ✓</b>" in text and "published, VEEGAN" in text


def test_cli_report(tmp_path, capsys):
    _suite(tmp_path / "runs")
    assert cli.main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "r")]) == 0
    assert f"report: {tmp_path / 'r' / 'index.html'}" in capsys.readouterr().out
    assert cli.main(["report", str(tmp_path / "nothing")]) == 2


@pytest.mark.parametrize("n", [1, 8])
def test_coverage_plot_with_no_evaluations_still_draws(tmp_path, n):
    plots.coverage_plot([[{"step": 1, "d_loss": 1.0}]], n, tmp_path / "c.png")
    assert (tmp_path / "c.png").exists()


def test_report_shows_learning_curves_of_runs_that_evaluated(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "report"
    for seed in (0, 1):
        folder = _record(runs, "ring8", "pacgan", seed, 8, 0.9)
        lines = [
            {"step": s, "eval/modes_captured": s // 10, "eval/high_quality_score": 0.5} for s in (10, 20)
        ]
        (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    page = _Page()
    page.feed(write_report(runs, None, out, "curves").read_text())
    assert "curves/learning_curves_ring8.png" in page.srcs
    assert (out / "curves/learning_curves_ring8.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
