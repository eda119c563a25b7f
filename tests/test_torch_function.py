"""The ``__torch_function__`` protocol and ``torch.overrides``, compared with PyTorch.

Each scenario runs on both libraries (``lib`` is torch or ember) and the observable results
(result classes, handler logs, values, error texts) must agree. The dispatch layer is
installed for each test and removed after it, so other tests in the same process run on the
plain path.
"""

import functools
import subprocess
import sys

import pytest

import ember
from ember import _torch_function as tf

torch = pytest.importorskip("torch")

LIBS = [torch, ember]


@pytest.fixture(autouse=True)
def _dispatch_layer():
    import ember.overrides  # noqa: F401  (installs on first import)

    tf.install()
    yield
    tf.uninstall()


def both(scenario):
    """Run ``scenario(lib)`` on torch and ember; return both results."""
    return scenario(torch), scenario(ember)


def names(values):
    return [type(v).__name__ for v in values]


def test_subclass_propagates_through_operators_functions_methods():
    def scenario(lib):
        class T(lib.Tensor):
            pass

        x = lib.ones(2, 3).as_subclass(T)
        out = [x + 1, 1 + x, x * x, 2 / x, x - 1, -x, abs(x), x @ x.t(), x == 1, x > 0,
               lib.add(x, 1), lib.exp(x), x.sum(), x.sum(dim=0), x.mean(), x.t(), x.T,
               x.reshape(6), x[0], x[:, 1], x.detach(), x.clone(), x.float(),
               lib.nn.functional.relu(x), lib.linalg.norm(x), lib.fft.fft(x),
               lib.special.expit(x), lib.cat([x, x]), lib.ones(3) * x]
        return names(out)

    assert both(scenario) == (["T"] * 29,) * 2


def test_subclass_propagates_through_nn_modules():
    def scenario(lib):
        class T(lib.Tensor):
            pass

        nn = lib.nn
        lib.manual_seed(0)
        images, rows = lib.randn(2, 3, 8, 8).as_subclass(T), lib.randn(4, 6).as_subclass(T)
        pairs = [(nn.Conv2d(3, 4, 3), images), (nn.BatchNorm2d(3), images),
                 (nn.MaxPool2d(2), images), (nn.AdaptiveAvgPool2d(1), images),
                 (nn.LayerNorm(6), rows), (nn.Dropout(0.5), rows), (nn.Linear(6, 2), rows),
                 (nn.GELU(), rows), (nn.Softmax(-1), rows), (nn.Flatten(), images),
                 (nn.Embedding(10, 3), lib.tensor([1, 2]).as_subclass(T))]
        out = [type(module(x)).__name__ for module, x in pairs]
        loss = nn.CrossEntropyLoss()(rows, lib.tensor([0, 1, 0, 1]))
        return out + [type(loss).__name__]

    assert both(scenario) == (["T"] * 12,) * 2


def test_tuples_lists_and_return_types_are_converted():
    def scenario(lib):
        class T(lib.Tensor):
            pass

        x = lib.arange(6.0).reshape(2, 3).as_subclass(T)
        mx = x.max(dim=1)
        return (type(mx).__name__, names(mx), names(lib.split(x, 1)), names(x.chunk(3, 1)),
                names(lib.sort(x, 1)), mx.values.tolist(), type(x.tolist()).__name__,
                type(x.shape).__name__, str(x.dtype), type(x.numpy()).__name__,
                names(list(x)), len(x), float(x[1, 2]))

    t, e = both(scenario)
    assert t == e
    assert t[0] == "max" and t[1] == ["T", "T"]


def test_inplace_ops_return_self():
    def scenario(lib):
        class T(lib.Tensor):
            pass

        x = lib.zeros(3).as_subclass(T)
        same = [x.add_(1) is x, x.mul_(2) is x]
        y = x
        y += 1
        same.append(y is x)
        plain = lib.zeros(3)
        r = plain.add_(x)  # a new T object for the plain tensor; ``plain`` keeps its class
        return same, type(r).__name__, type(plain).__name__, x.tolist(), r.tolist()

    t, e = both(scenario)
    assert t == e == ([True, True, True], "T", "Tensor", [3.0, 3.0, 3.0], [3.0, 3.0, 3.0])


def test_indexing_and_setitem():
    def scenario(lib):
        log = []

        class L(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                log.append(func.__name__)
                return super().__torch_function__(func, types, args, kwargs)

        x = lib.arange(4.0).as_subclass(L)
        y = x[1:3]
        x[0] = 7.0
        return type(y).__name__, log, x.tolist()

    t, e = both(scenario)
    assert t == e == ("L", ["__getitem__", "__setitem__", "tolist"], [7.0, 1.0, 2.0, 3.0])


def test_func_and_types_seen_by_the_handler():
    def scenario(lib):
        seen = []

        class L(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                ident = {id(lib.Tensor.add): "Tensor.add", id(lib.add): "add",
                         id(lib.Tensor.add_): "Tensor.add_",
                         id(lib.Tensor.__getitem__): "Tensor.__getitem__"}
                seen.append((ident.get(id(func), func.__name__), [t.__name__ for t in types]))
                return super().__torch_function__(func, types, args, kwargs)

        x = lib.ones(2).as_subclass(L)
        for expr in (lambda: x + 1, lambda: 1 + x, lambda: x.add(1), lambda: lib.add(x, 1),
                     lambda: x[0], lambda: x.shape, lambda: x.dtype, lambda: x.requires_grad):
            expr()
        x += 1
        return seen

    t, e = both(scenario)
    assert t == e
    assert t[0] == ("Tensor.add", ["L"]) and t[3] == ("add", ["L"]) and t[-1][0] == "Tensor.add_"


def test_dispatch_order_subclass_before_parent():
    def scenario(lib):
        order = []

        def handler(tag, result):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                order.append((tag, [t.__name__ for t in types]))
                return result

            return __torch_function__

        P = type("P", (lib.Tensor,), {"__torch_function__": handler("P", NotImplemented)})
        Q = type("Q", (P,), {"__torch_function__": handler("Q", NotImplemented)})
        R = type("R", (lib.Tensor,), {"__torch_function__": handler("R", "r")})
        p, q, r = (lib.ones(1).as_subclass(c) for c in (P, Q, R))
        first = lib.add(p, r)
        seen = list(order)
        order.clear()
        second = lib.cat([p, q, r])
        return first, seen, second, order

    t, e = both(scenario)
    assert t == e
    assert t[3][0] == ("Q", ["Q", "P", "R"])


def test_all_handlers_decline_type_error():
    def scenario(lib):
        class NS(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return NotImplemented

        x = lib.ones(1).as_subclass(NS)
        messages = []
        for call in (lambda: lib.add(x, 1), lambda: x.add(1), lambda: x + 1):
            with pytest.raises(TypeError) as info:
                call()
            messages.append(str(info.value).replace("torch.", "").replace("ember.", ""))
        return messages

    t, e = both(scenario)
    assert t == e
    assert t[0].startswith("Multiple dispatch failed for 'add'; all __torch_function__ handlers")
    assert t[2] == "unsupported operand type(s) for +: 'NS' and 'int'"


def test_disable_torch_function_subclass():
    def scenario(lib):
        class T(lib.Tensor):
            pass

        x = lib.ones(2).as_subclass(T)
        with lib._C.DisableTorchFunctionSubclass():
            inside = (type(x + 1).__name__, lib._C._is_torch_function_enabled())
        return inside, type(x + 1).__name__, lib._C._is_torch_function_enabled()

    assert both(scenario) == ((("Tensor", False), "T", True),) * 2


def test_disabled_impl_opts_out_as_parameter_does():
    def scenario(lib):
        class Plain(lib.Tensor):
            __torch_function__ = lib._C._disabled_torch_function_impl

        p = lib.nn.Parameter(lib.ones(2))
        return (type(lib.ones(2).as_subclass(Plain) + 1).__name__, type(p * 2).__name__,
                lib.nn.Parameter.__torch_function__ is lib._C._disabled_torch_function_impl,
                lib.overrides.has_torch_function((p,)))

    assert both(scenario) == (("Tensor", "Tensor", True, False),) * 2


def test_scalar_tensor_tutorial():
    def scenario(lib):
        handled = {}

        class ScalarTensor:
            def __init__(self, N, value):
                self._N, self._value = N, value

            def tensor(self):
                return self._value * lib.eye(self._N)

            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                if kwargs is None:
                    kwargs = {}
                if func not in handled or not all(issubclass(t, (lib.Tensor, ScalarTensor))
                                                  for t in types):
                    return NotImplemented
                return handled[func](*args, **kwargs)

        def implements(torch_function):
            def decorator(func):
                functools.update_wrapper(func, torch_function)
                handled[torch_function] = func
                return func

            return decorator

        @implements(lib.mean)
        def mean(input):
            return float(input._value) / input._N

        def ensure_tensor(data):
            return data.tensor() if isinstance(data, ScalarTensor) else lib.as_tensor(data)

        @implements(lib.add)
        def add(input, other):
            if isinstance(input, ScalarTensor) and isinstance(other, ScalarTensor):
                return ScalarTensor(input._N, input._value + other._value)
            return lib.add(ensure_tensor(input), ensure_tensor(other))

        s = ScalarTensor(2, 3)
        out = [lib.mean(ScalarTensor(5, 2)), lib.add(s, s)._value,
               lib.add(s, lib.ones(2, 2)).tolist(), lib.add(lib.ones(2, 2), s).tolist(),
               mean.__name__]
        with pytest.raises(TypeError) as info:
            lib.mul(s, 2)
        out.append(str(info.value).split(" at 0x")[0].replace("torch.", "").replace("ember.", ""))
        return out

    t, e = both(scenario)
    assert t == e
    assert t[0] == 0.4 and t[1] == 6


def test_logging_tensor_and_backward():
    def scenario(lib):
        log = []

        class LoggingTensor(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                log.append(func.__name__)
                return super().__torch_function__(func, types, args, kwargs or {})

        w = lib.tensor([[0.5, -1.0], [2.0, 0.25], [-0.5, 1.5]]).as_subclass(LoggingTensor)
        w.requires_grad_()
        out = lib.nn.functional.relu(w @ lib.ones(2, 4)).sum(dim=1).mean()
        out.backward()
        # ember's grad_fn is a plain slot: reading it does not dispatch (torch logs __get__)
        return (type(out).__name__, type(w.grad).__name__, w.grad.tolist(), list(log),
                out.grad_fn.name())

    t, e = both(scenario)
    assert t == e
    assert t[3][:5] == ["requires_grad_", "matmul", "relu", "sum", "mean"]


def test_metadata_carrying_subclass():
    def scenario(lib):
        class Tagged(lib.Tensor):
            @staticmethod
            def __new__(cls, data, tag):
                t = lib.as_tensor(data).as_subclass(cls)
                t.tag = tag
                return t

            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                tags = [a.tag for a in args if isinstance(a, Tagged)]
                out = super().__torch_function__(func, types, args, kwargs or {})
                if isinstance(out, Tagged) and tags:
                    out.tag = tags[0]
                return out

        m = Tagged([1.0, 2.0], "metres")
        r = (m * 2 + 1).exp().log()
        return type(r).__name__, r.tag, [round(v, 4) for v in r.tolist()], repr(m)

    t, e = both(scenario)
    assert t == e == ("Tagged", "metres", [3.0, 5.0], "Tagged([1., 2.])")


def test_torch_function_mode_logs_and_redirects():
    def scenario(lib):
        class Log(lib.overrides.TorchFunctionMode):
            def __init__(self):
                super().__init__()
                self.calls = []

            def __torch_function__(self, func, types, args=(), kwargs=None):
                self.calls.append(func.__name__)
                if func is lib.mul:  # redirect: every torch.mul becomes an add
                    return lib.add(*args, **(kwargs or {}))
                return func(*args, **(kwargs or {}))

        with Log() as mode:
            x = lib.ones(2)
            y = lib.mul(x, 3)
            z = lib.nn.functional.relu(y).sum()
            active = lib._C._is_torch_function_mode_enabled()
        return mode.calls, y.tolist(), z.item(), active, lib._C._is_torch_function_mode_enabled()

    t, e = both(scenario)
    assert t == e
    assert t[0] == ["ones", "mul", "relu", "sum"] and t[3] is True and t[4] is False


def test_nested_modes_and_not_implemented_mode():
    def scenario(lib):
        log = []

        class Tag(lib.overrides.TorchFunctionMode):
            def __init__(self, tag):
                super().__init__()
                self.tag = tag

            def __torch_function__(self, func, types, args=(), kwargs=None):
                log.append(f"{self.tag}:{func.__name__}")
                return func(*args, **(kwargs or {}))

        class Decline(lib.overrides.TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                return NotImplemented

        with Tag("outer"), Tag("inner"):
            lib.add(lib.zeros(1), 1)
        with pytest.raises(NotImplementedError):
            with lib.overrides.TorchFunctionMode():
                lib.zeros(1)
        with pytest.raises(TypeError, match="all __torch_function__ handlers returned"):
            with Decline():
                lib.add(lib.zeros(1), 1)
        return log

    assert both(scenario)[0] == both(scenario)[1] == ["inner:zeros", "outer:zeros",
                                                      "inner:add", "outer:add"]


def test_overrides_helpers():
    def scenario(lib):
        o = lib.overrides

        class T(lib.Tensor):
            pass

        class S:
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return func.__name__, [t.__name__ for t in types], len(args), kwargs

        class Declines:
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return NotImplemented

        def f(a, b=1):
            if o.has_torch_function_unary(a):
                return o.handle_torch_function(f, (a,), a, b=b)
            return "plain"

        x, p = lib.ones(1).as_subclass(T), lib.ones(1)
        out = [o.has_torch_function((x,)), o.has_torch_function((p, 1)),
               o.has_torch_function([[x]]), o.has_torch_function_variadic(p, x),
               o.is_tensor_like(p), o.is_tensor_like(S()), o.is_tensor_like(S),
               o.is_tensor_like(1.0), f(p), f(S(), b=2),
               lib.Tensor.grad.__get__ in o.get_default_nowrap_functions(),
               o.resolve_name(lib.add), o.resolve_name(lib.Tensor.add)]
        with lib._C.DisableTorchFunctionSubclass():
            out.append(o.has_torch_function((x,)))
        with pytest.raises(TypeError) as info:
            f(Declines())
        out.append(str(info.value).split(" on types")[0])
        return out

    t, e = both(scenario)
    assert t == e
    assert t[:4] == [True, False, False, True]


def test_repr_does_not_recurse():
    def scenario(lib):
        calls = []

        class L(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                calls.append(func.__name__)
                return super().__torch_function__(func, types, args, kwargs)

        text = repr(lib.tensor([1.5, 2.0]).as_subclass(L))
        return text, calls

    t, e = both(scenario)
    assert t == e == ("L([1.5000, 2.0000])", ["__repr__"])


def test_embers_own_subclasses_keep_their_behaviour():
    p = ember.nn.Parameter(ember.ones(2))
    assert type(p + 1) is ember.Tensor
    assert ember.nn.Parameter.__torch_function__ is ember._C._disabled_torch_function_impl
    sparse = ember.ones(2, 2).to_sparse()
    assert type(sparse).__torch_function__ is ember._C._disabled_torch_function_impl
    assert (sparse + sparse).to_dense().tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_uninstall_restores_plain_functions():
    from ember._ops._core import Op

    tf.uninstall()
    before = (ember.add, ember.Tensor.__add__, ember.Tensor.__dict__["shape"], Op.apply,
              ember.nn.functional.relu, ember.linalg.norm, ember.nn.Conv2d.__dict__["_fn"])
    tf.install()
    assert ember.add is not before[0] and ember.Tensor.__add__ is not before[1]
    tf.uninstall()
    after = (ember.add, ember.Tensor.__add__, ember.Tensor.__dict__["shape"], Op.apply,
             ember.nn.functional.relu, ember.linalg.norm, ember.nn.Conv2d.__dict__["_fn"])
    assert all(a is b or a == b for a, b in zip(before, after))
    assert not hasattr(ember.Tensor, "__rdiv__")


_PLAIN_PROGRAM = """
import ember, ember.nn as nn
from ember._ops._core import Op, _PLAIN_APPLY
from ember import _torch_function as tf
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
opt = ember.optim.SGD(model.parameters(), lr=0.1)
loss = nn.functional.cross_entropy(model(ember.randn(5, 4)), ember.tensor([0, 1, 0, 1, 1]))
loss.backward()
opt.step()
print(tf.installed(), Op.__dict__["apply"] is _PLAIN_APPLY,
      hasattr(ember.add, "_torch_function_raw"),
      hasattr(ember.Tensor.__add__, "_torch_function_raw"),
      hasattr(ember.nn.functional.linear, "_torch_function_raw"))
class Mine(ember.Tensor):
    pass
print(tf.installed(), hasattr(ember.add, "_torch_function_raw"))
"""


def test_nothing_installed_for_a_plain_program():
    out = subprocess.run([sys.executable, "-c", _PLAIN_PROGRAM], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "False True False False False"
    assert out[1] == "True True"  # the first subclass from outside ember installs it


def test_symbolic_tracing_sees_through_the_layer():
    # regression: with the layer installed, fx traced the dispatch wrappers instead of the ops
    # (feature extraction lost every node inside a block; layer_norm refused a Proxy)
    from ember.vision.models.feature_extraction import get_graph_node_names

    model = ember.vision.models.resnet18()
    assert tf.installed()
    with_layer = get_graph_node_names(model)
    assert tf.installed()  # put back after tracing
    tf.uninstall()
    assert get_graph_node_names(model) == with_layer
    assert "layer1.0.add" in with_layer[1]
    ln = ember.fx.symbolic_trace(ember.nn.LayerNorm(4))
    tf.install()
    assert str(ember.fx.symbolic_trace(ember.nn.LayerNorm(4)).graph) == str(ln.graph)


def test_uninstall_restores_names_bound_while_installed():
    # regression: a module first imported while the layer was in place kept its wrappers
    import importlib
    import sys

    sys.modules.pop("ember.functional", None)
    fresh = importlib.import_module("ember.functional")
    assert getattr(fresh.atleast_1d, "_torch_function_raw", None) is not None
    tf.uninstall()
    assert fresh.atleast_1d is ember.atleast_1d
    tf.install()
