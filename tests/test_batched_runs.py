"""Batched jobs in the runner: the seeds of a dataset and variant as one model, recorded per run."""

import json

import numpy as np
import pytest

from baselines import registry
from benchmark.runs.batch import plan_units, run_batch
from benchmark.runs.hooks import read_metrics
from benchmark.runs.run import RunSpec, run
from benchmark.runs.suite import load_suite, run_suite

TRAIN = {"iters": 60, "batch_size": 32, "z_dim": 16, "log_every": 10, "eval_every": 30, "ckpt_every": 30}
TRAIN["eval_samples"] = 200


def _spec(variant="gan", seed=0, **train):
    return RunSpec("ring8", variant, seed, train={**TRAIN, **train})


def _close(a, b, tol=1e-4):
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k, x in ra.items():
            if isinstance(x, float) and np.isnan(x):
                assert np.isnan(rb[k]), k
            elif isinstance(x, float):
                assert abs(x - rb[k]) <= tol * max(abs(x), 1e-3), (k, ra["step"], x, rb[k])
            else:
                assert x == rb[k], k


def test_plan_units_groups_seeds_and_leaves_unbatchable_variants_single():
    specs = [_spec("gan", s) for s in range(5)] + [_spec("unrolled", s) for s in range(2)]
    specs.append(_spec("gan", 9, iters=70))  # other settings: its own unit
    units = plan_units(specs, batch=2)
    assert [[(s.variant, s.seed) for s in u] for u in units] == [
        [("gan", 0), ("gan", 1)],
        [("gan", 2), ("gan", 3)],
        [("gan", 4)],
        [("unrolled", 0)],
        [("unrolled", 1)],
        [("gan", 9)],
    ]
    six = [_spec("gan", s, device="cpu") for s in range(6)]
    assert [len(u) for u in plan_units(six)] == [1] * 6  # a CPU batches only when asked
    assert [len(u) for u in plan_units([_spec("gan", s, device="cuda") for s in range(6)])] == [6]
    assert [len(u) for u in plan_units(six, batch=10, jobs=2)] == [3, 3]
    assert [len(u) for u in plan_units([_spec("gan", s) for s in range(6)], batch=1)] == [1] * 6


def test_a_batched_job_records_what_single_runs_record(tmp_path):
    specs = [_spec("pacgan", s) for s in range(3)]
    batched = run_batch(specs, tmp_path / "b")
    assert [s["status"] for s in batched] == ["ok"] * 3 and all(s["batched_with"] == 3 for s in batched)
    for spec, summary in zip(specs, batched, strict=True):
        single = run(spec, tmp_path / "s")
        fb, fs = spec.folder(tmp_path / "b"), spec.folder(tmp_path / "s")
        _close(read_metrics(fs / "metrics.jsonl"), read_metrics(fb / "metrics.jsonl"))
        # The same 1e-4 relative tolerance as the metrics (on this CPU the largest gap is 5.5e-5 relative,
        # 2.1e-4 absolute on values near 7: 60 iterations of products summed in another order).
        assert np.allclose(np.load(fs / "samples.npy"), np.load(fb / "samples.npy"), rtol=1e-4, atol=1e-4)
        assert json.loads((fs / "config.json").read_text()) == json.loads((fb / "config.json").read_text())
        assert summary["metrics"].keys() == single["metrics"].keys()
        assert summary["seed"] == spec.seed and summary["metrics"] == pytest.approx(
            single["metrics"], rel=1e-4, nan_ok=True
        )
    # Finished runs are skipped: nothing is trained or written again.
    before = [(spec.folder(tmp_path / "b") / "summary.json").stat().st_mtime_ns for spec in specs]
    assert json.dumps(run_batch(specs, tmp_path / "b"), sort_keys=True) == json.dumps(batched, sort_keys=True)
    after = [(spec.folder(tmp_path / "b") / "summary.json").stat().st_mtime_ns for spec in specs]
    assert before == after


def test_an_interrupted_batched_job_resumes(tmp_path):
    specs = [_spec("gan", s, iters=30) for s in range(2)]
    run_batch(specs, tmp_path / "r")
    for spec in specs:  # as if killed after the checkpoint at step 30: the summary is not there
        (spec.folder(tmp_path / "r") / "summary.json").unlink()
    longer = [_spec("gan", s) for s in range(2)]
    for spec in longer:  # the same runs asked for 60 iterations: same folder, config rewritten
        cfg = spec.folder(tmp_path / "r") / "config.json"
        cfg.unlink()
    resumed = run_batch(longer, tmp_path / "r")
    assert [s.get("resumed_from") for s in resumed] == [30, 30]
    whole = run_batch(longer, tmp_path / "w")
    for spec in longer:
        _close(
            read_metrics(spec.folder(tmp_path / "w") / "metrics.jsonl"),
            read_metrics(spec.folder(tmp_path / "r") / "metrics.jsonl"),
        )
    assert [s["status"] for s in whole] == ["ok", "ok"]


def test_variants_that_cannot_be_batched_run_singly_and_say_why(tmp_path):
    specs = [_spec("unrolled", s, iters=20, eval_every=10, ckpt_every=0) for s in range(2)]
    out = run_batch(specs, tmp_path)
    assert [s["status"] for s in out] == ["ok", "ok"]
    assert all(registry.get("unrolled").not_batchable_reason in s["batch_note"] for s in out)


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_suite_runner_batches_seeds(tmp_path, jobs):
    path = tmp_path / "s.toml"
    path.write_text(
        'description = "t"\ndatasets = ["ring8"]\nvariants = ["gan", "unrolled"]\nseeds = [0, 1, 2]\n'
        "[train]\niters = 20\nbatch_size = 32\nz_dim = 16\nlog_every = 10\neval_every = 10\n"
        "eval_samples = 200\n"
    )
    suite = load_suite(str(path))
    results = run_suite(suite, tmp_path / "runs", jobs=jobs, threads=1, progress=False, batch=3)
    by = {(r["variant"], r["seed"]): r for r in results}
    assert len(by) == 6 and all(r["status"] == "ok" for r in results)
    # Four units (the gan seeds, three unrolled runs) keep two processes busy: no split.
    assert [by[("gan", s)].get("batched_with") for s in range(3)] == [3, 3, 3]
    assert all("batched_with" not in by[("unrolled", s)] for s in range(3))


class Ref:
    def __init__(self, value):
        self.value = value


class FakeRay:
    """The few calls run_on_ray makes, executed in this process (Ray itself is an optional extra)."""

    def __init__(self):
        self.submitted = []

    def is_initialized(self):
        return True

    def cluster_resources(self):
        return {"CPU": 2}

    def remote(self, fn):
        fake = self

        class Task:
            def options(self, **opts):
                return self

            def remote(self, *args):
                fake.submitted.append(args[0])
                return Ref(fn(*args))

        return Task()

    def wait(self, refs, num_returns=1):
        return refs[:1], refs[1:]

    def get(self, ref):
        return ref.value

    def cancel(self, ref, force=False):
        pass


def test_ray_tasks_carry_batched_jobs(tmp_path, monkeypatch):
    import sys

    from benchmark.runs.ray_backend import run_on_ray

    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    units = plan_units([_spec("gan", s, iters=20, eval_every=10, ckpt_every=0) for s in range(3)], batch=3)
    got = []
    run_on_ray(units, tmp_path, 1, None, lambda spec, result: got.append((spec.seed, result)))
    assert [len(u) for u in fake.submitted] == [3]  # one task for the three seeds
    assert sorted(seed for seed, _ in got) == [0, 1, 2]
    assert all(r["status"] == "ok" and r["batched_with"] == 3 for _, r in got)
