"""Gaps found by the efficient-training programs (tests/programs/eff_*.py), each checked
against torch: FLOP counts of einsum and of reentrant checkpointing, einsum's result layout,
cuDNN's fp32-precision defaults, the aot_eager compile backend, jit's ScriptModule classes
and the in-place cast error's wording."""

import io

import pytest

import ember
from ember.utils.flop_counter import FlopCounterMode

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode as TorchCounter  # noqa: E402

EINSUMS = [
    ("i,i->", (5,), (5,)),
    ("ij,ij->ij", (3, 4), (3, 4)),  # nothing summed: a plain product, not counted
    ("ij,ij->j", (3, 4), (3, 4)),
    ("i,j->ij", (3,), (4,)),
    ("bhqd,bhkd->bhqk", (2, 3, 4, 5), (2, 3, 6, 5)),
    ("ij,jk->ki", (4, 5), (5, 6)),
    ("ijk,jl->il", (3, 4, 5), (4, 6)),  # k summed out before the product
    ("ij,kj->", (3, 4), (5, 4)),
    ("...ij,...jk->...ik", (2, 3, 4), (2, 4, 5)),
    ("ij,jk,kl,lm->im", (2, 3), (3, 4), (4, 5), (5, 2)),
    ("bn,anm,bm->ba", (2, 3), (4, 3, 5), (2, 5)),
]


def _counts(counter):
    return {str(op): n for op, n in counter.get_flop_counts().get("Global", {}).items()}


@pytest.mark.parametrize("eq_shapes", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum_flops_match_torch(eq_shapes):
    eq, *shapes = eq_shapes
    with TorchCounter(display=False) as tc:
        torch.einsum(eq, *[torch.ones(s) for s in shapes])
    with FlopCounterMode(display=False) as ec:
        ember.einsum(eq, *[ember.ones(s) for s in shapes])
    assert _counts(ec) == _counts(tc)


@pytest.mark.parametrize("needs", [(1, 1, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)])
def test_einsum_backward_flops_match_torch(needs):
    shapes = [(2, 3), (3, 4), (4, 5)]
    result = []
    for lib, counter in ((torch, TorchCounter), (ember, FlopCounterMode)):
        ops = [lib.ones(s, requires_grad=bool(n)) for s, n in zip(shapes, needs)]
        with counter(display=False) as c:
            lib.einsum("ij,jk,kl->il", *ops).sum().backward()
        result.append(_counts(c))
    assert result[0] == result[1]


def test_reentrant_checkpoint_counts_recompute_and_its_backward():
    result = []
    for lib, counter in ((torch, TorchCounter), (ember, FlopCounterMode)):
        lib.manual_seed(0)
        seq = lib.nn.Sequential(*[lib.nn.Linear(6, 6) for _ in range(4)])
        x = lib.ones(3, 6, requires_grad=True)
        with counter(display=False) as c:
            lib.utils.checkpoint.checkpoint_sequential(seq, 2, x, use_reentrant=True) \
                .sum().backward()
        result.append(_counts(c))
    assert result[0] == result[1]
    assert result[1]["aten.addmm"] == 2 * 6 * 6 * 3 * 6  # 4 forwards + 2 recomputed


@pytest.mark.parametrize("eq,shapes", [("bhqk,bkhd->bhqd", [(4, 2, 8, 8), (4, 8, 2, 8)]),
                                       ("bqhd,bkhd->bhqk", [(4, 8, 2, 8), (4, 8, 2, 8)]),
                                       ("ij,jk->ki", [(2, 3), (3, 4)])])
def test_einsum_result_is_contiguous_like_torch(eq, shapes):
    t = torch.einsum(eq, *[torch.ones(s) for s in shapes])
    e = ember.einsum(eq, *[ember.ones(s) for s in shapes])
    assert e.stride() == t.stride()
    assert e.is_contiguous() == t.is_contiguous()


def test_cudnn_conv_and_rnn_fp32_precision_defaults():
    for lib in (torch, ember):
        assert lib.backends.cudnn.conv.fp32_precision == "tf32"
        assert lib.backends.cudnn.rnn.fp32_precision == "tf32"
        assert lib.backends.mkldnn.conv.fp32_precision == "none"


def test_aot_eager_backend_matches_eager():
    assert "aot_eager" in ember.compiler.list_backends(None)
    assert "aot_eager" not in ember.compiler.list_backends()  # a debug backend, as in torch
    assert "aot_eager" not in torch.compiler.list_backends()
    net = ember.nn.Linear(3, 2)
    x = ember.randn(4, 3)
    assert ember.equal(ember.compile(net, backend="aot_eager")(x), net(x))


def test_jit_script_module_classes():
    traced = ember.jit.trace(ember.nn.Linear(3, 2), ember.randn(1, 3))
    ref = torch.jit.trace(torch.nn.Linear(3, 2), torch.randn(1, 3))
    assert isinstance(traced, ember.jit.ScriptModule) == isinstance(ref, torch.jit.ScriptModule)
    fn = ember.jit.trace(lambda x: x * 2, ember.ones(2))
    assert isinstance(fn, ember.jit.ScriptFunction)
    pytest.importorskip("onnx")
    buf = io.BytesIO()
    ember.jit.save(traced, buf)
    buf.seek(0)
    loaded = ember.jit.load(buf)
    assert isinstance(loaded, ember.jit.RecursiveScriptModule)
    assert isinstance(loaded, ember.jit.ScriptModule) and isinstance(loaded, ember.nn.Module)
    x = ember.randn(2, 3)
    assert ember.allclose(loaded(x), traced(x))


@pytest.mark.parametrize("call", ["add_", "mul_", "foreach"])
def test_inplace_cast_error_wording(call):
    messages = []
    for lib in (torch, ember):
        a = lib.ones(2, dtype=lib.int64)
        with pytest.raises(RuntimeError) as info:
            if call == "foreach":
                lib._foreach_mul_([a], 1.5)
            else:
                getattr(a, call)(1.5)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def _run_counted(lib, counter, use_reentrant):
    lib.manual_seed(0)
    seq = lib.nn.Sequential(*[lib.nn.Linear(6, 6) for _ in range(4)])
    x = lib.ones(3, 6, requires_grad=True)
    with counter(display=False) as c:
        out = lib.utils.checkpoint.checkpoint_sequential(seq, 2, x, use_reentrant=use_reentrant)
        out.sum().backward()
    return _counts(c), x.grad.flatten().tolist()


def test_non_reentrant_checkpoint_without_early_stop_reruns_everything():
    seq = ember.nn.Sequential(*[ember.nn.Linear(6, 6) for _ in range(2)])
    x = ember.ones(3, 6, requires_grad=True)
    with FlopCounterMode(display=False) as c:
        ember.utils.checkpoint.checkpoint(seq, x, use_reentrant=False, early_stop=False) \
            .sum().backward()
    assert _counts(c)["aten.addmm"] == 4 * 2 * 3 * 6 * 6


def test_non_reentrant_checkpoint_recomputes_like_torch():
    t_counts, t_grad = _run_counted(torch, TorchCounter, False)
    e_counts, e_grad = _run_counted(ember, FlopCounterMode, False)
    assert e_counts == t_counts
    # 4 forwards + 1 recomputed: early_stop leaves a segment's re-run at its last linear,
    # which saves its inputs before computing anything
    assert e_counts["aten.addmm"] == 5 * 2 * 3 * 6 * 6
    assert e_grad == pytest.approx(t_grad, rel=1e-5)


def test_non_reentrant_checkpoint_reruns_per_backward_and_replays_dropout():
    seen = []
    for lib in (torch, ember):
        calls = [0]
        lib.manual_seed(0)
        lin = lib.nn.Linear(4, 4)

        def seg(a, lib=lib, lin=lin, calls=calls):
            calls[0] += 1
            return lib.nn.functional.dropout(lin(a), 0.5).tanh()

        a = lib.ones(2, 4, requires_grad=True)
        out = lib.utils.checkpoint.checkpoint(seg, a, use_reentrant=False)
        counts = [calls[0]]
        out.sum().backward(retain_graph=True)
        counts.append(calls[0])
        first = a.grad.clone()
        a.grad = None
        out.sum().backward()
        counts.append(calls[0])
        lib.manual_seed(0)  # the same layer and mask without checkpointing
        lin2 = lib.nn.Linear(4, 4)
        b = lib.ones(2, 4, requires_grad=True)
        lib.nn.functional.dropout(lin2(b), 0.5).tanh().sum().backward()
        seen.append((counts, lib.allclose(a.grad, first), lib.allclose(b.grad, first)))
    assert seen[0] == seen[1] == ([1, 2, 3], True, True)


def test_non_reentrant_checkpoint_drops_activations():
    kept = []
    x = ember.ones(3, 4, requires_grad=True)
    with ember.autograd.graph.saved_tensors_hooks(lambda t: kept.append(t) or t, lambda t: t):
        pass  # the hooks under test are checkpoint's own: only positions are kept
    y = ember.utils.checkpoint.checkpoint(lambda a: (a.sin() * a).exp(), x, use_reentrant=False)
    node = y.grad_fn
    packed = [p for p, _ in node._saved] if node._saved else []
    assert all(not isinstance(getattr(p, "packed", None), ember.Tensor) for p in packed)
    y.sum().backward()
    expected = ((x.sin() * x).exp() * (x.cos() * x + x.sin())).detach()
    assert ember.allclose(x.grad, expected)


def test_non_reentrant_checkpoint_error_when_recompute_saves_less():
    for lib in (torch, ember):
        calls = [0]

        def seg(a, calls=calls):
            calls[0] += 1
            return (a.sin() if calls[0] == 1 else a * 1).exp()

        x = lib.ones(3, requires_grad=True)
        y = lib.utils.checkpoint.checkpoint(seg, x, use_reentrant=False)
        with pytest.raises(lib.utils.checkpoint.CheckpointError,
                           match="Number of tensors saved during recomputation: 1"):
            y.sum().backward()


def test_traced_module_repr_matches_torch():
    def build(lib):
        lib.manual_seed(0)
        return lib.nn.Sequential(lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.ReLU()),
                                 lib.nn.Flatten(), lib.nn.Linear(18, 2))

    t = torch.jit.trace(build(torch), torch.ones(1, 1, 5, 5))
    e = ember.jit.trace(build(ember), ember.ones(1, 1, 5, 5))
    assert repr(e) == repr(t)
    assert repr(ember.jit.trace(ember.nn.Linear(2, 2), ember.ones(1, 2))) == \
        "Linear(original_name=Linear)"
