"""Adafactor, as ``torch.optim.Adafactor`` (PyTorch's variant of Shazeer & Stern, 2018).

The update is written with ember's tensor ops (norms, ``lerp_``, a matmul) rather than raw
NumPy: it needs per-parameter norms and, for matrices, an outer product of row and column
statistics, so there is little to gain from fused passes, and the ops follow PyTorch's
arithmetic (its two-sided ``lerp``) step by step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .. import _dtype as D
from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, _new_scalar, _to_scalar

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor: Adam-like steps from factored second moments, so that a matrix keeps only
    one running average per row and per column (>= 2-D parameters; vectors keep a full one),
    with a relative step size ``min(lr, 1/sqrt(step))`` scaled by the parameter's RMS.

    Args:
        params: parameters or param groups to optimize.
        lr: the largest relative step size (default 1e-2).
        beta2_decay: the second-moment average weighs step ``t`` by ``t ** beta2_decay``
            (default -0.8).
        eps: ``(eps1, eps2)``: floor of the second-moment estimates (None: the dtype's
            machine epsilon) and of the parameter RMS (default (None, 1e-3)).
        d: clipping threshold of the update's RMS (default 1.0).
        weight_decay: decoupled weight decay (default 0.0).
        foreach: accepted; ember has one implementation.
        maximize: maximize the objective instead of minimizing (default False).

    Example:
        >>> opt = ember.optim.Adafactor(model.parameters(), lr=1e-2)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _to_scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {"foreach": None}
    _tensor_state_keys = ("step",)

    def _state_of(self, p: Tensor) -> dict:
        """``p``'s state, made on its first step: row and column averages for a matrix (or a
        stack of them), one average per element otherwise."""
        state = self.state[p]
        if not state:
            state["step"] = _new_scalar(0.0)
            g = p.grad
            if g.dim() > 1:
                state["row_var"] = g.new_zeros(tuple(g.shape[:-1]) + (1,))
                state["col_var"] = g.new_zeros(tuple(g.shape[:-2]) + (1, g.shape[-1]))
            else:
                state["variance"] = g.new_zeros(g.shape)
        return state

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                lr = _to_scalar(group["lr"])
                # as in PyTorch, eps1 = None takes the machine epsilon of the group's first
                # parameter with a gradient, for the whole group
                eps1, eps2 = group["eps"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p._dtype.is_complex:
                        raise RuntimeError("Adafactor does not support complex parameters")
                    if isinstance(p.grad, SparseTensor):
                        raise RuntimeError("Adafactor does not support sparse gradients")
                    if eps1 is None:
                        eps1 = D.finfo(p._dtype).eps
                    self._update(p, self._state_of(p), lr, group, eps1, eps2)
        return loss

    @staticmethod
    def _update(p: Tensor, state: dict, lr: float, group: dict, eps1: float,
                eps2: float) -> None:
        """PyTorch's single-tensor Adafactor update of ``p``."""
        grad = -p.grad if group["maximize"] else p.grad
        step = Optimizer._advance_step(state)
        one_minus_beta2 = step ** group["beta2_decay"]
        rho = min(lr, 1 / step ** 0.5)
        alpha = max(eps2, p.norm(2).item() / p.numel() ** 0.5) * rho
        if group["weight_decay"] != 0:
            p.mul_(1 - lr * group["weight_decay"])
        if grad.dim() > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            row_var.lerp_(grad.norm(dim=-1, keepdim=True).square_() / grad.size(-1),
                          one_minus_beta2)
            col_var.lerp_(grad.norm(dim=-2, keepdim=True).square_() / grad.size(-2),
                          one_minus_beta2)
            # the rank-1 estimate row * col / mean(row) of the full second moments
            var_estimate = row_var @ col_var
            var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            variance = state["variance"]
            variance.lerp_(grad * grad, one_minus_beta2)
            var_estimate = variance.clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
        denom = max(1.0, update.norm(2).item() / (update.numel() ** 0.5 * group["d"]))
        p.add_(update, alpha=-alpha / denom)
