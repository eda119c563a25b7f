"""Adam for sparse gradients (``nn.Embedding(sparse=True)``), as ``torch.optim.SparseAdam``."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from .optimizer import Optimizer, _to_scalar, _zeros_like

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Adam that updates only the rows a sparse gradient touches (its moments included).

    Pair it with ``Adam`` for a model's dense parameters; it refuses dense gradients.

    Args:
        params: parameters or param groups to optimize (dense tensors).
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages of the gradient and its square.
        eps: term added to the denominator (default 1e-8).
        maximize: maximize the objective instead of minimizing (default False).

    Example:
        >>> emb = ember.nn.Embedding(1000, 16, sparse=True)
        >>> opt = ember.optim.SparseAdam(emb.parameters(), lr=1e-3)
        >>> emb(ember.tensor([3, 7])).sum().backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        sparse_params, complex_params = [], []
        for index, group in enumerate(self.param_groups):
            for d_index, param in enumerate(group["params"]):
                if param.is_sparse:
                    sparse_params.append([index, d_index])
                if param.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires "
                             "dense parameter tensors")
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            eps, lr = group["eps"], _to_scalar(group["lr"])
            maximize = group.get("maximize", False)
            for p in group["params"]:
                if p._grad is None:
                    continue
                if not isinstance(p._grad, SparseTensor):
                    raise RuntimeError("SparseAdam does not support dense gradients, please "
                                       "consider Adam instead")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                state["step"] += 1
                # the update is not linear in the gradient: sum repeated indices first
                idx, values = p._grad._data.coalesced_arrays()
                if values.size == 0:
                    continue
                if maximize:
                    values = -values
                rows = tuple(idx)
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                old_m, old_v = m[rows], v[rows]
                m_update = (values - old_m) * (1 - beta1)
                v_update = (values * values - old_v) * (1 - beta2)
                m[rows] += m_update
                v[rows] += v_update
                numer = m_update + old_m
                denom = np.sqrt(v_update + old_v) + eps
                step = state["step"]
                step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                p._data[rows] += (-step_size * (numer / denom)).astype(p._data.dtype, copy=False)
                p._vbox[0] += 1
        return loss
