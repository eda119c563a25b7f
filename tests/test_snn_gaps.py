"""Gaps found while writing the spiking-network programs (tests/programs/snn_*.py), each checked
against PyTorch: SpikingJelly decorates its surrogate helpers (``heaviside``, the backward
formulas) with ``@torch.jit.script``; ember raised for every ``jit.script``, so such a program
stopped at import. A scripted function now runs eagerly (as PyTorch does with ``PYTORCH_JIT=0``)
behind TorchScript's argument checks; scripting a module still raises."""

import pytest
import torch

import ember


def _torch_heaviside(x: torch.Tensor, alpha: float = 4.0):
    """Step scaled by alpha."""
    return (x >= 0).to(x) * alpha


def _ember_heaviside(x: ember.Tensor, alpha: float = 4.0):
    """Step scaled by alpha."""
    return (x >= 0).to(x) * alpha


def _torch_double(x):
    return x * 2


def _ember_double(x):
    return x * 2


def _unprefixed(text):
    return text.replace("_torch_", "_").replace("_ember_", "_")


def _scripted(lib):
    if lib is torch:
        return torch.jit.script(_torch_heaviside), torch.jit.script(_torch_double)
    return ember.jit.script(_ember_heaviside), ember.jit.script(_ember_double)


def test_script_function_runs_like_torch():
    values = [-1.0, 0.0, 2.5]
    results = []
    for lib in (torch, ember):
        heaviside, double = _scripted(lib)
        x = lib.tensor(values, requires_grad=True)
        y = double(x)
        y.sum().backward()
        results.append((heaviside(lib.tensor(values)).tolist(),
                        heaviside(lib.tensor(values), alpha=2).tolist(),
                        heaviside(lib.tensor(values), 3.0).tolist(),
                        y.tolist(), x.grad.tolist(), isinstance(heaviside, lib.jit.ScriptFunction),
                        _unprefixed(heaviside.name), _unprefixed(heaviside.qualified_name),
                        heaviside.__doc__))
    assert results[0] == results[1]


@pytest.mark.parametrize("call", ["float_for_tensor", "str_for_float", "int_for_inferred",
                                  "too_many"])
def test_script_function_checks_arguments_like_torch(call):
    messages = []
    for lib in (torch, ember):
        heaviside, double = _scripted(lib)
        with pytest.raises(RuntimeError) as info:
            if call == "float_for_tensor":
                heaviside(1.0)
            elif call == "str_for_float":
                heaviside(lib.ones(1), "a")
            elif call == "int_for_inferred":
                double(3)
            else:
                heaviside(lib.ones(1), 2.0, 3)
        messages.append(_unprefixed(str(info.value)))
    # torch goes on with the declaration and cast details
    assert messages[0].startswith(messages[1]), messages


def test_script_module_still_points_to_trace():
    with pytest.raises(RuntimeError, match="ember.jit.trace"):
        ember.jit.script(ember.nn.Linear(2, 2))


def test_heaviside_is_recorded_and_refuses_backward_like_torch():
    # a hand-written spike function built on torch.heaviside must fail loudly in backward
    # (PyTorch records the op behind a NotImplemented node), not silently train nothing
    seen = []
    for lib in (torch, ember):
        membrane = lib.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        spikes = lib.heaviside(membrane, lib.tensor(0.5))
        with pytest.raises(RuntimeError) as info:
            spikes.sum().backward()
        seen.append((spikes.tolist(), spikes.requires_grad, spikes.grad_fn.name(),
                     str(info.value), lib.heaviside(membrane.detach(), lib.tensor(0.5)).grad_fn))
    assert seen[0] == seen[1]


# A membrane state made with ``expand`` (``v0.expand(batch, n)``) shares one memory location
# among its elements: PyTorch refuses arithmetic written into it, naming clone() as the fix,
# and lets fills and indexed assignment through. ember raised NumPy's "read-only" ValueError.
_OVERLAP_WRITES = {
    "add_": lambda L, e: e.add_(1),
    "mul_": lambda L, e: e.mul_(0.9),
    "exp_": lambda L, e: e.exp_(),
    "sigmoid_": lambda L, e: e.sigmoid_(),
    "clamp_": lambda L, e: e.clamp_(0, 1),
    "copy_": lambda L, e: e.copy_(L.ones(4, 2, 3)),
    "uniform_": lambda L, e: e.uniform_(),
    "bernoulli_": lambda L, e: e.bernoulli_(0.5),
    "scatter_": lambda L, e: e.scatter_(0, L.zeros(1, 2, 3, dtype=L.long), 1.0),
    "out=": lambda L, e: L.add(L.ones(4, 2, 3), 1, out=e),
    "relu_inplace": lambda L, e: L.nn.functional.relu(e, inplace=True),
    "iadd": lambda L, e: e.__iadd__(L.ones(2, 3)),
}


@pytest.mark.parametrize("write", sorted(_OVERLAP_WRITES))
def test_write_into_expanded_tensor_is_refused_like_torch(write):
    messages = []
    for lib in (torch, ember):
        expanded = lib.zeros(2, 3).expand(4, 2, 3)
        with pytest.raises(RuntimeError) as info:
            _OVERLAP_WRITES[write](lib, expanded)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("write", ["fill_", "zero_", "setitem_row", "setitem_scalar"])
def test_fill_of_expanded_tensor_writes_shared_memory_like_torch(write):
    seen = []
    for lib in (torch, ember):
        base = lib.arange(6.0).reshape(2, 3)
        expanded = base.expand(4, 2, 3)
        if write == "fill_":
            expanded.fill_(2.5)
        elif write == "zero_":
            expanded.zero_()
        elif write == "setitem_row":
            expanded[1, 0] = lib.tensor([7.0, 8.0, 9.0])
        else:
            expanded[2, 1, 2] = -1.0
        seen.append((base.tolist(), expanded.tolist()))
    assert seen[0] == seen[1]


def test_expanded_empty_and_single_element_writes_pass_like_torch():
    for lib in (torch, ember):
        one = lib.zeros(1, 3).expand(1, 3).add_(1)  # stride 0 over a length-1 dim: no overlap
        empty = lib.zeros(0, 1).expand(0, 4).add_(1)
        assert one.tolist() == [[1.0, 1.0, 1.0]] and tuple(empty.shape) == (0, 4)


def test_expand_of_meta_tensor_stays_meta_like_torch():
    # found beside the overlap check: NumPy's broadcast dropped the meta array type, so an
    # expanded meta tensor claimed to live on the CPU (and out= into meta tensors wrote data)
    seen = []
    for lib in (torch, ember):
        a = lib.empty(3, device="meta")
        e = a.expand(2, 3)
        out = lib.empty(2, 3, device="meta")
        lib.add(lib.ones(2, 3, device="meta"), 1, out=out)
        seen.append((str(e.device), str(lib.broadcast_to(a, (4, 3)).device),
                     str(a.expand_as(lib.empty(2, 3)).device), str(out.device), out._version))
    assert seen[0] == seen[1]


def _wrong_surrogate(lib):
    """A spike Function whose hand-written backward is wrong in one entry (a classic
    surrogate-gradient bug that gradcheck is used to catch)."""

    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return lib.stack([x[0] * x[1], x[0] + x[1], x[1] * 2])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return lib.stack([g[0] * x[1] + g[1], g[0] * x[0] + g[1] + 2 * g[2] + 0.5])

    return Bad


def test_gradcheck_error_prints_jacobians_as_tensors_like_torch():
    import importlib

    messages = []
    for lib in (torch, ember):
        # the module is importable though the attribute is the function (as in PyTorch)
        module = importlib.import_module(f"{lib.__name__}.autograd.gradcheck")
        assert callable(lib.autograd.gradcheck)
        x = lib.tensor([0.5, -1.25], dtype=lib.float64, requires_grad=True)
        with pytest.raises(module.GradcheckError) as info:
            lib.autograd.gradcheck(_wrong_surrogate(lib).apply, (x,))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# torch.compile of a spiking cell: the capture inlined a custom autograd.Function's forward
# (losing its surrogate backward) and recorded detach() as the same graph value (so the reset
# by subtraction passed gradient), so replayed calls gave wrong gradients with right values.
def _compiled_cell_grads(lib, variant, compiled):
    lib.manual_seed(0)
    fc = lib.nn.Linear(4, 3)

    class ATan(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.gt(0).to(x.dtype)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / (1 + (3.14159 * x) ** 2)

    def cell(x, mem):
        mem = 0.8 * mem + fc(x)
        spk = ATan.apply(mem - 1.0) if variant == "function" else lib.sigmoid(mem - 1.0)
        return spk, mem - spk.detach()

    step = lib.compile(cell) if compiled else cell
    xs = lib.rand(5, 2, 4) * 2
    mem, spikes = lib.zeros(2, 3), []
    for t in range(5):
        spk, mem = step(xs[t], mem)
        spikes.append(spk)
    lib.stack(spikes).sum().backward()
    return fc.weight.grad


@pytest.mark.filterwarnings("ignore:ember.compile")
@pytest.mark.parametrize("variant", ["function", "detach"])
def test_compiled_spiking_cell_gradients_match_eager(variant):
    eager = _compiled_cell_grads(ember, variant, compiled=False)
    compiled = _compiled_cell_grads(ember, variant, compiled=True)
    assert ember.equal(compiled, eager)
    # and eager ember is torch's (so the compiled gradient is too)
    ref = _compiled_cell_grads(torch, variant, compiled=False)
    assert torch.allclose(torch.from_numpy(eager.numpy()), ref, atol=1e-6)
