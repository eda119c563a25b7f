"""Gaps found while writing the energy-based-model programs (tests/programs/ebm_*.py), each
checked against PyTorch."""

import pytest
import torch

import ember


def _error(fn):
    with pytest.raises(RuntimeError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool"])
@pytest.mark.parametrize("call", [
    lambda t: t.clamp_(max=2.5), lambda t: t.clamp_(0.5, 3), lambda t: t.clip_(min=0.5),
    lambda t: t.clamp_min_(0.5), lambda t: t.clamp_max_(2.5),
])
def test_inplace_clamp_with_float_number_names_cpp_type(dtype, call):
    # torch's in-place clamp with number bounds says "output type long int", not "Long"
    mine = _error(lambda: call(ember.tensor([1, 0], dtype=getattr(ember, dtype))))
    theirs = _error(lambda: call(torch.tensor([1, 0], dtype=getattr(torch, dtype))))
    assert mine == theirs


def test_inplace_clamp_with_tensor_bound_keeps_scalar_type_name():
    mine = _error(lambda: ember.tensor([1, 5]).clamp_(ember.tensor(0.5)))
    theirs = _error(lambda: torch.tensor([1, 5]).clamp_(torch.tensor(0.5)))
    assert mine == theirs
    kept = ember.tensor([1, 5]).clamp_(min=1, max=3)
    assert kept.tolist() == torch.tensor([1, 5]).clamp_(min=1, max=3).tolist()


def _linear_node_names(lib):
    gen = torch.Generator().manual_seed(0)
    weight = lib.tensor(torch.randn(2, 3, generator=gen).numpy(), requires_grad=True)
    bias = lib.tensor(torch.randn(2, generator=gen).numpy(), requires_grad=True)
    names = []
    for shape in [(3,), (5, 3), (2, 5, 3), (2, 2, 5, 3), (0, 2, 3)]:
        x = lib.zeros(shape)
        names += [lib.nn.functional.linear(x, weight, bias).grad_fn.name(),
                  lib.nn.functional.linear(x, weight).grad_fn.name()]
    strided = lib.zeros(5, 2, 3).transpose(0, 1)  # not contiguous: matmul, then add_
    names += [lib.nn.functional.linear(strided, weight, bias).grad_fn.name(),
              lib.nn.functional.linear(strided, weight).grad_fn.name()]
    return names


def test_linear_output_node_names_follow_input_rank():
    # an energy head on a vector or a (batch, seq, features) input: torch's output ends in a
    # view of its addmm (or matmul's squeeze_/_unsafe_view), which print(tensor) shows
    assert _linear_node_names(ember) == _linear_node_names(torch)


def _vmap_loop_node_names(lib):
    class Square(lib.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            return x ** 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            return 2 * ctx.saved_tensors[0] * grad

    x = lib.ones(3, 2, requires_grad=True)  # 3 elements: ember's vmap takes its loop
    w = lib.ones(2, requires_grad=True)
    fns = [Square.apply, lambda t: t * w, lambda t: (t * w).exp(), lambda t: t.sum(),
           lambda t: t.mean(), lambda t: t.max(), lambda t: Square.apply(t) + 1,
           lambda t: torch_like_softplus(lib, t)]
    names = [lib.func.vmap(f)(x).grad_fn.name() for f in fns]
    names.append(lib.func.vmap(lib.func.vmap(Square.apply))(x[None]).grad_fn.name())
    out = lib.func.vmap(Square.apply)(x)
    out.sum().backward()
    return names, x.grad.tolist()


def torch_like_softplus(lib, t):
    return lib.nn.functional.softplus(t, beta=2.0)


def test_vmap_loop_output_names_its_batched_node():
    # vmap over a custom Function (generate_vmap_rule) prints grad_fn=<VmappedNameBackward>,
    # and a small batch's output names the op, not the loop's StackBackward0
    assert _vmap_loop_node_names(ember) == _vmap_loop_node_names(torch)
