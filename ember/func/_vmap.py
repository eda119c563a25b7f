"""``vmap``: map a function over a dimension of its inputs.

PyTorch batches by rewriting each op to work on the whole batch at once. ember's ``vmap``
first tries the same (``_batching``): it captures the function once on one element and runs
the captured ops on the whole batch with batching rules; ``vmap(grad(f))`` (per-sample
gradients) runs ``f`` so and takes one backward pass. Where that cannot promise the same
numbers (an op without a rule, a graph break, random draws, in-place changes, data read
outside the recorded ops), it runs the function once per batch element (on views of the
inputs, ``select``) and stacks the outputs (``stack``): the loop described below, which gives
the same numbers, composes with ``grad`` and the other transforms and lets gradients flow
through it.

What PyTorch's batching cannot do, ember's refuses with PyTorch's errors, although a loop
could do it: on a tensor computed from a mapped input, ``.item()`` (and ``float()``,
``int()``), ``bool()`` and ``is_nonzero`` (data-dependent ``if``), ``.tolist()``/``.numpy()``,
the ops whose output size depends on the data (``nonzero``, ``unique``,
``unique_consecutive``, ``masked_select`` with such a mask, indexing with such a boolean
mask), ``allclose``/``equal`` and ``tensor_split`` at a tensor of indices. Ops that torch
runs element by element and stacks (``argwhere``, ``nonzero_static``, ``bincount``,
``repeat_interleave``, ``histc``) work while the shapes agree. While a call runs, every op
application tags its outputs with the vmap levels of its inputs (the mapped slices carry the
call's level; tensors made fresh inside, or from unmapped inputs, carry none), and those few
entry points check the tag. Only ops that go through ``Op.apply`` pass a tag on, so a tensor
made some other way escapes the check (ember then computes what a loop would) rather than
being refused wrongly.

Random numbers: the mode ``randomness`` is checked by watching ember's default generator.
"error" raises PyTorch's error when a call drew numbers (and puts the generator back),
"different" lets each element draw its own, "same" rewinds the generator before each
element so that all of them see the same numbers.
"""

from __future__ import annotations

import functools

import numpy as np

from .._tensor import Tensor
from ..autograd.function import _functorch_layers
from ..utils._pytree import _broadcast_to_and_flatten as broadcast_to_and_flatten
from ..utils._pytree import tree_flatten, tree_unflatten

RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please "
                "either use the 'same' or 'different' randomness flags on vmap or perform "
                "the randomness operation out of vmap")


_ITEM_ERROR = ("vmap: It looks like you're calling .item() on a Tensor. We don't support vmap "
               "over calling .item() on a Tensor, please try to rewrite what you're doing with "
               "other operations. If error is occurring somewhere inside PyTorch internals, "
               "please file a bug report.")
_BOOL_ERROR = ("vmap: It looks like you're attempting to use a Tensor in some data-dependent "
               "control flow. We don't support that yet, please file an issue at "
               "https://github.com/pytorch/pytorch/issues .")
_DATA_ERROR = "Cannot access data pointer of Tensor that doesn't have storage"
_NONZERO_ERROR = ("vmap: We do not support batching operators that can output dynamic shape. "
                  "Attempted to vmap over aten::nonzero. Please file an issue at "
                  "https://github.com/pytorch/pytorch/issues if you need this feature.")
_WHERE_ERROR = _NONZERO_ERROR.replace("aten::nonzero", "aten::where")
_NONZERO_TUPLE_ERROR = ("Batching rule not implemented for aten::nonzero_numpy. We could not "
                        "generate a fallback.")
_MASKED_SELECT_ERROR = (
    "vmap: Attempted to vmap over `mask` in torch.masked_select(self, mask) We cannot support "
    "this because for each batch this would return a differently shaped Tensor. Please file an "
    "issue at https://github.com/pytorch/pytorch/issues if you need this feature.")
_BOOL_MASK_ERROR = ("vmap: We do not support batching operators that can support dynamic shape. "
                    "Attempting to batch over indexing with a boolean mask.")
_ERRORS = {"item": _ITEM_ERROR, "bool": _BOOL_ERROR, "data": _DATA_ERROR,
           "nonzero": _NONZERO_ERROR, "nonzero_tuple": _NONZERO_TUPLE_ERROR,
           "where": _WHERE_ERROR, "masked_select": _MASKED_SELECT_ERROR,
           "bool_mask": _BOOL_MASK_ERROR,
           # torch.unique runs aten::_unique2 without a dim, aten::unique_dim with one
           "unique": _NONZERO_ERROR.replace("aten::nonzero", "aten::_unique2"),
           "unique_dim": _NONZERO_ERROR.replace("aten::nonzero", "aten::unique_dim"),
           "unique_consecutive": _NONZERO_ERROR.replace("aten::nonzero",
                                                        "aten::unique_consecutive"),
           # ops whose result is a Python value or a list of tensors have no batching rule
           "allclose": ("vmap over torch.allclose isn't supported yet. Please file an issue at "
                        "https://github.com/pytorch/pytorch/issues if you need this feature."),
           "equal": _NONZERO_TUPLE_ERROR.replace("aten::nonzero_numpy", "aten::equal"),
           "tensor_split": _NONZERO_TUPLE_ERROR.replace(
               "aten::nonzero_numpy", "aten::tensor_split.tensor_indices_or_sections")}


class _Level:
    """One running vmap call; ``active`` turns False when it returns, so a tensor that
    escaped the call (kept in a list, say) is an ordinary tensor again."""

    __slots__ = ("active", "size")

    def __init__(self, size=None):
        self.active = True
        self.size = size  # the batch size (for messages)


_running: list = []  # the levels of the vmap calls now running, innermost last


def refuse_if_batched(t, what: str) -> None:
    """Raise PyTorch's error for ``what`` ("item", "bool", "data", "nonzero", ...) when ``t``
    was computed from an input mapped by a vmap call still running."""
    if any(level.active for level in t._vmap_levels):
        raise RuntimeError(_ERRORS[what])


# PyTorch's in-place ops with a batching rule of their own check the broadcast of the batched
# operand against ``self``; those with a vmap-specific rule name "inplace arithmetic"; a few
# name themselves; the rest go through its fallback, which names the ATen op and the level
_BROADCAST_CHECKED = frozenset({"add_", "atan2_"})
_INPLACE_ARITHMETIC = frozenset({"mul_", "sub_", "div_", "copy_", "setitem", "masked_fill_"})
_NAMED_INPLACE = frozenset({"fill_", "index_add_", "index_put_"})


def refuse_inplace_mix(target, source, op: str) -> None:
    """Raise PyTorch's error when ``source`` (an in-place op's result or written value) is
    mapped by a running vmap level that ``target`` is not: a tensor made outside the function
    (or unmapped inside it) cannot hold one value per batch element, and writing one
    element's value after another into it would silently mix the batch."""
    target_levels = target._vmap_levels
    missing = [lv for lv in source._vmap_levels if lv.active and lv not in target_levels]
    if not missing:
        return
    if op in _BROADCAST_CHECKED:
        live = [lv for lv in _running if lv in source._vmap_levels or lv in target_levels]
        shape = list(target.shape)
        if any(lv in target_levels for lv in live):
            shape = [lv.size if lv in target_levels else 1 for lv in live] + shape
        try:
            logical = [int(n) for n in np.broadcast_shapes(tuple(target.shape),
                                                           tuple(source.shape))]
        except ValueError:
            logical = list(source.shape)
        raise RuntimeError(f"output with shape {shape} doesn't match the broadcast shape "
                           f"{[lv.size for lv in live] + logical}")
    if op in _INPLACE_ARITHMETIC:
        name, where = "inplace arithmetic", "in a vmap"
    elif op in _NAMED_INPLACE:
        name, where = op, "in a vmap"
    else:
        name = f"aten::{op}"
        where = f"at level {_running.index(missing[0]) + 1 if missing[0] in _running else 1}"
    raise RuntimeError(
        f"vmap: {name}(self, *extra_args) is not possible because there exists a Tensor "
        "`other` in extra_args that has more elements than `self`. This happened due to "
        f"`other` being vmapped over but `self` not being vmapped over {where}. Please try to "
        f"use out-of-place operators instead of {name}. If said operator is being called "
        "inside the PyTorch framework, please file a bug report instead.")


def _tag(out, levels) -> None:
    if isinstance(out, Tensor):
        out._vmap_levels = levels
    elif isinstance(out, (tuple, list)):
        for o in out:
            if isinstance(o, Tensor):
                o._vmap_levels = levels


def _mark(cls, inputs, kwargs, apply):
    """The op-application wrapper while vmap runs: outputs inherit their inputs' live
    levels (several when nested vmaps both mapped what went in). It runs for every op, so
    the common cases are short: an input whose tags are all live lends its tuple as it is,
    and an input carrying that same tuple adds nothing."""
    out = apply(cls, *inputs, **kwargs)
    levels = ()
    for x in inputs:
        if not isinstance(x, Tensor):
            continue
        tags = x._vmap_levels
        if not tags or tags is levels:
            continue
        if not levels:
            for lv in tags:
                if not lv.active:
                    break
            else:
                levels = tags
                continue
        levels += tuple(lv for lv in tags if lv.active and lv not in levels)
    if levels:
        if type(out) is Tensor:
            out._vmap_levels = levels
        else:
            _tag(out, levels)
    return out


def _enter(size=None) -> _Level:
    from .._ops import _core

    level = _Level(size)
    if not _running:
        _core.set_vmap(_mark)
    _running.append(level)
    _functorch_layers.stack.append("vmap")
    return level


def _exit(level: _Level) -> None:
    from .._ops import _core

    level.active = False
    _running.remove(level)
    _functorch_layers.stack.pop()
    if not _running:
        _core.set_vmap(None)


def _mapped(t, level: _Level):
    """``t`` tagged as mapped by ``level`` (keeping the tags of outer calls)."""
    t._vmap_levels = tuple(lv for lv in t._vmap_levels if lv.active) + (level,)
    return t


def check_randomness(randomness) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")


def rng_snapshot():
    """The default generator's state, cheap to take and to compare."""
    from .. import _random

    gen = _random.default_generator
    return gen, gen._stream.snapshot()


def rng_restore(snap) -> None:
    gen, state = snap
    gen._stream.restore(state)


def call_checking_randomness(fn, randomness: str, start, *args, **kwargs):
    """``fn(*args, **kwargs)`` under ``randomness``; ``start`` is the generator snapshot
    "same" rewinds to (None: no rewind), and in "error" mode one of the state as it is now
    (None: take one), which the generator goes back to if ``fn`` draws. Whether it drew is
    the stream's cheap mark (a vmap checks every batch element on one snapshot)."""
    if randomness == "same" and start is not None:
        rng_restore(start)
    if randomness != "error":
        return fn(*args, **kwargs)
    snap = start if start is not None else rng_snapshot()
    stream = snap[0]._stream
    mark = stream.mark()
    out = fn(*args, **kwargs)
    if stream.moved_since(mark) or snap[0]._stream is not stream:
        rng_restore(snap)
        raise RuntimeError(RANDOM_ERROR)
    return out


def _name(func) -> str:
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


def _check_out_dims(out_dims, func) -> None:
    if isinstance(out_dims, int):
        return
    for leaf in tree_flatten(out_dims)[0]:
        if leaf is not None and not isinstance(leaf, int):
            raise ValueError(
                f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                "None or a python collection of ints representing where in the outputs the "
                "vmapped dimension should appear.")


def _batched_inputs(in_dims, args, func):
    """``(batch size, flat in_dims, flat args, args spec)`` with PyTorch's checks."""
    name = _name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int "
            "or a (potentially nested) tuple matching the structure of inputs, got: "
            f"{type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
            "are trying to vmap over a function with no inputs. The latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    flat_dims = broadcast_to_and_flatten(in_dims, spec)
    if flat_dims is None:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} "
            f"but inputs has structure {spec}.")
    for i, (arg, d) in enumerate(zip(flat_args, flat_dims)):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an "
                "input but in_dim must be either an integer dimension or None.")
        if not isinstance(arg, Tensor):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an "
                f"input but the input is of type {type(arg)}. We cannot vmap over "
                "non-Tensor arguments, please use None as the respective in_dim")
        if not -arg.dim() <= d < arg.dim():
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some "
                f"input, but that input is a Tensor of dimensionality {arg.dim()} so expected "
                f"in_dim to satisfy -{arg.dim()} <= in_dim < {arg.dim()}.")
        flat_dims[i] = d % arg.dim()
    sizes = [arg.shape[d] for arg, d in zip(flat_args, flat_dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], flat_dims, flat_args, spec


def _flat_out_dims(out_dims, first_output, spec, func):
    def incompatible():
        raise ValueError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{tree_flatten(out_dims)[1]} but outputs has structure {spec}.")

    if isinstance(first_output, Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            return [out_dims]
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return list(out_dims)
        incompatible()
    flat = broadcast_to_and_flatten(out_dims, spec)
    if flat is None:
        incompatible()
    return flat


def _same_value(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        # the raw arrays, not equal(): an outer vmap call may still batch both (it refuses)
        return a.shape == b.shape and a.dtype == b.dtype and bool((a._data == b._data).all())
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _combine(outputs, out_dims, func):
    """The per-element outputs joined as ``out_dims`` says."""
    name = _name(func)
    flats = []
    spec = None
    for out in outputs:
        flat, s = tree_flatten(out)
        if spec is None:
            spec = s
        elif s != spec:
            raise ValueError(
                f"vmap({name}, ...): `{name}` returned outputs of different structure for "
                f"different batch elements ({spec} and {s}); ember's vmap runs the function "
                "once per batch element and needs the same structure from each")
        flats.append(flat)
    flat_dims = _flat_out_dims(out_dims, outputs[0], spec, func)
    result = []
    for k, d in enumerate(flat_dims):
        leaves = [f[k] for f in flats]
        if d is None:
            if not all(_same_value(leaves[0], v) for v in leaves[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                                 "when out_dim is None")
            result.append(leaves[0])
            continue
        if not isinstance(leaves[0], Tensor) or not all(isinstance(v, Tensor) for v in leaves):
            bad = next(v for v in leaves if not isinstance(v, Tensor))
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{type(bad)}. Did you mean to set out_dims= to None for output?")
        shape = leaves[0].shape
        for i, v in enumerate(leaves[1:], 1):
            if v.shape != shape:  # torch's error: its fallback stacks the per-element outputs
                raise RuntimeError(
                    f"stack expects each tensor to be equal size, but got {list(shape)} at "
                    f"entry 0 and {list(v.shape)} at entry {i}")
        from .. import stack

        result.append(_named_as_batched(stack(leaves, dim=d), leaves))
    return tree_unflatten(result, spec)


_DIM_OVERLOAD_NODES = {"SumBackward0": "SumBackward1", "MeanBackward0": "MeanBackward1",
                       "MaxBackward1": "MaxBackward0", "MinBackward1": "MinBackward0",
                       "ProdBackward0": "ProdBackward1"}
# PyTorch's batching rules run a view through another overload or op: ``squeeze(dim)`` as
# ``squeeze(dims)``, ``squeeze()`` as a view, ``t()`` as ``transpose``
_VIEW_RULE_NODES = {"SqueezeBackward1": "SqueezeBackward2", "SqueezeBackward0": "ViewBackward0",
                    "TBackward0": "TransposeBackward0"}
VMAPPED_NODES = {**_DIM_OVERLOAD_NODES, **_VIEW_RULE_NODES}  # the node name under vmap


def batched_node_name(node) -> str:
    """The node vmap's result gets for an element whose output ends in ``node``: the name an
    op gave it after PyTorch's batching rule (``set_vmapped_node_name``) as it is, else the
    name the rule's overload has (a whole-element reduction is one over dims of the batch:
    the dim overload's node)."""
    if getattr(node, "_vmap_rule_name", False):
        return node.name()
    return VMAPPED_NODES.get(node.name(), node.name())


def _named_as_batched(stacked, leaves):
    """Name the loop's stack node after the node each element's output ends in, as PyTorch's
    batched op would be named (``MulBackward0``, not ``StackBackward0``); a custom Function
    batched by ``generate_vmap_rule`` is PyTorch's ``Vmapped<Name>Backward``."""
    from .._ops._core import set_node_name
    from ..autograd.function import BackwardCFunction

    node = leaves[0].grad_fn
    if stacked.grad_fn is None or node is None or any(
            v.grad_fn is None or v.grad_fn.name() != node.name() for v in leaves[1:]):
        return stacked
    generated = getattr(node, "_vmapped_function", False) or (
        isinstance(node, BackwardCFunction)
        and getattr(node._forward_cls, "generate_vmap_rule", False))
    name = batched_node_name(node)
    set_node_name(stacked, "Vmapped" + name if generated else name)
    if generated:
        stacked.grad_fn._vmapped_function = True
    return stacked


def _empty_batch(func, flat_dims, flat_args, spec, kwargs, out_dims, randomness):
    """A batch of size 0: run ``func`` once on zeros to learn the output shapes (keeping the
    generator as it was) and return empty outputs of those shapes."""
    from .._creation import zeros

    sample = [a if d is None else
              zeros(tuple(a.shape[:d]) + tuple(a.shape[d + 1:]), dtype=a.dtype,
                    device=a.device)
              for a, d in zip(flat_args, flat_dims)]
    snap = rng_snapshot()
    level = _enter()
    sample = [a if d is None else _mapped(a, level) for a, d in zip(sample, flat_dims)]
    try:
        out = call_checking_randomness(func, randomness, None,
                                       *tree_unflatten(sample, spec), **kwargs)
    except Exception as e:
        raise RuntimeError(
            f"vmap({_name(func)}, ...) over a batch of size 0: ember's vmap runs the function "
            "once per batch element, and to learn the output shapes of an empty batch it ran "
            f"it once on zeros, which failed ({type(e).__name__}: {e})") from e
    finally:
        _exit(level)
        rng_restore(snap)
    flat, out_spec = tree_flatten(out)
    flat_out = _flat_out_dims(out_dims, out, out_spec, func)
    result = []
    for v, d in zip(flat, flat_out):
        if d is None:
            result.append(v)
        elif not isinstance(v, Tensor):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                             f"Tensors, got type {type(v)}. Did you mean to set out_dims= to "
                             "None for output?")
        else:
            result.append(v.detach().unsqueeze(d).narrow(d, 0, 0))
    return tree_unflatten(result, out_spec)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over dimension ``in_dims`` of its inputs, outputs stacked along
    ``out_dims`` (``torch.vmap`` / ``torch.func.vmap``).

    ``in_dims``: an int for every input, or a tuple with one entry per positional argument,
    each an int, None (not mapped) or a nested structure matching that argument (tuples,
    lists, dicts). ``out_dims`` likewise for the outputs. Keyword arguments are not mapped.
    ``randomness``: "error" (default; raises if ``func`` draws random numbers), "different"
    or "same". ``chunk_size`` is accepted and checked (the whole batch runs at once, or,
    where ember cannot batch ``func``, element by element, as PyTorch's ``chunk_size=1``).
    Per-sample gradients are ``vmap(grad(f))``; nested ``vmap`` maps several dims.

    Example:
        >>> vmap(ember.dot)(a, b)                          # a, b: [B, N] -> [B]
        >>> vmap(lambda x, w: x @ w, in_dims=(0, None))(xs, w)
    """
    check_randomness(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    def wrapped(*args, **kwargs):
        _check_out_dims(out_dims, func)
        size, flat_dims, flat_args, spec = _batched_inputs(in_dims, args, func)
        if size == 0:
            return _empty_batch(func, flat_dims, flat_args, spec, kwargs, out_dims, randomness)
        from . import _batching

        if _batching.ENABLED:
            try:
                result = _batching.batched_call(
                    func, flat_args, flat_dims, spec, kwargs, size,
                    lambda out: _flat_out_dims(out_dims, out, tree_flatten(out)[1], func))
            except Exception as err:  # no rule, a graph break, ...: the loop, as before
                _batching.STATS["fallback"] += 1
                _batching.last_fallback = err
            else:
                _batching.STATS["batched"] += 1
                return result
        start = rng_snapshot() if randomness != "different" else None
        outputs = []
        level = _enter(size)
        try:
            for i in range(size):
                sliced = [a if d is None else _mapped(a.select(d, i), level)
                          for a, d in zip(flat_args, flat_dims)]
                # "error": the state before the loop is the state before every element
                # (an element that draws raises); "same": rewind before all but the first
                outputs.append(call_checking_randomness(
                    func, randomness, start if i or randomness == "error" else None,
                    *tree_unflatten(sliced, spec), **kwargs))
        finally:
            _exit(level)
        return _combine(outputs, out_dims, func)

    return functools.update_wrapper(wrapped, func, updated=())
