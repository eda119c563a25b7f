"""ember.testing against torch.testing: assert_close's verdicts, exception types and messages
(word for word), and make_tensor's shapes, dtypes, ranges and argument checks."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")

# Each case runs with lib = torch and lib = ember; both must pass, or fail the same way.
CASES = {
    "close_float32": lambda t: t.testing.assert_close(t.tensor([1., 2., 3.]),
                                                      t.tensor([1., 2.000001, 3.])),
    "float32_mismatch": lambda t: t.testing.assert_close(t.tensor([1., 2., 3.]),
                                                         t.tensor([1., 2.5, 3.])),
    "two_d_index": lambda t: t.testing.assert_close(t.tensor([[1., 2.], [3., 4.]]),
                                                    t.tensor([[1., 2.], [3.3, 0.]])),
    "int_equal": lambda t: t.testing.assert_close(t.tensor([1, 2, 3]), t.tensor([1, 5, 4])),
    "int_rel": lambda t: t.testing.assert_close(t.tensor([3, 2]), t.tensor([1, 2])),
    "bool_tensor": lambda t: t.testing.assert_close(t.tensor([True, False]),
                                                    t.tensor([True, True])),
    "zero_dim": lambda t: t.testing.assert_close(t.tensor(1.), t.tensor(1.5)),
    "python_float": lambda t: t.testing.assert_close(1.0, 1.5),
    "python_int": lambda t: t.testing.assert_close(1, 2),
    "int_vs_float": lambda t: t.testing.assert_close(1, 1.0),
    "numpy_scalar": lambda t: t.testing.assert_close(np.float32(1.0), 1.5),
    "python_bools": lambda t: t.testing.assert_close(True, False),
    "none_vs_int": lambda t: t.testing.assert_close(None, 1),
    "none_none": lambda t: t.testing.assert_close(None, None),
    "string": lambda t: t.testing.assert_close("a", "b"),
    "list_item": lambda t: t.testing.assert_close([t.tensor(1.), t.tensor([1., 2.])],
                                                  [t.tensor(1.), t.tensor([1., 3.])]),
    "dict_item": lambda t: t.testing.assert_close({"a": t.zeros(2), "b": 1},
                                                  {"a": t.zeros(2), "b": 2}),
    "dict_keys": lambda t: t.testing.assert_close({"a": 1}, {"b": 1}),
    "seq_length": lambda t: t.testing.assert_close([1, 2], [1]),
    "dtype": lambda t: t.testing.assert_close(t.zeros(2), t.zeros(2, dtype=t.float64)),
    "no_check_dtype": lambda t: t.testing.assert_close(t.zeros(2), t.ones(2, dtype=t.float64),
                                                       check_dtype=False),
    "mixed_promote": lambda t: t.testing.assert_close(t.tensor([1, 2]), t.tensor([1., 2.5]),
                                                      check_dtype=False),
    "shape": lambda t: t.testing.assert_close(t.zeros(2), t.zeros(3)),
    "rtol_only": lambda t: t.testing.assert_close(t.zeros(2), t.zeros(2), rtol=1e-3),
    "atol_only": lambda t: t.testing.assert_close(t.zeros(2), t.zeros(2), atol=1e-3),
    "explicit_tol": lambda t: t.testing.assert_close(t.tensor([1., 2.]), t.tensor([1.1, 2.]),
                                                     rtol=0.01, atol=0.01),
    "nan": lambda t: t.testing.assert_close(t.tensor([NAN]), t.tensor([NAN])),
    "equal_nan": lambda t: t.testing.assert_close(t.tensor([NAN, 1.]), t.tensor([NAN, 1.]),
                                                  equal_nan=True),
    "nan_vs_number": lambda t: t.testing.assert_close(t.tensor([1., NAN]), t.tensor([1., 2.])),
    "inf": lambda t: t.testing.assert_close(t.tensor([1., INF]), t.tensor([0., INF])),
    "expected_zero": lambda t: t.testing.assert_close(t.tensor([1., 1.]), t.tensor([0., 1.])),
    "numpy_arrays": lambda t: t.testing.assert_close(np.array([1., 2.]), np.array([1., 3.])),
    "msg": lambda t: t.testing.assert_close(t.tensor([1.]), t.tensor([2.]), msg="custom"),
    "msg_callable": lambda t: t.testing.assert_close(t.tensor([1.]), t.tensor([2.]),
                                                     msg=lambda m: "X" + m),
    "float16": lambda t: t.testing.assert_close(t.tensor([1., 2.], dtype=t.float16),
                                                t.tensor([1., 2.01], dtype=t.float16)),
    "float64": lambda t: t.testing.assert_close(t.tensor([1., 2.], dtype=t.float64),
                                                t.tensor([1., 2.0001], dtype=t.float64)),
    "complex": lambda t: t.testing.assert_close(t.tensor([1 + 1j]), t.tensor([1 + 2j])),
    "stride": lambda t: t.testing.assert_close(t.zeros(2, 3).t(), t.zeros(3, 2),
                                               check_stride=True),
    "requires_grad": lambda t: t.testing.assert_close(t.ones(2, requires_grad=True) * 2,
                                                      t.full((2,), 2.)),
    "many_elements": lambda t: t.testing.assert_close(t.arange(1000.).reshape(10, 100),
                                                      t.arange(1000.).reshape(10, 100) * 1.01),
    "tensor_vs_numpy": lambda t: t.testing.assert_close(t.tensor([1.]), np.array([1.])),
    "tensor_vs_float": lambda t: t.testing.assert_close(t.tensor(1.), 1.),
}


def _outcome(lib, case):
    try:
        case(lib)
    except Exception as e:  # the exception type and message are what we compare
        return type(e).__name__, str(e).replace("ember._tensor.Tensor", "torch.Tensor")
    return "passed", ""


@pytest.mark.parametrize("name", sorted(CASES))
def test_assert_close_matches_torch(name):
    assert _outcome(ember, CASES[name]) == _outcome(torch, CASES[name])


def test_mismatch_message_format():
    with pytest.raises(AssertionError) as info:
        ember.testing.assert_close(ember.tensor([1., 2., 3.]), ember.tensor([1., 2.5, 3.]))
    assert str(info.value) == (
        "Tensor-likes are not close!\n\n"
        "Mismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)")


def test_default_tolerances_per_dtype():
    from torch.testing._comparison import default_tolerances as torch_default_tolerances

    from ember.testing._comparison import default_tolerances

    for name in ["float16", "bfloat16", "float32", "float64", "complex64", "complex128",
                 "int64", "bool", "uint8"]:
        assert default_tolerances(getattr(ember, name)) == \
            torch_default_tolerances(getattr(torch, name)), name


def test_assert_allclose_is_deprecated_and_forwards():
    with pytest.warns(FutureWarning, match="assert_close"):
        ember.testing.assert_allclose(ember.tensor([1.0]), [1.00001])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AssertionError):
            ember.testing.assert_allclose(ember.tensor([1.0]), [1.1])


# -- make_tensor ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "complex64", "int64",
                                   "int8", "uint8", "bool"])
def test_make_tensor_shape_dtype_range(dtype):
    ember.manual_seed(0)
    d = getattr(ember, dtype)
    x = ember.testing.make_tensor(4, 5, dtype=d, device="cpu")
    assert x.dtype is d and tuple(x.shape) == (4, 5) and x.device.type == "cpu"
    y = ember.testing.make_tensor((4, 5), dtype=d, device="cpu")
    assert tuple(y.shape) == (4, 5)
    a = x.numpy()
    if dtype == "bool":
        return
    if dtype.startswith("complex"):
        parts = [a.real, a.imag]
    else:
        parts = [a]
    high = 10 if dtype.startswith(("int", "uint")) else 9
    low = 0 if dtype == "uint8" else -9
    for p in parts:
        assert p.min() >= low and p.max() < high


def test_make_tensor_options():
    x = ember.testing.make_tensor(3, 4, dtype=ember.float32, device="cpu", low=-1, high=1,
                                  requires_grad=True, noncontiguous=True)
    assert x.requires_grad and not x.is_contiguous() and tuple(x.shape) == (3, 4)
    assert float(x.detach().abs().max()) <= 1
    z = ember.testing.make_tensor(200, dtype=ember.int8, device="cpu", low=-1, high=1,
                                  exclude_zero=True)
    assert not (z == 0).any()
    f = ember.testing.make_tensor(5, dtype=ember.float64, device="cpu", low=-1e308, high=1e308)
    assert np.isfinite(f.numpy()).all()
    # One element: noncontiguous has nothing to skip, as in torch.
    assert ember.testing.make_tensor(1, dtype=ember.float32, device="cpu",
                                     noncontiguous=True).is_contiguous()


MAKE_TENSOR_ERRORS = {
    "low_ge_high": dict(dtype="float32", low=2, high=1),
    "nan_low": dict(dtype="float32", low=NAN),
    "int_grad": dict(dtype="int64", requires_grad=True),
    "out_of_range": dict(dtype="uint8", low=-5, high=-1),
}


@pytest.mark.parametrize("name", sorted(MAKE_TENSOR_ERRORS))
def test_make_tensor_errors_match_torch(name):
    kwargs = dict(MAKE_TENSOR_ERRORS[name])
    dtype = kwargs.pop("dtype")
    messages = []
    for lib in (torch, ember):
        with pytest.raises(ValueError) as info:
            lib.testing.make_tensor(3, dtype=getattr(lib, dtype), device="cpu", **kwargs)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_make_tensor_low_equals_high_warns():
    with pytest.warns(FutureWarning, match="low==high"):
        x = ember.testing.make_tensor(3, dtype=ember.float32, device="cpu", low=1, high=1)
    assert (x == 1).all()
