"""Many runs as one: the seeds of one dataset and variant trained as one batched model
(:meth:`baselines.trainer.Trainer.batched`), each recorded exactly as a single run records it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from baselines import registry
from baselines.atomic import write_json
from baselines.trainer import Trainer
from benchmark.runs.run import Job, RunSpec, finish_run, mark_resumed, run, share_wall_time, start_run


def run_batch(specs: list[RunSpec], root: Path, threads: int | None = None) -> list[dict[str, Any]]:
    """Train the runs ``specs`` (one dataset and variant, settings differing only in the seed) as one
    batched model, each recorded exactly as :func:`run` records it; returns their summaries in order.

    Runs finished before are skipped; if the rest cannot be batched (a variant without batching,
    checkpoints at different steps, a failed build), each is trained on its own, and the reason is
    returned in every summary's ``batch_note``."""
    if threads:
        torch.set_num_threads(threads)
    started = [start_run(spec, root) for spec in specs]
    todo = [j for j in started if isinstance(j, Job)]
    out = {id(j): j for j in started if not isinstance(j, Job)}
    note = None
    if len(todo) > 1:
        note = _batch_refusal(todo)
    if len(todo) > 1 and note is None:
        trainer = Trainer.batched(
            [j.variant for j in todo],
            todo[0].dataset,
            [j.train for j in todo],
            hooks=[j.hooks for j in todo],
            checkpoints=[j.folder / "checkpoint.pt" for j in todo],
        )
        try:
            restored = trainer.load_checkpoint()
        except ValueError as exc:
            note = str(exc)
        if note is None:
            for j in todo:
                mark_resumed(j, trainer.step if restored else 0)
                share_wall_time(j, len(todo))
            outcomes: list[BaseException | None]
            try:
                result = trainer.fit()
                outcomes = list(result.diverged or [None] * len(todo))
            except Exception as exc:  # a defect of the batched job: every run is recorded as failed
                outcomes = [exc] * len(todo)
            views = [view for view, _, _ in trainer._slots]
            for j, view, outcome in zip(todo, views, outcomes, strict=True):
                out[id(j)] = finish_run(j, view, outcome, batch=len(todo))
            return [out[id(j)] for j in started]
    for j in todo:  # one at a time (the job was prepared already; run() sees its folder and resumes)
        summary = run(j.spec, root)
        if note:
            summary["batch_note"] = note
            write_json(j.folder / "summary.json", summary)
        out[id(j)] = summary
    return [out[id(j)] for j in started]


def _batch_refusal(jobs: list[Job]) -> str | None:
    """Why ``jobs`` cannot train as one batched model, or None."""
    cls = registry.get(jobs[0].spec.variant)
    if not cls.batchable:
        return f"variant {cls.name} cannot be batched: {cls.not_batchable_reason}; trained one run at a time"
    if any(j.build_error is not None for j in jobs):
        return "a run's variant failed to build; trained one run at a time"
    keys = {
        (j.spec.dataset, j.spec.variant, j.spec.tag, json.dumps(j.config["train"] | {"seed": 0}))
        for j in jobs
    }
    if len(keys) > 1:
        return "the runs differ in more than their seed; trained one run at a time"
    return None


# On a CPU core a batched job measured no faster than its single runs (make perf: 0.96-1.07x on ring8
# at K = 5 and 10, 0.72x for the stacked-MNIST DCGAN at K = 5; results/perf_batched.json), so a CPU
# batches only when asked (--batch); a GPU, where per-operation overhead dominates, takes every seed.
CPU_MAX_BATCH = 1
GPU_MAX_BATCH = 64


def _group_key(spec: RunSpec) -> str:
    fields = {"dataset": spec.dataset, "variant": spec.variant, "tag": spec.tag}
    fields.update(train=spec.train, options=spec.options, data=spec.data)
    return json.dumps(fields, sort_keys=True, default=str)


def max_batch_for(spec: RunSpec) -> int:
    """The default batch size for ``spec``'s device: GPU_MAX_BATCH on a GPU, CPU_MAX_BATCH on a CPU."""
    device = str(spec.train.get("device", "auto"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return GPU_MAX_BATCH if cuda else CPU_MAX_BATCH


def plan_units(specs: list[RunSpec], batch: int | None = None, jobs: int = 1) -> list[list[RunSpec]]:
    """Group ``specs`` into work units: the seeds of one (dataset, variant, settings) in one batched
    job of at most ``batch`` runs (None: :func:`max_batch_for`; 1: no batching), variants that
    cannot be batched one run per unit. Units keep the order of their first spec; if there are fewer
    units than ``jobs``, the largest are split so that every process has work."""
    groups: dict[str, list[RunSpec]] = {}
    for spec in specs:
        key = _group_key(spec) if registry.get(spec.variant).batchable else f"single:{id(spec)}"
        groups.setdefault(key, []).append(spec)
    units: list[list[RunSpec]] = []
    for members in groups.values():
        size = batch if batch is not None else max_batch_for(members[0])
        size = max(1, size)
        units.extend(members[i : i + size] for i in range(0, len(members), size))
    while units and len(units) < jobs and max(len(u) for u in units) > 1:
        big = max(units, key=len)
        i = units.index(big)
        units[i : i + 1] = [big[: len(big) // 2], big[len(big) // 2 :]]
    return units


def run_unit(
    specs: list[RunSpec], root: Path, threads: int | None = None, progress: bool = False
) -> list[dict[str, Any]]:
    """One work unit: a single run (with a progress bar if asked), or a batched job."""
    if len(specs) == 1:
        return [run(specs[0], root, progress=progress, threads=threads)]
    return run_batch(specs, root, threads=threads)


def run_unit_in_worker(specs: list[RunSpec], root: str, threads: int) -> list[dict[str, Any]]:
    """A unit in a pool process or a Ray task (picklable arguments only)."""
    return run_unit(specs, Path(root), threads=threads)
