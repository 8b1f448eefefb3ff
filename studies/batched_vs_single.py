"""Batched and single runs give coverage numbers no test tells apart: 5 seeds of each batchable
variant on ring8 (VEEGAN protocol, 2,000 iterations), once as one batched job and once as 5 single
runs, final modes and high-quality share compared seed by seed and with Welch's t-test.

    python -m studies.batched_vs_single [--iters 2000] [--seeds 5] [--jobs 2]
        [--variants a,b] [--out results/batched_vs_single.json]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from scipy import stats

from baselines import registry
from baselines.atomic import write_json
from benchmark.runs.batch import run_batch
from benchmark.runs.run import RunSpec, run

OPTIONS = {
    "minibatch-discrimination": {"kernels": 25, "compare_with": 64},
    "wgan-gp": {"gp_lambda": 0.1, "beta1": 0.5},
}
KEYS = ("modes_captured", "high_quality_score")


def one_variant(variant: str, seeds: int, iters: int, root: str) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    train = {"iters": iters, "eval_every": max(iters // 4, 50), "ckpt_every": 0, "device": "cpu"}
    specs = [
        RunSpec("ring8", variant, s, train=train, options=OPTIONS.get(variant, {})) for s in range(seeds)
    ]
    batched = run_batch(specs, Path(root) / "batched")
    single = [run(spec, Path(root) / "single") for spec in specs]
    out: dict[str, Any] = {"variant": variant, "seeds": seeds, "iters": iters}
    for key in KEYS:
        b = [float(s["metrics"][key]) for s in batched]
        a = [float(s["metrics"][key]) for s in single]
        if a == b or (max(a) == min(a) and max(b) == min(b)):
            p = 1.0 if a == b or a[0] == b[0] else 0.0
        else:
            p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
        same = sum(x == y for x, y in zip(a, b, strict=True))
        out[key] = {"single": a, "batched": b, "same_seeds": same, "welch_p": p}
    out["batched_with"] = [s.get("batched_with", 1) for s in batched]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--variants", default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    names = (
        args.variants.split(",")
        if args.variants
        else [n for n in registry.names() if registry.get(n).batchable]
    )
    with tempfile.TemporaryDirectory(prefix="batched-vs-single-") as tmp:
        roots = [str(Path(tmp) / n) for n in names]
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            rows = list(
                pool.map(one_variant, names, [args.seeds] * len(names), [args.iters] * len(names), roots)
            )
    for r in rows:
        parts = [
            f"{k}: single {sum(r[k]['single']) / len(r[k]['single']):.3f}, "
            f"batched {sum(r[k]['batched']) / len(r[k]['batched']):.3f}, "
            f"same on {r[k]['same_seeds']}/{r['seeds']} seeds, Welch p {r[k]['welch_p']:.2f}"
            for k in KEYS
        ]
        print(f"{r['variant']:26s} " + "; ".join(parts), flush=True)
    smallest = min((r[k]["welch_p"] for r in rows for k in KEYS), default=math.nan)
    result = {"dataset": "ring8", "protocol": "veegan", "rows": rows, "smallest_welch_p": smallest}
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
