"""Adamax (Adam with the infinity norm), as ``torch.optim.Adamax``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .adam import _check_betas_eps, _lerp_
from .optimizer import Optimizer, _new_scalar, _real_view, _to_scalar, _zeros_like

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax: Adam's variant based on the infinity norm (Kingma & Ba, 2014).

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 2e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: term for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to the given ``p.grad`` and the weights before
            the step (``lr`` must then be a number, as in PyTorch).

    Example:
        >>> opt = ember.optim.Adamax(model.parameters())
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_betas_eps(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {
        "foreach": None, "maximize": False, "differentiable": False, "capturable": False
    }
    _tensor_state_keys = ("step",)
    _differentiable_step = True

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            if self._record_step(group):
                continue
            lr = _to_scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                step = self._advance_step(state)
                g = _real_view(self._grad_of(p, weight_decay, maximize))
                pd = _real_view(p._data)  # complex: updated as its real view
                tmp = self._buffer(pd)
                m = _real_view(state["exp_avg"]._data)
                u = _real_view(state["exp_inf"]._data)
                _lerp_(m, g, 1 - beta1, tmp)
                np.multiply(u, beta2, out=u)
                np.abs(g, out=tmp)
                np.add(tmp, eps, out=tmp)
                np.maximum(u, tmp, out=u)
                np.divide(m, u, out=tmp)
                np.multiply(tmp, lr / (1 - beta1 ** step), out=tmp)
                np.subtract(pd, tmp, out=pd)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        state["step"] = _new_scalar(0.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_inf"] = _zeros_like(p)

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``);
        the running average and the infinity norm join the graph."""
        lr = self._number_lr(group)
        (beta1, beta2), eps = group["betas"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            step = self._advance_step(state)
            g = self._recorded_grad(p, group["weight_decay"], group["maximize"])
            w, g, m, u = self._real_views(p, g, state["exp_avg"], state["exp_inf"])
            m.lerp_(g, 1 - beta1)
            u.copy_((u * beta2).maximum(g.abs() + eps))
            w.addcdiv_(m, u, value=-lr / (1 - beta1 ** step))
