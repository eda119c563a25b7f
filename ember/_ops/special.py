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


