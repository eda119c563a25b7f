"""``ember.autograd.Function``: user-defined ops with their own backward, as in PyTorch.

A subclass defines ``forward(ctx, *args)`` on Tensors and ``backward(ctx, *grads)``;
``MyFunc.apply(*args)`` runs forward with grad mode off and records one graph node, an
instance of ``MyFuncBackward`` (a ``Node`` subclass made for each Function), which is also the
``ctx`` both static methods receive.

Example:
    >>> class Square(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * grad
    >>> Square.apply(ember.tensor([3.0], requires_grad=True))
    tensor([9.], grad_fn=<SquareBackward>)
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import warnings
from typing import Any

from .. import _dtype as D
from . import anomaly, grad_mode
from . import graph as _graph
from .graph import Node, _sequence, edge_of

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable", "InplaceFunction"]

_state = grad_mode._state


class FunctionCtx:
    """The methods a custom Function's ``ctx`` offers (mixed into every backward node).

    As in PyTorch, what forward declares waits on the ctx until ``apply`` has wired the
    outputs: ``ctx.to_save``, ``ctx.dirty_tensors`` and ``ctx.non_differentiable`` hold the
    tensors given to ``save_for_backward``, ``mark_dirty`` and ``mark_non_differentiable``
    (None before), and are None again once ``apply`` returns. Saved tensors are kept (and
    their versions noted) then, so a tensor may be changed in place after it was named.
    """

    to_save = None
    dirty_tensors = None
    non_differentiable = None

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for backward; ``ctx.saved_tensors`` checks they were not changed since
        forward returned.

        Example:
            >>> ctx.save_for_backward(x, None)   # in forward; ctx.to_save is (x, None)
        """
        self.to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        self.saved_for_forward = tensors

    @property
    def saved_variables(self) -> tuple:
        """The deprecated name of ``saved_tensors`` that older code still reads (NAFNet's
        ``LayerNorm2d``); it warns as PyTorch does.

        Example:
            >>> y, = ctx.saved_variables  # inside backward; prefer ctx.saved_tensors
        """
        warnings.warn("'saved_variables' is deprecated; use 'saved_tensors'", DeprecationWarning,
                      stacklevel=2)
        return self.saved_tensors

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that forward modified in place (they must be returned as outputs)."""
        self.dirty_tensors = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (indices, masks); backward sees zeros for them."""
        self.non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)


class BackwardCFunction(FunctionCtx, Node):
    """Base of the ``<Name>Backward`` nodes recorded by ``Function.apply``."""

    _forward_cls: Any = None
    _tensor_positions: tuple = ()  # which forward arguments were Tensors
    _num_args = 0
    _defer_pack = True  # saved-tensor hooks see the outputs once they are wired to the node
    _unpacks_on_demand = True  # a second backward raises only if it reads saved_tensors

    def __repr__(self):
        # a Python Function's node prints with its module, as torch's do
        # (<torch.autograd.function.SquareBackward object at ...>)
        return f"<{__name__}.{type(self).__name__} object at {hex(id(self))}>"

    def name(self) -> str:
        return type(self).__name__

    def _run_backward(self, grads):
        result = _backward_rule(self._forward_cls)(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = self._num_args
        if len(result) != n:
            if len(result) > n and all(g is None for g in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                                   f"gradients (expected {n}, got {len(result)})")
        return self._check_grads(result)

    def _check_grads(self, result):
        from .._tensor import Tensor

        positions = set(self._tensor_positions)
        out = []
        for i, g in enumerate(result):
            if i not in positions:
                if g is not None:
                    raise RuntimeError(
                        f"function {self.name()} returned a gradient different than None at "
                        f"position {i + 1}, but the corresponding forward input was not a "
                        "Variable")
                continue
            if g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
            shape = self._input_shapes[i]
            if g._data.shape != shape:
                g = _sum_to(g, shape, self.name(), i)
            out.append(g)
        return tuple(out)


def _backward_rule(cls):
    """The Function's ``backward``, or its ``vjp`` (the other name torch accepts for it)."""
    backward, vjp = cls.backward, cls.vjp
    if vjp is Function.vjp:
        return backward
    if backward is not Function.backward:
        raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not "
                           "allowed. You should only implement one of them.")
    return vjp


def _sum_to(g, shape, name, i):
    """Reduce a broadcast gradient to the input's shape, or raise torch's error."""
    from .._ops._core import unbroadcast

    gshape = g._data.shape
    ok = len(shape) <= len(gshape) and all(
        s == gs or s == 1 for s, gs in zip(reversed(shape), reversed(gshape)))
    if not ok:
        raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - got "
                           f"{list(gshape)} but expected shape compatible with {list(shape)}")
    return unbroadcast(g, shape)


class _FunctionMeta(type):
    """Gives each Function subclass its own ``<Name>Backward`` node class."""

    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        super().__init__(name, bases, attrs)


class Function(metaclass=_FunctionMeta):
    """Base class for custom autograd operations; call them with ``MyFunc.apply(*args)``.

    ``forward(ctx, *args)`` receives Tensors (and any other arguments) and runs with grad mode
    off; ``backward(ctx, *grad_outputs)`` returns one gradient per forward argument (``None``
    for arguments that are not tensors or need no gradient). Write backward with ember ops and
    double backward works too.

    Example:
        >>> class Exp(ember.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         y = x.exp(); ctx.save_for_backward(y); return y
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (y,) = ctx.saved_tensors; return grad * y
    """

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method: call "
            f"{type(self).__name__}.apply(...) instead of {type(self).__name__}()(...).")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """Forward-mode rule: the output tangents from the input tangents (``forward_ad``)."""
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        from .._tensor import Tensor

        split_style = cls.setup_context is not Function.setup_context
        if kwargs or split_style:
            args = _forward_arguments(cls, args, kwargs, split_style)
        ctx = cls._backward_cls()
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = _state.enabled and any(needs)
        ctx.needs_input_grad = needs
        ctx._user_recording = record and not cls.__module__.startswith("ember.")
        if ctx._user_recording:
            capture = sys.modules.get("ember.fx.capture")  # a graph capture cannot hold the
            recorder = capture and getattr(capture._active, "recorder", None)  # backward
            if recorder is not None:
                recorder.note_gradient_cut(f"{cls.__name__}.apply() (a custom autograd.Function)")
        ctx._num_args = len(args)
        ctx._tensor_positions = positions

        if _functorch_layers.stack and not cls.__module__.startswith("ember."):
            _check_functorch_support(cls, split_style)
        tangents = _input_tangents(args)
        if tangents is not None and cls.jvp is Function.jvp:
            Function.jvp(ctx)  # raises: forward mode needs the Function's own rule
        # Inside ember.func.vmap, a Function with its own ``vmap`` rule gets (in torch) the
        # whole batch as plain tensors, so its forward may call .numpy()/.item(): hide the
        # vmap tags from it and put them on what it returns.
        hidden = _hide_vmap_tags(cls, args)
        prev = _state.enabled
        _state.enabled = False
        if tangents is not None:  # forward's body sees plain tensors (as torch)
            from .forward_ad import _paused

            paused = _paused()
            paused.__enter__()
        outputs = ()
        try:
            if split_style:
                outputs = cls.forward(*args)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args)
        finally:
            _state.enabled = prev
            if tangents is not None:
                paused.__exit__()
            if hidden:
                _restore_vmap_tags(hidden, outputs)

        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        outs = _process_outputs(ctx, args, outs, record)
        if tangents is not None:
            _run_jvp(cls, ctx, tangents, outs)
        return outs[0] if single else outs


def _forward_arguments(cls, args, kwargs, split_style):
    """The arguments ``apply`` hands forward, all positional, as torch's ``Function.apply``:
    keyword arguments take forward's positional slots of their names (so they count in
    ``needs_input_grad`` and get a gradient slot in backward); a forward without ``ctx``
    (``setup_context`` style) sees its defaults filled in too. Keyword-only and ``**kwargs``
    parameters are refused, as torch refuses them."""
    signature = cls.__dict__.get("_forward_signature")
    if signature is None or signature[0] is not cls.forward:
        signature = (cls.forward, inspect.signature(cls.forward))
        cls._forward_signature = signature
    if split_style:
        bound = signature[1].bind(*args, **kwargs)
        bound.apply_defaults()
        args, kwargs = bound.args, bound.kwargs
    if not kwargs:
        return tuple(args)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in signature[1].parameters.values() if p.kind in kinds]
    names = names[0 if split_style else 1:]  # an old-style forward's first is ctx
    missing = object()
    slots = list(args) + [missing] * (len(names) - len(args))
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"forward() got an unexpected keyword argument '{name}'")
        i = names.index(name)
        if i < len(args):
            raise TypeError(f"forward() got multiple values for argument '{name}'")
        slots[i] = value
    while slots and slots[-1] is missing:
        slots.pop()
    for i, value in enumerate(slots):
        if value is missing:
            raise TypeError(f"forward() missing required argument: '{names[i]}' (position {i})")
    return tuple(slots)


class _ThreadLayers(threading.local):
    """Per thread, as torch's functorch layer stack: a transform running in one thread does
    not apply to another thread's ops."""

    def __init__(self):
        self.stack: list = []


# The ember.func transforms now running in this thread (``.stack``), outermost first: "vmap",
# "grad" (grad, vjp, jacrev) or "jvp" (jvp, jacfwd, linearize). torch refuses a user's
# Function under any of them unless it is written for them (setup_context; a vmap rule; a jvp
# rule).
_functorch_layers = _ThreadLayers()
_FUNC_DOCS = "For more details, please see https://pytorch.org/docs/main/notes/extending.func.html"


class functorch_layer:
    """Marks the body of an ``ember.func`` transform (``kind``: "vmap", "grad" or "jvp")."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        _functorch_layers.stack.append(self.kind)

    def __exit__(self, *exc):
        _functorch_layers.stack.pop()


def _check_functorch_support(cls, split_style: bool) -> None:
    """torch's refusals of a Function applied inside ``vmap``/``grad``/``jvp``/...: it must
    override ``setup_context``; under vmap have a ``vmap`` rule (or ``generate_vmap_rule``);
    under forward mode a ``jvp`` rule."""
    if not split_style:
        raise RuntimeError("In order to use an autograd.Function with functorch transforms "
                           "(vmap, grad, jvp, jacrev, ...), it must override the setup_context "
                           f"staticmethod. {_FUNC_DOCS}")
    if ("vmap" in _functorch_layers.stack and getattr(cls, "vmap", None) is None
            and not getattr(cls, "generate_vmap_rule", False)):
        raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it does not have vmap "
                           "support. Please override and implement the vmap staticmethod or set "
                           f"generate_vmap_rule=True. {_FUNC_DOCS}")
    if "jvp" in _functorch_layers.stack and cls.jvp is Function.jvp:
        Function.jvp(None)  # raises torch's NotImplementedError


def _hide_vmap_tags(cls, args):
    """``[(tensor, its vmap tags)]`` for the tagged ``args`` of a Function that has its own
    ``vmap`` staticmethod (tags cleared), else ``()``."""
    from .._tensor import Tensor

    if getattr(cls, "vmap", None) is None or getattr(cls, "generate_vmap_rule", False):
        return ()
    hidden = [(a, a._vmap_levels) for a in args if isinstance(a, Tensor) and a._vmap_levels]
    for a, _ in hidden:
        a._vmap_levels = ()
    return hidden


def _restore_vmap_tags(hidden, outputs) -> None:
    from .._tensor import Tensor

    levels = ()
    for a, tags in hidden:
        a._vmap_levels = tags
        levels += tuple(t for t in tags if t not in levels)
    for o in outputs if isinstance(outputs, (tuple, list)) else (outputs,):
        if isinstance(o, Tensor):
            o._vmap_levels = levels


def _input_tangents(args):
    """The tangents of ``args`` while forward AD propagates (zeros for tensors without one,
    None for non-tensors), or None when no argument is a dual tensor."""
    from .forward_ad import _current

    if _current["level"] is None or _current["paused"]:
        return None
    from .._tensor import Tensor

    found = [a.__dict__.get("_fw_tangent") if isinstance(a, Tensor) else None for a in args]
    if all(t is None for t in found):
        return None
    from .._creation import zeros_like

    return [t if t is not None or not isinstance(a, Tensor) else zeros_like(a)
            for a, t in zip(args, found)]


def _run_jvp(cls, ctx, tangents, outs):
    """Call the Function's ``jvp`` (``ctx.saved_tensors`` gives what ``save_for_forward``
    kept) and attach its results to the outputs as their tangents."""
    from .._tensor import Tensor
    from .forward_ad import _paused, _set_tangent

    saved = ctx._saved
    forward_saved = ctx.__dict__.get("saved_for_forward")
    if forward_saved is not None:
        ctx._saved = [(t, t._vbox[0]) if isinstance(t, Tensor) else (t, None)
                      for t in forward_saved]
    try:
        with _paused():
            result = cls.jvp(ctx, *tangents)
    finally:
        ctx._saved = saved
    result = result if isinstance(result, tuple) else (result,)
    if len(result) != len(outs):
        raise RuntimeError(f"function {cls.__name__}_jvp returned an incorrect number of "
                           f"outputs (expected {len(outs)}, got {len(result)})")
    for o, t in zip(outs, result):
        if isinstance(o, Tensor) and isinstance(t, Tensor):
            _set_tangent(o, t)


def _process_outputs(ctx, args, outs, record):
    """Connect forward's outputs to the node (or just tidy them when nothing is recorded)."""
    from .._tensor import Tensor

    dirty = {id(t) for t in ctx.dirty_tensors or ()}
    non_diff = {id(t) for t in ctx.non_differentiable or ()}
    input_ids = {id(a) for a in args if isinstance(a, Tensor)}
    n_diff = sum(isinstance(o, Tensor) and id(o) not in non_diff
                 and o._dtype.category >= D._FLOAT for o in outs)
    if record:
        ctx.next_functions = tuple(edge_of(args[i]) for i in ctx._tensor_positions)
        ctx._input_shapes = {i: args[i]._data.shape for i in ctx._tensor_positions}
        ctx._num_outputs = len(outs)
        ctx._output_meta = [(tuple(o.shape), o.dtype, o.device) if isinstance(o, Tensor)
                            else ((), None, None) for o in outs]
        ctx._seq = next(_sequence)
        if anomaly._enabled[0]:
            anomaly.record_trace(ctx)
    result = []
    for nr, o in enumerate(outs):
        if not isinstance(o, Tensor):
            result.append(o)
            continue
        if id(o) in dirty:
            o._vbox[0] += 1  # torch bumps a dirty tensor's version once more here
            if record and id(o) not in non_diff:
                _rebase_dirty(o, ctx, nr)
            result.append(o)
            continue
        if id(o) in input_ids:
            o = _alias(o)  # a returned input becomes a new tensor on the same memory, as in torch
        if record and id(o) not in non_diff and o._dtype.category >= D._FLOAT:
            o.grad_fn, o._output_nr, o._requires_grad = ctx, nr, True
            if o._base is not None:  # a view: in-place changes to it are refused
                o._custom_view = (ctx._forward_cls.__name__, n_diff > 1)
        result.append(o)
    _save_declared(ctx)
    if record and _graph._hooks_in_use:
        _graph.pack_saved(ctx)
    return tuple(result)


def _save_declared(ctx):
    """Keep what forward named with ``save_for_backward``, now that the outputs are wired
    (their versions as forward left them), and clear what forward declared, as torch does."""
    to_save = ctx.to_save
    ctx.to_save = ctx.dirty_tensors = ctx.non_differentiable = None
    if to_save is None:
        return
    if ctx.__dict__.get("_user_recording"):  # torch checks only what a graph will keep
        from .._tensor import Tensor

        for i, t in enumerate(to_save):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{i} is of type {type(t).__name__}")
    Node.save_for_backward(ctx, *to_save)


def _alias(t):
    from .._tensor import Tensor

    out = Tensor._make(t._data, t._dtype)
    out._vbox = t._vbox
    out._base = t._base if t._base is not None else t
    return out


def _rebase_dirty(t, ctx, nr):
    """A tensor forward changed in place now comes out of the node (views rebase their base)."""
    from .._ops import inplace
    from .._tensor import Tensor

    if t._requires_grad and t.grad_fn is None and t._base is None:
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                           "operation.")
    fresh = Tensor._make(t._data, t._dtype, True)
    fresh.grad_fn, fresh._output_nr = ctx, nr
    inplace._rebase(t, fresh)


class InplaceFunction(Function):
    """A Function that can work in place (``inplace=True``); kept for torch compatibility."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace


class _DelayedErrorNode(Node):
    _name = "DelayedError"

    def __init__(self, msg, n):
        self.msg = msg
        self._seq = next(_sequence)
        self._num_outputs = n

    def _run_backward(self, grads):
        raise RuntimeError(self.msg)


def once_differentiable(fn):
    """Decorate a ``backward`` that is not itself differentiable (e.g. written in NumPy).

    It runs without recording; differentiating its result again raises a clear error.
    """

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        from .._tensor import Tensor

        prev = _state.enabled
        _state.enabled = False
        try:
            outputs = fn(ctx, *args)
        finally:
            _state.enabled = prev
        if not prev:
            return outputs
        grads_need = [a for a in args if isinstance(a, Tensor) and a._requires_grad]
        if not grads_need:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        node = _DelayedErrorNode(
            "trying to differentiate twice a function that was marked with "
            "@once_differentiable", 1)
        node.next_functions = tuple(edge_of(a) for a in grads_need)
        wrapped = []
        for o in outs:
            if isinstance(o, Tensor) and o._dtype.category >= D._FLOAT:
                o = _alias(o)
                o.grad_fn, o._output_nr, o._requires_grad = node, 0, True
            wrapped.append(o)
        return wrapped[0] if single else tuple(wrapped)

    return wrapper
