"""``torch.autograd.functional``: whole-function derivatives on top of ``autograd.grad``.

``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp`` and ``hvp`` take ``func`` and its
``inputs`` (a Tensor or a tuple of Tensors) and return results shaped as PyTorch's: a tuple
where the inputs (or outputs) were a tuple, a single Tensor where they were one. The results
are detached unless ``create_graph=True``, and ``strict=True`` raises where an output does
not depend on an input instead of returning zeros.

``jvp`` and ``hvp`` use the double-backward trick as PyTorch does here (a vector-Jacobian
product differentiated with respect to its vector). ``vectorize=True`` and
``strategy="forward-mode"`` are checked as in PyTorch and give the same numbers: reverse mode
one row at a time, forward mode one column at a time through that same trick (so a forward-mode
Jacobian's zeros carry forward mode's signs).

Example:
    >>> from ember.autograd.functional import jacobian, hessian
    >>> jacobian(lambda x: x ** 2, ember.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
"""

from __future__ import annotations

from .. import _creation
from .._tensor import Tensor
from . import grad as _grad
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# -- argument handling (PyTorch's helpers and messages) --------------------------------------

def _as_tuple(inp, arg_name: str, fn_name: str):
    """``(was_a_tuple, tuple_of_tensors)``; anything but Tensors raises PyTorch's TypeError."""
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = (f"the value at index {i} has type {type(el)}" if is_tuple
                     else f"the given {arg_name} has type {type(el)}")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but {where}.")
    return is_tuple, items


def _tuple_postprocess(res, to_unpack):
    """Unwrap the one-element levels that were single Tensors in the call."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph: bool, need_graph: bool):
    """Fresh leaves for the function to run on; with ``create_graph`` an input that already
    requires grad stays connected to the caller's graph (through a view)."""
    return tuple(inp.view_as(inp) if create_graph and inp.requires_grad
                 else inp.detach().requires_grad_(need_graph) for inp in inputs)


def _grad_postprocess(inputs, create_graph: bool):
    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v, other, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but "
                               f"got {el_v.size()}.")


def _prepare_v(v, against, is_tuple: bool, create_graph: bool, fn_name: str, none_msg: str):
    """``v`` as a tuple checked against ``against`` (outputs or inputs); None only where
    ``against`` is one single-element tensor (then the caller's grad fills in a one)."""
    if v is None:
        if len(against) != 1 or against[0].nelement() != 1:
            raise RuntimeError(none_msg)
        return None
    _, v = _as_tuple(v, "v", fn_name)
    v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
    _validate_v(v, against, is_tuple)
    return v


_V_NONE_OUTPUT = ("The vector v can only be None if the user-provided function returns a single "
                  "Tensor with a single element.")
_V_NONE_INPUT = ("The vector v can only be None if the input to the user-provided function is "
                 "a single Tensor with a single element.")

_STRICT_MESSAGES = {
    "hessian": "The hessian of the user-provided function with respect to input {i} is "
               "independent of the input. This is not allowed in strict mode. You should "
               "ensure that your function is thrice differentiable and that the hessian "
               "depends on the inputs.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided "
                "function with respect to input {i} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of "
                   "the user-provided function. This is not allowed in strict mode.",
    "outputs": "Output {i} of the user-provided function does not require gradients. The "
               "outputs must be computed in a differentiable manner from the input when "
               "running in strict mode.",
}


def _check_requires_grad(tensors, input_type: str, strict: bool) -> None:
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_STRICT_MESSAGES[input_type].format(i=i))


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` over the outputs that require grad (None for unused inputs)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, grads = zip(*pairs)
    return _grad(outs, inputs, grads, allow_unused=True, create_graph=create_graph,
                 retain_graph=retain_graph)


_ZERO_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is "
            "not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def _fill_in_zeros(grads, refs, strict: bool, create_graph: bool, stage: str):
    """Zeros for the gradients autograd left as None (or PyTorch's strict-mode errors)."""
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_ZERO_MESSAGES[stage].format(i=i))
            g = _creation.zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        res.append(g)
    return tuple(res)


def _run(func, inputs, fn_name: str, strict: bool):
    """``func(*inputs)`` as ``(was_a_tuple, outputs)``, with the strict-mode output check."""
    is_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                  fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_tuple, outputs


def _finish(outputs, result, create_graph: bool, unpack_outputs, unpack_result):
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, unpack_outputs),
            _tuple_postprocess(result, unpack_result))


# -- products --------------------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``: the vector-Jacobian product at ``inputs``. ``v`` is shaped
    like the output(s); it may be omitted when the output is a single one-element Tensor.

    Example:
        >>> x = ember.tensor([1.0, 2.0])
        >>> vjp(lambda x: x ** 2, x, ember.ones(2))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _run(func, inputs, "vjp", strict)
        v = _prepare_v(v, outputs, is_outputs_tuple, create_graph, "vjp", _V_NONE_OUTPUT)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    return _finish(outputs, result, create_graph, is_outputs_tuple, is_inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``: the Jacobian-vector product at ``inputs``, by the double
    backward trick. ``v`` is shaped like the input(s); it may be omitted when the input is a
    single one-element Tensor.

    Example:
        >>> x = ember.tensor([1.0, 2.0])
        >>> jvp(lambda x: x ** 2, x, ember.ones(2))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "jvp", _V_NONE_INPUT)
        is_outputs_tuple, outputs = _run(func, inputs, "jvp", strict)
        # J v is the gradient of (u^T J) v with respect to the dummy vector u.
        grad_outputs = tuple(_creation.zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
    return _finish(outputs, result, create_graph, is_outputs_tuple, is_outputs_tuple)


def _scalar_function_outputs(func, inputs, fn_name: str, strict: bool):
    """``func(*inputs)`` checked to be one single-element Tensor (``hessian``, ``vhp``,
    ``hvp``)."""
    is_tuple, outputs = _run(func, inputs, fn_name, strict)
    if is_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")
    return outputs


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)``: the vector-Hessian product of scalar-valued ``func``;
    ``v`` is shaped like the input(s).

    Example:
        >>> x = ember.tensor([1.0, 2.0])
        >>> vhp(lambda x: (x ** 3).sum(), x, ember.ones(2))
        (tensor(9.), tensor([ 6., 12.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "vhp", _V_NONE_INPUT)
        outputs = _scalar_function_outputs(func, inputs, "vhp", strict)
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    return _finish(outputs, result, create_graph, False, is_inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)``: the Hessian-vector product of scalar-valued ``func``, by the
    double backward trick; ``v`` is shaped like the input(s).

    Example:
        >>> x = ember.tensor([1.0, 2.0])
        >>> hvp(lambda x: (x ** 3).sum(), x, ember.ones(2))
        (tensor(9.), tensor([ 6., 12.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "hvp", _V_NONE_INPUT)
        outputs = _scalar_function_outputs(func, inputs, "hvp", strict)
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        grad_jac = tuple(_creation.zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back_trick")
    return _finish(outputs, result, create_graph, False, is_inputs_tuple)


# -- whole Jacobians and Hessians -------------------------------------------------------------

_JAC = "torch.autograd.functional.jacobian"


def _jacobian_rows(outputs, inputs, create_graph: bool, strict: bool):
    """``J[i][k]`` (output i, input k) of shape ``out.shape + inp.shape``, one backward pass
    per output element."""
    from .. import stack

    jacobian = []
    for i, out in enumerate(outputs):
        rows = tuple([] for _ in inputs)
        flat = out.reshape(-1)
        for j in range(out.nelement()):
            vj = _autograd_grad((flat[j],), inputs, retain_graph=True,
                                create_graph=create_graph)
            for k, (row, vj_el, inp) in enumerate(zip(rows, vj, inputs)):
                if vj_el is None:
                    if strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is "
                                           f"independent of input {k}. This is not allowed in "
                                           "strict mode.")
                    vj_el = _creation.zeros_like(inp)
                elif strict and create_graph and not vj_el.requires_grad:
                    raise RuntimeError(f"The jacobian of the user-provided function is "
                                       f"independent of input {i}. This is not allowed in "
                                       "strict mode when create_graph=True.")
                row.append(vj_el)
        jacobian.append(tuple(
            stack(row, dim=0).view(out.size() + inp.size()) if row
            else _creation.zeros(out.size() + inp.size(), dtype=inp.dtype, device=inp.device)
            for row, inp in zip(rows, inputs)))
    return tuple(jacobian)


def _jacobian_columns(outputs, inputs, keep_graph: bool):
    """``J[i][k]`` built as forward mode builds it, one Jacobian-vector product per input
    element, with zero tangents on the other inputs (a vector-Jacobian product differentiated
    with respect to its vector), so its zeros carry forward mode's signs (``cos(x_i) * 0`` in
    row i, not column j)."""
    from .. import stack

    jacobian = []
    for out in outputs:
        u = _creation.zeros_like(out).requires_grad_()
        vjps = _autograd_grad((out,), inputs, (u,), create_graph=True)
        # (indices, not identity: two inputs of an add share one vjp tensor)
        live = [(i, v, inp) for i, (v, inp) in enumerate(zip(vjps, inputs))
                if v is not None and v.requires_grad]
        blocks = []
        for k, inp in enumerate(inputs):
            shape = out.size() + inp.size()
            if vjps[k] is None or not vjps[k].requires_grad:
                blocks.append(_creation.zeros(shape, dtype=out.dtype, device=out.device))
                continue
            basis = _creation.eye(inp.nelement(), dtype=inp.dtype, device=inp.device)
            columns = []
            for j in range(inp.nelement()):
                tangents = tuple(basis[j].view(inp.size()) if i == k
                                 else _creation.zeros_like(other) for i, _, other in live)
                (column,) = _grad(tuple(v for _, v, _ in live), (u,), tangents,
                                  retain_graph=True, create_graph=keep_graph, allow_unused=True)
                columns.append(_creation.zeros_like(out) if column is None else column)
            blocks.append(stack(columns, dim=-1).view(shape) if columns
                          else _creation.zeros(shape, dtype=out.dtype, device=out.device))
        jacobian.append(tuple(blocks))
    return tuple(jacobian)


def _jacobian_forward(func, inputs, strict: bool, vectorize: bool):
    """``strategy="forward-mode"``: PyTorch's checks and result layout (lists, where the
    reverse mode gives tuples), built column by column as forward mode builds it."""
    if strict:
        raise RuntimeError(f'{_JAC}: `strict=True` and `strategy="forward-mode"` are not '
                           "supported together (yet). Please either set `strict=False` or "
                           '`strategy="reverse-mode"`.')
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian isonly implemented for `vectorize=True`.")
    # Forward mode pushes tangents through the caller's tensors, so the result stays
    # differentiable with respect to any input that requires grad.
    keep_graph = any(inp.requires_grad for inp in inputs)
    with enable_grad():
        inputs = _grad_preprocess(inputs, create_graph=keep_graph, need_graph=True)
        is_outputs_tuple, outputs = _run(func, inputs, "jacobian", False)
        jac = _jacobian_columns(outputs, inputs, keep_graph)
    jac = [list(row) for row in _grad_postprocess(jac, keep_graph)]
    return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output ``i`` and input ``j`` a Tensor of
    shape ``output_i.shape + input_j.shape``, nested as a tuple of tuples when the outputs and
    inputs were tuples. ``vectorize`` and ``strategy`` are checked as in PyTorch; the numbers
    are the same either way (see the module note).

    Example:
        >>> x = ember.tensor([1.0, 2.0])
        >>> jacobian(lambda x: x.sin(), x)     # == ember.diag(x.cos())
        tensor([[ 0.5403, -0.0000],
                [ 0.0000, -0.4161]])
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, '
                             '"forward-mode" tends to be more performant. Otherwise, prefer to '
                             'use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(f'{_JAC}: `create_graph=True` and `strategy="forward-'
                                      'mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacobian_forward(func, inputs, strict, vectorize)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _run(func, inputs, "jacobian", strict)
        if vectorize and strict:
            raise RuntimeError(f"{_JAC}: `strict=True` and `vectorized=True` are not supported "
                               "together. Please either set `strict=False` or "
                               "`vectorize=False`.")
        jac = _jacobian_rows(outputs, inputs, create_graph, strict)
    jac = _grad_postprocess(jac, create_graph)
    return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of scalar-valued ``func`` at ``inputs``: the Jacobian of its gradient.
    For inputs ``i`` and ``j`` a Tensor of shape ``input_i.shape + input_j.shape``, nested
    as a tuple of tuples when the inputs were a tuple.

    Example:
        >>> hessian(lambda x: (x ** 3).sum(), ember.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*inp):
        return _scalar_function_outputs(func, inp, "hessian", strict)[0].squeeze()

    def jac_func(*inp):
        jac = jacobian(scalar_func, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))
