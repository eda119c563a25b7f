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


class Rprop(Optimizer):
    """Rprop: per-weight step sizes grown or shrunk by the sign agreement of gradients.

    Args:
        params: parameters or param groups to optimize.
        lr: initial step size (default 1e-2).
        etas: (etaminus, etaplus) multiplicative factors (default (0.5, 1.2)).
        step_sizes: (min, max) allowed step sizes (default (1e-6, 50)).
        maximize: maximize the objective instead of minimizing (default False).

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

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = _new_scalar(0.0)
                    state["prev"] = _zeros_like(p)
                    state["step_size"] = _full_like(p, _to_scalar(group["lr"]))
                    # a complex step size starts at lr in both parts (PyTorch fills the real view)
                    _real_view(state["step_size"]._data)[...] = _to_scalar(group["lr"])
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
