"""Known answers of the image conversion of ``mcbench diagnose`` (benchmark.diagnose.convert), and of
matching REAL, FAKE and a dataset to one shape (benchmark.diagnose.inputs.match_shapes)."""

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from baselines.errors import ConfigError
from benchmark.data.registry import get_dataset
from benchmark.diagnose.convert import caveats, common_shape, convert, luma, repeat_grey, resize
from benchmark.diagnose.inputs import Samples, match_shapes


def constant(n, rgb, h, w):
    return np.broadcast_to(np.array(rgb, dtype=np.uint8)[None, :, None, None], (n, len(rgb), h, w)).copy()


@pytest.mark.parametrize(
    ("rgb", "grey"),
    # 0.299 R + 0.587 G + 0.114 B, rounded: 124.2 -> 124, 76.2 -> 76, 149.7 -> 150, 29.1 -> 29
    [((200, 100, 50), 124), ((255, 0, 0), 76), ((0, 255, 0), 150), ((0, 0, 255), 29), ((255, 255, 255), 255)],
)
def test_a_constant_colour_becomes_its_luma_exactly(rgb, grey):
    out = luma(constant(3, rgb, 5, 7))
    assert out.shape == (3, 1, 5, 7) and out.dtype == np.uint8
    assert (out == grey).all()


def test_luma_is_pils_convert_l_bit_for_bit():
    images = np.random.default_rng(0).integers(0, 256, (6, 3, 9, 11), dtype=np.uint8)
    pil = np.stack([np.asarray(Image.fromarray(im.transpose(1, 2, 0), "RGB").convert("L")) for im in images])
    assert np.array_equal(luma(images)[:, 0], pil)


def test_grey_to_rgb_repeats_the_grey_value():
    grey = np.random.default_rng(1).integers(0, 256, (4, 1, 6, 6), dtype=np.uint8)
    rgb = repeat_grey(grey)
    assert rgb.shape == (4, 3, 6, 6)
    assert all(np.array_equal(rgb[:, c], grey[:, 0]) for c in range(3))
    assert np.array_equal(luma(rgb), grey)  # the weights sum to 1: grey -> RGB -> grey is the identity


@pytest.mark.parametrize("size", [(28, 28), (13, 40), (100, 90), (1, 1)])
@pytest.mark.parametrize("value", [0, 1, 77, 254, 255])
def test_a_constant_image_stays_exactly_constant_at_any_size(size, value):
    for channels in (1, 3):
        out = resize(constant(2, (value,) * channels, 64, 48), size)
        assert out.shape == (2, channels, *size) and (out == value).all()


def test_the_same_size_returns_the_images_unchanged():
    images = np.random.default_rng(2).integers(0, 256, (3, 3, 8, 8), dtype=np.uint8)
    assert resize(images, (8, 8)) is images


def test_a_wide_stripe_keeps_its_value_beyond_the_filters_reach():
    # Halving: Lanczos-3 reaches 3 output pixels (6 input pixels). The stripe edge is at output column 8, so
    # columns 0-4 (centres <= 4.5) see only 0 and columns 11-15 (centres >= 11.5) only 200; 5-10 ring.
    images = np.zeros((1, 1, 8, 32), dtype=np.uint8)
    images[..., 16:] = 200
    out = resize(images, (4, 16))
    assert (out[..., :5] == 0).all() and (out[..., 11:] == 200).all()
    assert out.shape == (1, 1, 4, 16)


def test_resize_is_pils_lanczos_per_image_and_rgb_bands_alike():
    images = np.random.default_rng(3).integers(0, 256, (2, 3, 20, 30), dtype=np.uint8)
    out = resize(images, (9, 11))
    for image, got in zip(images, out, strict=True):
        pil = Image.fromarray(image.transpose(1, 2, 0), "RGB").resize((11, 9), Image.Resampling.LANCZOS)
        assert np.array_equal(got.transpose(1, 2, 0), np.asarray(pil))
        band = Image.fromarray(image[1], "L").resize((11, 9), Image.Resampling.LANCZOS)
        assert np.array_equal(got[1], np.asarray(band))  # bands are resized independently


@pytest.mark.parametrize(
    ("real", "fake", "target"),
    [
        ((1, 28, 28), (3, 64, 64), (1, 28, 28)),  # MNIST against the DCGAN example's samples
        ((3, 64, 64), (1, 28, 28), (1, 28, 28)),
        ((3, 32, 32), (3, 16, 64), (3, 32, 32)),  # 1,024 pixels each: a tie keeps REAL's size
        ((3, 32, 32), (3, 16, 48), (3, 16, 48)),
    ],
)
def test_the_common_shape_has_fewer_pixels_and_fewer_channels(real, fake, target):
    assert common_shape(real, fake) == target


def test_dcgan_samples_become_grey_mnist_sized_and_the_line_says_so():
    out, line = convert(constant(5, (200, 100, 50), 64, 64), (1, 28, 28), "FAKE")
    assert out.shape == (5, 1, 28, 28) and out.dtype == np.uint8 and (out == 124).all()
    assert line == (
        "FAKE: 3x64x64 -> 1x28x28 (RGB to grey by ITU-R 601 luma, resized 64x64 -> 28x28 with Lanczos)"
    )


def test_grey_to_a_larger_rgb_shape():
    out, line = convert(constant(2, (90,), 28, 28), (3, 64, 64), "REAL")
    assert out.shape == (2, 3, 64, 64) and (out == 90).all()
    assert line == (
        "REAL: 1x28x28 -> 3x64x64 (resized 28x28 -> 64x64 with Lanczos, grey to RGB by repeating the grey "
        "value)"
    )


def test_a_change_of_aspect_ratio_is_stretched_and_said():
    out, line = convert(constant(2, (9, 9, 9), 32, 48), (3, 16, 16), "FAKE")
    assert out.shape == (2, 3, 16, 16)
    assert line == (
        "FAKE: 3x32x48 -> 3x16x16 (resized 32x48 -> 16x16 with Lanczos, aspect ratio W:H changed from "
        "48:32 to 16:16 (stretched, not cropped))"
    )


def test_channels_only_and_nothing_to_do():
    images = constant(2, (255, 0, 0), 8, 8)
    out, line = convert(images, (1, 8, 8), "FAKE")
    assert (out == 76).all() and line == "FAKE: 3x8x8 -> 1x8x8 (RGB to grey by ITU-R 601 luma)"
    same, line = convert(images, (3, 8, 8), "FAKE")
    assert same is images and line == ""


# ------------------------------------------------------------------------------------------ match_shapes


def samples(role, data):
    return Samples(role, f"{role.lower()}.npy", ".npy array", data, "byte" if data.ndim == 4 else None)


def test_without_a_dataset_the_larger_rgb_set_is_brought_to_the_grey_one():
    real = samples("REAL", constant(12, (40,), 8, 8))
    fake = samples("FAKE", constant(12, (200, 100, 50), 16, 16))
    lines = match_shapes(real, fake)
    assert lines == [
        "FAKE: 3x16x16 -> 1x8x8 (RGB to grey by ITU-R 601 luma, resized 16x16 -> 8x8 with Lanczos)"
    ]
    assert real.data.shape == fake.data.shape == (12, 1, 8, 8) and (fake.data == 124).all()


def test_both_sets_can_change_grey_real_larger_fake_rgb_smaller():
    real = samples("REAL", constant(12, (40,), 16, 16))
    fake = samples("FAKE", constant(12, (200, 100, 50), 8, 8))
    lines = match_shapes(real, fake)
    assert lines == [
        "REAL: 1x16x16 -> 1x8x8 (resized 16x16 -> 8x8 with Lanczos)",
        "FAKE: 3x8x8 -> 1x8x8 (RGB to grey by ITU-R 601 luma)",
    ]
    assert real.data.shape == fake.data.shape == (12, 1, 8, 8)


def test_an_image_dataset_sets_the_shape():
    toy = SimpleNamespace(name="toy", shape=(1, 8, 8))
    real = samples("REAL", constant(12, (40,), 8, 8))
    fake = samples("FAKE", constant(12, (200, 100, 50), 16, 16))
    lines = match_shapes(real, fake, toy)
    assert lines == [
        "FAKE: 3x16x16 -> 1x8x8 (RGB to grey by ITU-R 601 luma, resized 16x16 -> 8x8 with Lanczos) to fit toy"
    ]
    rgb_toy = SimpleNamespace(name="toy3", shape=(3, 8, 8))
    real = samples("REAL", constant(12, (40,), 8, 8))
    assert match_shapes(real, samples("FAKE", constant(12, (1, 2, 3), 8, 8)), rgb_toy) == [
        "REAL: 1x8x8 -> 3x8x8 (grey to RGB by repeating the grey value) to fit toy3"
    ]
    assert (real.data == 40).all() and real.data.shape == (12, 3, 8, 8)


@pytest.mark.parametrize(
    ("real", "fake", "dataset", "message"),
    [
        (
            constant(12, (40,), 8, 8),
            constant(12, (40,), 6, 6),
            None,
            "FAKE fake.npy: holds images of 1 channel(s), 6x6 pixels but REAL real.npy holds images of 1 "
            "channel(s), 8x8 pixels; not converted, as --no-resize (resize=False) was given",
        ),
        (
            constant(12, (40,), 8, 8),
            constant(12, (40,), 8, 8),
            SimpleNamespace(name="toy", shape=(3, 8, 8)),
            "REAL real.npy: has shape (1, 8, 8); toy has images (3, 8, 8) (C, H, W); not converted, as "
            "--no-resize",
        ),
    ],
)
def test_no_resize_refuses_with_the_old_message_and_says_why(real, fake, dataset, message):
    with pytest.raises(ConfigError) as info:
        match_shapes(samples("REAL", real), samples("FAKE", fake), dataset, resize=False)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("real", "fake", "dataset", "message"),
    [
        (np.zeros((12, 3), np.float32), np.zeros((12, 4), np.float32), None, "vectors of length 4 but REAL"),
        (constant(12, (1,), 8, 8), np.zeros((12, 64), np.float32), None, "vectors of length 64 but REAL"),
        (np.zeros((12, 2), np.float32), constant(12, (1,), 8, 8), "ring8", "ring8 has vectors of length 2"),
        (constant(12, (1,), 8, 8), constant(12, (1,), 8, 8), "ring8", "ring8 has vectors of length 2"),
    ],
)
def test_vectors_are_never_converted(real, fake, dataset, message):
    data = get_dataset(dataset) if dataset else None
    for resize_ in (True, False):
        with pytest.raises(ConfigError, match=message):
            match_shapes(samples("REAL", real), samples("FAKE", fake), data, resize=resize_)


def test_the_smoothing_caveat_comes_with_resizing_only():
    assert caveats([]) == [] and caveats(["FAKE: 3x8x8 -> 1x8x8 (RGB to grey by ITU-R 601 luma)"]) == []
    (note,) = caveats(["FAKE: 3x64x64 -> 1x28x28 (RGB to grey by luma, resized 64x64 -> 28x28 with Lanczos)"])
    assert note.startswith("resampling smooths images") and "converted alike" in note
