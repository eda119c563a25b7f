"""Small fidelity gaps (issue 13), each checked against torch: narrowing casts to float16 and
bfloat16 round through float32; nn.functional and torch.* unary forms on sparse CSR and COO
tensors; the sign of zero in prelu's gradient; empty half-precision inputs to linalg."""

import math

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

HALF = ["float16", "bfloat16"]
# rounding 13407.9998 straight to bfloat16 gives 13376, through float32 13440; 2049 + tiny
# straight to float16 gives 2050, through float32 (2049, a tie) 2048
WIDE_VALUES = [13407.9998, 2049.0000000001, -13407.9998, 65519.999999, 1e-8]


def _bits(t):
    """Values as Python floats, -0.0 kept apart from 0.0 (by its sign)."""
    return [(v, math.copysign(1.0, v)) if not math.isnan(v) else "nan"
            for v in t.detach().float().flatten().tolist()]


# -- 1. float64 (and other wide types) -> float16/bfloat16 --------------------------------------

@pytest.mark.parametrize("name", HALF)
def test_wide_to_half_rounds_through_float32(name):
    te, tt = getattr(ember, name), getattr(torch, name)
    xe = ember.tensor(WIDE_VALUES, dtype=ember.float64)
    xt = torch.tensor(WIDE_VALUES, dtype=torch.float64)
    want = xt.to(tt).float().tolist()
    assert xe.to(te).float().tolist() == want
    assert xe.type(te).float().tolist() == want
    short = "half" if name == "float16" else "bfloat16"
    assert getattr(xe, short)().float().tolist() == want
    assert ember.tensor(WIDE_VALUES, dtype=te).float().tolist() == \
        torch.tensor(WIDE_VALUES, dtype=tt).float().tolist() == want
    assert ember.tensor(np.array(WIDE_VALUES), dtype=te).float().tolist() == want
    assert ember.empty(len(WIDE_VALUES), dtype=te).copy_(xe).float().tolist() == want
    assert [ember.tensor(v, dtype=te).item() for v in WIDE_VALUES] == \
        [torch.tensor(v, dtype=tt).item() for v in WIDE_VALUES]
    assert [ember.zeros(1, dtype=te).fill_(v).item() for v in WIDE_VALUES] == \
        [torch.zeros(1, dtype=tt).fill_(v).item() for v in WIDE_VALUES]
    assert [(ember.zeros(1, dtype=te) + v).item() for v in WIDE_VALUES] == \
        [(torch.zeros(1, dtype=tt) + v).item() for v in WIDE_VALUES]


@pytest.mark.parametrize("name", HALF)
def test_int64_and_complex_to_half_round_through_float32(name):
    te, tt = getattr(ember, name), getattr(torch, name)
    ints = [2**24 + 2**16 + 1, 2**31 - 1, -(2**24 + 2**16 + 1), 70000]
    assert ember.tensor(ints).to(te).float().tolist() == torch.tensor(ints).to(tt).float().tolist()
    assert ember.tensor(ints, dtype=ember.int32).to(te).float().tolist() == \
        torch.tensor(ints, dtype=torch.int32).to(tt).float().tolist()
    assert ember.tensor(ints, dtype=te).float().tolist() == \
        torch.tensor(ints, dtype=tt).float().tolist()
    z = [complex(v, 1.0) for v in WIDE_VALUES]
    assert ember.tensor(z).real.to(te).float().tolist() == \
        torch.tensor(z).real.to(tt).float().tolist()


def test_float32_to_half_unchanged():
    vals = [13407.9998, 2049.0001, 1e-8, -0.0]
    for name in HALF:
        got = ember.tensor(vals).to(getattr(ember, name))
        want = torch.tensor(vals).to(getattr(torch, name))
        assert _bits(got) == _bits(want)


# -- 2. unary functions on sparse tensors --------------------------------------------------------

DENSE = [[0.0, -1.5, 0.25], [2.0, 0.0, -0.0]]
COO_FUNCS = ["abs", "sin", "tanh", "relu", "neg", "sqrt", "sign", "floor", "expm1", "log1p",
             "asin", "atan", "sinh", "trunc", "ceil", "round", "frac", "erf", "sgn", "signbit",
             "isnan", "isinf", "isposinf", "isneginf", "deg2rad", "rad2deg", "tan", "atanh",
             "asinh", "erfinv"]


def _uncoalesced(lib):
    i = lib.tensor([[0, 1, 0, 0], [1, 0, 1, 2]])
    v = lib.tensor([-1.5, 2.0, 0.5, 0.25])
    return lib.sparse_coo_tensor(i, v, (2, 3))


@pytest.mark.parametrize("name", COO_FUNCS)
def test_function_forms_on_coo(name):
    for build in (lambda lib: lib.tensor(DENSE).to_sparse(), _uncoalesced):
        se, st = build(ember), build(torch)
        re_, rt = getattr(ember, name)(se), getattr(torch, name)(st)
        assert re_.layout == ember.sparse_coo and rt.layout == torch.sparse_coo
        assert str(re_.dtype) == str(rt.dtype)
        assert re_.is_coalesced() == rt.is_coalesced()
        np.testing.assert_allclose(re_.to_dense().float().numpy(),
                                   rt.to_dense().float().numpy(), rtol=1e-6, equal_nan=True)
        method = getattr(se, name)()  # the method form agrees with the function
        np.testing.assert_array_equal(method.to_dense().numpy(), re_.to_dense().numpy())


def test_coo_function_forms_keep_dense_refusals():
    se = ember.tensor(DENSE).to_sparse()
    for name in ("exp", "cos", "sigmoid", "rsqrt"):
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(torch.tensor(DENSE).to_sparse())
        with pytest.raises(NotImplementedError):
            getattr(ember, name)(se)
    # the dense path is untouched: a plain tensor still gives a plain tensor
    assert ember.isnan(ember.tensor(DENSE)).layout == ember.strided


@pytest.mark.parametrize("name", ["relu", "tanh"])
@pytest.mark.parametrize("layout", ["csr", "coo"])
def test_functional_forms_on_sparse(name, layout):
    def make(lib):
        d = lib.tensor(DENSE)
        return d.to_sparse_csr() if layout == "csr" else d.to_sparse()

    re_ = getattr(ember.nn.functional, name)(make(ember))
    rt = getattr(torch.nn.functional, name)(make(torch))
    assert str(re_.layout) == str(rt.layout)
    np.testing.assert_allclose(re_.to_dense().numpy(), rt.to_dense().numpy(), rtol=1e-6)


def test_relu_on_sparse_gradients_match_torch():
    def run(lib):
        s = _uncoalesced(lib).requires_grad_()
        out = lib.nn.functional.relu(s)
        out.to_dense().sum().backward()
        return out.grad_fn.name(), s.grad.to_dense().tolist()

    assert run(ember) == run(torch)
    c = ember.tensor(DENSE).to_sparse_csr().requires_grad_()
    ct = torch.tensor(DENSE).to_sparse_csr().requires_grad_()
    assert ember.nn.functional.relu(c).grad_fn.name() == \
        torch.nn.functional.relu(ct).grad_fn.name()


# -- 3. prelu with a zero slope ------------------------------------------------------------------

def test_prelu_zero_slope_signs_of_zero():
    x = [-2.0, -0.0, 0.0, 3.0]
    g = [1.0, -1.0, 1.0, 1.0]
    out = {}
    for lib in (ember, torch):
        xi = lib.tensor(x, requires_grad=True)
        w = lib.tensor([0.0], requires_grad=True)
        y = lib.nn.functional.prelu(xi, w)
        y.backward(lib.tensor(g))
        out[lib] = (_bits(y), _bits(xi.grad), _bits(w.grad), y.grad_fn.name())
    assert out[ember] == out[torch]


def test_prelu_channels_and_specials_match_torch():
    x = [[[-2.0, -0.0], [0.0, 3.0]], [[float("inf"), -float("inf")], [float("nan"), -1.0]]]
    res = {}
    for lib in (ember, torch):
        xi = lib.tensor(x, requires_grad=True)
        w = lib.tensor([0.0, -0.25], requires_grad=True)
        y = lib.nn.functional.prelu(xi, w)
        gx, gw = lib.autograd.grad(y.sum(), (xi, w))
        res[lib] = (_bits(y), _bits(gx), _bits(gw))
    assert res[ember] == res[torch]


# -- 4. empty half-precision linalg inputs -------------------------------------------------------

LINALG = {
    "svd": lambda L, a: L.linalg.svd(a),
    "svdvals": lambda L, a: L.linalg.svdvals(a),
    "cholesky": lambda L, a: L.linalg.cholesky(a),
    "cholesky_ex": lambda L, a: L.linalg.cholesky_ex(a),
    "solve": lambda L, a: L.linalg.solve(a, a),
    "solve_ex": lambda L, a: L.linalg.solve_ex(a, a),
    "eigh": lambda L, a: L.linalg.eigh(a),
    "eigvalsh": lambda L, a: L.linalg.eigvalsh(a),
    "lu": lambda L, a: L.linalg.lu(a),
    "lu_factor": lambda L, a: L.linalg.lu_factor(a),
    "det": lambda L, a: L.linalg.det(a),
    "ldl_factor": lambda L, a: L.linalg.ldl_factor(a),
    "cond": lambda L, a: L.linalg.cond(a),
    "legacy_svd": lambda L, a: L.svd(a),
}


def _summary(r):
    items = r if isinstance(r, tuple) else (r,)
    return [(tuple(t.shape), str(t.dtype), t.float().tolist()) for t in items]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", HALF + ["float32"])
@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
@pytest.mark.parametrize("fn", sorted(LINALG))
def test_empty_low_precision_linalg(fn, shape, dtype):
    want = _summary(LINALG[fn](torch, torch.zeros(shape, dtype=getattr(torch, dtype))))
    got = _summary(LINALG[fn](ember, ember.zeros(shape, dtype=getattr(ember, dtype))))
    assert [(s, d.replace("ember", "torch"), v) for s, d, v in got] == want


@pytest.mark.parametrize("dtype", HALF)
def test_nonempty_low_precision_linalg_still_refused(dtype):
    for fn in ("svd", "cholesky", "solve", "eigh", "ldl_factor"):
        a_t, a_e = torch.eye(2, dtype=getattr(torch, dtype)), ember.eye(2, dtype=getattr(ember, dtype))
        with pytest.raises(NotImplementedError) as et:
            LINALG[fn](torch, a_t)
        with pytest.raises(NotImplementedError) as ee:
            LINALG[fn](ember, a_e)
        assert str(ee.value) == str(et.value)
    with pytest.raises(RuntimeError, match="Low precision"):
        ember.linalg.inv(ember.zeros(0, 0, dtype=getattr(ember, dtype)))
