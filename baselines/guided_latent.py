"""Guided latent spaces: one latent subspace per mode, kept there by a frozen mode classifier.

The generator's latent space is extended to ``n_modes`` blocks and a latent for mode j lives only in
block j; a classifier trained on real labelled data penalises generated samples that land in the
wrong mode, and matching each mode's mean and spread to the real ones stops a block from collapsing
onto one point. The two penalties are pure functions below; the variant adds them to G's loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .conv_networks import conv_body
from .errors import ConfigError
from .gan import GAN
from .networks import _mlp, build_generator
from .variant import RealData, StepLogs


def wrong_mode_penalty(logits: torch.Tensor, modes: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a mode classifier's logits ``(n, k)`` against the intended modes ``(n,)``.

    Near 0 when every sample is classified as the mode whose subspace produced it; large when samples
    land in other modes. Lower is better.
    """
    return F.cross_entropy(logits, modes)


def per_mode_moments(
    x: torch.Tensor, modes: torch.Tensor, n_modes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-mode mean and (population) standard deviation of ``x`` ``(n, d)`` grouped by ``modes``.

    Returns ``mean (k, d)``, ``std (k, d)`` and ``counts (k,)`` (float); a mode with no samples gets zeros.
    Sums are one-hot matrix products rather than ``index_add``, whose CUDA atomics would make the
    result (and so a seeded run) vary from run to run.
    """
    onehot = F.one_hot(modes, n_modes).to(x.dtype)  # (n, k)
    counts = onehot.sum(dim=0)
    denom = counts.clamp(min=1)[:, None]
    mean = onehot.T @ x / denom
    var = onehot.T @ (x - mean[modes]) ** 2 / denom
    # The small constant keeps sqrt's gradient finite when a mode has collapsed to one point.
    return mean, torch.sqrt(var + 1e-12), counts


def stats_matching_penalty(
    x: torch.Tensor,
    modes: torch.Tensor,
    real_mean: torch.Tensor,
    real_std: torch.Tensor,
    min_std: float = 1e-6,
) -> torch.Tensor:
    """How far each generated mode's mean and spread are from the real mode's, in real-std units.

    ``x`` ``(n, d)`` are generated samples, ``modes`` ``(n,)`` the modes they were generated for,
    ``real_mean`` and ``real_std`` ``(k, d)`` the real per-mode statistics. For every mode with at
    least two samples: the squared differences of mean and of standard deviation, each divided by the
    real standard deviation (so one weight suits ring8's sigma 0.01 and grid25's 0.05), averaged over
    dimensions; then averaged over those modes. 0 exactly when the moments match; lower is better.
    The real std is floored at ``min_std`` before dividing (images are passed flattened, ``(n, C*H*W)``).
    """
    mean, std, counts = per_mode_moments(x, modes, real_mean.shape[0])
    scale = real_std.clamp(min=min_std)
    per_mode = (((mean - real_mean) / scale) ** 2 + ((std - real_std) / scale) ** 2).mean(dim=1)
    present = counts >= 2  # one sample has no spread to compare
    if not bool(present.any()):
        return x.sum() * 0.0  # keeps the graph, contributes nothing
    return per_mode[present].mean()


class ModeClassifier(nn.Module):
    """A small MLP from samples ``(n, data_dim)`` to mode logits ``(n, n_modes)``."""

    def __init__(self, data_dim: int, n_modes: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.net = nn.Sequential(*_mlp([data_dim] + [hidden] * layers + [n_modes]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvModeClassifier(nn.Module):
    """A small conv net from images ``(n, C, H, W)`` to mode logits ``(n, n_modes)``: the DCGAN
    discriminator's stride-2 conv stages (``width`` base channels, no normalisation, so a sample's
    logits never depend on its batch) and a linear layer on the flattened last stage."""

    def __init__(self, shape: tuple[int, ...], n_modes: int, width: int = 32):
        super().__init__()
        self.body, features, _ = conv_body(shape, width, "none")
        self.head = nn.Linear(features, n_modes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class GuidedLatent(GAN):
    """Guided latent spaces, after P. Kashikar's article "Fixing Mode Collapse in GANs using Guided
    Latent Spaces" (blog post, kashikarparth.github.io, no arXiv id; our seed 004).

    Latent layout (the article extends the latent space beyond the benchmark's usual size and splits
    it into one subspace per mode, each large enough to map the data on its own; its figure of the
    exact split is not in our copy, so this layout is ours): the extended latent has
    ``n_modes * s`` coordinates, ``s = subspace_dim`` (default the protocol's ``z_dim``), in
    ``n_modes`` consecutive blocks of ``s``; block j (coordinates ``j*s`` to ``(j+1)*s - 1``) is mode
    j's subspace. A latent for mode j is standard normal in block j and exactly zero elsewhere, so
    the block it occupies is also the "class label part" of G's input the article mentions.
    :meth:`generate` draws modes from the data's mode weights.

    Generator loss = adversarial loss (``loss`` option, non-saturating by default; D is the vanilla,
    unconditional discriminator, as in the article)
    + ``classifier_weight`` * cross-entropy of a frozen mode classifier against the subspace's mode
    + ``stats_weight`` * per-mode mean/std matching against the real per-mode statistics
    (:func:`stats_matching_penalty`). The article trains the classifier "to near perfection" before
    the GAN; here a small MLP is trained on the first training step on ``data.sample_labeled``
    batches drawn with the run's generator (``classifier_steps`` Adam steps, ``classifier_lr``), then
    frozen; its accuracy on ``holdout_samples`` fresh labelled samples is kept in ``classifier_acc``
    (logged every step) and the real per-mode means and standard deviations are measured on the same
    held-out sample, grouped by the true labels (the article takes the variances of the real data per
    class; with a >99% classifier the grouping hardly matters). Classifier and statistics are part of
    ``state_dict``. The article gives no numbers for the weights, sizes or steps: all defaults are
    ours; network sizes, optimizers, batch and learning rates come from the VEEGAN protocol.

    Images (ours): G is the DCGAN generator on the extended latent, D the unconditional DCGAN
    discriminator, and the classifier a small conv net (:class:`ConvModeClassifier`, base width
    ``classifier_width``) pretrained exactly as the MLP one. The statistics penalty compares per-pixel
    per-mode means and stds, with the real std floored at ``stats_min_std`` (0.1 for images by
    default, 5% of the pixel range).
    """

    name = "guided-latent"
    batchable = False
    not_batchable_reason = (
        "each run trains its own auxiliary classifier network on the first step, outside G and D"
    )
    paper = "Kashikar, 'Fixing Mode Collapse in GANs using Guided Latent Spaces' (blog post, no arXiv id)"

    @dataclass
    class Options(GAN.Options):
        subspace_dim: int | None = None  # coordinates per mode's subspace; None: the protocol's z_dim
        classifier_weight: float = 1.0  # weight of the wrong-mode cross-entropy in G's loss
        stats_weight: float = 1.0  # weight of the per-mode mean/std matching in G's loss
        classifier_steps: int = 300  # Adam steps of classifier pretraining, on the first step
        classifier_lr: float = 1e-3
        classifier_hidden: int = 128  # MLP classifier (vector problems)
        classifier_width: int = 32  # conv classifier's base channels (image problems)
        holdout_samples: int = 10_000  # for the held-out accuracy and the real per-mode statistics
        # Floor on the real per-mode std that scales the stats penalty; None: 1e-6 for vectors (the
        # mixtures' sigmas are >= 0.01), 0.1 for images, whose constant pixels (an MNIST border) have
        # std 0 and would otherwise turn a tiny deviation into an enormous penalty.
        stats_min_std: float | None = None

        def __post_init__(self) -> None:
            where = "guided-latent"
            if self.subspace_dim is not None and self.subspace_dim < 1:
                raise ConfigError(f"{where}: subspace_dim must be positive or None, got {self.subspace_dim}")
            for key in ("classifier_weight", "stats_weight"):
                if getattr(self, key) < 0:
                    raise ConfigError(f"{where}: {key} must be >= 0, got {getattr(self, key)}")
            if self.stats_min_std is not None and not self.stats_min_std > 0:
                raise ConfigError(f"{where}: stats_min_std must be > 0 or None, got {self.stats_min_std}")
            for key in ("classifier_steps", "classifier_hidden", "classifier_width", "holdout_samples"):
                if getattr(self, key) < 1:
                    raise ConfigError(f"{where}: {key} must be positive, got {getattr(self, key)}")

    # ----- construction -----------------------------------------------------------------------
    @property
    def subspace_dim(self) -> int:
        return self.options.subspace_dim or self.train.z_dim

    @property
    def stats_min_std(self) -> float:
        if self.options.stats_min_std is not None:
            return self.options.stats_min_std
        return 0.1 if self.problem.kind == "image" else 1e-6

    @property
    def latent_dim(self) -> int:
        return self.problem.n_modes * self.subspace_dim

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        p, o = self.problem, self.options
        g = build_generator(p, self.train, z_dim=self.latent_dim)
        d = self.build_discriminator()
        # Built here so that torch.manual_seed at init fixes its weights too.
        if p.kind == "image":
            clf: nn.Module = ConvModeClassifier(p.shape, p.n_modes, o.classifier_width)
        else:
            clf = ModeClassifier(p.data_dim, p.n_modes, o.classifier_hidden)
        self.classifier = clf.to(self.device)
        self.classifier_ready = False
        self.classifier_acc = float("nan")
        self.real_mean: torch.Tensor | None = None
        self.real_std: torch.Tensor | None = None
        return g, d

    @cached_property
    def mode_weights(self) -> torch.Tensor:
        w = self.problem.mode_weights or (1.0,) * self.problem.n_modes
        return torch.tensor(w, dtype=torch.float32, device=self.device)

    # ----- latents ----------------------------------------------------------------------------
    def sample_modes(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` modes ``(n,)`` (int64) drawn from the data's mode weights."""
        return torch.multinomial(self.mode_weights, n, replacement=True, generator=gen)

    def sample_z_for_modes(self, modes: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Extended latents ``(n, n_modes * s)``: row i is N(0, I) in block ``modes[i]``, 0 elsewhere."""
        n, s = modes.shape[0], self.subspace_dim
        block = torch.randn(n, s, generator=gen, device=self.device)
        z = torch.zeros(n, self.problem.n_modes, s, device=self.device)
        z[torch.arange(n, device=self.device), modes] = block
        return z.reshape(n, self.latent_dim)

    def sample_z(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.sample_z_for_modes(self.sample_modes(n, gen), gen)

    def generate_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        modes = self.sample_modes(n, gen)
        return self.generator(self.sample_z_for_modes(modes, gen)), modes

    def generate(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.generate_labeled(n, gen)[0]

    # ----- the classifier -----------------------------------------------------------------------
    def pretrain_classifier(self, data: RealData, gen: torch.Generator) -> None:
        """Train the mode classifier on real labelled batches, freeze it, measure it on held-out data."""
        o, clf = self.options, self.classifier
        opt = torch.optim.Adam(clf.parameters(), lr=o.classifier_lr)
        clf.train()
        for _ in range(o.classifier_steps):
            x, y = data.sample_labeled(self.train.batch_size, gen)
            loss = F.cross_entropy(clf(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        self._freeze_classifier()
        x, y = data.sample_labeled(o.holdout_samples, gen)
        # Images are classified in batches (a conv net on 10,000 images at once needs gigabytes).
        chunk = x.shape[0] if self.problem.kind == "vector" else self.train.batch_size
        with torch.no_grad():
            pred = torch.cat([clf(part).argmax(dim=1) for part in x.split(chunk)])
            self.classifier_acc = float((pred == y).float().mean())
            mean, std, counts = per_mode_moments(x.flatten(1), y, self.problem.n_modes)
        if bool((counts < 2).any()):
            raise ConfigError("guided-latent: holdout_samples too small to measure every mode's spread")
        self.real_mean, self.real_std = mean, std
        self.classifier_ready = True

    def _freeze_classifier(self) -> None:
        self.classifier.eval()
        self.classifier.requires_grad_(False)

    # ----- the game -----------------------------------------------------------------------------
    def generator_step(self, gen: torch.Generator) -> StepLogs:
        assert self.real_mean is not None and self.real_std is not None
        o = self.options
        fake, modes = self.generate_labeled(self.train.batch_size, gen)
        g_adv = self.loss(self._last_d_real, self.discriminator(fake)).g_loss
        wrong = wrong_mode_penalty(self.classifier(fake), modes)
        stats = stats_matching_penalty(
            fake.flatten(1), modes, self.real_mean, self.real_std, self.stats_min_std
        )
        total = g_adv + o.classifier_weight * wrong + o.stats_weight * stats
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        # g_loss stays the adversarial part, comparable with the other variants' g_loss.
        return {
            "g_loss": g_adv.detach(),
            "g_total": total.detach(),
            "wrong_mode_loss": wrong.detach(),
            "stats_loss": stats.detach(),
        }

    def train_step(self, data: RealData, gen: torch.Generator) -> StepLogs:
        if not self.classifier_ready:
            self.pretrain_classifier(data, gen)
        logs = super().train_step(data, gen)
        logs["classifier_acc"] = self._acc_log
        return logs

    @cached_property
    def _acc_log(self) -> torch.Tensor:
        # Made once (after pretraining or loading), so logging it costs no transfer per step.
        return torch.tensor(self.classifier_acc, device=self.device)

    # ----- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["guided"] = {
            "classifier": self.classifier.state_dict(),
            "classifier_ready": self.classifier_ready,
            "classifier_acc": self.classifier_acc,
            "real_mean": self.real_mean,
            "real_std": self.real_std,
        }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        extra = state["guided"]
        self.classifier.load_state_dict(extra["classifier"])
        self.classifier_ready = bool(extra["classifier_ready"])
        self.classifier_acc = float(extra["classifier_acc"])
        self.__dict__.pop("_acc_log", None)  # re-made from the loaded accuracy
        self.real_mean, self.real_std = (
            None if t is None else t.to(self.device) for t in (extra["real_mean"], extra["real_std"])
        )
        if self.classifier_ready:
            self._freeze_classifier()
