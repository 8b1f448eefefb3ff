"""The README's short headline: modes and HQ % per variant on ring8 and grid25 from the veegan-protocol
records, written between the ``<!-- headline:start -->`` and ``<!-- headline:end -->`` markers of
README.md by ``python -m studies.pages`` (``make docs``), so that no number of the front door is typed."""

from __future__ import annotations

from pathlib import Path

from benchmark.reports import tables
from studies.goal_check import LABELLED
from studies.pages import common as c
from studies.pages.headline import RECORDS, cell

START, END = "<!-- headline:start -->", "<!-- headline:end -->"
DATASETS = (("ring8", 8), ("grid25", 25))


def block(root: Path) -> str:
    """The table (variants in the records' order of ring8 modes, best first) and its one-line caption."""
    runs = tables.load_runs(Path(root) / RECORDS)
    ok = runs[runs["status"] == "ok"]

    def share(v: str) -> float:  # mean share of modes covered, over both datasets
        values = [cell(runs, d, v, t)["modes_values"] for d, t in DATASETS]
        return sum(sum(x) / len(x) / t for x, (_, t) in zip(values, DATASETS, strict=True) if x)

    variants = sorted(set(ok["variant"]), key=lambda v: (-share(v), v))
    lines = [
        "| variant | ring8 modes (of 8) | ring8 HQ % | grid25 modes (of 25) | grid25 HQ % |",
        "|---|---|---|---|---|",
    ]
    for v in variants:
        cells = [cell(runs, d, v, t) for d, t in DATASETS]
        name = f"{v} (uses labels)" if v in LABELLED else v
        lines.append(f"| {name} | " + " | ".join(f"{x['modes']} | {x['hq']}" for x in cells) + " |")
    seeds = sorted(set(int(s) for s in ok["seed"]))
    iters = sorted({int(cfg["train"]["iters"]) for cfg in c.configs(root, RECORDS)})
    caption = (
        f"\n{len(ok)} runs, seeds {c.seeds(seeds)}, {', '.join(f'{i:,}' for i in iters)} iterations; final "
        "snapshot, mean [95 % t-interval over seeds]; sorted by the mean share of modes covered on both "
        "datasets. The label-free goal (8/8 ring modes at >= 90 % HQ and >= 24/25 grid modes at >= 80 % on "
        "every seed) is checked in [docs/results/goal.md](docs/results/goal.md).\n"
    )
    return "\n".join(lines) + "\n" + caption


def fill(readme: str, root: Path) -> str:
    """``readme`` with the text between the markers replaced by :func:`block`."""
    head, sep, rest = readme.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"README.md lacks the markers {START} ... {END}")
    return f"{head}{START}\n{block(root)}{END}{tail}"
