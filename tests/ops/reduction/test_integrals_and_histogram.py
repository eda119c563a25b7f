"""trapezoid/trapz/cumulative_trapezoid, gradient, histogram and histogramdd compared with
PyTorch: values, dtypes, exact bin edges, gradients and errors."""

import numpy as np
import pytest

import ember

Y = [[1., 2., 4.], [0., 1., 3.]]
G = [[1., 2., 4., 8.], [0., 1., 3., 2.], [5., 1., 2., 3.]]


def _outs(r):
    if isinstance(r, (tuple, list)):
        return [t for x in r for t in _outs(x)]
    return [r]


def _compare(case, torch, exact=False):
    """Same outputs (or the same exception type) from both libraries."""
    got = []
    for L in (ember, torch):
        try:
            got.append(_outs(case(L)))
        except Exception as err:  # noqa: BLE001 - the type is what is compared
            got.append(type(err))
    e, t = got
    if isinstance(t, type):
        assert isinstance(e, type) and issubclass(e, t.__mro__[0]), (e, t)
        return
    assert not isinstance(e, type), e
    assert len(e) == len(t)
    for a, b in zip(e, t):
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
        if exact:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        else:
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6,
                                       atol=1e-6)


TRAPEZOID = [
    lambda L: L.trapezoid(L.tensor(Y)),
    lambda L: L.trapezoid(L.tensor(Y), L.tensor([0., 1., 3.])),
    lambda L: L.trapezoid(L.tensor(Y), dx=2),
    lambda L: L.trapezoid(L.tensor(Y), L.tensor([[0., 1., 3.], [1., 2., 5.]])),
    lambda L: L.trapezoid(L.tensor(Y), L.tensor([[0., 1., 3.]])),
    lambda L: L.trapezoid(L.tensor([1, 2, 3])),
    lambda L: L.trapezoid(L.tensor([1, 2, 3]), L.tensor([1, 2, 4])),
    lambda L: L.trapezoid(L.ones(2, 0)),
    lambda L: L.trapezoid(L.ones(2, 0, dtype=L.int64)),
    lambda L: L.trapezoid(L.ones(2, 1)),
    lambda L: L.trapezoid(L.tensor(Y, dtype=L.float64), L.tensor([0, 1, 3])),
    lambda L: L.trapz(L.tensor(Y), L.tensor([0., 1., 3.])),
    lambda L: L.trapz(L.tensor(Y), dx=3, dim=0),
    lambda L: L.cumulative_trapezoid(L.tensor(Y)),
    lambda L: L.cumulative_trapezoid(L.tensor(Y), L.tensor([0., 1., 3.])),
    lambda L: L.cumulative_trapezoid(L.tensor(Y), dx=2),
    lambda L: L.cumulative_trapezoid(L.ones(2, 0)),
    lambda L: L.cumulative_trapezoid(L.ones(2, 1)),
    lambda L: L.cumulative_trapezoid(L.tensor([1, 2, 3])),
    # errors
    lambda L: L.trapezoid(L.tensor(Y), L.tensor([0., 1., 3.]), dim=0),
    lambda L: L.trapezoid(L.ones(())),
    lambda L: L.trapezoid(L.tensor(Y), L.tensor([0., 1., 3.]), dx=2),
    lambda L: L.trapezoid(L.tensor(Y), 2.0),
    lambda L: L.trapezoid(L.tensor([True, False])),
    lambda L: L.trapezoid(L.tensor(Y), dx=1j),
    lambda L: L.cumulative_trapezoid(L.tensor(Y), L.tensor([0., 1.])),
    lambda L: L.cumulative_trapezoid(L.tensor(Y), L.tensor([[[0., 1., 3.]]])),
]


@pytest.mark.parametrize("case", range(len(TRAPEZOID)))
def test_trapezoid_family(torch, case):
    _compare(TRAPEZOID[case], torch)


def test_trapezoid_gradients(torch):
    grads = []
    for L in (ember, torch):
        y = L.tensor(Y, requires_grad=True)
        x = L.tensor([0., 1., 3.], requires_grad=True)
        (L.trapezoid(y, x).sum() + L.cumulative_trapezoid(y, x, dim=-1).pow(2).sum()
         + L.trapezoid(y, dx=0.5, dim=0).sum()).backward()
        grads.append((y.grad.numpy(), x.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-6)


GRADIENT = [
    lambda L: L.gradient(L.tensor(G)),
    lambda L: L.gradient(L.tensor(G), spacing=2.0),
    lambda L: L.gradient(L.tensor(G), spacing=[2.0, 0.5]),
    lambda L: L.gradient(L.tensor(G), dim=1, edge_order=2),
    lambda L: L.gradient(L.tensor(G), dim=[1, 0], spacing=[1., 3.], edge_order=2),
    lambda L: L.gradient(L.tensor(G), spacing=[L.tensor([0., 1., 3.]),
                                               L.tensor([0., 1., 1.5, 4.])]),
    lambda L: L.gradient(L.tensor(G), spacing=[L.tensor([0., 1., 3.]),
                                               L.tensor([0., 1., 1.5, 4.])], edge_order=2),
    lambda L: L.gradient(L.tensor(G), spacing=(L.tensor([0., 1., 3.]),), dim=0),
    lambda L: L.gradient(L.tensor([[1, 2, 4], [3, 3, 1]])),
    lambda L: L.gradient(L.tensor([[1, 2, 4], [3, 3, 1]]), spacing=2),
    lambda L: L.gradient(L.tensor([1., 2., 4.]), spacing=L.tensor(2.)),
    # errors
    lambda L: L.gradient(L.tensor(G), spacing=[2.0]),
    lambda L: L.gradient(L.tensor(G), dim=[1], spacing=[1., 3.]),
    lambda L: L.gradient(L.tensor([1, 2, 4], dtype=L.uint8)),
    lambda L: L.gradient(L.tensor([1., 2.]), edge_order=2),
    lambda L: L.gradient(L.tensor([1., 2., 3.]), edge_order=3),
    lambda L: L.gradient(L.tensor(G), dim=[0, 0]),
    lambda L: L.gradient(L.tensor(G), dim=2),
    lambda L: L.gradient(L.tensor(G), spacing=[L.tensor([[0., 1., 3.]]),
                                               L.tensor([0., 1., 1.5, 4.])]),
]


@pytest.mark.parametrize("case", range(len(GRADIENT)))
def test_gradient(torch, case):
    _compare(GRADIENT[case], torch)


def test_gradient_error_messages(torch):
    for case in GRADIENT[11:16]:
        msgs = []
        for L in (ember, torch):
            with pytest.raises(RuntimeError) as err:
                case(L)
            msgs.append(str(err.value))
        assert msgs[0] == msgs[1]


X = [1., 2, 1, 4, 2.5, 3.999, 0.3]
HISTOGRAM = [
    lambda L: L.histogram(L.tensor(X), 3),
    lambda L: L.histogram(L.tensor(X), bins=3, range=(0., 3.)),
    lambda L: L.histogram(L.tensor(X), L.tensor([0., 1., 2.5, 5.])),
    lambda L: L.histogram(L.tensor(X), L.tensor([0., 1., 2.5, 5.]), weight=L.arange(7.),
                          density=True),
    lambda L: L.histogram(L.tensor(X), 4, density=True),
    lambda L: L.histogram(L.ones(3), 3),
    lambda L: L.histogram(L.ones(0), 3),
    lambda L: L.histogram(L.tensor(X), L.tensor([2., 1.])),
    lambda L: L.histogram(L.tensor([float("inf"), 1., float("nan")]), 3, range=(0., 2.)),
    lambda L: L.tensor(X).reshape(7, 1).histogram(2),
    lambda L: L.histogram(L.tensor(X), 3, range=(0, 3)),
    lambda L: L.histogramdd(L.tensor([[0., 0.], [1., 1.], [0.5, 0.2], [0.9, 0.1]]), bins=2),
    lambda L: L.histogramdd(L.tensor([[0., 0.], [1., 1.], [0.5, 0.2]]), bins=[2, 3],
                            range=[0., 1., 0., 2.], density=True),
    lambda L: L.histogramdd(L.tensor([[0., 0.], [1., 1.], [0.5, 0.2], [0.9, 0.1]]),
                            bins=[L.tensor([0., 0.5, 1.]), L.tensor([0., 1.])],
                            weight=L.arange(4.)),
    # errors
    lambda L: L.histogram(L.tensor([1, 2]), 3),
    lambda L: L.histogram(L.tensor(X, dtype=L.float16), 3),
    lambda L: L.histogram(L.tensor(X), 0),
    lambda L: L.histogram(L.tensor(X), 3, range=(3., 1.)),
    lambda L: L.histogram(L.tensor(X), L.tensor([[2., 1.]])),
    lambda L: L.histogram(L.tensor(X), 3, weight=L.ones(3)),
    lambda L: L.histogram(L.tensor(X), L.tensor([0., 1.]), range=(0., 1.)),
    lambda L: L.histogram(L.tensor(X).double(), L.tensor([0., 1., 2.5, 5.])),
    lambda L: L.histogram(L.tensor([float("nan"), 1.]), 3),
    lambda L: L.histogram(L.tensor(X), 3, weight=L.ones(7, dtype=L.float64)),
    lambda L: L.histogramdd(L.tensor([1., 2.]), bins=2),
]


@pytest.mark.parametrize("case", range(len(HISTOGRAM)))
def test_histogram(torch, case):
    _compare(HISTOGRAM[case], torch, exact=True)


def test_histogram_edges_exact_on_random_data(torch):
    rng = np.random.default_rng(0)
    for i in range(40):
        a = rng.standard_normal(100) * rng.choice([1, 100]) + rng.choice([0, 1e3])
        w = rng.random(100)
        bins = int(rng.integers(1, 70))
        for dt in ("float32", "float64"):
            _compare(lambda L, a=a, w=w, bins=bins, dt=dt, i=i: L.histogram(
                L.tensor(a, dtype=getattr(L, dt)), bins,
                weight=L.tensor(w, dtype=getattr(L, dt)) if i % 2 else None,
                density=i % 3 == 0), torch, exact=not i % 3 == 0)


def test_histogram_result_types(torch):
    e, t = ember.histogram(ember.tensor(X), 2), torch.histogram(torch.tensor(X), 2)
    assert e.hist is e[0] and e.bin_edges is e[1] and "histogram(" in repr(e)
    assert e._fields == ("hist", "bin_edges")
    d = ember.histogramdd(ember.ones(3, 2), 2)
    assert isinstance(d.bin_edges, tuple) == isinstance(
        torch.histogramdd(torch.ones(3, 2), 2).bin_edges, tuple)
    assert t.hist.tolist() == e.hist.tolist()
