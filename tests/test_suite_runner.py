"""The suite runner: suite-file errors with file:line, cost order, failures, SIGKILL and rerun, Ray."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from baselines.errors import ConfigError
from benchmark import cli
from benchmark.reports.tables import write_tables
from benchmark.runs.ray_backend import gpus_for
from benchmark.runs.run import RunSpec
from benchmark.runs.suite import by_cost, load_suite, run_cost, run_suite

TINY_TRAIN = """
[train]
iters = {iters}
batch_size = 64
z_dim = 8
log_every = 10
eval_every = 100
ckpt_every = 50
eval_samples = 200

[train.net]
hidden = 16
"""


def _tiny_suite(path: Path, variants: str, iters: int = 100, extra: str = "") -> Path:
    path.write_text(
        f'description = "tiny"\ndatasets = ["ring8"]\nvariants = {variants}\nseeds = [0, 1]\n'
        + TINY_TRAIN.format(iters=iters)
        + extra
    )
    return path


@pytest.mark.parametrize(
    "extra, line, message",
    [
        ("lr = 0.1\n", 6, "unknown key(s) lr"),
        ("batch_size = 64\neval_every = 'often'\n", 7, "train.eval_every must be int"),
        ("\n[train.net]\nhidden = 8\nhiden = 3\n", 9, "unknown key(s) hiden"),
        ("\n[options.wgan]\nn_critics = 3\n", 8, "valid: "),
        ("\n[options.wgann]\nn_critic = 3\n", 7, "unknown variant 'wgann'"),
        ("\n[data]\nmnist_rot = 'x'\n", 8, "unknown key 'mnist_rot' in [data]"),
        ("\n[data]\nmnist_root = '/x'\n", 7, "do not apply to mixture"),
    ],
)
def test_suite_file_errors_name_file_and_line(tmp_path, extra, line, message):
    # A [train] table at lines 4-5; the extra text goes on inside it and starts at line 6.
    text = 'datasets = ["ring8"]\nvariants = ["gan"]\nseeds = [0]\n[train]\niters = 10\n'
    (tmp_path / "bad.toml").write_text(text + extra)
    with pytest.raises(ConfigError) as info:
        load_suite(str(tmp_path / "bad.toml"))
    assert f"bad.toml:{line}: " in str(info.value) and message in str(info.value)


def test_unknown_dataset_and_seed_type_name_their_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('variants = ["gan"]\ndatasets = ["ring9"]\n')
    with pytest.raises(ConfigError, match=r"bad.toml:2: unknown dataset 'ring9'; valid: ring8"):
        load_suite(str(path))
    path.write_text('variants = ["gan"]\ndatasets = ["ring8"]\nseeds = ["0"]\n')
    with pytest.raises(ConfigError, match=r"bad.toml:3: seeds must be a list of integers"):
        load_suite(str(path))


def test_runs_are_ordered_most_expensive_first():
    specs = [RunSpec("ring8", v, train={"iters": 100}) for v in ("gan", "unrolled", "cgan", "wgan-gp")]
    specs.append(RunSpec("ring8", "gan", train={"iters": 1000}))
    order = [(s.variant, s.train["iters"]) for s in by_cost(specs)]
    assert order == [("gan", 1000), ("unrolled", 100), ("wgan-gp", 100), ("cgan", 100), ("gan", 100)]
    # Minibatch discrimination with the paper's 100 kernels over a whole batch of 512: ~160 GANs.
    paper, cheap = RunSpec("ring8", "minibatch-discrimination"), RunSpec("ring8", "unrolled")
    assert run_cost(paper) == pytest.approx(160 * run_cost(RunSpec("ring8", "gan")))
    assert by_cost([cheap, paper]) == [paper, cheap]


def test_runs_are_ordered_seed_major_so_a_stopped_suite_leaves_whole_seeds():
    specs = [RunSpec("ring8", v, seed=s) for s in (3, 0) for v in ("gan", "unrolled")]
    order = [(s.seed, s.variant) for s in by_cost(specs)]
    # The suite's own seed order (3 first here), and the costlier variant first within each seed.
    assert order == [(3, "unrolled"), (3, "gan"), (0, "unrolled"), (0, "gan")]


def test_a_run_gets_a_gpu_only_when_it_may_use_one_and_the_cluster_has_one():
    assert gpus_for(RunSpec("ring8", "gan"), 1) == 1  # device auto by default
    assert gpus_for(RunSpec("ring8", "gan", train={"device": "cuda:0"}), 4) == 1
    assert gpus_for(RunSpec("ring8", "gan", train={"device": "cpu"}), 4) == 0
    assert gpus_for(RunSpec("ring8", "gan"), 0) == 0


def test_a_failed_run_is_recorded_and_does_not_stop_the_others(tmp_path):
    # beta1 with WGAN's RMSprop passes the suite check (a cross-option rule) but is refused when the
    # variant is built (before its folder).
    extra = "\n[options.wgan]\nbeta1 = 0.5\n"
    suite = load_suite(str(_tiny_suite(tmp_path / "s.toml", '["wgan", "gan"]', 20, extra)))
    results = run_suite(suite, tmp_path / "runs", jobs=1, threads=1, progress=False)
    status = sorted((r["variant"], r["seed"], r["status"]) for r in results)
    assert status == [
        ("gan", 0, "ok"),
        ("gan", 1, "ok"),
        ("wgan", 0, "failed"),
        ("wgan", 1, "failed"),
    ]
    assert all("beta1" in r["error"] for r in results if r["status"] == "failed")


def _tables(root: Path, out: Path) -> dict[str, str]:
    write_tables(root, out, stem="t")
    csv = (out / "t.csv").read_text().splitlines()
    wall = csv[0].split(",").index("wall_time_s")  # the one column that differs between two runs
    csv = [",".join(c for i, c in enumerate(line.split(",")) if i != wall) for line in csv]
    return {"md": (out / "t.md").read_text(), "tex": (out / "t.tex").read_text(), "csv": "\n".join(csv)}


def _state(root: Path) -> tuple[int, int]:
    """(finished runs, unfinished runs with a checkpoint) under ``root``."""
    folders = [p for p in root.glob("*/*/seed*") if p.is_dir()]
    done = sum((p / "summary.json").exists() for p in folders)
    checkpointed = sum((p / "checkpoint.pt").exists() and not (p / "summary.json").exists() for p in folders)
    return done, checkpointed


def test_sigkilled_suite_reruns_to_the_same_tables(tmp_path):
    path = _tiny_suite(tmp_path / "tiny.toml", '["gan", "wgan"]', iters=200)
    reference = tmp_path / "reference"
    run_suite(load_suite(str(path)), reference, jobs=1, threads=1, progress=False)

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "benchmark", "suite", str(path), "--jobs", "2", "--out", str(out)]
    cmd += ["--tables", str(tmp_path / "tables")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while min(_state(out)) < 1:  # at least one run finished and another checkpointed
            assert proc.poll() is None, "the suite finished before it could be killed mid-way"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the suite and its worker processes, at once
        proc.wait()
    assert _state(out)[1] >= 1 and not (tmp_path / "tables" / "tiny.md").exists()

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "4/4 runs ok" in rerun.stdout
    summaries = [json.loads(p.read_text()) for p in out.rglob("summary.json")]
    assert len(summaries) == 4 and any(s.get("resumed_from", 0) > 0 for s in summaries)
    for p in out.rglob("*.json*"):  # every record parses: nothing half-written
        for line in p.read_text().splitlines() if p.suffix == ".jsonl" else [p.read_text()]:
            json.loads(line)
    assert _tables(out, tmp_path / "a") == _tables(reference, tmp_path / "b")


def test_backend_ray_without_ray_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    assert cli.main(["suite", "smoke", "--backend", "ray", "--out", "/nonexistent/never-written"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'mode-collapse-bench[ray]'" in err[0]


def test_ray_backend_runs_a_suite_with_the_same_records(tmp_path):
    ray = pytest.importorskip("ray")
    suite = load_suite(str(_tiny_suite(tmp_path / "tiny.toml", '["gan"]', iters=50)))
    local = {r["seed"]: r["metrics"] for r in run_suite(suite, tmp_path / "local", threads=1, progress=False)}
    ray.init(
        num_cpus=2,
        object_store_memory=80 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
    )
    try:
        results = run_suite(suite, tmp_path / "ray", backend="ray", threads=1, progress=False)
    finally:
        ray.shutdown()
    assert sorted(r["status"] for r in results) == ["ok", "ok"]
    same = json.dumps({r["seed"]: r["metrics"] for r in results}, sort_keys=True)
    assert same == json.dumps(local, sort_keys=True)  # the local pool's numbers (NaN KLs included)
    assert sorted(p.parent.name for p in (tmp_path / "ray").rglob("summary.json")) == ["seed0", "seed1"]


@pytest.mark.parametrize(
    "variant,option,expected",
    [
        ("minibatch-discrimination", "kernels = 0", "[options.minibatch-discrimination] kernels must be >= 1, got 0"),  # noqa: E501
        ("unrolled", "unroll_steps = -1", "[options.unrolled] unroll_steps must be >= 0, got -1"),
        ("wgan", "n_critic = 0", "[options.wgan] n_critic must be >= 1, got 0"),
        ("wgan-gp", "gp_lambda = -0.5", "[options.wgan-gp] gp_lambda must be >= 0, got -0.5"),
    ],
)
def test_a_bad_variant_option_stops_the_suite_before_training(tmp_path, variant, option, expected):
    """Issue 32's cases: the option is checked where the suite file is read, with its file and line."""
    suite = tmp_path / "bad.toml"
    suite.write_text(
        f'description = "x"\ndatasets = ["ring8"]\nvariants = ["gan", "{variant}"]\nseeds = [0]\n'
        f"[train]\niters = 20\n[options.{variant}]\n{option}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "benchmark", "suite", str(suite), "--out", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"mcbench: error: {suite}:8: {expected}"]
    assert not (tmp_path / "runs").exists()  # nothing trained or written
