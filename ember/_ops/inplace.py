"""In-place ops: write a result into an existing tensor and keep autograd right.

Every in-place op in ember ends here. The result is computed out of place (recording the graph
when needed), checked against the target's dtype and shape, copied in, and the version counter
bumped. The target then takes the result's place in the graph; when it is a view, its base
gets a ``CopySlices`` node so that gradients through the base stay correct.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import asarray_like, get_array_module, is_host
from .._errors import with_hint
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.forward_ad import _current as _forward_ad
from ._core import Op, broadcast_shapes


def check_inplace(t: Tensor) -> None:
    """Refuse in-place changes that autograd could not account for."""
    if t._inference and not grad_mode._state.inference:
        raise RuntimeError(
            "Inplace update to inference tensor outside InferenceMode is not allowed.You can "
            "make a clone to get a normal tensor before doing inplace update.See "
            "https://github.com/pytorch/rfcs/pull/17 for more details.")
    if not grad_mode._state.enabled:
        return
    if t._requires_grad and t.grad_fn is None and t._base is None:
        raise with_hint(
            RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                         "operation."),
            "Wrap parameter updates in `with ember.no_grad():`, or use an out-of-place op.")
    if t._no_grad_view is not None and t.grad_fn is None:
        raise RuntimeError(
            "A view was created in no_grad mode and is being modified inplace with grad mode "
            "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
            "You can clarify your code by moving both the view and the inplace either both "
            "inside the no_grad block (if you don't want the inplace to be tracked) or both "
            "outside (if you want the inplace to be tracked).")
    if t._multi_view and t._requires_grad:
        name = t.grad_fn.name() if t.grad_fn is not None else "View"
        raise RuntimeError(
            f"Output {t._output_nr} of {name.removesuffix('Backward0')} is a view and is being "
            "modified inplace. This view is the output of a function that returns multiple "
            "views. Such functions do not allow the output views to be modified inplace. You "
            "should replace the inplace operation by an out-of-place one.")
    if t._custom_view is not None and t._requires_grad:
        # its node is the Function's (or the view op's): a CopySlices rebase would bypass the
        # Function's own backward, so PyTorch forbids this
        name, several = t._custom_view
        if name is None:
            name = t.grad_fn.name().removesuffix("Backward0")
        head = f"Output {t._output_nr} of {name} is a view and is being modified inplace. "
        if several:
            raise RuntimeError(
                head + "This view is the output of a function that returns multiple views. "
                "Such functions do not allow the output views to be modified inplace. You "
                "should replace the inplace operation by an out-of-place one.")
        raise RuntimeError(
            head + "This view was created inside a custom Function (or because an input was "
            "returned as-is) and the autograd logic to handle view+inplace would override the "
            "custom backward associated with the custom Function, leading to incorrect "
            "gradients. This behavior is forbidden. You can fix this by cloning the output of "
            "the custom Function.")
    base = t._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise leaf_view_error()


# writes PyTorch lets through a tensor whose elements share memory (an ``expand``): a fill
# stores one value whatever the order; PyTorch also lets indexed writes through (deprecated)
_FILLS = frozenset({"fill_", "zero_"})
_INDEXED_WRITES = frozenset({"setitem", "index_put_", "masked_fill_"})


def _internal_overlap(arr) -> bool:
    if arr.flags.c_contiguous:  # (the common case, and one without shared elements)
        return False
    return arr.size > 1 and any(stride == 0 and size > 1
                                for stride, size in zip(arr.strides, arr.shape))


def refuse_internal_overlap(t: Tensor, op: str = "") -> None:
    """PyTorch's refusal to compute into a tensor with several elements at one memory location
    (``x.expand(...).add_(1)``), where the result would depend on the order of the writes."""
    if op in _FILLS or not _internal_overlap(t._data) or t.device.type == "meta":
        return  # (a meta tensor's stand-in array has zero strides; PyTorch checks no memory)
    if op in _INDEXED_WRITES:  # PyTorch writes only the indexed elements; ember writes all
        raise RuntimeError(
            f"{op} on an expanded tensor (several elements at one memory location) is "
            "deprecated in PyTorch and not supported in ember. Please clone() the tensor before "
            "performing this operation.")
    raise RuntimeError(
        "unsupported operation: more than one element of the written-to tensor refers to a "
        "single memory location. Please clone() the tensor before performing the operation.")


def write_target(arr):
    """Where an in-place op writes ``arr``: itself, or for the read-only broadcast view NumPy
    makes of an ``expand``, a writable array over the same memory. Only writes PyTorch lets
    through reach here (``refuse_internal_overlap``): an expand without shared elements, or a
    fill or indexed assignment (shared elements take one of the values written, as in
    PyTorch). Memory read-only for another reason (a read-only buffer) stays read-only."""
    if type(arr) is not np.ndarray or arr.flags.writeable:  # (device arrays: as they are)
        return arr
    owner = arr.base
    if not isinstance(owner, np.ndarray) \
            or not owner.flags.writeable or not owner.flags.c_contiguous:
        return arr
    offset = arr.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    try:
        return np.ndarray(arr.shape, arr.dtype, buffer=owner, offset=offset, strides=arr.strides)
    except (TypeError, ValueError):
        return arr


def leaf_view_error() -> RuntimeError:
    """torch's refusal to write through a view of a leaf that requires grad."""
    return with_hint(RuntimeError("a view of a leaf Variable that requires grad is being used in "
                                  "an in-place operation."),
                     "Wrap the update in `with ember.no_grad():`, or clone the leaf first.")


def _check_result(t: Tensor, dtype: D.dtype, shape: tuple, op: str) -> None:
    if dtype is not t._dtype and not D.can_cast(dtype, t._dtype):
        raise RuntimeError(
            f"result type {_type_title(dtype)} can't be cast to the desired output type "
            f"{_type_title(t._dtype)}")  # PyTorch's wording: no op name
    if shape != t._data.shape:
        full = broadcast_shapes(t._data.shape, shape)
        if full != t._data.shape:
            raise RuntimeError(
                f"output with shape {list(t._data.shape)} doesn't match the broadcast shape "
                f"{list(full)}")


def _type_title(dt: D.dtype) -> str:
    return D.SCALAR_TYPE[dt.name]


def write_inplace(t: Tensor, arr, op: str = "", node: str | None = None, operands=()) -> Tensor:
    """Copy a constant (non-differentiable) array into ``t``: fills, random draws, ``zero_``.
    Where autograd records the write, ``node`` names its node as PyTorch does
    (``UniformBackward0``), with the tensor ``operands``' histories as further edges."""
    check_inplace(t)
    arr = np.asarray(arr) if not hasattr(arr, "shape") else arr
    if t.device.type == "meta":  # no data to write, but a write all the same (as PyTorch)
        t._vbox[0] += 1
        return t
    if arr.shape != t._data.shape:
        _check_result(t, t._dtype, arr.shape, op)
    refuse_internal_overlap(t, op)
    if grad_mode._state.enabled and t._requires_grad:
        from .._creation import tensor

        value = tensor(arr, dtype=t._dtype, device=t.device)
        if node is not None:
            return write_constant(t, value, node, operands, op)
        return apply_inplace(t, value, op)
    if is_host(arr) and not is_host(t._data):  # a host draw into a device tensor
        arr = asarray_like(arr, t._data)
    np.copyto(write_target(t._data), arr, casting="unsafe")
    t._vbox[0] += 1
    return t


def refuse_vmap_mix(t: Tensor, source: Tensor, op: str) -> None:
    """Inside vmap, refuse (as PyTorch) writing values mapped over the batch into a tensor
    that is not: a buffer made outside the function would take one element's values after
    another (see ``func._vmap.refuse_inplace_mix``). Free when ``source`` is not mapped."""
    if source._vmap_levels:
        from ..func._vmap import refuse_inplace_mix

        refuse_inplace_mix(t, source, op)


def apply_inplace(t: Tensor, result: Tensor, op: str = "") -> Tensor:
    """Make ``t`` hold ``result`` (computed out of place from ``t``) and take its graph place."""
    check_inplace(t)
    if result._vmap_levels:
        refuse_vmap_mix(t, result, op)
    _check_result(t, result._dtype, result._data.shape, op)
    if t.device.type == "meta":  # no data to write, but a write all the same (as PyTorch)
        t._vbox[0] += 1
        return t
    refuse_internal_overlap(t, op)
    track = grad_mode._state.enabled and (result._requires_grad or t._requires_grad)
    if track:
        _unshare_saved(t, result)
        if result._dtype is not t._dtype:
            result = result.to(t._dtype)
        if result._data.shape != t._data.shape:
            result = result.expand(t._data.shape)
        if not result._requires_grad or t._requires_grad and not _reaches(result, t):
            result = KeepHistory.apply(result, t)  # t's old history gets a zero gradient
    if track and op in _FILLS and _internal_overlap(t._data):
        raise RuntimeError(f"{op} on an expanded tensor that autograd records is not "
                           "supported in ember. Please clone() the tensor first.")
    np.copyto(write_target(t._data), result._data, casting="unsafe")
    t._vbox[0] += 1
    if track:
        _rebase(t, result)
    if _forward_ad["level"] is not None:
        from ..autograd import forward_ad

        forward_ad.inplace_update(t, result)
    return t


def _unshare_saved(t: Tensor, result: Tensor) -> None:
    """The op that computed ``result`` may have saved ``t`` itself (``mul_``, ``div_``), whose
    memory is about to be overwritten: give it a copy of the old value instead, which sits where
    ``t`` sat in the graph, so its backward sees the values forward saw."""
    node = result.grad_fn
    saved = node._saved if node is not None else None
    if not saved:
        return
    snapshot = None
    for i, (s, _version) in enumerate(saved):
        if s is t:
            if snapshot is None:
                snapshot = Tensor._make(t._data.copy(), t._dtype, t._requires_grad)
                snapshot.grad_fn, snapshot._output_nr = t.grad_fn, t._output_nr
            saved[i] = (snapshot, 0)


def _reaches(result: Tensor, t: Tensor) -> bool:
    """Whether ``result``'s node takes ``t``'s graph position as a direct input."""
    node = result.grad_fn
    if node is None:
        return False
    edge = (t.grad_fn, t._output_nr)
    return any(e[0] is edge[0] and e[1] == edge[1] for e in node.next_functions)


def _rebase(t: Tensor, result: Tensor) -> None:
    base = t._base
    if base is None or t._view_fn is None:
        t.grad_fn, t._output_nr, t._requires_grad = result.grad_fn, result._output_nr, True
        t._rebased_at = t._vbox[0]  # views of t taken earlier must redo their graph node
        return
    node = CopySlices.apply(base, result, view_fn=t._view_fn).grad_fn
    base.grad_fn, base._output_nr, base._requires_grad = node, 0, True
    with grad_mode.enable_grad():
        fresh = t._view_fn(base)
    t.grad_fn, t._output_nr, t._requires_grad = fresh.grad_fn, fresh._output_nr, True
    base._rebased_at = t._fresh_at = base._vbox[0]


def refresh_view(t: Tensor) -> None:
    """Redo the graph node of a view whose base changed in place after the view was taken."""
    base = t._base
    if t._view_fn is not None:
        with grad_mode.enable_grad():
            fresh = t._view_fn(base)
        t.grad_fn, t._output_nr = fresh.grad_fn, fresh._output_nr
        t._requires_grad = fresh._requires_grad
    t._fresh_at = base._rebased_at


class ConstantWrite(Op):
    """An in-place write of a value with no gradient (``eq_``'s comparison, a random draw) as
    PyTorch records it: one node with PyTorch's name (``EqBackward0``, ``UniformBackward0``)
    whose edges are the overwritten tensor's history and those of its tensor operands, each
    of which gets a zero gradient. ``value`` is the array written, in the tensor's dtype."""

    @staticmethod
    def forward(ctx, old, *operands, value, name):
        ctx._name = name
        ctx.metas = [(np.shape(a), t._dtype, t.device)
                     for a, t in zip((old,) + operands, ctx.inputs)]
        return value

    @staticmethod
    def backward(ctx, grad):
        from .._creation import zeros

        return tuple(zeros(shape, dtype=dtype, device=device) if need else None
                     for need, (shape, dtype, device) in zip(ctx.needs_input_grad, ctx.metas))


def write_constant(t: Tensor, value: Tensor, node_name: str, operands=(), op: str = "") -> Tensor:
    """``apply_inplace(t, value)`` for a ``value`` that carries no gradient, recorded (when
    autograd tracks ``t`` or a tensor operand) as one node named ``node_name`` with ``t``'s
    old history and the operands' as its edges, as PyTorch's ``eq_`` or ``uniform_``."""
    tensors = [o for o in operands if isinstance(o, Tensor)]
    if grad_mode._state.enabled and (t._requires_grad or any(o._requires_grad
                                                              for o in tensors)):
        check_inplace(t)
        _check_result(t, value._dtype, value._data.shape, op)
        data = value._data
        if data.shape != t._data.shape:
            data = np.broadcast_to(data, t._data.shape)
        data = data.astype(t._data.dtype, copy=True)
        value = ConstantWrite.apply(t, *tensors, value=data, name=node_name)
    return apply_inplace(t, value, op)


class KeepHistory(Op):
    """Join a new value with the history of the tensor it overwrites (which gets zeros)."""

    @staticmethod
    def forward(ctx, value, old):
        ctx.old_meta = (old.shape, ctx.inputs[1]._dtype, ctx.inputs[1].device)
        return value.copy()

    @staticmethod
    def backward(ctx, grad):
        from .._creation import zeros

        shape, dtype, device = ctx.old_meta
        return grad, (zeros(shape, dtype=dtype, device=device)
                      if ctx.needs_input_grad[1] else None)


class CopySlices(Op):
    """Graph node for a base whose view was changed in place: the view's region of the base's
    gradient goes to the new value, the rest to the base's old history."""

    _name = "torch::autograd::CopySlices"  # PyTorch's C++ node; its class: CopySlices

    @staticmethod
    def forward(ctx, base, value, view_fn):
        mask = get_array_module(base).zeros(base.shape, bool)
        view_fn(Tensor._make(mask, D.bool))._data[...] = True
        ctx.outside = Tensor._make(~mask, D.bool)
        ctx.view_fn = view_fn
        return base

    @staticmethod
    def backward(ctx, grad):
        from .. import _ops

        _ = _ops
        return grad * ctx.outside, ctx.view_fn(grad)
