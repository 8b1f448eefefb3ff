"""The mode-hopping detector: it reads the sets of modes covered at successive evaluations, not a loss.

A generator that hops drops one mode for another between evaluations while covering few of them at a
time; a collapsed but still generator, or one whose coverage grows, is not hopping. Pure function of
its inputs, returning :class:`diagnostics.detectors.FailureEvent` like the loss-based detectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .detector_base import MODE_HOPPING, FailureEvent, _as_1d, _check_finite, _check_int, _check_lengths


def _as_mode_set(entry: Any) -> frozenset[int] | None:
    """A set of mode indices from a list/set/array, or None for a missing evaluation (None, NaN)."""
    if entry is None:
        return None
    if isinstance(entry, float | np.floating) and math.isnan(entry):
        return None
    return frozenset(int(i) for i in np.asarray(list(entry)).ravel())


def _format_sets(sets: list[frozenset[int]], most: int = 6) -> str:
    shown = ["{" + ",".join(str(i) for i in sorted(s)) + "}" for s in sets[:most]]
    return " -> ".join(shown) + (" -> ..." if len(sets) > most else "")


def detect_mode_hopping(
    steps: Sequence[float] | np.ndarray,
    captured_sets: Sequence[Any],
    n_modes: int,
    *,
    jaccard_threshold: float = 0.5,
    max_covered_fraction: float = 0.5,
    min_hops: int = 2,
    max_gap: int = 1,
    min_hop_fraction: float = 0.5,
    ignore_empty: bool = True,
) -> list[FailureEvent]:
    """Flag stretches where G covers few modes but which ones keeps changing between evaluations.

    This is the classic mode-hopping picture: G collapses onto one or a few modes, D learns to
    reject them, G jumps to others, and coverage counted at any one time stays low.

    Args:
        steps: training step of each evaluation, shape (E,), in increasing order.
        captured_sets: for each evaluation, the indices of the covered modes (any iterable of ints,
            e.g. the ``eval/captured`` lists of a run record); ``None`` or NaN = no evaluation there.
        n_modes: number of modes of the target distribution (>= 1).
        jaccard_threshold: consecutive sets A, B differ, "a hop", when 1 - |A & B| / |A | B| is
            strictly above this (0.5: {0} -> {0, 1} is not a hop, {0} -> {1} and {0, 1} -> {1, 2} are).
        max_covered_fraction: both sets of a hop cover at most this fraction of ``n_modes``
            (0.5: at most 4 of 8); a pair with a larger set ends a stretch.
        min_hops: hops needed for an event (>= 1).
        max_gap: at most this many consecutive non-hop pairs inside one stretch (>= 0).
        min_hop_fraction: hops must be strictly more than this fraction of the pairs in the
            stretch ("most pairs"); with ``max_gap=1`` this always holds at 0.5.
        ignore_empty: drop evaluations that cover no mode before comparing. An empty set says that
            samples fell between modes, not where G went, and would count as two hops.

    Rule:
        1. Keep evaluations with a set (and, with ``ignore_empty``, a non-empty one); compare each
           with the next kept one. A pair is "big" when either set has more than
           ``max_covered_fraction * n_modes`` modes, a "hop" when it is not big and its Jaccard
           distance is above ``jaccard_threshold`` (two empty sets have distance 0), else "stay".
        2. Stretches are built from hops: a hop joins the current stretch when no big pair and at
           most ``max_gap`` stay pairs lie since its last hop; otherwise it starts a new stretch.
        3. A stretch with >= ``min_hops`` hops that are > ``min_hop_fraction`` of its pairs (from
           its first hop to its last) gives one event, from the first set of its first hop to the
           last set of its last hop.

    Returns:
        Events of kind ``"mode_hopping"`` in time order; ``end_step`` is ``None`` when the last hop
        ends at the last kept evaluation. Empty when nothing is flagged.

    Raises:
        ValueError: inputs are not 1-D, their lengths differ, or a parameter is out of range.
    """
    _check_int(n_modes=n_modes, min_hops=min_hops)
    _check_int(0, max_gap=max_gap)
    _check_finite(
        jaccard_threshold=jaccard_threshold,
        max_covered_fraction=max_covered_fraction,
        min_hop_fraction=min_hop_fraction,
    )
    st = _as_1d(steps, "steps")
    entries = list(captured_sets)
    _check_lengths({"steps": st, "captured_sets": entries})
    kept = [(int(s), m) for s, m in zip(st, map(_as_mode_set, entries), strict=True) if m is not None]
    if ignore_empty:
        kept = [(s, m) for s, m in kept if m]
    cap = max_covered_fraction * n_modes

    kinds = []  # per consecutive pair: "hop", "stay" or "big"
    for (_, a), (_, b) in zip(kept, kept[1:], strict=False):
        union = len(a | b)
        distance = 1.0 - len(a & b) / union if union else 0.0
        if len(a) > cap or len(b) > cap:
            kinds.append("big")
        else:
            kinds.append("hop" if distance > jaccard_threshold else "stay")

    stretches: list[list[int]] = []  # hop pair indices
    for i, kind in enumerate(kinds):
        if kind != "hop":
            continue
        if stretches:
            between = kinds[stretches[-1][-1] + 1 : i]
            if "big" not in between and len(between) <= max_gap:
                stretches[-1].append(i)
                continue
        stretches.append([i])

    events = []
    for hops in stretches:
        first, last = hops[0], hops[-1]
        n_pairs = last - first + 1
        if len(hops) < min_hops or not len(hops) > min_hop_fraction * n_pairs:
            continue
        sets = [m for _, m in kept[first : last + 2]]
        step = kept[first][0]
        end_step = None if last + 1 == len(kept) - 1 else kept[last + 1][0]
        until = "the last evaluation" if end_step is None else f"step {end_step}"
        message = (
            f"covered modes changed at {len(hops)} of {n_pairs} consecutive evaluations from step {step} "
            f"to {until} while at most {max(len(m) for m in sets)} of {n_modes} modes were covered "
            f"(Jaccard distance > {jaccard_threshold:g}; {_format_sets(sets)}): G hops between modes"
        )
        events.append(FailureEvent(kind=MODE_HOPPING, step=step, end_step=end_step, message=message))
    return events
