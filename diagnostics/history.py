"""Reading a logged training history (any format of :mod:`diagnostics.log_formats`) and running every
training-signal detector on it.

A history is one row per logged step. :func:`read_history` turns it into columns, a dict of name ->
1-D numpy array, with common spellings of the known signals renamed to one canonical name each:

================= ===========================================================================
canonical name    accepted column names (case-insensitive; spaces read as ``_``)
================= ===========================================================================
``step``          step, iter, iteration, global_step, it, iters, batches_done, n_iter
``d_loss``        d_loss, loss_d, errD, lossD, Loss/D, D/loss, discriminator_loss, disc_loss, ...
``g_loss``        g_loss, loss_g, errG, lossG, Loss/G, G/loss, generator_loss, gen_loss, ...
``d_real``        d_real, D_x, D(x), dx, D/real
``d_fake``        d_fake, D_G_z, D(G(z)), dgz, D/fake
``eval/captured`` eval/captured, captured, captured_modes
================= ===========================================================================

A name may also carry a ``train/``, ``training/`` or ``train_`` prefix and Lightning's ``_step`` or
``_epoch`` suffix (``train/d_loss_step``). For each signal the plainest spelling wins, and a per-step
value (``d_loss_step``) always wins over a per-epoch aggregate (``d_loss_epoch``), which is used only
when nothing else logged the signal. ``columns={"d_loss": "my_disc_loss"}`` names any other column.
Other numeric columns are kept under their own names. ``eval/captured`` is an object array holding a
``frozenset`` of mode indices at rows that evaluated coverage and ``None`` elsewhere.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping
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
from .log_formats import FORMATS, HistoryError, HistoryWarning, read_log
from .mode_hopping import detect_mode_hopping

CAPTURED = "eval/captured"
ALIASES: dict[str, tuple[str, ...]] = {
    "step": ("step", "iter", "iteration", "global_step", "it", "iters", "batches_done", "n_iter"),
    "d_loss": (
        "d_loss", "loss_d", "errd", "lossd", "loss/d", "d/loss", "discriminator_loss", "loss_discriminator",
        "loss/discriminator", "discriminator/loss", "disc_loss", "loss_disc", "dis_loss", "loss_dis",
        "critic_loss", "loss_critic",
    ),
    "g_loss": (
        "g_loss", "loss_g", "errg", "lossg", "loss/g", "g/loss", "generator_loss", "loss_generator",
        "loss/generator", "generator/loss", "gen_loss", "loss_gen",
    ),
    "d_real": ("d_real", "d_x", "d(x)", "dx", "d/real"),
    "d_fake": ("d_fake", "d_g_z", "d(g(z))", "dgz", "d/fake"),
    CAPTURED: ("eval/captured", "captured", "captured_modes"),
}  # fmt: skip
D_LOSS_KINDS = ("cross-entropy", "hinge", "least-squares", "wasserstein")
_PREFIXES = ("train/", "training/", "train_")


def _spellings(name: str) -> list[tuple[str, int]]:
    """``(spelling, rank)`` under which ``name`` may match an alias; a lower rank is a plainer spelling.
    ``_epoch`` ranks below every per-step spelling so that an aggregate never hides per-step values."""
    key = re.sub(r"\s+", "_", name.strip().lower())
    bases = [(key, 0)] + [(key[len(p) :], 1) for p in _PREFIXES if key.startswith(p)]
    out = []
    for base, rank in bases:
        out.append((base, rank))
        if base.endswith("_step"):
            out.append((base[: -len("_step")], rank + 2))
        if base.endswith("_epoch"):
            out.append((base[: -len("_epoch")], rank + 4))
    return out


def _mapping(path: Path, columns: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """``columns`` as a dict; an iterable holds ``"CANONICAL=NAME"`` strings (as ``--log-column`` takes)."""
    if columns is None or isinstance(columns, Mapping):
        return dict(columns or {})
    out = {}
    for item in columns:
        canonical, sep, name = (part.strip() for part in str(item).partition("="))
        if not sep or not canonical or not name:
            raise HistoryError(f"{path}: column mapping {item!r} is not CANONICAL=NAME")
        out[canonical] = name
    return out


def _user_columns(path: Path, names: list[str], columns: Mapping[str, str]) -> dict[str, str]:
    """Resolve ``columns`` (canonical -> the log's name; exact, else a unique case-insensitive match)."""
    out: dict[str, str] = {}
    for canonical, wanted in columns.items():
        matches = [wanted] if wanted in names else [n for n in names if n.lower() == str(wanted).lower()]
        if len(matches) != 1:
            found = ", ".join(names)
            raise HistoryError(
                f"{path}: column {wanted!r} (given for {canonical}) is not in the log; found: {found}"
            )
        if matches[0] in out:
            both = f"{out[matches[0]]} and {canonical}"
            raise HistoryError(f"{path}: column {wanted!r} is given for both {both}")
        out[matches[0]] = canonical
    return out


def _rename(names: list[str], user: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Map each column name of the log to its canonical name (None: dropped as a duplicate).

    ``user`` maps log names to canonical names and takes precedence. For each other signal the
    spelling of lowest (rank, alias order, column order) wins (:func:`_spellings`); other spellings of
    it keep their own names. A column whose resulting name is already taken (e.g. ``Step`` next to
    ``step``) is dropped rather than overwriting the first.
    """
    user = dict(user or {})
    mapping: dict[str, str | None] = {name: name for name in names}
    mapping.update(user)
    best: dict[str, tuple[int, int, int, str]] = {}
    for pos, name in enumerate(names):
        if name in user:
            continue
        for spelling, rank in _spellings(name):
            for canonical, aliases in ALIASES.items():
                if canonical not in user.values() and spelling in aliases:
                    candidate = (rank, aliases.index(spelling), pos, name)
                    best[canonical] = min(best.get(canonical, candidate), candidate)
    for canonical, (*_, name) in best.items():
        mapping[name] = canonical
    chosen = set(user) | {name for *_, name in best.values()}
    taken: set[str] = set()
    for name in sorted(names, key=lambda n: n not in chosen):  # the chosen spellings claim names first
        target = mapping[name]
        if target in taken:
            mapping[name] = None
        else:
            taken.add(target)  # type: ignore[arg-type]
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


def read_history(
    path: str | Path, *, columns: Mapping[str, str] | Iterable[str] | None = None, log_format: str = "auto"
) -> tuple[dict[str, np.ndarray], str]:
    """Read a training history of per-step losses into columns, and say which format it was read as.

    Args:
        path: a log file or folder in any format of :mod:`diagnostics.log_formats` (CSV, JSON Lines,
            PyTorch DCGAN / PyTorch-GAN / other ``key: value`` printed logs, Lightning's CSVLogger
            ``metrics.csv``, TensorBoard event files), or a run folder holding ``metrics.jsonl``.
        columns: canonical name (a key of :data:`ALIASES`) -> the log's name for it, for spellings the
            aliases do not know, e.g. ``{"d_loss": "my_disc_loss"}``, or the same as ``"CANONICAL=NAME"``
            strings. The log's name matches exactly, else case-insensitively. The default aliases still
            apply to the signals not named here.
        log_format: ``"auto"`` (detected from the content) or a key of :data:`FORMATS` to force one.

    Returns:
        ``(columns, format key)``. Columns, each of shape (rows,): ``step`` (float64), the canonical
        loss / output columns present (float64, NaN where a row did not log them), ``eval/captured``
        when present (object array of ``frozenset`` or ``None``), and every other column whose values
        are all numeric. The format key is one of :data:`FORMATS` (its value is the name to print).

    Without a step column the 0-based row number is used as the step and a :class:`HistoryWarning`
    says so; the steps reported by detectors are then row numbers. A log whose steps go backwards
    (e.g. a resumed run appended without truncation) is refused.

    Raises:
        HistoryError: one line naming the file and the problem: missing file, empty file, no known
            format (listing the formats tried), a row that cannot be parsed (with its line number), a
            non-numeric or missing value in a known column, steps that go backwards, an unknown
            canonical name or a column not in the log in ``columns``, or no D or G loss column
            (listing the columns found).
    """
    path = Path(path)
    columns = _mapping(path, columns)
    unknown = [c for c in columns if c not in ALIASES]
    if unknown:
        valid = ", ".join(ALIASES)
        raise HistoryError(
            f"{path}: unknown canonical column {unknown[0]!r} in the column mapping; valid: {valid}"
        )
    rows, log_format = read_log(path, log_format)
    names: list[str] = []
    seen: set[str] = set()
    for _, row in rows:
        for k in row:
            if k not in seen:
                seen.add(k)
                names.append(k)
    rename = _rename(names, _user_columns(path, names, columns))
    canonical = {target for target in rename.values() if target is not None}
    if "d_loss" not in canonical and "g_loss" not in canonical:
        raise HistoryError(
            f"{path}: no D or G loss column; found: {', '.join(names)} (read as {FORMATS[log_format]})"
        )

    out: dict[str, np.ndarray] = {}
    for name in names:
        target = rename[name]
        if target is None:
            continue
        cells = [(where, row.get(name)) for where, row in rows]
        if target == CAPTURED:
            parsed = np.empty(len(cells), dtype=object)
            for i, (where, cell) in enumerate(cells):
                try:
                    parsed[i] = _to_modes(cell)
                except (ValueError, TypeError):
                    raise HistoryError(
                        f"{path}: {where}: {name!r} value {cell!r} is not a list of mode indices"
                    ) from None
            out[target] = parsed
            continue
        values = np.empty(len(cells))
        for i, (where, cell) in enumerate(cells):
            try:
                values[i] = _to_float(cell)
            except (ValueError, TypeError):
                if target in ALIASES:  # a known signal must be numeric
                    raise HistoryError(f"{path}: {where}: {name!r} value {cell!r} is not a number") from None
                break  # an unknown column with text in it (timestamps, tags) is not a signal: drop it
        else:
            out[target] = values

    if "step" not in out:
        warnings.warn(
            f"{path}: no step column (looked for {', '.join(ALIASES['step'])}); using the row number",
            HistoryWarning,
            stacklevel=3,
        )
        out["step"] = np.arange(len(rows), dtype=np.float64)
    else:
        steps = out["step"]
        bad = np.flatnonzero(~np.isfinite(steps))
        if bad.size:
            raise HistoryError(f"{path}: {rows[int(bad[0])][0]}: the step is missing")
        back = np.flatnonzero(np.diff(steps) < 0)
        if back.size:
            i = int(back[0]) + 1
            raise HistoryError(
                f"{path}: {rows[i][0]}: steps go backwards (from {steps[i - 1]:g} to {steps[i]:g})"
            )
    return {"step": out.pop("step"), **out}, log_format


def load_history(
    path: str | Path, *, columns: Mapping[str, str] | Iterable[str] | None = None, log_format: str = "auto"
) -> dict[str, np.ndarray]:
    """The columns of :func:`read_history` (same arguments, same errors), without the format."""
    return read_history(path, columns=columns, log_format=log_format)[0]


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
