"""Resilient backpropagation, as ``torch.optim.Rprop``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer,
    _check_lr,
    _full_like,
    _new_scalar,
    _real_view,
    _to_scalar,
    _zeros_like,
)

__all__ = ["Rprop"]


def _first_step_size(group: dict) -> float:
    """The group's lr as the number the step sizes start at. PyTorch fills them with
    ``full_like(p, lr)``, which refuses an lr tensor that requires grad (TypeError)."""
    lr = group["lr"]
    if isinstance(lr, Tensor) and lr.requires_grad:
        raise TypeError("full_like(): argument 'fill_value' (position 2) must be Number, not "
                        "Tensor")
    return _to_scalar(lr)


class Rprop(Optimizer):
    """Rprop: per-weight step sizes grown or shrunk by the sign agreement of gradients.

    Args:
        params: parameters or param groups to optimize.
        lr: initial step size (default 1e-2).
        etas: (etaminus, etaplus) multiplicative factors (default (0.5, 1.2)).
        step_sizes: (min, max) allowed step sizes (default (1e-6, 50)).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            reaches the weights before the step (the signs and step sizes enter as constants).

    Example:
        >>> opt = ember.optim.Rprop(model.parameters())
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
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
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                self._advance_step(state)
                g = _real_view(self._grad_of(p, 0, maximize))
                pd = _real_view(p._data)  # complex: updated as its real view
                tmp = self._buffer(pd)
                prev = _real_view(state["prev"]._data)
                step_size = _real_view(state["step_size"]._data)
                np.multiply(g, prev, out=tmp)
                flipped = tmp < 0
                grew = tmp > 0
                tmp.fill(1)
                tmp[grew] = etaplus
                tmp[flipped] = etaminus
                np.multiply(step_size, tmp, out=step_size)
                np.clip(step_size, step_size_min, step_size_max, out=step_size)
                # Where the sign flipped, this step does not move and forgets the gradient.
                np.copyto(prev, g)
                prev[flipped] = 0
                np.sign(prev, out=tmp)
                np.multiply(tmp, step_size, out=tmp)
                np.subtract(pd, tmp, out=pd)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        lr = _first_step_size(group)  # before any state: a refusal leaves none
        state["step"] = _new_scalar(0.0)
        state["prev"] = _zeros_like(p)
        state["step_size"] = _full_like(p, lr)
        # a complex step size starts at lr in both parts (PyTorch fills the real view)
        _real_view(state["step_size"]._data)[...] = lr

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``):
        the move ``-sign(g) * step_size`` is recorded (as PyTorch's, an addcmul), so a later
        loss reaches the weights before the step; the signs carry no gradient."""
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            self._advance_step(state)
            g = self._recorded_grad(p, 0, group["maximize"])
            w, g, prev, step_size = self._real_views(p, g, state["prev"], state["step_size"])
            # the factors written into the (recorded) signs, as PyTorch's: the step size then
            # joins the graph (a zero gradient) and a later in-place step on it is caught
            factor = g.mul(prev.clone()).sign()
            factor[factor.gt(0)] = etaplus
            factor[factor.lt(0)] = etaminus
            factor[factor.eq(0)] = 1
            step_size.mul_(factor).clamp_(step_size_min, step_size_max)
            # where the sign flipped the weight stays and the gradient is forgotten
            g = g.clone()
            g[factor.eq(etaminus)] = 0
            w.addcmul_(g.sign(), step_size, value=-1)
            prev.copy_(g)
