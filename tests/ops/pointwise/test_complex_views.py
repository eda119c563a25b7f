"""view_as_real/view_as_complex (shared memory, torch's errors, a rotary embedding), adjoint,
conj_physical_, frexp, rsub and the in-place forms gcd_/lcm_/ldexp_/xlogy_/sinc_/neg_/
negative_/heaviside_/nextafter_, each compared with PyTorch."""

import numpy as np
import pytest

import ember


def _np(t):
    return t.detach().resolve_conj().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _same(e, t):
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype)
    np.testing.assert_allclose(_np(e), _np(t), rtol=1e-6, atol=1e-6)


def _errors_alike(fn, torch):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    return str(t_err.value), str(e_err.value)


def test_views_share_memory_both_ways(torch):
    for L in (ember, torch):
        z = L.tensor([1 + 2j, 3 - 1j])
        r = L.view_as_real(z)
        r[0, 1] = 7.0
        assert z[0].item() == 1 + 7j
        c = L.view_as_complex(r)
        c[1] = 5j
        assert r[1].tolist() == [0.0, 5.0] and z[1].item() == 5j
    _same(ember.view_as_real(ember.tensor(1 + 1j)), torch.view_as_real(torch.tensor(1 + 1j)))


def test_view_as_complex_strides_and_dtypes(torch):
    for make in (lambda L: L.arange(12.).reshape(3, 2, 2)[::2],
                 lambda L: L.arange(12., dtype=L.float64).reshape(2, 3, 2).permute(1, 0, 2),
                 lambda L: L.arange(8.).reshape(4, 2)[1:]):
        e, t = ember.view_as_complex(make(ember)), torch.view_as_complex(make(torch))
        _same(e, t)
        assert e.stride() == t.stride()


@pytest.mark.parametrize("bad", [
    lambda L: L.view_as_real(L.ones(2)),
    lambda L: L.view_as_complex(L.ones(2, dtype=L.long)),
    lambda L: L.view_as_complex(L.ones(2, 3)),
    lambda L: L.view_as_complex(L.ones(())),
    lambda L: L.view_as_complex(L.ones(2, 2).t()),
    lambda L: L.view_as_complex(L.ones(3, 5)[:, 1:3]),
    lambda L: L.view_as_complex(L.ones(7)[1:].view(3, 2)),
])
def test_view_errors_match(torch, bad):
    t_msg, e_msg = _errors_alike(bad, torch)
    assert t_msg.split(":")[0] == e_msg.split(":")[0]


def test_view_gradients_and_node_names(torch):
    grads = []
    for L in (ember, torch):
        x = L.arange(8., requires_grad=True)
        c = L.view_as_complex(x.view(2, 2, 2))
        assert c.grad_fn.name() == "ViewAsComplexBackward0"
        r = L.view_as_real(c * (1 - 2j))
        assert r.grad_fn.name() == "ViewAsRealBackward0"
        (r * L.arange(8.).view(2, 2, 2)).sum().backward()
        grads.append(x.grad)
    _same(*grads)


def test_rotary_embedding_snippet(torch):
    """LLaMA's apply_rotary_emb, written once for both libraries."""
    rng = np.random.default_rng(0)
    q0, k0 = rng.standard_normal((2, 5, 3, 8)), rng.standard_normal((2, 5, 3, 8))

    def run(L):
        dim, seq = 8, 5
        freqs = 1.0 / (10000.0 ** (L.arange(0, dim, 2)[: dim // 2].float() / dim))
        freqs = L.outer(L.arange(seq).float(), freqs)
        freqs_cis = L.polar(L.ones_like(freqs), freqs)
        q = L.tensor(q0, dtype=L.float32, requires_grad=True)
        k = L.tensor(k0, dtype=L.float32)
        q_ = L.view_as_complex(q.float().reshape(*q.shape[:-1], -1, 2))
        k_ = L.view_as_complex(k.float().reshape(*k.shape[:-1], -1, 2))
        fc = freqs_cis.view(1, seq, 1, dim // 2)
        q_out = L.view_as_real(q_ * fc).flatten(3)
        k_out = L.view_as_real(k_ * fc).flatten(3)
        (q_out * k_out).sum().backward()
        return q_out, k_out, q.grad

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-5, atol=1e-5)


def test_adjoint_and_conj_physical_(torch):
    data = [[1 + 1j, 2j, 3], [4, 5 - 1j, 6j]]
    _same(ember.adjoint(ember.tensor(data)), torch.adjoint(torch.tensor(data)))
    _same(ember.tensor([[1., 2.]]).adjoint(), torch.tensor([[1., 2.]]).adjoint())
    _same(ember.adjoint(ember.tensor(2.)), torch.adjoint(torch.tensor(2.)))
    x = ember.ones(2, 3)
    assert ember.adjoint(x)._base is x  # a view for real tensors
    _errors_alike(lambda L: L.adjoint(L.ones(3)), torch)
    e, t = ember.tensor([1 + 1j]), torch.tensor([1 + 1j])
    assert ember.conj_physical_(e) is e
    torch.conj_physical_(t)
    _same(e, t)
    e.conj_physical_()
    assert e.tolist() == [1 + 1j]


def test_frexp_values_types_and_gradient(torch):
    vals = [8.0, 0.3, 0.0, -1.5, float("inf"), float("nan"), 1e-40]
    for dt in ("float32", "float64", "float16"):
        e = ember.frexp(ember.tensor(vals, dtype=getattr(ember, dt)))
        t = torch.frexp(torch.tensor(vals, dtype=getattr(torch, dt)))
        _same(e.mantissa, t.mantissa)
        _same(e.exponent, t.exponent)
        assert e[0] is e.mantissa and e[1] is e.exponent
    assert "return_types.frexp" in repr(ember.frexp(ember.tensor([1.0])))
    grads = []
    for L in (ember, torch):
        x = L.tensor([8.0, 0.3, -1.5], requires_grad=True)
        m, _ = x.frexp()
        assert m.grad_fn.name() == "FrexpBackward0"
        m.sum().backward()
        grads.append(x.grad)
    _same(*grads)
    _errors_alike(lambda L: L.frexp(L.tensor([1, 2])), torch)


def test_rsub(torch):
    cases = [lambda L: L.rsub(L.tensor([1, 2]), 3),
             lambda L: L.rsub(L.tensor([1., 2.]), L.tensor([5., 5.]), alpha=2),
             lambda L: L.rsub(L.tensor([1]), 2.5, alpha=0.5),
             lambda L: L.rsub(L.tensor([1]), 2.5)]
    for case in cases:
        _same(case(ember), case(torch))
    for L in (ember, torch):
        x = L.tensor([1., 2.], requires_grad=True)
        assert L.rsub(x, 3).grad_fn.name() == "RsubBackward1"
        assert L.rsub(x, x).grad_fn.name() == "RsubBackward0"
    _errors_alike(lambda L: L.rsub(L.tensor([True]), L.tensor([True])), torch)


@pytest.mark.parametrize("name,args", [
    ("gcd_", lambda L: (L.tensor([4, 6, 9]), L.tensor([6, 4, 3]))),
    ("lcm_", lambda L: (L.tensor([4, 6, 9]), L.tensor([6, 4, 3]))),
    ("ldexp_", lambda L: (L.tensor([1., 2., -3.]), L.tensor([1, 2, -1]))),
    ("xlogy_", lambda L: (L.tensor([0., 2., 3.]), L.tensor([0., 1., 4.]))),
    ("sinc_", lambda L: (L.tensor([0., 0.5, -1.3]),)),
    ("neg_", lambda L: (L.tensor([1., -2.]),)),
    ("negative_", lambda L: (L.tensor([1, -2]),)),
])
def test_top_level_inplace(torch, name, args):
    e_args, t_args = args(ember), args(torch)
    e_out, t_out = getattr(ember, name)(*e_args), getattr(torch, name)(*t_args)
    assert e_out is e_args[0]
    _same(e_out, t_out)
    e_self = args(ember)
    _same(getattr(e_self[0], name)(*e_self[1:]), t_out)  # the Tensor method too


@pytest.mark.parametrize("name,args", [
    ("heaviside_", lambda L: (L.tensor([-1., 0., 2.]), L.tensor(0.5))),
    ("nextafter_", lambda L: (L.tensor([1., 2.]), L.tensor([2., 0.]))),
])
def test_method_only_inplace(torch, name, args):
    e_args, t_args = args(ember), args(torch)
    assert getattr(e_args[0], name)(*e_args[1:]) is e_args[0]
    getattr(t_args[0], name)(*t_args[1:])
    _same(e_args[0], t_args[0])
    assert not hasattr(ember, name) and not hasattr(torch, name)


def test_inplace_checks_like_other_inplace_ops(torch):
    _errors_alike(lambda L: L.ldexp_(L.tensor([1, 2]), L.tensor([1, 2])), torch)
    _errors_alike(lambda L: L.sinc_(L.ones(2, requires_grad=True)), torch)
    grads = []
    for L in (ember, torch):
        x = L.tensor([0.5, 1.5], requires_grad=True)
        y = x * 1
        version = y._version
        L.sinc_(y)
        assert y._version == version + 1
        y.sum().backward()
        grads.append(x.grad)
    _same(*grads)
