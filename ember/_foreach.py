"""``torch._foreach_*``: one elementwise op applied to every tensor of a list.

PyTorch fuses these into multi-tensor kernels; here each is a loop over ember's own per-tensor
ops, so results, dtypes, broadcasting and autograd are exactly those of the single-tensor op.
Real programs call them for Polyak / EMA target updates (``_foreach_lerp_``,
``_foreach_mul_`` then ``_foreach_add_``), gradient statistics (``_foreach_norm``) and
hand-written optimizers.

Overloads follow PyTorch's: the second operand of a binary op is a list of tensors (same
length), a Python number, a list of numbers (one per tensor) or a 0-dim tensor. Out-of-place
forms return a tuple; in-place forms (trailing ``_``) update the tensors and return the list
they were given.

Example:
    >>> target, online = [ember.zeros(2)], [ember.ones(2)]
    >>> ember._foreach_lerp_(target, online, 0.25)[0]
    tensor([0.2500, 0.2500])
"""

from __future__ import annotations

import numbers

from ._tensor import Tensor

_UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1",
          "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal",
          "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "tan", "tanh", "trunc")
_BINARY = ("add", "sub", "mul", "div", "pow", "clamp_min", "clamp_max", "maximum", "minimum")
_WITH_ALPHA = ("add", "sub")

__all__: list[str] = []


def _ember():
    # the package, imported lazily: this module is loaded while ember/__init__ runs
    import ember

    return ember


def _tensors(seq, position: int, name: str = "self") -> list:
    """Check a list of tensors as PyTorch's argument parser does."""
    if isinstance(seq, Tensor) or not isinstance(seq, (list, tuple)):
        raise TypeError(f"argument '{name}' (position {position + 1}) must be tuple of "
                        f"Tensors, not {type(seq).__name__}")
    for i, t in enumerate(seq):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument {position}, but got "
                            f"{type(t).__name__}")
    return list(seq)


def _self(seq) -> list:
    ts = _tensors(seq, 0)
    if not ts:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return ts


def _same_length(a: list, b: list) -> None:
    if len(a) != len(b):
        raise RuntimeError(f"Tensor lists must have the same number of tensors, got {len(a)} "
                           f"and {len(b)}")


def _is_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, Tensor)


def _operands(ts: list, other, position: int, name: str = "other"):
    """The per-tensor second operands for ``other``, and whether they are tensors."""
    if isinstance(other, Tensor):
        if other.ndim != 0:
            raise RuntimeError(f"scalar tensor expected to be 0 dim but it has {other.ndim} "
                               f"dimensions and {other.numel()} elements.")
        return [other] * len(ts), True
    if _is_number(other):
        return [other] * len(ts), False
    if isinstance(other, (list, tuple)):
        if other and all(_is_number(x) for x in other):
            if len(other) != len(ts):
                raise RuntimeError("Tensor list must have same number of elements as scalar "
                                   "list.")
            return list(other), False
        others = _tensors(other, position, name)
        _same_length(ts, others)
        return others, True
    raise TypeError(f"argument '{name}' (position {position + 1}) must be tuple of Tensors, "
                    f"not {type(other).__name__}")


def _scalars(ts: list, value, position: int) -> list:
    """The per-tensor multipliers of ``addcmul``/``addcdiv`` (a number, a list of numbers or
    a 1-D tensor of them)."""
    if isinstance(value, Tensor):
        if value.ndim != 1 or value.numel() != len(ts):
            raise RuntimeError("Expected length of scalars to match input of length "
                               f"{len(ts)} but got {value.numel()} instead.")
        return value.tolist()
    if _is_number(value):
        return [value] * len(ts)
    if isinstance(value, (list, tuple)) and all(_is_number(x) for x in value):
        if len(value) != len(ts):
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return list(value)
    raise TypeError(f"argument 'scalars' (position {position + 1}) must be tuple of Scalars, "
                    f"not {type(value).__name__}")


def _export(fn, name: str, doc: str):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    globals()[name] = fn
    __all__.append(name)


def _make_unary(op: str) -> None:
    def out_of_place(self):
        e = _ember()
        return tuple(getattr(e, op)(t) for t in _self(self))

    def in_place(self):
        for t in _self(self):
            getattr(t, op + "_")()
        return self

    _export(out_of_place, f"_foreach_{op}",
            f"``{op}`` of each tensor in a list; a tuple of results.\n\n"
            f"Example:\n    >>> out = ember._foreach_{op}([ember.tensor([0.5]), ember.ones(2)])\n"
            f"    >>> len(out)\n    2\n")
    _export(in_place, f"_foreach_{op}_",
            f"``{op}_`` on each tensor in a list, in place; returns the list.")


def _pairwise(op: str, t, o, is_tensor: bool, alpha, inplace: bool):
    e = _ember()
    if op in ("maximum", "minimum"):
        # with a number it is a clamp; with tensors the op itself (NaN propagates either way)
        clamp = "clamp_min" if op == "maximum" else "clamp_max"
        if not is_tensor:
            return getattr(t, clamp + "_")(o) if inplace else getattr(e, clamp)(t, o)
        return t.copy_(getattr(e, op)(t, o)) if inplace else getattr(e, op)(t, o)
    kw = {} if alpha is None else {"alpha": alpha}
    return getattr(t, op + "_")(o, **kw) if inplace else getattr(e, op)(t, o, **kw)


def _make_binary(op: str) -> None:
    def run(self, other, alpha, inplace):
        if _is_number(self) and op == "pow" and not inplace:
            # pow(scalar, exponents): the number raised to each tensor
            e = _ember()
            return tuple(e.pow(self, t) for t in _self(other))
        ts = _self(self)
        others, is_tensor = _operands(ts, other, 1)
        # alpha goes with a tensor list, or with a 0-dim tensor for add only (sub has no
        # such overload: its tensor is read as a number)
        if alpha is not None and (not is_tensor or (isinstance(other, Tensor) and op != "add")):
            kind = "tuple of Scalars" if isinstance(other, (list, tuple)) else "a number"
            raise TypeError(f"_foreach_{op}{'_' if inplace else ''}(): alpha is not accepted "
                            f"with {kind} as 'other'; it needs Tensors")
        results = [_pairwise(op, t, o, is_tensor, alpha, inplace) for t, o in zip(ts, others)]
        return self if inplace else tuple(results)

    if op in _WITH_ALPHA:
        def out_of_place(self, other, *, alpha=None):
            return run(self, other, alpha, False)

        def in_place(self, other, *, alpha=None):
            return run(self, other, alpha, True)
    else:
        def out_of_place(self, other):
            return run(self, other, None, False)

        def in_place(self, other):
            return run(self, other, None, True)

    _export(out_of_place, f"_foreach_{op}",
            f"``{op}`` of each tensor with the matching operand (a tensor list, a number, a "
            f"list of numbers or a 0-dim tensor); a tuple of results.\n\n"
            f"Example:\n    >>> out = ember._foreach_{op}([ember.ones(2), ember.ones(3)], 2.0)\n"
            f"    >>> [t.shape for t in out]\n    [torch.Size([2]), torch.Size([3])]\n")
    _export(in_place, f"_foreach_{op}_",
            f"``{op}_`` on each tensor with the matching operand, in place; returns the list.")


for _op in _UNARY:
    _make_unary(_op)
for _op in _BINARY:
    _make_binary(_op)


def _lerp(self, tensors1, weight, inplace: bool):
    ts = _self(self)
    ends = _tensors(tensors1, 1, "tensors1")
    _same_length(ts, ends)
    weights, _ = _operands(ts, weight, 2, "weight")
    if inplace:
        for t, end, w in zip(ts, ends, weights):
            t.lerp_(end, w)
        return self
    e = _ember()
    return tuple(e.lerp(t, end, w) for t, end, w in zip(ts, ends, weights))


def _foreach_lerp(self, tensors1, weight):
    """``self + weight * (tensors1 - self)`` for each pair; ``weight`` is a number, a list of
    numbers, a list of tensors or a 0-dim tensor. A tuple of results.

    Example:
        >>> ember._foreach_lerp([ember.zeros(2)], [ember.ones(2)], 0.25)
        (tensor([0.2500, 0.2500]),)
    """
    return _lerp(self, tensors1, weight, False)


def _foreach_lerp_(self, tensors1, weight):
    """In-place ``_foreach_lerp``, the usual Polyak / EMA update of a target network;
    returns the list.

    Example:
        >>> target = [ember.zeros(2)]
        >>> ember._foreach_lerp_(target, [ember.ones(2)], 0.1)[0]
        tensor([0.1000, 0.1000])
    """
    return _lerp(self, tensors1, weight, True)


def _addc(op: str, self, tensor1, tensor2, value, inplace: bool):
    ts = _self(self)
    a = _tensors(tensor1, 1, "tensor1")
    b = _tensors(tensor2, 2, "tensor2")
    _same_length(ts, a)
    _same_length(ts, b)
    values = _scalars(ts, value, 3)
    if inplace:
        for t, x, y, v in zip(ts, a, b, values):
            getattr(t, op + "_")(x, y, value=v)
        return self
    e = _ember()
    return tuple(getattr(e, op)(t, x, y, value=v) for t, x, y, v in zip(ts, a, b, values))


def _foreach_addcmul(self, tensor1, tensor2, value=1):
    """``self + value * tensor1 * tensor2`` for each triple; ``value`` is a number, a list of
    numbers or a 1-D tensor of them. A tuple of results.

    Example:
        >>> ember._foreach_addcmul([ember.zeros(2)], [ember.ones(2)], [ember.full((2,), 3.0)], 0.5)
        (tensor([1.5000, 1.5000]),)
    """
    return _addc("addcmul", self, tensor1, tensor2, value, False)


def _foreach_addcmul_(self, tensor1, tensor2, value=1):
    """In-place ``_foreach_addcmul``; returns the list."""
    return _addc("addcmul", self, tensor1, tensor2, value, True)


def _foreach_addcdiv(self, tensor1, tensor2, value=1):
    """``self + value * tensor1 / tensor2`` for each triple (Adam's update step). A tuple.

    Example:
        >>> ember._foreach_addcdiv([ember.zeros(2)], [ember.ones(2)], [ember.full((2,), 2.0)])
        (tensor([0.5000, 0.5000]),)
    """
    return _addc("addcdiv", self, tensor1, tensor2, value, False)


def _foreach_addcdiv_(self, tensor1, tensor2, value=1):
    """In-place ``_foreach_addcdiv``; returns the list."""
    return _addc("addcdiv", self, tensor1, tensor2, value, True)


def _foreach_norm(self, ord=2, dtype=None):
    """The vector norm of each tensor (``linalg.vector_norm``); a tuple of 0-dim tensors.

    Example:
        >>> ember._foreach_norm([ember.tensor([3.0, 4.0])])
        (tensor(5.),)
    """
    ts = _self(self)
    if not _is_number(ord):
        raise TypeError(f"_foreach_norm(): argument 'ord' (position 2) must be Number, not "
                        f"{type(ord).__name__}")
    e = _ember()
    return tuple(e.linalg.vector_norm(t, ord, dtype=dtype) for t in ts)


def _foreach_max(self):
    """The largest element of each tensor; a tuple of 0-dim tensors.

    Example:
        >>> ember._foreach_max([ember.tensor([1.0, 7.0])])
        (tensor(7.),)
    """
    return tuple(t.max() for t in _self(self))


def _foreach_zero_(self):
    """Fill each tensor with zeros; returns the list.

    Example:
        >>> ember._foreach_zero_([ember.ones(2)])
        [tensor([0., 0.])]
    """
    for t in _self(self):
        t.zero_()
    return self


def _foreach_copy_(self, src, non_blocking=False):
    """Copy each tensor of ``src`` into the matching tensor of ``self``; returns the list.

    Example:
        >>> ember._foreach_copy_([ember.zeros(2)], [ember.ones(2)])
        [tensor([1., 1.])]
    """
    ts = _self(self)
    srcs = _tensors(src, 1, "src")
    _same_length(ts, srcs)
    for t, s in zip(ts, srcs):
        t.copy_(s, non_blocking)
    return self


def _foreach_clone(self):
    """A copy of each tensor; a tuple.

    Example:
        >>> ember._foreach_clone([ember.ones(1)])
        (tensor([1.]),)
    """
    return tuple(t.clone() for t in _self(self))


__all__ += ["_foreach_lerp", "_foreach_lerp_", "_foreach_addcmul", "_foreach_addcmul_",
            "_foreach_addcdiv", "_foreach_addcdiv_", "_foreach_norm", "_foreach_max",
            "_foreach_zero_", "_foreach_copy_", "_foreach_clone"]
