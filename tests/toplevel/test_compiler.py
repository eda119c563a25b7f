"""``ember.compiler`` against ``torch.compiler``: the names, what the markers return, the
errors, and how ``is_compiling`` and ``disable`` meet ``ember.compile``."""

import operator
import warnings

import pytest

import ember

compiler = ember.compiler


def test_names_are_torch_names(torch):
    assert set(compiler.__all__) <= set(torch.compiler.__all__)
    for name in compiler.__all__:
        assert callable(getattr(compiler, name))


def test_compile_is_ember_compile():
    f = compiler.compile(lambda x: x * 2 + 1)
    assert f(ember.ones(2)).tolist() == [3.0, 3.0]
    assert compiler.compile(ember.nn.Linear(2, 1))._orig_mod.in_features == 2
    with pytest.raises(RuntimeError, match="Invalid backend"):
        compiler.compile(lambda x: x, backend="nope")


# -- is_compiling ---------------------------------------------------------------------------------

def _flag_fn(lib):
    def f(x):
        return x + lib.compiler.is_compiling() + 10 * lib.compiler.is_dynamo_compiling() \
            + 100 * lib.compiler.is_exporting()
    return f


def test_is_compiling_in_eager_and_under_compile_matches_torch(torch):
    for lib in (ember, torch):
        assert not lib.compiler.is_compiling()
        assert not lib.compiler.is_dynamo_compiling()
        assert not lib.compiler.is_exporting()
    want = torch.compile(_flag_fn(torch), backend="eager")(torch.zeros(1))
    compiled = ember.compile(_flag_fn(ember))
    assert compiled(ember.zeros(1)).tolist() == want.tolist() == [11.0]
    assert compiled(ember.zeros(1)).tolist() == [11.0]  # the replay keeps the captured branch
    assert _flag_fn(ember)(ember.zeros(1)).tolist() == [0.0]


def test_is_exporting_under_onnx_export():
    pytest.importorskip("onnx")
    seen = []

    class Net(ember.nn.Module):
        def forward(self, x):
            seen.append((compiler.is_compiling(), compiler.is_exporting()))
            return x + 1

    ember.onnx.export(Net(), (ember.zeros(2),), dynamo=True)
    assert seen and all(s == (True, True) for s in seen)


def test_is_compiling_is_false_under_jit_trace():
    seen = []

    def f(x):
        seen.append(compiler.is_compiling())
        return x + 1

    ember.jit.trace(f, (ember.zeros(2),))
    assert seen and not any(seen)


# -- disable ----------------------------------------------------------------------------------

def test_disable_marks_like_torch(torch):
    for lib in (ember, torch):
        def f(x):
            return x + 1

        g = lib.compiler.disable(f, reason="why")
        assert g is not f and g.__wrapped__ is f and g.__name__ == "f"
        assert (g._torchdynamo_disable, g._torchdynamo_disable_msg, g._torchdynamo_orig_callable,
                g._torchdynamo_wrapper_id, g._torchdynamo_disable_recursive) == \
            (True, "why", f, id(g), True)
        assert lib.compiler.disable(recursive=False)(f)._torchdynamo_disable_recursive is False
        assert g(1) == 2
        # a disabled or compiled function is unwrapped first
        assert lib.compiler.disable(g)._torchdynamo_orig_callable is f
        compiled = lib.compile(f, backend="eager") if lib is torch else lib.compile(f)
        assert lib.compiler.disable(compiled)._torchdynamo_orig_callable is f


@pytest.mark.parametrize("recursive", [True, False])
def test_disable_rejects_non_callables_like_torch(torch, recursive):
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="fn must be callable"):
            lib.compiler.disable(3, recursive=recursive)


def test_disable_a_class_wraps_init_and_call(torch):
    for lib in (ember, torch):
        class Net(lib.nn.Module):
            def forward(self, x):
                return x * 2

        assert lib.compiler.disable(Net) is Net
        assert Net.__init__._torchdynamo_disable and Net.__call__._torchdynamo_disable
        assert Net()(lib.ones(1)).tolist() == [2.0]


def test_disable_a_module_instance_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="decorate its class"):
        compiler.disable(ember.nn.Linear(2, 2))


def _model(lib, fullgraph):
    @lib.compiler.disable
    def helper(x):
        return x * 3

    def f(x):
        return helper(x.sin()) + lib.compiler.is_compiling()

    kwargs = {"backend": "eager"} if lib.__name__ == "torch" else {}
    return lib.compile(f, fullgraph=fullgraph, **kwargs)


def test_disable_inside_compile_runs_eagerly_with_eager_values(torch):
    x = [0.5, -1.0]
    want = _model(torch, False)(torch.tensor(x))
    with pytest.warns(UserWarning, match="ember.compiler.disable"):
        got = _model(ember, False)(ember.tensor(x))
    # PyTorch runs only the disabled call eagerly, so is_compiling() after it still adds 1;
    # ember runs the whole call eagerly: the values differ by exactly that flag
    assert [round(v, 5) for v in (got + 1).tolist()] == [round(v, 5) for v in want.tolist()]
    compiled = _model(ember, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = compiled(ember.tensor(x))
    assert compiled(ember.tensor(x)).tolist() == first.tolist()  # stays eager: no capture


def test_disable_inside_fullgraph_compile_raises(torch):
    torch.compiler.reset()  # Dynamo caches by code object: forget the non-fullgraph capture
    with pytest.raises(Exception, match="disable"):
        _model(torch, True)(torch.ones(2))
    with pytest.raises(ember.fx.GraphBreak, match="ember.compiler.disable"):
        _model(ember, True)(ember.ones(2))


# -- markers ----------------------------------------------------------------------------------

def test_allow_in_graph_matches_torch(torch):
    def f(x):
        return x

    for lib in (ember, torch):
        assert lib.compiler.allow_in_graph(f) is f
        assert lib.compiler.allow_in_graph([f, f]) == [f, f]
        assert lib.compiler.allow_in_graph((f,)) == [f]  # a list for a tuple too
        with pytest.raises(AssertionError, match="allow_in_graph expects a callable"):
            lib.compiler.allow_in_graph(3)


def test_assume_constant_result_matches_torch(torch):
    for lib in (ember, torch):
        def f():
            return 4

        assert lib.compiler.assume_constant_result(f) is f and f._dynamo_marked_constant
        with pytest.raises(AttributeError):
            lib.compiler.assume_constant_result(3)


def test_substitute_in_graph_matches_torch(torch):
    for lib in (ember, torch):
        def original(a, b, /):
            return a + b

        @lib.compiler.substitute_in_graph(original)
        def stand_in(a, b, /):
            return -1

        assert stand_in(2, 3) == 5  # eager calls run the original
        assert stand_in.__name__ == "stand_in"
        assert stand_in.__torch_dynamo_original__ is original
        with pytest.raises(ValueError, match="Duplicate"):
            lib.compiler.substitute_in_graph(original)(lambda a, b, /: 0)

        def other(a, b):
            return a

        with pytest.raises(TypeError, match="Signature mismatch"):
            lib.compiler.substitute_in_graph(other)(lambda a: 0)
        assert lib.compiler.substitute_in_graph(other, skip_signature_check=True)(
            lambda a: 0)(1, 2) == 1

        def wildcard(x):
            return x

        assert lib.compiler.substitute_in_graph(wildcard)(lambda *a, **k: 0)(7) == 7
        with pytest.raises(TypeError, match="substitute_in_graph expects a function but got"):
            lib.compiler.substitute_in_graph(3)
        with pytest.raises(TypeError, match="expects a function but got"):
            lib.compiler.substitute_in_graph(operator.contains)(3)


# -- backends, stance, no-ops ---------------------------------------------------------------------

def test_list_backends(torch):
    for lib in (ember, torch):
        default, everything = lib.compiler.list_backends(), lib.compiler.list_backends(None)
        assert "inductor" in default and "eager" not in default  # eager is a debug backend
        assert "eager" in everything and everything == sorted(everything)
        assert lib.compiler.list_backends(exclude_tags=()) == everything
    assert set(compiler.list_backends(None)) <= {"inductor", "replay", "eager", "aot_eager",
                                                "onnxruntime"}
    for name in compiler.list_backends(None):
        if name != "onnxruntime":
            assert ember.compile(lambda x: x + 1, backend=name)(ember.ones(1)).tolist() == [2.0]


def test_set_stance_as_call_context_and_decorator(torch):
    for lib in (ember, torch):
        state = ember.compiler if lib is ember else torch._dynamo.eval_frame

        def current(state=state):
            s = state._stance
            return s[0] if isinstance(s, tuple) else s.stance

        assert current() == "default"
        with lib.compiler.set_stance("force_eager"):
            assert current() == "force_eager"
        assert current() == "default"

        @lib.compiler.set_stance("eager_on_recompile")
        def inside():
            return current()

        assert current() == "default" and inside() == "eager_on_recompile"
        assert current() == "default"
        lib.compiler.set_stance("fail_on_recompile")
        assert current() == "fail_on_recompile"
        lib.compiler.set_stance()
        assert current() == "default"


def test_set_stance_errors(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="non-default stance cannot have force_backend"):
            lib.compiler.set_stance("force_eager", force_backend="eager")
    # PyTorch checks the name only when a compiled function next runs; ember checks at once
    with pytest.raises(RuntimeError, match="invalid torch.compile stance"):
        compiler.set_stance("bogus")
    with pytest.raises(RuntimeError, match="Invalid backend"):
        compiler.set_stance(force_backend="nope")
    assert compiler._stance[0] == "default"

    def f(x):
        compiler.set_stance("force_eager")
        return x

    with pytest.raises(RuntimeError, match="attempted to set_stance in a torch.compile region"):
        ember.compile(f, fullgraph=True)(ember.ones(1))
    assert compiler._stance[0] == "default"


def test_reset_and_cudagraph_mark_step_begin_are_no_ops(torch):
    f = ember.compile(lambda x: x * 2)
    assert f(ember.ones(1)).tolist() == [2.0]
    assert compiler.reset() is None and torch.compiler.reset() is None
    assert compiler.cudagraph_mark_step_begin() is None
    assert f(ember.ones(1)).tolist() == [2.0]
