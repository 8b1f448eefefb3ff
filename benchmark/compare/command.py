"""``mcbench compare DATA``: which mitigation fixes mode collapse on this data?

    mcbench compare DATA [--variants V ...] [--iters N] [--seeds K] [--control gan] [--out DIR]
                         [--jobs J] [--threads T] [--device D] [--backend ray --address A] [--batch B]

Trains the panel of :mod:`benchmark.compare.panel` on DATA (any registered dataset, ``frames:PATH`` or
``vectors:PATH``), each variant on the same seeds, as run records under ``OUT/runs`` (a killed compare
run again resumes: finished runs are skipped, interrupted ones continue from their checkpoint). Then,
from the records alone (:mod:`benchmark.reports.compare`): a ranked table with 95 % intervals over
seeds, each variant's paired comparison with the control on coverage and quality (the test, its
p-value corrected for the number of variants), its cost per run, and a recommendation written from
those numbers. Written to ``OUT/compare.md``, ``OUT/compare.json``, ``OUT/samples.png`` (each variant's
seed-0 samples beside the real data) and the HTML report ``OUT/report/index.html``; the text is printed.
Everything is checked before any training: the data file, the variants, the budget, the seeds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from baselines.atomic import write_text
from baselines.errors import ConfigError
from benchmark.compare import panel as panel_lib
from benchmark.data.registry import get_dataset


def figure(runs_root: Path, data: str, variants: list[str], path: Path) -> Path | None:
    """One image of every variant's seed-0 ``samples.png`` (real against generated), in panel order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.image import imread

    from benchmark.runs.run import RunSpec

    found = [(v, RunSpec(data, v, 0).folder(runs_root) / "samples.png") for v in variants]
    found = [(v, p) for v, p in found if p.exists()]
    if not found:
        return None
    cols = min(4, len(found))
    rows = -(-len(found) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (variant, png) in zip(axes.ravel(), found, strict=False):
        ax.imshow(imread(png))
        ax.set_title(variant, fontsize=9)
    fig.suptitle(f"{data}: seed 0 of each variant (each panel: real beside generated)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_command(args: argparse.Namespace, data_options: dict[str, Any]) -> int:
    from benchmark.reports import compare as stats
    from benchmark.reports import compare_text as render
    from benchmark.reports.tables import load_runs
    from benchmark.runs.suite import run_suite

    if args.backend == "ray":
        from benchmark.runs.ray_backend import require_ray

        require_ray()
    elif args.address:
        raise ConfigError("--address applies to --backend ray only")
    dataset = get_dataset(args.data, **data_options)  # the data file is read and checked here
    suite, line = panel_lib.plan(
        args.data,
        dataset,
        variants=args.variants,
        iters=args.iters,
        seeds=args.seeds,
        data_options=data_options,
    )
    if args.device is not None:
        for spec in suite.specs:
            spec.train["device"] = args.device
    variants = list(dict.fromkeys(s.variant for s in suite.specs))
    out = args.out or Path("compare") / _slug(args.data)
    runs_root = out / "runs"
    modes = getattr(dataset, "mode_rule", "") or f"{dataset.n_modes} modes of {dataset.name}"
    print(f"compare: {suite.description}")
    print(f"modes: {modes}; runs: {runs_root}")
    run_suite(
        suite,
        runs_root,
        jobs=args.jobs,
        threads=args.threads,
        backend=args.backend,
        address=args.address,
        batch=args.batch,
    )
    runs = load_runs(runs_root)
    runs = runs[runs["variant"].isin(variants) & (runs["seed"] < args.seeds)]
    labels = {v for v in variants if v in panel_lib.LABEL_USING}
    result = stats.compare(runs, control=panel_lib.CONTROL, uses_labels=labels)
    header = f"# Which mitigation on {args.data}?\n\nSettings: {line}; modes: {modes}.\n\n"
    write_text(out / "compare.md", header + render.markdown(result))
    record = {"data": args.data, "settings": line, "modes": modes, **render.to_dict(result)}
    write_text(out / "compare.json", json.dumps(record, indent=2, sort_keys=True) + "\n")
    grid = figure(runs_root, args.data, variants, out / "samples.png")
    from benchmark.reports.report import write_report

    report = write_report(runs_root, None, out / "report", f"compare-{_slug(args.data)}")
    print(render.text(result))
    print(f"written: {out / 'compare.md'}, {out / 'compare.json'}, report {report}")
    if grid is not None:
        print(f"samples of every variant beside the real data: {grid}")
    return 0


def _slug(data: str) -> str:
    from benchmark.runs.run import dataset_slug

    return dataset_slug(data)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``mcbench compare`` (the dataset options and --jobs/--threads/--batch are added
    by the CLI, as for ``suite``)."""
    p.add_argument("data", help="a dataset name, frames:PATH (videos or image folders) or vectors:PATH")
    p.add_argument(
        "--variants",
        nargs="+",
        default=None,
        metavar="VARIANT",
        help="the panel (gan, the control, is always in it; default: every label-free mitigation, and "
        "the label-using ones when the data has labels)",
    )
    p.add_argument(
        "--iters", type=int, default=None, help="iterations per run (default: 5,000 vectors, 1,500 images)"
    )
    p.add_argument("--seeds", type=int, default=panel_lib.DEFAULT_SEEDS, help="seeds per variant (default 3)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default compare/DATA)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N or mps")
