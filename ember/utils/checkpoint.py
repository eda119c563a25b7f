"""Activation checkpointing, as ``torch.utils.checkpoint``: trade compute for memory by
running a segment's forward without saving its activations and recomputing it in backward.

``use_reentrant=True`` (PyTorch's default when the argument is left out, with its warning) is
PyTorch's reentrant algorithm: a ``CheckpointFunctionBackward`` node that re-runs the segment
under the forward's RNG and autocast state and back-propagates through it. ``use_reentrant=False``
records the segment's graph as usual but drops the tensors it saves (saved-tensor hooks keep
only their positions); the first backward read re-runs the segment to make them again, up to
the op that saves the last of them (``early_stop=True``, as PyTorch) or to its end.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable
from typing import Any

from .. import _autocast, _random
from .._tensor import Tensor
from ..amp.autocast_mode import autocast
from ..autograd import backward as _backward
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.graph import is_checkpoint_valid
from ..nn.modules.container import Sequential

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


def _warn_use_reentrant():
    warnings.warn(
        "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
        "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
        "exception. use_reentrant=False is recommended, but if you need to preserve the "
        "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
        "details on the differences between the two variants.", stacklevel=3)


def detach_variable(inputs: tuple) -> tuple:
    """Detached copies of the tensors in ``inputs`` keeping ``requires_grad`` (others as is)."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        if not any(a.requires_grad for a in args if isinstance(a, Tensor)):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          stacklevel=2)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        ctx.autocast = (_autocast.is_autocast_enabled("cpu"),
                        _autocast.get_autocast_dtype("cpu"))
        if preserve_rng_state:
            ctx.fwd_cpu_state = _random.get_rng_state()
        ctx.inputs, ctx.tensor_indices, tensors = [], [], []
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                tensors.append(arg)
                ctx.tensor_indices.append(i)
                ctx.inputs.append(None)
            else:
                ctx.inputs.append(arg)
        ctx.save_for_backward(*tensors)
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        if not is_checkpoint_valid():
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() "
                "or passing an `inputs` parameter to .backward(). To resolve this error, you "
                "can either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument.")
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        surrounding = _random.get_rng_state() if ctx.preserve_rng_state else None
        try:
            if ctx.preserve_rng_state:
                _random.set_rng_state(ctx.fwd_cpu_state)
            detached = detach_variable(tuple(inputs))
            enabled, dtype = ctx.autocast
            with enable_grad(), autocast("cpu", dtype=dtype, enabled=enabled):
                outputs = ctx.run_function(*detached)
        finally:
            if surrounding is not None:
                _random.set_rng_state(surrounding)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        outs, out_grads = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, Tensor) and out.requires_grad:
                outs.append(out)
                out_grads.append(g)
        if not outs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        _backward(outs, out_grads)
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None
                                    for x in detached)


_DETERMINISM_CHECKS = ("default", "none")


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, **kwargs: Any):
    """Call ``function(*args)`` as one checkpointed segment and return its result.

    With ``use_reentrant=True`` the segment runs under ``no_grad`` and a single
    ``CheckpointFunctionBackward`` node re-runs it in backward (replaying the forward's RNG
    state unless ``preserve_rng_state=False``, and its autocast state); extra keyword
    arguments, ``context_fn`` and ``debug`` are refused there, as in PyTorch. With
    ``use_reentrant=False`` keyword arguments reach ``function``, the segment runs inside
    the first context that ``context_fn()`` returns and its saved activations are dropped, to
    be recomputed in backward inside the second one. Leaving ``use_reentrant`` out warns and
    means ``True``.

    Example:
        >>> layer = ember.nn.Linear(3, 3)
        >>> x = ember.ones(2, 3, requires_grad=True)
        >>> y = checkpoint(layer, x, use_reentrant=True)
        >>> y.grad_fn.name()
        'CheckpointFunctionBackward'
        >>> y.sum().backward()
        >>> x.grad.shape
        torch.Size([2, 3])
    """
    if use_reentrant is None:
        _warn_use_reentrant()
        use_reentrant = True
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if debug is not False or context_fn is not noop_context_fn:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, "
                         f"but got {determinism_check}")
    return _checkpoint_without_reentrant(function, preserve_rng_state, context_fn, early_stop,
                                         args, kwargs)


class _Recomputation:
    """One non-reentrant checkpointed call: how many tensors its forward saved, and the
    tensors a re-run of the segment saved in their place, each handed out once (as PyTorch,
    a second backward through the segment re-runs it again)."""

    def __init__(self, run):
        self.run = run
        self.count = 0
        self.tensors: dict = {}

    def pack(self, t):
        # keep only the position: the activation itself is dropped (the memory saved)
        self.count += 1
        return self.count - 1

    def unpack(self, index):
        if index not in self.tensors:
            saved: list = []
            self.run(saved)
            self.tensors = dict(enumerate(saved[:self.count]))
        return self.tensors.pop(index)


class _StopRecomputation(Exception):
    """Raised by the re-run's pack hook once it has everything (``early_stop``)."""


def _checkpoint_without_reentrant(function, preserve_rng_state, context_fn, early_stop, args,
                                  kwargs):
    """The segment's graph is recorded as usual, but every tensor it saves for backward goes
    through ``saved_tensors_hooks`` that keep a position instead; the first backward read
    re-runs the segment (under the forward's RNG and autocast state, and ``context_fn``'s
    second context) and hands out what the re-run saved at the same position."""
    from ..autograd.graph import saved_tensors_hooks
    from ..profiler import _recorder

    forward_context, recompute_context = context_fn()
    rng_state = _random.get_rng_state() if preserve_rng_state else None
    amp = (_autocast.is_autocast_enabled("cpu"), _autocast.get_autocast_dtype("cpu"))

    def keep_one(saved, t):
        saved.append(t)
        # early_stop: like PyTorch, leave the re-run as soon as it has saved all it must
        if early_stop and len(saved) == frame.count:
            raise _StopRecomputation
        return t

    def run(saved):
        inputs = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a
                  for a in args]
        surrounding = _random.get_rng_state() if rng_state is not None else None
        try:
            if rng_state is not None:
                _random.set_rng_state(rng_state)
            # a pack hook that keeps each saved tensor; the re-run's own graph is dropped
            keep = saved_tensors_hooks(functools.partial(keep_one, saved), lambda t: t)
            # counted as a forward (FlopCounterMode), though it runs inside a backward node
            with _recorder.forward_in_backward(), enable_grad(), recompute_context, keep, \
                    autocast("cpu", dtype=amp[1], enabled=amp[0]):
                function(*inputs, **kwargs)
        except _StopRecomputation:
            pass
        finally:
            if surrounding is not None:
                _random.set_rng_state(surrounding)
        # PyTorch stops the re-run once it has what the forward saved: more is no error
        if len(saved) < frame.count:
            raise CheckpointError(
                "torch.utils.checkpoint: A different number of tensors was saved during the "
                "original forward and recomputation.\n"
                f"Number of tensors saved during forward: {frame.count}\n"
                f"Number of tensors saved during recomputation: {len(saved)}.")

    frame = _Recomputation(run)
    with saved_tensors_hooks(frame.pack, frame.unpack), forward_context:
        return function(*args, **kwargs)


class CheckpointError(RuntimeError):
    """A non-reentrant checkpoint's recomputation did not save what its forward saved
    (``torch.utils.checkpoint.CheckpointError``).

    Example:
        >>> issubclass(CheckpointError, RuntimeError)
        True
    """


def _chain(functions, first: int, stop: int) -> Callable:
    """A one-argument callable that feeds its input through ``functions[first:stop]``."""
    def run_chain(value):
        for position in range(first, stop):
            value = functions[position](value)
        return value

    return run_chain


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Run ``functions`` (a ``Sequential`` or a list of callables) in turn on ``input``,
    checkpointing all but the last of ``segments`` equal pieces.

    Each piece holds ``len(functions) // segments`` callables; the last piece also takes the
    remainder and runs without a checkpoint, since its activations are needed right away in
    backward. ``use_reentrant`` and ``preserve_rng_state`` are passed on to ``checkpoint``.

    Example:
        >>> model = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.ReLU(),
        ...                             ember.nn.Linear(2, 2), ember.nn.ReLU())
        >>> x = ember.ones(1, 2, requires_grad=True)
        >>> checkpoint_sequential(model, 2, x, use_reentrant=True).shape
        torch.Size([1, 2])
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    size = len(functions) // segments
    # range() refuses a zero step: more segments than callables is an error, as in PyTorch.
    starts = range(0, size * (segments - 1), size)
    rest = 0
    for start in starts:
        rest = start + size
        input = checkpoint(_chain(functions, start, rest), input,
                           use_reentrant=use_reentrant, preserve_rng_state=preserve_rng_state)
    return _chain(functions, rest, len(functions))(input)
