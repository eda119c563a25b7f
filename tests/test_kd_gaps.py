"""Gaps found while writing the knowledge-distillation / compression programs
(tests/programs/kd_*.py), each checked against PyTorch: observer and fake-quantize factories
(``Observer.with_args``) print like torch's ``_PartialWrapper`` (the partial followed by its
``callable_args`` dict, as ``print(model.qconfig)`` in the quantization tutorials shows them),
nest when ``with_args`` is chained, and support ``with_callable_args``."""

import torch

import ember


def _norm(text):
    return text.replace("ember.", "torch.")


def test_partial_wrapper_repr_matches_torch():
    for lib in (ember, torch):
        Q = lib.ao.quantization
        got = [repr(Q.MinMaxObserver.with_args(dtype=lib.qint8)),
               repr(Q.MinMaxObserver.with_args(dtype=lib.qint8).with_args(quant_min=0)),
               repr(Q.default_dynamic_qconfig), repr(Q.default_qconfig),
               repr(Q.FakeQuantize.with_args(observer=Q.MovingAverageMinMaxObserver))]
        if lib is ember:
            mine = [_norm(g) for g in got]
        else:
            theirs = got
    assert mine == theirs


def _callable_args(lib):
    Q = lib.ao.quantization
    calls = []
    factory = Q.MinMaxObserver.with_args(dtype=lib.qint8).with_callable_args(
        quant_min=lambda: calls.append(1) or -8)
    a, b = factory(), factory(quant_max=7, quant_min=-4)
    chained = Q.MinMaxObserver.with_args(dtype=lib.qint8).with_args(quant_min=-2)()
    direct = Q.MinMaxObserver.with_callable_args(quant_min=lambda: -16, quant_max=lambda: 15)()
    return (a.quant_min, a.quant_max, b.quant_min, b.quant_max, len(calls), str(a.dtype),
            chained.quant_min, str(chained.dtype), direct.quant_min,
            sorted(factory.callable_args), repr(factory).endswith("}"))


def test_partial_wrapper_with_callable_args():
    assert _callable_args(ember) == _callable_args(torch)


def _cdist_mm(lib, rows, batched=False, dtype="float32"):
    """cdist past 25 rows takes torch's matmul route: squared distances from
    ``|x|^2 - 2 x.y + |y|^2``, whose rounding torch users see (a point's distance to itself
    is not always 0); relational-KD code (``d[d > 0].mean()``) depends on it."""
    import numpy as np

    rng = np.random.default_rng(0)
    pts = (4096 + rng.normal(size=(rows, 2))).astype(dtype)   # few columns: no sum-order doubt
    x = lib.tensor(pts[None].repeat(2, 0) if batched else pts, requires_grad=True)
    y = lib.tensor(pts[: rows - 3] + np.asarray(0.5, dtype), requires_grad=True)
    d_self, d_other = lib.cdist(x, x), lib.cdist(x, y)
    w = lib.tensor(rng.normal(size=tuple(d_other.shape)).astype(dtype))
    (d_other * w).sum().backward()
    return (d_self.detach().numpy(), d_other.detach().numpy(), x.grad.numpy(), y.grad.numpy(),
            d_self.grad_fn.name(), d_self.grad_fn.next_functions[0][0].name(),
            int((d_self > 0).sum()))


def test_cdist_matmul_route_matches_torch():
    import numpy as np

    for rows, batched, dtype in ((30, False, "float32"), (27, True, "float32"),
                                 (26, False, "float64")):
        mine, theirs = _cdist_mm(ember, rows, batched, dtype), _cdist_mm(torch, rows, batched,
                                                                          dtype)
        rtol = 0 if dtype == "float32" else 1e-12   # (float64: dgemm's last bit)
        np.testing.assert_allclose(mine[0], theirs[0], rtol=rtol, atol=0)
        np.testing.assert_allclose(mine[1], theirs[1], rtol=rtol, atol=0)
        # (the gradient, x * sum(ratio) - ratio @ y, cancels terms ~4096 times larger)
        tol = 2e-2 if dtype == "float32" else 1e-8
        np.testing.assert_allclose(mine[2], theirs[2], atol=tol)
        np.testing.assert_allclose(mine[3], theirs[3], atol=tol)
        assert mine[4:] == theirs[4:]
