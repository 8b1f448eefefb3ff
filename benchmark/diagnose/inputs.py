"""Reading the REAL and FAKE sets of ``mcbench diagnose``: any GAN's samples, never pickled code.

**Inputs.** REAL and FAKE are each one of (decided in this order):

* a folder of images (``.png .jpg .jpeg .bmp .gif .tif .tiff .webp``, searched recursively, sorted
  by path), all of one size; grey images stay one channel, unless the folder mixes grey and colour
  (then all become RGB);
* a ``.npy`` array, or a ``.npz`` archive (its only array, else the one named ``x``, ``samples`` or
  ``images``), read with ``allow_pickle=False``;
* a TorchScript generator (a ``torch.jit.save`` archive; ``--z-dim`` is required): it is run on
  ``--num-samples`` (default 5,000) standard normal latents drawn with ``--seed``;
* a tensor file from ``torch.save`` (a tensor, or a dict holding one under ``x``/``samples``/``images``),
  read with ``torch.load(..., weights_only=True)``.

Nothing is unpickled: object arrays, checkpoints that need pickled classes and plain pickles are
refused with an error. REAL may be left out with ``--dataset``: it is then drawn from the dataset.

**Shapes.** (n,) and (n, d) are vectors (e.g. 2-D mixture samples); (n, H, W) are grey images;
(n, C, H, W) and (n, H, W, C) are images with C in {1, 3}: channels-first when axis 1 has 1 or 3
entries (PyTorch's layout, which also wins when both axes do, e.g. 3 x 8 x 3), else channels-last
when axis 3 has. With an image ``--dataset`` the layout that matches its shape wins, and vectors of
length C*H*W are reshaped to its images. REAL and FAKE must agree (same image size and channels, or
same vector length), and hold at least 10 samples each.

**Pixel ranges** (images only; every image set is converted to uint8). uint8 is [0, 255]; other
integer types must lie in [0, 255]. Float images follow ``--pixel-range``: ``signed`` [-1, 1],
``unit`` [0, 1], ``byte`` [0, 255]; ``auto`` (the default) reads [-1, 1] when the minimum is below 0,
[0, 1] when the maximum is at most 1, else [0, 255], and refuses values outside all three (beyond a
5 % tolerance). A TorchScript generator's float images are taken as [-1, 1] (tanh) under ``auto``,
because a collapsed generator may well produce only non-negative pixels. Float arrays must be finite.
"""

from __future__ import annotations

import math
import pickle
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from baselines.errors import ConfigError

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


def last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


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


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    return any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)


def _run_generator(path: Path, role: str, z_dim: int | None, n: int, seed: int) -> np.ndarray:
    import torch

    if z_dim is None or z_dim < 1:
        raise _fail(role, path, "is a TorchScript generator; give its latent size with --z-dim")
    try:
        generator = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001
        raise _fail(role, path, f"cannot be loaded as TorchScript ({last_line(exc)})") from None
    generator.eval()
    rng = torch.Generator().manual_seed(seed)
    parts = []
    with torch.no_grad():
        for start in range(0, n, 500):
            z = torch.randn(min(500, n - start), z_dim, generator=rng)
            try:
                out = generator(z)
            except Exception as exc:  # noqa: BLE001
                raise _fail(
                    role, path, f"failed on latents of shape {tuple(z.shape)}: {last_line(exc)}"
                ) from None
            if not isinstance(out, torch.Tensor):
                raise _fail(role, path, f"returned {type(out).__name__}, not a tensor of samples")
            parts.append(out.detach().float().cpu())
    return torch.cat(parts).numpy()


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
            "is not a folder of images, .npy/.npz array, tensor file or TorchScript generator "
            f"({last_line(exc)})",
        ) from None
    if isinstance(obj, dict):
        obj = next((obj[k] for k in ARRAY_KEYS if isinstance(obj.get(k), torch.Tensor)), obj)
    if not isinstance(obj, torch.Tensor):
        raise _fail(
            role,
            path,
            f"holds a {type(obj).__name__}, not a tensor of samples (a generator must be saved with "
            "torch.jit.script(G).save(PATH))",
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
    if _is_torchscript(p):
        n = num_samples or DEFAULT_GENERATED
        out = _run_generator(p, role, z_dim, n, seed)
        if pixel_range == "auto":
            options["pixel_range"] = "signed"
        return to_samples(out, role, p, f"TorchScript generator ({n} samples, seed {seed})", **options)
    return to_samples(_read_tensor(p, role), role, p, "tensor file", **options)


def check_pair(real: Samples, fake: Samples) -> None:
    def what(s: Samples) -> str:
        if s.is_image:
            c, h, w = s.data.shape[1:]
            return f"images of {c} channel(s), {w}x{h} pixels"
        return f"vectors of length {s.data.shape[1]}"

    if real.is_image != fake.is_image or real.data.shape[1:] != fake.data.shape[1:]:
        raise _fail("FAKE", fake.path, f"holds {what(fake)} but REAL {real.path} holds {what(real)}")


def check_dataset(s: Samples, dataset: Any) -> None:
    from benchmark.data.datasets import MixtureDataset

    if isinstance(dataset, MixtureDataset):
        if s.is_image or s.data.shape[1] != dataset.dim:
            raise _fail(
                s.role,
                s.path,
                f"has shape {s.data.shape[1:]}; {dataset.name} has vectors of length {dataset.dim}",
            )
    elif not s.is_image or tuple(s.data.shape[1:]) != tuple(dataset.shape):
        raise _fail(
            s.role,
            s.path,
            f"has shape {s.data.shape[1:]}; {dataset.name} has images {tuple(dataset.shape)} (C, H, W)",
        )


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
