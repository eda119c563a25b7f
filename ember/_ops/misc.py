"""Tensor API gap-fillers, grouped by kind in ``_misc_*.py`` and exported from here:
in-place writes and metadata changes (``copy_``, ``fill_``, ``zero_``, ``squeeze_`` ...),
composite math (``addcmul``, ``cov``, ``cummax``, ``logcumsumexp`` ...) and builders/views
(``meshgrid``, ``block_diag``, ``as_strided`` ...)."""

from __future__ import annotations

from . import _misc_build, _misc_inplace, _misc_linalg, _misc_math, _misc_more
from ._misc_build import *  # noqa: F403
from ._misc_linalg import *  # noqa: F403
from ._misc_math import *  # noqa: F403
from ._misc_more import *  # noqa: F403

__all__ = [*_misc_build.__all__, *_misc_math.__all__, *_misc_linalg.__all__, *_misc_more.__all__,
           "fill_", "zero_"]

fill_ = _misc_inplace.fill_
zero_ = _misc_inplace.zero_


TENSOR_METHODS = {
    **_misc_inplace.TENSOR_METHODS, **_misc_math.TENSOR_METHODS,
    **_misc_build.TENSOR_METHODS, **_misc_linalg.TENSOR_METHODS, **_misc_more.TENSOR_METHODS,
    "storage": _storage,
}
