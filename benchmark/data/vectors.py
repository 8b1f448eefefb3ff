"""``vectors:PATH``: the user's own vectors (tabular data, sensor readings, embeddings) as a dataset.

**File.** ``.npy`` (an array (n, d), or (n,) for scalars), ``.npz`` (its only array, else the one named
``x``, ``samples`` or ``data``; labels may sit beside it under ``labels`` or ``y``) or ``.csv`` (one row
a sample; a first row that is not all numbers is the header). Read with ``allow_pickle=False``. At
least :data:`MIN_ROWS` rows, every value finite.

**Modes.** With labels (``labels=COLUMN`` of the CSV, a ``labels``/``y`` array of the ``.npz``, or
``labels=FILE``: a ``.npy``/``.csv``/``.txt`` with one label per row) each label is a mode. Without
them, the cells of K-means fitted once on the real data (``pseudo_modes`` cells, default
:data:`DEFAULT_PSEUDO_MODES`, seed 0) stand in for modes: the rule ``mcbench diagnose`` and the
collapse monitor use (:class:`diagnostics.modes.KMeansModes`). Either way a mode is described as a
mixture component so that runs are scored exactly as the Gaussian mixtures are
(:func:`diagnostics.mixture_coverage`): its centre is its members' mean, its weight their share, and its
sigma a third of the radius holding 99 % of its members, so that "high quality" (within 3 sigma) means
"as close to its mode as 99 % of the real members are".

**Units.** Training sees the data standardized per column (mean 0, standard deviation 1, the scale
the mixtures' networks are built for); ``to_report_units`` maps back. Real batches are rows drawn
uniformly with replacement (a ``torch.Generator`` reproduces the stream).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.errors import ConfigError
from benchmark.data.datasets import MixtureDataset

PREFIX = "vectors:"
MIN_ROWS = 20
DEFAULT_PSEUDO_MODES = 10
RADIUS_QUANTILE = 0.99
ARRAY_KEYS = ("x", "samples", "data")
LABEL_KEYS = ("labels", "y")


def _fail(path: Any, problem: str) -> ConfigError:
    return ConfigError(f"vectors:{path}: {problem}")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot be read as CSV ({exc})") from None
    if not rows:
        raise _fail(path, "is empty")
    header = None if all(_is_number(c) for c in rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header is not None else rows
    width = len(rows[0])
    for lineno, r in enumerate(body, start=2 if header is not None else 1):
        if len(r) != width:
            raise _fail(path, f"line {lineno} has {len(r)} fields, the first line has {width}")
    return header, body


def _floats(path: Path, rows: list[list[str]], columns: list[int], names: list[str]) -> np.ndarray:
    out = np.empty((len(rows), len(columns)), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, c in enumerate(columns):
            try:
                out[i, j] = float(r[c])
            except ValueError:
                raise _fail(
                    path,
                    f"row {i + 1}, column {names[j]!r}: {r[c]!r} is not a number (if that column names "
                    "each row's mode, give it with --labels COLUMN)",
                ) from None
    return out


def _load_array(path: Path, key_options: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False), None
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            labels_key = next((k for k in LABEL_KEYS if k in keys), None)
            rest = [k for k in keys if k != labels_key]
            key = rest[0] if len(rest) == 1 else next((k for k in key_options if k in rest), None)
            if key is None:
                raise _fail(path, f"holds arrays {keys}; name the data {' or '.join(key_options)}")
            return z[key], (z[labels_key] if labels_key else None)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read a user's file is bad input
        reason = "holds pickled objects; refused" if "allow_pickle" in str(exc) else str(exc).splitlines()[-1]
        raise _fail(path, f"cannot be read ({reason})") from None


def _labels_file(path: Path, n: int) -> np.ndarray:
    if not path.is_file():
        raise ConfigError(f"labels file {path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            labels = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"labels file {path}: cannot be read ({str(exc).splitlines()[-1]})") from None
    else:
        text = path.read_text(encoding="utf-8").split()
        labels = np.array([t.strip(",") for t in text if t.strip(",")])
        if labels.size == n + 1 and not _is_number(labels[0]):  # one more line than rows: a header
            labels = labels[1:]
    labels = np.asarray(labels).reshape(-1)
    if labels.shape[0] != n:
        raise ConfigError(f"labels file {path}: {labels.shape[0]} labels for {n} rows of data")
    return labels


def read_vectors(path: str | Path, labels: str | None = None) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The rows (n, d) float64, their labels (n,) or None, and where the labels came from."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise _fail(path, "no such file (give a .npy, .npz or .csv with one row a sample)")
    suffix = p.suffix.lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise _fail(path, f"unknown file type {suffix or '(none)'}; valid: .npy, .npz, .csv")
    found, where = None, ""
    if suffix == ".csv":
        header, rows = _read_csv(p)
        names = header or [str(j) for j in range(len(rows[0]) if rows else 0)]
        label_col = None
        if labels is not None and not Path(labels).suffix and (header is None or labels not in header):
            raise _fail(path, f"has no column {labels!r} for the labels; columns: {', '.join(names)}")
        if labels is not None and header is not None and labels in header:
            label_col = header.index(labels)
            found = np.array([r[label_col] for r in rows])
            where = f"column {labels!r}"
        columns = [j for j in range(len(names)) if j != label_col]
        data = _floats(p, rows, columns, [names[j] for j in columns]) if rows else np.empty((0, 0))
    else:
        data, found = _load_array(p, ARRAY_KEYS)
        where = "the archive's labels array" if found is not None else ""
        if data.dtype.kind not in "iuf":
            raise _fail(path, f"has dtype {data.dtype}; expected numbers")
        data = np.asarray(data, dtype=np.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2:
            raise _fail(path, f"has shape {data.shape}; expected (n, d): one row a sample")
    if labels is not None and found is None:
        found, where = _labels_file(Path(labels).expanduser(), data.shape[0]), f"file {labels}"
    if data.shape[0] < MIN_ROWS or data.shape[1] < 1:
        raise _fail(path, f"holds {data.shape[0]} rows of {data.shape[1]} values; at least {MIN_ROWS} rows")
    bad = int(np.count_nonzero(~np.isfinite(data)))
    if bad:
        raise _fail(path, f"holds {bad} NaN or infinite values")
    if found is not None and len(found) != data.shape[0]:
        raise _fail(path, f"{len(found)} labels for {data.shape[0]} rows")
    return data, found, where


def _modes(x: np.ndarray, members: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, sigma (a third of the 99 % radius, floored) and weight of each of ``k`` member sets."""
    centres = np.stack([x[members == j].mean(axis=0) for j in range(k)])
    dist = np.linalg.norm(x - centres[members], axis=1)
    radii = np.array([np.quantile(dist[members == j], RADIUS_QUANTILE) for j in range(k)])
    floor = 1e-3 * float(np.median(radii[radii > 0])) if (radii > 0).any() else 1e-3
    weights = np.bincount(members, minlength=k) / len(members)
    return centres, np.maximum(radii / 3.0, floor), weights


@dataclass(frozen=True)
class VectorDataset(MixtureDataset):
    """The user's rows; modes from labels or K-means cells (module docstring). ``data`` is standardized."""

    data: np.ndarray = field(default_factory=lambda: np.empty((0, 1)), repr=False, compare=False)
    members: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.int64), repr=False, compare=False
    )
    mode_rule: str = ""
    fingerprint: str = ""

    def _rows(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = f"rows:{device}"
        if key not in self._cache:
            self._cache[key] = (
                torch.as_tensor(self.data, dtype=torch.float32, device=device),
                torch.as_tensor(self.members, dtype=torch.int64, device=device),
            )
        return self._cache[key]

    def sample_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` rows drawn uniformly with replacement, and their modes."""
        rows, members = self._rows(gen.device)
        idx = torch.randint(rows.shape[0], (n,), generator=gen, device=gen.device)
        return rows[idx], members[idx]

    def describe(self) -> dict[str, Any]:
        rows = int(self.data.shape[0])
        return {**super().describe(), "rows": rows, "modes_from": self.mode_rule, "sha256": self.fingerprint}


def vectors(path: str, labels: str | None = None, pseudo_modes: int | None = None) -> VectorDataset:
    """Build ``vectors:PATH`` (module docstring); a ConfigError of one line for any bad input."""
    data, found, where = read_vectors(path, labels)
    k_asked = pseudo_modes
    if k_asked is not None and (k_asked < 2 or found is not None):
        raise ConfigError(
            f"pseudo_modes {k_asked}: must be >= 2"
            if k_asked < 2
            else f"pseudo_modes {k_asked}: applies only without labels (the labels name the modes)"
        )
    mean, std = data.mean(axis=0), data.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x = (data - mean) / std
    if found is not None:
        names, members = np.unique(found.astype(str), return_inverse=True)
        if len(names) < 2:
            raise _fail(path, f"the labels ({where}) name {len(names)} mode; at least 2 are needed")
        rule = f"{len(names)} labels ({where})"
        mode_names = tuple(str(n) for n in names)
    else:
        from diagnostics.modes import KMeansModes

        k = k_asked or DEFAULT_PSEUDO_MODES
        if k > x.shape[0] // 2:
            raise _fail(path, f"{x.shape[0]} rows are too few for {k} K-means pseudo-modes")
        km = KMeansModes.fit(x, k=k, seed=0)
        members = np.linalg.norm(x[:, None, :] - km.centroids[None], axis=2).argmin(axis=1)
        rule = f"{k} K-means pseudo-modes fitted on the real data (no labels; seed 0)"
        mode_names = tuple(f"cell{j}" for j in range(k))
        present = np.unique(members)
        if present.size < k:  # an empty cell cannot be a mode; renumber the rest
            members = np.searchsorted(present, members)
            mode_names = tuple(f"cell{j}" for j in range(present.size))
    k = len(mode_names)
    centres, sigma, weights = _modes(x, members, k)
    digest = hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()[:16]
    name = f"{PREFIX}{path}"
    return VectorDataset(
        name=name,
        description=f"{data.shape[0]} rows of {data.shape[1]} values from {path}; modes: {rule}",
        centres=centres,
        sigma=sigma,
        weights=weights,
        mode_names=mode_names,
        source=f"the user's vectors ({Path(path).name}, sha256 {digest}); modes: {rule}",
        report_offset=mean if data.shape[1] > 1 else float(mean[0]),
        report_scale=std if data.shape[1] > 1 else float(std[0]),
        data=x.astype(np.float32),
        members=members.astype(np.int64),
        mode_rule=rule,
        fingerprint=digest,
    )
