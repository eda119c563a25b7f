"""Adagrad, as ``torch.optim.Adagrad``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check_lr, _full_like, _new_scalar, _real_view, _to_scalar

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: per-coordinate step sizes from the sum of squared gradients (Duchi et al.).

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the squared-gradient sums (default 0).
        eps: denominator term for numerical stability (default 1e-10).
        maximize: maximize the objective instead of minimizing (default False).
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to the given ``p.grad`` and the weights before
            the step (``lr`` must then be a number, as in PyTorch).

    Example:
        >>> opt = ember.optim.Adagrad(model.parameters(), lr=0.1)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    # sparse gradients (nn.Embedding(sparse=True)) update as their dense form
    _sparse_weight_decay_error = "weight_decay option is not compatible with sparse gradients"

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # Adagrad creates its state eagerly (so share_memory() can work before training).
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _new_scalar(0.0)
                state["sum"] = _full_like(p, initial_accumulator_value)

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False, "fused": None}
    _tensor_state_keys = ("step",)
    _differentiable_step = True

    def share_memory(self) -> None:
        """Move each parameter's running sum into shared memory (as torch: ``step`` stays
        private), so Hogwild processes accumulate into one state.

        Example:
            >>> opt = ember.optim.Adagrad(model.parameters()); opt.share_memory()
        """
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            if self._record_step(group):
                continue
            lr = _to_scalar(group["lr"])
            lr_decay, eps = group["lr_decay"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                step = self._advance_step(state)
                g = _real_view(self._grad_of(p, weight_decay, maximize))
                pd = _real_view(p._data)  # complex: updated as its real view
                tmp = self._buffer(pd)
                total = _real_view(state["sum"]._data)
                np.multiply(g, g, out=tmp)
                np.add(total, tmp, out=total)
                np.sqrt(total, out=tmp)
                np.add(tmp, eps, out=tmp)
                np.divide(g, tmp, out=tmp)
                np.multiply(tmp, lr / (1 + (step - 1) * lr_decay), out=tmp)
                np.subtract(pd, tmp, out=pd)
                p._vbox[0] += 1
        return loss

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``);
        the squared-gradient sums join the graph."""
        lr = self._number_lr(group)
        lr_decay, eps = group["lr_decay"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            step = self._advance_step(state)
            g = self._recorded_grad(p, group["weight_decay"], group["maximize"])
            w, g, total = self._real_views(p, g, state["sum"])
            total.addcmul_(g, g, value=1)
            clr = lr / (1 + (step - 1) * lr_decay)
            w.addcdiv_(g, total.sqrt() + eps, value=-clr)
