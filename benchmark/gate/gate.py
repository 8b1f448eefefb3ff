"""Run a gate file's checks (:mod:`benchmark.gate.checks`): calibrate a baseline (``--update``), or
run the gate's seeds and compare with the baseline, one line per regression naming the rule that
fired.

    mcbench regress                       # the mitigations gate against results/baselines/mitigations.json
    mcbench regress --update              # calibrate: every check with seeds 0..N-1, and the reference
    mcbench --plugin mymodule regress --gate my_gate.toml --update   # a variant of the user's own
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.atomic import write_json
from baselines.errors import ConfigError
from benchmark.gate.checks import (
    WEAK_POWER,
    Check,
    Gate,
    allowed_failures,
    binom_tail,
    failure_rate,
    load_gate,
)
from benchmark.reports.regress import load_baseline as read_baseline
from benchmark.runs.hooks import read_metrics
from benchmark.runs.records import read_summary
from benchmark.runs.run import RunSpec, resolve, versions
from benchmark.runs.suite import Suite, run_suite


def _tag(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def check_train(gate: Gate, check: Check) -> dict[str, Any]:
    return {"ckpt_every": check.iters, **gate.train, **check.train, "iters": check.iters}


def check_specs(
    gate: Gate,
    check: Check,
    seeds: list[int],
    variant: str | None = None,
    options: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    tag: str | None = None,
) -> list[RunSpec]:
    """The runs of ``check`` for ``seeds`` (of ``variant`` with ``options`` and extra ``train`` keys in
    place of the check's own, for the reference and for mutants)."""
    return [
        RunSpec(
            dataset=check.dataset,
            variant=variant or check.variant,
            seed=s,
            train={**check_train(gate, check), **(train or {})},
            options=check.options if options is None else options,
            tag=_tag(tag or check.name),
        )
        for s in seeds
    ]


def reference_specs(gate: Gate, check: Check, seeds: list[int]) -> list[RunSpec]:
    """The reference variant at the check's dataset and training settings, with its own defaults; checks
    that share those settings share these runs (the tag names the settings, not the check)."""
    key = json.dumps([check.dataset, check_train(gate, check)], sort_keys=True).encode()
    tag = "ref-" + hashlib.sha1(key).hexdigest()[:10]
    return check_specs(gate, check, seeds, variant=gate.reference, options={}, tag=tag)


def validate(gate: Gate) -> None:
    """Every check's run resolves (variant, dataset, options and training keys exist), or one
    ConfigError naming the check."""
    for c in gate.checks:
        try:
            resolve(check_specs(gate, c, [0])[0])
        except ConfigError as exc:
            raise ConfigError(f"gate {gate.name}, check {c.name}: {exc}") from None


def execute(specs: list[RunSpec], root: Path, jobs: int, threads: int | None, progress: bool) -> None:
    unique = list({s.folder(root): s for s in specs}.values())
    run_suite(Suite("gate", "", unique), root, jobs=jobs, progress=progress, threads=threads, batch=1)


def summaries(specs: list[RunSpec], root: Path) -> list[dict[str, Any] | None]:
    """Each run's summary with its evaluation records under ``evals`` (None where it has none)."""
    out = []
    for spec in specs:
        s = read_summary(spec.folder(root) / "summary.json")
        if s is not None:
            history = read_metrics(spec.folder(root) / "metrics.jsonl")
            s = {**s, "evals": [e for e in history if any(k.startswith("eval/") for k in e)]}
        out.append(s)
    return out


def seed_values(check: Check, sums: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Per seed: status, the conditions' metrics at the final evaluation, and whether it passed."""
    metrics = sorted({c.metric for c in check.passes})
    return {
        "seeds": [None if s is None else s.get("seed") for s in sums],
        "status": [None if s is None else s.get("status") for s in sums],
        "values": {m: [check.value(s, m) for s in sums] for m in metrics},
        "passed": [check.seed_passes(s) for s in sums],
    }


def _settings(gate: Gate, check: Check) -> dict[str, Any]:
    return {
        "variant": check.variant,
        "dataset": check.dataset,
        "iters": check.iters,
        "rule": check.rule_text(),
        "gate_seeds": check.seeds,
        "options": check.options,
        "train": check_train(gate, check),
    }


def calibrate(
    gate: Gate, root: Path, jobs: int = 2, threads: int | None = None, progress: bool = False
) -> dict[str, Any]:
    """Run every check with the calibration seeds, and the reference at every check's settings; return
    the baseline: per check the seeds' values, the failure rate, the allowed failures of the gate's
    seeds, the check's false-alarm rate and its power against the reference."""
    seeds = list(range(gate.calibration_seeds))
    own = {c.name: check_specs(gate, c, seeds) for c in gate.checks}
    ref = {c.name: reference_specs(gate, c, seeds) for c in gate.checks if c.variant != gate.reference}
    execute([s for group in (*own.values(), *ref.values()) for s in group], root, jobs, threads, progress)
    checks: dict[str, Any] = {}
    for c in gate.checks:
        cal = seed_values(c, summaries(own[c.name], root))
        f = len(seeds) - sum(cal["passed"])
        p0 = failure_rate(f, len(seeds))
        allowed = allowed_failures(c.seeds, p0, gate.alpha_per_check)
        if allowed is None:
            raise ConfigError(
                f"check {c.name}: {f} of {len(seeds)} calibration seeds fail '{c.rule_text()}'; with "
                f"{c.seeds} gate seeds no count of failures keeps its false-alarm rate under "
                f"{gate.alpha_per_check:.4f}: loosen the conditions, lengthen the budget or add seeds"
            )
        entry = {
            **_settings(gate, c),
            "why": c.why,
            "calibration": cal,
            "failures": f,
            "failure_rate": p0,
            "allowed_failures": allowed,
            "false_alarm": binom_tail(c.seeds, p0, allowed),
        }
        if c.name in ref:
            rv = seed_values(c, summaries(ref[c.name], root))
            q = 1 - sum(rv["passed"]) / len(seeds)
            power = binom_tail(c.seeds, q, allowed)
            entry["reference"] = {**rv, "failures": len(seeds) - sum(rv["passed"]), "power": power}
            entry["weak"] = power < WEAK_POWER
        else:
            entry["reference"], entry["weak"] = None, False
        checks[c.name] = entry
    no_alarm = 1.0
    for e in checks.values():
        no_alarm *= 1 - e["false_alarm"]
    return {
        "gate": gate.name,
        "alpha": gate.alpha,
        "seeds": gate.seeds,
        "calibration_seeds": gate.calibration_seeds,
        "reference": gate.reference,
        "false_alarm": 1 - no_alarm,
        "rule": (
            "a check fails when more of its gate seeds fail its conditions than its allowed_failures, "
            "the smallest count whose binomial tail under the calibrated failure rate (Laplace) is at "
            "most alpha / checks"
        ),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "versions": versions(),
        "checks": checks,
    }


@dataclass
class Verdict:
    check: str
    variant: str
    dataset: str
    failures: int
    seeds: int
    allowed: int
    values: dict[str, list[Any]]
    status: list[Any]
    baseline: dict[str, Any]
    rule: str

    @property
    def fired(self) -> bool:
        return self.failures > self.allowed

    def line(self) -> str:
        """The variant, dataset, metrics with baseline and new values, and the rule that fired."""
        parts = []
        for metric, now in self.values.items():
            base = [v for v in self.baseline["calibration"]["values"][metric] if v is not None]
            mean = sum(base) / len(base) if base else float("nan")
            parts.append(f"{metric} baseline mean {mean:.3g}, now {', '.join(_fmt(v) for v in now)}")
        bad = [s for s in self.status if s != "ok"]
        state = f"; runs not ok: {', '.join(str(s) for s in bad)}" if bad else ""
        b = self.baseline
        return (
            f"regression: {self.dataset} {self.variant} [{self.check}]: {'; '.join(parts)}{state}; "
            f"rule fired: {self.failures} of {self.seeds} seeds fail '{self.rule}' (allowed {self.allowed}; "
            f"baseline {b['failures']} of {len(b['calibration']['passed'])} seeds failed; false-alarm rate "
            f"{100 * b['false_alarm']:.2g} %)"
        )


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def verdict(check: Check, base: dict[str, Any], sums: list[dict[str, Any] | None]) -> Verdict:
    sv = seed_values(check, sums)
    return Verdict(
        check=check.name,
        variant=check.variant,
        dataset=check.dataset,
        failures=len(sums) - sum(sv["passed"]),
        seeds=len(sums),
        allowed=base["allowed_failures"],
        values=sv["values"],
        status=sv["status"],
        baseline=base,
        rule=check.rule_text(),
    )


def load_baseline(path: Path, gate: Gate) -> dict[str, Any]:
    """The baseline of ``gate``; a ConfigError when missing or made for other checks or settings."""
    base = read_baseline(path)
    for c in gate.checks:
        b = base.get("checks", {}).get(c.name)
        if b is None:
            raise ConfigError(f"{path} has no check {c.name!r}; rewrite it with --update")
        for key, value in _settings(gate, c).items():
            if json.loads(json.dumps(value)) != b.get(key):
                raise ConfigError(
                    f"{path}: check {c.name} was calibrated with {key} {b.get(key)!r}, the gate file now "
                    f"says {value!r}; rewrite the baseline with --update"
                )
    return base


def weak_lines(base: dict[str, Any]) -> list[str]:
    out = []
    for name, b in base["checks"].items():
        if b.get("weak"):
            r = b["reference"]
            out.append(
                f"weak check: {b['dataset']} {b['variant']} [{name}]: {base['reference']} also passes "
                f"'{b['rule']}' in {len(r['passed']) - r['failures']} of {len(r['passed'])} seeds, so this "
                f"budget cannot tell the variant from {base['reference']} (power {r['power']:.2f})"
            )
    return out


def run_gate(
    gate_name: str | Path,
    baseline_path: Path | None = None,
    update: bool = False,
    out: Path | None = None,
    jobs: int = 2,
    threads: int | None = None,
    progress: bool = False,
    echo: Any = print,
) -> int:
    """Calibrate (``update``) or run the gate: exit code 1 with one line per regression, 0 when none.
    Run records go to ``out`` (kept; finished runs there are reused) or to a temporary folder."""
    gate = load_gate(gate_name)
    validate(gate)
    path = Path(baseline_path or Path("results/baselines") / f"{gate.name}.json")
    base = None if update else load_baseline(path, gate)
    root = Path(out) if out else Path(tempfile.mkdtemp(prefix="mcbench-gate-"))
    try:
        if update:
            result = calibrate(gate, root, jobs, threads, progress)
            write_json(path, result)
            for line in weak_lines(result):
                echo(line)
            echo(
                f"baseline written: {path} ({len(gate.checks)} checks x {gate.calibration_seeds} seeds and "
                f"the {gate.reference} reference; gate false-alarm rate {100 * result['false_alarm']:.2g} %)"
            )
            return 0
        specs = {c.name: check_specs(gate, c, list(range(c.seeds))) for c in gate.checks}
        execute([s for group in specs.values() for s in group], root, jobs, threads, progress)
        verdicts = [verdict(c, base["checks"][c.name], summaries(specs[c.name], root)) for c in gate.checks]
    finally:
        if out is None:
            shutil.rmtree(root, ignore_errors=True)
    for line in weak_lines(base):
        echo(line)
    fired = [v for v in verdicts if v.fired]
    for v in fired:
        echo(v.line())
    n = len(gate.checks)
    if fired:
        echo(f"{len(fired)} regression(s) in {n} checks against {path}")
        return 1
    echo(
        f"no regressions: {n} checks pass against {path} (gate false-alarm rate on fresh "
        f"seeds {100 * base['false_alarm']:.2g} %)"
    )
    return 0
