"""Typed configuration: one dataclass per component, built from plain dicts that fail loudly.

Unknown keys and values of the wrong type raise :class:`ConfigError` naming the valid keys, so a
typo in a suite file or on the command line never silently falls back to a default.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .errors import ConfigError

T = TypeVar("T")


@dataclass
class NetConfig:
    """Network sizes: MLPs for vector problems (the mixtures), DCGAN nets for images.

    ``conv_width`` is the DCGAN base channel count (the paper's 64; G's and D's widest stage has
    ``conv_width * 2**(stages - 1)`` channels). ``d_norm`` is the image discriminator's normalisation:
    ``"auto"`` takes the variant's choice (batch norm as in DCGAN; layer norm for WGAN-GP, whose
    per-sample gradient penalty needs a critic without batch statistics). ``d_conv_width`` is the image
    discriminator's own base width when it differs from G's (0, the default: the same as
    ``conv_width``); PacGAN's smaller-discriminator experiment (arXiv 1712.04086, T3) uses a D of a
    quarter of G's size.
    """

    hidden: int = 128
    g_layers: int = 2
    d_layers: int = 2
    conv_width: int = 64
    d_norm: Literal["auto", "batch", "layer", "none"] = "auto"
    d_conv_width: int = 0

    def __post_init__(self) -> None:
        for name in ("hidden", "g_layers", "d_layers", "conv_width"):
            _at_least(f"net.{name}", getattr(self, name), 1)
        _at_least("net.d_conv_width", self.d_conv_width, 0)


@dataclass
class TrainConfig:
    """Training settings shared by every variant. Defaults are the VEEGAN protocol's (see PROTOCOLS.md):
    batch 512, latent 256, Adam with lr 1e-4 for D and 1e-3 for G, 25,000 iterations."""

    iters: int = 25_000
    batch_size: int = 512
    z_dim: int = 256
    lr_d: float = 1e-4
    lr_g: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1
    log_every: int = 50
    eval_every: int = 1000
    eval_samples: int = 2500
    ckpt_every: int = 2500
    seed: int = 0
    device: str = "auto"
    net: NetConfig = field(default_factory=NetConfig)

    def __post_init__(self) -> None:
        # Checked where the settings are made (command line, suite file, Python), before any work.
        for name in ("iters", "batch_size", "z_dim", "d_steps", "log_every", "eval_every", "eval_samples"):
            _at_least(name, getattr(self, name), 1)
        _at_least("ckpt_every", self.ckpt_every, 0)
        for name in ("lr_d", "lr_g"):  # 0 is allowed: a frozen network (the gate's broken-mitigation test)
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} (--{name.replace('_', '-')}) must be finite and >= 0, got {value}")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", str(self.device)):
            raise ConfigError(
                f"device (--device) must be auto, cpu, cuda, cuda:N or mps; got {self.device!r}"
            )


def check_option(name: str, value: Any, *, low: float, strict: bool = False, none_ok: bool = False) -> None:
    """Raise ConfigError naming a variant option and its valid range when ``value`` is outside it
    (``>= low``, or ``> low`` when ``strict``; None allowed when ``none_ok``). Called from the options
    dataclasses' ``__post_init__``, so a suite file, the command line and Python all check an option
    where it is read, before any run starts."""
    if value is None and none_ok:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= low if strict else value < low):
        valid = f"{'>' if strict else '>='} {low:g}" + (" or None" if none_ok else "")
        raise ConfigError(f"{name} must be {valid}, got {value!r}")


def _at_least(name: str, value: Any, low: int) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value < low:
        flag = name.split(".")[-1].replace("_", "-")
        raise ConfigError(f"{name} (--{flag}) must be >= {low}, got {value}")


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, float, str, bool):
        if type(value) is not annotation:
            raise ConfigError(f"{name} must be {annotation.__name__}, got {value!r}")
        return value
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is type(None) and value is None:
                return None
            try:
                return _check_type(name, value, arg)
            except ConfigError:
                continue
        raise ConfigError(f"{name} has the wrong type: {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; nested dataclasses are built from nested dicts."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}unknown key(s) {', '.join(unknown)} for {cls.__name__}; valid: {', '.join(fields)}"
        )
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        full = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(hint):
            kwargs[name] = value if isinstance(value, hint) else from_dict(hint, value, full)
        else:
            kwargs[name] = _check_type(full, value, hint)
    return cls(**kwargs)


def parse_scalar(text: str) -> Any:
    """Parse a command-line ``key=value`` value: int, float, bool, or string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def at_least(low: int) -> Any:
    """An argparse type: an integer >= ``low`` (argparse names the flag in its one-line error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"int >= {low}"
    return parse
