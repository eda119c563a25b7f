"""The ``Optimizer`` base class, in PyTorch's image (``torch.optim.Optimizer``).

Parameters live in ``param_groups`` (a list of dicts holding ``'params'`` and the group's
hyperparameters); per-parameter state lives in ``state`` (a defaultdict keyed by the parameter
tensor). ``state_dict()`` / ``load_state_dict()`` use PyTorch's layout exactly, so checkpoints
move between ember and PyTorch.

Subclasses update ``p._data`` in place with NumPy ufuncs and ``out=``: a step allocates nothing
beyond what the math needs. ``_buffer`` hands out reusable scratch arrays for temporaries.
"""

from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import numpy as np

from .. import _blas
from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ..autograd.graph import _RemovableHandle

# state_dict / load_state_dict and pickling live in the mixin; the scalar helpers are
# re-exported here, where the optimizers import them from.
from ._optimizer_state import _HOOK_DICTS, _OptimizerStateMixin
from ._optimizer_state import _get_scalar_dtype as _get_scalar_dtype
from ._optimizer_state import _new_scalar as _new_scalar

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Singleton marking a hyperparameter every param group must give."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_global_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_post_hooks: OrderedDict[int, Callable] = OrderedDict()


def _add_hook(container: OrderedDict, hook: Callable, prepend: bool = False) -> _RemovableHandle:
    handle = _RemovableHandle(container, None)
    handle._item = handle.id
    container[handle.id] = hook
    if prepend:
        container.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: Callable) -> _RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run before every optimizer's ``step``."""
    return _add_hook(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> _RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run after every optimizer's ``step``."""
    return _add_hook(_global_post_hooks, hook)


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        from .._tensor_str import type_name

        return type_name(obj)
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


def _to_scalar(x):
    """A Python float from a float or a one-element tensor (``lr`` may be a tensor)."""
    if isinstance(x, Tensor):
        return float(x._data.reshape(()))
    return x


def _refuse_capturable_off_gpu(optimizer) -> None:
    """``capturable=True`` keeps the step count on the parameters' device for CUDA-graph
    capture; PyTorch refuses it at ``step()`` (AssertionError) when a parameter is elsewhere."""
    for group in optimizer.param_groups:
        if group.get("capturable") and any(p.device.type != "cuda" for p in group["params"]
                                           if p.grad is not None):
            what = getattr(optimizer, "_capturable_tensors", "params and state_steps")
            devices = getattr(optimizer, "_capturable_devices",
                              "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']")
            raise AssertionError(f"If capturable=True, {what} must be on supported devices: "
                                 f"{devices}.")


def _raise_if_stale_state(optimizer, err: ValueError) -> None:
    """A built-in step failed in NumPy: where a per-element state tensor no longer has its
    parameter's shape (the parameter was resized through ``.data`` after steps were taken),
    raise the RuntimeError torch's in-place update (``exp_avg.lerp_(grad)``) raises, the
    state being tensor a and the gradient tensor b."""
    from .._ops._core import broadcast_shapes

    for group in optimizer.param_groups:
        for p in group["params"]:
            for value in optimizer.state.get(p, {}).values():
                if not isinstance(value, Tensor) or value.dim() == 0 or value.shape == p.shape:
                    continue
                try:
                    out = broadcast_shapes(tuple(value.shape), tuple(p.shape))
                except RuntimeError as mismatch:
                    raise mismatch from None
                # a state that covers the gradient updates fine; the parameter's update fails
                target = p.shape if out == tuple(value.shape) else value.shape
                raise RuntimeError(f"output with shape {list(target)} doesn't match the "
                                   f"broadcast shape {list(out)}") from None


def _with_hooks(func: Callable) -> Callable:
    """Wrap a subclass's ``step`` so step pre/post hooks run around it (once, even if nested)."""

    # only ember's own steps refuse capturable=True off the GPU, as only PyTorch's own do
    builtin = func.__module__.startswith("ember.optim.")

    @functools.wraps(func)
    def step(*args, **kwargs):
        self = args[0]
        if builtin and "capturable" in self.defaults:
            _refuse_capturable_off_gpu(self)
        if self._step_depth or not (_global_pre_hooks or _global_post_hooks
                                    or self._optimizer_step_pre_hooks
                                    or self._optimizer_step_post_hooks):
            self._step_depth += 1
            try:
                return func(*args, **kwargs)
            except ValueError as err:
                if builtin:
                    _raise_if_stale_state(self, err)
                raise
            finally:
                self._step_depth -= 1
        for hook in chain(_global_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{func} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
        self._step_depth += 1
        try:
            out = func(*args, **kwargs)
        except ValueError as err:
            if builtin:
                _raise_if_stale_state(self, err)
            raise
        finally:
            self._step_depth -= 1
        for hook in chain(self._optimizer_step_post_hooks.values(), _global_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    step.hooked = True
    return step


class Optimizer(_OptimizerStateMixin):
    """Base class for all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (param groups,
            each with a ``'params'`` entry and optional per-group hyperparameters).
        defaults: default hyperparameters, used where a group does not set its own.

    Example:
        >>> opt = ember.optim.SGD(model.parameters(), lr=0.1)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _with_hooks(step)

    # True where the subclass records its step in autograd when ``differentiable=True``
    _differentiable_step = False
    # whether ``foreach=True`` may go with ``differentiable=True`` (PyTorch: only SGD)
    _recorded_foreach = False

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        for name in _HOOK_DICTS:
            setattr(self, name, OrderedDict())
        self._step_depth = 0
        self._buffers: dict = {}
        if defaults.get("differentiable") and defaults.get("fused"):
            raise RuntimeError("`fused` does not support `differentiable`")
        if defaults.get("differentiable") and not self._differentiable_step:
            raise NotImplementedError(
                f"differentiable=True (autograd through the optimizer step) is not supported by "
                f"ember's {type(self).__name__}; leave it False")
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)
        if defaults.get("fused") and defaults.get("foreach"):  # checked after the groups, as torch
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    # -- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # -- hooks ------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> _RemovableHandle:
        """Run ``hook(optimizer, args, kwargs)`` before each ``step``; it may return new
        ``(args, kwargs)``."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> _RemovableHandle:
        """Run ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """Run ``hook(optimizer)`` before ``state_dict()`` builds its result."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """Run ``hook(optimizer, state_dict)`` on the result; it may return a replacement."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """Run ``hook(optimizer, state_dict)`` before loading; it may return a replacement."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """Run ``hook(optimizer)`` after loading."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # -- gradients --------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to ``None`` by default).

        Example:
            >>> opt.zero_grad()
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                    p._grad_private = False
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g._requires_grad = False
                    if isinstance(g, SparseTensor):
                        g.zero_()  # no entries left, as PyTorch's sparse zero_()
                    else:
                        g._data.fill(0)
                        g._vbox[0] += 1

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step (implemented by each optimizer)."""
        raise NotImplementedError

    def _record_step(self, group: dict) -> bool:
        """Run a ``differentiable=True`` group's step as ``self._recorded_step(group)``:
        written with Tensor ops and run under ``enable_grad()`` (even inside ``no_grad``) so
        autograd records it. True when it ran; False sends the group to the NumPy fast path."""
        if not group["differentiable"]:
            return False
        if group.get("foreach") and not self._recorded_foreach:
            raise AssertionError("_foreach ops don't support autograd")
        with enable_grad():
            self._recorded_step(group)
        return True

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops (each optimizer with ``_differentiable_step``)."""
        raise NotImplementedError

    @staticmethod
    def _recorded_grad(p: Tensor, weight_decay, maximize: bool) -> Tensor:
        """``p.grad`` as a Tensor in the recorded step: negated for ``maximize``, plus the L2
        term ``weight_decay * p`` (recorded, so gradients reach the pre-step weights)."""
        g = p.grad
        if maximize:
            g = -g
        if isinstance(weight_decay, Tensor) or weight_decay != 0:
            g = g + p * weight_decay
        return g

    @classmethod
    def _recorded_adam_grad(cls, p: Tensor, group: dict, lr) -> Tensor:
        """The recorded step's gradient for the Adam family: with decoupled weight decay the
        weights shrink first (``p *= 1 - lr * weight_decay``, recorded) and the gradient
        carries no L2 term; otherwise the L2 term joins the gradient."""
        weight_decay = group["weight_decay"]
        if group["decoupled_weight_decay"]:
            if weight_decay != 0:
                p.mul_(1 - lr * weight_decay)
            return cls._recorded_grad(p, 0, group["maximize"])
        return cls._recorded_grad(p, weight_decay, group["maximize"])

    @staticmethod
    def _real_views(*tensors: Tensor) -> list:
        """Complex tensors as their real views (``view_as_real``, sharing memory and recorded
        by autograd), others as they are: a recorded step, as PyTorch's, updates a complex
        parameter and its state as pairs of real numbers."""
        from .._ops.pointwise.complex import view_as_real

        return [view_as_real(t) if t.is_complex() else t for t in tensors]

    @staticmethod
    def _number_lr(group: dict, call: str = "addcdiv_(): argument 'value'") -> float:
        """The group's lr as a number for a recorded step that takes it as one. PyTorch's
        recorded steps of RMSprop, Adagrad, Adamax and Adadelta hand the lr to an in-place op
        as a Python number, failing (TypeError) on an lr that requires grad; so do these."""
        lr = group["lr"]
        if isinstance(lr, Tensor) and lr.requires_grad:
            raise TypeError(f"{call} must be Number, not Tensor")
        return _to_scalar(lr)

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own hyperparameters) to ``param_groups``.

        Example:
            >>> opt.add_param_group({'params': head.parameters(), 'lr': 1e-3})
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            # a differentiable step may update a non-leaf (an unrolled inner loop's weights)
            if not (param.grad_fn is None or param._retains_grad
                    or self.defaults.get("differentiable")):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len(set(map(id, tensors))):
            import warnings

            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(map(id, group["params"]))
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(map(id, tensors)):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- helpers for subclasses -------------------------------------------------------------
    # Updates in fused passes: OpenBLAS's axpby/axpy where they apply (float32/float64,
    # contiguous), else NumPy through scratch slot 2. On the CNN benchmark's SGD with momentum
    # (1.2M float32 parameters): 1.17 ms in four NumPy passes, 0.56 ms in two BLAS calls.
    def _scale_add(self, y: np.ndarray, b: float, x: np.ndarray, a: float) -> None:
        """``y = b*y + a*x`` in place."""
        if _blas.axpby(a, x, b, y):
            return
        np.multiply(y, b, out=y)
        if a != 1:
            x = np.multiply(x, a, out=self._buffer(y, 2))
        np.add(y, x, out=y)

    def _add_scaled(self, y: np.ndarray, a: float, x: np.ndarray) -> None:
        """``y += a*x`` in place."""
        if _blas.axpy(a, x, y):
            return
        np.add(y, np.multiply(x, a, out=self._buffer(y, 2)), out=y)

    def _buffer(self, like, slot: int = 0):
        """A scratch array shaped like ``like`` (reused across steps; contents undefined)."""
        key = (type(like), like.dtype, slot)
        buf = self._buffers.get(key)
        n = like.size
        if buf is None or buf.size < n:
            xp = np if type(like) is np.ndarray else _array_module(like)
            buf = xp.empty(n, like.dtype)
            self._buffers[key] = buf
        return buf[:n].reshape(like.shape)

    @staticmethod
    def _advance_step(state: dict) -> float:
        """Add one to ``state['step']`` (a 0-d tensor, updated in place); return the new count."""
        step_arr = state["step"]._data
        np.add(step_arr, 1, out=step_arr)
        return float(step_arr)

    # How a sparse .grad (nn.Embedding(sparse=True)) is met: optimizers whose update is the
    # same on the dense form (SGD, Adagrad) set the message their weight decay raises with
    # sparse gradients; the others refuse sparse gradients with PyTorch's message.
    _sparse_weight_decay_error: str | None = None

    def _sparse_grad_error(self) -> str:
        return f"{type(self).__name__} does not support sparse gradients"

    def _dense_grad(self, p: Tensor, weight_decay: float):
        """A sparse ``p.grad`` as a dense array, where this optimizer supports sparse ones."""
        if self._sparse_weight_decay_error is None:
            raise RuntimeError(self._sparse_grad_error())
        if weight_decay != 0:
            raise RuntimeError(self._sparse_weight_decay_error)
        return p._grad.to_dense()._data

    def _decayed_grad(self, p: Tensor, lr: float, weight_decay: float, decoupled: bool,
                      maximize: bool):
        """The gradient to use: decoupled (AdamW-style) decay shrinks ``p`` in place first,
        otherwise ``weight_decay`` is added to the gradient as an L2 term."""
        if isinstance(p._grad, SparseTensor):
            self._dense_grad(p, weight_decay)  # refuses before p is touched
        if weight_decay != 0 and decoupled:
            np.multiply(p._data, 1 - lr * weight_decay, out=p._data)
            return self._grad_of(p, 0, maximize)
        return self._grad_of(p, weight_decay, maximize)

    def _grad_of(self, p: Tensor, weight_decay: float, maximize: bool):
        """The gradient array with ``maximize`` and L2 ``weight_decay`` applied (never
        modifying ``p.grad``)."""
        g = p._grad._data
        if isinstance(p._grad, SparseTensor):
            g = self._dense_grad(p, weight_decay)
        if weight_decay != 0:
            out = self._buffer(g, 1)
            np.multiply(p._data, weight_decay, out=out)
            if maximize:
                np.subtract(out, g, out=out)
            else:
                np.add(out, g, out=out)
            return out
        if maximize:
            out = self._buffer(g, 1)
            np.negative(g, out=out)
            return out
        return g


def _array_module(arr):
    from .._backend import _get_cupy

    return _get_cupy()


def _real_view(arr):
    """A complex array viewed as real, shape ``(..., 2)`` (``torch.view_as_real``; any other
    array as it is). PyTorch's optimizers update a complex parameter as this real view, so a
    nonlinear update (Adam's squared gradient, RMSprop's root) treats the real and imaginary
    parts as two separate numbers."""
    if arr.dtype.kind != "c":
        return arr
    return arr[..., None].view(arr.real.dtype)  # a size-1 last axis may change its itemsize


def _zeros_like(p: Tensor) -> Tensor:
    """A zero state tensor like parameter ``p`` (same dtype, device and shape)."""
    return Tensor._make(np.zeros_like(p._data), p._dtype)


def _full_like(p: Tensor, value: float) -> Tensor:
    return Tensor._make(np.full_like(p._data, value), p._dtype)


def _check_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= _to_scalar(lr):
        raise ValueError(f"Invalid learning rate: {lr}")
