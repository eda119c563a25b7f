"""``assert_close`` and the deprecated ``assert_allclose``, with ``torch.testing``'s verdicts,
exception types and messages.

The comparison runs in two phases. First both inputs are walked together: sequences and
mappings are opened (their lengths and keys must agree) and every pair of leaves is
classified (None, booleans, Python/NumPy numbers, tensor-likes); structural problems and
unsupported inputs raise right away. Then the leaves are compared in order and the first
mismatch raises an ``AssertionError`` whose text the caller's ``msg`` may replace. Values are
compared on NumPy arrays, without autograd, in the dtype PyTorch would use.
"""

from __future__ import annotations

import cmath
import collections.abc
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _dtype as _dt
from .. import _layout
from .._creation import as_tensor, from_numpy
from .._layout import strided
from .._tensor import Tensor

__all__ = ["assert_allclose", "assert_close"]


def _dtype_table(pairs: dict[str, tuple[float, float]]) -> dict:
    # ember has no complex32 (chalf): names it lacks are left out
    return {getattr(_dt, name): tol for name, tol in pairs.items() if hasattr(_dt, name)}


# (rtol, atol) per dtype when the caller gives none; exact comparison for every other dtype
_CLOSE_DEFAULTS = _dtype_table({
    "float16": (0.001, 1e-5), "bfloat16": (0.016, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex32": (0.001, 1e-5), "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
})
# the looser table of the deprecated assert_allclose
_ALLCLOSE_DEFAULTS = _dtype_table({
    "float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8),
})
# a Python number stands for the widest dtype of its kind
_NUMBER_DTYPES = {int: _dt.int64, float: _dt.float64, complex: _dt.complex128}

_REPORT_URL = "https://github.com/pytorch/pytorch/issues"


class _Failure(Exception):
    """A verdict to report: the exception type and text, and where in the inputs it arose."""

    def __init__(self, kind: type[Exception], text: str, path: tuple = ()) -> None:
        super().__init__(text)
        self.kind, self.text, self.path = kind, text, path

    def build(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        text = self.text
        if self.path:
            text += "\n\nThe failure occurred for item " + "".join(f"[{k!r}]" for k in self.path)
        if callable(msg):
            text = msg(text)
        elif isinstance(msg, str):
            text = msg
        return self.kind(text)


def default_tolerances(*inputs: Any, dtype_precisions: dict | None = None
                       ) -> tuple[float, float]:
    """The default ``(rtol, atol)`` for comparing ``inputs`` (tensors or dtypes): the loosest
    entry of the per-dtype table over all of them, ``(0.0, 0.0)`` for exact dtypes.

    Example:
        >>> default_tolerances(ember.float32)
        (1.3e-06, 1e-05)
        >>> default_tolerances(ember.zeros(2), ember.float16)
        (0.001, 1e-05)
    """
    table = _CLOSE_DEFAULTS if dtype_precisions is None else dtype_precisions
    dtypes = []
    for item in inputs:
        if isinstance(item, Tensor):
            dtypes.append(item.dtype)
        elif isinstance(item, _dt.dtype):
            dtypes.append(item)
        else:
            raise TypeError(f"Expected a torch.Tensor or a torch.dtype, but got {type(item)} "
                            "instead.")
    rtols, atols = zip(*(table.get(d, (0.0, 0.0)) for d in dtypes))
    return max(rtols), max(atols)


def _resolve_tolerances(dtypes: list, rtol, atol, table: dict) -> tuple[Any, Any]:
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise _Failure(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                                   f"but got no {missing}.")
    if rtol is not None:
        return rtol, atol
    return default_tolerances(*dtypes, dtype_precisions=table)


# -- leaves ----------------------------------------------------------------------------------

def _is_bool(x) -> bool:
    return isinstance(x, (bool, np.bool_))


def _is_number(x) -> bool:
    return isinstance(x, (int, float, complex, np.number)) and not isinstance(x, np.bool_)


def _related(a, b, allow_subclasses: bool) -> bool:
    if allow_subclasses:
        return isinstance(a, type(b)) or isinstance(b, type(a))
    return type(a) is type(b)


def _as_tensor_like(x) -> Tensor:
    return x if isinstance(x, Tensor) else from_numpy(x)


def _unsupported(a, b, path) -> _Failure:
    return _Failure(TypeError, f"No comparison pair was able to handle inputs of type {type(a)} "
                               f"and {type(b)}.", path)


class _Leaf:
    """One pair of leaves to compare; ``check`` raises a :class:`_Failure` on a mismatch."""

    def __init__(self, actual, expected, path: tuple) -> None:
        self.actual, self.expected, self.path = actual, expected, path

    def fail(self, text: str) -> _Failure:
        return _Failure(AssertionError, text, self.path)


class _NoneLeaf(_Leaf):
    def check(self) -> None:
        if not (self.actual is None and self.expected is None):
            raise self.fail(f"None mismatch: {self.actual} is not {self.expected}")


class _BoolLeaf(_Leaf):
    def check(self) -> None:
        if bool(self.actual) is not bool(self.expected):
            raise self.fail(f"Booleans mismatch: {self.actual} is not {self.expected}")


def _scalar_report(actual, expected, rtol, atol, exact: bool) -> str:
    """The text for two scalars (Python numbers, or 0-d tensors' items) that differ."""
    abs_diff = abs(actual - expected)
    scale = abs(expected)
    rel_diff = abs_diff / scale if scale != 0 else (math.nan if abs_diff != abs_diff
                                                     else math.inf)
    abs_line = f"Absolute difference: {abs_diff}"
    rel_line = f"Relative difference: {rel_diff}"
    if not exact:
        abs_line += f" (up to {atol} allowed)"
        rel_line += f" (up to {rtol} allowed)"
    verdict = "equal" if exact else "close"
    return (f"Scalars are not {verdict}!\n\nExpected {expected} but got {actual}.\n"
            f"{abs_line}\n{rel_line}")


def _numbers_close(a, b, rtol: float, atol: float, equal_nan: bool) -> bool:
    if a == b:
        return True
    if cmath.isnan(a) or cmath.isnan(b):
        return equal_nan and cmath.isnan(a) and cmath.isnan(b)
    if cmath.isinf(a) or cmath.isinf(b):
        return False  # infinities are close only when equal
    return abs(a - b) <= atol + rtol * abs(b)


class _NumberLeaf(_Leaf):
    def __init__(self, actual, expected, path, *, rtol, atol, equal_nan, check_dtype,
                 **_ignored) -> None:
        # NumPy scalars compare as the Python numbers they hold
        actual = actual.item() if isinstance(actual, np.generic) else actual
        expected = expected.item() if isinstance(expected, np.generic) else expected
        super().__init__(actual, expected, path)
        # a bool paired with a number has no entry here: PyTorch reports that as an internal
        # error (below), not as a mismatch
        dtypes = [_NUMBER_DTYPES[type(actual)], _NUMBER_DTYPES[type(expected)]]
        self.rtol, self.atol = _resolve_tolerances(dtypes, rtol, atol, _CLOSE_DEFAULTS)
        self.equal_nan, self.check_dtype = equal_nan, check_dtype

    def check(self) -> None:
        a, b = self.actual, self.expected
        if self.check_dtype and type(a) is not type(b):
            raise self.fail(f"The (d)types do not match: {type(a)} != {type(b)}.")
        if not _numbers_close(a, b, float(self.rtol), float(self.atol), self.equal_nan):
            exact = self.rtol == 0 and self.atol == 0
            raise self.fail(_scalar_report(a, b, self.rtol, self.atol, exact))


def _host_array(t: Tensor) -> np.ndarray:
    if t.layout != strided:
        t = t.to_dense()  # sparse values compare in their dense form
    return np.asarray(t.detach().cpu().numpy(force=True))  # (bfloat16 too)


def _unravel(flat: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


class _TensorLeaf(_Leaf):
    def __init__(self, actual, expected, path, *, rtol, atol, equal_nan, check_device,
                 check_dtype, check_layout, check_stride, tolerance_table=_CLOSE_DEFAULTS,
                 **_ignored) -> None:
        actual, expected = _as_tensor_like(actual), _as_tensor_like(expected)
        super().__init__(actual, expected, path)
        self.rtol, self.atol = _resolve_tolerances([actual, expected], rtol, atol,
                                                   tolerance_table)
        self.equal_nan = equal_nan
        self.checks = (check_device, check_layout, check_stride, check_dtype)

    def _attribute(self, name: str, a, b) -> None:
        if a != b:
            raise self.fail(f"The values for attribute '{name}' do not match: {a} != {b}.")

    def check(self) -> None:
        a, b = self.actual, self.expected
        check_device, check_layout, check_stride, check_dtype = self.checks
        self._attribute("shape", a.shape, b.shape)
        if check_device:
            self._attribute("device", a.device, b.device)
        if check_layout:
            self._attribute("layout", a.layout, b.layout)
        if check_stride and a.layout == b.layout == strided:
            self._attribute("stride()", a.stride(), b.stride())
        if check_dtype:
            self._attribute("dtype", a.dtype, b.dtype)
        if a.device.type == "meta" or b.device.type == "meta":
            return  # shapes and dtypes only: a meta tensor has no values
        self._check_values(a, b)

    def _check_values(self, a: Tensor, b: Tensor) -> None:
        rtol, atol = float(self.rtol), float(self.atol)
        if rtol < 0 or atol < 0:
            which, value = ("rtol", rtol) if rtol < 0 else ("atol", atol)
            raise RuntimeError(f"{which} must be greater than or equal to zero, but got {value}")
        members = _SPARSE_MEMBERS.get(a.layout) if a.layout == b.layout else None
        if members is None:
            self._check_arrays(a, b, "Tensor-likes", rtol, atol)
            return
        # sparse tensors of one layout: the stored entries must line up (same count, equal
        # indices), then the stored values must be close
        label, index_names = members
        if a._nnz() != b._nnz():
            raise self.fail(f"The number of specified values in sparse {label} tensors does "
                            f"not match: {a._nnz()} != {b._nnz()}")
        for name in index_names:
            self._check_arrays(getattr(a, name)(), getattr(b, name)(),
                               f"Sparse {label} {name}", 0.0, 0.0)
        self._check_arrays(a.values(), b.values(), f"Sparse {label} values", rtol, atol)

    def _check_arrays(self, a: Tensor, b: Tensor, what: str, rtol: float, atol: float) -> None:
        if a.dtype != b.dtype:  # only reached with check_dtype=False
            common = _dt.promote_types(a.dtype, b.dtype)
            a, b = a.to(common), b.to(common)
        x, y = _host_array(a), _host_array(b)
        matches = _isclose(x, y, rtol, atol, self.equal_nan)
        if matches.all():
            return
        shown_rtol, shown_atol = (self.rtol, self.atol) if rtol or atol else (0, 0)
        exact = rtol == 0 and atol == 0
        if x.ndim == 0:
            raise self.fail(_scalar_report(a.item(), b.item(), shown_rtol, shown_atol, exact))
        raise self.fail(_tensor_report(x, y, matches, shown_rtol, shown_atol, exact, what))


# sparse layout -> (name in messages, index members compared exactly, in order)
_SPARSE_MEMBERS = {
    _layout.sparse_coo: ("COO", ("indices",)),
    _layout.sparse_csr: ("CSR", ("crow_indices", "col_indices")),
    _layout.sparse_csc: ("CSC", ("ccol_indices", "row_indices")),
    _layout.sparse_bsr: ("BSR", ("crow_indices", "col_indices")),
    _layout.sparse_bsc: ("BSC", ("ccol_indices", "row_indices")),
}


def _isclose(x: np.ndarray, y: np.ndarray, rtol: float, atol: float,
             equal_nan: bool) -> np.ndarray:
    """Elementwise closeness as PyTorch defines it: equal values (infinities included) are
    close, NaNs only to NaNs under ``equal_nan``, finite values within
    ``atol + rtol * |y|``."""
    if x.dtype.kind in "biu":
        # integers and booleans: the tolerance test in float64, equality exactly
        close = x == y
        if rtol or atol:
            xf, yf = x.astype(np.float64), y.astype(np.float64)
            close |= np.abs(xf - yf) <= atol + rtol * np.abs(yf)
        return close
    with np.errstate(invalid="ignore", over="ignore"):
        close = x == y
        finite = np.isfinite(x) & np.isfinite(y)
        close |= finite & (np.abs(x - y) <= atol + rtol * np.abs(y))
        if equal_nan:
            close |= np.isnan(x) & np.isnan(y)
    return close


def _tensor_report(x: np.ndarray, y: np.ndarray, matches: np.ndarray, rtol, atol,
                   exact: bool, what: str = "Tensor-likes") -> str:
    """The text for two tensor-likes with at least one mismatching element. Differences are
    taken in the compared dtype (integers and booleans widened to int64, their relative
    differences in float32), ignoring the elements that match."""
    if x.dtype.kind in "biu":
        x, y = x.astype(np.int64), y.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(x - y)
        if abs_diff.dtype.kind == "i":
            rel_diff = abs_diff.astype(np.float32) / np.abs(y).astype(np.float32)
        else:
            rel_diff = abs_diff / np.abs(y).astype(abs_diff.dtype)
    abs_diff[matches] = 0
    rel_diff[matches] = 0
    total, wrong = matches.size, int(matches.size - np.count_nonzero(matches))
    lines = [f"Mismatched elements: {wrong} / {total} ({wrong / total:.1%})"]
    for label, diff, tol in (("absolute", abs_diff, atol), ("relative", rel_diff, rtol)):
        flat = int(np.argmax(diff.reshape(-1)))  # the first NaN, else the first maximum
        line = (f"Greatest {label} difference: {diff.reshape(-1)[flat].item()} at index "
                f"{_unravel(flat, x.shape)}")
        lines.append(line if exact else f"{line} (up to {tol} allowed)")
    verdict = "equal" if exact else "close"
    return f"{what} are not {verdict}!\n\n" + "\n".join(lines)


# -- walking the inputs -----------------------------------------------------------------------

def _is_sequence(x) -> bool:
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, str)


def _key_order(keys):
    try:
        return sorted(keys)
    except TypeError:  # keys of mixed types keep the given order
        return list(keys)


def _collect(actual, expected, path: tuple, options: dict, leaves: list) -> None:
    """Append the leaf pairs of ``actual`` and ``expected`` to ``leaves`` in comparison
    order, raising for mismatched structure and unsupported inputs."""
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Failure(AssertionError, "The length of the sequences mismatch: "
                                           f"{len(actual)} != {len(expected)}", path)
        for index, (a, b) in enumerate(zip(actual, expected)):
            _collect(a, b, (*path, index), options, leaves)
        return
    if isinstance(actual, collections.abc.Mapping) and \
            isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            missing = _key_order(set(expected) - set(actual))
            extra = _key_order(set(actual) - set(expected))
            raise _Failure(AssertionError, "The keys of the mappings do not match:\n"
                                           f"Missing keys in the actual mapping: {missing}\n"
                                           f"Additional keys in the actual mapping: {extra}",
                           path)
        # keys that cannot be sorted go in the order of a set of the actual mapping's keys, as
        # PyTorch's (so which mismatch is reported first follows Python's hash seed there too)
        for key in _key_order(set(actual.keys())):
            _collect(actual[key], expected[key], (*path, key), options, leaves)
        return
    leaves.append(_make_leaf(actual, expected, path, options))


def _make_leaf(actual, expected, path: tuple, options: dict) -> _Leaf:
    if actual is None or expected is None:
        return _NoneLeaf(actual, expected, path)
    if _is_bool(actual) and _is_bool(expected):
        return _BoolLeaf(actual, expected, path)
    if _is_number(actual) and _is_number(expected):
        try:
            return _NumberLeaf(actual, expected, path, **options)
        except _Failure:
            raise
        except Exception as error:
            where = "".join(f"[{k!r}]" for k in path)
            raise RuntimeError(
                f"Originating a NumberPair() at item {where} with\n\n"
                f"{type(actual).__name__}(): {actual}\n\nand\n\n"
                f"{type(expected).__name__}(): {expected}\n\nresulted in the unexpected "
                "exception above. If you are a user and see this message during normal "
                f"operation please file an issue at {_REPORT_URL}. If you are a developer and "
                "working on the comparison functions, please except the previous error and "
                "raise an expressive `ErrorMeta` instead.") from error
    tensor_likes = (isinstance(actual, Tensor) and isinstance(expected, Tensor)) or (
        isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)
        and actual.dtype.kind in "biufc" and expected.dtype.kind in "biufc")
    if tensor_likes and _related(actual, expected, options["allow_subclasses"]):
        return _TensorLeaf(actual, expected, path, **options)
    raise _unsupported(actual, expected, path)


def _compare(actual, expected, msg, options: dict) -> None:
    leaves: list[_Leaf] = []
    try:
        _collect(actual, expected, (), options, leaves)
    except _Failure as failure:
        raise failure.build() from None  # structural problems ignore ``msg``
    for leaf in leaves:
        try:
            leaf.check()
        except _Failure as failure:
            raise failure.build(msg) from None


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close.

    Tensors (and NumPy arrays) must agree in shape and, unless switched off, device, dtype and
    layout (and stride with ``check_stride=True``); their values must satisfy
    ``|actual - expected| <= atol + rtol * |expected|`` elementwise, with infinities equal and
    NaNs equal only under ``equal_nan``. Without ``rtol``/``atol`` (give both or neither) the
    tolerances follow the dtypes: float32 ``(1.3e-6, 1e-5)``, float64 ``(1e-7, 1e-7)``,
    float16 ``(1e-3, 1e-5)``, bfloat16 ``(0.016, 1e-5)``, exact for integers and booleans.
    Python numbers, booleans and ``None`` compare as scalars; sequences and mappings are
    compared item by item, and a failure names the item. ``msg`` replaces the mismatch text,
    or, if callable, receives it and returns the text to raise. Inputs that cannot be
    compared raise ``TypeError``.

    Example:
        >>> assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-6]))
        >>> assert_close({"w": ember.zeros(2), "n": 3}, {"w": ember.zeros(2), "n": 3})
        >>> assert_close(ember.tensor([1.0]), ember.tensor([1.5]))
        Traceback (most recent call last):
            ...
        AssertionError: Tensor-likes are not close!
        <BLANKLINE>
        Mismatched elements: 1 / 1 (100.0%)
        Greatest absolute difference: 0.5 at index (0,) (up to 1e-05 allowed)
        Greatest relative difference: 0.3333333432674408 at index (0,) (up to 1.3e-06 allowed)
    """
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                   check_device=check_device, check_dtype=check_dtype,
                   check_layout=check_layout, check_stride=check_stride)
    _compare(actual, expected, msg, options)


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None,
                    atol: float | None = None, equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated form of :func:`assert_close` (it warns with ``FutureWarning``): inputs that
    are not tensors are turned into tensors (``expected`` in ``actual``'s dtype), dtypes and
    strides need not match, NaNs compare equal by default, and the default tolerances are
    looser: float16 ``(1e-3, 1e-3)``, float32 ``(1e-4, 1e-5)``, float64 ``(1e-5, 1e-8)``,
    exact otherwise.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     assert_allclose(ember.tensor([1.0, 2.0]), [1.00001, 2.0])
    """
    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
        "future release. Please use `torch.testing.assert_close()` instead. You can find "
        f"detailed upgrade instructions in {_REPORT_URL}/61844.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = as_tensor(actual)
    if not isinstance(expected, Tensor):
        expected = as_tensor(expected, dtype=actual.dtype)
    options = dict(allow_subclasses=True, rtol=rtol, atol=atol, equal_nan=equal_nan,
                   check_device=True, check_dtype=False, check_layout=True,
                   check_stride=False)
    try:
        leaf = _TensorLeaf(actual, expected, (), tolerance_table=_ALLCLOSE_DEFAULTS, **options)
    except _Failure as failure:
        raise failure.build() from None
    try:
        leaf.check()
    except _Failure as failure:
        raise failure.build(msg or None) from None
