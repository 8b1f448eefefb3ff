"""Is a single final snapshot of the plain GAN a lottery? Evaluation by evaluation, from run records.

For each recorded run of VARIANT (default ``gan``) under RECORDS, reads every evaluation in
``metrics.jsonl`` and counts how often the generator was in the state a published snapshot reports:
at most one mode (collapsed), exactly one mode with at least 90 % high-quality samples (the VEEGAN
paper's ring8 row: 1 mode at 99.3 %), and the first step at which it covered at least 80 % of the modes.

    python -m studies.gan_snapshots results/records/veegan-protocol [--variant gan]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmark.runs.hooks import read_metrics


def snapshot_stats(history: list[dict[str, Any]], n_modes: int) -> dict[str, Any]:
    """Counts over the evaluation records of one run (see the module docstring)."""
    evals = [r for r in history if "eval/modes_captured" in r]
    modes = [r["eval/modes_captured"] for r in evals]
    hq = [100 * r["eval/high_quality_score"] for r in evals]
    wide = next((r["step"] for r, m in zip(evals, modes, strict=True) if m >= 0.8 * n_modes), None)
    return {
        "evaluations": len(evals),
        "at_most_1_mode": sum(m <= 1 for m in modes),
        "one_mode_hq_90": sum(m == 1 and h >= 90 for m, h in zip(modes, hq, strict=True)),
        "max_modes": max(modes, default=0),
        "first_step_80pct_modes": wide,
        "final": f"{modes[-1]:.0f} modes, {hq[-1]:.1f} % HQ" if evals else "",
    }


def table(records: Path, variant: str = "gan") -> str:
    head = ["dataset", "seed", "evaluations", "<= 1 mode", "1 mode, HQ >= 90 %", "most modes"]
    rows = ["| " + " | ".join([*head, "first step >= 80 % of modes", "final"]) + " |"]
    rows.append("|" + "---|" * 8)
    for path in sorted(Path(records).glob(f"*/{variant}/seed*/summary.json")):
        s = json.loads(path.read_text(encoding="utf-8"))
        n_modes = int((s.get("metrics") or {}).get("modes_total") or 0)
        st = snapshot_stats(read_metrics(path.parent / "metrics.jsonl"), n_modes)
        rows.append(
            f"| {s['dataset']} | {s['seed']} | {st['evaluations']} | {st['at_most_1_mode']} | "
            f"{st['one_mode_hq_90']} | {st['max_modes']:.0f} / {n_modes} | "
            f"{st['first_step_80pct_modes'] or 'never'} | {st['final']} |"
        )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("records", type=Path)
    p.add_argument("--variant", default="gan")
    args = p.parse_args(argv)
    print(table(args.records, args.variant), end="")


if __name__ == "__main__":
    main()
