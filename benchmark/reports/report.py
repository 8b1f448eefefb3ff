"""One static HTML page per suite, built only from run records: the comparison table (best of ours in
bold, published rows beside ours), links to the Markdown/CSV/LaTeX tables, and per (dataset, variant)
the run status of every seed, detected failure events, seed 0's samples and loss curves, and the mode
coverage over training of all seeds as a heatmap.

Everything the page shows is copied or drawn into the report folder and linked relatively, so the
folder can be moved or served as it is; the page has no scripts and loads nothing from the network.
"""

from __future__ import annotations

import html
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from baselines.atomic import write_text
from benchmark.data import plots
from benchmark.reports.curves import BAND_TITLE, learning_curve_plots
from benchmark.reports.tables import LEGEND, best_cells, display_table, load_runs, metrics, render
from benchmark.runs.hooks import read_metrics
from benchmark.runs.records import read_summary

TABLE_FORMATS = ("md", "csv", "tex")


@dataclass
class Cell:
    """The runs of one (dataset, variant[-tag]) under a runs root."""

    dataset: str
    variant: str
    rel: Path  # folder of the cell relative to the runs root: dataset slug / variant[-tag]
    runs: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)  # (run folder, summary)


def collect(runs_root: Path) -> tuple[list[Cell], int]:
    """Finished runs grouped by (dataset, variant), in folder order; and the count of unfinished runs
    (a ``config.json`` without ``summary.json``: still training, or killed)."""
    root = Path(runs_root)
    cells: dict[Path, Cell] = {}
    for path in sorted(root.rglob("summary.json")):
        s = read_summary(path)
        if s is None:
            continue
        folder = path.parent
        rel = folder.parent.relative_to(root)
        variant = s["variant"] + (f"-{s['tag']}" if s.get("tag") else "")
        cells.setdefault(rel, Cell(s["dataset"], variant, rel)).runs.append((folder, s))
    for cell in cells.values():
        cell.runs.sort(key=lambda r: r[1].get("seed", 0))
    unfinished = sum(1 for p in root.rglob("config.json") if not (p.parent / "summary.json").exists())
    return list(cells.values()), unfinished


def _n_modes(folder: Path, summary: dict[str, Any]) -> tuple[int, list[str] | None]:
    info: dict[str, Any] = {}
    if (folder / "config.json").exists():
        info = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("dataset_info", {})
    names = info.get("mode_names")
    n = info.get("modes") or (len(names) if names else None)
    if not n:
        n = (summary.get("metrics") or {}).get("modes_total") or 0
    return int(n), names


def _fmt(x: Any, digits: int = 2, scale: float = 1.0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * scale:.{digits}f}"


def _esc(x: Any) -> str:
    return html.escape(str(x))


def table_html(table: pd.DataFrame) -> str:
    """The display table as an HTML table; the best of our rows per dataset in bold, published rows
    in italics."""
    bold = best_cells(table)
    cols = list(table.columns)
    out = [
        '<table class="results">',
        "<thead><tr>" + "".join(f"<th>{_esc(c)}</th>" for c in cols) + "</tr></thead>",
    ]
    out.append("<tbody>")
    previous = None
    for idx, row in table.iterrows():
        published = str(row.get("source", "")).startswith("published")
        first = row.get("dataset") != previous
        previous = row.get("dataset")
        classes = " ".join(c for c in ("published" if published else "", "first" if first else "") if c)
        cells = []
        for c in cols:
            text = _esc(row[c])
            if (idx, c) in bold:
                text = f"<b>{text}</b>"
            cells.append(f"<td>{text}</td>")
        out.append(f'<tr class="{classes}">' + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _anchor(cell: Cell) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(cell.rel))


def _seeds_html(cell: Cell) -> str:
    columns = metrics()  # from the diagnostics registry
    rows = [
        "<table class='seeds'><thead><tr><th>seed</th><th>status</th>"
        + "".join(f"<th>{_esc(o.label)}</th>" for o in columns)
        + "<th>wall s</th><th>failure events / error</th></tr></thead><tbody>"
    ]
    for _, s in cell.runs:
        m = s.get("metrics") or {}
        notes = [ev.get("message", str(ev)) for ev in s.get("failure_events") or []]
        if s.get("status") == "diverged":
            notes.insert(0, f"diverged at step {s.get('diverged_step')}")
        if s.get("status") == "failed":
            notes.insert(0, str(s.get("error", "")))
        if s.get("plot_error"):
            notes.append(f"plot: {s['plot_error']}")
        cells = []
        for o in columns:
            text = _fmt(m.get(o.key), o.digits, o.scale)
            if isinstance(o.upper, str) and m.get(o.upper):  # "3 / 8" modes
                text += f" / {m[o.upper]:.0f}"
            cells.append(f"<td>{_esc(text if m else '–')}</td>")
        status = s.get("status", "?")
        rows.append(
            f"<tr class='{_esc(status)}'><td>{_esc(s.get('seed'))}</td><td>{_esc(status)}</td>"
            + "".join(cells)
            + f"<td>{_fmt(s.get('wall_time_s'), 0)}</td><td>{'<br>'.join(_esc(n) for n in notes)}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _figure(src: str | None, caption: str) -> str:
    if src is None:
        return f"<figure class='missing'><figcaption>{_esc(caption)}: no image</figcaption></figure>"
    return (
        f"<figure><a href='{_esc(src)}'><img src='{_esc(src)}' alt='{_esc(caption)}'></a>"
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _cell_html(cell: Cell, out_dir: Path) -> str:
    img_dir = out_dir / "img" / cell.rel
    img_dir.mkdir(parents=True, exist_ok=True)
    folder, summary = next(((f, s) for f, s in cell.runs if s.get("seed") == 0), cell.runs[0])
    seed = summary.get("seed")
    figures = []
    for name, caption in (
        ("samples.png", f"seed {seed}: real against generated samples"),
        ("losses.png", f"seed {seed}: losses and D outputs; red: detected D-loss-to-zero"),
    ):
        src = None
        if (folder / name).exists():
            shutil.copyfile(folder / name, img_dir / f"seed{seed}-{name}")
            src = (Path("img") / cell.rel / f"seed{seed}-{name}").as_posix()
        figures.append(_figure(src, caption))
    n_modes, names = _n_modes(folder, summary)
    histories = [read_metrics(f / "metrics.jsonl") for f, _ in cell.runs]
    src = None
    caption = "mode coverage over training (all seeds)"
    if n_modes and any(any("eval/captured" in r for r in h) for h in histories):
        try:
            plots.coverage_plot(
                histories,
                n_modes,
                img_dir / "coverage.png",
                title=f"{cell.variant} on {cell.dataset}: mode coverage, {len(histories)} seed(s)",
                mode_names=names,
            )
            src = (Path("img") / cell.rel / "coverage.png").as_posix()
        except Exception as exc:  # a plotting problem must not lose the rest of the report
            caption += f" ({type(exc).__name__}: {exc})"
    figures.append(_figure(src, caption))
    return (
        f"<section class='cell' id='{_anchor(cell)}'><h3>{_esc(cell.variant)} "
        f"<span class='on'>on {_esc(cell.dataset)}</span></h3>\n{_seeds_html(cell)}\n"
        f"<div class='figures'>{''.join(figures)}</div></section>"
    )


CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
.meta { color: #555; } .on { color: #666; font-weight: normal; }
table { border-collapse: collapse; font-size: 13px; margin: 0.6em 0; }
th, td { padding: 2px 8px; text-align: right; white-space: nowrap; }
th { border-top: 2px solid #000; border-bottom: 1px solid #000; }
td:nth-child(-n+3), th:nth-child(-n+3) { text-align: left; }
table.results tbody tr:last-child td { border-bottom: 2px solid #000; }
table.results tr.first td { border-top: 1px solid #999; }
tr.published td { color: #666; font-style: italic; }
table.seeds td:last-child { text-align: left; white-space: normal; max-width: 50em; color: #a00; }
tr.diverged td, tr.failed td { background: #fde8e8; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure { margin: 0; } figure img { max-width: min(440px, 30vw); max-height: 420px; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #555; max-width: min(440px, 30vw); }
nav a { margin-right: 0.8em; } .cell { margin-bottom: 1.5em; }
"""


def _curves_html(runs_root: Path, out_dir: Path) -> list[str]:
    """The learning-curve figures (every variant of a dataset on one figure), when runs evaluated."""
    figures = learning_curve_plots(runs_root, out_dir / "curves")
    if not figures:
        return []
    parts = [
        "<h2 id='curves'>Learning curves</h2>",
        f"<p class='meta'>Modes captured and high-quality % at every evaluation ({BAND_TITLE}).</p>",
    ]
    for dataset, path in figures.items():
        parts.append(_figure(path.relative_to(out_dir).as_posix(), f"{dataset}: every variant"))
    return parts


def write_report(runs_root: Path, tables_dir: Path | None, out_dir: Path, suite_name: str) -> Path:
    """Write ``out_dir/index.html`` (and its images and tables) for the runs under ``runs_root``;
    the suite's tables are copied from ``tables_dir/<suite_name>.{md,csv,tex}`` where they exist and
    rendered afresh otherwise. Returns the path of ``index.html``."""
    runs_root, out_dir = Path(runs_root), Path(out_dir)
    runs = load_runs(runs_root)
    if runs.empty:
        raise FileNotFoundError(f"no run records (summary.json) under {runs_root}")
    out_dir.mkdir(parents=True, exist_ok=True)
    links = []
    for fmt in TABLE_FORMATS:
        target = out_dir / "tables" / f"{suite_name}.{fmt}"
        source = Path(tables_dir) / f"{suite_name}.{fmt}" if tables_dir else None
        if source is not None and source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        else:
            write_text(target, render(runs_root, fmt))
        links.append(f"<a href='tables/{_esc(target.name)}'>{fmt.upper() if fmt != 'tex' else 'LaTeX'}</a>")

    cells, unfinished = collect(runs_root)
    status = runs["status"].value_counts().to_dict()
    counts = ", ".join(f"{n} {k}" for k, n in sorted(status.items()))
    if unfinished:
        counts += f"; {unfinished} unfinished (no summary.json yet)"
    events = int((runs["failure_events"] > 0).sum())
    by_dataset: dict[str, list[Cell]] = {}
    for cell in cells:
        by_dataset.setdefault(cell.dataset, []).append(cell)
    for group in by_dataset.values():  # the plain GAN first, then the mitigations alphabetically
        group.sort(key=lambda c: (not c.variant.startswith("gan"), c.variant))

    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>mcbench report: {_esc(suite_name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Suite <code>{_esc(suite_name)}</code></h1>",
        f"<p class='meta'>{len(runs)} runs: {_esc(counts)}; {events} with a detected D-loss-to-zero "
        f"event. Generated {time.strftime('%Y-%m-%d %H:%M')} from the run records under "
        f"<code>{_esc(runs_root)}</code>.</p>",
        "<h2 id='table'>Results</h2>",
        f"<p class='meta'>{_esc(LEGEND)} The best of our rows per "
        "dataset in bold (most modes, highest HQ, lowest KL); published rows with a matching protocol "
        f"in italics. Tables: {' · '.join(links)}.</p>",
        table_html(display_table(runs)),
        *_curves_html(runs_root, out_dir),
        "<nav><h2>Runs</h2>",
    ]
    for dataset, group in by_dataset.items():
        parts.append(
            f"<p><b>{_esc(dataset)}</b>: "
            + " ".join(f"<a href='#{_anchor(c)}'>{_esc(c.variant)}</a>" for c in group)
            + "</p>"
        )
    parts.append("</nav>")
    for dataset, group in by_dataset.items():
        parts.append(f"<h2>{_esc(dataset)}</h2>")
        parts += [_cell_html(cell, out_dir) for cell in group]
    parts.append("</body></html>\n")
    index = out_dir / "index.html"
    write_text(index, "\n".join(parts))
    return index
