"""Gaps found by the explainability programs (tests/programs/xai_*.py), each against torch:
what module full backward hooks (and backward pre-hooks) receive and return."""

import collections
import warnings

import pytest

import ember

Pair = collections.namedtuple("Pair", "x y")


def _fmt(grads):
    return [None if g is None else (g.tolist(), str(g.dtype)) for g in grads]


def _hooked_call(lib, extra, use, *, output="tuple"):
    """Run a two-output module with a full backward hook; return what the hook saw."""
    nn = lib.nn

    class Two(nn.Module):
        def forward(self, a, *rest):
            outs = (a * 2, a * 3, 7)
            return Pair(outs[0], outs[1]) if output == "namedtuple" else outs

    m, seen = Two(), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((_fmt(gi), _fmt(go))))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    out = m(a, *[e(lib) if callable(e) else e for e in extra])
    if output == "namedtuple":
        assert type(out).__name__ == "Pair" and out.y is out[1]
    out[use].sum().backward()
    return seen, a.grad.tolist()


@pytest.mark.parametrize("extra", [
    (), (3,), (None,),
    (lambda lib: lib.ones(2),),                 # a float tensor that does not require grad
    (3, lambda lib: lib.ones(2)),
    (lambda lib: lib.tensor([1, 2]),),          # an integer tensor: its zeros stay integer
])
@pytest.mark.parametrize("use", [0, 1])
def test_full_backward_hook_grad_input_and_grad_output(torch, extra, use):
    # grad_output: None for the unused output and for the non-tensor one; grad_input: zeros
    # for a tensor argument that does not require grad, None for a non-tensor argument
    assert _hooked_call(ember, extra, use) == _hooked_call(torch, extra, use)


def test_full_backward_hook_namedtuple_output_keeps_its_type(torch):
    assert _hooked_call(ember, (), 1, output="namedtuple") == \
        _hooked_call(torch, (), 1, output="namedtuple")


def _pre_hook_replaces_with_none(lib):
    nn = lib.nn

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(lib.ones(2))

        def forward(self, a, b):
            return a * 2, self.w * 3

    m, seen = Two(), []
    m.register_full_backward_pre_hook(lambda mod, go: (None, go[1]))
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((_fmt(gi), _fmt(go))))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([1.0, 2.0], requires_grad=True)
    o = m(a, b)
    (o[0].sum() + o[1].sum()).backward()
    # past the hooks a missing gradient goes on as zeros: a.grad is zeros, not None
    return seen, a.grad.tolist(), b.grad.tolist(), m.w.grad.tolist()


def test_backward_pre_hook_returning_none_entry(torch):
    assert _pre_hook_replaces_with_none(ember) == _pre_hook_replaces_with_none(torch)


def _wrong_count(lib, kind):
    nn = lib.nn

    class Two(nn.Module):
        def forward(self, a, b):
            return a * b, a + b, 7

    m = Two()
    if kind == "pre":
        m.register_full_backward_pre_hook(lambda mod, go: go[:2])
    else:
        m.register_full_backward_hook(lambda mod, gi, go: gi[:1])
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        m(a, lib.ones(2))[0].sum().backward()
    return str(info.value)


@pytest.mark.parametrize("kind", ["pre", "full"])
def test_backward_hook_wrong_count_message(torch, kind):
    assert _wrong_count(ember, kind) == _wrong_count(torch, kind)


def _list_output(lib):
    nn = lib.nn

    class L(nn.Module):
        def forward(self, a):
            return [a * 2, a * 3]

    m, seen = L(), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(1))
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(2))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = m(a)
    out[1].sum().backward()
    # torch hooks only a tensor or a tuple output: it warns and no hook runs
    return seen, a.grad.tolist(), [str(w.message) for w in caught]


def test_list_output_runs_no_backward_hook(torch):
    assert _list_output(ember) == _list_output(torch)


def _mix_hook_kinds(lib, first):
    m = lib.nn.ReLU()
    noop = lambda *a: None  # noqa: E731
    if first == "legacy":
        m.register_backward_hook(noop)
        register = m.register_full_backward_hook
    else:
        m.register_full_backward_hook(noop)
        register = m.register_backward_hook
    with pytest.raises(RuntimeError) as info:
        register(noop)
    return str(info.value)


@pytest.mark.parametrize("first", ["legacy", "full"])
def test_legacy_and_full_backward_hooks_exclude_each_other(torch, first):
    # guided-backprop code of the register_backward_hook era; mixing the kinds is refused
    assert _mix_hook_kinds(ember, first) == _mix_hook_kinds(torch, first)


def _legacy_guided_relu(lib):
    nn = lib.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with lib.no_grad():
        m[0].weight.copy_(lib.tensor([[0.5, -1.0, 0.2], [0.3, 0.4, -0.6],
                                      [-0.7, 0.1, 0.9], [0.2, 0.2, 0.2]]))
        m[0].bias.zero_()
        m[2].weight.copy_(lib.tensor([[1.0, -2.0, 0.5, -0.3]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m[1].register_backward_hook(lambda mod, gi, go: (gi[0].clamp(min=0.0),))
        x = lib.tensor([[1.0, -2.0, 0.5]], requires_grad=True)
        m(x).sum().backward()
    return x.grad[0].tolist()


def test_legacy_backward_hook_guided_relu(torch):
    # on an elementwise module the legacy hook's grad_input is the full hook's
    assert _legacy_guided_relu(ember) == pytest.approx(_legacy_guided_relu(torch), abs=1e-6)


def _handle_refs(lib):
    m = lib.nn.Linear(2, 2)
    h = m.register_forward_hook(lambda *a: None, with_kwargs=True)
    pre = m.register_forward_pre_hook(lambda *a: None)
    out = (h.hooks_dict_ref() is m._forward_hooks, h.id in h.hooks_dict_ref(),
           len(h.extra_dict_ref), [h.id in ref() for ref in h.extra_dict_ref],
           pre.hooks_dict_ref() is m._forward_pre_hooks)
    h.remove()
    return out + (len(m._forward_hooks), [h.id in ref() for ref in h.extra_dict_ref])


def test_module_hook_handle_dict_refs(torch):
    # hook managers look a handle's dict up through hooks_dict_ref / extra_dict_ref
    assert _handle_refs(ember) == _handle_refs(torch)


_LEGACY_CASES = {
    "leaf exp": (lambda a: a.exp(), lambda lib: (lib.ones(2, requires_grad=True),)),
    "nonleaf exp": (lambda a: a.exp(), lambda lib: (lib.ones(2, requires_grad=True) * 3,)),
    "nonleaf add": (lambda a, b: a + b, lambda lib: (lib.ones(2, requires_grad=True) * 3,
                                                     lib.ones(2, requires_grad=True) * 2)),
    "same input twice": (lambda a: a * a, lambda lib: (lib.ones(2, requires_grad=True) * 3,)),
    "two nodes": (lambda a: (a * 2).exp(), lambda lib: (lib.ones(2, requires_grad=True) * 3,)),
    "constant arg": (lambda a, b: a * b, lambda lib: (lib.ones(2, requires_grad=True) * 3,
                                                      lib.ones(2))),
    "unused constant": (lambda a, b: a.exp(), lambda lib: (lib.ones(2, requires_grad=True) * 3,
                                                           lib.ones(2))),
    "int arg": (lambda a, k: a.exp() * k, lambda lib: (lib.ones(2, requires_grad=True) * 3, 3)),
    "tuple out": (lambda a: (a.exp(), a.sin()), lambda lib: (lib.ones(2, requires_grad=True),)),
    "tuple, one node": (lambda a: (a.exp(), lib_ones(a)),
                        lambda lib: (lib.ones(2, requires_grad=True) * 3,)),
    "list out": (lambda a: [a.exp()], lambda lib: (lib.ones(2, requires_grad=True) * 3,)),
    "no grad": (lambda a: a.exp(), lambda lib: (lib.ones(2),)),
}


def lib_ones(a):
    return a.detach() * 0 + 1  # a tensor of the same library with no grad_fn


def _legacy_warnings(lib, case):
    f, make = _LEGACY_CASES[case]

    class Wrap(lib.nn.Module):
        def forward(self, *args):
            return f(*args)

    m = Wrap()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.register_backward_hook(lambda mod, gi, go: None)
        m(*make(lib))
        with lib.no_grad():
            m(*make(lib))
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("case", sorted(_LEGACY_CASES))
def test_legacy_backward_hook_deprecation_warnings(torch, case):
    # torch warns, at forward time, when the hook's node cannot report every gradient
    assert _legacy_warnings(ember, case) == _legacy_warnings(torch, case)


_ZERO_SIGN_ACTS = {
    "relu": lambda F: F.relu,
    "relu_inplace": lambda F: (lambda v: F.relu(v * 1, inplace=True)),
    "relu6": lambda F: F.relu6,
    "hardtanh": lambda F: F.hardtanh,
    "threshold": lambda F: (lambda v: F.threshold(v, 0.1, 0.0)),
    "hardshrink": lambda F: F.hardshrink,
    "softshrink": lambda F: F.softshrink,
    "hardsigmoid": lambda F: F.hardsigmoid,
    "hardswish": lambda F: F.hardswish,
    "leaky_relu_0": lambda F: (lambda v: F.leaky_relu(v, 0.0)),  # a multiply: -0.0 in torch
}


def _zero_signs(lib, name, n):
    import math

    F = lib.nn.functional
    x = lib.linspace(-5.0, 5.0, n).requires_grad_(True)
    (_ZERO_SIGN_ACTS[name](F)(x) * -1.0).sum().backward()
    return [math.copysign(1.0, v) if v == 0 else round(v, 5) for v in x.grad.tolist()]


@pytest.mark.parametrize("n", [11, 300_001])  # small arrays and the threaded relu path
@pytest.mark.parametrize("name", sorted(_ZERO_SIGN_ACTS))
def test_activation_backward_zero_sign(torch, name, n):
    # a saliency map through ReLU printed "-0." where torch prints "0."
    assert _zero_signs(ember, name, n) == _zero_signs(torch, name, n)
