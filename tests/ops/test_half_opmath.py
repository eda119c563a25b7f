"""float16/bfloat16 arithmetic computed as PyTorch's CPU kernels compute it ("opmath").

PyTorch loads 2-byte floats as float32, computes in float32 and rounds the result once; a
Python-float operand of mul/div (and lerp's weight, addcmul/addcdiv's value) stays a float32
number, while add/sub/fmod round it to the tensor's dtype first (add's ``alpha`` too). Backward
formulas that PyTorch writes as tensor ops round at each step in the 2-byte dtype; ops with a
dedicated backward kernel (silu, softplus, elu, softmax, tanh ...) compute the gradient in
float32 and round once. Every test here compares ember with torch bit for bit (NaN equal to
NaN) on seeded inputs that include subnormals, infinities, NaN, the largest finite values and
values halfway between two neighbours of the 2-byte grid.

Sizes are multiples of 32: PyTorch's vectorised loop covers them whole. (The last
``numel % 32`` elements of a tensor go through its scalar loop, which for a few ops, ``rsqrt``
and ``add`` with ``alpha``, rounds after each step; ember follows the vectorised loop.)
"""

import numpy as np
import pytest

import ember

N = 2048
DTYPES = ["float16", "bfloat16"]


def _values(seed: int, n: int = N, positive: bool = False) -> np.ndarray:
    """float32 values of every kind a 2-byte kernel meets, shuffled (seeded)."""
    rng = np.random.default_rng(seed)
    grid = rng.uniform(-8, 8, n // 8).astype(np.float16).astype(np.float32)
    ulp = np.spacing(grid.astype(np.float16)).astype(np.float32)
    parts = [
        rng.uniform(-4, 4, n // 2),
        rng.standard_normal(n // 16) * 1e-5,  # float16 subnormals
        rng.uniform(-6e4, 6e4, n // 16),
        grid + ulp / 2,  # ties of the float16 grid (rounded on the way in)
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6e-8, -6e-8, 65504.0, -65504.0, 1e-40]),
    ]
    v = np.concatenate(parts).astype(np.float32)
    v = np.resize(rng.permutation(v), n)
    return np.abs(v) + np.float32(0.01) if positive else v


def _pair(dt, *arrays):
    """The same 2-byte tensors in ember and torch (converted from float32 by each)."""
    import torch

    e = [ember.tensor(a).to(getattr(ember, dt)) for a in arrays]
    t = [torch.tensor(a).to(getattr(torch, dt)) for a in arrays]
    return e, t


_EPS = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}  # the 2-byte types' unit roundoff x 2


def _bits_equal(e, t, what="", slack=0):
    """Same dtype and bits (NaN equal NaN); with ``slack``, up to that many elements may sit
    one unit in the last place away (float32 kernels of PyTorch and NumPy that differ in their
    last float32 bit, which the 2-byte rounding shows where it lands on a tie)."""
    assert str(e.dtype) == str(t.dtype), (what, e.dtype, t.dtype)
    a = e.detach().float().numpy()
    b = t.detach().float().numpy()
    assert a.shape == b.shape
    bad = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    assert bad.sum() <= slack, f"{what}: {int(bad.sum())} of {a.size} differ, e.g. " \
        f"ember {a[bad][:3]} torch {b[bad][:3]}"
    if bad.any():
        eps = _EPS[str(t.dtype).split(".")[-1]]
        # (and up to 4 units among float16's subnormals: elu/celu's gradient comes from the
        # output there, y + alpha, which cancels in float32 where torch's exp(x) does not)
        tiny = 2.0 ** -22 if "float16" == str(t.dtype).split(".")[-1] else 2.0 ** -133
        assert np.all(np.abs(a[bad] - b[bad]) <= np.maximum(np.abs(b[bad]) * eps, tiny)), what


def _check(dt, fn, arrays, grads=True, upstream_seed=99, slack=(0, 0)):
    """Forward of ``fn(lib, *tensors)`` and (``grads``) its input gradients, bit for bit."""
    import torch

    (es, ts) = _pair(dt, *arrays)
    e_out, t_out = fn(ember, *es), fn(torch, *ts)
    _bits_equal(e_out, t_out, "forward", slack[0])
    if not grads:
        return
    es = [x.requires_grad_() for x in es]
    ts = [x.requires_grad_() for x in ts]
    e_out, t_out = fn(ember, *es), fn(torch, *ts)
    up = np.random.default_rng(upstream_seed).standard_normal(tuple(t_out.shape))
    (eu,), (tu,) = _pair(dt, up.astype(np.float32))
    e_g = ember.autograd.grad(e_out, es, eu, allow_unused=True)
    t_g = torch.autograd.grad(t_out, ts, tu, allow_unused=True)
    for k, (a, b) in enumerate(zip(e_g, t_g)):
        if b is None:
            assert a is None or not a.detach().float().numpy().any()
            continue
        _bits_equal(a, b, f"gradient of input {k}", slack[1])


# -- a Python-float operand -------------------------------------------------------------------

SCALAR_OPS = {
    "mul": lambda L, x: x * 0.1,
    "rmul": lambda L, x: 0.3 * x,
    "div": lambda L, x: x / 0.3,
    "rdiv": lambda L, x: 0.3 / x,
    "div_int": lambda L, x: x / 7,
    "mul_0d_float32": lambda L, x: x * L.tensor(0.1),
    "mul_0d_float64": lambda L, x: x * L.tensor(0.1, dtype=L.float64),
    "mul_method": lambda L, x: x.mul(1.7),
    "div_floor": lambda L, x: L.div(x, 0.3, rounding_mode="floor"),
    "div_trunc": lambda L, x: L.div(x, 0.3, rounding_mode="trunc"),
    "add": lambda L, x: x + 1e-4,  # (rounded to the 2-byte dtype first, as torch)
    "rsub": lambda L, x: 0.7 - x,
    "fmod": lambda L, x: L.fmod(x, 0.3),
    "clamp": lambda L, x: x.clamp(0.1, 2.3),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", list(SCALAR_OPS))
def test_scalar_operand(torch, dt, name):
    differentiable = name not in ("div_floor", "div_trunc", "fmod", "clamp")
    _check(dt, SCALAR_OPS[name], [_values(1)], grads=differentiable)


@pytest.mark.parametrize("dt", DTYPES)
def test_floor_divide_by_float(torch, dt):
    _check(dt, lambda L, x: x // 0.3, [_values(2)], grads=False)


INPLACE_OPS = {
    "mul_": lambda x: x.mul_(0.1), "div_": lambda x: x.div_(0.3), "add_": lambda x: x.add_(1e-4),
    "imul": lambda x: x.__imul__(0.1), "itruediv": lambda x: x.__itruediv__(0.3),
    "floor_divide_": lambda x: x.floor_divide_(0.3),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", list(INPLACE_OPS))
def test_inplace_scalar_operand(torch, dt, name):
    (e,), (t,) = _pair(dt, _values(3))
    INPLACE_OPS[name](e)
    INPLACE_OPS[name](t)
    _bits_equal(e, t, name)


# -- alpha, lerp, addcmul, addcdiv --------------------------------------------------------

FUSED_OPS = {
    "add_alpha": lambda L, a, b, c: L.add(a, b, alpha=0.3),
    "sub_alpha": lambda L, a, b, c: L.sub(a, b, alpha=0.3),
    "lerp_scalar": lambda L, a, b, c: L.lerp(a, b, 0.3),
    "lerp_tensor": lambda L, a, b, c: L.lerp(a, b, c),
    "addcmul": lambda L, a, b, c: a.addcmul(b, c, value=0.5),
    "addcmul_value1": lambda L, a, b, c: L.addcmul(a, b, c),
    "addcdiv": lambda L, a, b, c: a.addcdiv(b, c, value=0.5),
    "addcdiv_value3": lambda L, a, b, c: L.addcdiv(a, b, c, value=0.3),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", list(FUSED_OPS))
def test_fused_forms(torch, dt, name):
    w = np.random.default_rng(4).uniform(-0.2, 1.2, N).astype(np.float32)
    third = w if name == "lerp_tensor" else _values(5, positive=True)
    _check(dt, FUSED_OPS[name], [_values(6), _values(7), third])


@pytest.mark.parametrize("dt", DTYPES)
def test_fused_inplace(torch, dt):
    arrays = [_values(8), _values(9), _values(10, positive=True)]
    for name in ("addcmul_", "addcdiv_"):
        (a, b, c), (ta, tb, tc) = _pair(dt, *arrays)
        getattr(a, name)(b, c, value=0.5)
        getattr(ta, name)(tb, tc, value=0.5)
        _bits_equal(a, ta, name)


# -- composites: activations, softmax, reductions ------------------------------------------

def F(L):
    return L.nn.functional


COMPOSITES = {
    "silu": lambda L, x: F(L).silu(x),
    "softplus": lambda L, x: F(L).softplus(x),
    "softplus_beta": lambda L, x: F(L).softplus(x, beta=2.0, threshold=10.0),
    "elu": lambda L, x: F(L).elu(x),
    "selu": lambda L, x: F(L).selu(x),
    "celu": lambda L, x: F(L).celu(x, 0.7),
    "mish": lambda L, x: F(L).mish(x),
    "hardswish": lambda L, x: F(L).hardswish(x),
    "hardsigmoid": lambda L, x: F(L).hardsigmoid(x),
    "leaky_relu": lambda L, x: F(L).leaky_relu(x, 0.1),
    "tanh": lambda L, x: x.tanh(),
    "rsqrt": lambda L, x: x.abs().rsqrt(),
    "softmax": lambda L, x: L.softmax(x.reshape(-1, 16), -1),
    "softmax_dim0": lambda L, x: L.softmax(x.reshape(16, -1), 0),
    "log_softmax": lambda L, x: L.log_softmax(x.reshape(-1, 16), -1),
    "sum": lambda L, x: x.reshape(-1, 16).sum(-1),
    "sum_all": lambda L, x: x.sum(),
    "mean": lambda L, x: x.reshape(-1, 16).mean(-1),
    "var": lambda L, x: x.reshape(-1, 16).var(-1),
    "std": lambda L, x: x.reshape(-1, 16).std(-1, correction=0),
    "norm": lambda L, x: x.reshape(-1, 16).norm(dim=-1),
    "cumsum": lambda L, x: x.reshape(-1, 16).cumsum(-1),
}
# float32 kernels where PyTorch's exp/log1p/tanh differ from NumPy's in the last float32 bit,
# which the rounding to 2 bytes hides but for a few elements of 2048 (each one unit in the
# last place): (forward, gradient) bounds
_ULP_SLACK = {"silu": (2, 2), "softplus": (0, 2), "softplus_beta": (0, 2), "elu": (0, 16),
              "selu": (0, 16), "celu": (0, 16), "mish": (0, 4), "rsqrt": (2, 0),
              "softmax": (2, 4), "softmax_dim0": (2, 4), "log_softmax": (2, 4)}


def _finite_domain(name):
    # reductions and softmax over rows: finite inputs (one inf or NaN makes a whole row NaN on
    # both sides, which hides the rounding under test)
    return name in ("softmax", "softmax_dim0", "log_softmax", "sum", "sum_all", "mean", "var",
                    "std", "norm", "cumsum")


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", list(COMPOSITES))
def test_composite(torch, dt, name):
    x = _values(11)
    if _finite_domain(name):
        x = np.where(np.isfinite(x) & (np.abs(x) < 100), x, np.float32(1.5))
        x = np.where(np.abs(x) < 100, x, x / 1000).astype(np.float32)
    _check(dt, COMPOSITES[name], [x], slack=_ULP_SLACK.get(name, (0, 0)))


NORMS = {
    "layer_norm": lambda L, x, w, b: F(L).layer_norm(x.reshape(-1, 32), (32,), w[:32], b[:32]),
    "layer_norm_plain": lambda L, x, w, b: F(L).layer_norm(x.reshape(-1, 64), (64,)),
    "group_norm": lambda L, x, w, b: F(L).group_norm(x.reshape(4, 8, -1), 4, w[:8], b[:8]),
    "group_norm_plain": lambda L, x, w, b: F(L).group_norm(x.reshape(4, 8, -1), 2),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", list(NORMS))
def test_norm_forward(torch, dt, name):
    """Layer and group norm: statistics, normalization and affine step in float32, rounded
    once (their gradients come from PyTorch's own backward kernels, not bit for bit here)."""
    rng = np.random.default_rng(14)
    x = rng.uniform(-3, 3, N).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 64).astype(np.float32)
    b = rng.uniform(-1, 1, 64).astype(np.float32)
    _check(dt, NORMS[name], [x, w, b], grads=False, slack=(2, 0))


@pytest.mark.parametrize("dt", DTYPES)
def test_gelu_tanh_close(torch, dt):
    """gelu(approximate='tanh') evaluates one float32 formula and rounds once: the rare
    differences left come from float32 tanh itself (one unit in the 2-byte last place)."""
    (e,), (t,) = _pair(dt, _values(12))
    a = F(ember).gelu(e, approximate="tanh").float().numpy()
    b = F(torch).gelu(t, approximate="tanh").float().numpy()
    bad = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    # the rest sits where 1 + tanh cancels (x near -3 .. -5, results under 1e-2 in size)
    assert bad.sum() <= N // 40
    assert np.all(np.abs(a[bad] - b[bad]) <= 2e-5 + np.abs(b[bad]) * 2.0 ** -7)


@pytest.mark.parametrize("dt", DTYPES)
def test_cube(torch, dt):
    """``x ** 3``: bfloat16 multiplies in bfloat16 (twice rounded), float16 rounds once."""
    _check(dt, lambda L, x: x ** 3, [_values(13)])


def test_grad_fn_names_stay_torchs(torch):
    """The float32 round trip inside an opmath op keeps PyTorch's node names."""
    x = ember.ones(4, dtype=ember.float16, requires_grad=True)
    tx = torch.ones(4, dtype=torch.float16, requires_grad=True)
    for fn in (lambda L, v: v * 0.5, lambda L, v: F(L).silu(v), lambda L, v: L.softmax(v, 0),
               lambda L, v: v.tanh(), lambda L, v: v / 3.0):
        assert fn(ember, x).grad_fn.name() == fn(torch, tx).grad_fn.name()


def test_float32_untouched():
    """float32 and float64 never take the 2-byte paths (their results are NumPy's)."""
    a = np.linspace(-3, 3, 64, dtype=np.float32)
    x = ember.tensor(a)
    np.testing.assert_array_equal((x * 0.1).numpy(), a * np.float32(0.1))
    assert (x * 0.1).dtype is ember.float32
    assert (x.double() / 3).dtype is ember.float64


def test_opmath_forward_helper():
    """The helper itself: float32 compute, one rounding, other dtypes untouched."""
    from ember._ops._core import is_low_float, opmath_forward

    x = np.array([3.0], np.float16)
    out = opmath_forward(lambda ctx, v: v * np.float32(0.1), None, [x], {})
    assert out.dtype == np.float16 and float(out[0]) == 0.300048828125
    assert float((x * np.float16(0.1))[0]) == 0.2998046875  # two roundings
    assert is_low_float(x) and not is_low_float(x.astype(np.float32))
    assert not is_low_float(np.zeros(2, np.int16))
