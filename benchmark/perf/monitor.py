"""The collapse monitor's cost at its default interval: the same DCGAN training with and without it.

    python -m benchmark.perf.monitor [--steps 500] [--rounds 3] [--threads 1]
        [--out results/perf_monitor.json]

The model is the monitor demo's tutorial DCGAN on MNIST (:mod:`baselines.tutorial_dcgan`,
batch 64), trained by a plain loop. Segments of ``--steps`` training steps alternate in one process,
in the order A B B A per round (A without the monitor, B with it, so a drift of the machine's speed
cancels), on one model that keeps training throughout. With the monitor, every step's four scalars go
to :meth:`~diagnostics.monitor.CollapseMonitor.log` and every ``sample_every`` steps (default 500) a
batch of ``n_samples`` (default 512) is generated and scored by
:meth:`~diagnostics.monitor.CollapseMonitor.observe` (modes through the MNIST classifier, duplicates
on pixels): both are counted as the monitor's. The overhead is the median with-monitor segment over
the median without, minus one; every thread pool (torch's and numpy's BLAS, through threadpoolctl)
is held to ``--threads``, since the monitor's detectors run on numpy. The one-off calibration on the
real data (building the monitor) is reported apart, and as a share of a 3,000-step run. Since the
segments themselves vary by several per cent, the time spent inside the monitor's calls (the sigmoid
means, ``log``, drawing the samples, ``observe``) is also clocked within each with-monitor segment and
reported as a share of it: a direct measure that the segment noise does not swamp.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as benchmark.perf.diagnostics

import torch  # noqa: E402
from torch import nn  # noqa: E402

from baselines.atomic import write_json  # noqa: E402
from baselines.tutorial_dcgan import BATCH, Z_DIM, Discriminator, Generator, init_weights  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=500, help="training steps per segment")
    p.add_argument("--rounds", type=int, default=3, help="rounds of A B B A segments")
    p.add_argument("--sample-every", type=int, default=500, help="the monitor's interval (its default)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="results/perf_monitor.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from benchmark.data.registry import get_dataset
    from benchmark.data.scoring import Scorer
    from diagnostics.modes import ClassifierModes
    from diagnostics.monitor import CollapseMonitor

    data = get_dataset("mnist")
    scorer = Scorer(data)
    _ = scorer.classifier  # loaded (or trained and cached) before anything is timed
    real = data.sample(2000, torch.Generator().manual_seed(1)).numpy()
    t = time.perf_counter()
    modes = ClassifierModes(scorer.classifier, data.n_modes, scorer.mode_threshold or 0.0)
    monitor = CollapseMonitor(real, modes=modes, sample_every=args.sample_every)
    build_s = time.perf_counter() - t

    G, D = Generator(), Discriminator()
    G.apply(init_weights)
    D.apply(init_weights)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(2)
    ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
    state = {"step": 0}
    inside: list[float] = []  # seconds spent in the monitor's own code, per with-monitor segment

    def segment(with_monitor: bool) -> float:
        start = time.perf_counter()
        spent = 0.0
        for _ in range(args.steps):
            step = state["step"]
            state["step"] += 1
            real_b = data.sample(BATCH, gen)
            out_r, out_f = D(real_b), D(G(torch.randn(BATCH, Z_DIM)).detach())
            d_loss = bce(out_r, ones) + bce(out_f, zeros)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = bce(D(G(torch.randn(BATCH, Z_DIM))), ones)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            if with_monitor:
                t0 = time.perf_counter()
                with torch.no_grad():
                    d_real, d_fake = torch.sigmoid(out_r).mean(), torch.sigmoid(out_f).mean()
                monitor.log(step, d_loss=d_loss, g_loss=g_loss, d_real=d_real, d_fake=d_fake)
                if monitor.wants_samples(step):
                    G.eval()
                    with torch.no_grad():
                        fake = G(torch.randn(monitor.n_samples, Z_DIM))
                    G.train()
                    monitor.observe(step, fake)
                spent += time.perf_counter() - t0
        if with_monitor:
            inside.append(spent)
        return time.perf_counter() - start

    from threadpoolctl import threadpool_limits

    without: list[float] = []
    with_: list[float] = []
    with threadpool_limits(limits=args.threads):  # numpy's BLAS too: the detectors run on numpy
        for _ in range(args.rounds):
            for flag in (False, True, True, False):
                (with_ if flag else without).append(segment(flag))
    a, b = statistics.median(without), statistics.median(with_)
    overhead = b / a - 1.0
    per_step = a / args.steps
    report = {
        "command": "python -m benchmark.perf.monitor",
        "steps_per_segment": args.steps,
        "rounds": args.rounds,
        "order": "A B B A per round (A without, B with the monitor)",
        "threads": args.threads,
        "sample_every": args.sample_every,
        "n_samples": monitor.n_samples,
        "segments_without_s": without,
        "segments_with_s": with_,
        "median_without_s": a,
        "median_with_s": b,
        "overhead": overhead,
        "monitor_code_s": inside,
        "monitor_code_share": sum(inside) / sum(with_),
        "observes_per_segment": len(monitor.history) / len(with_),
        "build_monitor_s": build_s,
        "build_share_of_3000_steps": build_s / (3000 * per_step),
        "train_step_ms": 1000 * per_step,
        "events_raised": len(monitor.events),
        "load_average_1min": os.getloadavg()[0],
        "cpu": platform.processor() or platform.machine(),
        "torch": str(torch.__version__),
    }
    print(
        f"DCGAN on MNIST, batch {BATCH}, {args.threads} thread(s): {1000 * per_step:.1f} ms a step; "
        f"monitor every {args.sample_every} steps ({monitor.n_samples} samples): overhead "
        f"{100 * overhead:+.2f} % (median of {len(with_)} segments of {args.steps} steps each way), "
        f"time inside the monitor's calls {100 * report['monitor_code_share']:.2f} %; "
        f"building it once: {build_s:.2f} s "
        f"({100 * report['build_share_of_3000_steps']:.1f} % of 3,000 steps)"
    )
    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
