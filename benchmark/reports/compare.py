"""Which variant beats the control? Per-seed statistics of one dataset's runs, from the run records.

:func:`compare` takes the rows :func:`benchmark.reports.tables.load_runs` returns for ONE dataset and
sets every variant against the control (``gan`` by default) on the main numbers, both higher-is-better:

- ``coverage``: the share of modes covered, ``modes_captured / modes_total`` (0-1, best 1);
- ``quality``: ``high_quality_score``, the share of high-quality samples (0-1, best 1);

each at the final snapshot and, where the runs logged evaluations, as each run's mean over its last 5
(``*_last5``: mode hopping makes one snapshot a lottery). KL(gen||true) and the near-duplicate rate
(``dup_rate_fake``, where present) are secondary: mean and 95 % interval only, no test.

**Failures.** A diverged run (non-finite loss) left no usable generator: it is a failure to cover and
enters every main number as 0 (no mode covered, no high-quality sample), paired with the control's
run of the same seed, and it is counted. A failed run (an exception: a defect to fix, not a result)
is left out of every number and counted. Secondary numbers use the ok runs only.

**Test.** Seed k of a variant and seed k of the control share the data stream and the seed, so runs
pair by seed; the primary test is the paired t-test on the per-seed differences, the natural
default with 3-5 seeds: the exact sign-flip (permutation) test cannot reach p < 0.05 with fewer than
6 pairs (its smallest two-sided p is 2 / 2^n, 0.25 with 3 seeds), so it is reported beside the t-test
as a distribution-free check, never used for a verdict. When every difference is the same the
t statistic is 0/0 or x/0: identical differences of 0 give p = 1 ("no difference"), a constant
nonzero difference gives the test's limit p = 0 (no division by zero), and a note says so. Runs pair
on the seeds both have (at least 3; runs of the other seeds are left out and named); with fewer than
3 shared seeds the test falls back to Welch's unpaired t-test on all usable runs, stated in the row.
p-values are Holm-Bonferroni corrected over the variants, separately for each main number.
Measured on synthetic seeds (tests/test_compare_stats.py): a variant equivalent to the control is
called better or worse in 3.3 % of draws with 3 seeds of ring8-like coverage (half the seeds collapse)
and 4.7 % with a Beta quality; over 11 equivalent variants sharing one control the family-wise rate is
2.7 % with 5 seeds but 11.5 % with 3 (a t-test with 2 degrees of freedom on collapse-or-not coverage
gives p-values far below alpha / 11). With 2 seeds a difference that happens to be constant (limit
p = 0) lifted even one comparison to about 9 %, so fewer than :data:`MIN_SEEDS` seeds get no test
and no verdict. The texts warn while the sign-flip test cannot reach alpha after the correction.

**Verdict** per variant and main number: ``better`` (corrected p < alpha, difference in its favour),
``worse`` (corrected p < alpha, against it), ``indistinguishable``, or ``untested`` (fewer than 3
usable seeds on a side). Text and tables: :mod:`benchmark.reports.compare_text`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats as sps

from baselines.errors import ConfigError
from benchmark.reports.stats import Interval, t_interval

LEVEL = 0.95
MIN_SEEDS = 3  # fewer per side and no verdict: with 2, a difference that happens to repeat gives p = 0
SIGNFLIP_MAX_PAIRS = 20  # 2^20 sign patterns; beyond, the companion p is not computed


@dataclass(frozen=True)
class Number:
    """One compared quantity: ``key`` in the results, ``label`` as displayed, ``higher`` is better,
    values clipped to ``[0, upper]`` in intervals."""

    key: str
    label: str
    higher: bool
    upper: float = 1.0
    digits: int = 3


MAIN = {
    "coverage": Number("coverage", "coverage", True),
    "quality": Number("quality", "quality", True),
}
SECONDARY = (Number("kl", "KL(gen||true)", False, math.inf), Number("duplicates", "dup rate", False))
# Columns of load_runs rows that each number is read from (coverage is a ratio of two of them).
SOURCE = {
    "quality": "high_quality_score",
    "quality_last5": "high_quality_score_last5",
    "kl": "kl_gen_true_distance",
    "duplicates": "dup_rate_fake",
}


@dataclass(frozen=True)
class VariantStats:
    """One variant's runs: seed counts by status, mean cost per run (s, runs that report it), and the
    mean [95 % t interval] over seeds of every number (None where no run has it)."""

    variant: str
    ok: int
    diverged: int
    failed: int
    cost_s: float
    numbers: dict[str, Interval | None]
    uses_labels: bool = False


@dataclass(frozen=True)
class Test:
    """A variant against the control on one main number. ``diff`` is variant minus control (mean of
    the per-seed differences when paired) with its 95 % t interval ``[lo, hi]``; ``p`` the raw
    two-sided p of ``test`` ("paired t", "Welch t" or "none"), ``p_holm`` corrected over the variants,
    ``p_signflip`` the exact sign-flip p (paired only, else NaN); ``n`` the pairs (or runs of the
    variant, control for Welch)."""

    variant: str
    number: str
    test: str
    n: tuple[int, ...]
    diff: float
    lo: float
    hi: float
    p: float
    p_signflip: float = math.nan
    p_holm: float = math.nan
    verdict: str = "untested"
    note: str = ""


@dataclass(frozen=True)
class ComparisonResult:
    """Everything the texts are written from. ``seeds`` (the control's ok or diverged runs) and
    ``iters`` (the largest) are the budget the texts name. ``variants`` is the ranking (control
    included): mean final coverage, then mean final quality, descending, then name. ``tests`` are
    ordered by ranking, then by ``main`` (the compared numbers, last-5 ones included where present)."""

    dataset: str
    control: str
    alpha: float
    seeds: tuple[int, ...]
    iters: int | None
    main: tuple[Number, ...]
    secondary: tuple[Number, ...]
    variants: tuple[VariantStats, ...]
    tests: tuple[Test, ...]


def paired_t(diffs: np.ndarray, level: float = LEVEL) -> tuple[float, float, float, float]:
    """``(mean, lo, hi, p)`` of the two-sided one-sample t-test of the mean of ``diffs`` against 0
    (n >= 2). All differences equal (zero spread): ``(d, d, d, 1.0)`` for d = 0, else the limit
    ``(d, d, d, 0.0)``."""
    d = np.asarray(diffs, dtype=float)
    mean = float(d.mean())
    if _constant(d):
        return mean, mean, mean, 1.0 if mean == 0.0 else 0.0
    se = float(d.std(ddof=1)) / math.sqrt(d.size)
    t = mean / se
    half = float(sps.t.ppf(0.5 + level / 2, d.size - 1)) * se
    return mean, mean - half, mean + half, float(2 * sps.t.sf(abs(t), d.size - 1))


def welch_t(a: np.ndarray, b: np.ndarray, level: float = LEVEL) -> tuple[float, float, float, float]:
    """``(mean(a) - mean(b), lo, hi, p)``: Welch's unequal-variance t-test and interval (each side
    n >= 2). Both sides constant: p = 1 for equal means, else the limit 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if va + vb == 0.0:
        return diff, diff, diff, 1.0 if diff == 0.0 else 0.0
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(sps.t.ppf(0.5 + level / 2, df)) * se
    return diff, diff - half, diff + half, float(2 * sps.t.sf(abs(diff) / se, df))


def signflip_p(diffs: np.ndarray) -> float:
    """Exact two-sided sign-flip p: the share of the 2^n sign patterns whose |mean| reaches the
    observed one (1.0 when every difference is 0; NaN beyond ``SIGNFLIP_MAX_PAIRS`` pairs)."""
    d = np.asarray(diffs, dtype=float)
    if d.size > SIGNFLIP_MAX_PAIRS:
        return math.nan
    signs = 1 - 2 * ((np.arange(2**d.size)[:, None] >> np.arange(d.size)) & 1)
    means = np.abs(signs @ d) / d.size
    observed = abs(d.mean())
    return float(np.mean(means >= observed - 1e-12 * max(1.0, observed)))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the given order; NaN entries stay NaN and do not count
    in the number of hypotheses."""
    idx = [i for i, p in enumerate(pvalues) if p == p]
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (len(idx) - rank) * pvalues[i]))
        out[i] = running
    return out


def signflip_seeds_needed(alpha: float, hypotheses: int = 1) -> int:
    """The fewest pairs with which the exact sign-flip test can reach p < alpha after a Bonferroni
    factor of ``hypotheses`` (its smallest two-sided p is 2 / 2^n)."""
    return int(math.floor(math.log2(2 * hypotheses / alpha))) + 1


def verdict(diff: float, p_corrected: float, higher: bool, alpha: float) -> str:
    if p_corrected != p_corrected:
        return "untested"
    if p_corrected >= alpha or diff == 0.0:
        return "indistinguishable"
    return "better" if (diff > 0) == higher else "worse"


def _constant(d: np.ndarray) -> bool:
    return bool(np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())))


def numbers_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with one column per number (coverage, quality, their ``_last5``, kl, duplicates; NaN
    where the records lack it), diverged runs set to 0 on the main numbers, failed runs dropped."""
    out = runs[runs["status"].isin(["ok", "diverged"])].copy()
    total = pd.to_numeric(out.get("modes_total"), errors="coerce")
    for key in ("coverage", "coverage_last5"):
        column = "modes_captured" + key[len("coverage") :]
        out[key] = pd.to_numeric(out[column], errors="coerce") / total if column in out else np.nan
    for key, column in SOURCE.items():
        out[key] = pd.to_numeric(out[column], errors="coerce") if column in out else np.nan
    out.loc[out["status"] == "diverged", ["coverage", "coverage_last5", "quality", "quality_last5"]] = 0.0
    out.loc[out["status"] == "diverged", [n.key for n in SECONDARY]] = np.nan
    return out


def _main_numbers(frame: pd.DataFrame, metrics: tuple[str, ...]) -> tuple[Number, ...]:
    unknown = [m for m in metrics if m not in MAIN]
    if unknown or not metrics:
        raise ConfigError(f"unknown main numbers {unknown}; choose from {', '.join(MAIN)}")
    out = []
    for name in metrics:
        out.append(MAIN[name])
        last = f"{name}_last5"
        if frame[last].notna().any():  # only where the records logged evaluations
            out.append(Number(last, f"{MAIN[name].label}, last 5", MAIN[name].higher))
    return tuple(out)


def _by_seed(frame: pd.DataFrame, variant: str, key: str) -> pd.Series:
    values = frame.loc[frame["variant"] == variant, ["seed", key]].dropna()
    return values.groupby("seed")[key].mean().sort_index()


def _test(variant: str, number: Number, v: pd.Series, c: pd.Series) -> Test:
    """The raw test of ``v`` against ``c`` (values by seed): paired on the shared seeds when there are
    at least 2, else Welch when both sides have 2 runs, else none. The interval of the difference is
    clipped to the range a difference can take, ``[-upper, upper]``."""
    shared = sorted(set(v.index) & set(c.index))
    n, notes, flip = (len(v), len(c)), [], math.nan
    if len(shared) >= MIN_SEEDS:
        d = (v.loc[shared] - c.loc[shared]).to_numpy(dtype=float)
        test, n, (diff, lo, hi, p), flip = "paired t", (len(d),), paired_t(d), signflip_p(d)
        if _constant(d) and d[0] != 0.0:
            notes.append("same difference on every seed: p is the t-test's limit 0")
        left_out = sorted((set(v.index) | set(c.index)) - set(shared))
        if left_out:
            notes.append(f"unpaired seeds left out: {', '.join(map(str, left_out))}")
    elif min(n) >= MIN_SEEDS:
        test, (diff, lo, hi, p) = "Welch t", welch_t(v.to_numpy(), c.to_numpy())
        notes.append("seeds do not match the control's: unpaired")
    else:
        diff = float(v.mean() - c.mean()) if min(n) else math.nan
        test, lo, hi, p = "none", math.nan, math.nan, math.nan
        notes.append(f"fewer than {MIN_SEEDS} usable seeds: no test, no verdict")
    lo, hi = max(lo, -number.upper), min(hi, number.upper)
    return Test(variant, number.key, test, n, diff, lo, hi, p, flip, note="; ".join(notes))


def _stats(runs: pd.DataFrame, frame: pd.DataFrame, variant: str, numbers, labels: set[str]) -> VariantStats:
    grp, mine = runs[runs["variant"] == variant], frame[frame["variant"] == variant]
    status = grp["status"].value_counts()
    cost = pd.to_numeric(grp.get("wall_time_s"), errors="coerce").mean()
    return VariantStats(
        variant,
        int(status.get("ok", 0)),
        int(status.get("diverged", 0)),
        int(status.get("failed", 0)),
        float(cost),
        {n.key: t_interval(mine[n.key].astype(float), lower=0.0, upper=n.upper) for n in numbers},
        variant in labels,
    )


def compare(
    runs: pd.DataFrame,
    control: str = "gan",
    *,
    metrics: tuple[str, ...] = ("coverage", "quality"),
    alpha: float = 0.05,
    uses_labels: set[str] | frozenset[str] = frozenset(),
) -> ComparisonResult:
    """Every variant of ``runs`` (rows as :func:`load_runs` returns them, one dataset) against
    ``control`` on the main numbers ``metrics`` (see the module docstring for the numbers, the test,
    the correction and how diverged and failed runs count). ``uses_labels`` names the variants trained
    with the mode labels (said in the texts). Raises ConfigError (one line, naming the variants present)
    when ``runs`` holds several datasets, lacks the control, or the control has fewer than 2 ok seeds."""
    datasets = sorted(runs["dataset"].dropna().unique()) if "dataset" in runs else []
    if len(datasets) > 1:
        raise ConfigError(f"compare takes one dataset at a time; got {', '.join(datasets)}")
    present = sorted(runs["variant"].unique()) if "variant" in runs else []
    where = f" on {datasets[0]}" if datasets else ""
    if control not in present:
        raise ConfigError(f"control {control!r} has no runs{where}; variants present: {', '.join(present)}")
    ok = int((runs.loc[runs["variant"] == control, "status"] == "ok").sum())
    if ok < 2:
        raise ConfigError(
            f"control {control!r} has {ok} ok seed{'s' * (ok != 1)}{where}; at least 2 are needed to compare"
        )
    frame = numbers_frame(runs)
    main = _main_numbers(frame, tuple(metrics))
    secondary = tuple(n for n in SECONDARY if frame[n.key].notna().any())
    stats = [_stats(runs, frame, v, main + secondary, set(uses_labels)) for v in present]

    def rank_key(s: VariantStats) -> tuple:  # final-snapshot means, descending; a missing one last
        means = [
            s.numbers[n.key].mean if s.numbers[n.key] else -math.inf for n in main if "last" not in n.key
        ]
        return (*(-m for m in means), s.variant)

    stats.sort(key=rank_key)
    others = [s.variant for s in stats if s.variant != control]
    tests: list[Test] = []
    for number in main:
        c = _by_seed(frame, control, number.key)
        raw = [_test(v, number, _by_seed(frame, v, number.key), c) for v in others]
        adjusted = holm([t.p for t in raw])
        tests += [
            replace(t, p_holm=a, verdict=verdict(t.diff, a, number.higher, alpha))
            for t, a in zip(raw, adjusted, strict=True)
        ]
    order = {v: i for i, v in enumerate(others)}
    keys = [n.key for n in main]
    tests.sort(key=lambda t: (order[t.variant], keys.index(t.number)))
    iters = pd.to_numeric(runs.get("iters"), errors="coerce").max()
    seeds = tuple(int(s) for s in sorted(frame.loc[frame["variant"] == control, "seed"].unique()))
    return ComparisonResult(
        datasets[0] if datasets else "",
        control,
        alpha,
        seeds,
        int(iters) if iters == iters else None,
        main,
        secondary,
        tuple(stats),
        tuple(tests),
    )
