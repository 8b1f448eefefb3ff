"""End-to-end: run records, resume after a kill, divergence, tables, and the command line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines import registry
from baselines.gan import GAN
from benchmark import cli
from benchmark.reports import tables
from benchmark.runs.hooks import CoverageEval, read_metrics
from benchmark.runs.run import RunSpec, run

RUN_FILES = {"config.json", "metrics.jsonl", "summary.json", "samples.png", "losses.png", "samples.npy"}


def test_run_writes_a_complete_record_and_is_skipped_when_done(tmp_path, tiny_train):
    spec = RunSpec("ring8", "gan", seed=0, train=tiny_train)
    summary = run(spec, tmp_path)
    folder = spec.folder(tmp_path)
    assert RUN_FILES <= {p.name for p in folder.iterdir()}
    assert summary["status"] == "ok"
    config = json.loads((folder / "config.json").read_text())
    assert config["train"]["iters"] == 40 and config["train"]["lr_g"] == 1e-3  # fully resolved
    assert config["variant_options"] == {"loss": "non-saturating"}
    records = read_metrics(folder / "metrics.jsonl")
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    assert "eval/modes_captured" in records[1]
    assert set(summary["metrics"]) >= {"modes_captured", "high_quality_score", "kl_gen_true_distance"}
    assert summary["versions"]["torch"] == torch.__version__
    mtime = (folder / "summary.json").stat().st_mtime_ns
    assert json.dumps(run(spec, tmp_path), sort_keys=True) == json.dumps(summary, sort_keys=True)
    assert (folder / "summary.json").stat().st_mtime_ns == mtime


def test_killed_run_resumes_to_the_same_result(tmp_path, tiny_train, monkeypatch):
    train = {**tiny_train, "eval_every": 10}
    reference = run(RunSpec("grid25", "gan", train=train), tmp_path / "a")

    original = CoverageEval.on_eval
    state = {"killed": False}

    def kill_at_30(self, trainer, step):
        if step == 30 and not state["killed"]:
            state["killed"] = True
            raise KeyboardInterrupt  # like a SIGINT: not caught as a run failure
        return original(self, trainer, step)

    monkeypatch.setattr(CoverageEval, "on_eval", kill_at_30)
    spec = RunSpec("grid25", "gan", train=train)
    with pytest.raises(KeyboardInterrupt):
        run(spec, tmp_path / "b")
    folder = spec.folder(tmp_path / "b")
    assert not (folder / "summary.json").exists() and (folder / "checkpoint.pt").exists()
    resumed = run(spec, tmp_path / "b")
    assert resumed["resumed_from"] == 20
    assert json.dumps(resumed["metrics"]) == json.dumps(reference["metrics"])
    assert [r["step"] for r in read_metrics(folder / "metrics.jsonl")] == [10, 20, 30, 40]


class _NaNAt25(GAN):
    name = "nan-at-25"

    def generator_step(self, gen):
        logs = super().generator_step(gen)
        if self._steps_done == 24:
            with torch.no_grad():
                next(self.generator.parameters()).fill_(float("inf"))
        self._steps_done += 1
        return logs

    _steps_done = 0


def test_nan_run_is_recorded_as_diverged_with_its_step(tmp_path, tiny_train, monkeypatch):
    monkeypatch.setitem(registry._VARIANTS, _NaNAt25.name, _NaNAt25)
    summary = run(RunSpec("ring8", "nan-at-25", train=tiny_train), tmp_path)
    assert summary["status"] == "diverged"
    assert summary["diverged_step"] == 26
    assert "metrics" not in summary
    # The evaluation at step 20 survives (eval_every 20 in tiny_train), with its numbers.
    assert set(summary["last_eval"]) >= {"eval/modes_captured", "eval/high_quality_score"}
    assert summary["last_eval"]["eval/modes_captured"] in range(9)


def _fake_summary(root, dataset, variant, seed, modes, hq, status="ok"):
    folder = Path(root) / dataset / variant / f"seed{seed}"
    folder.mkdir(parents=True)
    s = {
        "dataset": dataset,
        "variant": variant,
        "tag": "",
        "seed": seed,
        "iters": 100,
        "status": status,
        "wall_time_s": 1.0,
        "failure_events": [],
    }
    if status == "ok":
        s["metrics"] = {
            "modes_captured": modes,
            "modes_total": 8.0,
            "high_quality_score": hq,
            "kl_gen_true_distance": 0.5,
            "kl_true_gen_distance": 1.0,
        }
    (folder / "summary.json").write_text(json.dumps(s))
    return folder


def test_table_mean_and_t_interval_over_seeds(tmp_path):
    for seed, (modes, hq) in enumerate([(1, 0.9), (3, 0.8), (5, 0.7)]):
        _fake_summary(tmp_path, "ring8", "gan", seed, modes, hq)
    _fake_summary(tmp_path, "ring8", "gan", 3, 0, 0, status="diverged")
    md = tables.render(tmp_path, "md")
    # modes 1, 3, 5: mean 3, half-width t(0.975, 2) * 2 / sqrt(3) = 4.97, clipped at 0; HQ 90, 80, 70:
    # 80 +- 24.8, clipped at 100. Both intervals contain the published 1 mode and 99.3 %: marked.
    assert "3.0 [0.0, 8.0] / 8 ✓" in md and "80.0 [55.2, 100.0] ✓" in md and "3/1/0" in md
    assert "published, VEEGAN" in md  # the protocol's published row beside ours
    csv = tables.summarize(tables.load_runs(tmp_path))
    row = csv.iloc[0]
    assert row["modes_captured_mean"] == pytest.approx(3.0) and row["modes_captured_std"] == pytest.approx(
        2.0
    )
    assert row["seeds"] == 4 and row["diverged"] == 1
    tex = tables.render(tmp_path, "tex")
    assert r"\toprule" in tex and r"[55.2, 100.0] $\checkmark$" in tex
    assert row["high_quality_score_ci_hi"] == pytest.approx(0.8 + 4.302653 * 0.1 / 3**0.5, abs=1e-5)


def test_table_last_five_evaluations_and_marks_only_when_inside(tmp_path):
    # Two seeds whose evaluations hop: the last 5 of 1..7 modes average 5, of 3..9 (capped) 7; their
    # finals are 8 and 2. HQ stays far below the published 99.3 %, so only the modes are marked.
    for seed, (final, evals) in enumerate([(8, range(1, 8)), (2, range(3, 10))]):
        folder = _fake_summary(tmp_path, "ring8", "gan", seed, final, 0.1)
        lines = [
            {"step": 100 * i, "eval/modes_captured": m, "eval/high_quality_score": 0.1}
            for i, m in enumerate(evals)
        ]
        (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + "{torn")
    runs = tables.load_runs(tmp_path)
    assert sorted(runs["modes_captured_last5"]) == [5.0, 7.0]
    table = tables.display_table(runs)
    ours = table[table["source"].str.startswith("ours")].iloc[0]
    assert ours["modes, last 5"].startswith("6.0 [0.0, 8.0] / 8 ✓")  # 6 +- 12.7
    assert ours["HQ %"] == "10.0 [10.0, 10.0]" and ours["HQ %, last 5"] == "10.0 [10.0, 10.0]"
    published = table[table["source"].str.startswith("published")].iloc[0]
    assert published["modes, last 5"] == "1 / 8" and published["HQ %"] == "99.3"


def test_cli_run_then_table(tmp_path, tiny_train, capsys):
    args = [
        "run",
        "--dataset",
        "bimodal-temperature",
        "--variant",
        "gan",
        "--seed",
        "1",
        "--out",
        str(tmp_path),
        "--iters",
        "20",
        "--batch-size",
        "32",
        "--z-dim",
        "4",
        "--eval-every",
        "10",
        "--log-every",
        "10",
        "--set",
        "loss=minimax",
    ]
    assert cli.main(args) == 0
    folder = tmp_path / "bimodal-temperature" / "gan" / "seed1"
    assert json.loads((folder / "config.json").read_text())["variant_options"]["loss"] == "minimax"
    assert cli.main(["table", str(tmp_path), "--format", "csv"]) == 0
    assert "bimodal-temperature,gan" in capsys.readouterr().out
    assert cli.main(["table", str(tmp_path), "--curves", str(tmp_path / "fig")]) == 0
    assert "learning_curves_bimodal-temperature.png" in capsys.readouterr().err
    assert (tmp_path / "fig" / "learning_curves_bimodal-temperature.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "--dataset", "ring9", "--variant", "gan"], "valid: ring8, grid25"),
        (["run", "--dataset", "frames:/no/such/folder", "--variant", "gan"], "/no/such/folder"),
        (["run", "--dataset", "ring8", "--variant", "gan", "--image-size", "32"], "image_size"),
        (["classifiers", "--dataset", "ring8"], "not an image dataset"),
        (["run", "--dataset", "ring8", "--variant", "vae"], "'gan'"),
        (["run", "--dataset", "ring8", "--variant", "gan", "--colour", "red"], "valid options of 'run'"),
        (["run", "--dataset", "ring8", "--variant", "gan", "--set", "lose=1"], "valid: loss"),
        (["run", "--dataset", "ring8", "--variant", "gan", "--set", "loss=hinge"], "non-saturating, minimax"),
        (["table", "/nonexistent/folder"], "is not a folder"),
        (
            ["suite", "nosuch"],
            "valid: carracing-story, gan-veegan, goal, mixtures, mixtures-full, paper, smoke, stacked-mnist, "
            "stacked-mnist-long, stacked-mnist-paper, stacked-mnist-small-d, standard, temperature-protocol, "
            "veegan-protocol",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, expected):
    proc = subprocess.run([sys.executable, "-m", "benchmark", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_suite_file_with_unknown_key_names_file_and_line(tmp_path):
    from baselines.errors import ConfigError
    from benchmark.runs.suite import load_suite

    bad = tmp_path / "bad.toml"
    bad.write_text('datasets = ["ring8"]\nvariants = ["gan"]\nseedz = [0]\n')
    with pytest.raises(ConfigError, match=r"bad.toml:3: unknown key 'seedz'"):
        load_suite(str(bad))
    bad.write_text('datasets = ["ring8"]\nvariants = ["gann"]\n')
    with pytest.raises(ConfigError, match=r"bad.toml:2: .*valid: .*gan"):
        load_suite(str(bad))


def test_list_names_everything(capsys):
    import diagnostics
    from benchmark.data import registry as datasets
    from benchmark.runs.suite import suite_names

    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    sections, current = {}, None
    for line in out.splitlines():
        if not line.startswith(" "):
            current = line.rstrip(":")
            continue
        sections.setdefault(current, []).append(line.split()[0])  # the name starts each entry
    # Each registered thing by its exact name in its own section ("gan" alone, not inside "wgan").
    assert sections["datasets"] == datasets.names() and "frames:PATH" in sections["datasets"]
    assert sorted(sections["variants"]) == registry.names()
    assert set(diagnostics.names()) | {"d_loss_to_zero"} == set(sections["diagnostics"])
    assert sections["suites"] == suite_names()


def test_samples_are_saved_for_rescoring(tmp_path, tiny_train):
    spec = RunSpec("ring8", "gan", train=tiny_train)
    run(spec, tmp_path)
    assert np.load(spec.folder(tmp_path) / "samples.npy").shape == (2500, 2)


def test_d_loss_detector_is_not_applied_to_a_wasserstein_critic(tmp_path, tiny_train):
    # A critic loss is signed and sits near zero in healthy training; the detector would misfire.
    summary = run(RunSpec("ring8", "wgan", train=tiny_train), tmp_path)
    assert summary["status"] == "ok"
    assert summary["failure_events"] == [] and "not applicable" in summary["detector_note"]


@pytest.mark.parametrize(
    "name",
    [
        "smoke",
        "standard",
        "paper",
        "mixtures",
        "mixtures-full",
        "goal",
        "gan-veegan",
        "stacked-mnist",
        "stacked-mnist-paper",
        "stacked-mnist-long",
        "veegan-protocol",
    ],
)
def test_every_shipped_suite_resolves(name):
    from benchmark.runs.suite import load_suite

    suite = load_suite(name)  # resolves every run: any bad dataset, variant or option fails here
    assert suite.specs and suite.description


def test_a_record_from_before_a_new_setting_still_matches_at_its_default(tmp_path, tiny_train):
    # Records written before a TrainConfig field existed (e.g. net.conv_width) must stay resumable
    # and skippable while the field keeps its default; a non-default value is a different config.
    from baselines.errors import ConfigError
    from benchmark.runs.run import RunSpec, run

    spec = RunSpec("ring8", "gan", 0, {**tiny_train, "iters": 20, "net": {"hidden": 16}})
    first = run(spec, tmp_path)
    path = spec.folder(tmp_path) / "config.json"
    old = json.loads(path.read_text())
    del old["train"]["net"]["conv_width"]
    path.write_text(json.dumps(old))
    same = json.dumps(run(spec, tmp_path)["metrics"], sort_keys=True)  # skipped, not retrained
    assert same == json.dumps(first["metrics"], sort_keys=True)
    changed = RunSpec("ring8", "gan", 0, {**tiny_train, "iters": 20, "net": {"hidden": 16, "conv_width": 8}})
    with pytest.raises(ConfigError, match="different configuration"):
        run(changed, tmp_path)


def test_a_record_from_before_a_new_variant_option_still_matches_at_its_default(tmp_path, tiny_train):
    from benchmark.runs.run import RunSpec, run

    spec = RunSpec("ring8", "guided-latent", 0, {**tiny_train, "iters": 20}, {"classifier_steps": 5})
    first = run(spec, tmp_path)
    path = spec.folder(tmp_path) / "config.json"
    old = json.loads(path.read_text())
    del old["variant_options"]["stats_min_std"]  # None by default
    path.write_text(json.dumps(old))
    assert run(spec, tmp_path)["status"] == first["status"] == "ok"


def test_output_into_a_closed_pipe_is_not_a_traceback():
    """`mcbench list | head -1`: the reader leaves early; the command ends quietly with code 0. The
    reading end is closed before the command writes anything, so every write meets a broken pipe."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmark", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
