"""What a :class:`~benchmark.reports.compare.ComparisonResult` says, in words and tables.

:func:`recommendation` writes the verdict sentences from the result's numbers only; :func:`markdown`
and :func:`text` (terminal) add the ranking and the per-number tests; :func:`to_dict` is JSON-ready
(NaN as null). Formatting is fixed and the order stable (ranking, then the result's numbers), so the
same records give byte-identical output. :func:`comparison_tables` is what ``mcbench table --control``
appends: one comparison per dataset, as markdown or CSV.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from baselines.errors import ConfigError
from benchmark.reports.compare import MIN_SEEDS, ComparisonResult, Test, compare, signflip_seeds_needed
from benchmark.reports.stats import Interval

# How a significant verdict on a number reads (the number's key without its "_last5").
PHRASES = {
    ("coverage", "better"): "covers more modes than {control}",
    ("coverage", "worse"): "covers fewer modes than {control}",
    ("quality", "better"): "gives a larger share of high-quality samples than {control}",
    ("quality", "worse"): "gives a smaller share of high-quality samples than {control}",
}
TEST_COLUMNS = ["variant", "number", "difference [95 % CI]", "test", "p", "p Holm", "p sign-flip", "verdict"]


def _p(p: float) -> str:
    if p != p:
        return "–"
    if p == 0.0:
        return "0 (limit)"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _signed(x: float, digits: int = 3) -> str:
    return "–" if x != x else f"{x:+.{digits}f}"


def _diff(t: Test) -> str:
    if t.lo != t.lo:
        return _signed(t.diff)
    return f"{_signed(t.diff)} [{_signed(t.lo)}, {_signed(t.hi)}]"


def _interval(iv: Interval | None, digits: int) -> str:
    if iv is None:
        return "–"
    text = (
        f"{iv.mean:.{digits}f}"
        if iv.n == 1
        else f"{iv.mean:.{digits}f} [{iv.lo:.{digits}f}, {iv.hi:.{digits}f}]"
    )
    return text + (f" (n={iv.n})" if iv.n == 1 else "")


def _label(r: ComparisonResult, key: str) -> str:
    return next(n.label for n in r.main + r.secondary if n.key == key)


def _budget(r: ComparisonResult) -> str:
    seeds = f"{len(r.seeds)} seed{'s' * (len(r.seeds) != 1)}"
    return f"{seeds}, {r.iters:,} iterations" if r.iters is not None else seeds


def _evidence(r: ComparisonResult, t: Test) -> str:
    p = _p(t.p_holm)
    return f"{_label(r, t.number)} {_diff(t)}, p {p if p.startswith('<') else '= ' + p} corrected"


def test_statement(r: ComparisonResult) -> str:
    """How the numbers were tested, in one sentence (it goes with every rendering)."""
    m = len(r.variants) - 1
    return (
        f"Test: two-sided paired t-test on the per-seed differences (seed k of a variant against seed k "
        f"of {r.control}; Welch's unpaired t-test where the seeds do not match), Holm-Bonferroni corrected "
        f"over the {m} variant{'s' * (m != 1)} for each main number, alpha = {r.alpha:g}. A diverged run "
        "counts as coverage 0 and quality 0; failed runs are left out and counted."
    )


def recommendation(r: ComparisonResult) -> list[str]:
    """The verdicts in sentences, from the result's numbers only: one line per variant that differs
    from the control (with its cost per run), one for those indistinguishable, and, when no variant
    differs, the budget sentence with the smallest corrected p and the largest difference seen."""
    control_cost = next(s.cost_s for s in r.variants if s.variant == r.control)
    lines, same, untested = [], [], []
    for s in r.variants:
        tests = [t for t in r.tests if t.variant == s.variant]
        if not tests:
            continue
        found = [t for t in tests if t.verdict in ("better", "worse")]
        if not found:
            (untested if all(t.verdict == "untested" for t in tests) else same).append(s.variant)
            continue
        groups: dict[str, list[Test]] = {}
        for t in found:
            groups.setdefault(PHRASES[(t.number.removesuffix("_last5"), t.verdict)], []).append(t)
        parts = [
            f"{phrase.format(control=r.control)} ({'; '.join(_evidence(r, t) for t in ts)})"
            for phrase, ts in groups.items()
        ]
        cost = f"{s.cost_s:,.0f} s per run against {control_cost:,.0f} s" if s.cost_s == s.cost_s else ""
        labels = " (trained with the mode labels)" if s.uses_labels else ""
        lines.append(f"{s.variant}{labels} {' and '.join(parts)}; {cost}.".replace("; .", "."))
    if not lines:
        tested = [t for t in r.tests if t.p_holm == t.p_holm]
        text = f"No variant differs from {r.control} at this budget ({_budget(r)}); "
        text += "more seeds or iterations are needed."
        if tested:
            low = min(tested, key=lambda t: (t.p_holm, t.p))
            big = max(tested, key=lambda t: abs(t.diff))
            text += (
                f" Smallest corrected p: {_p(low.p_holm)} ({low.variant}, {_label(r, low.number)});"
                f" largest difference: {_diff(big)} ({big.variant}, {_label(r, big.number)})."
            )
        lines.append(text)
    elif same:
        lines.append(f"Indistinguishable from {r.control}: {', '.join(same)}.")
    if untested:
        lines.append(f"Not tested (fewer than {MIN_SEEDS} usable seeds each): {', '.join(untested)}.")
    labelled = [s.variant for s in r.variants if s.uses_labels]
    if labelled:
        lines.append(f"Trained with the mode labels (a supervision the others lack): {', '.join(labelled)}.")
    return lines


def notes(r: ComparisonResult) -> list[str]:
    """Caveats the numbers call for: the sign-flip test's floor, constant differences, unpaired rows."""
    out = []
    pairs = [t.n[0] for t in r.tests if t.test == "paired t"]
    if pairs:
        n, m = min(pairs), len(r.variants) - 1
        one, all_m = signflip_seeds_needed(r.alpha), signflip_seeds_needed(r.alpha, m)
        if n >= all_m:
            out.append(
                "p sign-flip: the exact sign-flip test, a distribution-free check not used for verdicts."
            )
        else:
            after = "" if n < one else " after the correction"
            out.append(
                f"With {n} paired seeds the exact sign-flip test (p sign-flip, a distribution-free check not "
                f"used for the verdicts) cannot reach p < {r.alpha:g}{after} (its smallest p is "
                f"{2 / 2**n:.3g}); it needs {one} paired seeds, {all_m} with the correction over {m} "
                f"variant{'s' * (m != 1)}. Until then the verdicts rest on the t-test's normal "
                "approximation, which runs that collapse on some seeds and not on others strain: confirm "
                "with more seeds."
            )
    grouped: dict[tuple[str, str], list[str]] = {}  # one line per variant and note, naming its numbers
    for t in r.tests:
        if t.note:
            grouped.setdefault((t.variant, t.note), []).append(_label(r, t.number))
    for (variant, note), labels in grouped.items():
        where = "" if len(labels) == len(r.main) else f" ({' / '.join(labels)})"
        out.append(f"{variant}{where}: {note}.")
    return out


def _rows(r: ComparisonResult) -> tuple[list[str], list[list[str]], list[list[str]]]:
    numbers = r.main + r.secondary
    header = ["rank", "variant", "runs ok/div/fail", *(n.label for n in numbers), "s per run"]
    ranking = []
    for i, s in enumerate(r.variants, 1):
        name = (
            s.variant
            + (" (control)" if s.variant == r.control else "")
            + (" (labels)" if s.uses_labels else "")
        )
        cells = [_interval(s.numbers[n.key], n.digits) for n in numbers]
        cost = f"{s.cost_s:,.0f}" if s.cost_s == s.cost_s else "–"
        ranking.append([str(i), name, f"{s.ok}/{s.diverged}/{s.failed}", *cells, cost])
    tests = [
        [t.variant, _label(r, t.number), _diff(t), f"{t.test} (n={'/'.join(map(str, t.n))})",
         _p(t.p), _p(t.p_holm), _p(t.p_signflip), t.verdict]
        for t in r.tests
    ]  # fmt: skip
    return header, ranking, tests


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:  # a "|" inside a cell (KL(gen||true)) would split it
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "|".join("---" for _ in header) + "|", *map(line, rows)])


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]
    )


def _heading(r: ComparisonResult) -> str:
    seeds = ", ".join(map(str, r.seeds))
    return f"{r.dataset or 'runs'}: each variant against {r.control} ({_budget(r)}; seeds {seeds})"


def markdown(r: ComparisonResult) -> str:
    header, ranking, tests = _rows(r)
    parts = [f"### {_heading(r)}", "\n".join(f"- {line}" for line in recommendation(r)), test_statement(r)]
    parts += ["Ranking (mean [95 % t interval] over seeds; coverage and quality as shares, 0-1):"]
    parts += [_md_table(header, ranking), "Against the control:", _md_table(TEST_COLUMNS, tests)]
    parts += ["\n".join(f"- {line}" for line in notes(r))]
    return "\n\n".join(p for p in parts if p) + "\n"


def text(r: ComparisonResult) -> str:
    header, ranking, tests = _rows(r)
    parts = [_heading(r), "\n".join(recommendation(r)), test_statement(r)]
    parts += ["Ranking (mean [95 % t interval] over seeds; coverage and quality as shares, 0-1):"]
    parts += [_text_table(header, ranking), "Against the control:", _text_table(TEST_COLUMNS, tests)]
    parts += ["\n".join(notes(r))]
    return "\n\n".join(p for p in parts if p) + "\n"


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def to_dict(r: ComparisonResult) -> dict[str, Any]:
    """JSON-ready: plain types, NaN as None, the same order as the texts."""
    return {
        "dataset": r.dataset,
        "control": r.control,
        "alpha": r.alpha,
        "seeds": list(r.seeds),
        "iters": r.iters,
        "test": test_statement(r),
        "main": [n.key for n in r.main],
        "secondary": [n.key for n in r.secondary],
        "ranking": [
            {
                "variant": s.variant,
                "ok": s.ok,
                "diverged": s.diverged,
                "failed": s.failed,
                "cost_s": _num(s.cost_s),
                "uses_labels": s.uses_labels,
                "numbers": {
                    k: None if iv is None else {"mean": iv.mean, "lo": iv.lo, "hi": iv.hi, "n": iv.n}
                    for k, iv in s.numbers.items()
                },
            }
            for s in r.variants
        ],
        "tests": [
            {k: _num(v) if isinstance(v, float) else v for k, v in t.__dict__.items()} for t in r.tests
        ],
        "recommendation": recommendation(r),
        "notes": notes(r),
    }


def comparison_tables(runs: pd.DataFrame, control: str, fmt: str = "md") -> str:
    """What ``mcbench table --control`` appends, one comparison per dataset of ``runs`` (sorted): the
    markdown of each (a dataset without a comparable control gets one line saying why), or with
    ``fmt="csv"`` one CSV of every test with its dataset. Raises the ConfigError of the first dataset
    when no dataset can be compared (an unknown control, say)."""
    if fmt not in ("md", "csv"):
        raise ConfigError(f"--control prints markdown or csv, not {fmt}; use --format md or --format csv")
    results, skipped, first = [], [], None
    for dataset in sorted(runs["dataset"].dropna().unique()):
        try:
            results.append(compare(runs[runs["dataset"] == dataset], control))
        except ConfigError as exc:
            first = first or exc
            skipped.append(f"{dataset}: no comparison: {exc}")
    if not results:
        raise first or ConfigError("no runs to compare")
    if fmt == "csv":
        rows = [{"dataset": r.dataset, **d} for r in results for d in to_dict(r)["tests"]]
        return (
            pd.DataFrame(rows)
            .assign(n=lambda f: f["n"].map(lambda n: "/".join(map(str, n))))
            .to_csv(index=False)
        )
    return "\n".join([markdown(r) for r in results] + [f"{line}\n" for line in skipped])
