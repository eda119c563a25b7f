"""float32 ``alpha=``, ``addcmul``, ``addcdiv`` and ``lerp`` round as PyTorch's CPU kernels do
(one fused multiply-add where torch uses one): bit for bit, values and gradients."""

import numpy as np
import pytest

import ember

N = 20000


def _arrays(seed, k=3, shape=(N,)):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(k)]


CASES = {
    "add_alpha": lambda L, a, b, c: L.add(a, b, alpha=0.3),
    "sub_alpha": lambda L, a, b, c: L.sub(a, b, alpha=1.7),
    "method_add_alpha": lambda L, a, b, c: a.add(b, alpha=-2.5),
    "addcmul": lambda L, a, b, c: L.addcmul(a, b, c, value=0.3),
    "addcmul_value_1": lambda L, a, b, c: L.addcmul(a, b, c),
    "addcdiv": lambda L, a, b, c: L.addcdiv(a, b, c.abs() + 1, value=0.3),
    "lerp_low": lambda L, a, b, c: L.lerp(a, b, 0.3),
    "lerp_high": lambda L, a, b, c: L.lerp(a, b, 0.8),
    "lerp_tensor": lambda L, a, b, c: L.lerp(a, b, c.abs() % 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_results_are_bit_identical_to_torch(torch, name):
    arrays = _arrays(sorted(CASES).index(name))
    fn = CASES[name]
    got = fn(ember, *[ember.from_numpy(x.copy()) for x in arrays]).numpy()
    want = fn(torch, *[torch.from_numpy(x.copy()) for x in arrays]).numpy()
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_inplace_add_alpha_is_bit_identical(torch):
    a, b = _arrays(20, 2)
    e, t = ember.from_numpy(a.copy()), torch.from_numpy(a.copy())
    for _ in range(3):  # an SGD-like update loop
        e.add_(ember.from_numpy(b), alpha=-0.01)
        t.add_(torch.from_numpy(b), alpha=-0.01)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_addcmul_broadcasts_and_differentiates_like_torch(torch):
    a, b, c = _arrays(21, 3, (3, 1)), None, None
    a = a[0]
    b = np.random.default_rng(22).standard_normal((1, 4)).astype(np.float32)
    c = np.random.default_rng(23).standard_normal((4,)).astype(np.float32)
    es = [ember.from_numpy(x.copy()).requires_grad_(True) for x in (a, b, c)]
    ts = [torch.from_numpy(x.copy()).requires_grad_(True) for x in (a, b, c)]
    got = ember.addcmul(*es, value=0.7)
    want = torch.addcmul(*ts, value=0.7)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert got.grad_fn.name() == want.grad_fn.name()
    (got * got).sum().backward()
    (want * want).sum().backward()
    for e, t in zip(es, ts):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_float64_keeps_its_precision():
    a, b = (x.astype(np.float64) for x in _arrays(24, 2))
    got = ember.add(ember.from_numpy(a), ember.from_numpy(b), alpha=0.3).numpy()
    np.testing.assert_allclose(got, a + 0.3 * b, rtol=1e-15)
    assert got.dtype == np.float64
