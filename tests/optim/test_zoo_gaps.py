"""Gaps found by the optimizer-zoo programs (tests/programs/zoo_*.py), compared with torch:
SGD's ``differentiable=True`` step recorded in autograd, and ``capturable=True`` refused at
``step()`` for parameters off the GPU."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

SGD_OPTIONS = [dict(), dict(weight_decay=0.1), dict(maximize=True), dict(momentum=0.9),
               dict(momentum=0.9, nesterov=True, weight_decay=0.05),
               dict(momentum=0.5, dampening=0.3)]


def _unrolled(lib, options, tensor_lr, second_order):
    """Three differentiable SGD steps on a least-squares fit; the validation loss's gradient
    with respect to the learning rate and to the starting weights."""
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((16, 4)).astype(np.float32))
    y = lib.from_numpy(rng.standard_normal((16, 1)).astype(np.float32))
    lr = lib.tensor(0.05, requires_grad=True) if tensor_lr else 0.05
    w0 = lib.full((4, 1), 0.1, requires_grad=True)
    w = w0.clone()
    opt = lib.optim.SGD([w], lr=lr, differentiable=True, **options)
    for _ in range(3):
        wi = w.clone() if second_order else w.detach().requires_grad_()
        loss = ((x @ wi - y) ** 2).mean()
        w.grad = lib.autograd.grad(loss, wi, create_graph=second_order)[0]
        opt.step()
    val = ((x @ w.clone() - y) ** 2).mean()
    val.backward()
    lr_grad = lr.grad.item() if tensor_lr else None
    return val.item(), lr_grad, w0.grad.numpy().copy(), type(w.grad_fn).__name__


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
@pytest.mark.parametrize("second_order", [False, True])
def test_sgd_differentiable_step_matches_torch(options, second_order):
    tensor_lr = "momentum" not in options  # torch's own momentum path saves the buffer it mutates
    got = _unrolled(ember, options, tensor_lr, second_order)
    want = _unrolled(torch, options, tensor_lr, second_order)
    assert got[0] == pytest.approx(want[0], rel=1e-5)
    if tensor_lr:
        assert got[1] == pytest.approx(want[1], rel=1e-4)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-4, atol=1e-6)
    assert got[3] == want[3]


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_sgd_differentiable_rules(lib):
    # a non-leaf weight is accepted only by a differentiable optimizer
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        lib.optim.SGD([lib.zeros(2, requires_grad=True).clone()], lr=0.1)
    # a leaf that requires grad cannot be stepped in place while autograd records
    w = lib.zeros(3, requires_grad=True)
    w.grad = lib.ones(3)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        lib.optim.SGD([w], lr=lib.tensor(0.1, requires_grad=True), differentiable=True).step()
    # outside a grad-enabled region the step is still recorded
    x = lib.zeros(3)
    x.grad = lib.ones(3)
    lr = lib.tensor(0.1, requires_grad=True)
    opt = lib.optim.SGD([x], lr=lr, differentiable=True)
    with lib.no_grad():
        opt.step()
    x.sum().backward()
    assert lr.grad.item() == pytest.approx(-3.0)
    assert opt.param_groups[0]["differentiable"] is True


CAPTURABLE = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "ASGD", "Adadelta", "RMSprop", "Rprop"]


@pytest.mark.parametrize("name", CAPTURABLE)
def test_capturable_refused_off_gpu_as_torch(name):
    messages = []
    for lib in (ember, torch):
        w = lib.ones(2, requires_grad=True)
        w.grad = lib.ones(2)
        opt = getattr(lib.optim, name)([w], capturable=True)
        with pytest.raises(AssertionError) as info:
            opt.step()
        messages.append(str(info.value))
        assert w.tolist() == [1.0, 1.0]
    assert messages[0] == messages[1]


def test_capturable_false_and_gradless_params_still_step():
    w = ember.ones(2, requires_grad=True)
    idle = ember.ones(2, requires_grad=True)  # no grad: not looked at, as in torch
    w.grad = ember.ones(2)
    ember.optim.Adam([w], lr=0.1).step()
    assert w.tolist() != [1.0, 1.0]
    ember.optim.Adam([idle], lr=0.1, capturable=True).step()


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_user_optimizer_with_capturable_default_is_not_refused(lib):
    # the refusal belongs to the built-in steps; a user's step decides for itself
    class Halve(lib.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.5, capturable=True))

        def step(self, closure=None):
            with lib.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.mul_(group["lr"])

    w = lib.ones(2, requires_grad=True)
    w.grad = lib.ones(2)
    Halve([w]).step()
    assert w.tolist() == [0.5, 0.5]

    class Subclassed(lib.optim.Adam):
        def step(self, closure=None):
            return super().step(closure)

    with pytest.raises(AssertionError, match="If capturable=True"):
        Subclassed([w], capturable=True).step()
