"""Creation functions against torch: values, dtypes, shapes (repr compares all three)."""

import array
from collections import deque

import numpy as np
import pytest

import ember

CASES = {
    "zeros": lambda L: [L.zeros(2, 3), L.zeros((2,)), L.zeros([]), L.zeros(2, dtype=L.int32),
                        L.zeros(L.Size([1, 2])), L.zeros(0, 2)],
    "ones": lambda L: [L.ones(2, 1), L.ones(0), L.ones(2, dtype=L.bool), L.ones((1, 2, 1))],
    "full": lambda L: [L.full((2,), 3), L.full((2,), 3.0), L.full((2,), True),
                       L.full((1,), 2, dtype=L.float64), L.full([], 1.5), L.full((2, 2), -1)],
    "like": lambda L: [L.zeros_like(L.ones(2, dtype=L.int32)), L.ones_like(L.ones(2, 1)),
                       L.full_like(L.ones(2), 7), L.full_like(L.ones(2, dtype=L.int64), 2.7),
                       L.empty_like(L.ones(2, 3)).shape,
                       L.zeros_like(L.ones(2), dtype=L.float64),
                       L.ones_like(L.ones(2, requires_grad=True))],
    "arange": lambda L: [L.arange(5), L.arange(1, 4), L.arange(0, 1, 0.25), L.arange(1.0, 4),
                         L.arange(0, 10, 3), L.arange(5, dtype=L.float32), L.arange(10, 0, -3),
                         L.arange(0, 1, 0.1), L.arange(-1, 1, 0.3),
                         L.arange(3, dtype=L.float64), L.arange(L.tensor(3)), L.arange(0.5, 3),
                         L.arange(0, 5, 2, dtype=L.int32), L.arange(0)],
    "linspace": lambda L: [L.linspace(0, 1, 5), L.linspace(-1, 1, 1), L.linspace(0, 10, 0),
                           L.linspace(0, 1, steps=3, dtype=L.float64),
                           L.linspace(0, 10, 4, dtype=L.int64), L.linspace(-5, 5, 7),
                           L.linspace(3, -3, 4)],
    "logspace": lambda L: [L.logspace(0, 2, 3), L.logspace(0, 3, 4, base=2),
                           L.logspace(-1, 1, 3, dtype=L.float64)],
    "eye": lambda L: [L.eye(3), L.eye(2, 3), L.eye(2, dtype=L.int64), L.eye(0), L.eye(3, 1)],
    "empty": lambda L: [(e.shape, e.dtype) for e in
                        [L.empty(2, 3), L.empty(0), L.empty((2,), dtype=L.int8)]],
    "tensor": lambda L: [L.tensor([1.0, 2.0], requires_grad=True), L.tensor(3), L.tensor([]),
                         L.tensor([[1, 2], [3, 4]], dtype=L.float64), L.tensor([True, False]),
                         L.tensor([1, 2.5]), L.tensor([1, True]), L.tensor(np.float32(2)),
                         L.tensor([L.tensor(1.0), L.tensor(2.0)]), L.tensor((1, 2)),
                         L.tensor([[]]), L.scalar_tensor(3)],
    "default_dtype": lambda L: _with_default_float64(L),
    # any Python sequence is data, not only lists and tuples (pyGCN: LongTensor(range(140)))
    "sequences": lambda L: [L.tensor(range(3)), L.tensor(range(2, 8, 2), dtype=L.float64),
                            L.tensor([range(2), range(2)]), L.tensor(deque([1.5, 2])),
                            L.tensor(array.array("i", [1, 2])), L.as_tensor(range(2)),
                            L.LongTensor(range(3, 6)), L.FloatTensor(range(0)),
                            L.Tensor(range(2)), L.BoolTensor(deque([0, 1])),
                            L.LongTensor([range(2), range(2)]), L.LongTensor(L.Size([2])).shape],
}


def _with_default_float64(L):
    L.set_default_dtype(L.float64)
    try:
        return [L.tensor([1.0]), L.zeros(1), L.arange(1.0), L.tensor([1]), L.linspace(0, 1, 2),
                L.get_default_dtype(), L.full((1,), 2.0), L.tensor(1.5)]
    finally:
        L.set_default_dtype(L.float32)


@pytest.mark.parametrize("case", sorted(CASES))
def test_creation_matches_torch(torch, case):
    assert repr(CASES[case](ember)) == repr(CASES[case](torch))


ERRORS = {
    "arange_zero_step": lambda L: L.arange(0, 10, 0),
    "arange_wrong_sign": lambda L: L.arange(10, 0, 1),
    "negative_size": lambda L: L.zeros(-1),
    "ragged": lambda L: L.tensor([[1, 2], [3]]),
    "int_overflow": lambda L: L.tensor([2 ** 63]),
    "linspace_negative_steps": lambda L: L.linspace(0, 1, -1),
    "bad_fill_type": lambda L: L.full((2,), "a"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_creation_errors_match_torch(torch, case):
    with pytest.raises(Exception) as want:
        ERRORS[case](torch)
    with pytest.raises(type(want.value)) as got:
        ERRORS[case](ember)
    if case in ("arange_wrong_sign", "ragged"):
        assert str(want.value) in str(got.value)


def test_arange_float_steps_have_torch_lengths(torch):
    for start, end, step in [(0, 1, 0.1), (0, 0.3, 0.1), (1, 2.2, 0.2), (-1, 1, 1 / 3),
                             (0, 10, 0.7)]:
        e, t = ember.arange(start, end, step), torch.arange(start, end, step)
        assert e.shape == t.shape
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-7)


def test_arange_integer_steps_have_torch_lengths(torch):
    """Integer ranges whose span is a multiple of the step (arange(0, 16, 2): 8 values, the
    positional-encoding idiom) and every sign and remainder, against torch."""
    for start in (-7, -6, 0, 1, 5):
        for end in (-9, -8, 0, 3, 8, 16):
            for step in (-4, -3, -2, -1, 1, 2, 3, 4):
                if (end - start) * step < 0:
                    continue
                e, t = ember.arange(start, end, step), torch.arange(start, end, step)
                assert e.tolist() == t.tolist(), (start, end, step)
    for args in [(0, 16.5, 2), (0.5, 9, 2), (-1.5, 7, 3), (10, 0.5, -2.5)]:
        e = ember.arange(*args, dtype=ember.int64)
        assert e.tolist() == torch.arange(*args, dtype=torch.int64).tolist(), args
    assert ember.arange(0, 16, 2).shape == (8,)


def test_tensor_from_tensor_warns_and_copies():
    x = ember.ones(2)
    with pytest.warns(UserWarning, match="detach"):
        y = ember.tensor(x)
    y.add_(1)
    assert x.tolist() == [1.0, 1.0]


def test_creation_requires_grad_and_device():
    z = ember.zeros(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf
    m = ember.ones(3, device="meta")
    assert m.device.type == "meta" and m.shape == (3,)
    assert ember.arange(3, device="cpu").device == ember.device("cpu")


@pytest.mark.parametrize("call", [
    lambda L: L.zeros(2, dtype=float), lambda L: L.ones(2, dtype=complex),
    lambda L: L.arange(3, dtype=float), lambda L: L.tensor([1, 2]).to(float),
    lambda L: L.ones(2).to(dtype=int), lambda L: L.full((2,), 1, dtype=bool),
    lambda L: L.empty(2, dtype=float).new_zeros(2),
])
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_python_types_as_dtypes_are_torchs(call, default):
    # float and complex name float64 and complex128 whatever the default dtype (was float32)
    torch = pytest.importorskip("torch")
    for lib in (torch, ember):
        lib.set_default_dtype(getattr(lib, default))
    try:
        assert str(call(ember).dtype) == str(call(torch).dtype)
    finally:
        for lib in (torch, ember):
            lib.set_default_dtype(lib.float32)
