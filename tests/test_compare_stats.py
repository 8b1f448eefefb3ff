"""Every variant against the control (benchmark.reports.compare): known answers on hand-made run rows,
the false-positive rate and the power on synthetic seeds, the committed veegan-protocol records, and
``mcbench table --control``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from baselines.errors import ConfigError
from benchmark.reports.compare import compare, holm, paired_t, signflip_p, signflip_seeds_needed, verdict
from benchmark.reports.compare_text import markdown, recommendation, text, to_dict
from benchmark.reports.tables import load_runs

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "results/records/veegan-protocol"


def rows(variant, modes, quality=None, *, seeds=None, status=None, total=8, wall=100.0):
    """Run rows as ``load_runs`` returns them: ``modes`` captured and ``quality`` per seed (last 5 equal
    to the final values); a diverged or failed run has no metrics (NaN), as its summary has none."""
    seeds = list(range(len(modes))) if seeds is None else seeds
    quality = [0.5] * len(modes) if quality is None else quality
    status = ["ok"] * len(modes) if status is None else status
    out = []
    for seed, k, q, st in zip(seeds, modes, quality, status, strict=True):
        ok = st == "ok"
        m = {"modes_captured": k, "high_quality_score": q, "kl_gen_true_distance": 0.1, "modes_total": total}
        m = {key: (v if ok else np.nan) for key, v in m.items()}
        out.append(
            {"dataset": "ring8", "variant": variant, "tag": "", "seed": seed, "iters": 5000, "status": st,
             "wall_time_s": wall, **m, "kl_true_gen_distance": np.nan, "failure_events": 0,
             "modes_captured_last5": m["modes_captured"], "high_quality_score_last5": m["high_quality_score"]}
        )  # fmt: skip
    return out


def frame(*groups) -> pd.DataFrame:
    return pd.DataFrame([r for g in groups for r in g])


def find_test(result, variant, number):
    return next(t for t in result.tests if t.variant == variant and t.number == number)


CONTROL = rows("gan", [1, 2, 3, 2, 1], [0.2, 0.3, 0.1, 0.25, 0.15])


def test_a_variant_identical_to_the_control_is_indistinguishable_with_p_1():
    r = compare(frame(CONTROL, rows("same", [1, 2, 3, 2, 1], [0.2, 0.3, 0.1, 0.25, 0.15])))
    assert [n.key for n in r.main] == ["coverage", "coverage_last5", "quality", "quality_last5"]
    for t in r.tests:
        assert (t.diff, t.lo, t.hi, t.p, t.p_holm, t.p_signflip) == (0, 0, 0, 1.0, 1.0, 1.0)
        assert t.verdict == "indistinguishable" and t.test == "paired t" and t.n == (5,)


def test_every_seed_covering_all_modes_on_both_sides_is_no_difference():
    r = compare(frame(rows("gan", [8, 8, 8]), rows("wgan", [8, 8, 8])))
    t = find_test(r, "wgan", "coverage")
    assert (t.diff, t.lo, t.hi, t.p, t.verdict) == (0, 0, 0, 1.0, "indistinguishable")
    assert "No variant differs from gan at this budget (3 seeds, 5,000 iterations)" in text(r)


def test_a_constant_improvement_on_5_seeds_is_better_at_the_t_tests_limit_p_0():
    r = compare(frame(CONTROL, rows("pacgan", [6, 7, 8, 7, 6], [0.2, 0.3, 0.1, 0.25, 0.15])))
    t = find_test(r, "pacgan", "coverage")
    assert t.diff == pytest.approx(5 / 8) and t.lo == t.hi == pytest.approx(5 / 8)
    assert (t.p, t.p_holm, t.verdict) == (0.0, 0.0, "better")
    assert t.p_signflip == pytest.approx(2 / 2**5)  # what the sign-flip test would say: not < 0.05
    assert "limit 0" in t.note
    assert find_test(r, "pacgan", "quality").verdict == "indistinguishable"
    assert recommendation(r)[0].startswith(
        "pacgan covers more modes than gan (coverage +0.625 [+0.625, +0.625]"
    )


def test_a_varying_improvement_has_the_paired_t_tests_p():
    better_q = [0.7, 0.9, 0.65, 0.8, 0.7]
    r = compare(frame(CONTROL, rows("wgan-gp", [1, 2, 3, 2, 1], better_q)))
    t = find_test(r, "wgan-gp", "quality")
    control_q = [x["high_quality_score"] for x in CONTROL]
    ref = sps.ttest_rel(better_q, control_q)
    assert t.p == pytest.approx(ref.pvalue, rel=1e-9) and t.p < 0.05 and t.verdict == "better"
    ci = ref.confidence_interval()
    assert (t.lo, t.hi) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_a_worse_variant_is_worse():
    worse_q = [0.05, 0.1, 0.0, 0.02, 0.01]
    r = compare(frame(CONTROL, rows("adagan", [1, 2, 3, 2, 1], worse_q)))
    t = find_test(r, "adagan", "quality")
    assert t.diff < 0 and t.p < 0.05 and t.verdict == "worse"
    assert "adagan gives a smaller share of high-quality samples than gan" in text(r)


def test_holm_over_three_variants_matches_a_direct_computation():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, math.nan, 0.01]) == pytest.approx([0.5, math.nan, 0.02], nan_ok=True)
    control_q = [0.2, 0.3, 0.1, 0.25, 0.15]
    variants = {
        "a": [0.6, 0.75, 0.4, 0.7, 0.5],
        "b": [0.3, 0.45, 0.2, 0.25, 0.3],
        "c": [0.2, 0.5, 0.1, 0.2, 0.2],
    }
    r = compare(frame(CONTROL, *(rows(v, [1, 2, 3, 2, 1], q) for v, q in variants.items())))
    raw = {v: sps.ttest_rel(q, control_q).pvalue for v, q in variants.items()}
    (v1, p1), (v2, p2), (v3, p3) = sorted(raw.items(), key=lambda kv: kv[1])
    expected = {v1: min(1, 3 * p1), v2: min(1, max(3 * p1, 2 * p2)), v3: min(1, max(3 * p1, 2 * p2, p3))}
    for v in variants:
        t = find_test(r, v, "quality")
        assert t.p == pytest.approx(raw[v]) and t.p_holm == pytest.approx(expected[v])
        assert t.verdict == ("better" if expected[v] < 0.05 else "indistinguishable")


def test_diverged_runs_count_as_no_coverage_and_failed_runs_are_left_out():
    variant = rows(
        "unrolled", [8, 8, 8, 8, 8], seeds=[0, 1, 2, 3, 4], status=["ok", "diverged", "ok", "failed", "ok"]
    )
    r = compare(frame(CONTROL, variant))
    s = next(s for s in r.variants if s.variant == "unrolled")
    assert (s.ok, s.diverged, s.failed) == (3, 1, 1)
    t = find_test(r, "unrolled", "coverage")
    # Seeds 0, 1, 2, 4 pair (seed 3 failed): differences 7/8, -2/8 (diverged: 0 against 2/8), 5/8, 7/8.
    assert t.n == (4,) and t.diff == pytest.approx((7 - 2 + 5 + 7) / 32)
    assert t.p == pytest.approx(sps.ttest_rel([1, 0, 1, 1], [1 / 8, 2 / 8, 3 / 8, 1 / 8]).pvalue)
    assert "unpaired seeds left out: 3" in t.note
    assert s.numbers["coverage"].mean == pytest.approx(0.75) and s.numbers["kl"].n == 3


def test_unmatched_seeds_fall_back_to_welch():
    r = compare(frame(CONTROL, rows("wgan", [5, 6, 7], [0.5, 0.6, 0.7], seeds=[10, 11, 12])))
    t = find_test(r, "wgan", "coverage")
    ref = sps.ttest_ind([5 / 8, 6 / 8, 7 / 8], [x["modes_captured"] / 8 for x in CONTROL], equal_var=False)
    assert t.test == "Welch t" and t.n == (3, 5) and t.p == pytest.approx(ref.pvalue)
    assert math.isnan(t.p_signflip) and "unpaired" in t.note


def test_a_missing_or_thin_control_is_one_line_naming_the_variants():
    with pytest.raises(ConfigError, match=r"control 'gan' has no runs on ring8; variants present: a, b$"):
        compare(frame(rows("a", [1, 2]), rows("b", [1, 2])))
    thin = rows("gan", [1, 2], status=["ok", "diverged"])
    with pytest.raises(ConfigError, match="1 ok seed on ring8; at least 2"):
        compare(frame(thin, rows("b", [1, 2])))


def test_the_sign_flip_floor_is_stated_with_the_seeds_it_needs():
    assert signflip_p(np.array([0.5, 0.5, 0.5])) == 0.25 and signflip_p(np.zeros(3)) == 1.0
    assert signflip_p(np.array([1.0, 0.0, 0.875])) == 0.5
    assert signflip_seeds_needed(0.05) == 6 and signflip_seeds_needed(0.05, 11) == 9
    r = compare(frame(rows("gan", [1, 2, 3]), rows("b", [8, 8, 7])))
    assert "With 3 paired seeds the exact sign-flip test" in text(r)
    assert "cannot reach p < 0.05 (its smallest p is 0.25); it needs 6 paired seeds, 6 with" in text(r)


def test_output_is_stable_and_json_ready():
    df = frame(CONTROL, rows("b", [3, 2, 5, 4, 3]), rows("a", [8, 8, 8, 8, 7]))
    r = compare(df, uses_labels={"a"})
    shuffled = compare(df.sample(frac=1.0, random_state=3), uses_labels={"a"})
    assert markdown(r) == markdown(shuffled) and text(r) == text(shuffled)
    assert [s.variant for s in r.variants] == ["a", "b", "gan"]  # ranked by mean coverage
    assert "a (labels)" in markdown(r) and "Holm-Bonferroni" in markdown(r)
    json.dumps(to_dict(r), allow_nan=False)


# The false-positive rate and the power, on synthetic seeds drawn through the pure functions compare()
# uses (paired_t, holm, verdict): 2,000 repetitions take about a second, compare() itself ~10x longer.
def ring8_like(rng, size):  # half the seeds collapse onto 0-2 of the 8 modes, the others cover 6-8
    collapsed = rng.random(size) < 0.5
    return np.where(collapsed, rng.integers(0, 3, size), rng.integers(6, 9, size)) / 8


def called(draw_variant, draw_control, n=3, reps=2000, variants=1, seed=0):
    """Share of repetitions in which any of ``variants`` is called better or worse than the control."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        c = draw_control(rng, n)
        tests = [paired_t(draw_variant(rng, n) - c) for _ in range(variants)]
        adjusted = holm([p for *_, p in tests])
        hits += any(
            verdict(t[0], p, True, 0.05) != "indistinguishable" for t, p in zip(tests, adjusted, strict=True)
        )
    return hits / reps


def test_false_positive_rate_with_three_seeds_is_at_most_5_percent():
    # Measured (2,000 repetitions, seed 0): 3.25 % on ring8-like discrete coverage, half the seeds
    # collapsed (a constant difference's limit p = 0 is part of it), 4.7 % on a Beta(2, 5) quality.
    assert called(ring8_like, ring8_like) <= 0.05
    assert called(lambda r, n: r.beta(2, 5, n), lambda r, n: r.beta(2, 5, n)) <= 0.05


def test_family_wise_false_positive_rate_over_11_variants_with_5_seeds():
    # Holm over 11 equivalent variants sharing one control, ring8-like coverage: measured 2.7 % with 5
    # seeds. With 3 seeds it is 11.5 % (1,000 repetitions): when the shared control collapses on all
    # three seeds, some variant is healthy on all three, and a t-test with 2 degrees of freedom on such
    # bimodal data gives p-values far below alpha / 11; the texts warn below 6 seeds (see compare_text).
    assert called(ring8_like, ring8_like, n=5, reps=1000, variants=11) <= 0.05


def test_power_on_a_clear_effect_is_high():
    # Measured: 99.6 % with 3 seeds for a variant covering 6-8 modes against a control collapsed on 0-2.
    healthy = lambda r, n: r.integers(6, 9, n) / 8  # noqa: E731
    collapsed = lambda r, n: r.integers(0, 3, n) / 8  # noqa: E731
    assert called(healthy, collapsed) >= 0.95


def test_the_veegan_protocol_ring8_records():
    runs = load_runs(RECORDS)
    ring8 = runs[runs["dataset"] == "ring8"]
    r = compare(ring8, "gan", uses_labels={"cgan", "guided-latent"})
    print(text(r))  # shown with pytest -s: read it
    assert len(r.variants) == ring8["variant"].nunique() == 12
    cov = (ring8["modes_captured"] / ring8["modes_total"]).groupby([ring8["variant"], ring8["seed"]]).first()
    shared = sorted(set(cov["cgan"].index) & set(cov["gan"].index))
    t = find_test(r, "cgan", "coverage")
    assert t.test == "paired t" and t.n == (len(shared),)
    assert t.diff == pytest.approx((cov["cgan"][shared] - cov["gan"][shared]).mean())  # +5/8 with seeds 0-2
    q = ring8.set_index(["variant", "seed"])["high_quality_score"]
    assert find_test(r, "cgan", "quality").p == pytest.approx(
        sps.ttest_rel(q["cgan"][shared], q["gan"][shared]).pvalue
    )
    for t in r.tests:  # the verdicts follow from the corrected p-values
        assert (t.verdict != "indistinguishable") == (t.p_holm < 0.05)


def mcbench(*args):
    return subprocess.run(
        [sys.executable, "-m", "benchmark", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_mcbench_table_control():
    done = mcbench("table", str(RECORDS), "--control", "gan", "--format", "md")
    assert done.returncode == 0, done.stderr
    assert (
        "### ring8: each variant against gan" in done.stdout and "| cgan | coverage | +0.625" in done.stdout
    )
    bad = mcbench("table", str(RECORDS), "--control", "nosuch")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "control 'nosuch' has no runs" in bad.stderr


def test_two_seeds_get_no_verdict_even_with_a_repeated_difference():
    """With 2 seeds a difference that happens to repeat would give the t-test's limit p = 0; below
    MIN_SEEDS there is no test and no verdict (measured: about 9 % false calls with 2 seeds)."""
    r = compare(frame(rows("gan", [1, 2]), rows("pacgan", [3, 4])))
    t = find_test(r, "pacgan", "coverage")
    assert t.test == "none" and t.verdict == "untested" and "fewer than 3" in t.note
