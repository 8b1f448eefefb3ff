"""``--backend ray``: each run of a suite is one Ray task with its CPU and GPU needs.

Ray is an optional extra (``pip install .[ray]``). The tasks write their run records to ``root``,
which must be a folder that every node of the cluster sees (a shared file system); the records are
the same as with the local pool, so a suite can be interrupted on one backend and finished on the
other. The package itself must be importable on the nodes (installed there, or the cluster started
from this checkout).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from benchmark.runs.batch import run_unit_in_worker
from benchmark.runs.run import RunSpec, failed_record


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--backend ray needs the optional extra [ray]: pip install 'mode-collapse-bench[ray]'"
        ) from None
    return ray


def gpus_for(spec: RunSpec, cluster_gpus: float) -> int:
    """1 when the run may use a GPU (device cuda or auto) and the cluster has one, else 0. A task
    given no GPU sees none (Ray empties CUDA_VISIBLE_DEVICES), so ``auto`` then trains on the CPU."""
    device = from_dict(TrainConfig, {**spec.train, "seed": spec.seed}).device
    return int(cluster_gpus > 0 and (device == "auto" or device.startswith("cuda")))


def run_on_ray(
    units: list[list[RunSpec]],
    root: Path,
    threads: int,
    address: str | None,
    done: Callable[[RunSpec, dict[str, Any]], None],
) -> None:
    """Submit every work unit (one run, or the seeds of a batched job; in the given order) as one
    task and call ``done(spec, summary)`` for each of its runs as it finishes.

    Connects to ``address`` (``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``); with none, uses the
    Ray instance this process already initialised, or starts a local one for the suite.
    """
    ray = require_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        task = ray.remote(run_unit_in_worker)
        pending = {
            task.options(num_cpus=threads, num_gpus=gpus_for(unit[0], gpus), max_retries=1).remote(
                unit, str(root), threads
            ): unit
            for unit in units
        }
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                unit = pending.pop(ready[0])
                try:
                    results = ray.get(ready[0])
                except Exception as exc:  # a lost task or dead worker; the records stay unfinished
                    results = [failed_record(spec, exc) for spec in unit]
                for spec, result in zip(unit, results, strict=True):
                    done(spec, result)
        finally:
            for ref in pending:  # interrupted: do not leave tasks running on the cluster
                ray.cancel(ref, force=True)
    finally:
        if started_here:
            ray.shutdown()
