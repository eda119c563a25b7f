"""Stochastic gradient descent (with momentum, Nesterov, weight decay), as ``torch.optim.SGD``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check_lr, _to_scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (default False).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to a tensor ``lr``, the given ``p.grad`` and
            the weights before the step; the weights may then be non-leaf tensors.

    Example:
        >>> opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    # sparse gradients (nn.Embedding(sparse=True)) update as their dense form
    _sparse_weight_decay_error = ("add(sparse, dense) is not supported. Use add(dense, sparse) "
                                  "instead.")

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {
        "nesterov": False, "maximize": False, "foreach": None, "differentiable": False,
        "fused": False
    }

    _differentiable_step = True
    _recorded_foreach = True

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            if self._record_step(group):
                continue
            lr = _to_scalar(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            nesterov = group["nesterov"]
            weight_decay = _to_scalar(group["weight_decay"])
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = self._grad_of(p, weight_decay, maximize)
                pd = p._data
                d = g
                if momentum != 0:
                    state = self.state[p]
                    buf_t = state.get("momentum_buffer")
                    if buf_t is None:
                        # The first step copies the gradient (no dampening), as PyTorch does.
                        buf_t = Tensor._make(g.copy(), p._grad._dtype)
                        state["momentum_buffer"] = buf_t
                    else:
                        self._scale_add(buf_t._data, momentum, g, 1 - dampening)
                    d = buf_t._data
                    if nesterov:
                        tmp = self._buffer(pd)
                        np.copyto(tmp, g)
                        self._add_scaled(tmp, momentum, d)
                        d = tmp
                self._add_scaled(pd, -lr, d)
                p._vbox[0] += 1
        return loss

    def _recorded_step(self, group: dict) -> None:
        """One group's step written with Tensor ops so autograd records it
        (``differentiable=True``): gradients reach a tensor ``lr``, the gradients given in
        ``p.grad`` and the weights before the step. The first momentum buffer is a detached
        copy of the gradient, as in PyTorch."""
        lr, weight_decay = group["lr"], _to_scalar(group["weight_decay"])
        momentum, dampening = group["momentum"], group["dampening"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if group["maximize"]:
                g = -g
            if weight_decay != 0:
                g = g.add(p, alpha=weight_decay)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = g.detach().clone()
                    state["momentum_buffer"] = buf
                else:
                    buf.mul_(momentum).add_(g, alpha=1 - dampening)
                g = g.add(buf, alpha=momentum) if group["nesterov"] else buf
            if isinstance(lr, Tensor):
                p.addcmul_(g, lr, value=-1)
            else:
                p.add_(g, alpha=-lr)
