"""ONNX converters for tensor ops: arithmetic, comparisons, reductions, shapes and indexing.

A converter takes an :class:`OpCall` (the builder, the captured node, its arguments with
values as :class:`Value` and sizes that follow dynamic axes as ``SymInt``) and returns the
name of its output (or a tuple of names).
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from ._builder import Value, is_static
from ._proto import onnx_type
from ._symbolic import SymInt
from .errors import UnsupportedOperatorError

CONVERTERS: dict = {}


def converts(*names):
    def register(fn):
        for name in names:
            CONVERTERS[name] = fn
        return fn

    return register


class OpCall:
    """What a converter sees: ``b`` (the Builder), ``node`` (the captured node), ``args`` and
    ``kwargs`` (values as :class:`Value`), ``shape``/``dtype`` of the result."""

    __slots__ = ("b", "node", "args", "kwargs", "shape", "dtype")

    def __init__(self, b, node, args, kwargs, shape, dtype):
        self.b, self.node, self.args, self.kwargs = b, node, args, kwargs
        self.shape, self.dtype = shape, dtype

    def unsupported(self, why: str):
        raise UnsupportedOperatorError(why)


def _binary_dtype(op: OpCall):
    """The dtype both operands have (ember promotes before the op runs)."""
    for a in op.args[:2]:
        if isinstance(a, Value):
            return a.dtype
    return op.dtype


# -- arithmetic -------------------------------------------------------------------------------

def _binary(onnx_op):
    def convert(op: OpCall):
        b, (x, y) = op.b, op.args[:2]
        dt = _binary_dtype(op)
        alpha = op.kwargs.get("alpha", 1)
        ny = b.operand(y, dt)
        if alpha != 1:
            ny = b.add("Mul", [ny, b.scalar(alpha, dt)])
        return b.add(onnx_op, [b.operand(x, dt), ny])

    return convert


CONVERTERS["add"] = _binary("Add")
CONVERTERS["sub"] = _binary("Sub")
CONVERTERS["mul"] = _binary("Mul")
CONVERTERS["div"] = _binary("Div")
CONVERTERS["maximum"] = _binary("Max")
CONVERTERS["minimum"] = _binary("Min")


@converts("div_mode")
def _div_mode(op: OpCall):
    b, (x, y, mode) = op.b, op.args[:3]
    dt = _binary_dtype(op)
    q = b.add("Div", [b.operand(x, dt), b.operand(y, dt)])
    if dt.category == D._FLOAT:
        if mode == "floor":
            return b.add("Floor", [q])
        return b.add("Where", [b.add("Less", [q, b.scalar(0, dt)]), b.add("Ceil", [q]),
                               b.add("Floor", [q])])
    if mode == "trunc":
        return q  # ONNX integer Div truncates
    op.unsupported("floor division of integers has no ONNX operator")


@converts("pow", "pow_scalar")
def _pow(op: OpCall):
    b = op.b
    x = op.args[0]
    p = op.args[1] if len(op.args) > 1 else op.kwargs["p"]
    dt = _binary_dtype(op)
    if not isinstance(x, Value):  # number ** tensor
        return b.add("Pow", [b.operand(x, dt), b.operand(p, dt)])
    if not isinstance(p, Value):
        if p == 2:
            return b.add("Mul", [x.name, x.name])
        if p == 1:
            return b.add("Identity", [x.name])
        if p == 0.5 and dt.category == D._FLOAT:
            return b.add("Sqrt", [x.name])
    return b.add("Pow", [x.name, b.operand(p, dt)])


@converts("ldexp")
def _ldexp(op: OpCall):
    # x * 2**e in x's dtype (ldexp casts x to the result dtype before the op)
    b, x, e = op.b, op.args[0], op.args[1]
    en = e.name if e.dtype is x.dtype else b.add("Cast", [e.name], to=onnx_type(x.dtype))
    return b.add("Mul", [x.name, b.add("Pow", [b.scalar(2, x.dtype), en])])


_UNARY = {"neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "tan": "Tan", "asin": "Asin",
          "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "tanh": "Tanh",
          "asinh": "Asinh", "acosh": "Acosh", "atanh": "Atanh", "sigmoid": "Sigmoid",
          "erf": "Erf", "floor": "Floor", "ceil": "Ceil", "round": "Round", "sign": "Sign",
          "relu": "Relu", "isnan": "IsNaN", "logical_not": "Not"}


def _unary(onnx_op):
    def convert(op: OpCall):
        x = op.args[0]
        name = x.name
        if onnx_op not in ("Not", "IsNaN", "Abs", "Neg", "Sign", "Relu") and \
                x.dtype.category < D._FLOAT:  # ints and bools give the default float dtype
            name = op.b.add("Cast", [name], to=onnx_type(op.dtype))
        return op.b.add(onnx_op, [name])

    return convert


for _name, _onnx in _UNARY.items():
    CONVERTERS[_name] = _unary(_onnx)


@converts("rsqrt")
def _rsqrt(op: OpCall):
    return op.b.add("Reciprocal", [op.b.add("Sqrt", [op.args[0].name])])


@converts("log1p")
def _log1p(op: OpCall):
    x = op.args[0]
    return op.b.add("Log", [op.b.add("Add", [x.name, op.b.scalar(1, x.dtype)])])


@converts("expm1")
def _expm1(op: OpCall):
    x = op.args[0]
    return op.b.add("Sub", [op.b.add("Exp", [x.name]), op.b.scalar(1, x.dtype)])


@converts("clamp", "clamp_scalar", "clamp_min", "clamp_max")
def _clamp(op: OpCall):
    b, (x, lo, hi) = op.b, op.args[:3]
    out = x.name
    if isinstance(lo, Value) or isinstance(hi, Value):
        if lo is not None:
            out = b.add("Max", [out, b.operand(lo, x.dtype)])
        if hi is not None:
            out = b.add("Min", [out, b.operand(hi, x.dtype)])
        return out
    return b.add("Clip", [out, b.operand(lo, x.dtype) if lo is not None else "",
                          b.operand(hi, x.dtype) if hi is not None else ""])


@converts("where")
def _where(op: OpCall):
    b, (cond, x, y) = op.b, op.args[:3]
    return b.add("Where", [b.operand(cond, D.bool), b.operand(x, op.dtype),
                           b.operand(y, op.dtype)])


@converts("masked_fill")
def _masked_fill(op: OpCall):
    b = op.b
    x, value = op.args[:2]
    mask = op.args[2] if len(op.args) > 2 else op.kwargs["mask"]
    if not isinstance(mask, Value):
        mask_name = b.constant(np.asarray(mask, dtype=bool))
    else:
        mask_name = mask.name if mask.dtype is D.bool else b.add("Cast", [mask.name],
                                                                  to=onnx_type(D.bool))
    return b.add("Where", [mask_name, b.operand(value, x.dtype), x.name])


# -- comparisons and logic ------------------------------------------------------------------

def _compare(onnx_op, negate=False):
    def convert(op: OpCall):
        b, (x, y) = op.b, op.args[:2]
        dt = x.dtype if isinstance(x, Value) else y.dtype
        if isinstance(x, Value) and isinstance(y, Value) and x.dtype is not y.dtype:
            dt = D.result_type(_probe(x.dtype), _probe(y.dtype))
            xn = x.name if x.dtype is dt else b.add("Cast", [x.name], to=onnx_type(dt))
            yn = y.name if y.dtype is dt else b.add("Cast", [y.name], to=onnx_type(dt))
        else:
            if not isinstance(y, Value) and isinstance(y, float) and dt.category < D._FLOAT:
                dt = D.get_default_dtype()
                xn = b.add("Cast", [x.name], to=onnx_type(dt))
            else:
                xn = b.operand(x, dt)
            yn = b.operand(y, dt)
        out = b.add(onnx_op, [xn, yn])
        return b.add("Not", [out]) if negate else out

    return convert


def _probe(dtype):
    from .._creation import empty

    return empty(0, dtype=dtype)


CONVERTERS.update({
    "eq": _compare("Equal"), "ne": _compare("Equal", True), "not_equal": _compare("Equal", True),
    "lt": _compare("Less"), "less": _compare("Less"), "le": _compare("LessOrEqual"),
    "less_equal": _compare("LessOrEqual"), "gt": _compare("Greater"),
    "greater": _compare("Greater"), "ge": _compare("GreaterOrEqual"),
    "greater_equal": _compare("GreaterOrEqual"),
})


def _logical(onnx_op):
    def convert(op: OpCall):
        b = op.b
        names = []
        for a in op.args[:2]:
            if isinstance(a, Value):
                names.append(a.name if a.dtype is D.bool else
                             b.add("Cast", [a.name], to=onnx_type(D.bool)))
            else:
                names.append(b.scalar(bool(a), D.bool))
        return b.add(onnx_op, names)

    return convert


CONVERTERS.update({"logical_and": _logical("And"), "logical_or": _logical("Or"),
                   "logical_xor": _logical("Xor")})


def _bitwise(onnx_op, logical):
    def convert(op: OpCall):
        if op.dtype is D.bool:
            return _logical(logical)(op) if logical else op.b.add("Not", [op.args[0].name])
        op.unsupported("bitwise ops on integers have no ONNX operator before opset 18")

    return convert


CONVERTERS.update({"bitwise_and": _bitwise("BitwiseAnd", "And"),
                   "bitwise_or": _bitwise("BitwiseOr", "Or"),
                   "bitwise_xor": _bitwise("BitwiseXor", "Xor"),
                   "bitwise_not": _bitwise("BitwiseNot", None)})


@converts("isinf")
def _isinf(op: OpCall):
    return op.b.add("IsInf", [op.args[0].name])


@converts("isfinite")
def _isfinite(op: OpCall):
    b, x = op.b, op.args[0].name
    bad = b.add("Or", [b.add("IsInf", [x]), b.add("IsNaN", [x])])
    return b.add("Not", [bad])


def _arg_extreme(onnx_op):
    def convert(op: OpCall):
        b, x = op.b, op.args[0]
        dim = op.kwargs.get("dim", op.args[1] if len(op.args) > 1 else None)
        keepdim = op.kwargs.get("keepdim", op.args[2] if len(op.args) > 2 else False)
        name = x.name
        if dim is None:
            name = b.add("Reshape", [name, b.i64([-1])])
            dim, keepdim = 0, False
        return b.add(onnx_op, [name], axis=int(dim) % max(x.rank, 1),
                     keepdims=int(bool(keepdim)), select_last_index=0)

    return convert


CONVERTERS["argmax"] = _arg_extreme("ArgMax")
CONVERTERS["argmin"] = _arg_extreme("ArgMin")


# -- reductions -------------------------------------------------------------------------------

@converts("sum", "sum_dim")
def _sum(op: OpCall):
    x, axes, keepdim = op.args[0], op.args[1], op.args[2]
    name = x.name
    if x.dtype is not op.dtype:
        name = op.b.add("Cast", [name], to=onnx_type(op.dtype))
    return op.b.reduce("ReduceSum", name, tuple(axes) if axes is not None
                       else tuple(range(x.rank)), keepdim)


@converts("mean", "mean_dim")
def _mean(op: OpCall):
    x, axes, keepdim = op.args[0], op.args[1], op.args[2]
    return op.b.reduce("ReduceMean", x.name, tuple(axes) if axes is not None
                       else tuple(range(x.rank)), keepdim)


@converts("extreme")
def _extreme(op: OpCall):
    x, fn, axes, keepdim = op.args[:4]
    name = getattr(fn, "__name__", str(fn))
    kind = "ReduceMax" if "max" in name else "ReduceMin" if "min" in name else None
    if kind is None:
        op.unsupported(f"reduction {name}")
    return op.b.reduce(kind, x.name, tuple(axes) if axes is not None
                       else tuple(range(x.rank)), keepdim)


@converts("log_sum_exp")
def _logsumexp(op: OpCall):
    x = op.args[0]
    axes = op.args[1] if len(op.args) > 1 else op.kwargs.get("axes")
    keepdim = op.args[2] if len(op.args) > 2 else op.kwargs.get("keepdim", False)
    return op.b.reduce("ReduceLogSumExp", x.name, tuple(axes), keepdim)


# -- shapes ----------------------------------------------------------------------------------

@converts("view", "reshape")
def _reshape(op: OpCall):
    return op.b.reshape(op.args[0], op.shape)


@converts("unsqueeze")
def _unsqueeze(op: OpCall):
    x = op.args[0]
    ins, outs = op.node.args[0].meta["shape"], op.node.meta["shape"]
    axis = next((i for i in range(len(ins)) if ins[i] != outs[i]), len(ins))
    return op.b.unsqueeze(x.name, [axis])


@converts("squeeze", "squeeze_dim", "squeeze_dims")
def _squeeze(op: OpCall):
    x = op.args[0]
    ins, outs = op.node.args[0].meta["shape"], op.node.meta["shape"]
    axes, j = [], 0
    for i, n in enumerate(ins):
        if j < len(outs) and outs[j] == n:  # greedy matching: any size-1 axis will do
            j += 1
        else:
            axes.append(i)
    if not axes:
        return op.b.add("Identity", [x.name])
    return op.b.squeeze(x.name, axes)


@converts("expand")
def _expand(op: OpCall):
    x = op.args[0]
    return op.b.add("Expand", [x.name, op.b.shape_tensor(op.shape)])


@converts("expand_same", "clone", "to_device", "contiguous", "alias")
def _identity(op: OpCall):
    return op.b.add("Identity", [op.args[0].name])


@converts("keep_history")
def _keep_history(op: OpCall):
    return op.b.add("Identity", [op.args[0].name])


@converts("copy")
def _copy(op: OpCall):
    dst, src = op.args[:2]
    name = src.name if isinstance(src, Value) else op.b.operand(src, dst.dtype)
    if not isinstance(src, Value) or src.dtype is not dst.dtype:
        name = op.b.add("Cast", [name], to=onnx_type(dst.dtype))
    return op.b.add("Expand", [name, op.b.shape_tensor(dst.shape)])


@converts("cast")
def _cast(op: OpCall):
    return op.b.add("Cast", [op.args[0].name], to=onnx_type(op.dtype))


@converts("permute", "transpose", "transpose_t")
def _permute(op: OpCall):
    dims = op.args[1] if len(op.args) > 1 else op.kwargs["dims"]
    if len(dims) == 0:
        return op.b.add("Identity", [op.args[0].name])
    return op.b.add("Transpose", [op.args[0].name], perm=[int(d) for d in dims])


@converts("cat")
def _cat(op: OpCall):
    dim = op.kwargs["dim"]
    parts = [a for a in op.args if isinstance(a, Value)]
    if op.kwargs.get("skip_empty"):
        parts = [a for a in parts if not (is_static(a.shape) and 0 in a.shape)]
    if len(parts) == 1:
        return op.b.add("Identity", [parts[0].name])
    return op.b.add("Concat", [a.name for a in parts], axis=int(dim))


@converts("stack")
def _stack(op: OpCall):
    dim = op.kwargs["dim"]
    parts = [op.b.unsqueeze(a.name, [int(dim)]) for a in op.args]
    return parts[0] if len(parts) == 1 else op.b.add("Concat", parts, axis=int(dim))


@converts("narrow")
def _narrow(op: OpCall):
    x = op.args[0]
    dim, start, length = (op.kwargs[k] if k in op.kwargs else op.args[i + 1]
                          for i, k in enumerate(("dim", "start", "length")))
    b = op.b
    end = start + length if not isinstance(start, SymInt) and not isinstance(length, SymInt) \
        else None
    if end is None:
        op.unsupported("narrow with a start or length that follows a dynamic axis")
    return b.add("Slice", [x.name, b.i64([start]), b.i64([end]), b.i64([dim])])


@converts("split")
def _split(op: OpCall):
    """``split``/``chunk``'s one node of several views: ONNX's Split, the sizes as its
    second input (opset 13 on, all ember exports)."""
    b, x = op.b, op.args[0]
    dim, sizes = op.kwargs["dim"], [int(s) for s in op.kwargs["sizes"]]
    return tuple(b.add("Split", [x.name, b.i64(sizes)], outputs=len(sizes), axis=int(dim)))


@converts("unbind")
def _unbind(op: OpCall):
    """``unbind``'s one node of several views: a Split into ones, each piece's dim squeezed."""
    b, x = op.b, op.args[0]
    dim = int(op.kwargs["dim"])
    n = x.shape[dim]
    if isinstance(n, SymInt):
        op.unsupported("unbind along a dynamic axis")
    pieces = b.add("Split", [x.name, b.i64([1] * int(n))], outputs=int(n), axis=dim)
    return tuple(b.squeeze(p, [dim]) for p in (pieces if int(n) > 1 else (pieces,)))


_BIG = 2**62


@converts("basic_index")
def _basic_index(op: OpCall):
    """``x[index]`` for ints, slices, None and Ellipsis: one Slice for all the slices, then
    Gather-free int picks (a Slice of one and a Squeeze), then Unsqueeze for None."""
    b, x = op.b, op.args[0]
    index = op.args[1] if len(op.args) > 1 else op.kwargs["index"]
    items = list(index)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        used = sum(1 for i in items if i is not None and i is not Ellipsis)
        items[k:k + 1] = [slice(None)] * (x.rank - used)
    items += [slice(None)] * (x.rank - sum(1 for i in items if i is not None))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    src = out = 0
    for item in items:
        if item is None:
            unsqueeze.append(out)
            out += 1
            continue
        if isinstance(item, slice):
            start, stop, step = item.start, item.stop, item.step
            if not (start in (None, 0) and stop is None and step in (None, 1)):
                if any(isinstance(v, SymInt) for v in (start, stop, step)):
                    op.unsupported("slicing with bounds that follow a dynamic axis")
                starts.append(0 if start is None else int(start))
                ends.append(_BIG if stop is None else int(stop))
                axes.append(src)
                steps.append(1 if step is None else int(step))
            out += 1
        else:
            if isinstance(item, SymInt):
                op.unsupported("an index that follows a dynamic axis")
            i = int(item)
            starts.append(i)
            ends.append(i + 1 if i != -1 else _BIG)
            axes.append(src)
            steps.append(1)
            squeeze.append(src)
        src += 1
    name = x.name
    if axes:
        name = b.add("Slice", [name, b.i64(starts), b.i64(ends), b.i64(axes), b.i64(steps)])
    if squeeze:
        name = b.squeeze(name, squeeze)
    if unsqueeze:
        name = b.unsqueeze(name, unsqueeze)
    if name == x.name:
        name = b.add("Identity", [name])
    return name


@converts("advanced_index", "index_select", "take", "gather")
def _advanced_index(op: OpCall):
    b, x = op.b, op.args[0]
    index = op.kwargs.get("index", op.args[1] if len(op.args) > 1 else None)
    if op.node.target_name == "advanced_index" and isinstance(index, tuple):
        picks = [(i, v) for i, v in enumerate(index) if not (isinstance(v, slice)
                                                            and v == slice(None))]
        if len(picks) == 1 and picks[0][1] is not None:
            axis, idx = picks[0]
            if isinstance(idx, Value):
                name = idx.name
            else:
                arr = np.asarray(idx)
                if arr.dtype == bool:
                    op.unsupported("boolean-mask indexing (its output size depends on the data)")
                name = b.constant(arr.astype(np.int64))
            return b.add("Gather", [x.name, name], axis=axis)
    op.unsupported("advanced indexing other than one integer index tensor on one dimension")


@converts("getitem")
def _getitem(op: OpCall):
    container, i = op.args[:2]
    return container[i]


@converts("tensor_data")
def _tensor_data(op: OpCall):
    b, src, np_dtype, shape = op.b, op.args[0], op.args[1], op.args[2]
    name = src.name
    dt = D._FROM_NP[np.dtype(np_dtype)]
    if dt is not src.dtype:
        name = b.add("Cast", [name], to=onnx_type(dt))
    if tuple(shape) != tuple(src.shape):
        if _element_count(src.shape) != _element_count(shape):
            # a mask broadcast to its input's shape (masked_fill on a causal tril buffer), as
            # the capture's tensor_data broadcasts it
            name = b.add("Expand", [name, b.shape_tensor(tuple(shape))])
        else:
            name = b.reshape(Value(name, src.shape, dt), shape)
    return name


def _element_count(shape):
    """The number of elements of ``shape``, or None where a dim is symbolic."""
    n = 1
    for d in shape:
        if not isinstance(d, int):
            return None
        n *= d
    return n


@converts("constant_pad")
def _constant_pad(op: OpCall):
    b, x = op.b, op.args[0]
    shape, src, dst, value = (op.kwargs[k] if k in op.kwargs else op.args[i + 1]
                              for i, k in enumerate(("shape", "src", "dst", "value")))
    name = x.name
    starts, ends, axes = [], [], []
    for d, s in enumerate(list(src)[:x.rank]):
        if isinstance(s, slice) and s != slice(None) and (s.start or s.stop is not None):
            n = x.shape[d]
            if isinstance(n, SymInt) or any(isinstance(v, SymInt) for v in (s.start, s.stop)):
                op.unsupported("cropping a dynamic axis")
            if (s.start or 0) != 0 or (s.stop is not None and s.stop != n):
                starts.append(s.start or 0)
                ends.append(n if s.stop is None else s.stop)
                axes.append(d)
    if axes:
        name = b.add("Slice", [name, b.i64(starts), b.i64(ends), b.i64(axes)])
    lo, hi = [0] * x.rank, [0] * x.rank
    for d, s in enumerate(list(dst)[:x.rank]):
        if isinstance(s, slice) and s != slice(None):
            if any(isinstance(v, SymInt) for v in (s.start, s.stop, shape[d])):
                op.unsupported("padding a dynamic axis")
            lo[d] = s.start or 0
            hi[d] = int(shape[d]) - (s.stop if s.stop is not None else int(shape[d]))
    return b.add("Pad", [name, b.i64(lo + hi), b.operand(value, x.dtype)], mode="constant")


@converts("repeat")
def _repeat(op: OpCall):
    b, x = op.b, op.args[0]
    reps = op.kwargs.get("reps", op.args[1] if len(op.args) > 1 else None)
    reps = [int(r) for r in reps]
    name = x.name
    lead = len(reps) - x.rank
    if lead > 0:
        name = b.unsqueeze(name, list(range(lead)))
    return b.add("Tile", [name, b.i64(reps)])


@converts("flip")
def _flip(op: OpCall):
    b, x = op.b, op.args[0]
    dims = op.kwargs.get("dims", op.args[1] if len(op.args) > 1 else None)
    dims = [int(d) for d in dims]
    return b.add("Slice", [x.name, b.i64([-1] * len(dims)), b.i64([-_BIG] * len(dims)),
                           b.i64(dims), b.i64([-1] * len(dims))])


@converts("const_like")
def _const_like(op: OpCall):
    b, x = op.b, op.args[0]
    value = np.asarray(op.kwargs["value"])
    flat = value.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return b.add("Expand", [b.constant(flat[:1].reshape(())), b.shape_tensor(op.shape)])
    if not is_static(x.shape):
        op.unsupported("a constant mask whose shape follows a dynamic axis")
    return b.add("Identity", [b.constant(value)])


# -- matrix products --------------------------------------------------------------------------

@converts("matmul", "bmm")
def _matmul(op: OpCall):
    a, c = op.args[0], op.args[1]
    return op.b.add("MatMul", [a.name, c.name])


@converts("add_matmul")
def _add_matmul(op: OpCall):
    b = op.b
    c, m1, m2, beta, alpha, reduce_batch = op.args[:6]
    out = b.add("MatMul", [m1.name, m2.name])
    if reduce_batch:
        out = b.reduce("ReduceSum", out, (0,), False)
    if alpha != 1:
        out = b.add("Mul", [out, b.scalar(alpha, op.dtype)])
    if beta != 0:
        cn = b.operand(c, op.dtype)
        if beta != 1:
            cn = b.add("Mul", [cn, b.scalar(beta, op.dtype)])
        out = b.add("Add", [out, cn])
    return out


@converts("einsum")
def _einsum(op: OpCall):
    eq = op.kwargs.get("equation") or next(a for a in op.args if isinstance(a, str))
    return op.b.add("Einsum", [a.name for a in op.args if isinstance(a, Value)], equation=eq)
