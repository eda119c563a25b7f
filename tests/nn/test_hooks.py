"""Module hooks: forward pre-hooks, forward hooks, full backward (pre-)hooks, against torch."""

import numpy as np
import pytest

import ember

from ._helpers import copy_params, same


def _nets(torch):
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    e = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh(), ember.nn.Linear(4, 2))
    copy_params(e, t)
    return e, t


def test_forward_pre_hook_and_forward_hook_can_replace_values():
    m = ember.nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    out = m(ember.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    assert calls == [(1, 2)]
    h1.remove()
    h2.remove()
    out2 = m(ember.zeros(1, 2))
    np.testing.assert_allclose(out2.detach().numpy(), m.bias.detach().numpy()[None], rtol=1e-6)


def test_hooks_with_kwargs_and_prepend():
    m = ember.nn.Identity()
    order = []
    m.register_forward_hook(lambda mod, a, out: order.append("b"))
    m.register_forward_hook(lambda mod, a, out: order.append("a"), prepend=True)
    m.register_forward_pre_hook(lambda mod, a, kw: (a, {**kw}), with_kwargs=True)
    m.register_forward_hook(lambda mod, a, kw, out: order.append(("kw", sorted(kw))),
                            with_kwargs=True)
    m(ember.ones(1))
    assert order == ["a", "b", ("kw", [])]


def test_full_backward_hooks_match_torch(torch):
    e, t = _nets(torch)
    seen = {"ember": [], "torch": []}

    def make_hook(key):
        def hook(mod, grad_input, grad_output):
            seen[key].append((grad_input[0].detach().numpy().copy(),
                              grad_output[0].detach().numpy().copy()))
        return hook

    e[1].register_full_backward_hook(make_hook("ember"))
    t[1].register_full_backward_hook(make_hook("torch"))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    e(xe).sum().backward()
    t(xt).sum().backward()
    assert len(seen["ember"]) == len(seen["torch"]) == 1
    for a, b in zip(seen["ember"][0], seen["torch"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    same(xe.grad, xt.grad)
    same(e[0].weight.grad, t[0].weight.grad)


def test_backward_hook_can_replace_grad_input(torch):
    e, t = _nets(torch)
    for net in (e, t):
        net[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))
    x = np.ones((2, 3), np.float32)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    e(xe).sum().backward()
    t(xt).sum().backward()
    same(xe.grad, xt.grad)
    same(e[0].weight.grad, t[0].weight.grad)


def test_backward_pre_hook_replaces_grad_output(torch):
    e, t = _nets(torch)
    got = []
    for net in (e, t):
        net[2].register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        net[2].register_full_backward_hook(lambda m, gi, go: got.append(go[0].sum().item()))
    x = np.ones((2, 3), np.float32)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    e(xe).sum().backward()
    t(xt).sum().backward()
    same(xe.grad, xt.grad)
    same(e[2].weight.grad, t[2].weight.grad)
    assert got[0] == got[1] == 12.0


def test_backward_hook_on_first_layer_without_input_grad(torch):
    e, t = _nets(torch)
    got = {}
    for key, net in (("e", e), ("t", t)):
        net[0].register_full_backward_hook(
            lambda m, gi, go, key=key: got.__setitem__(key, (gi, go[0].shape)))
    lib_x = (ember.ones(2, 3), torch.ones(2, 3))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        e(lib_x[0]).sum().backward()
    with pytest.warns(UserWarning):
        t(lib_x[1]).sum().backward()
    assert got["e"][0] == (None,) and got["t"][0] == (None,)
    assert tuple(got["e"][1]) == tuple(got["t"][1])


@pytest.mark.parametrize("lib_name", ["torch", "ember"])
def test_global_module_hooks_run_before_module_hooks(lib_name):
    """register_module_forward_pre_hook / _forward_hook / _full_backward_hook /
    _buffer_registration_hook (torch.nn.modules.module) fire for every module, first."""
    lib = pytest.importorskip("torch") if lib_name == "torch" else ember
    mm = lib.nn.modules.module
    trace = []
    net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Tanh())
    net[0].register_forward_hook(lambda m, a, o: trace.append("own-fwd"))
    handles = [
        mm.register_module_forward_pre_hook(lambda m, a: trace.append(("pre", type(m).__name__))),
        mm.register_module_forward_hook(lambda m, a, o: trace.append(("fwd", type(m).__name__))),
        mm.register_module_full_backward_hook(
            lambda m, gi, go: trace.append(("bwd", type(m).__name__, len(gi)))),
        mm.register_module_buffer_registration_hook(lambda m, n, b: b + 1),
        mm.register_module_parameter_registration_hook(lambda m, n, p: None),
    ]
    net.register_buffer("offset", lib.zeros(2))
    net(lib.ones(4, 2, requires_grad=True)).sum().backward()
    for h in handles:
        h.remove()
    net(lib.ones(1, 2))
    assert net.offset.tolist() == [1.0, 1.0]
    assert trace == [("pre", "Sequential"), ("pre", "Linear"), ("fwd", "Linear"), "own-fwd",
                     ("pre", "Tanh"), ("fwd", "Tanh"), ("fwd", "Sequential"),
                     ("bwd", "Tanh", 1), ("bwd", "Linear", 1), ("bwd", "Sequential", 1),
                     "own-fwd"]


@pytest.mark.parametrize("lib_name", ["torch", "ember"])
def test_always_call_forward_hook_runs_when_forward_raises(lib_name):
    lib = pytest.importorskip("torch") if lib_name == "torch" else ember
    seen = []
    lin = lib.nn.Linear(2, 2)
    lin.register_forward_hook(lambda m, a, out: seen.append(out), always_call=True)
    lin.register_forward_hook(lambda m, a, out: seen.append("not always"))
    with pytest.raises(RuntimeError):
        lin(lib.ones(3))
    assert seen == [None]


def test_module_hook_handles_and_flag_dicts_are_torchs_types():
    torch = pytest.importorskip("torch")
    for lib in (torch, ember):
        m = lib.nn.Linear(1, 1)
        h = m.register_forward_hook(lambda *a: None, with_kwargs=True, always_call=True)
        p = m.register_forward_pre_hook(lambda *a, **k: None, with_kwargs=True)
        assert type(h) is lib.utils.hooks.RemovableHandle
        assert type(h).__name__ == "RemovableHandle"
        for name in ("_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                     "_forward_pre_hooks_with_kwargs"):
            assert type(getattr(m, name)).__name__ == "OrderedDict"
        h.remove()
        p.remove()
        assert not (m._forward_hooks or m._forward_hooks_with_kwargs
                    or m._forward_hooks_always_called or m._forward_pre_hooks_with_kwargs)
