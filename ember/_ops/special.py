"""Special functions exported at top level (``ember.lgamma``, ``ember.digamma``,
``ember.polygamma``, ``ember.mvlgamma``, ``ember.i0``, ``ember.igamma(c)``) and as Tensor
methods, plus ``scatter_reduce``, ``matrix_exp`` and ``triangular_solve``. The rest of
``torch.special`` lives in ``ember.special``. Implementations: ``_special_ops.py`` (ops),
``_special_gamma.py``/``_special_bessel.py`` (NumPy kernels), ``_special_extra.py``.
"""

from __future__ import annotations

from .._tensor import Tensor
from ._special_extra import matrix_exp, scatter_reduce, scatter_reduce_, triangular_solve
from ._special_ops import digamma, i0, igamma, igammac, lgamma, mvlgamma, polygamma
from .inplace import apply_inplace

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "i0", "i0_", "igamma", "igammac",
           "scatter_reduce", "matrix_exp", "triangular_solve"]


def _inplace(fn, name):
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        return apply_inplace(self, fn(self, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place :func:`{fn.__name__}`."
    return method


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``polygamma(n, self)``."""
    return polygamma(n, self)


def _polygamma_(self: Tensor, n: int) -> Tensor:
    """In-place :func:`polygamma`."""
    return apply_inplace(self, polygamma(n, self), "polygamma_")


i0_ = _inplace(i0, "i0_")

TENSOR_METHODS = {
    "lgamma": lgamma, "lgamma_": _inplace(lgamma, "lgamma_"),
    "digamma": digamma, "digamma_": _inplace(digamma, "digamma_"),
    "polygamma": _polygamma_method, "polygamma_": _polygamma_,
    "mvlgamma": mvlgamma, "mvlgamma_": _inplace(mvlgamma, "mvlgamma_"),
    "i0": i0, "i0_": i0_,
    "igamma": igamma, "igamma_": _inplace(igamma, "igamma_"),
    "igammac": igammac, "igammac_": _inplace(igammac, "igammac_"),
    "scatter_reduce": scatter_reduce, "scatter_reduce_": scatter_reduce_,
    "matrix_exp": matrix_exp, "triangular_solve": triangular_solve,
}
