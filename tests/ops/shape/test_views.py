"""Views: property tests that view ops share memory and version counters with their base and
report torch's ``stride()``/``storage_offset()``, and that writes through views give torch's
gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def shapes_and_views(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    nd = len(shape)
    kind = draw(st.sampled_from(["index", "transpose", "permute", "expand", "narrow", "select",
                                 "diagonal", "unsqueeze", "view"]))
    if kind == "index":
        idx = []
        for n in shape[:draw(st.integers(1, nd))]:
            choice = draw(st.sampled_from(["int", "slice", "none"]))
            if choice == "int":
                idx.append(draw(st.integers(-n, n - 1)))
            elif choice == "slice":
                a = draw(st.integers(0, n))
                idx.append(slice(a, draw(st.integers(a, n + 1)), draw(st.integers(1, 3))))
            else:
                idx.extend([None, slice(None)])
        args = (tuple(idx),)
    elif kind == "transpose":
        args = (draw(st.integers(-nd, nd - 1)), draw(st.integers(-nd, nd - 1)))
    elif kind == "permute":
        args = tuple(draw(st.permutations(range(nd))))
    elif kind == "expand":
        args = (2,) + tuple(draw(st.sampled_from([n, -1])) if n != 1 else
                            draw(st.integers(1, 3)) for n in shape)
    elif kind == "narrow":
        d = draw(st.integers(0, nd - 1))
        start = draw(st.integers(0, shape[d]))
        args = (d, start, draw(st.integers(0, shape[d] - start)))
    elif kind == "select":
        d = draw(st.integers(0, nd - 1))
        args = (d, draw(st.integers(-shape[d], shape[d] - 1)))
    elif kind == "diagonal":
        if nd < 2:
            shape, nd = shape + (3,), nd + 1
        d1, d2 = draw(st.permutations(range(nd)))[:2]
        args = (draw(st.integers(-2, 2)), d1, d2)
    elif kind == "unsqueeze":
        args = (draw(st.integers(-nd - 1, nd)),)
    else:
        args = (-1,)
    base_kind = draw(st.sampled_from(["plain", "transposed", "sliced"]))
    return shape, kind, args, base_kind


def _base(lib, shape, base_kind):
    x = lib.arange(int(np.prod(shape)) * 2, dtype=lib.float64)
    if base_kind == "sliced":
        return x[1::2].reshape(shape) if len(shape) else x[1]
    x = x[: int(np.prod(shape))].reshape(shape)
    if base_kind == "transposed" and len(shape) >= 2:
        x = x.transpose(0, -1).contiguous().transpose(0, -1)
    return x


def _apply(lib, x, kind, args):
    if kind == "index":
        return x[args[0]]
    if kind == "view":
        return x.contiguous().view(*args) if not x.is_contiguous() else x.view(*args)
    return getattr(x, kind)(*args)


@SETTINGS
@given(shapes_and_views())
def test_view_ops_are_views_with_torch_strides(case):
    torch = pytest.importorskip("torch")
    shape, kind, args, base_kind = case
    e_base, t_base = _base(ember, shape, base_kind), _base(torch, shape, base_kind)
    e, t = _apply(ember, e_base, kind, args), _apply(torch, t_base, kind, args)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    if t.numel() == 0 or kind == "view" and not t_base.is_contiguous():
        return
    # a size-1 dim's stride is never used to address memory; NumPy and torch may differ there
    big = [i for i, n in enumerate(t.shape) if n > 1]
    assert [e.stride()[i] for i in big] == [t.stride()[i] for i in big], (kind, args)
    assert e.storage_offset() - e_base.storage_offset() == \
        t.storage_offset() - t_base.storage_offset()
    if kind == "expand":
        return  # expanded views overlap themselves; torch forbids writing through them
    # writing through the view changes the base and moves the shared version counter
    before = e_base._version_counter
    e.add_(1000)
    t.add_(1000)
    np.testing.assert_array_equal(e_base.numpy(), t_base.numpy())
    assert e_base._version_counter > before
    assert e._version_counter == e_base._version_counter


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_reshape_is_a_view_exactly_when_torch_says(shape, data):
    torch = pytest.importorskip("torch")
    shape = tuple(shape)
    n = int(np.prod(shape))
    target = list(data.draw(st.permutations(shape)))
    if len(target) > 1 and data.draw(st.booleans()):
        target = [target[0] * target[1]] + target[2:]
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    e = ember.arange(n, dtype=ember.float64).reshape(shape).permute(perm)
    t = torch.arange(n, dtype=torch.float64).reshape(shape).permute(perm)
    er, tr = e.reshape(target), t.reshape(target)
    np.testing.assert_array_equal(er.numpy(), tr.numpy())
    t_view = tr.data_ptr() == t.data_ptr() and tr._base is not None
    e_view = np.shares_memory(er._data, e._data)
    assert e_view == t_view
    if t_view:
        assert er.stride() == tr.stride() or 1 in tr.shape


def _run_both(torch, fn):
    out = []
    for lib in (ember, torch):
        x = lib.tensor(np.arange(12.0).reshape(3, 4) / 7, requires_grad=True)
        fn(lib, x)
        out.append(x.grad.numpy())
    np.testing.assert_allclose(out[0], out[1])


def test_setitem_on_nonleaf_then_backward(torch):
    def fn(lib, x):
        y = x * 1
        y[0] = 5
        (y * y).sum().backward()

    _run_both(torch, fn)


def test_inplace_mul_through_column_view(torch):
    def fn(lib, x):
        y = x * x
        y[:, 1].mul_(2)
        col = y.select(0, 2)
        col.add_(x[0])
        (y * lib.arange(4.0)).sum().backward()

    _run_both(torch, fn)


def test_inplace_through_diagonal_and_narrow(torch):
    def fn(lib, x):
        y = x + 0
        y.diagonal().mul_(3)
        y.narrow(1, 2, 2).sub_(x[:, :2])
        y.sum().backward()

    _run_both(torch, fn)


def test_view_of_view_write_reaches_root(torch):
    for lib in (ember, torch):
        x = lib.zeros(4, 6)
        v = x.view(2, 2, 6)[1].transpose(0, 1)[::2]
        v.fill_(1) if hasattr(v, "fill_") else v.add_(1)
        assert x.sum().item() == 6
        assert v._version == x._version
