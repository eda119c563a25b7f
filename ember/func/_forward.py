"""Forward-mode transforms: ``jvp`` and ``linearize`` (computed as reverse mode twice, see
``_traced_call``)."""

from __future__ import annotations

from .._tensor import Tensor
from ..utils._pytree import tree_flatten, tree_unflatten
from ._reverse import check_vjp_outputs
from ._traced_call import TracedCall

JVP = "jvp(f, primals, tangents)"


def _check_tensors(flat, argname: str) -> None:
    if len(flat) == 0:
        raise RuntimeError(f"{JVP}: Expected {argname} to contain at least one Tensor.")
    for t in flat:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"{JVP}: Expected {argname} to only contain Tensors, got "
                               f"{type(t)}")


def jvp_with_argnums(func, primals, tangents, argnums, strict: bool, has_aux: bool):
    """``jvp`` pushing ``tangents`` through the primals at ``argnums`` (None: all); returns
    ``(trace, output tree, tangent tree)``."""
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{JVP}: Expected primals to be a tuple. E.g. it should be valid "
                           "to call f(*primals).")
    diff = primals if argnums is None else (
        primals[argnums] if isinstance(argnums, int) else tuple(primals[i] for i in argnums))
    flat_primals, primals_spec = tree_flatten(diff)
    flat_tangents, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise RuntimeError(
            f"{JVP}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {primals_spec} and tangents with structure {tangents_spec}")
    _check_tensors(flat_primals, "primals")
    _check_tensors(flat_tangents, "tangents")
    trace = TracedCall(func, primals, {}, argnums, has_aux, JVP)
    check_vjp_outputs(trace.flat_outputs, JVP)
    out_tangents = trace.jvp(flat_tangents, strict=strict, api=JVP)
    return (trace, trace.finish(trace.raw_output),
            tree_unflatten(out_tangents, trace.output_spec))


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)``: the Jacobian-vector product (``torch.func.jvp``).
    ``primals`` is a tuple of the arguments, ``tangents`` a tuple of the same structure and
    shapes. ember computes it in reverse mode (a vector-Jacobian product, differentiated
    again with respect to its vector), so the function runs once and any op with a
    gradient works.

    Example:
        >>> out, t = jvp(ember.sin, (x,), (ember.ones_like(x),))   # t == x.cos()
    """
    trace, output, out_tangents = jvp_with_argnums(func, primals, tangents, None, strict,
                                                   has_aux)
    if has_aux:
        return output, out_tangents, trace.finish_aux()
    return output, out_tangents


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` returns ``J @ tangents`` at
    ``primals`` without running ``func`` again (``torch.func.linearize``).

    Example:
        >>> out, jvp_fn = linearize(ember.sin, x)
        >>> jvp_fn(ember.ones_like(x))   # == x.cos()
    """
    trace = TracedCall(func, primals, {}, None, False, JVP)
    check_vjp_outputs(trace.flat_outputs, JVP)
    flat_primals = trace.flat_inputs
    primals_spec = trace.input_spec

    def jvp_fn(*tangents):
        flat, spec = tree_flatten(tangents)
        if spec != primals_spec:
            raise RuntimeError(f"Expected the tangents {spec} to have the same argspec as the "
                               f"primals {primals_spec}")
        for idx, (t, p) in enumerate(zip(flat, flat_primals)):
            for what, a, b in (("shape", t.shape, p.shape), ("device", t.device, p.device),
                               ("dtype", t.dtype, p.dtype)):
                if a != b:
                    raise RuntimeError(f"tangent:{idx} with {what} {a} in flattened pytree "
                                       f"doesn't match the {what} {b} of the corresponding "
                                       "primal.")
        return tree_unflatten(trace.jvp(flat), trace.output_spec)

    return trace.finish(trace.raw_output), jvp_fn
