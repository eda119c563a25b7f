"""Argument parsing as torch's, second pass (issue 13): bools where torch wants an int (``k``,
``offset``, ``chunks``, ``steps``, split sizes, ``roll`` shifts …), ints and NumPy bools where it
wants a bool (``keepdim``, ``largest``, ``unbiased``), None given for a dim torch does not let
be None (``max``, ``prod``, ``median``, ``squeeze``, ``torch.softmax``), ``random_``'s
overloads, uint64 fill values, 0-d NumPy arrays in ``tensor()`` data, ragged lists, and the
creation ops' ``dtype=``/``steps``/``fill_value`` arguments."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(make, L):
    """A call's result as comparable data: (dtype name, shape, values) or the exception type
    (torch's TypeErrors list its overloads, so messages are not compared)."""
    try:
        r = make(L)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__
    if isinstance(r, tuple):
        r = r[0]
    return str(r.dtype).split(".")[-1], tuple(r.shape), r.tolist()


def _same(expr: str):
    def make(L):
        return eval(expr, {"L": L, "np": np, "x": L.arange(6.0).reshape(2, 3),
                           "v": L.arange(6.0)})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = _outcome(make, torch), _outcome(make, ember)
    if isinstance(want, tuple) and isinstance(got, tuple) and want[0].startswith("float"):
        assert got[:2] == want[:2], expr  # (softmax and logsumexp may differ in the last bit)
        np.testing.assert_allclose(got[2], want[2], rtol=1e-6, err_msg=expr)
    else:
        assert got == want, expr


# -- bools where torch wants an int --------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "L.topk(v, True)", "v.topk(np.True_)", "L.kthvalue(v, True)", "v.kthvalue(True)",
    "L.diagonal(x, True)", "x.diagonal(offset=True)", "L.diag(x, True)", "L.diag(v, True)",
    "L.diag_embed(v, True)", "L.triu(x, True)", "L.tril(x, True)", "x.tril(np.True_)",
    "x.clone().triu_(True)", "x.chunk(True)", "L.chunk(x, True)", "x.select(0, True)",
    "x.narrow(0, 0, True)", "x.narrow(0, True, 1)", "v.repeat_interleave(True)",
    "L.repeat_interleave(v, True)", "L.linspace(0, 1, True)", "L.logspace(0, 1, True)",
    "L.linspace(0, 1, np.True_)", "x.split(True)", "L.split(x, True)", "x.split([True, True])",
    "v.unfold(0, 2, True)", "L.roll(v, True)", "L.roll(v, True, 0)",
    "L.roll(x, (True, 1), (0, 1))", "L.tril_indices(3, 3, True)", "L.triu_indices(3, True)",
    "L.tril_indices(3.0, 3)",
    # the same calls with ints still work
    "L.topk(v, 2)", "v.kthvalue(np.int64(2))", "x.diagonal(1)", "L.triu(x, -1)", "x.chunk(2)",
    "x.select(0, np.int64(1))", "x.narrow(1, 1, 2)", "v.repeat_interleave(2)",
    "L.linspace(0, 1, np.int64(3))", "x.split([1, 1])", "v.unfold(0, 2, 2)",
    "L.roll(v, np.int64(2))", "L.roll(x, (1, np.int64(1)), (0, 1))", "L.tril_indices(3, 3, 1)",
])
def test_bools_refused_where_torch_wants_an_int(expr):
    _same(expr)


def test_kthvalue_bool_k_is_a_type_error():
    with pytest.raises(TypeError, match="argument 'k' must be int, not bool"):
        ember.arange(6.0).kthvalue(True)


# -- ints, NumPy bools and None where torch wants a bool ------------------------------------

@pytest.mark.parametrize("expr", [
    "x.sum(0, 1)", "x.sum(0, 0)", "x.sum(0, keepdim=1)", "x.sum(0, np.True_)",
    "x.sum(0, keepdim=None)", "x.mean(0, 1)", "x.mean(0, keepdim=np.False_)", "x.prod(0, 1)",
    "x.amax(0, 1)", "x.amin(0, 1)", "x.max(0, 1)", "x.max(0, keepdim=0)", "x.min(0, 1)",
    "x.argmax(0, 1)", "x.argmin(0, keepdim=1)", "x.all(0, 1)", "x.any(0, keepdim=1)",
    "x.median(0, 1)", "x.nanmedian(0, 1)", "x.mode(0, 1)", "x.logsumexp(0, 1)",
    "x.norm(2, 0, 1)", "L.linalg.vector_norm(x, 2, 0, 1)", "x.nansum(0, 1)",
    "x.nanmean(0, keepdim=1)", "x.aminmax(dim=0, keepdim=1)", "x.kthvalue(1, 0, 1)",
    "x.quantile(0.5, 0, 1)", "x.topk(2, 0, 1)", "x.topk(2, 0, True, 1)", "x.sort(0, 1)",
    "x.argsort(0, 1)", "x.std(0, 1)", "x.std(unbiased=1)", "x.std(unbiased=0)",
    "x.var(unbiased=1)", "L.std(x, 0, 1)", "L.std(x, unbiased=1)", "x.std(0, unbiased=1)",
    "x.var(0, unbiased=0)", "x.std(0, True, 1)", "L.std_mean(x, unbiased=1)",
    "x.std(0, keepdim=1)", "x.std(0, correction=1, keepdim=1)", "x.std(0, np.True_)",
    "x.std(unbiased=np.True_)", "L.var_mean(x, 0, keepdim=1)",
    # Python bools still work, and std's old positional unbiased
    "x.sum(0, True)", "x.max(0, False)", "x.std(0, True, True)", "x.std(True)",
    "x.std(False)", "x.var(0, unbiased=False)", "x.topk(1, 0, False, False)",
    "x.sort(0, True)", "x.median(0, True)", "x.logsumexp(1, True)",
])
def test_flags_must_be_python_bools(expr):
    _same(expr)


# -- None given for a dim ---------------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "x.max(None)", "L.max(x, None)", "x.max(dim=None)", "L.min(x, None)", "x.min(None)",
    "x.prod(None)", "L.prod(x, None)", "x.prod(dim=None)", "x.median(None)",
    "L.median(x, None)", "x.nanmedian(None)", "L.nanmedian(x, None)", "L.softmax(x, None)",
    "L.log_softmax(x, None)", "x.softmax(None)", "x.log_softmax(None)", "x.softmax(dim=None)",
    "L.special.softmax(x, None)", "L.special.log_softmax(x, None)", "L.squeeze(x, None)",
    "x.squeeze(None)", "x.squeeze(dim=None)", "x.clone().squeeze_(None)",
    "L.squeeze_copy(x, None)",
    # left out, the dim still means "all" (or, for softmax, is required)
    "x.max()", "x.min()", "x.prod()", "x.median()", "x.nanmedian()", "x.squeeze()",
    "L.squeeze(x)", "x.clone().squeeze_()", "L.squeeze_copy(x)", "x.softmax()",
    "L.softmax(x)", "x.sum(None)", "x.mean(dim=None)", "x.amax(None)", "x.argmax(None)",
    "x.std(None)", "x.all(None)", "x.norm(2, None)",
])
def test_none_as_a_dim(expr):
    _same(expr)


def test_functional_softmax_keeps_its_implicit_dim():
    for name in ("softmax", "log_softmax", "softmin"):
        for args in ((), (None,)):
            with pytest.warns(UserWarning, match="Implicit dimension choice") as got:
                y = getattr(ember.nn.functional, name)(ember.ones(2, 3), *args)
            assert y.shape == (2, 3)
            assert got[0].filename == __file__  # warned at the caller, as torch


@pytest.mark.parametrize("expr", [
    "L.softmax(x, 0, L.float64)", "x.softmax(0, L.float64)", "L.log_softmax(x, 1, L.float64)",
    "x.log_softmax(1, L.float64)", "x.softmax(0, None)", "L.softmax(x, 1, dtype=L.float64)"])
def test_softmax_third_positional_is_the_dtype(expr):
    _same(expr)  # ember read it as nn.functional's _stacklevel and dropped it


# -- random_'s overloads ----------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    "x.random_(**{'from': 1})", "x.random_(5, **{'from': 1})", "x.random_(to=None)",
    "x.random_(None)"])
def test_random_refuses_what_torch_refuses(call):
    with pytest.raises(TypeError):
        eval(call, {"x": ember.zeros(3)})
    with pytest.raises(TypeError):
        eval(call, {"x": torch.zeros(3)})


@pytest.mark.parametrize("call", [
    "x.random_(**{'from': 1, 'to': 5})", "x.random_(**{'from': 1, 'to': None})",
    "x.random_(1, None)", "x.random_(to=5)", "x.random_(1, to=5)", "x.random_(5)"])
def test_random_overloads_torch_takes(call):
    out = eval(call, {"x": ember.zeros(3)})
    assert out.shape == (3,) and bool((out >= 0).all())


# -- uint64 fill values -----------------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "L.full((2,), 2**63, dtype=L.uint64)", "L.full((2,), 2**64 - 1, dtype=L.uint64)",
    "L.full((2,), 2**64, dtype=L.uint64)", "L.full((2,), -1, dtype=L.uint64)",
    "L.full((2,), 2**63, dtype=L.int64)", "L.full((2,), 2**63)",
    "L.full_like(L.ones(2, dtype=L.uint64), 2**63)", "L.full_like(L.ones(2), 2**63)",
    "L.full((2,), 2**63 - 1, dtype=L.uint64)"])
def test_uint64_fill_values(expr):
    _same(expr)


# -- tensor() data: 0-d NumPy arrays, ragged lists ----------------------------------------------

@pytest.mark.parametrize("expr", [
    "L.tensor([np.array(2)])", "L.tensor([np.array(2)], dtype=L.float32)",
    "L.tensor([[np.array(2)]])", "L.tensor([[np.array(2.5), 1]])", "L.tensor((np.array(2),))",
    "L.as_tensor([np.array(2)])", "L.tensor([np.array([2, 3])])",
    "L.tensor([np.array([[1, 2]]), np.array([[3, 4]])])", "L.tensor([L.tensor(2), np.array(3)])",
    "L.tensor([1, np.array(2)])", "L.tensor([L.tensor(2)])", "L.tensor([np.float32(2)])",
    "L.tensor([np.array(2.5, dtype=np.float32), 1])", "L.tensor(np.array(2))",
    "L.tensor([np.array([1, 2]), [3, 4]])", "L.as_tensor([L.tensor(2)])",
    "L.tensor([[1], 2])", "L.tensor([1, [2]])", "L.tensor([1.0, [2.0]])",
    "L.tensor([[1], [2, 3]])", "L.tensor([[1, 2], [3]])", "L.tensor([[1], (2,)])",
    "L.tensor([np.array([1]), np.array(2)])", "L.tensor([[1], np.array(2)])",
])
def test_tensor_data_forms(expr):
    _same(expr)


# -- creation ops: dtype, steps, fill_value, sizes -----------------------------------------------

@pytest.mark.parametrize("expr", [
    "L.zeros(2, dtype='float32')", "L.zeros(2, dtype=np.float32)", "L.ones(2, dtype='int64')",
    "L.empty(2, dtype='float32')", "L.full((2,), 1, dtype='float64')",
    "L.arange(5, dtype='int32')", "L.linspace(0, 1, 3, dtype='float64')",
    "L.logspace(0, 1, 3, dtype=np.float64)", "L.eye(2, dtype='float64')",
    "L.randn(2, dtype='float64')", "L.rand(2, dtype=np.float32)",
    "L.randint(5, (3,), dtype='int32')", "L.randperm(3, dtype='int64')",
    # what torch takes
    "L.zeros(2, dtype=None)", "L.zeros(2, dtype=float)", "L.ones(2, dtype=int)",
    "L.zeros(2, dtype=bool)", "L.full((2,), 1, dtype=complex)", "L.arange(3, dtype=float)",
    "L.eye(2, dtype=None)", "L.linspace(0, 1, 3, dtype=L.float64)",
])
def test_creation_dtype_argument(expr):
    def make(L):
        r = eval(expr, {"L": L, "np": np})
        return r.zero_() if r.is_floating_point() or r.dtype == L.bool else r.zero_()

    want, got = _outcome(make, torch), _outcome(make, ember)
    assert got == want, expr


@pytest.mark.parametrize("expr", [
    "L.linspace(0, 1, 3.0)", "L.logspace(0, 1, 3.0)", "L.linspace(0, 1, L.tensor(3))",
    "L.logspace(0, 1, L.tensor(3))", "L.linspace(0, 1, np.int32(4))", "L.linspace(0, 1, -1)",
    "L.full((2,), L.tensor([2.5]))", "L.full((2,), fill_value=None)",
    "L.full((2,), L.tensor(2.5))", "L.full((2,), np.float64(2.5))", "L.full((2,), True)",
    "L.zeros(True, 2)", "L.zeros((2.0, 3))", "L.zeros(L.tensor(2), 3)", "L.zeros(-1)",
    "L.ones(L.Size([2, 3]))", "L.empty(np.int64(2)).zero_()", "L.arange(True)",
    "L.arange(L.tensor(5))", "L.eye(True)", "L.eye(2.0)", "L.eye(np.int64(2))",
    "L.randint(5, (True,)).zero_()", "L.randint(5, (3.0,))", "L.randn(True).zero_()",
    "L.randperm(True)", "L.randperm(3.0)",
])
def test_creation_sizes_and_values(expr):
    _same(expr)


def test_explicit_none_dim_is_not_the_default():
    # ember's own sentinel stands for "left out": it prints and pickles as None would
    import pickle

    from ember._ops._core import NO_DIM

    assert repr(NO_DIM) == "None"
    assert pickle.loads(pickle.dumps(NO_DIM)) is NO_DIM


@pytest.mark.parametrize("expr", [
    "L.arange(0, float('inf'))", "L.arange(float('inf'), 0, -1)", "L.arange(0, 1, float('inf'))",
    "L.arange(0, 5, float('nan'))", "L.arange(float('-inf'), 0)", "L.arange(0, float('nan'), 1)",
    "L.zeros(2**63)", "L.zeros(2, 2**63)", "L.ones((2, -2**63 - 1))", "L.randn(2**64)",
    "L.full((2**63,), 1)", "L.full((1,), 1e40, dtype=L.float32)",
    "L.full((1,), 3.4028235e38, dtype=L.float32)", "L.full((1,), 70000.0, dtype=L.float16)",
    "L.full((1,), 1e39, dtype=L.bfloat16)", "L.full((1,), 1e40 + 1j, dtype=L.complex64)",
    "L.full((1,), 1e40, dtype=L.complex64)", "L.full((1,), 1e40, dtype=L.complex128)",
    "L.full((1,), np.float64(1e40), dtype=L.float32)", "L.full((1,), 1 + 1j, dtype=L.float32)",
    "L.full_like(L.ones(1), 1e40)", "L.full((1,), float('inf'), dtype=L.float32)",
])
def test_creation_ranges_and_overflow(expr):
    _same(expr)


def test_half_fill_overflow_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch rounds to inf without a word; NumPy would warn
        assert ember.full((1,), 70000.0, dtype=ember.float16).tolist() == [float("inf")]


@pytest.mark.parametrize("expr", [
    # int lists: a bool first is refused, a later Python bool is read as an int (torch's parser)
    "x.view(2, True, 3)", "x.reshape(2, True, 3)", "x.reshape((2, True, 3))",
    "x.expand(2, 2, True)", "x.expand((2, True, 3))", "x.expand(True, 2, 3)", "x.view(True, 6)",
    "x.view(np.int64(2), True, 3)", "x.permute(0, True)", "x.permute(True, 0)",
    "x.repeat(2, True)", "x.repeat((True, 2))", "x.repeat(True, 2)", "x.tile((2, True))",
    "x.tile((True, 2))", "x.unflatten(1, (True, 3))", "x.unflatten(1, (3, True))",
    "x.view((2, 1.5, 3))", "L.nn.functional.pad(x, (True, 0))",
    "L.nn.functional.pad(x, (0, True))", "L.nn.functional.pad(x, (1.0, 0))",
    "x.new_zeros(2, True)", "x.new_full((2, True), 1)",
    # more ints and flags
    "L.nn.functional.one_hot(L.tensor([0, 1]), True)", "L.vander(v, N=True)", "x.diff(n=True)",
    "x.diff(True)", "L.argsort(v, stable=1)", "L.sort(v, stable=1)", "L.sort(v, stable=True)",
    "L.nn.functional.one_hot(L.tensor([0, 1]), 3)", "L.vander(v, N=2)", "x.diff(2)",
])
def test_int_lists_and_more_int_arguments(expr):
    _same(expr)


@pytest.mark.parametrize("expr", [
    "L.unique(v, sorted=1)", "L.unique(v, return_inverse=1)", "L.unique(v, return_counts=1)",
    "L.unique(v, sorted=1, dim=0)", "L.unique(v, return_counts=np.True_)",
    "L.unique(v, return_counts=True)", "v.unique(sorted=False)",
    "x.sum(dtype='float64')", "L.cumsum(x, 0, dtype='float64')", "x.mean(dtype='float64')",
    "x.prod(dtype=np.float64)", "x.nansum(dtype='float64')", "x.cumprod(0, dtype='float64')",
    "x.norm(dtype='float64')", "x.softmax(0, dtype='float64')",
    "x.sum(dtype=float)", "x.cumsum(0, dtype=float)", "x.mean(dtype=float)",
    "x.softmax(0, dtype=float)", "x.sum(dtype=L.float64)",
])
def test_reduction_flags_and_dtypes(expr):
    _same(expr)


@pytest.mark.parametrize("expr", [
    "x.var(0, None)", "x.std(0, unbiased=None)", "L.var(x, unbiased=None)",
    "L.std_mean(x, 0, None)", "x.std(None, True)", "x.var(dim=None)", "x.std()",
    "L.arange(0, None)", "L.arange(start=1, end=None)", "L.arange(end=None)",
    "L.arange(5, step=None)", "L.arange(0, 5, None)", "L.arange(end=5)", "L.arange(2, 5)",
    "L.eye(2, None)", "L.eye(2, m=None)", "L.eye(n=2, m=3)", "L.eye(2)",
    "L.linspace(L.tensor([0.0]), 1, 3)", "L.linspace(0, L.ones(2), 3)",
    "L.logspace(L.tensor([0.0]), 1, 3)", "L.linspace(L.tensor(0.0), L.tensor(1.0), 3)",
])
def test_explicit_none_and_tensor_ends(expr):
    _same(expr)


@pytest.mark.parametrize("data", ["[np.array([1.0])]", "(np.array([1.0]),)",
                                  "[[np.array([1.0])]]", "[np.float64(1.0), np.array([1.0])]"])
def test_list_of_arrays_warns_once_per_process(data, monkeypatch):
    from ember import _creation

    monkeypatch.setattr(_creation, "_ndarray_list_warned", False)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        for _ in range(2):
            try:
                ember.tensor(eval(data))
            except TypeError:  # [np.float64(1.0), np.array([1.0])]: ragged, as in torch
                pass
    assert [str(w.message)[:52] for w in got] == [
        "Creating a tensor from a list of numpy.ndarrays is e"]
    assert got[0].filename == __file__


def test_no_warning_without_arrays(monkeypatch):
    from ember import _creation

    monkeypatch.setattr(_creation, "_ndarray_list_warned", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.tensor([np.float32(1.0), 2.0])
        ember.tensor(np.array([1.0]))
        ember.tensor([ember.tensor(1.0)])
