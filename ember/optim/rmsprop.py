"""RMSprop (plain, centered, with momentum), as ``torch.optim.RMSprop``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .adam import _ema_sq_, _lerp_
from .optimizer import Optimizer, _check_lr, _new_scalar, _real_view, _to_scalar, _zeros_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running average of its magnitude (Hinton).

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the squared-gradient average (default 0.99).
        eps: denominator term for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance (default False).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to the given ``p.grad`` and the weights before
            the step (``lr`` must then be a number, as in PyTorch).

    Example:
        >>> opt = ember.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {
        "momentum": 0, "centered": False, "foreach": None, "maximize": False,
        "differentiable": False, "capturable": False
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
            alpha, eps = group["alpha"], group["eps"]
            momentum, centered = group["momentum"], group["centered"]
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
                v = _real_view(state["square_avg"]._data)
                _ema_sq_(v, g, alpha, tmp)
                if centered:
                    ga = _real_view(state["grad_avg"]._data)
                    _lerp_(ga, g, 1 - alpha, tmp)
                    np.multiply(ga, ga, out=tmp)
                    np.subtract(v, tmp, out=tmp)
                    np.sqrt(tmp, out=tmp)
                else:
                    np.sqrt(v, out=tmp)
                np.add(tmp, eps, out=tmp)
                np.divide(g, tmp, out=tmp)
                if momentum > 0:
                    buf = _real_view(state["momentum_buffer"]._data)
                    np.multiply(buf, momentum, out=buf)
                    np.add(buf, tmp, out=buf)
                    np.multiply(buf, lr, out=tmp)
                else:
                    np.multiply(tmp, lr, out=tmp)
                np.subtract(pd, tmp, out=pd)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        state["step"] = _new_scalar(0.0)
        state["square_avg"] = _zeros_like(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(p)

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``);
        the running averages join the graph."""
        lr = self._number_lr(group, "add_(): argument 'alpha'" if group["momentum"] > 0
                             else "addcdiv_(): argument 'value'")
        alpha, eps = group["alpha"], group["eps"]
        momentum, centered = group["momentum"], group["centered"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            self._advance_step(state)
            g = self._recorded_grad(p, group["weight_decay"], group["maximize"])
            w, g, square_avg = self._real_views(p, g, state["square_avg"])
            square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
            if centered:
                (grad_avg,) = self._real_views(state["grad_avg"])
                grad_avg.lerp_(g, 1 - alpha)
                denom = (square_avg - grad_avg * grad_avg).sqrt() + eps
            else:
                denom = square_avg.sqrt() + eps
            if momentum > 0:
                (buf,) = self._real_views(state["momentum_buffer"])
                buf.mul_(momentum).addcdiv_(g, denom)
                w.add_(buf, alpha=-lr)
            else:
                w.addcdiv_(g, denom, value=-lr)
