"""Gate power: how often the regression gate catches each mutant, and how often it fires on unbroken
code with fresh seeds (its false alarms).

For each mutant of :mod:`benchmark.gate.mutants` the gate suite's runs of the mutated variant (every
dataset of the suite) are rerun with the mutant, with ``reps`` fresh pairs of seeds (2-3, 4-5, ...; the
baseline's are 0-1), and compared with the committed baseline's cells of that variant by the gate's own
rule (:func:`benchmark.reports.regress.compare`). A repetition in which any cell regresses is a
detection. The same is done for the unbroken variants: a regression there is a false alarm.

    python -m benchmark.gate.power [--suite smoke] [--reps 3] [--mutants a,b] [--unbroken a,b] [--jobs 2]
        [--out results/gate_power.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from baselines.atomic import write_json
from benchmark.gate.mutants import MUTANTS, Mutant, mutants_registered, register_mutants
from benchmark.reports.regress import compare, load_baseline, with_seeds
from benchmark.reports.tables import load_runs
from benchmark.runs.run import RunSpec, run
from benchmark.runs.suite import load_suite


def _specs(
    suite_name: str, variant: str, mutant: Mutant | None, seeds: list[int], datasets: list[str] | None
) -> list[RunSpec]:
    suite = with_seeds(load_suite(suite_name), seeds)
    out = []
    for spec in suite.specs:
        if spec.variant != variant or (datasets and spec.dataset not in datasets):
            continue
        if mutant is not None:
            spec = dataclasses.replace(
                spec,
                variant=mutant.run_variant,
                options={**spec.options, **mutant.options},
                train={**spec.train, **mutant.train},
            )
        out.append(spec)
    return out


def _run_one(spec: RunSpec, root: str, threads: int) -> dict[str, Any]:
    return run(spec, Path(root), threads=threads)


def _execute(specs: list[RunSpec], root: Path, jobs: int, threads: int) -> None:
    if jobs <= 1:  # in this process: main() holds the mutants registered
        for spec in specs:
            _run_one(spec, str(root), threads)
        return
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=register_mutants) as pool:
        list(pool.map(_run_one, specs, [str(root)] * len(specs), [threads] * len(specs)))


def _verdict(baseline: dict[str, Any], variant: str, folder: Path, datasets: list[str] | None) -> list[str]:
    """The gate's regression lines for ``variant``'s cells, the runs in ``folder`` relabelled as it."""
    cells = {
        k: c
        for k, c in baseline["cells"].items()
        if c["variant"] == variant and (not datasets or c["dataset"] in datasets)
    }
    runs = load_runs(folder)
    if not runs.empty:
        runs = runs.assign(variant=variant)
    return [r.line() for r in compare({**baseline, "cells": cells}, runs)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure and print; the mutants are registered in this process only while it runs (pool
    workers register them at start)."""
    with mutants_registered():
        return _main(argv)


def _main(argv: list[str] | None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="smoke")
    p.add_argument("--reps", type=int, default=3, help="fresh seed pairs per mutant and per unbroken variant")
    p.add_argument("--mutants", default=None, help="comma-separated mutant names (default: all)")
    p.add_argument(
        "--unbroken", default=None, help="variants to rerun unbroken (default: every mutated one; 'none')"
    )
    p.add_argument("--datasets", default=None, help="only these of the suite's datasets (default: all)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="threads per run (default: cores / jobs)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    datasets = args.datasets.split(",") if args.datasets else None
    mutants = [m for m in MUTANTS if args.mutants is None or m.name in args.mutants.split(",")]
    if args.unbroken == "none":
        unbroken = []
    else:
        unbroken = args.unbroken.split(",") if args.unbroken else sorted({m.of for m in mutants})
    baseline = load_baseline(Path("results/baselines") / f"{args.suite}.json")
    threads = args.threads or max(1, (os.cpu_count() or 1) // max(args.jobs, 1))
    pairs = [[2 + 2 * r, 3 + 2 * r] for r in range(args.reps)]
    groups: list[tuple[str, str, Mutant | None, list[int]]] = []
    for m in mutants:
        groups += [(m.name, m.of, m, seeds) for seeds in pairs]
    for v in unbroken:
        groups += [(v, v, None, seeds) for seeds in pairs]
    with tempfile.TemporaryDirectory(prefix="gate-power-") as tmp:
        folders = {}
        specs = []
        for i, (_label, variant, mutant, seeds) in enumerate(groups):
            folders[i] = Path(tmp) / f"g{i}"
            specs += [(folders[i], s) for s in _specs(args.suite, variant, mutant, seeds, datasets)]
        by_folder: dict[Path, list[RunSpec]] = {}
        for folder, spec in specs:
            by_folder.setdefault(folder, []).append(spec)
        for folder, group_specs in by_folder.items():
            _execute(group_specs, folder, args.jobs, threads)
        rows: dict[str, dict[str, Any]] = {}
        for i, (label, variant, mutant, seeds) in enumerate(groups):
            lines = _verdict(baseline, variant, folders[i], datasets)
            row = rows.setdefault(
                label,
                {
                    "of": variant,
                    "kind": "mutant" if mutant else "unbroken",
                    "breaks": mutant.breaks if mutant else "",
                    "reps": [],
                },
            )
            row["reps"].append({"seeds": seeds, "flagged": bool(lines), "regressions": lines})
    for label, row in rows.items():
        row["rate"] = sum(r["flagged"] for r in row["reps"]) / len(row["reps"])
        what = "detected" if row["kind"] == "mutant" else "false alarms"
        print(f"{label:36s} {what}: {sum(r['flagged'] for r in row['reps'])}/{len(row['reps'])}", flush=True)
    result = {
        "suite": args.suite,
        "baseline_seeds": baseline["seeds"],
        "rule": baseline["rule"],
        "reps": args.reps,
        "datasets": datasets or "all",
        "rows": rows,
    }
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
