"""The verdict of ``mcbench diagnose`` from the modes and the diagnostics of one pair of sample sets:
how modes (or K-means bins) are counted and which rules decide.

**Verdict rules** (constants below; every rule that fires is printed as evidence):

* *collapsed* when FAKE captures at most max(1, 10 %) of the modes (or bins) that REAL covers, or
  the ones it misses hold at least 80 % of REAL (a one-mode collapse on ring8 misses 7/8); or FAKE's
  near-duplicate pair rate exceeds 1 % and 10 x REAL's; or recall or coverage is below 0.1.
* *partially collapsed* when a mode (or bin) REAL covers is missing from FAKE (named); or NDB/K
  exceeds 0.3 with at least 3 bins differing; or recall or coverage is below 0.5.
* *healthy* otherwise.

A true mode is missing when FAKE has no (high-quality) sample in it although REAL's share predicts
at least 5. A bin is missing when FAKE's share is significantly lower (the NDB z-test, alpha 0.05)
and below a tenth of REAL's. Events of the training-history detectors (``--log``, via
:func:`diagnostics.run_detectors`) are listed as evidence but do not change the verdict: they say how
training went, the samples say what came out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.diagnose.inputs import Samples
from benchmark.diagnose.text import _pct
from diagnostics.modes import COLLAPSED_MISSING_MASS, COLLAPSED_MODE_SHARE, mode_state

DUP_RATE_MIN = 0.01  # FAKE's near-duplicate pair rate above this ...
DUP_RATE_RATIO = 10.0  # ... and this many times REAL's
COLLAPSED_NEIGHBOUR = 0.1  # recall or coverage below
PARTIAL_NEIGHBOUR = 0.5
PARTIAL_NDB_K = 0.3
PARTIAL_NDB_MIN = 3

VERDICTS = ("healthy", "partially collapsed", "collapsed")
# The thresholds as the JSON report states them.
THRESHOLDS = {
    "collapsed_mode_share": COLLAPSED_MODE_SHARE,
    "collapsed_missing_mass": COLLAPSED_MISSING_MASS,
    "dup_rate_min": DUP_RATE_MIN,
    "dup_rate_ratio": DUP_RATE_RATIO,
    "collapsed_recall_coverage": COLLAPSED_NEIGHBOUR,
    "partial_recall_coverage": PARTIAL_NEIGHBOUR,
    "partial_ndb_k": PARTIAL_NDB_K,
}


# ----------------------------------------------------------------------------------------- modes


def mixture_modes(dataset: Any, real: Samples, fake: Samples) -> dict[str, Any]:
    from benchmark.data.scoring import Scorer
    from diagnostics.mixture import assign_modes

    def counts(x: np.ndarray) -> np.ndarray:
        nearest, hq = assign_modes(x, dataset.centres, dataset.sigma)
        return np.bincount(nearest[hq], minlength=dataset.n_modes)

    return {
        "source": f"{dataset.name} mixture centres (nearest centre, within 3 sigma; VEEGAN protocol)",
        "names": list(dataset.mode_names),
        "real_counts": counts(real.data),
        "fake_counts": counts(fake.data),
        "numbers": Scorer(dataset).score(fake.data),
    }


def classifier_modes(dataset: Any, real: Samples, fake: Samples, scorer: Any) -> dict[str, Any]:
    fake_predictions = scorer.predict(fake.data)  # each set is classified once
    numbers = scorer.score(fake.data, fake_predictions)  # ClassifierTooWeakError: handled by the caller

    def counts(predictions: tuple[Any, Any]) -> np.ndarray:
        labels, conf = predictions
        keep = (conf >= scorer.mode_threshold).numpy()
        return np.bincount(labels.numpy()[keep], minlength=dataset.n_modes)

    return {
        "source": f"mode classifier of {dataset.name} ({scorer.protocol})",
        "names": list(dataset.mode_names),
        "real_counts": counts(scorer.predict(real.data)),
        "fake_counts": counts(fake_predictions),
        "numbers": numbers,
    }


def bin_modes(
    r: np.ndarray, f: np.ndarray, real_idx: np.ndarray, k: int, seed: int, real: Samples, space: str
) -> dict[str, Any]:
    """K-means cells of REAL (NDB's: same settings and seed) as pseudo-modes."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=seed).fit(r)
    names = []
    for i, centre in enumerate(km.cluster_centers_):
        nearest = real.label(int(real_idx[int(np.argmin(((r - centre) ** 2).sum(axis=1)))]))
        where = f"nearest REAL sample {nearest}"
        if space == "raw" and r.shape[1] <= 3:
            where = f"centre ({', '.join(f'{c:.2f}' for c in centre)}), {where}"
        names.append(f"bin {i} ({where})")
    return {
        "source": f"{k} k-means bins of REAL in {space} space (no --dataset: the true modes are unknown)",
        "names": names,
        "real_counts": np.bincount(km.labels_, minlength=k),
        "fake_counts": np.bincount(km.predict(f), minlength=k),
        "numbers": {},
        "bins": True,
    }


def mode_summary(modes: dict[str, Any], n_real: int, n_fake: int) -> dict[str, Any]:
    """Which modes REAL covers, which FAKE captures and which it misses (module docstring)."""
    rc, fc = modes["real_counts"].astype(float), modes["fake_counts"].astype(float)
    rs, fs = rc / n_real, fc / n_fake
    bins = modes.get("bins", False)
    state = mode_state(rc, n_real, fc, n_fake, bins)
    numbers = {
        k: v for k, v in modes["numbers"].items() if not k.startswith("mode_mass_") and k != "captured"
    }
    per_mode = [
        {"mode": i, "name": name, "real_share": float(rs[i]), "fake_share": float(fs[i])}
        for i, name in enumerate(modes["names"])
    ]
    return {
        "source": modes["source"],
        "kind": "bins" if bins else "modes",
        "total": len(modes["names"]),
        "covered_by_real": state["covered"],
        "captured": state["captured"],
        "missing": [per_mode[i] for i in state["missing"]],
        "missing_real_share": state["missing_real_share"],
        "level": state["level"],
        "numbers": numbers,
        "per_mode": per_mode,
        "n_real": n_real,
        "n_fake": n_fake,
    }


# ----------------------------------------------------------------------------------------- verdict


def _names(missing: list[dict[str, Any]], most: int = 8) -> str:
    shown = [
        f"{m['name']} ({_pct(m['fake_share'])} of FAKE vs {_pct(m['real_share'])} of REAL)" for m in missing
    ]
    more = f"; and {len(shown) - most} more" if len(shown) > most else ""
    return "; ".join(shown[:most]) + more


def judge(
    modes: dict[str, Any] | None, numbers: dict[str, float], space: str, events: list[dict[str, Any]]
) -> tuple[str, list[str]]:
    """The verdict and its evidence lines, by the rules of the module docstring.

    ``numbers`` are the primary space's diagnostics (prdc, ndb, duplicate_rate keys); ``modes`` is
    :func:`mode_summary`'s output or ``None``; ``events`` are training-history events as dicts.
    """
    found: list[tuple[int, str]] = []  # (verdict level, line)
    passed: list[str] = []
    if modes is not None and modes["covered_by_real"] >= 2:
        unit = "bins" if modes["kind"] == "bins" else "modes"
        covered, captured, missing = modes["covered_by_real"], modes["captured"], modes["missing"]
        if modes["level"] == 2:
            found.append(
                (
                    2,
                    f"FAKE captures {captured} of the {covered} {unit} REAL covers; the missing {unit} "
                    f"hold {_pct(modes['missing_real_share'])} of REAL: {_names(missing)}",
                )
            )
        elif modes["level"] == 1:
            found.append(
                (1, f"FAKE misses {len(missing)} of the {covered} {unit} REAL covers: {_names(missing)}")
            )
        else:
            passed.append(f"FAKE captures all {covered} {unit} REAL covers")
    dup_f, dup_r = numbers["dup_rate_fake"], numbers["dup_rate_real"]
    dup = f"near-duplicate pairs: {_pct(dup_f)} of FAKE vs {_pct(dup_r)} of REAL ({space} space)"
    if dup_f > DUP_RATE_MIN and dup_f > DUP_RATE_RATIO * dup_r:
        found.append((2, f"{dup} (> {_pct(DUP_RATE_MIN)} and > {DUP_RATE_RATIO:g}x REAL's)"))
    else:
        passed.append(dup)
    recall, coverage = numbers["recall_score"], numbers["coverage_score"]
    nn = f"recall {recall:.3f}, coverage {coverage:.3f} ({space} space)"
    if min(recall, coverage) < COLLAPSED_NEIGHBOUR:
        found.append(
            (2, f"{nn}: below {COLLAPSED_NEIGHBOUR}, most REAL samples have no FAKE sample near them")
        )
    elif min(recall, coverage) < PARTIAL_NEIGHBOUR:
        found.append((1, f"{nn}: below {PARTIAL_NEIGHBOUR}, part of REAL has no FAKE sample near it"))
    else:
        passed.append(nn)
    ndb_line = (
        f"NDB/K {numbers['ndb_k']:.2f}: {numbers['ndb']:.0f} of {numbers['ndb_bins']:.0f} k-means bins differ"
    )
    if numbers["ndb_k"] > PARTIAL_NDB_K and numbers["ndb"] >= PARTIAL_NDB_MIN:
        found.append((1, f"{ndb_line} (> {PARTIAL_NDB_K})"))
    else:
        passed.append(ndb_line)
    level = max((lvl for lvl, _ in found), default=0)
    evidence = [line for lvl, line in sorted(found, key=lambda t: -t[0])]
    evidence += passed if level == 0 else []
    evidence += [f"training log: {e['message']}" for e in events]
    return VERDICTS[level], evidence
