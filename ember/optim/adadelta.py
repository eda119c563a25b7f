"""Adadelta, as ``torch.optim.Adadelta``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .adam import _ema_sq_
from .optimizer import Optimizer, _check_lr, _new_scalar, _real_view, _to_scalar, _zeros_like

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: step sizes from running averages of squared gradients and updates (Zeiler).

    Args:
        params: parameters or param groups to optimize.
        lr: coefficient scaling the delta (default 1.0).
        rho: running-average coefficient (default 0.9).
        eps: term added inside the square roots for numerical stability (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to the given ``p.grad`` and the weights before
            the step (``lr`` must then be a number, as in PyTorch).

    Example:
        >>> opt = ember.optim.Adadelta(model.parameters())
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    # named in the refusal of capturable=True off the GPU (PyTorch's list for Adadelta)
    _capturable_devices = "['cuda', 'xpu', 'hpu', 'privateuseone']"

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
            rho, eps = group["rho"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                self._advance_step(state)
                g = _real_view(self._grad_of(p, weight_decay, maximize))
                pd = _real_view(p._data)  # complex: updated as its real view
                tmp = self._buffer(pd)
                delta = self._buffer(pd, 2)
                v = _real_view(state["square_avg"]._data)
                acc = _real_view(state["acc_delta"]._data)
                _ema_sq_(v, g, rho, tmp)
                np.add(v, eps, out=tmp)
                np.sqrt(tmp, out=tmp)
                np.add(acc, eps, out=delta)
                np.sqrt(delta, out=delta)
                np.divide(delta, tmp, out=delta)
                np.multiply(delta, g, out=delta)
                _ema_sq_(acc, delta, rho, tmp)
                np.multiply(delta, lr, out=delta)
                np.subtract(pd, delta, out=pd)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        state["step"] = _new_scalar(0.0)
        state["square_avg"] = _zeros_like(p)
        state["acc_delta"] = _zeros_like(p)

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``);
        both running averages join the graph."""
        lr = self._number_lr(group, "add_(): argument 'alpha'")
        rho, eps = group["rho"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            self._advance_step(state)
            g = self._recorded_grad(p, group["weight_decay"], group["maximize"])
            w, g, square_avg, acc_delta = self._real_views(p, g, state["square_avg"],
                                                           state["acc_delta"])
            square_avg.mul_(rho).addcmul_(g, g, value=1 - rho)
            delta = (acc_delta + eps).sqrt() / (square_avg + eps).sqrt() * g
            acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
            w.add_(delta, alpha=-lr)
