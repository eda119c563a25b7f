"""Module hooks: forward pre-hooks, forward hooks and full backward (pre-)hooks.

Backward hooks follow PyTorch's design: the tensors going into ``forward`` and the tensors
coming out of it pass through identity autograd nodes. The output node sees the gradients with
respect to the outputs (running the backward pre-hooks, which may replace them); the input node
sees the gradients with respect to the inputs and runs the backward hooks with both.
"""

from __future__ import annotations

from collections import OrderedDict

from ..._ops._core import Op
from ..._tensor import Tensor
from ...autograd import grad_mode
from ...autograd.graph import _zeros_for
from ...utils.hooks import RemovableHandle


def _add(store: OrderedDict, hook, prepend: bool, *extra) -> RemovableHandle:
    handle = RemovableHandle(store, extra_dict=extra)
    store[handle.id] = hook
    if prepend:
        store.move_to_end(handle.id, last=False)
    return handle


# Global hooks (``register_module_*``) run for every module, before the module's own hooks.
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_with_kwargs: OrderedDict = OrderedDict()
_global_forward_hooks_always_called: OrderedDict = OrderedDict()
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()
_global_module_registration_hooks: OrderedDict = OrderedDict()
_global_parameter_registration_hooks: OrderedDict = OrderedDict()
_global_buffer_registration_hooks: OrderedDict = OrderedDict()


def _any_global_call_hooks() -> bool:
    return bool(_global_forward_pre_hooks or _global_forward_hooks or _global_backward_hooks
                or _global_backward_pre_hooks)


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """Register ``hook(module, args)`` to run before the ``forward`` of every module (before
    each module's own pre-hooks); it may return new args. Meant for debugging and profiling.

    Example:
        >>> h = register_module_forward_pre_hook(lambda m, args: print(type(m).__name__))
        >>> h.remove()
    """
    return _add(_global_forward_pre_hooks, hook, False)


def register_module_forward_hook(hook, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """Register ``hook(module, args, output)`` to run after the ``forward`` of every module
    (before each module's own forward hooks); it may return a new output.

    Example:
        >>> h = register_module_forward_hook(lambda m, args, out: print(type(m).__name__))
        >>> h.remove()
    """
    handle = _add(_global_forward_hooks, hook, False, _global_forward_hooks_with_kwargs,
                  _global_forward_hooks_always_called)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """Register ``hook(module, grad_output)`` for every module, run before each module's own
    backward pre-hooks; it may return replacement gradients.

    Example:
        >>> h = register_module_full_backward_pre_hook(lambda m, g: None)
        >>> h.remove()
    """
    return _add(_global_backward_pre_hooks, hook, False)


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """Register ``hook(module, grad_input, grad_output)`` for every module, run before each
    module's own backward hooks; it may return a new ``grad_input``.

    Example:
        >>> h = register_module_full_backward_hook(lambda m, gi, go: None)
        >>> h.remove()
    """
    return _add(_global_backward_hooks, hook, False)


def register_module_backward_hook(hook) -> RemovableHandle:
    """Deprecated in PyTorch; here it behaves as ``register_module_full_backward_hook``.

    Example:
        >>> h = register_module_backward_hook(lambda m, gi, go: None)
        >>> h.remove()
    """
    return _add(_global_backward_hooks, hook, False)


def register_module_module_registration_hook(hook) -> RemovableHandle:
    """Register ``hook(module, name, submodule)``, run whenever any module registers a child;
    it may return a replacement child.

    Example:
        >>> h = register_module_module_registration_hook(lambda m, name, sub: None)
        >>> h.remove()
    """
    return _add(_global_module_registration_hooks, hook, False)


def register_module_parameter_registration_hook(hook) -> RemovableHandle:
    """Register ``hook(module, name, param)``, run whenever any module registers a parameter;
    it may return a replacement parameter.

    Example:
        >>> h = register_module_parameter_registration_hook(lambda m, name, p: None)
        >>> h.remove()
    """
    return _add(_global_parameter_registration_hooks, hook, False)


def register_module_buffer_registration_hook(hook) -> RemovableHandle:
    """Register ``hook(module, name, buffer)``, run whenever any module registers a buffer;
    it may return a replacement buffer.

    Example:
        >>> h = register_module_buffer_registration_hook(lambda m, name, b: None)
        >>> h.remove()
    """
    return _add(_global_buffer_registration_hooks, hook, False)


def _run_registration_hooks(hooks, module, name, value):
    for hook in hooks.values():
        out = hook(module, name, value)
        if out is not None:
            value = out
    return value


class _HookIdentity(Op):
    """Identity on several tensors whose backward calls ``ctx.on_grad(grads)``."""

    @staticmethod
    def forward(ctx, *arrays, on_grad, materialize=True):
        ctx.on_grad = on_grad
        # the output node hands its hooks None for outputs no gradient reached (as torch)
        ctx.materialize_grads = materialize
        ctx._num_outputs = len(arrays)
        ctx._output_meta = [(a.shape, t._dtype, t.device) for a, t in zip(arrays, ctx.inputs)]
        return tuple(arrays)

    @staticmethod
    def backward(ctx, *grads):
        grads = tuple(ctx.on_grad(grads))
        if not ctx.materialize_grads:
            # past the hooks, a missing gradient flows on as zeros, as it does in torch
            grads = tuple(g if g is not None else _zeros_for(ctx, i) for i, g in enumerate(grads))
        return grads


def _engine_caller_stacklevel() -> int:
    """``stacklevel`` (seen from the caller) matching torch's ``stacklevel=5`` for a warning
    raised by a hook its engine runs: the line calling ``Tensor.backward``, or the frame above
    the one calling ``autograd.backward``/``autograd.grad`` (torch's stack there is two frames
    shorter)."""
    import os
    import sys

    ember_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    frame, level, last = sys._getframe(1), 1, None
    # skip to the engine's entry point: the outermost frame of the chain of ember frames
    while frame is not None and not frame.f_code.co_filename.startswith(ember_dir):
        frame, level = frame.f_back, level + 1
    while frame is not None and frame.f_code.co_filename.startswith(ember_dir):
        last, frame, level = frame, frame.f_back, level + 1
    entered_by_tensor_method = last is not None and last.f_code.co_name == "backward" \
        and last.f_code.co_filename.endswith("_tensor_autograd.py")
    return level if entered_by_tensor_method else level + 1


class _BackwardHookState:
    """Carries ``grad_output`` from the output node to the input node for one call.

    As in torch, ``grad_output`` has one entry per element of the output tuple (None where no
    gradient arrived or the element is no tensor that requires grad), and ``grad_input`` one
    per positional argument: zeros for a tensor that does not require grad, None for anything
    that is not a tensor.
    """

    def __init__(self, module, args):
        self.module = module
        self.n_args = len(args)
        self.grad_outputs = None
        self.input_positions = ()
        self.output_positions = ()
        self.n_outputs = 0
        # (shape, dtype, device) of the tensor arguments that do not require grad
        self.constant_inputs = {i: (a.shape, a._dtype, a.device) for i, a in enumerate(args)
                                if isinstance(a, Tensor) and not a.requires_grad}

    def on_output_grads(self, grads):
        module = self.module
        full = [None] * self.n_outputs
        for pos, g in zip(self.output_positions, grads):
            full[pos] = g
        full = tuple(full)
        for hook in (*_global_backward_pre_hooks.values(), *module._backward_pre_hooks.values()):
            out = hook(module, full)
            if out is not None:
                if len(out) != len(full):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(out)}, but expected {len(full)}")
                full = tuple(out)
        self.grad_outputs = full
        backward_hooks = (*_global_backward_hooks.values(), *_full_hooks(module))
        if not self.input_positions:
            # No input requires grad: the hooks fire now, with grad_input all None; torch warns
            # even when the module has only backward pre hooks.
            import warnings

            warnings.warn("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          UserWarning,
                          stacklevel=_engine_caller_stacklevel())
            for hook in backward_hooks:
                hook(module, (None,) * max(self.n_args, 1), self.grad_outputs)
        return tuple(full[pos] for pos in self.output_positions)

    def on_input_grads(self, grads):
        module = self.module
        if self.grad_outputs is None:
            return grads  # the output was not wrapped (not a tensor or tuple): torch skips
        from ... import _creation

        grad_input = [None] * self.n_args
        for pos, (shape, dtype, device) in self.constant_inputs.items():
            grad_input[pos] = _creation.zeros(shape, dtype=dtype, device=device)
        for pos, g in zip(self.input_positions, grads):
            grad_input[pos] = g
        grad_input = tuple(grad_input)
        for hook in (*_global_backward_hooks.values(), *_full_hooks(module)):
            out = hook(module, grad_input, self.grad_outputs)
            if out is not None:
                if len(out) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of "
                                       f"grad_input, got {len(out)}, but expected "
                                       f"{len(grad_input)}")
                grad_input = tuple(out)
        return tuple(grad_input[pos] for pos in self.input_positions)


def _wrap_tensors(values, positions, on_grad, materialize=True):
    wrapped = _HookIdentity.apply(*[values[i] for i in positions], on_grad=on_grad,
                                  materialize=materialize)
    values = list(values)
    for i, w in zip(positions, wrapped):
        # the inputs pass through as-is: changing them in place (ReLU(inplace=True)) would
        # skip the hook, which PyTorch refuses (its identity is a custom Function)
        w._custom_view = ("BackwardHookFunction", len(positions) > 1)
        values[i] = w
    return values


_LEGACY_TAIL = (" is deprecated and will be removed in future versions. This hook will be "
                "missing some {}. Please use register_full_backward_hook to get the documented "
                "behavior.")


def _warn_legacy_backward_hook(args, result, hook_node=None):
    """The deprecation warnings torch gives when a module with a ``register_backward_hook``
    hook runs a forward whose gradients that hook cannot report in full."""
    import warnings

    def warn(head, missing):
        warnings.warn(head + _LEGACY_TAIL.format(missing), FutureWarning, stacklevel=4)

    if not all(isinstance(a, Tensor) for a in args):
        return warn("Using non-full backward hooks on a Module that does not take as input a "
                    "single Tensor or a tuple of Tensors", "of the grad_input")
    if not isinstance(result, (Tensor, tuple)):
        return warn("Using non-full backward hooks on a Module that does not return a single "
                    "Tensor or a tuple of Tensors", "of the grad_output")
    outs = (result,) if isinstance(result, Tensor) else result
    nodes = {id(o.grad_fn): o.grad_fn for o in outs
             if isinstance(o, Tensor) and o.grad_fn is not None}
    if not nodes:
        return None
    if len(nodes) > 1:
        return warn("Using a non-full backward hook when outputs are generated by different "
                    "autograd Nodes", "grad_output")
    # the one node the hook sits on must take the module's inputs directly; ``args`` are the
    # inputs as given, ``hook_node`` the identity node they pass through here (torch has
    # none): seen through it, a leaf input feeds the node by its AccumulateGrad, as in torch
    (node,) = nodes.values()
    feeding = set()
    for n, _ in node.next_functions:
        if n is not None and n is hook_node:
            feeding.update(id(a.grad_fn) if a.grad_fn is not None else ("leaf", id(a))
                           for a in args if a.requires_grad)
        else:
            feeding.add(id(n))
    inputs = {id(a.grad_fn) for a in args if a.grad_fn is not None}
    if feeding != inputs:
        warn("Using a non-full backward hook when the forward contains multiple autograd Nodes",
             "grad_input")
    return None


def _full_hooks(module):
    """The module's own full backward hooks (none when its hooks are the legacy kind)."""
    return () if module._is_full_backward_hook is False else module._backward_hooks.values()


def _legacy_view(node, grad_inputs, grad_outputs):
    """``grad_input`` as PyTorch's legacy hook sees it at ``node``, and a function taking a
    replacement back to ember's slots (None: no replacement possible). PyTorch's hook sits on
    the last autograd node of the forward and reports that node's input gradients; ember's
    nodes match PyTorch's except that ``linear`` is one node (PyTorch: ``addmm(bias, x,
    weight.t())`` or ``mm``, behind a view for inputs of more than 2 dims) and convolution's
    node has extra argument slots."""
    kind = next((c.__name__ for c in type(node).__mro__
                 if c.__module__.startswith("ember._ops")), "")
    gi = tuple(grad_inputs)
    if kind == "Linear":  # the node lists (bias, input, weight) as addmm, or (input, weight)
        if len(grad_outputs) == 1 and grad_outputs[0] is not None and grad_outputs[0].dim() > 2:
            out = grad_outputs[0]
            return (out.reshape(-1, out.shape[-1]),), None
        *front, w_grad = gi
        wt = None if w_grad is None else w_grad.t()
        return (*front, wt), lambda new: (*new[:-1], _t_or_none(new[-1]))
    if kind == "Conv":
        rest = gi[3:]
        return gi[:3], lambda new: (*new, *rest)
    return gi, lambda new: tuple(new)


def _t_or_none(t):
    return None if t is None else t.t()


def _attach_legacy_hooks(module, result):
    """``register_backward_hook`` (deprecated): the hooks run when the autograd node that made
    the module's output runs backward, as ``hook(module, grad_input, grad_output)`` with that
    node's input and output gradients, and may return a replacement ``grad_input``."""
    outs = (result,) if isinstance(result, Tensor) else result
    if not isinstance(outs, tuple):
        return
    node = next((o.grad_fn for o in outs if isinstance(o, Tensor) and o.grad_fn is not None),
                None)
    if node is None:
        return

    def on_node(grad_inputs, grad_outputs):
        view, back = _legacy_view(node, grad_inputs, grad_outputs)
        grad_outputs = tuple(grad_outputs)
        replaced = False
        for hook in tuple(module._backward_hooks.values()):
            new = hook(module, view, grad_outputs)
            if new is not None:
                if len(new) != len(view):
                    raise RuntimeError(f"Backward hook returned an invalid number of "
                                       f"grad_input, got {len(new)}, but expected {len(view)}")
                view, replaced = tuple(new), True
        if not replaced:
            return None
        if back is None:
            raise NotImplementedError("ember: a register_backward_hook hook cannot replace "
                                      "the gradient of a Linear layer's input of more than "
                                      "2 dimensions; use register_full_backward_hook")
        return back(view)

    node.register_hook(on_node)


class HookMixin:
    """The hook half of ``Module``."""

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` (or ``hook(module, args, kwargs)`` with ``with_kwargs``) runs
        before ``forward``; it may return new args (or ``(args, kwargs)``)."""
        handle = _add(self._forward_pre_hooks, hook, prepend, self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` (or ``hook(module, args, kwargs, output)``) runs after
        ``forward``; it may return a new output.

        Example:
            >>> h = model.fc.register_forward_hook(lambda m, a, out: print(out.shape))
            >>> h.remove()
        """
        handle = _add(self._forward_hooks, hook, prepend, self._forward_hooks_with_kwargs,
                      self._forward_hooks_always_called)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` runs when the output gradients are known; it may
        return replacement gradients."""
        return _add(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's positional tensor inputs are known; it may return new ``grad_input``."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        object.__setattr__(self, "_is_full_backward_hook", True)
        return _add(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook) -> RemovableHandle:
        """Deprecated in PyTorch: ``hook(module, grad_input, grad_output)`` runs with the
        gradients of the last autograd node of ``forward`` (for ``nn.Linear``: bias, input and
        ``weight.t()`` of its ``addmm``), not the module's inputs; it may return a new
        ``grad_input``. Prefer ``register_full_backward_hook``.

        Example:
            >>> h = nn.ReLU().register_backward_hook(lambda m, gi, go: (gi[0].clamp(min=0),))
            >>> h.remove()
        """
        if self._is_full_backward_hook is True:  # the two kinds exclude each other, as in torch
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        object.__setattr__(self, "_is_full_backward_hook", False)
        return _add(self._backward_hooks, hook, False)

    def _call_with_hooks(self, args, kwargs):
        for hook_id, hook in (*_global_forward_pre_hooks.items(),
                              *self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                out = hook(self, args, kwargs)
                if out is not None:
                    if not (isinstance(out, tuple) and len(out) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {out}.")
                    args, kwargs = out
            else:
                out = hook(self, args)
                if out is not None:
                    args = out if isinstance(out, tuple) else (out,)

        state, given_args = None, args
        legacy = self._is_full_backward_hook is False  # register_backward_hook's kind
        has_backward_hooks = bool((self._backward_hooks and not legacy) or _global_backward_hooks)
        if (has_backward_hooks or self._backward_pre_hooks or _global_backward_pre_hooks) \
                and grad_mode.is_grad_enabled():
            state = _BackwardHookState(self, args)
            positions = tuple(i for i, a in enumerate(args)
                              if isinstance(a, Tensor) and a.requires_grad)
            state.input_positions = positions
            if positions and has_backward_hooks:
                args = tuple(_wrap_tensors(args, positions, state.on_input_grads))

        forward_hooks = (*_global_forward_hooks.items(), *self._forward_hooks.items())
        try:
            result = self.forward(*args, **kwargs)
        except Exception:
            # hooks registered with always_call=True run even when forward raises (as torch)
            for hook_id, hook in forward_hooks:
                if hook_id in self._forward_hooks_always_called or \
                        hook_id in _global_forward_hooks_always_called:
                    try:
                        self._run_forward_hook(hook_id, hook, args, kwargs, None)
                    except Exception as e:
                        import warnings

                        warnings.warn("forward hook with ``always_call=True`` raised an "
                                      "exception that was silenced as another error was raised "
                                      f"in forward: {e}", stacklevel=2)
            raise

        for hook_id, hook in forward_hooks:
            out = self._run_forward_hook(hook_id, hook, args, kwargs, result)
            if out is not None:
                result = out

        if self._is_full_backward_hook is False and grad_mode.is_grad_enabled():
            hook_node = next((a.grad_fn for a, g in zip(args, given_args) if a is not g), None)
            _warn_legacy_backward_hook(given_args, result, hook_node)
            if self._backward_hooks:
                _attach_legacy_hooks(self, result)
        if state is not None:
            result = self._wrap_outputs(result, state)
        elif self._has_full_backward_hooks() and not isinstance(result, (Tensor, tuple)):
            self._warn_unhookable(result)
        return result

    def _has_full_backward_hooks(self):
        # (a legacy register_backward_hook hook warns in its own words instead)
        return bool((self._backward_hooks and self._is_full_backward_hook is not False)
                    or self._backward_pre_hooks or _global_backward_hooks
                    or _global_backward_pre_hooks)

    @staticmethod
    def _warn_unhookable(result):
        import warnings

        warnings.warn("For backward hooks to be called, module output should be a Tensor or a "
                      f"tuple of Tensors but received {type(result)}", UserWarning, stacklevel=4)

    def _run_forward_hook(self, hook_id, hook, args, kwargs, result):
        if hook_id in self._forward_hooks_with_kwargs or \
                hook_id in _global_forward_hooks_with_kwargs:
            return hook(self, args, kwargs, result)
        return hook(self, args, result)

    @staticmethod
    def _wrap_outputs(result, state):
        single = isinstance(result, Tensor)
        if not single and not isinstance(result, tuple):
            # torch hooks only a tensor or a tuple; a list or dict output runs no backward hook
            if state.module._has_full_backward_hooks():
                HookMixin._warn_unhookable(result)
            return result
        outs = [result] if single else list(result)
        positions = tuple(i for i, o in enumerate(outs)
                          if isinstance(o, Tensor) and o.requires_grad)
        if not positions:
            return result
        state.n_outputs, state.output_positions = len(outs), positions
        outs = _wrap_tensors(outs, positions, state.on_output_grads, materialize=False)
        if single:
            return outs[0]
        if hasattr(result, "_fields"):  # a namedtuple keeps its type
            return type(result)(*outs)
        return type(result)(outs)
