"""The temperature page: every variant on the two 1-D bimodal temperature sets (``temperature-protocol``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.reports import tables
from benchmark.runs.hooks import read_metrics
from studies.pages import common as c

RECORDS = "results/records/temperature-protocol"
SUITE = "benchmark/suites/temperature-protocol.toml"


def settled(root: Path) -> list[dict[str, Any]]:
    """Per run: whether its mode count is constant over the last evaluations, and how far its final HQ
    lies from the mean of those evaluations (points)."""
    out = []
    for folder, s in c.summaries(root, RECORDS):
        evals = [r for r in read_metrics(folder / "metrics.jsonl") if "eval/modes_captured" in r]
        last = evals[-tables.LAST :]
        modes = sorted({int(r["eval/modes_captured"]) for r in last})
        hq = [100 * r["eval/high_quality_score"] for r in last]
        out.append(
            {
                "run": f"{s['dataset']} {s['variant']} seed {s['seed']}",
                "constant": len(modes) == 1,
                "modes": modes,
                "gap": abs(100 * s["metrics"]["high_quality_score"] - sum(hq) / len(hq)),
            }
        )
    return out


def stability_prose(rows: list[dict[str, Any]]) -> str:
    const = [r for r in rows if r["constant"]]
    exceptions = [r for r in rows if not r["constant"]]
    text = (
        f"In {len(const)} of {len(rows)} runs the mode count is constant over the last {tables.LAST} "
        f"evaluations, and in those the final HQ % is within {c.fixed(max(r['gap'] for r in const))} points "
        f"of the mean of the last {tables.LAST}"
    )
    if exceptions:
        text += (
            f"; {'the exception still hops' if len(exceptions) == 1 else 'the exceptions still hop'}: "
            + c.listing(
                [
                    f"{r['run']} (between {c.listing([str(m) for m in r['modes']], 'and')} modes; final and "
                    f"last-{tables.LAST} HQ differ by {c.fixed(r['gap'])} points)"
                    for r in exceptions
                ]
            )
        )
    return text + ".\n"


def dataset_prose(runs: pd.DataFrame, dataset: str) -> str:
    ok = runs[(runs["dataset"] == dataset) & (runs["status"] == "ok")]
    total = int(ok["modes_total"].max())
    one, some, every = [], [], []
    for variant, grp in sorted(ok.groupby("variant")):
        modes = grp.sort_values("seed")["modes_captured"].tolist()
        hq = grp.sort_values("seed")["high_quality_score"].tolist()
        cell = (f"`{variant}`", c.interval(modes, 1, upper=total), c.interval(hq, 1, 100, upper=100), hq)
        if all(m >= total for m in modes):
            every.append(cell)
        elif all(m < total for m in modes):
            one.append(cell)
        else:
            some.append(cell)

    def named(cells: list[tuple]) -> str:
        return c.listing([f"{x[0]} ({x[1]})" for x in cells])

    parts = []
    if one:
        parts.append(f"{named(one)} lose a mode in every seed")
    if some:
        parts.append(f"{named(some)} lose one in some seeds")
    if every:
        means = [100 * sum(x[3]) / len(x[3]) for x in every]
        least = min(every, key=lambda x: sum(x[3]))
        among = " (`gan` among them)" if "`gan`" in [x[0] for x in every] else ""
        both = "both modes" if total == 2 else f"all {total} modes"
        parts.append(
            f"the other {len(every)}{among} cover {both} in every seed with {c.span(means, 1)} % "
            f"high-quality samples (mean over seeds), the least precise being {least[0]} ({least[2]} % HQ)"
        )
    return f"**{dataset}**: " + "; ".join(parts) + " (in brackets: final modes, mean [95 % t interval]).\n"


def split(cfgs: list[dict[str, Any]], dataset: str) -> str:
    """The dataset's mode weights as percentages, ``"90/10"``."""
    info = next(cf["dataset_info"] for cf in cfgs if cf["dataset"] == dataset)
    return "/".join(f"{100 * w:.0f}" for w in info["weights"])


def build(root: Path) -> str:
    runs = tables.load_runs(Path(root) / RECORDS)
    cfgs = c.configs(root, RECORDS)
    cost = c.wall_seconds(c.summaries(root, RECORDS))
    gp = c.options_of(cfgs, "wgan-gp")
    minority = split(cfgs, "bimodal-temperature-imbalanced").split("/")[-1]
    figures = [
        f"results/figures/temperature-protocol/learning_curves_{d}.png" for d in sorted(set(runs["dataset"]))
    ]
    return "".join(
        [
            "## Protocol\n\n",
            "The two 1-D bimodal temperature sets (summer daily maxima at Alice Springs and the South Pole; "
            f"`bimodal-temperature` {split(cfgs, 'bimodal-temperature')}, `bimodal-temperature-imbalanced` "
            f"{split(cfgs, 'bimodal-temperature-imbalanced')}, see "
            "[../datasets.md](../datasets.md)) with the VEEGAN protocol's training settings "
            f"(`{SUITE}`): {c.train_protocol(cfgs)}. WGAN-GP runs its authors' 2-D toy settings (lambda "
            f"{gp.get('gp_lambda'):g}, beta1 {gp.get('beta1'):g}). No published rows exist for these sets. "
            f"Compute: {c.hours(cost)} core-hours summed over the runs' wall times. `make tables "
            "SUITE=temperature-protocol` rebuilds the table and the curves from the records.\n\n",
            "## The table\n\n",
            f"`mcbench table {RECORDS} --format md`.\n\n",
            tables.render(Path(root) / RECORDS, "md"),
            "\n## What it shows\n\n",
            stability_prose(settled(root)),
            "\n",
            "\n".join(dataset_prose(runs, d) for d in sorted(set(runs["dataset"]))),
            f"\nOn the imbalanced set, dropping the {minority} % mode is the failure to watch; a variant "
            "that keeps both modes there at this length is not shown to keep them at every length.\n\n",
            "## Learning curves\n\n",
            "\n".join(c.image(f, f.rsplit("/", 1)[-1]) for f in figures),
            "\n",
        ]
    )


PAGE = c.Page(
    name="temperature",
    title="The temperature mixtures: every variant on the 1-D bimodal sets",
    records=(RECORDS,),
    summary="every variant on the balanced and the imbalanced temperature mixtures",
    build=build,
)
