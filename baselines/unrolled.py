"""Unrolled GAN (Metz, Poole, Pfau and Sohl-Dickstein 2016, arXiv 1611.02163).

The generator is trained against the discriminator it would face after ``unroll_steps`` further
discriminator updates, with gradients flowing back through those updates (the paper's section 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.func import functional_call

from .config import check_option
from .gan import GAN
from .variant import RealData, StepLogs

Params = dict[str, torch.Tensor]


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt with a zero (not infinite) derivative at 0, so that a parameter whose Adam second moment
    is exactly zero (a dead ReLU unit's weights) yields 0 instead of NaN in the backward pass."""
    positive = x > 0
    return torch.where(positive, torch.where(positive, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x))


def differentiable_adam_step(
    params: Params,
    grads: Params,
    state: dict[str, tuple[torch.Tensor, torch.Tensor, float]],
    group: dict[str, Any],
) -> tuple[Params, dict[str, tuple[torch.Tensor, torch.Tensor, float]]]:
    """One step of ``torch.optim.Adam``'s update rule written out-of-place, so that autograd can
    differentiate the new parameters with respect to anything the gradients depend on.

    ``state[name] = (exp_avg, exp_avg_sq, step)`` (zeros and 0 for a fresh parameter) and ``group``
    holds ``lr``, ``betas``, ``eps``, ``weight_decay`` (coupled, or decoupled when the group says so,
    as AdamW) and ``maximize``. Returns the new parameters and the new state; nothing is modified.
    """
    if group.get("amsgrad", False):
        raise NotImplementedError("the unrolled Adam step does not implement amsgrad")
    lr, eps = float(group["lr"]), float(group["eps"])
    beta1, beta2 = (float(b) for b in group["betas"])
    wd = float(group.get("weight_decay", 0.0))
    decoupled = bool(group.get("decoupled_weight_decay", False))
    new_params: Params = {}
    new_state: dict[str, tuple[torch.Tensor, torch.Tensor, float]] = {}
    for name, p in params.items():
        g = -grads[name] if group.get("maximize", False) else grads[name]
        exp_avg, exp_avg_sq, step = state[name]
        step = step + 1
        if wd != 0.0:
            if decoupled:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
        # Same operations as torch's single-tensor Adam (lerp for the first moment), so that one
        # simulated step reproduces the real optimizer's to rounding.
        exp_avg = torch.lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * (g * g)
        step_size = lr / (1 - beta1**step)
        denom = _safe_sqrt(exp_avg_sq) / (1 - beta2**step) ** 0.5 + eps
        new_params[name] = p - step_size * (exp_avg / denom)
        new_state[name] = (exp_avg, exp_avg_sq, step)
    return new_params, new_state


class UnrolledGAN(GAN):
    """Unrolled GAN: Metz, Poole, Pfau and Sohl-Dickstein 2016, arXiv 1611.02163.

    Per iteration the real discriminator takes its usual ``d_steps`` Adam steps. The generator then
    minimises the surrogate ``f_K(theta_G) = f(theta_G, theta_D^K(theta_G))`` (paper, section 2.2):
    starting from D's current parameters and its Adam state (moments, step count, lr, betas, eps),
    ``K`` simulated Adam steps on D's loss give ``theta_D^K``; the generator loss is evaluated there
    and back-propagated through all K steps. (The authors' notebook likewise unrolls the Adam update,
    moments included, rather than plain gradient steps.) The simulated parameters and moments are
    discarded; the real D and its optimizer are never touched by the generator step.

    Choices, with their reasons:

    * The fake samples inside the simulated D steps are attached to G's graph (``theta_D^K`` is a
      function of ``theta_G`` in the paper's section 2.2, and the second term of the gradient in
      its section 2.3, ``df/dtheta_D^K * dtheta_D^K/dtheta_G``, is exactly this path).
      ``first_order=True`` drops that term (the simulated steps are taken on detached samples and
      ``theta_D^K`` is treated as a constant): a cheaper approximation, not the paper's method,
      offered as a named option only.
    * Every simulated step draws a fresh real batch and a fresh fake batch, and the final loss a
      fresh fake batch (plus a fresh real batch, see the next point); the authors' notebook reuses
      one batch for all steps. With ``unroll_steps=0`` the random stream and the update are exactly
      the plain ``gan``'s.
    * ``loss="minimax"`` (default) is the paper's saddle objective ``f``: G minimises the whole value
      ``-d_loss`` at ``theta_D^K``, including the real-data term, which depends on ``theta_G``
      through ``theta_D^K`` (the authors' notebook minimises ``-unrolled_loss`` likewise; at K = 0
      that term has no gradient and is left out). ``loss="non-saturating"`` uses
      ``-log D_K(G(z))`` instead, a common heuristic variant that is not the paper's.
    * Images (DCGAN D with batch norm): a simulated D normalises each batch with that batch's
      statistics, as the real D does in training, and the gradient flows through them (batch norm is
      twice differentiable). Its running statistics are copies of the real D's, updated by the
      simulated steps and then dropped, so the generator step leaves the real D's buffers as they were.

    Hyperparameters: ``unroll_steps=5`` and the minimax objective are the paper's (its 2-D mixture
    experiments, and the authors' notebook); learning rates, betas, batch and latent size come from
    our protocol (:class:`baselines.config.TrainConfig`, VEEGAN's, which itself reuses the unrolled
    GAN's 2-D set-up).
    """

    name = "unrolled"
    batchable = False
    not_batchable_reason = (
        "its surrogate objective runs simulated D updates on copies of D's parameters, "
        "an inner optimizer that is not written for a run axis"
    )
    paper = "Metz et al. 2016, arXiv 1611.02163"

    @dataclass
    class Options:
        loss: Literal["minimax", "non-saturating"] = "minimax"
        unroll_steps: int = 5
        first_order: bool = False

        def __post_init__(self) -> None:
            check_option("unroll_steps", self.unroll_steps, low=0)

    # ----- the simulated discriminator ------------------------------------------------------
    def _adam_start(self) -> tuple[Params, dict[str, tuple[torch.Tensor, torch.Tensor, float]], dict]:
        """D's parameters (detached copies) and a snapshot of its Adam state and hyperparameters."""
        if len(self.opt_d.param_groups) != 1:
            raise NotImplementedError("unrolling supports a discriminator optimizer with one param group")
        group = self.opt_d.param_groups[0]
        params: Params = {}
        state: dict[str, tuple[torch.Tensor, torch.Tensor, float]] = {}
        for name, p in self.discriminator.named_parameters():
            s = self.opt_d.state.get(p, {})
            if s:
                state[name] = (s["exp_avg"].detach(), s["exp_avg_sq"].detach(), float(s["step"]))
            else:  # before D's first real step the moments are zero, as Adam would create them
                state[name] = (torch.zeros_like(p), torch.zeros_like(p), 0.0)
            params[name] = p.detach().requires_grad_(True)
        return params, state, group

    def _simulated_d(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """D's logits at parameters ``params``. D's buffers (batch-norm running statistics) are passed
        as copies made at the start of the unroll, so the simulated steps update those copies (as real
        D steps would update the buffers) and never the real D's. MLPs have no buffers."""
        return functional_call(self.discriminator, (params, self._sim_buffers), (x,))

    def unrolled_discriminator(self, data: RealData, gen: torch.Generator) -> Params:
        """``theta_D^K``: K simulated Adam steps from D's current state. Differentiable with respect
        to G's parameters unless ``first_order``."""
        second_order = not self.options.first_order
        params, state, group = self._adam_start()
        self._sim_buffers = {k: b.detach().clone() for k, b in self.discriminator.named_buffers()}
        bs = self.train.batch_size
        for _ in range(self.options.unroll_steps):
            real = data.sample(bs, gen)
            with torch.set_grad_enabled(second_order):
                fake = self.generate(bs, gen)
            with torch.enable_grad():
                d_loss = self.loss(self._simulated_d(params, real), self._simulated_d(params, fake)).d_loss
                grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=second_order)
            params, state = differentiable_adam_step(
                params, dict(zip(params, grads, strict=True)), state, group
            )
            if not second_order:
                params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        if not second_order:
            params = {k: v.detach() for k, v in params.items()}
        return params

    def unrolled_generator_loss(self, data: RealData, gen: torch.Generator) -> tuple[torch.Tensor, StepLogs]:
        """The surrogate ``f_K`` as a differentiable function of G's parameters, and its logs."""
        k = self.options.unroll_steps
        params = self.unrolled_discriminator(data, gen) if k else None
        fake = self.generate(self.train.batch_size, gen)
        if params is None:
            # K = 0: the plain GAN's generator loss (same draws, same logits).
            d_real, d_fake = self._last_d_real, self.discriminator(fake)
        else:
            real = data.sample(self.train.batch_size, gen)
            d_real = self._simulated_d(params, real)
            d_fake = self._simulated_d(params, fake)
        out = self.loss(d_real, d_fake)
        g_loss = out.g_loss
        if params is not None and self.options.loss == "minimax":
            g_loss = g_loss - out.d_loss_real  # the saddle value -d_loss at theta_D^K
        return g_loss, {"d_fake_unrolled": torch.sigmoid(d_fake.detach()).mean()}

    # ----- the step ---------------------------------------------------------------------------
    def unrolled_generator_step(self, data: RealData, gen: torch.Generator) -> StepLogs:
        """One Adam step of G on the unrolled surrogate; D and its optimizer are left as they were."""
        return self.update_generator(*self.unrolled_generator_loss(data, gen))

    def generator_update(self, data: RealData, gen: torch.Generator) -> StepLogs:
        """The template's generator update, on the unrolled surrogate (it draws fresh real batches
        for the simulated D steps)."""
        return self.unrolled_generator_step(data, gen)
