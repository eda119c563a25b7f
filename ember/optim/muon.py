"""Muon, as ``torch.optim.Muon``: momentum whose update is orthogonalised by a Newton–Schulz
iteration, for the 2-D weights of hidden layers (Keller Jordan's optimizer).

PyTorch runs the Newton–Schulz iteration in bfloat16. ember does the same arithmetic on
float32 arrays and rounds every intermediate that PyTorch stores in bfloat16 (the scaled
gradient, each Gram matrix, each polynomial step) to bfloat16, round-to-nearest-even, with bit
operations: the updates then agree with PyTorch's bit for bit on the matrices tested, and no
bfloat16 NumPy type (ml_dtypes) is needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from .._backend import get_array_module as xp_of
from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from .optimizer import Optimizer, _to_scalar

__all__ = ["Muon"]

# Keller Jordan's constants (https://kellerjordan.github.io/posts/muon/), PyTorch's defaults
EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _bfloat16(x):
    """``x`` rounded to bfloat16 precision (nearest, ties to even), held as float32.

    A float64 input goes through float32 first, as PyTorch's conversion does.
    """
    xp = xp_of(x)
    x32 = xp.asarray(x, dtype=xp.float32)
    bits = x32.view(xp.uint32).astype(xp.uint64)
    bits = (bits + (0x7FFF + ((bits >> 16) & 1))) & 0xFFFF0000
    out = bits.astype(xp.uint32).view(xp.float32)
    nan = xp.isnan(x32)
    if nan.any():  # rounding could carry a NaN's payload into the exponent: keep it NaN
        out = xp.where(nan, x32, out)
    return out


def _orthogonalise(grad, ns_coefficients, ns_steps: int, eps: float):
    """The quintic Newton–Schulz iteration of PyTorch's Muon: ``grad`` scaled to spectral norm
    at most 1, then ``ns_steps`` steps of ``X <- a X + (b G + c G G) X`` with ``G = X X^T``,
    where ``X`` is ``grad`` or its transpose, whichever is wide. Returns bfloat16 values as
    float32."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    f32 = np.float32
    a, b, c = (f32(v) for v in ns_coefficients)
    tall = grad.shape[0] > grad.shape[1]
    x = _bfloat16(grad)
    if tall:
        x = x.T
    # the norm is accumulated in float32 and stored in bfloat16, as is the clamp
    norm = _bfloat16(xp_of(x).sqrt((x * x).sum(dtype=f32)))
    norm = max(float(norm), float(_bfloat16(f32(eps))))
    x = _bfloat16(x / f32(norm))
    for _ in range(ns_steps):
        gram = _bfloat16(x @ x.T)
        poly = _bfloat16(b * gram + c * (gram @ gram))
        x = _bfloat16(a * x + poly @ x)
    return x.T if tall else x


def _adjusted_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """``lr`` scaled so that updates of rectangular matrices have a comparable RMS."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))  # Keller Jordan's scaling
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))  # Moonshot's: reuse AdamW's lr and decay
    else:
        ratio = 1.0
    return lr * ratio


def _lerp_(start, end, weight: float) -> None:
    """``start.lerp_(end, weight)`` in ``start``'s precision, with PyTorch's two-sided formula."""
    w = start.dtype.type(weight)
    if abs(weight) < 0.5:
        start += w * (end - start)
    else:
        start[...] = end - (end - start) * (1 - w)


def _lerp(start, end, weight: float):
    out = start.copy()
    _lerp_(out, end, weight)
    return out


class Muon(Optimizer):
    """Muon: SGD-momentum whose update is orthogonalised by a Newton–Schulz iteration (about
    ``U V^T`` of the momentum's SVD), with decoupled weight decay. For 2-D parameters only:
    optimize biases, embeddings and other parameters with a standard optimizer such as AdamW.

    Each step: ``B <- lerp(B, g, 1 - momentum)``; the update is ``lerp(g, B, momentum)`` with
    Nesterov, else ``B``; it is orthogonalised in bfloat16 and applied with ``lr`` scaled by
    ``adjust_lr_fn`` after the parameter shrinks by ``1 - lr * weight_decay``.

    Args:
        params: parameters or param groups to optimize (all 2-D).
        lr: learning rate (default 1e-3).
        weight_decay: decoupled weight decay (default 0.1).
        momentum: momentum factor (default 0.95).
        nesterov: use Nesterov momentum (default True).
        ns_coefficients: the coefficients ``(a, b, c)`` of the Newton–Schulz polynomial
            (default (3.4445, -4.7750, 2.0315)).
        eps: floor of the norm the update is divided by (default 1e-7).
        ns_steps: Newton–Schulz iterations (default 5).
        adjust_lr_fn: ``"original"`` (``sqrt(max(1, rows / cols))``, the default when None) or
            ``"match_rms_adamw"`` (``0.2 * sqrt(max(rows, cols))``).

    Example:
        >>> hidden = [p for p in model.parameters() if p.ndim == 2]
        >>> opt = ember.optim.Muon(hidden, lr=0.02, momentum=0.95)
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B,
                                                                DEFAULT_C),
                 eps: float = EPS, ns_steps: int = DEFAULT_NS_STEPS,
                 adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _to_scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            momentum = group["momentum"]
            params = []
            for p in group["params"]:  # checked for every parameter before any is updated
                if p._grad is None:
                    continue
                if p._dtype.is_complex:
                    raise RuntimeError("Muon does not support complex parameters")
                if isinstance(p._grad, SparseTensor):
                    raise RuntimeError("Muon does not support sparse gradients")
                state = self.state[p]
                if "momentum_buffer" not in state:
                    zeros = xp_of(p._grad._data).zeros_like(p._grad._data)
                    state["momentum_buffer"] = Tensor._make(zeros, p._grad._dtype)
                params.append(p)
            for p in params:
                grad = p._grad._data
                if grad.ndim != 2:
                    raise ValueError("Param gradient must be a 2D matrix")
                buf = self.state[p]["momentum_buffer"]
                _lerp_(buf._data, grad, 1 - momentum)
                buf._vbox[0] += 1
                update = _lerp(grad, buf._data, momentum) if group["nesterov"] else buf._data
                update = _orthogonalise(update, group["ns_coefficients"], group["ns_steps"],
                                        group["eps"])
                step_lr = _adjusted_lr(lr, group["adjust_lr_fn"], p.shape)
                pd = p._data
                pd *= 1 - lr * group["weight_decay"]
                pd += pd.dtype.type(-step_lr) * update.astype(pd.dtype, copy=False)
                p._vbox[0] += 1
        return loss
