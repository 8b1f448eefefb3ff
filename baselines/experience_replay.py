"""Experience replay for GANs: show the discriminator old generated samples, and now and then old networks.

Source of the idea: the blog post "Mode collapse in GANs" (2017-01-18; ``shared/seeds/003``), section
"Use experience replay". Mode collapse there is a cat-and-mouse game: G moves to the mode D currently
believes, D then learns that this mode is fake and forgets the old one, and G hops back. Showing D old
fake samples every so often keeps D from forgetting which modes G already exploited, so those modes
stay "expensive" and hopping back does not pay. Shrivastava et al. 2017 (SimGAN, arXiv 1612.07828,
section 2.3) used such a history of generated samples for D; the buffer mechanics below are theirs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from .errors import ConfigError
from .gan import GAN
from .variant import RealData, StepLogs


class ReplayBuffer:
    """A fixed-size store of generated samples ``(capacity, *shape)`` with the iteration each was written.

    ``shape`` is one sample's shape (an int ``d`` means ``(d,)``; images ``(C, H, W)``). The store is
    allocated up front: ``capacity * prod(shape)`` floats (25,600 images of 3x64x64 are 1.26 GB, of
    1x28x28 80 MB), so image runs usually want a smaller ``capacity``.

    ``update``: ``"random"`` (SimGAN's: fill, then each new sample replaces a distinct random old one),
    ``"ring"`` (overwrite the oldest: the buffer holds the last ``capacity`` samples) or ``"reservoir"``
    (Vitter's algorithm R: a uniform sample of every sample ever written). All randomness comes from the
    ``gen`` passed in; slots written within one call are distinct, so results are deterministic on GPU.
    """

    def __init__(self, capacity: int, shape: int | tuple[int, ...], update: str, device: torch.device):
        self.capacity, self.update, self.device = capacity, update, device
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.x = torch.zeros(capacity, *shape, device=device)
        self.step = torch.zeros(capacity, dtype=torch.long, device=device)  # iteration of each write
        self.size = 0  # filled slots (always the first ``size``)
        self.seen = 0  # samples ever offered to the buffer

    def _slots(self, m: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Which of the ``m`` new samples to keep (indices) and the slot each goes to."""
        dev, cap = self.device, self.capacity
        if self.update == "ring":
            return torch.arange(m, device=dev), (self.seen + torch.arange(m, device=dev)) % cap
        if self.update == "random":
            fill = min(m, cap - self.size)
            # Overflow replaces distinct slots that were full before this call, never a sample just added.
            old = torch.randperm(self.size, generator=gen, device=dev)[: m - fill]
            slots = torch.cat([torch.arange(self.size, self.size + fill, device=dev), old])
            return torch.arange(m, device=dev), slots
        # Reservoir: the i-th sample ever seen (0-based) goes to slot i while the buffer fills, else to a
        # uniform r in [0, i], kept only if r < capacity.
        i = self.seen + torch.arange(m, device=dev)
        # float64: a float32 product loses integer precision once i passes 2**24 samples.
        u = torch.rand(m, generator=gen, device=dev, dtype=torch.float64)
        r = (u * (i + 1)).long().minimum(i)
        slot = torch.where(i < cap, i, r)
        keep = slot < cap
        # Two new samples drawing the same slot: the later one wins, as in the sequential algorithm.
        order = torch.arange(m, device=dev)
        winner = torch.full((cap,), -1, dtype=torch.long, device=dev)
        winner.scatter_reduce_(0, slot.clamp(max=cap - 1)[keep], order[keep], "amax")
        keep &= winner[slot.clamp(max=cap - 1)] == order
        return order[keep], slot[keep]

    def write(self, x: torch.Tensor, step: int, gen: torch.Generator) -> None:
        m = x.shape[0]
        idx, slots = self._slots(m, gen)
        self.x[slots] = x[idx].detach()
        self.step[slots] = step
        self.seen += m
        self.size = min(self.capacity, self.size + m)

    def read(self, k: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``k`` distinct stored samples chosen uniformly, and the iterations they were written at."""
        idx = torch.randperm(self.size, generator=gen, device=self.device)[:k]
        return self.x[idx], self.step[idx]

    def state_dict(self) -> dict[str, Any]:
        return {"x": self.x[: self.size].clone(), "step": self.step[: self.size].clone(), "seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = int(state["x"].shape[0])
        self.seen = int(state["seen"])
        self.x.zero_()
        self.step.zero_()
        self.x[: self.size] = state["x"].to(self.device)
        self.step[: self.size] = state["step"].to(self.device)


class ExperienceReplay(GAN):
    """Experience replay (the "Mode collapse in GANs" blog post, 2017-01-18, ``shared/seeds/003``), with
    the replay buffer of Shrivastava et al. 2017 (SimGAN, arXiv 1612.07828).

    **Replay buffer** (the post's "showing old fake samples to the discriminator every so often"). Each D
    step's fake batch has ``batch_size`` samples: ``k = round(replay_fraction * batch_size)`` drawn
    (distinct, uniformly) from the buffer and the rest freshly generated; every fresh sample D sees is then
    written to the buffer, tagged with the iteration. D's loss treats replayed and fresh fakes alike. G's
    step is the plain GAN's (fresh samples only: old samples carry no gradient for G). Until the buffer
    holds ``k`` samples (the first iteration) D's fake batch is all fresh. SimGAN's choices: half of the
    batch from the buffer (``replay_fraction = 0.5``) and, after each step, random buffer samples replaced
    by new ones (``buffer_update = "random"``, its ``b/2`` per step with fraction 0.5). The capacity is
    ours (SimGAN gives none for its buffer): 50 batches of our protocol's 512, so with random replacement a
    sample survives about 100 iterations on average, long enough to span a mode hop.

    **Snapshots** (the post's "occasionally substituting in an old discriminator/generator for a few
    iterations"; off by default, ``snapshot_every = 0``). Our reading: every ``snapshot_every``
    iterations a frozen copy of G and D is stored (the last ``snapshot_pool`` are kept); at the same
    moments, from the second on, one stored snapshot (at least ``snapshot_every`` iterations old, chosen
    uniformly) is substituted for the next ``snapshot_duration`` iterations. ``snapshot_swap`` says what
    is substituted: ``"generator"``, D trains against the old G's samples (the same effect as replay,
    with a generator instead of a buffer: D is reminded of modes G used to produce); ``"discriminator"``,
    G trains against the old D (G cannot win by exploiting only the current D); ``"both"``. The live
    networks keep their own parameters and optimizers throughout and the snapshots are never trained:
    substitution only changes which network the other player faces. Samples of an old G are not written
    to the buffer. The snapshot settings are ours; the post gives none.

    Hyperparameters not named above (learning rates, batch, latent size, networks) are the protocol's
    (:class:`baselines.config.TrainConfig`). Buffer, snapshots and counters are in ``state_dict``, so a
    resumed run reproduces an uninterrupted one exactly.
    """

    name = "experience-replay"
    batchable = False
    not_batchable_reason = (
        "its replay buffer and generator snapshots are per-run Python state outside the networks"
    )
    paper = "Mode collapse in GANs blog post 2017-01-18; Shrivastava et al. 2017, arXiv 1612.07828"

    @dataclass
    class Options:
        replay_fraction: float = 0.5
        capacity: int = 25_600
        buffer_update: Literal["random", "ring", "reservoir"] = "random"
        snapshot_every: int = 0
        snapshot_duration: int = 10
        snapshot_pool: int = 5
        snapshot_swap: Literal["generator", "discriminator", "both"] = "generator"
        loss: Literal["non-saturating", "minimax"] = "non-saturating"

        def __post_init__(self) -> None:
            where = "experience-replay"
            if not 0.0 <= self.replay_fraction < 1.0:
                raise ConfigError(f"{where}: replay_fraction must be in [0, 1), got {self.replay_fraction}")
            if self.capacity < 1:
                raise ConfigError(f"{where}: capacity must be positive, got {self.capacity}")
            if self.snapshot_every < 0:
                raise ConfigError(f"{where}: snapshot_every must be >= 0 (0 disables snapshots)")
            if self.snapshot_every and not 1 <= self.snapshot_duration <= self.snapshot_every:
                raise ConfigError(
                    f"{where}: snapshot_duration must be in [1, snapshot_every={self.snapshot_every}], "
                    f"got {self.snapshot_duration}"
                )
            if self.snapshot_pool < 1:
                raise ConfigError(f"{where}: snapshot_pool must be >= 1, got {self.snapshot_pool}")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        o, batch = self.options, self.train.batch_size
        if o.capacity < batch:
            raise ConfigError(f"experience-replay: capacity ({o.capacity}) must be >= batch_size ({batch})")
        self.n_replay = round(o.replay_fraction * batch)
        if self.n_replay >= batch:  # keep at least one fresh sample, so new samples keep entering
            raise ConfigError("experience-replay: replay_fraction leaves no fresh sample in the batch")
        self.buffer = ReplayBuffer(o.capacity, self.problem.sample_shape, o.buffer_update, self.device)
        self.iteration = 0
        self.snapshots: list[dict[str, Any]] = []
        self.episode_end = 0  # substitution active while iteration <= episode_end
        self.old_step = -1  # the iteration the substituted snapshot was taken at (-1: none yet)
        self.old_generator: nn.Module | None = None
        self.old_discriminator: nn.Module | None = None
        if o.snapshot_every:
            # Frozen copies into which a stored snapshot is loaded; gradients still flow through them to
            # their input (G's samples), never into their parameters.
            self.old_generator = copy.deepcopy(self.generator).requires_grad_(False)
            self.old_discriminator = copy.deepcopy(self.discriminator).requires_grad_(False)

    # ----- substitution -----------------------------------------------------------------------
    def substituting(self, which: str) -> bool:
        """Whether the old ``which`` ("generator" or "discriminator") is in play this iteration."""
        swap = self.options.snapshot_swap
        return self.iteration <= self.episode_end and swap in (which, "both")

    def _snapshot_schedule(self, gen: torch.Generator) -> None:
        """At the end of every ``snapshot_every``-th iteration: maybe start an episode, then snapshot."""
        o = self.options
        if not o.snapshot_every or self.iteration % o.snapshot_every:
            return
        if self.snapshots:
            pick = int(torch.randint(len(self.snapshots), (1,), generator=gen, device=self.device))
            chosen = self.snapshots[pick]
            self.old_generator.load_state_dict(chosen["generator"])
            self.old_discriminator.load_state_dict(chosen["discriminator"])
            self.old_step = chosen["step"]
            self.episode_end = self.iteration + o.snapshot_duration
        self.snapshots.append(
            {
                "step": self.iteration,
                "generator": _clone(self.generator.state_dict()),
                "discriminator": _clone(self.discriminator.state_dict()),
            }
        )
        del self.snapshots[: -o.snapshot_pool]

    # ----- the game ---------------------------------------------------------------------------
    def fake_for_discriminator(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, StepLogs]:
        k = self.n_replay if self.buffer.size >= self.n_replay else 0
        old_g = self.substituting("generator")
        with torch.no_grad():
            g = self.old_generator if old_g else self.generator
            fresh = g(self.sample_z(n - k, gen))
            replayed, written_at = self.buffer.read(k, gen)
        if not old_g:  # samples of an old generator are not history of the live one
            self.buffer.write(fresh, self.iteration, gen)
        age = (self.iteration - written_at).float().mean() if k else torch.zeros((), device=self.device)
        logs = {"replayed_fraction": torch.tensor(k / n, device=self.device), "replay_age": age}
        return torch.cat([fresh, replayed]), logs

    def generator_step(self, gen: torch.Generator) -> StepLogs:
        if not self.substituting("discriminator"):
            return super().generator_step(gen)
        # Substitute the old D for this update only; G's optimizer touches G alone.
        live = self.discriminator
        self.discriminator = self.old_discriminator
        try:
            return super().generator_step(gen)
        finally:
            self.discriminator = live

    def train_step(self, data: RealData, gen: torch.Generator) -> StepLogs:
        self.iteration += 1
        active = self.iteration <= self.episode_end
        logs = super().train_step(data, gen)
        logs["snapshot_active"] = torch.tensor(float(active), device=self.device)
        self._snapshot_schedule(gen)
        return logs

    # ----- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["replay"] = {
            "buffer": self.buffer.state_dict(),
            "iteration": self.iteration,
            "episode_end": self.episode_end,
            "old_step": self.old_step,
            "snapshots": self.snapshots,
        }
        if self.old_generator is not None:
            state["replay"]["old_generator"] = self.old_generator.state_dict()
            state["replay"]["old_discriminator"] = self.old_discriminator.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        extra = state["replay"]
        self.buffer.load_state_dict(extra["buffer"])
        self.iteration = int(extra["iteration"])
        self.episode_end = int(extra["episode_end"])
        self.old_step = int(extra["old_step"])
        dev = self.device
        self.snapshots = [
            {
                "step": int(s["step"]),
                "generator": {k: v.to(dev) for k, v in s["generator"].items()},
                "discriminator": {k: v.to(dev) for k, v in s["discriminator"].items()},
            }
            for s in extra["snapshots"]
        ]
        if self.old_generator is not None and "old_generator" in extra:
            self.old_generator.load_state_dict(extra["old_generator"])
            self.old_discriminator.load_state_dict(extra["old_discriminator"])


def _clone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}
