"""Averaged stochastic gradient descent, as ``torch.optim.ASGD``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._ops.pointwise.arithmetic import fused_multiply_add
from .._tensor import Tensor
from .optimizer import Optimizer, _check_lr, _new_scalar, _to_scalar, _zeros_like

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky); the running average lives in ``state[p]['ax']``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power for the eta update (default 0.75).
        t0: step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            reaches the weights before the step (the step size ``eta`` enters as a number).

    Example:
        >>> opt = ember.optim.ASGD(model.parameters(), lr=0.01)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    # named in the refusal of capturable=True off the GPU
    _capturable_tensors = "params, mus, etas, and state_steps"

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {
        "foreach": None, "maximize": False, "differentiable": False, "capturable": False
    }
    _tensor_state_keys = ("step", "eta", "mu")
    _differentiable_step = True

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            if self._record_step(group):
                continue
            lr = _to_scalar(group["lr"])
            lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                step = self._advance_step(state)
                g = self._grad_of(p, weight_decay, maximize)
                pd = p._data
                tmp = self._buffer(pd)
                eta_arr, mu_arr = state["eta"]._data, state["mu"]._data
                eta = float(eta_arr)
                np.multiply(pd, 1 - lambd * eta, out=pd)
                if pd.dtype == np.float32 and type(pd) is np.ndarray:
                    # PyTorch's add_(grad, alpha=-eta): one rounding (a fused multiply-add)
                    pd[...] = fused_multiply_add(g, np.float32(-eta), pd)
                else:
                    np.multiply(g, eta, out=tmp)
                    np.subtract(pd, tmp, out=pd)
                ax = state["ax"]._data
                if float(mu_arr) != 1:
                    np.subtract(pd, ax, out=tmp)
                    np.multiply(tmp, mu_arr, out=tmp)
                    np.add(ax, tmp, out=ax)
                else:
                    np.copyto(ax, pd)
                eta_arr[()] = lr / ((1 + lambd * lr * step) ** alpha)
                mu_arr[()] = 1 / max(1, step - t0)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        state["step"] = _new_scalar(0.0)
        state["eta"] = _new_scalar(_to_scalar(group["lr"]))
        state["mu"] = _new_scalar(1.0)
        state["ax"] = _zeros_like(p)

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``).

        As PyTorch's, the weights and the average ``ax`` join the graph while ``eta`` and
        ``mu`` scale them as plain numbers: a tensor ``lr`` gets no gradient from the weights,
        though the new ``eta`` worked out from it is recorded in the state.
        """
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            step = self._advance_step(state)
            g = self._recorded_grad(p, group["weight_decay"], group["maximize"])
            # the raw values: float() of an eta that requires grad would warn
            eta = float(state["eta"]._data)
            mu = float(state["mu"]._data)
            # complex weights update as their real views, as PyTorch's recorded step
            w, g, ax = self._real_views(p, g, state["ax"])
            w.mul_(1 - lambd * eta)
            w.add_(g, alpha=-eta)
            if mu != 1:
                ax.add_(w.sub(ax).mul(mu))
            else:
                ax.copy_(w)
            if isinstance(lr, Tensor) and lr.requires_grad:
                state["eta"].copy_(lr / ((1 + lambd * lr * step) ** alpha))
            else:
                state["eta"]._data[()] = _to_scalar(lr) / ((1 + lambd * _to_scalar(lr) * step)
                                                           ** alpha)
            state["mu"]._data[()] = 1 / max(1, step - t0)
