"""Reverse-mode transforms: ``vjp``, ``grad`` and ``grad_and_value``."""

from __future__ import annotations

import functools

from .._tensor import Tensor
from ..utils._pytree import tree_flatten, tree_unflatten
from ..utils._pytree import treespec_pprint as spec_pprint
from ._traced_call import TracedCall, check_argnums


def wraps(func):
    """``functools.wraps`` without copying ``func.__dict__`` (a module's state would come
    along)."""
    return functools.partial(functools.update_wrapper, wrapped=func, updated=())


def check_vjp_outputs(flat_outputs, api: str = "vjp(f, *primals)") -> None:
    """PyTorch's checks on what a differentiated function returned."""
    if len(flat_outputs) == 0:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output "
                           f"(got output = {flat_outputs})")
    for o in flat_outputs:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")


def vjp_with_argnums(func, primals, argnums, has_aux: bool, kwargs=None):
    """``vjp`` differentiating only the primals at ``argnums`` (None: all of them); also
    returns the traced call (jacrev builds on it)."""
    trace = TracedCall(func, primals, kwargs or {}, argnums, has_aux, "vjp(f, *primals)")
    check_vjp_outputs(trace.flat_outputs)
    for o in trace.flat_outputs:
        if not (o.is_floating_point() or o.is_complex()):
            raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or "
                               f"complex Tensors, got Tensor with dtype {o.dtype}")

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph=None):
        flat, spec = tree_flatten(cotangents)
        if spec != trace.output_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure "
                f"of outputs to the function. cotangents: {spec_pprint(spec)}, primal output: "
                f"{spec_pprint(trace.output_spec)}")
        grads = trace.vjp(flat, create_graph=create_graph, retain_graph=retain_graph)
        return tree_unflatten(grads, trace.input_spec)

    output = trace.finish(trace.raw_output)
    return trace, output, vjp_fn


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` returns the vector-Jacobian
    product with respect to each primal, as a tuple (``torch.func.vjp``). With ``has_aux``,
    ``func`` returns ``(output, aux)`` and ``aux`` comes third. ``vjp_fn`` may be called any
    number of times.

    Example:
        >>> out, vjp_fn = vjp(ember.sin, x)
        >>> (g,) = vjp_fn(ember.ones_like(out))   # == x.cos()
    """
    trace, output, vjp_fn = vjp_with_argnums(func, primals, None, has_aux)
    if has_aux:
        return output, vjp_fn, trace.finish_aux()
    return output, vjp_fn


def _grad_and_value(func, argnums, has_aux, args, kwargs):
    argnums = check_argnums(argnums, len(args))
    trace = TracedCall(func, args, kwargs, argnums, has_aux, "grad_and_value(f)(*args)")
    output = trace.raw_output
    if not isinstance(output, Tensor):
        raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a Tensor, "
                           f"got {type(output)}")
    if output.dim() != 0:
        raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar "
                           f"Tensor, got tensor with {output.dim()} dims. Maybe you wanted to "
                           "use the vjp or jacrev APIs instead?")
    if output.is_complex():  # torch's autograd.grad refuses to seed a complex output
        raise RuntimeError("grad can be implicitly created only for real scalar outputs but "
                           f"got {output.dtype}")
    from .._creation import ones_like

    grads = trace.vjp([ones_like(output)], create_graph=True, retain_graph=None)
    grad_input = tree_unflatten(grads, trace.input_spec)
    value = trace.finish(output)
    if has_aux:
        return grad_input, (value, trace.finish_aux())
    return grad_input, value


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """Like ``grad``, but the returned function gives ``(gradient, value)`` (with
    ``has_aux``: ``(gradient, (value, aux))``).

    Example:
        >>> g, loss = grad_and_value(lambda w: (w ** 2).sum())(w)
    """
    @wraps(func)
    def wrapper(*args, **kwargs):
        return _grad_and_value(func, argnums, has_aux, args, kwargs)

    wrapper._ember_grad = (func, argnums, has_aux, True)  # vmap batches it (_batching)
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The function that computes the gradient of scalar-valued ``func`` with respect to
    the positional argument(s) at ``argnums`` (``torch.func.grad``). Arguments may be
    pytrees (tuples, lists, dicts) of tensors; the gradient has the same structure. Inputs
    ``func`` does not use get zero gradients; no ``.grad`` field is touched. Composes with
    ``vmap`` (per-sample gradients), itself (higher derivatives) and ``ember.autograd``.

    Example:
        >>> grad(lambda x: x.sin().sum())(x)          # == x.cos()
        >>> grad(grad(lambda x: x ** 3))(ember.tensor(2.0))
        tensor(12.)
    """
    @wraps(func)
    def wrapper(*args, **kwargs):
        g, value = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (g, value[1]) if has_aux else g

    wrapper._ember_grad = (func, argnums, has_aux, False)  # vmap batches it (_batching)
    return wrapper
