"""torch.nested against torch 2.13: construction, shapes and printing, the ops that run on
nested tensors (values and gradients), padding back, and the errors."""

import re

import numpy as np
import pytest

import ember
import ember.nn.functional as F


def _parts(seed=0, lengths=(2, 4), width=3):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, width)).astype(np.float32) for n in lengths]


def _both(torch, arrays, layout="jagged", requires_grad=False):
    e = ember.nested.nested_tensor([ember.from_numpy(a.copy()) for a in arrays],
                                   layout=getattr(ember, layout), requires_grad=requires_grad)
    t = torch.nested.nested_tensor([torch.from_numpy(a.copy()) for a in arrays],
                                   layout=getattr(torch, layout), requires_grad=requires_grad)
    return e, t


def _no_symbols(text: str) -> str:
    return re.sub(r"j\d+", "j", re.sub(r" at 0x[0-9a-f]+", "", text))


def _same_nested(e, t, rtol=1e-5, atol=1e-6):
    assert e.is_nested and t.is_nested
    ec, tc = e.unbind(), t.unbind()
    assert len(ec) == len(tc)
    for a, b in zip(ec, tc):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)


def test_properties_and_printing_match_torch(torch):
    e, t = _both(torch, _parts())
    assert _no_symbols(str(e.shape)) == _no_symbols(str(t.shape)) == "torch.Size([2, j, 3])"
    assert e.dim() == t.dim() and e.numel() == t.numel() and e.size(0) == t.size(0)
    assert e.size(2) == t.size(2) and str(e.size(1))[0] == "j"
    assert e.layout is ember.jagged and e.is_nested and not ember.ones(1).is_nested
    np.testing.assert_array_equal(e.offsets().numpy(), t.offsets().numpy())
    np.testing.assert_array_equal(e.values().numpy(), t.values().numpy())
    assert _no_symbols(repr(e)) == _no_symbols(repr(t))
    g, u = _both(torch, _parts(), requires_grad=True)
    assert _no_symbols(repr(g)) == _no_symbols(repr(u))
    assert g.is_leaf == u.is_leaf and g.requires_grad == u.requires_grad
    with pytest.warns(UserWarning, match="prototype stage"):
        s, v = _both(torch, _parts(1, (1, 3)), layout="strided")
    assert repr(s) == repr(v)
    assert s.layout is ember.strided
    with pytest.raises(RuntimeError) as want:
        v.size(1)
    with pytest.raises(RuntimeError) as got:
        s.size(1)
    assert str(got.value) == str(want.value)


def test_nested_tensor_of_number_lists(torch):
    e = ember.nested.nested_tensor([[1, 2], [3]])
    t = torch.nested.nested_tensor([[1, 2], [3]])
    assert repr(e) == repr(t)
    assert [x.tolist() for x in e.unbind()] == [x.tolist() for x in t.unbind()]


def _run(fn_e, fn_t, e, t):
    return fn_e(e), fn_t(t)


W = np.random.default_rng(9).standard_normal((5, 3)).astype(np.float32)

OPS = {
    "mul_scalar": (lambda x, L: x * 2),
    "add_dense_row": (lambda x, L: x + L.ones(3)),
    "add_dense_batch": (lambda x, L: x + L.arange(3.0).view(3, 1, 1)),
    "add_nested": (lambda x, L: x + x * 3),
    "relu": (lambda x, L: x.relu()),
    "gelu": (lambda x, L: L.nn.functional.gelu(x)),
    "tanh_exp": (lambda x, L: x.tanh().exp()),
    "linear": (lambda x, L: L.nn.functional.linear(x, L.from_numpy(W.copy()))),
    "matmul": (lambda x, L: x @ L.from_numpy(W.T.copy())),
    "softmax_last": (lambda x, L: x.softmax(-1)),
    "log_softmax_last": (lambda x, L: L.nn.functional.log_softmax(x, dim=2)),
    "layer_norm": (lambda x, L: L.nn.functional.layer_norm(x, (3,))),
    "sum_last": (lambda x, L: x.sum(-1)),
    "mean_last_keepdim": (lambda x, L: x.mean(-1, keepdim=True)),
    "unflatten_transpose": (lambda x, L: x.unflatten(-1, (3, 1)).transpose(1, 2)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_match_torch(torch, name):
    fn = OPS[name]
    e, t = _both(torch, _parts(2, (2, 4, 1)))
    _same_nested(fn(e, ember), fn(t, torch))


@pytest.mark.parametrize("name", ["sum_ragged", "mean_ragged", "sum_all", "softmax_ragged"])
def test_ragged_dimension_ops_match_torch(torch, name):
    e, t = _both(torch, _parts(3, (2, 4, 1)))
    fns = {"sum_ragged": lambda x: x.sum(dim=1), "mean_ragged": lambda x: x.mean(dim=1),
           "sum_all": lambda x: x.sum(), "softmax_ragged": lambda x: x.softmax(1)}
    got, want = fns[name](e), fns[name](t)
    if want.is_nested:
        _same_nested(got, want)
    else:
        assert not got.is_nested and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_attention_over_jagged_sequences_matches_torch(torch):
    rng = np.random.default_rng(4)
    seqs = [rng.standard_normal((n, 2, 4)).astype(np.float32) for n in (3, 5)]
    e = ember.nested.nested_tensor([ember.from_numpy(s) for s in seqs],
                                   layout=ember.jagged).transpose(1, 2)
    t = torch.nested.nested_tensor([torch.from_numpy(s) for s in seqs],
                                   layout=torch.jagged).transpose(1, 2)
    assert _no_symbols(str(e.shape)) == _no_symbols(str(t.shape))
    _same_nested(F.scaled_dot_product_attention(e, e, e),
                 torch.nn.functional.scaled_dot_product_attention(t, t, t))


def test_chunk_and_view_match_torch(torch):
    e, t = _both(torch, _parts(5, (2, 3), width=4))
    for a, b in zip(e.chunk(2, -1), t.chunk(2, -1)):
        _same_nested(a, b)
    _same_nested(e.view(2, -1, 2, 2), t.view(2, -1, 2, 2))
    _same_nested(e.reshape(2, -1, 4, 1), t.reshape(2, -1, 4, 1))


def test_to_padded_tensor_matches_torch(torch):
    e, t = _both(torch, _parts(6, (2, 4)))
    np.testing.assert_array_equal(ember.nested.to_padded_tensor(e, -1.0).numpy(),
                                  torch.nested.to_padded_tensor(t, -1.0).numpy())
    np.testing.assert_array_equal(e.to_padded_tensor(0.5, output_size=(2, 6, 3)).numpy(),
                                  t.to_padded_tensor(0.5, output_size=(2, 6, 3)).numpy())
    s, v = _both(torch, [np.ones((2, 3), np.float32), np.ones((1, 4), np.float32)],
                 layout="strided")
    np.testing.assert_array_equal(ember.nested.to_padded_tensor(s, 7.0).numpy(),
                                  torch.nested.to_padded_tensor(v, 7.0).numpy())


def test_gradients_match_torch(torch):
    e, t = _both(torch, _parts(7, (3, 2)), requires_grad=True)
    w_np = np.random.default_rng(8).standard_normal((4, 3)).astype(np.float32)
    ew = ember.from_numpy(w_np.copy()).requires_grad_(True)
    tw = torch.from_numpy(w_np.copy()).requires_grad_(True)
    ember.nested.to_padded_tensor(F.linear(e, ew).softmax(-1) * 3, 0.0).pow(2).sum().backward()
    torch.nested.to_padded_tensor(torch.nn.functional.linear(t, tw).softmax(-1) * 3,
                                  0.0).pow(2).sum().backward()
    assert e.grad.is_nested and t.grad.is_nested
    np.testing.assert_allclose(e.grad.values().numpy(), t.grad.values().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_as_nested_tensor_and_from_jagged_keep_the_graph(torch):
    x_np = np.random.default_rng(10).standard_normal((5, 2)).astype(np.float32)
    ex = ember.from_numpy(x_np.copy()).requires_grad_(True)
    tx = torch.from_numpy(x_np.copy()).requires_grad_(True)
    e = ember.nested.nested_tensor_from_jagged(ex, ember.tensor([0, 2, 5]))
    t = torch.nested.nested_tensor_from_jagged(tx, torch.tensor([0, 2, 5]))
    assert e.is_leaf == t.is_leaf is False
    assert e.values() is ex
    (e.values() ** 2).sum().backward()
    (t.values() ** 2).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy())
    ey = ember.from_numpy(x_np.copy()).requires_grad_(True)
    ty = torch.from_numpy(x_np.copy()).requires_grad_(True)
    en = ember.nested.as_nested_tensor([ey[:2], ey[2:]], layout=ember.jagged)
    tn = torch.nested.as_nested_tensor([ty[:2], ty[2:]], layout=torch.jagged)
    _same_nested(en, tn)
    ember.nested.to_padded_tensor(en.relu(), 0.0).sum().backward()
    torch.nested.to_padded_tensor(tn.relu(), 0.0).sum().backward()
    np.testing.assert_allclose(ey.grad.numpy(), ty.grad.numpy())
    lengths = ember.nested.nested_tensor_from_jagged(ex.detach(), lengths=ember.tensor([1, 4]))
    t_len = torch.nested.nested_tensor_from_jagged(tx.detach(), lengths=torch.tensor([1, 4]))
    _same_nested(lengths, t_len)


def test_narrow_matches_torch(torch):
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    e = ember.nested.narrow(ember.from_numpy(x), 1, ember.tensor([0, 1, 2]),
                            ember.tensor([2, 2, 1]), layout=ember.jagged)
    t = torch.nested.narrow(torch.from_numpy(x), 1, torch.tensor([0, 1, 2]),
                            torch.tensor([2, 2, 1]), layout=torch.jagged)
    _same_nested(e, t)


def test_errors_match_torch(torch):
    e, t = _both(torch, _parts(11))
    for fn in (lambda x: x.sum(dim=0),):
        with pytest.raises(RuntimeError) as want:
            fn(t)
        with pytest.raises(RuntimeError) as got:
            fn(e)
        assert str(got.value) == str(want.value)
    bad = [np.ones((3, 4), np.float32), np.ones((2, 5), np.float32)]
    with pytest.raises(RuntimeError) as want:
        torch.nested.nested_tensor([torch.from_numpy(b) for b in bad], layout=torch.jagged)
    with pytest.raises(RuntimeError) as got:
        ember.nested.nested_tensor([ember.from_numpy(b) for b in bad], layout=ember.jagged)
    assert str(got.value) == str(want.value)
    other, _ = _both(torch, _parts(12, (3, 3)))
    with pytest.raises(RuntimeError, match="sizes differ"):
        e + other


def test_unsupported_ops_name_themselves():
    e = ember.nested.nested_tensor([ember.ones(2, 3), ember.ones(4, 3)], layout=ember.jagged)
    with pytest.raises(NotImplementedError, match="nested tensors"):
        e.cumsum(-1)
    with pytest.raises(NotImplementedError, match="to_padded_tensor"):
        e.numpy()
