"""Whole Jacobians and Hessians: ``jacrev``, ``jacfwd`` and ``hessian``.

Both first try one batched pass (``_batching.batched_jacobian``): the function captured once
and run on one copy of the inputs per output element, then one backward pass with the
identity's rows as cotangents. Otherwise (no batching rule, a derivative of a derivative...)
they come from one call of the function (a ``TracedCall``): ``jacrev`` takes one
vector-Jacobian product per output element (its rows), ``jacfwd`` one Jacobian-vector
product per input element (its columns), or rows when there are fewer outputs than inputs,
since in ember a row costs one backward pass and a column two. The numbers are the same
either way.
"""

from __future__ import annotations

from ..autograd.function import functorch_layer
from ..utils._pytree import tree_unflatten
from ._forward import JVP
from ._reverse import check_vjp_outputs, vjp_with_argnums, wraps
from ._traced_call import TracedCall, check_argnums, check_real
from ._vmap import call_checking_randomness, check_randomness


def _eye(n, like):
    from .. import eye

    return eye(n, dtype=like.dtype, device=like.device)


def _rows(trace):
    """``J[k][i]`` (output k, input i) from one vjp per output element."""
    jac = []
    for o in trace.flat_outputs:
        n = o.numel()
        basis = _eye(n, o)
        per_row = [trace.vjp([basis[j].view(o.shape)], outputs=[o]) for j in range(n)]
        jac.append([_assemble([r[i] for r in per_row], o, x, rows=True)
                    for i, x in enumerate(trace.flat_inputs)])
    return jac


def _columns(trace):
    """``J[k][i]`` from one jvp per input element."""
    from .. import zeros_like

    inputs = trace.flat_inputs
    per_input = []
    for i, x in enumerate(inputs):
        n = x.numel()
        basis = _eye(n, x)
        cols = []
        for j in range(n):
            tangents = [basis[j].view(x.shape) if m == i else zeros_like(y)
                        for m, y in enumerate(inputs)]
            cols.append(trace.jvp(tangents))
        per_input.append(cols)
    return [[_assemble([c[k] for c in per_input[i]], o, x, rows=False)
             for i, x in enumerate(inputs)] for k, o in enumerate(trace.flat_outputs)]


def _assemble(pieces, out, inp, rows: bool):
    """One Jacobian block of shape ``out.shape + inp.shape`` from its rows (each shaped
    like ``inp``) or columns (each shaped like ``out``)."""
    from .. import stack, zeros

    shape = tuple(out.shape) + tuple(inp.shape)
    if not pieces:
        dtype = inp.dtype if rows else out.dtype
        return zeros(shape, dtype=dtype, device=inp.device)
    return stack(pieces, dim=0 if rows else -1).reshape(shape)


def _package(trace, jac):
    """The blocks as PyTorch nests them: the output's structure, then the inputs'."""
    per_output = [tree_unflatten(blocks, trace.input_spec) for blocks in jac]
    return trace.finish(tree_unflatten(per_output, trace.output_spec))


def _batched(func, args, kwargs, argnums, has_aux):
    """The Jacobian from one batched run of ``func`` (``_batching.batched_jacobian``), or
    None where that path does not apply (then the rows are taken one at a time)."""
    from . import _batching

    if has_aux or not _batching.ENABLED:
        return None
    try:
        result = _batching.batched_jacobian(func, args, kwargs, argnums)
    except Exception as err:
        _batching.STATS["fallback"] += 1
        _batching.last_fallback = err
        return None
    _batching.STATS["batched"] += 1
    return result


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None,
           _preallocate_and_copy: bool = False):
    """The function that computes the Jacobian of ``func`` with respect to the argument(s)
    at ``argnums`` by reverse mode, one vector-Jacobian product per output element
    (``torch.func.jacrev``). The result has shape ``output.shape + input.shape``, nested by
    the outputs' structure and then by ``argnums``. ``chunk_size`` is checked; the rows are
    computed in one batched pass, or one at a time where ember cannot batch ``func``.

    Example:
        >>> jacrev(ember.sin)(x)                       # == ember.diag(x.cos())
        >>> jacrev(lambda x, y: x * y, argnums=(0, 1))(x, y)
    """
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @wraps(func)
    def wrapper(*args, **kwargs):
        check_real("jacrev", args, is_input=True)
        nums = check_argnums(argnums, len(args))
        batched = _batched(func, args, kwargs, nums, has_aux)
        if batched is not None:
            return batched
        trace, _, _ = vjp_with_argnums(func, args, nums, has_aux, kwargs)
        check_real("jacrev", trace.flat_outputs, is_input=False)
        result = _package(trace, _rows(trace))
        return (result, trace.finish_aux()) if has_aux else result

    # (it calls autograd, so _batching does not capture it; an outer Jacobian of it, a
    # Hessian, is batched from ``func`` itself)
    wrapper._ember_transform = (func, argnums, has_aux)
    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The function that computes the Jacobian of ``func`` with respect to the argument(s)
    at ``argnums`` (``torch.func.jacfwd``); same result layout as ``jacrev``. ember runs
    ``func`` once and then takes one Jacobian-vector product per input element (PyTorch's
    columns, so zeros carry forward mode's signs), so ``randomness`` "different" behaves as
    "same"; "error" raises PyTorch's error when ``func`` draws random numbers.

    Example:
        >>> jacfwd(ember.sin)(x)                       # == ember.diag(x.cos())
        >>> hessian = jacfwd(jacrev(f))(x)
    """
    @wraps(func)
    def wrapper(*args, **kwargs):
        check_randomness(randomness)
        check_real("jacfwd", args, is_input=True)
        nums = check_argnums(argnums, len(args))
        batched = _batched(func, args, kwargs, nums, has_aux)
        if batched is not None:
            return batched
        with functorch_layer("vmap"):  # torch's jacfwd is vmap over jvp
            trace = call_checking_randomness(TracedCall, randomness, None, func, args, kwargs,
                                             nums, has_aux, JVP)
        check_vjp_outputs(trace.flat_outputs, JVP)
        check_real("jacfwd", trace.flat_outputs, is_input=False)
        jac = _columns(trace)
        result = _package(trace, jac)
        return (result, trace.finish_aux()) if has_aux else result

    wrapper._ember_transform = (func, argnums, has_aux)
    return wrapper


def hessian(func, argnums=0):
    """The Hessian of scalar-valued ``func`` with respect to the argument(s) at
    ``argnums``: ``jacfwd(jacrev(func, argnums), argnums)`` (``torch.func.hessian``).

    Example:
        >>> hessian(lambda x: (x ** 3).sum())(x)       # == ember.diag(6 * x)
    """
    return jacfwd(jacrev(func, argnums), argnums)
