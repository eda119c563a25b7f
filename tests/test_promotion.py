"""Type promotion matches PyTorch for every dtype pair: tensor-tensor, tensor-0d and
tensor-Python-scalar, through result_type, promote_types and real ops (+, *, /, ==, where)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64", "complex64", "complex128"]
SCALARS = [True, 3, -2, 2.5, 1 + 2j]


def _pair(torch, name, shape):
    e = ember.ones(shape, dtype=getattr(ember, name))
    t = torch.ones(shape, dtype=getattr(torch, name))
    return e, t


def _dtype_of(fn, *args):
    """The result dtype of fn(*args), or the name of the exception it raises."""
    try:
        return str(fn(*args).dtype)
    except (RuntimeError, TypeError, NotImplementedError) as err:
        return type(err).__name__


def _check(torch, a, b, sa, sb):
    ea, ta = _pair(torch, a, sa)
    eb, tb = _pair(torch, b, sb)
    if torch.result_type(ta, tb) == torch.complex32:
        return  # NumPy has no complex32, so ember has none (float16 with a complex 0-d/scalar)
    assert str(ember.result_type(ea, eb)) == str(torch.result_type(ta, tb)), (a, b, sa, sb)
    for op in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x / y,
               lambda x, y: x == y):
        assert _dtype_of(op, ea, eb) == _dtype_of(op, ta, tb), (a, b, sa, sb)
    ce, ct = ember.tensor([True, False]), torch.tensor([True, False])
    assert _dtype_of(ember.where, ce, ea, eb) == \
        _dtype_of(torch.where, ct, ta, tb), (a, b, sa, sb)


def test_promote_types_all_pairs(torch):
    for a, b in itertools.product(NAMES, NAMES):
        got = ember.promote_types(getattr(ember, a), getattr(ember, b))
        assert str(got) == str(torch.promote_types(getattr(torch, a), getattr(torch, b))), (a, b)


@pytest.mark.parametrize("shapes", [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())],
                         ids=["dim-dim", "dim-0d", "0d-dim", "0d-0d"])
def test_tensor_pairs_exhaustive(torch, shapes):
    for a, b in itertools.product(NAMES, NAMES):
        _check(torch, a, b, *shapes)


@pytest.mark.parametrize("shape", [(2,), ()], ids=["dim", "0d"])
def test_tensor_scalar_exhaustive(torch, shape):
    for name, s in itertools.product(NAMES, SCALARS):
        e, t = _pair(torch, name, shape)
        if torch.result_type(t, s) == torch.complex32:
            continue  # no complex32 in ember (see _check)
        assert str(ember.result_type(e, s)) == str(torch.result_type(t, s)), (name, s)
        for op in (lambda x, y: x + y, lambda x, y: y * x, lambda x, y: x / y,
                   lambda x, y: x == y, lambda x, y: x - y):
            assert _dtype_of(op, e, s) == _dtype_of(op, t, s), (name, s)
        ce, ct = ember.tensor([True, False]), torch.tensor([True, False])
        assert _dtype_of(ember.where, ce, e, s) == \
            _dtype_of(torch.where, ct, t, s), (name, s)
        assert _dtype_of(ember.where, ce, s, e) == \
            _dtype_of(torch.where, ct, s, t), (name, s)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), st.sampled_from(["dim", "0d", "scalar"]),
       st.sampled_from(NAMES), st.sampled_from(["dim", "0d"]), st.sampled_from(SCALARS))
def test_result_type_property(a, kind_a, b, kind_b, scalar):
    """result_type(a, b) and the dtype of a + b agree with torch for random operand kinds."""
    torch = pytest.importorskip("torch")
    if kind_a == "scalar":
        ea = ta = scalar
    else:
        ea, ta = _pair(torch, a, (2,) if kind_a == "dim" else ())
    eb, tb = _pair(torch, b, (2,) if kind_b == "dim" else ())
    if torch.result_type(ta, tb) == torch.complex32:
        return  # no complex32 in ember (see _check)
    assert str(ember.result_type(ea, eb)) == str(torch.result_type(ta, tb))
    assert _dtype_of(lambda x, y: x + y, eb, ea) == _dtype_of(lambda x, y: x + y, tb, ta)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(NAMES), st.sampled_from(NAMES),
       st.sampled_from(["add", "sub", "mul", "div", "eq", "lt", "maximum", "where"]))
def test_op_values_and_dtypes(a, b, op):
    """Values as well as dtypes agree on small tensors of random dtype pairs."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(3,))
    y = rng.integers(1, 3, size=(3,))
    ea, eb = ember.tensor(x).to(getattr(ember, a)), ember.tensor(y).to(getattr(ember, b))
    ta, tb = torch.tensor(x).to(getattr(torch, a)), torch.tensor(y).to(getattr(torch, b))
    fns = {"add": lambda L, p, q: L.add(p, q), "sub": lambda L, p, q: L.sub(p, q),
           "mul": lambda L, p, q: L.mul(p, q), "div": lambda L, p, q: L.div(p, q),
           "eq": lambda L, p, q: L.eq(p, q), "lt": lambda L, p, q: L.lt(p, q),
           "maximum": lambda L, p, q: L.maximum(p, q),
           "where": lambda L, p, q: L.where(q > 1, p, q)}
    fn = fns[op]
    try:
        expected = fn(torch, ta, tb)
    except (RuntimeError, TypeError, NotImplementedError) as err:
        with pytest.raises(type(err)):
            fn(ember, ea, eb)
        return
    got = fn(ember, ea, eb)
    assert str(got.dtype) == str(expected.dtype)
    np.testing.assert_allclose(got.to(ember.complex128).numpy(),
                               expected.to(torch.complex128).numpy(), rtol=1e-2)
