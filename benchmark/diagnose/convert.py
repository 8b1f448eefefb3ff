"""Bringing image sets to one size and channel count, so that REAL and FAKE can be compared.

Pure functions on uint8 images ``(n, C, H, W)`` with C in {1, 3}. :func:`convert` returns the new array
and one line for the report, e.g. ``"FAKE: 3x64x64 -> 1x28x28 (RGB to grey by ITU-R 601 luma, resized
64x64 -> 28x28 with Lanczos)"``; shapes are written C x H x W and sizes H x W, as the arrays hold them.

**Target.** With an image dataset, its shape (the shape its mode classifier takes). Without one,
:func:`common_shape`: the size of the set with fewer pixels per image (H*W; a tie keeps REAL's), so
nothing is upsampled that need not be, and one channel if either set is grey: colour cannot be invented.

**Channels.** RGB to grey is the ITU-R BT.601 luma, L = 0.299 R + 0.587 G + 0.114 B, computed exactly as
PIL's ``Image.convert("L")`` computes it (fixed point: ``(19595 R + 38470 G + 7471 B + 2**15) >> 16``),
vectorised. Grey to RGB repeats the grey value in the three channels.

**Size.** PIL's Lanczos filter (``Image.Resampling.LANCZOS``), one image at a time. PIL widens the filter
by the reduction factor, so downsizing is antialiased; Parmar et al. (CVPR 2022, "On aliased resizing and
surprising subtleties in GAN evaluation") show that Frechet distances move with aliasing, which an
un-antialiased ``F.interpolate`` has. Among PIL's antialiased filters Lanczos was chosen by measuring
the case that asked for this: 1,000 MNIST digits scaled 28 -> 64 (as the PyTorch DCGAN example does,
bilinear) and back to 28, Lanczos came closest to the originals (mean absolute error 3.8 grey levels;
box 4.7, Hamming 4.8, bicubic 4.4, bilinear 6.1; after a bicubic upscale 2.5, 3.3, 3.5, 3.1, 4.9). Its
exact answers: a constant image stays exactly constant at any size, the same size returns the image
unchanged, and a wide stripe keeps its value more than 3 output pixels (the filter's reach) from an
edge. It is not a box average: halving a 2x2-block image mixes neighbouring blocks into each pixel.
Channels are reduced before resizing and added after it, which gives the same images with less work.
A change of aspect ratio (non-square to square, say) is stretched, not cropped, and said in the line.
"""

from __future__ import annotations

import numpy as np

LUMA = (19595, 38470, 7471)  # PIL's 16-bit fixed-point ITU-R 601 weights (they sum to 2**16)
RESAMPLER = "Lanczos"


def luma(images: np.ndarray) -> np.ndarray:
    """RGB uint8 ``(n, 3, H, W)`` -> grey uint8 ``(n, 1, H, W)``, bit for bit PIL's ``convert("L")``."""
    rgb = images.astype(np.uint32)
    grey = (LUMA[0] * rgb[:, 0] + LUMA[1] * rgb[:, 1] + LUMA[2] * rgb[:, 2] + (1 << 15)) >> 16
    return grey.astype(np.uint8)[:, None]


def repeat_grey(images: np.ndarray) -> np.ndarray:
    """Grey uint8 ``(n, 1, H, W)`` -> RGB uint8 ``(n, 3, H, W)`` with R = G = B = the grey value."""
    return np.repeat(images, 3, axis=1)


def resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 ``(n, C, H, W)`` -> ``(n, C, H, W)`` of ``size`` (H, W) with PIL's antialiased Lanczos."""
    from PIL import Image

    h, w = size
    if images.shape[2:] == (h, w):
        return images
    out = np.empty((images.shape[0], images.shape[1], h, w), dtype=np.uint8)
    for i, image in enumerate(images):
        if image.shape[0] == 3:  # RGB in one call: PIL resizes the bands alike
            small = Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0)), "RGB")
            out[i] = np.asarray(small.resize((w, h), Image.Resampling.LANCZOS)).transpose(2, 0, 1)
        else:
            small = Image.fromarray(np.ascontiguousarray(image[0]), "L")
            out[i, 0] = np.asarray(small.resize((w, h), Image.Resampling.LANCZOS))
    return out


def common_shape(real: tuple[int, ...], fake: tuple[int, ...]) -> tuple[int, int, int]:
    """The (C, H, W) both sets are brought to without a dataset: fewer pixels and fewer channels."""
    (cr, hr, wr), (cf, hf, wf) = real, fake
    h, w = (hf, wf) if hf * wf < hr * wr else (hr, wr)
    return min(cr, cf), h, w


def caveats(lines: list[str]) -> list[str]:
    """The report's note on resized sets (none when nothing was resized)."""
    if not any("resized" in line for line in lines):
        return []
    return [
        "resampling smooths images, so distances and recall against a set that was not resized include "
        "that difference, not only the generator's (measured on MNIST, raw space: two native halves FD 4.0, "
        "recall 0.88; one half upscaled to 64x64 as the DCGAN example trains, then resized back: FD 6.9, "
        "recall 0.59); compare generators whose samples were converted alike"
    ]


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def convert(images: np.ndarray, shape: tuple[int, ...], role: str) -> tuple[np.ndarray, str]:
    """``images`` uint8 ``(n, C, H, W)`` brought to ``shape`` (C, H, W), and the line saying how.

    Returns the input array and ``""`` when it already has that shape.
    """
    c, h, w = (int(d) for d in shape)
    c0, h0, w0 = images.shape[1:]
    steps = []
    out = images
    if c < c0:
        out = luma(out)
        steps.append("RGB to grey by ITU-R 601 luma")
    if (h, w) != (h0, w0):
        out = resize(out, (h, w))
        step = f"resized {h0}x{w0} -> {h}x{w} with {RESAMPLER}"
        if h * w0 != h0 * w:
            step += f", aspect ratio W:H changed from {w0}:{h0} to {w}:{h} (stretched, not cropped)"
        steps.append(step)
    if c > c0:
        out = repeat_grey(out)
        steps.append("grey to RGB by repeating the grey value")
    if not steps:
        return images, ""
    return out, f"{role}: {_dims((c0, h0, w0))} -> {_dims((c, h, w))} ({', '.join(steps)})"
