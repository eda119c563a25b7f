"""PyTorch's deprecated scalar-first overloads, which old code still calls and PyTorch still
accepts with a UserWarning: ``p.add_(-lr, grad)``, ``addcmul_(value, t1, t2)``,
``addmm(beta, input, alpha, mat1, mat2)`` ... The ops read them here (below every op family,
so both the pointwise and the linalg ops can)."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor


def legacy_scalar_first(name: str, old: str, new: str, first, rest: tuple, n: int):
    """Old code calls ``p.add_(-lr, grad)`` / ``addcmul_(value, t1, t2)``: the scalar first.
    PyTorch still takes that deprecated overload, with a warning; this reads it, returning
    the scalar and the ``n`` tensors that follow it (a TypeError for any other extra)."""
    scalar = isinstance(first, (int, float, bool, np.number)) or (
        isinstance(first, Tensor) and first.ndim == 0)
    if not (scalar and len(rest) == n and all(isinstance(t, Tensor) for t in rest)):
        raise TypeError(f"{name}() takes {n} positional argument{'s' if n > 1 else ''} but "
                        f"{n + len(rest)} were given")
    import os
    import sys
    import warnings

    # point the warning at the user's line, past however many ember frames wrap this call
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # ember/
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(pkg):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"This overload of {name} is deprecated:\n\t{name}({old})\nConsider using one "
                  f"of the following signatures instead:\n\t{name}({new})", UserWarning,
                  stacklevel=level)
    return (first.item() if isinstance(first, Tensor) else first), rest


def legacy_beta_alpha(name: str, operands: tuple, input, x, y, args: tuple):
    """Reads PyTorch's deprecated scalar-first overloads of the ``add*`` products, which old
    code still calls (PyTorch accepts them with a UserWarning):

    - method form ``t.addmm(beta, alpha, mat1, mat2)`` / ``t.addmm(beta, mat1, mat2)``, which
      reaches the function as ``(t, beta, [alpha,] mat1, mat2)``;
    - function form ``torch.addmm(beta, input, alpha, mat1, mat2)`` /
      ``torch.addmm(beta, input, mat1, mat2)``.

    ``operands`` names the two tensors (e.g. ``("mat1", "mat2")``). Returns
    ``(input, t1, t2, beta, alpha)`` (alpha None when not given); anything else is a TypeError.

    Example:
        >>> ember.ones(2, 2).addmm(1, -2, ember.ones(2, 3), ember.ones(3, 2))  # warns
        tensor([[-5., -5.],
                [-5., -5.]])
    """
    a, b = operands
    tail = f"Tensor {a}, Tensor {b}"
    keywords = "*, Number beta = 1, Number alpha = 1"
    if isinstance(input, Tensor):  # method form: (self, beta, [alpha,] t1, t2)
        self, rest = input, (y,) + args
        two = len(rest) == 3 and not isinstance(rest[0], Tensor)
        old = f"Number beta, {'Number alpha, ' if two else ''}{tail}"
        alpha = None
        if two:
            alpha, rest = rest[0], rest[1:]
        beta, (t1, t2) = legacy_scalar_first(name, old, f"{tail}, {keywords}", x, rest, 2)
        return self, t1, t2, beta, alpha
    # function form: (beta, input, [alpha,] t1, t2)
    rest = (y,) + args
    two = len(rest) == 3 and not isinstance(rest[0], Tensor)
    out_kw = ", Tensor out = None"
    new = f"Tensor input, {tail}, {keywords}{out_kw}"
    if name in ("addmm", "baddbmm"):  # these also have an out_dtype overload
        # (the helper closes the last signature's parenthesis)
        new += f")\n\t{name}(Tensor input, {tail}, torch.dtype out_dtype, {keywords}{out_kw}"
    old = f"Number beta, Tensor input, {'Number alpha, ' if two else ''}{tail}, *{out_kw}"
    alpha = None
    if two:
        alpha, rest = rest[0], rest[1:]
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments")
    beta, (t1, t2) = legacy_scalar_first(name, old, new, input, rest, 2)
    return x, t1, t2, beta, alpha
