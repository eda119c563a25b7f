"""The fast paths behind ember.compile's speed goals (issue 14) give eager's numbers exactly:
BLAS's exact outer product (``ember._blas.outer``) and the compiled batch-1 training step that
uses it for weight gradients. Correctness only; nothing here is timed."""

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import _blas, nn

needs_ger = pytest.mark.skipif(not _blas._ger, reason="no OpenBLAS ger found")


def _bits(a: np.ndarray) -> np.ndarray:
    """The raw bits, so -0.0 and +0.0 (and NaN payloads) count as different."""
    return a.view(np.int32 if a.dtype == np.float32 else np.int64)


def _awkward(rng, n: int, dtype) -> np.ndarray:
    """Random values salted with +-0.0, subnormals, infinities and NaN."""
    v = rng.standard_normal(n).astype(dtype)
    pick = rng.random(n)
    v[pick < 0.2] = 0.0
    v[(pick >= 0.2) & (pick < 0.3)] = -0.0
    v[(pick >= 0.3) & (pick < 0.35)] = np.finfo(dtype).smallest_subnormal * 3
    v[(pick >= 0.35) & (pick < 0.37)] = -np.inf
    v[(pick >= 0.37) & (pick < 0.38)] = np.nan
    return v


@needs_ger
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(256, 784), (128, 320), (1, 40000), (40000, 1)])
def test_outer_equals_broadcast_multiply_bit_for_bit(dtype, shape):
    rng = np.random.default_rng(sum(shape))
    x, y = _awkward(rng, shape[0], dtype), _awkward(rng, shape[1], dtype)
    got = _blas.outer(x, y)
    assert got is not None and got.shape == shape and got.dtype == dtype
    assert got.flags.c_contiguous
    with np.errstate(invalid="ignore"):
        want = x[:, None] * y[None, :]
    np.testing.assert_array_equal(_bits(got), _bits(want))


@needs_ger
def test_outer_keeps_the_sign_of_zero_products():
    x = np.array([0.0, -0.0, 2.0, -2.0] * 64, np.float32)
    y = np.array([-0.0, 0.0, -1.0, 1.0] * 64, np.float32)
    got = _blas.outer(x, y)
    want = x[:, None] * y[None, :]
    assert np.signbit(got).sum() == np.signbit(want).sum() > 0
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_outer_declines_what_it_cannot_do_exactly():
    small = np.ones(10, np.float32)
    assert _blas.outer(small, small) is None  # below the size where BLAS pays off
    big32, big64 = np.ones(300, np.float32), np.ones(300, np.float64)
    assert _blas.outer(big32, big64) is None  # mixed dtypes
    assert _blas.outer(big32[::2].copy()[:150], np.ones(300, np.float32)[::2]) is None
    ints = np.ones(300, np.int64)
    assert _blas.outer(ints, ints) is None


def _pair(dtype):
    make = lambda: nn.Sequential(nn.Linear(320, 128), nn.ReLU(), nn.Linear(128, 128),  # noqa: E731
                                 nn.ReLU(), nn.Linear(128, 5))
    ember.manual_seed(3)
    net = make().to(dtype)
    ember.manual_seed(3)
    twin = make().to(dtype)
    return net, twin


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_compiled_batch_one_training_gradients_are_eager_bits(dtype):
    """Weight gradients of a batch-1 step: the first layer's (128x320) through the BLAS
    outer product, the smaller ones through NumPy's; ReLU zeros and -0.0 inputs make
    signed-zero products on purpose."""
    net, twin = _pair(dtype)
    compiled = ember.compile(net)
    opts = [ember.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (net, twin)]
    gen = np.random.default_rng(0)
    for _ in range(4):
        raw = gen.standard_normal((1, 320))
        raw[0, ::7] = -0.0
        x = ember.from_numpy(raw).to(dtype)
        y = ember.from_numpy(gen.integers(0, 5, (1,)))
        losses = []
        for model, opt in zip((compiled, twin), opts):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            losses.append(loss.item())
            opt.step()
        assert losses[0] == losses[1]
        for p, q in zip(net.parameters(), twin.parameters()):
            np.testing.assert_array_equal(_bits(p.grad.numpy()), _bits(q.grad.numpy()))
            np.testing.assert_array_equal(_bits(p.detach().numpy()), _bits(q.detach().numpy()))
    comp = compiled._compiler
    entry = next(e for e in comp.cache.values() if e != "eager")
    assert entry.training  # the lowered path ran, not the replay
    assert "outer_rows" in entry.training.backward.source


def test_compiled_batch_one_gradients_match_torch():
    torch = pytest.importorskip("torch")
    net, _ = _pair(ember.float32)
    ref = torch.nn.Sequential(torch.nn.Linear(320, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 5))
    with torch.no_grad():
        for p, q in zip(ref.parameters(), net.parameters()):
            p.copy_(torch.from_numpy(q.detach().numpy().copy()))
    compiled = ember.compile(net)
    raw = np.random.default_rng(1).standard_normal((1, 320)).astype(np.float32)
    for _ in range(2):  # the first call captures, the second runs the lowered graph
        net.zero_grad()
        F.cross_entropy(compiled(ember.from_numpy(raw)), ember.tensor([2])).backward()
    ref.zero_grad()
    torch.nn.functional.cross_entropy(ref(torch.from_numpy(raw)), torch.tensor([2])).backward()
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduce", ["sum", "mean_strided_input"])
def test_compiled_batch_one_with_broadcast_gradient_or_strided_input_is_eager_bits(reduce):
    """``out.sum()`` sends back a broadcast (stride-0) gradient and a strided input is not
    contiguous: the outer product then takes NumPy's broadcast multiply or a copied row, with
    the same bits."""
    net, twin = _pair(ember.float32)
    compiled = ember.compile(net)
    wide = ember.randn(1, 640)
    x = wide[:, ::2] if reduce == "mean_strided_input" else wide[:, :320].clone()
    for _ in range(2):
        for model in (compiled, twin):
            model.zero_grad()
            out = model(x)
            (out.sum() if reduce == "sum" else (out * 3).mean()).backward()
        for p, q in zip(net.parameters(), twin.parameters()):
            np.testing.assert_array_equal(_bits(p.grad.numpy()), _bits(q.grad.numpy()))
    entry = next(e for e in compiled._compiler.cache.values() if e != "eager")
    assert entry.training


def test_compiled_batch_one_subnormal_gradients_are_eager_bits():
    """Subnormal upstream gradients take Linear's power-of-two lift before the outer product
    (200x400, through BLAS) and its removal after: the bits still equal eager's."""
    ember.manual_seed(0)
    net = nn.Sequential(nn.Linear(400, 200), nn.ReLU(), nn.Linear(200, 3))
    twin = nn.Sequential(nn.Linear(400, 200), nn.ReLU(), nn.Linear(200, 3))
    twin.load_state_dict(net.state_dict())
    compiled = ember.compile(net)
    x = ember.randn(1, 400)
    for _ in range(2):
        for model in (compiled, twin):
            model.zero_grad()
            (model(x) * 1e-39).sum().backward()
        for p, q in zip(net.parameters(), twin.parameters()):
            np.testing.assert_array_equal(_bits(p.grad.numpy()), _bits(q.grad.numpy()))
    tiny = np.finfo(np.float32).tiny
    weight_grad = net[0].weight.grad.numpy()
    assert (np.abs(weight_grad[weight_grad != 0]) < tiny).all()  # the case this test is for


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eager_linear_batch_one_weight_gradient_is_the_exact_outer_product(dtype):
    """Eager ``F.linear``'s batch-1 weight gradient also goes through ``_blas.outer``: it must
    equal the broadcast products bit for bit, signed zeros included."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 300)).astype(dtype)
    x[0, :7] = -0.0
    g = rng.standard_normal((1, 200)).astype(dtype)
    g[0, 3] = 0.0
    w = ember.tensor(rng.standard_normal((200, 300)).astype(dtype), requires_grad=True)
    out = F.linear(ember.from_numpy(x), w)
    out.backward(ember.from_numpy(g))
    want = g.T * x
    got = w.grad.numpy()
    assert got.tobytes() == want.tobytes()
    assert (np.signbit(got) == np.signbit(want)).all()
