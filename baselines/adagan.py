"""AdaGAN: a boosted mixture of GANs, trained one after another on reweighted data.

Tolstikhin, Gelly, Bousquet, Simon-Gabriel and Schoelkopf 2017, "AdaGAN: Boosting Generative
Models", arXiv 1701.02386 (Algorithm 1, Theorem 1 and Section 3.1).

The shared trainer's ``train.iters`` iterations are split evenly into ``num_generators`` stages. A
stage trains a fresh G and a fresh D as a plain GAN, except that real batches come from a fixed pool
of ``pool_size`` points (drawn once, at the first step, with the run's generator), sampled with the
current data weights W_t. At the end of stage t the trained G joins the mixture,
``M_t = (1 - beta_t) M_{t-1} + beta_t G_t``, and the data weights for the next stage become

    w_i = (lambda* - (1 - beta_{t+1}) h(x_i))_+ / (beta_{t+1} N),   h = dM_t / dP_data,

with ``lambda*`` the unique value that makes them sum to one (found by bisection), so the next G is
pointed at the data the mixture misses. ``h`` comes from a discriminator through
``h = (1 - D) / D = exp(-logit)``.

Which discriminator (``density_ratio``):

- ``"mixture-d"`` (default, the paper's ``D_M``): a third network, fresh each stage, trained between
  uniform pool batches (P_data) and samples of the mixture M_t. The paper trains it after G_t is
  finished; to keep the one shared loop we train it in the same iterations as G_t, one step per
  iteration on mixture samples that include the in-progress G_t at weight beta_t, so at the stage's
  end it has tracked the mixture that G_t joins. It is skipped in the last stage (no weights needed).
- ``"stage-d"`` (cheaper, no extra network): the stage's own D was trained between W_t and G_t, so
  ``exp(-logit)`` estimates dG_t/dW_t, not dM_t/dP_data. Multiplying by dW_t/dP_data = N w_i gives
  dG_t/dP_data at each pool point, and the mixture's ratio follows the mixture's own recursion,
  ``h_t = (1 - beta_t) h_{t-1} + beta_t N w_i exp(-logit_t)`` (:func:`chain_density_ratio`). Pool
  points with zero weight get no new information (0 times whatever D says there).

Sampling: :meth:`generate` draws from the mixture. During stage t (training not finished) the
in-progress generator enters with weight beta_t as if it were finished and the finished ones with
their weights times (1 - beta_t); in stage 1 that is the current generator alone. The GAN steps
themselves see only the current generator.

Hyperparameters. From the authors' released toy script (github.com/tolstikhin/adagan,
``adagan_gmm.py``): 10 generators, ``beta_t = 1/t`` ("uniform": the mixture stays uniform over its
components; ``"constant"`` with 0.5 is their alternative), the theory-based weights above
("theory_star"), and a pool of 256,000 points. Not the paper's: batch, latent size, learning rates,
networks and iteration budget come from our protocol (:class:`baselines.config.TrainConfig`); each
GAN gets ``iters / num_generators`` iterations rather than training to the end; the authors' toy runs
used unrolled GANs, we use the plain non-saturating GAN as the component learner.

Images: the pool holds ``pool_size`` images, allocated at the first step (the default 256,000 images
of 1x28x28 take 800 MB, of 3x64x64 12.6 GB), so image runs want a much smaller ``pool_size``; the
components are DCGAN generators and D / D_M DCGAN discriminators.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from .errors import ConfigError
from .gan import GAN
from .losses import non_saturating
from .networks import buffers_kept
from .variant import RealData, StepLogs

# exp(-logit) is computed from logits clamped to this range, so that a very confident D gives a
# huge but finite ratio (1e13), which the weight formula turns into a zero weight.
LOGIT_CLAMP = 30.0
_CHUNK = 65_536  # pool points per discriminator forward pass at a stage's end


def adagan_data_weights(ratio: torch.Tensor, beta: float) -> tuple[torch.Tensor, float]:
    """The AdaGAN data weights for the next component (paper, Theorem 1 and Section 3.1).

    ``ratio``: ``(N,)`` non-negative estimates of dP_model/dP_data at the N training points;
    ``beta`` in (0, 1]: the mixture weight the next component will get. Returns ``(w, lambda*)``
    with ``w_i = (lambda* - (1 - beta) ratio_i)_+ / (beta N)`` (float64, on the CPU), non-negative
    and summing to 1; points the model over-covers get weight 0, uncovered ones the most.
    """
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must be in (0, 1], got {beta}")
    r = ratio.detach().to("cpu", torch.float64).flatten()
    if r.numel() == 0 or not bool(torch.isfinite(r).all()) or bool((r < 0).any()):
        raise ValueError("ratio must be a non-empty tensor of finite, non-negative values")
    n = r.numel()
    c = (1.0 - beta) * r
    target = beta * n  # sum_i (lambda - c_i)_+ must equal beta N for the weights to sum to 1
    # The sum is continuous and non-decreasing in lambda: 0 at min(c) and >= beta N at max(c) + beta.
    lo, hi = float(c.min()), float(c.max()) + beta
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break  # float resolution reached
        if float(torch.relu(mid - c).sum()) < target:
            lo = mid
        else:
            hi = mid
    # Bisection found the set of points with positive weight; on it lambda* has a closed form.
    active = c < hi
    lam = (target + float(c[active].sum())) / int(active.sum())
    w = torch.relu(lam - c) / target
    return w / w.sum(), lam


def chain_density_ratio(
    previous: torch.Tensor, beta: float, pool_weights: torch.Tensor, d_logits: torch.Tensor
) -> torch.Tensor:
    """dM_t/dP_data at the pool points from the stage's own discriminator (``density_ratio="stage-d"``).

    ``previous``: dM_{t-1}/dP_data (ignored when ``beta`` is 1); ``pool_weights``: W_t, the weights
    the stage trained on (sum 1); ``d_logits``: the stage's D at the pool points. D was trained
    between W_t and G_t, so exp(-logit) estimates dG_t/dW_t; times N w_i it is dG_t/dP_data.
    """
    n = pool_weights.numel()
    component = n * pool_weights.double() * torch.exp(-d_logits.double().clamp(-LOGIT_CLAMP, LOGIT_CLAMP))
    return (1.0 - beta) * previous.double() + beta * component


class _WeightedPool:
    """The pool as a data source for the stage's GAN: batches drawn with the current data weights."""

    def __init__(self, pool: torch.Tensor, weights: torch.Tensor):
        self.pool, self.weights = pool, weights

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.pool[torch.multinomial(self.weights, n, replacement=True, generator=gen)]

    def sample_labeled(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError("the AdaGAN pool keeps no labels")


class AdaGAN(GAN):
    name = "adagan"
    batchable = False
    not_batchable_reason = (
        "each run grows its own mixture of generators with its own reweighted pool, between phases"
    )
    paper = "Tolstikhin et al. 2017, arXiv 1701.02386"

    @dataclass
    class Options:
        loss: Literal["non-saturating", "minimax"] = "non-saturating"
        num_generators: int = 10
        beta: Literal["uniform", "constant"] = "uniform"
        beta_constant: float = 0.5
        pool_size: int = 256_000
        density_ratio: Literal["mixture-d", "stage-d"] = "mixture-d"

    def __init__(self, problem, train, options, device):
        if options.num_generators < 1:
            raise ConfigError(f"num_generators must be >= 1, got {options.num_generators}")
        if options.pool_size < 1:
            raise ConfigError(f"pool_size must be >= 1, got {options.pool_size}")
        if not 0.0 < options.beta_constant <= 1.0:
            raise ConfigError(f"beta_constant must be in (0, 1], got {options.beta_constant}")
        super().__init__(problem, train, options, device)
        # Even split of the iterations; never more stages than iterations, so each G trains.
        self.n_stages = max(1, min(options.num_generators, train.iters))
        self.stage_ends = [(k + 1) * train.iters // self.n_stages for k in range(self.n_stages)]
        self.stage = 0  # 0-based index of the stage in progress; n_stages once all are done
        self.steps_done = 0
        self.components = nn.ModuleList()  # finished generators, frozen
        self.mixture_weights = torch.zeros(0, dtype=torch.float64)  # theirs, summing to 1
        self.pool = torch.zeros(0, *problem.sample_shape, device=device)
        self.pool_weights = torch.zeros(0, dtype=torch.float64, device=device)
        self.ratio = torch.zeros(0, dtype=torch.float64, device=device)  # stage-d: dM_t/dP_data
        self.last_lambda = float("nan")
        self._ess = torch.ones((), device=device)
        self._component_only = False
        self.mixture_d: nn.Module | None = None
        self.opt_dm: torch.optim.Optimizer | None = None
        if options.density_ratio == "mixture-d":
            self.mixture_d = self.build_networks()[1].to(device)
            self.opt_dm = self._adam_d(self.mixture_d)

    # ----- the mixture ----------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.stage >= self.n_stages

    def beta(self, stage: int) -> float:
        """Mixture weight of the component trained in 0-based ``stage`` (1 for the first)."""
        if stage == 0:
            return 1.0
        return 1.0 / (stage + 1) if self.options.beta == "uniform" else self.options.beta_constant

    def members(self) -> tuple[list[nn.Module], torch.Tensor]:
        """The generators :meth:`generate` mixes and their weights (float64, sum 1)."""
        gens: list[nn.Module] = list(self.components)
        weights = self.mixture_weights.tolist()
        if not self.finished:
            b = self.beta(self.stage)
            gens.append(self.generator)
            weights = [w * (1.0 - b) for w in weights] + [b]
        return gens, torch.tensor(weights, dtype=torch.float64)

    def generate(self, n: int, gen: torch.Generator) -> torch.Tensor:
        if self._component_only:  # the stage's GAN plays against its own generator only
            return super().generate(n, gen)
        gens, weights = self.members()
        z = self.sample_z(n, gen)
        if len(gens) == 1:
            return gens[0](z)
        which = torch.multinomial(weights.to(self.device), n, replacement=True, generator=gen)
        out = z.new_empty(n, *self.problem.sample_shape)
        for j, g in enumerate(gens):
            mask = which == j
            if mask.any():  # a batch-norm generator in training mode cannot take an empty batch
                out[mask] = g(z[mask])
        return out

    # ----- training -------------------------------------------------------------------------
    def train_step(self, data: RealData, gen: torch.Generator) -> StepLogs:
        if self.finished:
            raise RuntimeError(f"all {self.n_stages} AdaGAN stages are done (train.iters exceeded)")
        if self.pool.numel() == 0:
            self._draw_pool(data, gen)
        stage = self.stage
        self._component_only = True
        try:
            logs = super().train_step(_WeightedPool(self.pool, self.pool_weights), gen)
        finally:
            self._component_only = False
        if self.mixture_d is not None and stage < self.n_stages - 1:
            logs["dm_loss"] = self._mixture_d_step(gen)
        else:
            logs["dm_loss"] = torch.zeros((), device=self.device)  # keys must not change between steps
        logs["stage"] = torch.full((), float(stage), device=self.device)
        logs["pool_ess"] = self._ess
        self.steps_done += 1
        if self.steps_done == self.stage_ends[stage]:
            self._end_stage(gen)
        return logs

    def _draw_pool(self, data: RealData, gen: torch.Generator) -> None:
        self.pool = data.sample(self.options.pool_size, gen).to(self.device)
        n = self.pool.shape[0]
        self.pool_weights = torch.full((n,), 1.0 / n, dtype=torch.float64, device=self.device)
        if self.options.density_ratio == "stage-d":
            self.ratio = torch.zeros(n, dtype=torch.float64, device=self.device)

    def _mixture_d_step(self, gen: torch.Generator) -> torch.Tensor:
        """One update of D_M: uniform pool batch (P_data) against the mixture's samples."""
        assert self.mixture_d is not None and self.opt_dm is not None
        b = self.train.batch_size
        real = self.pool[torch.randint(self.pool.shape[0], (b,), generator=gen, device=self.device)]
        with torch.no_grad():
            fake = self.generate(b, gen)
        loss = non_saturating(self.mixture_d(real), self.mixture_d(fake)).d_loss
        self.opt_dm.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_dm.step()
        return loss.detach()

    @torch.no_grad()
    def _pool_logits(self, net: nn.Module) -> torch.Tensor:
        """D's logits at every pool point, in chunks. An image D with batch norm scores the chunks as
        it scored real batches in training (batch statistics, chunks of ``batch_size`` pool points, a
        uniform sample like D_M's real batches) and its running statistics are left as they were."""
        chunk = _CHUNK if self.problem.kind == "vector" else self.train.batch_size
        with buffers_kept(net):
            return torch.cat([net(part) for part in self.pool.split(chunk)])

    def _end_stage(self, gen: torch.Generator) -> None:
        """Freeze G_t into the mixture; unless it was the last stage, reweight the pool and restart."""
        beta = self.beta(self.stage)
        frozen = copy.deepcopy(self.generator).eval().requires_grad_(False)
        for p in frozen.parameters():
            p.grad = None
        self.components.append(frozen)
        new = torch.tensor([beta], dtype=torch.float64)
        self.mixture_weights = torch.cat([self.mixture_weights * (1.0 - beta), new])
        self.stage += 1
        if self.finished:
            return
        if self.mixture_d is not None:
            logits = self._pool_logits(self.mixture_d).double().clamp(-LOGIT_CLAMP, LOGIT_CLAMP)
            ratio = torch.exp(-logits)
        else:
            logits = self._pool_logits(self.discriminator)
            self.ratio = chain_density_ratio(self.ratio, beta, self.pool_weights, logits)
            ratio = self.ratio
        weights, self.last_lambda = adagan_data_weights(ratio, self.beta(self.stage))
        self.pool_weights = weights.to(self.device)
        self._ess = (1.0 / (weights.numel() * weights.square().sum())).float().to(self.device)
        self._fresh_networks(gen)

    def _fresh_networks(self, gen: torch.Generator) -> None:
        """New G, D (and D_M) and optimizers for the next stage, initialised from a seed drawn from
        ``gen``, so that a resumed run re-creates them exactly; the global RNG is left untouched."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=gen, device=gen.device).item())
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            g, d = self.build_networks()
            dm = self.build_networks()[1] if self.mixture_d is not None else None
        self.generator, self.discriminator = g.to(self.device), d.to(self.device)
        self.opt_g, self.opt_d = self.build_optimizers()
        if dm is not None:
            self.mixture_d = dm.to(self.device)
            self.opt_dm = self._adam_d(self.mixture_d)

    def _adam_d(self, net: nn.Module) -> torch.optim.Optimizer:
        betas = (self.train.beta1, self.train.beta2)
        return torch.optim.Adam(net.parameters(), lr=self.train.lr_d, betas=betas)

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        extra: dict[str, Any] = {
            "stage_ends": list(self.stage_ends),
            "stage": self.stage,
            "steps_done": self.steps_done,
            "components": [c.state_dict() for c in self.components],
            "mixture_weights": self.mixture_weights,
            "pool": self.pool,
            "pool_weights": self.pool_weights,
            "ratio": self.ratio,
            "last_lambda": self.last_lambda,
            "ess": self._ess,
        }
        if self.mixture_d is not None and self.opt_dm is not None:
            extra["mixture_d"] = self.mixture_d.state_dict()
            extra["opt_dm"] = self.opt_dm.state_dict()
        state["adagan"] = extra
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        extra = state["adagan"]
        if list(extra["stage_ends"]) != self.stage_ends:
            raise ConfigError(
                f"checkpoint has AdaGAN stages ending at {extra['stage_ends']}, this run {self.stage_ends}"
                " (train.iters or num_generators changed)"
            )
        super().load_state_dict(state)
        self.components = nn.ModuleList()
        for sd in extra["components"]:
            g = copy.deepcopy(self.generator)
            g.load_state_dict(sd)
            self.components.append(g.eval().requires_grad_(False))
        self.stage, self.steps_done = int(extra["stage"]), int(extra["steps_done"])
        self.mixture_weights = extra["mixture_weights"].to(torch.float64)
        self.pool = extra["pool"].to(self.device)
        self.pool_weights = extra["pool_weights"].to(self.device)
        self.ratio = extra["ratio"].to(self.device)
        self.last_lambda = float(extra["last_lambda"])
        self._ess = extra["ess"].to(self.device)
        if self.mixture_d is not None and self.opt_dm is not None:
            self.mixture_d.load_state_dict(extra["mixture_d"])
            self.opt_dm.load_state_dict(extra["opt_dm"])
