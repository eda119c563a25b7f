"""Tensor builders (``tril_indices``/``triu_indices``, ``vander``, ``block_diag``,
``cartesian_prod``, ``meshgrid``, ``broadcast_shapes``) and ``as_strided`` views: values,
gradients and errors against torch."""

import warnings

import pytest

import ember
from tests.ops._compare import np_of as _np  # noqa: F401
from tests.ops._compare import same as _same
from tests.ops._compare import version as _ver


@pytest.mark.parametrize("expr", [
    "L.tril_indices(3, 3)", "L.tril_indices(4, 3, -1)", "L.triu_indices(2, 4, 1)",
    "L.triu_indices(3, 3, dtype=L.int32)", "L.tril_indices(0, 3)",
    "L.vander(L.tensor([1, 2, 3]))",
    "L.block_diag(L.tensor([[1, 2]]), L.tensor([[3.]]))",
    "L.block_diag()",
    "L.cartesian_prod(L.tensor([1, 2]))",
])
def test_builder_values_match_torch(torch, expr):
    _same(eval(expr, {"L": ember}), eval(expr, {"L": torch}))


@pytest.mark.parametrize("expr", [
    "L.rot90(L.ones(2, 2), 1, [0])",
    "L.rot90(L.ones(2), 1)",
    "L.rot90(L.ones(2, 2), 1, [1, 1])",
    "L.cartesian_prod(L.ones(2, 2))",
    "L.vander(L.ones(2, 2))",
    "L.block_diag(L.ones(2, 2, 2))",
])
def test_builder_errors_as_torch(torch, expr):
    with pytest.raises(Exception) as te:
        eval(expr, {"L": torch})
    with pytest.raises(type(te.value)):
        eval(expr, {"L": ember})


def test_broadcast_shapes_and_meshgrid(torch):
    for shapes in [((2, 1), (3,)), ((1,), 3, (4, 1)), ((),), ()]:
        assert tuple(ember.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    with pytest.raises(RuntimeError):
        ember.broadcast_shapes((2,), (3,))
    with pytest.warns(UserWarning, match="indexing argument"):
        g = ember.meshgrid(ember.arange(2), ember.arange(3))
    assert g[0].shape == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gx, gy = ember.meshgrid([ember.arange(2), ember.arange(3)], indexing="xy")
    tx, ty = torch.meshgrid(torch.arange(2), torch.arange(3), indexing="xy")
    _same(gx, tx), _same(gy, ty)


def test_as_strided_views_and_errors(torch):
    e, t = ember.arange(12.).view(3, 4), torch.arange(12.).view(3, 4)
    for args in [((2, 2), (1, 2)), ((3, 3), (4, 1), 1), ((2,), (0,), 5)]:
        _same(e.as_strided(*args), t.as_strided(*args))
    _same(e[1:].as_strided((2, 2), (1, 1)), t[1:].as_strided((2, 2), (1, 1)))
    v = e.as_strided((2,), (1,))
    v[0] = 100.0
    assert e[0, 0].item() == 100.0 and _ver(v) == _ver(e)
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="out of bounds for storage"):
            L.ones(2).as_strided((3, 3), (3, 1))


def test_vander_gradcheck():
    x = ember.tensor([0.5, -1.5, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: ember.vander(a, N=4), (x,))
    assert ember.autograd.gradgradcheck(lambda a: ember.vander(a, increasing=True), (x,))
