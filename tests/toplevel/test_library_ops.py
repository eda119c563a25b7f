"""ember.library (custom operators), ember.ops (operators by name), cond and while_loop,
checked against torch."""
# ruff: noqa: UP006, UP007, UP035, UP045 (the typing spellings users annotate with are tested)

import itertools
import typing
from typing import Optional, Sequence

import numpy as np
import pytest

import ember
from ember import Tensor

_names = itertools.count()


def fresh(prefix="op"):
    """A new operator name per use: both libraries keep operators process-wide."""
    return f"{prefix}{next(_names)}"


def signatures(T, lib):
    """Prototype functions written against one library's Tensor/dtype/device."""

    def f1(x: T, y: float) -> None: ...
    def f2(x: T, n: int = 2, s: str = "a", b: bool = True, f: float = 1.5,
           o: Optional[T] = None) -> tuple[T, T]: ...
    def f3(xs: Sequence[T], *, k: int) -> list[T]: ...
    def f4(x: T) -> int: ...
    def f5(x: T, n: Optional[int] = None, f: float = float("inf"),
           g: float = -1e-5) -> T: ...
    def f6(x: T, ws: typing.List[T], s: str = 'b"c') -> T: ...
    def f7(x: T, d: lib.dtype = lib.float32, dev: Optional[lib.device] = None,
           u: typing.Union[int, float, bool] = 3) -> T: ...
    def f8(x: T, sizes: list[int], scales: Optional[list[float]] = None) -> T: ...
    def f9(x: Optional[T], ys: list[Optional[T]]) -> bool: ...
    return [(f1, ("x",)), (f2, ()), (f3, ("xs",)), (f4, ()), (f5, ()), (f6, "unknown"),
            (f7, ()), (f8, ()), (f9, ())]


@pytest.mark.parametrize("i", range(9))
def test_infer_schema_matches_torch(torch, i):
    fn_e, mut = signatures(ember.Tensor, ember)[i]
    fn_t, _ = signatures(torch.Tensor, torch)[i]
    assert ember.library.infer_schema(fn_e, mutates_args=mut) == \
        torch.library.infer_schema(fn_t, mutates_args=mut)


def test_infer_schema_errors_match_torch(torch):
    def unannotated(x): ...
    def varargs(x: Tensor, *rest) -> Tensor: ...
    def no_return(x: Tensor): ...
    def bad_type(x: Tensor, d: dict) -> Tensor: ...
    cases = [(unannotated, (), "Parameter x must have a type annotation"),
             (varargs, (), "positional-only args, varargs, or varkwargs"),
             (no_return, (), "No return type annotation"),
             (bad_type, (), "Parameter d has unsupported type"),
             (no_return, ("y",), "")]
    for fn, mut, message in cases:
        with pytest.raises(ValueError, match=message):
            ember.library.infer_schema(fn, mutates_args=mut)
    with pytest.raises(ValueError, match="must have a type annotation"):
        torch.library.infer_schema(unannotated, mutates_args=())
    def missing(x: Tensor) -> Tensor: ...
    with pytest.raises(ValueError, match=r"\{'y'\} in mutates_args were not found"):
        ember.library.infer_schema(missing, mutates_args=("y",))


def make_sin(lib, name, with_autograd):
    @lib.library.custom_op(f"embertest::{name}", mutates_args=())
    def numpy_sin(x: lib.Tensor, scale: float = 1.0) -> lib.Tensor:
        return lib.from_numpy(np.sin(x.detach().numpy()) * scale)

    if with_autograd:
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.save_for_backward(x)
            ctx.scale = scale

        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.cos() * ctx.scale, None

        numpy_sin.register_autograd(backward, setup_context=setup_context)
    return numpy_sin


def test_custom_op_gradients_match_torch(torch):
    name = fresh("sin")
    op_e, op_t = make_sin(ember, name, True), make_sin(torch, name, True)
    data = np.linspace(-2, 2, 5, dtype=np.float32)
    xe = ember.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    ye, yt = op_e(xe, scale=2.0), op_t(xt, scale=2.0)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    assert type(ye.grad_fn).__name__ == \
        f"GeneratedBackwardFor_embertest_{name}_defaultBackward"
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5)
    # the same operator by name
    by_name = getattr(ember.ops.embertest, name)
    assert repr(by_name) == repr(getattr(torch.ops.embertest, name))
    assert str(by_name.default) == str(getattr(torch.ops.embertest, name).default)
    np.testing.assert_allclose(by_name.default(xe).detach().numpy(),
                               getattr(torch.ops.embertest, name)(xt).detach().numpy())
    assert repr(op_e) == repr(op_t) == f"<CustomOpDef(embertest::{name})>"


def test_no_autograd_formula_fails_in_backward_as_torch(torch):
    name = fresh("noad")
    op_e, op_t = make_sin(ember, name, False), make_sin(torch, name, False)
    ye = op_e(ember.ones(2, requires_grad=True))
    yt = op_t(torch.ones(2, requires_grad=True))
    assert ye.requires_grad and yt.requires_grad
    with pytest.raises(RuntimeError) as te:
        yt.sum().backward()
    with pytest.raises(RuntimeError) as ee:
        ye.sum().backward()
    assert str(ee.value) == str(te.value)
    # without gradients the op just runs
    assert not op_e(ember.ones(2)).requires_grad


def test_returning_an_input_is_refused_as_torch(torch):
    name = fresh("alias")
    for lib in (torch, ember):
        @lib.library.custom_op(f"embertest::{name}", mutates_args=())
        def same(x: lib.Tensor) -> lib.Tensor:
            return x

        @lib.library.custom_op(f"embertest::{name}v", mutates_args=())
        def view(x: lib.Tensor) -> lib.Tensor:
            return x[1:]

        for op in (same, view):
            with pytest.raises(RuntimeError, match="must not also be an input"):
                op(lib.ones(3))


def test_mutating_op_and_argument_checks(torch):
    name = fresh("add_")
    outs = []
    for lib in (torch, ember):
        @lib.library.custom_op(f"embertest::{name}", mutates_args={"x"})
        def add_(x: lib.Tensor, y: float) -> None:
            x.add_(y)

        t = lib.zeros(2)
        assert add_(t, 2.0) is None
        outs.append(t.tolist())

        @lib.library.custom_op(f"embertest::{name}kw", mutates_args=())
        def kw(x: lib.Tensor, *, k: float = 2.0) -> lib.Tensor:
            return x * k

        outs.append(kw(lib.ones(1), k=3.0).tolist())
        with pytest.raises(RuntimeError, match="takes 1 positional argument"):
            kw(lib.ones(1), 3.0)
        with pytest.raises(RuntimeError, match="Expected a value of type 'Tensor'"):
            kw(3.0)
    assert outs[:2] == outs[2:]
    with pytest.raises(NotImplementedError, match="mutable"):
        ember.library.register_autograd(f"embertest::{name}", lambda ctx, g: g)


def test_namespaces_and_missing_names(torch):
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = ember.ops.embertest.nope
    with pytest.raises(AttributeError):
        _ = torch.ops.embertest.nope
    assert not hasattr(ember.ops.aten, "no_such_op")
    with pytest.raises(AttributeError, match="no overload name 'bogus'"):
        _ = ember.ops.aten.add.bogus
    with pytest.raises(ValueError, match="namespace::name"):
        ember.library.custom_op("noname", lambda x: x, mutates_args=())
    with pytest.raises(TypeError, match="mutates_args"):
        ember.library.custom_op("embertest::m", lambda x: x)


def test_aten_names_are_embers_functions(torch):
    x = np.array([[-1.0, 2.0], [3.0, -4.0]], dtype=np.float32)
    for name, args in (("add", (x, x)), ("relu", (x,)), ("linalg_norm", (x,)),
                       ("special_expit", (x,)), ("softmax", (x, 1)), ("mm", (x, x)),
                       ("native_layer_norm", (x, [2], None, None, 1e-5))):
        e = getattr(ember.ops.aten, name)(*[ember.tensor(a) if isinstance(a, np.ndarray)
                                                    else a for a in args])
        t = getattr(torch.ops.aten, name)(*[torch.tensor(a) if isinstance(a, np.ndarray)
                                                    else a for a in args])
        e, t = (e, t) if isinstance(e, tuple) else ((e,), (t,))
        for a, b in zip(e, t):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    y = ember.tensor(x)
    ember.ops.aten.mul_.Tensor(y, 2.0)
    assert y.tolist() == (x * 2).tolist()
    assert str(ember.ops.aten.add.Tensor) == str(torch.ops.aten.add.Tensor) == "aten.add.Tensor"


def test_register_fake_runs_on_meta_and_kernels_by_device():
    name = fresh("fake")

    @ember.library.custom_op(f"embertest::{name}", mutates_args=())
    def rows(x: Tensor) -> Tensor:
        return x.sum(1)

    with pytest.raises(RuntimeError, match="no fake impl"):
        rows(ember.empty(3, 4, device="meta"))

    @ember.library.register_fake(f"embertest::{name}")
    def _(x):
        return x.new_empty(x.shape[0])

    out = rows(ember.empty(3, 4, device="meta"))
    assert out.device.type == "meta" and out.shape == (3,)
    rows.register_kernel("cpu", lambda x: x.sum(1) * 10)
    assert rows(ember.ones(2, 2)).tolist() == [20.0, 20.0]


def test_list_of_tensors_gets_a_gradient_each(torch):
    name = fresh("wsum")
    grads = []
    for lib in (torch, ember):
        @lib.library.custom_op(f"embertest::{name}", mutates_args=())
        def weighted(xs: list[lib.Tensor], w: float) -> lib.Tensor:
            return sum(x * (i + 1) * w for i, x in enumerate(xs))

        weighted.register_autograd(
            lambda ctx, g: ([g * (i + 1) * ctx.w for i in range(ctx.n)], None),
            setup_context=lambda ctx, inputs, output: (setattr(ctx, "w", inputs[1]),
                                                        setattr(ctx, "n", len(inputs[0]))))
        xs = [lib.ones(2, requires_grad=True) for _ in range(3)]
        weighted(xs, 0.5).sum().backward()
        grads.append([x.grad.tolist() for x in xs])
    assert grads[0] == grads[1] == [[0.5, 0.5], [1.0, 1.0], [1.5, 1.5]]


def test_library_define_and_impl():
    ns = fresh("embertestlib")
    lib = ember.library.Library(ns, "DEF")
    assert lib.define("scale(Tensor x, *, float k=2.) -> Tensor") == "scale"
    lib.impl("scale", lambda x, *, k=2.0: x * k, "CPU")
    op = getattr(ember.ops, ns).scale
    assert op(ember.ones(1)).tolist() == [2.0]
    assert op.default(ember.ones(1), k=4.0).tolist() == [4.0]
    ember.library.define(f"{ns}::inc", "(Tensor(a!) x) -> ()")
    def inc(x):
        x.add_(1)

    ember.library.impl(f"{ns}::inc", "cpu", inc)
    t = ember.zeros(2)
    getattr(ember.ops, ns).inc(t)
    assert t.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="Invalid schema"):
        lib.define("no arrow here")
    with pytest.raises(ValueError, match="Unsupported kind"):
        ember.library.Library(ns, "WRONG")


def test_opcheck_passes_and_catches_wrong_registrations():
    name = fresh("chk")

    @ember.library.custom_op(f"embertest::{name}", mutates_args=())
    def double(x: Tensor) -> Tensor:
        return x * 2

    double.register_fake(lambda x: ember.empty_like(x))
    x = ember.randn(3)
    assert set(ember.library.opcheck(double, (x,)).values()) == {"SUCCESS"}
    # a fake kernel with the wrong shape, an undeclared write, a missing gradient
    double.register_fake(lambda x: x.new_empty(1))
    with pytest.raises(ember.library.OpCheckError, match="test_faketensor"):
        ember.library.opcheck(double, (x,))
    result = ember.library.opcheck(double, (x,), raise_exception=False)
    assert isinstance(result["test_faketensor"], ember.library.OpCheckError)
    with pytest.raises(ember.library.OpCheckError, match="register_autograd"):
        ember.library.opcheck(double, (ember.randn(3, requires_grad=True),),
                              test_utils="test_autograd_registration")

    @ember.library.custom_op(f"embertest::{name}w", mutates_args=())
    def sneaky(x: Tensor) -> Tensor:
        x.add_(1)
        return x * 1

    with pytest.raises(ember.library.OpCheckError, match="not in mutates_args"):
        ember.library.opcheck(sneaky, (ember.zeros(2),), test_utils=("test_schema",))


def test_load_library_is_refused_with_the_python_way():
    with pytest.raises(RuntimeError, match="custom_op"):
        ember.ops.load_library("libmyops.so")


def test_cond_and_while_loop_match_torch(torch):
    data = np.arange(3.0, dtype=np.float32)
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        out = lib.cond(x.sum() > 2, lambda t: t * 3, lambda t: t - 1, (x,))
        out.sum().backward()
        assert out.tolist() == [0.0, 3.0, 6.0] and x.grad.tolist() == [3.0, 3.0, 3.0]
        assert lib.cond(False, lambda t: t + 1, lambda t: t - 1, [x]).tolist() == \
            [-1.0, 0.0, 1.0]
        i, s = lib.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2),
                              (lib.tensor(0), lib.ones(2)))
        assert i.item() == 3 and s.tolist() == [8.0, 8.0]
    with pytest.raises(RuntimeError, match="single-element tensor"):
        ember.cond(ember.tensor([True, False]), lambda t: t, lambda t: t, (ember.ones(1),))
