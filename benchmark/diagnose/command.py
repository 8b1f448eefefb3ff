"""``mcbench diagnose``: is a GAN mode-collapsed? A verdict with its evidence, from samples of any GAN.

    mcbench diagnose --real REAL --fake FAKE [--dataset NAME] [--log HISTORY] [--json] [--out PATH]

**Inputs** are read by :mod:`benchmark.diagnose.inputs` (images, arrays, tensor files, torch.export
and TorchScript generators; nothing is unpickled), which documents the shapes and pixel ranges it
accepts and how images of different sizes or channels are brought to one shape (listed in the report's
``inputs.conversions`` and notes; ``--no-resize``, ``resize=False``, refuses them instead).

**Mode structure.** With a mixture ``--dataset`` (ring8, grid25, ...) each sample is assigned to its
nearest centre and counts when within 3 sigma (VEEGAN protocol, :func:`diagnostics.mixture_coverage`);
with an image ``--dataset`` its mode classifier labels the samples (:class:`benchmark.data.scoring.Scorer`'s
protocol and confidence threshold; the classifier is loaded from the cache, or trained and cached).
Modes are named with the dataset's mode names. Without ``--dataset`` the modes are unknown, so the
K-means cells that NDB fits on REAL serve as pseudo-modes ("bins"), each named by its number and the
REAL sample nearest its centre (a file name for image folders, ``#index`` otherwise).

**Feature spaces.** ``raw``: vectors as they are, images as pixels in [-1, 1]; above 512 values per
sample they go through a seeded Gaussian random projection to 256 (``raw-rp256``), which keeps
distances to about 9 % and, unlike a PCA fitted on REAL, treats REAL and FAKE alike.
``classifier``: the penultimate layer of an image dataset's mode classifier. ``inception-v3-compat``:
only with ``--inception-weights`` or the file already in torch's hub cache (checked first with
``torch.load(weights_only=True)``); otherwise the report says why the column is empty. Nothing is
downloaded. Frechet and kernel distances are computed in every available space; the neighbour,
NDB, duplicate and birthday diagnostics in the primary space (classifier, else Inception, else raw).
Precision/recall/density/coverage and NDB use at most ``--max-samples`` rows of each set (seeded);
duplicates compare the pairs of one batch of 1,000; the birthday test uses batches up to 1,000.

The verdict and its rules: :mod:`benchmark.diagnose.verdict`.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from baselines.config import at_least
from baselines.errors import ConfigError
from benchmark.diagnose.convert import caveats
from benchmark.diagnose.inputs import (
    MIN_SAMPLES,
    PIXEL_RANGES,
    Samples,
    add_input_arguments,
    last_line,
    load_samples,
    match_shapes,
    real_from_dataset,
)
from benchmark.diagnose.text import render_text
from benchmark.diagnose.verdict import (
    THRESHOLDS,
    VERDICTS,
    bin_modes,
    classifier_modes,
    judge,
    mixture_modes,
    mode_summary,
)

FAIL_ON = {"partial": "partially collapsed", "collapsed": "collapsed"}  # --fail-on LEVEL -> verdict
FAILED = 1  # the exit code of a verdict at or above --fail-on (bad input keeps 2)
MAX_RAW_DIM = 512
PROJECTION_DIM = 256
INCEPTION = "inception-v3-compat"


# ---------------------------------------------------------------------------------- feature spaces


def _inception_file(path: str | Path | None) -> tuple[Path | None, str]:
    """The Inception weights to use (checked to load without pickled code), or why there are none."""
    import torch

    from diagnostics.features import FeatureSpaceUnavailableError, inception_weights

    try:
        found = inception_weights(path)
    except FeatureSpaceUnavailableError:
        if path is not None:
            raise ConfigError(f"--inception-weights {path}: no such file") from None
        from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

        return None, (
            "empty: no Inception-v3 weights (none given, none in torch's hub cache "
            f"{Path(torch.hub.get_dir()) / 'checkpoints'}); nothing is downloaded. Pass --inception-weights "
            f"PATH (torch-fidelity's {URL_INCEPTION_V3.rsplit('/', 1)[-1]}) for the Inception column"
        )
    try:  # torch-fidelity itself loads with weights_only=False: refuse files that would run code
        torch.load(found, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        problem = f"does not load as plain weights (weights_only=True): {last_line(exc)}"
        if path is not None:
            raise ConfigError(f"--inception-weights {found}: {problem}") from None
        return None, f"empty: {found} {problem}"
    return found, ""


def _feature_spaces(
    real: Samples, fake: Samples, classifier: Any, inception: str | Path | None, seed: int, notes: list[str]
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, str]]:
    from diagnostics.features import extract_features

    r, f = extract_features(real.data, "raw")[0], extract_features(fake.data, "raw")[0]
    raw = "raw"
    if r.shape[1] > MAX_RAW_DIM:
        # A seeded Gaussian (Johnson-Lindenstrauss) projection treats REAL and FAKE alike. A PCA fitted
        # on REAL would not: with n not far above d it also fits REAL's own noise, so FAKE would look
        # tighter than REAL (measured: 23 % near-duplicate FAKE pairs for FAKE drawn like REAL).
        rng = np.random.default_rng([seed, 7])
        proj = rng.standard_normal((r.shape[1], PROJECTION_DIM), dtype=np.float32)
        proj /= np.float32(math.sqrt(PROJECTION_DIM))
        r, f = r @ proj, f @ proj
        raw = f"raw-rp{PROJECTION_DIM}"
        notes.append(
            f"raw space: {real.data[0].size} values per sample mapped by a seeded Gaussian random projection "
            f"to {PROJECTION_DIM} (distances kept to about +-{100 * math.sqrt(2 / PROJECTION_DIM):.0f} %)"
        )
    spaces = {raw: (r, f)}
    if classifier is not None:
        spaces["classifier"] = tuple(
            extract_features(s.data, "classifier", classifier=classifier)[0] for s in (real, fake)
        )
    unavailable = {}
    if not real.is_image:
        unavailable[INCEPTION] = "empty: the samples are vectors, not images"
    else:
        weights, reason = _inception_file(inception)
        if weights is None:
            unavailable[INCEPTION] = reason
        else:
            spaces[INCEPTION] = tuple(
                extract_features(s.data, "inception", feature_extractor_weights_path=weights)[0]
                for s in (real, fake)
            )
    return spaces, unavailable


# -------------------------------------------------------------------------------------- the command


def _pick(n: int, most: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= most else np.sort(rng.choice(n, most, replace=False))


def _history(path: str | Path, data: Any, d_loss_kind: str, **read: Any) -> dict[str, Any]:
    from diagnostics.history import HistoryError, read_history, run_detectors

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            history, read_as = read_history(path, **read)  # read: columns, log_format
        except HistoryError as exc:
            raise ConfigError(f"LOG {exc}") from None
    events = run_detectors(history, n_modes=getattr(data, "n_modes", None), d_loss_kind=d_loss_kind)
    return {
        "path": str(path),
        "format": read_as,
        "rows": len(history["step"]),
        "columns": sorted(history),
        "events": [e.to_dict() for e in events],
        "warnings": [str(w.message) for w in caught],
    }


def diagnose(
    real: str | Path | None,
    fake: str | Path,
    *,
    dataset: str | None = None,
    data_options: dict[str, Any] | None = None,
    log: str | Path | None = None,
    log_columns: Any = None,
    log_format: str = "auto",
    z_dim: int | None = None,
    num_samples: int | None = None,
    seed: int = 0,
    pixel_range: str = "auto",
    resize: bool = True,
    inception_weights: str | Path | None = None,
    max_samples: int = 10000,
    bins: int | None = None,
    d_loss_kind: str = "cross-entropy",
    min_accuracy: float = 0.95,
) -> dict[str, Any]:
    """Load REAL and FAKE, compute the diagnostics and return the report (a JSON-ready dict).

    Arguments are the command-line options (module docstring). Raises :class:`ConfigError` with one
    line naming the file and the problem for any bad input; nothing is written here.
    """
    import diagnostics
    from benchmark.data.datasets import MixtureDataset
    from benchmark.data.registry import get_dataset
    from diagnostics.errors import ClassifierTooWeakError

    if pixel_range != "auto" and pixel_range not in PIXEL_RANGES:
        raise ConfigError(
            f"--pixel-range must be auto or one of {', '.join(PIXEL_RANGES)}, got {pixel_range!r}"
        )
    if (
        max_samples < MIN_SAMPLES
        or (bins is not None and bins < 2)
        or (num_samples is not None and num_samples < 1)
    ):
        raise ConfigError(f"--max-samples must be >= {MIN_SAMPLES}, --bins >= 2 and --num-samples >= 1")
    data = get_dataset(dataset, **(data_options or {})) if dataset else None
    mixture = isinstance(data, MixtureDataset)
    image_shape = None if data is None or mixture else tuple(data.shape)
    history = _history(log, data, d_loss_kind, columns=log_columns, log_format=log_format) if log else None
    load = {
        "z_dim": z_dim,
        "num_samples": num_samples,
        "pixel_range": pixel_range,
        "image_shape": image_shape,
    }
    real_s = None if real is None else load_samples(real, "REAL", seed=seed + 1, **load)
    fake_s = load_samples(fake, "FAKE", seed=seed, **load)
    if real_s is None:
        if data is None:
            raise ConfigError(
                "--real is required without --dataset (REAL is drawn from the dataset otherwise)"
            )
        real_s = real_from_dataset(data, num_samples or fake_s.data.shape[0], seed)
    conversions = match_shapes(real_s, fake_s, data, resize=resize)

    notes: list[str] = [*conversions, *caveats(conversions)]
    true_modes, classifier = None, None
    if mixture:
        true_modes = mixture_modes(data, real_s, fake_s)
    elif data is not None:
        from benchmark.data.scoring import Scorer

        scorer = Scorer(data, cache_dir=(data_options or {}).get("cache_dir"), min_accuracy=min_accuracy)
        try:
            true_modes = classifier_modes(data, real_s, fake_s, scorer)
            classifier = scorer.classifier
        except ClassifierTooWeakError as exc:  # advise the option by both its names
            option = "--min-accuracy (min_accuracy)"
            advice = ClassifierTooWeakError(exc.accuracy, exc.min_accuracy, option=option)
            notes.append(f"mode coverage and the classifier space are empty: {advice}")

    spaces, unavailable = _feature_spaces(real_s, fake_s, classifier, inception_weights, seed, notes)
    metrics: dict[str, dict[str, float]] = {}
    for space, (r, f) in spaces.items():
        metrics[space] = diagnostics.evaluate(["frechet_distance", "kernel_distance"], r, f, seed=seed)
    primary = (
        "classifier" if "classifier" in spaces else INCEPTION if INCEPTION in spaces else next(iter(spaces))
    )
    r, f = spaces[primary]
    rng = np.random.default_rng(seed)
    ri, fi = _pick(len(r), max_samples, rng), _pick(len(f), max_samples, rng)
    if len(ri) < len(r) or len(fi) < len(f):
        notes.append(
            f"precision/recall/density/coverage and NDB on {len(ri):,} of {len(r):,} REAL and {len(fi):,} of "
            f"{len(f):,} FAKE samples (random, seed {seed}; --max-samples)"
        )
    k = bins or min(100, max(2, len(ri) // 50))
    if k > len(ri):
        raise ConfigError(f"--bins {k} is more than the {len(ri)} REAL samples")
    metrics[primary].update(diagnostics.evaluate(["prdc", "ndb"], r[ri], f[fi], ndb_bins=k, seed=seed))
    metrics[primary].update(diagnostics.evaluate(["duplicate_rate", "birthday_support"], r, f, seed=seed))
    notes.append(
        "near-duplicates: all pairs of one random batch of up to 1,000 samples per set, threshold the 1 % "
        "quantile of REAL nearest-neighbour distances; birthday test: 20 batches of up to 1,000"
    )

    if true_modes is not None:
        modes = mode_summary(true_modes, len(real_s.data), len(fake_s.data))
    else:
        modes = mode_summary(bin_modes(r[ri], f[fi], ri, k, seed, real_s, primary), len(ri), len(fi))
    verdict, evidence = judge(modes, metrics[primary], primary, history["events"] if history else [])
    return _clean(
        {
            "verdict": verdict,
            "evidence": evidence,
            "inputs": {
                "real": real_s.describe(),
                "fake": fake_s.describe(),
                "conversions": conversions,
                "dataset": dataset,
                "log": str(log) if log else None,
                "seed": seed,
            },
            "modes": modes,
            "primary_space": primary,
            "metrics": metrics,
            "unavailable": unavailable,
            "history": history,
            "notes": notes,
            "thresholds": dict(THRESHOLDS),
        }
    )


def _clean(obj: Any) -> Any:
    """JSON-ready: numpy scalars to Python, non-finite floats to None (strict JSON has no inf/nan)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run_command(args: Any) -> int:
    """``mcbench diagnose``: compute, print text or JSON, and write the JSON report atomically to
    ``--out`` when given (nothing is written unasked)."""
    import json

    from baselines.atomic import write_json

    if not 0.0 <= args.min_accuracy <= 1.0:
        raise ValueError(f"--min-accuracy must be in [0, 1], got {args.min_accuracy}")
    report = _report(args)
    if args.out is not None:
        try:
            write_json(args.out, report)
        except OSError as exc:  # the folder was checked as the options were read; this failed since
            raise ConfigError(f"--out {args.out}: {exc.strerror or exc}") from None
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else render_text(report, args.out))
    fail_on = getattr(args, "fail_on", None)
    if fail_on is not None and VERDICTS.index(report["verdict"]) >= VERDICTS.index(FAIL_ON[fail_on]):
        return FAILED
    return 0


def _report(args: Any) -> dict[str, Any]:
    return diagnose(
        args.real,
        args.fake,
        dataset=args.dataset,
        data_options=args.data_options,
        log=args.log,
        log_columns=getattr(args, "log_column", None),
        log_format=getattr(args, "log_format", "auto"),
        z_dim=args.z_dim,
        num_samples=args.num_samples,
        seed=args.seed,
        pixel_range=args.pixel_range,
        resize=not getattr(args, "no_resize", False),
        inception_weights=args.inception_weights,
        max_samples=args.max_samples,
        bins=args.bins,
        d_loss_kind=args.d_loss_kind,
        min_accuracy=args.min_accuracy or None,
    )


def add_arguments(p: Any, out_type: Any = Path) -> None:
    """The options of ``mcbench diagnose`` (the CLI adds the dataset options and gives ``--out``'s type)."""
    from diagnostics.history import ALIASES, D_LOSS_KINDS, FORMATS

    forms = "a folder of images, a .npy/.npz array, a tensor file or a generator (.pt2 or TorchScript)"
    p.add_argument(
        "--real", type=Path, default=None, help=f"real samples: {forms} (default: drawn from --dataset)"
    )
    p.add_argument("--fake", type=Path, required=True, help=f"generated samples: {forms}")
    p.add_argument("--dataset", default=None, help="the data's modes: a mixture (ring8, ...) or an image set")
    p.add_argument("--log", type=Path, default=None, help="training history: a file or folder (--log-format)")
    p.add_argument("--log-format", choices=["auto", *FORMATS], default="auto", help="read --log as this")
    p.add_argument("--log-column", action="append", metavar="CANONICAL=NAME", help=", ".join(ALIASES))
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the text")
    p.add_argument(
        "--fail-on",
        choices=list(FAIL_ON),
        default=None,
        help=f"exit with code {FAILED} when the verdict is this or worse (partial: partially collapsed or "
        "collapsed); 0 otherwise, 2 for bad input",
    )
    p.add_argument(
        "--out", type=out_type, default=None, help="also write the JSON report to this file (default none)"
    )
    p.add_argument(
        "--min-accuracy",
        type=float,
        default=0.95,
        help="refuse image coverage when the mode classifier's held-out accuracy is below this (0: never)",
    )
    add_input_arguments(p)  # --z-dim, --num-samples, --pixel-range, --no-resize
    p.add_argument("--seed", type=int, default=0, help="seeds latents, subsampling and K-means")
    p.add_argument(
        "--inception-weights", type=Path, default=None, help="torch-fidelity Inception-v3 weights file"
    )
    p.add_argument(
        "--max-samples", type=at_least(2), default=10000, help="rows per set for the O(n^2) diagnostics"
    )
    p.add_argument("--bins", type=int, default=None, help="K-means bins of NDB (default: n/50, at most 100)")
    p.add_argument("--d-loss-kind", choices=D_LOSS_KINDS, default="cross-entropy", help="for --log detectors")
