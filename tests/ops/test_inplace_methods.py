"""The Tensor's in-place and legacy methods (``ember/_ops/inplace_methods.py``) against torch:
``copy_`` (casts, broadcasting, autograd, errors), ``fill_``/``zero_``/``fill_diagonal_``,
in-place metadata changes, ``resize_``, ``new``/``type_as`` and other compatibility helpers,
``apply_``/``map_`` and storage sharing."""

import pytest

import ember
from tests.ops._compare import np_of as _np  # noqa: F401
from tests.ops._compare import same as _same
from tests.ops._compare import version as _ver


def _name(t) -> str:  # what repr prints: name() has a C++ namespace on some nodes
    return type(t.grad_fn).__name__


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
    # pinning needs an accelerator: without one both refuse with the same error
    if not ember.accelerator.is_available() and not torch.accelerator.is_available():
        for L in (ember, torch):
            with pytest.raises(RuntimeError, match="Cannot access accelerator device when none "
                                                   "is available"):
                L.ones(2).pin_memory()


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
