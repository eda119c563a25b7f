"""NAdam (Adam with Nesterov momentum), as ``torch.optim.NAdam``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .adam import _check_betas_eps, _ema_sq_, _lerp_
from .optimizer import Optimizer, _new_scalar, _real_view, _to_scalar, _zeros_like

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum and momentum decay (Dozat, 2016).

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 2e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: denominator term for numerical stability (default 1e-8).
        weight_decay: weight decay (default 0).
        momentum_decay: momentum decay psi (default 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW (default False).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to a tensor ``lr``, the given ``p.grad`` and
            the weights before the step; the weights may be non-leaf tensors.

    Example:
        >>> opt = ember.optim.NAdam(model.parameters())
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_betas_eps(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    # named in the refusal of capturable=True off the GPU
    _capturable_tensors = "params, mu_products and state_steps"

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {
        "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
        "decoupled_weight_decay": False
    }
    _tensor_state_keys = ("step", "mu_product")
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
            momentum_decay = group["momentum_decay"]
            decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                step = self._advance_step(state)
                pd = _real_view(p._data)  # complex: updated as its real view
                g = _real_view(self._decayed_grad(p, lr, weight_decay, decoupled, maximize))
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
                mu_prod_arr = state["mu_product"]._data
                np.multiply(mu_prod_arr, mu, out=mu_prod_arr)
                mu_product = float(mu_prod_arr)
                m = _real_view(state["exp_avg"]._data)
                v = _real_view(state["exp_avg_sq"]._data)
                tmp = self._buffer(pd)
                upd = self._buffer(pd, 2)
                _lerp_(m, g, 1 - beta1, tmp)
                _ema_sq_(v, g, beta2, tmp)
                np.divide(v, 1 - beta2 ** step, out=tmp)
                np.sqrt(tmp, out=tmp)
                np.add(tmp, eps, out=tmp)
                np.divide(g, tmp, out=upd)
                np.multiply(upd, -lr * (1.0 - mu) / (1.0 - mu_product), out=upd)
                np.add(pd, upd, out=pd)
                np.divide(m, tmp, out=upd)
                np.multiply(upd, -lr * mu_next / (1.0 - mu_product * mu_next), out=upd)
                np.add(pd, upd, out=pd)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        state["step"] = _new_scalar(0.0)
        state["mu_product"] = _new_scalar(1.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``);
        the moment buffers join the graph, ``mu_product`` (a 0-d tensor) does not."""
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        momentum_decay = group["momentum_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            step = self._advance_step(state)
            g = self._recorded_adam_grad(p, group, lr)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            mu_prod_arr = state["mu_product"]._data
            np.multiply(mu_prod_arr, mu, out=mu_prod_arr)
            w, g, m, v = self._real_views(p, g, state["exp_avg"], state["exp_avg_sq"])
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (v / (1 - beta2 ** step)).sqrt() + eps
            # as PyTorch's recorded step: the scaled gradient and average, then two addcdiv_.
            # An lr that requires grad makes the product save the buffer ``m``, so a later
            # step's lerp_ fails that backward, as in PyTorch.
            # (the factors from the 0-d mu_product tensor, in its dtype, as PyTorch's)
            mu_product_t = state["mu_product"]
            w.addcdiv_(g * (-lr * (1.0 - mu) / (1.0 - mu_product_t)), denom)
            w.addcdiv_(m * (-lr * mu_next / (1.0 - mu_product_t * mu_next)), denom)
