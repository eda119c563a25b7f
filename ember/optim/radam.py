"""RAdam (rectified Adam), as ``torch.optim.RAdam``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .adam import _check_betas_eps, _ema_sq_, _lerp_
from .optimizer import Optimizer, _new_scalar, _real_view, _to_scalar, _zeros_like

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam: Adam with a rectified adaptive learning rate (Liu et al., 2019).

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 1e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: denominator term for numerical stability (default 1e-8).
        weight_decay: weight decay (default 0).
        decoupled_weight_decay: decay the weights directly, as AdamW (default False).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to a tensor ``lr``, the given ``p.grad`` and
            the weights before the step; the weights may be non-leaf tensors.

    Example:
        >>> opt = ember.optim.RAdam(model.parameters())
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_betas_eps(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {
        "foreach": None, "maximize": False, "differentiable": False,
        "decoupled_weight_decay": False, "capturable": False
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
            eps, weight_decay = group["eps"], group["weight_decay"]
            decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
            rho_inf = 2 / (1 - beta2) - 1
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                step = self._advance_step(state)
                pd = _real_view(p._data)  # complex: updated as its real view
                g = _real_view(self._decayed_grad(p, lr, weight_decay, decoupled, maximize))
                m = _real_view(state["exp_avg"]._data)
                v = _real_view(state["exp_avg_sq"]._data)
                tmp = self._buffer(pd)
                _lerp_(m, g, 1 - beta1, tmp)
                _ema_sq_(v, g, beta2, tmp)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    np.sqrt(v, out=tmp)
                    np.add(tmp, eps, out=tmp)
                    np.divide(m, tmp, out=tmp)
                    scale = lr * bias_correction2 ** 0.5 * rect / bias_correction1
                    np.multiply(tmp, scale, out=tmp)
                else:
                    np.multiply(m, lr / bias_correction1, out=tmp)
                np.subtract(pd, tmp, out=pd)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        state["step"] = _new_scalar(0.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``);
        the moment buffers join the graph."""
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            step = self._advance_step(state)
            g = self._recorded_adam_grad(p, group, lr)
            w, g, m, v = self._real_views(p, g, state["exp_avg"], state["exp_avg_sq"])
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
            update = m / bias_correction1 * lr
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                update = update * (bias_correction2 ** 0.5 * rect / (v.sqrt() + eps))
            w.add_(update, alpha=-1)
