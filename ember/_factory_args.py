"""Arguments the factory functions share, read as PyTorch reads them: a size given as ints,
as one tuple/list/``Size`` or as ``size=``; PyTorch's ``out=``; the checks on both.

Used by ``_creation``, ``_creation_ranges`` and ``_random``.
"""

from __future__ import annotations

import operator

import numpy as np

from . import _dtype as D
from ._errors import with_hint
from ._tensor import Tensor
from .autograd import grad_mode

_OUT_GRAD_HINT = "Call it under `with ember.no_grad():` or drop out= and assign the result."


def _type_title(dt) -> str:
    from ._ops.inplace import _type_title as title

    return title(dt)


def _type_name(x) -> str:
    from ._ops._dispatch import type_name

    return type_name(x)


def sizes(fname: str, args: tuple, size=None) -> tuple:
    """The shape a factory function was given: ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``,
    ``f(ember.Size([2, 3]))`` or ``f(size=(2, 3))``; TypeError/RuntimeError as PyTorch's.

    Example:
        >>> sizes("zeros", (2, 3))
        (2, 3)
    """
    if size is not None:
        if args:
            raise TypeError(f"{fname}() got multiple values for argument 'size'")
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"{fname}(): argument 'size' must be tuple of ints, not "
                            f"{_type_name(size)}")
        items = tuple(size)
    elif not args:
        raise TypeError(f"{fname}() missing 1 required positional arguments: \"size\"; pass "
                        f"a shape, e.g. {fname}(2, 3) or {fname}((2, 3))")
    elif len(args) == 1 and isinstance(args[0], (tuple, list)):
        items = tuple(args[0])
    else:
        items = args
    shape = []
    for i, s in enumerate(items):
        try:
            if isinstance(s, bool) and not i:  # torch's parser takes a bool after an int
                raise TypeError
            shape.append(operator.index(s))
        except TypeError:
            kind = _type_name(s)
            if len(items) == 1 and items is args:
                raise TypeError(f"{fname}(): argument 'size' (position 1) must be tuple of "
                                f"ints, not {kind}") from None
            if i:  # torch matched the overload on the first element, then unpacked the rest
                raise TypeError(f"{fname}(): argument 'size' failed to unpack the object at "
                                f"pos {i + 1} with error \"type must be tuple of ints,but got "
                                f"{kind}\"") from None
            where = " (position 1)" if items is not args and size is None else ""
            raise TypeError(f"{fname}(): argument 'size'{where} must be tuple of ints, but "
                            f"found element of type {kind} at pos {i}") from None
    for i, s in enumerate(shape):
        if not -9223372036854775808 <= s <= 9223372036854775807:  # torch's sizes are int64
            raise TypeError(f"{fname}(): argument 'size' failed to unpack the object at pos "
                            f"{i + 1} with error \"Overflow when unpacking long long\"")
        if s < 0:
            if fname == "zeros":
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {shape}")
    return tuple(shape)


_PY_DTYPES = (float, int, bool, complex)  # torch reads these as float64, int64, bool, complex128


def check_dtype(fname: str, dtype) -> None:
    """A factory function's ``dtype=`` as PyTorch's parser takes it: an ember dtype, None or
    one of Python's ``float``/``int``/``bool``/``complex``; a name (``"float32"``) or a NumPy
    type is a TypeError, as in torch.

    Example:
        >>> check_dtype("zeros", ember.float64)
    """
    if dtype is None or isinstance(dtype, D.dtype) or any(dtype is t for t in _PY_DTYPES):
        return
    raise TypeError(f"{fname}(): argument 'dtype' must be torch.dtype, not "
                    f"{type(dtype).__name__}")


def out_args(fname: str, dtype, device, out, factory: bool = True):
    """The dtype and device a factory function makes its result in when given ``out=``: the
    out tensor's, after PyTorch's checks (a ``dtype`` that differs is an error). torch names
    a factory by its operator (``aten::zeros()``), an op on tensors (``factory=False``) not."""
    if out is None:
        return dtype, device
    if not isinstance(out, Tensor):
        raise TypeError(f"{fname}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_mode._state.enabled and out.requires_grad:
        if fname in ("empty", "randn"):  # torch resizes out first for these two
            raise with_hint(RuntimeError("cannot resize variables that require grad"),
                            _OUT_GRAD_HINT)
        raise with_hint(RuntimeError(
            f"{'aten::' if factory else ''}{fname}(): functions with out=... arguments don't "
            "support automatic differentiation, but one of the arguments requires grad."),
            _OUT_GRAD_HINT)
    if dtype is not None and D.to_dtype(dtype) is not out.dtype:
        raise RuntimeError(f"dtype {_type_title(D.to_dtype(dtype))} does not match dtype of "
                           f"out parameter ({_type_title(out.dtype)})")
    return out.dtype, out.device if device is None else device


def write_out(result: Tensor, out: Tensor | None, requires_grad: bool = False) -> Tensor:
    """Put a factory function's result into ``out`` (resized silently when its shape differs,
    as PyTorch's factories do) and return ``out``, made to require grad when asked, as in
    PyTorch; returns ``result`` when there is no out."""
    if out is None:
        return result
    if out._data.shape == result._data.shape and type(out._data) is type(result._data) and \
            out.device.type != "meta":
        out._data[...] = result._data
    else:
        out._data = result._data
    out._vbox[0] += 1
    if requires_grad:
        out.requires_grad_(True)
    return out


def is_meta(device) -> bool:
    """True when a factory function's device (None: the default) is ``meta``."""
    from ._creation import _device

    return _device(device).type == "meta"


def meta_result(shape, dt: D.dtype, requires_grad: bool) -> Tensor:
    """A meta tensor of ``shape`` and ``dt`` (random factories draw nothing on meta)."""
    from ._backend import meta_array

    t = Tensor._make(meta_array(shape, np.dtype(dt.np_dtype)), dt)
    return t.requires_grad_(True) if requires_grad else t
