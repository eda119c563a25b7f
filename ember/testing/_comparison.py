"""``assert_close``: compare tensors, numbers and containers of them as ``torch.testing`` does.

The inputs are split into pairs (sequences item by item, mappings key by key); each pair is
compared by the first pair type that accepts it (None, booleans, numbers, tensor-likes). Default
tolerances depend on the dtype; the failure message counts the mismatched elements and names the
greatest absolute and relative differences with their indices, word for word as PyTorch's.
"""

from __future__ import annotations

import cmath
import collections.abc
import contextlib
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from .. import _dtype
from .._tensor import Tensor

__all__ = ["assert_allclose", "assert_close"]

_ISSUES = "https://github.com/pytorch/pytorch/issues"


class ErrorMeta(Exception):
    """An error with its final type and message, raised for the user by ``to_error``."""

    def __init__(self, type: type[Exception], msg: str, *, id: tuple = ()) -> None:
        super().__init__("ErrorMeta is internal to ember.testing; call to_error().")
        self.type = type
        self.msg = msg
        self.id = id

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if not isinstance(msg, str):
            generated_msg = self.msg
            if self.id:
                generated_msg += ("\n\nThe failure occurred for item "
                                  f"{''.join(str([item]) for item in self.id)}")
            msg = msg(generated_msg) if callable(msg) else generated_msg
        return self.type(msg)


def _dtype_precisions() -> dict:
    table = {
        "float16": (0.001, 1e-5),
        "bfloat16": (0.016, 1e-5),
        "float32": (1.3e-6, 1e-5),
        "float64": (1e-7, 1e-7),
        "complex32": (0.001, 1e-5),
        "complex64": (1.3e-6, 1e-5),
        "complex128": (1e-7, 1e-7),
    }
    return {getattr(_dtype, name): tol for name, tol in table.items() if hasattr(_dtype, name)}


def default_tolerances(*inputs, dtype_precisions: dict | None = None) -> tuple[float, float]:
    """The largest default ``(rtol, atol)`` among the dtypes of ``inputs`` (tensors or dtypes)."""
    dtypes = []
    for item in inputs:
        if isinstance(item, Tensor):
            dtypes.append(item.dtype)
        elif isinstance(item, _dtype.dtype):
            dtypes.append(item)
        else:
            raise TypeError(
                f"Expected a torch.Tensor or a torch.dtype, but got {type(item)} instead.")
    dtype_precisions = dtype_precisions or _dtype_precisions()
    rtols, atols = zip(*[dtype_precisions.get(d, (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def get_tolerances(*inputs, rtol: float | None, atol: float | None,
                   id: tuple = ()) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        raise ErrorMeta(
            ValueError,
            "Both 'rtol' and 'atol' must be either specified or omitted, "
            f"but got no {'rtol' if rtol is None else 'atol'}.",
            id=id)
    if rtol is not None and atol is not None:
        return rtol, atol
    return default_tolerances(*inputs)


def _make_mismatch_msg(*, default_identifier: str, identifier=None, extra: str | None = None,
                       abs_diff: float, abs_diff_idx=None, atol: float, rel_diff: float,
                       rel_diff_idx=None, rtol: float) -> str:
    equality = rtol == 0 and atol == 0

    def make_diff_msg(kind: str, diff: float, idx, tol: float) -> str:
        if idx is None:
            msg = f"{kind.title()} difference: {diff}"
        else:
            msg = f"Greatest {kind} difference: {diff} at index {idx}"
        if not equality:
            msg += f" (up to {tol} allowed)"
        return msg + "\n"

    if identifier is None:
        identifier = default_identifier
    elif callable(identifier):
        identifier = identifier(default_identifier)
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    msg += make_diff_msg("absolute", abs_diff, abs_diff_idx, atol)
    msg += make_diff_msg("relative", rel_diff, rel_diff_idx, rtol)
    return msg.strip()


def make_scalar_mismatch_msg(actual, expected, *, rtol: float, atol: float,
                             identifier=None) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _make_mismatch_msg(default_identifier="Scalars", identifier=identifier,
                              extra=f"Expected {expected} but got {actual}.", abs_diff=abs_diff,
                              atol=atol, rel_diff=rel_diff, rtol=rtol)


def make_tensor_mismatch_msg(actual: Tensor, expected: Tensor, matches: Tensor, *, rtol: float,
                             atol: float, identifier=None) -> str:
    import ember

    def unravel_flat_index(flat_index: int) -> tuple:
        if not matches.shape:
            return ()
        return tuple(int(i) for i in np.unravel_index(flat_index, tuple(matches.shape)))

    number_of_elements = matches.numel()
    total_mismatches = number_of_elements - int(ember.sum(matches))
    extra = (f"Mismatched elements: {total_mismatches} / {number_of_elements} "
             f"({total_mismatches / number_of_elements:.1%})")
    actual_flat = actual.flatten()
    expected_flat = expected.flatten()
    matches_flat = matches.flatten()
    if not actual.dtype.is_floating_point and not actual.dtype.is_complex:
        actual_flat = actual_flat.to(ember.int64)
        expected_flat = expected_flat.to(ember.int64)
    abs_diff = ember.abs(actual_flat - expected_flat)
    abs_diff[matches_flat] = 0
    max_abs_diff, max_abs_diff_flat_idx = ember.max(abs_diff, 0)
    rel_diff = abs_diff / ember.abs(expected_flat)
    rel_diff[matches_flat] = 0
    max_rel_diff, max_rel_diff_flat_idx = ember.max(rel_diff, 0)
    return _make_mismatch_msg(
        default_identifier="Tensor-likes", identifier=identifier, extra=extra,
        abs_diff=max_abs_diff.item(), abs_diff_idx=unravel_flat_index(int(max_abs_diff_flat_idx)),
        atol=atol, rel_diff=max_rel_diff.item(),
        rel_diff_idx=unravel_flat_index(int(max_rel_diff_flat_idx)), rtol=rtol)


class UnsupportedInputs(Exception):
    """Raised by a pair type's constructor for inputs it does not handle."""


class Pair:
    """One ``(actual, expected)`` leaf of the inputs and the way to compare it."""

    def __init__(self, actual: Any, expected: Any, *, id: tuple = (), **unknown_parameters):
        self.actual = actual
        self.expected = expected
        self.id = id
        self._unknown_parameters = unknown_parameters

    @staticmethod
    def _inputs_not_supported() -> NoReturn:
        raise UnsupportedInputs

    @staticmethod
    def _check_inputs_isinstance(*inputs, cls) -> None:
        if not all(isinstance(item, cls) for item in inputs):
            Pair._inputs_not_supported()

    def _fail(self, type: type[Exception], msg: str, *, id: tuple = ()) -> NoReturn:
        raise ErrorMeta(type, msg, id=self.id if not id and hasattr(self, "id") else id)

    def compare(self) -> None:
        raise NotImplementedError

    def extra_repr(self) -> Sequence:
        return []

    def __repr__(self) -> str:
        body = [f"    {name}={value!s},"
                for name, value in [("id", self.id), ("actual", self.actual),
                                    ("expected", self.expected),
                                    *[(extra, getattr(self, extra))
                                      for extra in self.extra_repr()]]]
        return "\n".join((f"{type(self).__name__}(", *body, ")"))


class NonePair(Pair):
    """Passes when both inputs are None."""

    def __init__(self, actual, expected, **other_parameters) -> None:
        if not (actual is None or expected is None):
            self._inputs_not_supported()
        super().__init__(actual, expected, **other_parameters)

    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            self._fail(AssertionError, f"None mismatch: {self.actual} is not {self.expected}")


class BooleanPair(Pair):
    """Python and NumPy booleans; compared for identity."""

    def __init__(self, actual, expected, *, id: tuple, **other_parameters) -> None:
        self._check_inputs_isinstance(actual, expected, cls=(bool, np.bool_))
        actual, expected = (bool(x) for x in (actual, expected))
        super().__init__(actual, expected, **other_parameters)

    def compare(self) -> None:
        if self.actual is not self.expected:
            self._fail(AssertionError, f"Booleans mismatch: {self.actual} is not {self.expected}")


class NumberPair(Pair):
    """Python and NumPy numbers, compared as float64/int64/complex128 values."""

    _NUMBER_TYPES = (int, float, complex)

    def __init__(self, actual, expected, *, id: tuple = (), rtol=None, atol=None,
                 equal_nan: bool = False, check_dtype: bool = False, **other_parameters):
        self._check_inputs_isinstance(actual, expected, cls=(*self._NUMBER_TYPES, np.number))
        actual, expected = (x.item() if isinstance(x, np.number) else x
                            for x in (actual, expected))
        super().__init__(actual, expected, id=id, **other_parameters)
        type_to_dtype = {int: _dtype.int64, float: _dtype.float64, complex: _dtype.complex128}
        self.rtol, self.atol = get_tolerances(*[type_to_dtype[type(x)] for x in (actual, expected)],
                                              rtol=rtol, atol=atol, id=id)
        self.equal_nan = equal_nan
        self.check_dtype = check_dtype

    def compare(self) -> None:
        if self.check_dtype and type(self.actual) is not type(self.expected):
            self._fail(AssertionError, f"The (d)types do not match: {type(self.actual)} != "
                                       f"{type(self.expected)}.")
        if self.actual == self.expected:
            return
        if self.equal_nan and cmath.isnan(self.actual) and cmath.isnan(self.expected):
            return
        abs_diff = abs(self.actual - self.expected)
        tolerance = self.atol + self.rtol * abs(self.expected)
        if cmath.isfinite(abs_diff) and abs_diff <= tolerance:
            return
        self._fail(AssertionError, make_scalar_mismatch_msg(self.actual, self.expected,
                                                            rtol=self.rtol, atol=self.atol))

    def extra_repr(self) -> Sequence[str]:
        return ("rtol", "atol", "equal_nan", "check_dtype")


class TensorLikePair(Pair):
    """Tensors, and pairs of objects ``torch.as_tensor`` accepts (NumPy arrays)."""

    def __init__(self, actual, expected, *, id: tuple = (), allow_subclasses: bool = True,
                 rtol=None, atol=None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 **other_parameters):
        related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
        if not related:
            self._inputs_not_supported()
        if not allow_subclasses and type(actual) is not type(expected):
            self._inputs_not_supported()
        actual, expected = (self._to_tensor(x) for x in (actual, expected))
        super().__init__(actual, expected, id=id, **other_parameters)
        self.rtol, self.atol = get_tolerances(actual, expected, rtol=rtol, atol=atol, id=self.id)
        self.equal_nan = equal_nan
        self.check_device = check_device
        self.check_dtype = check_dtype
        self.check_layout = check_layout
        self.check_stride = check_stride

    def _to_tensor(self, tensor_like) -> Tensor:
        if isinstance(tensor_like, Tensor):
            return tensor_like
        from .. import as_tensor

        try:
            return as_tensor(tensor_like)
        except Exception:
            self._inputs_not_supported()

    def compare(self) -> None:
        actual, expected = self.actual, self.expected
        self._compare_attributes(actual, expected)
        if any(x.device.type == "meta" for x in (actual, expected)):
            return
        actual, expected = self._equalize_attributes(actual, expected)
        self._compare_values(actual, expected)

    def _compare_attributes(self, actual: Tensor, expected: Tensor) -> None:
        def mismatch(attribute_name, actual_value, expected_value) -> NoReturn:
            self._fail(AssertionError, f"The values for attribute '{attribute_name}' do not "
                                       f"match: {actual_value} != {expected_value}.")

        if actual.shape != expected.shape:
            mismatch("shape", actual.shape, expected.shape)
        if actual.layout != expected.layout:
            if self.check_layout:
                mismatch("layout", actual.layout, expected.layout)
        elif (actual.layout == _strided() and self.check_stride
              and actual.stride() != expected.stride()):
            mismatch("stride()", actual.stride(), expected.stride())
        if self.check_device and actual.device != expected.device:
            mismatch("device", actual.device, expected.device)
        if self.check_dtype and actual.dtype != expected.dtype:
            mismatch("dtype", actual.dtype, expected.dtype)

    def _equalize_attributes(self, actual: Tensor, expected: Tensor) -> tuple[Tensor, Tensor]:
        from .. import promote_types

        if actual.device != expected.device:
            actual, expected = actual.cpu(), expected.cpu()
        if actual.dtype != expected.dtype:
            dtype = promote_types(actual.dtype, expected.dtype)
            actual, expected = actual.to(dtype), expected.to(dtype)
        if actual.layout != expected.layout:
            actual = actual.to_dense() if actual.layout != _strided() else actual
            expected = expected.to_dense() if expected.layout != _strided() else expected
        return actual, expected

    def _compare_values(self, actual: Tensor, expected: Tensor) -> None:
        if actual.layout != _strided():  # sparse COO: compare the dense values
            actual, expected = actual.to_dense(), expected.to_dense()
        self._compare_regular_values_close(actual, expected, rtol=self.rtol, atol=self.atol,
                                           equal_nan=self.equal_nan)

    def _compare_regular_values_close(self, actual: Tensor, expected: Tensor, *, rtol: float,
                                      atol: float, equal_nan: bool, identifier=None) -> None:
        import ember

        # inf - inf and x / 0 are expected here; NumPy's warnings about them are not wanted.
        with ember.no_grad(), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            actual, expected = actual.detach(), expected.detach()
            matches = ember.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan)
            if bool(ember.all(matches)):
                return
            if actual.shape == ():
                msg = make_scalar_mismatch_msg(actual.item(), expected.item(), rtol=rtol,
                                               atol=atol, identifier=identifier)
            else:
                msg = make_tensor_mismatch_msg(actual, expected, matches, rtol=rtol, atol=atol,
                                               identifier=identifier)
        self._fail(AssertionError, msg)

    def extra_repr(self) -> Sequence[str]:
        return ("rtol", "atol", "equal_nan", "check_device", "check_dtype", "check_layout",
                "check_stride")


def _strided():
    from .._layout import strided

    return strided


def originate_pairs(actual, expected, *, pair_types, sequence_types=(collections.abc.Sequence,),
                    mapping_types=(collections.abc.Mapping,), id: tuple = (),
                    **options) -> list[Pair]:
    """Split ``actual``/``expected`` into leaf pairs, checking lengths and keys on the way."""
    if (isinstance(actual, sequence_types) and not isinstance(actual, str)
            and isinstance(expected, sequence_types) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise ErrorMeta(AssertionError, f"The length of the sequences mismatch: "
                                            f"{len(actual)} != {len(expected)}", id=id)
        pairs = []
        for idx in range(len(actual)):
            pairs.extend(originate_pairs(actual[idx], expected[idx], pair_types=pair_types,
                                         sequence_types=sequence_types,
                                         mapping_types=mapping_types, id=(*id, idx), **options))
        return pairs
    if isinstance(actual, mapping_types) and isinstance(expected, mapping_types):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            raise ErrorMeta(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {sorted(expected_keys - actual_keys)}\n"
                f"Additional keys in the actual mapping: {sorted(actual_keys - expected_keys)}",
                id=id)
        keys: Any = actual_keys
        with contextlib.suppress(Exception):
            keys = sorted(keys)
        pairs = []
        for key in keys:
            pairs.extend(originate_pairs(actual[key], expected[key], pair_types=pair_types,
                                         sequence_types=sequence_types,
                                         mapping_types=mapping_types, id=(*id, key), **options))
        return pairs
    for pair_type in pair_types:
        try:
            return [pair_type(actual, expected, id=id, **options)]
        except UnsupportedInputs:
            continue
        except ErrorMeta:
            raise
        except Exception as error:
            raise RuntimeError(
                f"Originating a {pair_type.__name__}() at item "
                f"{''.join(str([item]) for item in id)} with\n\n"
                f"{type(actual).__name__}(): {actual}\n\nand\n\n"
                f"{type(expected).__name__}(): {expected}\n\n"
                f"resulted in the unexpected exception above. If you are a user and see this "
                f"message during normal operation please file an issue at {_ISSUES}.") from error
    raise ErrorMeta(TypeError, f"No comparison pair was able to handle inputs of type "
                               f"{type(actual)} and {type(expected)}.", id=id)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, msg: str | Callable[[str], str] | None = None):
    """Assert that ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol *
    |expected|`` elementwise, with matching shape, device and dtype.

    Without ``rtol``/``atol`` the tolerances come from the dtype (float32: ``1.3e-6``/``1e-5``,
    float64: ``1e-7``/``1e-7``, float16: ``1e-3``/``1e-5``, integers and bool: exact).
    Sequences are compared item by item and mappings key by key; Python numbers, NumPy arrays
    and scalars are accepted as PyTorch accepts them.

    Args:
        actual, expected: tensors, numbers, NumPy arrays, or sequences/mappings of them.
        allow_subclasses: accept inputs of directly related types (default ``True``).
        rtol, atol: relative and absolute tolerance; give both or neither.
        equal_nan: NaNs compare equal.
        check_device, check_dtype, check_layout: require equal devices, dtypes and layouts.
        check_stride: require equal strides.
        msg: replaces the failure message; a callable receives the generated one.

    Raises:
        AssertionError: the values or attributes differ; the message counts the mismatched
            elements and names the greatest absolute and relative difference and their index.

    Example:
        >>> ember.testing.assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.5]))
        Traceback (most recent call last):
        AssertionError: Tensor-likes are not close!
        ...
    """
    __tracebackhide__ = True
    try:
        pairs = originate_pairs(
            actual, expected, pair_types=(NonePair, BooleanPair, NumberPair, TensorLikePair),
            allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
            check_device=check_device, check_dtype=check_dtype, check_layout=check_layout,
            check_stride=check_stride, msg=msg)
    except ErrorMeta as error_meta:
        raise error_meta.to_error() from None
    for pair in pairs:
        try:
            pair.compare()
        except ErrorMeta as error_meta:
            raise error_meta.to_error(msg) from None


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None,
                    atol: float | None = None, equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated since PyTorch 1.12: use :func:`assert_close` (this forwards to it with the old
    default tolerances).

    Example:
        >>> ember.testing.assert_allclose(ember.tensor(1.0), 1.0)
    """
    from .. import tensor

    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
        "future release. Please use `torch.testing.assert_close()` instead. You can find "
        "detailed upgrade instructions in https://github.com/pytorch/pytorch/issues/61844.",
        FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = default_tolerances(actual, expected, dtype_precisions={
            _dtype.float16: (1e-3, 1e-3), _dtype.float32: (1e-4, 1e-5),
            _dtype.float64: (1e-5, 1e-8)})
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, check_stride=False, msg=msg or None)
