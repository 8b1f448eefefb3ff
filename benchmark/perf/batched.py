"""Batched jobs against single runs: training throughput per CPU core, as ratios measured in one process.

For every batchable variant on ring8 (the VEEGAN protocol: batch 512, latent 256, 128-unit MLPs) and
for ``gan`` on stacked MNIST (the stacked-mnist suite's small DCGAN: width 16, batch 64, latent 100),
K runs (K = 1, 5, 10 by default) are trained once as K single runs one after the other and once as
one batched job (:meth:`baselines.trainer.Trainer.batched`), both through the shared trainer with no
evaluation hooks, on the threads given (1 by default). Rounds alternate which goes first; a ratio is
the median over rounds of (time of K single runs) / (time of the batched job), so > 1 means the batched
job is faster. Variants that cannot be batched are listed with the reason.

The arithmetic bound: for ``gan`` on ring8 the matrix products of one step (shapes recorded with the
profiler from a real step) are replayed alone, and the step time per run is reported as a multiple of
them, for single runs and for the batched job at the largest K.

    python -m benchmark.perf.batched [--iters 40] [--rounds 3] [--ks 1,5,10] [--out results/perf_batched.json]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from baselines import registry
from baselines.atomic import write_json
from baselines.config import NetConfig, TrainConfig
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset

# Options of the VEEGAN-protocol suite where a variant's paper settings do not fit a CPU.
RING_OPTIONS: dict[str, dict[str, Any]] = {
    "minibatch-discrimination": {"kernels": 25, "compare_with": 64},
    "wgan-gp": {"gp_lambda": 0.1, "beta1": 0.5},
}
IMAGE_TRAIN = {"batch_size": 64, "z_dim": 100, "net": NetConfig(conv_width=16)}
# The products that run: a single run's mm/addmm; in a batched job the bmm/baddbmm its vmapped
# mm/addmm dispatch to (the profiler lists both levels there, so only the lower one is counted).
MATMUL_OPS = {False: ("aten::mm", "aten::addmm"), True: ("aten::bmm", "aten::baddbmm")}


def _cfg(dataset: str, seed: int, iters: int) -> TrainConfig:
    extra = IMAGE_TRAIN if dataset == "stacked-mnist" else {}
    return TrainConfig(iters=iters, seed=seed, device="cpu", eval_every=iters, ckpt_every=0, **extra)


def _views(name: str, data: Any, dataset: str, k: int, iters: int) -> tuple[list[Any], list[TrainConfig]]:
    cfgs = [_cfg(dataset, s, iters) for s in range(k)]
    views = []
    for c in cfgs:
        torch.manual_seed(c.seed)
        views.append(registry.build(name, data.problem, c, RING_OPTIONS.get(name, {})))
    return views, cfgs


def time_singles(name: str, data: Any, dataset: str, k: int, iters: int) -> float:
    """Seconds of training for k single runs, one after the other (construction not timed)."""
    views, cfgs = _views(name, data, dataset, k, iters)
    trainers = [Trainer(v, data, c) for v, c in zip(views, cfgs, strict=True)]
    start = time.perf_counter()
    for t in trainers:
        t.fit()
    return time.perf_counter() - start


def time_batched(name: str, data: Any, dataset: str, k: int, iters: int) -> float:
    """Seconds of training for the same k runs as one batched job."""
    views, cfgs = _views(name, data, dataset, k, iters)
    trainer = Trainer.batched(views, data, cfgs)
    start = time.perf_counter()
    trainer.fit()
    return time.perf_counter() - start


def _replay(op: str, shapes: list[list[int]], repeats: int = 20) -> float:
    """Seconds one call of matrix product ``op`` takes on inputs of ``shapes`` (median of repeats)."""
    args = [torch.randn(*s) for s in shapes if s]
    fn = {"aten::mm": torch.mm, "aten::addmm": torch.addmm, "aten::bmm": torch.bmm}.get(op, torch.baddbmm)
    fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_seconds_per_step(name: str, data: Any, k: int, batched: bool, steps: int = 5) -> float:
    """The time the matrix products of one training step take alone (all k runs), replayed from the
    shapes the profiler records in ``steps`` real steps."""
    from torch.profiler import profile, record_function

    views, cfgs = _views(name, data, "ring8", k, steps)
    trainer = Trainer.batched(views, data, cfgs) if batched else Trainer(views[0], data, cfgs[0])
    with profile(record_shapes=True) as prof, record_function("steps"):
        trainer.fit()
    total = 0.0
    for event in prof.events():
        if event.name in MATMUL_OPS[batched]:
            total += _replay(event.name, [list(s) for s in event.input_shapes])
    return total / steps


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--iters", type=int, default=40, help="iterations per run on ring8 (stacked MNIST: a quarter)"
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--ks", default="1,5,10")
    p.add_argument("--variants", default=None, help="comma-separated (default: every batchable variant)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-images", action="store_true", help="skip gan on stacked MNIST")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    ks = [int(k) for k in args.ks.split(",")]
    names = (
        args.variants.split(",")
        if args.variants
        else [n for n in registry.names() if registry.get(n).batchable]
    )
    cases = [("ring8", n, ks, args.iters) for n in names]
    if not args.no_images:
        cases.append(("stacked-mnist", "gan", [k for k in ks if k <= 5], max(2, args.iters // 4)))
    data = {d: get_dataset(d) for d in {c[0] for c in cases}}
    for dataset, name, _, _iters in cases:  # warm-up: first calls allocate and load
        time_singles(name, data[dataset], dataset, 1, 3)
        time_batched(name, data[dataset], dataset, 2, 3)
    rows: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    for r in range(args.rounds):
        for dataset, name, case_ks, iters in cases:
            for k in case_ks:
                first, second = (time_singles, time_batched) if r % 2 == 0 else (time_batched, time_singles)
                a = first(name, data[dataset], dataset, k, iters)
                b = second(name, data[dataset], dataset, k, iters)
                singles, batched = (a, b) if r % 2 == 0 else (b, a)
                rows.setdefault((dataset, name, k), []).append({"singles_s": singles, "batched_s": batched})
                per = 1e3 / (k * iters)
                print(
                    f"round {r} {dataset} {name} K={k}: singles {per * singles:.2f} ms/run-step, "
                    f"batched {per * batched:.2f}, ratio {singles / batched:.2f}",
                    flush=True,
                )
    results = []
    for (dataset, name, k), rounds in rows.items():
        iters = next(c[3] for c in cases if c[0] == dataset and c[1] == name)
        results.append(
            {
                "dataset": dataset,
                "variant": name,
                "k": k,
                "iters": iters,
                "ratio_singles_over_batched": statistics.median(
                    x["singles_s"] / x["batched_s"] for x in rounds
                ),
                "single_ms_per_run_step": 1e3
                * statistics.median(x["singles_s"] for x in rounds)
                / (k * iters),
                "batched_ms_per_run_step": 1e3
                * statistics.median(x["batched_s"] for x in rounds)
                / (k * iters),
                "rounds": rounds,
            }
        )
    arithmetic = {}
    if "gan" in names:
        kmax = max(ks)
        single = next(x for x in results if x["dataset"] == "ring8" and x["variant"] == "gan" and x["k"] == 1)
        big = next(x for x in results if x["dataset"] == "ring8" and x["variant"] == "gan" and x["k"] == kmax)
        mm_single = 1e3 * matmul_seconds_per_step("gan", data["ring8"], 1, batched=False)
        mm_batched = 1e3 * matmul_seconds_per_step("gan", data["ring8"], kmax, batched=True) / kmax
        arithmetic = {
            "matmul_ms_per_step_single": mm_single,
            "matmul_ms_per_run_step_batched": mm_batched,
            "k": kmax,
            "single_step_over_matmul": single["single_ms_per_run_step"] / mm_single,
            "batched_run_step_over_matmul": big["batched_ms_per_run_step"] / mm_batched,
            "goal_batched_over_matmul": 2.0,
        }
        print(
            f"gan ring8: single step {arithmetic['single_step_over_matmul']:.2f}x its matrix products "
            f"({mm_single:.2f} ms); batched K={kmax} {arithmetic['batched_run_step_over_matmul']:.2f}x "
            f"({mm_batched:.2f} ms per run)"
        )
    out = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "rounds": args.rounds,
        "results": results,
        "arithmetic": arithmetic,
        "not_batchable": {
            n: registry.get(n).not_batchable_reason for n in registry.names() if not registry.get(n).batchable
        },
    }
    if args.out:
        write_json(args.out, out)
    return out


if __name__ == "__main__":
    main()
