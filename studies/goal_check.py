"""The goal check of the headline suite, from its records: does a label-free mitigation cover 8/8
ring8 modes at >= 90 % high quality and >= 24/25 grid25 modes at >= 80 %, on every seed?

For every label-free variant (not ``cgan``, not ``guided-latent``) and every recorded run under
RECORDS (a folder laid out DATASET/VARIANT[-TAG]/seedS), reads the final scores of ``summary.json``
and prints one Markdown row per variant and dataset: the seeds that meet the goal's half for that
dataset, the mean final modes and HQ, and the shortfall of the closest seed (modes and HQ points
below the goal; 0 where met).

    python -m studies.goal_check results/records/veegan-protocol \
        [results/records/veegan-goal-sweeps]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

LABELLED = ("cgan", "guided-latent")
GOAL = {"ring8": (8, 90.0), "grid25": (24, 80.0)}  # dataset -> (modes at least, HQ % at least)


def final_scores(records: Path) -> dict[tuple[str, str], list[tuple[int, float, float]]]:
    """(dataset, variant folder) -> [(seed, modes, HQ %)] of the ok runs, seeds in order."""
    out: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for path in sorted(Path(records).glob("*/*/seed*/summary.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        if summary.get("status") != "ok" or summary.get("dataset") not in GOAL:
            continue
        m = summary["metrics"]
        key = (summary["dataset"], path.parent.parent.name)
        out.setdefault(key, []).append(
            (int(summary["seed"]), m["modes_captured"], 100 * m["high_quality_score"])
        )
    return {k: sorted(v) for k, v in out.items()}


def shortfall(dataset: str, modes: float, hq: float) -> tuple[float, float]:
    need_modes, need_hq = GOAL[dataset]
    return max(0.0, need_modes - modes), max(0.0, need_hq - hq)


def rows(scores: dict[tuple[str, str], list[tuple[int, float, float]]]) -> list[dict[str, Any]]:
    out = []
    for (dataset, variant), runs in sorted(scores.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if variant.startswith(LABELLED):
            continue
        met = [s for s, m, h in runs if shortfall(dataset, m, h) == (0.0, 0.0)]
        closest = min(
            runs, key=lambda r: (shortfall(dataset, r[1], r[2])[0], shortfall(dataset, r[1], r[2])[1])
        )
        out.append(
            {
                "variant": variant,
                "dataset": dataset,
                "seeds": [s for s, _, _ in runs],
                "met": met,
                "modes": sum(m for _, m, _ in runs) / len(runs),
                "hq": sum(h for _, _, h in runs) / len(runs),
                "closest_seed": closest[0],
                "shortfall": shortfall(dataset, closest[1], closest[2]),
            }
        )
    return out


def markdown(table: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | dataset | seeds | goal met on | mean modes | mean HQ % | closest seed: short by |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table:
        short = (
            "met"
            if r["shortfall"] == (0.0, 0.0)
            else f"{r['shortfall'][0]:g} modes, {r['shortfall'][1]:.1f} HQ points"
        )
        lines.append(
            f"| {r['variant']} | {r['dataset']} | {', '.join(map(str, r['seeds']))} | "
            f"{', '.join(map(str, r['met'])) or 'none'} | {r['modes']:.1f} | {r['hq']:.1f} | "
            f"seed {r['closest_seed']}: {short} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", type=Path, nargs="+")
    args = parser.parse_args(argv)
    scores: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for folder in args.records:
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
        scores.update(final_scores(folder))
    print(markdown(rows(scores)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
