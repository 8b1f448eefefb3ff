"""Named suites (TOML files under ``benchmark/suites/``) and the runner: a local process pool or Ray.

A suite file is a short override file: ``datasets``, ``variants``, ``seeds``, a ``[train]`` table
(TrainConfig keys, ``[train.net]`` for NetConfig), ``[options.VARIANT]`` tables and a ``[data]`` table
(image dataset options). Any unknown key or name is an error naming the file and line.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import typing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from baselines import registry
from baselines.config import TrainConfig, from_dict
from baselines.errors import ConfigError
from benchmark.data import registry as dataset_registry
from benchmark.runs.batch import plan_units, run_unit, run_unit_in_worker
from benchmark.runs.records import RECORDED_STATUSES, record, recorded_summary
from benchmark.runs.run import RunSpec, check_matching_config, failed_record, resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUITES_DIR = Path(__file__).parents[1] / "suites"
_TOP_KEYS = {"description", "datasets", "variants", "seeds", "train", "options", "data", "records"}
_DATA_KEYS = tuple(dataset_registry.OPTIONS)  # every dataset option the registry knows
BACKENDS = ("local", "ray")

# Cost of one iteration relative to the plain GAN, measured on one CPU core at batch 512 on the
# mixtures (minibatch discrimination with 25 kernels compared with 64 rows, scaled by run_cost for
# other settings; guided-latent with 32-dim subspaces). Only the order matters: the pool starts the
# most expensive runs first (longest processing time first), so that the last runs to finish are short
# ones and the cores finish together.
VARIANT_COST = {
    "gan": 1.0,
    "feature-matching": 1.2,
    "feature-matching-hybrid": 1.2,
    "experience-replay": 1.2,
    "cgan": 1.3,
    "adagan": 1.5,
    "pacgan": 1.5,
    "guided-latent": 2.0,
    "wgan": 2.4,
    "wgan-gp": 3.9,
    "minibatch-discrimination": 5.0,
    "unrolled": 6.0,
}
IMAGE_COST = 50.0  # a DCGAN iteration on 28x28 images against an MLP on 2-D points, roughly


@dataclass
class Suite:
    name: str
    description: str
    specs: list[RunSpec] = field(default_factory=list)
    records: bool = False  # finished runs are kept under results/records/NAME (benchmark.runs.records)


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def _line_of(text: str, key: str, section: str = "") -> int:
    """Line of ``key`` inside table ``[section]`` (top level when empty); else of the table's header;
    else of the key anywhere; 0 when not found (e.g. an inline table)."""
    current, header, anywhere = "", 0, 0
    for i, line in enumerate(text.splitlines(), 1):
        m = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
        if m:
            current = m.group(1).replace('"', "").replace(" ", "")
            if current == (f"{section}.{key}" if section else key):
                return i
            if current == section:
                header = i
            continue
        if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line):
            if current == section:
                return i
            anywhere = anywhere or i
    return header or anywhere


def _check_table(path: Path, text: str, section: str, cls: type, table: Any) -> None:
    """Each key of ``table`` against dataclass ``cls``, so an error names the key's own line."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}:{_line_of(text, section)}: [{section}] must be a table")
    hints = typing.get_type_hints(cls)
    for key, value in table.items():
        hint = hints.get(key)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            _check_table(path, text, f"{section}.{key}", hint, value)
            continue
        try:
            from_dict(cls, {key: value}, where=section)
        except ConfigError as exc:
            # a range check (the options' __post_init__) names the key only: add its table
            named = not section.startswith("options.") or str(exc).startswith(section)
            where = "" if named else f"[{section}] "
            raise ConfigError(f"{path}:{_line_of(text, key, section)}: {where}{exc}") from None


def _check_names(path: Path, text: str, data: dict[str, Any]) -> None:
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"{path}:{_line_of(text, key)}: unknown key {key!r}; valid: {', '.join(sorted(_TOP_KEYS))}"
            )
    for key, valid in (("datasets", dataset_registry.names()), ("variants", registry.names())):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}:{_line_of(text, key)}: {key} must be a list of names")
        for v in values:
            if v not in valid and not (key == "datasets" and dataset_registry.is_image(v)):
                choices = ", ".join(valid)
                raise ConfigError(f"{path}:{_line_of(text, key)}: unknown {key[:-1]} {v!r}; valid: {choices}")
    if not isinstance(data.get("records", False), bool):
        raise ConfigError(f"{path}:{_line_of(text, 'records')}: records must be true or false")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not all(type(s) is int for s in seeds):
        raise ConfigError(f"{path}:{_line_of(text, 'seeds')}: seeds must be a list of integers")
    _check_table(path, text, "train", TrainConfig, data.get("train", {}))
    options = data.get("options", {})
    for variant, table in options.items():
        if variant not in registry.names():
            raise ConfigError(
                f"{path}:{_line_of(text, f'options.{variant}')}: [options.{variant}]: unknown variant "
                f"{variant!r}; valid: {', '.join(registry.names())}"
            )
        _check_table(path, text, f"options.{variant}", registry.get(variant).Options, table)
    for key in data.get("data", {}):
        if key not in _DATA_KEYS:
            raise ConfigError(
                f"{path}:{_line_of(text, key, 'data')}: unknown key {key!r} in [data]; "
                f"valid: {', '.join(_DATA_KEYS)}"
            )


def named_toml(name_or_path: str | Path, folder: Path, kind: str) -> Path:
    """``folder/NAME.toml`` for a bare name, else the path itself; a ConfigError naming the valid names
    (the ``*.toml`` files of ``folder``) when neither exists. Suites and gate files are found this way."""
    path = Path(name_or_path)
    names = ", ".join(sorted(p.stem for p in Path(folder).glob("*.toml")))
    if not path.suffix:
        path = Path(folder) / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(f"unknown {kind} {str(name_or_path)!r}; valid: {names}")
    elif not path.is_file():
        raise ConfigError(f"{kind} file {path} does not exist; or name one of: {names}")
    return path


def load_suite(
    name_or_path: str, overrides: dict[str, Any] | None = None, data_override: dict[str, Any] | None = None
) -> Suite:
    """Read a suite by name or path; every run is resolved, so any bad name fails here, with its line.
    ``overrides`` replace keys of its ``[train]`` table, ``data`` keys of its ``[data]`` table."""
    path = named_toml(name_or_path, SUITES_DIR, "suite")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    _check_names(path, text, data)
    train = {**data.get("train", {}), **(overrides or {})}
    options = data.get("options", {})
    data_options = {**data.get("data", {}), **(data_override or {})}
    specs = [
        RunSpec(dataset=d, variant=v, seed=int(s), train=train, options=options.get(v, {}), data=data_options)
        for d in data.get("datasets", [])
        for v in data.get("variants", [])
        for s in data.get("seeds", [0])
    ]
    for spec in specs:  # what is left: combinations (dataset options, eval_every vs log_every, ...)
        try:
            resolve(spec)
        except ConfigError as exc:
            section = "data" if data_options and "option" in str(exc) else "train"
            raise ConfigError(f"{path}:{_line_of(text, section)}: {exc}") from None
    return Suite(path.stem, data.get("description", ""), specs, records=data.get("records", False))


def run_cost(spec: RunSpec) -> float:
    """Relative cost of a run (iterations x batch x the variant's cost per sample), for ordering."""
    train = from_dict(TrainConfig, {**spec.train, "seed": spec.seed})
    image = dataset_registry.is_image(spec.dataset)
    cost = VARIANT_COST.get(spec.variant, 2.0) * (IMAGE_COST if image else 1.0)
    if spec.variant == "minibatch-discrimination":  # its pairwise term grows with kernels x compared rows
        opts = from_dict(registry.get(spec.variant).Options, spec.options)
        rows = min(opts.compare_with or train.batch_size, train.batch_size)
        cost *= opts.kernels / 25 * rows / 64
    return cost * train.iters * train.batch_size


def by_cost(specs: list[RunSpec]) -> list[RunSpec]:
    """Seed-major, most expensive first within a seed (stable, so equal costs keep the suite's order).

    Every run of the suite's first seed comes before any run of its second: a suite stopped part way
    leaves whole seed slices (every variant and dataset at least once) rather than all seeds of a few
    expensive variants."""
    rank = {seed: i for i, seed in enumerate(dict.fromkeys(s.seed for s in specs))}
    return sorted(specs, key=lambda s: (rank[s.seed], -run_cost(s)))


def unit_cost(unit: list[RunSpec]) -> float:
    """A work unit's cost: a batched job of K runs costs about K runs (on a CPU core, make perf)."""
    return sum(run_cost(s) for s in unit)


def _local_pool(
    units: list[list[RunSpec]], root: Path, jobs: int, threads: int, done: Callable[[RunSpec, dict], None]
) -> None:
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_unit_in_worker, unit, str(root), threads): unit for unit in units}
        for fut in as_completed(futures):
            unit = futures[fut]
            try:
                results = fut.result()
            except Exception as exc:  # a worker that died
                results = [failed_record(spec, exc) for spec in unit]
            for spec, result in zip(unit, results, strict=True):
                done(spec, result)


def run_suite(
    suite: Suite,
    root: Path,
    jobs: int = 1,
    progress: bool = True,
    threads: int | None = None,
    backend: str = "local",
    address: str | None = None,
    records: Path | None = None,
    batch: int | None = None,
) -> list[dict[str, Any]]:
    """Run every spec, seed-major and most expensive first within a seed; finished runs are skipped,
    interrupted ones resume, failures are recorded and never stop the others. Returns the summaries
    (runs already recorded first, then in completion order).

    ``records``: a records folder (:mod:`benchmark.runs.records`): runs recorded there are not run again,
    and each run that finishes ok or diverged is recorded there at once (a failed run is not: it is
    a defect to fix, and runs again next time).

    ``local``: with ``jobs`` > 1 the runs go to that many processes, each with ``threads`` threads
    (default ``cpu_count // jobs``; oversubscribing cores makes PyTorch's CPU kernels spin and crawl).
    ``ray``: each run is a Ray task needing ``threads`` CPUs (default 1) and a GPU when its device is
    cuda/auto and the cluster has GPUs; ``root`` must be a folder every node sees.

    ``batch``: the seeds of one dataset, variant and settings train as one batched model of at most
    this many runs (:func:`benchmark.runs.batch.plan_units`; None: up to 64 on a GPU, none on a CPU,
    where make perf measured no gain; 1: one run at a time). Variants that cannot be batched run one
    at a time, and their summaries say why. Units run most expensive first.
    """
    from tqdm import tqdm

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    results: list[dict[str, Any]] = []
    specs = by_cost(suite.specs)
    if records is not None:
        kept = {id(s): recorded_summary(s.folder(records)) for s in specs}
        for s in specs:  # a record made under other settings is an error, never silently reused
            if kept[id(s)] is not None:
                check_matching_config(s.folder(records) / "config.json", resolve(s))
                results.append(kept[id(s)])
        specs = [s for s in specs if kept[id(s)] is None]
    bar = tqdm(total=len(specs), desc=f"suite {suite.name}", unit="run", disable=not progress)

    def done(spec: RunSpec, result: dict[str, Any]) -> None:
        results.append(result)
        if records is not None and result.get("status") in RECORDED_STATUSES:
            record(spec.folder(root), spec.folder(records))
        bar.set_postfix_str(f"{spec.dataset}/{spec.variant}/seed{spec.seed}")
        bar.update()

    units = plan_units(specs, batch, jobs if backend == "local" else 1)
    units = sorted(units, key=lambda u: -unit_cost(u)) if len(units) < len(specs) else units
    if backend == "ray":
        from benchmark.runs.ray_backend import run_on_ray

        run_on_ray(units, Path(root).resolve(), threads or 1, address, done)
    else:
        threads = threads or max(1, (os.cpu_count() or 1) // max(jobs, 1))
        if jobs <= 1:
            for unit in units:
                try:
                    unit_results = run_unit(unit, root, threads=threads, progress=progress)
                except Exception as exc:  # as in the pool: one run refused never stops the others
                    unit_results = [failed_record(spec, exc) for spec in unit]
                for spec, result in zip(unit, unit_results, strict=True):
                    done(spec, result)
        else:
            _local_pool(units, root, jobs, threads, done)
    bar.close()
    return results
