"""``differentiable=True`` for Adam, AdamW, RMSprop, Adagrad, NAdam, RAdam, Adamax and Adadelta,
compared with torch 2.13: values after several recorded steps, the hypergradients of a later
loss with respect to a tensor ``lr`` (and ``betas``) and to the starting weights (float64),
the grad_fn of the updated weights, the state kept, and the refusals torch makes."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _unrolled(lib, name, options, *, tensor_lr=False, tensor_betas=False, second_order=False,
              steps=4):
    """``steps`` recorded steps on a least-squares fit, starting from ``w0`` through a clone
    (a non-leaf weight); returns the validation loss, its gradients with respect to ``lr``,
    ``betas`` and ``w0``, the grad_fn name of the weights and the optimizer."""
    options = dict(options)
    rng = np.random.default_rng(1)
    x = lib.from_numpy(rng.standard_normal((12, 3)))
    y = lib.from_numpy(rng.standard_normal(12))
    lr = lib.tensor(0.05, dtype=lib.float64, requires_grad=True) if tensor_lr else 0.05
    if tensor_betas:
        options["betas"] = tuple(lib.tensor(b, dtype=lib.float64, requires_grad=True)
                                 for b in (0.8, 0.95))
    w0 = lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64, requires_grad=True)
    w = w0.clone()
    opt = getattr(lib.optim, name)([w], lr=lr, differentiable=True, **options)
    for _ in range(steps):
        # second order: the gradient itself is a function of the weights (create_graph)
        wi = w.clone() if second_order else w.detach().requires_grad_()
        loss = ((x @ wi - y) ** 2).mean()
        w.grad = lib.autograd.grad(loss, wi, create_graph=second_order)[0]
        opt.step()
    grad_fn = type(w.grad_fn).__name__
    val = ((x @ w - y) ** 2).mean()
    val.backward()
    return dict(val=val.item(), w0=w0.grad.numpy().copy(), grad_fn=grad_fn, opt=opt, w=w,
                lr=lr.grad.item() if tensor_lr else None,
                betas=[b.grad.item() for b in options["betas"]] if tensor_betas else None)


def _assert_same(got, want):
    np.testing.assert_allclose(got["val"], want["val"], rtol=1e-5)
    np.testing.assert_allclose(got["w0"], want["w0"], rtol=1e-5, atol=1e-12)
    for key in ("lr", "betas"):
        if want[key] is not None:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5)
    assert got["grad_fn"] == want["grad_fn"]


# (optimizer, options, tensor lr, second order) where torch 2.13 runs the backward
CASES = [
    ("Adam", {}, True, True),
    ("Adam", dict(weight_decay=0.1, maximize=True), True, True),
    ("Adam", dict(amsgrad=True), True, False),
    ("Adam", dict(decoupled_weight_decay=True, weight_decay=0.1), True, True),
    ("AdamW", {}, True, True),
    ("AdamW", dict(weight_decay=0.1, maximize=True), True, True),
    ("AdamW", dict(amsgrad=True, weight_decay=0.1), True, False),
    ("RMSprop", {}, False, True),
    ("RMSprop", dict(alpha=0.9, weight_decay=0.1, maximize=True), False, True),
    ("RMSprop", dict(momentum=0.9), False, True),
    ("RMSprop", dict(centered=True), False, False),
    ("RMSprop", dict(centered=True, momentum=0.5), False, False),
    ("Adagrad", {}, False, True),
    ("Adagrad", dict(lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.1,
                     maximize=True), False, True),
    ("NAdam", {}, False, True),
    ("NAdam", dict(weight_decay=0.1, maximize=True), False, True),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True), False, True),
    ("RAdam", {}, True, True),
    ("RAdam", dict(weight_decay=0.1, maximize=True), True, True),
    ("RAdam", dict(weight_decay=0.1, decoupled_weight_decay=True), True, True),
    ("Adadelta", {}, False, True),
    ("Adadelta", dict(rho=0.5, weight_decay=0.1, maximize=True), False, True),
]


@pytest.mark.parametrize("name,options,tensor_lr,second", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
@pytest.mark.parametrize("order", ["first", "second"])
def test_hypergradients_match_torch(name, options, tensor_lr, second, order):
    # RAdam rectifies only from its sixth step on: run past it
    steps = 8 if name == "RAdam" else 4
    kw = dict(tensor_lr=tensor_lr, second_order=order == "second", steps=steps)
    if order == "second" and not second:
        # torch's backward fails here (a buffer saved for it is updated in place); so does ours
        for lib in (ember, torch):
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                _unrolled(lib, name, options, **kw)
        return
    _assert_same(_unrolled(ember, name, options, **kw), _unrolled(torch, name, options, **kw))


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("order", ["first", "second"])
def test_tensor_betas_receive_gradients(name, order):
    kw = dict(tensor_lr=True, tensor_betas=True, second_order=order == "second")
    _assert_same(_unrolled(ember, name, {}, **kw), _unrolled(torch, name, {}, **kw))


@pytest.mark.parametrize("name", ["Adam", "RMSprop", "Adagrad", "NAdam", "Adadelta"])
def test_state_as_torch(name):
    """The same state keys; ``step`` a float32 0-d tensor outside the graph; with second-order
    gradients the running averages carry the grad_fn torch gives them."""
    options = dict(momentum=0.9) if name == "RMSprop" else {}
    got = _unrolled(ember, name, options, second_order=True)["opt"]
    want = _unrolled(torch, name, options, second_order=True)["opt"]
    (gs,), (ws,) = got.state.values(), want.state.values()
    assert list(gs) == list(ws)
    for key in ws:
        assert str(gs[key].dtype) == str(ws[key].dtype), key
        assert type(gs[key].grad_fn).__name__ == type(ws[key].grad_fn).__name__, key
        np.testing.assert_allclose(gs[key].detach().numpy(), ws[key].detach().numpy(),
                                   rtol=1e-5)


@pytest.mark.parametrize("name,options,tensor_lr", [("Adamax", {}, False),
                                                     ("Adamax", dict(weight_decay=0.1), False),
                                                     ("NAdam", {}, True)])
def test_where_torch_cannot_backward(name, options, tensor_lr):
    """torch 2.13 computes these steps but fails in their backward (a saved buffer is updated
    in place: Adamax's addcdiv_ keeps exp_avg, NAdam's product with a tensor lr keeps it too);
    ember's values match torch and its backward fails as torch's."""
    np.testing.assert_allclose(_unrolled_values(ember, name, options, tensor_lr),
                               _unrolled_values(torch, name, options, tensor_lr), rtol=1e-7)
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="which is output 0 of Lerp"):
            _unrolled(lib, name, options, tensor_lr=tensor_lr, second_order=True)


def _unrolled_values(lib, name, options, tensor_lr):
    """The weights after the recorded steps of ``_unrolled`` (torch: no backward needed)."""
    rng = np.random.default_rng(1)
    x = lib.from_numpy(rng.standard_normal((12, 3)))
    y = lib.from_numpy(rng.standard_normal(12))
    lr = lib.tensor(0.05, dtype=lib.float64, requires_grad=True) if tensor_lr else 0.05
    w = lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64, requires_grad=True).clone()
    opt = getattr(lib.optim, name)([w], lr=lr, differentiable=True, **options)
    for _ in range(4):
        wi = w.detach().requires_grad_()
        w.grad = lib.autograd.grad(((x @ wi - y) ** 2).mean(), wi)[0]
        opt.step()
    return w.detach().numpy().copy()


@pytest.mark.parametrize("name,message", [
    ("RMSprop", "addcdiv_(): argument 'value' must be Number, not Tensor"),
    ("Adagrad", "addcdiv_(): argument 'value' must be Number, not Tensor"),
    ("Adamax", "addcdiv_(): argument 'value' must be Number, not Tensor"),
    ("Adadelta", "add_(): argument 'alpha' must be Number, not Tensor"),
])
@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_tensor_lr_refused_where_torch_refuses(lib, name, message):
    w = lib.zeros(2, dtype=lib.float64, requires_grad=True).clone()
    w.grad = lib.ones(2, dtype=lib.float64)
    lr = lib.tensor(0.1, requires_grad=True)
    opt = getattr(lib.optim, name)([w], lr=lr, differentiable=True)
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        opt.step()


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_momentum_rmsprop_tensor_lr_message(lib):
    w = lib.zeros(2, dtype=lib.float64, requires_grad=True).clone()
    w.grad = lib.ones(2, dtype=lib.float64)
    lr = lib.tensor(0.1, requires_grad=True)
    opt = lib.optim.RMSprop([w], lr=lr, momentum=0.9, differentiable=True)
    with pytest.raises(TypeError, match=r"add_\(\): argument 'alpha' must be Number"):
        opt.step()
    # an lr tensor that does not require grad is taken as its number
    lib.optim.RMSprop([w], lr=lib.tensor(0.1), momentum=0.9, differentiable=True).step()
    assert type(w.grad_fn).__name__ == "AddBackward0"


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam",
                                  "Adamax", "Adadelta"])
@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_foreach_and_fused_refused(lib, name):
    w = lib.zeros(2, requires_grad=True).clone()
    w.grad = lib.ones(2)
    opt = getattr(lib.optim, name)([w], lr=0.1, differentiable=True, foreach=True)
    with pytest.raises(AssertionError, match="_foreach ops don't support autograd"):
        opt.step()
    if name in ("Adam", "AdamW", "Adagrad"):
        with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
            getattr(lib.optim, name)([w], lr=0.1, differentiable=True, fused=True)


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_sgd_foreach_still_records_and_fused_refused(lib):
    w = lib.zeros(2, requires_grad=True).clone()
    w.grad = lib.ones(2)
    lib.optim.SGD([w], lr=0.1, differentiable=True, foreach=True).step()
    assert type(w.grad_fn).__name__ == "AddBackward0"
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        lib.optim.SGD([w], lr=0.1, differentiable=True, fused=True)


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_recorded_under_no_grad_and_leaf_refused(lib):
    x = lib.zeros(3, dtype=lib.float64)
    x.grad = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64)
    lr = lib.tensor(0.1, dtype=lib.float64, requires_grad=True)
    opt = lib.optim.Adam([x], lr=lr, differentiable=True)
    with lib.no_grad():
        opt.step()
    x.sum().backward()
    # first Adam step: each weight moves by about lr * sign(g)
    assert lr.grad.item() == pytest.approx(-1.0, rel=1e-4)
    w = lib.zeros(3, requires_grad=True)
    w.grad = lib.ones(3)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        lib.optim.Adam([w], lr=0.1, differentiable=True).step()


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam",
                                  "Adamax", "Adadelta"])
def test_many_steps_two_params_match_torch(name):
    """Recorded steps (inside no_grad) over two float64 parameters, one of them without a
    gradient on some steps; the weights follow torch's recorded steps."""
    results = []
    for lib in (ember, torch):
        rng = np.random.default_rng(2)
        a = lib.from_numpy(rng.standard_normal(5))
        b = lib.from_numpy(rng.standard_normal((2, 3)))
        opt = getattr(lib.optim, name)([a, b], lr=0.05, differentiable=True)
        for i in range(9):
            a.grad = lib.from_numpy(rng.standard_normal(5))
            b.grad = lib.from_numpy(rng.standard_normal((2, 3))) if i % 3 else None
            with lib.no_grad():
                opt.step()
        results.append([a.numpy().copy(), b.numpy().copy()])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("name,tensor_lr", [("Adam", True), ("AdamW", True), ("RMSprop", False),
                                            ("Adagrad", False), ("NAdam", False),
                                            ("RAdam", True), ("Adadelta", False)])
def test_complex_weights_step_as_real_pairs(name, tensor_lr):
    """A complex weight updates as its real view (real and imaginary parts are separate
    numbers to the adaptive terms), as in torch; the hypergradients follow."""
    results = []
    for lib in (ember, torch):
        w0 = lib.tensor([1 + 2j, -0.5 + 0.3j], dtype=lib.complex128, requires_grad=True)
        lr = lib.tensor(0.1, dtype=lib.float64, requires_grad=True) if tensor_lr else 0.1
        w = w0.clone()
        opt = getattr(lib.optim, name)([w], lr=lr, differentiable=True)
        for g in ([0.3 - 0.1j, 0.2 + 0.4j], [-0.1 + 0.2j, 0.5 - 0.3j], [0.2 + 0.2j, -0.4j]):
            w.grad = lib.tensor(g, dtype=lib.complex128)
            opt.step()
        val = (w.abs() ** 2).sum()
        val.backward()
        results.append((w.detach().numpy().copy(), w0.grad.numpy().copy(),
                        lr.grad.item() if tensor_lr else None))
    (w_e, g_e, lr_e), (w_t, g_t, lr_t) = results
    np.testing.assert_allclose(w_e, w_t, rtol=1e-6)
    np.testing.assert_allclose(g_e, g_t, rtol=1e-5)
    if tensor_lr:
        assert lr_e == pytest.approx(lr_t, rel=1e-5)
