"""Registry of GAN variants. Built-ins are registered explicitly below, one line each.

A user's own variants live in the user's own module, which calls :func:`register` when imported. Name
the module in the environment variable ``MCBENCH_PLUGINS`` (comma-separated module names on the
Python path), or pass ``mcbench --plugin MODULE``, which sets it: the registry imports those modules
the first time it is asked for a name, in every process, so the suite runner's worker processes and
Ray tasks see the same variants.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import torch

from .config import TrainConfig, from_dict
from .errors import ConfigError
from .variant import Problem, Variant

_VARIANTS: dict[str, type[Variant]] = {}
PLUGINS_ENV = "MCBENCH_PLUGINS"
_IMPORTED: set[str] = set()


def load_plugins() -> None:
    """Import the modules named in ``MCBENCH_PLUGINS`` that this process has not imported yet."""
    for module in (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",")):
        if not module or module in _IMPORTED:
            continue
        _IMPORTED.add(module)  # first: a plugin that asks the registry for names must not recurse
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ConfigError(f"{PLUGINS_ENV}: cannot import plugin module {module!r}: {exc}") from None


def register(cls: type[Variant]) -> type[Variant]:
    """Add a variant class; refuses non-subclasses, empty names and duplicates."""
    if not (isinstance(cls, type) and issubclass(cls, Variant)) or cls is Variant:
        raise TypeError(f"{cls!r} is not a subclass of baselines.variant.Variant")
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _VARIANTS:
        raise ValueError(f"variant {cls.name!r} is already registered")
    _VARIANTS[cls.name] = cls
    return cls


def names() -> list[str]:
    load_plugins()
    return sorted(_VARIANTS)


def get(name: str) -> type[Variant]:
    load_plugins()
    try:
        return _VARIANTS[name]
    except KeyError:
        raise ConfigError(f"unknown variant {name!r}; valid: {', '.join(names())}") from None


def build(
    name: str,
    problem: Problem,
    train: TrainConfig,
    options: dict[str, Any] | None = None,
    device: torch.device | str = "cpu",
) -> Variant:
    """Instantiate variant ``name`` with its options checked against its ``Options`` dataclass."""
    cls = get(name)
    opts = from_dict(cls.Options, options, where=f"variant {name}")
    return cls(problem, train, opts, torch.device(device))


def _register_builtins() -> None:
    from .adagan import AdaGAN
    from .cgan import CGAN
    from .experience_replay import ExperienceReplay
    from .feature_matching import FeatureMatching
    from .feature_matching_hybrid import FeatureMatchingHybrid
    from .gan import GAN
    from .guided_latent import GuidedLatent
    from .minibatch_discrimination import MinibatchDiscrimination
    from .pacgan import PacGAN
    from .unrolled import UnrolledGAN
    from .wgan import WGAN
    from .wgan_gp import WGANGP

    for cls in (
        GAN,
        FeatureMatching,
        FeatureMatchingHybrid,
        MinibatchDiscrimination,
        WGAN,
        WGANGP,
        UnrolledGAN,
        ExperienceReplay,
        AdaGAN,
        PacGAN,
        CGAN,
        GuidedLatent,
    ):
        register(cls)


_register_builtins()
