"""Harness overhead: the shared trainer's iterations per second against a minimal plain PyTorch loop.

Both train the same networks (VEEGAN-protocol MLPs, batch 512, latent 256) on the same ring8 sampler
with the same non-saturating losses and Adam settings, in the same process. The trainer runs with
everything a real run uses (metrics log, periodic coverage evaluation, atomic checkpoints at the
default cadence). Rounds alternate which loop goes first; the reported overhead is the median of
the per-round ratios, so a noisy neighbour on a shared machine affects both sides of a ratio alike.

    python -m benchmark.perf.training [--iters 2000] [--rounds 5] [--threads N] [--out results/perf.json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from baselines import registry
from baselines.atomic import write_json
from baselines.config import TrainConfig
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset
from benchmark.data.scoring import Scorer
from benchmark.runs.hooks import CoverageEval, JsonlLog


def plain_loop(iters: int, cfg: TrainConfig, seed: int) -> float:
    """The baseline: nothing but the two updates. Returns iterations per second."""
    ds = get_dataset("ring8")
    torch.manual_seed(seed)
    v = registry.build("gan", ds.problem, cfg)  # same networks and optimizers, used by hand
    g, d, opt_g, opt_d = v.generator, v.discriminator, v.opt_g, v.opt_d
    gen = torch.Generator().manual_seed(seed)
    n, zd = cfg.batch_size, cfg.z_dim
    start = time.perf_counter()
    for _ in range(iters):
        real = ds.sample(n, gen)
        with torch.no_grad():
            fake = g(torch.randn(n, zd, generator=gen))
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-d(g(torch.randn(n, zd, generator=gen)))).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    return iters / (time.perf_counter() - start)


def harness(iters: int, cfg: TrainConfig, seed: int, folder: Path) -> float:
    """The shared trainer with the benchmark's own hooks. Returns iterations per second."""
    ds = get_dataset("ring8")
    torch.manual_seed(seed)
    v = registry.build("gan", ds.problem, cfg)
    hooks = [CoverageEval(Scorer(ds), cfg.eval_samples, seed), JsonlLog(folder / "metrics.jsonl")]
    trainer = Trainer(v, ds, cfg, hooks=hooks, checkpoint=folder / "checkpoint.pt")
    start = time.perf_counter()
    trainer.fit()
    return iters / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    # A real run's defaults: log every 50, evaluate every 1000, checkpoint every 2500 and at the end.
    # With 2,000 iterations a round holds as many evaluations per iteration as a 25k run and a few
    # more checkpoints (one per round against ten per 25k), so the overhead is not understated.
    cfg = TrainConfig(iters=args.iters, device="cpu")
    plain_loop(50, cfg, 0)  # warm-up: first calls allocate
    rounds = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            if r % 2 == 0:
                p_ips = plain_loop(args.iters, cfg, r)
                h_ips = harness(args.iters, cfg, r, Path(tmp))
            else:
                h_ips = harness(args.iters, cfg, r, Path(tmp))
                p_ips = plain_loop(args.iters, cfg, r)
        rounds.append({"plain_it_per_s": p_ips, "trainer_it_per_s": h_ips, "ratio": h_ips / p_ips})
        print(f"round {r}: plain {p_ips:.1f} it/s, trainer {h_ips:.1f} it/s, ratio {h_ips / p_ips:.3f}")
    ratio = statistics.median(x["ratio"] for x in rounds)
    result = {
        "iters_per_round": args.iters,
        "threads": torch.get_num_threads(),
        "rounds": rounds,
        "median_ratio_trainer_over_plain": ratio,
        "harness_overhead_percent": 100 * (1 - ratio),
        "goal_overhead_percent": 5.0,
        "torch": torch.__version__,
    }
    print(f"harness overhead: {100 * (1 - ratio):.1f}% (median of {args.rounds} rounds; goal <= 5%)")
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
