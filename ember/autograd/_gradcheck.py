"""Numerical gradient checks: ``gradcheck`` and ``gradgradcheck`` (float64 finite differences)."""

from __future__ import annotations

import numpy as np

from .grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical gradients disagree."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _diff_inputs(inputs):
    from .._tensor import Tensor

    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _numerical_jacobian(fn, inputs, k, out_idx, eps):
    """d out[out_idx] / d inputs[k], by central differences, shape (numel_in, numel_out)."""
    x = inputs[k]
    flat = x._data.reshape(-1) if x._data.flags.c_contiguous else None
    if flat is None:
        raise GradcheckError("gradcheck needs contiguous inputs")
    cols = []
    with no_grad():
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = _outputs(fn, inputs)[out_idx]._data.astype(np.float64).copy()
            flat[j] = orig - eps
            minus = _outputs(fn, inputs)[out_idx]._data.astype(np.float64).copy()
            flat[j] = orig
            cols.append(((plus - minus) / (2 * eps)).reshape(-1))
    return np.array(cols).reshape(flat.size, -1)


def _analytical_jacobian(fn, inputs, k, out_idx):
    from .. import _creation
    from . import grad as autograd_grad

    out = _outputs(fn, inputs)[out_idx]
    rows = []
    for j in range(out.numel()):
        up = np.zeros(out.numel())
        up[j] = 1.0
        g = autograd_grad([out], [inputs[k]], [_creation.tensor(up.reshape(out.shape),
                                                                dtype=out.dtype)],
                          retain_graph=True, allow_unused=True)[0]
        rows.append(np.zeros(inputs[k].numel()) if g is None else
                    g._data.astype(np.float64).reshape(-1))
    return np.array(rows).T.reshape(inputs[k].numel(), out.numel())


def _forward_jacobian(fn, inputs, k, out_idx):
    """d out[out_idx] / d inputs[k] by forward-mode AD: one one-hot tangent per input element."""
    from .. import _creation
    from . import forward_ad as fwAD

    x = inputs[k]
    cols = []
    for j in range(x.numel()):
        direction = np.zeros(x.numel())
        direction[j] = 1.0
        with fwAD.dual_level():
            tangent = _creation.tensor(direction.reshape(x.shape), dtype=x.dtype)
            dual = list(inputs)
            dual[k] = fwAD.make_dual(x.detach(), tangent)
            out = _outputs(fn, dual)[out_idx]
            t = fwAD.unpack_dual(out).tangent
            cols.append(np.zeros(out.numel()) if t is None else
                        t._data.astype(np.float64).reshape(-1).copy())
    return np.array(cols).reshape(x.numel(), -1)


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, check_backward_ad: bool = True,
              check_forward_ad: bool = False, **_ignored) -> bool:
    """Compare autograd's gradients of ``func`` with central finite differences.

    Inputs that require grad should be float64. Returns True, or raises (or returns False
    with ``raise_exception=False``) naming the input and output that disagree.
    ``check_forward_ad=True`` also checks forward-mode AD (``forward_ad``) Jacobians;
    ``check_backward_ad=False`` skips the reverse-mode check.

    Example:
        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
        True
    """
    from .._tensor import Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    inputs = tuple(t.contiguous() if isinstance(t, Tensor) and t.requires_grad and
                   not t._data.flags.c_contiguous else t for t in inputs)
    inputs = tuple(t.detach().requires_grad_() if isinstance(t, Tensor) and t.requires_grad
                   and not t.is_leaf else t for t in inputs)
    outs = _outputs(func, inputs)
    for k in _diff_inputs(inputs):
        for o, out in enumerate(outs):
            if not isinstance(out, Tensor) or not out.requires_grad:
                continue
            if out.numel() == 0 or inputs[k].numel() == 0:
                continue
            num = _numerical_jacobian(func, inputs, k, o, eps)
            checks = []
            if check_backward_ad:
                checks.append(("", _analytical_jacobian(func, inputs, k, o)))
            if check_forward_ad:
                checks.append((" (forward mode)", _forward_jacobian(func, inputs, k, o)))
            for mode, ana in checks:
                if not np.allclose(ana, num, atol=atol, rtol=rtol):
                    # printed as PyTorch prints them: tensors in the input's dtype
                    dt = inputs[k].dtype
                    num_t, ana_t = (Tensor._make(np.asarray(j).astype(dt.np_dtype), dt)
                                    for j in (num, ana))
                    msg = (f"Jacobian mismatch for output {o} with respect to input "
                           f"{k}{mode},\nnumerical:{num_t}\nanalytical:{ana_t}\n")
                    if raise_exception:
                        raise GradcheckError(msg)
                    return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of the gradient of ``func`` (create_graph=True)."""
    from .. import _creation
    from .._tensor import Tensor
    from . import grad as autograd_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _outputs(func, inputs)
    rng = np.random.default_rng(0)
    if grad_outputs is None:
        grad_outputs = [_creation.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype,
                                         requires_grad=True) for o in outs]
    diff = _diff_inputs(inputs)
    n_in = len(inputs)

    def first_grads(*args):
        xs, gos = args[:n_in], args[n_in:]
        with enable_grad():  # the numerical Jacobian calls this under no_grad
            os = [o for o in _outputs(func, xs) if isinstance(o, Tensor) and o.requires_grad]
            gs = autograd_grad(os, [xs[k] for k in diff], list(gos)[:len(os)],
                               create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
