"""Splitting (hsplit/vsplit/dsplit, split_with_sizes, the unsafe_* family), combinations, fill,
and the layout helpers (empty_permuted, as_strided_, dim_order, new_empty_strided,
const_data_ptr, as_subclass, resize_as, detach_), compared with PyTorch."""

import warnings

import numpy as np
import pytest

import ember


def _np(t):
    return t.detach().cpu().numpy()


def _pieces_alike(e, t):
    assert type(e) is tuple and len(e) == len(t)
    for a, b in zip(e, t):
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
        np.testing.assert_array_equal(_np(a), _np(b))
        assert (a.grad_fn.name() if a.grad_fn else None) == \
            (b.grad_fn.name() if b.grad_fn else None)


def _errors_alike(fn, torch):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    return str(t_err.value), str(e_err.value)


SPLITS = {
    "hsplit_int": lambda L, x: L.hsplit(x, 2),
    "hsplit_list": lambda L, x: x.hsplit([1, 5]),
    "hsplit_1d": lambda L, x: L.hsplit(x.reshape(-1), 4),
    "vsplit": lambda L, x: L.vsplit(x, [1]),
    "dsplit": lambda L, x: x.reshape(1, 2, 6).dsplit(3),
    "split_with_sizes": lambda L, x: L.split_with_sizes(x, [1, 3], 1),
    "split_with_sizes_method": lambda L, x: x.split_with_sizes([2, 1], dim=0),
    "unsafe_split": lambda L, x: L.unsafe_split(x, 3, 1),
    "unsafe_split_method": lambda L, x: x.unsafe_split(2),
    "unsafe_chunk": lambda L, x: L.unsafe_chunk(x, 3, 1),
    "unsafe_split_with_sizes": lambda L, x: x.unsafe_split_with_sizes([1, 3], 1),
}


@pytest.mark.parametrize("name", SPLITS)
def test_splits_match_torch(torch, name):
    outs, grads = [], []
    for L in (ember, torch):
        x = L.arange(12., requires_grad=True)
        pieces = SPLITS[name](L, x.reshape(3, 4))
        sum(p.sum() * (k + 1) for k, p in enumerate(pieces)).backward()
        outs.append(pieces)
        grads.append(_np(x.grad))
    _pieces_alike(*outs)
    np.testing.assert_array_equal(*grads)


def test_unsafe_split_pieces_are_untracked_views(torch):
    for L in (ember, torch):
        a = L.arange(4.)
        p = L.unsafe_split(a, 2)
        p[0][0] = 9.0
        assert a[0].item() == 9.0 and p[0]._base is None
        x = L.arange(4., requires_grad=True) * 1
        q = L.unsafe_chunk(x, 2)[0]
        q.mul_(2)  # allowed: torch refuses this on split's pieces, not on unsafe ones
        assert q.grad_fn.name() == "MulBackward0"
    with pytest.raises(RuntimeError):
        ember.split(ember.arange(4., requires_grad=True) * 1, 2)[0].mul_(2)


@pytest.mark.parametrize("bad", [
    lambda L: L.hsplit(L.ones(()), 2),
    lambda L: L.hsplit(L.ones(3, 3), 2),
    lambda L: L.hsplit(L.ones(3), 2),
    lambda L: L.hsplit(L.ones(3, 4), 0),
    lambda L: L.vsplit(L.ones(3), 1),
    lambda L: L.vsplit(L.ones(4, 3), 3),
    lambda L: L.dsplit(L.ones(4, 3), 3),
    lambda L: L.dsplit(L.ones(4, 3, 4), L.tensor([1, 2])),
    lambda L: L.hsplit(L.ones(4, 3, 4), 1.5),
    lambda L: L.split_with_sizes(L.ones(4), [1, 2]),
    lambda L: L.split_with_sizes(L.ones(4), 2),
    lambda L: L.unsafe_chunk(L.tensor(1.), 2),
    lambda L: L.unsafe_split(L.ones(4), -1),
])
def test_split_errors_match(torch, bad):
    t_msg, e_msg = _errors_alike(bad, torch)
    if "invalid combination" not in t_msg and "must be" not in t_msg:
        assert t_msg == e_msg


def test_combinations(torch):
    for args in [(2,), (0,), (1,), (4,), (3, True), (1, True)]:
        res = []
        for L in (ember, torch):
            x = L.tensor([1., 2., 3.], requires_grad=True)
            out = L.combinations(x, *args)
            if out.requires_grad:
                assert out.grad_fn.name() == "StackBackward0"
                (out * L.arange(out.numel()).reshape(out.shape)).sum().backward()
            res.append((tuple(out.shape), _np(out), x.grad))
        assert res[0][0] == res[1][0]
        np.testing.assert_array_equal(res[0][1], res[1][1])
        if res[1][2] is not None:
            np.testing.assert_array_equal(_np(res[0][2]), _np(res[1][2]))
    e = ember.combinations(ember.tensor([1, 2]))
    t = torch.combinations(torch.tensor([1, 2]))
    assert str(e.dtype) == str(t.dtype) and e.tolist() == t.tolist()
    assert ember.combinations(ember.ones(0)).shape == torch.combinations(torch.ones(0)).shape
    for bad in (lambda L: L.combinations(L.ones(3), -1), lambda L: L.combinations(L.ones(2, 2)),
                lambda L: L.combinations(L.ones(()))):
        t_msg, e_msg = _errors_alike(bad, torch)
        assert t_msg == e_msg


def test_fill(torch):
    for L_value in (lambda L: 3, lambda L: L.tensor(3.5)):
        e = ember.fill(ember.tensor([1, 2]), L_value(ember))
        t = torch.fill(torch.tensor([1, 2]), L_value(torch))
        assert str(e.dtype) == str(t.dtype) and e.tolist() == t.tolist()
    grads = []
    for L in (ember, torch):
        x = L.tensor([1., 2.], requires_grad=True)
        v = L.tensor(3., requires_grad=True)
        y = L.fill(x, v)
        assert y.grad_fn.name() == "FillBackward1"
        assert L.fill(x, 2).grad_fn.name() == "FillBackward0"
        (y * L.tensor([2., 5.])).sum().backward()
        grads.append((_np(x.grad), _np(v.grad)))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
    t_msg, e_msg = _errors_alike(lambda L: L.fill(L.ones(2), L.tensor([3.])), torch)
    assert t_msg == e_msg


def test_empty_permuted(torch):
    for size, order in [((2, 3, 4), (0, 2, 1)), ((2, 3, 4), (2, 0, 1)), ((), ())]:
        e, t = ember.empty_permuted(size, order), torch.empty_permuted(size, order)
        assert e.shape == t.shape and e.stride() == t.stride() and e.dtype == ember.float32
        assert e._base is None
    e = ember.empty_permuted((2, 3), (1, 0), dtype=ember.float64, requires_grad=True)
    assert e.dtype == ember.float64 and e.requires_grad and e.is_leaf
    for bad in (lambda L: L.empty_permuted([2, 3], [0, 0]),
                lambda L: L.empty_permuted([2, 3], [0]),
                lambda L: L.empty_permuted([2, 3], [0, 2]),
                lambda L: L.empty_permuted([2, 3], [0, -1])):
        t_msg, e_msg = _errors_alike(bad, torch)
        assert t_msg == e_msg


def test_as_strided_(torch):
    for L in (ember, torch):
        a = L.arange(6.)
        assert L.as_strided_(a, (2, 2), (1, 2), 1) is a
        assert a.tolist() == [[1., 3.], [2., 4.]] and a.stride() == (1, 2)
        b = L.arange(6.)
        assert b.as_strided_((3,), (2,)).tolist() == [0., 2., 4.]
    with pytest.raises(RuntimeError, match="leaf"):
        ember.as_strided_(ember.ones(4, requires_grad=True), (2,), (1,))


def test_dim_order(torch):
    cases = [lambda L: L.ones(2, 3, 4).permute(2, 0, 1), lambda L: L.ones(2, 3),
             lambda L: L.ones(()), lambda L: L.ones(2, 1, 3).transpose(0, 1),
             lambda L: L.ones(2, 3, 4, 5).permute(0, 2, 3, 1),
             lambda L: L.ones(3, 4, 5).as_strided((3, 4), (1, 3)),
             lambda L: L.ones(2, 3)[:, ::2], lambda L: L.ones(4, 3).t()]
    for case in cases:
        assert case(ember).dim_order() == case(torch).dim_order()
    for kw in [dict(ambiguity_check=True), dict(ambiguity_check=[])]:
        _errors_alike(lambda L, kw=kw: L.ones(2, 3, 4).as_strided((2, 2), (1, 1))
                      .dim_order(**kw), torch)
    fmt = [lambda L: L.contiguous_format]
    assert ember.ones(2, 1).dim_order(ambiguity_check=[fmt[0](ember)]) == \
        torch.ones(2, 1).dim_order(ambiguity_check=[fmt[0](torch)])
    _errors_alike(lambda L: L.ones(1, 1, 1, 1).dim_order(
        ambiguity_check=[L.contiguous_format, L.channels_last]), torch)
    _errors_alike(lambda L: L.ones(2).dim_order(ambiguity_check=3), torch)


def test_new_empty_strided_and_const_data_ptr(torch):
    for L in (ember, torch):
        base = L.ones(2, dtype=L.float64)
        z = base.new_empty_strided((2, 3), (3, 1))
        assert z.shape == (2, 3) and z.dtype == L.float64 and not z.requires_grad
        assert base.new_empty_strided((2,), (1,), dtype=L.int32).dtype == L.int32
        assert base.const_data_ptr() == base.data_ptr()
        assert base[1:].const_data_ptr() == base.data_ptr() + 8


def test_as_subclass(torch):
    grads = []
    for L in (ember, torch):
        class Tagged(L.Tensor):
            pass

        x = L.ones(2, 3, requires_grad=True)
        y = x.as_subclass(Tagged)
        assert type(y) is Tagged and y.requires_grad and y.grad_fn.name() == "AliasBackward0"
        assert y.data_ptr() == x.data_ptr() and y._base is x
        (y * 2).sum().backward()
        grads.append(_np(x.grad))
        with pytest.raises(TypeError, match="does not inherit from Tensor"):
            x.as_subclass(int)
    np.testing.assert_array_equal(*grads)


def test_resize_as_and_detach_(torch):
    for L in (ember, torch):
        x = L.ones(2, 3, requires_grad=True) * 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = x.resize_as(L.zeros(3, 2))
        assert any("non-inplace resize_as is deprecated" in str(w.message) for w in caught)
        assert r.shape == (3, 2) and r.grad_fn.name() == "ResizeBackward"
        assert r.data_ptr() == x.data_ptr()
        t = L.ones(2, requires_grad=True) * 2
        assert L.detach_(t) is t and not t.requires_grad and t.grad_fn is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_msg, e_msg = _errors_alike(lambda L: L.ones(4).resize_as(L.ones(2, 3)), torch)
    assert t_msg == e_msg
