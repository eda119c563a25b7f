"""``differentiable=True`` for ASGD and Rprop, compared with torch 2.13 (float64): values after
several recorded steps, the hypergradients of a later loss with respect to the starting
weights, the grad_fn of the updated weights, the state (values, dtypes, grad_fns), complex
weights, and the refusals torch makes (Rprop's lr tensor that requires grad, its second-order
backward)."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _unrolled(lib, name, options, *, tensor_lr=False, second_order=False, steps=4):
    """``steps`` recorded steps on a least-squares fit from ``w0`` through a clone (a non-leaf
    weight); the validation loss, its gradient in ``w0``, the weights' grad_fn name, the
    optimizer and the lr."""
    rng = np.random.default_rng(1)
    x = lib.from_numpy(rng.standard_normal((12, 3)))
    y = lib.from_numpy(rng.standard_normal(12))
    lr = lib.tensor(0.05, dtype=lib.float64, requires_grad=True) if tensor_lr else 0.05
    w0 = lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64, requires_grad=True)
    w = w0.clone()
    opt = getattr(lib.optim, name)([w], lr=lr, differentiable=True, **options)
    for _ in range(steps):
        wi = w.clone() if second_order else w.detach().requires_grad_()
        loss = ((x @ wi - y) ** 2).mean()
        w.grad = lib.autograd.grad(loss, wi, create_graph=second_order)[0]
        opt.step()
    grad_fn = type(w.grad_fn).__name__
    val = ((x @ w - y) ** 2).mean()
    val.backward()
    return dict(val=val.item(), w0=w0.grad.numpy().copy(), grad_fn=grad_fn, opt=opt, w=w, lr=lr)


def _state(opt):
    (state,) = opt.state.values()
    return {key: (str(t.dtype).split(".")[-1], t.requires_grad,
                  type(t.grad_fn).__name__ if t.grad_fn is not None else None,
                  t.detach().numpy().copy()) for key, t in state.items()}


def _assert_same(got, want):
    np.testing.assert_allclose(got["val"], want["val"], rtol=1e-5)
    np.testing.assert_allclose(got["w0"], want["w0"], rtol=1e-5, atol=1e-12)
    assert got["grad_fn"] == want["grad_fn"]
    gs, ws = _state(got["opt"]), _state(want["opt"])
    assert list(gs) == list(ws)
    for key in ws:
        assert gs[key][:3] == ws[key][:3], key
        np.testing.assert_allclose(gs[key][3], ws[key][3], rtol=1e-5, err_msg=key)


ASGD_CASES = [
    {},
    dict(t0=1, lambd=0.1, weight_decay=0.1),  # averaging from the second step: ax.add_
    dict(maximize=True, t0=2, alpha=0.5),
]


@pytest.mark.parametrize("options", ASGD_CASES, ids=str)
@pytest.mark.parametrize("tensor_lr", [False, True], ids=["float_lr", "tensor_lr"])
@pytest.mark.parametrize("order", ["first", "second"])
def test_asgd_matches_torch(options, tensor_lr, order):
    kw = dict(tensor_lr=tensor_lr, second_order=order == "second")
    got, want = _unrolled(ember, "ASGD", options, **kw), _unrolled(torch, "ASGD", options, **kw)
    _assert_same(got, want)
    # eta is used as a number in the update: a tensor lr gets no gradient, as in torch
    if tensor_lr:
        assert got["lr"].grad is None and want["lr"].grad is None


RPROP_CASES = [
    {},
    dict(maximize=True, etas=(0.3, 1.5), step_sizes=(1e-3, 0.06)),
]


@pytest.mark.parametrize("options", RPROP_CASES, ids=str)
@pytest.mark.parametrize("steps", [1, 4, 7])
def test_rprop_matches_torch(options, steps):
    kw = dict(steps=steps)
    _assert_same(_unrolled(ember, "Rprop", options, **kw), _unrolled(torch, "Rprop", options, **kw))


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_rprop_second_order_backward_fails_as_torch(lib):
    # the step sizes saved for backward are updated in place by the next step
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _unrolled(lib, "Rprop", {}, second_order=True)


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
@pytest.mark.parametrize("differentiable", [False, True])
def test_rprop_lr_tensor_requiring_grad_refused(lib, differentiable):
    def fresh():
        w = lib.zeros(2, dtype=lib.float64)
        w.grad = lib.ones(2, dtype=lib.float64)
        return w

    w = fresh()
    opt = lib.optim.Rprop([w], lr=lib.tensor(0.1, requires_grad=True),
                          differentiable=differentiable)
    with pytest.raises(TypeError, match=r"full_like\(\): argument 'fill_value' \(position 2\) "
                                        r"must be Number, not Tensor"):
        opt.step()
    # an lr tensor without grad is taken as its number
    w = fresh()
    lib.optim.Rprop([w], lr=lib.tensor(0.1), differentiable=differentiable).step()
    np.testing.assert_allclose(w.numpy(), [-0.1, -0.1], rtol=1e-6)


@pytest.mark.parametrize("name,options", [("ASGD", dict(t0=1)), ("Rprop", {})])
def test_complex_weights_as_torch(name, options):
    """A complex weight updates as its real view in the recorded step (grad_fn CopySlices)."""
    results = []
    for lib in (ember, torch):
        w0 = lib.tensor([1 + 2j, -1 + 0.5j], dtype=lib.complex128, requires_grad=True)
        w = w0.clone()
        opt = getattr(lib.optim, name)([w], differentiable=True, **options)
        for k in range(3):
            w.grad = lib.tensor([0.3 - 1j, -0.2 + 0.1j * (k - 1)], dtype=lib.complex128)
            opt.step()
        (w.abs() ** 2).sum().backward()
        results.append((w.detach().numpy().copy(), w0.grad.numpy().copy(),
                        type(w.grad_fn).__name__))
    (gw, gg, gf), (ww, wg, wf) = results
    np.testing.assert_allclose(gw, ww, rtol=1e-7)
    np.testing.assert_allclose(gg, wg, rtol=1e-7)
    assert gf == wf


@pytest.mark.parametrize("name", ["ASGD", "Rprop"])
def test_recorded_step_equals_the_fast_step(name):
    """The recorded step and the NumPy step give the same weights and state."""
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(4) for _ in range(5)]
    out = []
    for differentiable in (False, True):
        w = ember.tensor([0.5, -0.1, 0.2, 0.0], dtype=ember.float64)
        if differentiable:
            w = w.requires_grad_().clone()
        opt = getattr(ember.optim, name)([w], lr=0.1, differentiable=differentiable)
        for g in grads:
            w.grad = ember.from_numpy(g.copy())
            opt.step()
        out.append((w.detach().numpy().copy(),
                    {k: v.detach().numpy().copy() for k, v in opt.state[w].items()}))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12)
    for key, value in out[0][1].items():
        np.testing.assert_allclose(out[1][1][key], value, rtol=1e-6, err_msg=key)
