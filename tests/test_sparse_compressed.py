"""Sparse CSR/CSC tensors against PyTorch: construction, invariants, conversions, repr,
products with gradients, add/mul/t, pickling."""

import pickle
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message=".*Sparse.*")

DENSE = [[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]]


def both(fn):
    return fn(ember), fn(torch)


def same_dense(e, t):
    np.testing.assert_allclose(np.asarray(e.to_dense().tolist() if e.layout is not ember.strided
                                          else e.tolist()),
                               np.asarray(t.to_dense().tolist() if t.layout is not torch.strided
                                          else t.tolist()), rtol=1e-6)


@pytest.mark.parametrize("conv", ["to_sparse_csr", "to_sparse_csc"])
def test_conversion_repr_and_indices(conv):
    e, t = both(lambda m: getattr(m.tensor(DENSE), conv)())
    assert repr(e) == repr(t)
    assert str(e.layout) == str(t.layout)
    assert e.is_sparse == t.is_sparse and e.is_sparse_csr == t.is_sparse_csr
    assert e._nnz() == t._nnz() and tuple(e.shape) == tuple(t.shape)
    same_dense(e, t)
    same_dense(e.to_sparse(), t.to_sparse())
    assert repr(e.t()) == repr(t.t())
    assert repr(e.to_sparse_csr()) == repr(t.to_sparse_csr())
    assert repr(e.to_sparse_csc()) == repr(t.to_sparse_csc())


@pytest.mark.parametrize("make", [
    lambda m: m.sparse_csr_tensor([0, 1, 2], [0, 1], [1.0, 2.0]),
    lambda m: m.sparse_csr_tensor([0, 0, 0], [], [], size=(2, 3), dtype=m.float32),
    lambda m: m.zeros(2, 3).to_sparse_csr(),
    lambda m: m.ones(2, 2, dtype=m.int32).to_sparse_csr(),
    lambda m: m.tensor(DENSE, dtype=m.float64).to_sparse_csr(),
    lambda m: m.tensor(DENSE).to_sparse_csr().requires_grad_(),
    lambda m: m.tensor(DENSE).to_sparse_csr().requires_grad_() * 2,
    lambda m: m.sparse_csc_tensor([0, 1, 2], [1, 0], [1.0, 2.0]),
    lambda m: m.sparse_compressed_tensor([0, 1, 2], [1, 0], [1.0, 2.0], layout=m.sparse_csc),
    lambda m: m.tensor(DENSE).to_sparse().to_sparse_csr(),
    lambda m: m.sparse_coo_tensor([[1, 0, 1, 1], [0, 1, 2, 0]], [1., 2, 3, 4],
                                  (2, 3)).to_sparse_csc(),
    lambda m: m.tensor(DENSE).to_sparse(layout=m.sparse_csr),
    lambda m: m.tensor(DENSE).to_sparse_csr().to(m.float64),
    lambda m: m.tensor(DENSE).to_sparse_csr() + m.tensor([[1., 0, 0], [2, 0, 0]]).to_sparse_csr(),
    lambda m: m.add(m.tensor(DENSE).to_sparse_csr(), m.tensor(DENSE).to_sparse_csr(), alpha=2),
    lambda m: m.tensor(DENSE).to_sparse_csr() @ m.tensor(DENSE).t().to_sparse_csr(),
])
def test_repr_matches(make):
    assert repr(make(ember)) == repr(make(torch))


BAD = [
    ([0, 1, 3], [0, 1], [1.0, 2.0], (2, 2)),
    ([1, 1, 2], [0, 1], [1.0, 2.0], (2, 2)),
    ([0, 2, 1], [0, 1], [1.0, 2.0], (2, 2)),
    ([0, 1], [0, 1], [1.0, 2.0], (2, 2)),
    ([0, 1, 2], [0, 1], [1.0, 2.0, 3.0], (2, 2)),
    ([0, 1, 2], [0, -1], [1.0, 2.0], (2, 2)),
    ([0, 1, 2], [0, 5], [1.0, 2.0], (2, 2)),
    ([0, 2, 2], [1, 0], [1.0, 2.0], (2, 2)),
    ([0, 2, 2], [1, 1], [1.0, 2.0], (2, 2)),
    ([0, 1, 2], [0, 1], [1.0, 2.0], (2,)),
    ([0.0, 1, 2], [0, 1], [1.0, 2.0], (2, 2)),
]


@pytest.mark.parametrize("args", BAD)
@pytest.mark.parametrize("ctor", ["sparse_csr_tensor", "sparse_csc_tensor"])
def test_invariants(args, ctor):
    with pytest.raises(RuntimeError) as t_err:
        getattr(torch, ctor)(*args, check_invariants=True)
    with pytest.raises(RuntimeError) as e_err:
        getattr(ember, ctor)(*args)
    assert str(e_err.value) == str(t_err.value)


def test_wrong_layout_errors():
    for fn in (lambda m: m.tensor(DENSE).to_sparse_csr().ccol_indices(),
               lambda m: m.tensor(DENSE).to_sparse_csc().crow_indices(),
               lambda m: m.tensor(DENSE).crow_indices(),
               lambda m: m.tensor(DENSE).to_sparse_csr().indices(),
               lambda m: m.sparse_compressed_tensor([0, 1], [0], [1.0], (1, 1)),
               lambda m: m.tensor(DENSE).to_sparse_csr().to_dense(m.float64),
               lambda m: m.tensor(DENSE).to_sparse_csr() @ m.ones(4, 2)):
        with pytest.raises(RuntimeError) as t_err:
            fn(torch)
        with pytest.raises(RuntimeError) as e_err:
            fn(ember)
        assert str(e_err.value) == str(t_err.value)
    with pytest.raises(TypeError):
        ember.tensor(DENSE).to_sparse_csr().numpy()


PRODUCTS = [
    lambda m, c, x: c @ x,
    lambda m, c, x: m.mm(c, x),
    lambda m, c, x: m.matmul(c, x),
    lambda m, c, x: c.matmul(x),
    lambda m, c, x: m.sparse.mm(c, x),
    lambda m, c, x: m.addmm(m.ones(2, 2), c, x, beta=2, alpha=3),
    lambda m, c, x: c.mv(x[:, 0]),
    lambda m, c, x: m.mv(c, x[:, 0]),
    lambda m, c, x: c @ x[:, 0],
    lambda m, c, x: x.t() @ c.t(),
    lambda m, c, x: (c * 2).to_dense() * m.arange(6.0).reshape(2, 3),
    lambda m, c, x: (c + c).to_dense(),
    lambda m, c, x: c.t().to_dense(),
    lambda m, c, x: c.values() * m.arange(3.0),
    lambda m, c, x: c.to_sparse().to_dense(),
]


def _grad_repr(g):
    return None if g is None else (str(g.layout), np.asarray(g.to_dense().tolist()))


@pytest.mark.parametrize("op", PRODUCTS)
def test_products_and_gradients(op):
    res = []
    for m in (ember, torch):
        c = m.tensor(DENSE).to_sparse_csr().requires_grad_()
        x = m.arange(6.0).reshape(3, 2).requires_grad_()
        out = op(m, c, x)
        out.sum().backward()
        res.append((out.grad_fn.name(), np.asarray(out.detach().tolist() if out.layout is
                                                   m.strided else out.to_dense().tolist()),
                    _grad_repr(c.grad), _grad_repr(x.grad)))
    (en, ev, ec, ex), (tn, tv, tc, tx) = res
    assert en == tn
    np.testing.assert_allclose(ev, tv)
    for eg, tg in ((ec, tc), (ex, tx)):
        assert (eg is None) == (tg is None)
        if eg is not None:
            assert eg[0] == tg[0]
            np.testing.assert_allclose(eg[1], tg[1])


def test_values_gradient_and_accumulation():
    res = []
    for m in (ember, torch):
        v = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        c = m.sparse_csr_tensor(m.tensor([0, 1, 3]), m.tensor([1, 0, 2]), v, (2, 3))
        x = m.arange(6.0).reshape(3, 2)
        (c @ x).sum().backward()
        leaf = m.tensor(DENSE).to_sparse_csr().requires_grad_()
        for _ in range(2):
            m.sparse.mm(leaf, x).sum().backward()
        res.append((c.grad_fn.name(), v.grad.tolist(), repr(leaf.grad)))
    assert res[0] == res[1]


def test_larger_random_product_csc():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30, 20)) * (rng.random((30, 20)) < 0.2)
    b = rng.standard_normal((20, 7))
    for conv in ("to_sparse_csr", "to_sparse_csc"):
        e = getattr(ember.tensor(a), conv)() @ ember.tensor(b)
        t = getattr(torch.tensor(a), conv)() @ torch.tensor(b)
        np.testing.assert_allclose(np.asarray(e.tolist()), t.numpy(), rtol=1e-12)


def test_clone_detach_pickle():
    c = ember.tensor(DENSE).to_sparse_csr().requires_grad_()
    assert repr(c.detach()) == repr(torch.tensor(DENSE).to_sparse_csr())
    assert c.clone().grad_fn.name() == "CloneBackward0"
    for layout in ("to_sparse_csr", "to_sparse_csc"):
        x = getattr(ember.tensor(DENSE), layout)()
        y = pickle.loads(pickle.dumps(x))
        assert repr(y) == repr(x)


@pytest.mark.parametrize("layout", ["sparse_csr", "sparse_csc"])
def test_checkpoints_of_compressed_tensors_load_both_ways(torch, tmp_path, layout):
    """ember.save writes CSR/CSC as torch pickles them (_rebuild_sparse_tensor with the
    layout) and ember.load reads torch's files; the invariants are checked on load."""
    dense = np.array([[0., 1, 0, 4], [2, 0, 3, 0], [0, 0, 0, 5]], np.float32)
    convert = "to_sparse_csr" if layout == "sparse_csr" else "to_sparse_csc"
    ember.save({"m": getattr(ember.tensor(dense), convert)()}, tmp_path / "e.pt")
    back = torch.load(tmp_path / "e.pt")["m"]
    assert back.layout is getattr(torch, layout)
    np.testing.assert_array_equal(back.to_dense().numpy(), dense)
    torch.save({"m": getattr(torch.tensor(dense), convert)()}, tmp_path / "t.pt")
    got = ember.load(tmp_path / "t.pt")["m"]
    assert got.layout is getattr(ember, layout)
    np.testing.assert_array_equal(got.to_dense().numpy(), dense)


def test_a_checkpoint_with_out_of_range_compressed_indices_is_refused(torch, tmp_path):
    """A crafted CSR record whose column index lies outside the size: a clear error, never an
    out-of-bounds read."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = torch.sparse_csr_tensor(torch.tensor([0, 1, 2]), torch.tensor([0, 5]),
                                      torch.tensor([1., 2.]), (2, 3), check_invariants=False)
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(RuntimeError, match="col_indices"):
        ember.load(tmp_path / "bad.pt")
