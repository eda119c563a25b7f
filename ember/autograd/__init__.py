"""Automatic differentiation: ``backward``, ``grad``, grad modes, ``Function``, ``gradcheck``."""

from __future__ import annotations

import numpy as np

from .._errors import with_hint

# the module first (torch.autograd.gradcheck is importable), then the name is the function
from . import gradcheck as _gradcheck_module  # noqa: F401
from ._gradcheck import GradcheckError, gradcheck, gradgradcheck
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .dot import graph_to_dot
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .graph import GradientEdge, Node, SavedTensor, _tensor_type, run_backward  # noqa: F401
from .graph import is_checkpoint_valid as _is_checkpoint_valid  # noqa: F401
from .variable import Variable

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "Function",
           "gradcheck", "gradgradcheck", "Node", "GradcheckError",
           "is_inference_mode_enabled", "is_anomaly_enabled", "Variable", "graph_to_dot",
           "set_multithreading_enabled"]


def _as_tuple(x):
    if x is None:
        return None
    return (x,) if isinstance(x, (_tensor_type(), GradientEdge)) else tuple(x)


def _ones_like(t):
    from .._creation import ones_like

    return ones_like(t)


def _check_args(outputs, grad_outputs, inputs):
    """torch's argument checks for ``backward``/``grad``, in its order: every output a tensor,
    every given gradient a tensor or None, at least one gradient per output, every input a
    tensor (or GradientEdge); all before any graph is walked (so nothing is freed)."""
    Tensor = _tensor_type()
    for out in outputs:
        if not isinstance(out, (Tensor, GradientEdge)):
            raise AssertionError("Expected output to be a torch.Tensor")
    if grad_outputs is not None:
        for g in grad_outputs[:len(outputs)]:
            if g is not None and not isinstance(g, Tensor):
                raise TypeError("gradients can be either Tensors or None, but got "
                                f"{type(g).__name__}")
        if len(grad_outputs) < len(outputs):  # extra gradients are ignored, as in torch
            raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    for t in inputs or ():
        if not isinstance(t, (Tensor, GradientEdge)):
            raise RuntimeError("all inputs have to be Tensors or GradientEdges, but got "
                               f"{type(t).__name__}")


def _make_grads(outputs, grad_outputs, create_graph):
    Tensor = _tensor_type()  # a function-level import costs about 1 us per call
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None and i < len(grad_outputs) else None
        if type(out) is GradientEdge:  # no tensor to check against: take the gradient given
            if g is None:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            grads.append(g if create_graph else g.detach())
            continue
        if g is None:
            if not out.requires_grad:
                raise RuntimeError(
                    f"element {i} of tensors does not require grad and does not have a grad_fn")
            if out.numel() != 1:
                raise with_hint(
                    RuntimeError("grad can be implicitly created only for scalar outputs"),
                    f"call backward(gradient=...) with a tensor of shape {list(out.shape)}, or "
                    "reduce the output first (e.g. out.sum().backward())")
            if out._dtype.is_complex:  # a loss must be real: d(loss)/dz is defined for those
                raise with_hint(
                    RuntimeError("grad can be implicitly created only for real scalar outputs "
                                 f"but got {out.dtype}"),
                    "take a real part of the output first (e.g. out.abs() or out.real)")
            g = Tensor._make(np.ones(out._data.shape, out._dtype.np_dtype), out._dtype) \
                if type(out._data) is np.ndarray else _ones_like(out)
        elif not isinstance(g, Tensor):
            from .._creation import tensor

            g = tensor(g, dtype=out.dtype, device=out.device)
        else:
            if g.shape != out.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                    f"output[{i}] has a shape of {out.shape}.")
            if g._dtype is not out._dtype:
                if g._dtype.is_complex or out._dtype.is_complex:
                    raise RuntimeError(
                        "For complex Tensors, both grad_output and output are required to have "
                        f"the same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of "
                        f"{g.dtype} and output[{i}] has a dtype of {out.dtype}.")
                g = g.to(out._dtype)  # as PyTorch's engine: a gradient takes its tensor's dtype
            if not create_graph:
                g = g.detach()
        if not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn")
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves.

    Example:
        >>> ember.autograd.backward(loss)
    """
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    _check_args(tensors, grad_tensors, inputs)
    grads = _make_grads(tensors, grad_tensors, create_graph)
    if create_graph and _create_graph_warning[0]:
        _create_graph_warning[0] = False  # torch warns once per process (TORCH_WARN_ONCE)
        import warnings

        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after "
            "use to break the cycle and avoid the leak.", UserWarning, stacklevel=2)
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


_create_graph_warning = [True]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Example:
        >>> (g,) = ember.autograd.grad((x ** 2).sum(), x, create_graph=True)
    """
    outputs = _as_tuple(outputs)
    single = not isinstance(inputs, (list, tuple))
    # inputs=None is no "every leaf" default here (unlike backward): iterating it fails
    inputs = _as_tuple(inputs) if inputs is not None else tuple(inputs)
    if not inputs:  # torch refuses an empty list of inputs, as backward(inputs=[]) does
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grad_outputs = _as_tuple(grad_outputs)
    if not is_grads_batched:  # the batched path has its own checks
        _check_args(outputs, grad_outputs, inputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    grads = _make_grads(outputs, grad_outputs, create_graph)
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                          allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        from .._creation import zeros_like

        result = [r if r is not None else zeros_like(t) for r, t in zip(result, inputs)]
    if not create_graph:
        result = [r.detach() if r is not None else None for r in result]
    _ = single
    return tuple(result)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """``grad(..., is_grads_batched=True)``: the first dimension of every grad_output indexes
    independent vector-Jacobian products, whose results are stacked along a new first
    dimension (torch vmaps one backward; this runs one backward per row on a kept graph)."""
    from .._creation import zeros_like
    from .._ops.shape.joining import stack

    if grad_outputs is None or len(grad_outputs) != len(outputs) or any(
            g is None for g in grad_outputs):
        raise ValueError("vmap(vjp, in_dims=0, ...)(<inputs>): Got in_dim=0 for some input, "
                         "but that input is a Tensor of dimensionality 0 so expected in_dim "
                         "to satisfy 0 <= in_dim < 0.")
    for i, (g, out) in enumerate(zip(grad_outputs, outputs)):
        if g.dim() == 0 or tuple(g.shape[1:]) != tuple(out.shape):
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each "
                "grad_output as the batch dimension. The sizes of the remaining dimensions are "
                "expected to match the shape of corresponding output, but a mismatch was "
                f"detected: grad_output[{i}] has a shape of {g.shape[1:]} and output[{i}] has "
                f"a shape of {out.shape}. If you only want some tensors in `grad_output` to be "
                "considered batched, consider using vmap.")
    n = grad_outputs[0].shape[0]
    rows = []
    for b in range(n):
        last = b == n - 1
        rows.append(grad(outputs, inputs, tuple(g[b] for g in grad_outputs),
                         retain_graph=retain_graph if last else True,
                         create_graph=create_graph, allow_unused=True))
    result = []
    for j, t in enumerate(inputs):
        column = [row[j] for row in rows]
        if all(c is None for c in column):
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {j} appears to not "
                                   "have been used in the graph. Set allow_unused=True if "
                                   "this is the desired behavior.")
            # torch materializes an unused input's gradient unbatched, as zeros_like(input)
            result.append(zeros_like(t) if materialize_grads else None)
            continue
        column = [c if c is not None else zeros_like(t) for c in column]
        result.append(stack(column))
    return tuple(result)


def __getattr__(name):
    # Function and gradcheck live in their own modules; import them on first use.
    if name in ("Function", "once_differentiable", "FunctionCtx"):
        from . import function

        return getattr(function, name)
    if name in ("is_multithreading_enabled", "set_multithreading_enabled",
                "is_view_replay_enabled"):
        from . import engine_modes

        return getattr(engine_modes, name)
    if name in ("function", "functional", "profiler", "forward_ad", "anomaly_mode"):
        import importlib

        return importlib.import_module(f"ember.autograd.{name}")
    raise AttributeError(f"module 'ember.autograd' has no attribute '{name}'")
