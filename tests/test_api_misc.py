"""Behaviour of the gap-filling Tensor API (``ember/_ops``: inplace_methods, complex, cumulative ...) against torch: in-place
writes and their autograd, metadata changes, legacy helpers, non-differentiable ops, errors."""

import warnings

import numpy as np
import pytest

import ember


def _np(t):
    return t.detach().cpu().numpy()


def _ver(t) -> int:
    return t._version[0] if isinstance(t._version, list) else t._version


def _name(t) -> str:  # what repr prints: torch's name() has a C++ namespace on some nodes
    return t.grad_fn.name() if isinstance(t, ember.Tensor) else type(t.grad_fn).__name__


def _same(e, t):
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype) == str(t.dtype)
    np.testing.assert_allclose(_np(e), _np(t), rtol=1e-6, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("dst,src", [
    ("L.zeros(2, 3)", "L.tensor([1, 2, 3])"),
    ("L.zeros(2, 3, dtype=L.int64)", "L.tensor([[1.7], [-2.2]])"),
    ("L.zeros(3, dtype=L.bool)", "L.tensor([0., 2., 0.])"),
    ("L.zeros(2, 2, dtype=L.float64)", "L.tensor(5)"),
])
def test_copy_casts_and_broadcasts(torch, dst, src):
    out = {}
    for L in (ember, torch):
        d = eval(dst, {"L": L})
        r = d.copy_(eval(src, {"L": L}))
        assert r is d
        out[L.__name__] = d
    _same(out["ember"], out["torch"])


def test_copy_errors_as_torch(torch):
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match"):
            L.zeros(3).copy_(L.zeros(2, 3))
        with pytest.raises(RuntimeError, match="must match the size"):
            L.zeros(2, 3).copy_(L.zeros(2, 2))
        with pytest.raises(TypeError, match="must be Tensor"):
            L.zeros(2).copy_([1, 2])


def test_copy_into_parameter_under_no_grad_and_leaf_error():
    p = ember.nn.Parameter(ember.zeros(3))
    v = _ver(p)
    with ember.no_grad():
        p.copy_(ember.tensor([1.0, 2.0, 3.0]))
    assert p.tolist() == [1.0, 2.0, 3.0] and _ver(p) > v and p.requires_grad
    with pytest.raises(RuntimeError, match="leaf Variable"):
        p.copy_(ember.ones(3))


def test_copy_autograd_like_torch(torch):
    res = {}
    for L in (ember, torch):
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        s = L.tensor([4.0, 5.0, 6.0], dtype=L.float64, requires_grad=True)
        y = x * 2
        y[1:].copy_(s[:2])
        (y * L.tensor([1.0, 10.0, 100.0])).sum().backward()
        res[L.__name__] = (x.grad, s.grad, _name(y))
    _same(res["ember"][0], res["torch"][0])
    _same(res["ember"][1], res["torch"][1])
    assert res["ember"][2] == res["torch"][2] == "CopySlices"


def test_copy_grad_fn_name_and_overlap(torch):
    for L in (ember, torch):
        y = L.ones(3, requires_grad=True) * 1
        y.copy_(L.zeros(3))
        assert _name(y) == "CopyBackwards"
    a, ta = ember.arange(5.), torch.arange(5.)
    a.copy_(a.flip(0)), ta.copy_(ta.flip(0))
    _same(a, ta)


def test_copy_to_meta_and_from_other_device():
    m = ember.empty(3, device="meta")
    assert m.copy_(ember.ones(3)) is m
    c = ember.zeros(3)
    c.copy_(ember.ones(3).to("cpu"))
    assert c.tolist() == [1.0, 1.0, 1.0]


def test_fill_and_zero(torch):
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="0-dimension value tensor"):
            L.zeros(2).fill_(L.tensor([1.0]))
    e, t = ember.zeros(2, dtype=ember.int64).fill_(2.7), torch.zeros(2, dtype=torch.int64).fill_(2.7)
    _same(e, t)
    _same(ember.ones(2, 2).fill_(ember.tensor(3.0)), torch.ones(2, 2).fill_(torch.tensor(3.0)))
    for L in (ember, torch):
        y = L.ones(3, requires_grad=True) * 2
        assert _name(y.fill_(1)) == "FillBackward2"
        assert _name(y.fill_(L.tensor(1.0, requires_grad=True))) == "FillBackward3"
        assert _name(y.zero_()) == "ZeroBackward0"
    e = ember.arange(4.).view(2, 2)
    e[0].zero_()
    assert e.tolist() == [[0.0, 0.0], [2.0, 3.0]]
    assert ember.fill_(ember.zeros(2), 4).tolist() == [4.0, 4.0]


def test_fill_diagonal(torch):
    for shape, wrap in [((3, 3), False), ((5, 2), False), ((7, 3), True), ((2, 2, 2), False)]:
        _same(ember.zeros(shape).fill_diagonal_(1.5, wrap=wrap),
              torch.zeros(shape).fill_diagonal_(1.5, wrap=wrap))
    with pytest.raises(RuntimeError):
        ember.zeros(2, 3, 3).fill_diagonal_(1)


def test_inplace_metadata_ops(torch):
    for name, args in [("squeeze_", ()), ("squeeze_", (1,)), ("unsqueeze_", (0,)), ("t_", ()),
                       ("transpose_", (0, 2))]:
        e = ember.arange(6.).reshape(2, 1, 3)
        t = torch.arange(6.).reshape(2, 1, 3)
        if name == "t_":
            e, t = e.reshape(2, 3), t.reshape(2, 3)
        ve, vt = _ver(e), _ver(t)
        assert getattr(e, name)(*args) is e
        getattr(t, name)(*args)
        _same(e, t)
        assert e.stride() == t.stride() and _ver(e) - ve == _ver(t) - vt
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            L.ones(2, 1, requires_grad=True).squeeze_()
    res = {}
    for L in (ember, torch):
        x = L.arange(6., requires_grad=True)
        y = x.reshape(2, 3) * 1
        y.t_()
        (y * L.arange(6.).reshape(3, 2)).sum().backward()
        res[L.__name__] = x.grad
    _same(res["ember"], res["torch"])


def test_resize(torch):
    for sizes in [(2, 3), (4,), (2, 2, 2)]:
        e, t = ember.arange(6.), torch.arange(6.)
        e.resize_(*sizes), t.resize_(*sizes)
        assert e.shape == t.shape
        k = min(6, e.numel())
        assert e.reshape(-1)[:k].tolist() == t.reshape(-1)[:k].tolist()
    _same(ember.zeros(3).resize_as_(ember.ones(1, 2)), torch.zeros(3).resize_as_(torch.ones(1, 2)))
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            L.ones(2, requires_grad=True).resize_(3)


def test_new_type_as_and_compat_helpers(torch):
    for L in (ember, torch):
        x = L.ones(2, dtype=L.float64)
        assert x.new().shape == (0,) and x.new().dtype == L.float64
        assert x.new(2, 3).shape == (2, 3)
        assert x.new(L.Size([4])).shape == (4,)
        assert x.new((2, 3)).tolist() == [2.0, 3.0]
        assert L.tensor([1, 2]).type_as(x).dtype == L.float64
        assert not x.is_shared() and x.share_memory_() is x and x.is_shared()
        assert not x.is_pinned()
    assert ember.ones(2).pin_memory().tolist() == [1.0, 1.0]  # torch needs an accelerator here


def test_apply_and_map(torch):
    e, t = ember.arange(4.), torch.arange(4.)
    e.apply_(lambda v: v * v + 1), t.apply_(lambda v: v * v + 1)
    _same(e, t)
    e.map_(ember.tensor(2.0), lambda a, b: a - b), t.map_(torch.tensor(2.0), lambda a, b: a - b)
    _same(e, t)
    e2 = ember.arange(6).view(2, 3).t()
    e2.apply_(lambda v: -v)
    assert e2.tolist() == [[0, -3], [-1, -4], [-2, -5]]


def test_storage_views_share():
    a = ember.arange(6.)
    b = a.view(2, 3)[1]
    assert b.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()
    assert a.untyped_storage().nbytes() == 24 and b.storage().size() == 6
    assert b.storage().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize("expr", [
    "L.histc(L.tensor([1., 2., 1.]), bins=4, min=0, max=3)",
    "L.histc(L.tensor([0.5, 0.7, 3.0, -1.0, 9.0], dtype=L.float64), bins=3)",
    "L.histc(L.tensor([2., 2.]), bins=4)",
    "L.tensor([1., 5., 2.5, 2.5]).histc(5, 1, 5)",
    "L.bincount(L.tensor([0, 1, 1, 3]))",
    "L.bincount(L.tensor([0, 1, 1]), minlength=5)",
    "L.bincount(L.tensor([0, 2, 2]), weights=L.tensor([1., 2., 3.]))",
    "L.bincount(L.tensor([0, 2, 2]), weights=L.tensor([1, 2, 3]))",
    "L.bincount(L.tensor([], dtype=L.int64))",
    "L.isin(L.tensor([1, 2, 3]), L.tensor([2, 5]))",
    "L.isin(L.tensor([[1., 2.], [3., 4.]]), 3.)",
    "L.isin(2, L.tensor([1, 2]))",
    "L.isin(L.tensor([1, 2, 3]), L.tensor([2]), invert=True)",
    "L.tril_indices(3, 3)", "L.tril_indices(4, 3, -1)", "L.triu_indices(2, 4, 1)",
    "L.triu_indices(3, 3, dtype=L.int32)", "L.tril_indices(0, 3)",
    "L.diff(L.tensor([True, False, False, True]))",
    "L.diff(L.tensor([1, 3, 6, 10]), n=2)",
    "L.cummax(L.tensor([1., 3., 3., 2., float('nan'), 5., float('nan')]), 0).indices",
    "L.cummin(L.tensor([[1, 3, 1, 0], [2, 2, 5, 1]]), 1).indices",
    "L.cummax(L.tensor([True, False, True]), 0).values",
    "L.logcumsumexp(L.tensor([-1000., 0., 1000.]), 0)",
    "L.vander(L.tensor([1, 2, 3]))",
    "L.cov(L.tensor([[1, 2, 4], [3, 1, 0]]))",
    "L.cov(L.tensor([[1., 2., 4.], [3., 1., 0.]]), fweights=L.tensor([1, 2, 1]))",
    "L.corrcoef(L.tensor([1., 2., 4.]))",
    "L.block_diag(L.tensor([[1, 2]]), L.tensor([[3.]]))",
    "L.block_diag()",
    "L.cartesian_prod(L.tensor([1, 2]))",
    "L.addcmul(L.tensor([1, 2]), L.tensor([3, 4]), L.tensor([5, 6]), value=2)",
    "L.inner(L.tensor([1, 2]), L.tensor([[3, 4], [5, 6]]))",
])
def test_values_match_torch(torch, expr):
    e = eval(expr, {"L": ember})
    t = eval(expr, {"L": torch})
    _same(e, t)


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


def test_sum_to_size_and_dropout(torch):
    _same(ember.ones(2, 3).sum_to_size(1, 3), torch.ones(2, 3).sum_to_size(1, 3))
    _same(ember.ones(2, 3).sum_to_size((3,)), torch.ones(2, 3).sum_to_size((3,)))
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="is not expandable to size"):
            L.ones(2, 3).sum_to_size(3, 3)
    x = ember.ones(1000)
    assert ember.dropout(x, 0.5, False) is x
    y = ember.dropout(x, 0.5, True)
    kept = y[y != 0]
    assert np.allclose(_np(kept), 2.0) and 300 < kept.numel() < 700
    assert ember.dropout(x, 1.0, True).sum().item() == 0


def test_addcdiv_integer_error_and_inplace(torch):
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
            L.addcdiv(L.ones(2), L.tensor([1, 2]), L.tensor([1, 2]))
    e, t = ember.ones(3), torch.ones(3)
    e.addcdiv_(ember.tensor([1., 2., 3.]), ember.tensor([2., 2., 2.]), value=-1)
    t.addcdiv_(torch.tensor([1., 2., 3.]), torch.tensor([2., 2., 2.]), value=-1)
    _same(e, t)


def test_vander_gradcheck():
    x = ember.tensor([0.5, -1.5, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: ember.vander(a, N=4), (x,))
    assert ember.autograd.gradgradcheck(lambda a: ember.vander(a, increasing=True), (x,))


def test_error_messages_as_torch(torch):
    cases = [
        "L.rot90(L.ones(2, 2), 1, [0])", "L.rot90(L.ones(2), 1)", "L.rot90(L.ones(2, 2), 1, [1, 1])",
        "L.inner(L.ones(2, 3), L.ones(2, 4))", "L.bincount(L.tensor([-1, 2]))",
        "L.bincount(L.tensor([1., 2.]))", "L.diff(L.tensor(1.))", "L.cov(L.ones(2, 2, 2))",
        "L.cartesian_prod(L.ones(2, 2))", "L.vander(L.ones(2, 2))",
        "L.block_diag(L.ones(2, 2, 2))", "L.logcumsumexp(L.tensor([1, 2]), 0)",
        "L.histc(L.tensor([1, 2]))", "L.bincount(L.tensor([True]))",
    ]
    for expr in cases:
        with pytest.raises(Exception) as te:
            eval(expr, {"L": torch})
        with pytest.raises(type(te.value)):
            eval(expr, {"L": ember})
