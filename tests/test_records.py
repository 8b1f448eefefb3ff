"""Records that outlive the machine: the small files of each finished run, skipped when recorded,
and the tables rebuilt from them alone."""

import json
from pathlib import Path

import pytest
from test_suite_runner import _tiny_suite

from baselines.errors import ConfigError
from benchmark import cli
from benchmark.reports.tables import render
from benchmark.runs import records
from benchmark.runs.suite import load_suite, run_suite


def _fake_run(folder: Path, status: str = "ok", finished: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "metrics.jsonl").write_text('{"step": 1}\n')
    (folder / "checkpoint.pt").write_bytes(b"x" * 1000)
    (folder / "progress.json").write_text("{}")
    if finished:
        summary = {"dataset": folder.parent.parent.name, "variant": folder.parent.name, "status": status}
        (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_sync_copies_the_record_files_only_and_only_once(tmp_path):
    _fake_run(tmp_path / "runs/ring8/gan/seed0")
    _fake_run(tmp_path / "runs/ring8/gan/seed1", finished=False)
    _fake_run(tmp_path / "runs/ring8/gan/seed2", status="failed")  # not a result: runs again
    written = records.sync(tmp_path / "runs", tmp_path / "rec")
    assert written == [tmp_path / "rec/ring8/gan/seed0"]
    assert sorted(p.name for p in written[0].iterdir()) == ["config.json", "metrics.jsonl", "summary.json"]
    assert records.sync(tmp_path / "runs", tmp_path / "rec") == []  # identical: nothing rewritten
    (tmp_path / "runs/ring8/gan/seed0/metrics.jsonl").write_text('{"step": 2}\n')
    assert records.sync(tmp_path / "runs", tmp_path / "rec") == written  # changed: copied again
    assert (written[0] / "metrics.jsonl").read_text() == '{"step": 2}\n'
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        records.record(tmp_path / "runs/ring8/gan/seed1", tmp_path / "x")


def test_a_torn_summary_is_not_a_record(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "summary.json").write_text('{"status": "o')
    assert not records.is_recorded(folder) and not records.is_recorded(tmp_path / "none")


def test_recorded_runs_are_skipped_on_a_fresh_machine_and_tables_come_from_records(tmp_path):
    suite = load_suite(str(_tiny_suite(tmp_path / "s.toml", '["gan", "wgan"]', 30)))
    rec = tmp_path / "records"
    first = run_suite(suite, tmp_path / "runs-a", jobs=1, threads=1, progress=False, records=rec)
    assert sorted((r["variant"], r["seed"]) for r in first) == [
        ("gan", 0),
        ("gan", 1),
        ("wgan", 0),
        ("wgan", 1),
    ]
    assert len(records.finished_runs(rec)) == 4 and not list(rec.rglob("checkpoint.pt"))
    assert all((f / "samples.npy").exists() for f in records.finished_runs(rec))
    table = render(rec, "md")
    # A fresh machine: no runs folder; nothing is trained again, the same summaries come back.
    again = run_suite(suite, tmp_path / "runs-b", jobs=1, threads=1, progress=False, records=rec)
    assert not (tmp_path / "runs-b").exists()
    assert sorted(json.dumps(r, sort_keys=True) for r in again) == sorted(
        json.dumps(r, sort_keys=True) for r in first
    )
    assert render(rec, "md") == table
    # One record lost: only that run is trained again, and recorded again.
    lost = rec / "ring8/wgan/seed1"
    for p in lost.iterdir():
        p.unlink()
    run_suite(suite, tmp_path / "runs-c", jobs=1, threads=1, progress=False, records=rec)
    assert [p.relative_to(tmp_path / "runs-c") for p in records.finished_runs(tmp_path / "runs-c")] == [
        Path("ring8/wgan/seed1")
    ]
    assert records.is_recorded(lost)
    # Records made under other settings are never reused silently.
    longer = load_suite(str(_tiny_suite(tmp_path / "s.toml", '["gan", "wgan"]', 40)))
    with pytest.raises(ConfigError, match="holds a different configuration"):
        run_suite(longer, tmp_path / "runs-d", jobs=1, threads=1, progress=False, records=rec)


def test_a_failed_run_is_not_recorded(tmp_path):
    extra = "\n[options.wgan]\nbeta1 = 0.5\n"  # with RMSprop: refused when the variant is built
    suite = load_suite(str(_tiny_suite(tmp_path / "s.toml", '["wgan"]', 20, extra)))
    results = run_suite(suite, tmp_path / "runs", jobs=1, threads=1, progress=False, records=tmp_path / "rec")
    assert {r["status"] for r in results} == {"failed"} and records.finished_runs(tmp_path / "rec") == []


def test_records_key_in_a_suite_file(tmp_path):
    assert load_suite(str(_tiny_suite(tmp_path / "a.toml", '["gan"]'))).records is False  # the default
    path = tmp_path / "b.toml"
    path.write_text("records = true\n" + (tmp_path / "a.toml").read_text())
    assert load_suite(str(path)).records is True
    path.write_text('records = "yes"\n' + path.read_text().split("\n", 1)[1])
    with pytest.raises(ConfigError, match=r"b.toml:1: records must be true or false"):
        load_suite(str(path))
    assert load_suite("veegan-protocol").records is True


def test_cli_records_command(tmp_path, capsys):
    _fake_run(tmp_path / "runs/grid25/pacgan/seed2")
    assert cli.main(["records", str(tmp_path / "runs"), "--into", str(tmp_path / "rec")]) == 0
    assert "1 of 1 finished runs recorded or updated" in capsys.readouterr().out
    assert records.is_recorded(tmp_path / "rec/grid25/pacgan/seed2")
    assert cli.main(["records", str(tmp_path / "nothing"), "--into", str(tmp_path / "rec")]) == 2
    assert "is not a folder" in capsys.readouterr().err
