"""Extending torch with ``__torch_function__``, as in PyTorch's "Extending PyTorch" notes and
the subclassing examples around them: the ``ScalarTensor`` Tensor-like with a table of
``HANDLED_FUNCTIONS`` filled by an ``@implements(torch.mean)`` decorator; a ``torch.Tensor``
subclass that carries metadata (a physical unit) through operators, methods, functions,
in-place updates, indexing and tuple results; a ``LoggingTensor`` whose weights log every call
of a small regression model's training steps; a ``TorchFunctionMode`` counting the functions a
forward pass calls and redirecting one of them; and ``torch._C.DisableTorchFunctionSubclass``.
"""
import collections
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode, handle_torch_function, has_torch_function

torch.manual_seed(0)

# -- a Tensor-like that is not a Tensor --------------------------------------------------------
HANDLED_FUNCTIONS = {}


class ScalarTensor(object):
    """An N x N diagonal matrix with one value on the diagonal, stored as (N, value)."""

    def __init__(self, N, value):
        self._N = N
        self._value = value

    def __repr__(self):
        return "ScalarTensor(N={}, value={})".format(self._N, self._value)

    def tensor(self):
        return self._value * torch.eye(self._N)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        if func not in HANDLED_FUNCTIONS or not all(
                issubclass(t, (torch.Tensor, ScalarTensor)) for t in types):
            return NotImplemented
        return HANDLED_FUNCTIONS[func](*args, **kwargs)


def implements(torch_function):
    """Register a torch function override for ScalarTensor."""
    def decorator(func):
        functools.update_wrapper(func, torch_function)
        HANDLED_FUNCTIONS[torch_function] = func
        return func
    return decorator


@implements(torch.mean)
def mean(input):
    return float(input._value) / input._N


def ensure_tensor(data):
    if isinstance(data, ScalarTensor):
        return data.tensor()
    return torch.as_tensor(data)


@implements(torch.add)
def add(input, other):
    try:
        if input._N == other._N:
            return ScalarTensor(input._N, input._value + other._value)
        else:
            raise ValueError("Shape mismatch!")
    except AttributeError:
        return torch.add(ensure_tensor(input), ensure_tensor(other))


d = ScalarTensor(5, 2)
print(d, "mean", torch.mean(d), "wrapped name", mean.__name__)
s = ScalarTensor(2, 2)
print("add", torch.add(s, s))
t = torch.tensor([[1, 1], [1, 1]])
print("mixed", torch.add(s, t).tolist(), torch.add(t, s).tolist())
try:
    torch.mul(s, 2)
except TypeError as err:
    print("mul:", str(err).splitlines()[0])


def scale_rows(x, factor=2.0):
    """A library function that Tensor-likes can override too."""
    if has_torch_function((x,)):
        return handle_torch_function(scale_rows, (x,), x, factor=factor)
    return x * factor


@implements(scale_rows)
def scale_rows_scalar(x, factor=2.0):
    return ScalarTensor(x._N, x._value * factor)


print("scale_rows", scale_rows(d), scale_rows(torch.ones(2)).tolist())


# -- a subclass that carries metadata ----------------------------------------------------------
class UnitTensor(torch.Tensor):
    """A tensor with a physical unit that survives every op; mixing units is refused."""

    @staticmethod
    def __new__(cls, data, unit):
        t = torch.as_tensor(data, dtype=torch.float32).as_subclass(cls)
        t.unit = unit
        return t

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        flat = []
        for a in list(args) + list(kwargs.values()):
            flat.extend(a if isinstance(a, (list, tuple)) else [a])
        units = {a.unit for a in flat if isinstance(a, UnitTensor) and hasattr(a, "unit")}
        if func in (torch.add, torch.Tensor.add, torch.sub, torch.Tensor.sub) and len(units) > 1:
            raise ValueError(f"cannot mix units {sorted(units)} in {func.__name__}")
        out = super().__torch_function__(func, types, args, kwargs)
        unit = units.pop() if len(units) == 1 else None

        def tag(value):
            if isinstance(value, UnitTensor) and unit is not None:
                value.unit = unit
            return value

        if isinstance(out, (tuple, list)):
            return type(out)(*map(tag, out)) if hasattr(out, "_fields") else \
                type(out)(map(tag, out))
        return tag(out)


lengths = UnitTensor(torch.rand(3, 4) * 10, "m")
print("lengths", type(lengths).__name__, lengths.unit, lengths.shape, lengths.dtype)
total = (lengths * 2 + 1).sum(dim=1)
print("total", type(total).__name__, total.unit, [round(v, 4) for v in total.tolist()])
best = lengths.max(dim=1)
print("max", type(best).__name__, type(best.values).__name__, best.values.unit,
      best.indices.tolist())
row = lengths[1]
print("row", type(row).__name__, row.unit, [round(v, 4) for v in row.tolist()])
pieces = torch.split(lengths, 2, dim=1)
print("split", [type(p).__name__ for p in pieces], [p.unit for p in pieces])
stacked = torch.cat([lengths, lengths.flip(0)])
print("cat", type(stacked).__name__, stacked.unit, tuple(stacked.shape))
acc = lengths.clone()
acc += 1
acc.mul_(0.5)
print("in-place", type(acc).__name__, acc.unit, round(acc.sum().item(), 4))
try:
    lengths + UnitTensor([1.0, 2.0, 3.0, 4.0], "s")
except ValueError as err:
    print("mix:", err)
print("relu", type(F.relu(lengths - 5)).__name__, round(F.relu(lengths - 5).sum().item(), 4))
with torch._C.DisableTorchFunctionSubclass():
    print("disabled", type(lengths + 1).__name__)
print("repr", repr(UnitTensor([1.5, 2.0], "kg")))


# -- a LoggingTensor as a model's weights -------------------------------------------------------
class LoggingTensor(torch.Tensor):
    calls = collections.Counter()

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.calls[func.__name__] += 1
        return super().__torch_function__(func, types, args, kwargs)


x = torch.randn(32, 3)
y = x @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.3
w = (torch.randn(3, 1) * 0.1).as_subclass(LoggingTensor).requires_grad_()
b = torch.zeros(1).as_subclass(LoggingTensor).requires_grad_()
for step in range(30):
    loss = F.mse_loss(x @ w + b, y)
    if w.grad is not None:
        w.grad.zero_()
        b.grad.zero_()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
    if step % 10 == 0:
        print("step", step, type(loss).__name__, round(loss.item(), 4))
print("fit", [round(v, 3) for v in w.flatten().tolist()], round(b.item(), 3),
      type(w).__name__, type(w.grad).__name__)
print("logged", sorted(LoggingTensor.calls.items()))


# -- a TorchFunctionMode --------------------------------------------------------------------
class CountingMode(TorchFunctionMode):
    """Counts the functions called while active and swaps every GELU for a ReLU."""

    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.counts[func.__name__] += 1
        if func is F.gelu:
            return F.relu(args[0])  # drops approximate=
        return func(*args, **kwargs)


model = nn.Sequential(nn.Linear(3, 8), nn.GELU(), nn.Linear(8, 1))
inputs = torch.randn(4, 3)
plain = model(inputs)
with CountingMode() as mode:
    redirected = model(inputs)
print("mode counts", sorted(mode.counts.items()))
relu_model = nn.Sequential(model[0], nn.ReLU(), model[2])
print("redirected == relu model", torch.allclose(redirected, relu_model(inputs)),
      "differs from gelu", not torch.allclose(redirected, plain))
print("outputs", [round(v, 4) for v in redirected.flatten().tolist()])
