"""NumPy's keyword names accepted where PyTorch's argument parser accepts them.

PyTorch's native functions and Tensor methods take ``axis=`` for ``dim=`` and ``keepdims=`` for
``keepdim=`` (``x.sum(axis=1)``, ``torch.mean(x, axis=0, keepdims=True)``), so NumPy habits
work in PyTorch programs. Functions PyTorch writes in Python (``Tensor.norm``, ``Tensor.split``,
``Tensor.unique`` ...) do not, and neither do ember's: those are listed in ``PYTHON_IN_TORCH``.
"""

from __future__ import annotations

import functools
import inspect

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))

# Names whose torch version is a Python function (torch/_tensor.py, torch/functional.py):
# they raise TypeError for axis=/keepdims= in PyTorch, so they keep doing so here.
PYTHON_IN_TORCH = frozenset({
    "norm", "split", "unique", "unique_consecutive", "stft", "istft", "lu", "align_to",
    "refine_names", "rename", "rename_", "unflatten", "chain_matmul", "einsum", "tensordot",
    "cdist", "meshgrid", "block_diag", "broadcast_tensors", "cartesian_prod", "atleast_1d",
    "atleast_2d", "atleast_3d", "split_with_sizes_copy",
})


def _named_parameters(fn) -> tuple:
    code = getattr(fn, "__code__", None)
    if code is None:
        return ()
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def with_numpy_aliases(fn, name: str | None = None):
    """``fn`` accepting ``axis``/``keepdims`` for its ``dim``/``keepdim`` parameters.

    Returns ``fn`` itself when it has neither parameter or is one of ``PYTHON_IN_TORCH``.

    Example:
        >>> ember.ones(2, 3).sum(axis=1, keepdims=True)
        tensor([[3.],
                [3.]])
    """
    params = _named_parameters(inspect.unwrap(fn))  # (through every checking decorator)
    renames = tuple((alias, real) for alias, real in _ALIASES
                    if real in params and alias not in params)
    if not renames or (name or getattr(fn, "__name__", "")) in PYTHON_IN_TORCH:
        return fn

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs:  # positional calls pay one truth test
            for alias, real in renames:
                if alias in kwargs:
                    if real in kwargs:  # PyTorch's parser names the alias
                        raise TypeError(f"{fn.__name__}() got an unexpected keyword "
                                        f"argument '{alias}'")
                    kwargs[real] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return call
