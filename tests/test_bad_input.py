"""Bad input, tried as a new user would: one line naming the bad value, exit code 2, no traceback,
and nothing written. In-process (cli.main), so the corpus stays fast."""

import json

import numpy as np
import pytest

from benchmark import cli

RUN = ["run", "--dataset", "ring8", "--variant", "gan"]


def _cases():
    for flag, value, message in [
        ("--iters", "0", "iters (--iters) must be >= 1, got 0"),
        ("--iters", "-5", "iters (--iters) must be >= 1, got -5"),
        ("--z-dim", "0", "z_dim (--z-dim) must be >= 1, got 0"),
        ("--batch-size", "0", "batch_size (--batch-size) must be >= 1, got 0"),
        ("--log-every", "0", "log_every (--log-every) must be >= 1, got 0"),
        ("--eval-every", "0", "eval_every (--eval-every) must be >= 1, got 0"),
        ("--d-steps", "0", "d_steps (--d-steps) must be >= 1, got 0"),
        ("--ckpt-every", "-1", "ckpt_every (--ckpt-every) must be >= 0, got -1"),
        ("--lr-d", "nan", "lr_d (--lr-d) must be finite and >= 0, got nan"),
        ("--lr-g", "inf", "lr_g (--lr-g) must be finite and >= 0, got inf"),
        ("--lr-g", "-0.1", "lr_g (--lr-g) must be finite and >= 0, got -0.1"),
        ("--device", "bogus", "device (--device) must be auto, cpu, cuda, cuda:N or mps; got 'bogus'"),
        ("--hidden", "0", "net.hidden (--hidden) must be >= 1, got 0"),
        ("--g-layers", "0", "net.g_layers (--g-layers) must be >= 1, got 0"),
        ("--d-layers", "-2", "net.d_layers (--d-layers) must be >= 1, got -2"),
        ("--iters", "ten", "argument --iters: invalid int value: 'ten'"),
        ("--eval-every", "7", "eval_every (7) must be a multiple of log_every"),
    ]:
        yield pytest.param([*RUN, flag, value], message, id=f"run {flag} {value}")
    yield pytest.param([*RUN[:2], "ring9", "--variant", "gan"], "unknown dataset 'ring9'", id="run dataset")
    yield pytest.param([*RUN[:4], "gann"], "invalid choice: 'gann'", id="run variant")
    yield pytest.param([*RUN, "--set", "loss"], "--set expects KEY=VALUE, got 'loss'", id="run set")
    yield pytest.param([*RUN, "--set", "los=x"], "los", id="run unknown option")
    yield pytest.param(["suite", "nosuch"], "unknown suite 'nosuch'", id="suite name")
    yield pytest.param(
        ["suite", "smoke", "--iters", "0"], "iters (--iters) must be >= 1, got 0", id="suite iters 0"
    )
    yield pytest.param(
        ["suite", "smoke", "--jobs", "x"], "argument --jobs: invalid int value", id="suite jobs"
    )
    yield pytest.param(["table", "/nonexistent/dir"], "/nonexistent/dir is not a folder", id="table dir")
    yield pytest.param(["report", "/nonexistent/dir"], "/nonexistent/dir is not a folder", id="report dir")
    yield pytest.param(["table", "DIR", "--format", "xls"], "invalid choice: 'xls'", id="table format")
    yield pytest.param(
        ["records", "/nonexistent"], "the following arguments are required: --into", id="records"
    )
    yield pytest.param(["frobnicate"], "invalid choice: 'frobnicate'", id="command")
    yield pytest.param([*RUN, "--bogus", "1"], "unrecognized arguments: --bogus 1", id="unknown flag")
    yield pytest.param([*RUN, "--out", "FILE"], "a file is in the way", id="run out file")
    yield pytest.param([*RUN, "--out", "FILE/runs"], "afile is a file, not a folder", id="run out under file")
    yield pytest.param(["suite", "DIR/none.toml"], "none.toml does not exist", id="suite path")
    yield pytest.param(["records", "DIR", "--into", "FILE"], "a file is in the way", id="records into file")
    yield pytest.param(["table", "DIR", "--out", "FILE/x.md"], "afile is a file", id="table out")
    yield pytest.param(["table", "DIR", "--out", "/"], "a folder is in the way", id="table out folder")
    yield pytest.param(["table", "DIR", "--curves", "FILE"], "a file is in the way", id="table curves")
    yield pytest.param(["report", "DIR", "--out", "FILE"], "a file is in the way", id="report out")
    yield pytest.param(["suite", "smoke", "--out", "FILE"], "a file is in the way", id="suite out")
    yield pytest.param(["suite", "smoke", "--tables", "FILE/t"], "is a file", id="suite tables")
    yield pytest.param(
        ["diagnose", "--fake", "x.npy", "--out", "/"], "a folder is in the way", id="diagnose out"
    )
    yield pytest.param(["regress", "--baseline", "/"], "a folder is in the way", id="regress baseline")
    yield pytest.param(["classifiers", "--out", "FILE/c.json"], "is a file", id="classifiers out")
    # A typed file path whose folder is missing is named before any work, not created (as root it was made)
    yield pytest.param(
        ["diagnose", "--fake", "x.npy", "--out", "/nonexistent/dir/r.json"],
        "argument --out: /nonexistent/dir/r.json: folder /nonexistent/dir does not exist",
        id="diagnose out folder missing",
    )
    yield pytest.param(
        ["table", "DIR", "--out", "/nonexistent/dir/t.md"],
        "argument --out: /nonexistent/dir/t.md: folder /nonexistent/dir does not exist",
        id="table out folder missing",
    )
    yield pytest.param(
        ["classifiers", "--out", "DIR/none/c.json"], "/none does not exist", id="classifiers out missing"
    )
    yield pytest.param(
        ["suite", "smoke", "--jobs", "0"], "argument --jobs: must be >= 1, got 0", id="suite jobs 0"
    )
    yield pytest.param(
        ["suite", "smoke", "--threads", "0"], "--threads: must be >= 1, got 0", id="suite threads 0"
    )
    yield pytest.param(
        ["regress", "--jobs", "0"], "argument --jobs: must be >= 1, got 0", id="regress jobs 0"
    )
    yield pytest.param(
        ["regress", "--seeds", "a,b"], "--seeds expects comma-separated integers", id="regress seeds"
    )
    yield pytest.param(
        ["regress", "--suite", "nosuch"], "unknown suite 'nosuch'; valid: ", id="regress suite"
    )
    yield pytest.param(
        ["regress", "--gate", "nosuch"], "unknown gate 'nosuch'; valid: mitigations", id="regress gate"
    )
    yield pytest.param(
        ["regress", "--gate", "mitigations", "--suite", "smoke"], "not both", id="regress gate and suite"
    )
    yield pytest.param(["regress", "--seeds", "0,1"], "--seeds is for --suite", id="regress gate seeds")
    yield pytest.param(
        ["--plugin", "no_such_module_x", "list"],
        "MCBENCH_PLUGINS: cannot import plugin module 'no_such_module_x'",
        id="plugin missing",
    )
    yield pytest.param(
        ["suite", "smoke", "--backend", "slurm"], "invalid choice: 'slurm'", id="suite backend"
    )
    yield pytest.param(
        [*RUN, "--iters", "1e3"], "argument --iters: invalid int value: '1e3'", id="run iters 1e3"
    )
    yield pytest.param([*RUN, "--seed", "x"], "argument --seed: invalid int value: 'x'", id="run seed")
    yield pytest.param(
        [*RUN, "--set", "loss=hinge"], "gan.loss must be one of non-saturating, minimax", id="run loss"
    )
    yield pytest.param(
        [*RUN[:2], "frames:", "--variant", "gan"], "frames: needs a folder", id="run frames without folder"
    )
    yield pytest.param(
        [*RUN[:2], "frames:/nonexistent", "--variant", "gan"],
        "/nonexistent does not exist",
        id="run frames folder",
    )
    yield pytest.param(
        [*RUN, "--mnist-root", "/x"], "mnist_root do not apply to mixture 'ring8'", id="run mixture option"
    )
    yield pytest.param(
        [*RUN[:2], "mnist", "--variant", "gan", "--frame-rate", "5"],
        "frame_rate do not apply to image dataset 'mnist'",
        id="run image option",
    )
    yield pytest.param(
        [*RUN[:4], "pacgan", "--set", "pack=7"], "pack must be one of 2, 3, 4", id="run pacgan pack"
    )
    yield pytest.param(
        [*RUN[:4], "experience-replay", "--set", "replay_fraction=2"],
        "replay_fraction must be in [0, 1), got 2.0",
        id="run replay fraction",
    )
    for variant, option, message in [  # refused by the variant's constructor, before any folder is made
        ("unrolled", "unroll_steps=-1", "unroll_steps must be >= 0, got -1"),
        ("wgan-gp", "gp_lambda=-1", "gp_lambda must be >= 0, got -1.0"),
        ("minibatch-discrimination", "kernels=0", "kernels must be >= 1, got 0"),
    ]:
        yield pytest.param([*RUN[:4], variant, "--set", option], message, id=f"run {variant} {option}")
    yield pytest.param(
        ["diagnose", "--fake", "DIR/none.npy"], "none.npy: no such file", id="diagnose missing"
    )
    yield pytest.param(
        ["diagnose", "--fake", "x.npy", "--max-samples", "0"],
        "--max-samples: must be >= 2",
        id="diagnose max",
    )


@pytest.mark.parametrize(("argv", "message"), list(_cases()))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("in the way")
    argv = [a.replace("DIR", str(tmp_path)).replace("FILE", str(tmp_path / "afile")) for a in argv]
    extra = ["--out", str(tmp_path / "out")] if argv[0] == "run" and "--out" not in argv else []
    try:
        rc = cli.main([*argv, *extra])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # no run folder, no stray file


def test_a_bad_record_is_named_and_the_others_still_tabulate(tmp_path, capsys):
    good = tmp_path / "ring8/gan/seed0"
    good.mkdir(parents=True)
    summary = {"dataset": "ring8", "variant": "gan", "seed": 0, "iters": 10, "status": "ok"}
    summary["metrics"] = {"modes_captured": 1.0, "modes_total": 8.0, "high_quality_score": 0.5}
    (good / "summary.json").write_text(json.dumps(summary))
    for name, text in (("seed1", '{"status": "o'), ("seed2", "[1, 2]")):
        (tmp_path / "ring8/gan" / name).mkdir()
        (tmp_path / "ring8/gan" / name / "summary.json").write_text(text)
    assert cli.main(["table", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "1.0 / 8" in captured.out and "1/0/0" in captured.out
    assert "seed1/summary.json" in captured.err and "seed2/summary.json" in captured.err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train]\niters = -3\n", "bad.toml:5: iters (--iters) must be >= 1, got -3"),
        ("[train]\nbatch_size = 0\n", "bad.toml:5: batch_size (--batch-size) must be >= 1, got 0"),
        ("[options.gan]\nbogus = 1\n", "bad.toml:5: options.gan: unknown key(s) bogus"),
        ("[train\n", "bad.toml: "),
    ],
    ids=["iters -3", "batch 0", "variant option", "broken toml"],
)
def test_a_bad_suite_file_is_named_with_its_line(text, message, tmp_path, capsys):
    suite = tmp_path / "bad.toml"
    suite.write_text('datasets = ["ring8"]\nvariants = ["gan"]\nseeds = [0]\n' + text)
    assert cli.main(["suite", str(suite), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_a_pickled_sample_file_is_refused_unread(tmp_path, capsys):
    np_file = tmp_path / "fake.npy"
    np.save(np_file, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert cli.main(["diagnose", "--fake", str(np_file), "--dataset", "ring8"]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds pickled objects; refused" in err and len(err.splitlines()) == 1


def _one_run(root):
    run = root / "ring8/gan/seed0"
    run.mkdir(parents=True)
    summary = {"dataset": "ring8", "variant": "gan", "seed": 0, "iters": 10, "status": "ok"}
    summary["metrics"] = {"modes_captured": 1.0, "modes_total": 8.0, "high_quality_score": 0.5}
    (run / "summary.json").write_text(json.dumps(summary))


def test_a_write_that_fails_after_the_checks_is_one_line(tmp_path, capsys, monkeypatch):
    """The folder was fine when the options were read, but the write fails (disk full, say)."""
    from baselines import atomic

    def full(path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "write_text", full)
    monkeypatch.setattr(atomic, "write_json", full)
    _one_run(tmp_path / "runs")
    out = tmp_path / "t.md"
    assert cli.main(["table", str(tmp_path / "runs"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"mcbench: error: --out {out}: No space left on device"
    real = tmp_path / "real.npy"
    np.save(real, np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32))
    argv = ["diagnose", "--real", str(real), "--fake", str(real), "--out", str(tmp_path / "r.json")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"mcbench: error: --out {tmp_path / 'r.json'}: No space left on device"
