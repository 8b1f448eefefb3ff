"""How often each detector cries wolf: its false-alarm rate on histories and samples with no collapse.

    python -m studies.detector_false_alarms [--seeds 400] [--sample-seeds 50]
        [--out results/detector_false_alarms.json]

Three kinds of healthy input, each scored by the offline detectors (:func:`diagnostics.run_detectors`,
what ``mcbench diagnose --log`` runs) and by the collapse monitor fed the same scalars one point at a
time (:class:`diagnostics.monitor.CollapseMonitor`, its rolling window):

* **synthetic loss noise**, ``--seeds`` histories of 600 points (steps 0 to 5,990, every 10) around a
  healthy cross-entropy GAN's levels, D loss 1.2, G loss 0.8, D(x) 0.55, D(G(z)) 0.45 (standard
  deviations 0.2, 0.2, 0.05, 0.05): ``white`` (independent points) and ``ar1`` (each series an AR(1)
  with coefficient 0.95 and the same marginal spread, the slow wander of a real loss curve);
* **healthy recorded runs**: every committed run record (``results/records``) whose final evaluation
  covers at least 90 % of its dataset's modes, its ``metrics.jsonl`` as logged (``eval/captured``
  included, so mode hopping is checked too);
* **real samples as generated samples**: the monitor calibrated on 2,000 real samples, then fed 10
  batches of 512 fresh real samples per seed (ring8 and grid25 through their centres, MNIST through
  its classifier and through K-means pseudo-modes with the Vendi score), so every sample-based event
  it raises is a false alarm.

A history (or seed) counts once per event kind however many events of that kind it raised; the rate
is that count over the histories, with a 95 % Wilson interval.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from baselines.atomic import write_json

LEVELS = {"d_loss": (1.2, 0.2), "g_loss": (0.8, 0.2), "d_real": (0.55, 0.05), "d_fake": (0.45, 0.05)}
POINTS, EVERY, PHI = 600, 10, 0.95
MODES = {"ring8": 8, "grid25": 25, "bimodal-temperature": 2, "bimodal-temperature-imbalanced": 2}


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """95 % Wilson score interval of a proportion k / n."""
    if n == 0:
        return [math.nan, math.nan]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def synthetic(kind: str, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 0 if kind == "white" else 1])
    out: dict[str, np.ndarray] = {"step": np.arange(POINTS, dtype=float) * EVERY}
    for name, (mean, sd) in LEVELS.items():
        e = rng.standard_normal(POINTS)
        if kind == "ar1":
            x = np.empty(POINTS)
            x[0] = e[0]
            for i in range(1, POINTS):
                x[i] = PHI * x[i - 1] + math.sqrt(1 - PHI**2) * e[i]
            e = x
        v = mean + sd * e
        out[name] = np.clip(v, 1e-3, 1 - 1e-3) if name in ("d_real", "d_fake") else np.maximum(v, 1e-3)
    return out


def _monitor_on_scalars(history: dict[str, Any], d_loss_kind: str = "cross-entropy") -> set[str]:
    from diagnostics.monitor import SCALARS, CollapseMonitor

    mon = CollapseMonitor(np.random.default_rng(0).standard_normal((100, 2)), d_loss_kind=d_loss_kind)
    cols = {n: np.asarray(history[n], dtype=float) for n in SCALARS if n in history}
    for i, step in enumerate(np.asarray(history["step"], dtype=float)):
        mon.log(int(step), **{n: c[i] for n, c in cols.items() if np.isfinite(c[i])})
    return {e.kind for e in mon.events}


def _tally(fired: list[set[str]]) -> dict[str, Any]:
    kinds = sorted(set().union(*fired)) if fired else []
    n = len(fired)
    per_kind = {k: {"fired": sum(k in f for f in fired), "of": n} for k in kinds}
    for v in per_kind.values():
        v["rate"], v["interval_95"] = v["fired"] / n, wilson(v["fired"], n)
    anything = sum(bool(f) for f in fired)
    return {
        "histories": n,
        "any_event": anything,
        "any_rate": anything / n if n else math.nan,
        "per_kind": per_kind,
    }


def loss_noise(seeds: int) -> dict[str, Any]:
    from diagnostics import run_detectors

    out = {}
    for kind in ("white", "ar1"):
        offline, online = [], []
        for seed in range(seeds):
            h = synthetic(kind, seed)
            offline.append({e.kind for e in run_detectors(h)})
            online.append(_monitor_on_scalars(h))
        out[kind] = {"offline": _tally(offline), "monitor": _tally(online)}
    return out


def healthy_records(root: Path) -> dict[str, Any]:
    from baselines import registry
    from diagnostics import run_detectors
    from diagnostics.history import load_history

    offline, online, runs = [], [], []
    for summary_path in sorted(root.rglob("summary.json")):
        s = json.loads(summary_path.read_text())
        n_modes = MODES.get(s.get("dataset", ""))
        captured = (s.get("last_eval") or {}).get("eval/modes_captured")
        log = summary_path.parent / "metrics.jsonl"
        if s.get("status") != "ok" or n_modes is None or captured is None or not log.exists():
            continue
        if captured < 0.9 * n_modes:
            continue
        kind = registry.get(s["variant"]).d_loss_kind
        h = load_history(log)
        offline.append({e.kind for e in run_detectors(h, n_modes=n_modes, d_loss_kind=kind)})
        online.append(_monitor_on_scalars(h, kind))
        runs.append(str(summary_path.parent.relative_to(root)))
    fired = {r: sorted(f) for r, f in zip(runs, offline, strict=True) if f}
    return {"offline": _tally(offline), "monitor": _tally(online), "runs": len(runs), "offline_fired": fired}


def real_samples(seeds: int, batches: int = 10) -> dict[str, Any]:
    import torch

    from benchmark.data.registry import get_dataset
    from diagnostics.modes import ClassifierModes, MixtureModes
    from diagnostics.monitor import CollapseMonitor

    out = {}
    for name in ("ring8", "grid25", "mnist", "mnist-kmeans"):
        data = get_dataset(name.split("-")[0])
        fired = []
        for seed in range(seeds):
            gen = torch.Generator().manual_seed(10_000 + seed)
            real = data.sample(2000, gen).float().numpy()
            if name == "mnist":
                from benchmark.data.scoring import Scorer

                scorer = Scorer(data)
                modes: Any = ClassifierModes(scorer.classifier, data.n_modes, scorer.mode_threshold or 0.0)
            elif name == "mnist-kmeans":
                modes = None
            else:
                modes = MixtureModes(data.centres, data.sigma)
            mon = CollapseMonitor(real, modes=modes, sample_every=1, seed=seed)
            for b in range(batches):
                mon.observe(b, data.sample(512, gen).float().numpy())
            fired.append({e.kind for e in mon.events})
        out[name] = _tally(fired)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=400, help="synthetic histories per noise kind")
    p.add_argument("--sample-seeds", type=int, default=50, help="monitors per dataset fed real batches")
    p.add_argument("--records", type=Path, default=Path("results/records"))
    p.add_argument("--out", default="results/detector_false_alarms.json")
    args = p.parse_args(argv)
    report = {
        "command": "python -m studies.detector_false_alarms",
        "seeds": args.seeds,
        "sample_seeds": args.sample_seeds,
        "loss_noise": loss_noise(args.seeds),
        "healthy_records": healthy_records(args.records),
        "real_samples": real_samples(args.sample_seeds),
    }
    write_json(args.out, report)
    for kind, v in report["loss_noise"].items():
        for who, t in v.items():
            print(
                f"{kind:>6} noise, {who:<8}: {t['any_event']}/{t['histories']} with any event", t["per_kind"]
            )
    r = report["healthy_records"]
    print(
        f"healthy records ({r['runs']}): offline {r['offline']['per_kind']}; "
        f"monitor {r['monitor']['per_kind']}"
    )
    for name, t in report["real_samples"].items():
        print(f"real {name}: {t['any_event']}/{t['histories']} monitors raised an event", t["per_kind"])
    return report


if __name__ == "__main__":
    main()
