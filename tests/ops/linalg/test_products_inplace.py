"""chain_matmul (deprecated, warns as torch) and the in-place addmv_/addbmm_/baddbmm_,
compared with PyTorch."""

import warnings

import numpy as np
import pytest

import ember

rng = np.random.default_rng(0)
A, B, C = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))


def _np(t):
    return t.detach().numpy()


def test_chain_matmul_values_warning_and_gradients(torch):
    outs = []
    for L in (ember, torch):
        mats = [L.tensor(m, requires_grad=True) for m in (A, B, C)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = L.chain_matmul(*mats)
            single = L.chain_matmul(mats[0])
        assert any("chain_matmul is deprecated" in str(w.message) for w in caught)
        assert single.data_ptr() != mats[0].data_ptr()  # a copy, as torch's clone
        out.sum().backward()
        outs.append([out] + [m.grad for m in mats] + [single])
    for e, t in zip(*outs):
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [
    lambda L: L.chain_matmul(),
    lambda L: L.chain_matmul(L.ones(3)),
    lambda L: L.chain_matmul(L.ones(2, 3), L.ones(2, 3)),
])
def test_chain_matmul_errors(torch, bad):
    msgs = []
    for L in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(RuntimeError) as err:
                bad(L)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


CASES = {
    "addmv_": (lambda L: L.tensor([1., 2.]), lambda L: (L.tensor(A), L.tensor([1., -1., 2.]))),
    "addbmm_": (lambda L: L.ones(2, 2), lambda L: (L.tensor(rng.standard_normal((3, 2, 4))),
                                                    L.tensor(rng.standard_normal((3, 4, 2))))),
    "baddbmm_": (lambda L: L.ones(3, 2, 2), lambda L: (L.tensor(rng.standard_normal((3, 2, 4))),
                                                        L.tensor(rng.standard_normal((3, 4, 2))))),
}


@pytest.mark.parametrize("name", CASES)
def test_inplace_products(torch, name):
    make_self, make_args = CASES[name]
    state = rng.bit_generator.state
    results = []
    for L in (ember, torch):
        rng.bit_generator.state = state  # the same operands for both libraries
        x = make_self(L).double()
        args = [a.double() for a in make_args(L)]
        assert getattr(x, name)(*args, beta=0.5, alpha=2) is x
        results.append(_np(x))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)
    assert hasattr(ember, name) == hasattr(torch, name)


def test_addmv_inplace_autograd(torch):
    grads = []
    for L in (ember, torch):
        v = L.tensor([1., -1., 2.], dtype=L.float64, requires_grad=True)
        y = L.zeros(2, dtype=L.float64, requires_grad=True) * 1
        L.addmv_(y, L.tensor(A), v, beta=2)
        y.sum().backward()
        grads.append(_np(v.grad))
        with pytest.raises(RuntimeError, match="leaf"):
            L.addmv_(L.zeros(2, dtype=L.float64, requires_grad=True), L.tensor(A), v)
    np.testing.assert_allclose(*grads, rtol=1e-6)
