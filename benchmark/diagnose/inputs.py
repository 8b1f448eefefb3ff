"""Reading the REAL and FAKE sets of ``mcbench diagnose``: any GAN's samples, never pickled code.

**Inputs.** REAL and FAKE are each one of (decided in this order):

* a folder of images (``.png .jpg .jpeg .bmp .gif .tif .tiff .webp``, searched recursively, sorted
  by path), all of one size; grey images stay one channel, unless the folder mixes grey and colour
  (then all become RGB);
* a ``.npy`` array, or a ``.npz`` archive (its only array, else the one named ``x``, ``samples`` or
  ``images``), read with ``allow_pickle=False``;
* a generator: a ``torch.export`` program (``torch.export.save(ep, "G.pt2")``; its latent size is read
  from the program, ``--z-dim`` is optional) or a TorchScript archive (``torch.jit.save``; ``--z-dim``
  is required), run on ``--num-samples`` (default 5,000) standard normal latents drawn with ``--seed``,
  ``(n, z)`` or DCGAN's ``(n, z, 1, 1)``; see :mod:`benchmark.diagnose.generators`, which also says what
  is checked before a torch.export file is loaded;
* a tensor file from ``torch.save`` (a tensor, or a dict holding one under ``x``/``samples``/``images``),
  read with ``torch.load(..., weights_only=True)``.

Nothing is unpickled: object arrays, checkpoints that need pickled classes and plain pickles are
refused with an error. REAL may be left out with ``--dataset``: it is then drawn from the dataset.

**Shapes.** (n,) and (n, d) are vectors (e.g. 2-D mixture samples); (n, H, W) are grey images;
(n, C, H, W) and (n, H, W, C) are images with C in {1, 3}: channels-first when axis 1 has 1 or 3
entries (PyTorch's layout, which also wins when both axes do, e.g. 3 x 8 x 3), else channels-last
when axis 3 has. With an image ``--dataset`` the layout that matches its shape wins, and vectors of
length C*H*W are reshaped to its images. Each set holds at least 10 samples.

**One shape for both** (:func:`match_shapes`). Images of different sizes or channel counts are
converted by :mod:`benchmark.diagnose.convert` (luma for RGB to grey, repeating for grey to RGB, PIL's
antialiased Lanczos for size): to an image dataset's shape with ``--dataset``, otherwise to the smaller
size (H*W) and the fewer channels of the two. Each conversion is one line of the report (``inputs``,
``conversions``, and its notes). ``--no-resize`` (``resize=False``) refuses instead. Images against
vectors, and vectors of different lengths (or not of a mixture dataset's), are always refused.

**Pixel ranges** (images only; every image set is converted to uint8). uint8 is [0, 255]; other
integer types must lie in [0, 255]. Float images follow ``--pixel-range``: ``signed`` [-1, 1],
``unit`` [0, 1], ``byte`` [0, 255]; ``auto`` (the default) reads [-1, 1] when the minimum is below 0,
[0, 1] when the maximum is at most 1, else [0, 255], and refuses values outside all three (beyond a
5 % tolerance). A generator's float images are taken as [-1, 1] (tanh) under ``auto``, because a
collapsed generator may well produce only non-negative pixels. Float arrays must be finite.
"""

from __future__ import annotations

import math
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from baselines.errors import ConfigError
from benchmark.diagnose.convert import common_shape, convert
from benchmark.diagnose.generators import (
    GeneratorError,
    is_export_archive,
    is_torchscript,
    last_line,
    run_generator,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
ARRAY_KEYS = ("x", "samples", "images")
PIXEL_RANGES = {"signed": (-1.0, 1.0), "unit": (0.0, 1.0), "byte": (0.0, 255.0)}
RANGE_TOLERANCE = 0.05  # of the range's width: generators overshoot a little
MIN_SAMPLES = 10
DEFAULT_GENERATED = 5000


@dataclass
class Samples:
    """One loaded set: ``data`` is float32 vectors (n, d) or uint8 images (n, C, H, W)."""

    role: str  # "REAL" or "FAKE"
    path: str
    source: str
    data: np.ndarray
    pixel_range: str | None = None
    files: list[str] = field(default_factory=list)  # image folder: one relative path per sample

    @property
    def is_image(self) -> bool:
        return self.data.ndim == 4

    def label(self, i: int) -> str:
        return self.files[i] if self.files else f"#{i}"

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "n": int(self.data.shape[0]),
            "kind": "images" if self.is_image else "vectors",
            "shape": list(self.data.shape[1:]),
            "pixel_range": self.pixel_range,
        }


def _fail(role: str, path: Any, problem: str) -> ConfigError:
    return ConfigError(f"{role} {path}: {problem}")


def _read_folder(folder: Path, role: str) -> tuple[np.ndarray, list[str]]:
    from PIL import Image

    files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
    if not files:
        raise _fail(role, folder, f"no image files ({' '.join(IMAGE_SUFFIXES)}) in this folder")
    images, first = [], None
    for f in files:
        try:
            with Image.open(f) as im:
                grey = len(im.getbands()) <= 2 and im.mode not in ("P", "PA")
                a = np.asarray(im.convert("L" if grey else "RGB"))
        except (OSError, ValueError) as exc:
            raise _fail(role, f, f"cannot be read as an image ({last_line(exc)})") from None
        if first is None:
            first = (f, a.shape[:2])
        elif a.shape[:2] != first[1]:
            (h, w), (h0, w0) = a.shape[:2], first[1]
            raise _fail(
                role, f, f"is {w}x{h} pixels but {first[0].name} is {w0}x{h0}; a folder's images must match"
            )
        images.append(a)
    channels = 3 if any(a.ndim == 3 for a in images) else 1
    stacked = np.stack([a if a.ndim == 3 else np.repeat(a[..., None], channels, axis=2) for a in images])
    return stacked.transpose(0, 3, 1, 2), [str(f.relative_to(folder)) for f in files]


def _read_npy(path: Path, role: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise _fail(role, path, "holds pickled objects; refused (nothing is unpickled)") from None
        raise _fail(role, path, f"cannot be read as .npy ({last_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - any read failure of a user file is bad input
        raise _fail(role, path, f"cannot be read as .npy ({last_line(exc)})") from None


def _read_npz(path: Path, role: str) -> tuple[np.ndarray, str]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            key = keys[0] if len(keys) == 1 else next((k for k in ARRAY_KEYS if k in keys), None)
            if key is None:
                raise _fail(role, path, f"holds arrays {keys}; name one of them {' or '.join(ARRAY_KEYS)}")
            return archive[key], key
    except ConfigError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise _fail(role, path, "holds pickled objects; refused (nothing is unpickled)") from None
        raise _fail(role, path, f"cannot be read as .npz ({last_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001
        raise _fail(role, path, f"cannot be read as .npz ({last_line(exc)})") from None


def _read_tensor(path: Path, role: str) -> np.ndarray:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the refusal says enough
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported [^.\n]*", str(exc))
        reason = found.group(0).strip() if found else last_line(exc)
        raise _fail(role, path, f"needs pickled code to load; refused ({reason})") from None
    except Exception as exc:  # noqa: BLE001
        raise _fail(
            role,
            path,
            "is not a folder of images, .npy/.npz array, tensor file or generator (.pt2, TorchScript) "
            f"({last_line(exc)})",
        ) from None
    if isinstance(obj, dict):
        obj = next((obj[k] for k in ARRAY_KEYS if isinstance(obj.get(k), torch.Tensor)), obj)
    if not isinstance(obj, torch.Tensor):
        raise _fail(
            role,
            path,
            f"holds a {type(obj).__name__}, not a tensor of samples (save a generator with "
            "torch.export.save(torch.export.export(G, (z,)), PATH))",
        )
    return obj.detach().float().numpy() if obj.dtype == torch.bfloat16 else obj.detach().numpy()


def _layout(shape: tuple[int, ...], image_shape: tuple[int, ...] | None) -> str:
    """``"first"`` for (n, C, H, W), ``"last"`` for (n, H, W, C); see the module docstring."""
    if image_shape is not None:
        if tuple(shape[1:]) == tuple(image_shape):
            return "first"
        if (shape[3], shape[1], shape[2]) == tuple(image_shape):
            return "last"
    if shape[1] in (1, 3):
        return "first"
    if shape[3] in (1, 3):
        return "last"
    return ""


def _to_uint8(a: np.ndarray, role: str, path: Any, pixel_range: str) -> tuple[np.ndarray, str]:
    if a.dtype == np.uint8:
        return a, "byte"
    if a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() > 255):
            raise _fail(role, path, f"integer pixels span [{a.min()}, {a.max()}]; expected [0, 255]")
        return a.astype(np.uint8), "byte"
    lo, hi = float(a.min()), float(a.max())
    if pixel_range == "auto":
        pixel_range = "signed" if lo < 0 else "unit" if hi <= 1 + RANGE_TOLERANCE else "byte"
        low, high = PIXEL_RANGES[pixel_range]
        slack = RANGE_TOLERANCE * (high - low)
        if lo < low - slack or hi > high + slack:
            raise _fail(
                role,
                path,
                f"float pixels span [{lo:.4g}, {hi:.4g}]; expected [-1, 1], [0, 1] or [0, 255] "
                "(or set --pixel-range)",
            )
    low, high = PIXEL_RANGES[pixel_range]
    scaled = (a.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8), pixel_range


def to_samples(
    a: Any,
    role: str,
    path: Any,
    source: str,
    *,
    pixel_range: str = "auto",
    image_shape: tuple[int, ...] | None = None,
    files: list[str] | None = None,
) -> Samples:
    """Check an array and convert it to vectors float32 (n, d) or images uint8 (n, C, H, W).

    Raises :class:`ConfigError` naming ``role`` and ``path`` for a bad dtype, shape, size or range.
    """
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise _fail(role, path, f"has dtype {a.dtype}; expected numbers (uint8 images, or int/float samples)")
    if a.ndim == 0 or a.shape[0] < MIN_SAMPLES:
        n = a.shape[0] if a.ndim else 0
        raise _fail(role, path, f"holds {n} samples (shape {a.shape}); at least {MIN_SAMPLES} are needed")
    if a.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(a)))
        if bad:
            raise _fail(role, path, f"holds {bad} NaN or infinite values")
    if a.ndim == 2 and image_shape is not None and a.shape[1] == math.prod(image_shape):
        a = a.reshape(a.shape[0], *image_shape)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim == 4:
        layout = _layout(a.shape, image_shape)
        if not layout:
            raise _fail(
                role, path, f"has shape {a.shape}; images need 1 or 3 channels, (n, C, H, W) or (n, H, W, C)"
            )
        if layout == "last":
            a = a.transpose(0, 3, 1, 2)
        images, used = _to_uint8(np.ascontiguousarray(a), role, path, pixel_range)
        return Samples(role, str(path), source, images, used, files or [])
    if a.ndim > 4:
        raise _fail(role, path, f"has shape {a.shape}; expected vectors (n, d) or images (n, C, H, W)")
    vectors = a.reshape(a.shape[0], -1).astype(np.float32)
    return Samples(role, str(path), source, vectors)


def add_input_arguments(p: Any) -> None:
    """The options of ``mcbench diagnose`` that say how REAL and FAKE are read (module docstring)."""
    p.add_argument("--z-dim", type=int, default=None, help="latent size (TorchScript; read from a .pt2)")
    p.add_argument(
        "--num-samples", type=int, default=None, help=f"samples to generate (default {DEFAULT_GENERATED})"
    )
    p.add_argument(
        "--pixel-range",
        choices=["auto", *PIXEL_RANGES],
        default="auto",
        help="float images: signed [-1,1], unit [0,1], byte [0,255] (default: auto)",
    )
    p.add_argument("--no-resize", action="store_true", help="refuse images of another size or channels")


def load_samples(
    path: str | Path,
    role: str,
    *,
    z_dim: int | None = None,
    num_samples: int | None = None,
    seed: int = 0,
    pixel_range: str = "auto",
    image_shape: tuple[int, ...] | None = None,
) -> Samples:
    """Read one input set (module docstring); raise :class:`ConfigError` naming the file on bad input."""
    p = Path(path)
    if not p.exists():
        raise _fail(role, p, "no such file or folder")
    options = {"pixel_range": pixel_range, "image_shape": image_shape}
    if p.is_dir():
        images, files = _read_folder(p, role)
        return to_samples(images, role, p, "image folder", files=files, **options)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return to_samples(_read_npy(p, role), role, p, ".npy array", **options)
    if suffix == ".npz":
        array, key = _read_npz(p, role)
        return to_samples(array, role, p, f".npz array {key!r}", **options)
    if is_torchscript(p) or suffix == ".pt2" or is_export_archive(p):
        try:
            out, source = run_generator(p, z_dim, num_samples or DEFAULT_GENERATED, seed)
        except GeneratorError as exc:
            raise _fail(role, p, str(exc)) from None
        if pixel_range == "auto":
            options["pixel_range"] = "signed"
        return to_samples(out, role, p, source, **options)
    return to_samples(_read_tensor(p, role), role, p, "tensor file", **options)


def _what(s: Samples) -> str:
    if s.is_image:
        c, h, w = s.data.shape[1:]
        return f"images of {c} channel(s), {w}x{h} pixels"
    return f"vectors of length {s.data.shape[1]}"


NO_RESIZE = "; not converted, as --no-resize (resize=False) was given"


def _fit_dataset(s: Samples, dataset: Any, resize: bool) -> list[str]:
    from benchmark.data.datasets import MixtureDataset

    if isinstance(dataset, MixtureDataset):
        if s.is_image or s.data.shape[1] != dataset.dim:
            raise _fail(
                s.role,
                s.path,
                f"has shape {s.data.shape[1:]}; {dataset.name} has vectors of length {dataset.dim}",
            )
        return []
    shape = tuple(dataset.shape)
    if s.is_image and tuple(s.data.shape[1:]) == shape:
        return []
    problem = f"has shape {s.data.shape[1:]}; {dataset.name} has images {shape} (C, H, W)"
    if not s.is_image or not resize:
        raise _fail(s.role, s.path, problem + ("" if not s.is_image else NO_RESIZE))
    s.data, line = convert(s.data, shape, s.role)
    return [f"{line} to fit {dataset.name}"]


def match_shapes(real: Samples, fake: Samples, dataset: Any = None, *, resize: bool = True) -> list[str]:
    """Bring REAL and FAKE to one shape (module docstring), in place; return the conversions, one line each.

    Raises :class:`ConfigError` naming the file for images against vectors, vectors of another length,
    and, with ``resize=False``, images whose size or channels differ (from each other or the dataset's).
    """
    lines = []
    if dataset is not None:
        lines += _fit_dataset(real, dataset, resize) + _fit_dataset(fake, dataset, resize)
    if real.data.shape[1:] == fake.data.shape[1:]:
        return lines
    problem = f"holds {_what(fake)} but REAL {real.path} holds {_what(real)}"
    if real.is_image != fake.is_image or not real.is_image or not resize:
        raise _fail("FAKE", fake.path, problem + (NO_RESIZE if real.is_image and fake.is_image else ""))
    target = common_shape(real.data.shape[1:], fake.data.shape[1:])
    for s in (real, fake):
        s.data, line = convert(s.data, target, s.role)
        lines += [line] if line else []
    return lines


def real_from_dataset(dataset: Any, n: int, seed: int) -> Samples:
    import torch

    from benchmark.data.datasets import MixtureDataset

    where = f"dataset {dataset.name}"
    if isinstance(dataset, MixtureDataset):
        x = dataset.sample(n, torch.Generator().manual_seed(seed + 1)).numpy()
        return Samples(
            "REAL", where, f"{n} samples drawn from {dataset.name} (seed {seed})", x.astype(np.float32)
        )
    images = dataset.images.numpy()
    idx = np.sort(np.random.default_rng(seed).choice(len(images), min(n, len(images)), replace=False))
    return Samples("REAL", where, f"{len(idx)} images of {dataset.name} (seed {seed})", images[idx], "byte")
