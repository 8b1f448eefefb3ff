"""Reading the training logs people have into rows: detection of the format and one reader per format.

A reader returns rows, each ``(where, {column name: cell})``: ``where`` locates the row for error
messages (``"line 12"``, ``"step 400"``) and a cell is a number, a string or ``None``. Column names are
the log's own (``Loss_D``, ``train/d_loss_step``, ``Loss/D``); :mod:`diagnostics.history` maps them to
the canonical names. Formats, by key (the ``log_format`` argument, and what is reported as read):

``jsonl``              one JSON object per line (this suite's ``metrics.jsonl``, detectron2, ...)
``csv``                a header row, comma / semicolon / tab separated
``lightning-csv``      Lightning's ``CSVLogger`` ``metrics.csv``: one row per logging call, other cells
                       empty; consecutive rows of the same step are merged (a later value wins)
``dcgan-print``        the stdout of pytorch/examples ``dcgan/main.py`` and of PyTorch's DCGAN tutorial:
                       ``[0/25][13/469] Loss_D: 1.23 Loss_G: 2.34 D(x): 0.51 D(G(z)): 0.40 / 0.30``
``pytorch-gan-print``  eriklindernoren/PyTorch-GAN:
                       ``[Epoch 3/200] [Batch 10/938] [D loss: 0.41] [G loss: 1.2]``
``key-value-print``    other printed logs with an epoch / step counter and ``key: number`` pairs, e.g.
                       ``Epoch [1/200], Step [200/600], d_loss: 0.13, g_loss: 2.31, D(x): 0.93``
``tensorboard``        TensorBoard event files (a file, or a folder searched recursively), read by
                       :mod:`diagnostics.tensorboard_events`

Printed logs: lines that do not match (arguments, seeds, warnings, progress bars) are skipped; the
step is ``epoch * N + i`` from the counters ``[i/N]``. In the DCGAN line ``D(G(z)): a / b``, ``a`` is D's
mean output on fakes before D's update (kept as ``D(G(z))``, read as ``d_fake``) and ``b`` the one after
it, during G's step (kept as ``d_fake_after_d_step``).
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path
from typing import Any

from .tensorboard_events import EventFileError, find_event_files, looks_like_event_file, read_run

FORMATS = {
    "csv": "CSV",
    "jsonl": "JSON Lines",
    "dcgan-print": "PyTorch DCGAN printed log",
    "pytorch-gan-print": "PyTorch-GAN printed log",
    "key-value-print": "printed 'key: value' log",
    "lightning-csv": "Lightning CSVLogger metrics.csv",
    "tensorboard": "TensorBoard event file",
}
AFTER_D_STEP = "d_fake_after_d_step"
Rows = list[tuple[str, dict[str, Any]]]

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_NUM = r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf(?:inity)?)"
_DCGAN = re.compile(r"\[\s*(\d+)\s*/\s*(\d+)\s*\]\s*\[\s*(\d+)\s*/\s*(\d+)\s*\]")
_PTGAN = re.compile(r"\[\s*Epoch\s+(\d+)\s*/\s*(\d+)\s*\]\s*\[\s*Batch\s+(\d+)\s*/\s*(\d+)\s*\]", re.I)
# one-token keys (Loss_D, D(G(z)), train/d_loss): a key with spaces would swallow the words before it
_PAIR = re.compile(rf"(?<![\w(./-])([A-Za-z_][\w()./-]*)\s*:\s*({_NUM})(?:\s*/\s*({_NUM}))?", re.I)
_GROUP_PAIR = re.compile(rf"^\s*([A-Za-z_][^:]*?)\s*:\s*({_NUM})\s*%?\s*$", re.I)
_COUNTER = re.compile(
    r"\b(epoch|ep|iteration|iter|it|step|batch)\b\s*:?\s*\[?\s*(\d+)(?:\s*/\s*(\d+))?\s*\]?:?", re.I
)
_FAKE_KEYS = ("d(g(z))", "d_g_z", "dgz", "d_fake")


class HistoryError(ValueError):
    """A training history could not be read; the message is one line naming the file."""


class HistoryWarning(UserWarning):
    """A training history was read with a fallback (e.g. no step column, a truncated event file)."""


# ----------------------------------------------------------------------------------- printed logs


def _pairs(text: str) -> dict[str, float]:
    """``key: number`` pairs of ``text``; ``D(G(z)): a / b`` gives ``a`` under the key and ``b`` as
    :data:`AFTER_D_STEP`, other ``a / b`` values keep ``a`` only (``b`` is usually a total)."""
    out = {}
    for match in _PAIR.finditer(text):
        key, a, b = match.groups()
        out[key] = float(a)
        if b is not None and key.lower() in _FAKE_KEYS:
            out[AFTER_D_STEP] = float(b)
    return out


def _dcgan_line(line: str) -> dict[str, float] | None:
    match = _DCGAN.search(line)
    if match is None:
        return None
    epoch, _, i, n = (int(g) for g in match.groups())
    values = _pairs(line[match.end() :])
    return {**values, "epoch": epoch, "step": epoch * n + i} if values else None


def _pytorch_gan_line(line: str) -> dict[str, float] | None:
    match = _PTGAN.search(line)
    if match is None:
        return None
    epoch, _, i, n = (int(g) for g in match.groups())
    values = {}
    for group in re.findall(r"\[([^\[\]]*)\]", line[match.end() :]):
        for part in group.split(","):  # [G loss: 1.2, adv: 0.3, pixel: 0.1]
            pair = _GROUP_PAIR.match(part)
            if pair:
                values[pair.group(1)] = float(pair.group(2))
    return {**values, "epoch": epoch, "step": epoch * n + i} if values else None


def _key_value_line(line: str) -> dict[str, float] | None:
    counters: dict[str, tuple[int, int | None]] = {}
    for match in _COUNTER.finditer(line):
        word = match.group(1).lower()
        kind = "epoch" if word.startswith("ep") else "i"
        counters.setdefault(kind, (int(match.group(2)), int(match.group(3)) if match.group(3) else None))
    if not counters:
        return None
    values = _pairs(_COUNTER.sub(" | ", line))
    if not values:
        return None
    epoch = counters.get("epoch", (0, None))[0]
    if "i" not in counters:
        step = epoch  # a log per epoch
    else:
        i, n = counters["i"]
        step = i if n is None else epoch * n + i  # without a total the counter is taken as global
    out = {**values, "step": step}
    if "epoch" in counters:
        out["epoch"] = epoch
    return out


_PRINTED = {
    "dcgan-print": _dcgan_line,
    "pytorch-gan-print": _pytorch_gan_line,
    "key-value-print": _key_value_line,
}
_EXAMPLES = {
    "dcgan-print": "[0/25][13/469] Loss_D: 1.23 Loss_G: 2.34",
    "pytorch-gan-print": "[Epoch 3/200] [Batch 10/938] [D loss: 0.41] [G loss: 1.2]",
    "key-value-print": "Epoch [1/200], Step [200/600], d_loss: 0.13, g_loss: 2.31",
}


def _read_printed(path: Path, text: str, kind: str) -> Rows:
    parse = _PRINTED[kind]
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):  # splitlines also splits tqdm's \r
        row = parse(line)
        if row is not None:
            rows.append((f"line {lineno}", row))
    if not rows:
        raise HistoryError(f"{path}: no line of a {FORMATS[kind]} (like {_EXAMPLES[kind]!r})")
    return rows


# ------------------------------------------------------------------------------ JSON Lines and CSV


def _read_jsonl(path: Path, text: str) -> Rows:
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
        rows.append((f"line {lineno}", row))
    return rows


def _csv_lines(text: str) -> tuple[list[str], csv.Dialect | type[csv.Dialect]]:
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return lines, dialect


def _read_csv(path: Path, text: str) -> Rows:
    lines, dialect = _csv_lines(text)
    skipped = len(text.splitlines()) - len(lines)
    reader = csv.reader(lines, dialect)
    header = [h.strip() for h in next(reader)]
    rows = []
    for cells in reader:
        lineno = reader.line_num + skipped
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise HistoryError(f"{path}: line {lineno} has {len(cells)} fields, the header has {len(header)}")
        rows.append((f"line {lineno}", dict(zip(header, cells, strict=True))))
    return rows


def _csv_problem(text: str) -> str | None:
    """Why ``text`` is not a CSV with a header (None when it looks like one): every header field a name,
    and the first data row as wide as the header."""
    lines, dialect = _csv_lines(text)
    reader = csv.reader(lines, dialect)
    header = next(reader)
    # a name: no ':' or '=' (printed "key: value" lines, Namespace(...)), not a sentence ("Starting ...")
    name = re.compile(r"^\s*[A-Za-z_][\w./()\[\]-]*(?: [\w./()\[\]-]+)*\s*$")
    if not all(name.match(h) for h in header) or (len(header) == 1 and " " in header[0].strip()):
        return f"its first line {lines[0][:60]!r} is not a CSV header"
    for cells in reader:
        if any(c.strip() for c in cells):
            if len(cells) != len(header):
                return f"as CSV, line {reader.line_num} has {len(cells)} fields, the header has {len(header)}"
            break
    return None


def _is_lightning(rows: Rows) -> bool:
    """Lightning's CSVLogger: a ``step`` column and either ``epoch``, ``*_step`` / ``*_epoch`` names or
    consecutive rows of one step (each ``log_metrics`` call writes its own row)."""
    names = rows[0][1].keys() if rows else ()
    if "step" not in names:
        return False
    if "epoch" in names or any(n.endswith(("_step", "_epoch")) for n in names):
        return True
    steps = [row["step"].strip() for _, row in rows]
    return any(a == b for a, b in zip(steps, steps[1:], strict=False))


def _merge_steps(rows: Rows) -> Rows:
    """Merge consecutive rows of the same ``step``: a cell takes the last non-empty value logged for it.
    Only consecutive rows, so a run appended after a restart still shows its steps going backwards."""
    merged: Rows = []
    for where, row in rows:
        if merged and merged[-1][1]["step"].strip() == row["step"].strip() and row["step"].strip():
            first = merged[-1][0].split()[-1].split("-")[0]  # "line 3" or "lines 3-4"
            merged[-1][1].update({k: v for k, v in row.items() if v.strip()})
            merged[-1] = (f"lines {first}-{where.split()[-1]}", merged[-1][1])
        else:
            merged.append((where, dict(row)))
    return merged


# ------------------------------------------------------------------------------------- TensorBoard


def _read_tensorboard(path: Path) -> Rows:
    try:
        by_step, partial = read_run(path)
    except EventFileError as exc:
        raise HistoryError(str(exc)) from None
    for f in partial:
        message = f"{f}: ends inside a record (its writer still running, or killed); read the complete ones"
        warnings.warn(message, HistoryWarning, stacklevel=4)
    if not by_step:
        raise HistoryError(f"{path}: no scalars in its TensorBoard event file(s)")
    return [(f"step {step}", {**values, "step": step}) for step, values in sorted(by_step.items())]


# --------------------------------------------------------------------------------------- detection


def _resolve(path: Path, log_format: str) -> tuple[Path, str]:
    """The file to read for ``path`` (a run folder holds ``metrics.jsonl`` or ``metrics.csv``), and the
    format when the folder itself decides it (TensorBoard event files below it)."""
    if not path.exists():
        raise HistoryError(f"{path}: no such file")
    if not path.is_dir():
        if not path.is_file():
            raise HistoryError(f"{path}: not a file")
        return path, log_format
    if log_format == "tensorboard":
        return path, "tensorboard"
    wanted = {"jsonl": ("metrics.jsonl",), "csv": ("metrics.csv",), "lightning-csv": ("metrics.csv",)}
    for name in wanted.get(log_format, ("metrics.jsonl", "metrics.csv") if log_format == "auto" else ()):
        if (path / name).is_file():
            return path / name, log_format
    if log_format == "auto" and find_event_files(path):
        return path, "tensorboard"
    asked = "" if log_format == "auto" else f" to read as {FORMATS[log_format]}"
    files = "metrics.jsonl, metrics.csv or TensorBoard event files (events.out.tfevents.*)"
    raise HistoryError(f"{path}: a folder without {files}{asked}")


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _detect(path: Path, text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    if path.suffix.lower() in _JSONL_SUFFIXES:
        return "jsonl"
    for kind in ("dcgan-print", "pytorch-gan-print"):  # a line of these decides: nothing else prints it
        if any(_PRINTED[kind](line) for line in lines):
            return kind
    if _is_json_object(lines[0]):  # after the printed logs, which may start with a JSON config
        return "jsonl"
    problem = _csv_problem(text)
    if problem is None:
        return "csv"
    if any(_key_value_line(line) for line in lines):
        return "key-value-print"
    raise HistoryError(
        f"{path}: not a training log in any known format ({', '.join(FORMATS.values())}); {problem}, "
        f"and no line is like {_EXAMPLES['dcgan-print']!r} or {_EXAMPLES['pytorch-gan-print']!r}"
    )


def read_log(path: str | Path, log_format: str = "auto") -> tuple[Rows, str]:
    """Read the log at ``path`` into rows and say which format it was read as.

    Args:
        path: a log file, a run folder holding ``metrics.jsonl`` or ``metrics.csv``, or a folder with
            TensorBoard event files below it.
        log_format: ``"auto"`` (detected from the content: a TFRecord header, a JSON object on the
            first line or a ``.jsonl`` / ``.ndjson`` / ``.json`` name, a DCGAN or PyTorch-GAN line anywhere,
            a CSV header, other printed ``key: value`` lines, in that order) or a key of :data:`FORMATS`.

    Returns:
        ``(rows, format key)``; rows are in file order (TensorBoard: by step), none empty.

    Raises:
        HistoryError: one line naming the file: missing, unreadable or empty, in no known format (listing
            the formats tried), or not readable in the format asked for.
    """
    if log_format != "auto" and log_format not in FORMATS:
        raise HistoryError(f"{path}: unknown log format {log_format!r}; valid: auto, {', '.join(FORMATS)}")
    path, log_format = _resolve(Path(path), log_format)
    if log_format == "tensorboard":
        return _read_tensorboard(path), log_format
    try:
        with open(path, "rb") as stream:  # the head first: event files can be large
            if log_format == "auto" and (looks_like_event_file(stream.read(12)) or "tfevents" in path.name):
                return _read_tensorboard(path), "tensorboard"
        data = path.read_bytes()
    except OSError as exc:
        raise HistoryError(f"{path}: cannot be read ({exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\0" in data:  # binary: a checkpoint or an image given by mistake
            raise HistoryError(
                f"{path}: not a training log in any known format ({', '.join(FORMATS.values())}); "
                "it is a binary file"
            ) from None
        text = data.decode("utf-8", "replace")  # captured stdout with a stray byte is still a log
    if not text.strip():
        raise HistoryError(f"{path}: empty file")
    detected = _detect(path, text) if log_format == "auto" else log_format
    if detected == "jsonl":
        rows = _read_jsonl(path, text)
    elif detected in _PRINTED:
        rows = _read_printed(path, text, detected)
    else:
        rows = _read_csv(path, text)
        if log_format == "auto" and _is_lightning(rows):
            detected = "lightning-csv"
        if detected == "lightning-csv" and rows:
            if "step" not in rows[0][1]:
                raise HistoryError(f"{path}: no 'step' column, which Lightning's CSVLogger always writes")
            rows = _merge_steps(rows)
    if not rows:
        raise HistoryError(f"{path}: empty file (a header but no data rows)")
    return rows, detected
