"""``einsum`` (string equations with ``...`` and implicit output) and ``tensordot``.

The equation is first made fully explicit (``...`` becomes letters, the implicit output is
spelled out) and size-1 dimensions are expanded to the size they broadcast to, so forward is
one ``np.einsum`` and each gradient is one more einsum: the upstream gradient contracted with
the other operands, plus constant ``ones`` for letters only that operand has and identity
matrices for letters it repeats (a diagonal). Those einsums are ember ops, so gradients of any
order work. A lone operand, and operands that share no summed letter, take PyTorch's own path
instead (diagonals, permutes, sums and products of ember ops), so the result is a view, a
layout and a graph as torch's are; a contraction's result is laid out as torch's bmm leaves it.
"""

from __future__ import annotations

import string

import numpy as np

from ... import _autocast
from ..._autocast import hot as _amp
from ..._backend import as_array
from ..._backend import get_array_module as xp_of
from ..._dtype import _FLOAT, int64, promote_types
from ..._errors import with_hint
from ..._tensor import Tensor
from .._core import Op, set_node_name
from .._dispatch import REFUSED, refuse
from ..pointwise.complex import conj

__all__ = ["einsum", "tensordot"]

_LETTERS = string.ascii_letters


class Einsum(Op):
    reads_input_meta = True  # backward reads the operands' shapes (Op._free)

    @staticmethod
    def forward(ctx, *arrays, ins, out):
        # an operand is read only by the other operands' gradients: saved when one of them
        # needs a gradient (as PyTorch), so ``y`` in ``einsum(y, W_fixed)`` may change later
        needs = [isinstance(t, Tensor) and t._requires_grad for t in ctx.inputs]
        ctx.save_for_backward(*(t if any(needs[:k] + needs[k + 1:]) else None
                                for k, t in enumerate(ctx.inputs)))
        ctx.ins, ctx.out = ins, out
        eq = ",".join(ins) + "->" + out
        res = as_array(np.einsum(eq, *arrays, optimize="greedy" if len(arrays) > 2 else
                                   len(arrays) == 2))
        # NumPy's contraction may hand back a transposed view; PyTorch's result is (almost
        # always) contiguous, which later views, reshapes and stride checks depend on
        if not res.flags.c_contiguous:  # (a copy in C order keeps 0-d results 0-d, and
            res = res.copy(order="C")     # device arrays on their device)
        # ml_dtypes' bfloat16 products come back float32; PyTorch rounds to bfloat16
        return res if res.dtype == arrays[0].dtype else res.astype(arrays[0].dtype)

    @staticmethod
    def backward(ctx, grad):
        ops = ctx.saved_tensors
        return tuple(_operand_grad(ctx, ops, i, grad) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


def _operand_grad(ctx, ops, i, grad):
    ins, sub = ctx.ins, ctx.ins[i]
    others = [k for k in range(len(ops)) if k != i]
    avail = set(ctx.out).union(*(ins[k] for k in others))
    sizes = {c: n for k in range(len(ops)) for c, n in zip(ins[k], ctx.inputs[k].shape)}
    terms, arrays = [ctx.out] + [ins[k] for k in others], [grad] + [ops[k] for k in others]
    dt, like = grad._dtype, grad._data
    if dt.is_complex:  # PyTorch's convention: grad times the conjugate derivative
        arrays = [grad] + [conj(ops[k]) for k in others]
    missing = "".join(c for c in dict.fromkeys(sub) if c not in avail)
    if missing:  # letters only this operand has: its gradient is constant along them
        terms.append(missing)
        arrays.append(Tensor._make(xp_of(like).ones([sizes[c] for c in missing], like.dtype),
                                   dt))
    used = set("".join(ins) + ctx.out)
    fresh = (c for c in _LETTERS if c not in used)
    target, seen = [], set()
    for c in sub:
        if c in seen:  # a repeated letter is a diagonal: place the gradient on it
            r = next(fresh)
            terms.append(c + r)
            arrays.append(Tensor._make(xp_of(like).eye(sizes[c], dtype=like.dtype), dt))
            target.append(r)
        else:
            seen.add(c)
            target.append(c)
    return Einsum.apply(*arrays, ins=tuple(terms), out="".join(target))


def _parse(equation: str, operands) -> tuple:
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(subs) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    for ch in eq:
        if ch not in _LETTERS and ch not in ",.->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(ch)} in "
                               "the equation string, subscripts must be in [a-zA-Z]")
    used = set(c for c in eq if c in _LETTERS)
    spare = [c for c in _LETTERS if c not in used]
    ell_nd = 0
    for k, (s, op) in enumerate(zip(subs, operands)):
        n = len(s.replace("...", ""))
        if "..." in s:
            if n > op.ndim:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({n}) is more than the "
                    f"number of dimensions ({op.ndim}) for operand {k}")
            ell_nd = max(ell_nd, op.ndim - n)
        elif n != op.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({n}) does not match the "
                f"number of dimensions ({op.ndim}) for operand {k} and no ellipsis was given")
    ell = "".join(spare[:ell_nd])
    ins = []
    for s, op in zip(subs, operands):
        if "..." in s:
            s = s.replace("...", ell[ell_nd - (op.ndim - len(s) + 3):] if op.ndim - len(s)
                          + 3 else "")
        ins.append(s)
    if arrow:
        out = rhs.replace("...", ell)
        for k, c in enumerate(out):
            if c in out[:k]:  # (NumPy would raise a ValueError of its own later)
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   "the output")
            if c not in "".join(ins):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
    else:
        counts = {}
        for c in "".join(s.replace("...", "") for s in subs):
            counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    return ins, out


def _from_sublists(args):
    """``(op1, sub1, op2, sub2, ..., [out])`` as an equation string and the operands: each
    subscript is an int in [0, 52) (a-z, then A-Z) or ``...``, as in NumPy's sublist form."""

    def letters(sub):
        out = []
        for v in sub:
            if v is Ellipsis:
                out.append("...")
            elif not 0 <= v < 52:
                raise ValueError("einsum(): subscript in subscript list is not within the "
                                 "valid range [0, 52)")
            else:
                out.append(chr(ord("a") + v) if v < 26 else chr(ord("A") + v - 26))
        return "".join(out)

    operands = args[0:len(args) - len(args) % 2:2]
    lhs = ",".join(letters(sub) for sub in args[1::2][:len(operands)])
    equation = lhs + ("->" + letters(args[-1]) if len(args) % 2 else "")
    return equation, operands


def _contracts(ins, out, operands) -> bool:
    """True when a summed letter is shared by two operands (torch's bmm does that sum); a
    size-1 dimension broadcasts, so torch sums it away without a product."""
    def shared(c):
        return sum(any(x == c and n != 1 for x, n in zip(s, op.shape))
                   for s, op in zip(ins, operands)) > 1
    return any(c not in out and shared(c) for c in set("".join(ins)))


def _summed_alone(ins, out, operands) -> list:
    """Per operand: whether it has a letter summed in it alone (not in the output, and in no
    other operand with a size other than 1). torch sums those before any product, and a sum
    of bool or integers is int64."""
    flags = []
    for k, (s, op) in enumerate(zip(ins, operands)):
        alone = False
        for c, n in zip(s, op.shape):
            if c in out:
                continue
            others = [m for j, (s2, op2) in enumerate(zip(ins, operands)) if j != k
                      for c2, m in zip(s2, op2.shape) if c2 == c]
            if all(m == 1 for m in others) and (n != 1 or not others):
                alone = True
                break
        flags.append(alone)
    return flags


def _pair_bmm_is_naive(ins, out, operands) -> bool:
    """Whether the bmm torch's ``sumproduct_pair`` makes of two operands (left-only output
    dimensions times the shared summed ones, times right-only output dimensions) is small
    enough for its naive loop (see ``matmul.bmm_is_naive``)."""
    from .matmul import bmm_is_naive

    (sl, sr), (a, b) = ins, operands
    left, right = dict(zip(sl, a.shape)), dict(zip(sr, b.shape))
    summed = lo = ro = 1
    for c in set(sl) | set(sr):
        nl, nr = left.get(c, 1), right.get(c, 1)
        if c not in out:
            summed *= nl if nl != 1 and nr != 1 else 1
        elif nl != 1 and nr == 1:
            lo *= nl
        elif nr != 1 and nl == 1:
            ro *= nr
    return bmm_is_naive(summed, lo, ro)


def _promote_operands(ins, out, operands) -> tuple:
    """Operands of several dtypes: torch multiplies them (promoting, 0-d operands included,
    to one dtype) where no letter is summed across two of them, and refuses the mix where
    one is, since its bmm takes one dtype."""
    if _contracts(ins, out, operands):
        for op in operands:
            if op._dtype.name == "bool":  # torch's bmm refuses bool before it compares dtypes
                refuse("bmm", op._dtype)
        dt = operands[0]._dtype
        other = next(op._dtype for op in operands if op._dtype is not dt)
        if len(operands) == 2 and not _pair_bmm_is_naive(ins, out, operands):
            dt, other = other, dt  # torch's bmm words it the other way round on its BLAS path
        raise with_hint(RuntimeError(f"expected scalar type {dt._legacy.replace('Tensor', '')} "
                                     f"but found {other._legacy.replace('Tensor', '')}"),
                        "Cast the operands to one dtype first.")
    dt = operands[0]._dtype
    for op in operands[1:]:
        dt = promote_types(dt, op._dtype)
    return tuple(op if op._dtype is dt else op.to(dt) for op in operands), dt


def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the indices of an Einstein-notation ``equation``; the sublist
    form ``einsum(op1, [0, 1], op2, [1, 2], [0, 2])`` works too.

    Example:
        >>> ember.einsum("ij,jk->ik", ember.ones(2, 3), ember.ones(3, 4)).shape
        torch.Size([2, 4])
    """
    if not isinstance(equation, str):  # the sublist form: einsum(op1, [0, 1], op2, [1, 2])
        equation, operands = _from_sublists((equation,) + operands)
    if _amp.active and _autocast.state.active:
        return _autocast.call(einsum, "einsum", equation, *operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for op in operands:
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): operands must be Tensors, not {type(op).__name__}")
    return _einsum(equation, operands)


def _einsum(equation: str, operands, bmm: bool = True) -> Tensor:
    """einsum on Tensors; ``bmm`` says whether torch contracts them with bmm (tensordot
    uses mm, whose dtypes it checks itself)."""
    ins, out = _parse(equation, operands)
    dt = operands[0]._dtype
    if dt.category < _FLOAT:  # bool and integers: torch's first sums promote to int64
        flags = _summed_alone(ins, out, operands)
        if any(flags):
            operands = tuple(op.to(int64) if f else op for op, f in zip(operands, flags))
            dt = operands[0]._dtype
    if any(op._dtype is not dt for op in operands[1:]):
        operands, dt = _promote_operands(ins, out, operands)
    sizes = {}
    for k, (s, op) in enumerate(zip(ins, operands)):
        for c, n in zip(s, op.shape):
            prev = sizes.get(c, 1)
            if n != 1 and prev != 1 and n != prev:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which"
                                   f" does not broadcast with previously seen size {prev}")
            sizes[c] = max(prev, n) if prev != 1 else n
    if len(operands) == 1:
        return _one_operand(ins[0], out, operands[0])
    if bmm and not _contracts(ins, out, operands):  # (tensordot: torch's mm and a view)
        return _products(ins, out, operands)
    if bmm and dt in REFUSED["bmm"] and len(operands) > 1 and _contracts(ins, out, operands):
        refuse("bmm", dt)  # torch contracts pairs of operands with bmm
    # Expand broadcast (size-1) dimensions so every operand agrees on every letter's size.
    ops = []
    for s, op in zip(ins, operands):
        full = tuple(sizes[c] for c in s)
        ops.append(op if tuple(op.shape) == full else op.expand(full))
    result = Einsum.apply(*ops, ins=tuple(ins), out=out)
    order = _bmm_layout(ins, out, operands) if bmm else None
    if order is not None and order != sorted(order):  # a fresh result: lay its memory out anew
        data = result._data
        result._data = xp_of(data).ascontiguousarray(data.transpose(order)).transpose(
            [order.index(d) for d in range(len(order))])
    # torch ends a contraction (and tensordot) on a view of its batched product
    return set_node_name(result, "ViewBackward0")


def _bmm_layout(ins, out, operands) -> list | None:
    """The output dims in the order PyTorch's einsum lays them out in memory, where its last
    step is a batched product (the last pair of operands shares a summed letter): torch
    contracts left to right, and its ``sumproduct_pair`` permutes the product's ``(both, left
    only, right only)`` dims into the output's order (swapping the last two groups where the
    right's all come first), so ``.view`` and ``.stride()`` see a permuted result. None where
    torch ends on a plain product or on a lone operand's view."""
    right = {c for c, n in zip(ins[-1], operands[-1].shape) if n != 1}
    left = {c for s, op in zip(ins[:-1], operands[:-1]) for c, n in zip(s, op.shape) if n != 1}
    summed_now = (left & right) - set(out)
    if not summed_now:
        return None
    both = [d for d, c in enumerate(out) if c in left and c in right]
    lo = [d for d, c in enumerate(out) if c in left and c not in right]
    ro = [d for d, c in enumerate(out) if c not in left]
    # letters summed before this product stay as size-1 dims after the output's, at ro's end
    summed_before = any(c not in out and c not in summed_now for c in "".join(ins))
    if lo and ro and not summed_before and ro[-1] < lo[0]:
        lo, ro = ro, lo
    return both + lo + ro


def _align(sub: str, canon: list, op: Tensor) -> Tensor:
    """One operand as PyTorch's einsum aligns it: the diagonal of each repeated letter (where
    the letter first stood), a size-1 dim for each letter it lacks, then a permute (a view)
    into ``canon``'s order."""
    letters = []
    for c in sub:
        if c in letters:
            first = letters.index(c)
            op = op.diagonal(0, first, len(letters)).movedim(-1, first)
        else:
            letters.append(c)
    for c in canon:
        if c not in letters:
            op = op.unsqueeze(-1)
            letters.append(c)
    return op.permute([letters.index(c) for c in canon])


def _one_operand(sub: str, out: str, op: Tensor) -> Tensor:
    """A lone operand as PyTorch's einsum treats it: aligned into the output's order, then
    summed over the letters the output drops. Without a sum the result is a view of the
    operand, sharing its memory as torch's does."""
    summed = [c for c in dict.fromkeys(sub) if c not in out]
    op = _align(sub, list(out) + summed, op)
    return op.sum(list(range(len(out), op.ndim))) if summed else op


def _products(ins, out, operands) -> Tensor:
    """Operands that share no summed letter, as PyTorch's einsum multiplies them: each aligned
    into one order (the output's letters first) and summed first over the letters only it
    has, the products taken left to right, and the summed letters' size-1 dims dropped by a
    view. The result is laid out as torch's product lays it out."""
    summed = [c for c in dict.fromkeys("".join(ins)) if c not in out]
    canon = list(out) + summed
    result = None
    for sub, op in zip(ins, operands):
        op = _align(sub, canon, op)
        alone = [d for d in range(len(out), len(canon)) if op.shape[d] != 1]
        op = op.sum(alone, keepdim=True) if alone else op
        result = op if result is None else result * op
    return result.view(tuple(result.shape[:len(out)])) if summed else result


def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Contract ``a``'s ``dims`` last dimensions with ``b``'s first (or the listed pairs).

    Example:
        >>> ember.tensordot(ember.ones(2, 3, 4), ember.ones(3, 4, 5)).shape
        torch.Size([2, 5])
    """
    if a._dtype is not b._dtype:  # torch's mm takes one dtype, even where nothing is summed
        raise with_hint(RuntimeError("both inputs should have same dtype"),
                        f"got {a.dtype} and {b.dtype}; cast one with .to(dtype)")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(-dims, 0)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    la, lb = list(_LETTERS[:a.ndim]), list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in "
                               f"dim {y}")
        lb[y] = la[x]
    contracted = set(la[x] for x in da)
    kernel = "dot" if len(da) == a.ndim == b.ndim else "mm"  # torch reshapes to one of them
    if a._dtype in REFUSED[kernel] and b._dtype is a._dtype:
        refuse(kernel, a._dtype)
    out_sub = "".join(c for c in la if c not in contracted) + \
        "".join(c for c in lb if c not in contracted)
    equation = f"{''.join(la)},{''.join(lb)}->{out_sub}"
    if _amp.active and _autocast.state.active:  # autocast casts it as the einsum it is
        return einsum(equation, a, b)
    return _einsum(equation, (a, b), bmm=False)
