"""Gate power: how often the gate (:mod:`benchmark.gate.gate`) catches each mutant, and how often it
fires on unbroken code with fresh seeds (its false alarms), measured against the committed baseline.

For each mutant of :mod:`benchmark.gate.mutants` every check of the mutated variant is rerun with the
mutant in place of the variant, ``reps`` times with the gate's number of fresh seeds each (seeds from
1000 up; calibration used 0..N-1), and judged by the gate's own rule: a repetition in which a check
fires is a detection. The unbroken code is rerun the same way ``reruns`` times (seeds from 5000 up): a
rerun in which any check fires is a false alarm of the whole gate. Run records go to ``--work``
(finished runs there are reused, so a stopped measurement resumes) and the counts, merged into
``--out``, keep every seed's values.

    python -m benchmark.gate.power [--gate mitigations] [--reps 5] [--reruns 20] [--mutants a,b]
        [--checks a,b] [--jobs 2] [--work DIR] [--out results/gate_power.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from baselines import registry
from baselines.atomic import write_json
from benchmark.gate.checks import Gate, load_gate
from benchmark.gate.gate import check_specs, execute, load_baseline, summaries, validate, verdict
from benchmark.gate.mutants import MUTANTS, Mutant, mutants_registered
from benchmark.runs.run import RunSpec

MUTANT_SEEDS, RERUN_SEEDS = 1000, 5000
PLUGIN = "benchmark.gate.mutant_plugin"


def mutant_specs(gate: Gate, m: Mutant, rep: int) -> dict[str, list[RunSpec]]:
    """The mutant in place of its variant in each of that variant's checks, for repetition ``rep``."""
    return {
        c.name: check_specs(
            gate,
            c,
            list(range(MUTANT_SEEDS + rep * c.seeds, MUTANT_SEEDS + (rep + 1) * c.seeds)),
            m.run_variant,
            {**c.options, **m.options},
            m.train,
            f"{c.name}~{m.name}",
        )
        for c in gate.checks
        if c.variant == m.of
    }


def rerun_specs(gate: Gate, rerun: int, checks: list[str]) -> dict[str, list[RunSpec]]:
    return {
        c.name: check_specs(
            gate, c, list(range(RERUN_SEEDS + rerun * c.seeds, RERUN_SEEDS + (rerun + 1) * c.seeds))
        )
        for c in gate.checks
        if c.name in checks
    }


def _judge(gate: Gate, base: dict[str, Any], groups: dict[str, list[RunSpec]], root: Path) -> dict[str, Any]:
    out = {}
    for name, specs in groups.items():
        v = verdict(gate.check(name), base["checks"][name], summaries(specs, root))
        out[name] = {
            "seeds": [s.seed for s in specs],
            "failures": v.failures,
            "fired": v.fired,
            "values": v.values,
            "status": v.status,
            "line": v.line() if v.fired else "",
        }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gate", default="mitigations")
    p.add_argument("--baseline", type=Path, default=None, help="default results/baselines/GATE.json")
    p.add_argument("--reps", type=int, default=5, help="repetitions (fresh seed sets) per mutant")
    p.add_argument("--reruns", type=int, default=20, help="reruns of the unbroken gate with fresh seeds")
    p.add_argument("--mutants", default=None, help="comma-separated mutant names (default all; 'none')")
    p.add_argument(
        "--checks", default=None, help="unbroken reruns of these checks only (default all; 'none')"
    )
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", type=Path, default=None, help="run records (kept; default a temporary folder)")
    p.add_argument("--out", type=Path, default=None, help="merge the counts into this JSON file")
    args = p.parse_args(argv)
    gate = load_gate(args.gate)
    validate(gate)
    base = load_baseline(args.baseline or Path("results/baselines") / f"{gate.name}.json", gate)
    names = None if args.mutants in (None, "all") else set(args.mutants.split(",")) - {"none"}
    mutants = [m for m in MUTANTS if names is None or m.name in names]
    checks = (
        gate.names() if args.checks in (None, "all") else [c for c in args.checks.split(",") if c != "none"]
    )
    for c in checks:
        gate.check(c)  # an unknown name is one clear error
    root = args.work or Path(tempfile.mkdtemp(prefix="gate-power-"))
    groups: dict[tuple[str, int], dict[str, list[RunSpec]]] = {}
    for m in mutants:
        for r in range(args.reps):
            groups[(m.name, r)] = mutant_specs(gate, m, r)
    for r in range(args.reruns if checks else 0):
        groups[("unbroken", r)] = rerun_specs(gate, r, checks)
    specs = [s for g in groups.values() for ss in g.values() for s in ss]
    # This process: the mutants registered only inside the block (entered before MCBENCH_PLUGINS names
    # the corpus, or the registry would import it for good). The pool's workers: through the variable.
    with mutants_registered():
        old = os.environ.get(registry.PLUGINS_ENV)
        os.environ[registry.PLUGINS_ENV] = ",".join(filter(None, [old, PLUGIN]))
        try:
            execute(specs, root, args.jobs, args.threads, progress=False)
        finally:
            if old is None:
                os.environ.pop(registry.PLUGINS_ENV, None)
            else:
                os.environ[registry.PLUGINS_ENV] = old
    missing = [str(s.folder(root)) for s in specs if not (s.folder(root) / "summary.json").exists()]
    if missing:  # a run that left no record is an error of the measurement, never a detection
        raise SystemExit(f"gate power: {len(missing)} runs left no summary.json, e.g. {missing[0]}")
    result: dict[str, Any] = (
        json.loads(args.out.read_text())
        if args.out and args.out.exists()
        else {"mutants": {}, "unbroken": {}}
    )
    result.update(
        {"gate": gate.name, "baseline_created": base["created"], "predicted_false_alarm": base["false_alarm"]}
    )
    for m in mutants:
        reps = [_judge(gate, base, groups[(m.name, r)], root) for r in range(args.reps)]
        detected = sum(any(c["fired"] for c in rep.values()) for rep in reps)
        weak = [c for c in reps[0] if base["checks"][c]["weak"]] if reps else []
        result["mutants"][m.name] = {
            "of": m.of,
            "breaks": m.breaks,
            "checks": sorted(reps[0]) if reps else [],
            "weak_checks": weak,
            "detected": detected,
            "reps": len(reps),
            "rate": detected / max(1, len(reps)),
            "per_rep": reps,
        }
        print(f"{m.name:36s} detected {detected}/{len(reps)}" + (" (weak check)" if weak else ""), flush=True)
    if checks and args.reruns:
        reruns = [_judge(gate, base, groups[("unbroken", r)], root) for r in range(args.reruns)]
        for c in checks:
            fired = sum(rr[c]["fired"] for rr in reruns)
            b = base["checks"][c]
            result["unbroken"][c] = {
                "reruns": len(reruns),
                "fired": fired,
                "predicted": b["false_alarm"],
                "failing_seeds": sum(rr[c]["failures"] for rr in reruns),
                "seeds": sum(len(rr[c]["seeds"]) for rr in reruns),
                "per_rerun": [
                    {k: rr[c][k] for k in ("seeds", "failures", "fired", "values")} for rr in reruns
                ],
            }
            print(f"{c:36s} false alarms {fired}/{len(reruns)} (predicted {100 * b['false_alarm']:.2g} %)")
        whole = sum(any(rr[c]["fired"] for c in checks) for rr in reruns)
        result["gate_false_alarms"] = {"checks": checks, "reruns": len(reruns), "fired": whole}
        print(f"whole gate: {whole}/{len(reruns)} reruns raised an alarm")
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
