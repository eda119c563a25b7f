"""Batched ``vmap``: capture the function once, then run the captured ops on the whole batch.

``vmap(func)`` first tries this path and falls back to its loop (``_vmap``) whenever the
path cannot promise the loop's numbers:

1. ``func`` runs on copies of the first batch element under ``ember.fx``'s recorder (compile
   mode: tensors from its closure stay themselves, so gradients reach them) and under a vmap
   level (what vmap refuses, ``.item()`` or ``nonzero``, raises). A graph break, a backward
   pass inside ``func``, a random draw, a forward-AD level, a change to an input in place, a
   capture already recording, a constant made from the element's data: fall back. A second
   capture on the last element must record the same ops on the same constants (ops that read
   values outside the recorded ops, an index from a tensor or ``bincount``, differ there).
2. The graph runs again with each mapped input moved to have its batch dimension first. An
   op none of whose inputs is batched runs as recorded; an op with a batched input runs
   through its batching rule (``_RULES_BY_NAME`` and ``_rule``: elementwise ops, reductions
   and dim-taking ops with their dims shifted by one, views and reshapes with the batch size
   prepended, matmul/linear/conv/pooling with the batch folded into their own batch
   dimensions, the losses). No rule, or a result whose per-element shape or dtype differs
   from what the capture recorded: fall back.

``grad(f)`` and ``grad_and_value(f)`` under ``vmap`` (per-sample gradients) are batched
through ``f``: the differentiated inputs are given one copy per batch element (an expanded
view for an unmapped input), ``f`` runs batched as above, and one backward pass of the sum
of the per-element outputs gives every element's gradient with respect to its own copy.
``jacrev``/``jacfwd`` (``batched_jacobian``) and ``hessian`` (``_second_derivative``) do the
same with one copy per Jacobian row and the identity's rows as cotangents; ``vmap(hessian(f))``
(``_per_sample_second_derivative``) with one copy per element and row.

Below ``MIN_ROWS`` elements or rows the loop is faster than a capture and is taken directly.
``STATS`` counts the calls that took each path (tests read it); ``ENABLED = False`` turns the
batched path off (the benchmark's ``loop`` column).
"""

from __future__ import annotations

import threading

import numpy as np

from .._tensor import Tensor
from ..utils._pytree import tree_flatten, tree_unflatten

STATS = {"batched": 0, "fallback": 0}
ENABLED = True  # False: always the loop (benchmarks compare the two)
last_fallback = None  # why the latest call fell back (an exception), for debugging
# A capture costs several runs of the function (recording, then a second capture to check
# the first), so below this many batch elements (vmap) or Jacobian rows the loop is faster:
# measured on a small MLP's per-sample gradients, batched 2.4 ms at every batch size, the
# loop 1.3 ms at 4 and 2.6 ms at 8 elements (benchmarks/func_ratios.py)
MIN_ROWS = 8


class Fallback(Exception):
    """This call cannot be batched: ``vmap`` runs its loop instead."""


class _AutogradInside(Exception):
    """``func`` called autograd during the capture (a gradient the graph cannot batch)."""


# -- batched values ----------------------------------------------------------------------------
# a value is an ember Tensor; ``batched`` says whether its dim 0 is the vmap dim


def _rank(t: Tensor, batched: bool) -> int:
    return t.dim() - 1 if batched else t.dim()


def _pad_to(t: Tensor, rank: int) -> Tensor:
    """A batched ``t`` with size-1 dims after the batch dim so that each element has
    ``rank`` dims (broadcasting then lines up per element, as it did in the capture)."""
    missing = rank - (t.dim() - 1)
    if missing <= 0:
        return t
    return t.reshape((t.shape[0],) + (1,) * missing + tuple(t.shape[1:]))


def _expand_to_batch(t: Tensor, size: int) -> Tensor:
    return t.unsqueeze(0).expand((size,) + tuple(t.shape))


def _shift(dim: int, rank: int) -> int:
    """A per-element dim (possibly negative) as a dim of the batched value."""
    return (dim % rank if rank else 0) + 1


def _call(target, args, kwargs):
    if isinstance(target, type):
        return target.apply(*args, **kwargs)
    return target(*args, **kwargs)


# -- rules -------------------------------------------------------------------------------------
# rule(ctx, target, args, kwargs, flags) -> (output, output batched); ``flags`` tells for each
# positional argument whether it is a batched tensor (lists of tensors: a list of flags)

_DIM_WORDS = ("dim", "dims", "axis", "axes", "shape", "size", "pshape")


def _elementwise(ctx, target, args, kwargs, flags):
    if any(k in _DIM_WORDS for k in kwargs):
        raise Fallback
    rank = max((_rank(a, f) for a, f in zip(args, flags) if isinstance(a, Tensor)), default=0)
    args = [_pad_to(a, rank) if f else a for a, f in zip(args, flags)]
    return _call(target, args, kwargs), True


def _only_first_batched(flags):
    if not flags[0] or any(f for f in flags[1:] if f is True or (isinstance(f, list) and any(f))):
        raise Fallback


def _reshaping(ctx, target, args, kwargs, flags):
    """View, Reshape, Unsqueeze, Squeeze, Flatten: the recorded per-element result shape with
    the batch size in front."""
    _only_first_batched(flags)
    x = args[0]
    shape = ctx.meta.get("shape")
    if not isinstance(shape, tuple) or any(not isinstance(s, int) for s in shape):
        raise Fallback
    return x.reshape((x.shape[0],) + shape), True


def _expand(ctx, target, args, kwargs, flags):
    _only_first_batched(flags)
    shape = ctx.meta["shape"]
    x = _pad_to(args[0], len(shape))
    return x.expand((x.shape[0],) + tuple(shape)), True


def _axes(ctx, target, args, kwargs, flags):
    """Reductions and other ops with an ``axes`` tuple (sum, mean, var, norms, amax...)."""
    _only_first_batched(flags)
    rank = _rank(args[0], True)
    axes = kwargs.get("axes")
    if not isinstance(axes, tuple) or "pshape" in kwargs:
        raise Fallback
    kwargs = dict(kwargs, axes=tuple(_shift(a, rank) for a in axes))
    # a whole-element reduction is one over dims of the batch: PyTorch's node then is the
    # dim overload's (SumBackward1, MeanBackward1)
    return _call(_dim_overload(target), args, kwargs), True


def _dim_overload(target):
    from .._ops.reduction.sums import Mean, MeanDim, Sum, SumDim

    return {Sum: SumDim, Mean: MeanDim}.get(target, target)


def _norm_affine(ctx, target, args, kwargs, flags):
    """layer_norm/group_norm's op: statistics axes shifted, the weight's broadcast shape
    given the batch dim (a mapped weight, or batch norm's running statistics: the loop)."""
    _only_first_batched(flags)
    axes, pshape = kwargs.get("axes"), kwargs.get("pshape")
    if len(args) != 3 or not isinstance(axes, tuple) or kwargs.get("fixed") is not None \
            or kwargs.get("stats") is not None or not isinstance(pshape, tuple):
        raise Fallback
    rank = _rank(args[0], True)
    kwargs = dict(kwargs, axes=tuple(_shift(a, rank) for a in axes), pshape=(1,) + pshape)
    return _call(target, args, kwargs), True


def _dim(ctx, target, args, kwargs, flags):
    """Softmax, log_softmax, max/min along a dim: ``dim`` shifted by one."""
    _only_first_batched(flags)
    dim = kwargs.get("dim")
    if not isinstance(dim, int):
        raise Fallback
    kwargs = dict(kwargs, dim=_shift(dim, _rank(args[0], True)))
    return _call(target, args, kwargs), True


def _trace(ctx, target, args, kwargs, flags):
    """trace: each matrix's diagonal summed, as PyTorch's batching rule does (its node is
    then SumBackward1)."""
    _only_first_batched(flags)
    return args[0].diagonal(0, -2, -1).sum(-1), True


def _permute(ctx, target, args, kwargs, flags):
    _only_first_batched(flags)
    dims = kwargs.get("dims")
    if not isinstance(dims, tuple):
        raise Fallback
    rank = _rank(args[0], True)
    kwargs = dict(kwargs, dims=(0,) + tuple(_shift(d, rank) for d in dims))
    return _call(target, args, kwargs), True


def _basic_index(ctx, target, args, kwargs, flags):
    _only_first_batched(flags)
    index = kwargs.get("index")
    if not isinstance(index, tuple) or any(isinstance(i, (Tensor, np.ndarray, list, bool))
                                           for i in index):
        raise Fallback
    return _call(target, args, dict(kwargs, index=(slice(None),) + index)), True


def _joining(ctx, target, args, kwargs, flags):
    """cat and stack (each tensor one positional argument): every tensor given the batch dim
    (unbatched ones expanded), ``dim`` shifted by one."""
    dim = kwargs.get("dim")
    if not isinstance(dim, int) or not all(isinstance(t, Tensor) for t in args):
        raise Fallback
    size = next(t.shape[0] for t, f in zip(args, flags) if f)
    rank = len(ctx.meta["shape"])  # cat and stack both normalize dim by the output rank
    tensors = [t if f else _expand_to_batch(t, size) for t, f in zip(args, flags)]
    return _call(target, tensors, dict(kwargs, dim=_shift(dim, rank))), True


def _matmul(ctx, target, args, kwargs, flags):
    """Both operands made at least 2-D per element, batched ones padded to one rank; the
    batch dim is then one more matmul batch dim."""
    from .. import matmul

    if kwargs:
        raise Fallback
    a, b = args
    fa, fb = flags
    ra, rb = _rank(a, fa), _rank(b, fb)
    if ra == 0 or rb == 0:
        raise Fallback
    if ra == 1:
        a = a.unsqueeze(-2)
    if rb == 1:
        b = b.unsqueeze(-1)
    rank = max(max(ra, 2), max(rb, 2))
    a = _pad_to(a, rank) if fa else a
    b = _pad_to(b, rank) if fb else b
    out = matmul(a, b)
    if rb == 1:
        out = out.squeeze(-1)
    if ra == 1:  # (the row dim is last once the column dim is gone: vector @ vector)
        out = out.squeeze(-1 if rb == 1 else -2)
    return out, True


def _linear(ctx, target, args, kwargs, flags):
    """``x @ w.T + b``; a batched weight (model ensembles, per-sample gradients) becomes a
    batched matmul."""
    from .. import matmul

    if kwargs:
        raise Fallback
    x, w, b = (list(args) + [None])[:3]
    fx, fw, fb = (list(flags) + [False])[:3]
    if not fw:
        if fx:
            out = _call(target, (x, w) if b is None else (x, w, b), {})
            if fb:
                out = out + _pad_to(b, _rank(out, True))
            return out, True
        out = _call(target, (x, w), {})
        return out + _pad_to(b, _rank(out, False)), True
    if w.dim() != 3:
        raise Fallback
    size = w.shape[0]
    if not fx:
        x = _expand_to_batch(x, size)
    lead = tuple(x.shape[1:-1])
    x3 = x.reshape(size, -1, x.shape[-1])
    out = matmul(x3, w.transpose(1, 2))
    if b is not None:
        out = out + (b.unsqueeze(1) if fb else b)
    return out.reshape((size,) + lead + (w.shape[1],)), True


def _fold_leading(ctx, target, args, kwargs, flags):
    """Ops that treat their first dim as independent samples (pooling, a conv with an
    unmapped weight): the batch folded into that dim and unfolded from the result."""
    _only_first_batched(flags)
    x = args[0]
    if x.dim() < 3:
        raise Fallback
    size, n = x.shape[0], x.shape[1]
    out = _call(target, (x.reshape((size * n,) + tuple(x.shape[2:])),) + tuple(args[1:]),
                kwargs)
    shapes = ctx.meta["shape"]
    if isinstance(out, tuple):
        return tuple(o.reshape((size,) + s) for o, s in zip(out, shapes)), True
    return out.reshape((size,) + shapes), True


def _conv(ctx, target, args, kwargs, flags):
    """A mapped weight (ensembles, per-sample gradients of a CNN): the batch becomes conv
    groups, as PyTorch's batching rule does."""
    x, w, b, stride, pad, dilation, groups = args
    fx, fw, fb = flags[:3]
    if not fw and not fb:
        return _fold_leading(ctx, target, args, kwargs, flags)
    if kwargs or not fw or x.dim() - fx < 3:
        raise Fallback
    size = w.shape[0]
    if not fx:
        x = _expand_to_batch(x, size)
    if b is not None and not fb:
        b = _expand_to_batch(b, size)
    n, c = x.shape[1], x.shape[2]
    spatial = tuple(x.shape[3:])
    # (B, N, C, *S) -> (N, B*C, *S); weight (B, O, C/g, *K) -> (B*O, C/g, *K)
    xg = x.transpose(0, 1).reshape((n, size * c) + spatial)
    wg = w.reshape((size * w.shape[1],) + tuple(w.shape[2:]))
    bg = b.reshape(-1) if b is not None else None
    out = target.apply(xg, wg, bg, stride, pad, dilation, groups * size)
    out = out.reshape((n, size, w.shape[1]) + tuple(out.shape[2:])).transpose(0, 1)
    return out, True


def _per_element_reduce(loss: Tensor, reduction: str, count=None):
    """``loss`` (batch first, unreduced) reduced over each element's dims."""
    if reduction == "none":
        return loss
    dims = tuple(range(1, loss.dim()))
    if reduction == "sum":
        return loss.sum(dims) if dims else loss
    if reduction != "mean":
        raise Fallback
    if count is not None:
        return (loss.sum(dims) if dims else loss) / count
    return loss.mean(dims) if dims else loss


def _mse_like(ctx, target, args, kwargs, flags):
    """mse, huber, smooth-l1 (``MseLoss`` and subclasses): unreduced, then reduced per
    element."""
    x, t = args[:2]
    fx, ft = flags[:2]
    if _rank(x, fx) != _rank(t, ft) or len(args) != 2:
        raise Fallback
    size = (x if fx else t).shape[0]
    x = x if fx else _expand_to_batch(x, size)
    t = t if ft else _expand_to_batch(t, size)
    if tuple(x.shape) != tuple(t.shape):
        raise Fallback
    loss = target.apply(x, t, reduction="none", p=kwargs.get("p"))
    return _per_element_reduce(loss, kwargs.get("reduction", "mean")), True


def _class_loss(ctx, target, args, kwargs, flags):
    """cross_entropy and nll_loss with class-index targets: computed unreduced on the batch
    folded into the samples, then reduced per element (the mean over the targets that are
    not ``ignore_index``, as PyTorch's does)."""
    fn = getattr(target, "__wrapped__", None)
    if fn is None or len(args) != 2 or set(kwargs) - {"reduction", "ignore_index"}:
        raise Fallback
    x, t = args
    fx, ft = flags
    if t.is_floating_point():
        raise Fallback
    xr, tr = _rank(x, fx), _rank(t, ft)
    if xr != tr + 1 or xr not in (1, 2):
        raise Fallback
    size = (x if fx else t).shape[0]
    x = x if fx else _expand_to_batch(x, size)
    t = t if ft else _expand_to_batch(t, size)
    reduction = kwargs.get("reduction", "mean")
    ignore = kwargs.get("ignore_index", -100)
    flat = fn(x.reshape(-1, x.shape[-1]), t.reshape(-1), reduction="none", ignore_index=ignore)
    loss = flat.reshape(tuple(t.shape))
    count = None
    if reduction == "mean":
        count = (t != ignore).sum(tuple(range(1, t.dim()))) if t.dim() > 1 else \
            (t != ignore).to(loss.dtype)
        count = count.to(loss.dtype)
    return _per_element_reduce(loss, reduction, count), True


def _einsum(ctx, target, args, kwargs, flags):
    ins, out = kwargs.get("ins"), kwargs.get("out")
    if not isinstance(ins, tuple) or not isinstance(out, str) or "." in "".join(ins) + out:
        raise Fallback
    used = set("".join(ins) + out)
    letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                  if c not in used)
    ins = tuple(letter + s if f else s for s, f in zip(ins, flags))
    return _call(target, args, dict(kwargs, ins=ins, out=letter + out)), True


_ACTIVATIONS = ("Gelu", "GeluTanh", "Silu", "Mish", "Hardswish", "Softplus", "LogSigmoid",
                "Elu", "NormalCdf", "PiecewiseLinear", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt",
                "PowScalar")
_RULES_BY_NAME = {
    "View": _reshaping, "Reshape": _reshaping, "Unsqueeze": _reshaping,
    "SqueezeDim": _reshaping, "Squeeze": _reshaping, "Flatten": _reshaping,
    "Expand": _expand,
    "Sum": _axes, "SumDim": _axes, "Mean": _axes, "MeanDim": _axes, "Var": _axes,
    "Std": _axes, "VectorNorm": _axes, "Extreme": _axes, "Prod": _axes, "LogSumExp": _axes,
    "NormAffine": _norm_affine,
    "Softmax": _dim, "LogSoftmax": _dim, "Selected": _dim,
    "Permute": _permute, "TransposeT": _permute, "Transpose": _permute,
    "BasicIndex": _basic_index,
    "Cat": _joining, "Stack": _joining,
    "Matmul": _matmul, "Linear": _linear, "Conv": _conv,
    "MaxPool": _fold_leading, "AvgPool": _fold_leading, "AdaptiveAvgPool": _fold_leading,
    "AdaptiveAvgPoolInDtype": _fold_leading,
    "MseLoss": _mse_like, "HuberLoss": _mse_like, "SmoothL1Loss": _mse_like,
    "cross_entropy": _class_loss, "nll_loss": _class_loss,
    "Einsum": _einsum, "Trace": _trace,
    **{name: _elementwise for name in _ACTIVATIONS},
    # comparisons and logic recorded as functions (no Op class)
    **{name: _elementwise for name in (
        "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
        "not_equal", "isnan", "isinf", "isfinite", "logical_and", "logical_or", "logical_xor",
        "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "abs")},
}


# the reshape a squeeze/unsqueeze rule runs is PyTorch's own view op under vmap
_RESHAPED_NODES = {"SqueezeDim": "SqueezeBackward2", "Unsqueeze": "UnsqueezeBackward0"}


def _name_as_torch_batched(target, out):
    """Give a rule's result the node PyTorch's batching rule ends in (``squeeze(dims)`` for
    ``squeeze(dim)``, the dim overload for a whole-element reduction, ``transpose`` for
    ``t()``), as the loop's stack node is named (``_vmap.VMAPPED_NODES``)."""
    from .._ops._core import set_node_name
    from ._vmap import VMAPPED_NODES

    node = out.grad_fn if isinstance(out, Tensor) else None
    if node is None:
        return
    name = _RESHAPED_NODES.get(getattr(target, "__name__", None)) or \
        VMAPPED_NODES.get(node.name())
    if name is not None:
        set_node_name(out, name)


def _rule(target):
    """The batching rule for a node's target, or None."""
    from .._ops._core import Op

    if isinstance(target, type) and issubclass(target, Op):
        if target.elementwise is True and not target.is_view:
            return _elementwise
        # a rule is for the class it names (a subclass may change the arguments)
        return _RULES_BY_NAME.get(target.__name__)
    return _RULES_BY_NAME.get(getattr(target, "_fx_name", None))


# -- running a captured graph on the batch -----------------------------------------------------


def _flag_of(value, batched: set):
    if isinstance(value, Tensor):
        return id(value) in batched
    if isinstance(value, (list, tuple)):
        return [_flag_of(v, batched) for v in value]
    return False


def _any(flag) -> bool:
    return any(_any(f) for f in flag) if isinstance(flag, list) else bool(flag)


def _holds_array(value) -> bool:
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_array(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_array(v) for v in value.values())
    return False


def _check(node, out, size: int) -> None:
    """The rule's result, per element, has the shape and dtype the capture recorded."""
    shape, dtype = node.meta.get("shape"), node.meta.get("dtype")
    if isinstance(out, Tensor):
        if tuple(out.shape) != (size,) + tuple(shape) or out.dtype is not dtype:
            raise Fallback
    elif isinstance(out, tuple):
        for o, s, d in zip(out, shape, dtype):
            if isinstance(o, Tensor) and (tuple(o.shape) != (size,) + tuple(s)
                                          or o.dtype is not d):
                raise Fallback
    else:
        raise Fallback


def _map_output(value, env):
    """The output structure with its nodes replaced (namedtuples, torch.return_types, kept)."""
    from ..fx.graph import Node

    if isinstance(value, Node):
        return env[value]
    if isinstance(value, tuple):
        mapped = [_map_output(v, env) for v in value]
        return type(value)(*mapped) if hasattr(value, "_fields") else \
            type(value)(mapped) if type(value) is not tuple else tuple(mapped)
    if isinstance(value, list):
        return [_map_output(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _map_output(v, env) for k, v in value.items()}
    return value


def run_graph(graph, inputs, flags, size: int):
    """The graph's output structure computed on the batch: ``inputs`` fill the placeholders
    in order (batched ones with the batch dim first, as ``flags`` says). Returns
    ``(output structure, set of ids of batched tensors)``."""
    from ..fx.graph import map_nodes

    env: dict = {}
    batched: set = set()
    feed = iter(zip(inputs, flags))
    for node in graph.nodes:
        if node.op == "placeholder":
            value, flag = next(feed)
            env[node] = value
            if flag:
                batched.add(id(value))
        elif node.op == "get_attr":
            env[node] = graph.attributes[node.target]
        elif node.op == "call_function":
            if node.meta.get("raw_array") or _holds_array((node.args, node.kwargs)):
                raise Fallback  # a raw array the capture saw may be one element's data
            args = map_nodes(node.args, env.__getitem__)
            kwargs = map_nodes(node.kwargs, env.__getitem__)
            arg_flags = [_flag_of(a, batched) for a in args]
            if not any(_any(f) for f in arg_flags) and \
                    not any(_any(_flag_of(v, batched)) for v in kwargs.values()):
                env[node] = _call(node.target, args, kwargs)
                continue
            if getattr(node.target, "__name__", None) == "getitem" and \
                    not isinstance(node.target, type):
                env[node] = args[0][args[1]]  # one output of a batched op: batched too
                continue
            rule = _rule(node.target)
            if rule is None or any(_any(_flag_of(v, batched)) for v in kwargs.values()):
                raise Fallback
            try:
                out, _ = rule(node, node.target, args, kwargs, arg_flags)
            except Fallback:
                raise
            except Exception as err:  # a rule that does not fit this call: the loop decides
                raise Fallback from err
            _check(node, out, size)
            _name_as_torch_batched(node.target, out)
            env[node] = out
            if isinstance(out, tuple):
                batched.update(id(o) for o in out)
            batched.add(id(out))
        elif node.op == "output":
            return _map_output(node.args[0], env), batched
    raise Fallback


# -- capture -----------------------------------------------------------------------------------


def _copy(t):
    if isinstance(t, Tensor):
        return Tensor._make(np.array(t._data, copy=True), t._dtype)
    return t


def capture_mapped(func, flat_args, flat_dims, spec, kwargs, size: int):
    """The graph of ``func`` on the first batch element, checked against a second capture on
    the last one: ops that read an input's values outside the recorded ops (an index taken
    from a tensor, ``count_nonzero``, ``bincount``) leave one element's data in the graph,
    as constants or arguments, and those differ between the two."""
    graph = capture_element(func, flat_args, flat_dims, spec, kwargs)
    if size > 1 and not same_graph(
            graph, capture_element(func, flat_args, flat_dims, spec, kwargs, size - 1)):
        raise Fallback
    return graph


def _same_target(a, b) -> bool:
    if a is b:
        return True
    name = getattr(a, "_fx_name", None)  # capture's wrappers are made again for each capture
    return name is not None and name == getattr(b, "_fx_name", None) and \
        getattr(a, "__wrapped__", a) is getattr(b, "__wrapped__", b)


def _same_arg(a, b, where_a: dict, where_b: dict) -> bool:
    from ..fx.graph import Node

    if isinstance(a, Node) or isinstance(b, Node):
        return isinstance(a, Node) and isinstance(b, Node) and where_a[a] == where_b[b]
    if type(a) is not type(b):
        return False
    if isinstance(a, Tensor):
        return a is b or (a.shape == b.shape and a.dtype == b.dtype
                          and np.array_equal(a._data, b._data, equal_nan=True))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_arg(x, y, where_a, where_b)
                                        for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_arg(a[k], b[k], where_a, where_b) for k in a)
    if isinstance(a, slice):
        return (a.start, a.stop, a.step) == (b.start, b.stop, b.step)
    if callable(a) and hasattr(a, "__code__"):  # a closure made per call (max's ``pick``)
        if a is b:
            return True
        cells_a, cells_b = a.__closure__ or (), b.__closure__ or ()
        return a.__code__ is b.__code__ and len(cells_a) == len(cells_b) and all(
            _same_arg(x.cell_contents, y.cell_contents, where_a, where_b)
            for x, y in zip(cells_a, cells_b))
    try:
        return a is b or bool(a == b)
    except Exception:
        return False


def same_graph(a, b) -> bool:
    """Whether two captures recorded the same ops on the same constants."""
    if len(a.nodes) != len(b.nodes):
        return False
    where_a = {n: i for i, n in enumerate(a.nodes)}
    where_b = {n: i for i, n in enumerate(b.nodes)}
    for na, nb in zip(a.nodes, b.nodes):
        if na.op != nb.op or na.meta.get("shape") != nb.meta.get("shape"):
            return False
        if na.op == "get_attr":
            if not _same_arg(a.attributes[na.target], b.attributes[nb.target], where_a,
                             where_b):
                return False
        elif na.op == "call_function" and not _same_target(na.target, nb.target):
            return False
        if not _same_arg((na.args, na.kwargs), (nb.args, nb.kwargs), where_a, where_b):
            return False
    return True


def capture_element(func, flat_args, flat_dims, spec, kwargs, index: int = 0):
    """The graph of ``func`` on (copies of) batch element ``index``; Fallback when the capture
    shows that the graph cannot stand for every element."""
    import ember

    from .. import autograd
    from .._ops import _core
    from ..fx.capture import CaptureError, GraphBreak, _active, capture
    from ._vmap import _enter, _exit, _mapped, rng_restore, rng_snapshot

    if getattr(_active, "recorder", None) is not None:
        raise Fallback  # inside another capture (an outer vmap's): the loop is recorded
    if _core._wrappers["forward_ad"] is not None:
        raise Fallback  # dual tensors: their tangents are no part of a captured graph
    originals = [a if d is None else a.select(d, index) for a, d in zip(flat_args, flat_dims)]
    copies = [_copy(a) for a in originals]

    def element(*flat):  # (capture's stand-ins for the copies: tagged again)
        flat = [_mapped(a, level) if d is not None and isinstance(a, Tensor) else a
                for a, d in zip(flat, flat_dims)]
        return func(*tree_unflatten(flat, spec), **kwargs)

    # every backward pass (autograd.grad, .backward(), however imported) reaches the engine
    # through this name
    saved = autograd.run_backward
    thread = threading.get_ident()

    def refusing(original):
        def call(*args, **kw):
            if threading.get_ident() == thread:
                raise _AutogradInside
            return original(*args, **kw)  # another thread's autograd is none of ours
        return call

    snap = rng_snapshot()
    mark = snap[0]._stream.mark()
    autograd.run_backward = refusing(saved)
    # under a vmap level, with the mapped copies tagged: what vmap refuses (.item(), nonzero
    # ...) raises, and a tensor made from mapped data outside any op carries the tag
    level = _enter(next((a.shape[d] for a, d in zip(flat_args, flat_dims) if d is not None),
                        None))
    try:
        graph = capture(element, *copies, _mode="compile")
        if any(isinstance(t, Tensor) and level in t._vmap_levels
               for t in graph.attributes.values()):
            raise Fallback  # a constant of the graph computed from one element's data
    except (GraphBreak, CaptureError, _AutogradInside) as err:
        raise Fallback from err
    except Exception as err:  # the loop raises it again, with the loop's message
        raise Fallback from err
    finally:
        _exit(level)
        autograd.run_backward = saved
        moved = snap[0]._stream.moved_since(mark) or ember._random.default_generator is not snap[0]
        if moved:
            rng_restore(snap)
    if moved or _core._wrappers["forward_ad"] is not None:
        raise Fallback  # a random draw; a forward-AD level opened inside ``func``
    for a, c in zip(originals, copies):  # changed in place: the loop must see it happen
        if isinstance(a, Tensor) and not np.array_equal(a._data, c._data, equal_nan=True):
            raise Fallback
    # the node each output of the element ends in when the op named it after the node of
    # PyTorch's composite (``_name_like_loop``)
    graph.element_nodes = [_renamed_node(t) for t in tree_flatten(graph.live_output)[0]]
    graph.live_output = None
    return graph


def batched_inputs(flat_args, flat_dims):
    """Each tensor argument as the graph's placeholder receives it, with its flag."""
    values, flags = [], []
    for a, d in zip(flat_args, flat_dims):
        if not isinstance(a, Tensor):
            continue
        values.append(a if d is None or d % a.dim() == 0 else a.movedim(d, 0))
        flags.append(d is not None)
    return values, flags


def place_outputs(out, batched, out_flat_dims, size):
    """Each output leaf with its batch dim where ``out_dims`` says (an unmapped leaf
    expanded, as PyTorch's vmap does)."""
    flat, spec = tree_flatten(out)
    result = []
    for v, d in zip(flat, out_flat_dims):
        if not isinstance(v, Tensor):
            raise Fallback
        is_b = id(v) in batched
        if d is None:
            if is_b:
                raise Fallback  # the loop raises PyTorch's error
            result.append(v)
            continue
        if not is_b:
            v = _expand_to_batch(v, size)
        rank = v.dim()
        if not -rank <= d < rank:
            raise Fallback
        # (in place already: no node, so grad_fn is the op's own, as in PyTorch)
        result.append(v if d % rank == 0 else v.movedim(0, d % rank))
    return tree_unflatten(result, spec)


# -- entry points ------------------------------------------------------------------------------


def batched_call(func, flat_args, flat_dims, spec, kwargs, size, out_dims_of):
    """``vmap(func)`` on the batch through one capture; ``out_dims_of(output)`` gives the
    flat out dims for an output structure."""
    info = getattr(func, "_ember_grad", None)
    if size < MIN_ROWS:
        raise Fallback  # the loop is faster
    transform = getattr(func, "_ember_transform", None)
    if transform is not None:
        # vmap(hessian(f)): every element's Hessian in one batched run; any other
        # vmap(jacrev(f)) takes the loop, each element's Jacobian batched
        out, batched = _per_sample_second_derivative(transform, flat_args, flat_dims, spec,
                                                     kwargs, size)
        return place_outputs(out, batched, out_dims_of(out), size)
    if info is not None:
        out, batched = _per_sample_grad(info, flat_args, flat_dims, spec, kwargs, size)
    else:
        graph = capture_mapped(func, flat_args, flat_dims, spec, kwargs, size)
        values, flags = batched_inputs(flat_args, flat_dims)
        out, batched = run_graph(graph, values, flags, size)
        _name_like_loop(out, batched, graph.element_nodes)
    return place_outputs(out, batched, out_dims_of(out), size)


def _renamed_node(t):
    """Where the op behind ``t`` named its node other than after itself (``linear`` under
    vmap: AddBackward0, its batching rule's last op; ``einsum``: ViewBackward0), the name the
    loop gives vmap's result for it (``_vmap.batched_node_name``); else None."""
    from ._vmap import batched_node_name

    node = t.grad_fn if isinstance(t, Tensor) else None
    if node is None or type(node)._op_class is None:
        return None
    if node.name() == type(node)._op_class._default_name():
        return None
    return batched_node_name(node)


def _name_like_loop(out, batched, element_nodes) -> None:
    """Give a batched output whose element's node was renamed after PyTorch's composite
    (``_renamed_node``) the node the loop's stacked output gets: a rule computes such an op
    from other ops (linear as a batched matmul), and both paths then read as PyTorch."""
    from .._ops._core import set_node_name

    for value, name in zip(tree_flatten(out)[0], element_nodes):
        if name is not None and isinstance(value, Tensor) and id(value) in batched \
                and value.grad_fn is not None:
            set_node_name(value, name)


def _leaf_ranges(spec, flat_args):
    """The positional arguments, and for each the range of its leaves in the flat list."""
    args = tree_unflatten(list(flat_args), spec)
    ranges, start = [], 0
    for a in args:
        n = len(tree_flatten(a)[0])
        ranges.append(range(start, start + n))
        start += n
    return args, ranges


def _per_sample_grad(info, flat_args, flat_dims, spec, kwargs, size):
    """``vmap(grad(f))``/``vmap(grad_and_value(f))``: each element's gradient with respect
    to its own copy of the differentiated inputs, from one batched forward and backward."""
    from .. import autograd, zeros_like
    from ..autograd.grad_mode import enable_grad, is_grad_enabled
    from ._traced_call import check_argnums

    f, argnums, has_aux, with_value = info
    args, ranges = _leaf_ranges(spec, flat_args)
    nums = check_argnums(argnums, len(args))
    chosen = (nums,) if isinstance(nums, int) else tuple(nums)
    diff = {i for n in chosen for i in ranges[n]}
    graph = capture_mapped(f, flat_args, flat_dims, spec, kwargs, size)
    values, flags, diff_values, slots = [], [], [], {}
    needs_graph = False
    for i, (a, d) in enumerate(zip(flat_args, flat_dims)):
        if not isinstance(a, Tensor):
            if i in diff:
                raise Fallback
            continue
        needs_graph = needs_graph or a.requires_grad
        v = a if d is None else a.movedim(d, 0)
        if i in diff:
            if not (a.is_floating_point() or a.is_complex()):
                raise Fallback
            if d is None:
                v = _expand_to_batch(v, size)
            if not v.requires_grad:
                v = v.detach().requires_grad_()
            slots[i] = len(diff_values)
            diff_values.append(v)
        values.append(v)
        flags.append(d is not None or i in diff)
    # gradients of the gradients (an outer grad or backward) need a graph of this backward
    needs_graph = is_grad_enabled() and (needs_graph or any(
        isinstance(t, Tensor) and t.requires_grad for t in graph.attributes.values()))
    with enable_grad():
        out, batched = run_graph(graph, values, flags, size)
    aux = None
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise Fallback
        out, aux = out
    if not isinstance(out, Tensor) or id(out) not in batched or tuple(out.shape) != (size,) \
            or not (out.is_floating_point() or out.is_complex()):
        raise Fallback
    grads = autograd.grad(out.sum(), diff_values, create_graph=needs_graph, allow_unused=True)
    grads = [zeros_like(v).detach() if g is None else g for g, v in zip(grads, diff_values)]
    aux_flat, aux_spec = tree_flatten(aux)
    aux_flags = [isinstance(t, Tensor) and id(t) in batched for t in aux_flat]
    if not needs_graph:
        out = out.detach()
        aux_flat = [t.detach() if isinstance(t, Tensor) else t for t in aux_flat]
    aux = tree_unflatten(aux_flat, aux_spec)
    new_batched = {id(g) for g in grads} | {id(out)}
    new_batched.update(id(t) for t, b in zip(aux_flat, aux_flags) if b)
    per_arg = [tree_unflatten([grads[slots[i]] for i in ranges[n]], tree_flatten(args[n])[1])
               for n in chosen]
    g = per_arg[0] if isinstance(nums, int) else tuple(per_arg)
    if with_value:
        result = (g, (out, aux)) if has_aux else (g, out)
    else:
        result = (g, aux) if has_aux else g
    return result, new_batched


def batched_jacobian(func, args, kwargs, argnums):
    """``jacrev(func, argnums)(*args)`` (and ``jacfwd``'s, the same numbers): ``func``
    captured once and run on one copy of the inputs per output element, then one backward
    pass with the identity's rows as cotangents gives every row of the Jacobian."""
    from .. import autograd, eye, zeros
    from ..autograd.function import _functorch_layers
    from ..autograd.grad_mode import enable_grad, is_grad_enabled

    if "grad" in _functorch_layers.stack or "jvp" in _functorch_layers.stack:
        # inside an outer derivative (hessian = jacfwd(jacrev)): the outer one would take
        # each of its rows through this batched graph, n times the work of one row
        raise Fallback
    inner = getattr(func, "_ember_transform", None)
    if inner is not None:
        return _second_derivative(inner, args, kwargs, argnums)
    if getattr(func, "_ember_grad", None):
        raise Fallback  # jacrev(grad(f)): grad calls autograd, which a capture refuses
    flat_args, spec = tree_flatten(tuple(args))
    args_tuple, ranges = _leaf_ranges(spec, flat_args)
    chosen = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    diff = [i for n in chosen for i in ranges[n]]
    if any(not isinstance(flat_args[i], Tensor) for i in diff):
        raise Fallback
    if sum(flat_args[i].numel() for i in diff) < MIN_ROWS:
        raise Fallback  # few rows, likely (the outputs are not known before a run)
    graph = capture_element(func, flat_args, [None] * len(flat_args), spec, kwargs)
    example = graph.example_output
    flat_out, out_spec = tree_flatten(example)
    if not flat_out or not all(isinstance(o, Tensor) and o.is_floating_point()
                               for o in flat_out):
        raise Fallback
    size = sum(o.numel() for o in flat_out)
    if size == 0:
        raise Fallback
    needs_graph = is_grad_enabled() and (
        any(isinstance(a, Tensor) and a.requires_grad for a in flat_args)
        or any(isinstance(t, Tensor) and t.requires_grad for t in graph.attributes.values()))
    values, flags, diff_values = [], [], [None] * len(diff)  # in argnums' order
    for i, a in enumerate(flat_args):
        if not isinstance(a, Tensor):
            continue
        if i in diff:
            v = _expand_to_batch(a, size)
            if not v.requires_grad:
                v = v.detach().requires_grad_()
            diff_values[diff.index(i)] = v
        else:
            v = a
        values.append(v)
        flags.append(i in diff)
    with enable_grad():
        out, batched = run_graph(graph, values, flags, size)
    outs = tree_flatten(out)[0]
    basis = eye(size, dtype=flat_out[0].dtype, device=flat_out[0].device)
    pairs, start = [], 0
    for o, ex in zip(outs, flat_out):
        n = ex.numel()
        if id(o) in batched and o.dtype is ex.dtype:
            pairs.append((o, basis[:, start:start + n].reshape((size,) + tuple(ex.shape))))
        start += n
    grads = autograd.grad([o for o, _ in pairs], diff_values, grad_outputs=[c for _, c in pairs],
                          create_graph=needs_graph, allow_unused=True) if pairs else \
        [None] * len(diff_values)
    blocks_per_output, start = [], 0
    for ex in flat_out:
        n = ex.numel()
        blocks = []
        for g, x in zip(grads, diff_values):
            shape = tuple(ex.shape) + tuple(x.shape[1:])
            if g is None:
                blocks.append(zeros(shape, dtype=x.dtype, device=x.device))
            else:
                block = g[start:start + n].reshape(shape)
                blocks.append(block if needs_graph else block.detach())
        start += n
        picked = args_tuple[chosen[0]] if isinstance(argnums, int) else \
            tuple(args_tuple[k] for k in chosen)
        blocks_per_output.append(tree_unflatten(blocks, tree_flatten(picked)[1]))
    return tree_unflatten(blocks_per_output, out_spec)


def _second_pass(firsts, basis, counts, outer_values, needs_graph):
    """The backward of the first derivatives ``firsts`` (one per inner leaf of ``counts``
    elements each) against the columns of ``basis`` they occupy, with respect to
    ``outer_values``: the offsets of the leaves' columns and the second derivatives."""
    from .. import autograd

    pairs, offsets, start = [], [], 0
    for g, n in zip(firsts, counts):
        offsets.append(start)
        if g is not None and g.requires_grad:
            pairs.append((g, basis[:, start:start + n].reshape(tuple(g.shape))))
        start += n
    seconds = autograd.grad([g for g, _ in pairs], outer_values,
                            grad_outputs=[c for _, c in pairs], create_graph=needs_graph,
                            allow_unused=True) if pairs else [None] * len(outer_values)
    return offsets, seconds


def _second_derivative(inner, args, kwargs, outer_argnums):
    """``jacrev``/``jacfwd`` of ``jacrev(f, inner_argnums)`` (or ``jacfwd``) for a ``f`` with
    one output element (``hessian``, mixed partials): ``f`` runs once on one copy of the
    inputs per element of its gradient; the gradient (a backward pass keeping its graph) then
    gets the identity's rows as cotangents in a second one."""
    from .. import autograd, eye, zeros
    from ..autograd.grad_mode import enable_grad, is_grad_enabled
    from ._traced_call import check_argnums

    f, inner_argnums, inner_aux = inner
    if inner_aux or getattr(f, "_ember_transform", None) or getattr(f, "_ember_grad", None):
        raise Fallback
    flat_args, spec = tree_flatten(tuple(args))
    args_tuple, ranges = _leaf_ranges(spec, flat_args)
    inner_nums = check_argnums(inner_argnums, len(args_tuple))
    inner_chosen = (inner_nums,) if isinstance(inner_nums, int) else tuple(inner_nums)
    outer_chosen = (outer_argnums,) if isinstance(outer_argnums, int) else tuple(outer_argnums)
    inner_leaves = [i for n in inner_chosen for i in ranges[n]]
    outer_leaves = [i for n in outer_chosen for i in ranges[n]]
    if any(not isinstance(flat_args[i], Tensor) or not flat_args[i].is_floating_point()
           for i in inner_leaves + outer_leaves):
        raise Fallback
    size = sum(flat_args[i].numel() for i in inner_leaves)
    if size < MIN_ROWS:
        raise Fallback  # the loop is faster
    graph = capture_element(f, flat_args, [None] * len(flat_args), spec, kwargs)
    example = graph.example_output
    if not isinstance(example, Tensor) or example.numel() != 1 \
            or not example.is_floating_point():
        raise Fallback
    needs_graph = is_grad_enabled() and (
        any(isinstance(a, Tensor) and a.requires_grad for a in flat_args)
        or any(isinstance(t, Tensor) and t.requires_grad for t in graph.attributes.values()))
    copies, values, flags = {}, [], []
    for i, a in enumerate(flat_args):
        if not isinstance(a, Tensor):
            continue
        if i in inner_leaves or i in outer_leaves:
            v = _expand_to_batch(a, size)
            copies[i] = v if v.requires_grad else v.detach().requires_grad_()
            values.append(copies[i])
            flags.append(True)
        else:
            values.append(a)
            flags.append(False)
    with enable_grad():
        out, batched = run_graph(graph, values, flags, size)
        if id(out) not in batched:
            raise Fallback
        firsts = autograd.grad(out.sum(), [copies[i] for i in inner_leaves], create_graph=True,
                               allow_unused=True)
    basis = eye(size, dtype=example.dtype, device=example.device)
    outer_values = [copies[i] for i in outer_leaves]
    offsets, seconds = _second_pass(firsts, basis, [flat_args[i].numel() for i in inner_leaves],
                                    outer_values, needs_graph)
    picked_outer = args_tuple[outer_chosen[0]] if isinstance(outer_argnums, int) else \
        tuple(args_tuple[k] for k in outer_chosen)
    outer_spec = tree_flatten(picked_outer)[1]
    per_inner_leaf = []
    for i, start in zip(inner_leaves, offsets):
        x = flat_args[i]
        n = x.numel()
        head = tuple(example.shape) + tuple(x.shape)
        blocks = []
        for s, y in zip(seconds, outer_values):
            shape = head + tuple(y.shape[1:])
            if s is None:
                blocks.append(zeros(shape, dtype=y.dtype, device=y.device))
            else:
                block = s[start:start + n].reshape(shape)
                blocks.append(block if needs_graph else block.detach())
        per_inner_leaf.append(tree_unflatten(blocks, outer_spec))
    picked_inner = args_tuple[inner_chosen[0]] if isinstance(inner_nums, int) else \
        tuple(args_tuple[k] for k in inner_chosen)
    return tree_unflatten(per_inner_leaf, tree_flatten(picked_inner)[1])


def _per_sample_second_derivative(transform, flat_args, flat_dims, spec, kwargs, size):
    """``vmap(hessian(f))`` (``jacfwd``/``jacrev`` of ``jacrev(f)``, ``f`` scalar-valued) on
    ``size`` elements with ``n`` gradient entries each: ``f`` runs once on ``size * n`` rows
    (row ``b * n + r`` holds element ``b``'s inputs), its gradient keeps its graph, and a
    second backward pass with the identity's rows tiled ``size`` times as cotangents gives
    every element's Hessian, where the loop takes ``size * n`` small backward passes."""
    from .. import autograd, eye, zeros
    from ..autograd.grad_mode import enable_grad, is_grad_enabled
    from ._traced_call import check_argnums

    jacobian_of, outer_argnums, outer_aux = transform
    inner = getattr(jacobian_of, "_ember_transform", None)
    if outer_aux or inner is None:
        raise Fallback
    f, inner_argnums, inner_aux = inner
    if inner_aux or getattr(f, "_ember_transform", None) or getattr(f, "_ember_grad", None):
        raise Fallback
    args_tuple, ranges = _leaf_ranges(spec, flat_args)
    inner_nums = check_argnums(inner_argnums, len(args_tuple))
    outer_nums = check_argnums(outer_argnums, len(args_tuple))
    inner_chosen = (inner_nums,) if isinstance(inner_nums, int) else tuple(inner_nums)
    outer_chosen = (outer_nums,) if isinstance(outer_nums, int) else tuple(outer_nums)
    inner_leaves = [i for k in inner_chosen for i in ranges[k]]
    outer_leaves = [i for k in outer_chosen for i in ranges[k]]
    if any(not isinstance(flat_args[i], Tensor) or not flat_args[i].is_floating_point()
           for i in inner_leaves + outer_leaves):
        raise Fallback

    def element_shape(i):
        a, d = flat_args[i], flat_dims[i]
        return tuple(a.shape) if d is None else tuple(a.movedim(d, 0).shape[1:])

    n = sum(int(np.prod(element_shape(i))) for i in inner_leaves)
    if n == 0:
        raise Fallback
    rows = size * n
    graph = capture_mapped(f, flat_args, flat_dims, spec, kwargs, size)
    example = graph.example_output
    if not isinstance(example, Tensor) or example.numel() != 1 \
            or not example.is_floating_point():
        raise Fallback
    needs_graph = is_grad_enabled() and (
        any(isinstance(a, Tensor) and a.requires_grad for a in flat_args)
        or any(isinstance(t, Tensor) and t.requires_grad for t in graph.attributes.values()))
    differentiated = set(inner_leaves) | set(outer_leaves)
    copies, values, flags = {}, [], []
    for i, (a, d) in enumerate(zip(flat_args, flat_dims)):
        if not isinstance(a, Tensor):
            continue
        if d is not None:
            v = a.movedim(d, 0).repeat_interleave(n, dim=0)
        elif i in differentiated:
            v = _expand_to_batch(a, rows)
        else:
            values.append(a)
            flags.append(False)
            continue
        if i in differentiated:
            v = v if v.requires_grad else v.detach().requires_grad_()
            copies[i] = v
        values.append(v)
        flags.append(True)
    with enable_grad():
        out, batched = run_graph(graph, values, flags, rows)
        if id(out) not in batched:
            raise Fallback
        firsts = autograd.grad(out.sum(), [copies[i] for i in inner_leaves], create_graph=True,
                               allow_unused=True)
    basis = eye(n, dtype=example.dtype, device=example.device).repeat(size, 1)
    offsets, seconds = _second_pass(firsts, basis,
                                    [int(np.prod(element_shape(i))) for i in inner_leaves],
                                    [copies[i] for i in outer_leaves], needs_graph)
    picked_outer = args_tuple[outer_chosen[0]] if isinstance(outer_nums, int) else \
        tuple(args_tuple[k] for k in outer_chosen)
    outer_spec = tree_flatten(picked_outer)[1]
    per_inner_leaf, result_ids = [], set()
    for i, start in zip(inner_leaves, offsets):
        x_shape = element_shape(i)
        k = int(np.prod(x_shape))
        head = (size,) + tuple(example.shape) + x_shape
        blocks = []
        for s, j in zip(seconds, outer_leaves):
            y = copies[j]
            shape = head + element_shape(j)
            if s is None:
                block = zeros(shape, dtype=y.dtype, device=y.device)
            else:
                block = s.reshape((size, n) + element_shape(j))[:, start:start + k]
                block = block.reshape(shape)
                block = block if needs_graph else block.detach()
            result_ids.add(id(block))
            blocks.append(block)
        per_inner_leaf.append(tree_unflatten(blocks, outer_spec))
    picked_inner = args_tuple[inner_chosen[0]] if isinstance(inner_nums, int) else \
        tuple(args_tuple[k] for k in inner_chosen)
    return tree_unflatten(per_inner_leaf, tree_flatten(picked_inner)[1]), result_ids
