"""Counting FLOPs, as ``torch.utils.flop_counter``: ``FlopCounterMode`` counts the matrix
multiplies, convolutions and attention run inside it, forward and backward, by module, with
torch's formulas (``mm_flop``, ``conv_flop_count``, ``sdpa_flop_count`` ...) under torch's
aten names (``aten.mm``, ``aten.addmm``, ``aten.bmm``, ``aten.convolution``, ...).

torch counts at the aten level, so ember translates each of its ops into the aten calls torch
would make for the same call: ``F.linear`` with a bias on a contiguous input is one
``aten.addmm``; ``matmul`` folds batch dimensions into ``aten.mm`` or runs ``aten.bmm`` by
torch's own folding rule (ranks, strides and which operand requires grad); vector products
(``dot``, ``mv``) are not counted, as in torch. A backward node counts what torch's backward
formula for it runs (one ``aten.mm`` per input needing a gradient for a matrix product,
``aten.convolution_backward`` for a convolution), whatever ember computes it with.

Differences from torch: 4-d ``scaled_dot_product_attention`` is counted with torch's SDPA
formula under ``aten._scaled_dot_product_flash_attention`` (torch's CPU kernel is not in its
registry and counts nothing; on CUDA it counts this); ``einsum`` counts the ``aten.bmm`` calls
of torch's left-to-right pairwise contraction (torch with opt_einsum may pick another order
for three or more operands); the module
attribution of backward FLOPs is the module whose forward created the node.

The ops are observed through the profiler's hooks (``ember.profiler._recorder``), installed
only while a counter (or a profiler) is active: outside one, ops run with no extra cost.

Example:
    >>> import ember
    >>> x, w = ember.randn(4, 8), ember.randn(8, 3)
    >>> with FlopCounterMode(display=False) as counter:
    ...     y = x @ w
    >>> counter.get_total_flops()
    192
"""

from __future__ import annotations

import inspect
import warnings
import weakref
from collections import defaultdict
from functools import wraps
from math import prod

__all__ = ["FlopCounterMode", "register_flop_formula"]


class _AtenOp:
    """The key of a count: prints as torch's op packet (``aten.mm``)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='{self.name}')>"

    def __eq__(self, other):
        return str(other) == self.name if isinstance(other, (_AtenOp, str)) else NotImplemented

    def __hash__(self):
        return hash(self.name)


_OPS: dict = {}


def _op(name) -> _AtenOp:
    name = str(name)
    if name not in _OPS:
        _OPS[name] = _AtenOp(name)
    return _OPS[name]


def get_shape(i):
    """A tensor's shape; anything else as it is.

    Example:
        >>> import ember
        >>> get_shape(ember.ones(2, 3)), get_shape((4,))
        (torch.Size([2, 3]), (4,))
    """
    return i.shape if hasattr(i, "shape") and not isinstance(i, (tuple, list)) else i


def shape_wrapper(f):
    """Wrap a formula so that tensors among its arguments arrive as shapes (torch's
    ``shape_wrapper``); ``out_val`` becomes ``out_shape``.

    Example:
        >>> shape_wrapper(lambda a, b, out_shape=None: a[0] * b[1])((2, 3), (3, 4))
        8
    """
    @wraps(f)
    def nf(*args, out_val=None, **kwargs):
        args = [get_shape(a) for a in args]
        out_shape = get_shape(out_val)
        return f(*args, out_shape=out_shape, **kwargs)

    return nf


flop_registry: dict = {}


def register_flop_formula(targets, get_raw=False):
    """Register a FLOP formula for aten op names (or anything whose ``str`` is one, such as
    ``ember.ops.aten.mm``): ``formula(*shapes, out_shape=..., **kwargs) -> int``.

    Example:
        >>> @register_flop_formula("aten.my_op")
        ... def my_op_flop(a_shape, out_shape=None, **kwargs):
        ...     return 2 * a_shape[0]
        >>> flop_registry[_op("aten.my_op")]((5,))
        10
    """
    def register_fun(flop_formula):
        wrapped = flop_formula if get_raw else shape_wrapper(flop_formula)
        for target in targets if isinstance(targets, (list, tuple)) else [targets]:
            flop_registry[_op(target)] = wrapped
        return flop_formula

    return register_fun


# -- torch's formulas ------------------------------------------------------------------------

@register_flop_formula("aten.mm")
def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of ``a @ b`` for matrices: ``2 * m * n * k``.

    Example:
        >>> mm_flop((4, 8), (8, 3))
        192
    """
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"matmul: inner dimensions must match (k == k2), got {k} and {k2}")
    return m * n * 2 * k


@register_flop_formula("aten.addmm")
def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """FLOPs of ``addmm``: those of its product.

    Example:
        >>> addmm_flop((3,), (4, 8), (8, 3))
        192
    """
    return mm_flop(a_shape, b_shape)


@register_flop_formula("aten.bmm")
def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """FLOPs of a batched matrix product: ``2 * b * m * n * k``.

    Example:
        >>> bmm_flop((2, 4, 8), (2, 8, 3))
        384
    """
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2:
        raise AssertionError(f"bmm: batch dimensions must match (b == b2), got {b} and {b2}")
    if k != k2:
        raise AssertionError(f"bmm: inner dimensions must match (k == k2), got {k} and {k2}")
    return b * m * n * 2 * k


@register_flop_formula("aten.baddbmm")
def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """FLOPs of ``baddbmm``: those of its batched product.

    Example:
        >>> baddbmm_flop((2, 4, 3), (2, 4, 8), (2, 8, 3))
        384
    """
    return bmm_flop(a_shape, b_shape)


def conv_flop_count(x_shape, w_shape, out_shape, transposed: bool = False) -> int:
    """FLOPs of a convolution (multiplications and additions; the bias is not counted): each
    output point (each input point when transposed) costs a filter's worth per channel pair.

    Example:
        >>> conv_flop_count([2, 3, 6, 6], [4, 3, 3, 3], [2, 4, 6, 6])
        15552
    """
    batch_size = x_shape[0]
    conv_shape = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *filter_size = w_shape
    return prod(conv_shape) * prod(filter_size) * batch_size * c_out * c_in * 2


@register_flop_formula(["aten.convolution", "aten._convolution"])
def conv_flop(x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, *args,
              out_shape=None, **kwargs) -> int:
    """FLOPs of ``aten.convolution``.

    Example:
        >>> conv_flop([2, 3, 6, 6], [4, 3, 3, 3], None, [1, 1], [1, 1], [1, 1], False,
        ...           out_shape=[2, 4, 6, 6])
        15552
    """
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


@register_flop_formula("aten.convolution_backward")
def conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation,
                       transposed, _output_padding, _groups, output_mask, out_shape,
                       **kwargs) -> int:
    """FLOPs of a convolution's backward: the input gradient is a transposed convolution of
    the output gradient, the weight gradient a convolution of input and output gradient.

    Example:
        >>> conv_backward_flop([2, 4, 6, 6], [2, 3, 6, 6], [4, 3, 3, 3], None, [1, 1], [1, 1],
        ...                    [1, 1], False, [0, 0], 1, [True, True, False],
        ...                    [[2, 3, 6, 6], [4, 3, 3, 3], None])
        31104
    """
    def t(shape):
        return [shape[1], shape[0]] + list(shape[2:])

    flop_count = 0
    if output_mask[0]:
        grad_input_shape = get_shape(out_shape[0])
        flop_count += conv_flop_count(grad_out_shape, w_shape, grad_input_shape,
                                      not transposed)
    if output_mask[1]:
        grad_weight_shape = get_shape(out_shape[1])
        if transposed:
            flop_count += conv_flop_count(t(grad_out_shape), t(x_shape), t(grad_weight_shape),
                                          transposed=False)
        else:
            flop_count += conv_flop_count(t(x_shape), t(grad_out_shape), t(grad_weight_shape),
                                          transposed=False)
    return flop_count


def sdpa_flop_count(query_shape, key_shape, value_shape) -> int:
    """FLOPs of attention's two batched products (grouped-query heads allowed).

    Example:
        >>> sdpa_flop_count((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4))
        2400
    """
    b, h_q, s_q, d_q = query_shape
    _b2, h_kv, s_k, _d2 = key_shape
    _b3, _h3, _s3, d_v = value_shape
    if not (b == _b2 == _b3 and h_kv == _h3 and d_q == _d2 and s_k == _s3):
        raise AssertionError(f"sdpa_flop_count: query/key/value shapes are incompatible: "
                             f"q={query_shape}, k={key_shape}, v={value_shape}")
    if h_q < h_kv or h_q % h_kv != 0:
        raise AssertionError(f"sdpa_flop_count: query heads ({h_q}) must be a multiple of "
                             f"key/value heads ({h_kv})")
    return (bmm_flop((b * h_q, s_q, d_q), (b * h_q, d_q, s_k))
            + bmm_flop((b * h_q, s_q, s_k), (b * h_q, s_k, d_v)))


@register_flop_formula(["aten._scaled_dot_product_efficient_attention",
                        "aten._scaled_dot_product_flash_attention",
                        "aten._scaled_dot_product_cudnn_attention"])
def sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of fused attention (the causal mask is not taken into account, as in torch).

    Example:
        >>> sdpa_flop((1, 1, 4, 2), (1, 1, 4, 2), (1, 1, 4, 2))
        128
    """
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape) -> int:
    """FLOPs of attention's backward: the scores ``Q @ K^T`` are recomputed, then four batched
    products give the gradients of the probabilities, ``V``, ``Q`` and ``K``. Query heads may
    be a multiple of the key/value heads (grouped-query attention); every product runs over the
    query heads.

    Example:
        >>> s = (2, 3, 5, 4)
        >>> sdpa_backward_flop_count(s, s, s, s)
        6000
    """
    name = "sdpa_backward_flop_count"
    (b, h_q, s_q, d_q), (b_k, h_kv, s_k, d_k) = query_shape, key_shape
    (b_g, h_g, s_g, d_g), (b_v, h_v, s_v, d_v) = grad_out_shape, value_shape
    if len({b, b_k, b_g, b_v}) != 1 or h_g != h_q or h_v != h_kv:
        raise AssertionError(f"{name}: batch/heads mismatch among tensors")
    if h_q < h_kv or h_q % h_kv:
        raise AssertionError(f"{name}: query heads ({h_q}) must be a multiple of key/value "
                             f"heads ({h_kv})")
    if (s_g, d_g) != (s_q, d_v) or d_k != d_q or s_v != s_k:
        raise AssertionError(f"{name}: grad_out/value/key/query shapes are incompatible")
    # per (batch, query head): one product of contraction d_q recomputes the scores, two more
    # give dQ and dK; the two of contraction or width d_v give dV and dP
    return 2 * b * h_q * s_q * s_k * (3 * d_q + 2 * d_v)


@register_flop_formula(["aten._scaled_dot_product_efficient_attention_backward",
                        "aten._scaled_dot_product_flash_attention_backward",
                        "aten._scaled_dot_product_cudnn_attention_backward"])
def sdpa_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args,
                       out_shape=None, **kwargs) -> int:
    """FLOPs of fused attention's backward.

    Example:
        >>> s = (1, 1, 4, 2)
        >>> sdpa_backward_flop(s, s, s, s)
        320
    """
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


# -- the table -------------------------------------------------------------------------------

suffixes = ["", "K", "M", "B", "T"]


def get_suffix_str(number) -> str:
    """The suffix a total is shown with (``1.01B`` shows as ``1010M``).

    Example:
        >>> get_suffix_str(123), get_suffix_str(12345), get_suffix_str(12345678)
        ('', 'K', 'M')
    """
    index = max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))
    return suffixes[index]


def convert_num_with_suffix(number, suffix) -> str:
    """``number`` in the unit of ``suffix``, three decimals.

    Example:
        >>> convert_num_with_suffix(12345, "K")
        '12.345K'
    """
    index = suffixes.index(suffix)
    return f"{number / 1000 ** index:.3f}" + suffixes[index]


def convert_to_percent_str(num, denom) -> str:
    """``num / denom`` as a percentage with two decimals (``0%`` when ``denom`` is 0).

    Example:
        >>> convert_to_percent_str(1, 3)
        '33.33%'
    """
    if denom == 0:
        return "0%"
    return f"{num / denom:.2%}"


def _as_number(text):
    # tabulate's reading of a cell: an int, else a float, else text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return None


def _tabulate(rows, headers, colalign) -> str:
    """``tabulate.tabulate(rows, headers, colalign=...)`` in its "simple" format with
    whitespace preserved, as torch calls it: a column whose every cell reads as a number is
    written as numbers (``"320.000"`` -> ``320``), widths leave two spaces around headers."""
    columns = [list(col) for col in zip(*rows)]
    for c, col in enumerate(columns):
        numbers = [_as_number(cell) for cell in col]
        if all(isinstance(n, int) for n in numbers):
            columns[c] = [str(n) for n in numbers]
        elif all(n is not None for n in numbers):
            columns[c] = [format(float(n), "g") for n in numbers]
    widths = [max([len(h) + 2] + [len(cell) for cell in col])
              for h, col in zip(headers, columns)]

    def line(cells):
        return "  ".join(cell.ljust(w) if align == "left" else cell.rjust(w)
                         for cell, w, align in zip(cells, widths, colalign)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(cells) for cells in zip(*columns))
    return "\n".join(out)


# -- translating ember's ops into torch's aten calls -----------------------------------------

class _Operand:
    """What torch's matmul folding looks at: shape, strides, requires_grad."""

    __slots__ = ("shape", "strides", "requires_grad")

    def __init__(self, shape, strides, requires_grad):
        self.shape, self.strides, self.requires_grad = tuple(shape), tuple(strides), \
            requires_grad

    @classmethod
    def of(cls, t):
        return cls(t.shape, t.stride(), t.requires_grad)

    def mT(self):  # noqa: N802  (torch's name)
        s, st = list(self.shape), list(self.strides)
        s[-1], s[-2], st[-1], st[-2] = s[-2], s[-1], st[-2], st[-1]
        return _Operand(s, st, self.requires_grad)

    def squeeze0(self):
        return _Operand(self.shape[1:], self.strides[1:], self.requires_grad)


def _should_fold(t1: _Operand, t2: _Operand) -> bool:
    # ATen's should_fold (LinearAlgebra.cpp): fold the larger operand into a matrix and run
    # mm/mv rather than bmm, when that needs no copy or when the smaller one needs a gradient
    larger = len(t1.shape) >= len(t2.shape)
    big = t1 if larger else t2.mT()
    small_dim = len(t2.shape) if larger else len(t1.shape)
    if not (len(big.shape) >= 3 and small_dim in (1, 2)):
        return False
    small_requires_grad = t2.requires_grad if larger else t1.requires_grad
    if small_requires_grad:
        return True
    if len(t1.shape) == 2:
        return False
    if prod(big.shape) == 0:
        return True
    shape, strides = big.shape, big.strides
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


def _broadcast(a, b):
    out = []
    for x, y in zip(((1,) * (len(b) - len(a)) + tuple(a)), ((1,) * (len(a) - len(b)) + tuple(b))):
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(out)


def _matmul_calls(a: _Operand, b: _Operand) -> list:
    """The counted aten calls of ``torch.matmul(a, b)``: ``[(name, (a_shape, b_shape))]``."""
    da, db = len(a.shape), len(b.shape)
    if da == 0 or db == 0 or db == 1 and da <= 2:  # dot and mv: not counted
        return []
    if da == 1 and db == 2:
        return [("aten.mm", ((1, a.shape[0]), b.shape))]
    if da == 2 and db == 2:
        return [("aten.mm", (a.shape, b.shape))]
    if da == 3 and db == 3:  # a batch of one is squeezed to a matrix first
        if b.shape[0] == 1 and a.shape[0] != 1:
            b, db = b.squeeze0(), 2
        elif a.shape[0] == 1 and b.shape[0] != 1:
            a, da = a.squeeze0(), 2
    if _should_fold(a, b):
        if da >= db:
            if db == 1:
                return []  # mv
            return [("aten.mm", ((prod(a.shape[:-1]), a.shape[-1]), b.shape))]
        if da == 1:
            return []  # mv on the transposed larger operand
        rows = prod(b.shape[:-2]) * b.shape[-1]
        return [("aten.mm", ((rows, b.shape[-2]), (a.shape[-1], a.shape[-2])))]
    batch = _broadcast(a.shape[:-2] if da >= 2 else (), b.shape[:-2] if db >= 2 else ())
    m = a.shape[-2] if da >= 2 else 1
    n = b.shape[-1] if db >= 2 else 1
    nb = prod(batch)
    return [("aten.bmm", ((nb, m, a.shape[-1]), (nb, a.shape[-1], n)))]


def _product_grads(calls, need_first, need_second) -> list:
    """The backward calls of matrix products: one product per operand needing a gradient
    (``addmm``'s are ``mm``, ``baddbmm``'s are ``bmm``), shaped as torch's formulas."""
    out = []
    for name, shapes in calls:
        a, b = shapes[-2], shapes[-1]
        kind = "aten.bmm" if name in ("aten.bmm", "aten.baddbmm") else "aten.mm"
        *batch, m, k = a
        n = b[-1]
        if need_first:
            out.append((kind, ((*batch, m, n), (*batch, n, k))))
        if need_second:
            out.append((kind, ((*batch, k, m), (*batch, m, n))))
    return out


def _bound(cls, inputs, kwargs) -> dict:
    params = inspect.signature(cls.forward).bind(None, *inputs, **kwargs)
    params.apply_defaults()
    return dict(params.arguments)


def _needs(out):
    node = getattr(out, "grad_fn", None)
    return node, (getattr(node, "needs_input_grad", ()) if node is not None else ())


def _lower(cls, inputs, kwargs, out):
    """``(forward_calls, backward_calls)`` of one ember op application, as
    ``[(aten_name, args, kwargs)]``; None for an op torch's counter does not count."""
    name = cls.__name__
    first = out[0] if isinstance(out, tuple) else out
    node, needs = _needs(first)
    need = (lambda i: bool(needs[i]) if i < len(needs) else False)
    if name in ("Matmul", "Bmm"):
        a, b = inputs[0], inputs[1]
        if name == "Bmm":
            calls = [("aten.bmm", (tuple(a.shape), tuple(b.shape)))]
        else:
            calls = _matmul_calls(_Operand.of(a), _Operand.of(b))
        return _with_kwargs(calls), _with_kwargs(_product_grads(calls, need(0), need(1)))
    if name == "Linear":
        x, w = inputs[0], inputs[1]
        bias = inputs[2] if len(inputs) > 2 else kwargs.get("b")
        rows = prod(x.shape[:-1])
        if bias is not None and (x.ndim == 2 or x.is_contiguous()):
            calls = [("aten.addmm", (tuple(bias.shape), (rows, x.shape[-1]),
                                     (w.shape[1], w.shape[0])))]
        else:  # torch: matmul(input, weight.t()), then the bias added
            calls = _matmul_calls(_Operand.of(x), _Operand.of(w).mT())
        return _with_kwargs(calls), _with_kwargs(_product_grads(calls, need(0), need(1)))
    if name == "AddMatmul":
        args = _bound(cls, inputs, kwargs)
        c, a, b = args["c"], args["a"], args["b"]
        if args["reduce_batch"] or a.ndim != b.ndim or a.ndim not in (2, 3):
            return None  # addmv and addbmm: not in torch's registry
        kind = "aten.addmm" if a.ndim == 2 else "aten.baddbmm"
        calls = [(kind, (tuple(c.shape), tuple(a.shape), tuple(b.shape)))]
        return _with_kwargs(calls), _with_kwargs(_product_grads(calls, need(1), need(2)))
    if name in ("Conv", "ConvInput"):
        args = _bound(cls, inputs, kwargs)
        transposed = name == "ConvInput"  # outside backward: a user's conv_transpose
        x, w = (args["g"], args["w"]) if transposed else (args["x"], args["w"])
        bias = None if transposed else args["b"]
        nd = x.ndim - 2
        common = (list(args["stride"]), [0] * nd, list(args["dilation"]), transposed, [0] * nd,
                  args["groups"])
        bias_shape = None if bias is None else list(bias.shape)
        fwd = [("aten.convolution", (list(x.shape), list(w.shape), bias_shape, *common),
                {"out_val": list(first.shape)})]
        mask = [need(0), need(1), bias is not None and need(2)]
        bwd = []
        if mask[0] or mask[1]:
            bwd = [("aten.convolution_backward",
                    (list(first.shape), list(x.shape), list(w.shape), bias_shape, *common,
                     mask), {"out_val": [list(x.shape) if mask[0] else None,
                                           list(w.shape) if mask[1] else None, None]})]
        return fwd, bwd
    if name == "Einsum":
        calls, firsts = _einsum_calls(kwargs["ins"], kwargs["out"], [t.shape for t in inputs])
        bwd = [c for j, call in enumerate(calls) for c in _product_grads(
            [call], any(need(i) for i in range(firsts[j] + 1)), need(firsts[j] + 1))]
        return _with_kwargs(calls), _with_kwargs(bwd)
    if name == "Attention":
        q, k, v = inputs[0], inputs[1], inputs[2]
        if q.ndim == 4:
            shapes = (tuple(q.shape), tuple(k.shape), tuple(v.shape))
            fwd = [("aten._scaled_dot_product_flash_attention", shapes, {})]
            bwd = [("aten._scaled_dot_product_flash_attention_backward",
                    (tuple(first.shape),) + shapes, {})] if any(needs[:3]) else []
            return fwd, bwd
        # other ranks take torch's math path: two matmuls
        qo, ko, vo = _Operand.of(q), _Operand.of(k), _Operand.of(v)
        scores_shape = tuple(q.shape[:-1]) + (k.shape[-2],)
        scores = _Operand(scores_shape, _contiguous_strides(scores_shape),
                          q.requires_grad or k.requires_grad)
        first_calls, second_calls = _matmul_calls(qo, ko.mT()), _matmul_calls(scores, vo)
        fwd = _with_kwargs(first_calls + second_calls)
        bwd = _with_kwargs(_product_grads(second_calls, need(0) or need(1), need(2))
                           + _product_grads(first_calls, need(0), need(1)))
        return fwd, bwd
    return None


def _einsum_calls(ins, out, shapes):
    """The counted calls of ``einsum``: ``([("aten.bmm", (a_shape, b_shape))], lefts)``.

    torch (without opt_einsum) contracts the operands left to right; each pair is summed over
    the subscripts no later operand nor the output reads, then multiplied by one ``bmm`` of
    (batch, left-only, summed) by (batch, summed, right-only); a pair with nothing to sum is a
    plain product (``mul``), not counted. ``lefts[j]`` is the index of the last operand folded
    into call ``j``'s left side (for which operands' gradients the backward needs)."""
    sizes: dict = {}
    for sub, shape in zip(ins, shapes):
        for c, n in zip(sub, shape):
            sizes[c] = max(sizes.get(c, 1), n)
    calls, lefts = [], []
    left = list(dict.fromkeys(ins[0]))
    for j in range(1, len(ins)):
        right = list(dict.fromkeys(ins[j]))
        later = set(out).union(*ins[j + 1:])
        # a subscript in one side only, read by nothing later, is summed out beforehand
        lsub = [c for c in left if c in later or c in right]
        rsub = [c for c in right if c in later or c in lsub]
        summed = [c for c in lsub if c in rsub and c not in later]
        batch = [c for c in lsub if c in rsub and c in later]
        lonly = [c for c in lsub if c not in rsub]
        ronly = [c for c in rsub if c not in lsub]
        if summed:
            size = (lambda subs: prod(sizes[c] for c in subs))
            nb, m, k, n = size(batch), size(lonly), size(summed), size(ronly)
            calls.append(("aten.bmm", ((nb, m, k), (nb, k, n))))
            lefts.append(j - 1)
        left = batch + lonly + ronly
    return calls, lefts


def _contiguous_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def _with_kwargs(calls):
    return [(name, args, {}) for name, args in calls]


# -- the counter -----------------------------------------------------------------------------

class FlopCounterMode:
    """Count the FLOPs of the matrix products, convolutions and attention run inside the
    ``with`` block (forward and backward), in total, by op and by module; on exit print the
    table (``display=True``).

    Args:
        mods: ignored (torch warns that it is no longer needed).
        depth: the module depth the table shows.
        display: print the table on exit.
        custom_mapping: ``{aten op or name: formula}`` to add or override formulas.

    Example:
        >>> import ember
        >>> net = ember.nn.Linear(8, 4)
        >>> with FlopCounterMode(display=False) as counter:
        ...     net(ember.randn(2, 8)).sum().backward()
        >>> counter.get_total_flops()
        256
        >>> {k: {str(op): n for op, n in v.items()} for k, v in
        ...  counter.get_flop_counts().items()}["Linear"]
        {'aten.addmm': 128, 'aten.mm': 128}
    """

    def __init__(self, mods=None, depth: int = 2, display: bool = True,
                 custom_mapping: dict | None = None) -> None:
        self.flop_counts: dict = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        if custom_mapping is None:
            custom_mapping = {}
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it",
                          stacklevel=2)
        self.flop_registry = {
            **flop_registry,
            **{_op(k): v if getattr(v, "_get_raw", False) else shape_wrapper(v)
               for k, v in custom_mapping.items()}}
        self._handles: list = []
        self._parents = {"Global"}
        self._known_modules: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._seen_modules: weakref.WeakSet = weakref.WeakSet()
        # what each node created in the block will cost in backward, and its modules
        self._nodes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get_total_flops(self) -> int:
        """All FLOPs counted.

        Example:
            >>> FlopCounterMode(display=False).get_total_flops()
            0
        """
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> dict:
        """``{module name: {aten op: flops}}``; ``"Global"`` holds everything.

        Example:
            >>> FlopCounterMode(display=False).get_flop_counts()
            {}
        """
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth=None) -> str:
        """The table printed on exit: each module to ``depth`` levels with its ops' FLOPs
        and share of the total.

        Example:
            >>> print(FlopCounterMode(display=False).get_table())
            Module      FLOP    % Total
            --------  ------  ---------
            Global         0         0%
        """
        depth = self.depth if depth is None else depth
        total = self.get_total_flops()
        suffix = get_suffix_str(total)

        def rows_of(name: str, indent: int) -> list:
            counts = self.flop_counts[name]
            pad = " " * indent
            out = [[pad + name, convert_num_with_suffix(sum(counts.values()), suffix),
                    convert_to_percent_str(sum(counts.values()), total)]]
            out += [[f"{pad} - {op}", convert_num_with_suffix(n, suffix),
                     convert_to_percent_str(n, total)] for op, n in counts.items()]
            return out

        shown = [name for name in sorted(self.flop_counts) if name != "Global"
                 and (depth is None or name.count(".") + 1 <= depth)]
        table = [row for name in shown for row in rows_of(name, name.count("."))]
        # a Global block only when some module shown does not already account for every FLOP
        covered = any(sum(self.flop_counts[name].values()) >= total for name in shown)
        if "Global" in self.flop_counts and not covered:
            table = rows_of("Global", 0) + [[" " + row[0]] + row[1:] for row in table]
        if not table:
            table = [["Global", "0", "0%"]]
        return _tabulate(table, ["Module", "FLOP", "% Total"], ("left", "right", "right"))

    # NB: not reentrant, as torch's
    def __enter__(self):
        from ember.nn.modules._hooks import (
            register_module_forward_hook,
            register_module_forward_pre_hook,
        )
        from ember.profiler import _recorder

        self.flop_counts.clear()
        self._parents = {"Global"}
        self._handles = [register_module_forward_pre_hook(self._fw_pre_hook),
                         register_module_forward_hook(self._fw_post_hook),
                         _recorder.add_observer(on_op=self._on_op, on_node=self._on_node)]
        return self

    def __exit__(self, *args):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._nodes = weakref.WeakKeyDictionary()
        if self.display:
            print(self.get_table(self.depth))
        return False

    # module names as torch's ModuleTracker gives them: a module is known by its class name
    # until an enclosing module, on its first entry, names its whole subtree by path under
    # itself ("Sequential.0"); a later first entry of another ancestor renames the subtree
    def _mod_name(self, mod) -> str:
        name = self._known_modules.setdefault(mod, type(mod).__name__)
        if mod not in self._seen_modules:
            self._seen_modules.add(mod)
            for path, sub in mod.named_modules():
                if sub is not mod:
                    self._known_modules[sub] = f"{name}.{path}"
        return name

    def _fw_pre_hook(self, mod, args):
        self._parents.add(self._mod_name(mod))

    def _fw_post_hook(self, mod, args, output):
        self._parents.discard(self._mod_name(mod))

    def _count(self, calls, parents) -> None:
        for name, args, kwargs in calls:
            key = _op(name)
            formula = self.flop_registry.get(key)
            if formula is None:
                continue
            flops = formula(*args, **kwargs)
            for parent in parents:
                self.flop_counts[parent][key] += flops

    def _on_op(self, cls, inputs, kwargs, out) -> None:
        from ember.profiler import _recorder

        node = _recorder.current_backward_node()
        if node is not None:
            entry = self._nodes.get(node)
            if entry is not None and entry[1] is not None:
                return  # counted by the node's own backward formula
            parents = entry[0] if entry is not None else frozenset({"Global"})
        else:
            parents = frozenset(self._parents)
        lowered = _lower(cls, inputs, kwargs, out)
        if lowered is not None:
            self._count(lowered[0], parents)
        first = out[0] if isinstance(out, tuple) else out
        created = getattr(first, "grad_fn", None)
        # nodes made inside a backward too: a reentrant checkpoint re-runs its segment there
        # and back-propagates through the new graph, whose backward torch counts as well
        if created is not None and created not in self._nodes:
            self._nodes[created] = (parents, lowered[1] if lowered is not None else None)

    def _on_node(self, node, grads) -> None:
        entry = self._nodes.get(node)
        if entry is not None and entry[1] is not None:
            self._count(entry[1], entry[0])
