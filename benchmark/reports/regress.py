"""Regression gate: run a suite (the smoke suite by default) with fresh run records and compare every
(dataset, variant) with a committed baseline (``results/baselines/<suite>.json``).

Why the tolerance is set from the spread between seeds: on CPU a seed reproduces its numbers exactly,
so an unchanged code base reproduces the baseline exactly and any difference comes from a change. A
harmless change (a reordered operation, one more random draw) moves the numbers about as much as
reseeding does; a harmful one moves them further. The seed-to-seed standard deviation ``std`` of each
metric is therefore the scale of "noise". The gate compares the mean over the same seeds; with ``n``
seeds on each side the difference of two means has a standard deviation of ``std * sqrt(2 / n)``,
which is ``std`` for the gate's 2 seeds, so ``K = 3`` standard deviations is a one-sided 3-sigma
test. Two seeds give a poor estimate of ``std`` (it is often exactly zero on short runs, where every
seed finds the same modes), so each metric also has an absolute floor, the smallest change that is
worth a red CI: half a mode (a mode lost in one seed of two), 5 points of high-quality percentage,
0.05 nats of KL. Tolerance = max(K * std, floor), and only the bad direction counts: fewer modes,
lower HQ, higher KL. A seed that diverged or failed where the baseline's was ok is a regression too.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from baselines.atomic import write_json
from baselines.errors import ConfigError
from benchmark.reports.tables import load_runs, metrics
from benchmark.runs.run import resolve, versions
from benchmark.runs.suite import Suite, load_suite, run_suite

K = 3.0
MIN_SEEDS = 2  # the tolerance needs a spread between seeds; a one-seed suite is run with seeds 0 and 1


def gated() -> dict[str, tuple[bool, float]]:
    """The metrics the gate checks, from the diagnostics registry (outputs declared with a
    ``gate_floor``): summary key -> (True where higher is better, absolute floor of the tolerance)."""
    return {o.key: (o.direction == "higher", o.gate_floor) for o in metrics() if o.gate_floor is not None}


EPS = 1e-9  # equal numbers printed differently must not fail the gate


@dataclass
class Regression:
    dataset: str
    variant: str
    metric: str
    baseline: str
    now: str
    tolerance: str

    def line(self) -> str:
        return (
            f"regression: {self.dataset} {self.variant} {self.metric}: baseline {self.baseline}, "
            f"now {self.now}, tolerance {self.tolerance}"
        )


def gate_seeds(suite: Suite, seeds: list[int] | None = None) -> list[int]:
    """The seeds the gate runs: ``seeds`` if given, else the suite's, extended to ``MIN_SEEDS``."""
    if seeds:
        if len(set(seeds)) < MIN_SEEDS:
            raise ConfigError(f"the regression gate needs at least {MIN_SEEDS} seeds, got {seeds}")
        return sorted(set(seeds))
    own = sorted({s.seed for s in suite.specs})
    extra = [s for s in range(MIN_SEEDS + len(own)) if s not in own]
    return own + extra[: max(0, MIN_SEEDS - len(own))]


def with_seeds(suite: Suite, seeds: list[int]) -> Suite:
    """The suite's (dataset, variant) runs, once per seed in ``seeds``."""
    firsts = {}
    for spec in suite.specs:
        firsts.setdefault((spec.dataset, spec.variant, spec.tag), spec)
    specs = [dataclasses.replace(spec, seed=s) for spec in firsts.values() for s in seeds]
    return Suite(suite.name, suite.description, specs)


def _nan_to_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _aggregate(grp: pd.DataFrame) -> dict[str, Any]:
    ok = grp[grp["status"] == "ok"]
    cell: dict[str, Any] = {"seeds": sorted(int(s) for s in grp["seed"]), "ok": int(len(ok)), "metrics": {}}
    for key, (higher, floor) in gated().items():
        values = ok[key].dropna().astype(float).to_numpy()
        mean = float(values.mean()) if len(values) else float("nan")
        std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        tol = max(K * std, floor) if std == std else floor
        cell["metrics"][key] = {
            "mean": _nan_to_none(mean),
            "std": _nan_to_none(std),
            "n": int(len(values)),
            "tolerance": tol,
            "better": "higher" if higher else "lower",
        }
    return cell


def cells(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per ``dataset/variant``: the seeds, how many ended ok, and per metric mean, std (over ok seeds
    that have a value), count and tolerance."""
    out = {}
    for (dataset, variant), grp in runs.groupby(["dataset", "variant"]):
        out[f"{dataset}/{variant}"] = {"dataset": dataset, "variant": variant, **_aggregate(grp)}
    return out


def make_baseline(runs: pd.DataFrame, suite_name: str) -> dict[str, Any]:
    return {
        "suite": suite_name,
        "seeds": sorted(int(s) for s in runs["seed"].unique()),
        "iters": int(runs["iters"].max()),
        "rule": (
            "regression when a metric's mean over the seeds is worse than the baseline mean by more than "
            "tolerance = max(k * std over seeds, floor), in the bad direction only; or fewer seeds end ok"
        ),
        "k": K,
        "floors": {key: floor for key, (_, floor) in gated().items()},
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "versions": versions(),
        "cells": cells(runs),
    }


def _num(x: float | None, key: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.2f}" if key == "modes_captured" else f"{x:.3f}"


def compare(baseline: dict[str, Any], runs: pd.DataFrame) -> list[Regression]:
    """Every way the runs are worse than the baseline, one entry per (cell, metric)."""
    now = cells(runs) if not runs.empty else {}
    found = []
    for name, base in baseline["cells"].items():
        d, v = base["dataset"], base["variant"]
        cur = now.get(name)
        if cur is None:
            found.append(Regression(d, v, "runs", f"{base['ok']} ok", "missing", "0"))
            continue
        if cur["ok"] < base["ok"]:
            n = len(cur["seeds"])
            found.append(
                Regression(d, v, "runs ok", f"{base['ok']}/{len(base['seeds'])}", f"{cur['ok']}/{n}", "0")
            )
            if cur["ok"] == 0:
                continue  # no metrics to compare
        for key, b in base["metrics"].items():
            if b["mean"] is None or key not in cur["metrics"]:
                continue  # nothing to compare against (e.g. KL where the baseline had no good sample)
            c = cur["metrics"][key]["mean"]
            tol = b["tolerance"]
            higher = b["better"] == "higher"
            worse = c is None or (c < b["mean"] - tol - EPS if higher else c > b["mean"] + tol + EPS)
            if worse:
                spread = f" ± {b['std']:.3f}" if b["std"] is not None else ""
                found.append(
                    Regression(
                        d,
                        v,
                        key,
                        _num(b["mean"], key) + spread,
                        _num(c, key),
                        f"{tol:.3f} ({b['better']} is better)",
                    )
                )
    return found


def load_baseline(path: Path) -> dict[str, Any]:
    import json

    if not Path(path).exists():
        raise ConfigError(f"no baseline at {path}; write one on purpose with `mcbench regress --update`")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def run_gate(
    suite_name: str,
    baseline_path: Path | None = None,
    update: bool = False,
    seeds: list[int] | None = None,
    out: Path | None = None,
    jobs: int = 1,
    threads: int | None = None,
    progress: bool = False,
    echo: Any = print,
) -> int:
    """Run the suite's gate and compare (exit code 1 naming each regression, 0 when none), or with
    ``update`` write the baseline. Run records go to ``out`` (kept; finished runs there are reused) or
    to a temporary folder that is removed afterwards."""
    suite = load_suite(suite_name)
    seeds = gate_seeds(suite, seeds)
    suite = with_seeds(suite, seeds)
    path = Path(baseline_path or Path("results/baselines") / f"{suite.name}.json")
    baseline = None if update else load_baseline(path)
    if baseline is not None and baseline.get("seeds") != seeds:
        raise ConfigError(
            f"{path} was made with seeds {baseline.get('seeds')}, this gate runs {seeds}; pass --seeds "
            "to match, or rewrite it with --update"
        )
    iters = resolve(suite.specs[0])["train"]["iters"] if suite.specs else 0
    if baseline is not None and baseline.get("iters") != iters:
        raise ConfigError(
            f"{path} was made with {baseline.get('iters')} iterations, the suite runs {iters}; "
            "rewrite the baseline with --update"
        )
    root = Path(out) if out else Path(tempfile.mkdtemp(prefix="mcbench-regress-"))
    try:
        # batch=1: the committed baselines were recorded from single runs; a batched job gives the same
        # numbers only up to float32 summation order, which some variants amplify (tests/test_batched.py).
        results = run_suite(suite, root, jobs=jobs, progress=progress, threads=threads, batch=1)
        runs = load_runs(root)
    finally:
        if out is None:
            shutil.rmtree(root, ignore_errors=True)
    bad = [r for r in results if r.get("status") != "ok"]
    for r in bad:
        echo(f"  {r['dataset']}/{r['variant']}/seed{r['seed']}: {r['status']} {r.get('error', '')}")
    if update:
        write_json(path, make_baseline(runs, suite.name))
        echo(f"baseline written: {path} ({len(runs)} runs, seeds {seeds}, {len(bad)} not ok)")
        return 0
    regressions = compare(baseline, runs)
    for reg in regressions:
        echo(reg.line())
    new = sorted(set(cells(runs)) - set(baseline["cells"]))
    if new:
        echo(f"not in the baseline (not compared): {', '.join(new)}")
    n = len(baseline["cells"])
    if regressions:
        echo(f"{len(regressions)} regression(s) against {path} ({n} dataset/variant cells, seeds {seeds})")
        return 1
    echo(f"no regressions: {n} dataset/variant cells match {path} within tolerance (seeds {seeds})")
    return 0


def parse_seeds(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise ConfigError(f"--seeds expects comma-separated integers, got {text!r}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_gate("smoke", progress=True))
