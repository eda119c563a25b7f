"""The ``*_copy`` twins of view ops and the ``*_scatter`` ops, compared with PyTorch: values,
fresh contiguous memory, node names, gradients and errors."""

import numpy as np
import pytest

import ember


def _np(t):
    return t.detach().cpu().numpy()


def _base(L):
    return L.tensor(np.arange(12.).reshape(3, 4) * 0.5 + 1, requires_grad=True)


COPIES = {
    "alias_copy": lambda L, x: L.alias_copy(x),
    "view_copy": lambda L, x: L.view_copy(x, [12]),
    "view_copy_dtype": lambda L, x: L.view_copy(x.detach(), L.int64),
    "permute_copy": lambda L, x: L.permute_copy(x, (1, 0)),
    "transpose_copy": lambda L, x: L.transpose_copy(x, 0, 1),
    "t_copy": lambda L, x: L.t_copy(x),
    "squeeze_copy": lambda L, x: L.squeeze_copy(x[:1]),
    "squeeze_copy_dims": lambda L, x: L.squeeze_copy(x[:1], (0, 1)),
    "unsqueeze_copy": lambda L, x: L.unsqueeze_copy(x, 1),
    "select_copy": lambda L, x: L.select_copy(x, 1, -1),
    "slice_copy": lambda L, x: L.slice_copy(x, 1, 1, 3),
    "slice_copy_step": lambda L, x: L.slice_copy(x, 0, None, None, 2),
    "slice_copy_clamped": lambda L, x: L.slice_copy(x, 0, -10, 10),
    "split_copy": lambda L, x: L.split_copy(x, 2),
    "split_with_sizes_copy": lambda L, x: L.split_with_sizes_copy(x, [1, 3], 1),
    "unbind_copy": lambda L, x: L.unbind_copy(x, 1),
    "unfold_copy": lambda L, x: L.unfold_copy(x, 1, 2, 1),
    "diagonal_copy": lambda L, x: L.diagonal_copy(x, -1),
    "expand_copy": lambda L, x: L.expand_copy(x[:1], (2, 3, 4)),
    "as_strided_copy": lambda L, x: L.as_strided_copy(x, (2, 2), (1, 2), 1),
    "view_as_real_copy": lambda L, x: L.view_as_real_copy(L.view_as_complex(x.view(3, 2, 2))),
    "view_as_complex_copy": lambda L, x: L.view_as_complex_copy(x.detach().view(3, 2, 2)),
}


@pytest.mark.parametrize("name", COPIES)
def test_copy_matches_torch(torch, name):
    results = []
    for L in (ember, torch):
        x = _base(L)
        out = COPIES[name](L, x)
        outs = out if isinstance(out, tuple) else (out,)
        for o in outs:
            assert o.is_contiguous() and o.data_ptr() != x.data_ptr()
            assert o._base is None
        grad = None
        if outs[0].requires_grad:
            sum(o.float().sum() * (k + 2) for k, o in enumerate(outs)).backward()
            grad = _np(x.grad)
        results.append(([(tuple(o.shape), str(o.dtype), o.stride(),
                          o.grad_fn.name() if o.grad_fn else None) for o in outs],
                         [_np(o) for o in outs], grad))
    (e_meta, e_vals, e_grad), (t_meta, t_vals, t_grad) = results
    assert e_meta == t_meta
    for e, t in zip(e_vals, t_vals):
        np.testing.assert_array_equal(e, t)
    assert (e_grad is None) == (t_grad is None)
    if t_grad is not None:
        np.testing.assert_allclose(e_grad, t_grad)


def test_copies_do_not_write_through():
    x = ember.arange(6.).view(2, 3)
    c = ember.t_copy(x)
    c[0, 0] = 100.0
    assert x[0, 0].item() == 0.0


def test_detach_copy_and_sparse_copies(torch):
    out = ember.detach_copy(ember.ones(2, requires_grad=True))
    assert not out.requires_grad and out.tolist() == [1.0, 1.0]
    s = ember.tensor([[0, 1.], [2, 0]]).to_sparse()
    assert ember.values_copy(s).tolist() == [1.0, 2.0]
    assert ember.indices_copy(s).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(RuntimeError, match="sparse"):
        ember.values_copy(ember.ones(2))
    with pytest.raises(RuntimeError, match="sparse"):
        torch.values_copy(torch.ones(2))


def test_view_as_complex_copy_refuses_autograd_as_torch(torch):
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="does not support automatic differentiation"):
            L.view_as_complex_copy(L.ones(2, 2, requires_grad=True))


SCATTERS = {
    "slice_scatter": lambda L, x, s: L.slice_scatter(x, s.reshape(4, 2)[:3], 1, 0, None, 2),
    "slice_scatter_rows": lambda L, x, s: x.slice_scatter(s, 0, 1),
    "slice_scatter_cast": lambda L, x, s: L.slice_scatter(x, s.double(), 0, 0, 2),
    "select_scatter": lambda L, x, s: L.select_scatter(x, s[0], 0, 2),
    "select_scatter_neg": lambda L, x, s: x.select_scatter(s[0, :3], 1, -1),
    "diagonal_scatter": lambda L, x, s: L.diagonal_scatter(x, s[0, :3]),
    "diagonal_scatter_offset": lambda L, x, s: x.diagonal_scatter(s[0, :2], -1),
    "as_strided_scatter_src": lambda L, x, s: L.as_strided_scatter(x.detach(), s, (2, 4), (4, 1)),
}


@pytest.mark.parametrize("name", SCATTERS)
def test_scatter_matches_torch(torch, name):
    results = []
    for L in (ember, torch):
        x = _base(L)
        s = L.tensor([[5., 6, 7, 8], [9, 10, 11, 12]], requires_grad=True)
        out = SCATTERS[name](L, x, s)
        (out * L.arange(12.).view(3, 4)).sum().backward()
        results.append((out, x.grad, s.grad, out.grad_fn.name()))
    (e, ex, es, en), (t, tx, ts, tn) = results
    assert en == tn and str(e.dtype) == str(t.dtype)
    np.testing.assert_array_equal(_np(e), _np(t))
    for a, b in ((ex, tx), (es, ts)):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(_np(a), _np(b))


def test_scatter_leaves_input_alone_and_works_without_grad():
    x = ember.zeros(2, 2)
    out = ember.select_scatter(x, ember.ones(2), 0, 0)
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]] and out.tolist() == [[1, 1], [0, 0]]
    assert out.grad_fn is None


def test_as_strided_scatter_input_gradient_is_the_outside():
    """torch's derivative for ``input`` returns the gradient inside the view (its formula is
    known to be wrong: pytorch/pytorch#77128 review); ember gives the mathematically right one,
    the gradient outside the view, checked here by finite differences."""
    w = ember.arange(12., dtype=ember.float64).view(3, 4)
    s = ember.ones(2, 2, dtype=ember.float64)

    def f(a):
        return (ember.as_strided_scatter(a, s, (2, 2), (1, 2), 1) * w).sum()

    x = ember.zeros(3, 4, dtype=ember.float64, requires_grad=True)
    f(x).backward()
    numeric = np.zeros(12)
    for k in range(12):  # f is linear in x: a unit step gives the exact derivative
        step = np.zeros(12)
        step[k] = 1.0
        numeric[k] = (f(ember.tensor(step.reshape(3, 4))) - f(ember.zeros(3, 4,
                                                                   dtype=ember.float64))).item()
    np.testing.assert_allclose(_np(x.grad).reshape(-1), numeric)
    outside = np.ones(12)
    outside[[1, 2, 3, 4]] = 0
    np.testing.assert_allclose(numeric, np.arange(12.) * outside)


@pytest.mark.parametrize("bad", [
    lambda L: L.slice_scatter(L.zeros(4, 4), L.ones(4), 0, 0, 2),
    lambda L: L.slice_scatter(L.zeros(4, 4), L.ones(2, 4), 0, step=-2),
    lambda L: L.select_scatter(L.zeros(4, 4), L.ones(3), 0, 0),
    lambda L: L.select_scatter(L.zeros(4, 4), L.ones(4), 0, 5),
    lambda L: L.diagonal_scatter(L.zeros(4, 4), L.ones(4), 1),
    lambda L: L.as_strided_scatter(L.zeros(4, 4), L.ones(2), (2, 2), (1, 2)),
    lambda L: L.slice_copy(L.zeros(4), 0, 0, 2, -1),
    lambda L: L.permute_copy(L.zeros(2, 2), (0, 0)),
])
def test_errors_match(torch, bad):
    with pytest.raises(Exception) as t_err:
        bad(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        bad(ember)
    assert str(e_err.value).split(".")[0] == str(t_err.value).split(".")[0]
