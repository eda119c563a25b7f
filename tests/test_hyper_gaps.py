"""Gaps found while writing the conditioning / hypernetwork programs (tests/programs/hyper_*.py),
each checked against PyTorch: a parametrization appended to an existing chain may have a
``right_inverse`` that raises ``NotImplementedError`` (torch skips its inverse check then); the
node a printed tensor shows for ``nn.Bilinear`` with a bias (AddBackward0), for ``linear`` and
the matmul family under ``vmap`` (an ensemble's or a hypernetwork's generated weights through
``functional_call``: the last op of torch's batching rule, on ember's loop and batched paths
alike), for a weight-normed weight (WeightNormInterfaceBackward0), for ``reshape`` of a
non-contiguous input that can be a view (ReshapeAliasBackward0) and for
``householder_product``."""

import pytest
import torch

import ember


def _stack_without_inverse(lib):
    P = lib.nn.utils.parametrize

    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    class MatrixExponential(lib.nn.Module):
        def forward(self, X):
            return lib.matrix_exp(X)

        def right_inverse(self, A):
            raise NotImplementedError("no matrix logarithm")

    lib.manual_seed(0)
    layer = lib.nn.Linear(3, 3)
    P.register_parametrization(layer, "weight", Symmetric())
    P.register_parametrization(layer, "weight", MatrixExponential())
    try:
        layer.weight = lib.eye(3)
    except NotImplementedError as e:
        error = str(e)
    return len(layer.parametrizations.weight), [round(v, 4) for v in layer.weight.flatten().tolist()], error


def test_appended_parametrization_may_lack_an_inverse():
    assert _stack_without_inverse(ember) == _stack_without_inverse(torch)


def _bilinear_node(lib, lead, bias):
    lib.manual_seed(0)
    layer = lib.nn.Bilinear(4, 3, 2, bias=bias)
    out = layer(lib.randn(*lead, 4), lib.randn(*lead, 3))
    out.sum().backward()
    return (out.grad_fn.name(), [round(v, 4) for v in out.flatten().tolist()],
            [round(v, 4) for v in layer.weight.grad.flatten().tolist()])


@pytest.mark.parametrize("lead", [(), (2,), (3, 2)])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_adds_its_bias_last(lead, bias):
    # conditioning layers print nn.Bilinear's output: torch's node is AddBackward0 with a bias
    assert _bilinear_node(ember, lead, bias) == _bilinear_node(torch, lead, bias)


def _vmapped_linear_node(lib, size, rank, bias, mapped):
    """The node of ``vmap(F.linear)``'s result, for a per-element input of ``rank`` dims and
    ``mapped`` naming which of input, weight, bias are mapped."""
    lib.manual_seed(0)
    x_shape = (6, 5, 4)[3 - rank:]
    shapes = [x_shape, (2, 4)] + ([(2,)] if bias else [])
    args = [lib.randn(*((size,) + s if m else s), requires_grad=True)
            for s, m in zip(shapes, mapped)]
    dims = tuple(0 if m else None for m in mapped[:len(shapes)])
    out = lib.vmap(lib.nn.functional.linear, in_dims=dims)(*args)
    return out.grad_fn.name(), [round(v, 4) for v in out.flatten().tolist()[:6]]


@pytest.mark.parametrize("size", [3, 10])  # ember's loop and its batched path
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("bias,mapped", [
    (True, (1, 1, 1)), (True, (0, 1, 1)), (True, (1, 0, 0)), (True, (0, 0, 1)),
    (False, (1, 0)), (False, (0, 1)), (False, (1, 1))])
def test_vmapped_linear_ends_in_torchs_node(size, rank, bias, mapped):
    # an ensemble or a hypernetwork's generated weights through vmap(functional_call(...)):
    # printing the result shows torch's node, AddBackward0 for a Linear with a bias
    got = _vmapped_linear_node(ember, size, rank, bias, mapped)
    assert got == _vmapped_linear_node(torch, size, rank, bias, mapped)


@pytest.mark.parametrize("size", [3, 10])
def test_vmapped_einsum_and_bilinear_end_in_torchs_node(size):
    def nodes(lib):
        lib.manual_seed(0)
        a = lib.randn(size, 5, 4, requires_grad=True)
        b = lib.randn(4, 2)
        einsum = lib.vmap(lambda u: lib.einsum("ij,jk->ik", u, b))(a)
        bilinear = lib.vmap(lib.nn.functional.bilinear, in_dims=(0, 0, None, None))(
            a, lib.randn(size, 5, 3), lib.randn(2, 4, 3), lib.randn(2))
        return einsum.grad_fn.name(), bilinear.grad_fn.name()

    assert nodes(ember) == nodes(torch)


_MATMUL_SHAPES = {1: ((4,), (4,)), 2: ((5, 4), (4, 2)), 3: ((3, 5, 4), (3, 4, 2))}


def _vmapped_matmul_node(lib, size, op, ranks, mapped):
    lib.manual_seed(0)
    shapes = (_MATMUL_SHAPES[ranks[0]][0], _MATMUL_SHAPES[ranks[1]][1])
    args = [lib.randn(*((size,) + s if m else s), requires_grad=True)
            for s, m in zip(shapes, mapped)]
    out = lib.vmap(getattr(lib, op), in_dims=tuple(0 if m else None for m in mapped))(*args)
    return out.grad_fn.name(), [round(v, 4) for v in out.flatten().tolist()[:6]]


_MATMUL_CASES = [("matmul", (ra, rb)) for ra in (1, 2, 3) for rb in (1, 2, 3)] + [
    ("mm", (2, 2)), ("bmm", (3, 3)), ("mv", (2, 1)), ("dot", (1, 1))]


@pytest.mark.parametrize("size", [3, 10])
@pytest.mark.parametrize("op,ranks", _MATMUL_CASES)
@pytest.mark.parametrize("mapped", [(1, 0), (0, 1), (1, 1)])
def test_vmapped_matmul_family_ends_in_torchs_node(size, op, ranks, mapped):
    got = _vmapped_matmul_node(ember, size, op, ranks, mapped)
    assert got == _vmapped_matmul_node(torch, size, op, ranks, mapped)


@pytest.mark.parametrize("size", [3, 10])
@pytest.mark.parametrize("mapped", [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)])
def test_vmapped_addmm_ends_in_add(size, mapped):
    def node(lib):
        lib.manual_seed(0)
        shapes = [(5, 2), (5, 4), (4, 2)]
        args = [lib.randn(*((size,) + s if m else s), requires_grad=True)
                for s, m in zip(shapes, mapped)]
        out = lib.vmap(lib.addmm, in_dims=tuple(0 if m else None for m in mapped))(*args)
        return out.grad_fn.name(), [round(v, 4) for v in out.flatten().tolist()[:6]]

    assert node(ember) == node(torch)


def _weight_norm_node(lib, shape, dim, dtype, hook_based):
    import warnings

    lib.manual_seed(0)
    layer = lib.nn.Module()
    layer.weight = lib.nn.Parameter(lib.randn(*shape).to(getattr(lib, dtype)))
    if hook_based:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            lib.nn.utils.weight_norm(layer, dim=dim)
    else:
        lib.nn.utils.parametrizations.weight_norm(layer, dim=dim)
    w = layer.weight
    return w.grad_fn.name(), [round(v, 3) for v in w.float().flatten().tolist()[:6]]


@pytest.mark.parametrize("hook_based", [False, True])
@pytest.mark.parametrize("shape,dim,dtype", [
    ((3, 4), 0, "float32"), ((3, 4), 1, "float32"), ((3, 4), None, "float32"),
    ((3, 4), -2, "float32"), ((4, 2, 3, 3), 0, "float32"), ((4, 2, 3, 3), 1, "float32"),
    ((4, 2, 3, 3), 3, "float32"), ((5,), 0, "float64"), ((3, 4), 0, "bfloat16")])
def test_weight_norm_weight_has_torchs_node(hook_based, shape, dim, dtype):
    # print(layer.weight) of a weight-normed layer shows WeightNormInterfaceBackward0 in torch
    got = _weight_norm_node(ember, shape, dim, dtype, hook_based)
    assert got == _weight_norm_node(torch, shape, dim, dtype, hook_based)


_RESHAPES = {
    "contiguous": lambda h: h.reshape(2, 24),
    "sliced columns": lambda h: h[:, :4].reshape(2, 2, 2, 2),
    "strided rows": lambda h: h[::2].reshape(2, 3, 4),
    "transposed, same shape": lambda h: h.t().reshape(12, 4),
    "transposed, copied": lambda h: h.t().reshape(48),
    "expanded": lambda h: h[:1].expand(3, 12).reshape(3, 3, 4),
    "flatten of a transpose": lambda h: h.t()[:, :, None].flatten(1),
    "unflatten, non-contiguous": lambda h: h[:, :4].unflatten(1, (2, 2)),
    "view, non-contiguous": lambda h: h[::2].view(2, 3, 4),
}


@pytest.mark.parametrize("case", list(_RESHAPES))
def test_reshape_of_a_non_contiguous_view_is_reshape_alias(case):
    # a hypernetwork's output sliced into weights and reshaped prints ReshapeAliasBackward0
    def node(lib):
        lib.manual_seed(0)
        h = lib.randn(4, 12, requires_grad=True)
        out = _RESHAPES[case](h)
        out.sum().backward()
        return out.grad_fn.name(), out.is_contiguous(), h.grad.sum().item()

    assert node(ember) == node(torch)


@pytest.mark.parametrize("shape,k", [((3, 3), 2), ((4, 2), 2), ((2, 4, 3), 3)])
@pytest.mark.parametrize("fn", ["linalg.householder_product", "orgqr"])
def test_householder_product_has_torchs_node(shape, k, fn):
    # orthogonal(..., orthogonal_map="householder") users print the product
    def node(lib):
        lib.manual_seed(0)
        A = lib.randn(*shape, requires_grad=True)
        tau = lib.rand(*shape[:-2], k, requires_grad=True)
        f = lib.linalg.householder_product if fn.startswith("linalg") else lib.orgqr
        out = f(A, tau)
        out.sum().backward()
        return out.grad_fn.name(), [round(v, 4) for v in A.grad.flatten().tolist()]

    assert node(ember) == node(torch)
