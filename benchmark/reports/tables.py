"""Comparison tables built only from run records on disk (``summary.json`` and ``metrics.jsonl``).

One row per (dataset, variant[-tag]): each coverage metric at the final step and as the mean of each
run's last 5 evaluations (mode hopping makes one final snapshot a lottery), as the mean over seeds
with its 95 % t interval (:mod:`benchmark.reports.stats`), the number of seeds and how many diverged or
failed. Published rows (same protocol) are printed beside ours, and our cells whose interval contains
the published value are marked.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from baselines.atomic import write_text
from baselines.errors import ConfigError
from benchmark.reports.published import OTHER, PUBLISHED
from benchmark.reports.stats import t_interval
from benchmark.runs.hooks import read_metrics
from benchmark.runs.records import read_summary
from diagnostics import registry as diagnostics_registry
from diagnostics.registry import Output

LAST = 5  # evaluations averaged for the "last 5" columns
# Which field of a published row (benchmark.reports.published: modes, HQ %, KL, source) a column shows.
PUBLISHED_FIELD = {"modes_captured": 0, "high_quality_score": 1}
MARK = "✓"
LEGEND = (
    f"Cells: mean over seeds [95 % t interval over seeds, clipped to the metric's range]; 'last {LAST}': "
    f"each run's mean over its last {LAST} evaluations; {MARK}: the published value lies inside our "
    "interval; (n=k): only k seeds have a value."
)


def metrics() -> list[Output]:
    """The columns: every output the registered diagnostics declare for the runs they score."""
    return diagnostics_registry.outputs()


def last_metrics() -> list[Output]:
    """The columns also reported as each run's mean over its last evaluations."""
    return [o for o in metrics() if o.last]


def last_evals(history: list[dict], key: str, k: int = LAST) -> float:
    """Mean of ``eval/KEY`` over the last ``k`` evaluation records (fewer if the run has fewer)."""
    values = [r[f"eval/{key}"] for r in history if f"eval/{key}" in r and r[f"eval/{key}"] is not None]
    return float(np.mean(values[-k:])) if values else np.nan


def load_runs(root: Path) -> pd.DataFrame:
    """Every ``summary.json`` under ``root`` as one row (metrics flattened)."""
    rows = []
    columns, last_columns = metrics(), last_metrics()
    for path in sorted(Path(root).rglob("summary.json")):
        s = read_summary(path)
        if s is None:
            continue
        row = {k: s.get(k) for k in ("dataset", "variant", "tag", "seed", "iters", "status", "wall_time_s")}
        row["variant"] = row["variant"] + (f"-{row['tag']}" if row.get("tag") else "")
        for out in columns:
            row[out.key] = (s.get("metrics") or {}).get(out.key, np.nan)
        history = read_metrics(path.parent / "metrics.jsonl")
        for out in last_columns:
            row[f"{out.key}_last{LAST}"] = last_evals(history, out.key)
        row["modes_total"] = (s.get("metrics") or {}).get("modes_total", np.nan)
        row["failure_events"] = len(s.get("failure_events") or [])
        rows.append(row)
    return pd.DataFrame(rows)


def _ci(
    values: pd.Series,
    scale: float,
    digits: int,
    upper: float = np.inf,
    published: float | None = None,
    unit: str = "",
) -> str:
    """``mean [lo, hi]`` over seeds (95 % t, clipped to [0, upper]), marked when ``published`` lies
    inside; one seed shows its value alone; ``(n=k)`` when only k of the seeds have a value (a KL
    with no high-quality sample)."""
    iv = t_interval(values.astype(float) * scale, lower=0.0, upper=upper)
    if iv is None:
        return "–"
    f = f".{digits}f"
    text = (f"{iv.mean:{f}}" if iv.n == 1 else f"{iv.mean:{f}} [{iv.lo:{f}}, {iv.hi:{f}}]") + unit
    if published is not None and iv.contains(published):
        text += f" {MARK}"
    return text if iv.n == len(values) else f"{text} (n={iv.n})"


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Aggregated numeric table: per (dataset, variant) mean and std of each metric, counts."""
    if runs.empty:
        return pd.DataFrame()
    ok = runs[runs["status"] == "ok"]
    grouped = ok.groupby(["dataset", "variant"])
    keys = [o.key for o in metrics()] + [f"{o.key}_last{LAST}" for o in last_metrics()]
    out = grouped[keys].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    for key in keys:  # the 95 % t interval the displayed tables show (not clipped here)
        ivs = grouped[key].agg(lambda v: t_interval(v))
        out[f"{key}_ci_lo"] = ivs.map(lambda iv: iv.lo if iv else np.nan)
        out[f"{key}_ci_hi"] = ivs.map(lambda iv: iv.hi if iv else np.nan)
    counts = runs.groupby(["dataset", "variant"]).agg(
        seeds=("seed", "count"),
        diverged=("status", lambda s: int((s == "diverged").sum())),
        failed=("status", lambda s: int((s == "failed").sum())),
        iters=("iters", "max"),
        modes_total=("modes_total", "max"),
        wall_time_s=("wall_time_s", "mean"),
        failure_events=("failure_events", "sum"),
    )
    return counts.join(out, how="left").reset_index()


def display_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Human-readable table (strings: mean [95 % t interval], final and last 5) with published rows
    beside ours."""
    rows = []
    if runs.empty:
        return pd.DataFrame()
    # The baseline first, then the mitigations alphabetically; published rows of other methods last.
    runs = runs.assign(_order=runs["variant"].map(lambda v: (not v.startswith("gan"), v)))
    runs = runs.sort_values(["dataset", "_order"], kind="stable")
    last_variant = runs.groupby("dataset")["variant"].last().to_dict()
    columns = metrics()
    for (dataset, variant), grp in runs.groupby(["dataset", "variant"], sort=False):
        ok = grp[grp["status"] == "ok"]
        total = grp["modes_total"].max()
        row = {"dataset": dataset, "variant": variant, "source": f"ours ({int(grp['iters'].max())} it)"}
        pub = PUBLISHED.get((dataset, variant))
        for out in columns:
            upper, unit = out.upper, ""
            if isinstance(upper, str):  # a per-run bound (the number of modes), shown after the value
                bound = grp[upper].max() if upper in grp else np.nan
                upper, unit = (bound, f" / {bound:.0f}") if bound == bound else (np.inf, "")
            field = PUBLISHED_FIELD.get(out.key)
            target = pub[field] if pub and field is not None else None
            row[out.label] = _ci(ok[out.key], out.scale, out.digits, upper, target, unit)
            if out.last:
                row[f"{out.label}, last {LAST}"] = _ci(
                    ok[f"{out.key}_last{LAST}"], out.scale, out.digits, upper, target, unit
                )
        row["seeds ok/div/fail"] = (
            f"{len(ok)}/{int((grp['status'] == 'diverged').sum())}/{int((grp['status'] == 'failed').sum())}"
        )
        row["D-loss-to-zero runs"] = int((grp["failure_events"] > 0).sum())
        rows.append(row)
        if (dataset, variant) in PUBLISHED:
            rows.append(_published_row(dataset, variant, PUBLISHED[(dataset, variant)], total))
        if variant == last_variant.get(dataset):
            for (d, method), numbers in OTHER.items():
                if d == dataset:
                    rows.append(_published_row(dataset, f"{method} (not in this suite)", numbers, total))
    return pd.DataFrame(rows, dtype=object).fillna("")


def _published_row(dataset: str, variant: str, numbers: tuple, total: float) -> dict[str, str]:
    modes, hq, kl, source = numbers
    row = {"dataset": dataset, "variant": variant, "source": f"published, {source}"}
    row["modes"] = row[f"modes, last {LAST}"] = f"{modes:g} / {total:.0f}"
    if hq is not None:
        row["HQ %"] = row[f"HQ %, last {LAST}"] = f"{hq:g}"
    if kl is not None:
        row["KL(gen||true)"] = f"{kl:g}"
    return row


def to_markdown(table: pd.DataFrame) -> str:
    return table.to_markdown(index=False) + "\n"


def best_columns() -> dict[str, bool]:
    """Columns where the best of our rows is set in bold: title -> True where higher is better."""
    out: dict[str, bool] = {}
    for o in metrics():
        if o.direction != "none":
            out[o.label] = o.direction == "higher"
            if o.last:
                out[f"{o.label}, last {LAST}"] = o.direction == "higher"
    return out


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def best_cells(table: pd.DataFrame) -> set[tuple[int, str]]:
    """``(row index, column)`` of the best mean per dataset among our rows (published rows excluded):
    most modes, highest HQ, lowest KL, compared as displayed. Ties for best are all bold; nothing is bold
    where all of a dataset's rows are equal (or it has one)."""
    best: set[tuple[int, str]] = set()
    if table.empty or "source" not in table:
        return best
    ours = table[table["source"].astype(str).str.startswith("ours")]
    for _, grp in ours.groupby("dataset", sort=False):
        for col, higher in best_columns().items():
            if col not in grp:
                continue
            means = {}
            for idx, cell in grp[col].items():
                m = _NUMBER.match(str(cell).strip())
                if m:
                    means[idx] = float(m.group())
            if len(set(means.values())) < 2:  # one row, or all tied: nothing stands out
                continue
            target = max(means.values()) if higher else min(means.values())
            best |= {(idx, col) for idx, v in means.items() if v == target}
    return best


def to_latex(table: pd.DataFrame, caption: str = LEGEND) -> str:
    """A booktabs table (no jinja2 needed): the best of our rows per dataset in bold, a rule between
    datasets, each dataset named once."""

    def esc(x: object) -> str:
        s = str(x)
        for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
            s = s.replace(a, b)
        return s.replace("±", r"$\pm$").replace("||", r"$\|$").replace(MARK, r"$\checkmark$")

    cols = list(table.columns)
    bold = best_cells(table)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\begin{tabular}{" + "l" * 3 + "r" * (len(cols) - 3) + "}",
        r"\toprule",
        " & ".join(esc(c) for c in cols) + r" \\",
        r"\midrule",
    ]
    previous = None
    for idx, r in table.iterrows():
        cells = []
        for c in cols:
            text = esc(r[c])
            if c == "dataset" and r[c] == previous:
                text = ""
            elif (idx, c) in bold:
                text = rf"\textbf{{{text}}}"
            cells.append(text)
        if previous is not None and r.get("dataset") != previous:
            lines.append(r"\midrule")
        previous = r.get("dataset")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{esc(caption)}}}", r"\end{table}", ""]
    return "\n".join(lines)


def render(root: Path, fmt: str) -> str:
    runs = load_runs(root)
    if runs.empty:
        raise FileNotFoundError(f"no run records (summary.json) under {root}")
    if fmt == "csv":
        return summarize(runs).to_csv(index=False)
    table = display_table(runs)
    return to_markdown(table) + f"\n{LEGEND}\n" if fmt == "md" else to_latex(table, caption=LEGEND)


def write_tables(root: Path, out_dir: Path, stem: str = "results") -> list[Path]:
    paths = []
    for fmt, ext in (("md", "md"), ("csv", "csv"), ("tex", "tex")):
        path = Path(out_dir) / f"{stem}.{ext}"
        text = render(root, fmt)
        try:
            write_text(path, text)
        except OSError as exc:  # after a suite's runs: one line, not a traceback
            raise ConfigError(f"table {path}: {exc.strerror or exc}") from None
        paths.append(path)
    return paths
