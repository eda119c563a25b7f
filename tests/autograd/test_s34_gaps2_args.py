"""autograd.grad / autograd.backward argument errors as torch 2.13 raises them (type and text),
checked before any graph is walked."""

import pytest

import ember


def _outcome(lib, call):
    a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (a * 2).sum()
    try:
        out = call(lib, a, y)
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e).__name__, str(e)
    if isinstance(out, tuple):
        return "ok", [None if g is None else g.tolist() for g in out]
    return "ok", None if a.grad is None else a.grad.tolist()


CASES = {
    "grad_inputs_None": lambda T, a, y: T.autograd.grad(y, None),
    "grad_inputs_int": lambda T, a, y: T.autograd.grad(y, 3),
    "grad_inputs_empty": lambda T, a, y: T.autograd.grad(y, []),
    "grad_inputs_float": lambda T, a, y: T.autograd.grad(y, [1.0]),
    "grad_inputs_mixed": lambda T, a, y: T.autograd.grad(y, [a, "x"]),
    "grad_inputs_None_elem": lambda T, a, y: T.autograd.grad(y, [None]),
    "grad_outputs_None": lambda T, a, y: T.autograd.grad(None, a),
    "grad_outputs_float_elem": lambda T, a, y: T.autograd.grad((1.0,), a),
    "grad_outputs_None_elem": lambda T, a, y: T.autograd.grad((y, None), a),
    "grad_go_float": lambda T, a, y: T.autograd.grad([y], a, grad_outputs=[2.0]),
    "grad_go_str": lambda T, a, y: T.autograd.grad([y], a, grad_outputs=["s"]),
    "grad_go_too_few": lambda T, a, y: T.autograd.grad([y, y * 2], a,
                                                       grad_outputs=[T.ones(())]),
    "grad_go_none_given": lambda T, a, y: T.autograd.grad([y, y * 2], a, grad_outputs=[]),
    # torch zips: extra gradients (whatever they are) are ignored
    "grad_go_extra": lambda T, a, y: T.autograd.grad([y], a, grad_outputs=[T.ones(()), 3]),
    "grad_order_len_before_inputs": lambda T, a, y: T.autograd.grad(
        [y, y], [1.0], grad_outputs=[T.ones(())]),
    "grad_order_type_before_len": lambda T, a, y: T.autograd.grad(
        [y, y], [a], grad_outputs=[2.0]),
    "grad_order_outputs_first": lambda T, a, y: T.autograd.grad(
        [None, y], [a], grad_outputs=[T.ones(())]),
    "grad_input_needs_no_grad": lambda T, a, y: T.autograd.grad(y, T.ones(3)),
    "bw_inputs_empty": lambda T, a, y: y.backward(inputs=[]),
    "bw_inputs_float": lambda T, a, y: y.backward(inputs=[1.0]),
    "bw_inputs_None_elem": lambda T, a, y: y.backward(inputs=[a, None]),
    "bw_inputs_needs_no_grad": lambda T, a, y: y.backward(inputs=[T.ones(3)]),
    "bw_tensors_float": lambda T, a, y: T.autograd.backward([1.0]),
    "bw_tensors_None_elem": lambda T, a, y: T.autograd.backward((y, None)),
    "bw_go_float": lambda T, a, y: T.autograd.backward([y], grad_tensors=[1.0]),
    "bw_go_too_few": lambda T, a, y: T.autograd.backward([y, y], grad_tensors=[T.ones(())]),
    "bw_go_extra": lambda T, a, y: T.autograd.backward([y], grad_tensors=[T.ones(()), "x"]),
    "bw_method_list": lambda T, a, y: y.backward([2.0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_argument_errors_match_torch(torch, name):
    assert _outcome(ember, CASES[name]) == _outcome(torch, CASES[name])


def test_a_refused_call_leaves_the_graph_usable():
    # the length check runs before the walk, so the graph is not freed by the failed call
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        ember.autograd.grad([y, y], a, grad_outputs=[ember.ones(())])
    (g,) = ember.autograd.grad(y, a)
    assert g.tolist() == [2.0, 4.0]
