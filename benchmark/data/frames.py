"""Frame datasets: one mode per video file or image folder of the user's, and a built-in frames set
rendered offline from gymnasium's CarRacing-v3 (each colour-randomized episode a mode).

Decoded frames and rendered clips are cached as ``.npz`` files under ``cache_dir`` (default:
``$MCBENCH_CACHE`` or ``~/.cache/mcbench``), keyed by everything that changes them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.atomic import atomic_write
from baselines.errors import ConfigError
from benchmark.data.images import CACHE_VERSION, ImageDataset, default_cache_dir

FRAMES_PREFIX = "frames:"
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


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
            "carracing needs the optional extra [carracing] (gymnasium, box2d, pygame): "
            f"pip install 'mode-collapse-bench[carracing]' ({e})"
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
