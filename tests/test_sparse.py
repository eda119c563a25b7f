"""Sparse COO tensors against torch 2.13: construction (duplicates kept until coalesce),
to_dense/to_sparse, repr, products with their gradients (torch.sparse.mm keeps a sparse
gradient on the sparse operand's entries; torch.mm/matmul/spmm/@ give a dense one), sums,
softmax, add, errors, and a two-layer GCN trained both ways."""

import copy
import pickle
import warnings

import numpy as np
import pytest

import ember

I = [[0, 1, 1, 0], [2, 0, 2, 2]]  # (0, 2) appears twice
V = [3.0, 4.0, 5.0, 1.0]


@pytest.fixture(autouse=True)
def _quiet_torch():
    # torch warns once that sparse invariant checks are off; that is torch's business
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse invariant checks")
        yield


def S(L, requires_grad=False, dtype=None):
    return L.sparse_coo_tensor(L.tensor(I), L.tensor(V, dtype=dtype), (2, 3),
                               requires_grad=requires_grad)


def X(L, requires_grad=False, shape=(3, 2)):
    arr = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return L.tensor(arr, requires_grad=requires_grad)


def _np(t):
    return t.detach().numpy()


def assert_same(e, t, rtol=1e-5, atol=1e-6, flag=True):
    """An ember result equals torch's: layout, shape, dtype, and (for sparse) the stored
    indices, values and coalesced flag exactly as torch keeps them (``flag=False``: the
    coalesced entries only, for gradients summed over several paths, whose flag PyTorch sets
    by reference counts in AccumulateGrad)."""
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.is_sparse == t.is_sparse
    if t.is_sparse and not flag:
        e, t = e.coalesce(), t.coalesce()
    if t.is_sparse:
        assert e.is_coalesced() == t.is_coalesced()
        np.testing.assert_array_equal(_np(e._indices()), _np(t._indices()))
        np.testing.assert_allclose(_np(e._values()), _np(t._values()), rtol=rtol, atol=atol)
    else:
        np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol)


def both(torch, fn):
    return fn(ember), fn(torch)


def outcome(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the type and message are what is compared
        return type(err), str(err)
    return None


# -- construction, coalescing, conversion -------------------------------------------------------

def test_construction_keeps_duplicates_until_coalesce(torch):
    e, t = both(torch, S)
    assert_same(e, t)
    assert e._nnz() == 4 and not e.is_coalesced()
    assert e.layout is ember.sparse_coo and e.is_sparse and isinstance(e, ember.Tensor)
    assert (e.sparse_dim(), e.dense_dim()) == (t.sparse_dim(), t.dense_dim())
    assert (e.numel(), e.dim(), len(e), e.is_leaf) == (t.numel(), t.dim(), len(t), t.is_leaf)
    ec, tc = e.coalesce(), t.coalesce()
    assert_same(ec, tc)
    assert_same(ec.indices(), tc.indices())
    assert_same(ec.values(), tc.values())
    assert ec.coalesce() is ec
    assert_same(e.to_dense(), t.to_dense())


@pytest.mark.parametrize("expr", [
    "L.sparse_coo_tensor(I, V)",  # size inferred
    "L.sparse_coo_tensor(L.tensor(I), L.tensor(V), (2, 3), dtype=L.float64)",
    "L.sparse_coo_tensor(L.tensor(I), L.tensor([1, 2, 3, 4]), (2, 3))",
    "L.sparse_coo_tensor(L.tensor(I).float(), L.tensor(V), (2, 3))",
    "L.sparse_coo_tensor(L.tensor([[0, 1, 0]]), L.arange(9.).reshape(3, 3), (4, 3))",
    "L.sparse_coo_tensor(L.zeros(2, 0, dtype=L.long), L.zeros(0), (2, 3))",
    "L.sparse_coo_tensor(L.tensor([[1], [1]]), L.tensor([7.]), (2, 3))",
    "L.sparse_coo_tensor(L.tensor([[0, 1], [0, 1]]), L.tensor([7., 1]), (2, 3), is_coalesced=True)",
    "L.sparse.FloatTensor(L.tensor(I), L.tensor(V), L.Size([2, 3]))",
    "L.sparse.FloatTensor(2, 3)",
    "L.tensor([[0., 1.5], [2., 0.]]).to_sparse()",
    "L.tensor([[0., 0.], [1., 0.]]).to_sparse(1)",
    "L.arange(8.).reshape(2, 2, 2).to_sparse()",
    "L.zeros(2, 3).to_sparse()",
    "L.tensor([[0., 1.], [2., 0.]]).to_sparse(layout=L.sparse_coo)",
])
def test_construction_and_to_sparse_match_torch(torch, expr):
    e, t = both(torch, lambda L: eval(expr))
    assert_same(e, t)
    assert repr(e) == repr(t)
    assert_same(e.coalesce(), t.coalesce())
    assert_same(e.to_dense(), t.to_dense())


def test_round_trips(torch, rng):
    dense = rng.standard_normal((5, 4, 3)).astype(np.float32)
    dense[rng.random((5, 4, 3)) < 0.6] = 0
    for sparse_dim in (1, 2, 3):
        e, t = both(torch, lambda L, sd=sparse_dim: L.tensor(dense).to_sparse(sd))
        assert_same(e, t)
        np.testing.assert_array_equal(_np(e.to_dense()), dense)
        assert e.to_sparse() is e
    s = S(ember)
    np.testing.assert_array_equal(_np(s.to_dense().to_sparse().to_dense()), _np(s.to_dense()))


REPRS = [
    "S(L)", "S(L).coalesce()", "S(L, requires_grad=True)", "S(L, dtype=L.float64)",
    "S(L, requires_grad=True) * 2", "L.sparse.mm(S(L, requires_grad=True), X(L))",
    "L.sparse_coo_tensor(L.tensor(I), L.tensor(V, requires_grad=True), (2, 3))",
    "L.arange(2000.).reshape(40, 50).to_sparse()",
    "L.arange(12.).reshape(2, 3, 2).double().to_sparse(2)",
    "L.zeros(2, 3).to_sparse()", "S(L).t()",
]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(torch, expr):
    e, t = both(torch, lambda L: eval(expr))
    assert repr(e) == repr(t)


def test_layouts_and_dense_side_methods(torch):
    assert repr(ember.strided) == repr(torch.strided) == "torch.strided"
    assert repr(ember.sparse_coo) == str(ember.sparse_coo) == "torch.sparse_coo"
    assert ember.ones(2).layout is ember.strided and ember.ones(2).layout != ember.sparse_coo
    assert pickle.loads(pickle.dumps(ember.sparse_coo)) is ember.sparse_coo
    d = ember.ones(2, 3)
    assert not d.is_sparse and d.to_dense() is d
    assert (d.sparse_dim(), d.dense_dim()) == (0, 2)
    e, t = both(torch, lambda L: S(L).type())
    assert e == t == "torch.sparse.FloatTensor"
    for name in ("indices", "values", "coalesce", "is_coalesced"):
        assert outcome(lambda n=name: getattr(ember.ones(2), n)()) == \
            outcome(lambda n=name: getattr(torch.ones(2), n)())
    for name in ("_indices", "_values", "_nnz"):
        with pytest.raises(NotImplementedError):
            getattr(ember.ones(2), name)()
    e, t = both(torch, lambda L: L.arange(6.).reshape(2, 3).sparse_mask(S(L).coalesce()))
    assert_same(e, t)


# -- products -----------------------------------------------------------------------------------

PRODUCTS = {
    "sparse.mm": lambda L, a, b: L.sparse.mm(a, b),
    "mm": lambda L, a, b: L.mm(a, b),
    "matmul": lambda L, a, b: L.matmul(a, b),
    "spmm": lambda L, a, b: L.spmm(a, b),
    "@": lambda L, a, b: a @ b,
    "Tensor.mm": lambda L, a, b: a.mm(b),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_product_forward_and_gradients(torch, name):
    def run(L):
        s, x = S(L, requires_grad=True), X(L, requires_grad=True)
        y = PRODUCTS[name](L, s, x)
        (y * X(L, shape=(2, 2))).sum().backward()
        return y, y.grad_fn.name(), s.grad, x.grad

    (ey, en, esg, exg), (ty, tn, tsg, txg) = both(torch, run)
    assert_same(ey, ty)
    assert en == tn
    assert_same(esg, tsg)  # sparse for torch.sparse.mm, dense for the others
    assert_same(exg, txg)


@pytest.mark.parametrize("name", ["sparse.mm", "mm", "@"])
@pytest.mark.parametrize("coalesce", [False, True])
def test_gradient_reaches_the_values(torch, name, coalesce):
    def run(L):
        w = L.tensor(V, requires_grad=True)
        s = L.sparse_coo_tensor(L.tensor(I), w, (2, 3))
        if coalesce:
            s = s.coalesce()
        y = PRODUCTS[name](L, s, X(L))
        (y * y).sum().backward()
        return s.grad_fn.name(), w.grad

    (en, eg), (tn, tg) = both(torch, run)
    assert en == tn
    assert_same(eg, tg)


def test_dense_at_sparse_and_vectors(torch):
    def run(L):
        d, s = X(L, requires_grad=True, shape=(2, 2)), S(L, requires_grad=True)
        y = d @ s
        (y * X(L, shape=(2, 3))).sum().backward()
        return y, d.grad, s.grad, L.mm(d.detach(), s.detach()), S(L) @ L.tensor([1., 2., 3.])

    for e, t in zip(*both(torch, run)):
        assert_same(e, t)


def test_sparse_times_sparse(torch):
    e, t = both(torch, lambda L: L.mm(S(L), S(L).t()))
    assert_same(e, t)
    e, t = both(torch, lambda L: L.sparse.mm(S(L).coalesce(), S(L).t()))
    assert_same(e, t)


def test_product_with_long_rows_and_wide_dense(torch, rng):
    # rows over 64 entries take the per-row path; 300 columns take several chunks
    n, m = 30, 400
    rows = np.concatenate([np.zeros(150, np.int64), rng.integers(0, n, 500)])
    cols = rng.integers(0, m, rows.size)
    vals = rng.standard_normal(rows.size)
    x = rng.standard_normal((m, 300))
    g = rng.standard_normal((n, 300))

    def run(L):
        s = L.sparse_coo_tensor(L.tensor(np.stack([rows, cols])), L.tensor(vals), (n, m),
                                requires_grad=True)
        xt = L.tensor(x, requires_grad=True)
        y = L.sparse.mm(s, xt)
        (y * L.tensor(g)).sum().backward()
        return y, s.grad, xt.grad

    for e, t in zip(*both(torch, run)):
        assert_same(e, t, rtol=1e-9, atol=1e-9)


def test_gradients_accumulate_over_passes(torch):
    def run(L):
        s, x = S(L, requires_grad=True), X(L)
        L.sparse.mm(s, x).sum().backward()
        first = s.grad.clone()
        L.sparse.mm(s, x * 2).sum().backward()
        (s.to_dense() * 3).sum().backward()
        second = s.grad
        d = S(L, requires_grad=True)
        L.mm(d, x).sum().backward()
        L.sparse.mm(d, x).sum().backward()  # sparse gradient into a dense .grad
        return first, second, d.grad

    for e, t in zip(*both(torch, run)):
        assert_same(e, t)


# -- other sparse ops ---------------------------------------------------------------------------

OPS = {
    "to_dense": lambda L, s: s.to_dense(),
    "mul": lambda L, s: s * 3,
    "rmul": lambda L, s: 0.5 * s,
    "div": lambda L, s: s / 2,
    "neg": lambda L, s: -s,
    "t": lambda L, s: s.t(),
    "transpose": lambda L, s: s.transpose(0, 1),
    "values": lambda L, s: s.coalesce().values(),
    "sum": lambda L, s: L.sparse.sum(s),
    "sum0": lambda L, s: L.sparse.sum(s, 0),
    "sum1": lambda L, s: L.sparse.sum(s, dim=1),
    "Tensor.sum": lambda L, s: s.sum(),
    "add": lambda L, s: s + s * 2,
    "sub": lambda L, s: s - s * 2,
    "dense+sparse": lambda L, s: L.ones(2, 3) + s,
    "dense-sparse": lambda L, s: L.ones(2, 3) - s,
    "softmax1": lambda L, s: L.sparse.softmax(s, 1),
    "softmax0": lambda L, s: L.sparse.softmax(s, 0),
    "log_softmax": lambda L, s: L.sparse.log_softmax(s, 1),
    "double": lambda L, s: s.double(),
    "clone": lambda L, s: s.clone(),
    "addmm": lambda L, s: L.sparse.addmm(L.ones(2, 2), s, X(L), beta=0.5, alpha=2.0),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_forward_and_gradient(torch, name):
    def run(L):
        s = S(L, requires_grad=True)
        out = OPS[name](L, s)
        dense = out.to_dense() if out.is_sparse else out
        (dense * L.arange(float(dense.numel())).reshape(dense.shape)).sum().backward()
        return out, out.grad_fn.name(), s.grad

    (eo, en, eg), (to, tn, tg) = both(torch, run)
    assert_same(eo, to)
    assert en == tn
    assert_same(eg, tg, flag=name not in ("add", "sub"))  # s reached by two paths


def test_add_merges_as_torch(torch):
    def other(L):
        return L.sparse_coo_tensor(L.tensor([[1], [1]]), L.tensor([7.]), (2, 3))

    for expr in (lambda L: S(L) + other(L), lambda L: other(L) + S(L),
                 lambda L: S(L).coalesce() + other(L), lambda L: S(L) - other(L),
                 lambda L: S(L).add(other(L), alpha=2), lambda L: S(L) + S(L).double()):
        assert_same(*both(torch, expr))

    def in_place(L):
        s = S(L).coalesce()
        s += other(L)
        s.mul_(2)
        return s

    assert_same(*both(torch, in_place))


def test_hybrid_sums(torch):
    def hybrid(L):
        return L.sparse_coo_tensor(L.tensor([[0, 1, 0]]), L.arange(9.).reshape(3, 3), (4, 3))

    for dim in (None, 0, 1, (0, 1)):
        e, t = both(torch, lambda L, d=dim: L.sparse.sum(hybrid(L), d))
        assert_same(e, t)


def test_gat_style_attention(torch):
    """Attention weights as the values of a sparse matrix, softmax per row, then a product."""
    def run(L):
        w = L.tensor(V, requires_grad=True)
        att = L.sparse.softmax(L.sparse_coo_tensor(L.tensor(I), w, (2, 3)), 1)
        (L.sparse.mm(att, X(L)) ** 2).sum().backward()
        return att, w.grad

    for e, t in zip(*both(torch, run)):
        assert_same(e, t)


def test_legacy_constructors_warn_once_and_keep_the_values_dtype(torch):
    def run(L):
        import ember.sparse as sparse_ns

        if L is ember:
            sparse_ns._WARNED.clear()
        i = L.tensor([[0, 1], [1, 0]])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = [L.sparse.FloatTensor(i, L.tensor([1, 2]), L.Size([2, 2])),
                   L.sparse.FloatTensor(i, L.tensor([1.0, 2.0]), L.Size([2, 2])),
                   L.sparse.DoubleTensor(i, L.tensor([1.0, 2.0])), L.sparse.DoubleTensor(2, 2)]
        texts = [str(w.message).split(" (Triggered")[0] for w in caught
                 if "deprecated" in str(w.message)]
        return [str(t.dtype) for t in out], texts

    e, t = both(torch, run)
    assert e[0] == t[0]
    # torch warns once per process (an earlier test may have used its warning up)
    assert e[1] == [
        "torch.sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  Please "
        "use torch.sparse_coo_tensor(indices, values, shape, dtype=, device=).",
        "torch.sparse.SparseTensor(indices, values, *, device=) is deprecated.  Please use "
        "torch.sparse_coo_tensor(indices, values, dtype=, device=).",
        "torch.sparse.SparseTensor(shape, *, device=) is deprecated.  Please use "
        "torch.sparse_coo_tensor(shape, dtype=, device=)."]
    assert set(t[1]) <= set(e[1])


def test_detect_anomaly_checks_sparse_gradients(torch):
    with ember.autograd.detect_anomaly():
        s = S(ember, requires_grad=True)
        ember.sparse.mm(s, X(ember)).sum().backward()
        assert s.grad.is_sparse
        s = ember.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (2,), requires_grad=True)
        y = (s * float("inf")).to_dense()  # its gradient, 0 * inf at entry 0, is NaN
        with pytest.raises(RuntimeError, match="'MulBackward0' returned nan values"):
            (y * ember.tensor([0.0, 1.0])).sum().backward()


def test_pickle_deepcopy_and_casts(torch):
    e, t = both(torch, S)
    assert_same(pickle.loads(pickle.dumps(e)), t)
    c = copy.deepcopy(S(ember, requires_grad=True))
    assert c.requires_grad and c.is_leaf
    assert_same(c.detach(), t)
    s = S(ember, requires_grad=True)
    assert s.float() is s and s.to("cpu") is s and s.cpu() is s
    assert s.double().grad_fn.name() == "ToCopyBackward0"
    assert s.detach().is_sparse and not s.detach().requires_grad
    assert s.data.is_sparse


# -- errors -------------------------------------------------------------------------------------

ERRORS = [
    "L.sparse_coo_tensor(L.tensor(I), L.tensor(V[:3]), (2, 3))",
    "L.sparse_coo_tensor(L.tensor(I), L.tensor(V), (2, 3, 4))",
    "L.sparse_coo_tensor(L.tensor(I), L.ones(4, 2), (2, 3, 3))",
    "L.sparse_coo_tensor(L.zeros(2, 2, 2, dtype=L.long), L.tensor(V), (2, 3))",
    "L.sparse_coo_tensor(L.tensor(I), L.tensor(V), (1, 3), check_invariants=True)",
    "L.sparse_coo_tensor(L.tensor([[0, -1]]), L.tensor([1., 2.]), (3,), check_invariants=True)",
    "S(L).indices()", "S(L).values()", "S(L).numpy()",
    "S(L) + L.ones(2, 3)",
    "S(L) + L.sparse_coo_tensor(L.tensor(I), L.tensor(V), (3, 3))",
    "L.sparse.mm(S(L), L.ones(4, 2))", "L.sparse.mm(S(L), L.ones(3))",
    "L.sparse.mm(S(L), L.ones(3, 2, dtype=L.float64))",
    "L.sparse.mm(L.ones(2, 2, 2).to_sparse(), L.ones(2, 2))",
    "L.ones(2, 3) @ S(L)", "L.ones(2, 2, 2).to_sparse().t()", "S(L).to_sparse(1)",
]


@pytest.mark.parametrize("expr", ERRORS)
def test_errors_match_torch(torch, expr):
    e, t = (outcome(lambda L=L: eval(expr)) for L in (ember, torch))
    assert t is not None and e == t


def test_out_of_range_indices_always_raise():
    # torch checks only with check_invariants=True; ember always does (never a wrong answer)
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        ember.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
    with pytest.raises(RuntimeError, match="is_coalesced=True"):
        ember.sparse_coo_tensor([[1, 0]], [1.0, 2.0], (3,), is_coalesced=True)


@pytest.mark.parametrize("op", [
    lambda s: ember.cos(s), lambda s: s.exp(), lambda s: s.view(-1), lambda s: s[0:1],
    lambda s: s.reshape(6), lambda s: ember.cat([s, s]), lambda s: s.tolist(),
    lambda s: s + 1, lambda s: s * ember.ones(2, 2, 3), lambda s: s.to("meta"),
    lambda s: np.asarray(s._data),
])
def test_unsupported_dense_ops_name_to_dense(op):
    with pytest.raises(NotImplementedError, match=r"to_dense\(\)"):
        op(S(ember))


def test_sparse_leaf_needs_no_optimizer_support_to_train_values():
    """A sparse tensor built from a Parameter trains through the Parameter."""
    w = ember.nn.Parameter(ember.tensor(V))
    opt = ember.optim.SGD([w], lr=0.1)
    adj = ember.sparse_coo_tensor(ember.tensor(I), w, (2, 3))
    ember.sparse.mm(adj, ember.ones(3, 1)).sum().backward()
    opt.step()
    np.testing.assert_allclose(_np(w), np.array(V) - 0.1, rtol=1e-6)


# -- a graph network, both ways -----------------------------------------------------------------

def _gcn_losses(L, weights, graph, product, steps=4):
    nn, F = L.nn, L.nn.functional
    rows, cols, vals, feats, labels = graph
    adj = L.sparse_coo_tensor(L.tensor(np.stack([rows, cols])), L.tensor(vals),
                              (feats.shape[0], feats.shape[0]))
    x, y = L.tensor(feats), L.tensor(labels)

    class GraphConvolution(nn.Module):
        def __init__(self, w, b):
            super().__init__()
            self.weight = nn.Parameter(L.tensor(w))
            self.bias = nn.Parameter(L.tensor(b))

        def forward(self, h, a):
            return product(L, a, L.mm(h, self.weight)) + self.bias

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.gc1 = GraphConvolution(*weights[0])
            self.gc2 = GraphConvolution(*weights[1])

        def forward(self, h, a):
            h = F.relu(self.gc1(h, a))
            return F.log_softmax(self.gc2(h, a), dim=1)

    model = GCN()
    opt = L.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.nll_loss(model(x, adj), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", ["spmm", "sparse.mm", "@"])
def test_two_layer_gcn_trains_as_torch(torch, rng, name):
    n, f, hidden, classes, edges = 40, 12, 8, 3, 70
    src, dst = rng.integers(0, n, edges), rng.integers(0, n, edges)
    rows = np.concatenate([src, dst, np.arange(n)])  # duplicates stay: uncoalesced adjacency
    cols = np.concatenate([dst, src, np.arange(n)])
    deg = np.bincount(rows, minlength=n).astype(np.float32)
    vals = (1 / np.sqrt(deg[rows] * deg[cols])).astype(np.float32)
    feats = (rng.random((n, f)) < 0.3).astype(np.float32)
    labels = rng.integers(0, classes, n)
    weights = [(rng.uniform(-0.3, 0.3, (f, hidden)).astype(np.float32),
                np.zeros(hidden, np.float32)),
               (rng.uniform(-0.3, 0.3, (hidden, classes)).astype(np.float32),
                np.zeros(classes, np.float32))]
    graph = (rows, cols, vals, feats, labels)
    e = _gcn_losses(ember, weights, graph, PRODUCTS[name])
    t = _gcn_losses(torch, weights, graph, PRODUCTS[name])
    np.testing.assert_allclose(e, t, rtol=1e-5)
    assert e[-1] < e[0]
