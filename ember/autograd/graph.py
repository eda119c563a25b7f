"""Graph nodes and the backward engine.

A ``Node`` is one recorded operation (its ``grad_fn``). It knows the nodes that produced its
inputs (``next_functions``), what it saved for backward, and how to turn output gradients into
input gradients. The engine walks nodes in dependency order from the roots, summing gradients
that meet, and hands leaf gradients to ``AccumulateGrad`` nodes, which add them to ``.grad``.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import re
import sys
import threading
import weakref
from typing import NamedTuple

import numpy as np
from numpy import ndarray

from .._errors import with_hint
from ..utils.hooks import RemovableHandle
from . import anomaly, grad_mode

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
           "register_multi_grad_hook", "allow_mutation_on_saved_tensors", "Node",
           "GradientEdge", "get_gradient_edge", "increment_version"]

_sequence = itertools.count()
_ACCUMULATE_FIRST = 1 << 62  # above any op node's sequence number

_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")


class Node:
    """One recorded operation in the autograd graph (what ``tensor.grad_fn`` returns).

    Subclasses define ``backward(ctx, *grad_outputs)`` returning one gradient per input.
    The node itself is the ``ctx`` its forward and backward share.
    """

    needs_input_grad: tuple = ()
    next_functions: tuple = ()
    _saved = None
    _saved_output = None
    _freed = False
    _pre_hooks = None
    _post_hooks = None
    _retained = None
    _anomaly_trace = None
    _num_outputs = 1
    _output_meta = None  # (shape, dtype, device) per output, to fill in missing gradients
    _seq = 0
    materialize_grads = True
    # The inputs ``next_functions`` lists, by position, where PyTorch's node lists fewer than
    # the op was given (None: all): its Scalar arguments (``x.pow(2)``, ``clamp(x, 0, 1)``)
    # and non-differentiable ones (``where``'s condition) have no entry. backward still
    # answers per input; ``_listed_grads`` keeps the listed ones.
    _listed = None
    # a freed node raises on a second backward at once (built-in ops, which unpack all they
    # saved first), or only when its backward reads what was freed (Function's nodes)
    _unpacks_on_demand = False
    # a pass with ``inputs`` narrows this node's needs_input_grad to the gradients that lead
    # to them (built-in ops; a custom Function's ctx keeps PyTorch's static flags)
    _narrowable = False
    _defer_pack = False  # custom Functions pack what they saved after forward, as PyTorch

    # -- the node's class carries PyTorch's name --------------------------------------------
    # PyTorch's nodes are classes named after their backward ("SinBackward0"), so
    # ``type(y.grad_fn).__name__`` and ``repr(y.grad_fn)`` show that name. An ember op class
    # keeps its own short name ("Sin", which ember's code and profiler use); each node class
    # gets, once at class creation, a subclass named as PyTorch names the node
    # (``_node_cls``), and nodes are made from that. An op that picks its name per call
    # (``ctx._name = "MvBackward0"``) moves the node to the subclass of that name, made on
    # first use and cached. ``_op_class`` is the op class behind a node whatever it is named.
    _declared_name = None  # a class's ``_name = "..."``, kept here (see __init_subclass__)
    _node_cls = None
    _op_class = None
    _named_of = None  # on the named subclasses: the class they name

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_named_of" in cls.__dict__:  # one of the named subclasses made below
            return
        if "_name" in cls.__dict__:  # a class's ``_name = ...`` moves aside for _NameSlot
            cls._declared_name = cls.__dict__["_name"]
            delattr(cls, "_name")
        cls._op_class = cls
        cls._node_cls = _class_named(cls, cls._default_name()) \
            if cls.name is Node.name else cls  # a class naming itself (Function's) keeps it

    @classmethod
    def _default_name(cls) -> str:
        # PyTorch capitalises a letter that follows a digit (Log1PBackward0, Deg2RadBackward0)
        return cls._declared_name or \
            re.sub(r"(?<=[0-9])[a-z]", lambda m: m.group().upper(), cls.__name__) + "Backward0"

    def __new__(cls, *args, **kwargs):  # nodes built by calling their class get the name too
        return object.__new__(cls._node_cls or cls)

    class _NameSlot:
        """``node._name``: reads as ``name()``; set, moves the node to the class of that
        name. On a class it reads as the class's own ``_name = ...`` (None without one)."""

        def __get__(self, node, cls):
            return cls._declared_name if node is None else node.name()

        def __set__(self, node, value):
            op = type(node)._op_class or type(node)
            node.__class__ = _class_named(op, value or op._default_name())

    _name = _NameSlot()

    def name(self) -> str:
        cls = type(self)
        return cls.__dict__.get("_torch_name") or cls._default_name()

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def __call__(self, *grads):
        """Run this node's backward on ``grads`` (one per output), as calling a PyTorch node
        does: no hooks, nothing freed; the result is one gradient per ``next_functions``
        entry (the gradient itself when there is one), recorded when grad mode is on.

        Example:
            >>> y = x.sin(); y.grad_fn(ember.ones_like(y))   # cos(x)
        """
        n = self._num_outputs
        if len(grads) != n:
            raise TypeError(f"expected {n} arguments, got {len(grads)} instead")
        if self._freed and not self._unpacks_on_demand:
            raise RuntimeError(_FREED_MSG)
        if all(g is None for g in grads):
            result = (None,) * len(self.next_functions)
        else:
            if self.materialize_grads and self._output_meta is not None:
                grads = tuple(g if g is not None else _zeros_for(self, i)
                              for i, g in enumerate(grads))
            result = tuple(self._run_backward(list(grads)))
            if self._listed is not None:
                result = _listed_grads(self, result)
            result += (None,) * (len(self.next_functions) - len(result))
        return result[0] if len(result) == 1 else result

    def _sequence_nr(self) -> int:
        """The order the node was made in (a later node has a larger number)."""
        return self._seq

    # -- saving ----------------------------------------------------------------------------
    _record = True  # Op.apply sets False when no graph is recorded: then nothing is kept

    def save_for_backward(self, *tensors):
        """Keep tensors (inputs or outputs) for backward; their versions are checked then."""
        if not self._record:
            return
        self._saved = [(t, t._vbox[0]) if hasattr(t, "_vbox") else (t, None)
                       for t in tensors]
        if grad_mode.inference_tensors_made and any(getattr(t, "_inference", False)
                                                    for t in tensors):
            raise RuntimeError(
                "Inference tensors cannot be saved for backward. Please do not use Tensors "
                "created in inference mode in computation tracked by autograd. To work around "
                "this, you can make a clone to get a normal tensor and use it in autograd, or use "
                "`torch.no_grad()` instead of `torch.inference_mode()`.")
        if _hooks_in_use and not self._defer_pack:  # the plain path's one check for hooks
            pack_saved(self)

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        if type(self._saved) is _PackedSaves:
            return self._unpack_saved()
        out = []
        for item in self._saved or ():
            t, version = item
            if version is not None and t._vbox[0] != version:
                raise modified_error(t, version, self)
            out.append(t)
        if self._saved_output is not None:
            out.append(self._output_tensor())
        return tuple(out)

    def _unpack_saved(self):
        out = [item.unpack(self) if type(item) is _Packed else item for item, _ in self._saved]
        if self._saved_output is not None:
            out.append(self._output_tensor())
        return tuple(out)

    def _output_tensor(self):
        saved = self._saved_output
        if type(saved) is _Packed:
            return saved.unpack(self)
        data, box, version, dtype, requires_grad = saved
        if box[0] != version:
            from .._tensor import Tensor

            fake = Tensor._make(data, dtype)
            fake.grad_fn, fake._output_nr = self, 0
            raise modified_error(fake, version, self, box[0])
        from .._tensor import Tensor

        t = Tensor._make(data, dtype, requires_grad)
        if requires_grad:
            t.grad_fn = self
        return t

    def _free(self):
        self._saved = None
        self._saved_output = None
        self._freed = True

    @property
    def metadata(self) -> dict:
        """A dict kept with this node for the user's own notes (empty until written to).

        Example:
            >>> y = x * 2; y.grad_fn.metadata["step"] = 3
        """
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self.__dict__["_metadata"] = {}
        return meta

    @metadata.setter
    def metadata(self, value):
        raise AttributeError(
            f"attribute 'metadata' of '{self.name()}' objects is not writable")

    # -- hooks -----------------------------------------------------------------------------
    def register_hook(self, fn):
        """Run ``fn(grad_inputs, grad_outputs)`` after this node's backward."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return _RemovableHandle(self._post_hooks, fn)

    def register_prehook(self, fn):
        """Run ``fn(grad_outputs)`` before this node's backward; it may return new gradients."""
        return self._add_pre_hook(None, fn)

    def _add_pre_hook(self, output_nr, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        hooks = self._pre_hooks.setdefault(output_nr, [])
        hooks.append(fn)
        return _RemovableHandle(hooks, fn)

    def _run_backward(self, grads):
        result = type(self).backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return result

    # -- what PyTorch's generated nodes show of their saved values --------------------------
    # ``_saved_fields`` names them as PyTorch does: field -> an index into what the node saved
    # with save_for_backward, "result" for its saved output, or ("attr", name) for a plain
    # attribute the forward set (kept after backward frees the tensors). None: only the
    # output, as "result", where the op saves it.
    _saved_fields = None

    def __dir__(self):
        # the saved fields are looked up on demand (__getattr__); list them as PyTorch does
        fields = self._saved_fields
        if fields is None:
            fields = {"result": "result"} if getattr(self, "save_output", False) else {}
        names = set(super().__dir__())
        for field, spec in fields.items():
            names.add(f"_saved_{field}")
            if type(spec) is not tuple:  # a tensor: it has a raw form too
                names.add(f"_raw_saved_{field}")
        return sorted(names)

    def __getattr__(self, name):
        # reached only for attributes the node lacks: ``grad_fn._saved_self`` and the like
        if name.startswith("_saved_"):
            field, raw = name[7:], False
        elif name.startswith("_raw_saved_"):
            field, raw = name[11:], True
        else:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        fields = self._saved_fields
        if fields is None:
            fields = {"result": "result"} if getattr(self, "save_output", False) else {}
        spec = fields.get(field)
        if spec is None or raw and type(spec) is tuple:  # plain values have no raw form
            raise AttributeError(f"'{self.name()}' object has no attribute '{name}'")
        if type(spec) is tuple:
            return getattr(self, spec[1])
        if raw:
            return SavedTensor(self, spec)
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        if spec == "result":
            return self._output_tensor()
        item = _saved_item(self, spec)
        if type(item) is _Packed:
            return item.unpack(self)
        if item is None or hasattr(item, "_vbox"):
            return item
        return _scalar_tensor(item)  # a number (``x * 2``): PyTorch shows it as a tensor


_named_classes: dict = {}
_CPP_PREFIX = "torch::autograd::"  # PyTorch's C++ nodes answer name() with it; their class
#                                    names leave it off (CopySlices, AccumulateGrad)


def _class_named(cls, name: str):
    """The node class named ``name`` (PyTorch's node name) for op class ``cls``; made once,
    then cached."""
    key = (cls, name)
    named = _named_classes.get(key)
    if named is None:
        short = name[len(_CPP_PREFIX):] if name.startswith(_CPP_PREFIX) else name
        if short == cls.__name__ and name == cls._default_name():  # named so (AccumulateGrad)
            named = cls
        else:
            # module "builtins", as PyTorch's: the class prints as <class 'SinBackward0'>
            named = type(cls)(short, (cls,), {
                "_named_of": cls, "_torch_name": name, "__module__": "builtins",
                "__qualname__": short, "__doc__": cls.__doc__, "__slots__": ()})
        named = _named_classes.setdefault(key, named)  # (two threads: both get the first)
    return named


def _saved_item(node, spec):
    """The raw entry behind one saved field: a tensor, a _Packed record, a number or None."""
    if node._freed:
        return None
    if spec == "result":
        return node._saved_output
    saved = node._saved
    return saved[spec][0] if saved is not None and spec < len(saved) else None


def _scalar_tensor(value):
    from .._creation import tensor

    return tensor(value)


class SavedTensor:
    """One tensor a node saved for backward, as ``grad_fn._raw_saved_<name>`` returns it.

    ``register_hooks(pack_hook, unpack_hook)`` sends just this tensor through a pack/unpack
    pair, as ``saved_tensors_hooks`` does for every saved tensor inside its block: ``pack_hook``
    runs now, ``unpack_hook`` whenever backward (or ``_saved_<name>``) reads it.

    Example:
        >>> y = x.pow(2)
        >>> y.grad_fn._raw_saved_self.register_hooks(lambda t: t.clone(), lambda t: t)
    """

    __slots__ = ("_node", "_spec")

    def __init__(self, node, spec):
        self._node, self._spec = node, spec

    def register_hooks(self, pack_hook, unpack_hook) -> None:
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("register_hooks(): expected two callables, a pack hook and an "
                            f"unpack hook (got {type(pack_hook).__name__} and "
                            f"{type(unpack_hook).__name__})")
        node, spec = self._node, self._spec
        if node._freed:
            raise RuntimeError(
                "Calling register_hooks on a saved tensor after it has been freed. Saved "
                "intermediate values of the graph are freed when you call .backward() or "
                "autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved variables after calling "
                "backward.")
        item = _saved_item(node, spec)
        if item is None or spec != "result" and not hasattr(item, "_vbox") \
                and type(item) is not _Packed:  # (a number the op kept is no tensor either)
            raise RuntimeError("Calling register_hooks on a saved tensor with value None is "
                               "forbidden")
        if type(item) is _Packed:
            raise RuntimeError(
                "Calling register_hooks on a saved tensor whose hooks have already been set. "
                "Hint: only one pair of hooks is allowed at a time.")
        hooks = (pack_hook, unpack_hook)
        if spec == "result":
            node.__dict__["_saved_output"] = _pack(node._output_tensor(), hooks, node)
            return
        entries = list(node._saved)
        entries[spec] = (_pack(item, hooks, node), None)
        node._saved = _PackedSaves(entries)


# torch's nodes of the view ops that return several views (chunk records SplitBackward0)
_MULTI_VIEW_NODES = {"UnbindBackward0", "SplitBackward0", "SplitWithSizesBackward0"}


def _modified_message(t, version, node, now=None):
    from .._tensor_str import type_name

    fn = t.grad_fn
    fn_name = fn.name() if fn is not None else None
    output_nr = t._output_nr
    if fn is not None and getattr(t, "_base", None) is not None:
        # The saved tensor is a view whose storage changed in place since its grad_fn was made:
        # torch regenerates that grad_fn as AsStrided when the message asks for it, and refuses
        # outright for the outputs of multi-view ops (unbind, split, chunk).
        if fn_name in _MULTI_VIEW_NODES:
            return (f"Output {output_nr} of {fn_name[:-len('Backward0')]} is a view and its base "
                    "or another view of its base has been modified inplace. This view is the "
                    "output of a function that returns multiple views. Such functions do not "
                    "allow the output views to be modified inplace. You should replace the "
                    "inplace operation by an out-of-place one.")
        fn_name, output_nr = "AsStridedBackward0", 0
    # torch 2.x names the producing op without "Backward0", other overloads keeping their
    # number ("output 0 of Mul", "of Clamp1" for ClampBackward1)
    # (a leaf: no "which is" clause in torch 2.x)
    owner = (f", which is output {output_nr} of "
             f"{re.sub(r'Backward(0$|(?=[1-9][0-9]*$))', '', fn_name)},"
             if fn is not None else "")
    now = t._vbox[0] if now is None else now
    torch_hint = (
        "the backtrace further above shows the operation that failed to compute its gradient. "
        "The variable in question was changed in there or anywhere later. Good luck!"
        if anomaly.is_anomaly_enabled() else
        "enable anomaly detection to find the operation that failed to compute its gradient, "
        "with torch.autograd.set_detect_anomaly(True, check_nan=False).")
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{type_name(t)} {list(t.shape)}]{owner} is at version {now}; "
        f"expected version {version} instead. Hint: {torch_hint}")


def modified_error(t, version, node, now=None) -> RuntimeError:
    """torch's error for a saved tensor changed in place since, with ember's way out."""
    return with_hint(RuntimeError(_modified_message(t, version, node, now)),
                     f"the backward of {node.name()} needs this tensor unchanged; replace the "
                     "in-place op (e.g. x.add_(...) or x[...] = ...) by its out-of-place form, "
                     "or .clone() the tensor before changing it.")


class AccumulateGrad(Node):
    """The graph's end for a leaf tensor: adds incoming gradients to ``variable.grad``."""

    _name = "torch::autograd::AccumulateGrad"  # name() as PyTorch's C++ node answers it
    # Like PyTorch, a leaf's gradient is accumulated as soon as it is complete, before any
    # op node that is ready too; leaves ready together go in the order the node that
    # completed them lists them in next_functions (the engine's push order breaks the tie):
    # a convolution's weight before its bias, a linear layer's bias (listed first, as
    # addmm's) before its weight, which DDP's buckets expect.
    _seq = _ACCUMULATE_FIRST

    def __init__(self, variable):
        self.variable = variable

    def __call__(self, grad):
        """Add ``grad`` into the leaf's ``.grad`` (no hooks run), as PyTorch's node does."""
        if grad is not None:
            self.accumulate(grad, create_graph=False, hooks_done=True)
        return ()

    def _sequence_nr(self) -> int:
        return (1 << 64) - 1  # PyTorch's: the largest number, whatever the creation order

    def accumulate(self, grad, create_graph, claimed=None, hooks_done=False):
        """Add ``grad`` into ``variable.grad``. ``claimed`` (one per backward pass) holds the
        ids of the arrays this pass already took over as a ``.grad``; ``hooks_done`` says
        the variable's tensor hooks already ran (the engine runs them before capture)."""
        var = self.variable
        hooks = var._hooks
        if not hooks_done:
            grad = _run_leaf_hooks(hooks, grad)
        if var._grad is None:
            if create_graph:
                var._grad = _differentiable_copy(grad, var)
                var._grad_private = False
            else:
                # PyTorch's rule: .grad never aliases another tensor, and has the variable's
                # layout. A fresh gradient that nothing else holds is taken over; any other
                # (shared, a view, broadcast, hooked, another layout) is copied.
                var._grad = _own_grad(grad, var, None if hooks else claimed)
                var._grad_private = True
        elif create_graph or grad_mode.is_grad_enabled():
            var._grad = var.grad + grad
        elif var._grad_private:
            var.grad._data += grad._data
        else:
            # The first gradient may be shared with another tensor: add out of place once,
            # then the new buffer is ours to update in place.
            var._grad = (var.grad + grad).detach()
            var._grad_private = True
        if var._post_acc_hooks:
            _run_post_accumulate_hooks(var)


def _differentiable_copy(grad, var):
    """``grad`` copied into a new tensor in ``var``'s layout, the copy recorded (CopyBackwards),
    as PyTorch's AccumulateGrad keeps a double-backward gradient: ``.grad`` never aliases
    another tensor (a broadcast view of the output's gradient, say), so ``zero_grad`` may zero
    it in place."""
    if type(grad) is not _tensor_type() or type(grad._data) is not ndarray:
        return grad  # (device, sparse and subclass gradients are kept as they came)
    out = type(grad)._make(np.empty_like(var._data, dtype=grad._data.dtype), grad._dtype)
    with grad_mode.enable_grad():
        return out.copy_(grad)


def _own_grad(grad, var, claimed):
    """``grad`` as a tensor ``var.grad`` may own: the array itself when nothing else holds
    it (``claimed`` is None: always copy), else a copy in ``var``'s layout."""
    arr = grad._data
    if type(arr) is not ndarray:
        return grad.detach().clone()
    if (claimed is not None and _getrefcount is not None and id(arr) not in claimed
            and arr.strides == var._data.strides and arr.flags.writeable and _sole(arr)):
        claimed.add(id(arr))
        return type(grad)._make(arr, grad._dtype)
    out = np.empty_like(var._data, dtype=arr.dtype)
    np.copyto(out, arr)
    return type(grad)._make(out, grad._dtype)


_getrefcount = getattr(sys, "getrefcount", None)  # CPython; elsewhere gradients are copied


def _sole(arr) -> bool:
    """True when ``arr`` (and every array its memory comes from) is referenced only by the
    one gradient tensor being accumulated: no other tensor, view or cache can see it."""
    # references here: the tensor's _data, _own_grad's local, this argument, getrefcount's
    if _getrefcount(arr) != 4:
        return False
    base = arr.base
    while base is not None:
        # the view above it, this local, getrefcount's argument
        if type(base) is not ndarray or _getrefcount(base) != 3:
            return False
        base = base.base
    return True


class _RemovableHandle(RemovableHandle):
    """A handle over a list or dict of hooks; a ``torch.utils.hooks.RemovableHandle`` to
    ``isinstance`` (as every handle PyTorch returns), without that class's weak references."""

    _ids = itertools.count()

    def __init__(self, container, item):
        self._ref = container
        self._item = item
        self.id = next(self._ids)

    def remove(self):
        try:
            if isinstance(self._ref, dict):
                self._ref.pop(self._item, None)
            else:
                self._ref.remove(self._item)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()

    # plain attribute pickling: the base class's state is its weak references, unused here
    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)


def grad_accumulator(t) -> AccumulateGrad:
    """The (shared) AccumulateGrad node of a leaf tensor that requires grad."""
    ref = t._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        # made without Node.__new__'s class lookup (AccumulateGrad is its own name): a leaf's
        # node is made again whenever the last graph using it has gone
        node = object.__new__(AccumulateGrad)
        node.__init__(t)
        t._grad_acc = weakref.ref(node)
    return node


def edge_of(t):
    """The (node, output_nr) where the gradient for tensor ``t`` enters the graph."""
    base = t._base
    if base is not None and base._rebased_at > t._fresh_at:
        from .._ops.inplace import refresh_view

        refresh_view(t)
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    if t._no_grad_view is not None:  # a view made under no_grad has no AccumulateGrad
        if t._vbox[0] != t._no_grad_view:
            raise RuntimeError(
                "A view was created in no_grad mode and its base or another view of its base "
                "has been modified inplace with grad mode enabled. Given that this use case is "
                "ambiguous and error-prone, it is forbidden. You can clarify your code by moving "
                "both the view and the inplace either both inside the no_grad block (if you "
                "don't want the inplace to be tracked) or both outside (if you want the inplace "
                "to be tracked).")
        return None, 0
    if t.requires_grad:
        return grad_accumulator(t), 0
    return None, 0


_TENSOR = []


def _tensor_type():
    if not _TENSOR:
        from .._tensor import Tensor

        _TENSOR.append(Tensor)
    return _TENSOR[0]


# Whether the backward pass now running may re-enter autograd for a reentrant checkpoint:
# PyTorch's torch.autograd._is_checkpoint_valid(), false under autograd.grad or inputs=.
_checkpoint_valid = threading.local()


def is_checkpoint_valid() -> bool:
    return getattr(_checkpoint_valid, "value", True)


def increment_version(tensor) -> None:
    """Count one in-place change of ``tensor`` (or of each tensor in an iterable), for code
    that changes a tensor's memory behind autograd's back (through ``.numpy()``, say): a
    backward that saved it then refuses, as after any in-place op.

    Example:
        >>> b = a * 1; c = b * b
        >>> increment_version(b)   # c.sum().backward() now raises
    """
    from .._tensor import Tensor

    tensors = (tensor,) if isinstance(tensor, Tensor) else tensor
    for t in tensors:
        t._vbox[0] += 1  # the box is shared with views and their base


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None,
                 allow_unused=True, accumulate=True):
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph (and record, for
    reentrant checkpoints, whether this pass accumulates into every leaf's ``.grad``)."""
    previous = is_checkpoint_valid()
    _checkpoint_valid.value = accumulate and inputs is None
    outer_task = getattr(_engine_task, "current", None)
    try:
        return _run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs,
                             allow_unused, accumulate)
    finally:
        _checkpoint_valid.value = previous
        _engine_task.current = outer_task


def _run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None,
                  allow_unused=True, accumulate=True):
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph.

    With ``accumulate`` (``Tensor.backward``), leaf gradients go to ``.grad`` (only the
    ``inputs``' when given). Without it (``autograd.grad``), the gradients reaching ``inputs``
    are returned and no ``.grad`` is touched.
    """
    Tensor = _tensor_type()
    roots = []
    for out, g in zip(outputs, grad_outputs):
        node, nr = _edge_endpoint(out) if type(out) is GradientEdge else edge_of(out)
        if node is None:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn")
        roots.append((node, nr, g))

    # Where gradients are captured (autograd.grad) or the only places they go (inputs=).
    capture = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if type(t) is GradientEdge:
                node, nr = _edge_endpoint(t)
            elif not isinstance(t, Tensor):
                raise TypeError("inputs must be tensors")
            else:
                node, nr = edge_of(t)
            if node is None:
                if accumulate:  # backward(inputs=...) words it as torch does
                    raise RuntimeError(
                        "can't retain_grad on Tensor that has requires_grad=False")
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture.setdefault((node, nr), []).append(i)

    stack = list(dict.fromkeys(node for node, _, _ in roots))  # one node, several outputs
    # A pass with inputs from one root keeps its plan on the root (edges never change once a
    # node exists), so the passes of jacrev/jacfwd/hessian over one graph walk it once.
    root = stack[0] if inputs is not None and len(stack) == 1 else None
    plan = None
    if root is not None:
        plan = root.__dict__.get("_plan")
        if plan is not None and plan[0] != tuple(capture):
            plan = None
    if plan is not None:  # (kept without the root itself: no reference cycle through it)
        deps, seen = plan[1].copy(), plan[2] | {root}
        needed = plan[3] | {root} if plan[5] else plan[3]
        run = plan[4] | {root} if plan[6] else plan[4]
    else:
        # Count how many edges lead into each node reachable from the roots. With inputs,
        # a node made before every captured one cannot lead to any (edges point to older
        # nodes only): the walk stops there, so a grad() inside a long rollout (autograd.grad
        # of each step's energy, in a simulation loop) does not walk the whole history.
        oldest = _oldest_capturable(capture) if inputs is not None else 0
        deps = {}
        seen = set(stack)
        while stack:
            node = stack.pop()
            for nxt, _ in node.next_functions:
                if nxt is None or 0 < nxt._seq < oldest:
                    continue
                deps[nxt] = deps.get(nxt, 0) + 1
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        needed, run = _nodes_leading_to(seen, capture) if inputs is not None else (None, None)
        if root is not None and all(node in seen and node is not root for node, _ in capture):
            # (only nodes the root already keeps alive: an unused input's is left out)
            root.__dict__["_plan"] = (tuple(capture), dict(deps), seen - {root},
                                      needed - {root}, run - {root}, root in needed,
                                      root in run)
    _engine_task.current = _GraphTask(seen, needed, accumulate)

    buffers = {}
    for node, nr, g in roots:
        _add_grad(buffers, node, nr, g)

    results = [None] * (len(inputs) if inputs is not None else 0)
    claimed: set = set()  # arrays taken over as some .grad in this pass
    ready, pushed = [], set()
    order = itertools.count()  # ties (leaves, all at _ACCUMULATE_FIRST): first pushed first
    for node, _, _ in roots:
        if deps.get(node, 0) == 0 and node not in pushed:
            pushed.add(node)
            heapq.heappush(ready, (-node._seq, next(order), node))

    prev_mode = grad_mode._state.enabled
    grad_mode._state.enabled = bool(create_graph)
    heappop, heappush = heapq.heappop, heapq.heappush
    fast_sum = not create_graph  # without a graph to record, gradients add as plain arrays
    try:
        while ready:
            node = heappop(ready)[2]
            if needed is not None and node not in needed:
                buffers.pop(node, None)  # leads to no input: PyTorch runs neither the node
                continue                 # nor its tensors' hooks (nor anything below it)
            grads = buffers.pop(node, None) or [None] * node._num_outputs
            hooks = node._pre_hooks
            if hooks or node._retained:
                grads = _run_pre_hooks(node, grads)  # the tensors' hooks, before capture
            is_leaf = type(node) is AccumulateGrad
            if is_leaf:
                taken = (node, 0) in capture if inputs is not None else accumulate
                if taken and grads[0] is not None and node.variable._hooks:
                    grads = [_run_leaf_hooks(node.variable._hooks, grads[0])]
            if capture:
                for nr in range(node._num_outputs):
                    for i in capture.get((node, nr), ()):
                        results[i] = grads[nr]
            if is_leaf:
                if accumulate and taken and grads[0] is not None:
                    if hooks and None in hooks:
                        grads = _run_node_pre_hooks(hooks[None], grads)
                    node.accumulate(grads[0], create_graph, claimed, hooks_done=True)
                    if node._post_hooks:  # PyTorch calls them with no grad_inputs
                        for hook in list(node._post_hooks):
                            hook((), tuple(grads))
                continue
            if run is not None and node not in run:
                input_grads = ()
            else:
                if hooks and None in hooks:  # the node's own pre-hooks: only when it runs
                    grads = _run_node_pre_hooks(hooks[None], grads)
                if run is not None and node._narrowable:
                    input_grads = _call_narrowed(node, grads, retain_graph, Tensor, needed)
                else:
                    input_grads = _call_node(node, grads, retain_graph, Tensor)
            for (nxt, nr), g in zip(node.next_functions, input_grads):
                if nxt is not None and g is not None:
                    slot = buffers.get(nxt)
                    if slot is None:
                        slot = buffers[nxt] = [None] * nxt._num_outputs
                    prev = slot[nr]
                    if prev is None:
                        slot[nr] = g
                    elif fast_sum and prev._dtype is g._dtype and type(prev._data) is ndarray \
                            and prev._data.shape == g._data.shape:
                        total = prev._data + g._data  # 0-d operands give a NumPy scalar
                        slot[nr] = Tensor._make(total if type(total) is ndarray
                                                else np.asarray(total), prev._dtype)
                    else:
                        slot[nr] = prev + g
            for nxt, _ in node.next_functions:
                if nxt is None or nxt not in deps:  # (not walked: leads to no input)
                    continue
                left = deps[nxt] - 1
                deps[nxt] = left
                if not left:
                    heappush(ready, (-nxt._seq, next(order), nxt))
    finally:
        grad_mode._state.enabled = prev_mode

    if inputs is not None and accumulate:
        for t, g in zip(inputs, results):  # non-leaf inputs= get .grad too, as in PyTorch
            if type(t) is not GradientEdge and t.grad_fn is not None and g is not None:
                t._grad = g.detach() if t._grad is None else (t._grad + g).detach()
    if inputs is not None and not accumulate:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior.")
    return results


def _oldest_capturable(capture) -> int:
    """The sequence number below which no node can lead to a captured one: the oldest
    captured op node's (a node's edges, fixed when it is made, lead to older nodes only).
    0 (walk everything) when a leaf is captured: any op may use a leaf."""
    oldest = None
    for node, _ in capture:
        if type(node) is AccumulateGrad or node._seq <= 0:
            return 0
        oldest = node._seq if oldest is None else min(oldest, node._seq)
    return oldest or 0


def _call_narrowed(node, grads, retain_graph, tensor_type, needed):
    """``_call_node`` for a built-in op in a pass with ``inputs``: its ``needs_input_grad``
    asks, for this call only, for the gradients that lead to an input, as PyTorch's nodes
    compute only what the pass needs (``jacrev`` of a network's output with respect to its
    input then skips the weights' gradients, and the tensors on those branches see no
    gradient: their hooks do not run, as in PyTorch)."""
    full = node.needs_input_grad
    edges = _input_edges(node)
    for n, (nxt, _) in zip(full, edges):
        if n and nxt not in needed:
            break
    else:
        return _call_node(node, grads, retain_graph, tensor_type)
    node.needs_input_grad = tuple(n and nxt in needed for n, (nxt, _) in zip(full, edges))
    try:
        return _call_node(node, grads, retain_graph, tensor_type)
    finally:
        node.needs_input_grad = full


def _nodes_leading_to(nodes, capture):
    """The nodes the pass reaches (the captured ones and those above them), and those among
    them that must run: a node runs only when some captured edge lies below it, so a captured
    node with nothing captured below is not run (PyTorch does not run it either)."""
    parents = {}
    for node in nodes:
        for nxt, _ in node.next_functions:
            if nxt is not None:
                parents.setdefault(nxt, []).append(node)
    captured = {node for node, _ in capture}
    run = set()
    stack = list(captured)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in run:
                run.add(parent)
                stack.append(parent)
    return captured | run, run


def _add_grad(buffers, node, nr, g):
    slot = buffers.get(node)
    if slot is None:
        slot = buffers[node] = [None] * node._num_outputs
    if slot[nr] is None:
        slot[nr] = g
    else:
        slot[nr] = slot[nr] + g


def _run_pre_hooks(node, grads):
    hooks = node._pre_hooks
    if hooks:
        grads = list(grads)
        for nr, fns in hooks.items():
            if nr is None:  # the node's own (register_prehook): run when the node runs
                continue
            for fn in list(fns):
                if grads[nr] is not None:
                    new = fn(grads[nr])
                    if new is not None:
                        _check_tensor_hook_result(fn, grads[nr], new)
                        grads[nr] = new
                elif getattr(fn, "_sees_none", False):  # register_multi_grad_hook's count
                    fn(None)
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if grad_mode.is_grad_enabled() else grads[nr].detach()
                t._grad = g.clone() if t._grad is None else t._grad + g
    return grads


def _run_leaf_hooks(hooks, grad):
    for hook in list(hooks or ()):
        new = hook(grad)
        if new is not None:
            _check_tensor_hook_result(hook, grad, new)
            grad = new
    return grad


def _typename(obj) -> str:
    """Python's ``tp_name`` of ``obj``'s type, as PyTorch's hook errors name it."""
    from .._tensor import Tensor

    cls = type(obj)
    if isinstance(obj, Tensor) or cls.__module__ == "builtins":
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def _hook_name(hook) -> str:
    name = getattr(hook, "__name__", None)
    return name if isinstance(name, str) else "<unknown>"


def _check_tensor_hook_result(hook, original, new):
    """PyTorch's checks on the gradient a tensor hook returned: a Tensor, of the type (dtype,
    device, layout) and the size of the one the hook was given."""
    from .._tensor import Tensor

    if not isinstance(new, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{_typename(new)}'")
    if (new._dtype is not original._dtype or new.device.type != original.device.type
            or new.layout != original.layout):
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the type of value (was "
                           f"{original.type()} got {new.type()})")
    if tuple(new.shape) != tuple(original.shape):
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")


def _run_post_accumulate_hooks(var):
    for hook in var._post_acc_hooks:
        result = hook(var)
        if result is not None:  # PyTorch checks it as a replacement for var, then refuses it
            _check_tensor_hook_result(hook, var, result)
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def _run_node_pre_hooks(fns, grads):
    for fn in list(fns):
        new = fn(tuple(grads))
        if new is not None:
            _check_hook_result(fn, new, grads)
            grads = list(new)
    return grads


def _call_node(node, grads, retain_graph, tensor_type):
    if node._freed and not node._unpacks_on_demand:
        raise RuntimeError(_FREED_MSG)
    missing = False
    for g in grads:
        if g is None:
            missing = True
            break
    if missing:
        if node._output_meta is None and all(g is None for g in grads):
            return (None,) * len(node.next_functions)  # a built-in op reached by no gradient
        if node.materialize_grads:
            grads = [g if g is not None else _zeros_for(node, i) for i, g in enumerate(grads)]
    try:
        result = node._run_backward(grads)
    except Exception:
        if anomaly._enabled[0]:  # PyTorch points at the forward call behind the failing node
            anomaly.warn_forward_trace(node)
        raise
    if node._listed is not None:
        result = _listed_grads(node, result)
    if len(result) < len(node.next_functions):
        result = tuple(result) + (None,) * (len(node.next_functions) - len(result))
    if node._post_hooks:
        for hook in list(node._post_hooks):
            new = hook(result, tuple(grads))
            if new is not None:
                _check_hook_result(hook, new, result)
                result = tuple(new)
    if anomaly._enabled[0]:
        anomaly.check(node, result)
    if not retain_graph:
        node._free()
    for g in result:
        if g is not None and not isinstance(g, tensor_type):
            raise TypeError(f"{node.name()} returned a gradient of type {type(g).__name__}")
    return result


def _listed_grads(node, result):
    """The gradients of the inputs ``next_functions`` lists, from backward's one per input."""
    n = len(result)
    return tuple(result[i] if i < n else None for i in node._listed)


def _input_edges(node):
    """``next_functions`` with a ``(None, 0)`` for each input it leaves out: one per input."""
    listed = node._listed
    if listed is None:
        return node.next_functions
    edges = [(None, 0)] * len(node.needs_input_grad)
    for i, edge in zip(listed, node.next_functions):
        edges[i] = edge
    return edges


def _check_hook_result(hook, new, originals):
    """PyTorch's checks on what a node's hook returned in place of ``originals``: a tuple of
    as many values, each None or a Tensor like the one it replaces."""
    if not isinstance(new, tuple):
        raise TypeError(f"expected tuple, but hook returned '{_typename(new)}'")
    if len(new) != len(originals):
        name = getattr(hook, "__name__", type(hook).__name__)
        raise RuntimeError(f"hook '{name}' has returned an incorrect number of values (got "
                           f"{len(new)}, but expected {len(originals)})")
    for original, value in zip(originals, new):
        if value is None:
            continue
        if original is None:
            raise RuntimeError("can't replace a None gradient with a non-None value")
        _check_tensor_hook_result(hook, original, value)


def _zeros_for(node, i):
    from .. import _creation

    shape, dtype, device = node._output_meta[i]
    return _creation.zeros(shape, dtype=dtype, device=device)


# -- saved-tensor hooks ----------------------------------------------------------------------
# While no saved_tensors_hooks context is open anywhere, save_for_backward pays one check of
# ``_hooks_in_use``. The hook stacks themselves are per thread, as in PyTorch.

_hooks_in_use = False
_open_contexts = [0]  # saved_tensors_hooks contexts open in all threads together
_open_lock = threading.Lock()
_thread_hooks = threading.local()  # .stack: [(pack, unpack)], .disabled: a message or None

_PACK_INPLACE_MSG = (
    "A saved tensor pack hook is modifying its input in place. Tensors provided as input to "
    "pack hook cannot be modified by in-place operations as this can lead to unexpected "
    "side-effects. Please open an issue if you need to perform in-place operations on the "
    "input to a pack hook.")


class _PackedSaves(list):
    """A node's ``_saved`` list whose tensors went through a pack hook: ``(_Packed, None)``
    pairs (and non-tensors as they were), read back through the unpack hook."""


class _Packed:
    """One tensor as a pack hook returned it, with what the unpacked tensor needs to take the
    original's place in the graph. No version is kept: PyTorch does not check a packed
    tensor for in-place changes."""

    __slots__ = ("packed", "unpack_hook", "requires_grad", "grad_fn", "output_nr", "grad_acc",
                 "is_output", "shape")

    def __init__(self, packed, unpack_hook, shape):
        self.packed = packed
        self.unpack_hook = unpack_hook
        self.shape = shape  # what graph_to_dot(show_saved=True) shows for it
        self.requires_grad = False
        self.grad_fn = self.grad_acc = None
        self.output_nr = 0
        self.is_output = False

    def unpack(self, node):
        t = self.unpack_hook(self.packed)
        Tensor = _tensor_type()
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        if not self.requires_grad:
            return t
        # a new tensor on the unpacked data, placed where the saved one sat in the graph (so
        # a create_graph backward reaches the original's producer or leaf)
        fresh = Tensor._make(t._data, t._dtype, True)
        if self.grad_acc is not None:
            fresh._grad_acc = weakref.ref(self.grad_acc)
        else:
            fresh.grad_fn = node if self.is_output else self.grad_fn
            fresh._output_nr = self.output_nr
        return fresh

    def __getitem__(self, index):
        # graph_to_dot reads a saved output's shape as _saved_output[0].shape
        if index != 0:
            raise IndexError(index)
        return self


def _current_hooks():
    stack = getattr(_thread_hooks, "stack", None)
    return stack[-1] if stack else None


def _pack(t, hooks, node):
    pack_hook, unpack_hook = hooks
    version = t._vbox[0]
    state = grad_mode._state
    prev = state.enabled
    state.enabled = False  # PyTorch runs pack hooks without recording a graph
    try:
        packed = pack_hook(t)
    finally:
        state.enabled = prev
    if t._vbox[0] != version:
        raise RuntimeError(_PACK_INPLACE_MSG)
    record = _Packed(packed, unpack_hook, t.shape)
    if t._requires_grad:
        record.requires_grad = True
        if t.grad_fn is node:  # the node's own output: no reference back to the node itself
            record.is_output, record.output_nr = True, t._output_nr
        else:
            fn, nr = edge_of(t)
            if type(fn) is AccumulateGrad:
                record.grad_acc = fn
            else:
                record.grad_fn, record.output_nr = fn, nr
    return record


def pack_saved(node) -> None:
    """Send the tensors ``node`` saved through the innermost pack hook of this thread."""
    hooks = _current_hooks()
    if hooks is None or node._saved is None:
        return
    Tensor = _tensor_type()
    node._saved = _PackedSaves(
        (_pack(t, hooks, node), None) if isinstance(t, Tensor) else (t, None)
        for t, _ in node._saved)


def _get_saved_output(node):
    return node.__dict__.get("_saved_output")


def _set_saved_output(node, value):
    # ops with save_output=True hand over (array, version box, version, dtype, requires_grad)
    if type(value) is tuple:
        hooks = _current_hooks()
        if hooks is not None:
            data, box, _version, dtype, requires_grad = value
            out = _tensor_type()._make(data, dtype, requires_grad)
            out._vbox = box
            if requires_grad:
                out.grad_fn, out._output_nr = node, 0
            value = _pack(out, hooks, node)
    node.__dict__["_saved_output"] = value


# Installed on Node only while some saved_tensors_hooks context is open, so that the output
# an op saves is packed too; otherwise _saved_output is a plain attribute.
_SAVED_OUTPUT = property(_get_saved_output, _set_saved_output)


def _count_context(delta):
    global _hooks_in_use
    with _open_lock:
        _open_contexts[0] += delta
        in_use = _open_contexts[0] > 0
        if in_use != _hooks_in_use:
            Node._saved_output = _SAVED_OUTPUT if in_use else None
            _hooks_in_use = in_use


class saved_tensors_hooks:
    """Context manager that sets how tensors saved for backward are packed and unpacked.

    Inside it, every tensor an operation saves for backward is passed to ``pack_hook`` and
    its result is kept instead; when backward (or ``ctx.saved_tensors``) needs the tensor,
    ``unpack_hook`` turns that result back into a tensor with the same content. Contexts
    nest; the innermost pair applies. Tensors saved this way are not checked for in-place
    changes.

    Args:
        pack_hook: ``pack_hook(tensor) -> Any``, called once per saved tensor. It must not
            change its input in place.
        unpack_hook: ``unpack_hook(packed) -> Tensor``, called each time the tensor is used.

    Example:
        >>> with ember.autograd.graph.saved_tensors_hooks(lambda t: t * 1, lambda t: t):
        ...     y = (x * x).sum()
        >>> y.backward()
    """

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        message = getattr(_thread_hooks, "disabled", None)
        if message is not None:
            raise RuntimeError(message)
        stack = getattr(_thread_hooks, "stack", None)
        if stack is None:
            stack = _thread_hooks.stack = []
        stack.append((self.pack_hook, self.unpack_hook))
        _count_context(1)

    def __exit__(self, *exc) -> None:
        _thread_hooks.stack.pop()
        _count_context(-1)


class save_on_cpu(saved_tensors_hooks):
    """Context manager under which tensors saved for backward are kept on the CPU and moved
    back to their device when backward needs them. CPU tensors are kept as they are (no copy).

    Args:
        pin_memory (bool): accepted for PyTorch compatibility; NumPy has no pinned memory.
        device_type (str): accepted for PyTorch compatibility. Default: ``"cuda"``.

    Example:
        >>> with ember.autograd.graph.save_on_cpu():
        ...     y = (x * x).sum()
        >>> y.backward()
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor):
            if tensor.device.type in ("cpu", "meta"):
                return tensor.device, tensor
            return tensor.device, tensor.to("cpu")

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str):
    """Context manager under which setting saved-tensor hooks raises ``RuntimeError`` with
    ``error_message`` (for features that cannot work with them).

    Example:
        >>> with ember.autograd.graph.disable_saved_tensors_hooks("not supported here"):
        ...     pass  # a saved_tensors_hooks(...) context here would raise
    """
    if _current_hooks() is not None:
        raise RuntimeError(error_message)
    previous = getattr(_thread_hooks, "disabled", None)
    _thread_hooks.disabled = error_message
    try:
        yield
    finally:
        _thread_hooks.disabled = previous


# -- gradient edges ---------------------------------------------------------------------------

class GradientEdge(NamedTuple):
    """Where a gradient enters the autograd graph: a node and which of its outputs.

    ``autograd.grad`` and ``backward`` accept one in ``inputs`` (and ``grad`` in ``outputs``)
    in place of a tensor.

    Example:
        >>> edge = ember.autograd.graph.get_gradient_edge(x)
        >>> (g,) = ember.autograd.grad(loss, edge)
    """

    node: Node
    output_nr: int
    ownership_token: Node | None = None


def get_gradient_edge(tensor) -> GradientEdge:
    """The gradient edge of ``tensor``: its ``grad_fn`` and output number, or for a leaf its
    ``AccumulateGrad`` node. ``autograd.grad(loss, get_gradient_edge(x))`` equals
    ``autograd.grad(loss, x)``.

    Example:
        >>> ember.autograd.graph.get_gradient_edge(x).node.name()
        'torch::autograd::AccumulateGrad'
    """
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    node, nr = edge_of(tensor)
    return GradientEdge(node, nr)


def _edge_endpoint(edge):
    node = edge.node
    if not isinstance(node, Node):
        raise RuntimeError("GradientEdge's first object must be an autograd.graph.Node but got "
                           f"{type(node).__name__}")
    return node, edge.output_nr


# -- the backward pass now running (for register_multi_grad_hook) -----------------------------

_engine_task = threading.local()  # .current: the innermost _GraphTask of this thread


class _GraphTask:
    __slots__ = ("nodes", "needed", "accumulate", "__weakref__")

    def __init__(self, nodes, needed, accumulate):
        self.nodes = nodes
        self.needed = needed
        self.accumulate = accumulate


def _will_execute(task, node) -> bool:
    if type(node) is AccumulateGrad and not task.accumulate:
        raise RuntimeError(
            "A leaf node was passed to _will_engine_execute_node but we are currently running "
            "autograd.grad(). This is currently not supported.")
    return node in task.nodes and (task.needed is None or node in task.needed)


class _MultiHandle(RemovableHandle):
    """Removes every per-tensor hook of one ``register_multi_grad_hook`` call."""

    def __init__(self, handles) -> None:
        self.handles = tuple(handles)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)


class _SeesNone:
    """A per-output hook that is also told (with None) when its node runs without a gradient
    for that output, so a multi-grad hook can count it."""

    _sees_none = True

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, grad):
        self.fn(grad)


def register_multi_grad_hook(tensors, fn, *, mode: str = "all"):
    """Call ``fn`` once the gradients of several tensors are computed in a backward pass.

    With ``mode="all"``, ``fn(grads)`` runs after every tensor of ``tensors`` that this pass
    reaches has its gradient; ``grads`` is a list with None for tensors not reached. With
    ``mode="any"``, ``fn(grad)`` runs once per pass, with the first of their gradients.
    ``fn`` must not change its arguments; what it returns is ignored.

    Returns:
        A handle whose ``remove()`` removes the hook.

    Example:
        >>> h = ember.autograd.graph.register_multi_grad_hook((a, b), print)
        >>> (a * b).sum().backward(); h.remove()
    """
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    lock = threading.Lock()
    if mode == "any":
        fired = {"task": None}

        def on_any(grad):
            task = getattr(_engine_task, "current", None)
            with lock:
                if fired["task"] is not None and fired["task"]() is task:
                    return
                fired["task"] = weakref.ref(task) if task is not None else None
            fn(grad)

        return _MultiHandle(t.register_hook(on_any) for t in tensors if t.requires_grad)

    for t in tensors:
        if not t.requires_grad:
            raise AssertionError("Expected gradient function to be set")
    count = len(tensors)
    state = {"task": None, "grads": None, "left": 0}

    def make(i):
        def on_grad(grad):
            task = getattr(_engine_task, "current", None)
            with lock:
                if state["task"] is None or state["task"]() is not task:
                    state["task"] = weakref.ref(task) if task is not None else None
                    state["grads"] = [None] * count
                    state["left"] = sum(
                        1 for t in tensors if _will_execute(task, edge_of(t)[0])) \
                        if task is not None else count
                state["grads"][i] = grad
                state["left"] -= 1
                if state["left"]:
                    return
                grads, state["grads"] = state["grads"], None
            fn(grads)
        return on_grad

    handles = []
    for i, t in enumerate(tensors):
        hook = make(i)
        if t.grad_fn is not None:
            handles.append(t.grad_fn._add_pre_hook(t._output_nr, _SeesNone(hook)))
        else:
            handles.append(t.register_hook(hook))
    return _MultiHandle(handles)


# -- allow_mutation_on_saved_tensors ----------------------------------------------------------

class _AllowMutationOnSavedContext:
    """What one ``allow_mutation_on_saved_tensors`` context keeps: the copies of the tensors
    saved inside it (``cloned``), emptied when the context ends."""

    def __init__(self) -> None:
        self.cloned: dict = {}
        self.original: dict = {}
        self.tid_to_weakhandle: dict = {}
        self.sid_to_tid: dict = {}

    def clear(self) -> None:
        self.cloned.clear()
        self.original.clear()
        self.tid_to_weakhandle.clear()
        self.sid_to_tid.clear()


_mutation_context = [None]  # the open allow_mutation_on_saved_tensors context, if any


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """Context manager under which a tensor saved for backward may be changed in place:
    backward still sees the values it had when it was saved. Run forward and backward both
    inside it; backward after it has ended raises.

    ember keeps a copy of each tensor saved inside the context when it is saved (PyTorch
    copies one when it is first changed): the same values, more memory.

    Example:
        >>> with ember.autograd.graph.allow_mutation_on_saved_tensors():
        ...     a = ember.ones(2, requires_grad=True); b = a.clone()
        ...     out = (b ** 2).sum(); b.sin_(); out.backward()
    """
    if _mutation_context[0] is not None:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    state = _AllowMutationOnSavedContext()
    keys = itertools.count()

    def pack(tensor):
        key = next(keys)
        state.cloned[key] = tensor.detach().clone()
        return key

    def unpack(key):
        if _mutation_context[0] is not state:
            raise AssertionError(
                "Trying to backward outside of the 'allow_mutation_on_saved_tensors' context"
                "in which the graph was originally recorded.")
        return state.cloned[key]

    _mutation_context[0] = state
    try:
        with saved_tensors_hooks(pack, unpack):
            yield state
    finally:
        _mutation_context[0] = None
        state.clear()
