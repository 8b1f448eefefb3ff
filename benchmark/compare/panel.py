"""What ``mcbench compare DATA`` trains: the panel of variants and the settings, sized to the data.

**The panel.** ``gan`` is the control. By default every label-free mitigation joins it
(:data:`LABEL_FREE`); the variants that need each sample's mode label (:data:`LABEL_USING`: the
conditional GAN and guided latent spaces) join when the data has real labels: the registered mixtures,
image sets and frames, and ``vectors:PATH`` given ``labels`` (K-means pseudo-modes are not labels).
``variants`` chooses another panel (``gan`` is added when left out: every comparison is with it).

**Settings** (:func:`settings`), stated in the output:

- vectors and mixtures: the VEEGAN protocol's MLPs and optimiser (batch 512, latent 256, Adam 1e-4
  for D and 1e-3 for G; Srivastava et al. 2017, arXiv 1705.07761) at :data:`VECTOR_ITERS` iterations,
  evaluated every tenth of the run; minibatch discrimination with 25 kernels over 64 rows, guided
  latent spaces with 32-dim subspaces and WGAN-GP with its authors' 2-D toy settings (lambda 0.1,
  beta1 0.5), as in the shipped suites;
- images and frames: the small DCGAN of the stacked-MNIST suite (base width 16, batch 64, latent 100,
  Adam 2e-4 with beta1 0.5, as Radford et al. 2015, arXiv 1511.06434) at :data:`IMAGE_ITERS`
  iterations, evaluated every 500.

``iters`` overrides the budget (evaluations keep to about ten per run).
"""

from __future__ import annotations

from typing import Any

from baselines import registry
from baselines.errors import ConfigError
from benchmark.data import registry as dataset_registry
from benchmark.runs.run import RunSpec
from benchmark.runs.suite import Suite

CONTROL = "gan"
LABEL_FREE = (
    "feature-matching",
    "feature-matching-hybrid",
    "minibatch-discrimination",
    "wgan",
    "wgan-gp",
    "unrolled",
    "experience-replay",
    "adagan",
    "pacgan",
)
LABEL_USING = ("cgan", "guided-latent")
DEFAULT_SEEDS = 3
VECTOR_ITERS = 5000
IMAGE_ITERS = 1500

VECTOR_OPTIONS = {
    "minibatch-discrimination": {"kernels": 25, "compare_with": 64},
    "guided-latent": {"subspace_dim": 32},
    "wgan-gp": {"gp_lambda": 0.1, "beta1": 0.5},
}
IMAGE_OPTIONS = {
    "minibatch-discrimination": {"kernels": 25, "compare_with": 64},
    "adagan": {"num_generators": 3, "pool_size": 6400},
    "experience-replay": {"capacity": 6400},
}


def has_labels(dataset: Any) -> bool:
    """True when each sample's mode is known (not K-means pseudo-modes)."""
    from benchmark.data.vectors import VectorDataset

    return not (isinstance(dataset, VectorDataset) and "K-means" in dataset.mode_rule)


def panel(dataset: Any, variants: list[str] | None) -> list[str]:
    """The variants to train, the control first; unknown names or a label-using variant on data without
    labels are one-line errors."""
    labelled = has_labels(dataset)
    if variants is None:
        return [CONTROL, *LABEL_FREE, *(LABEL_USING if labelled else ())]
    known = registry.names()
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; valid: {', '.join(known)}")
    if not labelled:
        needs = [v for v in variants if v in LABEL_USING]
        if needs:
            raise ConfigError(
                f"{', '.join(needs)} need(s) each sample's mode label, and {dataset.name} has K-means "
                "pseudo-modes only; give labels (--labels COLUMN or FILE) or leave them out"
            )
    rest = [v for v in dict.fromkeys(variants) if v != CONTROL]
    return [CONTROL, *rest]


def settings(data: str, iters: int | None) -> tuple[dict[str, Any], dict[str, dict[str, Any]], str]:
    """The ``[train]`` table, the variant options and one line saying what they are."""
    image = dataset_registry.is_image(data)
    budget = iters if iters is not None else IMAGE_ITERS if image else VECTOR_ITERS
    if budget < 1:
        raise ConfigError(f"--iters must be >= 1, got {budget}")
    log_every = min(50, budget)
    every = max(log_every, budget // 10 // log_every * log_every)
    train: dict[str, Any] = {"iters": budget, "log_every": log_every, "eval_every": every}
    train["ckpt_every"] = every
    if image:
        train.update(batch_size=64, z_dim=100, lr_d=2e-4, lr_g=2e-4, beta1=0.5, eval_samples=2600)
        train["net"] = {"conv_width": 16}
        line = (
            f"small DCGAN (width 16, batch 64, latent 100, Adam 2e-4, beta1 0.5), {budget:,} iterations, "
            f"evaluated every {every:,}"
        )
        return train, IMAGE_OPTIONS, line
    line = (
        f"VEEGAN-protocol MLPs (batch 512, latent 256, Adam 1e-4 D / 1e-3 G), {budget:,} iterations, "
        f"evaluated every {every:,}"
    )
    return train, VECTOR_OPTIONS, line


def plan(
    data: str,
    dataset: Any,
    *,
    variants: list[str] | None = None,
    iters: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    data_options: dict[str, Any] | None = None,
) -> tuple[Suite, str]:
    """The comparison as a suite (every run resolved, so any bad setting fails here, before training)
    and the line describing its settings."""
    if seeds < 2:
        raise ConfigError(f"--seeds must be >= 2 (a comparison needs an interval), got {seeds}")
    chosen = panel(dataset, variants)
    train, options, line = settings(data, iters)
    specs = [
        RunSpec(data, v, seed, train=train, options=options.get(v, {}), data=dict(data_options or {}))
        for seed in range(seeds)
        for v in chosen
    ]
    from benchmark.runs.run import resolve

    for spec in specs[: len(chosen)]:
        resolve(spec)
    description = f"{len(chosen)} variants x {seeds} seeds on {data}: {line}"
    return Suite("compare", description, specs), line
