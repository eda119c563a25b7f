"""torch.autograd.graph: saved-tensor hooks, multi-grad hooks, gradient edges and Node, against
torch. Each test runs one program under both libraries and compares what it returns."""

import importlib
import threading

import numpy as np
import pytest

import ember

from ._util import same


def graph_of(lib):
    return importlib.import_module(lib.__name__ + ".autograd.graph")


def identity_hooks(lib):
    return graph_of(lib).saved_tensors_hooks(lambda t: t, lambda t: t)


# -- saved_tensors_hooks ------------------------------------------------------------------------

def test_pack_sees_saved_tensors_and_unpack_runs_in_backward(torch):
    def fn(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        log = []

        def pack(t):
            log.append(("pack", t is x, t.requires_grad, t.grad_fn is not None,
                        lib.is_grad_enabled()))
            return t

        def unpack(t):
            log.append(("unpack", lib.is_grad_enabled()))
            return t

        with graph_of(lib).saved_tensors_hooks(pack, unpack):
            z = (x * x).exp()  # mul saves x twice; exp saves its output
        log.append("forward done")
        z.sum().backward()
        return log, x.grad
    got = same(fn, torch)
    assert got[0][:4] == [["pack", True, True, False, False]] * 2 + [
        ["pack", False, True, True, False], "forward done"]


def test_hooks_change_what_backward_sees(torch):
    # pack to a scaled copy, unpack back: gradients must be unchanged; and a lossy pair
    # (unpack returns zeros) must reach the gradient in both libraries alike
    def fn(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        G = graph_of(lib)
        with G.saved_tensors_hooks(lambda t: t * 4, lambda t: t / 4):
            y = (x.sin() * x).sum()
        y.backward()
        exact = x.grad.clone()
        x.grad = None
        with G.saved_tensors_hooks(lambda t: t, lambda t: t * 0):
            y = (x * x).sum()
        y.backward()
        return exact, x.grad
    same(fn, torch)


def test_nested_contexts_innermost_wins(torch):
    def fn(lib):
        G = graph_of(lib)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        log = []
        with G.saved_tensors_hooks(lambda t: log.append("outer") or t, lambda t: t):
            with G.saved_tensors_hooks(lambda t: log.append("inner") or t, lambda t: t):
                x * x
            x * x
        return log
    assert same(fn, torch) == ["inner", "inner", "outer", "outer"]


def test_unpack_once_per_access_and_freed_after_backward(torch):
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        calls = []
        with graph_of(lib).saved_tensors_hooks(lambda t: t, lambda t: calls.append(1) or t):
            y = (x * x).sum()
        y.backward(retain_graph=True)
        first = len(calls)
        y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()
        return first, len(calls), x.grad
    assert same(fn, torch)[:2] == [2, 4]


def test_create_graph_through_unpacked_tensors(torch):
    def fn(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        with identity_hooks(lib):
            y = (x * x * x).sum() + x.exp().sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        g.sum().backward()
        return g, x.grad
    same(fn, torch)


def test_no_version_check_for_packed_tensors(torch):
    # torch does not check packed tensors for in-place changes: backward uses the new values
    def fn(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        out = []
        for inplace_on_output in (False, True):
            a = x * 1
            with identity_hooks(lib):
                y = a.exp() if inplace_on_output else a.sin()
            with lib.no_grad():
                (y if inplace_on_output else a).mul_(3)
            y.sum().backward()
            out.append(x.grad.clone())
            x.grad = None
        return out
    same(fn, torch)


def test_without_hooks_the_version_check_stays(torch):
    for lib in (ember, torch):
        x = lib.tensor([0.5, -1.0], requires_grad=True)
        a = x * 1
        y = a.sin()
        with lib.no_grad():
            a.mul_(3)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_unpack_returning_a_non_tensor_raises(torch):
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with graph_of(lib).saved_tensors_hooks(lambda t: t, lambda t: 3):
            y = (x * x).sum()
        with pytest.raises(TypeError) as info:
            y.backward()
        assert str(info.value) == ("Output of saved tensor unpack_hook expected to be a Tensor "
                                   "but got result of type int")


def test_pack_modifying_its_input_raises(torch):
    messages = []
    for lib in (ember, torch):
        b = lib.tensor([1.0, 2.0], requires_grad=True) * 1

        def bad(t, lib=lib):
            with lib.no_grad():
                t.add_(1)
            return t

        with pytest.raises(RuntimeError, match="pack hook is modifying its input in place") \
                as info:
            with graph_of(lib).saved_tensors_hooks(bad, lambda t: t):
                b * b
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_errors_raised_by_a_pack_hook_propagate_and_contexts_close(torch):
    for lib in (ember, torch):
        x = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(ZeroDivisionError):
            with graph_of(lib).saved_tensors_hooks(lambda t: 1 / 0, lambda t: t):
                x * x
        (x * x).sum().backward()  # no hooks left behind
    from ember.autograd import graph

    assert graph._hooks_in_use is False and graph.Node._saved_output is None


def test_unpacked_tensor_takes_the_saved_tensors_place(torch):
    # a saved leaf comes back as a new tensor that requires grad (grad_fn None); a saved
    # non-leaf keeps its grad_fn; a tensor without grad comes back as unpack returned it
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a = x * 1
        b = lib.tensor([3.0, 4.0])
        seen = {}

        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, a, b):
                out = x * a * b
                ctx.save_for_backward(x, a, b, out)
                return out

            @staticmethod
            def backward(ctx, g):
                sx, sa, sb, sout = ctx.saved_tensors
                seen.update(leaf=(sx is x, sx.requires_grad, sx.grad_fn is None),
                            nonleaf=(sa is a, sa.grad_fn is a.grad_fn),
                            nograd=(sb is b, sb.requires_grad),
                            output=(sout.grad_fn is not None, sout.requires_grad))
                return g * sa * sb, g * sx * sb, None

        with identity_hooks(lib):
            Probe.apply(x, a, b).sum().backward()
        return sorted(seen.items()), x.grad
    got = same(fn, torch)
    assert dict((k, v) for k, v in got[0])["leaf"] == [False, True, True]


def test_custom_function_packs_after_forward(torch):
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        log = []

        class Double(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                y = a * 2
                ctx.save_for_backward(a, y)
                log.append("saved in forward")
                return y

            @staticmethod
            def backward(ctx, g):
                a, y = ctx.saved_tensors
                log.append(("backward", y.grad_fn is not None))
                return g * 2

        def pack(t):
            log.append(("pack", t.grad_fn is not None))
            return t

        with graph_of(lib).saved_tensors_hooks(pack, lambda t: t):
            out = Double.apply(x)
        log.append("apply returned")
        out.sum().backward()
        return log, x.grad
    same(fn, torch)


def test_hooks_are_per_thread(torch):
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        log = []

        def other():
            x * x  # saved in a thread without hooks: not packed

        with graph_of(lib).saved_tensors_hooks(lambda t: log.append("pack") or t, lambda t: t):
            worker = threading.Thread(target=other)
            worker.start()
            worker.join()
        return log
    assert same(fn, torch) == []


def _mlp(lib):
    rng = np.random.default_rng(0)
    net = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float32))
    x = lib.tensor(rng.standard_normal((5, 4)), dtype=lib.float32)
    return net, x, lib.tensor([0, 2, 1, 1, 0])


def test_mlp_gradients_with_recording_hooks(torch):
    # ember and torch save different tensors (ember's linear keeps input, weight and bias;
    # torch's addmm keeps input and weight.T, and its loss keeps target and weight), so only
    # the gradients and the pack/unpack pairing are compared, not the lists of tensors
    def fn(lib):
        net, x, target = _mlp(lib)
        packed, unpacked = [], []

        def pack(t):
            packed.append(tuple(t.shape))
            return len(packed) - 1, t

        def unpack(item):
            unpacked.append(item[0])
            return item[1]

        with graph_of(lib).saved_tensors_hooks(pack, unpack):
            loss = lib.nn.functional.cross_entropy(net(x), target)
        loss.backward()
        assert sorted(unpacked) == list(range(len(packed)))  # each packed tensor used once
        return [p.grad for p in net.parameters()]
    same(fn, torch, rtol=1e-5)


def test_tutorial_offload_saved_tensors_to_disk(torch, tmp_path):
    # the "Hooks for saved tensors" tutorial: pack writes each tensor to a file with save,
    # unpack reads it back with load
    def fn(lib):
        net, x, target = _mlp(lib)
        folder = tmp_path / lib.__name__
        folder.mkdir()
        count = [0]

        def pack(t):
            name = str(folder / f"{count[0]}.pt")
            count[0] += 1
            lib.save(t, name)
            return name

        def unpack(name):
            return lib.load(name)

        with graph_of(lib).saved_tensors_hooks(pack, unpack):
            loss = lib.nn.functional.cross_entropy(net(x), target)
        loss.backward()
        assert count[0] == len(list(folder.iterdir())) > 0
        return loss, [p.grad for p in net.parameters()]
    same(fn, torch, rtol=1e-5)


# -- disable_saved_tensors_hooks and save_on_cpu ------------------------------------------------

def test_disable_saved_tensors_hooks(torch):
    for lib in (ember, torch):
        G = graph_of(lib)
        x = lib.tensor([1.0], requires_grad=True)
        with G.disable_saved_tensors_hooks("no hooks here") as value:
            assert value is None
            (x * x).sum().backward()  # saving itself is fine
            with pytest.raises(RuntimeError) as info:
                with G.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
            assert str(info.value) == "no hooks here"
            with G.disable_saved_tensors_hooks("inner"):
                with pytest.raises(RuntimeError, match="^inner$"):
                    G.save_on_cpu().__enter__()
            with pytest.raises(RuntimeError, match="^no hooks here$"):  # the outer one again
                G.save_on_cpu().__enter__()
        with G.saved_tensors_hooks(lambda t: t, lambda t: t):
            with pytest.raises(RuntimeError, match="^set inside$"):
                with G.disable_saved_tensors_hooks("set inside"):
                    pass
        with G.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass  # allowed again


def test_save_on_cpu(torch):
    def fn(lib):
        G = graph_of(lib)
        assert issubclass(G.save_on_cpu, G.saved_tensors_hooks)
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        grads = []
        for pin in (False, True):
            with G.save_on_cpu(pin_memory=pin) as value:
                assert value is None
                y = (x.exp() * x).sum()
            y.backward()
            grads.append(x.grad)
            x.grad = None
        # on the CPU nothing is copied: a later in-place change shows in backward
        a = x * 1
        with G.save_on_cpu():
            y = (a * a).sum()
        with lib.no_grad():
            a.add_(1)
        y.backward()
        return grads, x.grad
    same(fn, torch)


# -- allow_mutation_on_saved_tensors ------------------------------------------------------------

def test_allow_mutation_on_saved_tensors(torch):
    def fn(lib):
        G = graph_of(lib)
        out = []
        with G.allow_mutation_on_saved_tensors() as state:
            a = lib.ones(2, 3, requires_grad=True)
            b = a.clone()
            loss = (b ** 2).sum()
            b.sin_()
            loss.backward()
            out.append(a.grad)
            a.grad = None
            c = a.clone()
            view = c[0]
            loss = (c * c).sum()
            view.mul_(3)  # through a view
            loss.backward()
            out.append(a.grad)
        assert type(state).__name__ == "_AllowMutationOnSavedContext"
        return out
    same(fn, torch)


def test_allow_mutation_errors(torch):
    for lib in (ember, torch):
        G = graph_of(lib)
        a = lib.ones(2, requires_grad=True)
        with G.allow_mutation_on_saved_tensors():
            b = a.clone()
            loss = (b ** 2).sum()
            b.sin_()
        with pytest.raises(AssertionError, match="Trying to backward outside of the "
                                                 "'allow_mutation_on_saved_tensors' context"):
            loss.backward()
        with pytest.raises(RuntimeError, match="contexts cannot be nested"):
            with G.allow_mutation_on_saved_tensors():
                with G.allow_mutation_on_saved_tensors():
                    pass


# -- register_multi_grad_hook -------------------------------------------------------------------

def test_multi_grad_hook_all_mode(torch):
    def fn(lib):
        G = graph_of(lib)
        a = lib.full((2, 3), 2.0, requires_grad=True)
        b = lib.full((2, 3), 3.0, requires_grad=True)
        c, d = a * b, a * b
        log = []

        def hook(grads):
            log.append([None if g is None else g.sum() for g in grads])
            return [g * 0 for g in grads if g is not None]  # ignored

        handle = G.register_multi_grad_hook((a, b, c, d), hook)
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(a,), retain_graph=True)
        (c.sum() + d.sum()).backward(retain_graph=True)
        handle.remove()
        c.sum().backward(retain_graph=True)
        return log, a.grad
    got = same(fn, torch)
    assert len(got[0]) == 3


def test_multi_grad_hook_under_autograd_grad(torch):
    def fn(lib):
        G = graph_of(lib)
        x = lib.ones(2, requires_grad=True)
        y, z = x * 2, x * 3
        log = []
        G.register_multi_grad_hook((y, z), lambda gs: log.append(gs))
        first = lib.autograd.grad((y + z).sum(), [x], retain_graph=True)
        second = lib.autograd.grad(y.sum(), [y])
        # a leaf among the tensors: torch cannot tell whether autograd.grad reaches it
        a = lib.ones(2, requires_grad=True)
        G.register_multi_grad_hook((a, a * 2), print)
        with pytest.raises(RuntimeError, match="A leaf node was passed to "
                                               "_will_engine_execute_node"):
            lib.autograd.grad((a * 3).sum(), [a])
        return log, first, second
    same(fn, torch)


def test_multi_grad_hook_any_mode(torch):
    # (a * 2) * b: b's gradient is complete first (a's waits for the inner product's node)
    def fn(lib):
        G = graph_of(lib)
        a = lib.full((2, 3), 2.0, requires_grad=True)
        b = lib.full((2, 3), 3.0, requires_grad=True)
        c, d = (a * 2) * b, (a * 2) * b
        log = []
        handle = G.register_multi_grad_hook((a, b, lib.ones(2)), lambda g: log.append(g),
                                            mode="any")
        c.sum().backward(retain_graph=True)
        (c.sum() + d.sum()).backward(retain_graph=True)
        with handle:
            pass
        c.sum().backward()
        return log
    got = same(fn, torch)
    assert len(got) == 2 and got[0][0][0] == 4.0  # b's gradient, once per pass


def test_multi_grad_hook_order_and_unreached_outputs(torch):
    def fn(lib):
        G = graph_of(lib)
        log = []
        x = lib.ones(2, requires_grad=True)
        y = lib.ones(2, requires_grad=True)
        x.register_hook(lambda g: log.append("x hook"))
        G.register_multi_grad_hook((x, y), lambda gs: log.append("multi"))
        y.register_hook(lambda g: log.append("y hook"))
        ((y * 2) * x).sum().backward()  # x's gradient first, then y's
        # it sees a gradient before hooks registered after it change it
        z = lib.ones(2, requires_grad=True)
        G.register_multi_grad_hook((z,), lambda gs: log.append(gs[0]))
        z.register_hook(lambda g: g * 10)
        (z * 1).sum().backward()
        # two outputs of one node, one of them unused: the hook still fires
        w = lib.ones(4, requires_grad=True)
        p, q = w.split(2)
        G.register_multi_grad_hook((p, q), lambda gs: log.append([g is None for g in gs]))
        p.sum().backward()
        return log, z.grad
    same(fn, torch)


def test_multi_grad_hook_errors(torch):
    for lib in (ember, torch):
        G = graph_of(lib)
        a = lib.ones(2, requires_grad=True)
        with pytest.raises(ValueError, match=r"Expects mode to be one of \('all', 'any'\) but "
                                             "got bad"):
            G.register_multi_grad_hook((a,), print, mode="bad")
        with pytest.raises(AssertionError, match="Expected gradient function to be set"):
            G.register_multi_grad_hook((a, lib.ones(2)), print)


# -- GradientEdge -------------------------------------------------------------------------------

def test_get_gradient_edge(torch):
    for lib in (ember, torch):
        G = graph_of(lib)
        a = lib.ones(2, requires_grad=True)
        c = a * 2
        leaf, inner = G.get_gradient_edge(a), G.get_gradient_edge(c)
        assert G.GradientEdge._fields == ("node", "output_nr", "ownership_token")
        assert leaf.node.name() == "torch::autograd::AccumulateGrad" and leaf.output_nr == 0
        assert inner == G.GradientEdge(c.grad_fn, 0) and inner.ownership_token is None
        assert hash(inner) == hash(G.GradientEdge(c.grad_fn, 0))
        assert G.get_gradient_edge(a).node is leaf.node
        assert repr(inner).startswith("GradientEdge(node=<MulBackward0 object at ")
        with pytest.raises(RuntimeError, match="It is not possible to get the gradient edge "
                                               "for a Tensor that does not require gradients"):
            G.get_gradient_edge(lib.ones(2))
        with pytest.raises(RuntimeError, match="GradientEdge's first object must be an "
                                               "autograd.graph.Node but got NoneType"):
            lib.autograd.grad((a * a).sum(), [G.GradientEdge(None, 0)])


def test_gradient_edges_in_grad_and_backward(torch):
    def fn(lib):
        G = graph_of(lib)
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        c = a * a
        loss = (c * c).sum()
        by_edge = lib.autograd.grad(loss, [G.get_gradient_edge(c), G.get_gradient_edge(a)],
                                    retain_graph=True)
        single = lib.autograd.grad(loss, G.get_gradient_edge(a), retain_graph=True)
        from_edge = lib.autograd.grad(G.get_gradient_edge(c), a, grad_outputs=lib.ones(2),
                                      retain_graph=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for "
                                               "scalar outputs"):
            lib.autograd.grad(G.get_gradient_edge(c), a)
        loss.backward(inputs=[G.get_gradient_edge(a)], retain_graph=True)
        lib.autograd.backward(loss, inputs=G.get_gradient_edge(c))  # nothing to fill in
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad((a * 3).sum(), [G.get_gradient_edge(c)], allow_unused=False)
        return by_edge, single, from_edge, a.grad
    same(fn, torch)


# -- Node ---------------------------------------------------------------------------------------

def test_node_type_name_metadata_and_next_functions(torch):
    for lib in (ember, torch):
        G = graph_of(lib)
        a = lib.ones(2, requires_grad=True)
        y = a * 2
        acc = G.get_gradient_edge(a).node
        assert isinstance(y.grad_fn, G.Node) and isinstance(acc, G.Node)
        assert not isinstance(3, G.Node)
        assert y.grad_fn.name() == "MulBackward0"
        assert y.grad_fn.metadata == {} and acc.metadata == {} and acc.next_functions == ()
        y.grad_fn.metadata["step"] = 3
        assert y.grad_fn.metadata is y.grad_fn.metadata
        assert y.grad_fn.metadata == {"step": 3}
        with pytest.raises(AttributeError, match="attribute 'metadata' of 'MulBackward0' "
                                                 "objects is not writable"):
            y.grad_fn.metadata = {}
        assert y.grad_fn.next_functions[0] == (acc, 0)


def test_node_hooks(torch):
    def fn(lib):
        G = graph_of(lib)
        log = []
        a = lib.full((2,), 2.0, requires_grad=True)
        b = lib.full((2,), 3.0, requires_grad=True)
        y = a * b
        acc = G.get_gradient_edge(a).node
        acc.register_hook(lambda gi, go: log.append(("acc post", gi, go)))
        acc.register_prehook(lambda go: log.append(("acc pre", go)) or (go[0] * 10,))
        y.grad_fn.register_hook(lambda gi, go: log.append(("mul post", len(gi), len(go))))
        y.grad_fn.register_prehook(lambda go: log.append(("mul pre", type(go).__name__)))
        y.sum().backward(retain_graph=True)
        # autograd.grad captures the leaf's gradient before the node's own pre-hooks
        captured = lib.autograd.grad(y.sum(), a)
        return log, a.grad, captured
    same(fn, torch)


def test_node_hooks_returning_the_wrong_count_raise(torch):
    for lib in (ember, torch):
        a = lib.ones(2, requires_grad=True)
        y = a * 2
        y.grad_fn.register_hook(lambda gi, go: (gi[0], gi[0], gi[0]))
        with pytest.raises(RuntimeError, match=r"hook '<lambda>' has returned an incorrect "
                                               r"number of values \(got 3, but expected 2\)"):
            y.sum().backward()
        y = a * 2
        y.grad_fn.register_prehook(lambda go: (go[0], go[0]))
        with pytest.raises(RuntimeError, match=r"\(got 2, but expected 1\)"):
            y.sum().backward()


def test_graph_to_dot_shows_packed_tensors():
    x = ember.ones(3, requires_grad=True)
    with ember.autograd.graph.save_on_cpu():
        y = (x.exp() * x).sum()
    dot = ember.autograd.graph_to_dot(y, show_saved=True)
    assert "MulBackward0\\nsaved: (3), (3)" in dot and "ExpBackward0\\nsaved: (3)" in dot


def test_public_names_match_torch(torch):
    import torch.autograd.graph as torch_graph

    from ember.autograd import graph

    # left out: CUDA-stream settings and torch.compile's activation-memory budget
    skipped = {"region_activation_memory_budget", "set_warn_on_accumulate_grad_stream_mismatch",
               "set_override_stale_capture_stream"}
    assert set(torch_graph.__all__) - skipped == set(graph.__all__)
    for name in graph.__all__:
        assert getattr(graph, name).__doc__
