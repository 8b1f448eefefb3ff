"""Run records that outlive the machine: the small part of every finished run, kept in git.

``results/runs/`` (ignored by git) holds everything a run writes, checkpoints included. A recorded
suite (``records = true`` in its TOML, or ``mcbench suite --records DIR``) also copies each finished
run's ``config.json``, ``summary.json``, ``metrics.jsonl`` and ``samples.npy`` into
``results/records/SUITE/`` (tracked), with the same layout, as soon as the run finishes; a later
invocation, on this machine or a fresh one, skips every run already recorded, and the suite's tables
and report are built from the records. ``mcbench records RUNS --into DIR`` copies finished runs made
elsewhere (a worktree, a cluster's scratch) into a records folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from baselines.atomic import atomic_write

RECORDS_ROOT = Path("results/records")
RECORD_FILES = ("config.json", "metrics.jsonl", "samples.npy", "summary.json")  # the summary last
REQUIRED = ("config.json", "summary.json")
# What a record is: a result. A failed run (an exception) is a defect to fix, and runs again.
RECORDED_STATUSES = ("ok", "diverged")


def finished_runs(runs_root: Path) -> list[Path]:
    """Run folders under ``runs_root`` that have a ``summary.json`` (finished: ok, diverged or failed)."""
    return sorted(p.parent for p in Path(runs_root).rglob("summary.json"))


def recorded_summary(folder: Path) -> dict[str, Any] | None:
    """The summary of the record in ``folder`` (its last file, written after the rest), or None when
    there is none or it is torn."""
    path = Path(folder) / "summary.json"
    return read_summary(path) if path.exists() else None


def is_recorded(folder: Path) -> bool:
    return recorded_summary(folder) is not None


def record(run_folder: Path, record_folder: Path) -> bool:
    """Copy one finished run's record files (those present) into ``record_folder``, each atomically and
    ``summary.json`` last, so a copy killed half-way is never taken for a record. Returns True if
    anything was written (False when the record is already identical)."""
    run_folder, record_folder = Path(run_folder), Path(record_folder)
    missing = [name for name in REQUIRED if not (run_folder / name).exists()]
    if missing:
        raise FileNotFoundError(f"{run_folder} is not a finished run (no {', '.join(missing)})")
    changed = False
    for name in RECORD_FILES:
        source, target = run_folder / name, record_folder / name
        if not source.exists():
            continue
        data = source.read_bytes()
        if target.exists() and target.read_bytes() == data:
            continue
        atomic_write(target, lambda f, data=data: f.write(data), binary=True)
        changed = True
    return changed


def sync(runs_root: Path, records_root: Path) -> list[Path]:
    """Record every finished ok or diverged run under ``runs_root`` into ``records_root`` (same
    relative layout); returns the record folders that were written or changed."""
    runs_root, records_root = Path(runs_root), Path(records_root)
    written = []
    for folder in finished_runs(runs_root):
        if (read_summary(folder / "summary.json") or {}).get("status") not in RECORDED_STATUSES:
            continue
        target = records_root / folder.relative_to(runs_root)
        if record(folder, target):
            written.append(target)
    return written


def read_summary(path: Path) -> dict[str, Any] | None:
    """A run's ``summary.json`` as a dict, or None after one line on standard error naming the file
    when it is torn or not a JSON object (so one bad record never stops a table or a report)."""
    try:
        s = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"mcbench: skipped {path}: unreadable ({type(exc).__name__})", file=sys.stderr)
        return None
    if not isinstance(s, dict) or not {"dataset", "variant"} <= set(s):
        print(
            f"mcbench: skipped {path}: not a run summary (an object with dataset and variant)",
            file=sys.stderr,
        )
        return None
    return s
