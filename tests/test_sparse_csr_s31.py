"""Sparse gaps of issue 13 against PyTorch: entry-wise functions, sums and products of CSR
tensors, sparse_mask with a CSR mask, hspmm/smm/sspaddmm, narrow_copy and sparse_resize_ of
COO tensors, COO * COO with dense dims, torch.sparse.mm's reduce=None."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message=".*Sparse.*")

IDX = [[0, 1, 1], [2, 0, 2]]
VALS = [0.3, -0.4, 0.5]
# coordinates with a repeat and rows/cols in disorder (an uncoalesced COO matrix)
UIDX = [[1, 0, 1, 1], [2, 0, 2, 0]]
UVALS = [3.0, -4.0, 5.0, 1.0]


def csr(m, grad=False, vals=VALS, dtype=None):
    c = m.sparse_coo_tensor(m.tensor(IDX), m.tensor(vals, dtype=dtype), (2, 3)).to_sparse_csr()
    return c.requires_grad_() if grad else c


def coo(m):
    return m.sparse_coo_tensor(m.tensor(UIDX), m.tensor(UVALS), (3, 3))


def arr(t):
    if t.layout is not (ember.strided if isinstance(t, ember.Tensor) else torch.strided):
        t = t.to_dense()
    return np.asarray(t.detach().tolist())


def same(e, t):
    assert str(e.layout) == str(t.layout) and str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(arr(e), arr(t), rtol=1e-6, atol=1e-7)


def same_coo(e, t):
    """Same entries in the same storage order, same coalesced flag and hybrid layout."""
    assert (e.sparse_dim(), e.dense_dim()) == (t.sparse_dim(), t.dense_dim())
    assert e.is_coalesced() == t.is_coalesced() and tuple(e.shape) == tuple(t.shape)
    assert e._indices().tolist() == t._indices().tolist()
    np.testing.assert_allclose(np.asarray(e._values().tolist()),
                               np.asarray(t._values().tolist()), rtol=1e-6)


def same_csr(e, t):
    same(e, t)
    assert e.crow_indices().tolist() == t.crow_indices().tolist()
    assert e.col_indices().tolist() == t.col_indices().tolist()


def raises_like(fn):
    """fn(ember) raises the exception type fn(torch) raises, with the same first line."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    assert str(e_err.value).splitlines()[0] == str(t_err.value).splitlines()[0]


# -- unary functions that keep the pattern -------------------------------------------------

UNARY = ["abs", "absolute", "angle", "asin", "arcsin", "asinh", "atan", "atanh", "ceil",
         "conj_physical", "deg2rad", "erf", "erfinv", "expm1", "fix", "floor", "frac", "isinf",
         "isnan", "isneginf", "isposinf", "log1p", "neg", "negative", "positive", "rad2deg",
         "relu", "round", "sgn", "sign", "signbit", "sin", "sinh", "sqrt", "tan", "tanh",
         "trunc"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_function_and_method(name):
    same_csr(getattr(ember, name)(csr(ember)), getattr(torch, name)(csr(torch)))
    same_csr(getattr(csr(ember), name)(), getattr(csr(torch), name)())


@pytest.mark.parametrize("name", ["abs", "neg", "sgn", "relu", "ceil", "signbit", "isnan"])
def test_unary_integer_dtypes(name):
    e = getattr(ember, name)(csr(ember, vals=[2, 1, -3], dtype=ember.int64))
    t = getattr(torch, name)(csr(torch, vals=[2, 1, -3], dtype=torch.int64))
    same_csr(e, t)


@pytest.mark.parametrize("name", ["sin_", "relu_", "abs_", "neg_", "sqrt_", "tanh_", "sgn_",
                                  "trunc_", "arcsin_", "fix_", "rad2deg_"])
def test_unary_in_place(name):
    e, t = csr(ember), csr(torch)
    assert getattr(e, name)() is e and getattr(t, name)() is t
    same_csr(e, t)


def test_unary_in_place_errors():
    raises_like(lambda m: csr(m, grad=True).sin_())  # a leaf that requires grad
    raises_like(lambda m: csr(m, vals=[1, 2, 3], dtype=m.int64).sin_())  # float into long


@pytest.mark.parametrize("name", ["cos", "exp", "sigmoid", "square", "log"])
def test_unary_that_fills_stays_unsupported(name):
    # f(0) != 0 (or not defined for CSR in PyTorch): both refuse
    with pytest.raises(RuntimeError):
        getattr(torch, name)(csr(torch))
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(ember, name)(csr(ember))


def test_round_with_decimals_refused():
    raises_like(lambda m: m.round(csr(m), decimals=1))


@pytest.mark.parametrize("name", ["relu", "abs", "neg", "sin", "tanh", "asinh"])
def test_unary_gradient(name):
    # PyTorch gives these gradients for relu/abs/neg (on the input's entries); ember gives
    # the same formula for every pattern-keeping function
    e, t = csr(ember, grad=True), csr(torch, grad=True)
    ye, yt = getattr(e, name)(), getattr(t, name)()
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
    ye.to_dense().sum().backward()
    assert e.grad.layout is ember.sparse_csr
    if name in ("relu", "abs", "neg"):
        yt.to_dense().sum().backward()
        same_csr(e.grad, t.grad)
    else:
        x = torch.tensor(VALS, requires_grad=True)
        getattr(torch, name)(x).sum().backward()
        np.testing.assert_allclose(e.grad.values().tolist(), x.grad.tolist(), rtol=1e-6)


# -- sums ----------------------------------------------------------------------------------

def test_sum_all_and_gradient():
    e, t = csr(ember, grad=True), csr(torch, grad=True)
    se, st = e.sum(), t.sum()
    same(se, st)
    assert type(se.grad_fn).__name__ == type(st.grad_fn).__name__
    se.backward()
    st.backward()
    same(e.grad, t.grad)  # dense and full, as PyTorch gives it
    same(ember.sum(csr(ember), dtype=ember.float64), torch.sum(csr(torch), dtype=torch.float64))
    ie = csr(ember, vals=[1, 2, -3], dtype=ember.int32)
    it = csr(torch, vals=[1, 2, -3], dtype=torch.int32)
    same(ie.sum(), it.sum())


@pytest.mark.parametrize("dim", [0, 1, -1, -2, (0, 1), (1,), (-1, 0)])
def test_sum_dims_keepdim(dim):
    e = ember.sum(csr(ember), dim, keepdim=True)
    t = torch.sum(csr(torch), dim, keepdim=True)
    same_csr(e, t)
    same_csr(csr(ember).sum(dim, True), csr(torch).sum(dim, True))


def test_sum_dims_row_with_cancelling_entries_and_dtype():
    def make(m):
        return m.sparse_coo_tensor(m.tensor([[0, 0], [0, 1]]), m.tensor([1.0, -1.0]),
                                   (3, 2)).to_sparse_csr()

    same_csr(make(ember).sum(1, keepdim=True), make(torch).sum(1, keepdim=True))
    same_csr(make(ember).sum(0, keepdim=True), make(torch).sum(0, keepdim=True))
    same_csr(make(ember).sum(0, True, dtype=ember.float64),
             make(torch).sum(0, True, dtype=torch.float64))
    same_csr(csr(ember, vals=[1, 2, -3], dtype=ember.int64).sum(0, keepdim=True),
             csr(torch, vals=[1, 2, -3], dtype=torch.int64).sum(0, keepdim=True))


def test_sum_dims_errors():
    raises_like(lambda m: m.sum(csr(m), 1))  # keepdim=False
    raises_like(lambda m: csr(m).sum((0, 1)))
    raises_like(lambda m: csr(m).to_sparse_csc().sum(0, keepdim=True))
    raises_like(lambda m: csr(m, vals=[True, True, False]).sum(1, keepdim=True))


def test_sum_dims_gradient():
    # PyTorch cannot backpropagate here (it tries to expand a CSR tensor); ember puts each
    # row (column) sum's gradient on that row's (column's) entries
    e = csr(ember, grad=True)
    out = e.sum(1, keepdim=True)
    w = ember.tensor([[2.0], [3.0]])
    (out.to_dense() * w).sum().backward()
    assert e.grad.layout is ember.sparse_csr
    np.testing.assert_allclose(e.grad.to_dense().tolist(), [[0, 0, 2], [3, 0, 3]])


# -- products ------------------------------------------------------------------------------

def test_mul_dense_both_orders_and_function():
    for f in (lambda c, d: c * d, lambda c, d: d * c, lambda c, d: ember.mul(c, d)
              if isinstance(c, ember.Tensor) else torch.mul(c, d), lambda c, d: c.mul(d)):
        e = f(csr(ember), ember.arange(6.0).reshape(2, 3))
        t = f(csr(torch), torch.arange(6.0).reshape(2, 3))
        same_csr(e, t)
    same_csr(csr(ember) * ember.ones(2, 3, dtype=ember.float64),
             csr(torch) * torch.ones(2, 3, dtype=torch.float64))
    same_csr(csr(ember) * 2, csr(torch) * 2)
    same_csr(2.5 * csr(ember), 2.5 * csr(torch))
    raises_like(lambda m: csr(m) * m.ones(3, 3))


def test_mul_dense_gradient():
    # PyTorch's backward fails here (a CSR gradient for a dense input); ember gives the
    # dense operand its gradient on the entries and the CSR operand its own
    e = csr(ember, grad=True)
    d = ember.arange(6.0).reshape(2, 3).requires_grad_()
    y = e * d
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.to_dense().sum().backward()
    np.testing.assert_allclose(e.grad.to_dense().tolist(), [[0, 0, 2], [3, 0, 5]])
    np.testing.assert_allclose(d.grad.tolist(), [[0, 0, 0.3], [-0.4, 0, 0.5]], rtol=1e-6)


def test_mul_by_zero_dim_tensor_with_grad():
    e, t = csr(ember, grad=True), csr(torch, grad=True)
    se, st = ember.tensor(3.0, requires_grad=True), torch.tensor(3.0, requires_grad=True)
    (e * se).to_dense().sum().backward()
    (t * st).to_dense().sum().backward()
    same_csr(e.grad, t.grad)
    np.testing.assert_allclose(se.grad.item(), st.grad.item(), rtol=1e-6)


def test_mul_csr_by_csr_is_the_intersection():
    def other(m):
        return m.sparse_coo_tensor(m.tensor([[0, 1], [0, 2]]), m.tensor([1.0, 2.0]),
                                   (2, 3)).to_sparse_csr()

    same_csr(csr(ember) * other(ember), csr(torch) * other(torch))
    same_csr(csr(ember) * other(ember).double(), csr(torch) * other(torch).double())
    same_csr(csr(ember) * csr(ember), csr(torch) * csr(torch))


def test_sparse_mask_with_compressed_mask():
    def mask(m):
        return m.sparse_coo_tensor(m.tensor([[0, 1], [1, 2]]), m.tensor([1.0, 2.0]), (2, 3))

    for make in (lambda m: m.arange(6.0).reshape(2, 3),
                 lambda m: m.arange(6, dtype=m.int32).reshape(2, 3),
                 lambda m: m.arange(6.0).reshape(2, 3).to_sparse()):
        same_csr(make(ember).sparse_mask(csr(ember)), make(torch).sparse_mask(csr(torch)))
    same(ember.arange(6.0).reshape(2, 3).sparse_mask(csr(ember).to_sparse_csc()),
         torch.arange(6.0).reshape(2, 3).sparse_mask(csr(torch).to_sparse_csc()))
    same_csr(csr(ember).sparse_mask(mask(ember).to_sparse_csr()),
             csr(torch).sparse_mask(mask(torch).to_sparse_csr()))
    raises_like(lambda m: m.ones(2, 3).sparse_mask(m.zeros(1, 3).to_sparse_csr()))
    d = ember.arange(6.0).reshape(2, 3).requires_grad_()
    out = d.sparse_mask(csr(ember))
    assert type(out.grad_fn).__name__ == "SparseMaskBackward0"
    out.to_dense().sum().backward()
    np.testing.assert_allclose(d.grad.tolist(), [[0, 0, 1], [1, 0, 1]])


# -- hspmm / smm / sspaddmm ----------------------------------------------------------------

def test_hspmm_smm_sspaddmm_values_and_layout():
    def dense(m):
        return m.arange(6.0).reshape(3, 2)

    same_coo(ember.hspmm(coo(ember), dense(ember)), torch.hspmm(coo(torch), dense(torch)))
    same_coo(ember.hspmm(coo(ember).coalesce(), dense(ember)),
             torch.hspmm(coo(torch).coalesce(), dense(torch)))
    same_coo(ember.smm(coo(ember), dense(ember)), torch.smm(coo(torch), dense(torch)))
    same_coo(coo(ember).smm(dense(ember)), coo(torch).smm(dense(torch)))
    same_coo(ember.sspaddmm(coo(ember), coo(ember), ember.ones(3, 3), beta=2, alpha=3),
             torch.sspaddmm(coo(torch), coo(torch), torch.ones(3, 3), beta=2, alpha=3))
    same_coo(coo(ember).sspaddmm(coo(ember), ember.ones(3, 3)),
             coo(torch).sspaddmm(coo(torch), torch.ones(3, 3)))


def test_hspmm_smm_sspaddmm_errors_and_no_derivative():
    raises_like(lambda m: m.hspmm(coo(m), m.ones(2, 2)))
    raises_like(lambda m: m.smm(coo(m), m.ones(2, 2)))
    with pytest.raises(NotImplementedError):
        ember.hspmm(ember.ones(3, 3), ember.ones(3, 2))
    with pytest.raises(RuntimeError):
        ember.sspaddmm(ember.ones(3, 3), coo(ember), ember.ones(3, 3))
    raises_like(lambda m: m.ones(3, 3).smm(m.ones(3, 2)))
    with pytest.raises(RuntimeError):
        ember.ones(3, 3).sspaddmm(coo(ember), ember.ones(3, 3))
    raises_like(lambda m: m.hspmm(coo(m).requires_grad_(), m.ones(3, 2)).to_dense().sum()
                .backward())
    raises_like(lambda m: m.sspaddmm(coo(m).requires_grad_(), coo(m), m.ones(3, 3)).to_dense()
                .sum().backward())


# -- narrow_copy, sparse_resize_ -------------------------------------------------------------

@pytest.mark.parametrize("args", [(0, 1, 2), (1, 0, 2), (1, 2, 1), (0, 3, 0), (0, 0, 3)])
@pytest.mark.parametrize("coalesce", [False, True])
def test_narrow_copy(args, coalesce):
    def make(m):
        return coo(m).coalesce() if coalesce else coo(m)

    same_coo(make(ember).narrow_copy(*args), make(torch).narrow_copy(*args))
    same_coo(ember.narrow_copy(make(ember), *args), torch.narrow_copy(make(torch), *args))


def test_narrow_copy_hybrid_and_gradient():
    def hybrid(m):
        return m.sparse_coo_tensor(m.tensor([[0, 2, 0]]), m.arange(6.0).reshape(3, 2), (3, 2))

    same_coo(hybrid(ember).narrow_copy(1, 1, 1), hybrid(torch).narrow_copy(1, 1, 1))
    same_coo(hybrid(ember).narrow_copy(0, 1, 2), hybrid(torch).narrow_copy(0, 1, 2))
    # PyTorch names the node but its backward fails (no sparse as_strided); ember's gives
    # each kept entry its gradient, the dropped ones none
    e, t = coo(ember).requires_grad_(), coo(torch).requires_grad_()
    ne, nt = e.narrow_copy(1, 0, 2), t.narrow_copy(1, 0, 2)
    assert type(ne.grad_fn).__name__ == type(nt.grad_fn).__name__ == "NarrowCopyBackward0"
    (ne.to_dense() * ember.arange(1.0, 7.0).reshape(3, 2)).sum().backward()
    np.testing.assert_allclose(arr(e.grad), [[1, 0, 0], [3, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize("args", [(1, 2, 2), (2, 0, 1), (-1, 0, 1), (0, -1, 1), (0, 0, -1)])
def test_narrow_copy_errors(args):
    raises_like(lambda m: coo(m).narrow_copy(*args))


def test_sparse_resize_():
    for make in (coo, lambda m: coo(m).coalesce()):
        e, t = make(ember), make(torch)
        assert e.sparse_resize_((4, 5), 2, 0) is e
        t.sparse_resize_((4, 5), 2, 0)
        same_coo(e, t)
    for size, sd, dd in [((2, 3), 2, 0), ((4,), 1, 0), ((4, 5, 6), 3, 0), ((4, 5), 1, 1),
                         ((4, 5), 2, 1)]:
        raises_like(lambda m, a=(size, sd, dd): coo(m).sparse_resize_(*a))
    raises_like(lambda m: coo(m).requires_grad_().sparse_resize_((4, 4), 2, 0))
    with pytest.raises(NotImplementedError):
        ember.ones(2, 2).sparse_resize_((4, 4), 2, 0)

    def empty(m):
        return m.sparse_coo_tensor(m.zeros(2, 0, dtype=m.int64), m.zeros(0), (2, 3))

    e, t = empty(ember), empty(torch)
    e.sparse_resize_((1, 2, 2), 1, 2)
    t.sparse_resize_((1, 2, 2), 1, 2)
    same_coo(e, t)
    assert tuple(e._values().shape) == tuple(t._values().shape)

    def hybrid(m):
        return m.sparse_coo_tensor(m.tensor([[0, 1]]), m.ones(2, 3), (2, 3))

    e = hybrid(ember).sparse_resize_((2, 4), 1, 1)
    assert tuple(e._values().shape) == (2, 4) and e._values()[:, :3].tolist() == [[1.0] * 3] * 2
    raises_like(lambda m: hybrid(m).sparse_resize_((2, 2), 1, 1))


def test_sparse_resize_and_clear_():
    for size, sd, dd in [((2, 2), 2, 0), ((2, 2, 4), 1, 2)]:
        e, t = coo(ember), coo(torch)
        assert e.sparse_resize_and_clear_(size, sd, dd) is e
        t.sparse_resize_and_clear_(size, sd, dd)
        same_coo(e, t)
        assert tuple(e._values().shape) == tuple(t._values().shape)
    raises_like(lambda m: coo(m).sparse_resize_and_clear_((2, 3), 3, 0))


# -- COO * COO with dense dims, torch.sparse.mm(reduce=None) --------------------------------

@pytest.mark.parametrize("ca,cb", [(False, False), (True, True), (False, True), (True, False)])
def test_hybrid_coo_product(ca, cb):
    def a(m):
        s = m.sparse_coo_tensor(m.tensor([[0, 2, 1]]), m.arange(6.0).reshape(3, 2), (3, 2))
        return (s.coalesce() if ca else s).requires_grad_()

    def b(m):
        s = m.sparse_coo_tensor(m.tensor([[2, 0]]), m.tensor([[1.0, 2.0], [3.0, 4.0]]), (3, 2))
        return (s.coalesce() if cb else s).requires_grad_()

    ae, be, at, bt = a(ember), b(ember), a(torch), b(torch)
    ye, yt = ae * be, at * bt
    same_coo(ye, yt)
    ye.to_dense().sum().backward()
    yt.to_dense().sum().backward()
    same_coo(ae.grad, at.grad)
    same_coo(be.grad, bt.grad)


def test_hybrid_coo_product_layout_mismatch():
    def hybrid(m):
        return m.sparse_coo_tensor(m.tensor([[0]]), m.ones(1, 2), (3, 2))

    def plain(m):
        return m.sparse_coo_tensor(m.tensor([[0], [1]]), m.ones(1), (3, 2))

    for f in (lambda m: hybrid(m) * plain(m), lambda m: plain(m) * hybrid(m)):
        with pytest.raises(RuntimeError):
            f(torch)
        with pytest.raises(RuntimeError):
            f(ember)


def test_sparse_mm_reduce_none_is_a_type_error():
    def s(m):
        return m.sparse_coo_tensor(m.tensor([[1, 0], [0, 1]]), m.tensor([1.0, 2.0]), (2, 2))

    raises_like(lambda m: m.sparse.mm(s(m), m.ones(2, 2), None))
    raises_like(lambda m: m.sparse.mm(s(m), m.ones(2, 2), reduce=None))
    raises_like(lambda m: m.sparse.mm(s(m).to_sparse_csr(), m.ones(2, 2), None))
    same(ember.sparse.mm(s(ember), ember.ones(2, 2)), torch.sparse.mm(s(torch), torch.ones(2, 2)))
