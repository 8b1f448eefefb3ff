"""The harness adds nothing to the dynamics: the Trainer, with its evaluation, logging and checkpoint
hooks, trains `gan` on ring8 to the same parameters as a plain PyTorch loop written here, at the
VEEGAN protocol's sizes (batch 512, latent 256, 128-unit MLPs, Adam 1e-4 for D and 1e-3 for G)."""

import torch
import torch.nn.functional as F
from torch import nn

from baselines import registry
from baselines.config import TrainConfig
from baselines.trainer import Trainer
from benchmark.data.registry import get_dataset
from benchmark.data.scoring import Scorer
from benchmark.runs.hooks import CoverageEval, JsonlLog

ITERS, SEED = 200, 3


def _reference_loop(centres, sigma, weights, iters, seed):
    """Plain PyTorch: non-saturating GAN, one D step then one G step per iteration."""
    torch.manual_seed(seed)  # initialisation: G first, then D
    g = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
    d = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)  # every training draw, in order: modes, noise, z, z
    for _ in range(iters):
        idx = torch.multinomial(weights, 512, replacement=True, generator=rng)
        real = centres[idx] + torch.randn(512, 2, generator=rng) * sigma[idx, None]
        with torch.no_grad():
            fake = g(torch.randn(512, 256, generator=rng))
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-d(g(torch.randn(512, 256, generator=rng)))).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    return [p.detach() for p in (*g.parameters(), *d.parameters())]


def _harness(tmp_path, iters, seed):
    """The suite's path (benchmark/run.py): seeded init, registry build, Trainer with eval hooks.
    Trains to iters // 2, then a fresh process-like Trainer resumes from the checkpoint."""
    data = get_dataset("ring8")
    cfg = TrainConfig(
        iters=iters // 2, eval_every=50, log_every=25, ckpt_every=iters // 2, seed=seed, device="cpu"
    )

    def trainer(cfg):
        torch.manual_seed(seed)
        variant = registry.build("gan", data.problem, cfg, None, torch.device("cpu"))
        hooks = [CoverageEval(Scorer(data), 500, seed), JsonlLog(tmp_path / "metrics.jsonl")]
        return Trainer(variant, data, cfg, hooks=hooks, checkpoint=tmp_path / "checkpoint.pt")

    trainer(cfg).fit()
    resumed = trainer(TrainConfig(**{**cfg.__dict__, "iters": iters}))
    resumed.fit()
    v = resumed.variant
    return [p.detach() for p in (*v.generator.parameters(), *v.discriminator.parameters())]


def test_trainer_with_hooks_and_a_resume_matches_a_plain_loop(tmp_path):
    data = get_dataset("ring8")
    as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    ours = _harness(tmp_path, ITERS, SEED)
    ref = _reference_loop(as_t(data.centres), as_t(data.sigma), as_t(data.weights), ITERS, SEED)
    assert [p.shape for p in ours] == [p.shape for p in ref]
    worst = max(float((a - b).abs().max()) for a, b in zip(ours, ref, strict=True))
    # Bitwise on CPU (one thread, see conftest): the same operations in the same order.
    assert worst == 0.0, f"harness and plain loop differ by {worst:.3g} after {ITERS} iterations"
    # The check can fail: one draw fewer in the reference loop moves the parameters.
    moved = _reference_loop(as_t(data.centres), as_t(data.sigma), as_t(data.weights), ITERS - 1, SEED)
    assert max(float((a - b).abs().max()) for a, b in zip(ours, moved, strict=True)) > 1e-4
