"""A collapse monitor that any training loop can feed while it trains.

Give it the real data once; then call :meth:`CollapseMonitor.log` with the scalars you have (D loss,
G loss, D(x), D(G(z))) every step or every few, and :meth:`CollapseMonitor.observe` with a small batch
of generated samples whenever :meth:`CollapseMonitor.wants_samples` says so. Each call returns the
events it raised (a :class:`~diagnostics.FailureEvent`: kind, step, a one-line message); all events
and one row per scored batch stay in ``events`` and ``history``.

What it watches:

* **modes** of each scored batch (``modes_missing``, ``mode_collapse``): through the dataset's mode
  classifier, the mixture centres, or K-means pseudo-modes fitted once on the real data when nothing
  else names them (:mod:`diagnostics.modes`, the rule ``mcbench diagnose`` applies too), with KL of the
  batch's mode histogram against the real one;
* **duplicates** (``duplicates``): the near-duplicate pair rate of the batch (the distance threshold
  calibrated once on the real data, :mod:`diagnostics.duplicates`) against the real data's own rate at
  the same batch size: above 1 % and 10 times the real rate;
* **diversity** (``low_diversity``, only when the modes are K-means pseudo-modes): the Vendi score of
  the batch below half of the real data's at the same size;
* **mode hopping**, **D loss to zero**, **D saturation**, **G loss rising** and **oscillation**: the
  detectors of :mod:`diagnostics.detectors` on the trailing ``window`` logged points (the last
  ``window_evals`` scored batches for hopping), rerun every ``check_every`` logged points;
* **divergence** (``diverged``): a NaN or infinite scalar is an event, never an exception, so the
  user's training is not stopped by its monitor.

Before step ``warmup`` (default 0) batches are scored and kept but raise nothing, since a young
generator's samples cover no mode of anything. A sample-based condition raises its event once it
has held for ``patience`` scored batches in a row (2: one unlucky batch does not alarm) and the event
ends (``end_step`` set, no new event) when it no longer holds. A detector event is raised once per
kind until that kind stops firing.

Cost: scoring one batch of ``n_samples`` costs one mode assignment, the duplicate pairs
(``n_samples^2 / 2`` distances) and, for pseudo-modes, one Vendi eigen-decomposition; the scalars cost
nothing until a detector check. The defaults (512 samples every 500 steps) keep it under 5 % of a
small DCGAN's training time (``python -m benchmark.perf.monitor`` measures it).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from .detector_base import FailureEvent
from .detectors import detect_d_loss_to_zero, detect_d_saturation, detect_g_loss_rising, detect_oscillation
from .duplicates import LOW_DIM, _pair_rate, calibrate_threshold
from .mode_hopping import detect_mode_hopping
from .modes import LEVELS, ClassifierModes, KMeansModes, MixtureModes, ModeAssigner, counts, mode_state
from .monitor_inputs import MAX_REAL, MonitorInputError, _as_array, _real_array
from .vendi import median_distance, vendi_of

SCALARS = ("d_loss", "g_loss", "d_real", "d_fake")
DUP_RATE_MIN, DUP_RATE_RATIO = 0.01, 10.0  # as mcbench diagnose's verdict
VENDI_RATIO_MIN = 0.5


MODES_MISSING, MODE_COLLAPSE, DUPLICATES, LOW_DIVERSITY, DIVERGED = (
    "modes_missing",
    "mode_collapse",
    "duplicates",
    "low_diversity",
    "diverged",
)


class CollapseMonitor:
    """Rolling collapse diagnostics fed from a training loop (module docstring).

    Args:
        real: real samples (array or tensor, shape (n, ...)) or a loader of batches; at most 5,000 are kept.
        modes: a mode assigner (:class:`~diagnostics.modes.MixtureModes`,
            :class:`~diagnostics.modes.ClassifierModes`, :class:`~diagnostics.modes.KMeansModes`), or
            ``None`` for K-means pseudo-modes with ``k`` cells fitted on ``real``.
        k: cells of the pseudo-modes (when ``modes`` is None).
        features: optional callable samples -> feature rows, used for duplicates, pseudo-modes and
            Vendi (for images: a classifier's penultimate layer is better than pixels).
        sample_every: steps between scored batches (``wants_samples``).
        n_samples: samples a scored batch should have (more are subsampled; fewer are scored as given).
        patience: scored batches in a row a sample condition must hold before its event.
        window: logged points the loss detectors look back over; check_every: logged points between checks.
        window_evals: scored batches mode hopping looks back over.
        warmup: steps before which nothing is raised (batches are still scored and kept).
        d_loss_kind: ``cross-entropy`` (default), ``hinge``, ``least-squares`` or ``wasserstein`` (the
            D-loss-to-zero and saturation tests are skipped for a signed critic).
        seed: subsampling and calibration.

    Raises:
        MonitorInputError: empty or non-finite real data, or bad settings (one line naming the value).
    """

    def __init__(
        self,
        real: Any,
        *,
        modes: ModeAssigner | None = None,
        k: int = 10,
        features: Any = None,
        sample_every: int = 500,
        n_samples: int = 512,
        patience: int = 2,
        window: int = 200,
        check_every: int = 20,
        window_evals: int = 10,
        warmup: int = 0,
        d_loss_kind: str = "cross-entropy",
        seed: int = 0,
    ):
        for label, value, lowest in (
            ("sample_every", sample_every, 1),
            ("n_samples", n_samples, 2),
            ("patience", patience, 1),
            ("window", window, 10),
            ("check_every", check_every, 1),
            ("window_evals", window_evals, 3),
            ("warmup", warmup, 0),
            ("k", k, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise MonitorInputError(f"{label} must be an integer >= {lowest}, got {value!r}")
        kinds = ("cross-entropy", "hinge", "least-squares", "wasserstein")
        if d_loss_kind not in kinds:
            raise MonitorInputError(f"unknown d_loss_kind {d_loss_kind!r}; valid: {', '.join(kinds)}")
        if modes is not None and not all(hasattr(modes, a) for a in ("assign", "n_modes", "source", "bins")):
            raise MonitorInputError(
                "modes must be a MixtureModes, ClassifierModes or KMeansModes (assign, n_modes, source, bins)"
            )
        r = _real_array(real)
        if not np.isfinite(r).all():
            raise MonitorInputError("real data has NaN or infinite values")
        rng = np.random.default_rng([seed, 11])
        if r.shape[0] > MAX_REAL:
            r = r[np.sort(rng.choice(r.shape[0], MAX_REAL, replace=False))]
        if r.shape[0] < 2:
            raise MonitorInputError(f"real data needs at least 2 samples, got {r.shape[0]}")
        self.sample_shape = tuple(r.shape[1:])
        self.sample_every, self.n_samples, self.patience = sample_every, n_samples, patience
        self.window, self.check_every, self.window_evals = window, check_every, window_evals
        self.warmup = warmup
        self.d_loss_kind, self.seed, self.features = d_loss_kind, seed, features
        self.modes = modes if modes is not None else KMeansModes.fit(r, k=k, seed=seed, features=features)
        self.real_counts = counts(self.modes, r)
        self.n_real = r.shape[0]
        # Duplicates and Vendi: calibrated once on the real data, at the batch size that is scored.
        fr = self._features(r)
        self._centre = fr.mean(axis=0)
        self._dtype = np.float64 if fr.shape[1] <= LOW_DIM else np.float32  # as diagnostics.duplicates
        fr = (fr - self._centre).astype(self._dtype)
        self.dup_threshold = calibrate_threshold(fr, 0.01, 2000, seed)
        m = min(n_samples, fr.shape[0])
        sub = fr[rng.choice(fr.shape[0], m, replace=False)] if fr.shape[0] > m else fr
        self.dup_rate_real = _pair_rate(sub, m, self.dup_threshold, np.random.default_rng(seed))
        self.use_vendi = bool(getattr(self.modes, "bins", False))
        self.vendi_bandwidth = median_distance(fr, seed=seed)
        self.vendi_real = (
            vendi_of(sub.astype(np.float64), "rbf", self.vendi_bandwidth, 1.0) if self.use_vendi else math.nan
        )
        self.scalars: dict[str, deque[float]] = {name: deque(maxlen=window) for name in ("step", *SCALARS)}
        self.history: list[dict[str, Any]] = []
        self.events: list[FailureEvent] = []
        self._logged = 0
        self._streak: dict[str, int] = {}
        self._open: dict[str, int] = {}  # kind -> index in events of the event still going on
        self._detector_kinds: set[str] = set()
        self._diverged = False

    # ------------------------------------------------------------------------------------ inputs

    def _features(self, x: np.ndarray) -> np.ndarray:
        f = self.features(x) if self.features is not None else x
        f = _as_array(f, "features")
        return f.reshape(f.shape[0], -1)

    def wants_samples(self, step: int) -> bool:
        """Whether a batch of generated samples should be scored at this step."""
        return step % self.sample_every == 0

    def log(self, step: int, **scalars: Any) -> list[FailureEvent]:
        """Record this step's scalars (any of d_loss, g_loss, d_real, d_fake); returns new events."""
        unknown = sorted(set(scalars) - set(SCALARS))
        if unknown:
            raise MonitorInputError(f"unknown scalar {unknown[0]!r}; valid: {', '.join(SCALARS)}")
        values = {}
        for name, v in scalars.items():
            if v is None:
                continue
            if hasattr(v, "detach"):
                v = v.detach().float().mean().item()
            values[name] = float(v)
        new: list[FailureEvent] = []
        bad = [name for name, v in values.items() if not math.isfinite(v)]
        if bad:
            if not self._diverged:
                self._diverged = True
                shown = ", ".join(f"{n} = {values[n]}" for n in bad)
                new.append(self._raise(DIVERGED, step, f"training diverged at step {step}: {shown}"))
            return new
        self.scalars["step"].append(float(step))
        for name in SCALARS:
            self.scalars[name].append(values.get(name, math.nan))
        self._logged += 1
        if self._logged % self.check_every == 0:
            new += self._check_detectors()
        return new

    def observe(self, step: int, fake: Any) -> list[FailureEvent]:
        """Score a batch of generated samples (same shape per sample as the real data); returns new events.

        Raises:
            MonitorInputError: a wrong sample shape, an empty batch or NaN/infinite samples.
        """
        f = _as_array(fake, "generated samples")
        if tuple(f.shape[1:]) != self.sample_shape:
            raise MonitorInputError(
                f"generated samples have shape {tuple(f.shape[1:])} per sample, the real data "
                f"{self.sample_shape}"
            )
        if not np.isfinite(f).all():
            raise MonitorInputError(
                f"generated samples at step {step} hold NaN or infinite values; log the losses first "
                "(a NaN loss is a 'diverged' event)"
            )
        rng = np.random.default_rng([self.seed, 13, step])
        if f.shape[0] > self.n_samples:
            f = f[np.sort(rng.choice(f.shape[0], self.n_samples, replace=False))]
        n = f.shape[0]
        state = mode_state(self.real_counts, self.n_real, counts(self.modes, f), n, self.modes.bins)
        feats = (self._features(f) - self._centre).astype(self._dtype)
        dup = _pair_rate(feats, n, self.dup_threshold, rng) if n >= 2 else math.nan
        row: dict[str, Any] = {
            "step": int(step),
            "n": n,
            "verdict": LEVELS[state["level"]],
            "modes_captured": state["captured"],
            "modes_covered_by_real": state["covered"],
            "missing": state["missing"],
            "mode_kl": state["kl"],
            "dup_rate": dup,
            "dup_rate_real": self.dup_rate_real,
        }
        if self.use_vendi:
            v = vendi_of(feats.astype(np.float64), "rbf", self.vendi_bandwidth, 1.0)
            row["vendi"], row["vendi_real"] = v, self.vendi_real
        captured = set(range(self.modes.n_modes)) - set(state["missing"])
        row["captured"] = sorted(i for i in captured if self.real_counts[i] > 0)
        self.history.append(row)
        if step < self.warmup:  # scored and kept, but no alarm yet: early samples are not digits
            return []
        new: list[FailureEvent] = []
        where = f"{state['captured']} of the {state['covered']} modes the real data covers"
        kl = f"mode-histogram KL(fake || real) {state['kl']:.3g}"
        lost = ", ".join(str(i) for i in state["missing"][:10])
        new += self._condition(
            MODE_COLLAPSE,
            step,
            state["level"] == 2,
            f"mode collapse at step {step}: the batch captures {where} ({kl}; missing {lost}; "
            f"{self.modes.source})",
        )
        new += self._condition(
            MODES_MISSING,
            step,
            state["level"] == 1,
            f"modes missing at step {step}: the batch captures {where}, missing {lost} "
            f"({kl}; {self.modes.source})",
        )
        new += self._condition(
            DUPLICATES,
            step,
            dup > DUP_RATE_MIN and dup > DUP_RATE_RATIO * self.dup_rate_real,
            f"near-duplicates at step {step}: {100 * dup:.2g} % of sample pairs against the real data's "
            f"{100 * self.dup_rate_real:.2g} %: G draws the same sample again and again",
        )
        if self.use_vendi:
            ratio = row["vendi"] / self.vendi_real
            new += self._condition(
                LOW_DIVERSITY,
                step,
                ratio < VENDI_RATIO_MIN,
                f"low diversity at step {step}: Vendi score {row['vendi']:.3g} against the real data's "
                f"{self.vendi_real:.3g} at {n} samples ({100 * ratio:.0f} %)",
            )
        new += self._check_hopping()
        return new

    # ----------------------------------------------------------------------------------- events

    def _raise(self, kind: str, step: int, message: str) -> FailureEvent:
        event = FailureEvent(kind=kind, step=int(step), end_step=None, message=message)
        self.events.append(event)
        self._open[kind] = len(self.events) - 1
        return event

    def _end(self, kind: str, step: int) -> None:
        i = self._open.pop(kind, None)
        if i is not None:
            e = self.events[i]
            self.events[i] = FailureEvent(e.kind, e.step, int(step), e.message)

    def _condition(self, kind: str, step: int, holds: bool, message: str) -> list[FailureEvent]:
        if not holds:
            self._streak[kind] = 0
            self._end(kind, step)
            return []
        self._streak[kind] = self._streak.get(kind, 0) + 1
        if self._streak[kind] >= self.patience and kind not in self._open:
            return [self._raise(kind, step, message)]
        return []

    def _detector_events(self) -> list[FailureEvent]:
        st = np.asarray(self.scalars["step"])
        col = {n: np.asarray(self.scalars[n]) for n in SCALARS}
        have = {n: bool(np.isfinite(c).any()) for n, c in col.items()}
        bounded = self.d_loss_kind != "wasserstein"
        out: list[FailureEvent] = []
        if have["d_loss"] and bounded:
            dr = col["d_real"] if have["d_real"] else None
            df = col["d_fake"] if have["d_fake"] else None
            out += detect_d_loss_to_zero(st, col["d_loss"], dr, df)
        if have["d_real"] and have["d_fake"] and bounded:
            out += detect_d_saturation(st, col["d_real"], col["d_fake"])
        if have["g_loss"]:
            if bounded:  # as run_detectors: a critic's G loss has no zero to rise from
                out += detect_g_loss_rising(st, col["g_loss"])
            out += detect_oscillation(st, col["g_loss"], name="G loss")
        if have["d_loss"]:
            out += detect_oscillation(st, col["d_loss"], name="D loss")
        return out

    def _check_detectors(self) -> list[FailureEvent]:
        if len(self.scalars["step"]) < 10 or self.scalars["step"][-1] < self.warmup:
            return []
        found = self._detector_events()
        going = {e.kind for e in found if e.end_step is None}
        new = []
        for e in found:
            if e.end_step is None and e.kind not in self._open:
                new.append(self._raise(e.kind, e.step, e.message))
        for kind in list(self._detector_kinds - going):
            self._end(kind, int(self.scalars["step"][-1]))
        self._detector_kinds = going
        return new

    def _check_hopping(self) -> list[FailureEvent]:
        rows = self.history[-self.window_evals :]
        if len(rows) < 3:
            return []
        found = detect_mode_hopping(
            [r["step"] for r in rows], [frozenset(r["captured"]) for r in rows], self.modes.n_modes
        )
        going = [e for e in found if e.end_step is None]
        if going and "mode_hopping" not in self._open:
            return [self._raise("mode_hopping", going[-1].step, going[-1].message)]
        if not going:
            self._end("mode_hopping", rows[-1]["step"])
        return []

    # ----------------------------------------------------------------------------------- summary

    @property
    def alarm(self) -> int:
        """2 while a mode-collapse event is open, 1 while a modes-missing one is, else 0 (the latest
        batch's verdict held for ``patience`` batches)."""
        return 2 if MODE_COLLAPSE in self._open else 1 if MODES_MISSING in self._open else 0

    @property
    def verdict(self) -> str:
        """The latest scored batch's verdict (``healthy`` before any batch)."""
        return self.history[-1]["verdict"] if self.history else LEVELS[0]

    def latest(self) -> dict[str, float]:
        """The latest scored batch's numbers under ``monitor/`` keys (for a logger)."""
        if not self.history:
            return {}
        row = self.history[-1]
        keys = ("modes_captured", "mode_kl", "dup_rate", "vendi")
        out = {f"monitor/{k}": float(row[k]) for k in keys if k in row}
        return {
            **out,
            "monitor/verdict": float(LEVELS.index(row["verdict"])),
            "monitor/alarm": float(self.alarm),
        }


__all__ = [
    "ClassifierModes",
    "CollapseMonitor",
    "KMeansModes",
    "MixtureModes",
    "MonitorInputError",
]
