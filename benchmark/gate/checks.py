"""Mechanism checks of the regression gate: what each check runs, what a passing seed is, and the
binomial rule that turns failing seeds into a verdict with a stated false-alarm rate.

A gate file (``benchmark/gate/*.toml``, or any TOML path) lists checks. A check trains one variant on
one dataset for a budget at which the variant's mechanism already shows (both temperature modes kept
where ``gan`` keeps one; the ring covered where ``gan`` holds at most one mode) and names the
conditions a seed must meet at the final evaluation, for example ``modes_captured >= 2`` and
``high_quality_score >= 0.5``. A seed that diverges or fails fails the check.

The rule. ``mcbench regress --update`` runs every check with ``calibration_seeds`` seeds (0..N-1) and
counts the failing ones, f; the per-seed failure rate of the unbroken code is estimated as
p0 = (f + 1) / (N + 2) (Laplace's rule: never zero, so a check that never failed in calibration still
gets a failure rate that N seeds cannot exclude). The gate runs ``seeds`` seeds (0..n-1, a subset of
the calibration seeds, so unchanged code on a CPU reproduces them exactly) and fires when more than c
of them fail, c being the smallest count with P(Binomial(n, p0) > c) <= alpha / (number of checks):
the whole gate's false-alarm rate on fresh seeds (a harmless change acts like reseeding) is then at
most ``alpha``. The same calibration runs the ``reference`` variant (``gan``) at each check's settings:
its failure rate q says what a lost mechanism looks like, and P(Binomial(n, q) > c) is the check's
power against a mitigation that has become ``gan``. A check with power below ``WEAK_POWER`` is weak:
its variant cannot be told from ``gan`` at this budget, and the gate prints it so.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from baselines.errors import ConfigError
from benchmark.runs.suite import named_toml

GATES_DIR = Path(__file__).parent
WEAK_POWER = 0.8
OPS = {">=": operator.ge, "<=": operator.le}
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*([-+0-9.eE]+)\s*$")
GATE_KEYS = {"description", "alpha", "seeds", "calibration_seeds", "reference", "train", "check"}
CHECK_KEYS = {
    "name",
    "variant",
    "dataset",
    "iters",
    "passes",
    "why",
    "options",
    "train",
    "last",
    "reduce",
    "seeds",
}
REDUCERS = {"mean": lambda v: sum(v) / len(v), "max": max, "min": min}


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    value: float

    def holds(self, x: float | None) -> bool:
        return x is not None and not (isinstance(x, float) and math.isnan(x)) and OPS[self.op](x, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_condition(text: str, where: str) -> Condition:
    m = _CONDITION.match(str(text))
    if not m:
        raise ConfigError(f"{where}: condition {text!r} is not 'METRIC >= NUMBER' or 'METRIC <= NUMBER'")
    return Condition(m.group(1), m.group(2), float(m.group(3)))


@dataclass(frozen=True)
class Check:
    name: str
    variant: str
    dataset: str
    iters: int
    passes: tuple[Condition, ...]
    why: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    seeds: int = 4  # gate seeds 0..seeds-1 (the gate's ``seeds`` unless the check names its own)
    last: int = 1  # the seed's value of a metric: ``reduce`` over its last ``last`` evaluations
    reduce: str = "mean"

    def value(self, summary: dict[str, Any] | None, metric: str) -> float | None:
        """The seed's value of ``metric``: at the final evaluation, or ``reduce`` over the last ``last``
        (``summary["evals"]``, the run's evaluation records in order)."""
        if not summary:
            return None
        if self.last == 1:
            return (summary.get("metrics") or {}).get(metric)
        seen = [e[f"eval/{metric}"] for e in summary.get("evals", []) if e.get(f"eval/{metric}") is not None]
        return float(REDUCERS[self.reduce](seen[-self.last :])) if seen else None

    def seed_passes(self, summary: dict[str, Any] | None) -> bool:
        """A seed passes when it ended ok and meets every condition."""
        if not summary or summary.get("status") != "ok":
            return False
        return all(c.holds(self.value(summary, c.metric)) for c in self.passes)

    def rule_text(self) -> str:
        rule = " and ".join(str(c) for c in self.passes)
        return rule if self.last == 1 else f"{rule} ({self.reduce} of the last {self.last} evaluations)"


@dataclass(frozen=True)
class Gate:
    name: str
    description: str
    alpha: float
    seeds: int
    calibration_seeds: int
    reference: str
    train: dict[str, Any]
    checks: tuple[Check, ...]

    @property
    def alpha_per_check(self) -> float:
        return self.alpha / max(1, len(self.checks))

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise ConfigError(f"gate {self.name!r} has no check {name!r}; valid: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [c.name for c in self.checks]


def gate_names() -> list[str]:
    return sorted(p.stem for p in GATES_DIR.glob("*.toml"))


def load_gate(name_or_path: str | Path) -> Gate:
    """Read a gate by name (``benchmark/gate/NAME.toml``) or path; every bad key or value is one
    ConfigError naming it and the valid choices."""
    path = named_toml(name_or_path, GATES_DIR, "gate")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - GATE_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; valid: {', '.join(sorted(GATE_KEYS))}")
    alpha = float(data.get("alpha", 0.05))
    seeds, calibration = int(data.get("seeds", 4)), int(data.get("calibration_seeds", 20))
    if not 0 < alpha < 1:
        raise ConfigError(f"{path}: alpha must lie in (0, 1), got {alpha}")
    if seeds < 1 or calibration < seeds:
        raise ConfigError(f"{path}: need 1 <= seeds <= calibration_seeds, got {seeds} and {calibration}")
    checks, names = [], set()
    for i, raw in enumerate(data.get("check", [])):
        where = f"{path}: check {i + 1}"
        bad = sorted(set(raw) - CHECK_KEYS)
        if bad:
            raise ConfigError(f"{where}: unknown key {bad[0]!r}; valid: {', '.join(sorted(CHECK_KEYS))}")
        for key in ("variant", "dataset", "iters", "passes"):
            if key not in raw:
                raise ConfigError(f"{where}: missing key {key!r}")
        name = raw.get("name") or f"{raw['variant']}@{raw['dataset']}"
        if name in names:
            raise ConfigError(f"{where}: check name {name!r} is used twice; give one a 'name'")
        names.add(name)
        passes = tuple(parse_condition(t, where) for t in raw["passes"])
        if not passes:
            raise ConfigError(f"{where}: 'passes' needs at least one condition")
        if raw.get("reduce", "mean") not in REDUCERS:
            raise ConfigError(f"{where}: reduce {raw['reduce']!r}; valid: {', '.join(REDUCERS)}")
        n = int(raw.get("seeds", seeds))
        if not 1 <= n <= calibration:
            raise ConfigError(f"{where}: need 1 <= seeds <= calibration_seeds ({calibration}), got {n}")
        if int(raw.get("last", 1)) < 1:
            raise ConfigError(f"{where}: last must be at least 1, got {raw['last']}")
        checks.append(
            Check(
                name=name,
                variant=raw["variant"],
                dataset=raw["dataset"],
                iters=int(raw["iters"]),
                passes=passes,
                why=raw.get("why", ""),
                options=dict(raw.get("options", {})),
                train=dict(raw.get("train", {})),
                seeds=n,
                last=int(raw.get("last", 1)),
                reduce=raw.get("reduce", "mean"),
            )
        )
    if not checks:
        raise ConfigError(f"{path}: no [[check]] tables")
    return Gate(
        name=path.stem,
        description=data.get("description", ""),
        alpha=alpha,
        seeds=seeds,
        calibration_seeds=calibration,
        reference=data.get("reference", "gan"),
        train=dict(data.get("train", {})),
        checks=tuple(checks),
    )


def binom_tail(n: int, p: float, c: int) -> float:
    """P(X > c) for X ~ Binomial(n, p)."""
    return float(sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(c + 1, n + 1)))


def failure_rate(failures: int, seeds: int) -> float:
    """Laplace's estimate of a per-seed failure rate from ``failures`` of ``seeds``."""
    return (failures + 1) / (seeds + 2)


def allowed_failures(n: int, p0: float, alpha: float) -> int | None:
    """The smallest c with P(Binomial(n, p0) > c) <= alpha; None when even n - 1 is not enough (the
    check then cannot hold its false-alarm rate with n seeds)."""
    for c in range(n):
        if binom_tail(n, p0, c) <= alpha:
            return c
    return None
