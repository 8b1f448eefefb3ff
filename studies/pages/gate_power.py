"""The regression gate's measured power: mutants caught, partial detections, false alarms, all counted
from ``results/gate_power.json`` against the calibration in ``results/baselines/mitigations.json``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmark.gate import table as gate_table
from benchmark.gate.checks import allowed_failures, binom_tail, failure_rate
from studies.pages import common as c

POWER = "results/gate_power.json"
BASELINE = "results/baselines/mitigations.json"
TARGET = 0.8  # a detection rate per repetition worth a check's cost ("4 times in 5")

# Why a mutant that nothing catches is not caught: interpretation, kept only while the record says
# the mutant is missed in every repetition.
NOT_CAUGHT = {
    "experience-replay~never": "experience replay itself is as collapsed as `gan` at every budget recorded, "
    "so its check is weak and says so",
    "guided-latent~no-classifier": "that term is redundant at these budgets: the per-mode statistics term "
    "alone keeps every sample in its subspace's mode, so the corpus also holds "
    "`guided-latent~no-guidance` (both terms off)",
    "gan~lr-d-x100": "the plain GAN collapsed to one temperature mode is already at the optimal "
    "discriminator, so nothing in its output changes",
}


def mutant_counts(power: dict[str, Any]) -> dict[str, Any]:
    """Mutants caught in every repetition, at least once, never; per mutant its failing seeds."""
    mutants = power["mutants"]
    always = sorted(n for n, m in mutants.items() if m["detected"] == m["reps"])
    once = sorted(n for n, m in mutants.items() if m["detected"] >= 1)
    never = sorted(n for n, m in mutants.items() if m["detected"] == 0)
    seeds_failing = {}
    for name, m in mutants.items():
        reps = [r[check] for r in m["per_rep"] for check in r]
        seeds_failing[name] = (sum(r["failures"] for r in reps), sum(len(r["seeds"]) for r in reps))
    return {"total": len(mutants), "always": always, "once": once, "never": never, "seeds": seeds_failing}


def seeds_needed(p: float, p0: float, alpha: float, target: float = TARGET, most: int = 60) -> int | None:
    """The fewest gate seeds whose rule (at the calibrated rate ``p0``) fires with probability at
    least ``target`` on a fault that fails a seed with probability ``p``."""
    for n in range(1, most + 1):
        allowed = allowed_failures(n, p0, alpha)
        if allowed is not None and binom_tail(n, p, allowed) >= target:
            return n
    return None


def mutant_prose(power: dict[str, Any], base: dict[str, Any]) -> str:
    k = mutant_counts(power)
    mutants, checks = power["mutants"], base["checks"]
    alpha = base["alpha"] / len(checks)
    reps = c.listing(sorted({str(m["reps"]) for m in mutants.values()}), "or")
    lines = [
        f"- **{len(k['always'])} of {k['total']} mutants caught in {reps} of {reps} repetitions, "
        f"{len(k['once'])} at least once**; never caught: {len(k['never'])}."
    ]
    for name in sorted(set(k["once"]) - set(k["always"])):
        m = mutants[name]
        check = checks[m["checks"][0]]
        failing, n = k["seeds"][name]
        p = failing / n
        line = (
            f"- `{name}` ({m['breaks']}): caught in {m['detected']} of {m['reps']}; {failing} of its {n} "
            f"seeds fail against {check['failures']} of {len(check['calibration']['passed'])} unbroken in "
            "calibration."
        )
        if m["detected"] / m["reps"] < TARGET:
            fire = binom_tail(check["gate_seeds"], p, check["allowed_failures"])
            need = seeds_needed(p, check["failure_rate"], alpha)
            line += (
                f" **Caught, but weakly**: a seed fails with probability about {c.fixed(p, 2)}, and "
                f'{check["gate_seeds"]} seeds with "more than {check["allowed_failures"]} fail" fire '
                f"with probability {c.fixed(fire, 2)} at that rate."
            )
            if need:
                line += (
                    f" Catching it with probability {c.fixed(TARGET, 1)} per repetition would take a check "
                    f"of {need} seeds ({c.fixed(need / check['gate_seeds'], 1)} times this check's cost); "
                    "the gate keeps its seeds and this line says what that misses."
                )
        lines.append(line)
    for name in k["never"]:
        why = NOT_CAUGHT.get(name)
        lines.append(
            f"- Not caught: `{name}` ({mutants[name]['breaks']})" + (f", because {why}." if why else ".")
        )
    return "\n".join(lines) + "\n"


def false_alarm_prose(power: dict[str, Any], base: dict[str, Any]) -> str:
    g, unbroken, checks = power["gate_false_alarms"], power["unbroken"], base["checks"]
    n_checks = len(checks)
    runs = sum(len(r["seeds"]) for u in unbroken.values() for r in u["per_rerun"])
    fresh = {name: sum(len(r["seeds"]) for r in u["per_rerun"]) for name, u in unbroken.items()}
    clean = sorted(name for name, u in unbroken.items() if u["failing_seeds"] == 0)
    dirty = sorted(set(unbroken) - set(clean))
    clean_seeds = c.listing(sorted({c.count(fresh[n]) for n in clean}), "or")
    parts = [f"0 of {clean_seeds} in {len(clean)} checks"] + [
        f"{unbroken[n]['failing_seeds']} of {fresh[n]} in `{n}` (calibration: {checks[n]['failures']} of "
        f"{len(checks[n]['calibration']['passed'])}, most failures in one rerun "
        f"{max(r['failures'] for r in unbroken[n]['per_rerun'])} against a threshold of "
        f"{checks[n]['allowed_failures'] + 1})"
        for n in dirty
    ]
    bound = 1 - 0.05 ** (1 / g["reruns"]) if g["fired"] == 0 else math.nan
    predicted = sum(
        failure_rate(checks[n]["failures"], len(checks[n]["calibration"]["passed"])) * fresh[n]
        for n in unbroken
    )
    failed = sum(u["failing_seeds"] for u in unbroken.values())
    worst = max(dirty, key=lambda n: unbroken[n]["failing_seeds"] / fresh[n]) if dirty else None
    text = (
        f"- **False alarms: {g['fired']} of {g['reruns']} whole-gate reruns** with fresh seeds "
        f"({len(g['checks'])} checks, {c.count(runs)} runs). Fresh seeds failing: {c.listing(parts)}. "
        f"The calibration predicts {c.pct(base['false_alarm'])} for the whole gate"
    )
    if g["fired"] == 0:
        text += (
            f"; {g['fired']} of {g['reruns']} by itself bounds the rate at {c.pct(bound, 0)} (95 %, "
            f"one-sided), so the {c.pct(base['alpha'], 0)} claim rests on the binomial rule over per-seed "
            "failure rates, which "
            f"the fresh seeds support: the Laplace estimates the rule uses predict {c.count(predicted)} "
            f"failing seeds of {c.count(sum(fresh.values()))}, and {failed} failed"
        )
    if worst is not None:
        cw = checks[worst]
        p = unbroken[worst]["failing_seeds"] / fresh[worst]
        fire = binom_tail(cw["gate_seeds"], p, cw["allowed_failures"])
        text += (
            f". At `{worst}`'s measured {unbroken[worst]['failing_seeds']} in {fresh[worst]} its check fires "
            f"with probability {c.pct(fire, 2)}, against its {c.pct(base['alpha'] / n_checks, 2)} share of "
            f"the {c.pct(base['alpha'], 0)}"
        )
    return text + ".\n"


def build(root: Path) -> str:
    power, base = c.read_json(root, POWER), c.read_json(root, BASELINE)
    text = "\n".join(gate_table.rows(base, power))
    g = power["gate_false_alarms"]
    mutant_seeds = min(
        s for m in power["mutants"].values() for r in m["per_rep"] for x in r.values() for s in x["seeds"]
    )
    rerun_seeds = min(s for u in power["unbroken"].values() for r in u["per_rerun"] for s in r["seeds"])
    reps = c.listing(sorted({str(m["reps"]) for m in power["mutants"].values()}), "or")
    example = next(
        x["line"]
        for name in sorted(power["mutants"])
        for r in power["mutants"][name]["per_rep"]
        for x in r.values()
        if x.get("fired") and x.get("line")
    )
    calib = sorted({len(b["calibration"]["passed"]) for b in base["checks"].values()})
    return "".join(
        [
            "How the gate works and how to calibrate it: [../gate.md](../gate.md). `make gate-power` "
            "(`python -m benchmark.gate.power`) measures it: a mutation corpus (`benchmark/gate/mutants.py`, "
            "never a shipped default) holds a broken version of every mitigation that still trains and "
            "generic faults; each mutant replaces its variant in that variant's check, "
            f"{reps} times with fresh seeds (from {mutant_seeds}; calibration used seeds 0-"
            f"{calib[-1] - 1}), judged by the gate's own rule. The unbroken gate, all {len(g['checks'])} "
            f"checks, was rerun {g['reruns']} times with fresh seeds (from {rerun_seeds}). The table is "
            f"`python -m benchmark.gate.table` (calibration of {base['created'][:10]}).\n\n",
            text,
            f"\n\nWhole gate ({len(g['checks'])} checks rerun): {g['fired']} of {g['reruns']} fresh-seed "
            f"reruns raised an alarm; predicted from the calibration: {c.pct(base['false_alarm'])}.\n\n",
            mutant_prose(power, base),
            false_alarm_prose(power, base),
            "\nA regression is one line; one of the mutants' lines, as the gate printed it:\n\n    ",
            example,
            "\n",
        ]
    )


PAGE = c.Page(
    name="gate-power",
    title="The regression gate's power, measured",
    records=(POWER, BASELINE),
    summary="mutants caught by the CI gate, and its false alarms on fresh seeds",
    build=build,
)
