"""The mechanism-check gate: the binomial rule on known answers, gate files' bad input, the seed value
over the last evaluations, the regression line, and end to end a user's own variant (a plugin module)
calibrated with --update, passing unchanged and caught when broken."""

from __future__ import annotations

import json
import math
import sys

import pytest

from baselines.errors import ConfigError
from benchmark import cli
from benchmark.gate import checks
from benchmark.gate.checks import Check, Condition, allowed_failures, binom_tail, failure_rate, load_gate
from benchmark.gate.gate import Verdict, validate

PLUGIN = '''
from baselines import registry
from baselines.cgan import CGAN


class MyCGAN(CGAN):
    """A user's variant; BROKEN stands for a bug introduced later (its generator stops learning)."""

    name = "my-cgan"
    BROKEN = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if MyCGAN.BROKEN:
            for group in self.opt_g.param_groups:
                group["lr"] = 0.0


registry.register(MyCGAN)
'''


def test_binomial_tail_and_allowed_failures_on_known_answers():
    assert binom_tail(4, 0.5, 1) == pytest.approx(11 / 16)
    assert binom_tail(4, 0.5, 3) == pytest.approx(1 / 16)
    assert binom_tail(4, 0.2, 4) == 0.0
    assert failure_rate(0, 20) == pytest.approx(1 / 22)  # Laplace: never zero
    # p0 = 1/22, 4 seeds, 0.05 over 12 checks: P(X > 1) = 0.0107 is too much, P(X > 2) = 3.5e-4 is not
    p0, alpha = 1 / 22, 0.05 / 12
    assert binom_tail(4, p0, 1) == pytest.approx(1 - (21 / 22) ** 4 - 4 * (1 / 22) * (21 / 22) ** 3)
    assert allowed_failures(4, p0, alpha) == 2
    assert allowed_failures(4, 0.5, 1e-3) is None  # no count of 4 seeds is rare enough


def test_a_seed_passes_on_every_condition_and_its_reduced_value():
    c = Check("c", "gan", "ring8", 10, (Condition("modes_captured", ">=", 2),), last=2, reduce="max")
    evals = [{"eval/modes_captured": v} for v in (3, 1, 2)]
    ok = {"status": "ok", "metrics": {"modes_captured": 2}, "evals": evals}
    assert c.value(ok, "modes_captured") == 2 and c.seed_passes(ok)
    late = [{"eval/modes_captured": v} for v in (3, 1, 1)]  # only the last two count, not the early 3
    assert c.value({**ok, "evals": late}, "modes_captured") == 1 and not c.seed_passes({**ok, "evals": late})
    assert not c.seed_passes({**ok, "status": "diverged"}) and not c.seed_passes(None)
    final = Check("f", "gan", "ring8", 10, (Condition("high_quality_score", ">=", 0.5),))
    assert final.seed_passes({"status": "ok", "metrics": {"high_quality_score": 0.5}})
    assert not final.seed_passes({"status": "ok", "metrics": {"high_quality_score": math.nan}})


@pytest.mark.parametrize(
    "text, message",
    [
        ("bogus = 1\n", "unknown key 'bogus'; valid: alpha"),
        ("[[check]]\nvariant = 'gan'\n", "missing key 'dataset'"),
        (
            "[[check]]\nvariant='gan'\ndataset='ring8'\niters=5\npasses=['modes > 2']\n",
            "is not 'METRIC >= NUMBER'",
        ),
        (
            "[[check]]\nvariant='gan'\ndataset='ring8'\niters=5\npasses=['x >= 1']\nreduce='sum'\n",
            "valid: mean, max",
        ),
        ("alpha = 2\n[[check]]\n", "alpha must lie in (0, 1)"),
        ("description = 'x'\n", "no [[check]] tables"),
    ],
)
def test_a_bad_gate_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_gate(path)
    assert message in str(err.value)


def test_an_unknown_variant_in_a_check_is_named(tmp_path, tiny_gate):
    path = tmp_path / "g.toml"
    path.write_text(tiny_gate("nosuch"))
    with pytest.raises(ConfigError, match="check nosuch@bimodal-temperature: unknown variant 'nosuch'"):
        validate(load_gate(path))


def test_the_shipped_gate_has_one_check_per_variant():
    from baselines import registry

    gate = load_gate("mitigations")
    validate(gate)
    assert sorted(c.variant for c in gate.checks) == sorted(n for n in registry.names() if "~" not in n)
    assert checks.gate_names() == ["mitigations"]


def test_a_regression_line_names_variant_dataset_metric_values_and_rule():
    base = {"calibration": {"values": {"modes_captured": [2.0, 2.0]}, "passed": [True, True]}}
    base.update(failures=0, false_alarm=0.00035)
    v = Verdict(
        "c",
        "pacgan",
        "bimodal-temperature",
        3,
        4,
        2,
        {"modes_captured": [1.0, 1.0, 2.0, 1.0]},
        ["ok"] * 4,
        base,
        "modes_captured >= 2",
    )
    assert v.fired
    assert v.line() == (
        "regression: bimodal-temperature pacgan [c]: modes_captured baseline mean 2, now 1, 1, 2, 1; "
        "rule fired: 3 of 4 seeds fail 'modes_captured >= 2' (allowed 2; baseline 0 of 2 seeds failed; "
        "false-alarm rate 0.035 %)"
    )


def test_a_users_own_variant_is_calibrated_passes_and_is_caught_when_broken(
    tmp_path, monkeypatch, capsys, tiny_gate
):
    (tmp_path / "my_gan_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    gate, base = tmp_path / "mine.toml", tmp_path / "mine.json"
    gate.write_text(tiny_gate("my-cgan"))
    common = ["--plugin", "my_gan_plugin", "regress", "--gate", str(gate), "--baseline", str(base)]
    common += ["--jobs", "1", "--threads", "1"]
    try:
        assert cli.main([*common, "--update", "--out", str(tmp_path / "cal")]) == 0
        written = json.loads(base.read_text())["checks"]["my-cgan@bimodal-temperature"]
        assert written["calibration"]["passed"] == [True, True, True] and written["failures"] == 0
        assert written["reference"]["failures"] == 3  # gan keeps one mode in every seed
        assert written["allowed_failures"] == 1 and not written["weak"]
        assert cli.main(common) == 0
        assert "no regressions: 1 checks pass" in capsys.readouterr().out
        sys.modules["my_gan_plugin"].MyCGAN.BROKEN = True
        assert cli.main(common) == 1
        lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("regression:")]
        assert len(lines) == 1 and lines[0].startswith(
            "regression: bimodal-temperature my-cgan [my-cgan@bimodal-temperature]: modes_captured "
            "baseline mean 2, now 0, 0; rule fired: 2 of 2 seeds fail"
        ), lines
    finally:
        from baselines import registry

        registry._VARIANTS.pop("my-cgan", None)
        sys.modules.pop("my_gan_plugin", None)


def test_a_changed_check_needs_a_new_baseline(tmp_path, tiny_gate):
    from benchmark.gate.gate import load_baseline

    gate = tmp_path / "g.toml"
    gate.write_text(tiny_gate("cgan"))
    base = tmp_path / "b.json"
    base.write_text(json.dumps({"checks": {"cgan@bimodal-temperature": {"iters": 300}}}))
    with pytest.raises(ConfigError, match="was calibrated with .* rewrite the baseline with --update"):
        load_baseline(base, load_gate(gate))
    with pytest.raises(ConfigError, match="no baseline at"):
        load_baseline(tmp_path / "none.json", load_gate(gate))
