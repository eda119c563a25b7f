"""Bad input to elementwise ops raises what PyTorch raises (type and message), never a wrong
answer: broadcast mismatches, in-place casts and shape changes, integer division by zero,
unsupported dtypes, devices."""

import numpy as np
import pytest

import ember

CASES = [
    ("broadcast", lambda L: L.ones(2, 3) + L.ones(2, 4)),
    ("broadcast_3d", lambda L: L.ones(2, 3, 4) * L.ones(5, 4)),
    ("broadcast_where", lambda L: L.where(L.ones(3, dtype=L.bool), L.ones(3), L.ones(4))),
    ("inplace_cast", lambda L: L.tensor([1, 2]).add_(1.5)),
    ("inplace_cast_unary", lambda L: L.tensor([1, 2]).exp_()),
    ("inplace_cast_pow", lambda L: L.tensor([2]).pow_(0.5)),
    ("inplace_shape", lambda L: L.ones(3).add_(L.ones(2, 3))),
    ("inplace_shape_mul", lambda L: L.ones(3, 1).mul_(L.ones(3, 4))),
    ("int_div_zero_floor", lambda L: L.tensor([1, 2]) // 0),
    ("int_div_zero_mod", lambda L: L.tensor([1, 2]) % L.tensor([1, 0])),
    ("int_div_zero_trunc", lambda L: L.div(L.tensor([1]), 0, rounding_mode="trunc")),
    ("int_fmod_zero", lambda L: L.fmod(L.tensor([3]), 0)),
    ("int_negative_power", lambda L: L.tensor([1, 2]) ** -1),
    ("bad_rounding_mode", lambda L: L.div(L.ones(2), 2, rounding_mode="round")),
    ("bool_sub", lambda L: L.tensor([True]) - L.tensor([False])),
    ("bool_sub_scalar", lambda L: 1 - L.tensor([True])),
    ("bool_neg", lambda L: -L.tensor([True])),
    ("bitwise_float", lambda L: L.ones(2) & L.ones(2)),
    ("bitwise_not_float", lambda L: L.bitwise_not(L.ones(2))),
    ("shift_bool", lambda L: L.bitwise_left_shift(L.tensor([True]), L.tensor([True]))),
    ("hypot_int", lambda L: L.hypot(L.tensor([3]), L.tensor([4]))),
    ("lerp_dtype", lambda L: L.lerp(L.ones(2), L.ones(2, dtype=L.float64), 0.5)),
    ("lerp_int", lambda L: L.lerp(L.tensor([1]), L.tensor([2]), 0.5)),
    ("maximum_scalar", lambda L: L.maximum(L.ones(2), 2)),
    ("maximum_complex", lambda L: L.maximum(L.ones(2, dtype=L.complex64),
                                            L.ones(2, dtype=L.complex64))),
    ("where_float_cond", lambda L: L.where(L.ones(2), L.ones(2), 0.0)),
    ("clamp_none", lambda L: L.clamp(L.ones(2))),
    ("abs_bool", lambda L: L.abs(L.tensor([True]))),
    ("frac_int", lambda L: L.frac(L.tensor([1]))),
    ("round_int_decimals", lambda L: L.round(L.tensor([1]), decimals=1)),
    ("relu_bool", lambda L: L.relu(L.tensor([True]))),
    ("positive_bool", lambda L: L.positive(L.tensor([True]))),
    ("sign_complex", lambda L: L.sign(L.ones(2, dtype=L.complex64))),
    ("isclose_dtype", lambda L: L.isclose(L.ones(2), L.ones(2, dtype=L.float64))),
    ("alpha_float_int", lambda L: L.add(L.tensor([1]), L.tensor([1]), alpha=0.5)),
    ("lt_complex", lambda L: L.ones(2, dtype=L.complex64) < L.ones(2, dtype=L.complex64)),
    ("out_requires_grad", lambda L: L.add(L.ones(2, requires_grad=True), 1, out=L.empty(2))),
    ("out_cast", lambda L: L.add(L.ones(2), 1, out=L.empty(2, dtype=L.int64))),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_error_matches_torch(torch, name, fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    # ember's message starts with PyTorch's (it may add a hint after it)
    t_msg = str(t_err.value).split("\n")[0].strip()
    assert str(e_err.value).startswith(t_msg[:60]), (str(e_err.value), t_msg)


def test_broadcast_message_exact():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1"):
        ember.ones(2, 3) + ember.ones(2, 4)


@pytest.mark.parametrize("a, b", [((2, 3), (4,)), ((2, 3), (3, 2)), ((5, 2, 3), (4, 1)),
                                  ((4, 1), (5, 2, 3)), ((3,), (2, 4)), ((2, 3, 4), (2, 5, 4))])
def test_broadcast_message_names_the_dim_torch_names(a, b):
    # torch scans from the last dim and counts dims of the broadcast result (ember named the
    # first mismatch from the left, counted in tensor b)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(a) + torch.ones(b)
    with pytest.raises(RuntimeError) as ours:
        ember.ones(a) + ember.ones(b)
    assert str(ours.value) == str(theirs.value)


def test_inplace_messages():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        ember.tensor([1, 2]).mul_(0.5)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                           r"broadcast shape \[2, 3\]"):
        ember.zeros(3).sub_(ember.ones(2, 3))
    t = ember.zeros(3)
    before = t.numpy().copy()
    with pytest.raises(RuntimeError):
        t.add_(ember.ones(2, 3))
    np.testing.assert_array_equal(t.numpy(), before)  # a refused in-place op changes nothing


def test_inplace_on_leaf_requiring_grad():
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.exp_()
    with ember.no_grad():
        w.add_(1)
        w.mul_(ember.full((2,), 3.0))
    np.testing.assert_allclose(w.detach().numpy(), [6.0, 6.0])


def test_device_mismatch():
    a = ember.ones(2)
    other = _OnCuda1._make(ember.ones(2)._data.view(_OtherArray), ember.float32)
    for fn in (lambda: a + other, lambda: ember.maximum(a, other), lambda: a == other,
               lambda: ember.where(a > 0, a, other), lambda: a.mul_(other)):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            fn()


class _OtherArray(np.ndarray):
    """Stands for another device's array type (no GPU needed to test the check)."""


class _OnCuda1(ember.Tensor):
    @property
    def device(self):
        return ember.device("cuda:1")


def test_out_argument_resizes_with_warning(torch):
    out = ember.empty(3)
    with pytest.warns(UserWarning, match="resized"):
        ember.add(ember.ones(2), 1, out=out)
    assert tuple(out.shape) == (2,)
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0])
    empty = ember.empty(0)
    ember.mul(ember.ones(2, 2), 3, out=empty)
    assert tuple(empty.shape) == (2, 2)
