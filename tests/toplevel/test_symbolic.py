"""The ``sym_*`` helpers and ``SymInt``/``SymFloat``/``SymBool`` against PyTorch's plain-number
paths: same values, same result types, same exception types and messages."""

import warnings

import numpy as np
import pytest

import ember


def _run(lib, name, make_args, kwargs):
    args = make_args(lib)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tensor(tensor) copy-construct advice
            return "ok", getattr(lib, name)(*args, **kwargs)
    except Exception as err:  # noqa: BLE001  (the exception itself is compared)
        return "err", err


def _same(torch, name, make_args, kwargs=None):
    kind_e, got = _run(ember, name, make_args, kwargs or {})
    kind_t, want = _run(torch, name, make_args, kwargs or {})
    assert kind_e == kind_t, (got, want)
    if kind_e == "err":
        assert type(got) is type(want)
        # PyTorch's messages name its own Tensor class and list its accepted types
        assert str(got).replace("ember._tensor", "torch") == str(want), (got, want)
        return
    if isinstance(want, torch.Tensor):
        assert isinstance(got, ember.Tensor) and got.tolist() == want.tolist()
        return
    assert type(got) is type(want), (got, want)
    assert got == want or (got != got and want != want), (got, want)


CASES = [
    ("sym_int", lambda m: (3.7,)), ("sym_int", lambda m: (-3.7,)), ("sym_int", lambda m: (True,)),
    ("sym_int", lambda m: (m.tensor(3.7),)), ("sym_int", lambda m: (m.tensor([2.5]),)),
    ("sym_int", lambda m: ("5",)), ("sym_int", lambda m: (np.float64(2.5),)),
    ("sym_int", lambda m: (float("inf"),)), ("sym_int", lambda m: (None,)),
    ("sym_int", lambda m: (m.tensor([1, 2]),)),
    ("sym_float", lambda m: (3,)), ("sym_float", lambda m: (True,)),
    ("sym_float", lambda m: (m.tensor(3),)), ("sym_float", lambda m: ("2.5",)),
    ("sym_float", lambda m: (None,)), ("sym_float", lambda m: (np.int64(2),)),
    ("sym_max", lambda m: (1, 2)), ("sym_max", lambda m: (1, 2.0)),
    ("sym_max", lambda m: (True, 2)), ("sym_max", lambda m: (False, True)),
    ("sym_max", lambda m: (np.int64(3), 2)), ("sym_max", lambda m: (np.float32(1), 2)),
    ("sym_max", lambda m: (float("nan"), 1)), ("sym_max", lambda m: (1, float("nan"))),
    ("sym_max", lambda m: ("a", 1)), ("sym_max", lambda m: (1, None)),
    ("sym_min", lambda m: (1, 2)), ("sym_min", lambda m: (1, 2.0)),
    ("sym_min", lambda m: (True, False)), ("sym_min", lambda m: (np.int64(3), 2)),
    ("sym_min", lambda m: (None, 2)),
    ("sym_not", lambda m: (True,)), ("sym_not", lambda m: (0,)), ("sym_not", lambda m: (1.5,)),
    ("sym_not", lambda m: (m.tensor(True),)), ("sym_not", lambda m: ([],)),
    ("sym_not", lambda m: (None,)),
    ("sym_sqrt", lambda m: (4,)), ("sym_sqrt", lambda m: (2.0,)), ("sym_sqrt", lambda m: (True,)),
    ("sym_sqrt", lambda m: (-1,)), ("sym_sqrt", lambda m: (m.tensor(4.0),)),
    ("sym_sqrt", lambda m: ("a",)), ("sym_sqrt", lambda m: (np.float32(4),)),
    ("sym_ite", lambda m: (True, 1, 2)), ("sym_ite", lambda m: (False, 1, 2)),
    ("sym_ite", lambda m: (1, 1, 2)), ("sym_ite", lambda m: (True, 1, 2.0)),
    ("sym_ite", lambda m: (np.bool_(True), 1, 2)),
    ("sym_ite", lambda m: (True, m.tensor(1), m.tensor(2))),
    ("sym_sum", lambda m: ((1, 2, 3),)), ("sym_sum", lambda m: ([1, 2.5],)),
    ("sym_sum", lambda m: (1, 2, 3)), ("sym_sum", lambda m: ([],)), ("sym_sum", lambda m: ()),
    ("sym_sum", lambda m: ([True, True],)), ("sym_sum", lambda m: ([m.tensor(1), m.tensor(2)],)),
    ("sym_sum", lambda m: (1,)), ("sym_sum", lambda m: (np.int64(1), 2)),
    ("sym_fresh_size", lambda m: (3,)), ("sym_fresh_size", lambda m: (3.5,)),
    ("sym_fresh_size", lambda m: (True,)), ("sym_fresh_size", lambda m: (m.tensor(4),)),
    ("sym_fresh_size", lambda m: ([1],)),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_sym_function_matches_torch(torch, i):
    name, make_args = CASES[i]
    _same(torch, name, make_args)


def test_sym_ite_on_a_0d_tensor_condition_matches_torch(torch):
    with pytest.raises(AssertionError, match="expected SymBool or bool"):
        ember.sym_ite(ember.tensor(True), 1, 2)
    with pytest.raises(AssertionError, match="expected SymBool or bool"):
        torch.sym_ite(torch.tensor(True), 1, 2)


RANGE_CASES = [
    ((3,), {}), ((3,), {"min": 0, "max": 5}), ((3,), {"min": 4}), ((3,), {"max": 2}),
    ((3,), {"max": 3}), ((3,), {"min": 3, "max": 3}), ((3,), {"min": -1}),
    ((3.5,), {}), ((3.5,), {"min": 4}), ((-3.5,), {"min": -3}), ((True,), {}),
    ((3,), {"min": 5, "max": 2}), ((3,), {"min": 10, "max": 5}), ((-1,), {}),
    ((-1,), {"min": -5}), ((0,), {}), ((1,), {}), ((2,), {"min": 1, "max": 1}),
    ((1,), {"min": 1, "max": 2}), ((5,), {"min": 3, "max": 4}), ((3,), {"min": None}),
    ((2 ** 70,), {}), ((float("nan"),), {"min": 0}), ((float("inf"),), {}),
    ((3, 0, 5), {}), (("a",), {}), ((None,), {}), ((3,), {"min": 1.5}),
    ((3,), {"min": True}), ((3,), {"max": 2 ** 70}), ((), {"size": 3, "min": 1}),
    ((3,), {"mn": 1}),
]


@pytest.mark.parametrize("name", ["sym_constrain_range", "sym_constrain_range_for_size"])
@pytest.mark.parametrize("i", range(len(RANGE_CASES)))
def test_constrain_range_matches_torch(torch, name, i):
    args, kwargs = RANGE_CASES[i]
    _same(torch, name, lambda m: args, kwargs)


@pytest.mark.parametrize("name", ["sym_constrain_range", "sym_constrain_range_for_size"])
@pytest.mark.parametrize("value", [3.5, 2, [3], [1, 2]])
def test_constrain_range_on_tensors_matches_torch(torch, name, value):
    _same(torch, name, lambda m: (m.tensor(value),), {"max": 3})


@pytest.mark.parametrize("cls", ["SymInt", "SymFloat", "SymBool"])
def test_sym_classes_are_not_plain_numbers(torch, cls):
    for value in (3, 3.0, True):
        assert isinstance(value, getattr(ember, cls)) == isinstance(value, getattr(torch, cls))
    assert not isinstance(3, getattr(ember, cls))
    with pytest.raises(NotImplementedError, match="no symbolic shapes"):
        getattr(ember, cls)(3)


def test_sym_names_are_public():
    for name in ember._symbolic.__all__:
        assert getattr(ember, name) is getattr(ember._symbolic, name)
