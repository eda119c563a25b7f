"""Building an ONNX graph: node and initializer bookkeeping, constants, run-time shapes."""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as D
from ._proto import onnx_type, require
from ._symbolic import SymInt


class Value:
    """An ONNX value while exporting: its name, symbolic shape and ember dtype. ``origin`` is
    the initializer behind a pure reshape of it (batch norm's statistics), when there is one."""

    __slots__ = ("name", "shape", "dtype", "origin")

    def __init__(self, name: str, shape, dtype, origin=None):
        self.name, self.shape, self.dtype, self.origin = name, shape, dtype, origin

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return f"Value({self.name}, {self.shape}, {self.dtype})"


def is_static(dims) -> bool:
    return all(not isinstance(d, SymInt) for d in dims)


class Builder:
    """Collects ONNX nodes and initializers for one export."""

    def __init__(self, opset: int):
        self.onnx = require()
        self.helper = self.onnx.helper
        self.opset = opset
        self.nodes: list = []
        self.initializers: dict = {}
        self.taken: set = set()
        self.const_cache: dict = {}
        self.dim_sources: dict = {}   # symbol -> (value name, axis)
        self.dim_cache: dict = {}
        self.scope = ""                # the module path of the op being converted (node names)

    def fresh(self, base: str) -> str:
        base = base or "v"
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def add(self, op_type: str, inputs, outputs: int = 1, **attrs):
        """Append a node; returns its output name (or the list of them)."""
        outs = [self.fresh(f"{self.scope}/{op_type}_output" if self.scope else
                           f"{op_type}_output") for _ in range(outputs)]
        prefix = f"/{self.scope.replace('.', '/')}/" if self.scope else "/"
        node = self.helper.make_node(op_type, [i or "" for i in inputs], outs,
                                     name=self.fresh(f"{prefix}{op_type}"),
                                     **{k: v for k, v in attrs.items() if v is not None})
        self.nodes.append(node)
        return outs[0] if outputs == 1 else outs

    # -- constants ------------------------------------------------------------------------------
    def initializer(self, name: str, array: np.ndarray) -> str:
        if name in self.initializers:
            return name
        self.taken.add(name)
        self.initializers[name] = self.onnx.numpy_helper.from_array(np.asarray(array), name)
        return name

    def constant(self, array, dtype=None, hint: str = "Constant") -> str:
        """A constant the exporter made (a shape, a scalar, an identity matrix): a Constant
        node, so that the initializers are exactly the model's parameters and buffers. Equal
        small constants are shared."""
        arr = np.asarray(array, dtype=dtype)
        key = None
        if arr.size <= 64:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            got = self.const_cache.get(key)
            if got is not None:
                return got
        scope, self.scope = self.scope, ""
        name = self.add("Constant", [], value=self.onnx.numpy_helper.from_array(arr))
        self.scope = scope
        if key is not None:
            self.const_cache[key] = name
        return name

    def i64(self, values) -> str:
        return self.constant(np.asarray(list(values), dtype=np.int64))

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of ember dtype ``dtype``."""
        np_dtype = dtype.np_dtype if isinstance(dtype, D.dtype) else np.dtype(dtype)
        return self.constant(np.asarray(value, dtype=np_dtype))

    def operand(self, value, dtype) -> str:
        """A Value's name, or a number as a 0-d constant of ``dtype``."""
        if isinstance(value, Value):
            return value.name
        if isinstance(value, SymInt):
            dim = self.dim(value)
            return self.add("Cast", [self.squeeze0(dim)], to=onnx_type(dtype))
        return self.scalar(value.item() if isinstance(value, np.generic) else value, dtype)

    # -- opset-dependent forms --------------------------------------------------------------------
    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """ReduceX over ``axes``: the axes are an input from opset 18 (13 for ReduceSum)."""
        keep = int(bool(keepdims))
        if axes is None or len(axes) == 0:
            return self.add(op_type, [x], keepdims=keep)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.add(op_type, [x, self.i64(axes)], keepdims=keep)
        return self.add(op_type, [x], axes=list(axes), keepdims=keep)

    def unsqueeze(self, x: str, axes) -> str:
        return self.add("Unsqueeze", [x, self.i64(axes)])

    def squeeze(self, x: str, axes) -> str:
        return self.add("Squeeze", [x, self.i64(axes)])

    def squeeze0(self, x: str) -> str:
        return self.add("Squeeze", [x, self.i64([0])])

    # -- run-time sizes ---------------------------------------------------------------------------
    def dim(self, d) -> str:
        """A 1-element int64 tensor holding ``d`` (an int, or a SymInt computed from the shapes
        of the inputs at run time)."""
        if not isinstance(d, SymInt):
            return self.i64([int(d)])
        got = self.dim_cache.get(d)
        if got is not None:
            return got
        parts = []
        for s in d.symbols:
            src, axis = self.dim_sources[s]
            key = ("symbol", s)
            part = self.dim_cache.get(key)
            if part is None:
                shape = self.add("Shape", [src], start=axis, end=axis + 1)
                self.dim_cache[key] = part = shape
            parts.append(part)
        out = parts[0]
        for p in parts[1:]:
            out = self.add("Mul", [out, p])
        if d.coeff != 1:
            out = self.add("Mul", [out, self.i64([d.coeff])])
        self.dim_cache[d] = out
        return out

    def shape_tensor(self, dims) -> str:
        """A 1-D int64 tensor of ``dims`` (SymInts computed at run time)."""
        if is_static(dims):
            return self.i64([int(d) for d in dims])
        pieces, run = [], []
        for d in dims:
            if isinstance(d, SymInt):
                if run:
                    pieces.append(self.i64(run))
                    run = []
                pieces.append(self.dim(d))
            else:
                run.append(int(d))
        if run:
            pieces.append(self.i64(run))
        return pieces[0] if len(pieces) == 1 else self.add("Concat", pieces, axis=0)

    def reshape(self, x: Value, dims) -> str:
        """Reshape ``x`` to ``dims``: a dynamic dim kept in place is written 0 (copy), one other
        dynamic dim -1 (inferred); anything else is computed from the input's shape."""
        dims = list(dims)
        if is_static(dims):
            return self.add("Reshape", [x.name, self.i64([int(d) for d in dims])])
        spec = []
        for i, d in enumerate(dims):
            if isinstance(d, SymInt) and i < x.rank and x.shape[i] == d:
                spec.append(0)
            else:
                spec.append(d)
        left = [i for i, d in enumerate(spec) if isinstance(d, SymInt)]
        if len(left) == 1 and not any(d == 0 for d in dims if not isinstance(d, SymInt)):
            spec[left[0]] = -1
            return self.add("Reshape", [x.name, self.i64([int(d) for d in spec])])
        if not left and not any(d == 0 for d in dims if not isinstance(d, SymInt)):
            return self.add("Reshape", [x.name, self.i64([int(d) for d in spec])])
        return self.add("Reshape", [x.name, self.shape_tensor(dims)])


def numel(dims) -> int:
    return math.prod(int(d) for d in dims)
