"""``x[...]`` and ``x[...] = v`` against PyTorch: values, shapes, views, errors, gradients."""

import numpy as np
import pytest

import ember

A = np.arange(60, dtype=np.float64).reshape(3, 4, 5)


def _lib_index(lib, idx):
    """The same index in either library (numpy arrays become that library's tensors)."""
    if isinstance(idx, tuple):
        return tuple(_lib_index(lib, i) for i in idx)
    if isinstance(idx, np.ndarray):
        return lib.tensor(idx)
    return idx


INDICES = [
    0, -1, (1, 2), (1, 2, 3), slice(None), slice(1, None), slice(None, None, 2),
    (slice(None), slice(1, 3), slice(None, None, 2)), (Ellipsis, 1), (None, 0), (0, None, 2),
    (Ellipsis, None), (slice(10, 20),), (1, Ellipsis, slice(0, 4, 3)),
    np.array([0, 2]), np.array([[0, 1], [2, 2]]), np.array([-1, 0]),
    (np.array([0, 1]), np.array([1, 3])), (slice(None), np.array([0, 3])),
    (0, slice(None), np.array([0, 1])),              # int before an advanced index: torch's (4, 2)
    (np.array([0, 2]), slice(None), np.array([1, 4])),  # separated: advanced dims go first
    (slice(None), np.array([0, 1]), np.array([1, 2])),
    (np.array([1]), 0, np.array([2])),
    A[:, 0, 0] > 10, A[:, :, 0] > 20, A > 30, (slice(None), A[0, :, 0] > 6),
    (Ellipsis, np.array([4, 4, 0])), (None, np.array([0, 1]), None),
    True, False, (0, True), [0, 2], [2, 0, 2], np.array([], dtype=np.int64),
    np.array(1), (np.array(1), slice(None)), np.array([0, 2], dtype=np.int32),
    # torch accepts several ellipses, each as wide as the dims left unindexed
    (Ellipsis, Ellipsis), (1, Ellipsis, 2, Ellipsis), (Ellipsis, slice(0, 1), Ellipsis),
    (Ellipsis, Ellipsis, slice(None)),
]


@pytest.mark.parametrize("idx", INDICES, ids=[str(i) for i in range(len(INDICES))])
def test_getitem_matches_torch(torch, idx):
    e = ember.tensor(A)[_lib_index(ember, idx)]
    t = torch.tensor(A)[_lib_index(torch, idx)]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    if t.numel() == 0:
        return  # NumPy cannot tell an empty view from a copy
    # basic indexing is a view in both libraries, advanced indexing a copy
    assert (e._base is not None) == (t._base is not None)
    if t._base is not None:
        assert e.stride() == t.stride()
        assert e.storage_offset() == t.storage_offset()


@pytest.mark.parametrize("idx", INDICES, ids=[str(i) for i in range(len(INDICES))])
def test_getitem_gradient_matches_torch(torch, idx):
    def grad(lib):
        x = lib.tensor(A, requires_grad=True)
        y = x[_lib_index(lib, idx)]
        w = lib.tensor(np.random.default_rng(0).standard_normal(tuple(y.shape)))
        (y * w).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(grad(ember), grad(torch))


def test_getitem_repeated_index_accumulates_and_double_backward(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        z = x[lib.tensor([0, 0, 2, 0])]
        y = (z * z * z).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        return g.detach().numpy(), gg.numpy()

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t)


@pytest.mark.parametrize("idx,exc,msg", [
    (5, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((slice(None), 7), IndexError, "index 7 is out of bounds for dimension 1 with size 4"),
    (np.array([0, 3]), IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    ((slice(None), slice(None), np.array([9])), IndexError,
     "index 9 is out of bounds for dimension 0 with size 5"),
    (np.array([1.0]), IndexError, "tensors used as indices must be long, int, byte or bool"),
    (np.ones(4, bool), IndexError, "The shape of the mask [4] at index 0 does not match"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    ((0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
    (1.5, IndexError, "only integers, slices"),
    ((np.array([0, 1]), np.array([0, 1, 2])), IndexError,
     "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"),
])
def test_getitem_errors_match_torch(torch, idx, exc, msg):
    for lib in (ember, torch):
        with pytest.raises(exc) as info:
            lib.tensor(A)[_lib_index(lib, idx)]
        assert msg in str(info.value)


def test_getitem_view_shares_memory_and_version():
    x = ember.zeros(3, 4)
    v = x[1, 1:3]
    v.add_(1)
    assert x[1, 1].item() == 1 and x[0, 0].item() == 0
    assert x._version_counter == v._version_counter
    assert x[0, 0].shape == () and x[0, 0]._base is not None


SET_CASES = [
    (0, 1.5), ((slice(None), 1), np.arange(5.0)), ((Ellipsis, 0), np.ones((1, 1, 4))),
    (np.array([0, 2]), 7.0), ((np.array([0, 2]), slice(None), 0), np.array([[1.0], [2.0]])),
    (A > 40, -1.0), (A[:, 0, 0] > 10, np.arange(40.0).reshape(2, 4, 5)),
    ((slice(None), np.array([0, 1]), np.array([1, 2])), np.array([9.0, 8.0])),
    ((None, 1), np.arange(20.0).reshape(4, 5)), ((0, slice(None, None, 2)), np.array(3.0)),
]


@pytest.mark.parametrize("idx,value", SET_CASES, ids=[str(i) for i in range(len(SET_CASES))])
def test_setitem_matches_torch_with_gradients(torch, idx, value):
    def run(lib):
        x = lib.tensor(A, requires_grad=True)
        y = x * 2
        v = lib.tensor(value, requires_grad=True) if isinstance(value, np.ndarray) else value
        y[_lib_index(lib, idx)] = v
        w = lib.tensor(np.random.default_rng(1).standard_normal(A.shape))
        (y * w).sum().backward()
        out = [y.detach().numpy(), x.grad.numpy()]
        if isinstance(value, np.ndarray):
            out.append(v.grad.numpy())
        return out

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t)


def test_setitem_no_grad_casts_and_bumps_version(torch):
    for lib in (ember, torch):
        x = lib.zeros(2, 3, dtype=lib.int64)
        x[0] = 2.7
        x[1, lib.tensor([True, False, True])] = lib.tensor([5, 6])
        x[:, 1] = lib.tensor([1.9, -1.9])  # basic indexing copies with a cast
        assert x.tolist() == [[2, 1, 2], [5, -1, 6]]
        with pytest.raises(RuntimeError, match="Index put requires the source and destination"):
            x[[0]] = lib.tensor(1.5)
    x = ember.zeros(3)
    before = x._version_counter
    x[1] = 1
    assert x._version_counter == before + 1


def test_setitem_errors_match_torch(torch):
    for lib in (ember, torch):
        x = lib.zeros(3, 4)
        with pytest.raises(RuntimeError, match="must match the existing size"):
            x[0] = lib.ones(3)
        with pytest.raises(RuntimeError, match="shape mismatch: value tensor of shape"):
            x[[0, 1]] = lib.ones(3)
        leaf = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            leaf[0] = 1.0


def test_setitem_through_view_of_nonleaf_gives_torch_gradients(torch):
    def run(lib):
        x = lib.tensor(A[0], requires_grad=True)
        y = x * x
        row = y[1]
        row[2:] = lib.tensor(3.0) * x[0, 0]
        (y * y).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(ember), run(torch))


# -- non-differentiable index ops and their errors, against torch ---------------------------

V = np.array([[3, 1, 2, 1], [0, 0, 5, 3], [3, 1, 2, 1]])

INT_CASES = [
    lambda L, x: L.unique(x),
    lambda L, x: L.unique(x, return_inverse=True, return_counts=True),
    lambda L, x: L.unique(x, dim=0, return_inverse=True, return_counts=True),
    lambda L, x: L.unique(x, dim=1),
    lambda L, x: L.unique_consecutive(x.flatten(), return_inverse=True, return_counts=True),
    lambda L, x: L.unique_consecutive(x, dim=0, return_counts=True),
    lambda L, x: x.sort(dim=1, descending=True),
    lambda L, x: L.sort(x, stable=True, dim=0),
    lambda L, x: x.argsort(dim=0, descending=True),
    lambda L, x: L.searchsorted(L.tensor([0, 1, 3, 5]), x),
    lambda L, x: L.searchsorted(L.tensor([0, 1, 3, 5]), x, right=True, out_int32=True),
    lambda L, x: L.searchsorted(L.tensor([0, 1, 3, 5]), 3, side="right"),
    lambda L, x: L.searchsorted(x.sort().values, x, side="right"),
    lambda L, x: L.bucketize(x, L.tensor([1, 3])),
    lambda L, x: L.bucketize(x, L.tensor([1, 3]), right=True),
    lambda L, x: x.nonzero(),
    lambda L, x: x.nonzero(as_tuple=True),
    lambda L, x: L.argwhere(x),
    lambda L, x: L.nn.functional.one_hot(x) if L.__name__ == "torch" else _one_hot(x),
    lambda L, x: L.nn.functional.one_hot(x[0], 7) if L.__name__ == "torch" else
    _one_hot(x[0], 7),
    lambda L, x: L.repeat_interleave(L.tensor([2, 0, 1])),
    lambda L, x: x.topk(2, dim=0),
    lambda L, x: L.cat([x, x.float()], 1),
    lambda L, x: L.stack([x.int(), x]),
    lambda L, x: x.split([1, 3], 1),
    lambda L, x: L.zeros(2, 5, dtype=L.int64).scatter_(1, L.tensor([[1], [4]]), 7),
    lambda L, x: L.ones(2, 3).scatter(1, L.tensor([[1, 1], [0, 2]]), 3.0, reduce="multiply"),
    lambda L, x: x.index_fill(1, L.tensor([0, 3]), -1),
    lambda L, x: x.masked_fill(L.tensor(V > 2), 9),
    lambda L, x: x.index_put_((L.tensor([0, 0]), L.tensor([1, 1])), L.tensor(4), True),
]


def _one_hot(x, n=-1):
    from ember._ops.indexing.gather_scatter import one_hot

    return one_hot(x, n)


@pytest.mark.parametrize("k", range(len(INT_CASES)))
def test_integer_index_ops_match_torch(torch, k):
    e = INT_CASES[k](ember, ember.tensor(V))
    t = INT_CASES[k](torch, torch.tensor(V))
    e, t = (e, t) if isinstance(t, tuple) else ((e,), (t,))
    assert len(e) == len(t)
    for a, b in zip(e, t):
        assert str(a.dtype) == str(b.dtype) and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_sort_returns_named_tuple_and_stable_ties():
    x = ember.tensor([2.0, 1.0, 2.0, float("nan"), 1.0])
    out = x.sort(descending=True)
    assert out.indices.tolist() == [3, 0, 2, 1, 4]
    assert out.values.tolist()[1:] == [2.0, 2.0, 1.0, 1.0]
    values, indices = x.sort()
    assert indices.tolist() == [1, 4, 0, 2, 3]


ERRORS = [
    (lambda L: L.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda L: L.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda L: L.cat([L.zeros(2, 3), L.zeros(2, 4)]), RuntimeError,
     "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for "
     "tensor number 1 in the list."),
    (lambda L: L.cat([L.zeros(2, 3), L.zeros(3)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda L: L.cat([L.zeros(()), L.zeros(())]), RuntimeError,
     "zero-dimensional tensor (at position 0) cannot be concatenated"),
    (lambda L: L.stack([L.zeros(3), L.zeros(4)]), RuntimeError,
     "stack expects each tensor to be equal size, but got [3] at entry 0 and [4] at entry 1"),
    (lambda L: L.zeros(3).split([1, 1]), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 3"),
    (lambda L: L.zeros(2, 3).gather(1, L.tensor([[5]])), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    (lambda L: L.zeros(2, 3).gather(1, L.tensor([0])), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    (lambda L: L.zeros(2, 3).gather(0, L.zeros(3, 4, dtype=L.int64)), RuntimeError,
     "Size does not match at dimension 1 expected index [3, 4] to be no larger than self "
     "[2, 3] apart from dimension 0"),
    (lambda L: L.zeros(2, 3).scatter_add(1, L.tensor([[1]]), L.ones(1, 1, dtype=L.float64)),
     RuntimeError, "Expected self.dtype to be equal to src.dtype"),
    (lambda L: L.zeros(2, 3).index_select(0, L.tensor([[0]])), IndexError,
     "index_select(): Index is supposed to be a vector"),
    (lambda L: L.zeros(2, 3).index_select(0, L.tensor([3])), IndexError,
     "index out of range in self"),
    (lambda L: L.zeros(2, 3).masked_fill(L.ones(2, 3), 1.0), RuntimeError,
     "masked_fill_ only supports boolean masks, but got mask with dtype"),
    (lambda L: L.zeros(3).topk(4), RuntimeError, "selected index k out of range"),
    (lambda L: L.zeros(2, 3).t().view(-1), RuntimeError, ".reshape(...)"),
    (lambda L: L.zeros(2, 3).flatten(1, 0),
     RuntimeError, "flatten() has invalid args: start_dim cannot come after end_dim"),
    (lambda L: L.zeros(2, 3).repeat(2), RuntimeError,
     "Number of dimensions of repeat dims can not be smaller than number of dimensions"),
    (lambda L: L.zeros(3).chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(torch, k):
    fn, exc, msg = ERRORS[k]
    for lib in (ember, torch):
        with pytest.raises(exc) as info:
            fn(lib)
        assert msg in str(info.value), (lib.__name__, str(info.value))


def test_pad_errors_and_one_hot_errors(torch):
    from ember._ops.indexing.gather_scatter import one_hot
    from ember._ops.shape.copies import pad

    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        pad(ember.zeros(1, 2, 3), (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        pad(ember.zeros(2, 3), (1,))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        one_hot(ember.tensor([3]), 2)
    with pytest.raises(RuntimeError, match="only applicable to index tensor of type LongTensor"):
        one_hot(ember.tensor([1.0]))


def test_zero_d_index_on_a_vector(torch):
    # The data tutorial's one-hot target transform: zeros(10).scatter_(0, tensor(y), value=1)
    for lib in (ember, torch):
        onehot = lib.zeros(10).scatter_(0, lib.tensor(3), value=1)
        assert onehot.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        picked = lib.gather(lib.tensor([1, 2, 3]), 0, lib.tensor(1))
        assert picked.shape == () and picked.item() == 2
        assert lib.zeros(10).scatter(0, lib.tensor([3]), 2.0).tolist()[3] == 2.0


# -- sequences as indices: range, lists, tuples, NumPy arrays (issue 13) ----------------------

class _Index:
    """An object with ``__index__`` (torch reads it as an int)."""

    def __index__(self):
        return 1


B = np.arange(120, dtype=np.float64).reshape(4, 5, 6)

SEQUENCE_INDICES = {
    "range": lambda L: range(3),
    "range_step": lambda L: range(0, 4, 2),
    "range_empty": lambda L: range(0),
    "range_negative": lambda L: range(-2, 0),
    "range_and_tensor": lambda L: (range(3), L.tensor([1, 2, 0])),
    "range_and_range": lambda L: (range(2), range(1, 3)),
    "slice_and_range": lambda L: (slice(None), range(2)),
    "none_and_range": lambda L: (None, range(2)),
    "range_ellipsis_range": lambda L: (range(2), Ellipsis, range(2)),
    "int_range_int": lambda L: (1, range(2), 0),
    "range_and_column": lambda L: (range(2), [[0], [1]]),
    "range_and_bool_list": lambda L: (range(2), [True, False, True, False, True]),
    "tuple_of_lists": lambda L: ([0, 1], [2, 3]),
    "long_list": lambda L: [0, 1, 2, 3] * 9,
    "np_int64": lambda L: np.array([0, 2]),
    "np_int32": lambda L: np.array([0, 2], np.int32),
    "np_uint16": lambda L: np.array([3, 1], np.uint16),
    "np_bool": lambda L: np.array([True, False, True, False]),
    "np_bool_2d": lambda L: np.ones((4, 5), bool),
    "np_int_scalars": lambda L: (np.int32(1), np.int64(2)),
    "np_0d_int": lambda L: np.array(2),
    "np_0d_float": lambda L: np.array(1.0),
    "np_0d_bool": lambda L: np.array(True),
    "np_float": lambda L: np.array([0.0, 1.0]),
    "bool_list": lambda L: [True, False, True, True],
    "mixed_bool_int_list": lambda L: [True, 0],
    "float_list_truncates": lambda L: [0.7, 1.9, -0.5],
    "empty_list": lambda L: [],
    "list_of_np_ints": lambda L: [np.int64(0), np.int64(2)],
    "ellipsis_and_list": lambda L: (Ellipsis, [0, 1]),
    "dunder_index": lambda L: _Index(),
    "dunder_index_in_tuple": lambda L: (0, _Index()),
    "deque": lambda L: __import__("collections").deque([0, 1]),
    "long_list_of_tensors": lambda L: [L.tensor(1)] * 40,
}


def _outcome(lib, make, kind):
    """What ``kind`` (get / set a number / set a tensor / gradient) does in ``lib``."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if kind == "get":
                y = lib.tensor(B)[make(lib)]
                result = (tuple(y.shape), y.numpy().tolist())
            elif kind in ("set", "set_tensor"):
                x = lib.tensor(B)
                x[make(lib)] = -1.0 if kind == "set" else -lib.arange(6.0, dtype=lib.float64)
                result = x.numpy().tolist()
            else:
                x = lib.tensor(B, requires_grad=True)
                y = x[make(lib)]
                (y * y).sum().backward()
                result = x.grad.numpy().tolist()
        except Exception as e:  # noqa: BLE001 -- compared with torch's, type and message
            result = (type(e).__name__, str(e).splitlines()[0])
    messages = sorted({str(w.message).split(" (Triggered internally")[0] for w in caught
                       if "Casting complex" not in str(w.message)})
    return result, messages


@pytest.mark.parametrize("kind", ["get", "set", "set_tensor", "grad"])
@pytest.mark.parametrize("name", list(SEQUENCE_INDICES))
def test_sequence_indices_match_torch(torch, name, kind):
    make = SEQUENCE_INDICES[name]
    got, got_warnings = _outcome(ember, make, kind)
    want, want_warnings = _outcome(torch, make, kind)
    assert got == want
    if kind != "grad":  # torch warns again in backward; ember once, where the index is read
        assert got_warnings == want_warnings


def test_range_index_reproducer_from_the_issue(torch):
    for lib in (ember, torch):
        x = lib.zeros(3, 4)
        idx = lib.tensor([2, 0, 3])
        x[range(3), idx] = 1
        assert x.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
        assert lib.arange(5)[range(2)].tolist() == [0, 1]


NON_TUPLE = "Using a non-tuple sequence for multidimensional indexing is deprecated"

SEQUENCE_ERRORS = {
    "range_out_of_bounds": lambda L: range(3, 6),
    "str": lambda L: "ab",
    "list_of_str": lambda L: ["a"],
    "bytes": lambda L: b"\x00\x01",
    "complex_list": lambda L: [1 + 0j],
    "nan_in_list": lambda L: [float("nan")],
    "np_float_scalar": lambda L: np.float64(1.0),
    "np_bool_scalar": lambda L: np.bool_(True),
    "float": lambda L: 1.0,
    "dict": lambda L: {0: 1},
    "set": lambda L: {0, 1},
    "float_tensor": lambda L: L.tensor([0.0, 1.0]),
    "too_many_from_list_of_bool_lists": lambda L: [[True] * 5] * 4,
    "mask_after_ellipsis_counts_one_dim": lambda L: (Ellipsis, np.ones((5, 6), bool)),
    "second_ellipsis_runs_past_the_last_dim": lambda L: (0, Ellipsis, Ellipsis, 1),
}


@pytest.mark.parametrize("name", list(SEQUENCE_ERRORS))
def test_bad_sequence_indices_raise_like_torch(torch, name):
    make = SEQUENCE_ERRORS[name]
    for kind in ("get", "set"):
        got = _outcome(ember, make, kind)
        want = _outcome(torch, make, kind)
        assert got == want
        assert isinstance(got[0], tuple) and got[0][0].endswith("Error")


@pytest.mark.parametrize("mask", [lambda L: L.tensor([1, 0, 1, 0], dtype=L.uint8),
                                  lambda L: np.array([1, 0, 1, 0], np.uint8),
                                  lambda L: [np.uint8(1), np.uint8(0), np.uint8(1),
                                             np.uint8(0)],
                                  lambda L: (L.tensor([1, 0, 1, 0], dtype=L.uint8), 0)])
def test_uint8_masks_warn_and_refuse_a_one_element_fill(torch, mask):
    for kind in ("get", "set", "set_tensor"):
        got = _outcome(ember, mask, kind)
        want = _outcome(torch, mask, kind)
        assert got == want, kind
    result, messages = _outcome(ember, mask, "get")
    assert messages == ["indexing with dtype torch.uint8 is now deprecated, please use a "
                        "dtype torch.bool instead."]


def test_non_tuple_sequence_warning_points_at_the_caller():
    import warnings

    x = ember.arange(6.0).reshape(2, 3)
    for action in (lambda: x[[range(2)]], lambda: x.__setitem__([[0, 1], [1, 2]], 0.0)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            action()
        assert [str(w.message)[:len(NON_TUPLE)] for w in caught] == [NON_TUPLE]
        assert caught[0].filename == __file__


def test_range_index_gradient_and_double_backward(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        y = (x[range(1, 4, 2)] ** 3).sum() + (x[[0, 0]] ** 2).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return g.detach().numpy(), gg.numpy()

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t)
