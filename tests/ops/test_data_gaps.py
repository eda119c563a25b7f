"""Gaps found by the tensor-API tour programs (tests/programs/data_*.py), against torch:
range checks when a Python number is written into a tensor, ``cov`` of one variable, and the
node name ``cdist`` prints."""

import numpy as np
import pytest

import ember

FILLS = [
    ("uint8", -1), ("uint8", -255), ("uint8", -256), ("uint8", 255.5), ("uint8", -0.5),
    ("uint8", 300), ("int8", 127.9), ("int8", -128), ("int8", 128), ("int8", 2.7),
    ("int8", float("nan")), ("int32", 2**32 - 1), ("int16", -32768), ("uint16", -1),
    ("float32", 1e39), ("float32", float("inf")), ("float16", 1e6), ("bfloat16", 1e39),
    ("float64", 1e300), ("float32", 1 + 1j), ("float64", 2 - 1j), ("int64", 1 + 0j),
    ("uint8", 3 + 0j), ("float16", 1 + 1j), ("bool", 1 + 1j), ("int8", 2**63), ("int64", 2**63),
    ("float32", 2**63), ("complex64", 1 + 2j),
]


def _write(lib, how, dtype, value, n):
    """The ``n``-element tensor after writing ``value`` one way, or the exception's type and
    message (torch range-checks a one-element ``fill_`` less: half rounds to inf there)."""
    dt = getattr(lib, dtype)
    mask = lib.arange(n) == n - 1
    try:
        if how == "fill_":
            out = lib.zeros(n, dtype=dt).fill_(value)
        elif how == "masked_fill":
            out = lib.zeros(n, dtype=dt).masked_fill(mask, value)
        elif how == "setitem":
            out = lib.zeros(n, dtype=dt)
            out[0] = value
        else:  # a boolean-mask write
            out = lib.zeros(n, dtype=dt)
            out[mask] = value
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return type(e).__name__, str(e)
    return out.float().tolist() if dtype == "bfloat16" else out.tolist()


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("how", ["fill_", "masked_fill", "setitem", "mask_setitem"])
@pytest.mark.parametrize("dtype,value", FILLS)
def test_writing_a_number_checks_its_range_as_torch(torch, how, dtype, value, n):
    expected = _write(torch, how, dtype, value, n)
    got = _write(ember, how, dtype, value, n)
    if isinstance(expected, list) and any(v != v for v in expected):
        assert str(got) == str(expected)  # NaN compares unequal to itself
    else:
        assert got == expected


def test_fill_with_a_tensor_value_casts_like_a_tensor(torch):
    for lib in (torch, ember):
        assert lib.zeros(2, dtype=lib.int8).fill_(lib.tensor(300)).tolist() == [44, 44]
        assert lib.zeros(1, dtype=lib.uint8).fill_(lib.tensor(-1)).tolist() == [255]


@pytest.mark.parametrize("data", [[[0., 1., 2.]], [0., 1., 2.], [[0., 1., 2.], [2., 1., 4.]]])
def test_cov_of_one_variable_is_0d(torch, data):
    for fn in ("cov", "corrcoef"):
        got = getattr(ember, fn)(ember.tensor(data))
        expected = getattr(torch, fn)(torch.tensor(data))
        assert tuple(got.shape) == tuple(expected.shape)
        assert got.flatten().tolist() == pytest.approx(expected.flatten().tolist())
    weighted = dict(correction=0, fweights=[1, 2, 1], aweights=[0.5, 1., 1.])
    got = ember.cov(ember.tensor(data), **{k: ember.tensor(v) if isinstance(v, list) else v
                                          for k, v in weighted.items()})
    expected = torch.cov(torch.tensor(data), **{k: torch.tensor(v) if isinstance(v, list)
                                               else v for k, v in weighted.items()})
    assert tuple(got.shape) == tuple(expected.shape)


@pytest.mark.parametrize("rows,p,mode", [
    (3, 2.0, "use_mm_for_euclid_dist_if_necessary"), (26, 2.0,
                                                      "use_mm_for_euclid_dist_if_necessary"),
    (3, 2.0, "use_mm_for_euclid_dist"), (30, 2.0, "donot_use_mm_for_euclid_dist"),
    (30, 1.0, "use_mm_for_euclid_dist_if_necessary"), (3, float("inf"),
                                                        "use_mm_for_euclid_dist"),
])
def test_cdist_node_name(torch, rows, p, mode):
    names = []
    for lib in (torch, ember):
        a = lib.ones(rows, 3, requires_grad=True)
        b = lib.zeros(2, 3)
        names.append(lib.cdist(a, b, p=p, compute_mode=mode).grad_fn.name())
    assert names[1] == names[0]


def test_cdist_gradient_unchanged_by_the_name(torch):
    grads = []
    for lib in (torch, ember):
        a = lib.tensor([[0., 0.], [1., 2.]], requires_grad=True)
        lib.cdist(a, lib.tensor([[1., 1.], [3., 3.]])).sum().backward()
        grads.append(a.grad.flatten().tolist())
    assert grads[1] == pytest.approx(grads[0])


# -- output layouts: ops torch writes row-major (or channels_last when the input is) ---------

LAYOUTS = {
    "transposed": lambda L: L.arange(12.).reshape(3, 4).t(),
    "channels_last": lambda L: L.arange(48.).reshape(2, 2, 3, 4).contiguous(
        memory_format=L.channels_last),
    "sliced": lambda L: L.arange(24.).reshape(2, 3, 4)[:, ::2],
    "permuted": lambda L: L.arange(24.).reshape(2, 3, 4).permute(2, 0, 1),
}
LAYOUT_OPS = {
    "cumsum": lambda L, x: x.cumsum(0), "cumprod": lambda L, x: x.cumprod(-1),
    "logcumsumexp": lambda L, x: x.logcumsumexp(-1), "sum_keepdim": lambda L, x: x.sum(
        0, keepdim=True), "sum": lambda L, x: x.sum(-1), "mean": lambda L, x: x.mean(0),
    "var": lambda L, x: x.var(0, keepdim=True), "std": lambda L, x: x.std(-1),
    "norm": lambda L, x: x.norm(dim=0, keepdim=True), "amax": lambda L, x: x.amax(
        -1, keepdim=True), "masked_fill": lambda L, x: x.masked_fill(x > 3, 0.),
    "tril": lambda L, x: x.tril(), "triu": lambda L, x: x.triu(1),
    "cat": lambda L, x: L.cat([x, x]), "cat_last": lambda L, x: L.cat([x, x], -1),
    "cat_mixed": lambda L, x: L.cat([x, x.contiguous()]), "stack": lambda L, x: L.stack([x, x]),
    "flip": lambda L, x: x.flip(0), "flip_last": lambda L, x: x.flip(-1),
    "roll": lambda L, x: x.roll(1, 0), "roll_flat": lambda L, x: x.roll(1),
    "gather": lambda L, x: x.gather(0, L.zeros_like(x, dtype=L.long)),
    "take_along_dim": lambda L, x: L.take_along_dim(x, L.zeros_like(x, dtype=L.long), 0),
    "index_select": lambda L, x: x.index_select(0, L.tensor([1, 0])),
    "narrow_copy": lambda L, x: x.narrow_copy(0, 0, 1),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("op", LAYOUT_OPS)
def test_output_layout_matches_torch(torch, op, layout):
    got = LAYOUT_OPS[op](ember, LAYOUTS[layout](ember))
    expected = LAYOUT_OPS[op](torch, LAYOUTS[layout](torch))
    # strides of size-1 dims are arbitrary (NumPy and torch pick differently); the rest count
    sized = [i for i, n in enumerate(expected.shape) if n > 1]
    assert [got.stride(i) for i in sized] == [expected.stride(i) for i in sized]
    assert got.is_contiguous() == expected.is_contiguous()
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_view_after_a_row_major_op_works_as_in_torch():
    t = ember.arange(12.).reshape(3, 4).t()
    assert t.cumsum(0).view(-1).shape == (12,)
    assert t.masked_fill(t > 3, 0.).view(-1).shape == (12,)
    assert ember.cat([t, t]).view(-1).shape == (24,)
    cl = ember.ones(2, 2, 3, 4).contiguous(memory_format=ember.channels_last)
    assert cl.sum(1, keepdim=True).view(-1).shape == (24,)
    assert cl.tril().view(-1).shape == (48,)
