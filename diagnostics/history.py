"""Reading a logged training history (CSV or JSON Lines) and running every training-signal detector on it.

A history is one row per logged step. :func:`load_history` turns it into columns, a dict of name ->
1-D numpy array, with common spellings of the known signals renamed to one canonical name each:

=============== ===========================================================================
canonical name  accepted column names (case-insensitive)
=============== ===========================================================================
``step``        step, iter, iteration, global_step, it
``d_loss``      d_loss, loss_d, errD, D_loss, lossD
``g_loss``      g_loss, loss_g, errG, G_loss, lossG
``d_real``      d_real, D_x, D(x), dx
``d_fake``      d_fake, D_G_z, D(G(z)), dgz
``eval/captured`` eval/captured, captured, captured_modes
=============== ===========================================================================

Other numeric columns are kept under their own names. ``eval/captured`` is an object array holding
a ``frozenset`` of mode indices at rows that evaluated coverage and ``None`` elsewhere.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .detector_base import FailureEvent
from .detectors import (
    detect_d_loss_to_zero,
    detect_d_saturation,
    detect_g_loss_rising,
    detect_oscillation,
)
from .mode_hopping import detect_mode_hopping

CAPTURED = "eval/captured"
ALIASES: dict[str, tuple[str, ...]] = {
    "step": ("step", "iter", "iteration", "global_step", "it"),
    "d_loss": ("d_loss", "loss_d", "errd", "lossd"),
    "g_loss": ("g_loss", "loss_g", "errg", "lossg"),
    "d_real": ("d_real", "d_x", "d(x)", "dx"),
    "d_fake": ("d_fake", "d_g_z", "d(g(z))", "dgz"),
    CAPTURED: ("eval/captured", "captured", "captured_modes"),
}
D_LOSS_KINDS = ("cross-entropy", "hinge", "least-squares", "wasserstein")


class HistoryError(ValueError):
    """A training history could not be read; the message is one line naming the file."""


class HistoryWarning(UserWarning):
    """A training history was read with a fallback (e.g. no step column)."""


def _rename(names: list[str]) -> dict[str, str | None]:
    """Map each column name of the file to its canonical name (None: dropped as a duplicate).

    For each signal the first alias in :data:`ALIASES` order wins; other spellings of it keep their
    own names. A column whose resulting name is already taken (e.g. ``Step`` next to ``step``) is
    dropped rather than overwriting the first.
    """
    lowered = {name.lower(): name for name in reversed(names)}  # first spelling wins on a tie
    mapping: dict[str, str | None] = {name: name for name in names}
    for canonical, aliases in ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                mapping[lowered[alias]] = canonical
                break
    taken: set[str] = set()
    for name in sorted(names, key=lambda n: mapping[n] != n):  # renamed columns claim names first
        target = mapping[name]
        if target in taken:
            mapping[name] = None
        else:
            taken.add(target)
    return mapping


def _to_float(value: Any) -> float:
    """A cell as a float: numbers and numeric strings as such, blank / None as NaN; else ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError(f"{value!r} is not a number")


def _to_modes(value: Any) -> frozenset[int] | None:
    """Covered modes from a list, a JSON list string ("[0, 3]") or separated ints ("0;3", "0 3")."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = text.replace(";", " ").replace(",", " ").replace("|", " ").split()
    if isinstance(value, int | float | str):
        value = [value]
    return frozenset(int(v) for v in value)


def _read_jsonl(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HistoryError(f"{path}: line {lineno} is not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise HistoryError(f"{path}: line {lineno} is not a JSON object")
        rows.append((lineno, row))
    return rows


def _read_csv(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    lines = text.splitlines()
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(lines, dialect)
    header = [h.strip() for h in next(reader)]
    rows = []
    for cells in reader:
        lineno = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise HistoryError(f"{path}: line {lineno} has {len(cells)} fields, the header has {len(header)}")
        rows.append((lineno, dict(zip(header, cells, strict=True))))
    return rows


def load_history(path: str | Path) -> dict[str, np.ndarray]:
    """Read a training history of per-step losses into columns.

    Args:
        path: a ``.csv`` / ``.tsv`` file (header row, comma, semicolon or tab separated), a
            ``.jsonl`` / ``.ndjson`` / ``.json`` file (one JSON object per line), or a run folder
            holding ``metrics.jsonl``. Other extensions are sniffed: a first line starting with
            ``{`` is JSON Lines, anything else CSV.

    Returns:
        Columns, each of shape (rows,): ``step`` (float64), the canonical loss / output columns
        present (float64, NaN where a row did not log them), ``eval/captured`` when present (object
        array of ``frozenset`` or ``None``), and every other column whose values are all numeric.

    Without a step column the 0-based row number is used as the step and a
    :class:`HistoryWarning` says so; the steps reported by detectors are then row numbers. A file
    whose steps go backwards (e.g. a resumed run appended without truncation) is refused.

    Raises:
        HistoryError: one line naming the file and the problem: missing file, empty file, a row
            that cannot be parsed (with its line number), a non-numeric or missing value in a known
            column, steps that go backwards, or no D or G loss column (listing the columns found).
    """
    path = Path(path)
    if path.is_dir() and (path / "metrics.jsonl").is_file():
        path = path / "metrics.jsonl"
    if not path.exists():
        raise HistoryError(f"{path}: no such file")
    if not path.is_file():
        raise HistoryError(f"{path}: not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"{path}: cannot be read ({exc})") from None
    if not text.strip():
        raise HistoryError(f"{path}: empty file")

    suffix = path.suffix.lower()
    is_jsonl = suffix in (".jsonl", ".ndjson", ".json") or (
        suffix not in (".csv", ".tsv", ".txt") and text.lstrip().startswith("{")
    )
    rows = _read_jsonl(path, text) if is_jsonl else _read_csv(path, text)
    if not rows:
        raise HistoryError(f"{path}: empty file (a header but no data rows)")

    names: list[str] = []
    for _, row in rows:
        names.extend(k for k in row if k not in names)
    rename = _rename(names)
    canonical = {target for target in rename.values() if target is not None}
    if "d_loss" not in canonical and "g_loss" not in canonical:
        raise HistoryError(f"{path}: no D or G loss column; found: {', '.join(names)}")

    columns: dict[str, np.ndarray] = {}
    for name in names:
        target = rename[name]
        if target is None:
            continue
        cells = [(lineno, row.get(name)) for lineno, row in rows]
        if target == CAPTURED:
            parsed = np.empty(len(cells), dtype=object)
            for i, (lineno, cell) in enumerate(cells):
                try:
                    parsed[i] = _to_modes(cell)
                except (ValueError, TypeError):
                    raise HistoryError(
                        f"{path}: line {lineno}: {name!r} value {cell!r} is not a list of mode indices"
                    ) from None
            columns[target] = parsed
            continue
        values = np.empty(len(cells))
        for i, (lineno, cell) in enumerate(cells):
            try:
                values[i] = _to_float(cell)
            except (ValueError, TypeError):
                if target in ALIASES:  # a known signal must be numeric
                    raise HistoryError(
                        f"{path}: line {lineno}: {name!r} value {cell!r} is not a number"
                    ) from None
                break  # an unknown column with text in it (timestamps, tags) is not a signal: drop it
        else:
            columns[target] = values

    if "step" not in columns:
        warnings.warn(
            f"{path}: no step column (looked for {', '.join(ALIASES['step'])}); using the row number",
            HistoryWarning,
            stacklevel=2,
        )
        columns["step"] = np.arange(len(rows), dtype=np.float64)
    else:
        steps = columns["step"]
        bad = np.flatnonzero(~np.isfinite(steps))
        if bad.size:
            raise HistoryError(f"{path}: line {rows[int(bad[0])][0]}: the step is missing")
        back = np.flatnonzero(np.diff(steps) < 0)
        if back.size:
            i = int(back[0]) + 1
            raise HistoryError(
                f"{path}: line {rows[i][0]}: steps go backwards (from {steps[i - 1]:g} to {steps[i]:g})"
            )
    return {"step": columns.pop("step"), **columns}


def run_detectors(
    history: Mapping[str, Any] | str | Path,
    *,
    n_modes: int | None = None,
    d_loss_kind: str = "cross-entropy",
) -> list[FailureEvent]:
    """Run every detector whose columns the history has, with their default thresholds.

    Args:
        history: columns as returned by :func:`load_history` (or a path, which is loaded).
        n_modes: number of modes of the target distribution; mode hopping is checked only when it
            is given and the history has ``eval/captured``.
        d_loss_kind: how the D loss was computed, one of ``cross-entropy``, ``hinge``,
            ``least-squares``, ``wasserstein``. The D-loss-to-zero and D-saturation tests assume a
            loss bounded below by zero and sigmoid outputs, so they are skipped for ``wasserstein``
            (a signed critic loss, raw critic values); so is G loss rising, whose rule measures the
            rise against the loss's lowest level: G's loss against a critic, -E[D(G(z))], has no zero
            and drifts with the critic's offset (it fired in 8 of 9 healthy WGAN-GP records).

    Detectors run: D loss to zero (``d_loss``, with ``d_real`` / ``d_fake`` when present), D
    saturation (``d_real`` and ``d_fake``), G loss rising (``g_loss``), oscillation of ``d_loss``
    and of ``g_loss``, mode hopping (``eval/captured`` and ``n_modes``). Rows where a column is NaN
    (or ``None``) are skipped by each detector.

    Returns:
        All events, sorted by step then kind. Empty for a healthy history.

    Raises:
        ValueError: unknown ``d_loss_kind`` (the message lists the valid ones) or no ``step`` column.
        HistoryError: ``history`` is a path that cannot be loaded.
    """
    if d_loss_kind not in D_LOSS_KINDS:
        raise ValueError(f"unknown d_loss_kind {d_loss_kind!r}; valid: {', '.join(D_LOSS_KINDS)}")
    if isinstance(history, str | Path):
        history = load_history(history)
    if "step" not in history:
        raise ValueError(f"history has no 'step' column; found: {', '.join(history)}")
    steps = np.asarray(history["step"], dtype=np.float64)

    def column(name: str) -> np.ndarray | None:
        return np.asarray(history[name], dtype=np.float64) if name in history else None

    d_loss, g_loss = column("d_loss"), column("g_loss")
    d_real, d_fake = column("d_real"), column("d_fake")
    events: list[FailureEvent] = []
    bounded = d_loss_kind != "wasserstein"
    if d_loss is not None and bounded:
        events += detect_d_loss_to_zero(steps, d_loss, d_real, d_fake)
    if d_real is not None and d_fake is not None and bounded:
        events += detect_d_saturation(steps, d_real, d_fake)
    if g_loss is not None:
        if bounded:
            events += detect_g_loss_rising(steps, g_loss)
        events += detect_oscillation(steps, g_loss, name="G loss")
    if d_loss is not None:
        events += detect_oscillation(steps, d_loss, name="D loss")
    if n_modes is not None and CAPTURED in history:
        events += detect_mode_hopping(steps, list(history[CAPTURED]), n_modes)
    return sorted(events, key=lambda e: (e.step, e.kind))
