"""The README's gate table from the committed baseline and the gate-power counts:

python -m benchmark.gate.table [--baseline results/baselines/mitigations.json]
    [--power results/gate_power.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmark.gate.mutants import MUTANTS


def rows(base: dict[str, Any], power: dict[str, Any]) -> list[str]:
    out = [
        "| check (variant @ dataset, iterations) | a seed passes when | calibration seeds failing | "
        "fires at | false alarms: predicted / fresh reruns | power vs gan | mutants detected |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, b in sorted(base["checks"].items(), key=lambda kv: kv[1]["variant"]):
        n = b["gate_seeds"]
        fresh = power.get("unbroken", {}).get(name)
        reruns = f"{fresh['fired']} of {fresh['reruns']}" if fresh else "not rerun"
        ref = b["reference"]
        pw = "n/a" if ref is None else f"{ref['power']:.2f}" + (" **weak**" if b["weak"] else "")
        found = []
        for m in MUTANTS:
            r = power.get("mutants", {}).get(m.name)
            if m.of == b["variant"] and r is not None:
                found.append(f"{m.name.split('~')[1]} {r['detected']}/{r['reps']}")
        out.append(
            f"| {b['variant']} @ {b['dataset']}, {b['iters']} | {b['rule']} | {b['failures']} of "
            f"{len(b['calibration']['passed'])} | > {b['allowed_failures']} of {n} seeds fail | "
            f"{100 * b['false_alarm']:.2g} % / {reruns} | {pw} | {', '.join(found) or 'none run'} |"
        )
    return out


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", type=Path, default=Path("results/baselines/mitigations.json"))
    p.add_argument("--power", type=Path, default=Path("results/gate_power.json"))
    args = p.parse_args(argv)
    base = json.loads(args.baseline.read_text())
    power = json.loads(args.power.read_text()) if args.power.exists() else {}
    text = "\n".join(rows(base, power))
    g = power.get("gate_false_alarms")
    if g:
        text += (
            f"\n\nWhole gate ({len(g['checks'])} checks rerun): {g['fired']} of {g['reruns']} fresh-seed "
            f"reruns raised an alarm; predicted from the calibration: {100 * base['false_alarm']:.2g} %."
        )
    print(text)
    return text


if __name__ == "__main__":
    main()
