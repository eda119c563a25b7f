"""L-BFGS: a quasi-Newton method that keeps the last few curvature pairs instead of a Hessian.

The search direction comes from the two-loop recursion of Nocedal & Wright (Numerical
Optimization, 2nd ed., Algorithm 7.4); the optional line search finds a step that meets the
strong Wolfe conditions (their Algorithms 3.5 and 3.6, with cubic interpolation, eq. 3.59).

Every parameter is handled as one flat vector. Scalars that come out of a dot product stay NumPy
scalars of the parameters' dtype, as PyTorch's 0-d tensors do, so float32 runs round where
PyTorch's do (a Python float met by a float32 scalar is a weak operand under NumPy's NEP 50,
like a Python number met by a 0-d tensor in PyTorch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._backend import as_array
from .._backend import get_array_module as xp_of
from .._ops.pointwise.arithmetic import fused_multiply_add
from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from .optimizer import Optimizer, _check_lr, _to_scalar

__all__ = ["LBFGS"]

_F32 = np.dtype(np.float32)


def _axpy_(y, a, x) -> None:
    """``y += a * x`` in place, rounded as PyTorch's ``y.add_(x, alpha=a)``: once for float32
    (its fused CPU kernel), twice elsewhere."""
    if y.dtype == _F32 and type(y) is np.ndarray:
        y[...] = fused_multiply_add(x, np.float32(a), y)
    else:
        y += x * a


def _real_flat(array):
    """``array`` as a flat real vector: a complex one as (real, imag) pairs."""
    flat = array.reshape(-1)
    return flat.view(flat.real.dtype) if flat.dtype.kind == "c" else flat


def _wrap(value):
    """A state entry as PyTorch keeps it: an array or NumPy scalar becomes a Tensor, a Python
    number stays what it is (a NumPy float64 is a ``float`` subclass, hence the exact check)."""
    if type(value) in (int, float):
        return value
    return Tensor._make(as_array(value))


def _unwrap(value):
    return value._data if isinstance(value, Tensor) else value


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through two points with their values and slopes (Nocedal &
    Wright eq. 3.59), clipped to ``bounds`` (by default the interval the points span); the
    interval's midpoint when the cubic has no real minimiser."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(disc)
    if x1 <= x2:
        guess = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        guess = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(guess, lo), hi)


class _Bracket:
    """Two trial steps of the zoom phase with their loss, gradient and slope along ``d``;
    ``low`` indexes the one with the smaller loss (the first on a tie)."""

    def __init__(self, steps, losses, grads, slopes):
        self.t, self.f, self.g, self.gtd = steps, losses, grads, slopes
        self.reorder()

    def reorder(self):
        self.low = 0 if self.f[0] <= self.f[-1] else 1
        self.high = 1 - self.low

    def put(self, i, t, f, g, gtd):
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd

    def width(self):
        return abs(self.t[1] - self.t[0])


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Search along ``d`` for a step meeting the strong Wolfe conditions.

    ``obj_func(x, t, d)`` returns the loss and flat gradient at ``x + t*d``; ``f``, ``g`` and
    ``gtd`` are the loss, gradient and slope at ``t = 0``. Returns the loss, gradient, step and
    the number of evaluations spent.
    """
    d_norm = abs(d).max()
    curvature = -c2 * gtd  # |slope| at an accepted step must not exceed this

    def armijo_fails(step, loss):
        return loss > f + c1 * step * gtd

    # Flat gradients are fresh arrays from each evaluation and never written to, so they are
    # kept without copies.
    # Phase 1 (Algorithm 3.5): walk forward until an interval is known to hold a good step.
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    f_new, g_new = obj_func(x, t, d)
    evals = 1
    tries = 0
    gtd_new = g_new.dot(d)
    while tries < max_ls:
        if armijo_fails(t, f_new) or (tries > 1 and f_new >= f_prev):
            break
        if abs(gtd_new) <= curvature:
            return f_new, g_new, t, evals
        if gtd_new >= 0:
            break
        # extrapolate, at least a little past t and at most ten times it
        nxt = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                 bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = nxt
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        tries += 1
        gtd_new = g_new.dot(d)
    if tries == max_ls:  # out of tries: keep the start and the last trial, no zooming left
        bracket = _Bracket([0, t], [f, f_new], [g, g_new], [gtd, gtd_new])
    else:
        bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new])

    # Phase 2 (Algorithm 3.6): shrink the interval around a step that meets both conditions.
    stalled = False
    while tries < max_ls:
        if bracket.width() * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket.t[0], bracket.f[0], bracket.gtd[0],
                               bracket.t[1], bracket.f[1], bracket.gtd[1])
        top, bottom = max(bracket.t), min(bracket.t)
        margin = 0.1 * (top - bottom)
        # A trial hugging an end of the interval makes little progress: allow it once, then
        # pull it a tenth of the width inside (a trial at an end or beyond is pulled at once).
        if min(top - t, t - bottom) < margin:
            if stalled or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        tries += 1
        gtd_new = g_new.dot(d)
        low, high = bracket.low, bracket.high
        if armijo_fails(t, f_new) or f_new >= bracket.f[low]:
            bracket.put(high, t, f_new, g_new, gtd_new)
            bracket.reorder()
            continue
        if abs(gtd_new) <= curvature:
            bracket.put(low, t, f_new, g_new, gtd_new)
            break
        if gtd_new * (bracket.t[high] - bracket.t[low]) >= 0:
            # the slope says the minimum lies behind: the old low end becomes the far end
            bracket.put(high, bracket.t[low], bracket.f[low], bracket.g[low], bracket.gtd[low])
        bracket.put(low, t, f_new, g_new, gtd_new)
    i = bracket.low
    return bracket.f[i], bracket.g[i], bracket.t[i], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS, after minFunc: each ``step(closure)`` runs up to ``max_iter``
    quasi-Newton iterations, calling ``closure`` (which must zero the gradients, recompute the
    loss, call ``backward`` and return the loss) whenever it needs a new loss and gradient.

    All parameters form one group and are treated as a single flat vector; the curvature
    history (``history_size`` pairs) lives in the state of the first parameter, as in PyTorch.

    Args:
        params: the parameters to optimize (one group only).
        lr: step length (default 1); the first iteration scales it by the gradient's L1 norm.
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure calls per ``step`` (default ``max_iter * 5 // 4``); the line search
            spends at most what is left of it.
        tolerance_grad: stop once the largest gradient entry is at most this (default 1e-7).
        tolerance_change: stop once the step or the change in loss is below this (default 1e-9).
        history_size: curvature pairs kept (default 100).
        line_search_fn: ``None`` (fixed step) or ``"strong_wolfe"``.

    Example:
        >>> opt = ember.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
        >>> opt.step(closure)
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector --------------------------------------------------
    def _flat_grad(self):
        """All gradients in one new array (zeros for a parameter without a gradient); a
        complex gradient enters as its real and imaginary parts (PyTorch's view_as_real), so
        the search runs over real numbers."""
        pieces = []
        for p in self._params:
            grad = p._grad
            if grad is None:
                pieces.append(_real_flat(xp_of(p._data).zeros(p._data.size, p._data.dtype)))
            else:
                if isinstance(grad, SparseTensor):
                    grad = grad.to_dense()
                pieces.append(_real_flat(grad._data))
        return xp_of(pieces[0]).concatenate(pieces)

    def _move(self, step, direction) -> None:
        """``p += step * direction`` for every parameter, each reading its slice (a complex
        parameter moves through its real view, two entries per element)."""
        start = 0
        for p in self._params:
            data = p._data
            if data.dtype.kind == "c":
                data = data.view(data.real.dtype)
            stop = start + data.size
            _axpy_(data, step, direction[start:stop].reshape(data.shape))
            start = stop

    def _restore(self, saved) -> None:
        for p, data in zip(self._params, saved):
            p._data[...] = data

    def _probe(self, closure, origin, step, direction):
        """Loss and flat gradient at ``origin + step * direction``; the parameters are put back
        to ``origin`` afterwards."""
        self._move(step, direction)
        loss = _loss_value(closure())
        grad = self._flat_grad()
        self._restore(origin)
        return loss, grad

    def step(self, closure: Callable):
        """Run up to ``max_iter`` iterations; return the loss the first closure call gave.

        Example:
            >>> opt.step(closure)
        """
        if closure is None:
            raise RuntimeError("LBFGS.step() needs a closure that re-evaluates the model and "
                               "returns the loss (see the class docstring)")
        closure = enable_grad()(closure)
        group = self.param_groups[0]
        lr = _to_scalar(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = closure()
        loss = _loss_value(first_loss)
        evals = 1
        state["func_evals"] += 1
        grad = self._flat_grad()
        if abs(grad).max() <= tol_grad:
            return first_loss

        d, t = _unwrap(state.get("d")), _unwrap(state.get("t"))
        dirs, steps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag = _unwrap(state.get("H_diag"))
        prev_grad, prev_loss = _unwrap(state.get("prev_flat_grad")), state.get("prev_loss")

        it = 0
        while it < max_iter:
            it += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # the very first iteration: steepest descent
                d = -grad
                dirs, steps, ro = [], [], []
                h_diag = 1
            else:
                h_diag = self._remember(grad - prev_grad, d * t, dirs, steps, ro, h_diag,
                                        history_size)
                d = self._direction(grad, dirs, steps, ro, h_diag, state, history_size)
            prev_grad, prev_loss = grad, loss

            if state["n_iter"] == 1:  # scale the first step by the gradient's L1 norm
                t = min(1.0, 1.0 / abs(grad).sum()) * lr
            else:
                t = lr
            slope = grad.dot(d)
            if slope > -tol_change:  # not a descent direction (any more)
                break

            if line_search_fn is None:
                self._move(t, d)
                spent = 0
                if it != max_iter:  # the last iteration's loss is not needed
                    loss = _loss_value(closure())
                    grad = self._flat_grad()
                    spent = 1
            elif line_search_fn == "strong_wolfe":
                origin = [p._data.copy() for p in self._params]
                loss, grad, t, spent = _strong_wolfe(
                    lambda x, s, dd: self._probe(closure, x, s, dd), origin, t, d, loss, grad,
                    slope, max_ls=max_eval - evals)
                self._move(t, d)
            else:
                raise RuntimeError("only 'strong_wolfe' is supported")
            converged = abs(grad).max() <= tol_grad
            evals += spent
            state["func_evals"] += spent

            if (it == max_iter or evals >= max_eval or converged
                    or abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break

        state["d"], state["t"] = _wrap(d), _wrap(t)
        state["old_dirs"], state["old_stps"], state["ro"] = dirs, steps, ro
        state["H_diag"] = _wrap(h_diag)
        kept = state.get("prev_flat_grad")
        if isinstance(kept, Tensor) and kept._data.shape == prev_grad.shape:
            # written in place, as PyTorch's copy_: an optimizer that loaded this state shares
            # the tensor and sees the change
            kept._data[...] = prev_grad
        else:
            state["prev_flat_grad"] = _wrap(prev_grad)
        state["prev_loss"] = prev_loss
        return first_loss

    @staticmethod
    def _remember(y, s, dirs, steps, ro, h_diag, history_size):
        """Add the curvature pair (gradient change ``y``, step ``s``) when it is positive
        enough to keep the inverse-Hessian estimate positive definite, dropping the oldest
        beyond ``history_size``; returns the new initial scaling ``y.s / y.y``."""
        ys = y.dot(s)
        if ys > 1e-10:
            if len(dirs) == history_size:
                del dirs[0], steps[0], ro[0]
            dirs.append(Tensor._make(y))
            steps.append(Tensor._make(s))
            ro.append(_wrap(1.0 / ys))
            h_diag = ys / y.dot(y)
        return h_diag

    @staticmethod
    def _direction(grad, dirs, steps, ro, h_diag, state, history_size):
        """The two-loop recursion: ``-H grad`` for the L-BFGS inverse-Hessian estimate ``H``."""
        alphas = state.setdefault("al", [None] * history_size)
        q = -grad  # q and r are fresh arrays, updated in place
        for i in range(len(dirs) - 1, -1, -1):
            a = steps[i]._data.dot(q) * ro[i]._data
            alphas[i] = _wrap(a)
            _axpy_(q, -a, dirs[i]._data)
        r = q * h_diag
        for i in range(len(dirs)):
            b = dirs[i]._data.dot(r) * ro[i]._data
            _axpy_(r, alphas[i]._data - b, steps[i]._data)
        return r


def _loss_value(loss) -> float:
    """The closure's loss as a Python float, read without the requires-grad warning."""
    return float(_to_scalar(loss))
