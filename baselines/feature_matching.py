"""Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", arXiv 1606.03498).

The generator no longer tries to maximise D's output. It matches the batch mean of an intermediate
layer of D on its samples to the batch mean of that layer on real data:

    g_loss = mean_k ( mean_i f_k(x_i) - mean_i f_k(G(z_i)) )^2

D is trained exactly as in the plain GAN (binary cross-entropy), so it keeps choosing the features
that separate real from fake, and G is asked to match their first moments over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ConfigError
from .gan import GAN
from .losses import AdversarialLoss, non_saturating
from .variant import StepLogs


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Squared distance between the batch means of two feature batches, averaged over the features.

    ``real_features`` (n, k) and ``fake_features`` (m, k); returns a 0-dim tensor, >= 0, best 0
    (equal means). The average over the k features (an MSE, not the paper's summed squared L2 norm)
    is what the authors' code computes (``T.mean(T.square(m1 - m2))``); it is the paper's norm
    divided by k, so the scale does not grow with the width of D.
    """
    return (real_features.mean(0) - fake_features.mean(0)).pow(2).mean()


class FeatureMatching(GAN):
    """Feature matching, Salimans et al. 2016 (arXiv 1606.03498), Section 3.1.

    From the paper: the generator objective (squared distance of batch-mean D features, real against
    fake) and D's unchanged GAN objective. ``layer`` picks the hidden layer of the MLP discriminator
    (0-based; -1 = the last hidden layer, as in the authors' code, which matches the features that
    feed D's final linear layer; on images, a conv stage of the DCGAN discriminator, flattened). The
    MSE form follows the authors' code (see
    :func:`feature_matching_loss`). Learning rates, batch, latent size and networks are our protocol's
    (:class:`baselines.config.TrainConfig`, VEEGAN's), not the paper's image settings.

    The real features are D's current features (after its update this iteration) of the last real
    batch D saw, computed without gradient: the target G moves towards is fixed during its step.
    """

    name = "feature-matching"
    batchable = True
    paper = "Salimans et al. 2016, arXiv 1606.03498"

    @dataclass
    class Options:
        layer: int = -1

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        n_hidden = self.discriminator.n_hidden
        if not -n_hidden <= self.options.layer < n_hidden:
            raise ConfigError(
                f"layer must be in [{-n_hidden}, {n_hidden - 1}] for a D with {n_hidden} hidden layers; "
                f"got {self.options.layer}"
            )

    def loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> AdversarialLoss:
        # Only D uses this: it plays the ordinary GAN game. G's loss is built in generator_loss.
        return non_saturating(d_real, d_fake)

    def feature_matching_term(self, fake: torch.Tensor) -> torch.Tensor:
        """The feature-matching loss of ``fake`` against the last real batch D saw."""
        layer = self.options.layer
        with torch.no_grad():
            real_features = self.discriminator.features(self._last_real, layer)
        return self.per_run(feature_matching_loss)(real_features, self.discriminator.features(fake, layer))

    def generator_loss(self, fake: torch.Tensor) -> tuple[torch.Tensor, StepLogs]:
        """G's loss on the batch ``fake`` and the extra scalars to log."""
        fm = self.feature_matching_term(fake)
        return fm, {"fm_loss": fm.detach()}

    def generator_step(self, gen: torch.Generator) -> StepLogs:
        fake = self.generate(self.train.batch_size, gen)
        return self.update_generator(*self.generator_loss(fake))
