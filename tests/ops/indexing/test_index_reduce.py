"""index_reduce (every reduction, with and without include_self, gradients, errors),
unravel_index, nonzero_static and the top-level index_put_, compared with PyTorch."""

import warnings

import numpy as np
import pytest

import ember

S = [[0.5, 1.], [2., 3.], [4., 5.], [6., 0.25]]
I = [0, 2, 0, 2]


def _np(t):
    return t.detach().numpy()


def _both(case, torch):
    """(ember outcome, torch outcome): the outputs, or the exception."""
    got = []
    for L in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got.append(case(L))
            except Exception as err:  # noqa: BLE001 - compared below
                got.append(err)
    return got


def _alike(case, torch, messages=True):
    e, t = _both(case, torch)
    if isinstance(t, Exception):
        assert type(e) is type(t) or isinstance(e, type(t).__mro__[1]), (e, t)
        if messages:
            assert str(e) == str(t)
        return
    assert not isinstance(e, Exception), e
    es, ts = (e if isinstance(e, tuple) else (e,)), (t if isinstance(t, tuple) else (t,))
    assert len(es) == len(ts)
    for a, b in zip(es, ts):
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_values_and_gradients(torch, reduce, include_self):
    def case(L):
        x = L.tensor([[1., 2.], [3., 4.], [5., 0.5]], requires_grad=True)
        s = L.tensor(S, requires_grad=True)
        out = L.index_reduce(x, 0, L.tensor(I), s, reduce, include_self=include_self)
        assert out.grad_fn.name() == "IndexReduceBackward0"
        out.backward(L.tensor([[1., 2.], [3., 4.], [5., 6.]]))
        return out, x.grad, s.grad

    _alike(case, torch)
    _alike(lambda L: L.ones(3, 2, dtype=L.long).index_reduce_(
        0, L.tensor(I), L.tensor(S).long(), reduce, include_self=include_self), torch)
    _alike(lambda L: L.ones(2, 3).index_reduce(
        -1, L.tensor([2, 2], dtype=L.int32), L.tensor(S)[:2].t(), reduce,
        include_self=include_self), torch)


def test_index_reduce_inplace_and_warning(torch):
    x = ember.ones(3)
    with pytest.warns(UserWarning, match="index_reduce"):
        ember._ops.indexing.scatter_reduce._index_reduce_warned[0] = False
        assert x.index_reduce_(0, ember.tensor([1]), ember.tensor([5.]), "prod") is x
    assert x.tolist() == [1., 5., 1.]
    assert not hasattr(ember, "index_reduce_") and not hasattr(torch, "index_reduce_")


@pytest.mark.parametrize("bad", [
    lambda L: L.ones(3, 2).index_reduce(0, L.tensor(I), L.tensor(S), "sum"),
    lambda L: L.ones(3, 2).index_reduce_(0, L.tensor(I), L.tensor(S), "sum"),
    lambda L: L.ones(3, 2).index_reduce(0, L.tensor(I).float(), L.tensor(S), "amax"),
    lambda L: L.ones(3, 2).index_reduce(0, L.tensor(I[:3]), L.tensor(S), "amax"),
    lambda L: L.ones(3, 2).index_reduce(1, L.tensor(I), L.tensor(S), "amax"),
    lambda L: L.ones(3, 2).index_reduce(0, L.tensor([0, 5, 0, 2]), L.tensor(S), "amax"),
    lambda L: L.ones(3, 2).index_reduce(0, L.tensor([0, -1, 0, 2]), L.tensor(S), "amax"),
    lambda L: L.ones(3, 2).index_reduce(0, L.tensor(I), L.tensor(S).double(), "amin"),
    lambda L: L.ones(3, 2).index_reduce(0, L.tensor(I).reshape(2, 2), L.tensor(S), "amin"),
    lambda L: L.ones(3, 3).index_reduce(0, L.tensor(I), L.tensor(S), "amin"),
    lambda L: L.tensor(1.).index_reduce(0, L.tensor(I), L.tensor(2.), "prod"),
    lambda L: L.ones(3, 2, dtype=L.bool).index_reduce(0, L.tensor(I), L.ones(4, 2).bool(),
                                                      "mean"),
    lambda L: L.ones(3, 2, dtype=L.bool).index_reduce(0, L.tensor(I), L.ones(4, 2).bool(),
                                                      "amax", include_self=False),
    lambda L: L.ones(3, 2).cfloat().index_reduce(0, L.tensor(I), L.ones(4, 2).cfloat(), "amax"),
])
def test_index_reduce_errors(torch, bad):
    e, t = _both(bad, torch)
    assert isinstance(t, Exception) and type(e) is type(t)
    assert str(e).split(" (")[0] == str(t).split(" (")[0] or str(e) == str(t)


UNRAVEL = [
    lambda L: L.unravel_index(L.tensor([4, 7]), (2, 4)),
    lambda L: L.unravel_index(L.tensor(4), (2, 4)),
    lambda L: L.unravel_index(L.tensor([[4, 7]]), L.Size([2, 4])),
    lambda L: L.unravel_index(L.tensor([-1, -9, 8]), (2, 4)),
    lambda L: L.unravel_index(L.tensor([1], dtype=L.int32), (2, 4)),
    lambda L: L.unravel_index(L.tensor([1]), 4),
    lambda L: L.unravel_index(L.tensor([1]), ()),
    lambda L: L.unravel_index(L.tensor([1.]), (2, 4)),
    lambda L: L.unravel_index(L.tensor([True]), (2, 3)),
    lambda L: L.unravel_index(L.tensor([0]), (2, -1)),
    lambda L: L.unravel_index(L.tensor([1]), (2., 3)),
]


@pytest.mark.parametrize("case", range(len(UNRAVEL)))
def test_unravel_index(torch, case):
    _alike(UNRAVEL[case], torch)


NONZERO_STATIC = [
    lambda L: L.nonzero_static(L.tensor([[0, 1], [2, 0]]), size=1),
    lambda L: L.nonzero_static(L.tensor([[0, 1], [2, 0]]), size=4, fill_value=-7),
    lambda L: L.tensor([[0, 1], [2, 0]]).nonzero_static(size=0),
    lambda L: L.nonzero_static(L.tensor(3.), size=2),
    lambda L: L.nonzero_static(L.ones(2, requires_grad=True), size=3),
    lambda L: L.nonzero_static(L.ones(2), size=-1),
]


@pytest.mark.parametrize("case", range(len(NONZERO_STATIC)))
def test_nonzero_static(torch, case):
    _alike(NONZERO_STATIC[case], torch)


def test_index_put_top_level(torch):
    def case(L):
        x = L.zeros(3)
        out = L.index_put_(x, (L.tensor([0, 2, 0]),), L.tensor([1., 2., 3.]), accumulate=True)
        assert out is x
        return x

    _alike(case, torch)
