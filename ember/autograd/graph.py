"""Graph nodes and the backward engine.

A ``Node`` is one recorded operation (its ``grad_fn``). It knows the nodes that produced its
inputs (``next_functions``), what it saved for backward, and how to turn output gradients into
input gradients. The engine walks nodes in dependency order from the roots, summing gradients
that meet, and hands leaf gradients to ``AccumulateGrad`` nodes, which add them to ``.grad``.
"""

from __future__ import annotations

import heapq
import itertools
import re
import sys
import threading
import weakref

import numpy as np
from numpy import ndarray

from . import anomaly, grad_mode

_sequence = itertools.count()

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

    _name = None
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

    def name(self) -> str:
        return self._name or f"{type(self).__name__}Backward0"

    def __repr__(self):
        name = "AccumulateGrad" if type(self) is AccumulateGrad else self.name()
        return f"<{name} object at {hex(id(self))}>"

    # -- saving ----------------------------------------------------------------------------
    _record = True  # Op.apply sets False when no graph is recorded: then nothing is kept

    def save_for_backward(self, *tensors):
        """Keep tensors (inputs or outputs) for backward; their versions are checked then."""
        if not self._record:
            return
        self._saved = [(t, t._version[0]) if hasattr(t, "_version") else (t, None)
                       for t in tensors]
        if grad_mode.inference_tensors_made and any(getattr(t, "_inference", False)
                                                    for t in tensors):
            raise RuntimeError(
                "Inference tensors cannot be saved for backward. To work around you can make a "
                "clone to get a normal tensor and use it in autograd.")

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        out = []
        for item in self._saved or ():
            t, version = item
            if version is not None and t._version[0] != version:
                raise RuntimeError(_modified_message(t, version, self))
            out.append(t)
        if self._saved_output is not None:
            out.append(self._output_tensor())
        return tuple(out)

    def _output_tensor(self):
        data, box, version, dtype, requires_grad = self._saved_output
        if box[0] != version:
            from .._tensor import Tensor

            fake = Tensor._make(data, dtype)
            fake.grad_fn, fake._output_nr = self, 0
            raise RuntimeError(_modified_message(fake, version, self, box[0]))
        from .._tensor import Tensor

        t = Tensor._make(data, dtype, requires_grad)
        if requires_grad:
            t.grad_fn = self
        return t

    def _free(self):
        self._saved = None
        self._saved_output = None
        self._freed = True

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


def _modified_message(t, version, node, now=None):
    from .._tensor_str import type_name

    fn = t.grad_fn
    # torch 2.x names the producing op without its "Backward0" suffix ("output 0 of Mul")
    owner = (f"output {t._output_nr} of {re.sub(r'Backward[0-9]*$', '', fn.name())}"
             if fn is not None else "a leaf Variable")
    now = t._version[0] if now is None else now
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{type_name(t)} {list(t.shape)}], which is {owner}, is at version {now}; "
        f"expected version {version} instead. Hint: the backward of {node.name()} needs this "
        "tensor unchanged; replace the in-place op (e.g. x.add_(...) or x[...] = ...) by its "
        "out-of-place form, or .clone() the tensor before changing it.")


class AccumulateGrad(Node):
    """The graph's end for a leaf tensor: adds incoming gradients to ``variable.grad``."""

    _name = "torch::autograd::AccumulateGrad"  # name() as PyTorch's C++ node answers it

    def __init__(self, variable):
        self.variable = variable
        self._seq = next(_sequence)

    def accumulate(self, grad, create_graph, claimed=None):
        """Add ``grad`` into ``variable.grad``. ``claimed`` (one per backward pass) holds the
        ids of the arrays this pass already took over as a ``.grad``."""
        var = self.variable
        hooks = var._hooks
        for hook in hooks or ():
            new = hook(grad)
            if new is not None:
                grad = new
        if var._grad is None:
            if create_graph:
                var._grad = grad
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
        for hook in var._post_acc_hooks or ():
            hook(var)


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


class _RemovableHandle:
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


def grad_accumulator(t) -> AccumulateGrad:
    """The (shared) AccumulateGrad node of a leaf tensor that requires grad."""
    ref = t._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
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
        t._version[0] += 1  # the box is shared with views and their base


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None,
                 allow_unused=True, accumulate=True):
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph (and record, for
    reentrant checkpoints, whether this pass accumulates into every leaf's ``.grad``)."""
    previous = is_checkpoint_valid()
    _checkpoint_valid.value = accumulate and inputs is None
    try:
        return _run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs,
                             allow_unused, accumulate)
    finally:
        _checkpoint_valid.value = previous


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
        node, nr = edge_of(out)
        if node is None:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn")
        roots.append((node, nr, g))

    # Where gradients are captured (autograd.grad) or the only places they go (inputs=).
    capture = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError("inputs must be tensors")
            node, nr = edge_of(t)
            if node is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture.setdefault((node, nr), []).append(i)

    # Count how many edges lead into each node reachable from the roots.
    deps = {}
    stack = list(dict.fromkeys(node for node, _, _ in roots))  # one node, several outputs
    seen = set(stack)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)

    needed = _nodes_leading_to(seen, capture) if inputs is not None else None

    buffers = {}
    for node, nr, g in roots:
        _add_grad(buffers, node, nr, g)

    results = [None] * (len(inputs) if inputs is not None else 0)
    claimed: set = set()  # arrays taken over as some .grad in this pass
    ready, pushed = [], set()
    for node, _, _ in roots:
        if deps.get(node, 0) == 0 and node not in pushed:
            pushed.add(node)
            heapq.heappush(ready, (-node._seq, node))

    prev_mode = grad_mode._state.enabled
    grad_mode._state.enabled = bool(create_graph)
    heappop, heappush = heapq.heappop, heapq.heappush
    fast_sum = not create_graph  # without a graph to record, gradients add as plain arrays
    try:
        while ready:
            node = heappop(ready)[1]
            grads = buffers.pop(node, None) or [None] * node._num_outputs
            if node._pre_hooks or node._retained:
                grads = _run_pre_hooks(node, grads)
            if capture:
                for nr in range(node._num_outputs):
                    for i in capture.get((node, nr), ()):
                        results[i] = grads[nr]
            if type(node) is AccumulateGrad:
                if accumulate and (inputs is None or (node, 0) in capture) and grads[0] is not None:
                    node.accumulate(grads[0], create_graph, claimed)
                continue
            if needed is not None and node not in needed:
                input_grads = ()
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
                if nxt is None:
                    continue
                left = deps[nxt] - 1
                deps[nxt] = left
                if not left:
                    heappush(ready, (-nxt._seq, nxt))
    finally:
        grad_mode._state.enabled = prev_mode

    if inputs is not None and accumulate:
        for t, g in zip(inputs, results):  # non-leaf inputs= get .grad too, as in PyTorch
            if t.grad_fn is not None and g is not None:
                t._grad = g.detach() if t._grad is None else (t._grad + g).detach()
    if inputs is not None and not accumulate:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior.")
    return results


def _nodes_leading_to(nodes, capture):
    """The nodes from which some captured edge can be reached (the others need not run)."""
    parents = {}
    for node in nodes:
        for nxt, _ in node.next_functions:
            if nxt is not None:
                parents.setdefault(nxt, []).append(node)
    needed = {node for node, _ in capture}
    stack = list(needed)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in needed:
                needed.add(parent)
                stack.append(parent)
    return needed


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
            if nr is None:
                for fn in list(fns):
                    new = fn(tuple(grads))
                    if new is not None:
                        grads = list(new)
                continue
            for fn in list(fns):
                if grads[nr] is not None:
                    new = fn(grads[nr])
                    if new is not None:
                        grads[nr] = new
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if grad_mode.is_grad_enabled() else grads[nr].detach()
                t._grad = g.clone() if t._grad is None else t._grad + g
    return grads


def _call_node(node, grads, retain_graph, tensor_type):
    if node._freed:
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
    result = node._run_backward(grads)
    if node._post_hooks:
        for hook in node._post_hooks:
            new = hook(result, tuple(grads))
            if new is not None:
                result = tuple(new)
    if len(result) < len(node.next_functions):
        result = tuple(result) + (None,) * (len(node.next_functions) - len(result))
    if anomaly._enabled[0]:
        anomaly.check(node, result)
    if not retain_graph:
        node._free()
    for g in result:
        if g is not None and not isinstance(g, tensor_type):
            raise TypeError(f"{node.name()} returned a gradient of type {type(g).__name__}")
    return result


def _zeros_for(node, i):
    from .. import _creation

    shape, dtype, device = node._output_meta[i]
    return _creation.zeros(shape, dtype=dtype, device=device)
