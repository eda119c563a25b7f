"""Gaps found while writing the mixture-of-experts programs (tests/programs/moe_*.py), each
checked against PyTorch: ``F.grouped_mm``/``torch._grouped_mm`` (torchtitan-style expert
GEMMs over tokens sorted by expert, cut by int32 end offsets) in its four operand forms, with
gradients, its node name and its argument errors."""

import numpy as np
import pytest
import torch

import ember

_OFFS = [3, 5, 9, 12]


def _grouped(lib, form, dtype="float32"):
    rng = np.random.default_rng(0)
    shapes = {"2d3d": ((12, 8), (4, 8, 16)), "3d2d": ((4, 3, 8), (8, 12)),
              "2d2d": ((8, 12), (12, 16)), "3d3d": ((4, 3, 8), (4, 8, 16))}[form]
    a = lib.tensor(rng.normal(size=shapes[0]).astype(dtype), requires_grad=True)
    b = lib.tensor(rng.normal(size=shapes[1]).astype(dtype), requires_grad=True)
    offs = None if form == "3d3d" else lib.tensor(_OFFS, dtype=lib.int32)
    out = lib.nn.functional.grouped_mm(a, b, offs=offs)
    w = lib.tensor(rng.normal(size=tuple(out.shape)).astype(dtype))
    (out * w).sum().backward()
    private = lib._grouped_mm(a.detach(), b.detach(), offs)
    return (out.detach().float().numpy(), a.grad.float().numpy(), b.grad.float().numpy(),
            out.grad_fn.name(), str(out.dtype), private.float().numpy())


@pytest.mark.parametrize("form", ["2d3d", "3d2d", "2d2d", "3d3d"])
def test_grouped_mm_matches_torch(form):
    mine, theirs = _grouped(ember, form), _grouped(torch, form)
    for m, t in zip(mine[:3] + mine[5:], theirs[:3] + theirs[5:]):
        np.testing.assert_allclose(m, t, rtol=1e-5, atol=1e-5)
    assert mine[3:5] == theirs[3:5]


def _grouped_errors(lib):
    F, i32 = lib.nn.functional, lib.int32
    offs = lib.tensor(_OFFS, dtype=i32)
    cases = [
        lambda: F.grouped_mm(lib.ones(12, 6), lib.ones(4, 6, 8), offs=offs),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(3, 8, 8), offs=offs),
        lambda: F.grouped_mm(lib.ones(12, 8, dtype=lib.int64), lib.ones(4, 8, 8), offs=offs),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(4, 8, 8, dtype=lib.float64), offs=offs),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(4, 8, 8)),
        lambda: F.grouped_mm(lib.ones(4, 3, 8), lib.ones(4, 8, 8), offs=offs),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(4, 8, 8), offs=offs.long()),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(4, 8, 8), offs=offs[None]),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(4, 4, 8), offs=offs),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(8), offs=offs),
        lambda: F.grouped_mm(lib.ones(4, 3, 8), lib.ones(4, 8, 8), out_dtype=lib.bfloat16),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(4, 8, 8), offs=offs, bias=lib.ones(4, 8)),
        lambda: F.grouped_mm(lib.ones(12, 8), lib.ones(4, 8, 8, dtype=lib.bfloat16), offs=offs),
    ]
    out = []
    for case in cases:
        try:
            case()
            out.append(None)
        except RuntimeError as e:
            out.append(str(e))
    return out


def test_grouped_mm_errors_match_torch():
    assert _grouped_errors(ember) == _grouped_errors(torch)


def test_grouped_mm_bfloat16_and_half():
    for dtype in ("bfloat16", "float16"):
        results = []
        for lib in (ember, torch):
            rng = np.random.default_rng(1)
            dt = getattr(lib, dtype)
            a = lib.tensor(rng.normal(size=(12, 8)).astype("float32")).to(dt)
            b = lib.tensor(rng.normal(size=(4, 8, 8)).astype("float32")).to(dt)
            out = lib.nn.functional.grouped_mm(a, b, offs=lib.tensor(_OFFS, dtype=lib.int32))
            results.append((str(out.dtype), out.float().numpy()))
        assert results[0][0] == results[1][0]
        np.testing.assert_allclose(results[0][1], results[1][1], rtol=2e-2, atol=5e-2)


def _sort_orders(lib, shape, dim, dtype, descending, stable, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, shape).astype(dtype)
    if dtype.startswith("float"):
        x[rng.random(shape) < 0.1] = np.nan
    t = lib.tensor(x)
    out = t.sort(dim=dim, descending=descending, stable=stable)
    return (out.indices.numpy(), out.values.numpy(),
            lib.argsort(t, dim=dim, descending=descending, stable=stable).numpy())


@pytest.mark.parametrize("shape,dim", [((100,), 0), ((40, 30), 0), ((3, 50, 20), 1),
                                       ((17,), 0), ((12000,), 0)])
@pytest.mark.parametrize("dtype", ["int64", "float32", "bool"])
@pytest.mark.parametrize("descending", [False, True])
def test_unstable_sort_orders_ties_as_torch(shape, dim, dtype, descending):
    """torch's default (``stable=False``) CPU sort is ``std::sort``: among equal values past
    16 elements the indices are not in input order, and MoE dispatch code built on
    ``nonzero(gates).sort(0)`` or ``argsort(expert_ids)`` depends on that order. A 1-D
    integer ascending sort of 32768+ elements is torch's radix sort, which is stable."""
    for stable in (False, True):
        mine = _sort_orders(ember, shape, dim, dtype, descending, stable)
        theirs = _sort_orders(torch, shape, dim, dtype, descending, stable)
        for m, t in zip(mine, theirs):
            np.testing.assert_array_equal(m, t)


def test_long_integer_ascending_sort_is_torchs_stable_radix_sort():
    # 1-D integer ascending from 32768 elements: torch's radix sort, stable like ember's
    mine = _sort_orders(ember, (40000,), 0, "int64", False, False)
    theirs = _sort_orders(torch, (40000,), 0, "int64", False, False)
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m, t)


def test_sparse_dispatcher_batch_index_matches_torch():
    """The davidmrau/mixture-of-experts ``SparseDispatcher``: rows of ``nonzero(gates)``
    sorted by expert with the default sort."""
    def batch_index(lib):
        rng = np.random.default_rng(3)
        gates = rng.random((64, 6)) * (rng.random((64, 6)) < 0.35)
        nz = lib.nonzero(lib.tensor(gates))
        _, index_sorted = nz.sort(0)
        return nz[index_sorted[:, 1], 0].tolist()

    assert batch_index(ember) == batch_index(torch)


def test_nanmedian_ties_keep_torch_indices():
    """nanmedian sorts internally; the unstable public sort must not change which of tied
    medians it names."""
    def run(lib):
        rng = np.random.default_rng(0)
        x = rng.integers(0, 3, (4, 40)).astype("float32")
        x[0, ::5] = np.nan
        out = lib.tensor(x).nanmedian(dim=1)
        return out.values.tolist(), out.indices.tolist(), lib.tensor(x).msort()[:, 1].tolist()

    assert run(ember) == run(torch)


def _mixed_dtype_message(lib, fn, sa, sb):
    try:
        fn(lib)(lib.ones(sa), lib.ones(sb, dtype=lib.float64))
    except RuntimeError as e:
        return str(e).split(". ")[0].split(".")[0]
    return None


@pytest.mark.parametrize("eq,sa,sb", [
    ("sec,ecm->sm", (10, 4, 10), (4, 10, 16)), ("sec,ecm->sm", (2, 3, 4), (3, 4, 5)),
    ("ij,jk->ik", (5, 3), (3, 7)), ("ij,jk->ik", (50, 3), (3, 7)),
    ("bij,bjk->bik", (2, 50, 3), (2, 3, 7)), ("sec,sm->ecm", (10, 4, 3), (10, 8)),
    ("i,i->", (500,), (500,))])
def test_einsum_mixed_dtype_message_order_matches_torch(eq, sa, sb):
    """A float32 combine tensor against float64 expert outputs (a MoE combine einsum): torch's
    bmm names the dtypes in one order on its naive loop (< 400 multiply-adds per batch) and
    in the other on its BLAS path."""
    def fn(lib):
        return lambda a, b: lib.einsum(eq, a, b)

    assert _mixed_dtype_message(ember, fn, sa, sb) == _mixed_dtype_message(torch, fn, sa, sb)


@pytest.mark.parametrize("sa,sb", [((1, 2, 3), (1, 3, 2)), ((1, 20, 3), (1, 3, 20)),
                                   ((3, 7, 8), (3, 8, 7))])
def test_bmm_mixed_dtype_message_order_matches_torch(sa, sb):
    for fn in (lambda lib: lib.bmm, lambda lib: lib.matmul):
        assert _mixed_dtype_message(ember, fn, sa, sb) == _mixed_dtype_message(torch, fn, sa, sb)
