"""Named suites (TOML files under ``benchmark/suites/``) and the local parallel runner."""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from baselines.errors import ConfigError

from .run import RunSpec, resolve, run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUITES_DIR = Path(__file__).parent / "suites"
_TOP_KEYS = {"description", "datasets", "variants", "seeds", "train", "options", "data"}


@dataclass
class Suite:
    name: str
    description: str
    specs: list[RunSpec] = field(default_factory=list)


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def _line_of(text: str, key: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*\[?\s*{re.escape(key)}\b", line):
            return i
    return 0


def load_suite(
    name_or_path: str, overrides: dict[str, Any] | None = None, data_override: dict[str, Any] | None = None
) -> Suite:
    """Read a suite by name or path; every run is resolved, so any bad name fails here, with its line.
    ``overrides`` replace keys of its ``[train]`` table, ``data`` keys of its ``[data]`` table."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SUITES_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(f"unknown suite {name_or_path!r}; valid: {', '.join(suite_names())}")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"{path}:{_line_of(text, key)}: unknown key {key!r}; valid: {', '.join(sorted(_TOP_KEYS))}"
            )
    train = {**data.get("train", {}), **(overrides or {})}
    options = data.get("options", {})
    data_options = {**data.get("data", {}), **(data_override or {})}
    specs = [
        RunSpec(
            dataset=d,
            variant=v,
            seed=int(s),
            train=train,
            options=options.get(v, {}),
            data=data_options,
        )
        for d in data.get("datasets", [])
        for v in data.get("variants", [])
        for s in data.get("seeds", [0])
    ]
    for spec in specs:
        try:
            resolve(spec)
        except ConfigError as exc:
            bad = spec.dataset if "dataset" in str(exc) else spec.variant
            raise ConfigError(
                f"{path}:{_line_of(text, 'datasets' if bad == spec.dataset else 'variants')}: {exc}"
            ) from None
    return Suite(path.stem, data.get("description", ""), specs)


def _worker(spec: RunSpec, root: str, threads: int) -> dict[str, Any]:
    return run(spec, Path(root), threads=threads)


def run_suite(
    suite: Suite, root: Path, jobs: int = 1, progress: bool = True, threads: int | None = None
) -> list[dict[str, Any]]:
    """Run every spec; finished runs are skipped, interrupted ones resume, failures are recorded.

    With ``jobs`` > 1 the runs go to that many processes, each with ``threads`` threads (default
    ``cpu_count // jobs``; oversubscribing cores makes PyTorch's CPU kernels spin and crawl).
    """
    from tqdm import tqdm

    threads = threads or max(1, (os.cpu_count() or 1) // max(jobs, 1))
    bar = tqdm(total=len(suite.specs), desc=f"suite {suite.name}", unit="run", disable=not progress)
    results = []
    if jobs <= 1:
        for spec in suite.specs:
            results.append(run(spec, root, progress=progress, threads=threads))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_worker, spec, str(root), threads): spec for spec in suite.specs}
            for fut in as_completed(futures):
                spec = futures[fut]
                try:
                    results.append(fut.result())
                except Exception as exc:  # a worker that died; the run stays unfinished on disk
                    results.append(
                        {
                            "dataset": spec.dataset,
                            "variant": spec.variant,
                            "seed": spec.seed,
                            "status": "failed",
                            "error": f"{type(exc).__name__}: {exc}",
                        }
                    )
                bar.set_postfix_str(f"{spec.dataset}/{spec.variant}/seed{spec.seed}")
                bar.update()
    bar.close()
    return results
