"""Nested tensors (``torch.nested``): a batch of tensors whose sizes differ along one
dimension (jagged layout) or several (strided layout).

A ``NestedTensor`` is a ``Tensor`` subclass holding its components, ordinary ember tensors
(views of one ``values`` tensor when it was built from one), so autograd needs nothing new.
Its ``_data`` is a ``NestedData``: it answers ``shape``/``ndim``/``dtype`` (the ragged size is
a symbol, ``j1``, as torch prints it) and refuses every other array use with
:class:`NestedOperand`. When an ember op meets one, ``Op.apply`` hands the call to
:func:`apply_nested`, which runs the op on each component where the op allows it (elementwise
ops, activations, ``linear``, ``matmul``, attention, and the reductions, softmaxes and norms
whose dimensions it shifts past the batch), and names the op otherwise.

Example:
    >>> nt = ember.nested.nested_tensor([ember.randn(2, 3), ember.randn(4, 3)],
    ...                                 layout=ember.jagged)
    >>> nt.shape
    torch.Size([2, j1, 3])
    >>> ember.nn.functional.linear(nt, ember.randn(5, 3)).shape
    torch.Size([2, j1, 5])
"""

from __future__ import annotations

import itertools

import numpy as np

from . import _dtype as D
from ._layout import jagged, strided
from ._tensor import Size, Tensor

_symbols = itertools.count(1)


class NestedOperand(NotImplementedError):
    """An array operation on a nested tensor's payload (caught by ``Op.apply``, which runs
    the op per component where it can)."""


def _refusal(what: str) -> NestedOperand:
    return NestedOperand(
        f"{what} is not supported for nested tensors in ember; convert with "
        ".to_padded_tensor(padding) or .unbind() first")


class JaggedDim:
    """The size of a ragged dimension (``j1``): one symbol per offsets tensor, equal only to
    itself."""

    __slots__ = ("name",)

    def __init__(self):
        self.name = f"j{next(_symbols)}"

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


def _refuse_size_arithmetic(self, *args):
    raise _refusal("this operation (arithmetic on its ragged size)")


# an op's forward that computes with the ragged size (a count, a reshape) hands over too
for _form in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__floordiv__", "__rfloordiv__", "__truediv__", "__rtruediv__", "__index__",
              "__int__", "__lt__", "__le__", "__gt__", "__ge__"):
    setattr(JaggedDim, _form, _refuse_size_arithmetic)


class _Irregular:
    """A strided nested tensor's size where its components differ."""

    def __repr__(self) -> str:
        return "irregular"


_IRREGULAR = _Irregular()


class NestedData:
    """A nested tensor's payload (``NestedTensor._data``): shape queries only."""

    __slots__ = ("owner",)

    def __init__(self, owner):
        self.owner = owner

    @property
    def shape(self) -> tuple:
        return self.owner._shape()

    @property
    def ndim(self) -> int:
        return self.owner._components[0].dim() + 1

    @property
    def size(self) -> int:
        return sum(c.numel() for c in self.owner._components)

    @property
    def dtype(self):
        return self.owner._components[0]._data.dtype

    def __array__(self, dtype=None, copy=None):
        raise _refusal("converting to an array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise _refusal(f"this operation (NumPy {ufunc.__name__})")

    def __array_function__(self, func, types, args, kwargs):
        raise _refusal(f"this operation (NumPy {func.__name__})")

    def __getattr__(self, name):
        raise _refusal(f"this operation (array .{name})")

    def __setitem__(self, key, value):
        raise _refusal("writing into it in place")

    def __getitem__(self, key):
        raise _refusal("indexing its data")

    def __len__(self) -> int:
        return len(self.owner._components)


def _refuse_operator(name):
    def method(self, *args):
        raise _refusal(f"this operation (array {name})")
    method.__name__ = name
    return method


# Python's operators on the payload (``a * b`` inside an op's forward) refuse as well
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    for _form in (f"__{_name}__", f"__r{_name}__", f"__i{_name}__"):
        setattr(NestedData, _form, _refuse_operator(_form))
for _form in ("__neg__", "__pos__", "__abs__", "__invert__", "__lt__", "__le__", "__gt__",
              "__ge__", "__eq__", "__ne__", "__float__", "__int__", "__bool__", "__index__"):
    setattr(NestedData, _form, _refuse_operator(_form))
NestedData.__hash__ = object.__hash__


class NestedTensor(Tensor):
    """A batch of tensors of different sizes (``torch.nested``'s tensors): index 0 runs over
    the components; with the jagged layout exactly one other dimension (``_ragged_idx``) is
    ragged, with the strided layout any may be.

    Example:
        >>> nt = ember.nested.nested_tensor([ember.ones(2, 3), ember.ones(4, 3)],
        ...                                 layout=ember.jagged)
        >>> [t.shape for t in nt.unbind()]
        [torch.Size([2, 3]), torch.Size([4, 3])]
    """

    __slots__ = ()

    @classmethod
    def _build(cls, components, layout, ragged_idx=1, offsets_of=None, values=None):
        """A nested tensor of ``components`` (at least one; same dtype and rank). With the
        jagged layout, ``offsets_of`` (a nested tensor) lends its offsets and symbol when the
        ragged lengths are the same; ``values`` is the tensor the components view, if any."""
        self = object.__new__(cls)
        self._components = list(components)
        self._nested_layout = layout
        self._ragged_idx = ragged_idx
        self._values = values
        first = self._components[0]
        self._data = NestedData(self)
        self._dtype = first._dtype
        self._vbox = [0]
        self._requires_grad = False
        self.grad_fn = values.grad_fn if values is not None else first.grad_fn
        if layout is jagged:
            lengths = [c.shape[ragged_idx - 1] for c in self._components]
            if offsets_of is not None and offsets_of._nested_lengths == lengths:
                self._offsets, self._jdim = offsets_of._offsets, offsets_of._jdim
            else:
                self._offsets = Tensor._make(np.concatenate(([0], np.cumsum(lengths))).astype(
                    np.int64), D.int64)
                self._jdim = JaggedDim()
            self._nested_lengths = lengths
        return self

    # -- shape --------------------------------------------------------------------------------
    def _shape(self) -> tuple:
        """The sizes, with a symbol where components differ (the payload's ``shape``: ops
        check trailing sizes with it, whichever the layout)."""
        first = self._components[0].shape
        if self._nested_layout is jagged:
            inner = list(first)
            inner[self._ragged_idx - 1] = self._jdim
        else:
            inner = [first[d] if len({c.shape[d] for c in self._components}) == 1
                     else _IRREGULAR for d in range(len(first))]
        return (len(self._components), *inner)

    @property
    def shape(self) -> Size:
        """The sizes; the ragged one (jagged layout) is a symbol (``j1``), and with the strided
        layout a size that differs between components prints as ``irregular`` (torch raises
        there; ember answers so that ops can check the regular trailing sizes)."""
        return Size(self._shape())

    def size(self, dim: int | None = None):
        """The shape (jagged layout: the ragged size is a symbol), or one dimension's size;
        a dimension whose sizes differ has none."""
        if dim is None:
            return self.shape
        nd = self.dim()
        d = dim + nd if dim < 0 else dim
        if not 0 <= d < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, "
                             f"{nd - 1}], but got {dim})")
        if d == 0:
            return len(self._components)
        sizes = {c.shape[d - 1] for c in self._components}
        if self._nested_layout is jagged and d == self._ragged_idx:
            return self._jdim
        if len(sizes) != 1:
            raise RuntimeError(f"Given dimension {d} is irregular and does not have a size.")
        return sizes.pop()

    @property
    def layout(self):
        return self._nested_layout

    @property
    def device(self):
        return self._components[0].device

    @property
    def is_nested(self) -> bool:
        return True

    def numel(self) -> int:
        return sum(c.numel() for c in self._components)

    def is_contiguous(self, memory_format=None) -> bool:
        return all(c.is_contiguous() for c in self._components)

    # -- the jagged layout's buffers ----------------------------------------------------------
    def values(self) -> Tensor:
        """The components joined along the ragged dimension (jagged layout), a view of the
        tensor the nested tensor was built from when there is one."""
        self._need_jagged("values")
        if self._values is not None:
            return self._values
        from ._ops.shape.joining import cat

        r = self._ragged_idx - 1
        return cat([c.movedim(r, 0) if r else c for c in self._components], 0)

    def offsets(self) -> Tensor:
        """Where each component starts in ``values()`` (and where the last ends)."""
        self._need_jagged("offsets")
        return self._offsets

    def lengths(self):
        """None: ember's jagged tensors have no holes (torch's too, unless built with them)."""
        self._need_jagged("lengths")
        return None

    def _need_jagged(self, what: str) -> None:
        if self._nested_layout is not jagged:
            raise RuntimeError(f"{what}() is only supported for nested tensors with the jagged "
                               "layout (layout=torch.jagged)")

    def unbind(self, dim: int = 0) -> tuple:
        """The components, as a tuple."""
        if dim != 0:
            raise RuntimeError("unbind(): only supported for NestedTensor on dim=0")
        return tuple(self._components)

    def to_padded_tensor(self, padding: float, output_size=None) -> Tensor:
        """A dense tensor: the components in a zero... ``padding``-filled box (each dimension
        as large as its largest component, or ``output_size``)."""
        from .nested import to_padded_tensor

        return to_padded_tensor(self, padding, output_size)

    # -- autograd -----------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return any(c.requires_grad for c in self._components) or (
            self._values is not None and self._values.requires_grad)

    @requires_grad.setter
    def requires_grad(self, value: bool):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True):
        if self._values is not None and self._values.grad_fn is None:
            self._values.requires_grad_(requires_grad)
            self._components = _split(self._values, self._nested_lengths)
            self.grad_fn = None
        else:
            for c in self._components:
                c.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        if self.__dict__.get("_views_values"):  # nested_tensor_from_jagged: a view of values
            return not self._values.requires_grad
        source = self._values if self._values is not None else self._components[0]
        return source.is_leaf

    @property
    def grad(self):
        if self._values is not None and self.is_leaf:
            g = self._values.grad
            if g is None:
                return None
            return NestedTensor._build(_split(g, self._nested_lengths), jagged, 1, self, g)
        grads = [c.grad for c in self._components]
        if any(g is None for g in grads):
            return None
        return NestedTensor._build(grads, self._nested_layout, self._ragged_idx, self)

    @grad.setter
    def grad(self, value):
        if value is not None:
            raise RuntimeError("assigning .grad of a nested tensor is not supported in ember")

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate from each component, with ``gradient``'s matching component."""
        from .autograd import backward

        if not isinstance(gradient, NestedTensor):
            raise RuntimeError("grad can be implicitly created only for scalar outputs; give "
                               "backward() a nested gradient of the same structure")
        backward(list(self._components), list(gradient._components),
                 retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def detach(self) -> NestedTensor:
        if self._values is not None:
            v = self._values.detach()
            return NestedTensor._build(_split(v, self._nested_lengths), jagged, 1, self, v)
        return NestedTensor._build([c.detach() for c in self._components], self._nested_layout,
                                   self._ragged_idx, self)

    def clone(self, memory_format=None) -> NestedTensor:
        return NestedTensor._build([c.clone() for c in self._components], self._nested_layout,
                                   self._ragged_idx, self)

    def contiguous(self, memory_format=None) -> NestedTensor:
        if self.is_contiguous():
            return self
        return NestedTensor._build([c.contiguous() for c in self._components],
                                   self._nested_layout, self._ragged_idx, self)

    def to(self, *args, **kwargs) -> NestedTensor:
        return NestedTensor._build([c.to(*args, **kwargs) for c in self._components],
                                   self._nested_layout, self._ragged_idx, self)

    # -- shape changes (per component, past the batch dimension) ---------------------------
    def transpose(self, dim0: int, dim1: int) -> NestedTensor:
        nd = self.dim()
        d0, d1 = dim0 % nd, dim1 % nd
        if 0 in (d0, d1):
            raise RuntimeError("transpose(): not supported for NestedTensor on dim=0")
        ragged = self._ragged_idx
        ragged = d1 if ragged == d0 else d0 if ragged == d1 else ragged
        return NestedTensor._build([c.transpose(d0 - 1, d1 - 1) for c in self._components],
                                   self._nested_layout, ragged, self)

    def _inner_shapes(self, shape) -> list:
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) \
            else tuple(shape)
        if len(shape) < 2 or shape[0] not in (-1, len(self._components)):
            raise RuntimeError(f"view/reshape of a nested tensor must keep the batch dimension "
                               f"first, got shape {list(shape)}")
        r = self._ragged_idx
        if self._nested_layout is jagged and (len(shape) <= r or shape[r] not in (-1,
                                                                                  self._jdim)):
            raise RuntimeError(f"view/reshape of a nested tensor must keep its ragged "
                               f"dimension {r} in place (-1 or its size), got {list(shape)}")
        out = []
        for c in self._components:
            inner = list(shape[1:])
            if self._nested_layout is jagged:
                inner[r - 1] = c.shape[r - 1]
            out.append(inner)
        return out

    def view(self, *shape) -> NestedTensor:
        return NestedTensor._build([c.view(s) for c, s in zip(self._components,
                                                               self._inner_shapes(shape))],
                                   self._nested_layout, self._ragged_idx, self)

    def reshape(self, *shape) -> NestedTensor:
        return NestedTensor._build([c.reshape(s) for c, s in zip(self._components,
                                                                  self._inner_shapes(shape))],
                                   self._nested_layout, self._ragged_idx, self)

    def unflatten(self, dim: int, sizes) -> NestedTensor:
        d = dim % self.dim()
        if d == 0 or (self._nested_layout is jagged and d == self._ragged_idx):
            raise RuntimeError("unflatten(): cannot unflatten the batch or ragged dimension of "
                               "a nested tensor")
        ragged = self._ragged_idx + (len(sizes) - 1 if self._ragged_idx > d else 0)
        return NestedTensor._build([c.unflatten(d - 1, sizes) for c in self._components],
                                   self._nested_layout, ragged, self)

    def _split_like(self, method: str, arg, dim: int):
        d = dim % self.dim()
        if d == 0 or (self._nested_layout is jagged and d == self._ragged_idx):
            raise RuntimeError(f"{method}(): not supported for NestedTensor on the batch or "
                               "ragged dimension")
        parts = [getattr(c, method)(arg, d - 1) for c in self._components]
        return tuple(NestedTensor._build(list(group), self._nested_layout, self._ragged_idx,
                                         self) for group in zip(*parts))

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        return self._split_like("chunk", chunks, dim)

    def split(self, split_size, dim: int = 0) -> tuple:
        return self._split_like("split", split_size, dim)

    # -- printing -----------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self._nested_layout is jagged:
            size = ", ".join(str(s) for s in self._shape())
            offsets = repr(self._offsets)
            grad = ""
            if self.grad_fn is not None:
                grad = f", grad_fn=<{self.grad_fn.name()} object at {hex(id(self.grad_fn))}>"
            elif self.requires_grad:
                grad = ", requires_grad=True"
            return (f"NestedTensor(size=({size}), offsets={offsets}{grad}, "
                    f"contiguous={self.is_contiguous()})")
        parts = []
        for c in self._components:
            text = repr(c)
            parts.append("  " + text.replace("\n", "\n  "))
        return "nested_tensor([\n" + ",\n".join(parts) + "\n])"

    __str__ = __repr__


def _split(values: Tensor, lengths) -> list:
    from ._ops.shape.joining import split

    return list(split(values, list(lengths), 0))


# -- op dispatch ------------------------------------------------------------------------------

_TRAILING_MODULES = ("ember._ops.pointwise.", "ember._ops.nn.activation")


def _dense_for(t: Tensor, i: int, nd: int):
    """A dense operand of an op on a nested tensor of rank ``nd``, for component ``i``: a
    tensor of full rank loses its batch dimension (size 1, or one per component)."""
    if t.dim() < nd:
        return t
    if t.shape[0] == 1:
        return t[0]
    return t[i]


def _shift_dims(dims, nt: NestedTensor, what: str):
    """Dimensions of the nested tensor as dimensions of its components."""
    if isinstance(dims, int):
        if dims == 0:
            raise RuntimeError(f"{what}(): not supported for NestedTensor on dim=0")
        return dims - 1
    dims = tuple(dims)
    if 0 in dims:
        raise RuntimeError(f"{what}(): reducing along the batch dimension but not the ragged "
                           "dimension is not supported for nested tensors")
    return tuple(d - 1 for d in dims)


class _Args:
    """An op's arguments by position or by keyword (ops are called both ways)."""

    def __init__(self, args: list, kwargs: dict):
        self.args, self.kwargs = args, kwargs

    def get(self, index: int, name: str):
        # index counts the op's forward arguments after ctx
        return self.args[index] if index < len(self.args) else self.kwargs.get(name)

    def set(self, index: int, name: str, value) -> None:
        if index < len(self.args):
            self.args[index] = value
        else:
            self.kwargs[name] = value


def _reduced(a: _Args, nt: NestedTensor) -> tuple:
    axes = a.get(1, "axes")
    return tuple(range(nt.dim())) if axes is None else tuple(
        (axes,) if isinstance(axes, int) else axes)


def _adapt(cls, args: list, kwargs: dict, nt: NestedTensor):
    """The arguments of ``cls`` for one component (dimensions shifted), and whether the result
    stays nested; None when the op cannot run per component."""
    from ._ops.linalg.matmul import Matmul
    from ._ops.nn.linear_softmax import Attention, Linear, LogSoftmax, Softmax
    from ._ops.nn.normalization import NormAffine
    from ._ops.reduction.sums import Mean, Sum

    a = _Args(args, kwargs)
    if issubclass(cls, (Softmax, LogSoftmax)):
        a.set(1, "dim", _shift_dims(a.get(1, "dim"), nt, "softmax"))
        return a.args, a.kwargs, True
    if issubclass(cls, (Sum, Mean)):
        reduced = _reduced(a, nt)
        a.set(1, "axes", _shift_dims(reduced, nt, "sum" if issubclass(cls, Sum) else "mean"))
        ragged_gone = nt._nested_layout is jagged and nt._ragged_idx in reduced and \
            not a.get(2, "keepdim")
        return a.args, a.kwargs, not ragged_gone
    if issubclass(cls, NormAffine):
        a.set(3, "axes", _shift_dims(a.get(3, "axes"), nt, "layer_norm"))
        a.set(5, "pshape", tuple(a.get(5, "pshape"))[1:])
        return a.args, a.kwargs, True
    if cls in (Linear, Matmul, Attention) or cls.__module__.startswith(_TRAILING_MODULES):
        if getattr(cls, "is_view", False) or "LSTM" in cls.__name__:
            return None
        return a.args, a.kwargs, True
    return None


def _full_reduction(cls, inputs, kwargs, nt: NestedTensor):
    """``nt.sum()``/``nt.mean()`` over every dimension: from the components' own totals."""
    from ._ops.reduction.sums import Mean, Sum
    from ._ops.shape.joining import stack

    if not issubclass(cls, (Sum, Mean)) or len(inputs) < 1:
        return None
    a = _Args(list(inputs), dict(kwargs))
    if len(_reduced(a, nt)) != nt.dim() or a.get(2, "keepdim"):
        return None
    totals = stack([c.sum() for c in nt._components], 0).sum()
    return totals if issubclass(cls, Sum) else totals / nt.numel()


def apply_nested(cls, inputs: tuple, kwargs: dict):
    """Run op ``cls`` on nested inputs, component by component (see the module note)."""
    nts = [x for x in itertools.chain(inputs, kwargs.values()) if isinstance(x, NestedTensor)]
    ref = nts[0]
    n = len(ref._components)
    for other in nts[1:]:
        if len(other._components) != n or (
                ref._nested_layout is jagged and other._nested_lengths != ref._nested_lengths):
            raise RuntimeError(f"cannot call {cls.__name__} on nested tensors of shapes "
                               f"{_describe(ref)} and {_describe(other)}: their components' "
                               "sizes differ")
    whole = _full_reduction(cls, inputs, kwargs, ref)
    if whole is not None:
        return whole
    nd = ref.dim()
    results, nested = [], True
    for i in range(n):
        args = [x._components[i] if isinstance(x, NestedTensor)
                else _dense_for(x, i, nd) if isinstance(x, Tensor) else x for x in inputs]
        kw = {k: (v._components[i] if isinstance(v, NestedTensor)
                  else _dense_for(v, i, nd) if isinstance(v, Tensor) else v)
              for k, v in kwargs.items()}
        adapted = _adapt(cls, args, kw, ref)
        if adapted is None:
            name = getattr(cls, "_name", None) or cls.__name__
            raise NotImplementedError(
                f"{name} is not supported for nested tensors in ember; convert with "
                ".to_padded_tensor(padding) or .unbind() first")
        args, kw, nested = adapted
        results.append(cls.apply(*args, **kw))
    if isinstance(results[0], tuple):
        return tuple(NestedTensor._build(list(group), ref._nested_layout, ref._ragged_idx, ref)
                     for group in zip(*results))
    if not nested:
        from ._ops.shape.joining import stack

        return stack(results, 0)
    return NestedTensor._build(results, ref._nested_layout, ref._ragged_idx, ref)


def _describe(nt: NestedTensor) -> str:
    if nt._nested_layout is jagged:
        return "(" + ", ".join(str(s) for s in nt._shape()) + ")"
    return f"nested_tensor of {len(nt._components)} components"


__all__ = ["NestedTensor", "NestedOperand", "apply_nested", "strided", "jagged"]
