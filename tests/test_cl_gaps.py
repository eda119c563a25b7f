"""Gaps found while writing the continual-learning programs (tests/programs/cl_*.py), each
checked against PyTorch: the "Full backward hook is firing ... since no inputs require
gradients" warning, which torch gives for a module with only backward *pre* hooks too, and
the line it points at (torch's ``stacklevel=5`` from a hook its engine runs);
``copy.deepcopy`` of a Parameter (a frozen teacher copied after training keeps no ``.grad``);
``binary_cross_entropy``'s range checks (target outside [0, 1], NaN input or target); an
optimizer stepped after a parameter was resized through ``.data`` (a classifier head grown in
place) raises torch's RuntimeError, not NumPy's ValueError."""

import copy
import inspect
import warnings

import pytest
import torch

import ember

FIRING = "Full backward hook is firing when gradients are computed with respect to module outputs"


def _firing_warnings(lib, register, entry):
    """Run a Linear with hooks on an input that needs no grad; the firing warnings, each as
    (message, line offset from this function's ``def``)."""
    lib.manual_seed(0)
    m = lib.nn.Linear(3, 2)
    register(m)
    start = inspect.currentframe().f_code.co_firstlineno
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = m(lib.randn(2, 3)).sum()
        if entry == "method":
            out.backward()  # torch points here
        elif entry == "function":
            lib.autograd.backward(out)
        else:
            lib.autograd.grad(out, m.weight)
    return [(str(w.message)[:len(FIRING)], w.lineno - start, w.filename) for w in rec
            if FIRING in str(w.message)]


def _through_helper(lib, register, entry):
    return _firing_warnings(lib, register, entry)  # autograd.backward/grad point here


REGISTER = {
    "pre_hook": lambda m: m.register_full_backward_pre_hook(lambda mod, go: None),
    "full_hook": lambda m: m.register_full_backward_hook(lambda mod, gi, go: None),
    "both": lambda m: (m.register_full_backward_pre_hook(lambda mod, go: None),
                       m.register_full_backward_hook(lambda mod, gi, go: None)),
}


@pytest.mark.parametrize("kind", sorted(REGISTER))
@pytest.mark.parametrize("entry", ["method", "function", "grad"])
def test_full_backward_hook_firing_warning_matches_torch(kind, entry):
    mine = _through_helper(ember, REGISTER[kind], entry)
    theirs = _through_helper(torch, REGISTER[kind], entry)
    assert len(theirs) == 1
    assert mine == theirs
    assert mine[0][2] == __file__


def test_pre_hook_alone_warns_and_sees_grad_output():
    seen = []
    m = ember.nn.Linear(3, 2)
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(go[0].shape))
    with pytest.warns(UserWarning, match="Full backward hook is firing"):
        m(ember.randn(2, 3)).sum().backward()
    assert seen == [(2, 2)]
    assert m.weight.grad is not None


def test_no_warning_when_an_input_requires_grad():
    for lib in (ember, torch):
        m = lib.nn.Linear(3, 2)
        m.register_full_backward_pre_hook(lambda mod, go: None)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m(lib.randn(2, 3, requires_grad=True)).sum().backward()


def _deepcopy_view(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Linear(2, 2))
    m(lib.ones(1, 3)).sum().backward()
    m[0].weight.tag = "important"
    p = lib.nn.Parameter(lib.ones(2), requires_grad=False)
    p.grad = lib.ones(2)
    twin = copy.deepcopy(m)
    q = copy.deepcopy(p)
    return ([None if t.grad is None else t.grad.tolist() for t in twin.parameters()],
            getattr(twin[0].weight, "tag", None), type(twin[0].weight).__name__,
            twin[0].weight.requires_grad, q.grad, q.requires_grad,
            twin[0].weight.tolist() == m[0].weight.tolist())


def test_parameter_deepcopy_drops_grad_and_attributes_as_torch():
    assert _deepcopy_view(ember) == _deepcopy_view(torch)
    assert _deepcopy_view(ember)[0] == [None] * 4


def test_parameter_deepcopy_keeps_tied_weights_tied():
    for lib in (ember, torch):
        a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
        b.weight = a.weight
        twin = copy.deepcopy(lib.nn.Sequential(a, b))
        assert twin[0].weight is twin[1].weight and twin[0].weight is not a.weight


def test_tensor_deepcopy_still_copies_grad():
    t = ember.ones(2, requires_grad=True)
    t.grad = ember.full((2,), 3.0)
    assert copy.deepcopy(t).grad.tolist() == [3.0, 3.0]


NAN = float("nan")


@pytest.mark.parametrize("x,t", [
    ([0.5, 0.5], [1.5, 0.0]), ([0.5, 0.5], [-0.1, 0.0]), ([0.5, 0.5], [NAN, 0.0]),
    ([NAN, 0.5], [1.0, 0.0]), ([1.5, 0.5], [1.5, 0.0]), ([0.5, 0.5], [1.0, 0.0]),
    ([0.0, 1.0], [0.0, 1.0]),
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_binary_cross_entropy_range_checks_match_torch(x, t, dtype):
    def run(lib):
        dt = getattr(lib, dtype)
        xs = lib.tensor(x, dtype=dt, requires_grad=True)
        try:
            return lib.nn.functional.binary_cross_entropy(xs, lib.tensor(t, dtype=dt)).item()
        except RuntimeError as e:
            return str(e)

    mine, theirs = run(ember), run(torch)
    if isinstance(theirs, str):
        assert isinstance(mine, str) and mine.startswith(theirs)  # ember may add a hint
    else:
        assert mine == pytest.approx(theirs, rel=1e-2)


def test_bce_loss_module_refuses_target_out_of_range():
    with pytest.raises(RuntimeError, match="^all elements of target should be between 0 and 1$"):
        ember.nn.BCELoss()(ember.full((2,), 0.5), ember.tensor([2.0, 0.0]))


OPTIMIZERS = [("Adam", {}), ("SGD", {"momentum": 0.9}), ("AdamW", {"foreach": True}),
              ("RMSprop", {}), ("Adagrad", {}), ("NAdam", {}), ("Adamax", {}), ("RAdam", {}),
              ("Adadelta", {}), ("SGD", {"momentum": 0.9, "foreach": True}), ("ASGD", {})]


def _step_after_resize(lib, name, kwargs, old, new):
    w = lib.nn.Parameter(lib.ones(old))
    opt = getattr(lib.optim, name)([w], lr=0.1, **kwargs)
    (w * 2).sum().backward()
    opt.step()
    w.data = lib.ones(new)  # the head grew, the optimizer kept its state
    w.grad = None
    (w * 3).sum().backward()
    try:
        opt.step()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e).__name__, str(e)
    return "ok", round(w.sum().item(), 4)


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=lambda v: str(v))
@pytest.mark.parametrize("old,new", [((2, 3), (4, 3)), ((2, 3), (1, 3)), ((1, 3), (2, 3)),
                                     ((2, 3), (2, 4))])
def test_step_with_stale_state_raises_as_torch(name, kwargs, old, new):
    mine = _step_after_resize(ember, name, kwargs, old, new)
    theirs = _step_after_resize(torch, name, kwargs, old, new)
    assert mine == theirs  # torch's ASGD takes a state that broadcasts over the parameter
