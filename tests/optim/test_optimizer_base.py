"""The Optimizer base: construction errors, param groups, zero_grad, closures, hooks, repr."""

import numpy as np
import pytest

import ember

INVALID = [
    ("SGD", dict(lr=-1)), ("SGD", dict(lr=0.1, momentum=-0.5)),
    ("SGD", dict(lr=0.1, weight_decay=-1)), ("SGD", dict(lr=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-1e-3)), ("Adam", dict(eps=-1)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1)),
    ("AdamW", dict(lr=-2)), ("AdamW", dict(betas=(0.9, 1.0))),
    ("RMSprop", dict(lr=-1)), ("RMSprop", dict(eps=-1)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(weight_decay=-1)), ("RMSprop", dict(alpha=-1)),
    ("Adagrad", dict(lr=-1)), ("Adagrad", dict(lr_decay=-1)), ("Adagrad", dict(weight_decay=-1)),
    ("Adagrad", dict(initial_accumulator_value=-1)), ("Adagrad", dict(eps=-1)),
    ("Adadelta", dict(lr=-1)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1)),
    ("Adadelta", dict(weight_decay=-1)),
    ("Adamax", dict(lr=-1)), ("Adamax", dict(eps=-1)), ("Adamax", dict(betas=(-0.1, 0.9))),
    ("Adamax", dict(betas=(0.9, 1.5))), ("Adamax", dict(weight_decay=-1)),
    ("NAdam", dict(lr=-1)), ("NAdam", dict(betas=(1.0, 0.9))), ("NAdam", dict(momentum_decay=-1)),
    ("NAdam", dict(weight_decay=-1)), ("NAdam", dict(eps=-1)),
    ("RAdam", dict(lr=-1)), ("RAdam", dict(betas=(0.9, 1.0))), ("RAdam", dict(weight_decay=-1)),
    ("RAdam", dict(eps=-1)),
    ("ASGD", dict(lr=-1)), ("ASGD", dict(weight_decay=-1)),
    ("Rprop", dict(lr=-1)), ("Rprop", dict(etas=(1.2, 0.5))), ("Rprop", dict(etas=(0.5, 1.0))),
]


@pytest.mark.parametrize("name,kwargs", INVALID)
def test_invalid_hyperparameters_match_torch(torch, name, kwargs):
    messages = []
    for lib in (ember, torch):
        with pytest.raises(ValueError) as info:
            getattr(lib.optim, name)([lib.zeros(2, requires_grad=True)], **kwargs)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


BAD_PARAMS = [
    lambda lib: [],
    lambda lib: lib.zeros(2, requires_grad=True),
    lambda lib: [1.0],
    lambda lib: [lib.zeros(2, requires_grad=True) * 2],
    lambda lib: [{"params": {lib.zeros(2, requires_grad=True)}}],
    lambda lib: [("a", lib.zeros(2, requires_grad=True)), lib.zeros(2, requires_grad=True)],
]


@pytest.mark.parametrize("make", BAD_PARAMS)
def test_bad_params_match_torch(torch, make):
    errors = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            lib.optim.SGD(make(lib), lr=0.1)
        errors.append((type(info.value).__name__, str(info.value)))
    assert errors[0] == errors[1]


def test_add_param_group(torch):
    for lib in (ember, torch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
        opt = lib.optim.SGD([a], lr=0.1, momentum=0.5)
        opt.add_param_group({"params": b, "lr": 0.01})
        assert opt.param_groups[1]["lr"] == 0.01
        assert opt.param_groups[1]["momentum"] == 0.5
        with pytest.raises(ValueError, match="more than one parameter group"):
            opt.add_param_group({"params": [a]})
        with pytest.raises(TypeError, match="param_group must be a dict"):
            opt.add_param_group([a])
        with pytest.raises(ValueError, match="with/without names"):
            opt.add_param_group({"params": [("c", lib.zeros(1, requires_grad=True))]})


def test_required_lr_in_custom_optimizer():
    from ember.optim.optimizer import required

    class Plain(ember.optim.Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, dict(lr=lr))

    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Plain([ember.zeros(1, requires_grad=True)])
    assert repr(required) == "<required parameter>"


def test_zero_grad():
    p = ember.zeros(3, requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.1)
    p.grad = ember.ones(3)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3, np.float32))
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_loss_and_runs_under_grad():
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        assert ember.is_grad_enabled()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_allclose(p.detach().numpy(), [0.5, -1.0])


def test_step_bumps_version_and_skips_params_without_grad():
    p, q = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    opt = ember.optim.Adam([p, q])
    p.grad = ember.ones(2)
    v = p._version_counter
    opt.step()
    assert p._version_counter == v + 1
    assert q not in opt.state
    np.testing.assert_array_equal(q.detach().numpy(), [1.0, 1.0])


def test_step_hooks(torch):
    calls = []
    p = ember.zeros(2, requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.1)
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
    h2 = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o is opt)))
    from ember.optim.optimizer import register_optimizer_step_pre_hook

    h3 = register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global", True)))
    opt.step()
    assert calls == [("global", True), ("pre", True), ("post", True)]
    for h in (h1, h2, h3):
        h.remove()
    opt.step()
    assert len(calls) == 3


def test_repr_matches_torch(torch):
    reprs = []
    for lib in (ember, torch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
        opt = lib.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], weight_decay=0.1)
        reprs.append(repr(opt))
    assert reprs[0] == reprs[1]


def test_defaults_match_torch(torch):
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                 "RAdam", "ASGD", "Rprop", "LBFGS"]:
        kw = {"lr": 0.1} if name == "SGD" else {}
        e = getattr(ember.optim, name)([ember.zeros(1, requires_grad=True)], **kw)
        t = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kw)
        assert e.defaults == t.defaults, name
        assert list(e.defaults) == list(t.defaults), name


def test_differentiable_is_refused_clearly():
    # every built-in optimizer taking the option records its step
    # (tests/optim/test_s34_differentiable*.py); a subclass that does not still refuses
    class Plain(ember.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1, differentiable=True))

    with pytest.raises(NotImplementedError, match="differentiable=True"):
        Plain([ember.zeros(1, requires_grad=True)])
