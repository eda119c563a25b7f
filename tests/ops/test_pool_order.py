"""Average pooling bit for bit as PyTorch's CPU kernels (issue 13).

PyTorch adds each window's elements in row-major order to a zero and divides once
(``avg_pool``) or by the window's length along each axis in turn (adaptive pooling:
``sum / kh / kw``; its 2-d channels_last kernel divides the channels that fill whole vectors by
``kh * kw`` at once). Its backward kernels add each output's share to the window elements
output after output, in row-major order. These tests compare the bits, forward and backward,
on data spanning many orders of magnitude (where a different order or division shows).
"""

import numpy as np
import pytest

import ember

CASES = [  # (function, positional args, keyword args, input shape)
    ("avg_pool2d", (3,), {"stride": 1, "padding": 1}, (2, 12, 9, 9)),
    ("avg_pool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 12, 9, 9)),
    ("avg_pool2d", (3,), {"stride": 2, "ceil_mode": True}, (2, 12, 10, 10)),
    ("avg_pool2d", ((3, 2),), {"stride": 1, "divisor_override": 5}, (2, 12, 7, 8)),
    ("avg_pool1d", (3,), {"stride": 1, "padding": 1}, (2, 12, 11)),
    ("avg_pool3d", (3,), {"stride": 1, "padding": 1}, (2, 4, 5, 5, 5)),
    ("avg_pool3d", (2,), {"stride": 1, "ceil_mode": True, "count_include_pad": False},
     (2, 4, 4, 5, 5)),
    ("adaptive_avg_pool2d", (1,), {}, (2, 12, 7, 7)),  # (a mean in PyTorch)
    ("adaptive_avg_pool2d", (3,), {}, (2, 12, 9, 9)),  # even windows
    ("adaptive_avg_pool2d", ((3, 4),), {}, (2, 12, 10, 9)),  # uneven, overlapping
    ("adaptive_avg_pool2d", ((5, 7),), {}, (2, 12, 3, 4)),  # more windows than elements
    ("adaptive_avg_pool1d", (4,), {}, (2, 12, 11)),
    ("adaptive_avg_pool3d", (2,), {}, (2, 12, 4, 6, 6)),
    ("adaptive_avg_pool3d", ((2, 3, 4),), {}, (2, 12, 5, 7, 9)),
]


def _wide(shape, dtype, seed):
    """Normal values scaled over about 7 orders of magnitude."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * np.exp(rng.uniform(-8, 8, shape))).astype(dtype)


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _run(lib, name, args, kwargs, x, g, channels_last):
    """(output, input gradient, output strides) of ``name`` in ``lib`` (torch or ember)."""
    t = lib.from_numpy(x.copy()).requires_grad_()
    grad = lib.from_numpy(g.copy())
    source = t
    if channels_last:
        fmt = lib.channels_last if x.ndim == 4 else lib.channels_last_3d
        source, grad = t.contiguous(memory_format=fmt), grad.contiguous(memory_format=fmt)
    out = getattr(lib.nn.functional, name)(source, *args, **kwargs)
    out.backward(grad)
    return out.detach().numpy(), t.grad.numpy(), out.stride()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
@pytest.mark.parametrize("name,args,kwargs,shape", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_avg_pooling_matches_torch_bit_for_bit(torch, name, args, kwargs, shape, dtype,
                                               channels_last):
    if channels_last and len(shape) == 3:
        pytest.skip("1-d pooling has no channels_last layout")
    x = _wide(shape, dtype, 0)
    want_out = getattr(torch.nn.functional, name)(torch.from_numpy(x), *args, **kwargs)
    g = _wide(tuple(want_out.shape), dtype, 1)
    t_out, t_grad, t_strides = _run(torch, name, args, kwargs, x, g, channels_last)
    e_out, e_grad, e_strides = _run(ember, name, args, kwargs, x, g, channels_last)
    assert e_strides == t_strides
    np.testing.assert_array_equal(_bits(e_out), _bits(t_out))
    np.testing.assert_array_equal(_bits(e_grad), _bits(t_grad))


@pytest.mark.parametrize("name,args", [("avg_pool2d", (2,)), ("adaptive_avg_pool2d", (2,)),
                                       ("adaptive_avg_pool2d", (3,))])
def test_windows_of_negative_zeros_average_to_positive_zero(torch, name, args):
    # torch's sums start at +0, and +0 + -0 is +0
    x = np.full((1, 2, 4, 4), -0.0, np.float32)
    want = getattr(torch.nn.functional, name)(torch.from_numpy(x), *args).numpy()
    got = getattr(ember.nn.functional, name)(ember.from_numpy(x), *args).numpy()
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_channels_last_division_follows_the_incoming_gradient_layout(torch):
    # the backward kernel is picked by the gradient's layout, not the input's
    x = _wide((2, 12, 10, 9), np.float32, 0)
    g = _wide((2, 12, 3, 4), np.float32, 1)
    grads = []
    for lib in (torch, ember):
        t = lib.from_numpy(x.copy()).contiguous(memory_format=lib.channels_last)
        t.requires_grad_()
        lib.nn.functional.adaptive_avg_pool2d(t, (3, 4)).backward(lib.from_numpy(g.copy()))
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(_bits(grads[1]), _bits(grads[0]))


@pytest.mark.parametrize("osize,shape", [((3, 4), (2, 3, 10, 9)), ((2, 2), (2, 3, 10, 9)),
                                         ((2, 3, 4), (1, 2, 5, 7, 9))])
def test_adaptive_avg_pool_second_order_matches_torch(torch, osize, shape):
    x = _wide(shape, np.float64, 0)
    results = []
    for lib in (torch, ember):
        t = lib.from_numpy(x.copy()).requires_grad_()
        out = getattr(lib.nn.functional, f"adaptive_avg_pool{len(shape) - 2}d")(t, osize)
        w = lib.from_numpy(_wide(tuple(out.shape), np.float64, 1)).requires_grad_()
        (g,) = lib.autograd.grad((out * w).sum(), t, create_graph=True)
        (gw,) = lib.autograd.grad((g * g).sum(), w)
        results.append((g.detach().numpy(), gw.numpy()))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("osize,shape", [(4, (2, 20, 8, 8)), ((3, 5), (2, 20, 8, 8)),
                                         ((5, 7), (2, 20, 8, 8)), ((2, 3, 4), (2, 3, 5, 7, 9))])
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
def test_adaptive_pooling_of_two_byte_floats(torch, dtype, osize, shape, channels_last):
    # forward: summed and divided in float32, rounded once; backward: in the 2-byte dtype
    x = _wide(shape, np.float32, 0)
    results = []
    for lib in (torch, ember):
        t = lib.from_numpy(x.copy()).to(getattr(lib, dtype))
        if channels_last:
            t = t.contiguous(memory_format=lib.channels_last if len(shape) == 4
                             else lib.channels_last_3d)
        t.requires_grad_()
        name = f"adaptive_avg_pool{len(shape) - 2}d"
        out = getattr(lib.nn.functional, name)(t, osize)
        g = lib.from_numpy(_wide(tuple(out.shape), np.float32, 1)).to(out.dtype)
        out.backward(g)
        results.append((out.detach().float().numpy(), t.grad.float().numpy()))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, want)


def test_uneven_adaptive_pooling_on_the_meta_device():
    out = ember.nn.functional.adaptive_avg_pool2d(ember.empty(2, 3, 10, 9, device="meta"),
                                                  (3, 4))
    assert out.shape == (2, 3, 3, 4) and out.device.type == "meta"


@pytest.mark.parametrize("name,osize,shape", [
    ("adaptive_avg_pool2d", (0, 3), (2, 3, 5, 6)), ("adaptive_avg_pool2d", (0, 3), (3, 5, 6)),
    ("adaptive_avg_pool3d", (0, 3, 2), (2, 3, 4, 5, 6)), ("adaptive_avg_pool1d", 0, (2, 3, 5))])
def test_empty_adaptive_output_and_its_refused_backward(torch, name, osize, shape):
    outcomes = []
    for lib in (torch, ember):
        x = lib.ones(*shape, requires_grad=True)
        out = getattr(lib.nn.functional, name)(x, osize)
        with pytest.raises(RuntimeError) as err:
            out.sum().backward()
        outcomes.append((tuple(out.shape), str(err.value)))
    assert outcomes[1] == outcomes[0]


def test_vmap_of_uneven_adaptive_pooling(torch):
    x = _wide((3, 2, 12, 10, 9), np.float32, 0)
    got, want = (lib.func.vmap(lambda t, lib=lib: lib.nn.functional.adaptive_avg_pool2d(
        t, (3, 4)))(lib.from_numpy(x.copy())).numpy() for lib in (ember, torch))
    np.testing.assert_array_equal(_bits(got), _bits(want))
