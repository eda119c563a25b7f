"""``grad_fn._saved_<name>`` and ``grad_fn._raw_saved_<name>`` against PyTorch.

The "Hooks for autograd saved tensors" tutorial reads what a node saved through these fields
(``y.grad_fn._saved_self is x``, ``_saved_result``) and attaches a pack/unpack pair to one saved
tensor with ``_raw_saved_self.register_hooks``.
"""

import pytest

import ember

torch = pytest.importorskip("torch")

# expression, the fields PyTorch's node shows (a subset where ember names fewer)
CASES = [
    ("a * b", ["self", "other"]),
    ("a * 2", ["self", "other"]),
    ("a / b", ["self", "other"]),
    ("a + b", ["alpha"]),
    ("a.add(b, alpha=3)", ["alpha"]),
    ("a - b", ["alpha"]),
    ("a.pow(3)", ["self"]),
    ("a ** b", ["self", "exponent", "result"]),
    ("a.exp()", ["result"]),
    ("a.log()", ["self"]),
    ("a.sin()", ["self"]),
    ("a.cos()", ["self"]),
    ("a.tanh()", ["result"]),
    ("a.sigmoid()", ["result"]),
    ("a.relu()", ["result"]),
    ("a.sqrt()", ["result"]),
    ("a.sum()", ["self_sym_sizes"]),
    ("a.mean()", ["self_sym_sizes"]),
    ("a.softmax(1)", ["dim", "result"]),
    ("a.log_softmax(1)", ["dim", "result"]),
    ("a @ w", ["self", "mat2"]),
]


def _env(lib):
    gen = lib.Generator().manual_seed(0)
    a = lib.rand(3, 4, generator=gen, requires_grad=True)
    b = (lib.rand(3, 4, generator=gen) + 0.5).requires_grad_()
    w = lib.rand(4, 2, generator=gen, requires_grad=True)
    return {"a": a, "b": b, "w": w}


def _show(value, env):
    if hasattr(value, "detach"):
        names = [n for n, t in env.items() if value is t]
        return ("tensor", tuple(value.shape), value.detach().numpy().round(5).tolist(), names)
    return value


@pytest.mark.parametrize("expr,fields", CASES, ids=[c[0] for c in CASES])
def test_saved_fields_match_torch(expr, fields):
    envs = {lib: _env(lib) for lib in (torch, ember)}
    outs = {lib: eval(expr, {}, env) for lib, env in envs.items()}
    for field in fields:
        want = _show(getattr(outs[torch].grad_fn, "_saved_" + field), envs[torch])
        got = _show(getattr(outs[ember].grad_fn, "_saved_" + field), envs[ember])
        assert got == want, (field, got, want)
        if field == "result":  # a fresh tensor on the output's values, as PyTorch's
            assert outs[ember].grad_fn._saved_result is not outs[ember]


def test_unknown_field_is_attribute_error():
    y = ember.ones(2, requires_grad=True).sin()
    with pytest.raises(AttributeError, match="_saved_nothing"):
        _ = y.grad_fn._saved_nothing
    assert not hasattr(y.grad_fn, "_saved_result")  # sin saves its input, not its output
    assert not hasattr(y.grad_fn, "some_other_name")


def test_tensor_fields_freed_after_backward_plain_fields_stay():
    for lib in (torch, ember):
        x = lib.ones(3, requires_grad=True)
        y = x.exp()
        s = x.sum()
        y.sum().backward()
        s.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            _ = y.grad_fn._saved_result
        assert tuple(s.grad_fn._saved_self_sym_sizes) == (3,)


def test_raw_saved_register_hooks_runs_pack_now_and_unpack_in_backward():
    logs = {}
    for lib in (torch, ember):
        log = logs[lib] = []
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x.pow(2)

        def pack(t, log=log):
            log.append(("pack", tuple(t.shape)))
            return t * 4

        def unpack(t, log=log):
            log.append("unpack")
            return t / 4

        y.grad_fn._raw_saved_self.register_hooks(pack, unpack)
        log.append(("read", y.grad_fn._saved_self.tolist()))
        y.sum().backward()
        log.append(("grad", x.grad.tolist()))
        with pytest.raises(RuntimeError, match="after it has been freed"):
            y.grad_fn._raw_saved_self.register_hooks(pack, unpack)
    assert logs[ember] == logs[torch]
    assert logs[ember][-1] == ("grad", [2.0, 4.0, 6.0])


def test_raw_saved_result_and_second_registration():
    for lib in (torch, ember):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        y = x.exp()
        raw = y.grad_fn._raw_saved_result
        raw.register_hooks(lambda t: t.clone(), lambda t: t)
        with pytest.raises(RuntimeError, match="hooks have already been set"):
            raw.register_hooks(lambda t: t, lambda t: t)
        y.sum().backward()
        assert x.grad.tolist() == pytest.approx([1.0, 2.718281828])
        with pytest.raises(TypeError):
            (x * 3).grad_fn._raw_saved_self.register_hooks(1, lambda t: t)


def test_hooks_set_by_context_count_as_set():
    for lib in (torch, ember):
        x = lib.ones(2, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            y = x.pow(2)
        with pytest.raises(RuntimeError, match="hooks have already been set"):
            y.grad_fn._raw_saved_self.register_hooks(lambda t: t, lambda t: t)


def test_register_hooks_on_a_field_saved_as_none():
    for lib in (torch, ember):
        y = lib.ones(2, requires_grad=True) * 3  # the factor needs no gradient: self not kept
        assert y.grad_fn._saved_self is None
        with pytest.raises(RuntimeError, match="with value None is forbidden"):
            y.grad_fn._raw_saved_self.register_hooks(lambda t: t, lambda t: t)
