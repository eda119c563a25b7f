"""Sparse COO gaps found by the recommender programs (tests/programs/tab_*.py): row selection
of a user-item matrix (``index_select``, ``select``, ``s[i]``) and scaling by a dense tensor,
zero-preserving unary ops (``abs``, ``sqrt``, ``pow``) and ``norm``; each against torch
(entries, their storage order, the coalesced flag, gradients)."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

IDX = [[2, 0, 0, 2, 1, 2], [2, 3, 1, 1, 0, 1]]  # uncoalesced: (2, 1) twice, rows out of order


def _pair(coalesce=False):
    e = ember.sparse_coo_tensor(ember.tensor(IDX), ember.arange(1.0, 7.0), (3, 4))
    t = torch.sparse_coo_tensor(torch.tensor(IDX), torch.arange(1.0, 7.0), (3, 4))
    return (e.coalesce(), t.coalesce()) if coalesce else (e, t)


def _same(e, t):
    assert e.layout == ember.sparse_coo and tuple(e.shape) == tuple(t.shape)
    assert e.is_coalesced() == t.is_coalesced()
    assert e._indices().tolist() == t._indices().tolist()
    np.testing.assert_allclose(e._values().numpy(), t._values().numpy())
    assert e.dtype.__repr__().split(".")[-1] == repr(t.dtype).split(".")[-1]


@pytest.mark.parametrize("coalesce", [False, True])
@pytest.mark.parametrize("dim,index", [(0, [2, 0]), (0, [2, 2, 1]), (0, [1]), (0, []),
                                       (1, [1, 3]), (-1, [3, 3, 0])])
def test_index_select(coalesce, dim, index):
    e, t = _pair(coalesce)
    _same(e.index_select(dim, ember.tensor(index, dtype=ember.int64)),
          t.index_select(dim, torch.tensor(index, dtype=torch.int64)))


def test_index_select_order_on_a_larger_matrix():
    torch.manual_seed(0)
    idx = torch.stack([torch.randint(0, 50, (200,)), torch.randint(0, 30, (200,))])
    vals = torch.randn(200)
    t = torch.sparse_coo_tensor(idx, vals, (50, 30))
    e = ember.sparse_coo_tensor(ember.tensor(idx.numpy()), ember.tensor(vals.numpy()), (50, 30))
    rows = torch.randint(0, 50, (120,))
    _same(e.index_select(0, ember.tensor(rows.numpy())), t.index_select(0, rows))


@pytest.mark.parametrize("coalesce", [False, True])
@pytest.mark.parametrize("dim,i", [(0, 2), (0, 1), (0, -1), (1, 1), (1, 0)])
def test_select_and_integer_indexing(coalesce, dim, i):
    e, t = _pair(coalesce)
    _same(e.select(dim, i), t.select(dim, i))
    if dim == 0:
        _same(e[i], t[i])


def test_selection_errors_match_torch():
    e, t = _pair()
    for fn in (lambda x: x[3], lambda x: x.select(2, 0),
               lambda x: x.index_select(0, x.new_tensor([1.0]) if x is t else
                                        ember.tensor([1.0])),
               lambda x: x.index_select(0, (torch if x is t else ember).tensor([5]))):
        with pytest.raises(Exception) as te:
            fn(t)
        with pytest.raises(type(te.value)) as ee:
            fn(e)
        assert str(ee.value) == str(te.value)


def test_index_select_gradient_goes_back_to_the_selected_rows():
    e, _ = _pair()
    leaf = e.detach().requires_grad_()
    out = leaf.index_select(0, ember.tensor([2, 0, 2]))
    assert out.grad_fn.name() == "IndexSelectBackward0"
    (out.to_dense() * ember.arange(12.0).view(3, 4)).sum().backward()
    # dense reference: the gradient of sum(w * x[[2, 0, 2]]) on x's entries
    x = torch.tensor(e.to_dense().numpy(), requires_grad=True)
    (x[[2, 0, 2]] * torch.arange(12.0).view(3, 4)).sum().backward()
    mask = e.to_dense().numpy() != 0
    np.testing.assert_allclose(leaf.grad.to_dense().numpy(), x.grad.numpy() * mask)
    leaf.grad = None
    leaf[2].to_dense().sum().backward()
    np.testing.assert_allclose(leaf.grad.to_dense().numpy(), [[0] * 4, [0] * 4, [0, 1, 1, 0]])


@pytest.mark.parametrize("coalesce", [False, True])
@pytest.mark.parametrize("other", [[1.0, 2.0, 3.0, 4.0], [[1.0], [2.0], [3.0]],
                                   [[2.0] * 4] * 3])
def test_mul_by_a_dense_tensor(coalesce, other):
    e, t = _pair(coalesce)
    _same(e * ember.tensor(other), t * torch.tensor(other))
    _same(ember.tensor(other) * e, torch.tensor(other) * t)
    _same(e.mul(ember.tensor(other, dtype=ember.float64)),
          t.mul(torch.tensor(other, dtype=torch.float64)))


def test_mul_by_a_dense_tensor_gradient():
    e, _ = _pair(True)
    leaf = e.detach().requires_grad_()
    w = ember.tensor([[1.0], [2.0], [3.0]])
    ember.sparse.sum(leaf * w).backward()
    np.testing.assert_allclose(leaf.grad.to_dense().numpy(),
                               (e.to_dense().numpy() != 0) * np.array([[1.0], [2.0], [3.0]]))


V1 = [-1.0, 4.0, -3.0, 2.0]  # on 1-D indices [2, 0, 2, 1]: index 2 appears twice


def _vec(lib, values=V1, dtype=None):
    return lib.sparse_coo_tensor(lib.tensor([[2, 0, 2, 1]]), lib.tensor(values, dtype=dtype),
                                 (4,))


@pytest.mark.parametrize("coalesce", [False, True])
@pytest.mark.parametrize("op", [lambda s: s.abs(), lambda s: s.abs().sqrt(),
                                lambda s: s.pow(2), lambda s: s ** 3, lambda s: s.pow(-1),
                                lambda s: s.abs().pow(0.5)])
def test_zero_preserving_unary_ops_coalesce_first(coalesce, op):
    e, t = _vec(ember), _vec(torch)
    if coalesce:
        e, t = e.coalesce(), t.coalesce()
    _same(op(e), op(t))


def test_unary_ops_on_integer_entries():
    e, t = _vec(ember, [1, 2, 3, 4], ember.int64), _vec(torch, [1, 2, 3, 4], torch.int64)
    _same(e.pow(2), t.pow(2))
    _same(e.sqrt(), t.sqrt())
    _same(e.abs(), t.abs())


def test_pow_zero_raises_as_torch():
    with pytest.raises(RuntimeError) as te:
        _vec(torch).pow(0)
    with pytest.raises(RuntimeError) as ee:
        _vec(ember).pow(0)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("p", ["fro", 1, 2, 3.0, float("inf")])
def test_norm_of_the_coalesced_entries(p):
    e, t = _vec(ember), _vec(torch)
    out, ref = e.norm(p), t.norm(p)
    assert out.layout == ember.strided and out.shape == () and out.dtype == ember.float32
    assert out.item() == pytest.approx(ref.item(), rel=1e-6)


def test_abs_and_norm_gradients():
    leaf = _vec(ember).requires_grad_()
    out = leaf.abs()
    assert out.grad_fn.name() == "AbsBackward0"
    ember.sparse.sum(out).backward()
    ref = _vec(torch).requires_grad_()
    torch.sparse.sum(ref.abs()).backward()
    np.testing.assert_allclose(leaf.grad.to_dense().numpy(), ref.grad.to_dense().numpy())
    # torch's sparse norm has no backward; compare with the dense norm's gradient on the entries
    leaf = _vec(ember).requires_grad_()
    leaf.norm().backward()
    dense = torch.tensor(_vec(ember).to_dense().numpy(), requires_grad=True)
    dense.norm().backward()
    np.testing.assert_allclose(leaf.grad.to_dense().numpy(), dense.grad.numpy(), rtol=1e-6)
