"""K runs of one network as one module: every parameter and buffer gets a leading run axis.

:class:`StackedModule` holds the parameters of K copies of a module stacked (``(K, *shape)``) and
runs the original module's own code on each run's slice with ``torch.func.vmap`` over
``torch.func.functional_call``. So a network is written once, for one run; the stacked version takes
inputs ``(K, n, ...)`` and returns ``(K, n, ...)``, its batch-norm statistics stay per run, and an
optimizer over its parameters updates all K runs with one elementwise step (Adam, RMSprop and SGD
act element by element, so each run's slice follows exactly its single run's update).

``sync_views`` / ``restack`` copy the state (parameters, buffers, optimizer moments) between the
batched variant and the K single-run variants ("views") that evaluation, checkpoints and resume use,
so a batched run's checkpoint is a single run's checkpoint and either can resume the other.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


def _key(name: str) -> str:
    return name.replace(".", "__")


class _Method(nn.Module):
    """Calls ``module.<method>`` as its forward, so that ``functional_call`` can run any method."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.m = module
        self.method = method

    def forward(self, *args: Any) -> Any:
        return getattr(self.m, self.method)(*args)


class StackedModule(nn.Module):
    """K modules of identical structure as one: parameters ``(K, *shape)``, calls vmapped over runs.

    Calling it (or any method of the original module, e.g. ``features(x, layer)``) maps each tensor
    argument's leading axis to the runs; other arguments are passed to every run as they are.
    Non-callable attributes (``n_hidden``, ``feature_dim``, ...) are read from the first module.
    """

    def __init__(self, modules: Sequence[nn.Module]):
        super().__init__()
        if len(modules) < 1:
            raise ValueError("StackedModule needs at least one module")
        params, buffers = stack_module_state(list(modules))
        self._param_names = list(params)
        self._buffer_names = list(buffers)
        for name, value in params.items():
            self.register_parameter(_key(name), nn.Parameter(value.detach().clone()))
        for name, value in buffers.items():
            self.register_buffer(_key(name), value.clone())
        # The template runs the code; it holds no data (meta tensors) and is not a submodule, so
        # parameters() and state_dict() are the stacked tensors only, in the original order.
        object.__setattr__(self, "_template", copy.deepcopy(modules[0]).to("meta"))
        object.__setattr__(self, "_methods", {})
        self.runs = len(modules)

    # ----- calling --------------------------------------------------------------------------
    def _state(self, prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        p = {prefix + n: getattr(self, _key(n)) for n in self._param_names}
        b = {prefix + n: getattr(self, _key(n)) for n in self._buffer_names}
        return p, b

    def _call(self, module: nn.Module, prefix: str, args: tuple[Any, ...]) -> Any:
        params, buffers = self._state(prefix)
        dims = tuple(0 if isinstance(a, torch.Tensor) else None for a in args)

        def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], *a: Any) -> Any:
            return functional_call(module, (p, b), a, strict=True)

        return vmap(one, in_dims=(0, 0, *dims))(params, buffers, *args)

    def forward(self, *args: Any) -> Any:
        return self._call(self._template, "", args)

    def method(self, name: str) -> Callable[..., Any]:
        """The vmapped version of the template's method ``name``."""
        methods = self.__dict__["_methods"]
        if name not in methods:
            methods[name] = _Method(self.__dict__["_template"], name)
        wrapper = methods[name]
        return lambda *args: self._call(wrapper, "m.", args)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            template = self.__dict__.get("_template")
            if template is None or name.startswith("_"):
                raise
            value = getattr(template, name)
            return self.method(name) if callable(value) and not isinstance(value, nn.Module) else value

    def train(self, mode: bool = True) -> StackedModule:
        super().train(mode)
        self.__dict__["_template"].train(mode)
        return self

    # ----- state to and from the single modules -----------------------------------------------
    def _pairs(self, modules: Sequence[nn.Module]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(run k's slice of a stacked tensor, module k's own tensor), for every parameter and buffer."""
        for k, m in enumerate(modules):
            own = {**dict(m.named_parameters()), **dict(m.named_buffers())}
            for name in self._param_names + self._buffer_names:
                yield getattr(self, _key(name))[k], own[name]

    @torch.no_grad()
    def copy_to(self, modules: Sequence[nn.Module]) -> None:
        """Write run ``k``'s slice into ``modules[k]`` (parameters and buffers)."""
        for stacked, own in self._pairs(modules):
            own.copy_(stacked)

    @torch.no_grad()
    def copy_from(self, modules: Sequence[nn.Module]) -> None:
        """Overwrite every run's slice from ``modules[k]`` (the inverse of :meth:`copy_to`)."""
        for stacked, own in self._pairs(modules):
            stacked.copy_(own)


def _param_shapes(opt: torch.optim.Optimizer) -> list[torch.Size]:
    return [p.shape for group in opt.param_groups for p in group["params"]]


def unstack_optimizer(stacked: torch.optim.Optimizer, singles: Sequence[torch.optim.Optimizer]) -> None:
    """Give each single optimizer its run's slice of the stacked optimizer's state (moments sliced,
    counters such as Adam's ``step`` copied)."""
    sd = stacked.state_dict()
    shapes = _param_shapes(stacked)
    for k, single in enumerate(singles):
        state = {}
        for idx, entry in sd["state"].items():
            state[idx] = {
                key: (
                    v[k].clone()
                    if isinstance(v, torch.Tensor) and v.shape == shapes[idx]
                    else copy.deepcopy(v)
                )
                for key, v in entry.items()
            }
        single.load_state_dict({"state": state, "param_groups": copy.deepcopy(sd["param_groups"])})


def restack_optimizer(stacked: torch.optim.Optimizer, singles: Sequence[torch.optim.Optimizer]) -> None:
    """The inverse of :func:`unstack_optimizer`: the stacked state from the singles' states (their
    counters must agree, as they do for runs that stepped together)."""
    sds = [s.state_dict() for s in singles]
    shapes = _param_shapes(singles[0])
    state = {}
    for idx, entry in sds[0]["state"].items():
        state[idx] = {}
        for key, v in entry.items():
            if isinstance(v, torch.Tensor) and v.shape == shapes[idx]:
                state[idx][key] = torch.stack([sd["state"][idx][key] for sd in sds])
            else:
                others = [sd["state"][idx][key] for sd in sds[1:]]
                if any(not torch.equal(torch.as_tensor(o), torch.as_tensor(v)) for o in others):
                    raise ValueError(
                        f"optimizer state {key!r} differs between the runs; they cannot be stacked"
                    )
                state[idx][key] = copy.deepcopy(v)
    stacked.load_state_dict({"state": state, "param_groups": copy.deepcopy(sds[0]["param_groups"])})
